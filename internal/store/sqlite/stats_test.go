package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestPoolStatsAndNonceCount(t *testing.T) {
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "m.db"), Options{Readers: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, _, maxOpen := s.PoolStats(); maxOpen != 3 {
		t.Errorf("PoolStats max = %d, want 3", maxOpen)
	}
	exp := time.Now().Add(time.Hour)
	for i := range 50 {
		if fresh, err := s.UseNonce(context.Background(), "k", fmt.Sprint(i), exp); err != nil || !fresh {
			t.Fatalf("UseNonce %d: %v %v", i, fresh, err)
		}
	}
	s.UseNonce(context.Background(), "k", "0", exp) // used: not counted twice
	if n, err := s.NonceCount(context.Background()); err != nil || n != 50 {
		t.Fatalf("NonceCount = %d, %v; want 50", n, err)
	}
}

func TestMigrateExplicitly(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "m.db")
	if _, _, err := Migrate(ctx, path); err == nil {
		t.Fatal("Migrate of a missing file succeeded; want an error (it would create an empty store)")
	}
	s, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	from, to, err := Migrate(ctx, path)
	if err != nil || from != SchemaVersion() || to != SchemaVersion() {
		t.Fatalf("Migrate of a current store = %d, %d, %v; want %d, %d, nil", from, to, err, SchemaVersion(), SchemaVersion())
	}
	// Take the store one migration back: NoMigrate refuses it, Migrate
	// brings it forward, and then NoMigrate opens it.
	s, err = Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.main.conn.ExecContext(ctx, `DELETE FROM schema_migrations WHERE version = ?`, SchemaVersion()); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if s, err := Open(ctx, path, Options{NoMigrate: true}); err == nil {
		s.Close()
		t.Fatal("NoMigrate opened a store one schema version behind")
	} else if !strings.Contains(err.Error(), "moat migrate") {
		t.Errorf("NoMigrate error %q does not say to run moat migrate", err)
	}
	// Put the bookkeeping back (the migration's tables are still there):
	// NoMigrate opens a current store.
	db, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO schema_migrations(version, name, applied_ms) VALUES (?, 'back', 0)`, SchemaVersion()); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if s, err := Open(ctx, path, Options{NoMigrate: true}); err != nil {
		t.Fatalf("NoMigrate on a current store: %v", err)
	} else {
		s.Close()
	}
	// A newer schema is refused by Migrate and by Open.
	db, _ = sql.Open("sqlite3", path)
	db.Exec(`INSERT INTO schema_migrations(version, name, applied_ms) VALUES (?, 'future', 0)`, SchemaVersion()+1)
	db.Close()
	if _, _, err := Migrate(ctx, path); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Errorf("Migrate of a newer schema: %v, want a refusal", err)
	}
}
