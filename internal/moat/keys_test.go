package moat_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"moat/internal/moat"
	"moat/internal/ram"
	"moat/internal/secrets"
	"moat/internal/store/sqlite"
)

// The RAM tests run the Service as `moat serve` wires it: secrets sealed
// under a master key and policies compiled by internal/ram (an external
// test package may import ram, which imports moat).

var (
	masterKey      = bytes.Repeat([]byte{0x5a}, secrets.KeySize)
	otherMasterKey = bytes.Repeat([]byte{0xa5}, secrets.KeySize)
	loopback       = moat.Env{SourceIP: netip.MustParseAddr("127.0.0.1")}
)

func sealer(t testing.TB, key []byte) *secrets.Sealer {
	t.Helper()
	s, err := secrets.New(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// newRAMEnv is newEnv with sealing and the RAM policy compiler; it also
// returns the directory that holds the store's files.
func newRAMEnv(t testing.TB) (*env, string) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "moat.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	real := &fakeClock{now: t0}
	svc, err := moat.NewService(moat.Config{Store: st, Clock: moat.NewServerClock(real.Now), Sealer: sealer(t, masterKey), Policies: ram.Compile})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	e := &env{svc: svc, store: st, real: real, ctx: ctx, acct: "1000000000000001", other: "2000000000000002"}
	for _, a := range []string{e.acct, e.other} {
		if _, err := svc.PutAccount(ctx, a, "AK"+a, "secret-of-"+a); err != nil {
			t.Fatal(err)
		}
	}
	return e, dir
}

// policyDoc is a policy document with the given statements (JSON objects).
func policyDoc(statements ...string) string {
	return `{"Version": "1", "Statement": [` + strings.Join(statements, ",") + `]}`
}

// allow and deny are one statement; cond is a Condition object or "".
func allow(action, resource, cond string) string { return statement("Allow", action, resource, cond) }
func deny(action, resource, cond string) string  { return statement("Deny", action, resource, cond) }

func statement(effect, action, resource, cond string) string {
	s := fmt.Sprintf(`{"Effect": %q, "Action": %q, "Resource": %q`, effect, action, resource)
	if cond != "" {
		s += `, "Condition": ` + cond
	}
	return s + "}"
}

// ramUser creates a RAM user with the given named policies and an
// AccessKey, and returns the Caller that key signs for.
func (e *env) ramUser(t testing.TB, acct, name string, policies map[string]string) (moat.Caller, moat.AccessKey) {
	t.Helper()
	if _, err := e.svc.CreateUser(e.ctx, acct, name); err != nil {
		t.Fatalf("CreateUser(%s): %v", name, err)
	}
	for pn, doc := range policies {
		e.putPolicy(t, acct, name, pn, doc)
	}
	k, err := e.svc.CreateAccessKey(e.ctx, acct, name)
	if err != nil {
		t.Fatalf("CreateAccessKey(%s): %v", name, err)
	}
	return e.callerOfKey(t, k.ID, loopback), k
}

func (e *env) putPolicy(t testing.TB, acct, user, name, doc string) {
	t.Helper()
	if err := e.svc.PutUserPolicy(e.ctx, acct, user, name, doc); err != nil {
		t.Fatalf("PutUserPolicy(%s, %s): %v", user, name, err)
	}
}

// callerOfKey is what the gateway builds for a request signed with key id.
func (e *env) callerOfKey(t testing.TB, id string, env moat.Env) moat.Caller {
	t.Helper()
	k, err := e.svc.AccessKey(e.ctx, id)
	if err != nil {
		t.Fatalf("AccessKey(%s): %v", id, err)
	}
	return moat.CallerOf(k, env)
}

func (e *env) sts(t *testing.T, acct, user string, d time.Duration, policy string) moat.STSCredentials {
	t.Helper()
	c, err := e.svc.IssueSTS(e.ctx, acct, user, d, policy)
	if err != nil {
		t.Fatalf("IssueSTS(%s): %v", user, err)
	}
	return c
}

func wantRAMCode(t *testing.T, what string, err error, code moat.Code, kind moat.Kind) {
	t.Helper()
	if moat.ErrorCode(err) != code || (err != nil && moat.ErrorKind(err) != kind) {
		t.Fatalf("%s: err = %v, want %s (%s)", what, err, code, kind)
	}
}

var userIDRE = regexp.MustCompile(`^[1-9][0-9]{15}$`)

// TestCreateUser pins RAM user creation: a 16-digit UserId, a name unique
// per account (UserAlreadyExists, a conflict) but free in another account,
// RAM's name rules, and an unknown account.
func TestCreateUser(t *testing.T) {
	e, _ := newRAMEnv(t)
	u, err := e.svc.CreateUser(e.ctx, e.acct, "ci")
	if err != nil {
		t.Fatal(err)
	}
	if u.AccountID != e.acct || u.Name != "ci" || !userIDRE.MatchString(u.ID) || !u.CreatedAt.Equal(t0) {
		t.Fatalf("CreateUser = %+v, want account %s, name ci, a 16-digit ID, created at %s", u, e.acct, t0)
	}
	_, err = e.svc.CreateUser(e.ctx, e.acct, "ci")
	wantRAMCode(t, "same name again", err, moat.CodeUserConflict, moat.KindConflict)

	u2, err := e.svc.CreateUser(e.ctx, e.other, "ci")
	if err != nil {
		t.Fatalf("the same name in another account: %v", err)
	}
	if u2.ID == u.ID || u2.AccountID != e.other {
		t.Fatalf("user of the other account = %+v, first was %+v", u2, u)
	}
	_, err = e.svc.CreateUser(e.ctx, "3000000000000003", "ci")
	wantRAMCode(t, "unknown account", err, moat.CodeAccountNotFound, moat.KindNotFound)

	for _, name := range []string{strings.Repeat("a", 64), "a.b_c-d@e", "Z9"} {
		if _, err := e.svc.CreateUser(e.ctx, e.acct, name); err != nil {
			t.Errorf("CreateUser(%q): %v", name, err)
		}
	}
	bad := []struct {
		name string
		code moat.Code
	}{
		{"", "MissingUserName"},
		{strings.Repeat("a", 65), moat.CodeInvalidParameter},
		{"a b", moat.CodeInvalidParameter},
		{"a/b", moat.CodeInvalidParameter},
		{"ü", moat.CodeInvalidParameter},
	}
	for _, tc := range bad {
		_, err := e.svc.CreateUser(e.ctx, e.acct, tc.name)
		wantRAMCode(t, fmt.Sprintf("CreateUser(%q)", tc.name), err, tc.code, moat.KindInvalid)
	}
}

// TestAccessKeyStatusAndDeletion pins a RAM user's several keys and the
// status/delete calls on them and on an account key: a disabled key is
// still found but inactive (the gateway answers InvalidAccessKeyId.Inactive),
// a deleted one is InvalidAccessKeyId.NotFound at once, and the admin-side
// codes for unknown keys, users and statuses.
func TestAccessKeyStatusAndDeletion(t *testing.T) {
	e, _ := newRAMEnv(t)
	if _, err := e.svc.CreateUser(e.ctx, e.acct, "deploy"); err != nil {
		t.Fatal(err)
	}
	k1, err := e.svc.CreateAccessKey(e.ctx, e.acct, "deploy")
	if err != nil {
		t.Fatal(err)
	}
	k2, err := e.svc.CreateAccessKey(e.ctx, e.acct, "deploy")
	if err != nil {
		t.Fatal(err)
	}
	keyID := regexp.MustCompile(`^LTAI[0-9A-Za-z]{20}$`)
	for _, k := range []moat.AccessKey{k1, k2} {
		if !keyID.MatchString(k.ID) || len(k.Secret) != 30 || k.UserName != "deploy" || k.AccountID != e.acct || !k.Active || k.STS() {
			t.Fatalf("CreateAccessKey = %+v, want an active LTAI… key with a 30-character secret for deploy", k)
		}
	}
	if k1.ID == k2.ID || k1.Secret == k2.Secret {
		t.Fatalf("two keys share an ID or a secret: %s %s", k1.ID, k2.ID)
	}
	got, err := e.svc.AccessKey(e.ctx, k1.ID)
	if err != nil || got.Secret != k1.Secret || !got.Active {
		t.Fatalf("AccessKey(k1) = %+v, %v; want the active key with its plain secret", got, err)
	}
	if c := moat.CallerOf(got, loopback); c.Type != moat.PrincipalRAMUser || c.UserName != "deploy" || c.AccountID != e.acct || c.Principal() != "user/deploy" {
		t.Fatalf("CallerOf(user key) = %+v", c)
	}

	active := func(id string) bool {
		t.Helper()
		k, err := e.svc.AccessKey(e.ctx, id)
		if err != nil {
			t.Fatalf("AccessKey(%s): %v", id, err)
		}
		return k.Active
	}
	if err := e.svc.SetAccessKeyStatus(e.ctx, k1.ID, moat.KeyInactive); err != nil {
		t.Fatal(err)
	}
	if active(k1.ID) || !active(k2.ID) {
		t.Fatalf("after disabling k1: k1 active %v, k2 active %v; want false, true", active(k1.ID), active(k2.ID))
	}
	if err := e.svc.SetAccessKeyStatus(e.ctx, k1.ID, moat.KeyActive); err != nil {
		t.Fatal(err)
	}
	if !active(k1.ID) {
		t.Fatal("k1 is not active after re-enabling it")
	}
	wantRAMCode(t, "status Disabled", e.svc.SetAccessKeyStatus(e.ctx, k1.ID, "Disabled"), moat.CodeInvalidParameter, moat.KindInvalid)
	wantRAMCode(t, "status of an unknown key", e.svc.SetAccessKeyStatus(e.ctx, "LTAInosuchkey", moat.KeyInactive), moat.CodeAccessKeyNotFound, moat.KindNotFound)

	if err := e.svc.DeleteAccessKey(e.ctx, k1.ID); err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.AccessKey(e.ctx, k1.ID)
	wantRAMCode(t, "a deleted key", err, moat.CodeInvalidAccessKeyNotFound, moat.KindNotFound)
	if !active(k2.ID) {
		t.Fatal("deleting k1 touched k2")
	}
	wantRAMCode(t, "deleting it again", e.svc.DeleteAccessKey(e.ctx, k1.ID), moat.CodeAccessKeyNotFound, moat.KindNotFound)

	// The account's own keys take the same calls.
	root := "AK" + e.acct
	if err := e.svc.SetAccessKeyStatus(e.ctx, root, moat.KeyInactive); err != nil {
		t.Fatal(err)
	}
	if active(root) {
		t.Fatal("the account key is active after disabling it")
	}
	if err := e.svc.DeleteAccessKey(e.ctx, root); err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.AccessKey(e.ctx, root)
	wantRAMCode(t, "the deleted account key", err, moat.CodeInvalidAccessKeyNotFound, moat.KindNotFound)

	_, err = e.svc.CreateAccessKey(e.ctx, e.acct, "nobody")
	wantRAMCode(t, "key for an unknown user", err, moat.CodeUserNotFound, moat.KindNotFound)
	_, err = e.svc.CreateAccessKey(e.ctx, e.other, "deploy")
	wantRAMCode(t, "key for a user of another account", err, moat.CodeUserNotFound, moat.KindNotFound)
}

// TestSecretsSealedAtRest pins that no AccessKey secret (account, RAM user,
// STS) nor STS token is stored in plain text: the store's rows hold sealed
// values, no file beside the database contains a plain secret, the
// Service opens them for signature checks, and another master key cannot.
func TestSecretsSealedAtRest(t *testing.T) {
	e, dir := newRAMEnv(t)
	const accountSecret = "plain-account-secret-7f3a9c21e4"
	if _, err := e.svc.PutAccount(e.ctx, e.acct, "AKsecondkey", accountSecret); err != nil {
		t.Fatal(err)
	}
	_, userKey := e.ramUser(t, e.acct, "ci", nil)
	cred := e.sts(t, e.acct, "ci", time.Hour, "")

	plain := map[string]string{"AKsecondkey": accountSecret, userKey.ID: userKey.Secret, cred.AccessKeyID: cred.AccessKeySecret}
	for id, secret := range plain {
		raw, err := e.store.AccessKey(e.ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if raw.Secret == secret || strings.Contains(raw.Secret, secret) || !strings.HasPrefix(raw.Secret, "v1:") {
			t.Errorf("stored secret of %s = %q, want a sealed v1: value without the plain secret", id, raw.Secret)
		}
		opened, err := e.svc.AccessKey(e.ctx, id)
		if err != nil || opened.Secret != secret {
			t.Errorf("AccessKey(%s) = %q, %v; want the plain secret", id, opened.Secret, err)
		}
	}
	raw, err := e.store.AccessKey(e.ctx, cred.AccessKeyID)
	if err != nil {
		t.Fatal(err)
	}
	if raw.TokenHash == cred.SecurityToken || !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(raw.TokenHash) {
		t.Errorf("stored token = %q, want its SHA-256 in hex", raw.TokenHash)
	}

	// Another Service on the same store with another master key cannot
	// open the secrets: it fails instead of verifying against garbage.
	wrong, err := moat.NewService(moat.Config{Store: e.store, Clock: moat.NewServerClock(e.real.Now), Sealer: sealer(t, otherMasterKey), Policies: ram.Compile})
	if err != nil {
		t.Fatal(err)
	}
	_, err = wrong.AccessKey(e.ctx, userKey.ID)
	wantRAMCode(t, "opening with another master key", err, moat.CodeInternalError, moat.KindInternal)

	// Every file of the store (the database, its WAL, the nonce and audit
	// files), read after the store is closed.
	e.svc.Close()
	if err := e.store.Close(); err != nil {
		t.Fatal(err)
	}
	files, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no store files")
	}
	seenKeyID := false
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(dir, f.Name()))
		if err != nil {
			t.Fatal(err)
		}
		seenKeyID = seenKeyID || bytes.Contains(b, []byte(userKey.ID))
		for id, secret := range plain {
			if bytes.Contains(b, []byte(secret)) {
				t.Errorf("%s contains the plain secret of %s", f.Name(), id)
			}
		}
		if bytes.Contains(b, []byte(cred.SecurityToken)) {
			t.Errorf("%s contains the plain SecurityToken", f.Name())
		}
	}
	if !seenKeyID {
		t.Fatalf("no file in %s holds the user's AccessKeyId: the store's files were not read", dir)
	}
}

// TestIssueSTSDuration pins the DurationSeconds bounds (900 to 43200
// seconds, InvalidDuration outside) and the credentials' shape: an STS.
// key, a CAIS… token, and an Expiration of the real clock plus the
// duration.
func TestIssueSTSDuration(t *testing.T) {
	e, _ := newRAMEnv(t)
	e.ramUser(t, e.acct, "ops", nil)
	for _, d := range []time.Duration{0, 899 * time.Second, 43201 * time.Second, -time.Hour} {
		_, err := e.svc.IssueSTS(e.ctx, e.acct, "ops", d, "")
		wantRAMCode(t, fmt.Sprintf("duration %v", d), err, moat.CodeDurationInvalid, moat.KindInvalid)
	}
	// Server time moved: the expiration still follows the real clock.
	day := 24 * time.Hour
	if _, _, err := e.svc.MoveClock(e.ctx, nil, &day); err != nil {
		t.Fatal(err)
	}
	for _, d := range []time.Duration{moat.MinSTSDuration, moat.MaxSTSDuration} {
		c := e.sts(t, e.acct, "ops", d, "")
		if !strings.HasPrefix(c.AccessKeyID, "STS.") || !strings.HasPrefix(c.SecurityToken, "CAIS") || len(c.AccessKeySecret) != 30 {
			t.Errorf("IssueSTS(%v) = %+v, want an STS. key, a 30-character secret and a CAIS token", d, c)
		}
		if !c.Expiration.Equal(t0.Add(d)) {
			t.Errorf("IssueSTS(%v) expires %s, want real time + duration = %s", d, c.Expiration, t0.Add(d))
		}
		k, err := e.svc.AccessKey(e.ctx, c.AccessKeyID)
		if err != nil || !k.STS() || k.UserName != "ops" || k.AccountID != e.acct || !k.Expires.Equal(c.Expiration) || !k.Active {
			t.Errorf("stored STS key = %+v, %v", k, err)
		}
	}
	_, err := e.svc.IssueSTS(e.ctx, e.acct, "nobody", time.Hour, "")
	wantRAMCode(t, "unknown user", err, moat.CodeUserNotFound, moat.KindNotFound)
	_, err = e.svc.IssueSTS(e.ctx, e.acct, "ops", time.Hour, `{"Version": "1", "Statement": [}`)
	wantRAMCode(t, "malformed session policy", err, moat.CodeMalformedPolicyDocument, moat.KindInvalid)
}

// TestSTSExpiryFollowsRealClock pins which clock ends a session: the real
// clock, like the signature timestamp (the SDKs refresh credentials by
// their Expiration in real time). Moving server time does not expire a
// token; the real clock reaching Expiration does, exactly then.
func TestSTSExpiryFollowsRealClock(t *testing.T) {
	e, _ := newRAMEnv(t)
	e.ramUser(t, e.acct, "ops", nil)
	c := e.sts(t, e.acct, "ops", 900*time.Second, "")
	k, err := e.svc.AccessKey(e.ctx, c.AccessKeyID)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.CheckSecurityToken(k, c.SecurityToken); err != nil {
		t.Fatalf("fresh token: %v", err)
	}
	far := 30 * 24 * time.Hour
	if _, _, err := e.svc.MoveClock(e.ctx, nil, &far); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.CheckSecurityToken(k, c.SecurityToken); err != nil {
		t.Fatalf("server time 30 days on, real time unchanged: %v", err)
	}
	e.real.Add(899 * time.Second)
	if err := e.svc.CheckSecurityToken(k, c.SecurityToken); err != nil {
		t.Fatalf("one second before Expiration: %v", err)
	}
	e.real.Add(time.Second)
	err = e.svc.CheckSecurityToken(k, c.SecurityToken)
	wantRAMCode(t, "at Expiration", err, moat.CodeInvalidSecurityTokenExpired, moat.KindUnauthenticated)
	// A wrong token is malformed whether or not the session expired.
	err = e.svc.CheckSecurityToken(k, c.SecurityToken+"x")
	wantRAMCode(t, "wrong token after expiry", err, moat.CodeInvalidSecurityTokenMalformed, moat.KindUnauthenticated)
}

// TestPurgeSTSKeys pins how long an expired session's key is kept: for
// STSKeyRetention after Expiration (real clock) it still answers
// InvalidSecurityToken.Expired; after that PurgeSTSKeys deletes it, and
// never a live session's key or a permanent key.
func TestPurgeSTSKeys(t *testing.T) {
	e, _ := newRAMEnv(t)
	_, userKey := e.ramUser(t, e.acct, "ops", nil)
	short := e.sts(t, e.acct, "ops", 900*time.Second, "")
	long := e.sts(t, e.acct, "ops", 12*time.Hour, "")
	e.real.Add(900*time.Second + moat.STSKeyRetention)
	if n, err := e.svc.PurgeSTSKeys(e.ctx, 100); err != nil || n != 0 {
		t.Fatalf("PurgeSTSKeys at Expiration + retention = %d, %v; want 0 (kept until then)", n, err)
	}
	k, err := e.svc.AccessKey(e.ctx, short.AccessKeyID)
	if err != nil {
		t.Fatal(err)
	}
	wantRAMCode(t, "expired, not yet purged", e.svc.CheckSecurityToken(k, short.SecurityToken), moat.CodeInvalidSecurityTokenExpired, moat.KindUnauthenticated)
	e.real.Add(time.Second)
	if n, err := e.svc.PurgeSTSKeys(e.ctx, 100); err != nil || n != 1 {
		t.Fatalf("PurgeSTSKeys a second later = %d, %v; want 1", n, err)
	}
	_, err = e.svc.AccessKey(e.ctx, short.AccessKeyID)
	wantRAMCode(t, "purged key", err, moat.CodeInvalidAccessKeyNotFound, moat.KindNotFound)
	if _, err := e.svc.AccessKey(e.ctx, long.AccessKeyID); err != nil {
		t.Errorf("the 12-hour session's key (expired less than the retention ago): %v", err)
	}
	for _, id := range []string{"AK" + e.acct, userKey.ID} {
		if _, err := e.svc.AccessKey(e.ctx, id); err != nil {
			t.Errorf("permanent key %s: %v", id, err)
		}
	}
}

// TestCheckSecurityToken pins the token rules: an STS key needs its own
// token (absent, altered, or another session's token is malformed); a
// permanent key takes none.
func TestCheckSecurityToken(t *testing.T) {
	e, _ := newRAMEnv(t)
	_, userKey := e.ramUser(t, e.acct, "ops", nil)
	a := e.sts(t, e.acct, "ops", time.Hour, "")
	b := e.sts(t, e.acct, "ops", time.Hour, "")
	ka, err := e.svc.AccessKey(e.ctx, a.AccessKeyID)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.CheckSecurityToken(ka, a.SecurityToken); err != nil {
		t.Fatalf("own token: %v", err)
	}
	for what, tok := range map[string]string{"no token": "", "another session's token": b.SecurityToken, "an altered token": a.SecurityToken[:len(a.SecurityToken)-1] + "?"} {
		wantRAMCode(t, what, e.svc.CheckSecurityToken(ka, tok), moat.CodeInvalidSecurityTokenMalformed, moat.KindUnauthenticated)
	}
	for _, id := range []string{userKey.ID, "AK" + e.acct} {
		k, err := e.svc.AccessKey(e.ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.svc.CheckSecurityToken(k, ""); err != nil {
			t.Fatalf("permanent key %s without a token: %v", id, err)
		}
		wantRAMCode(t, "permanent key with a token", e.svc.CheckSecurityToken(k, a.SecurityToken), moat.CodeInvalidSecurityTokenMalformed, moat.KindUnauthenticated)
	}
	if c := moat.CallerOf(ka, loopback); c.Type != moat.PrincipalSTS || c.UserName != "ops" || c.Principal() != "sts/ops" || c.AccountID != e.acct {
		t.Fatalf("CallerOf(STS key) = %+v", c)
	}
	root := e.callerOfKey(t, "AK"+e.acct, loopback)
	if root.Type != moat.PrincipalAccount || root.Principal() != "root" {
		t.Fatalf("CallerOf(account key) = %+v", root)
	}
}

// TestHardening_RevokedBootstrapKeyStaysRevoked pins EnsureBootstrap after
// a revocation: the environment's pair, disabled or deleted through the
// admin API, is not installed again (NotInstalled says why) however often
// the service starts; without a pair no random one replaces a deleted
// bootstrap key; a new pair is installed; a deleted user key is recorded
// as revoked too, an STS key not.
func TestHardening_RevokedBootstrapKeyStaysRevoked(t *testing.T) {
	e, _ := newRAMEnv(t)
	const id, secret = "LTAIfromenv0001", "s3cret"
	b0, err := e.svc.EnsureBootstrap(e.ctx, id, secret)
	if err != nil || b0.NotInstalled != "" {
		t.Fatalf("first start: %+v %v", b0, err)
	}
	if err := e.svc.SetAccessKeyStatus(e.ctx, id, moat.KeyInactive); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		b, err := e.svc.EnsureBootstrap(e.ctx, id, secret)
		if err != nil || !strings.Contains(b.NotInstalled, "Inactive") {
			t.Fatalf("start after disabling: %+v %v; want NotInstalled naming Inactive", b, err)
		}
		if k, err := e.svc.AccessKey(e.ctx, id); err != nil || k.Active {
			t.Fatalf("after a start, the disabled key is %+v %v; want it still Inactive", k, err)
		}
	}
	if b, err := e.svc.EnsureBootstrap(e.ctx, id, "another-secret"); err != nil || b.NotInstalled == "" {
		t.Fatalf("start with the disabled key and another secret: %+v %v", b, err)
	}
	if k, _ := e.svc.AccessKey(e.ctx, id); k.Secret != secret {
		t.Fatalf("a start changed the disabled key's secret to %q", k.Secret)
	}
	if err := e.svc.DeleteAccessKey(e.ctx, id); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		b, err := e.svc.EnsureBootstrap(e.ctx, id, secret)
		if err != nil || !strings.Contains(b.NotInstalled, "deleted") {
			t.Fatalf("start after deleting: %+v %v; want NotInstalled naming the deletion", b, err)
		}
		if _, err := e.svc.AccessKey(e.ctx, id); moat.ErrorCode(err) != moat.CodeInvalidAccessKeyNotFound {
			t.Fatalf("after a start, the deleted key reads %v; want it still gone", err)
		}
	}
	// Nor does an idempotent account creation re-run with the same pair.
	if _, err := e.svc.PutAccount(e.ctx, b0.AccountID, id, secret); moat.ErrorCode(err) != moat.CodeAccessKeyConflict {
		t.Fatalf("PutAccount with the deleted key: %v, want AccessKeyConflict", err)
	}
	if b, err := e.svc.EnsureBootstrap(e.ctx, "", ""); err != nil || b.Generated || !strings.Contains(b.NotInstalled, "deleted") {
		t.Fatalf("start without a pair after the deletion: %+v %v; want no generated pair and NotInstalled", b, err)
	}
	if b, err := e.svc.EnsureBootstrap(e.ctx, "LTAIfromenv0002", "new"); err != nil || b.NotInstalled != "" {
		t.Fatalf("a new pair: %+v %v", b, err)
	}
	if k, err := e.svc.AccessKey(e.ctx, "LTAIfromenv0002"); err != nil || !k.Active {
		t.Fatalf("the new pair: %+v %v", k, err)
	}

	// Every deleted permanent key is remembered; an STS key is not.
	_, userKey := e.ramUser(t, e.acct, "ops", nil)
	uk := userKey.ID
	sts, err := e.svc.IssueSTS(e.ctx, e.acct, "ops", time.Hour, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{uk, sts.AccessKeyID} {
		if err := e.svc.DeleteAccessKey(e.ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.store.Update(e.ctx, func(tx moat.Tx) error {
		if r, err := tx.RevokedKey(uk); err != nil || r.AccountID != e.acct {
			t.Errorf("revoked user key: %+v %v", r, err)
		}
		if _, err := tx.RevokedKey(sts.AccessKeyID); !errors.Is(err, moat.ErrNotFound) {
			t.Errorf("revoked STS key: %v, want no record", err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
