// Package cluster proves that several `moat serve` processes on one
// PostgreSQL database behave as one service, and that they survive the
// faults a deployment meets: a replica killed with SIGKILL mid-work, and
// the database restarted under load.
//
// Every test creates a database of its own (CREATE DATABASE with a random
// name on the shared server, MOAT_TEST_POSTGRES or
// postgres://postgres@127.0.0.1:5432/postgres, dropped at cleanup) and
// starts replicas of the real binary on it, each on 127.0.0.1:0. The
// PostgreSQL restart test runs a private server of its own instead, so the
// shared one, which other packages' tests use at the same time, is never
// stopped. A missing PostgreSQL is a failure that says how to provide one,
// never a skip.
package cluster

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"moat/e2e/internal/proc"
	"moat/e2e/internal/sources"
	"moat/internal/acs"
	"moat/internal/admin"
)

// Fixed credentials of every test cluster. The master key must be the
// same for all replicas of one database.
const (
	keyID      = "LTAIclusterbootstrap0001"
	keySecret  = "cluster-secret-bootstrap-0123456789"
	adminToken = "cluster-admin-token"
	masterKey  = "6d6f61742d636c75737465722d746573742d6d61737465722d6b65792d303031"
)

var moatBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "moat-cluster-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "cluster:", err)
		os.Exit(1)
	}
	moatBin = filepath.Join(dir, "moat")
	build := exec.Command("go", "build", "-o", moatBin, "moat/cmd/moat")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "cluster: building moat:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// ---- databases ----

const defaultDSN = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// baseDSN is the maintenance database of the shared server
// (MOAT_TEST_POSTGRES), where test databases are created.
func baseDSN() string {
	if v := os.Getenv("MOAT_TEST_POSTGRES"); v != "" {
		return v
	}
	return defaultDSN
}

// dsnWith is the URL dsn pointed at database db, with extra parameters.
func dsnWith(t testing.TB, dsn, db string, params map[string]string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		t.Fatalf("MOAT_TEST_POSTGRES must be a postgres:// URL, got %q", dsn)
	}
	if db != "" {
		u.Path = "/" + db
	}
	q := u.Query()
	for k, v := range params {
		q.Set(k, v)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

func randomName(prefix string) string {
	var b [6]byte
	rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// pgConnect connects to dsn, failing the test with advice when the server
// is not there.
func pgConnect(t testing.TB, dsn string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("PostgreSQL is not reachable at %s (set MOAT_TEST_POSTGRES to a server's postgres:// URL, or start the local one: "+
			"pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start): %v", redacted(dsn), err)
	}
	return conn
}

func redacted(dsn string) string {
	if u, err := url.Parse(dsn); err == nil {
		return u.Redacted()
	}
	return "(unparsable DSN)"
}

// newDatabase creates an empty database with a random name on the server
// of base, dropped when the test ends (after its replicas stopped), and
// returns its URL.
func newDatabase(t testing.TB, base string) string {
	t.Helper()
	name := randomName("moat_cluster_")
	conn := pgConnect(t, base)
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		conn := pgConnect(t, base)
		defer conn.Close(context.Background())
		if _, err := conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	return dsnWith(t, base, name, nil)
}

// queryInt runs a one-number query.
func queryInt(t testing.TB, dsn, sql string, args ...any) int64 {
	t.Helper()
	conn := pgConnect(t, dsn)
	defer conn.Close(context.Background())
	var n int64
	if err := conn.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// ---- replicas ----

// Replica is one moat serve process of a cluster.
type Replica struct {
	t        testing.TB
	Name     string // also its PostgreSQL application_name, moat-<Name>
	DSN      string
	Addr     string
	Endpoint string
	Admin    *admin.Client
	RPC      *acs.Client
	args     []string

	mu     sync.Mutex
	cmd    *exec.Cmd
	logs   strings.Builder
	exited chan struct{}
}

// replicaDSN is the database URL a replica is given: its own
// application_name (so a test can find its connections in
// pg_stat_activity) and a pool small enough that three replicas and the
// other packages' tests fit in the shared server's max_connections.
func replicaDSN(t testing.TB, dsn, name string, poolMax int) string {
	params := map[string]string{"application_name": "moat-" + name}
	if poolMax > 0 {
		params["pool_max_conns"] = strconv.Itoa(poolMax)
	}
	return dsnWith(t, dsn, "", params)
}

// startReplicas starts n replicas (a, b, c, …) on dsn at the same time, as
// a deployment does: they migrate and bootstrap concurrently. They are
// stopped with SIGTERM when the test ends.
func startReplicas(t testing.TB, dsn string, n, poolMax int, args ...string) []*Replica {
	t.Helper()
	rs := make([]*Replica, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		name := string(rune('a' + i))
		rs[i] = &Replica{t: t, Name: name, DSN: replicaDSN(t, dsn, name, poolMax), args: args}
		wg.Go(func() { errs[i] = rs[i].start() })
	}
	wg.Wait()
	for _, r := range rs {
		t.Cleanup(r.Stop)
	}
	for i, err := range errs {
		if err != nil {
			t.Fatalf("replica %s: %v", rs[i].Name, err)
		}
	}
	return rs
}

var readyRE = regexp.MustCompile(`msg="moat ready" addr=(\S+)`)

func (r *Replica) start() error {
	dir, err := os.MkdirTemp("", "moat-cluster-replica-")
	if err != nil {
		return err
	}
	// A change to the binary's sources must rerun this suite (see
	// package sources).
	if err := sources.Open("../.."); err != nil {
		return err
	}
	cmd := proc.DieWithParent(exec.Command(moatBin, append([]string{"serve", "--addr", "127.0.0.1:0", "--db", r.DSN}, r.args...)...))
	cmd.Dir = dir // where moat-data/ would go; nothing is written there with MOAT_MASTER_KEY set
	cmd.Env = append(os.Environ(),
		"MOAT_ACCESS_KEY_ID="+keyID,
		"MOAT_ACCESS_KEY_SECRET="+keySecret,
		"MOAT_ADMIN_TOKEN="+adminToken,
		"MOAT_MASTER_KEY="+masterKey,
	)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start moat: %w", err)
	}
	exited := make(chan struct{})
	r.mu.Lock()
	r.cmd, r.exited = cmd, exited
	r.mu.Unlock()
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			r.mu.Lock()
			r.logs.WriteString(line + "\n")
			r.mu.Unlock()
			if m := readyRE.FindStringSubmatch(line); m != nil {
				select {
				case ready <- m[1]:
				default:
				}
			}
		}
		cmd.Wait()
		os.RemoveAll(dir)
		close(exited)
	}()
	select {
	case addr := <-ready:
		r.Addr = addr
		r.Endpoint = "http://" + addr
		r.Admin = &admin.Client{Endpoint: r.Endpoint, Token: adminToken, HTTP: &http.Client{Timeout: 2 * time.Minute}}
		r.RPC = &acs.Client{Endpoint: r.Endpoint, AccessKeyID: keyID, AccessKeySecret: keySecret, HTTP: rpcHTTP}
		return nil
	case <-exited:
		return fmt.Errorf("moat exited before it was ready:\n%s", r.Logs())
	case <-time.After(60 * time.Second):
		r.Kill()
		return fmt.Errorf("moat was not ready within 60s:\n%s", r.Logs())
	}
}

// rpcHTTP is the RPC clients' transport: enough idle connections per host
// for the storms, and a bound on every call so a hung server fails the
// test instead of stalling it.
var rpcHTTP = &http.Client{
	Timeout:   30 * time.Second,
	Transport: &http.Transport{MaxIdleConnsPerHost: 64, MaxConnsPerHost: 0, IdleConnTimeout: 30 * time.Second},
}

// Logs returns what the replica logged so far.
func (r *Replica) Logs() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.logs.String()
}

// Stop sends SIGTERM and waits for the process to exit.
func (r *Replica) Stop() {
	r.mu.Lock()
	cmd, exited := r.cmd, r.exited
	r.mu.Unlock()
	if !proc.Stop(cmd, exited, 30*time.Second) {
		r.t.Errorf("replica %s did not stop within 30s of SIGTERM", r.Name)
	}
}

// Kill sends SIGKILL (kill -9) and waits for the process to be gone.
func (r *Replica) Kill() {
	r.mu.Lock()
	cmd, exited := r.cmd, r.exited
	r.mu.Unlock()
	proc.Kill(cmd, exited)
}

// Applied sums the "lifecycle pass" lines of the replica's log: how many
// instances its engine changed.
func (r *Replica) Applied() int {
	n := 0
	for _, m := range appliedRE.FindAllStringSubmatch(r.Logs(), -1) {
		v, _ := strconv.Atoi(m[1])
		n += v
	}
	return n
}

var appliedRE = regexp.MustCompile(`msg="lifecycle pass" Applied=(\d+)`)

// ---- the admin API ----

func (r *Replica) createInstances(t testing.TB, req admin.InstancesRequest) []admin.Instance {
	t.Helper()
	out, err := r.Admin.CreateInstances(context.Background(), req)
	if err != nil {
		t.Fatalf("%s: create instances: %v", r.Name, err)
	}
	return out
}

func (r *Replica) advance(t testing.TB, d string) admin.ClockResponse {
	t.Helper()
	out, err := r.Admin.MoveClock(context.Background(), admin.ClockRequest{Advance: d})
	if err != nil {
		t.Fatalf("%s: advance clock by %s: %v", r.Name, d, err)
	}
	return out
}

func (r *Replica) clock(t testing.TB) admin.ClockResponse {
	t.Helper()
	out, err := r.Admin.Clock(context.Background())
	if err != nil {
		t.Fatalf("%s: read clock: %v", r.Name, err)
	}
	return out
}

// events lists one instance's events (or all of one type).
func (r *Replica) events(t testing.TB, instanceID, typ string) []admin.Event {
	t.Helper()
	out, err := r.Admin.Events(context.Background(), instanceID, typ)
	if err != nil {
		t.Fatalf("%s: events: %v", r.Name, err)
	}
	return out
}

// allEvents pages through every event of type typ with After and Limit.
func (r *Replica) allEvents(t testing.TB, typ string, page int) []admin.Event {
	t.Helper()
	var all []admin.Event
	after := int64(0)
	for {
		q := url.Values{"After": {strconv.FormatInt(after, 10)}, "Limit": {strconv.Itoa(page)}}
		if typ != "" {
			q.Set("Type", typ)
		}
		var out admin.EventsResponse
		if _, err := r.Admin.Do(context.Background(), http.MethodGet, "/_moat/v1/events?"+q.Encode(), nil, &out); err != nil {
			t.Fatalf("%s: events after %d: %v", r.Name, after, err)
		}
		all = append(all, out.Events...)
		if len(out.Events) < page {
			return all
		}
		after = out.Events[len(out.Events)-1].Seq
	}
}

// ---- RPC ----

// Answer is one RPC answer: its status, body and, for errors, the Alibaba
// error envelope's fields.
type Answer struct {
	Status    int
	Body      []byte
	RequestID string
	Code      string // the error Code; empty on success
	Message   string
	Latency   time.Duration
}

func (a Answer) String() string {
	return fmt.Sprintf("HTTP %d %s", a.Status, strings.TrimSpace(string(a.Body)))
}

// errorEnvelope is the gateway's error body.
type errorEnvelope struct {
	RequestId string
	HostId    string
	Code      string
	Message   string
	Recommend string
}

// ddoscooParams are a ddoscoo 2020-01-01 call's parameters (cn-hangzhou).
func ddoscooParams(action string, kv ...string) map[string]string {
	p := map[string]string{"Action": action, "Version": "2020-01-01", "RegionId": "cn-hangzhou", "Format": "JSON"}
	for i := 0; i+1 < len(kv); i += 2 {
		p[kv[i]] = kv[i+1]
	}
	return p
}

// bssParams are a BssOpenApi 2017-12-14 call's parameters.
func bssParams(action string, kv ...string) map[string]string {
	p := ddoscooParams(action, kv...)
	p["Version"] = "2017-12-14"
	return p
}

// buyParams is BSS CreateInstance of a ddoscoo instance for one month.
func buyParams(token string, kv ...string) map[string]string {
	return bssParams("CreateInstance", append([]string{"ProductCode", "ddos", "ProductType", "ddoscoo",
		"SubscriptionType", "Subscription", "Period", "1", "ClientToken", token}, kv...)...)
}

// call signs params and sends them to the replica. A transport error (no
// answer) is returned as such.
func (r *Replica) call(ctx context.Context, params map[string]string) (Answer, error) {
	start := time.Now()
	status, body, err := r.RPC.Call(ctx, params)
	a := Answer{Status: status, Body: body, Latency: time.Since(start)}
	if err != nil {
		return a, err
	}
	var env errorEnvelope
	if err := json.Unmarshal(body, &env); err != nil {
		return a, fmt.Errorf("%s %s: answer is not JSON: %v: %q", params["Action"], r.Name, err, body)
	}
	a.RequestID = env.RequestId
	if status != http.StatusOK {
		a.Code, a.Message = env.Code, env.Message
	}
	return a, nil
}

// mustCall is call that fails the test without an answer.
func (r *Replica) mustCall(t testing.TB, params map[string]string) Answer {
	t.Helper()
	a, err := r.call(context.Background(), params)
	if err != nil {
		t.Fatalf("%s %s: %v", params["Action"], r.Name, err)
	}
	return a
}

// ok fails the test unless a is a success, and decodes its body into out.
func ok(t testing.TB, what string, a Answer, out any) {
	t.Helper()
	if a.Status != http.StatusOK {
		t.Fatalf("%s = %v, want HTTP 200", what, a)
	}
	if out != nil {
		if err := json.Unmarshal(a.Body, out); err != nil {
			t.Fatalf("%s: decode %q: %v", what, a.Body, err)
		}
	}
}

// wantError fails the test unless a is the error code with its status.
func wantError(t testing.TB, what string, a Answer, status int, code string) {
	t.Helper()
	if a.Status != status || a.Code != code {
		t.Fatalf("%s = %v, want HTTP %d %s", what, a, status, code)
	}
}

// BuyData is BSS CreateInstance's Data.
type BuyData struct {
	Data struct {
		InstanceId string
		OrderId    string
	}
}

// WireInstance is an instance as DescribeInstances lists it.
type WireInstance struct {
	InstanceId string
	Ip         string
	Status     int
	Enabled    int
	ExpireTime int64
}

// DescribeData is DescribeInstances' body.
type DescribeData struct {
	TotalCount int64
	Instances  []WireInstance
}

// describe lists the given instances (at most 50) with DescribeInstances.
func (r *Replica) describe(t testing.TB, ids []string) map[string]WireInstance {
	t.Helper()
	kv := []string{"PageNumber", "1", "PageSize", "50"}
	for i, id := range ids {
		kv = append(kv, fmt.Sprintf("InstanceIds.%d", i+1), id)
	}
	var out DescribeData
	ok(t, "DescribeInstances on "+r.Name, r.mustCall(t, ddoscooParams("DescribeInstances", kv...)), &out)
	m := make(map[string]WireInstance, len(out.Instances))
	for _, in := range out.Instances {
		m[in.InstanceId] = in
	}
	return m
}

// describeAll is describe over any number of IDs.
func (r *Replica) describeAll(t testing.TB, ids []string) map[string]WireInstance {
	t.Helper()
	all := make(map[string]WireInstance, len(ids))
	for i := 0; i < len(ids); i += 50 {
		for k, v := range r.describe(t, ids[i:min(i+50, len(ids))]) {
			all[k] = v
		}
	}
	return all
}

// liveIDs lists every live instance of the bootstrap account in
// cn-hangzhou (DescribeInstanceIds has no paging).
func (r *Replica) liveIDs(t testing.TB) []string {
	t.Helper()
	var out struct {
		InstanceIds []struct{ InstanceId string }
	}
	ok(t, "DescribeInstanceIds on "+r.Name, r.mustCall(t, ddoscooParams("DescribeInstanceIds")), &out)
	ids := make([]string, 0, len(out.InstanceIds))
	for _, x := range out.InstanceIds {
		ids = append(ids, x.InstanceId)
	}
	return ids
}

// totalCount is DescribeInstances' unfiltered TotalCount (the store's
// per-account counter).
func (r *Replica) totalCount(t testing.TB) int64 {
	t.Helper()
	var out DescribeData
	ok(t, "DescribeInstances on "+r.Name, r.mustCall(t, ddoscooParams("DescribeInstances", "PageNumber", "1", "PageSize", "1")), &out)
	return out.TotalCount
}

// status is DescribeInstanceStatus: 1 normal, 2 expired, 4 released.
func (r *Replica) status(t testing.TB, id string) int {
	t.Helper()
	var out struct{ InstanceStatus int }
	ok(t, "DescribeInstanceStatus("+id+") on "+r.Name, r.mustCall(t, ddoscooParams("DescribeInstanceStatus", "InstanceId", id, "ProductType", "1")), &out)
	return out.InstanceStatus
}

// eventTypes lists the types of events in order.
func eventTypes(evs []admin.Event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.Type
	}
	return out
}
