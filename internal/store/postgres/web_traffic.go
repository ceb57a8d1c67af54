package postgres

import (
	"cmp"
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"

	"moat/internal/moat"
	"moat/internal/store/sqlbuild"
)

// What the data plane measures of websites: request counters and attack
// events, each call one statement outside Update.

type webSampleKey struct {
	account, domain string
	bucket          int64
	node            string
}

func webSampleKeyOf(x *moat.WebTrafficSample) webSampleKey {
	return webSampleKey{x.AccountID, x.Domain, ms(x.Bucket), x.Node}
}

func compareWebSampleKeys(a, b webSampleKey) int {
	return cmp.Or(strings.Compare(a.account, b.account), strings.Compare(a.domain, b.domain), cmp.Compare(a.bucket, b.bucket),
		strings.Compare(a.node, b.node))
}

// mergeWebSamples adds samples of the same row together (one INSERT … ON
// CONFLICT may not touch a row twice) and sorts them by key, so concurrent
// calls lock shared rows in one order.
func mergeWebSamples(samples []moat.WebTrafficSample) []moat.WebTrafficSample {
	return foldByKey(samples, webSampleKeyOf, compareWebSampleKeys, func(m *moat.WebTrafficSample, x moat.WebTrafficSample) {
		dst, add := sqlbuild.WebTrafficDest(m), sqlbuild.WebTrafficValues(&x)
		for j, v := range add {
			*dst[j].(*int64) += v
		}
	})
}

// addWebTrafficSQL inserts the samples given as arrays (unnested into
// rows), every counter adding to a stored row.
var addWebTrafficSQL = func() string {
	n := len(sqlbuild.WebTrafficCounters)
	arrays := []string{"$1::text[]", "$2::text[]", "$3::bigint[]", "$4::text[]"}
	sets := make([]string, n)
	for i, c := range sqlbuild.WebTrafficCounters {
		arrays = append(arrays, fmt.Sprintf("$%d::bigint[]", 5+i))
		sets[i] = c + " = t." + c + " + excluded." + c
	}
	return `INSERT INTO web_traffic_samples AS t (` + sqlbuild.WebTrafficCols + `)
		SELECT * FROM unnest(` + strings.Join(arrays, ", ") + `)
		ON CONFLICT (account_id, domain, bucket_ms, node) DO UPDATE SET ` + strings.Join(sets, ", ")
}()

// AddWebTraffic implements moat.Store: the samples in one statement,
// which commits on its own.
func (s *Store) AddWebTraffic(ctx context.Context, samples []moat.WebTrafficSample) error {
	if len(samples) == 0 {
		return nil
	}
	samples = mergeWebSamples(samples)
	n := len(samples)
	accounts, domains, nodes, buckets := make([]string, n), make([]string, n), make([]string, n), make([]int64, n)
	counters := make([][]int64, len(sqlbuild.WebTrafficCounters))
	for j := range counters {
		counters[j] = make([]int64, n)
	}
	for i := range samples {
		x := &samples[i]
		accounts[i], domains[i], buckets[i], nodes[i] = x.AccountID, x.Domain, ms(x.Bucket), x.Node
		for j, v := range sqlbuild.WebTrafficValues(x) {
			counters[j][i] = v
		}
	}
	args := []any{accounts, domains, buckets, nodes}
	for _, c := range counters {
		args = append(args, c)
	}
	return s.read(ctx, "add web traffic", func(ctx context.Context, c *pgxpool.Conn) error {
		_, err := c.Exec(ctx, addWebTrafficSQL, args...)
		return err
	})
}

type webEventKey struct {
	node, account, domain, source, reason string
	start                                 int64
}

func webEventKeyOf(e *moat.WebAttackEvent) webEventKey {
	return webEventKey{e.Node, e.AccountID, e.Domain, e.Source, e.Reason, ms(e.Start)}
}

func compareWebEventKeys(a, b webEventKey) int {
	return cmp.Or(strings.Compare(a.node, b.node), strings.Compare(a.account, b.account), strings.Compare(a.domain, b.domain),
		strings.Compare(a.source, b.source), strings.Compare(a.reason, b.reason), cmp.Compare(a.start, b.start))
}

// PutWebAttackEvents implements moat.Store: one statement; of events
// given twice the last counts (as two puts would).
func (s *Store) PutWebAttackEvents(ctx context.Context, evs []moat.WebAttackEvent) error {
	if len(evs) == 0 {
		return nil
	}
	last := foldByKey(evs, webEventKeyOf, compareWebEventKeys, replaceWith[moat.WebAttackEvent])
	n := len(last)
	nodes, accounts, domains, sources, reasons := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	starts, ends, peaks, blocked, watched := make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
	for i := range last {
		e := &last[i]
		nodes[i], accounts[i], domains[i], sources[i], reasons[i] = e.Node, e.AccountID, e.Domain, e.Source, e.Reason
		starts[i], ends[i], peaks[i], blocked[i], watched[i] = ms(e.Start), expiryMS(e.End), e.Peak, e.Blocked, e.Watched
	}
	return s.read(ctx, "put web attack events", func(ctx context.Context, c *pgxpool.Conn) error {
		_, err := c.Exec(ctx, `INSERT INTO web_attack_events AS t (`+sqlbuild.WebAttackCols+`)
			SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::bigint[], $8::bigint[],
				$9::bigint[], $10::bigint[])
			ON CONFLICT (node, account_id, domain, source, reason, start_ms) DO UPDATE SET
				end_ms = excluded.end_ms, peak = excluded.peak, blocked = excluded.blocked, watched = excluded.watched`,
			nodes, accounts, domains, sources, reasons, starts, ends, peaks, blocked, watched)
		return err
	})
}

// WebTraffic implements moat.Reader. A zero To leaves the range open.
func (s *Store) WebTraffic(ctx context.Context, f moat.WebTrafficFilter) ([]moat.WebTrafficSample, error) {
	var p params
	q := `SELECT ` + sqlbuild.WebTrafficCols + ` FROM web_traffic_samples WHERE account_id = ` + p.add(f.AccountID) +
		` AND bucket_ms >= ` + p.add(ms(f.From))
	if !f.To.IsZero() {
		q += ` AND bucket_ms < ` + p.add(ms(f.To))
	}
	if len(f.Domains) > 0 {
		q += ` AND domain = ANY(` + p.add(f.Domains) + `::text[])`
	}
	q += ` ORDER BY bucket_ms, domain, node`
	var out []moat.WebTrafficSample
	err := s.read(ctx, "web traffic", func(ctx context.Context, c *pgxpool.Conn) error {
		out = out[:0]
		rows, err := c.Query(ctx, q, p...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var x moat.WebTrafficSample
			var bucket int64
			if err := rows.Scan(append([]any{&x.AccountID, &x.Domain, &bucket, &x.Node}, sqlbuild.WebTrafficDest(&x)...)...); err != nil {
				return err
			}
			x.Bucket = fromMS(bucket)
			out = append(out, x)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// WebAttackEvents implements moat.Reader. An open event (End zero) lasts
// to the end of time; a zero From or To leaves that side open.
func (s *Store) WebAttackEvents(ctx context.Context, f moat.WebAttackFilter) ([]moat.WebAttackEvent, error) {
	var p params
	q := `SELECT ` + sqlbuild.WebAttackCols + ` FROM web_attack_events WHERE account_id = ` + p.add(f.AccountID)
	if f.Domain != "" {
		q += ` AND domain = ` + p.add(f.Domain)
	}
	if !f.From.IsZero() {
		q += ` AND (end_ms = 0 OR end_ms >= ` + p.add(ms(f.From)) + `)`
	}
	if !f.To.IsZero() {
		q += ` AND start_ms < ` + p.add(ms(f.To))
	}
	q += ` ORDER BY start_ms DESC, domain, node, source, reason`
	var out []moat.WebAttackEvent
	err := s.read(ctx, "web attack events", func(ctx context.Context, c *pgxpool.Conn) error {
		out = out[:0]
		rows, err := c.Query(ctx, q, p...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var e moat.WebAttackEvent
			var start, end int64
			if err := rows.Scan(&e.Node, &e.AccountID, &e.Domain, &e.Source, &e.Reason, &start, &end, &e.Peak, &e.Blocked, &e.Watched); err != nil {
				return err
			}
			e.Start = fromMS(start)
			if end != 0 {
				e.End = fromMS(end)
			}
			out = append(out, e)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
