package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"moat/internal/store/postgres"
)

// The tests need a PostgreSQL server. They never skip without one: they
// fail, saying how to provide it.
const defaultDSN = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// baseDSN is the maintenance database the tests create their databases
// from (MOAT_TEST_POSTGRES).
func baseDSN() string {
	if v := os.Getenv("MOAT_TEST_POSTGRES"); v != "" {
		return v
	}
	return defaultDSN
}

// dsnFor is baseDSN pointed at another database.
func dsnFor(db string) string {
	base := baseDSN()
	if strings.HasPrefix(base, "postgres://") || strings.HasPrefix(base, "postgresql://") {
		u, err := url.Parse(base)
		if err == nil {
			u.Path = "/" + db
			return u.String()
		}
	}
	return base + " dbname=" + db
}

// admin runs a maintenance statement (CREATE/DROP DATABASE) on baseDSN.
func admin(ctx context.Context, sql string) error {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(cctx, baseDSN())
	if err != nil {
		return fmt.Errorf("PostgreSQL is not reachable at %s (set MOAT_TEST_POSTGRES to a server's URL, or start the local one: "+
			"pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start): %w", redacted(baseDSN()), err)
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(cctx, sql)
	return err
}

// redacted hides a URL's password.
func redacted(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		return u.Redacted()
	}
	return dsn
}

func randomName(prefix string) string {
	var b [6]byte
	rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// Every subtest gets a database of its own, copied from a template that
// was migrated once per test run: CREATE DATABASE … TEMPLATE costs tens of
// milliseconds, migrating each copy would cost more.
var template struct {
	once sync.Once
	name string
	err  error
}

func templateDB() (string, error) {
	template.once.Do(func() {
		ctx := context.Background()
		name := randomName("moat_test_tmpl_")
		if err := admin(ctx, "CREATE DATABASE "+name); err != nil {
			template.err = fmt.Errorf("create template database: %w", err)
			return
		}
		template.name = name
		if _, _, err := postgres.Migrate(ctx, dsnFor(name)); err != nil {
			template.err = fmt.Errorf("migrate template database: %w", err)
		}
	})
	return template.name, template.err
}

func TestMain(m *testing.M) {
	code := m.Run()
	if template.name != "" {
		if err := admin(context.Background(), "DROP DATABASE IF EXISTS "+template.name+" WITH (FORCE)"); err != nil {
			fmt.Fprintf(os.Stderr, "drop template database %s: %v\n", template.name, err)
		}
	}
	os.Exit(code)
}

// freshDB creates a uniquely named database, migrated unless empty is
// set, dropped when the test ends; it returns its DSN.
func freshDB(t testing.TB, empty bool) string {
	t.Helper()
	name := randomName("moat_test_")
	stmt := "CREATE DATABASE " + name
	if !empty {
		tmpl, err := templateDB()
		if err != nil {
			t.Fatal(err)
		}
		stmt += " TEMPLATE " + tmpl
	}
	if err := admin(context.Background(), stmt); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		if err := admin(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop test database %s: %v", name, err)
		}
	})
	return dsnFor(name)
}

// open opens a store on dsn, closed when the test ends.
func open(t testing.TB, dsn string, opt postgres.Options) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), dsn, opt)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// exec runs statements on the database at dsn, outside any store.
func exec(t testing.TB, dsn, sql string, args ...any) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// queryInt runs a one-number query on the database at dsn.
func queryInt(t testing.TB, dsn, sql string, args ...any) int64 {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int64
	if err := conn.QueryRow(ctx, sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}
