package coalesce

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestSequentialCallsEachRead pins that a caller alone runs its own read.
func TestSequentialCallsEachRead(t *testing.T) {
	var g Group[string, int64]
	var reads atomic.Int64
	fn := func(context.Context) (int64, error) { return reads.Add(1), nil }
	for i := int64(1); i <= 3; i++ {
		if v, err := g.Do(t.Context(), "k", fn); v != i || err != nil {
			t.Fatalf("call %d = %d, %v; want %d (a read of its own)", i, v, err, i)
		}
	}
	if len(g.rounds) != 0 {
		t.Errorf("%d keys remembered after every read ended, want 0", len(g.rounds))
	}
}

// TestCallersDuringAReadShareTheNext pins the promise: callers that arrive
// while a read runs do not get that read's value (it may predate them) but
// the next read's, all of them the same one.
func TestCallersDuringAReadShareTheNext(t *testing.T) {
	var g Group[string, int64]
	var reads atomic.Int64
	release := make(chan struct{})
	started := make(chan struct{}, 10)
	fn := func(context.Context) (int64, error) {
		n := reads.Add(1)
		started <- struct{}{}
		if n == 1 {
			<-release // the first read runs until the others have arrived
		}
		return n, nil
	}
	first := make(chan int64)
	go func() {
		v, _ := g.Do(context.Background(), "k", fn)
		first <- v
	}()
	<-started
	const waiters = 10
	var wg sync.WaitGroup
	got := make([]int64, waiters)
	for i := range waiters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], _ = g.Do(context.Background(), "k", fn)
		}()
	}
	// Wait until every waiter has joined the next read: releasing the
	// first read earlier would let a late waiter start a third one.
	for deadline := time.Now().Add(10 * time.Second); ; {
		g.mu.Lock()
		joined := g.rounds["k"] != nil && g.rounds["k"].next != nil && g.rounds["k"].next.waiters == waiters
		g.mu.Unlock()
		if joined {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the %d waiters did not all join the next read within 10 s", waiters)
		}
		time.Sleep(time.Millisecond)
	}
	close(release)
	if v := <-first; v != 1 {
		t.Errorf("the first caller got %d, want 1 (its own read)", v)
	}
	wg.Wait()
	for i, v := range got {
		if v != 2 {
			t.Errorf("waiter %d got %d, want 2 (the read after the one running when it arrived)", i, v)
		}
	}
	if n := reads.Load(); n != 2 {
		t.Errorf("%d reads for 1 + %d callers, want 2", n, waiters)
	}
}

// TestKeysAreIndependent pins that a read of one key does not hold up
// another.
func TestKeysAreIndependent(t *testing.T) {
	var g Group[string, string]
	release := make(chan struct{})
	started := make(chan struct{})
	go g.Do(context.Background(), "slow", func(context.Context) (string, error) { close(started); <-release; return "slow", nil })
	// The read of "slow" runs from here until release (Do registers the
	// round before it calls fn).
	<-started
	v, err := g.Do(t.Context(), "fast", func(context.Context) (string, error) { return "fast", nil })
	close(release)
	if v != "fast" || err != nil {
		t.Fatalf("Do(fast) = %q, %v while another key's read runs", v, err)
	}
}

// TestErrorsAndCancellation pins that a read's error reaches its callers
// and that a waiter whose context ends stops waiting.
func TestErrorsAndCancellation(t *testing.T) {
	var g Group[int, int]
	boom := errors.New("boom")
	if _, err := g.Do(t.Context(), 1, func(context.Context) (int, error) { return 0, boom }); !errors.Is(err, boom) {
		t.Fatalf("Do = %v, want the read's error", err)
	}
	release := make(chan struct{})
	defer close(release)
	started := make(chan struct{})
	// fn also runs the read that the cancelled waiter below joined, once
	// release lets the first one end.
	markStarted := sync.OnceFunc(func() { close(started) })
	go g.Do(context.Background(), 2, func(context.Context) (int, error) { markStarted(); <-release; return 2, nil })
	// The read of key 2 runs from here until release: the next caller
	// waits for the read after it instead of running its own.
	<-started
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := g.Do(ctx, 2, func(context.Context) (int, error) { return 3, nil }); !errors.Is(err, context.Canceled) {
		t.Fatalf("waiter with a cancelled context: %v, want context.Canceled", err)
	}
}
