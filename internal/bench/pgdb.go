package bench

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"moat/internal/bench/proc"
	"moat/internal/store/postgres"
)

// A PostgreSQL run (--db postgres://…) measures moat on a database of its
// own: the URL's database, when its name starts with moat_bench_ (created
// if missing, and kept, the way an SQLite --db file is reused), otherwise
// a fresh moat_bench_<random> database on the URL's server, dropped at the
// end unless --keep-db. moat serve needs one master key for every replica
// of a PostgreSQL store; the bench passes BenchMasterKey, fixed so that a
// kept database can be measured again.

// BenchMasterKey is the MOAT_MASTER_KEY of a PostgreSQL run's children:
// it seals only the bench's own fixed AccessKeys ("moat-bench-master-key-
// not-secret" in hex).
const BenchMasterKey = "6d6f61742d62656e63682d6d61737465722d6b65792d6e6f742d736563726574"

// benchDBPrefix marks a database the bench may create, reuse and drop.
const benchDBPrefix = "moat_bench_"

var benchDBName = regexp.MustCompile(`^moat_bench_[a-z0-9_]{1,40}$`)

// pgPlan is which database a PostgreSQL run uses.
type pgPlan struct {
	URL      string // the database moat serve opens
	Name     string
	Reuse    bool   // the URL named a moat_bench_ database: keep it
	AdminURL string // where CREATE/DROP DATABASE are sent
}

// planPostgres reads --db. fresh is the suffix of a new database's name.
func planPostgres(raw, fresh string) (pgPlan, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return pgPlan{}, fmt.Errorf("--db: not a URL: %w", err)
	}
	if !postgres.IsURL(raw) || u.Host == "" {
		return pgPlan{}, fmt.Errorf("--db %s: want postgres://user@host:port/database", u.Redacted())
	}
	name := strings.TrimPrefix(u.Path, "/")
	admin := *u
	q := admin.Query()
	for k := range q {
		// pgxpool's own settings are no server parameters: a plain
		// connection would send them to the server and fail.
		if strings.HasPrefix(k, "pool_") {
			q.Del(k)
		}
	}
	admin.RawQuery = q.Encode()
	if strings.HasPrefix(name, benchDBPrefix) {
		if !benchDBName.MatchString(name) {
			return pgPlan{}, fmt.Errorf("--db: database %q: a bench database is moat_bench_ and up to 40 of [a-z0-9_]", name)
		}
		admin.Path = "/postgres"
		return pgPlan{URL: raw, Name: name, Reuse: true, AdminURL: admin.String()}, nil
	}
	name = benchDBPrefix + fresh
	if !benchDBName.MatchString(name) {
		return pgPlan{}, fmt.Errorf("bad database name %q", name)
	}
	run := *u
	run.Path = "/" + name
	if u.Path == "" || u.Path == "/" {
		admin.Path = "/postgres"
	}
	return pgPlan{URL: run.String(), Name: name, AdminURL: admin.String()}, nil
}

// redactURL masks a URL's password for the log and the JSON.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "postgres://(unparsable URL)"
	}
	return u.Redacted()
}

// RedactArgs is a command line as the results record it: the password of
// a postgres:// argument (--db URL or --db=URL) is masked.
func RedactArgs(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		name, val, eq := strings.Cut(a, "=")
		switch {
		case postgres.IsURL(a):
			out[i] = redactURL(a)
		case eq && strings.HasPrefix(name, "-") && postgres.IsURL(val):
			out[i] = name + "=" + redactURL(val)
		default:
			out[i] = a
		}
	}
	return out
}

// PostgresInfo describes the PostgreSQL server of a run: its settings that
// decide what a durable write costs, and the database used.
type PostgresInfo struct {
	Database          string
	Created           bool // by this run
	Kept              bool // left in place at the end
	Version           string
	SynchronousCommit string
	Fsync             string
	SharedBuffers     string
	DataDirectory     string `json:",omitempty"`
	DataFileSystem    string `json:",omitempty"`
}

// preparePostgres creates the run's database when it is fresh (or a
// reused name that does not exist yet) and reads the server's settings.
func preparePostgres(ctx context.Context, p pgPlan) (*PostgresInfo, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, p.AdminURL)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", redactURL(p.AdminURL), err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	info := &PostgresInfo{Database: p.Name}
	exists := false
	if p.Reuse {
		if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, p.Name).Scan(&exists); err != nil {
			return nil, fmt.Errorf("look for database %s: %w", p.Name, err)
		}
	}
	if !exists {
		// The name matched benchDBName: safe to quote as is.
		if _, err := conn.Exec(ctx, `CREATE DATABASE "`+p.Name+`"`); err != nil {
			return nil, fmt.Errorf("create database %s: %w", p.Name, err)
		}
		info.Created = true
	}
	for _, s := range []struct {
		sql string
		out *string
	}{
		{`SHOW server_version`, &info.Version},
		{`SHOW synchronous_commit`, &info.SynchronousCommit},
		{`SHOW fsync`, &info.Fsync},
		{`SHOW shared_buffers`, &info.SharedBuffers},
		{`SHOW data_directory`, &info.DataDirectory}, // superusers and pg_read_all_settings only
	} {
		if err := conn.QueryRow(ctx, s.sql).Scan(s.out); err != nil && ctx.Err() != nil {
			return info, err
		}
	}
	if info.DataDirectory != "" {
		info.DataFileSystem = proc.FSType(info.DataDirectory)
	}
	return info, nil
}

// dropPostgres drops the run's database, closing any connection left.
func dropPostgres(ctx context.Context, p pgPlan) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, p.AdminURL)
	if err != nil {
		return fmt.Errorf("connect to %s: %w", redactURL(p.AdminURL), err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if !benchDBName.MatchString(p.Name) {
		return errors.New("refusing to drop a database that is not a bench database")
	}
	if _, err := conn.Exec(ctx, `DROP DATABASE IF EXISTS "`+p.Name+`" WITH (FORCE)`); err != nil {
		return fmt.Errorf("drop database %s: %w", p.Name, err)
	}
	return nil
}
