package postgres_test

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"moat/internal/moat"
	"moat/internal/store/postgres"
	"moat/internal/store/storetest"
)

// TestConformance runs the store suite. A database per subtest costs a
// CREATE DATABASE each (0.1-0.4 s on the shared 2-core machine, over 30 s
// for the suite under load), so the suite gets one database per run,
// emptied before each subtest: every table but schema_migrations cleared
// and every identity restarted, in one transaction, with the previous
// subtest's store already closed. Each subtest still starts from an empty,
// migrated store.
func TestConformance(t *testing.T) {
	dsn := freshDB(t, false)
	storetest.Run(t, func(t *testing.T) moat.Store {
		empty(t, dsn)
		return open(t, dsn, postgres.Options{MaxConns: 8})
	})
}

// empty clears every table of the database at dsn, as new.
func empty(t *testing.T, dsn string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename <> 'schema_migrations'`)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	rows, err = conn.Query(ctx, `SELECT table_name || ' ALTER COLUMN ' || column_name FROM information_schema.columns
		WHERE table_schema = current_schema() AND is_identity = 'YES'`)
	if err != nil {
		t.Fatal(err)
	}
	identities, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString("BEGIN;")
	for _, tb := range tables {
		b.WriteString("DELETE FROM " + tb + ";")
	}
	for _, id := range identities {
		b.WriteString("ALTER TABLE " + id + " RESTART;")
	}
	b.WriteString("COMMIT;")
	if _, err := conn.Exec(ctx, b.String()); err != nil {
		t.Fatalf("empty the database: %v", err)
	}
}
