package moat

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// NonceRetention is how long a used SignatureNonce is remembered. Aliyun
// staff state a nonce must not repeat within 31 minutes; a timestamp is
// accepted up to 15 minutes either side of the real clock, so a request
// stays replayable for at most 30 minutes after it is first seen. 32 covers
// both with a margin.
const NonceRetention = 32 * time.Minute

// ---- Signature checks: keys and nonces ----

// KeyCacheTTL is how long a looked-up AccessKey (or its absence) is reused
// for signature checks. Changes made through this process take effect at
// once; changes made by another process sharing the store within the TTL.
const KeyCacheTTL = time.Second

// keyCache remembers AccessKey lookups: every signed request needs one.
type keyCache struct {
	ttl time.Duration
	mu  sync.Mutex
	m   map[string]cachedKey
}

type cachedKey struct {
	key   AccessKey
	found bool
	at    time.Time
}

// maxCachedKeys bounds the cache (a flood of made-up key IDs cannot grow
// it without limit).
const maxCachedKeys = 1 << 16

func (c *keyCache) get(id string, now time.Time) (cachedKey, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[id]
	if !ok || now.Sub(e.at) >= c.ttl || now.Before(e.at) {
		return cachedKey{}, false
	}
	return e, true
}

func (c *keyCache) put(id string, e cachedKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxCachedKeys {
		c.m = map[string]cachedKey{}
	}
	c.m[id] = e
}

func (c *keyCache) forget(id string) {
	c.mu.Lock()
	delete(c.m, id)
	c.mu.Unlock()
}

// AccessKey returns an AccessKey for signature verification.
func (s *IdentityService) AccessKey(ctx context.Context, id string) (AccessKey, error) {
	now := s.clock.Real()
	e, ok := s.keys.get(id, now)
	if !ok {
		k, err := s.store.AccessKey(ctx, id)
		if err == nil {
			k, err = s.open(k)
		}
		switch {
		case err == nil:
			e = cachedKey{key: k, found: true, at: now}
		case errors.Is(err, ErrNotFound):
			e = cachedKey{at: now}
		default:
			return AccessKey{}, err
		}
		s.keys.put(id, e)
	}
	if !e.found {
		return AccessKey{}, Errorf(CodeInvalidAccessKeyNotFound, "Specified access key is not found.")
	}
	return e.key, nil
}

// UseNonce records a SignatureNonce durably; a nonce seen before within the
// retention window is refused.
func (s *IdentityService) UseNonce(ctx context.Context, accessKeyID, nonce string) error {
	fresh, err := s.store.UseNonce(ctx, accessKeyID, nonce, s.clock.Real().Add(NonceRetention))
	if err != nil {
		return err
	}
	if !fresh {
		return Errorf(CodeSignatureNonceUsed, "Specified signature nonce was used already.")
	}
	return nil
}

// ---- Accounts and the bootstrap key ----

// PutAccount creates an account with one AccessKey pair. Repeating the call
// with identical values succeeds and reports created=false.
func (s *IdentityService) PutAccount(ctx context.Context, accountID, keyID, secret string) (created bool, err error) {
	if err := validToken("AccountId", accountID, 64); err != nil {
		return false, err
	}
	if err := validToken("AccessKeyId", keyID, 128); err != nil {
		return false, err
	}
	if secret == "" || len(secret) > 128 {
		return false, InvalidParam("AccessKeySecret", "1 to 128 characters")
	}
	err = s.store.Update(ctx, func(tx Tx) error {
		created = false
		now := s.clock.Now()
		k, err := s.keyFromTx(tx, keyID)
		switch {
		case err == nil && k.AccountID != accountID:
			return Errorf(CodeAccessKeyConflict, "AccessKeyId %q belongs to another account.", keyID)
		case err == nil && k.Secret != secret:
			return Errorf(CodeAccessKeyConflict, "AccessKeyId %q already exists with a different secret.", keyID)
		case err == nil:
			return nil
		case !errors.Is(err, ErrNotFound):
			return err
		}
		// An idempotent provisioning call re-run after a revocation must
		// not bring the deleted key back.
		if r, err := tx.RevokedKey(keyID); err == nil {
			return Errorf(CodeAccessKeyConflict, "AccessKeyId %q was deleted at %s and cannot be used again; choose another.", keyID, r.RevokedAt.UTC().Format(time.RFC3339))
		} else if !errors.Is(err, ErrNotFound) {
			return err
		}
		if _, err := tx.Account(accountID); errors.Is(err, ErrNotFound) {
			if err := tx.InsertAccount(Account{ID: accountID, CreatedAt: now, ResourceGroupID: NewResourceGroupID()}); err != nil {
				return err
			}
		} else if err != nil {
			return err
		}
		created = true
		sealed, err := s.seal(secret)
		if err != nil {
			return err
		}
		return tx.InsertAccessKey(AccessKey{ID: keyID, Secret: sealed, AccountID: accountID, Active: true, CreatedAt: now})
	})
	s.keys.forget(keyID)
	return created, err
}

func validToken(name, v string, max int) error {
	if v == "" {
		return MissingParam(name)
	}
	if len(v) > max {
		return InvalidParam(name, fmt.Sprintf("at most %d characters", max))
	}
	for _, r := range v {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return InvalidParam(name, "letters, digits, '-', '_' and '.' only")
		}
	}
	return nil
}

// Bootstrap is the result of ensuring the bootstrap account.
type Bootstrap struct {
	AccountID   string
	AccessKeyID string
	Secret      string
	// Generated is true when a new random pair was made and must be shown
	// to the operator (this happens once).
	Generated bool
	// NotInstalled, when set, says why the key was revoked and is left so
	// (disabled, or deleted): the operator must be told at start.
	NotInstalled string
}

// EnsureBootstrap makes sure the bootstrap account exists. With a key pair
// given (from the environment) that pair is installed on it, replacing the
// secret of the same key if it changed. Without one, an existing key of the
// bootstrap account is kept, or a random pair is generated.
//
// A revocation is never undone: a key disabled or deleted through the
// admin API stays so although the environment still names it (the README
// tells operators to set the pair once, so it is there at every start),
// and no random pair replaces a deleted bootstrap key. NotInstalled says
// so; the server still starts (refusing to start would take every other
// account's service down for the sake of a key that no longer works), and
// a new pair, or the admin API, gives the account a working key again.
func (s *IdentityService) EnsureBootstrap(ctx context.Context, keyID, secret string) (Bootstrap, error) {
	var b Bootstrap
	if (keyID == "") != (secret == "") {
		return b, errors.New("set both MOAT_ACCESS_KEY_ID and MOAT_ACCESS_KEY_SECRET, or neither")
	}
	if keyID != "" {
		if err := validToken("AccessKeyId", keyID, 128); err != nil {
			return b, err
		}
	}
	err := s.store.Update(ctx, func(tx Tx) error {
		b = Bootstrap{}
		now := s.clock.Now()
		acct, err := tx.Setting(SettingBootstrapAccount)
		if errors.Is(err, ErrNotFound) {
			acct = NewAccountID()
			if err := tx.InsertAccount(Account{ID: acct, CreatedAt: now, ResourceGroupID: NewResourceGroupID()}); err != nil {
				return err
			}
			if err := tx.SetSetting(SettingBootstrapAccount, acct); err != nil {
				return err
			}
		} else if err != nil {
			return err
		}
		b.AccountID = acct
		if keyID == "" {
			if id, err := tx.Setting("bootstrap_access_key_id"); err == nil {
				if k, err := tx.AccessKey(id); err == nil && k.AccountID == acct && k.UserName == "" {
					b.AccessKeyID = k.ID
					if !k.Active {
						b.NotInstalled = "it is Inactive (disabled through the admin API)"
					}
					return nil
				}
				if r, err := tx.RevokedKey(id); err == nil {
					b.AccessKeyID = id
					b.NotInstalled = "it was deleted at " + r.RevokedAt.UTC().Format(time.RFC3339) + "; no new pair is generated in its place"
					return nil
				} else if !errors.Is(err, ErrNotFound) {
					return err
				}
			}
			keyID, secret = NewAccessKeyPair()
			b.Generated = true
		}
		b.AccessKeyID = keyID
		b.Secret = secret
		sealed, err := s.seal(secret)
		if err != nil {
			return err
		}
		if r, err := tx.RevokedKey(keyID); err == nil {
			b.NotInstalled = "it was deleted at " + r.RevokedAt.UTC().Format(time.RFC3339)
			return nil
		} else if !errors.Is(err, ErrNotFound) {
			return err
		}
		k, err := s.keyFromTx(tx, keyID)
		switch {
		case err == nil && k.AccountID == acct && k.UserName == "" && !k.Active:
			b.NotInstalled = "it is Inactive (disabled through the admin API)"
			return nil
		case errors.Is(err, ErrNotFound):
			if err := tx.InsertAccessKey(AccessKey{ID: keyID, Secret: sealed, AccountID: acct, Active: true, CreatedAt: now}); err != nil {
				return err
			}
		case err != nil:
			return err
		case k.AccountID != acct || k.UserName != "":
			return fmt.Errorf("AccessKeyId %s belongs to account %s, not to the bootstrap account %s", keyID, k.AccountID, acct)
		case k.Secret != secret:
			k.Secret = sealed
			if err := tx.UpdateAccessKey(k); err != nil {
				return err
			}
		}
		return tx.SetSetting("bootstrap_access_key_id", keyID)
	})
	s.keys.forget(b.AccessKeyID)
	if !b.Generated {
		b.Secret = ""
	}
	return b, err
}

// Account returns an account.
func (s *IdentityService) Account(ctx context.Context, id string) (Account, error) {
	a, err := s.store.Account(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return a, Errorf(CodeAccountNotFound, "Account %q does not exist.", id)
	}
	return a, err
}
