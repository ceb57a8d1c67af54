package storetest

import (
	"errors"
	"strings"
	"testing"
	"time"

	"moat/internal/moat"
)

// ---- Settings ----

func testSettings(t *testing.T, s moat.Store) {
	wantNoSetting(t, s, moat.SettingClockOffset)
	update(t, s, func(tx moat.Tx) error {
		if v, err := tx.Setting(moat.SettingClockOffset); !errors.Is(err, moat.ErrNotFound) {
			t.Errorf("Tx.Setting(missing) = %q, %v; want ErrNotFound", v, err)
		}
		if err := tx.SetSetting(moat.SettingClockOffset, "-3600000000000"); err != nil {
			return err
		}
		return tx.SetSetting(moat.SettingBootstrapAccount, "")
	})
	wantSetting(t, s, moat.SettingClockOffset, "-3600000000000")
	wantSetting(t, s, moat.SettingBootstrapAccount, "") // an empty value is a value
	update(t, s, func(tx moat.Tx) error { return tx.SetSetting(moat.SettingClockOffset, "42") })
	wantSetting(t, s, moat.SettingClockOffset, "42")
	wantSetting(t, s, moat.SettingBootstrapAccount, "")
	update(t, s, func(tx moat.Tx) error {
		if v, err := tx.Setting(moat.SettingClockOffset); err != nil || v != "42" {
			t.Errorf("Tx.Setting = %q, %v; want 42", v, err)
		}
		return nil
	})
	long := strings.Repeat("välue ", 2000)
	update(t, s, func(tx moat.Tx) error { return tx.SetSetting("long", long) })
	wantSetting(t, s, "long", long)
}

func testListingVersion(t *testing.T, s moat.Store) {
	ver := func(acct string, r moat.Region) (int64, int64) {
		t.Helper()
		n, v, err := s.ListingVersion(t.Context(), acct, r)
		if err != nil {
			t.Fatalf("ListingVersion: %v", err)
		}
		return n, v
	}
	if n, v := ver(acctA, mainl); n != 0 || v != 0 {
		t.Fatalf("ListingVersion with no instances = %d, %d; want 0, 0", n, v)
	}
	seen := map[int64]bool{0: true}
	step := func(what string, wantN int64, fn func(tx moat.Tx) error) {
		t.Helper()
		_, otherBefore := ver(acctB, mainl)
		update(t, s, fn)
		n, v := ver(acctA, mainl)
		if n != wantN || seen[v] {
			t.Errorf("after %s: ListingVersion = %d, %d; want count %d and a version not seen before (%v)", what, n, v, wantN, seen)
		}
		seen[v] = true
		if _, otherAfter := ver(acctB, mainl); otherAfter != otherBefore {
			t.Errorf("after %s: another account's version moved %d -> %d", what, otherBefore, otherAfter)
		}
	}
	in := inst("ddoscoo-cn-version001", acctA, mainl, "100.64.9.1", at(time.Hour))
	insert(t, s, inst("ddoscoo-cn-versionB01", acctB, mainl, "100.64.9.2", at(time.Hour)))
	step("insert", 1, func(tx moat.Tx) error { return tx.InsertInstance(&in) })
	step("update", 1, func(tx moat.Tx) error { in.Remark = "changed"; return tx.UpdateInstance(&in) })
	step("tags", 1, func(tx moat.Tx) error { return tx.SetTags(in.ID, []moat.Tag{{Key: "k", Value: "v"}}) })
	step("delete", 0, func(tx moat.Tx) error { return tx.DeleteInstance(in.ID) })

	// Nothing that leaves the listing alone moves the version.
	_, before := ver(acctA, mainl)
	update(t, s, func(tx moat.Tx) error { return tx.SetSetting("x", "y") })
	failed := errors.New("rolled back")
	if err := s.Update(t.Context(), func(tx moat.Tx) error {
		in2 := inst("ddoscoo-cn-version002", acctA, mainl, "100.64.9.3", at(time.Hour))
		if err := tx.InsertInstance(&in2); err != nil {
			return err
		}
		return failed
	}); !errors.Is(err, failed) {
		t.Fatalf("failing Update = %v", err)
	}
	if n, after := ver(acctA, mainl); after != before || n != 0 {
		t.Errorf("ListingVersion moved %d -> %d (count %d) without a committed change", before, after, n)
	}
	if _, v := ver(acctA, overs); v != 0 {
		t.Errorf("the other region's version is %d, want 0", v)
	}
}
