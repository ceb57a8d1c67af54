package storetest

import (
	"errors"
	"testing"
	"time"

	"moat/internal/moat"
)

// ---- Accounts and access keys ----

func testAccountRoundTrip(t *testing.T, s moat.Store) {
	created := at(-24 * time.Hour).In(east)
	update(t, s, func(tx moat.Tx) error {
		if err := tx.InsertAccount(moat.Account{ID: acctA, CreatedAt: created}); err != nil {
			return err
		}
		return tx.InsertAccount(moat.Account{ID: acctB, CreatedAt: base})
	})
	// check may run inside fn, so it must not call t.Fatal.
	check := func(how string, a moat.Account, err error, id string, want time.Time) {
		t.Helper()
		if err != nil {
			t.Errorf("%s.Account(%s): %v", how, id, err)
			return
		}
		if a.ID != id {
			t.Errorf("%s.Account(%s).ID = %q", how, id, a.ID)
		}
		if d := checkTime("CreatedAt", a.CreatedAt, want); d != "" {
			t.Errorf("%s.Account(%s): %s", how, id, d)
		}
	}
	a, err := s.Account(t.Context(), acctA)
	check("Reader", a, err, acctA, created)
	b, err := s.Account(t.Context(), acctB)
	check("Reader", b, err, acctB, base)
	update(t, s, func(tx moat.Tx) error {
		a, err := tx.Account(acctA)
		check("Tx", a, err, acctA, created)
		b, err := tx.Account(acctB)
		check("Tx", b, err, acctB, base)
		return nil
	})
}

func testAccountConflict(t *testing.T, s moat.Store) {
	update(t, s, func(tx moat.Tx) error { return tx.InsertAccount(moat.Account{ID: acctA, CreatedAt: base}) })
	err := s.Update(t.Context(), func(tx moat.Tx) error {
		return tx.InsertAccount(moat.Account{ID: acctA, CreatedAt: at(time.Hour)})
	})
	if !errors.Is(err, moat.ErrConflict) {
		t.Fatalf("InsertAccount(duplicate) = %v, want ErrConflict", err)
	}
	a, err := s.Account(t.Context(), acctA)
	if err != nil || !a.CreatedAt.Equal(base) {
		t.Errorf("Account after failed duplicate = %+v, %v; want the first one (CreatedAt %v)", a, err, base)
	}
}

func testAccountNotFound(t *testing.T, s moat.Store) {
	update(t, s, func(tx moat.Tx) error { return tx.InsertAccount(moat.Account{ID: acctA, CreatedAt: base}) })
	wantNoAccount(t, s, acctB)
	update(t, s, func(tx moat.Tx) error {
		if a, err := tx.Account(acctB); !errors.Is(err, moat.ErrNotFound) {
			t.Errorf("Tx.Account(missing) = %+v, %v; want ErrNotFound", a, err)
		}
		return nil
	})
}

// checkKey may run inside fn, so it must not call t.Fatal.
func checkKey(t *testing.T, how string, got moat.AccessKey, err error, want moat.AccessKey) {
	t.Helper()
	if err != nil {
		t.Errorf("%s.AccessKey(%s): %v", how, want.ID, err)
		return
	}
	if got.ID != want.ID || got.Secret != want.Secret || got.AccountID != want.AccountID || got.Active != want.Active {
		t.Errorf("%s.AccessKey(%s) = %+v, want %+v", how, want.ID, got, want)
	}
	if d := checkTime("CreatedAt", got.CreatedAt, want.CreatedAt); d != "" {
		t.Errorf("%s.AccessKey(%s): %s", how, want.ID, d)
	}
}

func testAccessKeyRoundTrip(t *testing.T, s moat.Store) {
	k1 := moat.AccessKey{ID: "LTAIactive", Secret: "secret-1/+=", AccountID: acctA, Active: true, CreatedAt: at(-time.Minute).In(east)}
	k2 := moat.AccessKey{ID: "LTAIinactive", Secret: "secret-2", AccountID: acctB, Active: false, CreatedAt: base}
	update(t, s, func(tx moat.Tx) error {
		if err := tx.InsertAccessKey(k1); err != nil {
			return err
		}
		return tx.InsertAccessKey(k2)
	})
	for _, k := range []moat.AccessKey{k1, k2} {
		got, err := s.AccessKey(t.Context(), k.ID)
		checkKey(t, "Reader", got, err, k)
	}
	update(t, s, func(tx moat.Tx) error {
		for _, k := range []moat.AccessKey{k1, k2} {
			got, err := tx.AccessKey(k.ID)
			checkKey(t, "Tx", got, err, k)
		}
		return nil
	})
}

func testRevokedKeys(t *testing.T, s moat.Store) {
	first := moat.RevokedKey{ID: "LTAIrevoked", AccountID: acctA, RevokedAt: at(-time.Hour)}
	update(t, s, func(tx moat.Tx) error {
		if _, err := tx.RevokedKey(first.ID); !errors.Is(err, moat.ErrNotFound) {
			t.Errorf("RevokedKey before any record = %v, want ErrNotFound", err)
		}
		if err := tx.InsertRevokedKey(first); err != nil {
			return err
		}
		// A second record of the same ID keeps the first.
		return tx.InsertRevokedKey(moat.RevokedKey{ID: first.ID, AccountID: acctB, RevokedAt: base})
	})
	update(t, s, func(tx moat.Tx) error {
		got, err := tx.RevokedKey(first.ID)
		if err != nil || got.ID != first.ID || got.AccountID != acctA || !got.RevokedAt.Equal(first.RevokedAt) {
			t.Errorf("RevokedKey = %+v, %v; want %+v", got, err, first)
		}
		if _, err := tx.RevokedKey("LTAIrevoked2"); !errors.Is(err, moat.ErrNotFound) {
			t.Errorf("RevokedKey of another ID = %v, want ErrNotFound", err)
		}
		return nil
	})
}

func testAccessKeyConflict(t *testing.T, s moat.Store) {
	k := moat.AccessKey{ID: "LTAIdup", Secret: "first", AccountID: acctA, Active: true, CreatedAt: base}
	update(t, s, func(tx moat.Tx) error { return tx.InsertAccessKey(k) })
	err := s.Update(t.Context(), func(tx moat.Tx) error {
		return tx.InsertAccessKey(moat.AccessKey{ID: k.ID, Secret: "second", AccountID: acctB, Active: false, CreatedAt: base})
	})
	if !errors.Is(err, moat.ErrConflict) {
		t.Fatalf("InsertAccessKey(duplicate) = %v, want ErrConflict", err)
	}
	got, err := s.AccessKey(t.Context(), k.ID)
	checkKey(t, "Reader", got, err, k)
}

func testAccessKeyUpdate(t *testing.T, s moat.Store) {
	k := moat.AccessKey{ID: "LTAIupd", Secret: "old", AccountID: acctA, Active: true, CreatedAt: base}
	other := moat.AccessKey{ID: "LTAIother", Secret: "other", AccountID: acctA, Active: true, CreatedAt: base}
	update(t, s, func(tx moat.Tx) error {
		if err := tx.InsertAccessKey(k); err != nil {
			return err
		}
		return tx.InsertAccessKey(other)
	})
	k.Secret, k.Active = "new", false
	update(t, s, func(tx moat.Tx) error { return tx.UpdateAccessKey(k) })
	got, err := s.AccessKey(t.Context(), k.ID)
	checkKey(t, "Reader", got, err, k)
	got, err = s.AccessKey(t.Context(), other.ID)
	checkKey(t, "Reader", got, err, other)

	k.Active = true
	update(t, s, func(tx moat.Tx) error {
		if err := tx.UpdateAccessKey(k); err != nil {
			return err
		}
		got, err := tx.AccessKey(k.ID)
		checkKey(t, "Tx", got, err, k)
		return nil
	})
	got, err = s.AccessKey(t.Context(), k.ID)
	checkKey(t, "Reader", got, err, k)
}

func testAccessKeyNotFound(t *testing.T, s moat.Store) {
	if k, err := s.AccessKey(t.Context(), "LTAInone"); !errors.Is(err, moat.ErrNotFound) {
		t.Errorf("Reader.AccessKey(missing) = %+v, %v; want ErrNotFound", k, err)
	}
	update(t, s, func(tx moat.Tx) error {
		if k, err := tx.AccessKey("LTAInone"); !errors.Is(err, moat.ErrNotFound) {
			t.Errorf("Tx.AccessKey(missing) = %+v, %v; want ErrNotFound", k, err)
		}
		return nil
	})
	err := s.Update(t.Context(), func(tx moat.Tx) error {
		return tx.UpdateAccessKey(moat.AccessKey{ID: "LTAInone", Secret: "x", AccountID: acctA, Active: true, CreatedAt: base})
	})
	if !errors.Is(err, moat.ErrNotFound) {
		t.Errorf("UpdateAccessKey(missing) = %v, want ErrNotFound", err)
	}
	if k, err := s.AccessKey(t.Context(), "LTAInone"); !errors.Is(err, moat.ErrNotFound) {
		t.Errorf("UpdateAccessKey(missing) created %+v, %v", k, err)
	}
}

func testDeleteExpiredSTSKeys(t *testing.T, s moat.Store) {
	perm := moat.AccessKey{ID: "LTAIperm", Secret: "p", AccountID: acctA, Active: true, CreatedAt: base}
	user := moat.AccessKey{ID: "LTAIuser", Secret: "u", AccountID: acctA, UserName: "ops", Active: true, CreatedAt: base}
	sts := func(id string, exp time.Duration) moat.AccessKey {
		return moat.AccessKey{ID: id, Secret: "s", AccountID: acctA, UserName: "ops", Active: true, CreatedAt: base,
			TokenHash: "hash-" + id, Expires: at(exp)}
	}
	keys := []moat.AccessKey{perm, user, sts("STS.old", -3*time.Hour), sts("STS.older", -4*time.Hour),
		sts("STS.oldest", -5*time.Hour), sts("STS.edge", 0), sts("STS.live", time.Hour)}
	update(t, s, func(tx moat.Tx) error {
		for _, k := range keys {
			if err := tx.InsertAccessKey(k); err != nil {
				return err
			}
		}
		return nil
	})
	purge := func(max int) int {
		var n int
		update(t, s, func(tx moat.Tx) error {
			var err error
			n, err = tx.DeleteExpiredSTSKeys(base, max)
			return err
		})
		return n
	}
	if n := purge(2); n != 2 {
		t.Fatalf("DeleteExpiredSTSKeys(max 2) = %d, want 2", n)
	}
	for _, id := range []string{"STS.oldest", "STS.older"} {
		if _, err := s.AccessKey(t.Context(), id); !errors.Is(err, moat.ErrNotFound) {
			t.Errorf("after the first purge AccessKey(%s) = %v, want ErrNotFound (the earliest expiries go first)", id, err)
		}
	}
	if n := purge(0); n != 1 {
		t.Fatalf("DeleteExpiredSTSKeys(no limit) = %d, want 1 (STS.old)", n)
	}
	if n := purge(0); n != 0 {
		t.Fatalf("DeleteExpiredSTSKeys again = %d, want 0", n)
	}
	for _, k := range []moat.AccessKey{perm, user, sts("STS.edge", 0), sts("STS.live", time.Hour)} {
		got, err := s.AccessKey(t.Context(), k.ID)
		checkKey(t, "Reader", got, err, k)
	}
}
