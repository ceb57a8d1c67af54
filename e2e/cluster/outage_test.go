package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// privatePG is a PostgreSQL server of the test's own (initdb into a
// temporary directory, trust authentication, fsync on), which the test may
// stop and start: the shared server serves other packages' tests at the
// same time and is never restarted.
type privatePG struct {
	t    testing.TB
	bin  string // PostgreSQL's bin directory
	dir  string // owned by the postgres user: data/, the socket, the log
	port int    // names the socket file only (.s.PGSQL.<port>)
}

// pgBinDir finds initdb and pg_ctl: MOAT_TEST_PG_BIN, else Debian's
// /usr/lib/postgresql/<major>/bin, else the PATH.
func pgBinDir(t testing.TB) string {
	t.Helper()
	if v := os.Getenv("MOAT_TEST_PG_BIN"); v != "" {
		return v
	}
	if dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_ctl"); len(dirs) > 0 {
		slices.Sort(dirs)
		return filepath.Dir(dirs[len(dirs)-1])
	}
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		return filepath.Dir(p)
	}
	t.Fatal("the PostgreSQL restart test needs initdb and pg_ctl: install the PostgreSQL server package (apt-get install postgresql) or set MOAT_TEST_PG_BIN to their directory")
	return ""
}

// startPrivatePG initdbs and starts a server that listens only on a Unix
// socket in its own directory, stopped and deleted when the test ends. No
// TCP port: a port picked free and released for the server to bind could
// be taken by another process in between.
func startPrivatePG(t testing.TB) *privatePG {
	t.Helper()
	p := &privatePG{t: t, bin: pgBinDir(t), port: 5432}
	dir, err := os.MkdirTemp("", "moat-cluster-pg-")
	if err != nil {
		t.Fatal(err)
	}
	p.dir = dir
	t.Cleanup(func() {
		p.pgctl("stop", "-m", "immediate")
		os.RemoveAll(dir)
	})
	if os.Geteuid() == 0 {
		// PostgreSQL refuses to run as root: the directory goes to the
		// postgres user, and every command runs as it.
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("running as root, the PostgreSQL restart test needs a postgres user to run the server as: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := p.command("initdb", "-D", p.data(), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync").CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	p.start()
	return p
}

func (p *privatePG) data() string { return filepath.Join(p.dir, "data") }

// DSN is the server's maintenance database.
func (p *privatePG) DSN() string {
	return fmt.Sprintf("postgres://postgres@/postgres?host=%s&port=%d&sslmode=disable", url.QueryEscape(p.dir), p.port)
}

func (p *privatePG) command(name string, args ...string) *exec.Cmd {
	path := filepath.Join(p.bin, name)
	if os.Geteuid() == 0 {
		return exec.Command("runuser", append([]string{"-u", "postgres", "--", path}, args...)...)
	}
	return exec.Command(path, args...)
}

func (p *privatePG) pgctl(args ...string) ([]byte, error) {
	return p.command("pg_ctl", append([]string{"-D", p.data(), "-w", "-t", "60"}, args...)...).CombinedOutput()
}

func (p *privatePG) start() {
	p.t.Helper()
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses='' -c fsync=on -c synchronous_commit=on -c max_connections=60", p.port, p.dir)
	if out, err := p.pgctl("start", "-l", filepath.Join(p.dir, "log"), "-o", opts); err != nil {
		log, _ := os.ReadFile(filepath.Join(p.dir, "log"))
		p.t.Fatalf("pg_ctl start: %v\n%s\n%s", err, out, log)
	}
}

func (p *privatePG) stop(mode string) {
	p.t.Helper()
	if out, err := p.pgctl("stop", "-m", mode); err != nil {
		p.t.Fatalf("pg_ctl stop -m %s: %v\n%s", mode, err, out)
	}
}

// outageOp is one request of the load.
type outageOp struct {
	write      bool
	token      string
	replica    string
	start, end time.Time
	ans        Answer
	err        error
}

// TestPostgresRestartUnderLoad stops the database under a steady load of
// purchases and listings on two replicas, keeps it down for 3 s and starts
// it again, moat staying up throughout. It does so twice: with pg_ctl stop
// -m fast (sessions terminated, a clean shutdown) and -m immediate (a
// crash: PostgreSQL replays its WAL at the start). In both:
//
//   - every answer is a success or 503 ServiceUnavailable with the
//     Alibaba JSON error body, never a 500 and never a dropped connection,
//     and each comes within 9 s (latencyBound);
//   - a request made while the database is down is answered 503 (none is
//     acknowledged);
//   - both replicas succeed again within seconds of the restart, by
//     themselves;
//   - every acknowledged purchase is there afterwards, and one answered 503
//     took effect entirely or not at all: its ClientToken retried answers
//     200 with a whole instance, and no instance exists that no token
//     accounts for.
func TestPostgresRestartUnderLoad(t *testing.T) {
	for _, mode := range []string{"fast", "immediate"} {
		t.Run(mode, func(t *testing.T) { testRestartUnderLoad(t, mode) })
	}
}

func testRestartUnderLoad(t *testing.T, mode string) {
	pg := startPrivatePG(t)
	dsn := newDatabase(t, pg.DSN())
	rs := startReplicas(t, dsn, 2, 0)

	const writers, readers = 6, 2
	// latencyBound is the failing fast: a request waits at most for the
	// store's timeouts (acquire 3 s, its connect 2 s included) after up
	// to about 1 s for the clock reload, some 4 s by design; 0.4-2 s is
	// seen on the loaded 2-core machine. A request held for a whole
	// operation attempt (the store's 10 s OpTimeout, a timer that cannot
	// fire early) or hanging until the client gives up (20 s) still
	// fails. 5 s, the bound before, was within 1 s of the design's worst
	// case, which a machine twice as slow can pass.
	const latencyBound = 9 * time.Second
	var (
		mu    sync.Mutex
		ops   []outageOp
		acked atomic.Int64
		stop  = make(chan struct{})
		wg    sync.WaitGroup
	)
	for w := range writers + readers {
		wg.Go(func() {
			r := rs[w%len(rs)]
			for k := 0; ; k++ {
				select {
				case <-stop:
					return
				default:
				}
				o := outageOp{write: w < writers, replica: r.Name}
				params := ddoscooParams("DescribeInstances", "PageNumber", "1", "PageSize", "10")
				if o.write {
					o.token = fmt.Sprintf("outage-%d-%d", w, k)
					params = buyParams(o.token)
				}
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				o.start = time.Now()
				o.ans, o.err = r.call(ctx, params)
				o.end = time.Now()
				cancel()
				mu.Lock()
				ops = append(ops, o)
				mu.Unlock()
				if o.err == nil && o.ans.Status == http.StatusOK {
					acked.Add(1)
				} else {
					// A client backs off after a failure (as the SDKs'
					// retry policies do) instead of spinning.
					time.Sleep(50 * time.Millisecond)
				}
			}
		})
	}
	waitAcks := func(n int64, within time.Duration) {
		deadline := time.Now().Add(within)
		for acked.Load() < n {
			if time.Now().After(deadline) {
				close(stop)
				wg.Wait()
				t.Fatalf("only %d of %d acknowledged requests within %v", acked.Load(), n, within)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitAcks(200, time.Minute)

	stopBegin := time.Now()
	pg.stop(mode)
	stopDone := time.Now()
	time.Sleep(3 * time.Second) // the outage
	startBegin := time.Now()
	pg.start()
	startDone := time.Now()
	// Recovery: acknowledged requests again, on both replicas.
	base := acked.Load()
	recovered := map[string]time.Time{}
	deadline := startDone.Add(30 * time.Second)
	for len(recovered) < len(rs) || acked.Load() < base+200 {
		if time.Now().After(deadline) {
			break
		}
		mu.Lock()
		for _, o := range ops {
			if o.err == nil && o.ans.Status == http.StatusOK && o.start.After(startDone) {
				if at, seen := recovered[o.replica]; !seen || o.end.Before(at) {
					recovered[o.replica] = o.end
				}
			}
		}
		mu.Unlock()
		time.Sleep(10 * time.Millisecond)
	}
	close(stop)
	wg.Wait()

	// The answers.
	var outage, before, after, unavailable int
	var maxLatency, maxOutageLatency time.Duration
	lateUnavailable := 0
	lastRecovery := startDone
	for _, at := range recovered {
		if at.After(lastRecovery) {
			lastRecovery = at
		}
	}
	for _, o := range ops {
		if o.err != nil {
			t.Fatalf("%s gave no answer (started %v after the stop began): %v", o.replica, o.start.Sub(stopBegin).Round(time.Millisecond), o.err)
		}
		lat := o.end.Sub(o.start)
		maxLatency = max(maxLatency, lat)
		if lat > latencyBound {
			t.Errorf("a request to %s took %v (started %v after the stop began), want under %v", o.replica, lat, o.start.Sub(stopBegin), latencyBound)
		}
		inOutage := o.start.After(stopDone) && o.end.Before(startBegin)
		if o.start.Before(startDone) && o.end.After(stopBegin) {
			maxOutageLatency = max(maxOutageLatency, lat)
		}
		switch {
		case o.end.Before(stopBegin):
			before++
		case o.start.After(startDone):
			after++
		}
		if o.ans.Status == http.StatusOK {
			if inOutage {
				t.Errorf("%s acknowledged a request made while the database was down: %v", o.replica, o.ans)
			}
			continue
		}
		unavailable++
		var env errorEnvelope
		if err := json.Unmarshal(o.ans.Body, &env); err != nil || o.ans.Status != http.StatusServiceUnavailable || env.Code != "ServiceUnavailable" ||
			env.RequestId == "" || env.HostId == "" || env.Message == "" || !strings.Contains(env.Recommend, "ServiceUnavailable") {
			t.Fatalf("%s answered %v (started %v after the stop began), want 503 with the ServiceUnavailable error body", o.replica, o.ans, o.start.Sub(stopBegin))
		}
		if inOutage {
			outage++
		}
		if o.start.After(lastRecovery.Add(2 * time.Second)) {
			lateUnavailable++
		}
	}
	if outage == 0 {
		t.Fatal("no request was answered while the database was down; the outage was not exercised")
	}
	for _, r := range rs {
		at, ok := recovered[r.Name]
		if !ok {
			t.Fatalf("replica %s never succeeded again within 30 s of the restart", r.Name)
		}
		if d := at.Sub(startDone); d > 10*time.Second {
			t.Errorf("replica %s first succeeded %v after the restart, want within seconds", r.Name, d)
		}
	}
	if lateUnavailable > 0 {
		t.Errorf("%d requests made more than 2 s after both replicas recovered were answered 503", lateUnavailable)
	}

	// No acknowledged write lost; 503s all-or-nothing.
	byToken := map[string]string{}
	ackedWrites, retried503, committed503 := 0, 0, 0
	judge := rs[0]
	for _, o := range ops {
		if !o.write {
			continue
		}
		var d BuyData
		a := judge.mustCall(t, buyParams(o.token))
		ok(t, "CreateInstance retried after the restart", a, &d)
		if o.ans.Status == http.StatusOK {
			ackedWrites++
			var first BuyData
			ok(t, "CreateInstance", o.ans, &first)
			if first.Data != d.Data {
				t.Fatalf("token %s: acknowledged %+v before/after the outage, %+v now", o.token, first.Data, d.Data)
			}
		} else {
			retried503++
			if evs := judge.events(t, d.Data.InstanceId, "created"); len(evs) == 1 && evs[0].RequestId != a.RequestID {
				committed503++ // the 503 answered a purchase that had committed
			}
		}
		byToken[o.token] = d.Data.InstanceId
	}
	ids := make([]string, 0, len(byToken))
	for _, id := range byToken {
		ids = append(ids, id)
	}
	details := rs[1].describeAll(t, ids)
	for token, id := range byToken {
		if in, found := details[id]; !found || in.Ip == "" {
			t.Fatalf("token %s: instance %s listed %v with %+v, want it whole", token, id, found, in)
		}
		if evs := judge.events(t, id, "created"); len(evs) != 1 {
			t.Fatalf("token %s: instance %s has %d created events, want 1", token, id, len(evs))
		}
	}
	if live := judge.liveIDs(t); len(live) != len(byToken) {
		t.Fatalf("%d live instances, but %d tokens account for %d", len(live), len(byToken), len(byToken))
	}
	t.Logf("PostgreSQL stopped (pg_ctl stop -m %s: %v) for %v, started again (%v); %d requests: %d before, %d during the outage (all 503), %d after the restart; %d answered 503 in all; max latency %v (around the outage %v, bound %v); recovery after the restart: %s; %d acknowledged purchases all present, %d answered 503 completed by their token (%d of them had committed)",
		mode, stopDone.Sub(stopBegin).Round(time.Millisecond), startBegin.Sub(stopDone).Round(time.Millisecond), startDone.Sub(startBegin).Round(time.Millisecond),
		len(ops), before, outage, after, unavailable, maxLatency.Round(time.Millisecond), maxOutageLatency.Round(time.Millisecond), latencyBound,
		recoveries(recovered, startDone), ackedWrites, retried503, committed503)
}

func recoveries(at map[string]time.Time, from time.Time) string {
	var parts []string
	for name, t := range at {
		parts = append(parts, fmt.Sprintf("%s %v", name, t.Sub(from).Round(time.Millisecond)))
	}
	slices.Sort(parts)
	return strings.Join(parts, ", ")
}
