package moat

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// Sealer encrypts AccessKey secrets at rest (internal/secrets implements
// it with a master key). A nil Sealer stores secrets as they are (tests).
type Sealer interface {
	Seal(plain string) (string, error)
	Open(sealed string) (string, error)
}

// STS duration bounds (seconds), as STS documents them.
const (
	MinSTSDuration = 900 * time.Second
	MaxSTSDuration = 43200 * time.Second
)

// STSDuration converts an STS DurationSeconds into a duration, checking
// the range on the integer itself first: multiplying an unchecked count of
// seconds into nanoseconds wraps around int64, and a huge value would pass
// the range check as a short one.
func STSDuration(seconds int64) (time.Duration, error) {
	if seconds < int64(MinSTSDuration/time.Second) || seconds > int64(MaxSTSDuration/time.Second) {
		return 0, Errorf(CodeDurationInvalid, "DurationSeconds must be between %d and %d, not %d.", int(MinSTSDuration.Seconds()), int(MaxSTSDuration.Seconds()), seconds)
	}
	return time.Duration(seconds) * time.Second, nil
}

// MaxUserNameLength bounds a RAM user name (RAM: 1 to 64 characters).
const MaxUserNameLength = 64

func (s *IdentityService) seal(secret string) (string, error) {
	if s.sealer == nil {
		return secret, nil
	}
	sealed, err := s.sealer.Seal(secret)
	if err != nil {
		return "", Internal("seal secret", err)
	}
	return sealed, nil
}

func (s *IdentityService) open(k AccessKey) (AccessKey, error) {
	if s.sealer == nil {
		return k, nil
	}
	plain, err := s.sealer.Open(k.Secret)
	if err != nil {
		return AccessKey{}, Internal("open secret", fmt.Errorf("access key %s: %w", k.ID, err))
	}
	k.Secret = plain
	return k, nil
}

// keyFromTx reads a key inside a transaction, with its secret opened.
func (s *IdentityService) keyFromTx(tx Tx, id string) (AccessKey, error) {
	k, err := tx.AccessKey(id)
	if err != nil {
		return k, err
	}
	return s.open(k)
}

// validUserName checks a RAM user name: 1 to 64 of letters, digits, '.',
// '_', '-' and '@'.
func validUserName(name string) error {
	if name == "" {
		return MissingParam("UserName")
	}
	if len(name) > MaxUserNameLength {
		return InvalidParam("UserName", fmt.Sprintf("at most %d characters", MaxUserNameLength))
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-' || r == '@') {
			return InvalidParam("UserName", "letters, digits, '.', '_', '-' and '@' only")
		}
	}
	return nil
}

func (s *IdentityService) needAccount(tx Tx, id string) error {
	if _, err := tx.Account(id); errors.Is(err, ErrNotFound) {
		return Errorf(CodeAccountNotFound, "Account %q does not exist.", id)
	} else if err != nil {
		return err
	}
	return nil
}

func (s *IdentityService) needUser(tx Tx, account, name string) (User, error) {
	if err := s.needAccount(tx, account); err != nil {
		return User{}, err
	}
	u, err := tx.User(account, name)
	if errors.Is(err, ErrNotFound) {
		return u, Errorf(CodeUserNotFound, "Account %s has no RAM user %q.", account, name)
	}
	return u, err
}

// CreateUser adds a RAM user to an account.
func (s *IdentityService) CreateUser(ctx context.Context, account, name string) (User, error) {
	if err := validUserName(name); err != nil {
		return User{}, err
	}
	var u User
	err := s.store.Update(ctx, func(tx Tx) error {
		if err := s.needAccount(tx, account); err != nil {
			return err
		}
		u = User{AccountID: account, Name: name, ID: NewAccountID(), CreatedAt: s.clock.Now()}
		if err := tx.InsertUser(u); errors.Is(err, ErrConflict) {
			return Errorf(CodeUserConflict, "Account %s already has a RAM user %q.", account, name)
		} else if err != nil {
			return err
		}
		return nil
	})
	return u, err
}

// CreateAccessKey makes a new key pair for a RAM user. The secret is
// returned only here.
func (s *IdentityService) CreateAccessKey(ctx context.Context, account, userName string) (AccessKey, error) {
	if err := validUserName(userName); err != nil {
		return AccessKey{}, err
	}
	var k AccessKey
	err := s.store.Update(ctx, func(tx Tx) error {
		if _, err := s.needUser(tx, account, userName); err != nil {
			return err
		}
		id, secret := NewAccessKeyPair()
		sealed, err := s.seal(secret)
		if err != nil {
			return err
		}
		k = AccessKey{ID: id, Secret: sealed, AccountID: account, UserName: userName, Active: true, CreatedAt: s.clock.Now()}
		if err := tx.InsertAccessKey(k); err != nil {
			return err
		}
		k.Secret = secret
		return nil
	})
	return k, err
}

// SetAccessKeyStatus enables or disables a key (any kind). A disabled key
// is refused with InvalidAccessKeyId.Inactive.
func (s *IdentityService) SetAccessKeyStatus(ctx context.Context, id string, status KeyStatus) error {
	if status != KeyActive && status != KeyInactive {
		return InvalidParam("Status", "Active or Inactive")
	}
	err := s.store.Update(ctx, func(tx Tx) error {
		k, err := tx.AccessKey(id)
		if errors.Is(err, ErrNotFound) {
			return Errorf(CodeAccessKeyNotFound, "AccessKeyId %q does not exist.", id)
		} else if err != nil {
			return err
		}
		k.Active = status == KeyActive
		return tx.UpdateAccessKey(k)
	})
	s.keys.forget(id)
	return err
}

// RevokedKey records that an AccessKey was deleted. It is kept for good,
// so that a revocation survives restarts: nothing installs the key again
// (EnsureBootstrap, given the same pair by the environment at the next
// start, refuses it).
type RevokedKey struct {
	ID        string
	AccountID string
	RevokedAt time.Time
}

// DeleteAccessKey deletes a key (any kind); requests signed with it are
// then InvalidAccessKeyId.NotFound. A permanent key is remembered as
// revoked (an STS key expires by itself and its ID is never reused).
func (s *IdentityService) DeleteAccessKey(ctx context.Context, id string) error {
	err := s.store.Update(ctx, func(tx Tx) error {
		k, err := tx.AccessKey(id)
		if errors.Is(err, ErrNotFound) {
			return Errorf(CodeAccessKeyNotFound, "AccessKeyId %q does not exist.", id)
		} else if err != nil {
			return err
		}
		if err := tx.DeleteAccessKey(id); err != nil {
			return err
		}
		if k.STS() {
			return nil
		}
		return tx.InsertRevokedKey(RevokedKey{ID: id, AccountID: k.AccountID, RevokedAt: s.clock.Real()})
	})
	s.keys.forget(id)
	return err
}

// MaxPolicyNameLength bounds a policy name (RAM: 1 to 128 characters).
const MaxPolicyNameLength = 128

// PutUserPolicy attaches (or replaces) a named policy of a RAM user. A
// document that does not parse is refused with its position.
func (s *IdentityService) PutUserPolicy(ctx context.Context, account, userName, name, doc string) error {
	if err := validToken("PolicyName", name, MaxPolicyNameLength); err != nil {
		return err
	}
	if _, err := s.compile(doc); err != nil {
		return err
	}
	err := s.store.Update(ctx, func(tx Tx) error {
		if _, err := s.needUser(tx, account, userName); err != nil {
			return err
		}
		return tx.PutUserPolicy(UserPolicy{AccountID: account, UserName: userName, Name: name, Document: doc, UpdatedAt: s.clock.Now()})
	})
	s.authz.forget(account, userName)
	return err
}

// DeleteUserPolicy detaches a policy.
func (s *IdentityService) DeleteUserPolicy(ctx context.Context, account, userName, name string) error {
	err := s.store.Update(ctx, func(tx Tx) error {
		if _, err := s.needUser(tx, account, userName); err != nil {
			return err
		}
		err := tx.DeleteUserPolicy(account, userName, name)
		if errors.Is(err, ErrNotFound) {
			return Errorf(CodePolicyNotFound, "RAM user %q has no policy %q.", userName, name)
		}
		return err
	})
	s.authz.forget(account, userName)
	return err
}

// STSCredentials are temporary credentials of a RAM user.
type STSCredentials struct {
	AccessKeyID     string
	AccessKeySecret string
	SecurityToken   string
	Expiration      time.Time
}

// IssueSTS issues temporary credentials for a RAM user, valid for
// duration (900 to 43200 seconds), optionally narrowed by an inline
// policy: a request must be allowed by the user's policies and by it.
func (s *IdentityService) IssueSTS(ctx context.Context, account, userName string, duration time.Duration, policy string) (STSCredentials, error) {
	if duration < MinSTSDuration || duration > MaxSTSDuration {
		return STSCredentials{}, Errorf(CodeDurationInvalid, "DurationSeconds must be between %d and %d.", int(MinSTSDuration.Seconds()), int(MaxSTSDuration.Seconds()))
	}
	if policy != "" {
		if _, err := s.compile(policy); err != nil {
			return STSCredentials{}, err
		}
	}
	var out STSCredentials
	err := s.store.Update(ctx, func(tx Tx) error {
		if _, err := s.needUser(tx, account, userName); err != nil {
			return err
		}
		_, secret := NewAccessKeyPair()
		id := "STS." + randomString(mixedAlnum, 24)
		token := "CAIS" + randomString(mixedAlnum, 120) // opaque, like STS's
		sealed, err := s.seal(secret)
		if err != nil {
			return err
		}
		now := s.clock.Real()
		exp := now.Add(duration).Truncate(time.Second)
		k := AccessKey{ID: id, Secret: sealed, AccountID: account, UserName: userName, Active: true, CreatedAt: now,
			TokenHash: hashToken(token), Expires: exp, SessionPolicy: policy}
		if err := tx.InsertAccessKey(k); err != nil {
			return err
		}
		out = STSCredentials{AccessKeyID: id, AccessKeySecret: secret, SecurityToken: token, Expiration: exp}
		return nil
	})
	return out, err
}

// STSKeyRetention is how long an expired STS key is kept before the
// lifecycle engine purges it: until then a request signed with it gets
// InvalidSecurityToken.Expired, which tells the caller to fetch new
// credentials, rather than InvalidAccessKeyId.NotFound.
const STSKeyRetention = 24 * time.Hour

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// CheckSecurityToken verifies the SecurityToken a request carries against
// its key: STS keys need theirs, unexpired (real clock); permanent keys
// take none.
func (s *IdentityService) CheckSecurityToken(k AccessKey, token string) error {
	if !k.STS() {
		if token != "" {
			return Errorf(CodeInvalidSecurityTokenMalformed, "The security token is malformed: AccessKeyId %s is a permanent key, which takes no SecurityToken.", k.ID)
		}
		return nil
	}
	if token == "" || subtle.ConstantTimeCompare([]byte(hashToken(token)), []byte(k.TokenHash)) != 1 {
		return Errorf(CodeInvalidSecurityTokenMalformed, "The security token you provided is malformed or does not belong to AccessKeyId %s.", k.ID)
	}
	if !s.clock.Real().Before(k.Expires) {
		return Errorf(CodeInvalidSecurityTokenExpired, "The security token you provided has expired (at %s).", k.Expires.UTC().Format(time.RFC3339))
	}
	return nil
}

// CallerOf is the principal a verified key signs for.
func CallerOf(k AccessKey, env Env) Caller {
	c := Caller{AccountID: k.AccountID, AccessKeyID: k.ID, Type: PrincipalAccount, Env: env}
	switch {
	case k.STS():
		c.Type, c.UserName, c.SessionPolicy = PrincipalSTS, k.UserName, k.SessionPolicy
	case k.UserName != "":
		c.Type, c.UserName = PrincipalRAMUser, k.UserName
	}
	return c
}

// settingMasterKeyCheck holds a value sealed with the master key the store
// was first used with, so that a process started with another key (a
// replica given the wrong MOAT_MASTER_KEY, a restore without its key file)
// is refused at start rather than failing every signature later.
const settingMasterKeyCheck = "master_key_check"

const masterKeyCanary = "moat master key check"

// CheckMasterKey verifies that the Sealer is the one the store's secrets
// were sealed with, recording a check value on first use.
func (s *IdentityService) CheckMasterKey(ctx context.Context) error {
	if s.sealer == nil {
		return nil
	}
	return s.store.Update(ctx, func(tx Tx) error {
		sealed, err := tx.Setting(settingMasterKeyCheck)
		if errors.Is(err, ErrNotFound) {
			v, err := s.seal(masterKeyCanary)
			if err != nil {
				return err
			}
			return tx.SetSetting(settingMasterKeyCheck, v)
		}
		if err != nil {
			return err
		}
		if plain, err := s.sealer.Open(sealed); err != nil || plain != masterKeyCanary {
			return errors.New("the master key is not the one this store's AccessKey secrets were sealed with: give every process the same MOAT_MASTER_KEY or key file (a restored backup needs the key it was made with)")
		}
		return nil
	})
}
