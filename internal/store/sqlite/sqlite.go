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
	"embed"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
	"time"

	sqlite3 "github.com/mattn/go-sqlite3"

	"moat/internal/moat"
	"moat/internal/store/migrations"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

var _ moat.Store = (*Store)(nil)

// maxBatch bounds how many Update calls share one commit.
const maxBatch = 256

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

var errClosed = errors.New("sqlite: store is closed")

// Update implements moat.Store.
func (s *Store) Update(ctx context.Context, fn func(moat.Tx) error) error {
	return s.main.update(ctx, false, func(w *writer) error { return fn(&tx{w: w}) })
}

// writer owns the single write connection of one database file and
// commits the operations queued to it in groups.
type writer struct {
	name    string
	db      *sql.DB
	conn    *sql.Conn
	stmts   map[string]*sql.Stmt // writer goroutine only
	ops     chan *op
	closing chan struct{}
	done    chan struct{}
}

type op struct {
	ctx context.Context
	fn  func(*writer) error
	// atomic ops are one statement, which SQLite already makes atomic, so
	// they need no savepoint of their own.
	atomic bool
	done   chan error
}

// openWriter opens the single write connection of a database.
func openWriter(ctx context.Context, name, dsn string) (*writer, error) {
	db, err := sql.Open("sqlite3", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", name, err)
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	conn, err := db.Conn(ctx)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", name, err)
	}
	return &writer{
		name: name, db: db, conn: conn, stmts: map[string]*sql.Stmt{},
		ops: make(chan *op, 4096), closing: make(chan struct{}), done: make(chan struct{}),
	}, nil
}

// update queues fn and waits until its batch has committed.
func (w *writer) update(ctx context.Context, atomic bool, fn func(*writer) error) error {
	o := &op{ctx: ctx, fn: fn, atomic: atomic, done: make(chan error, 1)}
	select {
	case <-w.closing:
		return moat.Unavailable("update", errClosed)
	default:
	}
	select {
	case w.ops <- o:
	case <-ctx.Done():
		return ctx.Err()
	case <-w.closing:
		return moat.Unavailable("update", errClosed)
	}
	// Once queued the call is answered after its batch commits (or fails);
	// not waiting would tell the caller "failed" about a write that may
	// still become durable.
	select {
	case err := <-o.done:
		return err
	case <-w.done:
		// The send above can win against a concurrent Close after the
		// writer has drained the queue and stopped. The writer answers
		// every operation it takes before stopping, so an operation still
		// unanswered now was never run.
		select {
		case err := <-o.done:
			return err
		default:
			return moat.Unavailable("update", errClosed)
		}
	}
}

// run is the only goroutine that writes to the database.
func (w *writer) run() {
	defer close(w.done)
	batch := make([]*op, 0, maxBatch)
	for {
		var first *op
		select {
		case first = <-w.ops:
		case <-w.closing:
			// Drain what was queued before Close, then stop.
			for {
				select {
				case o := <-w.ops:
					w.runBatch([]*op{o})
				default:
					return
				}
			}
		}
		batch = append(batch[:0], first)
	gather:
		for len(batch) < maxBatch {
			select {
			case o := <-w.ops:
				batch = append(batch, o)
			default:
				break gather
			}
		}
		w.runBatch(batch)
	}
}

func (w *writer) exec(q string, args ...any) error {
	st, err := w.stmt(q)
	if err != nil {
		return err
	}
	_, err = st.Exec(args...)
	return err
}

// runBatch commits a group of operations together.
func (w *writer) runBatch(batch []*op) {
	results := make([]error, len(batch))
	if err := w.exec("BEGIN IMMEDIATE"); err != nil {
		for _, o := range batch {
			o.done <- moat.Internal("begin", err)
		}
		return
	}
	single := len(batch) == 1
	for i, o := range batch {
		if err := o.ctx.Err(); err != nil {
			results[i] = err
			continue
		}
		savepoint := !single && !o.atomic
		if savepoint {
			if err := w.exec("SAVEPOINT op"); err != nil {
				results[i] = moat.Internal("savepoint", err)
				continue
			}
		}
		err := w.call(o)
		if err != nil {
			if single {
				w.exec("ROLLBACK")
				o.done <- err
				return
			}
			if savepoint {
				if rerr := w.exec("ROLLBACK TO op"); rerr != nil {
					// The transaction is in an unknown state: abandon the batch.
					w.abort(batch, moat.Internal("rollback to savepoint", rerr))
					return
				}
			}
		}
		if savepoint {
			if rerr := w.exec("RELEASE op"); rerr != nil {
				w.abort(batch, moat.Internal("release savepoint", rerr))
				return
			}
		}
		results[i] = err
	}
	if err := w.exec("COMMIT"); err != nil {
		w.abort(batch, moat.Internal("commit", err))
		return
	}
	for i, o := range batch {
		o.done <- results[i]
	}
}

func (w *writer) abort(batch []*op, err error) {
	w.exec("ROLLBACK")
	for _, o := range batch {
		o.done <- err
	}
}

// call runs one operation, turning a panic into an error so the writer
// survives it.
func (w *writer) call(o *op) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = moat.Internal("update", fmt.Errorf("panic: %v\n%s", r, debug.Stack()))
		}
	}()
	return o.fn(w)
}

// stmt returns a prepared statement on the write connection; only the
// writer goroutine calls it.
func (w *writer) stmt(q string) (*sql.Stmt, error) {
	if st, ok := w.stmts[q]; ok {
		return st, nil
	}
	st, err := w.conn.PrepareContext(context.Background(), q)
	if err != nil {
		return nil, fmt.Errorf("sqlite: prepare %q: %w", q, err)
	}
	w.stmts[q] = st
	return st, nil
}

// close stops the writer after the queued operations and closes the
// connection (the last connection to close checkpoints the WAL).
func (w *writer) close() error {
	close(w.closing)
	<-w.done
	for _, st := range w.stmts {
		st.Close()
	}
	return errors.Join(w.conn.Close(), w.db.Close())
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
