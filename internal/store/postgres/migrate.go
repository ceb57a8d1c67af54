package postgres

import (
	"context"
	"embed"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"moat/internal/moat"
	"moat/internal/store/migrations"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

type migration = migrations.Migration

func loadMigrations() ([]migration, error) {
	ms, err := migrations.Load(migrationFS, "migrations")
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	return ms, nil
}

// SchemaVersion is the newest migration embedded in this binary.
func SchemaVersion() int {
	ms, _ := loadMigrations()
	return migrations.Latest(ms)
}

// migrationLock is the session-level advisory lock key held while
// migrating, so that processes starting together migrate one at a time
// (the later ones find nothing left to do).
var migrationLock = lockKey("moat", "schema_migrations")

// Migrate brings the database at dsn to the newest schema this binary
// knows, and does nothing else (`moat migrate`); it reports the schema
// version before and after. Each migration is applied in a transaction of
// its own and recorded in schema_migrations. It refuses a database whose
// schema is newer than this binary knows.
func Migrate(ctx context.Context, dsn string) (from, to int, err error) {
	cfg, err := poolConfig(dsn, Options{}.withDefaults())
	if err != nil {
		return 0, 0, err
	}
	from, err = migrateConfig(ctx, cfg.ConnConfig)
	return from, SchemaVersion(), err
}

// migrateConfig migrates over a connection of its own, closed at the end:
// the advisory lock dies with it whatever happens.
func migrateConfig(ctx context.Context, cc *pgx.ConnConfig) (int, error) {
	conn, err := connect(ctx, cc)
	if err != nil {
		return 0, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, migrationLock); err != nil {
		return 0, dbErr(ctx, "migrate: lock", err)
	}
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT NOT NULL,
		applied_ms BIGINT NOT NULL)`); err != nil {
		return 0, dbErr(ctx, "migrate: schema_migrations", err)
	}
	cur, err := schemaVersion(ctx, conn)
	if err != nil {
		return 0, err
	}
	latest := SchemaVersion()
	if cur > latest {
		return cur, newerSchema(cur, latest)
	}
	ms, err := loadMigrations()
	if err != nil {
		return cur, err
	}
	for _, m := range ms {
		if m.Version <= cur {
			continue
		}
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name, applied_ms) VALUES ($1, $2, $3)`,
				m.Version, m.Name, time.Now().UnixMilli())
			return err
		})
		if err != nil {
			return cur, dbErr(ctx, "migration "+m.Name, err)
		}
	}
	_, err = conn.Exec(ctx, `SELECT pg_advisory_unlock($1)`, migrationLock)
	return cur, dbErr(ctx, "migrate: unlock", err)
}

// checkSchema is Open's check with NoMigrate: the database must be at
// exactly this binary's schema.
func checkSchema(ctx context.Context, cc *pgx.ConnConfig) error {
	conn, err := connect(ctx, cc)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT to_regclass('schema_migrations') IS NOT NULL`).Scan(&exists); err != nil {
		return dbErr(ctx, "check schema", err)
	}
	cur := 0
	if exists {
		if cur, err = schemaVersion(ctx, conn); err != nil {
			return err
		}
	}
	switch latest := SchemaVersion(); {
	case cur > latest:
		return newerSchema(cur, latest)
	case cur < latest:
		return fmt.Errorf("postgres: database schema version %d is older than this moat needs (%d); run `moat migrate` with the same --db first (or start without --no-migrate)", cur, latest)
	}
	return nil
}

func schemaVersion(ctx context.Context, conn *pgx.Conn) (int, error) {
	var cur int
	if err := conn.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&cur); err != nil {
		return 0, dbErr(ctx, "read schema version", err)
	}
	return cur, nil
}

func newerSchema(cur, latest int) error {
	return fmt.Errorf("postgres: database schema version %d is newer than this moat knows (%d); upgrade moat", cur, latest)
}

// connect opens a single connection (for migrations and checks).
func connect(ctx context.Context, cc *pgx.ConnConfig) (*pgx.Conn, error) {
	conn, err := pgx.ConnectConfig(ctx, cc.Copy())
	if err != nil {
		return nil, dbErr(ctx, "connect", err)
	}
	return conn, nil
}

// dbErr classifies an error outside a Store (Open, Migrate).
func dbErr(ctx context.Context, op string, err error) error {
	if err == nil {
		return nil
	}
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("postgres: %s: %w", op, cerr)
	}
	if unavailable(err) {
		return moat.Unavailable(op, fmt.Errorf("postgres: %s: %w", op, err))
	}
	return fmt.Errorf("postgres: %s: %w", op, err)
}
