package storetest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"moat/internal/moat"
)

// ---- Tags ----

// txTags reads an instance's tags through Tx.Tags, sorted by key (the
// contract does not order them).
func txTags(t *testing.T, s moat.Store, id string) []moat.Tag {
	t.Helper()
	var out []moat.Tag
	update(t, s, func(tx moat.Tx) error {
		got, err := tx.Tags(id)
		if err != nil {
			return fmt.Errorf("Tx.Tags(%s): %w", id, err)
		}
		out = slices.Clone(got)
		return nil
	})
	slices.SortFunc(out, func(a, b moat.Tag) int { return strings.Compare(a.Key, b.Key) })
	return out
}

func wantTags(t *testing.T, s moat.Store, id string, want ...moat.Tag) {
	t.Helper()
	if got := txTags(t, s, id); !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
		t.Errorf("Tx.Tags(%s) = %+v, want %+v", id, got, want)
	}
}

func testTagsUpsert(t *testing.T, s moat.Store) {
	a := inst("ddoscoo-cn-upsert01", acctA, mainl, "100.64.0.1", at(time.Hour))
	b := inst("ddoscoo-cn-upsert02", acctA, mainl, "100.64.0.2", at(time.Hour))
	insert(t, s, a, b)
	wantTags(t, s, a.ID)
	setTags(t, s, a.ID, moat.Tag{Key: "env", Value: "prod"}, moat.Tag{Key: "team", Value: "red"})
	wantTags(t, s, a.ID, moat.Tag{Key: "env", Value: "prod"}, moat.Tag{Key: "team", Value: "red"})
	// env changes value, team stays, owner is added with an empty value.
	update(t, s, func(tx moat.Tx) error {
		if err := tx.SetTags(a.ID, []moat.Tag{{Key: "env", Value: "dev"}, {Key: "owner", Value: ""}}); err != nil {
			return err
		}
		got, err := tx.Tags(a.ID)
		if err != nil {
			return err
		}
		if len(got) != 3 {
			t.Errorf("Tx.Tags in the Update that set them = %+v, want 3 tags", got)
		}
		return nil
	})
	want := []moat.Tag{{Key: "env", Value: "dev"}, {Key: "owner", Value: ""}, {Key: "team", Value: "red"}}
	wantTags(t, s, a.ID, want...)
	wantTags(t, s, b.ID)
	// Filters see the new value only.
	f := owner(acctA, mainl)
	f.Tags = []moat.TagFilter{{Key: "env", Value: "prod", HasValue: true}}
	checkFilter(t, s, f)
	f.Tags = []moat.TagFilter{{Key: "env", Value: "dev", HasValue: true}}
	checkFilter(t, s, f, a.ID)
	got, err := s.TagsOf(t.Context(), []string{a.ID})
	if err != nil || !slices.Equal(got[a.ID], want) {
		t.Errorf("TagsOf(%s) = %+v, %v; want %+v", a.ID, got, err, want)
	}
}

func testTagsDelete(t *testing.T, s moat.Store) {
	a := inst("ddoscoo-cn-untag01", acctA, mainl, "100.64.0.1", at(time.Hour))
	b := inst("ddoscoo-cn-untag02", acctA, mainl, "100.64.0.2", at(time.Hour))
	c := inst("ddoscoo-cn-untag03", acctA, mainl, "100.64.0.3", at(time.Hour))
	insert(t, s, a, b, c)
	tg := func(k, v string) moat.Tag { return moat.Tag{Key: k, Value: v} }
	setTags(t, s, a.ID, tg("env", "prod"), tg("team", "red"), tg("owner", "ann"), tg("cost", "7"))
	setTags(t, s, b.ID, tg("env", "dev"), tg("team", "blue"))
	del := func(id string, keys []string) {
		t.Helper()
		update(t, s, func(tx moat.Tx) error { return tx.DeleteTags(id, keys) })
	}
	del(a.ID, []string{"team", "absent"})
	wantTags(t, s, a.ID, tg("cost", "7"), tg("env", "prod"), tg("owner", "ann"))
	wantTags(t, s, b.ID, tg("env", "dev"), tg("team", "blue"))
	del(a.ID, []string{"env", "cost"})
	wantTags(t, s, a.ID, tg("owner", "ann"))
	setTags(t, s, a.ID, tg("env", "again"))
	del(a.ID, nil)
	wantTags(t, s, a.ID)
	wantTags(t, s, b.ID, tg("env", "dev"), tg("team", "blue"))
	del(c.ID, nil) // an instance without tags
	del(c.ID, []string{"env"})
	wantTags(t, s, c.ID)
	f := owner(acctA, mainl)
	f.Tags = []moat.TagFilter{{Key: "env"}}
	checkFilter(t, s, f, b.ID)
	f.Tags = []moat.TagFilter{{Key: "owner"}}
	checkFilter(t, s, f)
	del(b.ID, nil)
	wantTags(t, s, b.ID)
	if keys, n, err := s.TagKeys(t.Context(), acctA, mainl, "", 0, 10); err != nil || len(keys) != 0 || n != 0 {
		t.Errorf("TagKeys after deleting every tag = %+v, %d, %v; want none", keys, n, err)
	}

	// A delete in a failed Update is not kept.
	setTags(t, s, a.ID, tg("env", "prod"))
	failed := errors.New("rolled back")
	if err := s.Update(t.Context(), func(tx moat.Tx) error {
		if err := tx.DeleteTags(a.ID, nil); err != nil {
			return err
		}
		return failed
	}); !errors.Is(err, failed) {
		t.Fatalf("failing Update = %v", err)
	}
	wantTags(t, s, a.ID, tg("env", "prod"))
}

func testTagsListingVersion(t *testing.T, s moat.Store) {
	in := inst("ddoscoo-cn-tagver01", acctA, mainl, "100.64.0.1", at(time.Hour))
	otherAcct := inst("ddoscoo-cn-tagver02", acctB, mainl, "100.64.0.2", at(time.Hour))
	otherRegion := inst("ddosDip-sg-tagver03", acctA, overs, "100.96.0.3", at(time.Hour))
	insert(t, s, in, otherAcct, otherRegion)
	ver := func(acct string, r moat.Region) (int64, int64) {
		t.Helper()
		n, v, err := s.ListingVersion(t.Context(), acct, r)
		if err != nil {
			t.Fatalf("ListingVersion(%s, %s): %v", acct, r, err)
		}
		return n, v
	}
	_, v0 := ver(acctA, mainl)
	seen := map[int64]bool{v0: true}
	for _, step := range []struct {
		what string
		fn   func(tx moat.Tx) error
	}{
		{"SetTags of a new key", func(tx moat.Tx) error { return tx.SetTags(in.ID, []moat.Tag{{Key: "env", Value: "prod"}}) }},
		{"SetTags of a new value", func(tx moat.Tx) error { return tx.SetTags(in.ID, []moat.Tag{{Key: "env", Value: "dev"}}) }},
		{"SetTags of two keys", func(tx moat.Tx) error {
			return tx.SetTags(in.ID, []moat.Tag{{Key: "a", Value: "1"}, {Key: "b", Value: "2"}})
		}},
		{"DeleteTags of a key", func(tx moat.Tx) error { return tx.DeleteTags(in.ID, []string{"a"}) }},
		{"DeleteTags of every key", func(tx moat.Tx) error { return tx.DeleteTags(in.ID, nil) }},
	} {
		_, otherAcctBefore := ver(acctB, mainl)
		_, otherRegionBefore := ver(acctA, overs)
		update(t, s, step.fn)
		n, v := ver(acctA, mainl)
		if n != 1 || seen[v] {
			t.Errorf("after %s: ListingVersion = %d, %d; want count 1 and a version not seen before (%v)", step.what, n, v, seen)
		}
		seen[v] = true
		if _, after := ver(acctB, mainl); after != otherAcctBefore {
			t.Errorf("after %s: another account's version moved %d -> %d", step.what, otherAcctBefore, after)
		}
		if _, after := ver(acctA, overs); after != otherRegionBefore {
			t.Errorf("after %s: another region's version moved %d -> %d", step.what, otherRegionBefore, after)
		}
	}
}

func testTagsOf(t *testing.T, s moat.Store) {
	a := inst("ddoscoo-cn-tagsof01", acctA, mainl, "100.64.0.1", at(time.Hour))
	b := inst("ddoscoo-cn-tagsof02", acctA, mainl, "100.64.0.2", at(time.Hour))
	c := inst("ddoscoo-cn-tagsof03", acctA, mainl, "100.64.0.3", at(time.Hour)) // no tags
	d := inst("ddosDip-sg-tagsof04", acctB, overs, "100.96.0.4", at(time.Hour)) // not asked for
	insert(t, s, a, b, c, d)
	// Written out of order; sorted by key means byte order, as Go sorts
	// strings: upper case before lower, multibyte last.
	setTags(t, s, a.ID, moat.Tag{Key: "zeta", Value: "1"}, moat.Tag{Key: "ñandú", Value: "2"}, moat.Tag{Key: "alpha", Value: "3"},
		moat.Tag{Key: "Mid", Value: "4"}, moat.Tag{Key: "a b", Value: ""})
	setTags(t, s, b.ID, moat.Tag{Key: "env", Value: "prod"})
	setTags(t, s, d.ID, moat.Tag{Key: "env", Value: "prod"})
	wantA := []moat.Tag{{Key: "Mid", Value: "4"}, {Key: "a b", Value: ""}, {Key: "alpha", Value: "3"}, {Key: "zeta", Value: "1"}, {Key: "ñandú", Value: "2"}}
	if !slices.IsSortedFunc(wantA, func(x, y moat.Tag) int { return strings.Compare(x.Key, y.Key) }) {
		t.Fatal("fixture wantA is not in byte order")
	}
	check := func(when string, ask []string, want map[string][]moat.Tag) {
		t.Helper()
		got, err := s.TagsOf(t.Context(), ask)
		if err != nil {
			t.Fatalf("%s: TagsOf(%q): %v", when, ask, err)
		}
		for id, tags := range got {
			if len(tags) > 0 && !slices.Contains(ask, id) {
				t.Errorf("%s: TagsOf(%q) answers for %s, which was not asked", when, ask, id)
			}
		}
		for _, id := range ask {
			if g, w := got[id], want[id]; !slices.Equal(g, w) && !(len(g) == 0 && len(w) == 0) {
				t.Errorf("%s: TagsOf(%q)[%s] = %+v, want %+v", when, ask, id, g, w)
			}
		}
	}
	check("several", []string{b.ID, a.ID, c.ID, "ddoscoo-cn-unknown"}, map[string][]moat.Tag{a.ID: wantA, b.ID: {{Key: "env", Value: "prod"}}})
	check("one", []string{b.ID}, map[string][]moat.Tag{b.ID: {{Key: "env", Value: "prod"}}})
	check("none", nil, nil)
	if got, err := s.TagsOf(t.Context(), nil); err != nil || got == nil {
		t.Errorf("TagsOf(nil) = %v, %v; want an empty map", got, err)
	}
	deleteInstance(t, s, b.ID)
	check("after a delete", []string{a.ID, b.ID}, map[string][]moat.Tag{a.ID: wantA})
}

func testTagKeys(t *testing.T, s moat.Store) {
	tg := func(k, v string) moat.Tag { return moat.Tag{Key: k, Value: v} }
	a1 := inst("ddoscoo-cn-keys01", acctA, mainl, "100.64.0.1", at(time.Hour))
	a2 := inst("ddoscoo-cn-keys02", acctA, mainl, "100.64.0.2", at(time.Hour))
	a3 := inst("ddoscoo-cn-keys03", acctA, mainl, "100.64.0.3", at(time.Hour))
	a4 := inst("ddoscoo-cn-keys04", acctA, mainl, "100.64.0.4", at(time.Hour)) // no tags
	o1 := inst("ddosDip-sg-keys05", acctA, overs, "100.96.0.5", at(time.Hour))
	b1 := inst("ddoscoo-cn-keys06", acctB, mainl, "100.64.0.6", at(time.Hour))
	insert(t, s, a1, a2, a3, a4, o1, b1)
	setTags(t, s, a1.ID, tg("env", "prod"), tg("team", "red"))
	setTags(t, s, a2.ID, tg("env", "dev"))
	setTags(t, s, a3.ID, tg("env", "prod"), tg("cost", "1"), tg("Zone", "x"))
	setTags(t, s, o1.ID, tg("env", "x"), tg("overseas", "1"))
	setTags(t, s, b1.ID, tg("env", "prod"), tg("foreign", "1"))
	kc := func(k string, n int64) moat.TagKeyCount { return moat.TagKeyCount{Key: k, Count: n} }
	check := func(when, acct string, r moat.Region, offset, limit int, want []moat.TagKeyCount, total int64) {
		t.Helper()
		got, n, err := s.TagKeys(t.Context(), acct, r, "", offset, limit)
		if err != nil {
			t.Fatalf("%s: TagKeys(%s, %s, %d, %d): %v", when, acct, r, offset, limit, err)
		}
		if !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) || n != total {
			t.Errorf("%s: TagKeys(%s, %s, offset %d, limit %d) = %+v, %d; want %+v, %d", when, acct, r, offset, limit, got, n, want, total)
		}
	}
	all := []moat.TagKeyCount{kc("Zone", 1), kc("cost", 1), kc("env", 3), kc("team", 1)}
	check("all", acctA, mainl, 0, 10, all, 4)
	check("exact fit", acctA, mainl, 0, 4, all, 4)
	check("first page", acctA, mainl, 0, 2, all[:2], 4)
	check("middle", acctA, mainl, 1, 2, all[1:3], 4)
	check("last", acctA, mainl, 3, 2, all[3:], 4)
	check("past the end", acctA, mainl, 4, 10, nil, 4)
	check("other region", acctA, overs, 0, 10, []moat.TagKeyCount{kc("env", 1), kc("overseas", 1)}, 2)
	check("other account", acctB, mainl, 0, 10, []moat.TagKeyCount{kc("env", 1), kc("foreign", 1)}, 2)
	check("no tags there", acctB, overs, 0, 10, nil, 0)
	check("unknown account", "1000000000000009", mainl, 0, 10, nil, 0)

	deleteInstance(t, s, a3.ID)
	check("after a delete", acctA, mainl, 0, 10, []moat.TagKeyCount{kc("env", 2), kc("team", 1)}, 2)
	update(t, s, func(tx moat.Tx) error { return tx.DeleteTags(a1.ID, []string{"team"}) })
	setTags(t, s, a2.ID, tg("env", "changed")) // a new value is still one instance
	check("after DeleteTags", acctA, mainl, 0, 10, []moat.TagKeyCount{kc("env", 2)}, 1)
}
