package sqlite

import (
	"context"
	"fmt"
	"strings"

	"moat/internal/moat"
	"moat/internal/store/sqlbuild"
)

// What the data plane measures of websites: request counters and attack
// events, written through the single writer like the port rules' figures.

// addWebTrafficSQL adds one sample to its (account, domain, bucket, node)
// row: every counter adds.
var addWebTrafficSQL = func() string {
	sets := make([]string, len(sqlbuild.WebTrafficCounters))
	for i, c := range sqlbuild.WebTrafficCounters {
		sets[i] = c + " = " + c + " + excluded." + c
	}
	return `INSERT INTO web_traffic_samples(` + sqlbuild.WebTrafficCols + `) VALUES (?` + strings.Repeat(", ?", 3+len(sqlbuild.WebTrafficCounters)) + `)
	ON CONFLICT(account_id, domain, bucket_ms, node) DO UPDATE SET ` + strings.Join(sets, ", ")
}()

// AddWebTraffic implements moat.Store: one operation of the writer; a
// sample given twice adds twice.
func (s *Store) AddWebTraffic(ctx context.Context, samples []moat.WebTrafficSample) error {
	if len(samples) == 0 {
		return nil
	}
	return s.main.update(ctx, false, func(w *writer) error {
		st, err := w.stmt(addWebTrafficSQL)
		if err != nil {
			return err
		}
		for i := range samples {
			x := &samples[i]
			args := []any{x.AccountID, x.Domain, ms(x.Bucket), x.Node}
			for _, v := range sqlbuild.WebTrafficValues(x) {
				args = append(args, v)
			}
			if _, err := st.Exec(args...); err != nil {
				return fmt.Errorf("sqlite: add web traffic: %w", err)
			}
		}
		return nil
	})
}

// PutWebAttackEvents implements moat.Store.
func (s *Store) PutWebAttackEvents(ctx context.Context, evs []moat.WebAttackEvent) error {
	if len(evs) == 0 {
		return nil
	}
	return s.main.update(ctx, false, func(w *writer) error {
		st, err := w.stmt(`INSERT INTO web_attack_events(` + sqlbuild.WebAttackCols + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT(node, account_id, domain, source, reason, start_ms) DO UPDATE SET
				end_ms = excluded.end_ms, peak = excluded.peak, blocked = excluded.blocked, watched = excluded.watched`)
		if err != nil {
			return err
		}
		for i := range evs {
			e := &evs[i]
			if _, err := st.Exec(e.Node, e.AccountID, e.Domain, e.Source, e.Reason, ms(e.Start), expiryMS(e.End),
				e.Peak, e.Blocked, e.Watched); err != nil {
				return fmt.Errorf("sqlite: put web attack events: %w", err)
			}
		}
		return nil
	})
}

// WebTraffic implements moat.Reader. A zero To leaves the range open.
func (s *Store) WebTraffic(ctx context.Context, f moat.WebTrafficFilter) ([]moat.WebTrafficSample, error) {
	q := `SELECT ` + sqlbuild.WebTrafficCols + ` FROM web_traffic_samples WHERE account_id = ? AND bucket_ms >= ?`
	args := []any{f.AccountID, ms(f.From)}
	if !f.To.IsZero() {
		q += ` AND bucket_ms < ?`
		args = append(args, ms(f.To))
	}
	if len(f.Domains) > 0 {
		q += ` AND domain IN (SELECT value FROM json_each(?))`
		args = append(args, jsonList(f.Domains))
	}
	rows, err := s.rquery(ctx, q+` ORDER BY bucket_ms, domain, node`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []moat.WebTrafficSample
	for rows.Next() {
		var x moat.WebTrafficSample
		var bucket int64
		if err := rows.Scan(append([]any{&x.AccountID, &x.Domain, &bucket, &x.Node}, sqlbuild.WebTrafficDest(&x)...)...); err != nil {
			return nil, err
		}
		x.Bucket = fromMS(bucket)
		out = append(out, x)
	}
	return out, rows.Err()
}

// WebAttackEvents implements moat.Reader. An open event (End zero) lasts
// to the end of time; a zero From or To leaves that side open.
func (s *Store) WebAttackEvents(ctx context.Context, f moat.WebAttackFilter) ([]moat.WebAttackEvent, error) {
	q := `SELECT ` + sqlbuild.WebAttackCols + ` FROM web_attack_events WHERE account_id = ?`
	args := []any{f.AccountID}
	if f.Domain != "" {
		q += ` AND domain = ?`
		args = append(args, f.Domain)
	}
	if !f.From.IsZero() {
		q += ` AND (end_ms = 0 OR end_ms >= ?)`
		args = append(args, ms(f.From))
	}
	if !f.To.IsZero() {
		q += ` AND start_ms < ?`
		args = append(args, ms(f.To))
	}
	rows, err := s.rquery(ctx, q+` ORDER BY start_ms DESC, domain, node, source, reason`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []moat.WebAttackEvent
	for rows.Next() {
		var e moat.WebAttackEvent
		var start, end int64
		if err := rows.Scan(&e.Node, &e.AccountID, &e.Domain, &e.Source, &e.Reason, &start, &end, &e.Peak, &e.Blocked, &e.Watched); err != nil {
			return nil, err
		}
		e.Start = fromMS(start)
		if end != 0 {
			e.End = fromMS(end)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}
