// Package postgres is moat's shared store: PostgreSQL through pgx, for any
// number of moat processes serving one database.
//
// Concurrency: Update runs its function in one READ COMMITTED transaction
// on one pooled connection, and the Tx reads that a check-then-act depends
// on lock what they read (SELECT … FOR UPDATE, or a transaction-scoped
// advisory lock on the key of a row that does not exist yet), so the
// domain's read-decide-write sequences are serialised across processes the
// same way the SQLite store's single writer serialises them within one.
// The lifecycle engine's claims (DueInstances) and free-IP pops skip rows
// another transaction holds (FOR UPDATE SKIP LOCKED): replicas never apply a
// transition twice and never wait for each other. Inserts that may collide
// use INSERT … ON CONFLICT DO NOTHING, so ErrConflict leaves the transaction
// usable, as the domain expects when it retries with another ID. Deadlocks
// and serialisation failures retry the whole function. A transaction's
// listing counters, IP cursor moves and events are written once, just
// before COMMIT (tx.flush): one row updated per instance of a 10,000-instance
// batch would be quadratic, and events inserted last, under a lock that
// Events waits for, keep Seq order and commit order the same for readers
// (see eventHorizonLock).
//
// Availability: a connection is acquired within a short timeout (and dialled
// within a shorter one), and every operation has an overall deadline, so
// while the database is unreachable every call fails fast with a
// moat.Unavailable error (503 ServiceUnavailable), and the pool dials anew
// once it is back.
//
// Durability: a transaction is acknowledged after PostgreSQL's COMMIT,
// which (with the default synchronous_commit=on) has flushed its WAL.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"net"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"moat/internal/coalesce"
	"moat/internal/moat"
)

var _ moat.Store = (*Store)(nil)

// Options tune the store. Zero values take the defaults.
type Options struct {
	// MaxConns is the size of the connection pool (default 16, or the
	// DSN's pool_max_conns).
	MaxConns int32
	// ConnectTimeout bounds dialling and authenticating one connection
	// (default 2 s, or the DSN's connect_timeout).
	ConnectTimeout time.Duration
	// AcquireTimeout bounds the wait for a pooled connection, dialling
	// included (default 3 s).
	AcquireTimeout time.Duration
	// OpTimeout bounds one attempt of an Update, or one read, as a whole
	// (default 10 s): a database that stops answering mid-way fails the
	// call instead of hanging it.
	OpTimeout time.Duration
	// NoMigrate opens without migrating: Open fails unless the schema is
	// exactly the one this binary knows (run Migrate, i.e. `moat migrate`,
	// first).
	NoMigrate bool
	// Tracer, when set, sees every statement the pool's connections run
	// (pgx's tracing hook: logging, tracing, or counting statements).
	Tracer pgx.QueryTracer
}

func (o Options) withDefaults() Options {
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = 2 * time.Second
	}
	if o.AcquireTimeout <= 0 {
		o.AcquireTimeout = 3 * time.Second
	}
	if o.OpTimeout <= 0 {
		o.OpTimeout = 10 * time.Second
	}
	return o
}

// Store is the PostgreSQL implementation of moat.Store.
type Store struct {
	pool *pgxpool.Pool
	opt  Options

	closing   chan struct{}
	closeOnce sync.Once

	nonceQ     chan *nonceReq
	noncesWG   sync.WaitGroup
	noncesDone chan struct{}

	// shards holds the instance_counts shards no transaction of this
	// process is using (see takeShard).
	shards chan int16

	// versions coalesces ListingVersion reads.
	versions coalesce.Group[countKey, [2]int64]
}

var errClosed = errors.New("postgres: store is closed")

// Open connects to the database at dsn (a postgres:// URL or a key=value
// connection string, as libpq takes), migrates it to the newest schema this
// binary knows (unless opt.NoMigrate) and returns the store. It refuses a
// database whose schema is newer than that.
func Open(ctx context.Context, dsn string, opt Options) (*Store, error) {
	opt = opt.withDefaults()
	cfg, err := poolConfig(dsn, opt)
	if err != nil {
		return nil, err
	}
	if opt.NoMigrate {
		err = checkSchema(ctx, cfg.ConnConfig)
	} else {
		_, err = migrateConfig(ctx, cfg.ConnConfig)
	}
	if err != nil {
		return nil, err
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: pool: %w", err)
	}
	s := &Store{
		pool:       pool,
		opt:        opt,
		closing:    make(chan struct{}),
		nonceQ:     make(chan *nonceReq, 4096),
		noncesDone: make(chan struct{}),
		shards:     make(chan int16, countShards),
	}
	for _, i := range rand.Perm(countShards) {
		s.shards <- int16(i)
	}
	s.startNonces()
	return s, nil
}

// poolConfig parses dsn and applies the options.
func poolConfig(dsn string, opt Options) (*pgxpool.Config, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: parse DSN: %w", err)
	}
	switch {
	case opt.MaxConns > 0:
		cfg.MaxConns = opt.MaxConns
	case !strings.Contains(dsn, "pool_max_conns"):
		cfg.MaxConns = 16
	}
	if opt.Tracer != nil {
		cfg.ConnConfig.Tracer = opt.Tracer
	}
	if cfg.ConnConfig.ConnectTimeout <= 0 {
		cfg.ConnConfig.ConnectTimeout = opt.ConnectTimeout
	}
	if _, ok := cfg.ConnConfig.RuntimeParams["application_name"]; !ok {
		cfg.ConnConfig.RuntimeParams["application_name"] = "moat"
	}
	// A connection that has sat idle is pinged before use (pgxpool's
	// default after 1 s), so one killed by a database restart is replaced
	// instead of failing a request.
	return cfg, nil
}

// Close stops the nonce writers after the nonces queued so far and closes
// the pool. Calls after Close fail with an unavailable error.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		close(s.closing)
		s.noncesWG.Wait()
		close(s.noncesDone)
		s.pool.Close()
	})
	return nil
}

func (s *Store) closed() bool {
	select {
	case <-s.closing:
		return true
	default:
		return false
	}
}

// countShards is how many instance_counts rows an account and region may
// have (see the schema).
const countShards = 16

// takeShard picks the instance_counts shard of a transaction: one that no
// other transaction of this process holds, while there is one (the pool
// has 16 connections by default), so that this process's writers never
// queue for each other's counter row, which is locked until COMMIT (with
// shards drawn at random, 16 concurrent releases of one account collided
// on a third of them). Free shards are handed out in a per-process random
// order, so replicas spread over different rows too. release gives the
// shard back.
func (s *Store) takeShard() (shard int16, release func()) {
	select {
	case sh := <-s.shards:
		return sh, func() { s.shards <- sh }
	default:
		return int16(rand.N(countShards)), func() {}
	}
}

// maxAttempts bounds how often Update runs fn when PostgreSQL reports a
// deadlock or a serialisation failure.
const maxAttempts = 5

// Update implements moat.Store.
func (s *Store) Update(ctx context.Context, fn func(moat.Tx) error) error {
	for attempt := 1; ; attempt++ {
		if s.closed() {
			return moat.Unavailable("update", errClosed)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		retry, err := s.updateOnce(ctx, fn)
		if !retry || attempt == maxAttempts {
			return err
		}
		// Both sides of a deadlock retry: spread them apart.
		backoff := time.Duration(attempt) * (time.Millisecond + rand.N(4*time.Millisecond))
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// updateOnce runs fn in one transaction and reports whether a failure is
// worth another attempt.
func (s *Store) updateOnce(ctx context.Context, fn func(moat.Tx) error) (retry bool, err error) {
	octx, cancel := context.WithTimeout(ctx, s.opt.OpTimeout)
	defer cancel()
	conn, err := s.acquire(ctx)
	if err != nil {
		return false, s.wrap(ctx, "update", err)
	}
	defer conn.Release()
	ptx, err := conn.BeginTx(octx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
	if err != nil {
		// Nothing ran yet; a connection that died while idle is worth
		// one more try on another.
		return pgconn.SafeToRetry(err) && ctx.Err() == nil, s.wrap(ctx, "update: begin", err)
	}
	shard, releaseShard := s.takeShard()
	defer releaseShard()
	t := &tx{s: s, ctx: ctx, octx: octx, tx: ptx, shard: shard}
	ferr := call(fn, t)
	if ferr == nil {
		ferr = t.flush()
	}
	if ferr == nil && t.err != nil {
		// fn ignored a failed statement; PostgreSQL has aborted the
		// transaction, so it cannot commit.
		ferr = t.wrap("update", t.err)
	}
	if ferr != nil {
		// A failed rollback closes the connection, which the pool then
		// discards.
		ptx.Rollback(octx)
		if t.err != nil && retryable(t.err) && ctx.Err() == nil {
			return true, ferr
		}
		return false, ferr
	}
	if err := ptx.Commit(octx); err != nil {
		return retryable(err) && ctx.Err() == nil, s.wrap(ctx, "update: commit", err)
	}
	return false, nil
}

// call runs fn, turning a panic into an error so the store survives it.
func call(fn func(moat.Tx) error, t *tx) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = moat.Internal("update", fmt.Errorf("panic: %v\n%s", r, debug.Stack()))
		}
	}()
	return fn(t)
}

// acquire takes a pooled connection, failing within AcquireTimeout.
func (s *Store) acquire(ctx context.Context) (*pgxpool.Conn, error) {
	actx, cancel := context.WithTimeout(ctx, s.opt.AcquireTimeout)
	defer cancel()
	c, err := s.pool.Acquire(actx)
	if err != nil {
		if s.closed() {
			return nil, moat.Unavailable("acquire", errClosed)
		}
		if ctx.Err() == nil && actx.Err() != nil {
			return nil, moat.Unavailable("acquire", fmt.Errorf("postgres: no database connection within %v: %w", s.opt.AcquireTimeout, err))
		}
		return nil, err
	}
	return c, nil
}

// read runs a read-only operation on a pooled connection. A connection
// that turns out dead before anything was sent is replaced once.
func (s *Store) read(ctx context.Context, op string, f func(ctx context.Context, c *pgxpool.Conn) error) error {
	if s.closed() {
		return moat.Unavailable(op, errClosed)
	}
	return s.run(ctx, op, f)
}

// run is read without the check for Close (the nonce writers drain their
// queue after it).
func (s *Store) run(ctx context.Context, op string, f func(ctx context.Context, c *pgxpool.Conn) error) error {
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		err := s.readOnce(ctx, f)
		if err == nil || errors.Is(err, moat.ErrNotFound) {
			return err
		}
		if attempt == 0 && pgconn.SafeToRetry(err) && ctx.Err() == nil {
			continue
		}
		return s.wrap(ctx, op, err)
	}
}

func (s *Store) readOnce(ctx context.Context, f func(ctx context.Context, c *pgxpool.Conn) error) error {
	octx, cancel := context.WithTimeout(ctx, s.opt.OpTimeout)
	defer cancel()
	c, err := s.acquire(ctx)
	if err != nil {
		return err
	}
	defer c.Release()
	return f(octx, c)
}

// wrap classifies a driver error of op: the caller's own cancellation comes
// back as such; a lost, refused or timed-out connection and a database
// shutting down are Unavailable (503, retry later); other errors are
// internal.
func (s *Store) wrap(ctx context.Context, op string, err error) error {
	if err == nil {
		return nil
	}
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("postgres: %s: %w", op, cerr)
	}
	var me *moat.Error
	if errors.As(err, &me) {
		return err
	}
	if s.closed() {
		return moat.Unavailable(op, errors.Join(errClosed, err))
	}
	if unavailable(err) {
		return moat.Unavailable(op, fmt.Errorf("postgres: %w", err))
	}
	return moat.Internal(op, fmt.Errorf("postgres: %w", err))
}

// unavailable reports whether err means the database cannot be reached or
// cannot serve now, as opposed to a fault of the statement.
func unavailable(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case strings.HasPrefix(pe.Code, "08"): // connection exception
			return true
		case pe.Code == "57P01", pe.Code == "57P02", pe.Code == "57P03": // shutting down, crashed, starting up
			return true
		case pe.Code == "53300": // too many connections
			return true
		case pe.Code == "40001", pe.Code == "40P01": // still contended after the retries
			return true
		case pe.Code == "57014": // statement cancelled (our deadline)
			return true
		}
		return false
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	return errors.As(err, &ce) || pgconn.SafeToRetry(err) || pgconn.Timeout(err) ||
		errors.Is(err, pgconn.ErrConnClosed) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, net.ErrClosed) || errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne)
}

// retryable reports a transient failure that running the transaction again
// resolves: a serialisation failure or a deadlock.
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

// lockKey is the advisory lock key of a logical row: a 64-bit hash of its
// kind and key parts. A collision only serialises two unrelated calls.
func lockKey(parts ...string) int64 {
	h := fnv.New64a()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return int64(h.Sum64())
}

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

// PoolStats reports the connection pool (for metrics).
func (s *Store) PoolStats() (inUse, idle, maxOpen int) {
	st := s.pool.Stat()
	return int(st.AcquiredConns()), int(st.IdleConns()), int(st.MaxConns())
}
