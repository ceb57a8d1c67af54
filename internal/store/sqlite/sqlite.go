// Package sqlite is moat's embedded store: one SQLite database file in WAL
// mode, written by a single connection that commits in groups.
//
// Durability: every transaction that Update acknowledges has been committed
// with synchronous=FULL, i.e. the WAL was fsynced, so it survives kill -9
// and power loss. To keep that affordable at thousands of writes per second,
// concurrent Update calls are gathered into one SQLite transaction (group
// commit); each call runs inside its own SAVEPOINT, so one call's failure
// rolls back only its own writes, and every caller is answered after the
// shared COMMIT.
//
// Reads use a separate pool of connections; WAL lets them proceed while the
// writer works.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	sqlite3 "github.com/mattn/go-sqlite3"

	"moat/internal/moat"
)

var _ moat.Store = (*Store)(nil)

// Store is the SQLite implementation of moat.Store. It keeps two database
// files: the store proper, and beside it (path + ".nonces") the log of used
// signature nonces (nonces.go). Nonces are written by every signed request;
// in a file of their own their commits neither queue behind lifecycle
// batches nor invalidate the page caches of the readers of the main
// database (SQLite drops a reader's cache whenever its database changes).
//
// One process serves one SQLite store: the nonce set lives in that
// process's memory (several replicas need the PostgreSQL store).
type Store struct {
	path   string
	main   *writer
	nonces *writer
	rdb    *sql.DB // readers of the main database

	audit     *writer // see audit.go
	auditRead *sql.DB

	nonceSet *nonceSet // see nonces.go

	rmu    sync.RWMutex
	rstmts map[string]*sql.Stmt

	closeOnce sync.Once
}

// Options tune the store.
type Options struct {
	// Readers is the size of the read connection pool (default 4).
	Readers int
	// NoMigrate opens without migrating: Open fails unless the schema is
	// exactly the one this binary knows (run Migrate, i.e. `moat migrate`,
	// first).
	NoMigrate bool
}

// dsn options shared by every connection. cache_size is per connection,
// in KiB when negative; it bounds the resident memory of a large store.
const dsnCommon = "_journal_mode=WAL&_synchronous=FULL&_busy_timeout=10000&_foreign_keys=0&_cache_size=-16000"

// dsnSide is dsnCommon for the nonce and audit files: they are appended to
// and rarely read, so a 2 MiB page cache per connection does (the default
// 16 MiB, filled by the appends of a busy server, would only hold memory).
const dsnSide = "_journal_mode=WAL&_synchronous=FULL&_busy_timeout=10000&_foreign_keys=0&_cache_size=-2000"

// NoncePath is the nonce database of the store at path.
func NoncePath(path string) string { return path + ".nonces" }

// Open opens (creating if needed) the database at path and migrates it to
// the newest schema this binary knows. It refuses a database whose schema is
// newer than that.
func Open(ctx context.Context, path string, opt Options) (*Store, error) {
	if path == "" {
		return nil, errors.New("sqlite: empty database path")
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("sqlite: create directory for %s: %w", path, err)
		}
	}
	if opt.Readers <= 0 {
		opt.Readers = 4
	}
	s := &Store{path: path, rstmts: map[string]*sql.Stmt{}, nonceSet: newNonceSet()}
	var err error
	// Each connection is used by one goroutine at a time (the writer's
	// goroutine, or database/sql's pool), so SQLite's own per-call mutex
	// (_mutex=no: multi-thread mode) is pure overhead.
	if s.main, err = openWriter(ctx, path, "file:"+path+"?"+dsnCommon+"&_txlock=immediate&_mutex=no"); err != nil {
		return nil, err
	}
	if _, err := migrate(ctx, s.main.conn, path, opt.NoMigrate); err != nil {
		s.main.conn.Close()
		s.main.db.Close()
		return nil, err
	}
	np := NoncePath(path)
	if s.nonces, err = openWriter(ctx, np, "file:"+np+"?"+dsnSide+"&_txlock=immediate&_mutex=no"); err != nil {
		s.main.conn.Close()
		s.main.db.Close()
		return nil, err
	}
	if _, err := s.nonces.conn.ExecContext(ctx, nonceSchema); err != nil {
		s.closeWriters()
		return nil, fmt.Errorf("sqlite: nonce database %s: %w", np, err)
	}
	if err := s.loadNonces(ctx); err != nil {
		s.closeWriters()
		return nil, err
	}
	if s.audit, s.auditRead, err = openAudit(ctx, path); err != nil {
		s.closeWriters()
		return nil, err
	}
	rdb, err := sql.Open("sqlite3", "file:"+path+"?"+dsnCommon+"&_query_only=1&_mutex=no")
	if err != nil {
		s.closeWriters()
		return nil, fmt.Errorf("sqlite: open readers %s: %w", path, err)
	}
	rdb.SetMaxOpenConns(opt.Readers)
	rdb.SetMaxIdleConns(opt.Readers)
	rdb.SetConnMaxLifetime(0)
	s.rdb = rdb
	go s.main.run()
	go s.nonces.run()
	go s.audit.run()
	return s, nil
}

func (s *Store) closeWriters() {
	if s.auditRead != nil {
		s.auditRead.Close()
	}
	for _, w := range []*writer{s.main, s.nonces, s.audit} {
		if w != nil {
			w.conn.Close()
			w.db.Close()
		}
	}
}

var errClosed = errors.New("sqlite: store is closed")

// Update implements moat.Store.
func (s *Store) Update(ctx context.Context, fn func(moat.Tx) error) error {
	return s.main.update(ctx, false, func(w *writer) error { return fn(&tx{w: w}) })
}

// maxCachedStatements bounds the reader statement cache. The filter shapes
// the service produces are few, but tag filters can combine into many; past
// the bound a query is prepared per use instead of cached (never evicting,
// since a concurrent reader may be using a cached statement).
const maxCachedStatements = 256

// rstmt returns a cached prepared statement on the reader pool, or nil when
// the cache is full (the caller then runs q unprepared).
func (s *Store) rstmt(ctx context.Context, q string) (*sql.Stmt, error) {
	s.rmu.RLock()
	st, ok := s.rstmts[q]
	s.rmu.RUnlock()
	if ok {
		return st, nil
	}
	s.rmu.Lock()
	defer s.rmu.Unlock()
	if st, ok := s.rstmts[q]; ok {
		return st, nil
	}
	if len(s.rstmts) >= maxCachedStatements {
		return nil, nil
	}
	st, err := s.rdb.PrepareContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("sqlite: prepare: %w", err)
	}
	s.rstmts[q] = st
	return st, nil
}

// rquery runs a read query, prepared and cached when possible.
func (s *Store) rquery(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	st, err := s.rstmt(ctx, q)
	if err != nil {
		return nil, err
	}
	if st == nil {
		return s.rdb.QueryContext(ctx, q, args...)
	}
	return st.QueryContext(ctx, args...)
}

// rqueryRow is rquery for one row.
func (s *Store) rqueryRow(ctx context.Context, q string, args ...any) (*sql.Row, error) {
	st, err := s.rstmt(ctx, q)
	if err != nil {
		return nil, err
	}
	if st == nil {
		return s.rdb.QueryRowContext(ctx, q, args...), nil
	}
	return st.QueryRowContext(ctx, args...), nil
}

// Close stops the writers after their queued operations and closes the
// databases (which checkpoints their WALs).
func (s *Store) Close() error {
	var err error
	s.closeOnce.Do(func() {
		werr := errors.Join(s.main.close(), s.nonces.close(), s.audit.close(), s.auditRead.Close())
		s.rmu.Lock()
		for _, st := range s.rstmts {
			st.Close()
		}
		s.rmu.Unlock()
		err = errors.Join(s.rdb.Close(), werr)
	})
	return err
}

func conflict(err error) bool {
	var se sqlite3.Error
	if errors.As(err, &se) {
		return se.Code == sqlite3.ErrConstraint
	}
	return false
}

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

// PoolStats reports the read connection pool (for metrics); writes go
// through one connection per database file.
func (s *Store) PoolStats() (inUse, idle, maxOpen int) {
	st := s.rdb.Stats()
	return st.InUse, st.Idle, st.MaxOpenConnections
}
