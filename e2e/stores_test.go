package e2e

// The two passes (docs/TESTING.md). `go test ./e2e/` runs the whole suite
// twice: TestMain runs it on SQLite, then runs this same test binary again
// with MOAT_E2E_STORE=postgres, where every server gets a PostgreSQL
// database of its own. MOAT_E2E_STORE=sqlite or =postgres runs one pass.
//
// A test is store-agnostic unless its name starts with TestSQLite: those
// pin what only the SQLite store has (its files, `moat backup`), always run
// on SQLite, and run once, in the SQLite pass (the PostgreSQL pass leaves
// them out with -test.skip). WithSQLite is refused in any other test, and
// a store-agnostic test asks NewStore for a store it prepares itself.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"moat/e2e/internal/proc"
	"moat/e2e/internal/sources"
)

const (
	storeSQLite   = "sqlite"
	storePostgres = "postgres"

	// sqliteOnlyPrefix starts the name of every SQLite-specific test.
	sqliteOnlyPrefix = "TestSQLite"

	// defaultPostgres is the maintenance database the PostgreSQL pass
	// creates its databases from, unless MOAT_TEST_POSTGRES names another
	// (the same variable as internal/store/postgres's tests).
	defaultPostgres = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

	startPostgres = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"
)

// passStore is the store this pass's servers run on.
var passStore = storeSQLite

// e2eMasterKey is the MOAT_MASTER_KEY of every PostgreSQL-pass server (a
// PostgreSQL store needs one key shared by all replicas; serve refuses to
// start without it).
var e2eMasterKey = strings.Repeat("5e", 32)

// testMain builds the binary (or takes the parent pass's) and runs the
// passes MOAT_E2E_STORE asks for: both when it is unset.
func testMain(m *testing.M) int {
	pass := os.Getenv("MOAT_E2E_STORE")
	if pass != "" && pass != storeSQLite && pass != storePostgres {
		fmt.Fprintf(os.Stderr, "e2e: MOAT_E2E_STORE=%q: want sqlite, postgres, or unset for both passes\n", pass)
		return 2
	}
	// The PostgreSQL pass started by the SQLite pass reuses its binary.
	if bin := os.Getenv("MOAT_E2E_BIN"); bin != "" {
		moatBin = bin
	} else {
		dir, err := os.MkdirTemp("", "moat-e2e-bin-")
		if err != nil {
			fmt.Fprintln(os.Stderr, "e2e:", err)
			return 1
		}
		defer os.RemoveAll(dir)
		moatBin = filepath.Join(dir, "moat")
		build := exec.Command("go", "build", "-o", moatBin, "moat/cmd/moat")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "e2e: building moat:", err)
			return 1
		}
	}
	switch pass {
	case storeSQLite:
		return m.Run()
	case storePostgres:
		return postgresPass(m)
	}

	fmt.Println("=== e2e pass 1/2: SQLite store (MOAT_E2E_STORE=sqlite)")
	start := time.Now()
	code := m.Run()
	sqliteTook := time.Since(start).Round(100 * time.Millisecond)
	fmt.Printf("=== e2e pass 1/2: SQLite store: %s in %s\n", verdict(code), sqliteTook)

	fmt.Printf("=== e2e pass 2/2: PostgreSQL store (MOAT_E2E_STORE=postgres, %s; %s* tests ran in pass 1 only)\n",
		redactedDSN(postgresBase()), sqliteOnlyPrefix)
	start = time.Now()
	pgCode := rerun(storePostgres)
	pgTook := time.Since(start).Round(100 * time.Millisecond)
	fmt.Printf("=== e2e pass 2/2: PostgreSQL store: %s in %s\n", verdict(pgCode), pgTook)
	fmt.Printf("=== e2e: SQLite %s (%s), PostgreSQL %s (%s)\n", verdict(code), sqliteTook, verdict(pgCode), pgTook)
	if code != 0 {
		return code
	}
	return pgCode
}

// moatCommand is an exec.Cmd of the moat binary. The first one also opens
// every file the binary is built from, so that a cached result is not
// reused after a change to it (see package sources).
func moatCommand(ctx context.Context, t testing.TB, args ...string) *exec.Cmd {
	t.Helper()
	if err := sources.Open(".."); err != nil {
		t.Fatal(err)
	}
	return proc.DieWithParent(exec.CommandContext(ctx, moatBin, args...))
}

func verdict(code int) string {
	if code == 0 {
		return "ok"
	}
	return "FAIL"
}

// postgresPass runs the suite with every server on a PostgreSQL database
// of its own, leaving out the SQLite-specific tests. An unreachable
// PostgreSQL fails the pass: it is never skipped.
func postgresPass(m *testing.M) int {
	flag.Parse()
	skip := flag.Lookup("test.skip")
	switch user := skip.Value.String(); {
	case user == "":
		skip.Value.Set("^" + sqliteOnlyPrefix)
	case strings.Contains(user, "/"):
		fmt.Fprintf(os.Stderr, "e2e: -skip %q names subtests, which the PostgreSQL pass cannot combine with its own -skip ^%s; run the passes separately (MOAT_E2E_STORE=sqlite, MOAT_E2E_STORE=postgres)\n", user, sqliteOnlyPrefix)
		return 2
	default:
		skip.Value.Set("^" + sqliteOnlyPrefix + "|" + user)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := pgExec(ctx, "SELECT 1"); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: FAIL: the PostgreSQL pass cannot run: %v\n", err)
		fmt.Println("FAIL")
		return 1
	}
	passStore = storePostgres
	pgDatabases.start()
	code := m.Run()
	if err := pgDatabases.finish(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: FAIL: %v\n", err)
		return 1
	}
	return code
}

// rerun runs this test binary again, with the same flags, for one pass,
// its output streamed into this one's, and returns its exit status.
func rerun(pass string) int {
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: the test binary:", err)
		return 1
	}
	cmd := exec.Command(self, rerunArgs(os.Args[1:])...)
	cmd.Env = append(os.Environ(), "MOAT_E2E_STORE="+pass, "MOAT_E2E_BIN="+moatBin)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	err = cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit) && exit.ExitCode() > 0:
		return exit.ExitCode()
	default:
		fmt.Fprintf(os.Stderr, "e2e: the %s pass: %v\n", pass, err)
		return 1
	}
}

// rerunArgs drops the flags that name files this process writes (go
// test's cache log, profiles): the second pass must not overwrite them.
func rerunArgs(args []string) []string {
	own := []string{"test.testlogfile", "test.coverprofile", "test.cpuprofile", "test.memprofile",
		"test.blockprofile", "test.mutexprofile", "test.trace"}
	var out []string
	for i := 0; i < len(args); i++ {
		name, _, hasValue := strings.Cut(strings.TrimLeft(args[i], "-"), "=")
		if !strings.HasPrefix(args[i], "-") || !slices.Contains(own, name) {
			out = append(out, args[i])
			continue
		}
		if !hasValue {
			i++ // "-test.trace FILE"
		}
	}
	return out
}

// storeOf is the store a --db value names.
func storeOf(db string) string {
	if strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://") {
		return storePostgres
	}
	return storeSQLite
}

// testStore is the store t's servers run on: SQLite for a TestSQLite…
// test, else this pass's.
func testStore(t testing.TB) string {
	if strings.HasPrefix(t.Name(), sqliteOnlyPrefix) {
		return storeSQLite
	}
	return passStore
}

// NewStore returns the --db value of a fresh, empty store of t's kind,
// removed when t ends: an empty SQLite file (0 bytes) in a temporary
// directory, or a new PostgreSQL database. Nothing has migrated it.
func NewStore(t testing.TB) string {
	t.Helper()
	db := newDB(t)
	if storeOf(db) == storeSQLite {
		if err := os.WriteFile(db, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return db
}

// newDB is StartServer's store: a SQLite path that does not exist yet (the
// server creates it), or a new PostgreSQL database.
func newDB(t testing.TB) string {
	t.Helper()
	if testStore(t) == storePostgres {
		return newPostgresDB(t)
	}
	return filepath.Join(t.TempDir(), "moat.db")
}

// postgresBase is the maintenance database's URL.
func postgresBase() string {
	if v := os.Getenv("MOAT_TEST_POSTGRES"); v != "" {
		return v
	}
	return defaultPostgres
}

// postgresDSN is postgresBase pointed at another database.
func postgresDSN(db string) string {
	u, err := url.Parse(postgresBase())
	if err != nil {
		return postgresBase()
	}
	u.Path = "/" + db
	return u.String()
}

func redactedDSN(dsn string) string {
	if u, err := url.Parse(dsn); err == nil {
		return u.Redacted()
	}
	return "(unparsable MOAT_TEST_POSTGRES)"
}

// pgExec runs one statement on the maintenance database.
func pgExec(ctx context.Context, sql string) error {
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(cctx, postgresBase())
	if err != nil {
		return fmt.Errorf("PostgreSQL is not reachable at %s: %w\n"+
			"Start the local server with\n\t%s\nor set MOAT_TEST_POSTGRES to a server's URL "+
			"(MOAT_E2E_STORE=sqlite runs only the SQLite pass)", redactedDSN(postgresBase()), err, startPostgres)
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(cctx, sql)
	return err
}

// newPostgresDB returns the URL of an empty database of t's own, dropped
// when t ends (after the servers on it have stopped).
func newPostgresDB(t testing.TB) string {
	t.Helper()
	name, err := pgDatabases.take()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pgDatabases.drop(name) })
	return postgresDSN(name)
}

// pgDatabases makes the PostgreSQL pass's databases. CREATE DATABASE and
// DROP DATABASE take 0.1-1 s each on this 2-core machine, more than most
// tests: a goroutine creates the next test's database while a test runs,
// and drops run in the background (the pass waits for them at its end).
// Every database is still created for one test and dropped after it.
var pgDatabases = &pgDBMaker{}

type pgDBMaker struct {
	once  sync.Once
	ready chan pgDB
	quit  chan struct{}
	done  chan struct{}

	dropping sync.WaitGroup
	dropSem  chan struct{}
	mu       sync.Mutex
	errs     []error
}

type pgDB struct {
	name string
	err  error
}

func (p *pgDBMaker) start() {
	p.once.Do(func() {
		p.ready = make(chan pgDB, 1)
		p.quit = make(chan struct{})
		p.done = make(chan struct{})
		p.dropSem = make(chan struct{}, 1)
		go p.run()
	})
}

// run creates databases ahead: one waiting in ready, one being offered.
func (p *pgDBMaker) run() {
	defer close(p.done)
	for {
		var b [6]byte
		rand.Read(b[:])
		db := pgDB{name: "e2e_" + hex.EncodeToString(b[:])}
		if err := pgExec(context.Background(), "CREATE DATABASE "+db.name); err != nil {
			db = pgDB{err: fmt.Errorf("create database %s: %w", db.name, err)}
		}
		select {
		case p.ready <- db:
		case <-p.quit:
			if db.err == nil {
				p.drop(db.name)
			}
			return
		}
	}
}

// take returns the name of a new, empty database.
func (p *pgDBMaker) take() (string, error) {
	p.start()
	db := <-p.ready
	return db.name, db.err
}

// drop drops a database in the background, one drop at a time.
func (p *pgDBMaker) drop(name string) {
	p.dropping.Add(1)
	go func() {
		defer p.dropping.Done()
		p.dropSem <- struct{}{}
		defer func() { <-p.dropSem }()
		if err := pgExec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			p.mu.Lock()
			p.errs = append(p.errs, fmt.Errorf("drop database %s: %w", name, err))
			p.mu.Unlock()
		}
	}()
}

// finish stops making databases, drops the unused ones, waits for every
// drop and returns what failed.
func (p *pgDBMaker) finish() error {
	if p.quit == nil {
		return nil
	}
	close(p.quit)
	<-p.done
	select {
	case db := <-p.ready:
		if db.err == nil {
			p.drop(db.name)
		}
	default:
	}
	p.dropping.Wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	return errors.Join(p.errs...)
}

// pgQuery runs statements on the database at dsn, outside any server.
func pgQuery(t testing.TB, dsn, sql string, args ...any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}
