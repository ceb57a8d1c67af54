package storetest

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"moat/internal/moat"
)

// ---- Website protection ----

func protection() moat.WebProtection {
	return moat.WebProtection{
		CCEnabled: true, CCMode: moat.CCModeUnderAttack,
		CCRules: []moat.CCRule{{Name: "login", URI: "/login", Match: "exact", Interval: 10, Count: 20, Action: "block", TTL: 300,
			Target: "header", SubKey: "X-User", Period: 600, Expires: 1_900_000_000,
			Conditions: []moat.PreciseCondition{{Field: "http-method", Match: "equal", Value: "POST"}}}},
		Blacklist: []string{"198.51.100.7", "203.0.113.0/24"},
		Whitelist: []string{"192.0.2.1"},
		Precise: []moat.PreciseRule{{Name: "admin", Action: "block", Expires: 1_900_000_000, Period: 60,
			Conditions: []moat.PreciseCondition{{Field: "uri", Match: "contain", Value: "/admin"}, {Field: "header", Header: "X-Debug", Match: "nexist"}}}},
	}
}

func testWebProtection(t *testing.T, s moat.Store) {
	ctx := context.Background()
	a := inst("ddoscoo-cn-wprot0001", acctA, mainl, "100.64.1.1", at(time.Hour))
	b := inst("ddoscoo-cn-wprot0002", acctB, mainl, "100.64.1.2", at(time.Hour))
	insert(t, s, a, b)
	wa := webRule(acctA, "www.example.com", a.ID)
	wa2 := webRule(acctA, "shop.example.com", a.ID)
	wb := webRule(acctB, "www.example.com", b.ID)
	p := protection()
	update(t, s, func(tx moat.Tx) error {
		for _, w := range []*moat.WebRule{&wa, &wa2, &wb} {
			if err := tx.InsertWebRule(w); err != nil {
				return err
			}
		}
		if _, err := tx.WebProtection(acctA, wa.Domain); !errors.Is(err, moat.ErrNotFound) {
			t.Errorf("WebProtection before any put: %v, want ErrNotFound", err)
		}
		if err := tx.PutWebProtection(acctA, wa.Domain, p, at(0)); err != nil {
			return err
		}
		got, err := tx.WebProtection(acctA, wa.Domain)
		if err != nil {
			return err
		}
		if !reflect.DeepEqual(got, p) {
			t.Errorf("WebProtection = %+v, want %+v", got, p)
		}
		// Another account's website of the same name is its own.
		return tx.PutWebProtection(acctB, wb.Domain, moat.WebProtection{CCMode: moat.CCModeDefault}, at(0))
	})
	// A put replaces the whole document.
	p2 := moat.WebProtection{CCEnabled: false, CCMode: moat.CCModeSOSEnhance, Whitelist: []string{"192.0.2.9"}}
	update(t, s, func(tx moat.Tx) error { return tx.PutWebProtection(acctA, wa.Domain, p2, at(time.Second)) })

	all, err := s.WebProtections(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]moat.WebProtection{
		moat.WebProtectionKey(acctA, wa.Domain): p2,
		moat.WebProtectionKey(acctB, wb.Domain): {CCMode: moat.CCModeDefault},
	}
	if !reflect.DeepEqual(all, want) {
		t.Errorf("WebProtections = %+v, want %+v", all, want)
	}
	of, err := s.WebProtectionsOf(ctx, acctA, []string{wa.Domain, wa2.Domain, "none.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(of, map[string]moat.WebProtection{wa.Domain: p2}) {
		t.Errorf("WebProtectionsOf(A) = %+v, want only %s", of, wa.Domain)
	}

	// Deleting the website deletes its protection, and no other's; the
	// same domain added back starts without one.
	update(t, s, func(tx moat.Tx) error { return tx.DeleteWebRule(acctA, wa.Domain) })
	update(t, s, func(tx moat.Tx) error {
		if err := tx.InsertWebRule(&wa); err != nil {
			return err
		}
		if _, err := tx.WebProtection(acctA, wa.Domain); !errors.Is(err, moat.ErrNotFound) {
			t.Errorf("WebProtection after delete and re-add: %v, want ErrNotFound", err)
		}
		if _, err := tx.WebProtection(acctB, wb.Domain); err != nil {
			t.Errorf("WebProtection of the other account's website: %v", err)
		}
		return nil
	})
	all, err = s.WebProtections(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 1 {
		t.Errorf("WebProtections after delete = %+v, want only account B's", all)
	}
}
