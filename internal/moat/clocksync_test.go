package moat_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"moat/internal/coalesce"
	"moat/internal/moat"
)

// offsetReads is a store whose reads of the clock offset are slow and
// observed.
type offsetReads struct {
	moat.Store
	read func()
}

func (s *offsetReads) Setting(ctx context.Context, key string) (string, error) {
	if key == moat.SettingClockOffset {
		s.read()
	}
	return s.Store.Setting(ctx, key)
}

// TestSyncClock pins the reload of a shared store's clock offset: every
// call returns after a read of the offset that started after the call
// (so after any admin clock call it could have followed), and concurrent
// calls share reads instead of making one each.
func TestSyncClock(t *testing.T) {
	e := newEnv(t, moat.Config{})
	var tick atomic.Int64 // orders every step of the test
	type span struct{ start, end int64 }
	var mu sync.Mutex
	var loads []span
	st := &offsetReads{Store: e.store, read: func() {
		s := tick.Add(1)
		time.Sleep(2 * time.Millisecond)
		mu.Lock()
		loads = append(loads, span{s, tick.Add(1)})
		mu.Unlock()
	}}
	newService := func(shared moat.Gatherer) *moat.Service {
		svc, err := moat.NewService(moat.Config{Store: st, Clock: moat.NewServerClock(time.Now), SharedClock: shared})
		if err != nil {
			t.Fatal(err)
		}
		return svc
	}
	svc := newService(&coalesce.Group[struct{}, struct{}]{})
	type call struct{ arrived, served int64 }
	calls := make([]call, 200)
	var wg sync.WaitGroup
	for n := range calls {
		wg.Go(func() {
			calls[n].arrived = tick.Add(1)
			svc.SyncClock(context.Background())
			calls[n].served = tick.Add(1)
		})
	}
	wg.Wait()
	for n, r := range calls {
		ok := false
		for _, l := range loads {
			ok = ok || (l.start > r.arrived && l.end < r.served)
		}
		if !ok {
			t.Fatalf("call %d (arrived at %d, served at %d) returned without a read of the offset that started after it arrived; reads %v", n, r.arrived, r.served, loads)
		}
	}
	if len(loads) >= len(calls) {
		t.Errorf("%d concurrent calls made %d reads, want them shared", len(calls), len(loads))
	}
	t.Logf("%d concurrent calls, %d reads of the offset", len(calls), len(loads))

	// A store only this process serves is not read.
	before := len(loads)
	newService(nil).SyncClock(context.Background())
	if len(loads) != before {
		t.Errorf("with an unshared store a call read the offset")
	}
}
