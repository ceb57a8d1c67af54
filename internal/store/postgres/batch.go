package postgres

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"moat/internal/moat"
)

// How a transaction talks to PostgreSQL: every statement goes through
// pipeline, which sends the writes the transaction deferred (pending:
// freed IPs, phase changes, and at flush the counters, cursors and events)
// in the same round trip, before it. tx.go holds the Tx methods.

// queued is a statement waiting in pending.
type queued struct {
	op, sql string
	args    []any
}

type countKey struct{ account, region string }

type countDelta struct{ n, version int64 }

type cursorKey struct{ region, pool string }

type cursorState struct {
	next  int64
	dirty bool
}

// count records a change to the live instances of an account and region:
// n instances more (or fewer), and a new listing version.
func (t *tx) count(account, region string, n int64) {
	if t.counts == nil {
		t.counts = map[countKey]countDelta{}
	}
	k := countKey{account, region}
	d := t.counts[k]
	d.n += n
	d.version++
	t.counts[k] = d
}

// flush writes the deferred counter and cursor changes, in key order, so
// two transactions that flush the same rows lock them in the same order,
// then the transaction's events.
func (t *tx) flush() error {
	if err := t.failed("flush"); err != nil {
		return err
	}
	t.queuePhases()
	counts := slices.SortedFunc(maps.Keys(t.counts), func(a, b countKey) int {
		return cmp.Or(strings.Compare(a.account, b.account), strings.Compare(a.region, b.region))
	})
	for _, k := range counts {
		d := t.counts[k]
		t.later("count instances", `INSERT INTO instance_counts AS c (account_id, region, shard, n, version) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (account_id, region, shard) DO UPDATE SET n = c.n + excluded.n, version = c.version + excluded.version`,
			k.account, k.region, t.shard, d.n, d.version)
	}
	cursors := slices.SortedFunc(maps.Keys(t.cursors), func(a, b cursorKey) int {
		return cmp.Or(strings.Compare(a.region, b.region), strings.Compare(a.pool, b.pool))
	})
	for _, k := range cursors {
		if c := t.cursors[k]; c.dirty {
			t.later("set ip cursor", `INSERT INTO ip_cursor (region, pool, next) VALUES ($1, $2, $3)
				ON CONFLICT (region, pool) DO UPDATE SET next = excluded.next`, k.region, k.pool, c.next)
		}
	}
	// Last, in the same round trip as the writes above and after them:
	// from here to COMMIT the transaction holds the event horizon lock,
	// which should not wait on row locks meanwhile.
	if len(t.events) == 0 {
		return t.pipeline("flush", nil, nil)
	}
	return t.insertEvents()
}

// later queues a write whose outcome nobody waits for; it is sent with
// the next statement (see pending).
func (t *tx) later(op, sql string, args ...any) {
	t.pending = append(t.pending, queued{op, sql, args})
}

// pipeline sends the pending writes and then the statements queue adds,
// in one round trip, and hands read the results after the pending ones'.
// A failed write is the transaction's error; so is read's, except
// pgx.ErrNoRows, which it returns as is.
func (t *tx) pipeline(op string, queue func(*pgx.Batch), read func(pgx.BatchResults) error) error {
	if err := t.failed(op); err != nil {
		return err
	}
	t.queuePhases()
	if len(t.pending) == 0 && queue == nil {
		return nil
	}
	pend := t.pending
	t.pending = nil
	b := &pgx.Batch{}
	for _, p := range pend {
		b.Queue(p.sql, p.args...)
	}
	if queue != nil {
		queue(b)
	}
	br := t.tx.SendBatch(t.octx, b)
	for _, p := range pend {
		if _, err := br.Exec(); err != nil {
			br.Close()
			return t.wrap(p.op, err)
		}
	}
	var err error
	if read != nil {
		err = read(br)
	}
	if cerr := br.Close(); err == nil || errors.Is(err, pgx.ErrNoRows) && cerr != nil {
		err = cmp.Or(cerr, err)
	}
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return t.wrap(op, err)
	}
	return err
}

// wrap records a statement error and classifies it for the caller.
func (t *tx) wrap(op string, err error) error {
	if t.err == nil {
		t.err = err
	}
	return t.s.wrap(t.ctx, op, err)
}

// failed returns the recorded failure, if any.
func (t *tx) failed(op string) error {
	if t.err != nil {
		return t.s.wrap(t.ctx, op, fmt.Errorf("transaction aborted by an earlier error: %w", t.err))
	}
	return nil
}

// aborted returns the recorded failure, if any, and otherwise writes the
// deferred phase changes: every statement starts here, so that it sees
// them. (Calls that only queue work, like AppendEvent, use failed: were
// they to flush, a lifecycle batch, which appends an event and then
// defers a phase change per instance, would write one UPDATE per
// instance instead of one per batch.)
func (t *tx) aborted(op string) error {
	return t.pipeline(op, nil, nil)
}

// queuePhases queues the deferred UpdatePhase calls as one statement.
func (t *tx) queuePhases() {
	if len(t.phases) == 0 {
		return
	}
	ids := make([]string, 0, len(t.phases))
	phases := make([]int16, 0, len(t.phases))
	for id, p := range t.phases {
		ids = append(ids, id)
		phases = append(phases, int16(p))
	}
	t.phases = nil
	t.later("update phases", `UPDATE instances AS i SET phase = v.phase
		FROM unnest($1::text[], $2::smallint[]) AS v (id, phase) WHERE i.instance_id = v.id`, ids, phases)
}

func (t *tx) exec(op, q string, args ...any) (int64, error) {
	var n int64
	err := t.pipeline(op, func(b *pgx.Batch) { b.Queue(q, args...) }, func(br pgx.BatchResults) error {
		tag, err := br.Exec()
		n = tag.RowsAffected()
		return err
	})
	return n, err
}

// row runs a query for at most one row; no row is ErrNotFound.
func (t *tx) row(op, q string, args []any, dest ...any) error {
	err := t.pipeline(op, func(b *pgx.Batch) { b.Queue(q, args...) }, func(br pgx.BatchResults) error {
		return br.QueryRow().Scan(dest...)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return moat.ErrNotFound
	}
	return err
}

// lock takes a transaction-scoped advisory lock on a logical key.
func (t *tx) lock(op string, parts ...string) error {
	_, err := t.exec(op, `SELECT pg_advisory_xact_lock($1)`, lockKey(parts...))
	return err
}

// lockedRead reads a row FOR UPDATE. When it does not exist, it takes the
// advisory lock of its key and reads again: a concurrent transaction that
// inserts it after the same miss holds that lock until it commits, so the
// second reader waits and then sees the row instead of inserting a
// duplicate (e.g. two PutAccount calls for one new key).
func (t *tx) lockedRead(op string, key []string, read func() error) error {
	err := read()
	if !errors.Is(err, moat.ErrNotFound) {
		return err
	}
	if err := t.lock(op, key...); err != nil {
		return err
	}
	return read()
}

// insertEvents writes the queued events in one statement, in the order
// they were appended, and sets their Seq.
func (t *tx) insertEvents() error {
	if len(t.events) == 0 {
		return nil
	}
	n := len(t.events)
	times, recorded, periods := make([]int64, n), make([]int64, n), make([]int64, n)
	ids, accounts, regions, types, requests, reasons := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	subjects := make([]string, n)
	for i, e := range t.events {
		times[i], recorded[i], periods[i] = ms(e.Time), ms(e.RecordedAt), int64(e.Periods)
		ids[i], accounts[i], regions[i], types[i], requests[i], reasons[i] = e.InstanceID, e.AccountID, string(e.Region), string(e.Type), e.RequestID, e.Reason
		subjects[i] = e.Subject
	}
	var seqs []int64
	err := t.pipeline("append events", func(b *pgx.Batch) {
		b.Queue(`SELECT pg_advisory_xact_lock_shared($1)`, eventHorizonLock)
		// Rows are inserted, and their Seqs drawn, in ORDER BY order, which
		// RETURNING follows.
		b.Queue(`INSERT INTO events (time_ms, recorded_ms, instance_id, account_id, region, type, request_id, reason, periods, subject, instance_seq)
			SELECT e.t, e.r, e.id, e.acct, e.region, e.typ, e.req, e.reason, e.periods, e.subject,
				COALESCE((SELECT seq FROM instances WHERE instance_id = e.id), (SELECT seq FROM tombstones WHERE instance_id = e.id), 0)
			FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::bigint[], $10::text[])
				WITH ORDINALITY AS e (t, r, id, acct, region, typ, req, reason, periods, subject, ord)
			ORDER BY e.ord
			RETURNING seq`, times, recorded, ids, accounts, regions, types, requests, reasons, periods, subjects)
	}, func(br pgx.BatchResults) error {
		if _, err := br.Exec(); err != nil {
			return err
		}
		rows, err := br.Query()
		if err != nil {
			return err
		}
		seqs, err = pgx.CollectRows(rows, pgx.RowTo[int64])
		return err
	})
	if err != nil {
		return err
	}
	if len(seqs) != n {
		return t.wrap("append events", fmt.Errorf("postgres: %d events inserted, %d returned", n, len(seqs)))
	}
	for i, e := range t.events {
		if i > 0 && seqs[i] <= seqs[i-1] {
			return t.wrap("append events", fmt.Errorf("postgres: event seqs returned out of order: %d after %d", seqs[i], seqs[i-1]))
		}
		e.Seq = seqs[i]
	}
	return nil
}
