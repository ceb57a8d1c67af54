package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestSharedClockReload pins the reload of a shared store's clock offset:
// every request is served after a read of the offset that started after the
// request arrived (so after any admin clock call it could have followed),
// and concurrent requests share reads instead of making one each.
func TestSharedClockReload(t *testing.T) {
	var tick atomic.Int64 // orders every step of the test
	type span struct{ start, end int64 }
	var mu sync.Mutex
	var loads []span
	load := func(context.Context) error {
		s := tick.Add(1)
		time.Sleep(2 * time.Millisecond)
		mu.Lock()
		loads = append(loads, span{s, tick.Add(1)})
		mu.Unlock()
		return nil
	}
	type request struct{ arrived, served int64 }
	reqs := make([]request, 200)
	var i atomic.Int64
	h := sharedClock(true, load, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reqs[r.Context().Value(reqKey{}).(int)].served = tick.Add(1)
	}))
	var wg sync.WaitGroup
	for range len(reqs) {
		wg.Go(func() {
			n := int(i.Add(1) - 1)
			reqs[n].arrived = tick.Add(1)
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			h.ServeHTTP(httptest.NewRecorder(), r.WithContext(context.WithValue(r.Context(), reqKey{}, n)))
		})
	}
	wg.Wait()
	for n, r := range reqs {
		ok := false
		for _, l := range loads {
			ok = ok || (l.start > r.arrived && l.end < r.served)
		}
		if !ok {
			t.Fatalf("request %d (arrived at %d, served at %d) was served without a read of the offset that started after it arrived; reads %v", n, r.arrived, r.served, loads)
		}
	}
	if len(loads) >= len(reqs) {
		t.Errorf("%d concurrent requests made %d reads, want them shared", len(reqs), len(loads))
	}
	t.Logf("%d concurrent requests, %d reads of the offset", len(reqs), len(loads))

	// A store only this process serves is not read.
	before := len(loads)
	sharedClock(false, load, http.NotFoundHandler()).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	if len(loads) != before {
		t.Errorf("with an unshared store a request read the offset")
	}
}

type reqKey struct{}
