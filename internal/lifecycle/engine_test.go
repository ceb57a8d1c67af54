package lifecycle_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"moat/internal/lifecycle"
	"moat/internal/moat"
	"moat/internal/store/sqlite"
)

type fakeReal struct {
	mu  sync.Mutex
	now time.Time
}

func (f *fakeReal) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func setup(t *testing.T, path string) (*moat.Service, *sqlite.Store, string) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	real := &fakeReal{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	svc, err := moat.NewService(moat.Config{Store: st, Clock: moat.NewServerClock(real.Now)})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.LoadClock(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.PutAccount(ctx, "1", "AK1", "s"); err != nil {
		t.Fatal(err)
	}
	return svc, st, "1"
}

func count(t *testing.T, svc *moat.Service, typ moat.EventType) int {
	evs, err := svc.Events(context.Background(), moat.EventFilter{Type: typ})
	if err != nil {
		t.Fatal(err)
	}
	return len(evs)
}

// TestKickAppliesEverythingDue: after the clock moves, Kick returns only
// when every due transition (more than one batch) has been applied.
func TestKickAppliesEverythingDue(t *testing.T) {
	svc, st, acct := setup(t, filepath.Join(t.TempDir(), "m.db"))
	defer st.Close()
	ctx := context.Background()
	d := time.Hour
	if _, err := svc.CreateInstances(ctx, moat.NewInstances{AccountID: acct, Count: 1200, ExpireIn: &d}); err != nil {
		t.Fatal(err)
	}
	e := lifecycle.New(svc, svc.Clock(), nil)
	e.BatchSize = 100
	e.Poll = time.Hour // only kicks wake it in this test
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { e.Run(runCtx); close(done) }()
	defer func() { cancel(); <-done }()

	if err := e.Kick(ctx); err != nil {
		t.Fatal(err)
	}
	if n := count(t, svc, moat.EventExpired); n != 0 {
		t.Fatalf("%d expired before expiry", n)
	}
	adv := 2 * time.Hour
	if _, _, err := svc.MoveClock(ctx, nil, &adv); err != nil {
		t.Fatal(err)
	}
	if err := e.Kick(ctx); err != nil {
		t.Fatal(err)
	}
	if n := count(t, svc, moat.EventExpired); n != 1200 {
		t.Fatalf("%d expired events after the kick, want 1200", n)
	}
	if s := e.Stats(); s.Applied != 1200 {
		t.Fatalf("stats %+v", s)
	}
}

// TestCatchUpAfterRestart: transitions that fell due while no engine ran
// are applied by the first pass of a new one.
func TestCatchUpAfterRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.db")
	svc, st, acct := setup(t, path)
	ctx := context.Background()
	d := time.Hour
	if _, err := svc.CreateInstances(ctx, moat.NewInstances{AccountID: acct, Count: 10, ExpireIn: &d}); err != nil {
		t.Fatal(err)
	}
	adv := 10 * 24 * time.Hour
	if _, _, err := svc.MoveClock(ctx, nil, &adv); err != nil {
		t.Fatal(err)
	}
	st.Close()

	svc2, st2, _ := setup(t, path)
	defer st2.Close()
	e := lifecycle.New(svc2, svc2.Clock(), nil)
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { e.Run(runCtx); close(done) }()
	if err := e.Kick(ctx); err != nil {
		t.Fatal(err)
	}
	cancel()
	<-done
	if n, m := count(t, svc2, moat.EventExpired), count(t, svc2, moat.EventForwardingStopped); n != 10 || m != 10 {
		t.Fatalf("after restart: %d expired, %d stopped; want 10 and 10", n, m)
	}
}

type failing struct {
	lifecycle.Service
	calls atomic.Int64
}

func (f *failing) ApplyDue(ctx context.Context, limit int) (int, error) {
	f.calls.Add(1)
	return 0, errors.New("disk on fire")
}

// TestKickReportsFailure: a failing pass is reported to the kicker, and
// the engine keeps running.
func TestKickReportsFailure(t *testing.T) {
	svc, st, _ := setup(t, filepath.Join(t.TempDir(), "m.db"))
	defer st.Close()
	f := &failing{Service: svc}
	e := lifecycle.New(f, svc.Clock(), nil)
	e.Poll = time.Hour
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.Run(ctx); close(done) }()
	for i := 0; i < 2; i++ {
		if err := e.Kick(context.Background()); err == nil || err.Error() != "disk on fire" {
			t.Fatalf("kick %d: %v", i, err)
		}
	}
	cancel()
	<-done
	if f.calls.Load() < 2 {
		t.Fatalf("ApplyDue called %d times", f.calls.Load())
	}
}
