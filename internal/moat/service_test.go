package moat_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"moat/internal/moat"
	"moat/internal/store/sqlite"
)

// fakeClock is the real clock the ServerClock adds its offset to.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (f *fakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakeClock) Add(d time.Duration) {
	f.mu.Lock()
	f.now = f.now.Add(d)
	f.mu.Unlock()
}

type env struct {
	svc   *moat.Service
	store *sqlite.Store
	real  *fakeClock
	acct  string
	other string
	ctx   context.Context
}

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func newEnv(t *testing.T, cfg moat.Config) *env {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "moat.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	real := &fakeClock{now: t0}
	cfg.Store, cfg.Clock = st, moat.NewServerClock(real.Now)
	svc, err := moat.NewService(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{svc: svc, store: st, real: real, ctx: ctx, acct: "1000000000000001", other: "2000000000000002"}
	for _, a := range []string{e.acct, e.other} {
		if _, err := svc.PutAccount(ctx, a, "AK"+a, "secret"); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

func (e *env) caller(acct string) moat.Caller {
	return moat.Caller{AccountID: acct, AccessKeyID: "AK" + acct}
}

func (e *env) create(t *testing.T, region moat.Region, expireIn time.Duration, n int) []moat.InstanceView {
	t.Helper()
	out, err := e.svc.CreateInstances(e.ctx, moat.NewInstances{AccountID: e.acct, Region: region, Count: n, ExpireIn: &expireIn})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func (e *env) events(t *testing.T, id string) []moat.EventType {
	t.Helper()
	evs, err := e.svc.Events(e.ctx, moat.EventFilter{InstanceID: id})
	if err != nil {
		t.Fatal(err)
	}
	var out []moat.EventType
	for _, ev := range evs {
		out = append(out, ev.Type)
	}
	return out
}

func (e *env) advance(t *testing.T, d time.Duration) {
	t.Helper()
	if _, _, err := e.svc.MoveClock(e.ctx, nil, &d); err != nil {
		t.Fatal(err)
	}
	for {
		n, err := e.svc.ApplyDue(e.ctx, 100)
		if err != nil {
			t.Fatal(err)
		}
		if n < 100 {
			return
		}
	}
}

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

func TestLifecycleAppliesEachTransitionOnce(t *testing.T) {
	e := newEnv(t, moat.Config{})
	in := e.create(t, moat.RegionMainland, 24*time.Hour, 1)[0]
	e.advance(t, 24*time.Hour-time.Millisecond)
	if got := fmt.Sprint(e.events(t, in.ID)); got != "[created]" {
		t.Fatalf("1 ms before expiry: %s", got)
	}
	e.advance(t, time.Millisecond)
	if got := fmt.Sprint(e.events(t, in.ID)); got != "[created expired]" {
		t.Fatalf("at expiry: %s", got)
	}
	e.advance(t, moat.ForwardingGrace)
	e.advance(t, 30*24*time.Hour)
	if got := fmt.Sprint(e.events(t, in.ID)); got != "[created expired forwarding_stopped]" {
		t.Fatalf("after the grace: %s", got)
	}
	evs, _ := e.svc.Events(e.ctx, moat.EventFilter{InstanceID: in.ID})
	if !evs[1].Time.Equal(in.ExpireTime) || !evs[2].Time.Equal(in.ExpireTime.Add(moat.ForwardingGrace)) {
		t.Fatalf("event times %s %s, want the due times", evs[1].Time, evs[2].Time)
	}
	// Moving the clock back shows the instance normal again but never
	// repeats an event when time moves forward again.
	back := -60 * 24 * time.Hour
	e.advance(t, back)
	page, err := e.svc.DescribeInstances(e.ctx, e.caller(e.acct), moat.DescribeQuery{Region: moat.RegionMainland, PageNumber: 1, PageSize: 10})
	if err != nil || page.Instances[0].Status != moat.StatusNormal {
		t.Fatalf("after moving back: %+v %v", page, err)
	}
	e.advance(t, -back)
	if got := fmt.Sprint(e.events(t, in.ID)); got != "[created expired forwarding_stopped]" {
		t.Fatalf("after moving forward again: %s", got)
	}
}

func TestAutoRelease(t *testing.T) {
	for _, after := range []time.Duration{48 * time.Hour, 10 * 24 * time.Hour} {
		t.Run(after.String(), func(t *testing.T) {
			e := newEnv(t, moat.Config{AutoReleaseAfter: after})
			in := e.create(t, moat.RegionMainland, time.Hour, 1)[0]
			e.advance(t, time.Hour+after-time.Millisecond)
			if _, err := e.store.Instance(e.ctx, in.ID); err != nil {
				t.Fatalf("released early: %v", err)
			}
			next, ok, err := e.svc.NextDue(e.ctx)
			if err != nil || !ok || !next.Equal(in.ExpireTime.Add(min(after, moat.ForwardingGrace))) && !next.Equal(in.ExpireTime.Add(after)) {
				t.Fatalf("NextDue = %s %v %v", next, ok, err)
			}
			e.advance(t, time.Millisecond)
			if _, err := e.store.Instance(e.ctx, in.ID); !errors.Is(err, moat.ErrNotFound) {
				t.Fatalf("not auto-released: %v", err)
			}
			want := "[created expired released]"
			if after > moat.ForwardingGrace {
				want = "[created expired forwarding_stopped released]"
			}
			if got := fmt.Sprint(e.events(t, in.ID)); got != want {
				t.Fatalf("events %s, want %s", got, want)
			}
			evs, _ := e.svc.Events(e.ctx, moat.EventFilter{InstanceID: in.ID, Type: moat.EventReleased})
			if evs[0].Reason != moat.ReasonAutoRelease || !evs[0].Time.Equal(in.ExpireTime.Add(after)) {
				t.Fatalf("released event %+v", evs[0])
			}
		})
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

func ptr[T any](v T) *T { return &v }

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

func TestClockIsPersisted(t *testing.T) {
	e := newEnv(t, moat.Config{})
	set := time.Date(2030, 5, 1, 12, 0, 0, 0, time.UTC)
	now, off, err := e.svc.MoveClock(e.ctx, &set, nil)
	if err != nil || !now.Equal(set) || off != set.Sub(t0) {
		t.Fatalf("MoveClock = %s %s %v", now, off, err)
	}
	// A second service on the same store (another process) sees it.
	other, _ := moat.NewService(moat.Config{Store: e.store, Clock: moat.NewServerClock(e.real.Now)})
	if err := other.LoadClock(e.ctx); err != nil || !other.Clock().Now().Equal(set) {
		t.Fatalf("other process: %s %v", other.Clock().Now(), err)
	}
	if _, _, err := e.svc.MoveClock(e.ctx, nil, nil); moat.ErrorCode(err) != moat.CodeInvalidAdminClock {
		t.Fatalf("neither Set nor Advance: %v", err)
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
