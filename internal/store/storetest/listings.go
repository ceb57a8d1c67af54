package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"moat/internal/moat"
)

// ---- Listing ----

// testHardeningScanNestedDeeperThanPool pins what lets an unpaged listing
// stream without starving other readers: ScanInstances takes a read
// connection only while it reads a batch, never while fn runs. Scans
// nested deeper than any store's read pool (SQLite 4, PostgreSQL 16 by
// default) each pause inside fn while the next one runs; a store that kept
// a connection across fn would wait for one that never comes back, and
// fail when the deadline passes.
func testHardeningScanNestedDeeperThanPool(t *testing.T, s moat.Store) {
	const depth, n = 20, 5
	var want []string
	for i := range n {
		id := fmt.Sprintf("ddoscoo-cn-nest%02d", i)
		insert(t, s, inst(id, acctA, mainl, fmt.Sprintf("100.64.1.%d", i+1), at(time.Hour)))
		want = append(want, id)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	var scan func(level int) ([]string, error)
	scan = func(level int) ([]string, error) {
		var ids []string
		err := s.ScanInstances(ctx, owner(acctA, mainl), 1, func(list []moat.Instance) error {
			if len(ids) == 0 && level < depth {
				inner, err := scan(level + 1)
				if err != nil {
					return err
				}
				if !slices.Equal(inner, want) {
					return fmt.Errorf("level %d: %q, want %q", level+1, inner, want)
				}
			}
			for _, in := range list {
				ids = append(ids, in.ID)
			}
			return nil
		})
		return ids, err
	}
	got, err := scan(1)
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("ScanInstances nested %d deep: %q, %v; want %q at every level", depth, got, err, want)
	}
}

func testListOrder(t *testing.T, s moat.Store) {
	// IDs, IPs and expiries all out of order, so no other order passes.
	first := []moat.Instance{
		inst("ddoscoo-cn-m", acctA, mainl, "100.64.0.9", at(3*time.Hour)),
		inst("ddoscoo-cn-c", acctA, mainl, "100.64.0.2", at(1*time.Hour)),
	}
	insert(t, s, first...)
	insert(t, s, inst("ddoscoo-cn-z", acctA, mainl, "100.64.0.5", at(2*time.Hour)))
	insert(t, s, inst("ddoscoo-cn-a", acctA, mainl, "100.64.0.7", at(5*time.Hour)),
		inst("ddoscoo-cn-q", acctA, mainl, "100.64.0.1", at(4*time.Hour)))
	want := []string{"ddoscoo-cn-m", "ddoscoo-cn-c", "ddoscoo-cn-z", "ddoscoo-cn-a", "ddoscoo-cn-q"}
	checkFilter(t, s, owner(acctA, mainl), want...)

	// Deleting from the middle and adding keeps the order of the rest.
	deleteInstance(t, s, "ddoscoo-cn-z")
	insert(t, s, inst("ddoscoo-cn-b", acctA, mainl, "100.64.0.3", at(time.Minute)))
	checkFilter(t, s, owner(acctA, mainl), "ddoscoo-cn-m", "ddoscoo-cn-c", "ddoscoo-cn-a", "ddoscoo-cn-q", "ddoscoo-cn-b")
	// Deleting the newest and adding: the new one is still last.
	deleteInstance(t, s, "ddoscoo-cn-b")
	insert(t, s, inst("ddoscoo-cn-0", acctA, mainl, "100.64.0.4", at(time.Minute)))
	checkFilter(t, s, owner(acctA, mainl), "ddoscoo-cn-m", "ddoscoo-cn-c", "ddoscoo-cn-a", "ddoscoo-cn-q", "ddoscoo-cn-0")
}

func testListPaging(t *testing.T, s moat.Store) {
	var all []string
	for i := 0; i < 7; i++ {
		id := fmt.Sprintf("ddoscoo-cn-page%02d", 7-i) // descending IDs
		all = append(all, id)
		insert(t, s, inst(id, acctA, mainl, fmt.Sprintf("100.64.0.%d", 10-i), at(time.Duration(i%3)*time.Hour)))
	}
	insert(t, s, inst("ddosDip-sg-other", acctA, overs, "100.96.0.1", at(time.Hour)))
	for _, c := range []struct {
		offset, limit int
		want          []string
	}{
		{0, 0, all},
		{0, 3, all[0:3]},
		{3, 3, all[3:6]},
		{6, 3, all[6:7]},
		{7, 3, nil},
		{100, 3, nil},
		{2, 0, all[2:]},
		{0, 100, all},
		{1, 1, all[1:2]},
	} {
		f := owner(acctA, mainl)
		f.Offset, f.Limit = c.offset, c.limit
		got := list(t, s, f)
		if !slices.Equal(got, c.want) && !(len(got) == 0 && len(c.want) == 0) {
			t.Errorf("Instances(Offset %d, Limit %d) = %q, want %q", c.offset, c.limit, got, c.want)
		}
		if n := count(t, s, f); n != 7 {
			t.Errorf("CountInstances(Offset %d, Limit %d) = %d, want 7", c.offset, c.limit, n)
		}
		checkPage(t, s, f, c.want, 7)
	}
	// Paging a filtered query.
	f := owner(acctA, mainl)
	f.ExpireBefore = ptr(at(time.Hour)) // i%3 == 0: indices 0, 3, 6
	f.Offset, f.Limit = 1, 1
	if got := list(t, s, f); !slices.Equal(got, []string{all[3]}) {
		t.Errorf("filtered page = %q, want %q", got, all[3])
	}
	if n := count(t, s, f); n != 3 {
		t.Errorf("filtered CountInstances with paging = %d, want 3", n)
	}
}

func testFilterIDs(t *testing.T, s moat.Store) {
	a := inst("ddoscoo-cn-ids000001", acctA, mainl, "100.64.0.1", at(time.Hour))
	b := inst("ddoscoo-cn-ids000002", acctA, mainl, "100.64.0.2", at(time.Hour))
	c := inst("ddoscoo-cn-ids000003", acctA, mainl, "100.64.0.3", at(time.Hour))
	foreign := inst("ddoscoo-cn-ids000004", acctB, mainl, "100.64.0.4", at(time.Hour))
	otherRegion := inst("ddosDip-sg-ids000005", acctA, overs, "100.96.0.5", at(time.Hour))
	insert(t, s, a, b, c, foreign, otherRegion)

	f := owner(acctA, mainl)
	checkFilter(t, s, f, a.ID, b.ID, c.ID) // nil: any
	// Listed in insertion order whatever the order of IDs; unknown IDs,
	// another account's and another region's are ignored.
	f.IDs = []string{c.ID, "ddoscoo-cn-unknown", a.ID, foreign.ID, otherRegion.ID}
	checkFilter(t, s, f, a.ID, c.ID)
	f.IDs = []string{b.ID}
	checkFilter(t, s, f, b.ID)
	f.IDs = []string{b.ID, b.ID}
	checkFilter(t, s, f, b.ID)
	f.IDs = []string{"ddoscoo-cn-unknown"}
	checkFilter(t, s, f)
}

func testFilterIP(t *testing.T, s moat.Store) {
	a := inst("ddoscoo-cn-ip0000001", acctA, mainl, "100.64.0.1", at(time.Hour))
	b := inst("ddoscoo-cn-ip0000002", acctA, mainl, "100.64.0.11", at(time.Hour))
	c := inst("ddoscoo-cn-ip0000003", acctA, mainl, "100.64.0.111", at(time.Hour))
	insert(t, s, a, b, c)
	f := owner(acctA, mainl)
	f.IP = "100.64.0.11"
	checkFilter(t, s, f, b.ID)
	f.IP = "100.64.0.1"
	checkFilter(t, s, f, a.ID)
	f.IP = "100.64.0"
	checkFilter(t, s, f)
	f.IP = "100.64.0.2"
	checkFilter(t, s, f)
}

func testFilterRemark(t *testing.T, s moat.Store) {
	mk := func(id, ip, remark string) moat.Instance {
		in := inst(id, acctA, mainl, ip, at(time.Hour))
		in.Remark = remark
		return in
	}
	hello := mk("ddoscoo-cn-rm01", "100.64.0.1", "Hello World")
	lower := mk("ddoscoo-cn-rm02", "100.64.0.2", "hello world")
	pct := mk("ddoscoo-cn-rm03", "100.64.0.3", "100% sure")
	under := mk("ddoscoo-cn-rm04", "100.64.0.4", "snake_case")
	cjk := mk("ddoscoo-cn-rm05", "100.64.0.5", "防护实例 Ab")
	empty := mk("ddoscoo-cn-rm06", "100.64.0.6", "")
	quote := mk("ddoscoo-cn-rm07", "100.64.0.7", `it's a \back"slash`)
	insert(t, s, hello, lower, pct, under, cjk, empty, quote)
	for _, c := range []struct {
		sub  string
		want []string
	}{
		{"World", []string{hello.ID}},
		{"world", []string{lower.ID}},
		{"WORLD", nil},
		{"lo Wo", []string{hello.ID}},
		{"o", []string{hello.ID, lower.ID}},
		{"Hello World", []string{hello.ID}},
		{"Hello World!", nil},
		{"%", []string{pct.ID}},            // literal, not a wildcard
		{"_", []string{under.ID}},          // literal, not a wildcard
		{"e_c", []string{under.ID}},        // literal
		{"H%d", nil},                       // not a pattern
		{"护实", []string{cjk.ID}},           // multibyte
		{"ab", nil},                        // case-sensitive beyond ASCII words too
		{`\back`, []string{quote.ID}},      // backslash is literal
		{`it's`, []string{quote.ID}},       // quote is literal
		{`"slash`, []string{quote.ID}},     // double quote is literal
		{"*", nil},                         // no glob either
		{"[h]", nil},                       // no character classes
		{"Hello", []string{hello.ID}},      // prefix
		{"sure", []string{pct.ID}},         // suffix
		{"snake_case", []string{under.ID}}, // whole
	} {
		f := owner(acctA, mainl)
		f.RemarkContains = c.sub
		checkFilter(t, s, f, c.want...)
	}
}

func testFilterEdition(t *testing.T, s moat.Store) {
	mk := func(id, ip string, ed int) moat.Instance {
		in := inst(id, acctA, overs, ip, at(time.Hour))
		in.Edition = ed
		return in
	}
	e0 := mk("ddosDip-sg-ed0", "100.96.0.1", moat.EditionInsurance)
	e1 := mk("ddosDip-sg-ed1", "100.96.0.2", moat.EditionUnlimited)
	e3 := mk("ddosDip-sg-ed3", "100.96.0.3", moat.EditionSecCMA)
	e0b := mk("ddosDip-sg-ed0b", "100.96.0.4", moat.EditionInsurance)
	insert(t, s, e0, e1, e3, e0b)
	for _, c := range []struct {
		ed   int
		want []string
	}{
		{0, []string{e0.ID, e0b.ID}},
		{1, []string{e1.ID}},
		{2, nil},
		{3, []string{e3.ID}},
		{9, nil},
	} {
		f := owner(acctA, overs)
		f.Edition = ptr(c.ed)
		checkFilter(t, s, f, c.want...)
	}
}

// expiryFixture inserts instances expiring at base-1ms, base, base+1ms,
// base+1h, in scrambled insertion order, and returns their IDs by expiry.
func expiryFixture(t *testing.T, s moat.Store) (before, exact, after, later string) {
	t.Helper()
	insert(t, s,
		inst("ddoscoo-cn-exp-later", acctA, mainl, "100.64.0.4", at(time.Hour)),
		inst("ddoscoo-cn-exp-exact", acctA, mainl, "100.64.0.2", base.In(east)),
		inst("ddoscoo-cn-exp-before", acctA, mainl, "100.64.0.1", at(-time.Millisecond)),
		inst("ddoscoo-cn-exp-after", acctA, mainl, "100.64.0.3", at(time.Millisecond)),
	)
	return "ddoscoo-cn-exp-before", "ddoscoo-cn-exp-exact", "ddoscoo-cn-exp-after", "ddoscoo-cn-exp-later"
}

func testFilterExpireFrom(t *testing.T, s moat.Store) {
	before, exact, after, later := expiryFixture(t, s)
	_ = before
	f := owner(acctA, mainl)
	f.ExpireFrom = ptr(base)
	checkFilter(t, s, f, later, exact, after)
	f.ExpireFrom = ptr(base.In(east)) // the zone of the bound does not matter
	checkFilter(t, s, f, later, exact, after)
	f.ExpireFrom = ptr(at(time.Millisecond))
	checkFilter(t, s, f, later, after)
	f.ExpireFrom = ptr(at(-time.Millisecond))
	checkFilter(t, s, f, later, exact, before, after)
	f.ExpireFrom = ptr(at(time.Hour + time.Millisecond))
	checkFilter(t, s, f)
}

func testFilterExpireBefore(t *testing.T, s moat.Store) {
	before, exact, after, later := expiryFixture(t, s)
	f := owner(acctA, mainl)
	f.ExpireBefore = ptr(base)
	checkFilter(t, s, f, before)
	f.ExpireBefore = ptr(base.In(east))
	checkFilter(t, s, f, before)
	f.ExpireBefore = ptr(at(time.Millisecond))
	checkFilter(t, s, f, exact, before)
	f.ExpireBefore = ptr(at(-time.Millisecond))
	checkFilter(t, s, f)
	f.ExpireBefore = ptr(at(2 * time.Hour))
	checkFilter(t, s, f, later, exact, before, after)
	// Both bounds: the half-open range [base, base+1h) .
	f.ExpireFrom, f.ExpireBefore = ptr(base), ptr(at(time.Hour))
	checkFilter(t, s, f, exact, after)
}

func testFilterResourceGroup(t *testing.T, s moat.Store) {
	mk := func(id, ip, rg string) moat.Instance {
		in := inst(id, acctA, mainl, ip, at(time.Hour))
		in.ResourceGroupID = rg
		return in
	}
	a := mk("ddoscoo-cn-rg1", "100.64.0.1", "rg-aaa")
	b := mk("ddoscoo-cn-rg2", "100.64.0.2", "rg-aaab")
	c := mk("ddoscoo-cn-rg3", "100.64.0.3", "")
	d := mk("ddoscoo-cn-rg4", "100.64.0.4", "rg-aaa")
	insert(t, s, a, b, c, d)
	f := owner(acctA, mainl)
	f.ResourceGroupID = "rg-aaa"
	checkFilter(t, s, f, a.ID, d.ID)
	f.ResourceGroupID = "rg-aaab"
	checkFilter(t, s, f, b.ID)
	f.ResourceGroupID = "RG-AAA"
	checkFilter(t, s, f)
	f.ResourceGroupID = "rg-"
	checkFilter(t, s, f)
}

func testFilterTags(t *testing.T, s moat.Store) {
	a := inst("ddoscoo-cn-tag1", acctA, mainl, "100.64.0.1", at(time.Hour))
	b := inst("ddoscoo-cn-tag2", acctA, mainl, "100.64.0.2", at(time.Hour))
	c := inst("ddoscoo-cn-tag3", acctA, mainl, "100.64.0.3", at(time.Hour))
	d := inst("ddoscoo-cn-tag4", acctA, mainl, "100.64.0.4", at(time.Hour))
	foreign := inst("ddoscoo-cn-tag5", acctB, mainl, "100.64.0.5", at(time.Hour))
	insert(t, s, a, b, c, d, foreign)
	setTags(t, s, a.ID, moat.Tag{Key: "env", Value: "prod"}, moat.Tag{Key: "team", Value: "red"})
	setTags(t, s, b.ID, moat.Tag{Key: "env", Value: "dev"}, moat.Tag{Key: "team", Value: "red"})
	setTags(t, s, c.ID, moat.Tag{Key: "env", Value: "prod"})
	setTags(t, s, foreign.ID, moat.Tag{Key: "env", Value: "prod"}, moat.Tag{Key: "team", Value: "red"})
	// d has no tags.

	tf := func(tags ...moat.TagFilter) moat.InstanceFilter {
		f := owner(acctA, mainl)
		f.Tags = tags
		return f
	}
	kv := func(k, v string) moat.TagFilter { return moat.TagFilter{Key: k, Value: v, HasValue: true} }
	k := func(k string) moat.TagFilter { return moat.TagFilter{Key: k} }

	checkFilter(t, s, tf(k("env")), a.ID, b.ID, c.ID)
	checkFilter(t, s, tf(k("team")), a.ID, b.ID)
	checkFilter(t, s, tf(k("absent")))
	checkFilter(t, s, tf(k("Env"))) // keys are case-sensitive
	checkFilter(t, s, tf(kv("env", "prod")), a.ID, c.ID)
	checkFilter(t, s, tf(kv("env", "dev")), b.ID)
	checkFilter(t, s, tf(kv("env", "Prod")))
	checkFilter(t, s, tf(kv("env", "")))
	checkFilter(t, s, tf(kv("team", "prod"))) // value of another key
	// Several tags are ANDed.
	checkFilter(t, s, tf(kv("env", "prod"), kv("team", "red")), a.ID)
	checkFilter(t, s, tf(k("env"), k("team")), a.ID, b.ID)
	checkFilter(t, s, tf(kv("env", "prod"), k("team")), a.ID)
	checkFilter(t, s, tf(kv("env", "prod"), kv("env", "dev")))
	checkFilter(t, s, tf(k("env"), k("absent")))
	// A value filter without HasValue is a key filter.
	checkFilter(t, s, tf(moat.TagFilter{Key: "env", Value: "prod"}), a.ID, b.ID, c.ID)
}

func testFilterCombined(t *testing.T, s moat.Store) {
	mk := func(id, ip string, ed int, rg, remark string, expire time.Time) moat.Instance {
		in := inst(id, acctA, overs, ip, expire)
		in.Edition, in.ResourceGroupID, in.Remark = ed, rg, remark
		return in
	}
	a := mk("ddosDip-sg-c1", "100.96.0.1", 1, "rg-1", "web front", at(time.Hour))
	b := mk("ddosDip-sg-c2", "100.96.0.2", 1, "rg-1", "web back", at(3*time.Hour))
	c := mk("ddosDip-sg-c3", "100.96.0.3", 2, "rg-1", "web front", at(time.Hour))
	d := mk("ddosDip-sg-c4", "100.96.0.4", 1, "rg-2", "web front", at(time.Hour))
	insert(t, s, a, b, c, d)
	setTags(t, s, a.ID, moat.Tag{Key: "env", Value: "prod"})
	setTags(t, s, b.ID, moat.Tag{Key: "env", Value: "prod"})
	setTags(t, s, d.ID, moat.Tag{Key: "env", Value: "prod"})

	f := owner(acctA, overs)
	f.Edition = ptr(1)
	f.ResourceGroupID = "rg-1"
	checkFilter(t, s, f, a.ID, b.ID)
	f.RemarkContains = "front"
	checkFilter(t, s, f, a.ID)
	f.RemarkContains = ""
	f.ExpireBefore = ptr(at(2 * time.Hour))
	checkFilter(t, s, f, a.ID)
	f.ExpireBefore = nil
	f.ExpireFrom = ptr(at(2 * time.Hour))
	f.Tags = []moat.TagFilter{{Key: "env", Value: "prod", HasValue: true}}
	checkFilter(t, s, f, b.ID)
	f.IDs = []string{a.ID, c.ID, d.ID}
	checkFilter(t, s, f)
	f = owner(acctA, overs)
	f.IDs = []string{a.ID, c.ID, d.ID}
	f.IP = "100.96.0.4"
	checkFilter(t, s, f, d.ID)
}

func testListIsolation(t *testing.T, s moat.Store) {
	aM := inst("ddoscoo-cn-iso1", acctA, mainl, "100.64.0.1", at(time.Hour))
	aO := inst("ddosDip-sg-iso2", acctA, overs, "100.96.0.1", at(time.Hour))
	bM := inst("ddoscoo-cn-iso3", acctB, mainl, "100.64.0.2", at(time.Hour))
	bO := inst("ddosDip-sg-iso4", acctB, overs, "100.96.0.2", at(time.Hour))
	aM2 := inst("ddoscoo-cn-iso5", acctA, mainl, "100.64.0.3", at(time.Hour))
	insert(t, s, aM, aO, bM, bO, aM2)
	for _, in := range []moat.Instance{aM, aO, bM, bO, aM2} {
		setTags(t, s, in.ID, moat.Tag{Key: "k", Value: "v"})
	}
	for _, c := range []struct {
		acct   string
		region moat.Region
		want   []string
	}{
		{acctA, mainl, []string{aM.ID, aM2.ID}},
		{acctA, overs, []string{aO.ID}},
		{acctB, mainl, []string{bM.ID}},
		{acctB, overs, []string{bO.ID}},
		{"1000000000000009", mainl, nil},
		{acctA, "eu-central-1", nil},
	} {
		f := owner(c.acct, c.region)
		checkFilter(t, s, f, c.want...)
		if n := count(t, s, f); n != int64(len(c.want)) {
			t.Errorf("unfiltered CountInstances(%s, %s) = %d, want %d", c.acct, c.region, n, len(c.want))
		}
		f.Tags = []moat.TagFilter{{Key: "k"}}
		checkFilter(t, s, f, c.want...)
		f.Tags = nil
		f.ExpireFrom = ptr(base)
		checkFilter(t, s, f, c.want...)
	}
	// Another owner's instance is not reachable through filters either.
	f := owner(acctA, mainl)
	f.IP = bM.IP
	checkFilter(t, s, f)
}

func testCountUnfiltered(t *testing.T, s moat.Store) {
	want := map[ownerKey]int64{}
	check := func(when string) {
		t.Helper()
		for _, acct := range []string{acctA, acctB, "1000000000000003"} {
			for _, r := range moat.Regions {
				f := owner(acct, r)
				w := want[ownerKey{acct, r}]
				if n := count(t, s, f); n != w {
					t.Errorf("%s: unfiltered CountInstances(%s, %s) = %d, want %d", when, acct, r, n, w)
				}
				if got := list(t, s, f); int64(len(got)) != w {
					t.Errorf("%s: Instances(%s, %s) lists %d, want %d", when, acct, r, len(got), w)
				}
				f.Offset, f.Limit = 1, 2
				if n := count(t, s, f); n != w {
					t.Errorf("%s: unfiltered CountInstances(%s, %s) with paging = %d, want %d", when, acct, r, n, w)
				}
			}
		}
	}
	check("empty store")

	var live []moat.Instance
	ipn := 0
	add := func(acct string, r moat.Region, k int) {
		t.Helper()
		var batch []moat.Instance
		for i := 0; i < k; i++ {
			ipn++
			batch = append(batch, inst(fmt.Sprintf("i-%s-%s-%03d", acct, r, ipn), acct, r, fmt.Sprintf("10.0.0.%d", ipn), at(time.Hour)))
		}
		insert(t, s, batch...)
		live = append(live, batch...)
		want[ownerKey{acct, r}] += int64(k)
	}
	del := func(i int) {
		t.Helper()
		in := live[i]
		deleteInstance(t, s, in.ID)
		live = slices.Delete(live, i, i+1)
		want[ownerKey{in.AccountID, in.Region}]--
	}
	add(acctA, mainl, 3)
	add(acctA, overs, 2)
	add(acctB, mainl, 4)
	check("after inserts")
	del(0)
	del(3)
	check("after deletes")
	add(acctA, mainl, 1)
	add(acctB, overs, 2)
	check("after more inserts")

	// A failed Update changes no count.
	err := s.Update(t.Context(), func(tx moat.Tx) error {
		extra := inst("i-rolled-back", acctA, mainl, "10.9.9.9", at(time.Hour))
		if err := tx.InsertInstance(&extra); err != nil {
			return err
		}
		if err := tx.DeleteInstance(live[0].ID); err != nil {
			return err
		}
		return errors.New("roll back")
	})
	if err == nil {
		t.Fatal("Update returned nil, want its error")
	}
	check("after a failed Update")

	// Insert and delete in one Update.
	update(t, s, func(tx moat.Tx) error {
		extra := inst("i-transient", acctB, overs, "10.9.9.8", at(time.Hour))
		if err := tx.InsertInstance(&extra); err != nil {
			return err
		}
		return tx.DeleteInstance(extra.ID)
	})
	check("after insert and delete in one Update")

	for len(live) > 0 {
		del(len(live) - 1)
	}
	check("after deleting everything")
	add(acctB, overs, 1)
	check("after inserting again")
}
