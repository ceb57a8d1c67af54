package moat_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"moat/internal/moat"
)

func TestReleaseRules(t *testing.T) {
	e := newEnv(t, moat.Config{})
	live := e.create(t, moat.RegionMainland, time.Hour, 1)[0]
	expired := e.create(t, moat.RegionMainland, -time.Hour, 1)[0]
	premium := e.create(t, moat.RegionOverseas, -time.Hour, 1)[0]
	me := e.caller(e.acct)

	if err := e.svc.ReleaseInstance(e.ctx, me, moat.RegionMainland, live.ID, "R1"); moat.ErrorCode(err) != moat.CodeInstanceNotExpire {
		t.Fatalf("release before expiry: %v", err)
	}
	notFound := []struct {
		name   string
		caller moat.Caller
		region moat.Region
		id     string
	}{
		{"unknown", me, moat.RegionMainland, "ddoscoo-cn-doesnotexist"},
		{"other account", e.caller(e.other), moat.RegionMainland, expired.ID},
		{"other region", me, moat.RegionOverseas, expired.ID},
		{"premium from the mainland", me, moat.RegionMainland, premium.ID},
	}
	for _, c := range notFound {
		err := e.svc.ReleaseInstance(e.ctx, c.caller, c.region, c.id, "R")
		if moat.ErrorCode(err) != moat.CodeInstanceNotFound || moat.AsError(err).Message != fmt.Sprintf("The specified instance %q is not found.", c.id) {
			t.Fatalf("%s: %v", c.name, err)
		}
	}
	if err := e.svc.ReleaseInstance(e.ctx, me, moat.RegionMainland, expired.ID, "R2"); err != nil {
		t.Fatalf("release: %v", err)
	}
	if err := e.svc.ReleaseInstance(e.ctx, me, moat.RegionMainland, expired.ID, "R3"); moat.ErrorCode(err) != moat.CodeInstanceNotFound {
		t.Fatalf("second release: %v", err)
	}
	if err := e.svc.ReleaseInstance(e.ctx, me, moat.RegionOverseas, premium.ID, "R4"); err != nil {
		t.Fatalf("release premium: %v", err)
	}
	// The release owed the expiry event; it recorded it before the release.
	if got := fmt.Sprint(e.events(t, expired.ID)); got != "[created expired released]" {
		t.Fatalf("events = %s", got)
	}
	evs, _ := e.svc.Events(e.ctx, moat.EventFilter{InstanceID: expired.ID, Type: moat.EventReleased})
	if len(evs) != 1 || evs[0].RequestID != "R2" || evs[0].AccountID != e.acct || evs[0].Reason != moat.ReasonReleaseInstance {
		t.Fatalf("released event = %+v", evs)
	}
	st, err := e.svc.InstanceStatus(e.ctx, me, moat.RegionMainland, expired.ID)
	if err != nil || st != moat.StatusReleased {
		t.Fatalf("status of released = %d, %v", st, err)
	}
	if _, err := e.svc.InstanceStatus(e.ctx, e.caller(e.other), moat.RegionMainland, expired.ID); moat.ErrorCode(err) != moat.CodeInstanceNotFound {
		t.Fatalf("another account sees the tombstone: %v", err)
	}
	// The IP went back to the pool and is handed out first.
	again := e.create(t, moat.RegionMainland, time.Hour, 1)[0]
	if again.IP != expired.IP {
		t.Fatalf("new instance got %s, want the freed %s", again.IP, expired.IP)
	}
}

func TestConcurrentReleaseExactlyOnce(t *testing.T) {
	e := newEnv(t, moat.Config{})
	in := e.create(t, moat.RegionMainland, -time.Hour, 1)[0]
	var wg sync.WaitGroup
	errs := make([]error, 20)
	for i := range errs {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			errs[i] = e.svc.ReleaseInstance(e.ctx, e.caller(e.acct), moat.RegionMainland, in.ID, fmt.Sprint("R", i))
		}(i)
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch moat.ErrorCode(err) {
		case "":
			ok++
		case moat.CodeInstanceNotFound:
		default:
			t.Fatalf("unexpected error %v", err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d releases succeeded, want exactly 1", ok)
	}
	if evs, _ := e.svc.Events(e.ctx, moat.EventFilter{Type: moat.EventReleased}); len(evs) != 1 {
		t.Fatalf("%d released events", len(evs))
	}
}

func TestCreateCatchesUpAndValidates(t *testing.T) {
	e := newEnv(t, moat.Config{})
	old := e.create(t, moat.RegionMainland, -200*time.Hour, 1)[0]
	if got := fmt.Sprint(e.events(t, old.ID)); got != "[created expired forwarding_stopped]" {
		t.Fatalf("created past both transitions: %s", got)
	}
	bad := []struct {
		name string
		spec moat.NewInstances
		code moat.Code
	}{
		{"count too large", moat.NewInstances{AccountID: e.acct, Count: moat.MaxCreateCount + 1}, moat.CodeInvalidParameter},
		{"bad region", moat.NewInstances{AccountID: e.acct, Region: "mars-1"}, moat.CodeInvalidRegionID},
		{"edition of the other region", moat.NewInstances{AccountID: e.acct, Region: moat.RegionMainland, Edition: ptr(moat.EditionInsurance)}, moat.CodeInvalidParameter},
		{"unknown account", moat.NewInstances{AccountID: "999"}, moat.CodeAccountNotFound},
		{"long remark", moat.NewInstances{AccountID: e.acct, Remark: string(make([]rune, 501))}, moat.CodeInvalidParameter},
	}
	for _, c := range bad {
		if _, err := e.svc.CreateInstances(e.ctx, c.spec); moat.ErrorCode(err) != c.code {
			t.Errorf("%s: %v, want %s", c.name, err, c.code)
		}
	}
}

func TestIPPoolExhaustion(t *testing.T) {
	e := newEnv(t, moat.Config{Pools: map[moat.Region]moat.Pool{moat.RegionMainland: moat.MustPool("192.0.2.0/30")}})
	e.create(t, moat.RegionMainland, -time.Hour, 2)
	before, _ := e.store.CountInstances(e.ctx, moat.InstanceFilter{AccountID: e.acct, Region: moat.RegionMainland})
	d := time.Hour
	_, err := e.svc.CreateInstances(e.ctx, moat.NewInstances{AccountID: e.acct, ExpireIn: &d})
	if moat.ErrorCode(err) != moat.CodeIPPoolExhausted {
		t.Fatalf("third instance in a /30: %v", err)
	}
	after, _ := e.store.CountInstances(e.ctx, moat.InstanceFilter{AccountID: e.acct, Region: moat.RegionMainland})
	if before != 2 || after != 2 {
		t.Fatalf("counts %d -> %d: a failed create left an instance", before, after)
	}
	// Releasing one makes room again.
	page, _ := e.svc.DescribeInstances(e.ctx, e.caller(e.acct), moat.DescribeQuery{Region: moat.RegionMainland, PageNumber: 1, PageSize: 10})
	if err := e.svc.ReleaseInstance(e.ctx, e.caller(e.acct), moat.RegionMainland, page.Instances[0].ID, "R"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.CreateInstances(e.ctx, moat.NewInstances{AccountID: e.acct, ExpireIn: &d}); err != nil {
		t.Fatalf("after a release: %v", err)
	}
}

func TestDescribeTimeFilters(t *testing.T) {
	e := newEnv(t, moat.Config{})
	normal := e.create(t, moat.RegionMainland, time.Hour, 1)[0]
	expired := e.create(t, moat.RegionMainland, -time.Hour, 1)[0]
	stopped := e.create(t, moat.RegionMainland, -moat.ForwardingGrace, 1)[0] // exactly at the stop
	edge := e.create(t, moat.RegionMainland, 0, 1)[0]                        // expires exactly now
	q := func(mod func(*moat.DescribeQuery)) []string {
		dq := moat.DescribeQuery{Region: moat.RegionMainland, PageNumber: 1, PageSize: 50}
		mod(&dq)
		page, err := e.svc.DescribeInstances(e.ctx, e.caller(e.acct), dq)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, v := range page.Instances {
			ids = append(ids, v.ID)
		}
		if int64(len(ids)) != page.Total {
			t.Fatalf("TotalCount %d but %d listed", page.Total, len(ids))
		}
		return ids
	}
	same := func(name string, got []string, want ...moat.InstanceView) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("%s: got %v, want %d instances", name, got, len(want))
		}
		for i := range want {
			if got[i] != want[i].ID {
				t.Fatalf("%s: got %v", name, got)
			}
		}
	}
	same("status 1", q(func(d *moat.DescribeQuery) { d.Statuses = []int{1} }), normal)
	same("status 2", q(func(d *moat.DescribeQuery) { d.Statuses = []int{2} }), expired, stopped, edge)
	same("status 1 and 2", q(func(d *moat.DescribeQuery) { d.Statuses = []int{1, 2} }), normal, expired, stopped, edge)
	same("enabled 1", q(func(d *moat.DescribeQuery) { d.Enabled = ptr(1) }), normal, expired, edge)
	same("enabled 0", q(func(d *moat.DescribeQuery) { d.Enabled = ptr(0) }), stopped)
	from, to := expired.ExpireTime, edge.ExpireTime
	same("expire window inclusive", q(func(d *moat.DescribeQuery) { d.ExpireStart, d.ExpireEnd = &from, &to }), expired, edge)
	same("status 1 and enabled 0 is empty", q(func(d *moat.DescribeQuery) { d.Statuses = []int{1}; d.Enabled = ptr(0) }))
	for _, bad := range []func(*moat.DescribeQuery){
		func(d *moat.DescribeQuery) { d.PageSize = 51 },
		func(d *moat.DescribeQuery) { d.PageSize = 0 },
		func(d *moat.DescribeQuery) { d.PageNumber = 0 },
		func(d *moat.DescribeQuery) { d.Statuses = []int{3} },
		func(d *moat.DescribeQuery) { d.Enabled = ptr(2) },
		func(d *moat.DescribeQuery) { d.IDs = make([]string, 201) },
	} {
		dq := moat.DescribeQuery{Region: moat.RegionMainland, PageNumber: 1, PageSize: 10}
		bad(&dq)
		if _, err := e.svc.DescribeInstances(e.ctx, e.caller(e.acct), dq); moat.ErrorCode(err) != moat.CodeInvalidParameter {
			t.Errorf("query %+v: %v, want InvalidParameter", dq, err)
		}
	}
}

// countingStore counts the listing queries that reach the store.
type countingStore struct {
	moat.Store
	pages int
}

func (c *countingStore) InstancePage(ctx context.Context, f moat.InstanceFilter) ([]moat.Instance, int64, error) {
	c.pages++
	return c.Store.InstancePage(ctx, f)
}

// TestListingCache: a repeated page is served from the cache, and any
// change to the listing (through this service or behind its back, as
// another process would) is visible on the next read.
func TestListingCache(t *testing.T) {
	e := newEnv(t, moat.Config{})
	cs := &countingStore{Store: e.store}
	svc, err := moat.NewService(moat.Config{Store: cs, Clock: e.svc.Clock()})
	if err != nil {
		t.Fatal(err)
	}
	e.create(t, moat.RegionMainland, time.Hour, 3)
	me := e.caller(e.acct)
	q := moat.DescribeQuery{Region: moat.RegionMainland, PageNumber: 1, PageSize: 10}
	read := func() moat.Page {
		t.Helper()
		p, err := svc.DescribeInstances(e.ctx, me, q)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	first := read()
	read()
	if cs.pages != 1 || first.Total != 3 {
		t.Fatalf("two identical reads queried the store %d times (total %d); want once", cs.pages, first.Total)
	}
	if err := svc.ModifyInstanceRemark(e.ctx, me, moat.RegionMainland, first.Instances[0].ID, "renamed"); err != nil {
		t.Fatal(err)
	}
	if p := read(); p.Instances[0].Remark != "renamed" {
		t.Fatalf("after a rename: %q", p.Instances[0].Remark)
	}
	// Another process releases one: the next read must not be stale.
	if err := e.store.Update(e.ctx, func(tx moat.Tx) error { return tx.DeleteInstance(first.Instances[1].ID) }); err != nil {
		t.Fatal(err)
	}
	if p := read(); p.Total != 2 || len(p.Instances) != 2 {
		t.Fatalf("after a change behind the service's back: total %d, %d listed", p.Total, len(p.Instances))
	}
	// Clock-dependent filters are never served from the cache.
	before := cs.pages
	q.Statuses = []int{1}
	read()
	read()
	if cs.pages != before+2 {
		t.Fatalf("Status-filtered reads were cached (%d store queries for 2 reads)", cs.pages-before)
	}
}
