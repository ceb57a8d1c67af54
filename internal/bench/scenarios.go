package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"sync/atomic"
	"time"

	"moat/internal/acs"
	"moat/internal/admin"
)

// ---- requests ----

// signedRequest signs params (v1) into worker-owned p and builds a POST
// with everything in the query, the shape of sdk-go v1 and the aliyun CLI.
func signedRequest(ctx context.Context, endpoint string, c *acs.Client, p map[string]string) (*http.Request, error) {
	c.Sign(http.MethodPost, p)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint+"/?"+acs.EncodeQuery(p), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	return req, nil
}

// describeLoad is signed DescribeInstances PageSize=10 at a random
// PageNumber 1..100, as c's account; worker i talks to eps[i mod len].
func describeLoad(eps []string, c *acs.Client) RequestFunc {
	return func(ctx context.Context, w *Worker) (*http.Request, bool, error) {
		describeParams(w.Params, w.Rand)
		req, err := signedRequest(ctx, eps[w.ID%len(eps)], c, w.Params)
		return req, true, err
	}
}

// describeParams sets the describe load's parameters in p.
func describeParams(p map[string]string, rnd *rand.Rand) {
	p["Action"] = "DescribeInstances"
	p["Version"] = apiVersion
	p["Format"] = "JSON"
	p["RegionId"] = SeedRegion
	p["PageSize"] = "10"
	p["PageNumber"] = strconv.Itoa(1 + rnd.IntN(describePages))
}

// describeTotal asks the server for the bootstrap account's TotalCount.
func (r *runner) describeTotal(ctx context.Context) (int64, error) {
	status, body, err := r.boot.Call(ctx, map[string]string{
		"Action": "DescribeInstances", "Version": apiVersion, "Format": "JSON",
		"RegionId": SeedRegion, "PageNumber": "1", "PageSize": "1",
	})
	if err != nil {
		return 0, err
	}
	if status != http.StatusOK {
		return 0, fmt.Errorf("DescribeInstances: HTTP %d: %s", status, truncate(string(body), 600))
	}
	var out struct{ TotalCount int64 }
	if err := json.Unmarshal(body, &out); err != nil {
		return 0, fmt.Errorf("DescribeInstances: %w", err)
	}
	return out.TotalCount, nil
}

// ---- seeding ----

func (r *runner) seed(ctx context.Context) error {
	want := r.cfg.Instances
	have, err := r.describeTotal(ctx)
	if err != nil {
		return err
	}
	s := &SeedResult{Requested: want, Existing: have, Final: have}
	r.res.Seed = s
	switch {
	case have == int64(want):
		s.Skipped = true
		r.logf("store already holds %d instances: seeding skipped", have)
		return nil
	case have > int64(want):
		r.logf("warning: store holds %d instances, more than --instances %d; measuring it as it is", have, want)
		return nil
	case have > 0:
		r.logf("store holds %d instances; adding %d", have, int64(want)-have)
	}
	missing := want - int(have)
	start := time.Now()
	prog := newCountProgress(r.log, "seeding instances", missing)
	r.logf("seeding %d instances through the admin API, %d per call", missing, r.batch())
	done := 0
	for done < missing {
		n := min(r.batch(), missing-done)
		req := admin.InstancesRequest{AccessKeyId: BootstrapKeyID, RegionId: SeedRegion, Count: n, ExpireIn: "8760h", Remark: "bench"}
		if err := r.adm.SeedInstances(ctx, req); err != nil {
			return fmt.Errorf("create instances (%d of %d done): %w", done, missing, err)
		}
		done += n
		prog.update(done)
	}
	s.Created = done
	s.Seconds = round3(time.Since(start).Seconds())
	s.PerSec = round1(float64(done) / time.Since(start).Seconds())
	final, err := r.describeTotal(ctx)
	if err != nil {
		return err
	}
	s.Final = final
	if final != int64(want) {
		return fmt.Errorf("after seeding TotalCount is %d, want %d", final, want)
	}
	return nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// ---- scenarios ----

func (r *runner) describe(ctx context.Context) error {
	c := r.cfg
	r.logf("describe: %d connections, %s warm-up + %s", c.Connections, c.Warmup, c.Duration)
	res, err := (&Load{Connections: c.Connections, Warmup: c.Warmup, Duration: c.Duration, Abort: r.exited, Next: describeLoad(r.eps, r.boot),
		Progress: newProgress(r.log, "describe")}).Run(ctx)
	if res != nil {
		r.res.Describe = res
	}
	return err
}

func (r *runner) baseline(ctx context.Context) error {
	c := r.cfg
	child, err := StartChild(ctx, ChildSpec{
		Name:  "baseline",
		Path:  c.Exe,
		Args:  []string{"bench", "--baseline-serve", "--addr", "127.0.0.1:0"},
		Env:   ChildEnv(),
		Ready: regexp.MustCompile(regexp.QuoteMeta(BaselineReady) + `(\S+)`),
	})
	if err != nil {
		return err
	}
	defer child.Stop(10 * time.Second)
	r.logf("baseline: bare net/http handler, %d connections, %s warm-up + %s", c.Connections, c.Warmup, c.Duration)
	// The very same signed requests: signing is client-side work, so it
	// cancels out of the ratio.
	cl := &acs.Client{AccessKeyID: BootstrapKeyID, AccessKeySecret: BootstrapSecret}
	res, err := (&Load{Connections: c.Connections, Warmup: c.Warmup, Duration: c.Duration, Abort: child.Exited(), Next: describeLoad([]string{"http://" + child.Addr}, cl),
		Progress: newProgress(r.log, "baseline")}).Run(ctx)
	if res != nil {
		r.res.Baseline = res
	}
	if m, merr := child.Mem(); merr == nil {
		if r.res.Memory == nil {
			r.res.Memory = &MemoryResult{}
		}
		r.res.Memory.Baseline = memFigures(m)
	}
	return err
}

// ensureAux creates the auxiliary account (idempotent).
func (r *runner) ensureAux(ctx context.Context) error {
	_, err := r.adm.CreateAccount(ctx, admin.AccountRequest{AccountId: AuxAccountID, AccessKeyId: AuxKeyID, AccessKeySecret: AuxSecret})
	return err
}

// createAux creates n instances of the auxiliary account and returns their
// IDs.
func (r *runner) createAux(ctx context.Context, n int, region, expireIn string) ([]string, error) {
	ids := make([]string, 0, n)
	prog := newCountProgress(r.log, "creating instances", n)
	for len(ids) < n {
		got, err := r.adm.CreateInstances(ctx, admin.InstancesRequest{AccessKeyId: AuxKeyID, RegionId: region, Count: min(r.batch(), n-len(ids)), ExpireIn: expireIn, Remark: "bench"})
		if err != nil {
			return nil, fmt.Errorf("create instances (%d of %d done): %w", len(ids), n, err)
		}
		for _, in := range got {
			ids = append(ids, in.InstanceId)
		}
		prog.update(len(ids))
	}
	return ids, nil
}

func (r *runner) release(ctx context.Context) error {
	c := r.cfg
	if err := r.ensureAux(ctx); err != nil {
		return err
	}
	r.logf("release: creating %d expired instances", c.ReleaseCount)
	t0 := time.Now()
	ids, err := r.createAux(ctx, c.ReleaseCount, SeedRegion, "-1h")
	if err != nil {
		return err
	}
	rr := &ReleaseResult{Instances: len(ids), CreateSeconds: round3(time.Since(t0).Seconds())}
	r.res.Release = rr
	r.logf("release: releasing %d instances at %d connections", len(ids), c.Connections)
	var next atomic.Int64
	load := &Load{Connections: c.Connections, Abort: r.exited, Progress: newProgress(r.log, "release"), Next: func(ctx context.Context, w *Worker) (*http.Request, bool, error) {
		i := next.Add(1) - 1
		if i >= int64(len(ids)) {
			return nil, false, nil
		}
		p := w.Params
		p["Action"] = "ReleaseInstance"
		p["Version"] = apiVersion
		p["Format"] = "JSON"
		p["RegionId"] = SeedRegion
		p["InstanceId"] = ids[i]
		req, err := signedRequest(ctx, r.epFor(w.ID), r.aux, p)
		return req, true, err
	}}
	res, err := load.Run(ctx)
	if res != nil {
		rr.Load = res
		rr.ReleasesPerSec = round1(res.OKPerSec)
	}
	return err
}

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
	lr.CreateSeconds = round3(time.Since(t0).Seconds())
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
		before, err := (&Load{Connections: c.LifecycleConnections, Warmup: min(c.Warmup, time.Second), Duration: refDur, Abort: r.exited, Next: describeLoad(r.eps, r.boot)}).Run(ctx)
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
		res *LoadResult
		err error
	}
	done := make(chan out, 1)
	if loaded {
		r.logf("lifecycle: advancing the clock by %s under describe load at %d connections (%d replica(s))", c.LifecycleAdvance, c.LifecycleConnections, len(r.moats))
		const warm = 500 * time.Millisecond
		during := &Load{Connections: c.LifecycleConnections, Warmup: warm, Stop: stop, Abort: r.exited, Next: describeLoad(r.eps, r.boot),
			Progress: newProgress(r.log, "lifecycle describe during catch-up")}
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
	lr.ClockCallSeconds = round3(clockCall.Seconds())
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
	lr.CatchUpSeconds = round3(catchUp.Seconds())
	lr.ExpiriesPerSec = round1(float64(c.LifecycleCount) / catchUp.Seconds())
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
			lag, err := readMetric(ctx, r.adm.HTTP, r.ep+"/metrics", "moat_lifecycle_lag_seconds")
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
			return w, ErrAborted
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
		v, err := readMetric(ctx, r.adm.HTTP, ep+"/metrics", "moat_lifecycle_transitions_applied_total")
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
