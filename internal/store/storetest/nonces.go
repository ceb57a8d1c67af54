package storetest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"moat/internal/moat"
)

// ---- Nonces ----

func testNonceFreshThenUsed(t *testing.T, s moat.Store) {
	if !nonceFresh(t, s, "LTAIa", "n1", at(time.Hour)) {
		t.Fatal("first UseNonce = false, want true")
	}
	if nonceFresh(t, s, "LTAIa", "n1", at(2*time.Hour)) {
		t.Error("second UseNonce = true, want false")
	}
}

// testNonceConcurrent: of many simultaneous uses of one nonce exactly one
// is fresh, and concurrent distinct nonces are all fresh.
func testNonceConcurrent(t *testing.T, s moat.Store) {
	const n = 64
	var wg sync.WaitGroup
	var fresh, freshDistinct atomic.Int64
	errs := make(chan error, 2*n)
	for i := 0; i < n; i++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			ok, err := s.UseNonce(context.Background(), "LTAIc", "same", at(time.Hour))
			if err != nil {
				errs <- err
			}
			if ok {
				fresh.Add(1)
			}
		}()
		go func() {
			defer wg.Done()
			ok, err := s.UseNonce(context.Background(), "LTAIc", fmt.Sprint("d", i), at(time.Hour))
			if err != nil {
				errs <- err
			}
			if ok {
				freshDistinct.Add(1)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("UseNonce: %v", err)
	}
	if fresh.Load() != 1 || freshDistinct.Load() != n {
		t.Errorf("fresh: %d of %d uses of one nonce (want 1), %d of %d distinct (want all)", fresh.Load(), n, freshDistinct.Load(), n)
	}
}

func testNonceIndependent(t *testing.T, s moat.Store) {
	if !nonceFresh(t, s, "LTAIa", "n", at(time.Hour)) {
		t.Fatal("UseNonce(a, n) = false, want true")
	}
	if !nonceFresh(t, s, "LTAIb", "n", at(time.Hour)) {
		t.Error("UseNonce(b, n) = false, want true: keys are independent")
	}
	if !nonceFresh(t, s, "LTAIa", "m", at(time.Hour)) {
		t.Error("UseNonce(a, m) = false, want true")
	}
	// Pairs that concatenate alike are still different.
	if !nonceFresh(t, s, "LTAIa", "bn", at(time.Hour)) || !nonceFresh(t, s, "LTAIab", "n", at(time.Hour)) {
		t.Error("UseNonce(a, bn) / (ab, n) not both fresh")
	}
	for _, p := range [][2]string{{"LTAIa", "n"}, {"LTAIb", "n"}, {"LTAIa", "m"}} {
		if nonceFresh(t, s, p[0], p[1], at(time.Hour)) {
			t.Errorf("UseNonce(%s, %s) again = true, want false", p[0], p[1])
		}
	}
}

func testNonceDeleteExpired(t *testing.T, s moat.Store) {
	expired := []string{"e1", "e2", "e3", "e4", "e5"}
	live := []string{"l1", "l2", "l3"}
	for i, n := range expired {
		nonceFresh(t, s, "LTAIa", n, at(-time.Duration(i+1)*time.Minute))
	}
	for i, n := range live {
		nonceFresh(t, s, "LTAIb", n, at(time.Duration(i+1)*time.Minute))
	}
	del := func(limit int) int {
		t.Helper()
		n, err := s.PurgeNonces(t.Context(), base, limit)
		if err != nil {
			t.Fatalf("PurgeNonces: %v", err)
		}
		return n
	}
	if got := del(2); got != 2 {
		t.Errorf("PurgeNonces(limit 2) = %d, want 2", got)
	}
	if got := del(2); got != 2 {
		t.Errorf("second PurgeNonces(limit 2) = %d, want 2", got)
	}
	if got := del(10); got != 1 {
		t.Errorf("third PurgeNonces(limit 10) = %d, want 1", got)
	}
	if got := del(10); got != 0 {
		t.Errorf("PurgeNonces with nothing expired = %d, want 0", got)
	}
	for _, n := range live {
		if nonceFresh(t, s, "LTAIb", n, at(time.Hour)) {
			t.Errorf("unexpired nonce %s was forgotten", n)
		}
	}
	for _, n := range expired {
		if !nonceFresh(t, s, "LTAIa", n, at(time.Hour)) {
			t.Errorf("deleted nonce %s is not fresh again", n)
		}
	}
	// Later, the live ones expire too.
	got, err := s.PurgeNonces(t.Context(), at(10*time.Minute), 100)
	if err != nil {
		t.Fatal(err)
	}
	if got != len(live) {
		t.Errorf("PurgeNonces(base+10m) = %d, want %d", got, len(live))
	}
}
