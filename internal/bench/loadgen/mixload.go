package loadgen

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// MixBuilder builds worker w's next request of action a (an index into
// the Mix's Actions). ok=false means there is nothing to send for that action
// (its instance pool is empty): the draw is counted as starved.
type MixBuilder func(ctx context.Context, w *Worker, a int) (req *http.Request, ok bool, err error)

// MixLoad is a load whose every request's action is drawn from Mix. With
// Rate 0 it is a closed loop like Load (Connections workers, each sending
// its next request when the previous answer is in); with Rate > 0 it is
// an open loop (see openloop.go) with at most Connections requests in
// flight.
type MixLoad struct {
	Connections int
	// Warmup is run first and not recorded.
	Warmup time.Duration
	// Count, when > 0, is the number of measured requests; otherwise
	// Duration is the measured window.
	Count    int64
	Duration time.Duration
	// Rate is the open loop's arrival rate (requests/s); 0 is flat out.
	Rate  float64
	Mix   Mix
	Build MixBuilder
	// Abort, when closed, ends the load; Run reports ErrAborted.
	Abort    <-chan struct{}
	Progress *Progress
	// Timeout bounds one request (default 60s).
	Timeout time.Duration
	// Clock, LateAfter and MaxLag are the open loop's (defaults: the
	// real clock, 10ms, 1s).
	Clock     Clock
	LateAfter time.Duration
	MaxLag    time.Duration
}

// MixLoadResult is what a MixLoad measured.
type MixLoadResult struct {
	Mode        string // "closed" (flat out) or "open" (fixed rate)
	Connections int
	Seconds     float64 // the measured window
	Total       ActionResult
	Actions     []ActionResult
	// Starved counts draws of an action whose pool was empty (nothing
	// was sent for them).
	Starved int64
	// Open is the open loop's schedule (nil for a closed loop).
	Open *OpenLoopResult `json:",omitempty"`
}

// OpenLoopResult is how well an open loop kept its schedule: the requests
// that fell due in the measured window, of them those sent more than
// LateAfter behind schedule, and those not sent at all (more than MaxLag
// behind, or the queue was full). StartLag is how far behind schedule the
// sent requests started.
type OpenLoopResult struct {
	Rate        float64 // the target, requests/s
	Scheduled   int64
	Late        int64
	Dropped     int64
	LateAfterMs float64
	MaxLagMs    float64
	StartLag    Latency
}

// mixWorker is one worker's record.
type mixWorker struct {
	tallies []tally // by action
	starved int64
	late    int64
	dropped int64
	lag     Samples
	last    time.Time // last measured completion
}

func (l *MixLoad) defaults() {
	if l.Timeout <= 0 {
		l.Timeout = 60 * time.Second
	}
	if l.Clock == nil {
		l.Clock = realClock{}
	}
	if l.LateAfter <= 0 {
		l.LateAfter = defaultLateAfter
	}
	if l.MaxLag <= 0 {
		l.MaxLag = defaultMaxLag
	}
}

// Run runs the load. A cancelled ctx ends it early; requests cut off by the
// cancellation are not counted.
func (l *MixLoad) Run(ctx context.Context) (*MixLoadResult, error) {
	switch {
	case l.Connections < 1:
		return nil, errors.New("bench: a load needs at least one connection")
	case l.Build == nil:
		return nil, errors.New("bench: a load needs a request builder")
	case l.Count <= 0 && l.Duration <= 0:
		return nil, errors.New("bench: a mixed load needs a count or a duration")
	case l.Rate < 0 || math.IsInf(l.Rate, 0) || math.IsNaN(l.Rate):
		return nil, errors.New("bench: the rate must be a positive number, or 0 for flat out")
	}
	l.defaults()
	tr := NewTransport(l.Connections)
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: l.Timeout}

	// stop is closed by ctrl-C or the server's exit.
	stop := make(chan struct{})
	var aborted atomic.Bool
	finished := make(chan struct{})
	defer close(finished)
	go func() {
		select {
		case <-ctx.Done():
		case <-l.Abort: // a nil channel never fires
			aborted.Store(true)
		case <-finished:
			return
		}
		close(stop)
	}()

	l.Progress.Start()
	var res *MixLoadResult
	if l.Rate > 0 {
		res = l.runOpen(ctx, client, stop)
	} else {
		res = l.runClosed(ctx, client, stop)
	}
	l.Progress.Stop()
	if err := ctx.Err(); err != nil {
		return res, err
	}
	if aborted.Load() {
		return res, ErrAborted
	}
	return res, nil
}

func (l *MixLoad) newWorker(id int, seed uint64) (*Worker, *mixWorker) {
	w := &Worker{ID: id, Rand: rand.New(rand.NewPCG(seed, uint64(id))), Params: map[string]string{}}
	return w, &mixWorker{tallies: make([]tally, len(l.Mix.Actions)), lag: Samples{}}
}

// send builds and sends one request of action a; sent=false when the
// action's pool was empty.
func (l *MixLoad) send(ctx context.Context, client *http.Client, w *Worker, a int) (status int, sent bool, err error) {
	req, ok, err := l.Build(ctx, w, a)
	if !ok {
		return 0, false, nil
	}
	if err == nil {
		status, err = do(client, req, &w.body)
	}
	return status, true, err
}

// spawn runs Connections workers, each with its own record, and returns
// the records when every worker is done.
func (l *MixLoad) spawn(seed uint64, run func(w *Worker, mw *mixWorker)) []*mixWorker {
	workers := make([]*mixWorker, l.Connections)
	var wg sync.WaitGroup
	for i := range l.Connections {
		w, mw := l.newWorker(i, seed)
		workers[i] = mw
		wg.Go(func() { run(w, mw) })
	}
	wg.Wait()
	return workers
}

func isStopped(stop <-chan struct{}) bool {
	select {
	case <-stop:
		return true
	default:
		return false
	}
}

// runClosed is the flat-out loop. With a duration, the answers that arrive
// inside the window after the warm-up are measured (as Load does); with a
// count, the first Count requests started after the warm-up are.
func (l *MixLoad) runClosed(ctx context.Context, client *http.Client, stop <-chan struct{}) *MixLoadResult {
	start := time.Now()
	from := start.Add(l.Warmup)
	var until time.Time
	if l.Count <= 0 {
		until = from.Add(l.Duration)
	}
	var claimed atomic.Int64
	workers := l.spawn(uint64(start.UnixNano()), func(w *Worker, mw *mixWorker) {
		for !isStopped(stop) {
			t0 := time.Now()
			if !until.IsZero() && !t0.Before(until) {
				return
			}
			measured := !t0.Before(from)
			if l.Count > 0 && measured && claimed.Add(1) > l.Count {
				return
			}
			a := l.Mix.Pick(w.Rand)
			status, sent, err := l.send(ctx, client, w, a)
			t1 := time.Now()
			if ctx.Err() != nil {
				return // cut off by ctrl-C: neither a success nor an error
			}
			if !sent {
				if measured {
					mw.starved++
				}
				time.Sleep(time.Millisecond) // a pool is empty; do not spin
				continue
			}
			ok := err == nil && status >= 200 && status <= 299
			l.Progress.Add(ok)
			if l.Count <= 0 {
				measured = !t1.Before(from) && !t1.After(until)
			}
			if !measured {
				continue
			}
			mw.tallies[a].record(t1.Sub(t0), t1, status, err, w.body.Bytes())
			mw.last = t1
		}
	})
	res := &MixLoadResult{Mode: "closed", Connections: l.Connections}
	end := until
	if l.Count > 0 {
		end = lastOf(workers)
	}
	if now := time.Now(); isStopped(stop) && now.Before(end) {
		end = now
	}
	l.finish(res, workers, end.Sub(from).Seconds())
	return res
}

// runOpen is the fixed-rate loop. Requests due before the warm-up's end
// are sent but not recorded.
func (l *MixLoad) runOpen(ctx context.Context, client *http.Client, stop <-chan struct{}) *MixLoadResult {
	clk := l.Clock
	start := clk.Now()
	warmTicks := int64(math.Ceil(l.Warmup.Seconds() * l.Rate))
	s := Schedule{Start: start, Rate: l.Rate}
	if l.Count > 0 {
		s.Limit = warmTicks + l.Count
	} else {
		s.End = start.Add(l.Warmup + l.Duration)
	}
	queue := make(chan tick, queueCapacity(l.Rate, l.MaxLag, l.Connections))
	var ds dispatchStats
	dispatched := make(chan struct{})
	go func() {
		dispatch(clk, s, queue, stop, &ds)
		close(dispatched)
	}()
	policy := lagPolicy{LateAfter: l.LateAfter, MaxLag: l.MaxLag}
	var lateN, droppedN atomic.Int64
	if l.Progress != nil {
		l.Progress.Extra = func() string {
			return fmt.Sprintf("%d late, %d dropped", lateN.Load(), droppedN.Load())
		}
	}
	workers := l.spawn(uint64(start.UnixNano()), func(w *Worker, mw *mixWorker) {
		l.openWorker(ctx, client, clk, policy, queue, stop, warmTicks, w, mw, &lateN, &droppedN)
	})
	<-dispatched
	open := &OpenLoopResult{Rate: l.Rate, LateAfterMs: ms(l.LateAfter), MaxLagMs: ms(l.MaxLag)}
	res := &MixLoadResult{Mode: "open", Connections: l.Connections, Open: open}
	from := s.Due(warmTicks)
	end := s.End
	if l.Count > 0 {
		end = lastOf(workers)
	}
	if now := clk.Now(); isStopped(stop) && now.Before(end) {
		end = now
	}
	// The dispatcher counts warm-up requests too; only the measured ones
	// are reported. A queue-full drop is a measured request that was not
	// sent (the dispatcher's count includes warm-up ones; the difference
	// is small and only ever there when the run is overloaded anyway).
	open.Scheduled = ds.Scheduled - min(warmTicks, ds.Scheduled)
	open.Dropped = ds.QueueFull
	var lags []Samples
	for _, mw := range workers {
		open.Late += mw.late
		open.Dropped += mw.dropped
		lags = append(lags, mw.lag)
	}
	open.StartLag = Merge(lags...).Summary()
	l.finish(res, workers, end.Sub(from).Seconds())
	return res
}

// openWorker takes scheduled requests off queue until it is closed. It
// measures each request's latency from its due time, and judges how late
// it starts by policy.
func (l *MixLoad) openWorker(ctx context.Context, client *http.Client, clk Clock, policy lagPolicy, queue <-chan tick,
	stop <-chan struct{}, warmTicks int64, w *Worker, mw *mixWorker, lateN, droppedN *atomic.Int64) {
	for t := range queue {
		if isStopped(stop) {
			continue // drain: the dispatcher has stopped too
		}
		measured := t.k >= warmTicks
		now := clk.Now()
		if now.Before(t.due) {
			now = t.due // never in practice: a request is queued when due
		}
		v := policy.admit(t.due, now)
		if v == dropped {
			if measured {
				mw.dropped++
			}
			droppedN.Add(1)
			continue
		}
		a := l.Mix.Pick(w.Rand)
		status, sent, err := l.send(ctx, client, w, a)
		end := clk.Now()
		if ctx.Err() != nil {
			continue
		}
		if !sent {
			if measured {
				mw.starved++
			}
			continue
		}
		ok := err == nil && status >= 200 && status <= 299
		l.Progress.Add(ok)
		if v == late {
			lateN.Add(1)
		}
		if !measured {
			continue
		}
		if v == late {
			mw.late++
		}
		mw.lag = append(mw.lag, now.Sub(t.due))
		mw.tallies[a].record(end.Sub(t.due), end, status, err, w.body.Bytes())
		if end.After(mw.last) {
			mw.last = end
		}
	}
}

func lastOf(workers []*mixWorker) time.Time {
	var last time.Time
	for _, mw := range workers {
		if mw.last.After(last) {
			last = mw.last
		}
	}
	return last
}

func (l *MixLoad) finish(res *MixLoadResult, workers []*mixWorker, secs float64) {
	parts := make([][]tally, len(workers))
	for i, mw := range workers {
		parts[i] = mw.tallies
		res.Starved += mw.starved
	}
	if secs < 0 {
		secs = 0
	}
	res.Seconds = Round3(secs)
	res.Total, res.Actions = aggregate(l.Mix.Actions, parts, secs)
}
