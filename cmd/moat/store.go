package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"time"

	"moat/internal/moat"
	"moat/internal/store/postgres"
	"moat/internal/store/sqlite"
)

// isPostgres reports whether --db names a PostgreSQL database rather than
// a SQLite file.
func isPostgres(db string) bool { return postgres.IsURL(db) }

// redactDB is --db as it may be logged: a URL's password is masked.
func redactDB(db string) string {
	if !isPostgres(db) {
		return db
	}
	u, err := url.Parse(db)
	if err != nil {
		return "postgres://(unparsable URL)"
	}
	return u.Redacted()
}

// dataDir is where files that live beside the store go (the master key
// and the self-signed certificate): the SQLite file's directory, or
// ./moat-data for PostgreSQL.
func dataDir(db string) string {
	if isPostgres(db) {
		return "moat-data"
	}
	return filepath.Dir(db)
}

// store is what moat serve needs of either store: the domain's Store, and
// the figures /metrics reports.
type store interface {
	moat.Store
	PoolStats() (inUse, idle, maxOpen int)
	NonceCount(ctx context.Context) (int64, error)
}

// openStore opens the store --db names and returns it with its schema
// version.
func openStore(ctx context.Context, db string, noMigrate bool) (store, int, error) {
	if isPostgres(db) {
		s, err := postgres.Open(ctx, db, postgres.Options{NoMigrate: noMigrate})
		if err != nil {
			return nil, 0, err
		}
		return s, postgres.SchemaVersion(), nil
	}
	s, err := sqlite.Open(ctx, db, sqlite.Options{NoMigrate: noMigrate})
	if err != nil {
		return nil, 0, err
	}
	return s, sqlite.SchemaVersion(), nil
}

const migrateUsage = `Usage: moat migrate [--db DB]

Applies the schema migrations this moat knows to the store and exits:
the SQLite file or the postgres:// database of --db (env MOAT_DB).
moat serve migrates by itself unless started with --no-migrate; run this
first when it is (the way to upgrade several replicas: migrate once, then
roll the new binary out). A store whose schema is newer than this binary
knows is refused, by migrate and by serve.

Flags:
`

func runMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("moat migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, migrateUsage); fs.PrintDefaults() }
	db := fs.String("db", envOr("MOAT_DB", "./moat-data/moat.db"), "store: a SQLite file path or a postgres:// URL (env MOAT_DB)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: moat migrate takes no arguments, got %q", errUsage, fs.Args())
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	var from, to int
	var err error
	if isPostgres(*db) {
		from, to, err = postgres.Migrate(ctx, *db)
	} else {
		from, to, err = sqlite.Migrate(ctx, *db)
	}
	if err != nil {
		return fmt.Errorf("migrate %s: %w", redactDB(*db), err)
	}
	if from == to {
		fmt.Fprintf(stdout, "moat migrate: %s is at schema version %d, the newest this moat knows; nothing to do\n", redactDB(*db), to)
	} else {
		fmt.Fprintf(stdout, "moat migrate: %s migrated from schema version %d to %d\n", redactDB(*db), from, to)
	}
	return nil
}

const backupUsage = `Usage: moat backup --to PATH [--db FILE]

Copies a SQLite store (the database and its .nonces and .audit files) to
PATH, PATH.nonces and PATH.audit with SQLite's online backup API, while
moat serve keeps running: each file is one consistent snapshot. Keep the
master key (master.key beside the store, or MOAT_MASTER_KEY) with the
backup: without it no AccessKey secret in it can be read. To restore, stop
moat and put the three files (and the key) in place of the store's.

PostgreSQL stores are backed up with PostgreSQL's own tools (pg_dump or a
managed service's snapshots); see docs/OPERATIONS.md.

Flags:
`

func runBackup(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("moat backup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, backupUsage); fs.PrintDefaults() }
	db := fs.String("db", envOr("MOAT_DB", "./moat-data/moat.db"), "the SQLite store to back up (env MOAT_DB)")
	to := fs.String("to", "", "the backup's database file; must not exist (e.g. backups/moat-2026-11-26.db)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return fmt.Errorf("%w: moat backup takes no arguments, got %q", errUsage, fs.Args())
	case *to == "":
		return fmt.Errorf("%w: moat backup needs --to PATH", errUsage)
	case isPostgres(*db):
		return fmt.Errorf("%w: moat backup copies SQLite stores; back up PostgreSQL with pg_dump or your provider's snapshots (docs/OPERATIONS.md)", errUsage)
	}
	start := time.Now()
	files, err := sqlite.Backup(ctx, *db, *to, func(f sqlite.BackupFile) {
		fmt.Fprintf(stdout, "moat backup: %s -> %s (%d pages, %d bytes)\n", f.From, f.To, f.Pages, f.Bytes)
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "moat backup: %d files in %s; keep the master key (%s) with them\n",
		len(files), time.Since(start).Round(time.Millisecond), filepath.Join(dataDir(*db), "master.key"))
	return nil
}
