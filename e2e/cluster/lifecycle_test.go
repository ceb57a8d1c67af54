package cluster

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"moat/internal/admin"
	"moat/internal/moat"
)

// createMany creates n instances expiring in expireIn through the admin
// API, in calls of 10,000 (the most one call, one transaction, takes) to
// the replicas in turn, and returns their IDs. The calls are made one
// after the other: each holds the region's IP cursor until it commits, so
// concurrent ones would only queue behind each other.
//
// On a loaded machine one call can outlast the store's deadline for one
// transaction (10 s) and be answered 503; when the database shows that
// nothing of it was committed, it is made again as two calls of half the
// size (and logged).
func createMany(t testing.TB, rs []*Replica, dsn string, n int, expireIn string) map[string]bool {
	t.Helper()
	ids := make(map[string]bool, n)
	calls := 0
	var create func(count int)
	create = func(count int) {
		r := rs[calls%len(rs)]
		calls++
		out, err := r.Admin.CreateInstances(context.Background(), admin.InstancesRequest{Count: count, ExpireIn: expireIn})
		var ae *admin.Error
		if errors.As(err, &ae) && ae.Status == http.StatusServiceUnavailable && count > 1 {
			if have := queryInt(t, dsn, `SELECT count(*) FROM instances`); have == int64(len(ids)) {
				t.Logf("%s: creating %d instances in one call was answered 503 (%s); nothing was committed: creating them in two calls", r.Name, count, ae.Message)
				create(count / 2)
				create(count - count/2)
				return
			}
		}
		if err != nil {
			t.Fatalf("%s: create %d instances: %v", r.Name, count, err)
		}
		for _, in := range out {
			ids[in.InstanceId] = true
		}
	}
	for left := n; left > 0; left -= moat.MaxCreateCount {
		create(min(left, moat.MaxCreateCount))
	}
	if len(ids) != n {
		t.Fatalf("created %d distinct instances, want %d", len(ids), n)
	}
	return ids
}

// waitExpired polls the database until n expired events exist, or fails
// the test after limit. It counts with SQL rather than through the events
// API so that polling does not load the replicas it measures; the events
// API is checked once the count is reached.
func waitExpired(t testing.TB, dsn string, n int, limit time.Duration) time.Duration {
	t.Helper()
	conn := pgConnect(t, dsn)
	defer conn.Close(context.Background())
	start := time.Now()
	for {
		var got int64
		if err := conn.QueryRow(context.Background(), `SELECT count(*) FROM events WHERE type = 'expired'`).Scan(&got); err != nil {
			t.Fatalf("count expired events: %v", err)
		}
		if got >= int64(n) {
			return time.Since(start)
		}
		if time.Since(start) > limit {
			t.Fatalf("after %v, %d of %d expired events are recorded", limit, got, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// checkExpiredOnce pages through the expired events with the events API
// and checks that each instance of ids expired exactly once, and that no
// other instance did.
func checkExpiredOnce(t testing.TB, r *Replica, ids map[string]bool) {
	t.Helper()
	evs := r.allEvents(t, "expired", 20000)
	seen := make(map[string]int, len(evs))
	for _, e := range evs {
		seen[e.InstanceId]++
		if !ids[e.InstanceId] {
			t.Errorf("expired event for an instance the test did not create: %+v", e)
		}
	}
	dups := 0
	for id, k := range seen {
		if k > 1 {
			dups++
			if dups <= 5 {
				t.Errorf("instance %s expired %d times", id, k)
			}
		}
	}
	if len(evs) != len(ids) || len(seen) != len(ids) || dups > 0 {
		t.Fatalf("events API: %d expired events for %d distinct instances (%d duplicated), want exactly %d and %d",
			len(evs), len(seen), dups, len(ids), len(ids))
	}
}

// tailer follows the event log as a consumer does: it pages with After
// from the last Seq it has seen, polling, and must see every event once
// even while several replicas write.
type tailer struct {
	r      *Replica
	typ    string
	stop   chan struct{}
	done   chan struct{}
	mu     sync.Mutex
	events []admin.Event
	err    error
}

func startTail(r *Replica, typ string) *tailer {
	tl := &tailer{r: r, typ: typ, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(tl.done)
		after := int64(0)
		for {
			q := url.Values{"After": {strconv.FormatInt(after, 10)}, "Limit": {"5000"}, "Type": {typ}}
			var out admin.EventsResponse
			if _, err := r.Admin.Do(context.Background(), http.MethodGet, "/_moat/v1/events?"+q.Encode(), nil, &out); err != nil {
				tl.mu.Lock()
				tl.err = err
				tl.mu.Unlock()
				return
			}
			tl.mu.Lock()
			tl.events = append(tl.events, out.Events...)
			tl.mu.Unlock()
			if len(out.Events) > 0 {
				after = out.Events[len(out.Events)-1].Seq
				continue // more may be waiting
			}
			select {
			case <-tl.stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	return tl
}

// finish waits until the tailer has seen n events (or within has passed),
// stops it and returns what it saw.
func (tl *tailer) finish(t testing.TB, n int, within time.Duration) []admin.Event {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		tl.mu.Lock()
		seen, err := len(tl.events), tl.err
		tl.mu.Unlock()
		if err != nil {
			t.Fatalf("tailing %s events on %s: %v", tl.typ, tl.r.Name, err)
		}
		if seen >= n || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	close(tl.stop)
	<-tl.done
	return tl.events
}

// TestExpiry100kExactlyOnce creates 100,000 instances that expire at one
// instant, moves the shared clock past it on one of three replicas, and
// waits until the events API lists exactly 100,000 expired events, one per
// instance: the three lifecycle engines share the work through claims
// (FOR UPDATE SKIP LOCKED) and never record a transition twice. The
// catch-up time is logged, not asserted: its target (docs/BENCHMARKS.md,
// under 10 s across three replicas) is a performance goal, and
// BenchmarkExpiryCatchUp's; on a loaded 2-core machine running the whole
// suite it can take several times as long. The test only fails a catch-up
// that does not finish within 2 minutes (expiryCatchUp), 12x the target.
func TestExpiry100kExactlyOnce(t *testing.T) {
	_, report := expiryCatchUp(t, 100000)
	t.Log(report)
}

// BenchmarkExpiryCatchUp measures the target of docs/BENCHMARKS.md: with three replicas,
// 100,000 instances expiring at one instant are all recorded expired
// within 10 s of the clock moving past them. One op is the whole scenario
// (about a minute with the creation); run it with
//
//	go test ./e2e/cluster -run XXX -bench ExpiryCatchUp -benchtime 1x
func BenchmarkExpiryCatchUp(b *testing.B) {
	var total time.Duration
	for range b.N {
		catchUp, report := expiryCatchUp(b, 100000)
		b.Log(report)
		total += catchUp
	}
	b.ReportMetric(total.Seconds()/float64(b.N), "s-catch-up/op")
	b.ReportMetric(10, "s-target")
}

// expiryCatchUp runs the scenario of TestExpiry100kExactlyOnce with n
// instances and returns the time from the clock call to the last expired
// event, with a report of the figures.
func expiryCatchUp(tb testing.TB, n int) (time.Duration, string) {
	tb.Helper()
	dsn := newDatabase(tb, baseDSN())
	rs := startReplicas(tb, dsn, 3, 8)
	start := time.Now()
	ids := createMany(tb, rs, dsn, n, "1h")
	created := time.Since(start)

	start = time.Now()
	rs[0].advance(tb, "2h")
	returned := time.Since(start)
	waitExpired(tb, dsn, n, 2*time.Minute)
	catchUp := time.Since(start)

	checkExpiredOnce(tb, rs[1], ids)
	if left := queryInt(tb, dsn, `SELECT count(*) FROM instances WHERE phase = $1`, int16(moat.PhaseActive)); left != 0 {
		tb.Fatalf("%d instances are still active after the catch-up", left)
	}
	// Each engine logs what it applied when its pass ends, just after
	// its last commit.
	var shares []string
	total := 0
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		shares, total = shares[:0], 0
		for _, r := range rs {
			shares = append(shares, fmt.Sprintf("%s %d", r.Name, r.Applied()))
			total += r.Applied()
		}
		if total >= n || time.Now().After(deadline) {
			break
		}
	}
	if total != n {
		tb.Errorf("the engines' logs report %d instances changed (%s), want %d", total, strings.Join(shares, ", "), n)
	}
	return catchUp, fmt.Sprintf("%d instances created through the admin API in %v; the clock call on a returned after %v; all %d expired events recorded %v after the advance (target in docs/BENCHMARKS.md: < 10 s across three replicas); work per replica: %s",
		n, created.Round(time.Millisecond), returned.Round(time.Millisecond), n, catchUp.Round(time.Millisecond), strings.Join(shares, ", "))
}

// TestLifecycleTakeover kills (SIGKILL) a replica in the middle of a
// catch-up while its lifecycle engine holds claimed work, seen in
// pg_stat_activity as an open transaction of its connection that has
// locked or written instance rows and events, and checks that the two
// others finish the catch-up within seconds with exactly one expired event
// per instance: the dead replica's claims died with its transaction. A
// consumer tailing the events API by After all along sees each of them
// once.
func TestLifecycleTakeover(t *testing.T) {
	dsn := newDatabase(t, baseDSN())
	rs := startReplicas(t, dsn, 3, 8)
	const n = 30000
	ids := createMany(t, rs, dsn, n, "1h")
	victim := rs[2]
	tail := startTail(rs[0], "expired")

	watch := pgConnect(t, dsn)
	defer watch.Close(context.Background())
	go victim.Admin.MoveClock(context.Background(), admin.ClockRequest{Advance: "2h"}) // answered never: the replica dies mid-pass
	// holding lists the victim's backends inside a lifecycle transaction,
	// once the catch-up is under way (some batches committed).
	holding := func() (pids []int32) {
		rows, err := watch.Query(context.Background(), `SELECT pid FROM pg_stat_activity
			WHERE datname = current_database() AND application_name = $1 AND backend_xid IS NOT NULL
			AND (query LIKE '%SKIP LOCKED%' OR query LIKE '%INTO events%' OR query LIKE '%UPDATE instances%')
			AND (SELECT count(*) FROM events WHERE type = 'expired') >= $2`, "moat-"+victim.Name, n/10)
		if err != nil {
			t.Fatalf("pg_stat_activity: %v", err)
		}
		pids, err = pgx.CollectRows(rows, pgx.RowTo[int32])
		if err != nil {
			t.Fatalf("pg_stat_activity: %v", err)
		}
		return pids
	}
	deadline := time.Now().Add(30 * time.Second)
	var pids []int32
	for pids = holding(); len(pids) == 0; pids = holding() {
		if time.Now().After(deadline) {
			t.Fatalf("replica %s never held lifecycle work in the middle of the catch-up within 30 s", victim.Name)
		}
	}
	victim.Kill()
	killed := time.Now()
	before := queryInt(t, dsn, `SELECT count(*) FROM events WHERE type = 'expired'`)

	// Its backends end as PostgreSQL sees the connection close; their
	// locks go with them.
	for {
		var alive int64
		if err := watch.QueryRow(context.Background(), `SELECT count(*) FROM pg_stat_activity WHERE pid = ANY($1)`, pids).Scan(&alive); err != nil {
			t.Fatal(err)
		}
		if alive == 0 {
			break
		}
		if time.Since(killed) > 10*time.Second {
			t.Fatalf("the killed replica's transactions (pids %v) were still open 10 s after SIGKILL", pids)
		}
		time.Sleep(5 * time.Millisecond)
	}
	released := time.Since(killed)
	// The survivors finish the catch-up, in a few seconds on the 2-core
	// reference machine (logged below): nothing of the dead replica's
	// outlives its transactions. How fast is a performance figure, not
	// asserted; the bound, more than 10x those seconds, only fails a
	// takeover that does not happen.
	waitExpired(t, dsn, n, time.Minute)
	finished := time.Since(killed)

	checkExpiredOnce(t, rs[0], ids)
	// A consumer that tailed the log by After throughout saw every
	// transition once, none skipped by out-of-order commits.
	tailed := tail.finish(t, n, 10*time.Second)
	seen := map[string]int{}
	for _, e := range tailed {
		seen[e.InstanceId]++
	}
	if len(tailed) != n || len(seen) != n {
		t.Fatalf("tailing the events API with After saw %d expired events for %d instances, want %d for %d", len(tailed), len(seen), n, n)
	}
	t.Logf("replica %s killed holding lifecycle work (%d of %d expired events committed then); its claims were released %v after SIGKILL; the other two finished %v after it; work by the survivors: a %d, b %d",
		victim.Name, before, n, released.Round(time.Millisecond), finished.Round(time.Millisecond), rs[0].Applied(), rs[1].Applied())
}
