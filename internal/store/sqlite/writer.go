package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime/debug"

	"moat/internal/moat"
)

// maxBatch bounds how many Update calls share one commit.
const maxBatch = 256

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
