package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"moat/internal/moat"
)

func (s *Store) queryRow(ctx context.Context, q string, args ...any) (*sql.Row, error) {
	return s.rqueryRow(ctx, q, args...)
}

// AccessKey implements moat.Reader.
func (s *Store) AccessKey(ctx context.Context, id string) (moat.AccessKey, error) {
	row, err := s.queryRow(ctx, `SELECT `+keyCols+` FROM access_keys WHERE access_key_id = ?`, id)
	if err != nil {
		return moat.AccessKey{}, err
	}
	return scanKey(row)
}

// Account implements moat.Reader.
func (s *Store) Account(ctx context.Context, id string) (moat.Account, error) {
	row, err := s.queryRow(ctx, `SELECT account_id, created_ms FROM accounts WHERE account_id = ?`, id)
	if err != nil {
		return moat.Account{}, err
	}
	var a moat.Account
	var created int64
	err = row.Scan(&a.ID, &created)
	a.CreatedAt = fromMS(created)
	return a, notFound(err)
}

// Instance implements moat.Reader.
func (s *Store) Instance(ctx context.Context, id string) (moat.Instance, error) {
	row, err := s.queryRow(ctx, `SELECT `+instanceCols+` FROM instances WHERE instance_id = ?`, id)
	if err != nil {
		return moat.Instance{}, err
	}
	return scanInstance(row)
}

// where renders an instance filter. The SQL text depends only on which
// filters are present (lists travel as one JSON argument), so the number of
// distinct statements, and of cached prepared statements, stays small.
func where(f *moat.InstanceFilter) (string, []any) {
	var b strings.Builder
	args := []any{f.AccountID, string(f.Region)}
	b.WriteString(` WHERE account_id = ? AND region = ?`)
	if f.IDs != nil {
		ids, _ := json.Marshal(f.IDs)
		b.WriteString(` AND instance_id IN (SELECT value FROM json_each(?))`)
		args = append(args, string(ids))
	}
	if f.IP != "" {
		b.WriteString(` AND ip = ?`)
		args = append(args, f.IP)
	}
	if f.RemarkContains != "" {
		// Case-sensitive substring, identical on every store.
		b.WriteString(` AND instr(remark, ?) > 0`)
		args = append(args, f.RemarkContains)
	}
	if f.Edition != nil {
		b.WriteString(` AND edition = ?`)
		args = append(args, *f.Edition)
	}
	if f.ExpireFrom != nil {
		b.WriteString(` AND expire_ms >= ?`)
		args = append(args, ms(*f.ExpireFrom))
	}
	if f.ExpireBefore != nil {
		b.WriteString(` AND expire_ms < ?`)
		args = append(args, ms(*f.ExpireBefore))
	}
	if f.ResourceGroupID != "" {
		b.WriteString(` AND resource_group_id = ?`)
		args = append(args, f.ResourceGroupID)
	}
	for _, tg := range f.Tags {
		if tg.HasValue {
			b.WriteString(` AND instance_id IN (SELECT instance_id FROM instance_tags WHERE key = ? AND value = ?)`)
			args = append(args, tg.Key, tg.Value)
		} else {
			b.WriteString(` AND instance_id IN (SELECT instance_id FROM instance_tags WHERE key = ?)`)
			args = append(args, tg.Key)
		}
	}
	return b.String(), args
}

// Instances implements moat.Reader.
func (s *Store) Instances(ctx context.Context, f moat.InstanceFilter) ([]moat.Instance, error) {
	w, args := where(&f)
	q := `SELECT ` + instanceCols + ` FROM instances` + w + ` ORDER BY seq`
	if f.Limit > 0 || f.Offset > 0 {
		q += ` LIMIT ? OFFSET ?`
		limit := f.Limit
		if limit <= 0 {
			limit = -1
		}
		args = append(args, limit, f.Offset)
	}
	rows, err := s.rquery(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return collectInstances(rows)
}

// CountInstances implements moat.Reader.
func (s *Store) CountInstances(ctx context.Context, f moat.InstanceFilter) (int64, error) {
	var n int64
	if f.Unfiltered() {
		row, err := s.queryRow(ctx, `SELECT n FROM instance_counts WHERE account_id = ? AND region = ?`, f.AccountID, string(f.Region))
		if err != nil {
			return 0, err
		}
		if err := row.Scan(&n); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return 0, err
		}
		return n, nil
	}
	w, args := where(&f)
	row, err := s.queryRow(ctx, `SELECT COUNT(*) FROM instances`+w, args...)
	if err != nil {
		return 0, err
	}
	err = row.Scan(&n)
	return n, err
}

// Tombstone implements moat.Reader.
func (s *Store) Tombstone(ctx context.Context, id string) (moat.Tombstone, error) {
	row, err := s.queryRow(ctx, `SELECT instance_id, account_id, region, released_ms FROM tombstones WHERE instance_id = ?`, id)
	if err != nil {
		return moat.Tombstone{}, err
	}
	var t moat.Tombstone
	var region string
	var released int64
	err = row.Scan(&t.InstanceID, &t.AccountID, &region, &released)
	t.Region, t.ReleasedAt = moat.Region(region), fromMS(released)
	return t, notFound(err)
}

// Events implements moat.Reader.
func (s *Store) Events(ctx context.Context, f moat.EventFilter) ([]moat.Event, error) {
	q := `SELECT seq, time_ms, recorded_ms, instance_id, account_id, region, type, request_id, reason FROM events WHERE seq > ?`
	args := []any{f.AfterSeq}
	if f.InstanceID != "" {
		q += ` AND instance_id = ?`
		args = append(args, f.InstanceID)
	}
	if f.Type != "" {
		q += ` AND type = ?`
		args = append(args, string(f.Type))
	}
	q += ` ORDER BY seq`
	if f.Limit > 0 {
		q += ` LIMIT ?`
		args = append(args, f.Limit)
	}
	rows, err := s.rquery(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []moat.Event{}
	for rows.Next() {
		var e moat.Event
		var at, rec int64
		var region, typ string
		if err := rows.Scan(&e.Seq, &at, &rec, &e.InstanceID, &e.AccountID, &region, &typ, &e.RequestID, &e.Reason); err != nil {
			return nil, err
		}
		e.Time, e.RecordedAt, e.Region, e.Type = fromMS(at), fromMS(rec), moat.Region(region), moat.EventType(typ)
		out = append(out, e)
	}
	return out, rows.Err()
}

// Setting implements moat.Reader.
func (s *Store) Setting(ctx context.Context, key string) (string, error) {
	row, err := s.queryRow(ctx, `SELECT value FROM settings WHERE key = ?`, key)
	if err != nil {
		return "", err
	}
	var v string
	return v, notFound(row.Scan(&v))
}

// EarliestExpiry implements moat.Reader.
func (s *Store) EarliestExpiry(ctx context.Context, phase moat.Phase) (time.Time, bool, error) {
	row, err := s.queryRow(ctx, `SELECT MIN(expire_ms) FROM instances WHERE phase = ?`, phase)
	if err != nil {
		return time.Time{}, false, err
	}
	var v sql.NullInt64
	if err := row.Scan(&v); err != nil {
		return time.Time{}, false, err
	}
	if !v.Valid {
		return time.Time{}, false, nil
	}
	return fromMS(v.Int64), true, nil
}
