package cluster

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"moat/e2e/internal/proc"
	"moat/internal/admin"
)

// `moat edge` beside an API replica on one PostgreSQL database: two edges
// on one host share each rule's address through SO_REUSEPORT, follow the
// rules and the clock the API process writes, and their statistics add
// up. Instance addresses come from loopback pools of 127.67.0.0/16, apart
// from the other packages' pools.

// Edge is one `moat edge` process.
type Edge struct {
	t    testing.TB
	Node string
	DSN  string

	mu      sync.Mutex
	cmd     *exec.Cmd
	logs    strings.Builder
	exited  chan struct{}
	started time.Time
}

// startEdge starts `moat edge --db dsn --node node` and waits until it
// says it is ready; it is stopped with SIGTERM when the test ends.
func startEdge(t testing.TB, dsn, node string) *Edge {
	t.Helper()
	e := &Edge{t: t, Node: node, DSN: replicaDSN(t, dsn, node, 4)}
	if err := e.start(); err != nil {
		t.Fatalf("edge %s: %v", node, err)
	}
	t.Cleanup(e.Stop)
	return e
}

func (e *Edge) start() error {
	cmd := proc.DieWithParent(exec.Command(moatBin, "edge", "--db", e.DSN, "--node", e.Node))
	cmd.Env = append(os.Environ(), "MOAT_MASTER_KEY="+masterKey)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return err
	}
	started := time.Now()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start moat edge: %w", err)
	}
	exited := make(chan struct{})
	e.mu.Lock()
	e.cmd, e.exited, e.started = cmd, exited, started
	e.mu.Unlock()
	ready := make(chan struct{}, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			e.mu.Lock()
			e.logs.WriteString(line + "\n")
			e.mu.Unlock()
			if strings.Contains(line, `msg="moat edge ready"`) {
				select {
				case ready <- struct{}{}:
				default:
				}
			}
		}
		cmd.Wait()
		close(exited)
	}()
	select {
	case <-ready:
		return nil
	case <-exited:
		return fmt.Errorf("moat edge exited before it was ready:\n%s", e.Logs())
	case <-time.After(60 * time.Second):
		e.Kill()
		return fmt.Errorf("moat edge was not ready within 60s:\n%s", e.Logs())
	}
}

// Logs returns what the edge logged so far.
func (e *Edge) Logs() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.logs.String()
}

// Stop sends SIGTERM and waits for the process to exit.
func (e *Edge) Stop() {
	e.mu.Lock()
	cmd, exited := e.cmd, e.exited
	e.mu.Unlock()
	if !proc.Stop(cmd, exited, 30*time.Second) {
		e.t.Errorf("edge %s did not stop within 30s of SIGTERM", e.Node)
	}
}

// Kill sends SIGKILL and waits until the process is gone (its sockets
// closed).
func (e *Edge) Kill() {
	e.mu.Lock()
	cmd, exited := e.cmd, e.exited
	e.mu.Unlock()
	proc.Kill(cmd, exited)
}

// Restart starts a new process after Kill or Stop, under a new node name
// so that its samples are told apart.
func (e *Edge) Restart(node string) {
	e.t.Helper()
	e.Node = node
	e.DSN = replicaDSN(e.t, e.DSN, node, 4)
	if err := e.start(); err != nil {
		e.t.Fatalf("edge %s: %v", node, err)
	}
}

// Listens reports whether the current process holds a TCP listening
// socket on addr (from /proc: its descriptors' socket inodes against the
// kernel's table of listeners).
func (e *Edge) Listens(addr *net.TCPAddr) bool {
	e.mu.Lock()
	pid := e.cmd.Process.Pid
	e.mu.Unlock()
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return false
	}
	inodes := map[string]bool{}
	for _, fd := range fds {
		l, err := os.Readlink(filepath.Join(fmt.Sprintf("/proc/%d/fd", pid), fd.Name()))
		if err == nil && strings.HasPrefix(l, "socket:[") {
			inodes[strings.TrimSuffix(strings.TrimPrefix(l, "socket:["), "]")] = true
		}
	}
	table, err := os.ReadFile(fmt.Sprintf("/proc/%d/net/tcp", pid))
	if err != nil {
		return false
	}
	ip := addr.IP.To4()
	// /proc/net/tcp writes an IPv4 address as its 32-bit value in host
	// (little-endian) order.
	want := strings.ToUpper(hex.EncodeToString([]byte{ip[3], ip[2], ip[1], ip[0]})) + fmt.Sprintf(":%04X", addr.Port)
	for _, line := range strings.Split(string(table), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) > 9 && f[1] == want && f[3] == "0A" && inodes[f[9]] {
			return true
		}
	}
	return false
}

// echoOrigin is an origin on 127.0.0.1 that echoes every connection until
// the client half-closes.
func echoOrigin(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.Copy(c, c)
			}()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port
}

// echo connects from src to addr, sends msg, half-closes and reports
// whether exactly msg came back.
func echo(src, addr string, msg []byte) bool {
	d := net.Dialer{Timeout: 2 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		return false
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	if _, err := c.Write(msg); err != nil {
		return false
	}
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		return false
	}
	got, err := io.ReadAll(c)
	return err == nil && bytes.Equal(got, msg)
}

// echoBurst makes n echo connections from src one after the other and
// counts those answered.
func echoBurst(src, addr string, n int) int {
	ok := 0
	for range n {
		if echo(src, addr, []byte("burst")) {
			ok++
		}
	}
	return ok
}

// within polls cond every 50 ms until it holds, failing the test when it
// still does not after d.
func within(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, d)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// flowTotals is DescribePortFlowList of one instance over [from, from+10
// min) as one point of 600 s: bytes and packets per second, rounded up.
type flowTotals struct{ InBps, OutBps, InPps, OutPps, AttackPps int64 }

func (r *Replica) flow(t testing.TB, id string, from time.Time) flowTotals {
	t.Helper()
	var out struct {
		PortFlowList []flowTotals
	}
	ok(t, "DescribePortFlowList", r.mustCall(t, ddoscooParams("DescribePortFlowList", "InstanceIds.1", id,
		"StartTime", strconv.FormatInt(from.Unix(), 10), "EndTime", strconv.FormatInt(from.Add(10*time.Minute).Unix(), 10), "Interval", "600")), &out)
	var sum flowTotals
	for _, p := range out.PortFlowList {
		sum.InBps += p.InBps
		sum.OutBps += p.OutBps
		sum.InPps += p.InPps
		sum.OutPps += p.OutPps
		sum.AttackPps += p.AttackPps
	}
	return sum
}

// nodeBytes is the bytes each node recorded for an instance.
func nodeBytes(t testing.TB, dsn, id string) map[string]int64 {
	t.Helper()
	conn := pgConnect(t, dsn)
	defer conn.Close(context.Background())
	rows, err := conn.Query(context.Background(), "SELECT node, sum(in_bytes)::bigint FROM traffic_samples WHERE instance_id = $1 GROUP BY node", id)
	if err != nil {
		t.Fatalf("read traffic samples: %v", err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var node string
		var n int64
		if err := rows.Scan(&node, &n); err != nil {
			t.Fatal(err)
		}
		out[node] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// serverTime is the API replica's clock.
func (r *Replica) serverTime(t testing.TB) time.Time {
	t.Helper()
	now, err := time.Parse(time.RFC3339Nano, r.clock(t).Now)
	if err != nil {
		t.Fatal(err)
	}
	return now
}

// TestEdgesForwardAndCount: a rule created through the API forwards
// within 2 s through two edges on one address; both edges carry
// connections and their bytes add up, exactly, in DescribePortFlowList;
// one edge killed with SIGKILL under load leaves new connections to the
// other, a restarted edge listens again within 2 s and takes connections,
// and no total read through the API ever goes down.
func TestEdgesForwardAndCount(t *testing.T) {
	dsn := newDatabase(t, baseDSN())
	api := startReplicas(t, dsn, 1, 4, "--ip-pool", "cn-hangzhou=127.67.1.0/24")[0]
	edges := []*Edge{startEdge(t, dsn, "edge-a"), startEdge(t, dsn, "edge-b")}
	in := api.createInstances(t, admin.InstancesRequest{RegionId: "cn-hangzhou", ExpireIn: "720h"})[0]
	origin := echoOrigin(t)
	front := net.JoinHostPort(in.Ip, "9000")
	frontAddr := &net.TCPAddr{IP: net.ParseIP(in.Ip), Port: 9000}
	from := api.serverTime(t).Truncate(time.Minute).Add(-5 * time.Minute)

	ok(t, "CreatePort", api.mustCall(t, ddoscooParams("CreatePort", "InstanceId", in.InstanceId, "FrontendProtocol", "tcp",
		"FrontendPort", "9000", "BackendPort", strconv.Itoa(origin), "RealServers.1", "127.0.0.1")), nil)
	within(t, 2*time.Second, "both edges listen on "+front, func() bool { return edges[0].Listens(frontAddr) && edges[1].Listens(frontAddr) })
	if !echo("127.0.0.2", front, []byte("first")) {
		t.Fatal("the rule does not forward through the edges")
	}

	// A known number of bytes, spread by the kernel over both edges: with
	// the first 5, 60 connections of 750 bytes and one of 70, 45075 bytes
	// (a multiple of 75, so one 600 s point reports it exactly in bit/s).
	msg := bytes.Repeat([]byte("0123456789abcde"), 50)
	for i := range 60 {
		if !echo("127.0.0.2", front, msg) {
			t.Fatalf("connection %d was not echoed", i)
		}
	}
	if !echo("127.0.0.2", front, bytes.Repeat([]byte("x"), 70)) {
		t.Fatal("the last connection was not echoed")
	}
	const total = 5 + 60*750 + 70
	within(t, 5*time.Second, "both edges' bytes add up in DescribePortFlowList", func() bool {
		f := api.flow(t, in.InstanceId, from)
		return f.InBps == 8*total/600 && f.OutBps == 8*total/600
	})
	byNode := nodeBytes(t, dsn, in.InstanceId)
	if len(byNode) != 2 || byNode["edge-a"] == 0 || byNode["edge-b"] == 0 || byNode["edge-a"]+byNode["edge-b"] != total {
		t.Fatalf("bytes per edge %v, want both edges to have some and %d in all", byNode, total)
	}

	// Load: one client loop of bounded connections, and a poll of the
	// API's totals that must never go down.
	var served, failed atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var once sync.Once
	stopLoad := func() {
		once.Do(func() { close(stop) })
		wg.Wait()
	}
	defer stopLoad()
	wg.Go(func() {
		for i := 0; i < 20000; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if echo("127.0.0.3", front, []byte("load")) {
				served.Add(1)
			} else {
				failed.Add(1)
			}
		}
	})
	var backwards atomic.Value
	wg.Go(func() {
		var last flowTotals
		for i := 0; i < 2000; i++ {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			a, err := api.call(context.Background(), ddoscooParams("DescribePortFlowList", "InstanceIds.1", in.InstanceId,
				"StartTime", strconv.FormatInt(from.Unix(), 10), "EndTime", strconv.FormatInt(from.Add(10*time.Minute).Unix(), 10), "Interval", "600"))
			if err != nil || a.Status != 200 {
				backwards.Store(fmt.Sprintf("DescribePortFlowList: %v %v", a, err))
				return
			}
			var out struct{ PortFlowList []flowTotals }
			if err := json.Unmarshal(a.Body, &out); err != nil || len(out.PortFlowList) != 1 {
				backwards.Store(fmt.Sprintf("DescribePortFlowList: %q", a.Body))
				return
			}
			f := out.PortFlowList[0]
			if f.InBps < last.InBps || f.OutBps < last.OutBps || f.InPps < last.InPps || f.OutPps < last.OutPps {
				backwards.Store(fmt.Sprintf("totals went from %+v to %+v", last, f))
				return
			}
			last = f
		}
	})
	within(t, 5*time.Second, "the load is served", func() bool { return served.Load() >= 20 })

	edges[1].Kill()
	// Once the killed edge is gone, every new connection reaches the
	// other one.
	for i := range 50 {
		if !echo("127.0.0.4", front, []byte("after kill")) {
			t.Fatalf("connection %d after the kill was not served", i)
		}
	}
	before := served.Load()
	within(t, 5*time.Second, "the load goes on through the remaining edge", func() bool { return served.Load() >= before+20 })

	edges[1].Restart("edge-b2")
	edges[1].mu.Lock()
	started := edges[1].started
	edges[1].mu.Unlock()
	for !edges[1].Listens(frontAddr) {
		if time.Since(started) > 2*time.Second {
			t.Fatalf("the restarted edge does not listen within 2 s of its start:\n%s", edges[1].Logs())
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The restarted edge takes its share of new connections.
	within(t, 10*time.Second, "the restarted edge serves connections", func() bool {
		echoBurst("127.0.0.5", front, 10)
		return nodeBytes(t, dsn, in.InstanceId)["edge-b2"] > 0
	})
	stopLoad()
	if v := backwards.Load(); v != nil {
		t.Fatal(v)
	}
	t.Logf("load: %d served, %d failed (connections cut by the kill)", served.Load(), failed.Load())
}

// TestEdgesFollowTheClock: a Slimit limit written through the API holds
// a flood on both edges; a clock move through the API process's admin API
// expires the instance, and within 2 s the edges let the same flood
// through unlimited.
func TestEdgesFollowTheClock(t *testing.T) {
	dsn := newDatabase(t, baseDSN())
	api := startReplicas(t, dsn, 1, 4, "--ip-pool", "cn-hangzhou=127.67.2.0/24")[0]
	edges := []*Edge{startEdge(t, dsn, "edge-a"), startEdge(t, dsn, "edge-b")}
	in := api.createInstances(t, admin.InstancesRequest{RegionId: "cn-hangzhou", ExpireIn: "720h"})[0]
	origin := echoOrigin(t)
	front := net.JoinHostPort(in.Ip, "9001")
	frontAddr := &net.TCPAddr{IP: net.ParseIP(in.Ip), Port: 9001}

	ok(t, "CreatePort", api.mustCall(t, ddoscooParams("CreatePort", "InstanceId", in.InstanceId, "FrontendProtocol", "tcp",
		"FrontendPort", "9001", "BackendPort", strconv.Itoa(origin), "RealServers.1", "127.0.0.1")), nil)
	within(t, 2*time.Second, "both edges listen on "+front, func() bool { return edges[0].Listens(frontAddr) && edges[1].Listens(frontAddr) })
	ok(t, "ModifyNetworkRuleAttribute", api.mustCall(t, ddoscooParams("ModifyNetworkRuleAttribute", "InstanceId", in.InstanceId,
		"ForwardProtocol", "tcp", "FrontendPort", "9001", "Config", `{"Slimit":{"Cps":5,"CpsEnable":1}}`)), nil)
	// Each edge holds the source to 5 new connections a second (a bucket
	// of one), so a burst of 30 gets about 2 through, plus the refill
	// while it runs.
	within(t, 5*time.Second, "a flood is cut to Slimit Cps on the edges", func() bool {
		n := echoBurst("127.0.0.6", front, 30)
		return n >= 1 && n <= 16
	})

	api.advance(t, "721h")
	start := time.Now()
	for echoBurst("127.0.0.6", front, 30) != 30 {
		if time.Since(start) > 2*time.Second {
			t.Fatalf("2 s after the clock moved past expiry the flood is still limited")
		}
	}
}
