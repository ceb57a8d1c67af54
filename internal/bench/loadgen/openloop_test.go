package loadgen

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// fakeClock's Sleep moves its time instead of waiting; oversleep makes
// every wake-up that much late, like a busy machine.
type fakeClock struct {
	now       time.Time
	oversleep time.Duration
	sleeps    int
}

func (c *fakeClock) Now() time.Time { return c.now }

func (c *fakeClock) Sleep(d time.Duration, cancel <-chan struct{}) bool {
	select {
	case <-cancel:
		return false
	default:
	}
	c.sleeps++
	c.now = c.now.Add(max(d, 0) + c.oversleep)
	return true
}

var t0 = time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)

func drain(q <-chan tick) []tick {
	var out []tick
	for t := range q {
		out = append(out, t)
	}
	return out
}

// Every request is queued with its own due time, k/Rate after the start,
// exactly once; the dispatcher sleeps until the next one is due.
func TestDispatchKeepsTheSchedule(t *testing.T) {
	clk := &fakeClock{now: t0}
	q := make(chan tick, 100)
	var st dispatchStats
	dispatch(clk, Schedule{Start: t0, Rate: 1000, Limit: 50}, q, nil, &st)
	ticks := drain(q)
	if len(ticks) != 50 || st.Scheduled != 50 || st.QueueFull != 0 {
		t.Fatalf("%d ticks, stats %+v; want 50, none dropped", len(ticks), st)
	}
	for i, tk := range ticks {
		if tk.k != int64(i) || !tk.due.Equal(t0.Add(time.Duration(i)*time.Millisecond)) {
			t.Fatalf("tick %d = %+v, want k=%d due +%dms", i, tk, i, i)
		}
	}
	if clk.sleeps != 49 {
		t.Errorf("slept %d times, want 49 (once between two requests)", clk.sleeps)
	}
}

// A late wake-up queues everything that fell due meanwhile, at the times
// it was due: the rate holds on average and the lag shows in latencies.
func TestDispatchCatchesUpAfterALateWakeUp(t *testing.T) {
	clk := &fakeClock{now: t0, oversleep: 5 * time.Millisecond}
	q := make(chan tick, 100)
	var st dispatchStats
	dispatch(clk, Schedule{Start: t0, Rate: 1000, End: t0.Add(30 * time.Millisecond)}, q, nil, &st)
	ticks := drain(q)
	if len(ticks) != 30 || st.Scheduled != 30 {
		t.Fatalf("%d ticks, stats %+v; want 30 (due before End)", len(ticks), st)
	}
	for i, tk := range ticks {
		if !tk.due.Equal(t0.Add(time.Duration(i) * time.Millisecond)) {
			t.Fatalf("tick %d due %v", i, tk.due.Sub(t0))
		}
	}
	if clk.sleeps > 6 {
		t.Errorf("slept %d times; a 6 ms wake-up should queue 6 requests at once", clk.sleeps)
	}
}

// The dispatcher never waits for a worker: with the queue full, a request
// that falls due is dropped and counted.
func TestDispatchDropsWhenTheQueueIsFull(t *testing.T) {
	clk := &fakeClock{now: t0}
	q := make(chan tick, 10)
	var st dispatchStats
	dispatch(clk, Schedule{Start: t0, Rate: 100, Limit: 50}, q, nil, &st)
	if got := len(drain(q)); got != 10 || st.Scheduled != 50 || st.QueueFull != 40 {
		t.Errorf("queued %d, stats %+v; want 10 queued, 50 scheduled, 40 dropped", got, st)
	}
}

func TestDispatchStopsWhenCancelled(t *testing.T) {
	clk := &fakeClock{now: t0}
	q := make(chan tick, 10)
	cancel := make(chan struct{})
	close(cancel)
	var st dispatchStats
	dispatch(clk, Schedule{Start: t0, Rate: 10}, q, cancel, &st) // unbounded: only cancel ends it
	if got := len(drain(q)); got != 1 || st.Scheduled != 1 {
		t.Errorf("queued %d, stats %+v; want only the request due at the start", got, st)
	}
}

func TestLagPolicy(t *testing.T) {
	p := lagPolicy{LateAfter: 10 * time.Millisecond, MaxLag: time.Second}
	for _, tc := range []struct {
		lag  time.Duration
		want verdict
	}{
		{0, onTime}, {10 * time.Millisecond, onTime}, {10*time.Millisecond + 1, late},
		{time.Second, late}, {time.Second + 1, dropped}, {time.Hour, dropped},
	} {
		if got := p.admit(t0, t0.Add(tc.lag)); got != tc.want {
			t.Errorf("lag %v: %v, want %v", tc.lag, got, tc.want)
		}
	}
}

func TestQueueCapacity(t *testing.T) {
	for _, tc := range []struct {
		rate    float64
		workers int
		want    int
	}{{1000, 64, 1000}, {10, 64, 64}, {1e7, 64, 1 << 20}, {0.5, 0, 1}} {
		if got := queueCapacity(tc.rate, time.Second, tc.workers); got != tc.want {
			t.Errorf("queueCapacity(%v, 1s, %d) = %d, want %d", tc.rate, tc.workers, got, tc.want)
		}
	}
}

// One worker whose every request takes 3 ms, fed 1,000 requests/s: it
// falls 2 ms further behind with each request. Latency is measured from
// the due time (coordinated omission is not hidden), requests more than
// LateAfter behind are late, those more than MaxLag behind are dropped
// without being sent, and warm-up requests are sent but not recorded.
func TestOpenWorkerAccountsForLateness(t *testing.T) {
	var served atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		w.Write([]byte(okBody))
	}))
	defer srv.Close()
	mix, err := NewMix(mixActions, []int{1, 0, 0, 0})
	if err != nil {
		t.Fatal(err)
	}
	clk := &fakeClock{now: t0}
	const service = 3 * time.Millisecond
	l := &MixLoad{Connections: 1, Mix: mix, Build: func(ctx context.Context, w *Worker, a int) (*http.Request, bool, error) {
		clk.now = clk.now.Add(service) // the request takes 3 ms of fake time
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL, nil)
		return req, true, err
	}}
	q := make(chan tick, 100)
	var st dispatchStats
	dispatch(&fakeClock{now: t0}, Schedule{Start: t0, Rate: 1000, Limit: 16}, q, nil, &st)

	policy := lagPolicy{LateAfter: 2 * time.Millisecond, MaxLag: 20 * time.Millisecond}
	w, mw := l.newWorker(0, 1)
	var lateN, droppedN atomic.Int64
	const warmTicks = 2
	l.openWorker(context.Background(), srv.Client(), clk, policy, q, nil, warmTicks, w, mw, &lateN, &droppedN)

	// Request k (due at k ms) starts at 3k ms while k <= 10 (lag 2k ms:
	// late from k = 2). Request 10 ends at 33 ms, so 11 and 12 are 22 and
	// 21 ms behind: dropped. 13 starts at 33 ms (20 ms behind: late, not
	// dropped) and ends at 36 ms; 14, 15 are dropped; 16 is not due.
	wantSent := []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 13}
	if got := served.Load(); got != int64(len(wantSent)) {
		t.Errorf("server got %d requests, want %d", got, len(wantSent))
	}
	recorded := mw.tallies[0]
	if recorded.requests != int64(len(wantSent)-warmTicks) || recorded.ok != recorded.requests {
		t.Errorf("recorded %d requests (%d ok), want %d: warm-up ones are not", recorded.requests, recorded.ok, len(wantSent)-warmTicks)
	}
	if mw.late != 10 || mw.dropped != 4 || lateN.Load() != 10 || droppedN.Load() != 4 {
		t.Errorf("late %d dropped %d (progress: %d, %d), want 10 and 4", mw.late, mw.dropped, lateN.Load(), droppedN.Load())
	}
	// Latencies from the due time: 2k+3 ms for k = 2..10, and 23 ms for
	// request 13; from the send they would all be 3 ms.
	var want Samples
	for _, k := range wantSent[warmTicks:] {
		if k == 13 {
			want = append(want, 23*time.Millisecond)
		} else {
			want = append(want, time.Duration(2*k+3)*time.Millisecond)
		}
	}
	got := Merge(recorded.samples)
	if len(got) != len(want) {
		t.Fatalf("latencies %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("latencies %v, want %v", got, want)
		}
	}
	if lag := Merge(mw.lag); lag.Max() != 20*time.Millisecond || lag[0] != 4*time.Millisecond {
		t.Errorf("start lags %v, want 4 ms to 20 ms", lag)
	}
	if !mw.last.Equal(t0.Add(36 * time.Millisecond)) {
		t.Errorf("last completion at %v, want 36 ms", mw.last.Sub(t0))
	}
}
