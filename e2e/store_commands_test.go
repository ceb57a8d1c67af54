package e2e

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	_ "github.com/mattn/go-sqlite3"

	"moat/internal/admin"
	"moat/internal/store/postgres"
	"moat/internal/store/sqlite"
)

// schemaVersion is the newest schema this moat knows for the store db.
func schemaVersion(db string) int {
	if storeOf(db) == storePostgres {
		return postgres.SchemaVersion()
	}
	return sqlite.SchemaVersion()
}

// storeExec runs a statement on the store db, outside any server.
func storeExec(t testing.TB, db, stmt string) {
	t.Helper()
	if storeOf(db) == storePostgres {
		pgQuery(t, db, stmt)
		return
	}
	h, err := sql.Open("sqlite3", "file:"+db+"?_busy_timeout=10000")
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if _, err := h.Exec(stmt); err != nil {
		t.Fatalf("%s: %v", stmt, err)
	}
}

// serveEnv is what a `moat serve` run by runMoat needs on either store.
func serveEnv() map[string]string {
	return map[string]string{
		"MOAT_ACCESS_KEY_ID":     testKeyID,
		"MOAT_ACCESS_KEY_SECRET": testKeySecret,
		"MOAT_MASTER_KEY":        e2eMasterKey,
	}
}

// serveRefused runs `moat serve` on db, which must refuse to start: it
// fails the test if the server got ready.
func serveRefused(t *testing.T, db string, args ...string) cliResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := moatCommand(ctx, t, append([]string{"serve", "--addr", "127.0.0.1:0", "--db", db}, args...)...)
	cmd.Dir = t.TempDir() // where a PostgreSQL store's ./moat-data would go
	for k, v := range serveEnv() {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stdout strings.Builder
	cmd.Stdout = &stdout
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var logs strings.Builder
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		logs.WriteString(sc.Text() + "\n")
		if strings.Contains(sc.Text(), `msg="moat ready"`) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("moat serve %v started on %s; it must refuse:\n%s", args, db, logs.String())
		}
	}
	cmd.Wait()
	return cliResult{stdout: stdout.String(), stderr: logs.String(), code: cmd.ProcessState.ExitCode()}
}

// TestMigrateCommand pins `moat migrate` on a fresh store: the first run
// applies every migration (schema 0 to the newest) and says so, a second
// finds nothing to do, and serve --no-migrate then starts on it. A
// PostgreSQL URL's password is masked in what migrate prints and never
// in serve's log.
func TestMigrateCommand(t *testing.T) {
	db := NewStore(t)
	n := schemaVersion(db)
	r := runMoat(t, nil, "migrate", "--db", db)
	cliWantExit(t, r, 0, "moat migrate on a fresh store")
	if want := fmt.Sprintf("moat migrate: %s migrated from schema version 0 to %d\n", db, n); r.stdout != want || r.stderr != "" {
		t.Fatalf("first moat migrate printed\nstdout %q\nstderr %q\nwant stdout %q", r.stdout, r.stderr, want)
	}
	r = runMoat(t, nil, "migrate", "--db", db)
	cliWantExit(t, r, 0, "moat migrate again")
	if want := fmt.Sprintf("moat migrate: %s is at schema version %d, the newest this moat knows; nothing to do\n", db, n); r.stdout != want || r.stderr != "" {
		t.Fatalf("second moat migrate printed\nstdout %q\nstderr %q\nwant stdout %q", r.stdout, r.stderr, want)
	}
	password := ""
	if storeOf(db) == storePostgres {
		// A URL's password is never printed: migrate and serve show it
		// masked. (The test server trusts local connections, so any
		// password is accepted.)
		u, err := url.Parse(db)
		if err != nil {
			t.Fatal(err)
		}
		if _, has := u.User.Password(); !has {
			password = "e2e-password-never-printed"
			u.User = url.UserPassword(u.User.Username(), password)
			db = u.String()
			r = runMoat(t, nil, "migrate", "--db", db)
			cliWantExit(t, r, 0, "moat migrate with a password in the URL")
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
			if want := fmt.Sprintf("moat migrate: %s is at schema version %d, the newest this moat knows; nothing to do\n", u, n); r.stdout != want {
				t.Fatalf("moat migrate with a password in the URL printed %q, want %q", r.stdout, want)
			}
		}
	}
	s := StartServer(t, WithStore(db), WithArgs("--no-migrate"))
	if password != "" && strings.Contains(s.Logs(), password) {
		t.Errorf("serve logged the password of --db:\n%s", s.Logs())
	}
	if !regexp.MustCompile(fmt.Sprintf(`(?m)msg="moat ready" .* schema=%d( |$)`, n)).MatchString(s.Logs()) {
		t.Fatalf("serve --no-migrate on a migrated store does not report schema %d:\n%s", n, s.Logs())
	}
	id := s.CreateInstances(t, admin.InstancesRequest{ExpireIn: "24h", Remark: "migrated"})[0].InstanceId
	if got := rawDescribeByIDs(t, s, []string{id}); got[id] != "migrated" {
		t.Fatalf("serve --no-migrate on a migrated store: DescribeInstances %v, want %s", got, id)
	}
}

// TestServeNoMigrateRefusesUnmigrated pins serve --no-migrate on a store
// that was never migrated: exit status 1 and a message that names `moat
// migrate`; the store is left unmigrated (moat migrate then goes from 0).
func TestServeNoMigrateRefusesUnmigrated(t *testing.T) {
	db := NewStore(t)
	r := serveRefused(t, db, "--no-migrate")
	cliWantExit(t, r, 1, "serve --no-migrate on an unmigrated store")
	n := schemaVersion(db)
	want := map[string]string{
		storeSQLite:   fmt.Sprintf("moat: open store %s: sqlite: database %s has schema version 0 and this moat needs %d; run `moat migrate --db %s` first (or start without --no-migrate)", db, db, n, db),
		storePostgres: fmt.Sprintf("moat: open store %s: postgres: database schema version 0 is older than this moat needs (%d); run `moat migrate` with the same --db first (or start without --no-migrate)", db, n),
	}[storeOf(db)]
	if last := lastLine(r.stderr); last != want {
		t.Fatalf("serve --no-migrate on an unmigrated store: last stderr line\n%s\nwant\n%s", last, want)
	}
	r = runMoat(t, nil, "migrate", "--db", db)
	cliWantExit(t, r, 0, "moat migrate after the refusal")
	if want := fmt.Sprintf("moat migrate: %s migrated from schema version 0 to %d\n", db, n); r.stdout != want {
		t.Fatalf("moat migrate after serve --no-migrate refused: %q, want %q (serve --no-migrate must not migrate)", r.stdout, want)
	}
}

// TestServeRefusesNewerSchema pins a store migrated by a newer moat (a
// schema_migrations row past this binary's newest): serve, serve
// --no-migrate and moat migrate all refuse it with exit status 1 and a
// message saying to upgrade moat, and nothing starts.
func TestServeRefusesNewerSchema(t *testing.T) {
	db := NewStore(t)
	cliWantExit(t, runMoat(t, nil, "migrate", "--db", db), 0, "moat migrate")
	n := schemaVersion(db)
	storeExec(t, db, fmt.Sprintf(`INSERT INTO schema_migrations (version, name, applied_ms) VALUES (%d, '%04d_from_the_future.sql', 0)`, n+1, n+1))
	newer := map[string]string{
		storeSQLite:   fmt.Sprintf("sqlite: database %s has schema version %d, newer than this moat knows (%d); upgrade moat", db, n+1, n),
		storePostgres: fmt.Sprintf("postgres: database schema version %d is newer than this moat knows (%d); upgrade moat", n+1, n),
	}[storeOf(db)]
	for _, args := range [][]string{nil, {"--no-migrate"}} {
		r := serveRefused(t, db, args...)
		cliWantExit(t, r, 1, fmt.Sprintf("serve %v on a newer schema", args))
		if last, want := lastLine(r.stderr), "moat: open store "+db+": "+newer; last != want {
			t.Errorf("serve %v on a newer schema: last stderr line\n%s\nwant\n%s", args, last, want)
		}
	}
	r := runMoat(t, nil, "migrate", "--db", db)
	cliWantExit(t, r, 1, "moat migrate on a newer schema")
	if last, want := lastLine(r.stderr), "moat: migrate "+db+": "+newer; last != want || r.stdout != "" {
		t.Errorf("moat migrate on a newer schema: stdout %q, last stderr line\n%s\nwant\n%s", r.stdout, last, want)
	}
}

// lastLine is the last non-empty line of s.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}

// TestBackupRefusesPostgres pins that `moat backup` copies only SQLite
// stores: a postgres:// --db is a usage error (exit status 2) that points
// to pg_dump, and nothing is written.
func TestBackupRefusesPostgres(t *testing.T) {
	to := filepath.Join(t.TempDir(), "backup.db")
	for _, db := range []string{"postgres://moat@db.example:5432/moat", "postgresql://moat:secret@db.example/moat?sslmode=require"} {
		r := runMoat(t, nil, "backup", "--db", db, "--to", to)
		cliWantExit(t, r, 2, "moat backup --db "+db)
		want := "moat: usage: moat backup copies SQLite stores; back up PostgreSQL with pg_dump or your provider's snapshots (docs/OPERATIONS.md)\n"
		if r.stderr != want || r.stdout != "" {
			t.Errorf("moat backup --db %s: stdout %q stderr %q, want stderr %q", db, r.stdout, r.stderr, want)
		}
	}
	if entries, err := filepath.Glob(to + "*"); err != nil || len(entries) != 0 {
		t.Fatalf("a refused backup wrote %v (%v)", entries, err)
	}
}

// TestSQLiteBackupUnderLoad pins `moat backup` of a running server's
// store while clients keep writing: the backup succeeds, and a server
// started on it (with the original's master key file) has every instance
// acknowledged before the backup started, opens the sealed AccessKey
// secrets, and refuses a request replayed from before the backup
// (SignatureNonceUsed): the nonce file is in the backup too.
func TestSQLiteBackupUnderLoad(t *testing.T) {
	s := StartServer(t, WithSQLite(filepath.Join(t.TempDir(), "moat.db")))
	const account, keyID, secret = "1555000000000007", "LTAIbackuptestkey0000001", "backup-secret-0123456789abcdef"
	s.CreateAccount(t, account, keyID, secret)
	hc := &http.Client{Timeout: time.Minute}
	r, before, err := rawCall(hc, s.Endpoint, "DescribeInstances", map[string]string{"PageNumber": "1", "PageSize": "10"})
	if err != nil || r.Status != http.StatusOK {
		t.Fatalf("DescribeInstances before the backup: %v %d %s", err, r.Status, r.Body)
	}

	// Writers: admin creations, and signed remark changes (each one a
	// nonce too), until told to stop.
	var (
		mu    sync.Mutex
		acked []string // instances whose creation was acknowledged
		errs  []error
		wg    sync.WaitGroup
	)
	stop := make(chan struct{})
	firstID := s.CreateInstances(t, admin.InstancesRequest{ExpireIn: "720h"})[0].InstanceId
	acked = append(acked, firstID)
	for w := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				out, err := s.Admin.CreateInstances(context.Background(), admin.InstancesRequest{Count: 2, ExpireIn: "720h", Remark: fmt.Sprintf("w%d-%d", w, i)})
				if err == nil {
					var r rawResponse
					r, _, err = rawCall(hc, s.Endpoint, "ModifyInstanceRemark", map[string]string{"InstanceId": out[0].InstanceId, "Remark": "remarked"})
					if err == nil && r.Status != http.StatusOK {
						err = fmt.Errorf("ModifyInstanceRemark: %d %s", r.Status, r.Body)
					}
				}
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
					mu.Unlock()
					return
				}
				for _, in := range out {
					acked = append(acked, in.InstanceId)
				}
				mu.Unlock()
			}
		}()
	}
	waitFor(t, "30 acknowledged creations", func() bool { mu.Lock(); defer mu.Unlock(); return len(acked) >= 30 || len(errs) > 0 })

	mu.Lock()
	ackedBefore := append([]string(nil), acked...)
	mu.Unlock()
	dst := filepath.Join(t.TempDir(), "restore", "moat.db")
	b := runMoat(t, nil, "backup", "--db", s.DB, "--to", dst)
	mu.Lock()
	during := len(acked) - len(ackedBefore)
	mu.Unlock()
	close(stop)
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("writers: %v", errors.Join(errs...))
	}
	cliWantExit(t, b, 0, "moat backup of a running server")
	t.Logf("backup of %d acknowledged instances, %d more acknowledged while it ran:\n%s", len(ackedBefore), during, b.stdout)
	for _, f := range []string{"", ".nonces", ".audit"} {
		line := regexp.MustCompile(`(?m)^moat backup: ` + regexp.QuoteMeta(s.DB+f) + ` -> ` + regexp.QuoteMeta(dst+f) + ` \([1-9][0-9]* pages, [1-9][0-9]* bytes\)$`)
		if !line.MatchString(b.stdout) {
			t.Errorf("moat backup did not report copying %s%s to %s%s:\n%s", s.DB, f, dst, f, b.stdout)
		}
	}
	if want := "; keep the master key (" + filepath.Join(s.Dir, "master.key") + ") with them\n"; !strings.HasPrefix(lastLine(b.stdout), "moat backup: 3 files in ") || !strings.HasSuffix(b.stdout, want) {
		t.Errorf("moat backup's last line %q, want \"moat backup: 3 files in …%s\"", lastLine(b.stdout), want)
	}

	restored := StartServer(t, WithSQLite(dst), WithArgs("--master-key-file", filepath.Join(s.Dir, "master.key")))
	got := rawDescribeByIDs(t, restored, ackedBefore)
	var missing []string
	for _, id := range ackedBefore {
		if _, ok := got[id]; !ok {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		t.Errorf("the restored server lacks %d of the %d instances acknowledged before the backup: %v", len(missing), len(ackedBefore), missing)
	}
	describeOK(t, restored, "the second account's key on the restored server", keyID, secret)
	r, err = rawPost(hc, restored.Endpoint, before)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != http.StatusBadRequest {
		t.Errorf("a request answered before the backup, replayed to the restored server: %d %s, want 400 SignatureNonceUsed", r.Status, r.Body)
	} else if e := rawCheckError(t, r); e.Code != "SignatureNonceUsed" {
		t.Errorf("a request answered before the backup, replayed to the restored server: %d %s, want 400 SignatureNonceUsed", r.Status, e.Code)
	}
	if r, _, err := rawCall(hc, restored.Endpoint, "DescribeInstances", map[string]string{"PageNumber": "1", "PageSize": "10"}); err != nil || r.Status != http.StatusOK {
		t.Errorf("a fresh request to the restored server: %v %d %s, want 200", err, r.Status, r.Body)
	}
}

// waitFor polls cond every 10 ms for up to a minute.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited a minute for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// metricLine matches one sample of the Prometheus text format.
var metricLine = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$`)

// scrape GETs /metrics without credentials and returns every sample as
// name{labels} → value.
func scrape(t *testing.T, s *Server) map[string]string {
	t.Helper()
	resp, err := http.Get(s.Endpoint + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Fatalf("GET /metrics without credentials: %d %q, want 200 text/plain; version=0.0.4:\n%s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	out := map[string]string{}
	for _, line := range strings.Split(string(body), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		m := metricLine.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("not a sample line: %q", line)
		}
		out[m[1]+m[2]] = m[3]
	}
	return out
}

// TestMetrics pins GET /metrics: it needs no credentials; requests are
// counted by action, code and HTTP status (an action moat does not serve
// as action="unknown", so clients cannot grow the label set), each with a
// latency histogram; store operations are timed; the lifecycle, store pool
// and nonce gauges are there with their values.
func TestMetrics(t *testing.T) {
	s := StartServer(t)
	hc := &http.Client{Timeout: time.Minute}
	call := func(action string, params map[string]string, status int) {
		t.Helper()
		r, _, err := rawCall(hc, s.Endpoint, action, params)
		if err != nil || r.Status != status {
			t.Fatalf("%s: %v %d %s, want %d", action, err, r.Status, r.Body, status)
		}
	}
	list := map[string]string{"PageNumber": "1", "PageSize": "10"}
	call("DescribeInstances", list, 200)
	call("DescribeInstances", list, 200)
	call("DescribeInstances", map[string]string{"PageNumber": "1", "PageSize": "1000"}, 400) // InvalidParameter
	call("ReleaseInstance", map[string]string{"InstanceId": "ddoscoo-cn-000000000000"}, 404)
	call("NoSuchAction", map[string]string{}, 404)
	call("AnotherMadeUpAction", map[string]string{}, 404)
	// A wrong signature is counted under the action it named.
	p := rawV1Params("DescribeInstances", map[string]string{"Format": "JSON", "PageNumber": "1", "PageSize": "10"})
	rawSignV1("POST", testKeySecret+"x", p)
	if r, err := rawPost(hc, s.Endpoint, rawEncodeParams(p, true)); err != nil || r.Status != 400 {
		t.Fatalf("DescribeInstances with a wrong secret: %v %d %s", err, r.Status, r.Body)
	}

	m := scrape(t, s)
	want := map[string]string{
		`moat_requests_total{action="ddoscoo:DescribeInstances",code="OK",status="200"}`:                    "2",
		`moat_requests_total{action="ddoscoo:DescribeInstances",code="InvalidParameter",status="400"}`:      "1",
		`moat_requests_total{action="ddoscoo:DescribeInstances",code="SignatureDoesNotMatch",status="400"}`: "1",
		`moat_requests_total{action="ddoscoo:ReleaseInstance",code="InstanceNotFound",status="404"}`:        "1",
		`moat_requests_total{action="unknown",code="InvalidAction.NotFound",status="404"}`:                  "2",
	}
	got := map[string]string{}
	for k, v := range m {
		if strings.HasPrefix(k, "moat_requests_total{") {
			got[k] = v
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("moat_requests_total samples:\n%v\nwant exactly\n%v", got, want)
	}
	for series, n := range map[string]string{
		`{action="ddoscoo:DescribeInstances",status="200"}`: "2",
		`{action="ddoscoo:DescribeInstances",status="400"}`: "2",
		`{action="ddoscoo:ReleaseInstance",status="404"}`:   "1",
		`{action="unknown",status="404"}`:                   "2",
	} {
		count := m["moat_request_duration_seconds_count"+series]
		inf := m["moat_request_duration_seconds_bucket"+strings.TrimSuffix(series, "}")+`,le="+Inf"}`]
		if count != n || inf != n || m["moat_request_duration_seconds_sum"+series] == "" {
			t.Errorf("moat_request_duration_seconds%s: count %q, +Inf bucket %q, want %s (and a sum)", series, count, inf, n)
		}
	}
	// Nonces: the four requests that got past the signature check.
	wantValues := map[string]string{
		`moat_store_operation_duration_seconds_count{op="use_nonce"}`: "4",
		`moat_nonces`:                              "4",
		`moat_lifecycle_lag_seconds`:               "0",
		`moat_lifecycle_transitions_applied_total`: "0",
	}
	for _, op := range []string{"update", "use_nonce", "instance_page", "instances", "listing_version", "access_key"} {
		wantValues[`moat_store_errors_total{op="`+op+`"}`] = "0"
	}
	wantValues["moat_store_pool_max_connections"] = map[string]string{storeSQLite: "4", storePostgres: "16"}[s.Store]
	for k, v := range wantValues {
		if m[k] != v {
			t.Errorf("%s = %q, want %s", k, m[k], v)
		}
	}
	for _, k := range []string{"moat_store_pool_in_use_connections", "moat_store_pool_idle_connections",
		`moat_store_operation_duration_seconds_count{op="update"}`, `moat_store_operation_duration_seconds_count{op="access_key"}`} {
		if _, ok := m[k]; !ok {
			t.Errorf("%s is missing", k)
		}
	}

	// The engine's work shows: one instance past its expiry is one
	// transition applied, and nothing is left overdue.
	s.CreateInstances(t, admin.InstancesRequest{ExpireIn: "1h"})
	s.Advance(t, "2h")
	m = scrape(t, s)
	if m["moat_lifecycle_transitions_applied_total"] != "1" || m["moat_lifecycle_lag_seconds"] != "0" {
		t.Errorf("after one expiry: transitions applied %q, lag %q; want 1 and 0", m["moat_lifecycle_transitions_applied_total"], m["moat_lifecycle_lag_seconds"])
	}
	// Scrapes are not requests of the API.
	if m[`moat_requests_total{action="ddoscoo:DescribeInstances",code="OK",status="200"}`] != "2" {
		t.Errorf("a scrape changed moat_requests_total: %v", m)
	}
}

// storeContents is everything a stopped server's store holds, as text to
// search: the bytes of every file beside a SQLite store, or every row of
// every table of a PostgreSQL database (bytea columns in hex).
func storeContents(t *testing.T, s *Server) string {
	t.Helper()
	var b strings.Builder
	if s.Store == storeSQLite {
		files, err := os.ReadDir(s.Dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			data, err := os.ReadFile(filepath.Join(s.Dir, f.Name()))
			if err != nil {
				t.Fatal(err)
			}
			b.Write(data)
		}
		return b.String()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.DB)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	rows, err := conn.Query(ctx, `SELECT tablename FROM pg_tables WHERE schemaname = current_schema()`)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	for _, table := range tables {
		var text string
		q := `SELECT COALESCE(string_agg(t::text, E'\n'), '') FROM ` + pgx.Identifier{table}.Sanitize() + ` t`
		if err := conn.QueryRow(ctx, q).Scan(&text); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		b.WriteString(text + "\n")
	}
	return b.String()
}

// TestSecretsSealedInStore pins that neither store holds an AccessKey
// secret or an STS token in plain text (nor in hex or base64): they are
// sealed with the master key. On PostgreSQL every row of every table is
// searched; on SQLite every file beside the database.
func TestSecretsSealedInStore(t *testing.T) {
	s := StartServer(t)
	u, _, secrets := keyMaterial(t, s)
	s.Stop()
	contents := storeContents(t, s)
	if !strings.Contains(contents, u.KeyID) {
		t.Fatalf("the %s store's contents do not hold the user's AccessKeyId %s: they were not read", s.Store, u.KeyID)
	}
	for name, secret := range secrets {
		for form, v := range map[string]string{"plain text": secret, "hex": hex.EncodeToString([]byte(secret)), "base64": base64.StdEncoding.EncodeToString([]byte(secret))} {
			if strings.Contains(contents, v) {
				t.Errorf("the %s store holds the %s in %s", s.Store, name, form)
			}
		}
	}
}
