package postgres

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"moat/internal/moat"
	"moat/internal/store/sqlbuild"
)

// The data plane's side: what it forwards by (ForwardingConfig, read in
// one REPEATABLE READ transaction so that its parts agree), and the
// traffic samples and mitigation events it reports, each call one
// statement outside Update (every data-plane process writes every second).

type sampleKey struct {
	moat.PortKey
	bucket int64
	node   string
}

func compareSampleKeys(a, b sampleKey) int {
	return cmp.Or(strings.Compare(a.InstanceID, b.InstanceID), strings.Compare(a.Protocol, b.Protocol), cmp.Compare(a.FrontendPort, b.FrontendPort),
		cmp.Compare(a.bucket, b.bucket), strings.Compare(a.node, b.node))
}

// mergeSamples folds samples of the same row together as the stored row
// would fold them (one INSERT … ON CONFLICT may not touch a row twice) and
// sorts them by key, so concurrent calls lock shared rows in one order.
func mergeSamples(samples []moat.TrafficSample) []moat.TrafficSample {
	keyOf := func(x *moat.TrafficSample) sampleKey { return sampleKey{x.PortKey, ms(x.Bucket), x.Node} }
	return foldByKey(samples, keyOf, compareSampleKeys, func(m *moat.TrafficSample, x moat.TrafficSample) {
		m.InBytes += x.InBytes
		m.OutBytes += x.OutBytes
		m.InPackets += x.InPackets
		m.OutPackets += x.OutPackets
		m.NewConns += x.NewConns
		m.Dropped += x.Dropped
		m.ActiveConns, m.InactiveConns = x.ActiveConns, x.InactiveConns
		m.MaxConns = max(m.MaxConns, x.MaxConns)
	})
}

// foldByKey folds the items of one key into the first of them, in the
// order given, and sorts the result by key: what a batch of upserts does
// to its rows, for a statement that may touch a row only once and should
// lock rows in one order.
func foldByKey[T any, K comparable](xs []T, key func(*T) K, compare func(a, b K) int, fold func(dst *T, x T)) []T {
	idx := make(map[K]int, len(xs))
	out := make([]T, 0, len(xs))
	for _, x := range xs {
		k := key(&x)
		if i, ok := idx[k]; ok {
			fold(&out[i], x)
			continue
		}
		idx[k] = len(out)
		out = append(out, x)
	}
	slices.SortFunc(out, func(a, b T) int { return compare(key(&a), key(&b)) })
	return out
}

// replaceWith is the fold of events: the last given counts.
func replaceWith[T any](dst *T, x T) { *dst = x }

// AddTraffic implements moat.Store: the samples in one statement (arrays
// unnested into rows), which commits on its own.
func (s *Store) AddTraffic(ctx context.Context, samples []moat.TrafficSample) error {
	if len(samples) == 0 {
		return nil
	}
	samples = mergeSamples(samples)
	n := len(samples)
	ids, protos, nodes := make([]string, n), make([]string, n), make([]string, n)
	ports, buckets := make([]int64, n), make([]int64, n)
	inB, outB, inP, outP := make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
	newC, actC, inactC, maxC, drop := make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
	for i := range samples {
		x := &samples[i]
		ids[i], protos[i], ports[i], buckets[i], nodes[i] = x.InstanceID, x.Protocol, int64(x.FrontendPort), ms(x.Bucket), x.Node
		inB[i], outB[i], inP[i], outP[i] = x.InBytes, x.OutBytes, x.InPackets, x.OutPackets
		newC[i], actC[i], inactC[i], maxC[i], drop[i] = x.NewConns, x.ActiveConns, x.InactiveConns, x.MaxConns, x.Dropped
	}
	return s.read(ctx, "add traffic", func(ctx context.Context, c *pgxpool.Conn) error {
		_, err := c.Exec(ctx, `INSERT INTO traffic_samples AS t (`+sqlbuild.TrafficCols+`)
			SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::text[], $6::bigint[], $7::bigint[], $8::bigint[],
				$9::bigint[], $10::bigint[], $11::bigint[], $12::bigint[], $13::bigint[], $14::bigint[])
			ON CONFLICT (instance_id, protocol, frontend_port, bucket_ms, node) DO UPDATE SET
				in_bytes = t.in_bytes + excluded.in_bytes, out_bytes = t.out_bytes + excluded.out_bytes,
				in_packets = t.in_packets + excluded.in_packets, out_packets = t.out_packets + excluded.out_packets,
				new_conns = t.new_conns + excluded.new_conns, active_conns = excluded.active_conns,
				inactive_conns = excluded.inactive_conns, max_conns = GREATEST(t.max_conns, excluded.max_conns),
				dropped = t.dropped + excluded.dropped`,
			ids, protos, ports, buckets, nodes, inB, outB, inP, outP, newC, actC, inactC, maxC, drop)
		return err
	})
}

type eventKey struct {
	moat.PortKey
	node, source, limit string
	start               int64
}

func eventKeyOf(e *moat.MitigationEvent) eventKey {
	return eventKey{e.PortKey, e.Node, e.Source, e.Limit, ms(e.Start)}
}

func compareEventKeys(a, b eventKey) int {
	return cmp.Or(strings.Compare(a.InstanceID, b.InstanceID), strings.Compare(a.Protocol, b.Protocol), cmp.Compare(a.FrontendPort, b.FrontendPort),
		strings.Compare(a.node, b.node), strings.Compare(a.source, b.source), strings.Compare(a.limit, b.limit), cmp.Compare(a.start, b.start))
}

// lastEvents keeps the last of events given twice (as two puts would) and
// sorts them by key.
func lastEvents(evs []moat.MitigationEvent) []moat.MitigationEvent {
	return foldByKey(evs, eventKeyOf, compareEventKeys, replaceWith[moat.MitigationEvent])
}

// PutMitigationEvents implements moat.Store: one statement.
func (s *Store) PutMitigationEvents(ctx context.Context, evs []moat.MitigationEvent) error {
	if len(evs) == 0 {
		return nil
	}
	evs = lastEvents(evs)
	n := len(evs)
	ids, protos, nodes, sources, limits := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	ports, starts, ends, peaks, drops := make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
	for i := range evs {
		e := &evs[i]
		ids[i], protos[i], ports[i], nodes[i], sources[i], limits[i] = e.InstanceID, e.Protocol, int64(e.FrontendPort), e.Node, e.Source, e.Limit
		starts[i], ends[i], peaks[i], drops[i] = ms(e.Start), expiryMS(e.End), e.Peak, e.Dropped
	}
	return s.read(ctx, "put mitigation events", func(ctx context.Context, c *pgxpool.Conn) error {
		_, err := c.Exec(ctx, `INSERT INTO mitigation_events (`+sqlbuild.MitigationCols+`)
			SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::bigint[], $8::bigint[],
				$9::bigint[], $10::bigint[])
			ON CONFLICT (instance_id, protocol, frontend_port, node, source, limit_name, start_ms) DO UPDATE SET
				end_ms = excluded.end_ms, peak = excluded.peak, dropped = excluded.dropped`,
			ids, protos, ports, nodes, sources, limits, starts, ends, peaks, drops)
		return err
	})
}

// PurgeTraffic implements moat.Store: samples first, then ended events,
// max in all (no bound when max <= 0); rows another purge is deleting are
// skipped.
func (s *Store) PurgeTraffic(ctx context.Context, before time.Time, max int) (int, error) {
	var n int64
	err := s.read(ctx, "purge traffic", func(ctx context.Context, c *pgxpool.Conn) error {
		n = 0
		tag, err := c.Exec(ctx, `DELETE FROM traffic_samples WHERE (instance_id, protocol, frontend_port, bucket_ms, node) IN (
			SELECT instance_id, protocol, frontend_port, bucket_ms, node FROM traffic_samples
			WHERE bucket_ms < $1 ORDER BY bucket_ms LIMIT $2 FOR UPDATE SKIP LOCKED)`, ms(before), limitArg(max))
		if err != nil {
			return err
		}
		n = tag.RowsAffected()
		rest := 0
		if max > 0 {
			if rest = max - int(n); rest <= 0 {
				return nil
			}
		}
		tag, err = c.Exec(ctx, `DELETE FROM mitigation_events WHERE (instance_id, protocol, frontend_port, node, source, limit_name, start_ms) IN (
			SELECT instance_id, protocol, frontend_port, node, source, limit_name, start_ms FROM mitigation_events
			WHERE end_ms <> 0 AND end_ms < $1 ORDER BY end_ms LIMIT $2 FOR UPDATE SKIP LOCKED)`, ms(before), limitArg(rest))
		n += tag.RowsAffected()
		return err
	})
	return int(n), err
}

// lastEventSeqBatch queues the read of the last event Seq. The batch is
// one implicit transaction: the horizon lock, taken exclusively by the
// first statement, is held while the second reads (on a snapshot taken
// after the lock was granted), so every event with a Seq up to the one
// returned has committed (see eventHorizonLock), and a change whose event
// commits later has a larger Seq.
func lastEventSeqBatch(b *pgx.Batch, seq *int64) {
	b.Queue(`SELECT pg_advisory_xact_lock($1)`, eventHorizonLock)
	b.Queue(`SELECT COALESCE(max(seq), 0) FROM events`).QueryRow(func(row pgx.Row) error { return row.Scan(seq) })
}

// LastEventSeq implements moat.Reader: one round trip.
func (s *Store) LastEventSeq(ctx context.Context) (int64, error) {
	var seq int64
	err := s.read(ctx, "last event seq", func(ctx context.Context, c *pgxpool.Conn) error {
		b := &pgx.Batch{}
		lastEventSeqBatch(b, &seq)
		return c.SendBatch(ctx, b).Close()
	})
	return seq, err
}

// ForwardingConfig implements moat.Reader: LastEventSeq, then the rest in
// one read-only REPEATABLE READ transaction begun after it (its snapshot
// holds every change recorded up to Seq), its six queries sent together.
func (s *Store) ForwardingConfig(ctx context.Context) (moat.ForwardingConfig, error) {
	var cfg moat.ForwardingConfig
	err := s.read(ctx, "forwarding config", func(ctx context.Context, c *pgxpool.Conn) error {
		cfg = moat.ForwardingConfig{UDPReflect: map[string][]int{}}
		b := &pgx.Batch{}
		lastEventSeqBatch(b, &cfg.Seq)
		if err := c.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
		ptx, err := c.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
		if err != nil {
			return err
		}
		defer ptx.Rollback(ctx)
		memo := sqlbuild.NewMemo()
		b = &pgx.Batch{}
		b.Queue(`SELECT ` + sqlbuild.InstanceCols + ` FROM instances
			WHERE instance_id IN (SELECT instance_id FROM port_rules UNION SELECT instance_id FROM web_rule_instances) ORDER BY instance_id`).Query(func(rows pgx.Rows) error {
			for rows.Next() {
				var in moat.Instance
				dest, done := instanceDestMemo(&in, memo)
				if err := rows.Scan(dest...); err != nil {
					return err
				}
				if err := done(); err != nil {
					return err
				}
				cfg.Instances = append(cfg.Instances, in)
			}
			return rows.Err()
		})
		b.Queue(`SELECT ` + sqlbuild.PortRuleCols + ` FROM port_rules
			WHERE instance_id IN (SELECT instance_id FROM instances) ORDER BY instance_id, protocol, frontend_port`).Query(func(rows pgx.Rows) error {
			for rows.Next() {
				var r moat.PortRule
				dest, done := portRuleDestMemo(&r, memo)
				if err := rows.Scan(dest...); err != nil {
					return err
				}
				if err := done(); err != nil {
					return err
				}
				cfg.Rules = append(cfg.Rules, r)
			}
			return rows.Err()
		})
		b.Queue(`SELECT ` + sqlbuild.SourceCols + ` FROM source_entries
			WHERE instance_id IN (SELECT r.instance_id FROM port_rules r JOIN instances i ON i.instance_id = r.instance_id)
			ORDER BY instance_id, list, ip`).Query(func(rows pgx.Rows) error {
			for rows.Next() {
				e, err := scanSource(rows)
				if err != nil {
					return err
				}
				cfg.Entries = append(cfg.Entries, e)
			}
			return rows.Err()
		})
		b.Queue(webRuleSelect + ` WHERE ` + sqlbuild.LiveWebRule + ` ORDER BY w.account_id, w.domain`).Query(func(rows pgx.Rows) error {
			var err error
			cfg.Webs, err = collectWebRules(rows)
			return err
		})
		b.Queue(`SELECT cert_id, ` + sqlbuild.CertCols + ` FROM certs
			WHERE cert_id IN (SELECT w.cert_id FROM web_rules w WHERE w.cert_id != 0 AND ` + sqlbuild.LiveWebRule + `) ORDER BY cert_id`).Query(func(rows pgx.Rows) error {
			for rows.Next() {
				var c moat.Cert
				dest, done := certDest(&c)
				if err := rows.Scan(dest...); err != nil {
					return err
				}
				done()
				cfg.Certs = append(cfg.Certs, c)
			}
			return rows.Err()
		})
		b.Queue(`SELECT instance_id, ports FROM udp_reflect
			WHERE instance_id IN (SELECT r.instance_id FROM port_rules r JOIN instances i ON i.instance_id = r.instance_id)`).Query(func(rows pgx.Rows) error {
			for rows.Next() {
				var id, v string
				if err := rows.Scan(&id, &v); err != nil {
					return err
				}
				var ports []int
				if err := sqlbuild.DecodeJSON(v, &ports); err != nil {
					return err
				}
				if len(ports) > 0 {
					cfg.UDPReflect[id] = ports
				}
			}
			return rows.Err()
		})
		if err := ptx.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
		return ptx.Commit(ctx)
	})
	if err != nil {
		return moat.ForwardingConfig{}, err
	}
	return cfg, nil
}

// Traffic implements moat.Reader. A zero To leaves the range open.
func (s *Store) Traffic(ctx context.Context, f moat.TrafficFilter) ([]moat.TrafficSample, error) {
	if len(f.InstanceIDs) == 0 {
		return nil, nil
	}
	var p params
	q := `SELECT ` + sqlbuild.TrafficCols + ` FROM traffic_samples WHERE instance_id = ANY(` + p.add(f.InstanceIDs) + `::text[])` +
		` AND bucket_ms >= ` + p.add(ms(f.From))
	if !f.To.IsZero() {
		q += ` AND bucket_ms < ` + p.add(ms(f.To))
	}
	if f.Protocol != "" {
		q += ` AND protocol = ` + p.add(f.Protocol)
	}
	if f.FrontendPort != 0 {
		q += ` AND frontend_port = ` + p.add(int64(f.FrontendPort))
	}
	q += ` ORDER BY bucket_ms, instance_id, protocol, frontend_port, node`
	var out []moat.TrafficSample
	err := s.read(ctx, "traffic", func(ctx context.Context, c *pgxpool.Conn) error {
		out = out[:0]
		rows, err := c.Query(ctx, q, p...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var x moat.TrafficSample
			var port, bucket int64
			if err := rows.Scan(&x.InstanceID, &x.Protocol, &port, &bucket, &x.Node, &x.InBytes, &x.OutBytes, &x.InPackets, &x.OutPackets,
				&x.NewConns, &x.ActiveConns, &x.InactiveConns, &x.MaxConns, &x.Dropped); err != nil {
				return err
			}
			x.FrontendPort, x.Bucket = int(port), fromMS(bucket)
			out = append(out, x)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// MitigationEvents implements moat.Reader. An open event (End zero) lasts
// to the end of time; a zero From or To leaves that side open.
func (s *Store) MitigationEvents(ctx context.Context, f moat.MitigationFilter) ([]moat.MitigationEvent, int64, error) {
	if len(f.InstanceIDs) == 0 {
		return nil, 0, nil
	}
	var p params
	where := ` FROM mitigation_events WHERE instance_id = ANY(` + p.add(f.InstanceIDs) + `::text[])`
	if !f.From.IsZero() {
		where += ` AND (end_ms = 0 OR end_ms >= ` + p.add(ms(f.From)) + `)`
	}
	if !f.To.IsZero() {
		where += ` AND start_ms < ` + p.add(ms(f.To))
	}
	lp := append(params{}, p...)
	list := `SELECT ` + sqlbuild.MitigationCols + where +
		` ORDER BY start_ms DESC, instance_id, protocol, frontend_port, node, source, limit_name LIMIT ` + lp.add(limitArg(f.Limit)) +
		` OFFSET ` + lp.add(int64(max(f.Offset, 0)))
	var out []moat.MitigationEvent
	n, err := s.page(ctx, "mitigation events", `SELECT COUNT(*)`+where, p, list, lp, func(rows pgx.Rows) error {
		defer rows.Close()
		out = out[:0]
		for rows.Next() {
			var e moat.MitigationEvent
			var port, start, end int64
			if err := rows.Scan(&e.InstanceID, &e.Protocol, &port, &e.Node, &e.Source, &e.Limit, &start, &end, &e.Peak, &e.Dropped); err != nil {
				return err
			}
			e.FrontendPort, e.Start = int(port), fromMS(start)
			if end != 0 {
				e.End = fromMS(end)
			}
			out = append(out, e)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, 0, err
	}
	return out, n, nil
}
