package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"moat/internal/moat"
	"moat/internal/store/sqlbuild"
)

// The data plane's side: what it forwards by (ForwardingConfig, read in
// one read transaction so that its parts agree), and the traffic samples
// and mitigation events it reports, written through the single writer
// like every other write of the main database.

// addTrafficSQL adds one sample to its (rule, bucket, node) row: counters
// add, gauges replace, the peak keeps the larger.
const addTrafficSQL = `INSERT INTO traffic_samples(` + sqlbuild.TrafficCols + `)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
	ON CONFLICT(instance_id, protocol, frontend_port, bucket_ms, node) DO UPDATE SET
		in_bytes = in_bytes + excluded.in_bytes, out_bytes = out_bytes + excluded.out_bytes,
		in_packets = in_packets + excluded.in_packets, out_packets = out_packets + excluded.out_packets,
		new_conns = new_conns + excluded.new_conns, active_conns = excluded.active_conns,
		inactive_conns = excluded.inactive_conns, max_conns = max(max_conns, excluded.max_conns),
		dropped = dropped + excluded.dropped`

// AddTraffic implements moat.Store: one operation of the writer (so it
// shares a commit with concurrent writes), one prepared statement run per
// sample; a sample given twice adds twice.
func (s *Store) AddTraffic(ctx context.Context, samples []moat.TrafficSample) error {
	if len(samples) == 0 {
		return nil
	}
	return s.main.update(ctx, false, func(w *writer) error {
		st, err := w.stmt(addTrafficSQL)
		if err != nil {
			return err
		}
		for i := range samples {
			x := &samples[i]
			if _, err := st.Exec(x.InstanceID, x.Protocol, x.FrontendPort, ms(x.Bucket), x.Node, x.InBytes, x.OutBytes, x.InPackets, x.OutPackets,
				x.NewConns, x.ActiveConns, x.InactiveConns, x.MaxConns, x.Dropped); err != nil {
				return fmt.Errorf("sqlite: add traffic: %w", err)
			}
		}
		return nil
	})
}

// PutMitigationEvents implements moat.Store.
func (s *Store) PutMitigationEvents(ctx context.Context, evs []moat.MitigationEvent) error {
	if len(evs) == 0 {
		return nil
	}
	return s.main.update(ctx, false, func(w *writer) error {
		st, err := w.stmt(`INSERT INTO mitigation_events(` + sqlbuild.MitigationCols + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT(instance_id, protocol, frontend_port, node, source, limit_name, start_ms) DO UPDATE SET
				end_ms = excluded.end_ms, peak = excluded.peak, dropped = excluded.dropped`)
		if err != nil {
			return err
		}
		for i := range evs {
			e := &evs[i]
			if _, err := st.Exec(e.InstanceID, e.Protocol, e.FrontendPort, e.Node, e.Source, e.Limit, ms(e.Start), expiryMS(e.End),
				e.Peak, e.Dropped); err != nil {
				return fmt.Errorf("sqlite: put mitigation events: %w", err)
			}
		}
		return nil
	})
}

// PurgeTraffic implements moat.Store: samples first, then ended events,
// max in all (no bound when max <= 0).
func (s *Store) PurgeTraffic(ctx context.Context, before time.Time, max int) (int, error) {
	var n int64
	err := s.main.update(ctx, false, func(w *writer) error {
		n = 0
		st, err := w.stmt(`DELETE FROM traffic_samples WHERE (instance_id, protocol, frontend_port, bucket_ms, node) IN (
			SELECT instance_id, protocol, frontend_port, bucket_ms, node FROM traffic_samples WHERE bucket_ms < ? ORDER BY bucket_ms` + limit(max) + `)`)
		if err != nil {
			return err
		}
		res, err := st.Exec(ms(before))
		if err != nil {
			return err
		}
		if n, err = res.RowsAffected(); err != nil {
			return err
		}
		rest := 0
		if max > 0 {
			if rest = max - int(n); rest <= 0 {
				return nil
			}
		}
		st, err = w.stmt(`DELETE FROM mitigation_events WHERE (instance_id, protocol, frontend_port, node, source, limit_name, start_ms) IN (
			SELECT instance_id, protocol, frontend_port, node, source, limit_name, start_ms FROM mitigation_events
			WHERE end_ms != 0 AND end_ms < ? ORDER BY end_ms` + limit(rest) + `)`)
		if err != nil {
			return err
		}
		res, err = st.Exec(ms(before))
		if err != nil {
			return err
		}
		m, err := res.RowsAffected()
		n += m
		return err
	})
	return int(n), err
}

// LastEventSeq implements moat.Reader: the largest key of events. The
// single writer commits events in Seq order, so no smaller Seq can appear
// later.
func (s *Store) LastEventSeq(ctx context.Context) (int64, error) {
	row, err := s.queryRow(ctx, lastEventSeqSQL)
	if err != nil {
		return 0, err
	}
	var seq int64
	return seq, row.Scan(&seq)
}

const lastEventSeqSQL = `SELECT COALESCE(MAX(seq), 0) FROM events`

// ForwardingConfig implements moat.Reader: seven queries in one read
// transaction (one WAL snapshot, taken by the first of them).
func (s *Store) ForwardingConfig(ctx context.Context) (moat.ForwardingConfig, error) {
	cfg := moat.ForwardingConfig{UDPReflect: map[string][]int{}}
	tx, err := s.rdb.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return cfg, err
	}
	defer tx.Rollback()
	if err := tx.QueryRowContext(ctx, lastEventSeqSQL).Scan(&cfg.Seq); err != nil {
		return cfg, err
	}
	rows, err := tx.QueryContext(ctx, `SELECT `+sqlbuild.InstanceCols+` FROM instances
		WHERE instance_id IN (SELECT instance_id FROM port_rules UNION SELECT instance_id FROM web_rule_instances) ORDER BY instance_id`)
	if err != nil {
		return cfg, err
	}
	memo := sqlbuild.NewMemo()
	if cfg.Instances, err = collect(rows, func(sc scanner) (moat.Instance, error) { return scanInstanceMemo(sc, memo) }); err != nil {
		return cfg, err
	}
	rows, err = tx.QueryContext(ctx, `SELECT `+sqlbuild.PortRuleCols+` FROM port_rules
		WHERE instance_id IN (SELECT instance_id FROM instances) ORDER BY instance_id, protocol, frontend_port`)
	if err != nil {
		return cfg, err
	}
	if cfg.Rules, err = collect(rows, func(sc scanner) (moat.PortRule, error) { return scanPortRuleMemo(sc, memo) }); err != nil {
		return cfg, err
	}
	rows, err = tx.QueryContext(ctx, `SELECT `+sqlbuild.SourceCols+` FROM source_entries
		WHERE instance_id IN (SELECT r.instance_id FROM port_rules r JOIN instances i ON i.instance_id = r.instance_id)
		ORDER BY instance_id, list, ip`)
	if err != nil {
		return cfg, err
	}
	if cfg.Entries, err = collect(rows, scanSource); err != nil {
		return cfg, err
	}
	rows, err = tx.QueryContext(ctx, webRuleSelect+` WHERE `+sqlbuild.LiveWebRule+` ORDER BY w.account_id, w.domain`)
	if err != nil {
		return cfg, err
	}
	if cfg.Webs, err = collectWebRules(rows); err != nil {
		return cfg, err
	}
	rows, err = tx.QueryContext(ctx, `SELECT cert_id, `+sqlbuild.CertCols+` FROM certs
		WHERE cert_id IN (SELECT w.cert_id FROM web_rules w WHERE w.cert_id != 0 AND `+sqlbuild.LiveWebRule+`) ORDER BY cert_id`)
	if err != nil {
		return cfg, err
	}
	if cfg.Certs, err = collect(rows, scanCert); err != nil {
		return cfg, err
	}
	rows, err = tx.QueryContext(ctx, `SELECT instance_id, ports FROM udp_reflect
		WHERE instance_id IN (SELECT r.instance_id FROM port_rules r JOIN instances i ON i.instance_id = r.instance_id)`)
	if err != nil {
		return cfg, err
	}
	defer rows.Close()
	for rows.Next() {
		var id, v string
		if err := rows.Scan(&id, &v); err != nil {
			return cfg, err
		}
		var ports []int
		if err := sqlbuild.DecodeJSON(v, &ports); err != nil {
			return cfg, err
		}
		if len(ports) > 0 {
			cfg.UDPReflect[id] = ports
		}
	}
	if err := rows.Err(); err != nil {
		return cfg, err
	}
	return cfg, tx.Commit()
}

// collect scans every row with scan.
func collect[T any](rows *sql.Rows, scan func(scanner) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		e, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// Traffic implements moat.Reader.
func (s *Store) Traffic(ctx context.Context, f moat.TrafficFilter) ([]moat.TrafficSample, error) {
	if len(f.InstanceIDs) == 0 {
		return nil, nil
	}
	q := `SELECT ` + sqlbuild.TrafficCols + ` FROM traffic_samples WHERE instance_id IN (SELECT value FROM json_each(?)) AND bucket_ms >= ?`
	args := []any{jsonList(f.InstanceIDs), ms(f.From)}
	if !f.To.IsZero() {
		q += ` AND bucket_ms < ?`
		args = append(args, ms(f.To))
	}
	if f.Protocol != "" {
		q += ` AND protocol = ?`
		args = append(args, f.Protocol)
	}
	if f.FrontendPort != 0 {
		q += ` AND frontend_port = ?`
		args = append(args, f.FrontendPort)
	}
	rows, err := s.rquery(ctx, q+` ORDER BY bucket_ms, instance_id, protocol, frontend_port, node`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []moat.TrafficSample
	for rows.Next() {
		var x moat.TrafficSample
		var bucket int64
		if err := rows.Scan(&x.InstanceID, &x.Protocol, &x.FrontendPort, &bucket, &x.Node, &x.InBytes, &x.OutBytes, &x.InPackets, &x.OutPackets,
			&x.NewConns, &x.ActiveConns, &x.InactiveConns, &x.MaxConns, &x.Dropped); err != nil {
			return nil, err
		}
		x.Bucket = fromMS(bucket)
		out = append(out, x)
	}
	return out, rows.Err()
}

// MitigationEvents implements moat.Reader. An open event (End zero) lasts
// to the end of time; a zero From or To leaves that side open.
func (s *Store) MitigationEvents(ctx context.Context, f moat.MitigationFilter) ([]moat.MitigationEvent, int64, error) {
	if len(f.InstanceIDs) == 0 {
		return nil, 0, nil
	}
	where := ` FROM mitigation_events WHERE instance_id IN (SELECT value FROM json_each(?))`
	args := []any{jsonList(f.InstanceIDs)}
	if !f.From.IsZero() {
		where += ` AND (end_ms = 0 OR end_ms >= ?)`
		args = append(args, ms(f.From))
	}
	if !f.To.IsZero() {
		where += ` AND start_ms < ?`
		args = append(args, ms(f.To))
	}
	n, past, err := s.pageCount(ctx, where, args, f.Offset)
	if err != nil || past {
		return nil, n, err
	}
	rows, err := s.rquery(ctx, `SELECT `+sqlbuild.MitigationCols+where+
		` ORDER BY start_ms DESC, instance_id, protocol, frontend_port, node, source, limit_name`+limit(f.Limit)+` OFFSET ?`,
		append(args, max(f.Offset, 0))...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var out []moat.MitigationEvent
	for rows.Next() {
		var e moat.MitigationEvent
		var start, end int64
		if err := rows.Scan(&e.InstanceID, &e.Protocol, &e.FrontendPort, &e.Node, &e.Source, &e.Limit, &start, &end, &e.Peak, &e.Dropped); err != nil {
			return nil, 0, err
		}
		e.Start = fromMS(start)
		if end != 0 {
			e.End = fromMS(end)
		}
		out = append(out, e)
	}
	return out, n, rows.Err()
}
