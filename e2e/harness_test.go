// Package e2e drives the real moat binary, started on 127.0.0.1:0, with the
// official Alibaba Cloud clients (see ../../shared/reference/real-clients.md
// in the steering repo, and docs/TESTING.md): sdk-go v1, the generated v3
// client, darabonba with signature v2, tea-rpc (the Terraform provider's
// client), Node's @alicloud/pop-core, and raw HTTP. The suite runs twice,
// on the SQLite store and on PostgreSQL (stores_test.go).
package e2e

import (
	"bufio"
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"moat/e2e/internal/proc"
	"moat/internal/admin"
)

// Fixed credentials of the bootstrap account in every test server.
const (
	testKeyID     = "LTAItestbootstrapkey0001"
	testKeySecret = "testsecret-bootstrap-0123456789"
	adminToken    = "test-admin-token"
)

var moatBin string

// TestMain builds the binary and runs the suite on SQLite, then on
// PostgreSQL (stores_test.go).
func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

// Server is a moat serve process.
type Server struct {
	t testing.TB
	// Store is the store it runs on: "sqlite" or "postgres".
	Store string
	// DB is its --db: the SQLite file, or the PostgreSQL database's URL.
	DB string
	// Dir is where it keeps the files beside its store (master.key, the
	// self-signed certificate): the SQLite file's directory, or ./moat-data
	// in the temporary working directory of a PostgreSQL server.
	Dir      string
	workDir  string
	sqlite   bool     // WithSQLite
	without  []string // WithoutEnv
	Addr     string   // host:port
	Endpoint string   // http://host:port
	Admin    *admin.Client
	args     []string
	env      []string

	mu     sync.Mutex
	cmd    *exec.Cmd
	logs   strings.Builder
	stdout *syncBuffer // the current process's stdout
	exited chan struct{}
}

// syncBuffer is an io.Writer that can be read while it is written.
type syncBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// ServerOption adjusts a server before it starts.
type ServerOption func(*Server)

// WithArgs appends serve flags.
func WithArgs(args ...string) ServerOption {
	return func(s *Server) { s.args = append(s.args, args...) }
}

// WithStore starts the server on a store the test made with NewStore.
func WithStore(db string) ServerOption {
	return func(s *Server) { s.DB = db }
}

// WithSQLite starts the server on the SQLite file at path (it need not
// exist), in both passes. Only a SQLite-specific test, named TestSQLite…,
// may use it: such a test runs once, in the SQLite pass.
func WithSQLite(path string) ServerOption {
	return func(s *Server) { s.DB, s.sqlite = path, true }
}

// WithoutEnv removes variables from the server's environment, e.g.
// MOAT_ADMIN_TOKEN to run without the admin API, or the bootstrap key pair
// to make the server generate one.
func WithoutEnv(names ...string) ServerOption {
	return func(s *Server) {
		s.without = append(s.without, names...)
		kept := s.env[:0:0]
		for _, kv := range s.env {
			name, _, _ := strings.Cut(kv, "=")
			if !slices.Contains(names, name) {
				kept = append(kept, kv)
			}
		}
		s.env = kept
	}
}

// StartServer starts moat serve on a free port with a fresh store of this
// pass (a SQLite file, or a PostgreSQL database of its own with the fixed
// MOAT_MASTER_KEY) and the test credentials, and stops it when the test
// ends.
func StartServer(t testing.TB, opts ...ServerOption) *Server {
	t.Helper()
	s := &Server{t: t}
	s.env = append(os.Environ(),
		"MOAT_ACCESS_KEY_ID="+testKeyID,
		"MOAT_ACCESS_KEY_SECRET="+testKeySecret,
		"MOAT_ADMIN_TOKEN="+adminToken,
	)
	for _, o := range opts {
		o(s)
	}
	want := testStore(t)
	switch {
	case s.sqlite && !strings.HasPrefix(t.Name(), sqliteOnlyPrefix):
		t.Fatalf("WithSQLite in %s: a test that needs SQLite is named %s… and runs once, in the SQLite pass (docs/TESTING.md)", t.Name(), sqliteOnlyPrefix)
	case s.DB == "":
		s.DB = newDB(t)
	case storeOf(s.DB) != want:
		t.Fatalf("%s starts a server on a %s store in the %s pass: use NewStore, or WithSQLite in a %s… test (docs/TESTING.md)", t.Name(), storeOf(s.DB), want, sqliteOnlyPrefix)
	}
	s.Store = storeOf(s.DB)
	if s.Store == storePostgres {
		// A PostgreSQL store keeps nothing beside it but what serve
		// writes to ./moat-data: keep that out of the source tree.
		s.workDir = t.TempDir()
		s.Dir = filepath.Join(s.workDir, "moat-data")
		if !slices.Contains(s.without, "MOAT_MASTER_KEY") {
			// First, so that an option's own MOAT_MASTER_KEY wins.
			s.env = append([]string{"MOAT_MASTER_KEY=" + e2eMasterKey}, s.env...)
		}
	} else {
		s.Dir = filepath.Dir(s.DB)
	}
	s.start()
	t.Cleanup(s.Stop)
	return s
}

var readyRE = regexp.MustCompile(`msg="moat ready" addr=(\S+)`)

func (s *Server) start() {
	s.t.Helper()
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--db", s.DB}, s.args...)
	cmd := moatCommand(context.Background(), s.t, args...)
	cmd.Env = s.env
	cmd.Dir = s.workDir
	stderr, err := cmd.StderrPipe()
	if err != nil {
		s.t.Fatal(err)
	}
	stdout := &syncBuffer{}
	cmd.Stdout = stdout
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("start moat: %v", err)
	}
	s.mu.Lock()
	s.cmd = cmd
	s.stdout = stdout
	s.exited = make(chan struct{})
	s.mu.Unlock()
	ready := make(chan string, 1)
	exited := s.exited
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			s.mu.Lock()
			s.logs.WriteString(line + "\n")
			s.mu.Unlock()
			if m := readyRE.FindStringSubmatch(line); m != nil {
				select {
				case ready <- m[1]:
				default:
				}
			}
		}
		cmd.Wait()
		close(exited)
	}()
	select {
	case addr := <-ready:
		s.Addr = addr
		s.Endpoint = "http://" + addr
		s.Admin = &admin.Client{Endpoint: s.Endpoint, Token: adminToken, HTTP: &http.Client{Timeout: 2 * time.Minute}}
	case <-exited:
		s.t.Fatalf("moat exited before it was ready:\n%s", s.Logs())
	case <-time.After(60 * time.Second):
		s.Kill()
		s.t.Fatalf("moat was not ready within 60s:\n%s", s.Logs())
	}
}

// Logs returns everything the server logged so far.
func (s *Server) Logs() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logs.String()
}

// Stdout returns what the current (or last) server process printed on
// stdout. It is complete only once the process has exited (Stop or Kill):
// stdout is a pipe of its own, not ordered with the log lines on stderr.
func (s *Server) Stdout() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stdout == nil {
		return ""
	}
	return s.stdout.String()
}

// Stop sends SIGTERM and waits for a clean exit.
func (s *Server) Stop() {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.mu.Unlock()
	if !proc.Stop(cmd, exited, 30*time.Second) {
		s.t.Errorf("moat did not stop within 30s of SIGTERM")
	}
}

// Kill sends SIGKILL (kill -9) and waits for the process to be gone.
func (s *Server) Kill() {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.mu.Unlock()
	proc.Kill(cmd, exited)
}

// Restart starts a new process on the same store (after Stop or Kill).
// The address changes.
func (s *Server) Restart() {
	s.t.Helper()
	s.mu.Lock()
	exited := s.exited
	s.mu.Unlock()
	select {
	case <-exited:
	default:
		// A second process on the same store would share it with the
		// first, which nothing would stop at the end of the test.
		s.t.Fatal("Restart of a server that still runs: Stop or Kill it first")
	}
	s.start()
}

// ExitCode is the exit status of a stopped server.
func (s *Server) ExitCode() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil || s.cmd.ProcessState == nil {
		return -1
	}
	return s.cmd.ProcessState.ExitCode()
}

// Host is the server's host:port, the endpoint the SDKs are given.
func (s *Server) Host() string { return s.Addr }

// CreateInstances creates instances through the admin API.
func (s *Server) CreateInstances(t testing.TB, req admin.InstancesRequest) []admin.Instance {
	t.Helper()
	out, err := s.Admin.CreateInstances(context.Background(), req)
	if err != nil {
		t.Fatalf("create instances: %v", err)
	}
	return out
}

// Advance moves server time and waits for the lifecycle engine.
func (s *Server) Advance(t testing.TB, d string) admin.ClockResponse {
	t.Helper()
	out, err := s.Admin.MoveClock(context.Background(), admin.ClockRequest{Advance: d})
	if err != nil {
		t.Fatalf("advance clock: %v", err)
	}
	return out
}

// Events lists events.
func (s *Server) Events(t testing.TB, instanceID, typ string) []admin.Event {
	t.Helper()
	out, err := s.Admin.Events(context.Background(), instanceID, typ)
	if err != nil {
		t.Fatalf("events: %v", err)
	}
	return out
}

// CreateAccount adds an account with one key pair.
func (s *Server) CreateAccount(t testing.TB, account, keyID, secret string) {
	t.Helper()
	if _, err := s.Admin.CreateAccount(context.Background(), admin.AccountRequest{AccountId: account, AccessKeyId: keyID, AccessKeySecret: secret}); err != nil {
		t.Fatalf("create account: %v", err)
	}
}
