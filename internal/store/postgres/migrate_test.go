package postgres_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"

	"moat/internal/moat"
	"moat/internal/store/postgres"
)

func TestSchemaVersion(t *testing.T) {
	if postgres.SchemaVersion() < 2 {
		t.Fatalf("SchemaVersion() = %d, want at least 2", postgres.SchemaVersion())
	}
}

// TestMigrateConcurrently: processes starting together on an empty
// database migrate it once, one after the other.
func TestMigrateConcurrently(t *testing.T) {
	dsn := freshDB(t, true)
	errs := make([]error, 4)
	together(len(errs), func(i int) { _, _, errs[i] = postgres.Migrate(context.Background(), dsn) })
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	if n := queryInt(t, dsn, `SELECT count(*) FROM schema_migrations`); n != int64(postgres.SchemaVersion()) {
		t.Errorf("schema_migrations has %d rows, want %d", n, postgres.SchemaVersion())
	}
	if n := queryInt(t, dsn, `SELECT max(version) FROM schema_migrations`); n != int64(postgres.SchemaVersion()) {
		t.Errorf("schema version %d, want %d", n, postgres.SchemaVersion())
	}
	// Opening (and migrating again) finds nothing to do.
	s := open(t, dsn, postgres.Options{})
	if err := s.Update(t.Context(), func(tx moat.Tx) error { return tx.SetSetting("k", "v") }); err != nil {
		t.Fatal(err)
	}
}

// TestOpenRefusesNewerSchema: a binary never runs on a schema it does not
// know, migrating or not, and says which versions disagree.
func TestOpenRefusesNewerSchema(t *testing.T) {
	dsn := freshDB(t, false)
	future := postgres.SchemaVersion() + 1
	exec(t, dsn, `INSERT INTO schema_migrations (version, name, applied_ms) VALUES ($1, '9999_future.sql', 0)`, future)
	for _, opt := range []postgres.Options{{}, {NoMigrate: true}} {
		s, err := postgres.Open(t.Context(), dsn, opt)
		if err == nil {
			s.Close()
			t.Fatalf("Open(%+v) of a newer schema succeeded", opt)
		}
		for _, v := range []int{future, postgres.SchemaVersion()} {
			if !strings.Contains(err.Error(), strconv.Itoa(v)) {
				t.Errorf("Open(%+v) error %q does not name version %d", opt, err, v)
			}
		}
	}
	if _, _, err := postgres.Migrate(t.Context(), dsn); err == nil || !strings.Contains(err.Error(), strconv.Itoa(future)) {
		t.Errorf("Migrate of a newer schema = %v, want an error naming %d", err, future)
	}
}

// TestNoMigrate: with NoMigrate, Open leaves an older schema alone and
// tells the operator to run `moat migrate`; after it, Open succeeds.
func TestNoMigrate(t *testing.T) {
	dsn := freshDB(t, true)
	check := func(when string, cur int) {
		t.Helper()
		s, err := postgres.Open(t.Context(), dsn, postgres.Options{NoMigrate: true})
		if err == nil {
			s.Close()
			t.Fatalf("%s: Open with NoMigrate succeeded", when)
		}
		msg := err.Error()
		if !strings.Contains(msg, "moat migrate") || !strings.Contains(msg, strconv.Itoa(cur)) || !strings.Contains(msg, strconv.Itoa(postgres.SchemaVersion())) {
			t.Errorf("%s: Open error %q; want both versions (%d, %d) and the advice to run `moat migrate`", when, msg, cur, postgres.SchemaVersion())
		}
	}
	check("empty database", 0)
	if n := queryInt(t, dsn, `SELECT count(*) FROM pg_tables WHERE schemaname = 'public'`); n != 0 {
		t.Errorf("Open with NoMigrate created %d tables", n)
	}
	if _, _, err := postgres.Migrate(t.Context(), dsn); err != nil {
		t.Fatal(err)
	}
	// One migration behind.
	exec(t, dsn, `DELETE FROM schema_migrations WHERE version = $1`, postgres.SchemaVersion())
	check("one version behind", postgres.SchemaVersion()-1)
	exec(t, dsn, `INSERT INTO schema_migrations (version, name, applied_ms) VALUES ($1, 'again', 0)`, postgres.SchemaVersion())
	s := open(t, dsn, postgres.Options{NoMigrate: true})
	if err := s.Update(t.Context(), func(tx moat.Tx) error { return tx.SetSetting("k", "v") }); err != nil {
		t.Fatal(err)
	}
}
