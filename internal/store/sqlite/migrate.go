package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"os"
	"time"

	"moat/internal/store/migrations"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// SchemaVersion is the newest migration embedded in this binary.
func SchemaVersion() int {
	ms, _ := loadMigrations()
	return migrations.Latest(ms)
}

type migration = migrations.Migration

func loadMigrations() ([]migration, error) {
	ms, err := migrations.Load(migrationFS, "migrations")
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	return ms, nil
}

// Migrate brings the database at path to the newest schema this binary
// knows and does nothing else (`moat migrate`); it reports the schema
// version before and after. It refuses a database whose schema is newer.
func Migrate(ctx context.Context, path string) (from, to int, err error) {
	if _, err := os.Stat(path); err != nil {
		return 0, 0, fmt.Errorf("sqlite: %w", err)
	}
	db, err := sql.Open("sqlite3", "file:"+path+"?"+dsnCommon+"&_txlock=immediate")
	if err != nil {
		return 0, 0, err
	}
	defer db.Close()
	c, err := db.Conn(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	defer c.Close()
	from, err = migrate(ctx, c, path, false)
	return from, SchemaVersion(), err
}

// migrate applies the migrations newer than the database's schema, or with
// noMigrate only checks that there are none; it returns the version found.
func migrate(ctx context.Context, c *sql.Conn, path string, noMigrate bool) (int, error) {
	ms, err := loadMigrations()
	if err != nil {
		return 0, err
	}
	if _, err := c.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_ms INTEGER NOT NULL)`); err != nil {
		return 0, fmt.Errorf("sqlite: migrations table: %w", err)
	}
	var cur int
	if err := c.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&cur); err != nil {
		return 0, fmt.Errorf("sqlite: read schema version: %w", err)
	}
	latest := SchemaVersion()
	switch {
	case cur > latest:
		return cur, fmt.Errorf("sqlite: database %s has schema version %d, newer than this moat knows (%d); upgrade moat", path, cur, latest)
	case cur < latest && noMigrate:
		return cur, fmt.Errorf("sqlite: database %s has schema version %d and this moat needs %d; run `moat migrate --db %s` first (or start without --no-migrate)", path, cur, latest, path)
	}
	for _, m := range ms {
		if m.Version <= cur {
			continue
		}
		if err := applyMigration(ctx, c, m); err != nil {
			return cur, err
		}
	}
	return cur, nil
}

func applyMigration(ctx context.Context, c *sql.Conn, m migration) error {
	if _, err := c.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return fmt.Errorf("sqlite: migration %s: %w", m.Name, err)
	}
	if _, err := c.ExecContext(ctx, m.SQL); err != nil {
		c.ExecContext(context.Background(), "ROLLBACK")
		return fmt.Errorf("sqlite: migration %s: %w", m.Name, err)
	}
	if _, err := c.ExecContext(ctx, `INSERT INTO schema_migrations(version, name, applied_ms) VALUES (?, ?, ?)`, m.Version, m.Name, time.Now().UnixMilli()); err != nil {
		c.ExecContext(context.Background(), "ROLLBACK")
		return fmt.Errorf("sqlite: migration %s: %w", m.Name, err)
	}
	if _, err := c.ExecContext(ctx, "COMMIT"); err != nil {
		c.ExecContext(context.Background(), "ROLLBACK")
		return fmt.Errorf("sqlite: migration %s: %w", m.Name, err)
	}
	return nil
}
