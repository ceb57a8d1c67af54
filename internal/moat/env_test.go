package moat_test

import (
	"context"
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

func ptr[T any](v T) *T { return &v }
