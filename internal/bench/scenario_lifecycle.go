package bench

import (
	"context"
	"fmt"
	"time"

	"moat/internal/admin"
	"moat/internal/bench/loadgen"
	"moat/internal/bench/proc"
)

// lifecycle is the lifecycle scenario: many instances fall due at once
// when the clock is advanced, and the catch-up is timed (beside a describe
// load unless --lifecycle-connections is 0).
func (r *runner) lifecycle(ctx context.Context) error {
	c := r.cfg
	if err := r.ensureAux(ctx); err != nil {
		return err
	}
	lr := &LifecycleResult{Instances: c.LifecycleCount, Region: LifecycleRegion, Advance: c.LifecycleAdvance.String()}
	r.res.Lifecycle = lr
	r.logf("lifecycle: creating %d instances expiring at server-now+1h", c.LifecycleCount)
	t0 := time.Now()
	ids, err := r.createAux(ctx, c.LifecycleCount, LifecycleRegion, "1h")
	if err != nil {
		return err
	}
	lr.CreateSeconds = loadgen.Round3(time.Since(t0).Seconds())
	r.memPoint("lifecycle: create")
	mine := make(map[string]struct{}, len(ids))
	for _, id := range ids {
		mine[id] = struct{}{}
	}
	// Everything recorded up to now; the count below starts after it.
	lastSeq, _, _, err := r.expiredEventsAfter(ctx, 0, nil)
	if err != nil {
		return err
	}

	// The same describe load with nothing due, for comparison (none
	// with --lifecycle-connections 0: the catch-up alone).
	loaded := c.LifecycleConnections > 0
	if loaded {
		refDur := min(c.Duration, 3*time.Second)
		r.logf("lifecycle: describe at %d connections for %s with nothing due", c.LifecycleConnections, refDur)
		before, err := (&loadgen.Load{Connections: c.LifecycleConnections, Warmup: min(c.Warmup, time.Second), Duration: refDur, Abort: r.exited, Next: describeLoad(r.eps, r.boot)}).Run(ctx)
		lr.DescribeBefore = before
		if err != nil {
			return err
		}
	}

	var appliedBefore []int64
	if len(r.moats) > 1 {
		appliedBefore = r.appliedByReplica(ctx)
	}
	stop := make(chan struct{})
	type out struct {
		res *loadgen.LoadResult
		err error
	}
	done := make(chan out, 1)
	if loaded {
		r.logf("lifecycle: advancing the clock by %s under describe load at %d connections (%d replica(s))", c.LifecycleAdvance, c.LifecycleConnections, len(r.moats))
		const warm = 500 * time.Millisecond
		during := &loadgen.Load{Connections: c.LifecycleConnections, Warmup: warm, Stop: stop, Abort: r.exited, Next: describeLoad(r.eps, r.boot),
			Progress: loadgen.NewProgress(r.log, "lifecycle describe during catch-up")}
		go func() {
			res, err := during.Run(ctx)
			done <- out{res, err}
		}()
		select {
		case <-time.After(warm):
		case <-ctx.Done():
		}
	} else {
		r.logf("lifecycle: advancing the clock by %s, no other load (%d replica(s))", c.LifecycleAdvance, len(r.moats))
		done <- out{}
	}
	callStart := time.Now()
	clockDone := make(chan error, 1)
	var clockCall time.Duration
	go func() {
		_, err := r.adm.MoveClock(ctx, admin.ClockRequest{Advance: c.LifecycleAdvance.String()})
		clockCall = time.Since(callStart)
		clockDone <- err
	}()
	var catchUp time.Duration
	var watchErr error
	if len(r.moats) == 1 {
		// The call returns when the one engine has applied everything due.
		lr.CatchUpMethod = "clock call"
	} else {
		// The call waits only for its own replica's pass: the catch-up
		// ends when the events API shows every expiry.
		var w expiryWatch
		w, watchErr = r.watchExpiries(ctx, lastSeq, mine, callStart)
		catchUp = w.doneAt.Sub(callStart)
		lr.CatchUpMethod = w.how
		lr.EventPolls, lr.EventRescans = w.polls, w.rescans
	}
	clockErr := <-clockDone
	if lr.CatchUpMethod == "clock call" {
		catchUp = clockCall
	}
	lr.ClockCallSeconds = loadgen.Round3(clockCall.Seconds())
	close(stop)
	o := <-done
	lr.DescribeDuring = o.res
	if clockErr != nil {
		return fmt.Errorf("advance the clock: %w", clockErr)
	}
	if watchErr != nil {
		return watchErr
	}
	if o.err != nil {
		return o.err
	}
	lr.CatchUpSeconds = loadgen.Round3(catchUp.Seconds())
	lr.ExpiriesPerSec = loadgen.Round1(float64(c.LifecycleCount) / catchUp.Seconds())
	if appliedBefore != nil {
		if after := r.appliedByReplica(ctx); len(after) == len(appliedBefore) {
			for i := range after {
				lr.AppliedByReplica = append(lr.AppliedByReplica, after[i]-appliedBefore[i])
			}
		}
	}
	r.memPoint("lifecycle: catch-up")

	_, n, ofMine, err := r.expiredEventsAfter(ctx, lastSeq, mine)
	if err != nil {
		return err
	}
	lr.ExpiredEvents, lr.OfTheseInstances = n, ofMine
	r.memPoint("lifecycle: list events")
	r.logf("lifecycle: catch-up %s (%s), %d expired events recorded (%d of this scenario's instances)", catchUp.Round(time.Millisecond), lr.CatchUpMethod, n, ofMine)
	return nil
}

// expiryWatch is what watchExpiries saw.
type expiryWatch struct {
	doneAt         time.Time // when the catch-up was seen complete
	how            string
	polls, rescans int
}

// watchExpiries polls the events API every 100 ms until every instance of
// mine has an `expired` event after seq, and returns when that was seen.
//
// Each read goes on from where the previous one ended. But a PostgreSQL
// store draws an event's Seq when the event is written, not when its
// transaction commits, so with several replicas committing batches at once
// an event often becomes visible behind that cursor, and a tail alone
// would wait for ever. When a read brings nothing new, the watcher asks
// the first replica's /metrics for moat_lifecycle_lag_seconds: that
// replica's clock is the advanced one (the clock call went to it), and the
// gauge reads the earliest unapplied due time from the shared store, so 0
// means every expiry has been committed. It then re-reads the events from
// seq to count them; the catch-up ended when the gauge read 0, provided
// that count is complete. Counting instance IDs, not events, keeps a
// re-read from counting twice.
func (r *runner) watchExpiries(ctx context.Context, seq int64, mine map[string]struct{}, start time.Time) (expiryWatch, error) {
	const every, timeout = 100 * time.Millisecond, 10 * time.Minute
	var w expiryWatch
	seen := make(map[string]struct{}, len(mine))
	cursor := seq
	for {
		readStart := time.Now()
		before := len(seen)
		var err error
		if cursor, err = r.expiredInto(ctx, cursor, mine, seen); err != nil {
			return w, err
		}
		w.polls++
		if len(seen) == len(mine) {
			w.doneAt, w.how = time.Now(), "events API"
			return w, nil
		}
		// (Not before the first expiry shows: until the clock call has
		// moved the clock, nothing is overdue either.)
		if len(seen) == before && len(seen) > 0 {
			lag, err := proc.ReadMetric(ctx, r.adm.HTTP, r.ep+"/metrics", "moat_lifecycle_lag_seconds")
			if err != nil {
				return w, fmt.Errorf("read the lifecycle lag: %w", err)
			}
			if lag == 0 {
				zeroAt := time.Now()
				if _, err := r.expiredInto(ctx, seq, mine, seen); err != nil {
					return w, err
				}
				w.rescans++
				if len(seen) == len(mine) {
					w.doneAt, w.how = zeroAt, "lag 0, events counted"
					return w, nil
				}
			}
		}
		if time.Since(start) > timeout {
			return w, fmt.Errorf("after %s the events API shows %d of %d expiries", timeout, len(seen), len(mine))
		}
		select {
		case <-ctx.Done():
			return w, ctx.Err()
		case <-r.exited:
			return w, loadgen.ErrAborted
		case <-time.After(time.Until(readStart.Add(every))):
		}
	}
}

// expiredInto pages through `expired` events after seq, adds the
// instances of mine it finds to seen, and returns the last Seq read.
func (r *runner) expiredInto(ctx context.Context, seq int64, mine, seen map[string]struct{}) (int64, error) {
	limit := r.cfg.EventsPage
	last := seq
	for {
		events, err := r.adm.EventsPage(ctx, admin.EventsQuery{Type: "expired", After: last, Limit: limit})
		if err != nil {
			return last, fmt.Errorf("list events: %w", err)
		}
		for _, e := range events {
			last = max(last, e.Seq)
			if _, ok := mine[e.InstanceId]; ok {
				seen[e.InstanceId] = struct{}{}
			}
		}
		if len(events) < limit {
			return last, nil
		}
	}
}

// appliedByReplica reads each replica's lifecycle transitions counter
// (nil if any cannot be read).
func (r *runner) appliedByReplica(ctx context.Context) []int64 {
	out := make([]int64, 0, len(r.eps))
	for _, ep := range r.eps {
		v, err := proc.ReadMetric(ctx, r.adm.HTTP, ep+"/metrics", "moat_lifecycle_transitions_applied_total")
		if err != nil {
			r.logf("read %s/metrics: %v", ep, err)
			return nil
		}
		out = append(out, int64(v))
	}
	return out
}

// expiredEventsAfter pages through `expired` events after seq and returns
// the last Seq seen, how many there were, and how many belong to mine.
func (r *runner) expiredEventsAfter(ctx context.Context, seq int64, mine map[string]struct{}) (last, n, ofMine int64, err error) {
	limit := r.cfg.EventsPage
	last = seq
	for {
		events, err := r.adm.EventsPage(ctx, admin.EventsQuery{Type: "expired", After: last, Limit: limit})
		if err != nil {
			return last, n, ofMine, fmt.Errorf("list events: %w", err)
		}
		for _, e := range events {
			if e.Seq <= last {
				return last, n, ofMine, fmt.Errorf("events out of order: Seq %d after %d", e.Seq, last)
			}
			last = e.Seq
			n++
			if _, ok := mine[e.InstanceId]; ok {
				ofMine++
			}
		}
		if len(events) < limit {
			return last, n, ofMine, nil
		}
	}
}
