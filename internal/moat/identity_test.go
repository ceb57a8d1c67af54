package moat_test

import (
	"testing"
	"time"

	"moat/internal/moat"
)

func TestAccountsAndBootstrap(t *testing.T) {
	e := newEnv(t, moat.Config{})
	if created, err := e.svc.PutAccount(e.ctx, e.acct, "AK"+e.acct, "secret"); err != nil || created {
		t.Fatalf("identical repeat: created=%v err=%v", created, err)
	}
	if _, err := e.svc.PutAccount(e.ctx, "3", "AK"+e.acct, "secret"); moat.ErrorCode(err) != moat.CodeAccessKeyConflict {
		t.Fatalf("key of another account: %v", err)
	}
	if _, err := e.svc.PutAccount(e.ctx, e.acct, "AK"+e.acct, "other"); moat.ErrorCode(err) != moat.CodeAccessKeyConflict {
		t.Fatalf("same key, other secret: %v", err)
	}
	if _, err := e.svc.PutAccount(e.ctx, "bad id!", "AKX", "s"); moat.ErrorCode(err) != moat.CodeInvalidParameter {
		t.Fatalf("bad account id: %v", err)
	}
	b, err := e.svc.EnsureBootstrap(e.ctx, "", "")
	if err != nil || !b.Generated || b.Secret == "" || b.AccountID == "" {
		t.Fatalf("first bootstrap: %+v %v", b, err)
	}
	again, err := e.svc.EnsureBootstrap(e.ctx, "", "")
	if err != nil || again.Generated || again.AccessKeyID != b.AccessKeyID || again.Secret != "" {
		t.Fatalf("second bootstrap must reuse the key and not show it: %+v %v", again, err)
	}
	env, err := e.svc.EnsureBootstrap(e.ctx, "LTAIfromenv", "s3cret")
	if err != nil || env.AccountID != b.AccountID || env.Generated {
		t.Fatalf("bootstrap from env: %+v %v", env, err)
	}
	if k, err := e.svc.AccessKey(e.ctx, "LTAIfromenv"); err != nil || k.Secret != "s3cret" || k.AccountID != b.AccountID {
		t.Fatalf("env key: %+v %v", k, err)
	}
	if _, err := e.svc.EnsureBootstrap(e.ctx, "LTAIfromenv", "changed"); err != nil {
		t.Fatal(err)
	}
	if k, _ := e.svc.AccessKey(e.ctx, "LTAIfromenv"); k.Secret != "changed" {
		t.Fatalf("the environment's secret must win, got %q", k.Secret)
	}
	if _, err := e.svc.EnsureBootstrap(e.ctx, "AK"+e.acct, "secret"); err == nil {
		t.Fatalf("bootstrap must refuse a key of another account")
	}
}

func TestNonces(t *testing.T) {
	e := newEnv(t, moat.Config{})
	if err := e.svc.UseNonce(e.ctx, "AK1", "n"); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.UseNonce(e.ctx, "AK1", "n"); moat.ErrorCode(err) != moat.CodeSignatureNonceUsed {
		t.Fatalf("reuse: %v", err)
	}
	if err := e.svc.UseNonce(e.ctx, "AK2", "n"); err != nil {
		t.Fatalf("another key's nonce: %v", err)
	}
	// Still refused 31 minutes later (the server clock offset does not
	// matter: retention runs on the real clock).
	e.real.Add(31 * time.Minute)
	if n, _ := e.svc.PurgeNonces(e.ctx, 100); n != 0 {
		t.Fatalf("purged %d nonces after 31 minutes", n)
	}
	if err := e.svc.UseNonce(e.ctx, "AK1", "n"); moat.ErrorCode(err) != moat.CodeSignatureNonceUsed {
		t.Fatalf("reuse after 31 minutes: %v", err)
	}
	e.real.Add(2 * time.Minute)
	if n, _ := e.svc.PurgeNonces(e.ctx, 100); n != 2 {
		t.Fatalf("purged %d nonces after retention, want 2", n)
	}
}

// TestAccessKeyCache: lookups are cached for KeyCacheTTL (also a miss), and
// a key installed through the service is visible at once.
func TestAccessKeyCache(t *testing.T) {
	e := newEnv(t, moat.Config{})
	if _, err := e.svc.AccessKey(e.ctx, "LTAIlater"); moat.ErrorCode(err) != moat.CodeInvalidAccessKeyNotFound {
		t.Fatalf("unknown key: %v", err)
	}
	if _, err := e.svc.PutAccount(e.ctx, "3000000000000003", "LTAIlater", "s"); err != nil {
		t.Fatal(err)
	}
	if k, err := e.svc.AccessKey(e.ctx, "LTAIlater"); err != nil || k.AccountID != "3000000000000003" {
		t.Fatalf("a key added through the service must be seen at once: %+v %v", k, err)
	}
	// A change behind the service's back (another process) shows after the TTL.
	if err := e.store.Update(e.ctx, func(tx moat.Tx) error {
		return tx.UpdateAccessKey(moat.AccessKey{ID: "LTAIlater", Secret: "rotated", AccountID: "3000000000000003", Active: true})
	}); err != nil {
		t.Fatal(err)
	}
	if k, _ := e.svc.AccessKey(e.ctx, "LTAIlater"); k.Secret != "s" {
		t.Fatalf("within the TTL the cached secret is used, got %q", k.Secret)
	}
	e.real.Add(moat.KeyCacheTTL)
	if k, _ := e.svc.AccessKey(e.ctx, "LTAIlater"); k.Secret != "rotated" {
		t.Fatalf("after the TTL the store's secret is used, got %q", k.Secret)
	}
}
