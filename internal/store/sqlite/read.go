package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"moat/internal/moat"
	"moat/internal/store/sqlbuild"
)

func (s *Store) queryRow(ctx context.Context, q string, args ...any) (*sql.Row, error) {
	return s.rqueryRow(ctx, q, args...)
}

// AccessKey implements moat.Reader.
func (s *Store) AccessKey(ctx context.Context, id string) (moat.AccessKey, error) {
	row, err := s.queryRow(ctx, `SELECT `+sqlbuild.KeyCols+` FROM access_keys WHERE access_key_id = ?`, id)
	if err != nil {
		return moat.AccessKey{}, err
	}
	return scanKey(row)
}

// Account implements moat.Reader.
func (s *Store) Account(ctx context.Context, id string) (moat.Account, error) {
	row, err := s.queryRow(ctx, `SELECT account_id, created_ms, resource_group_id FROM accounts WHERE account_id = ?`, id)
	if err != nil {
		return moat.Account{}, err
	}
	var a moat.Account
	var created int64
	err = row.Scan(&a.ID, &created, &a.ResourceGroupID)
	a.CreatedAt = fromMS(created)
	return a, notFound(err)
}

// Instance implements moat.Reader.
func (s *Store) Instance(ctx context.Context, id string) (moat.Instance, error) {
	row, err := s.queryRow(ctx, `SELECT `+sqlbuild.InstanceCols+` FROM instances WHERE instance_id = ?`, id)
	if err != nil {
		return moat.Instance{}, err
	}
	return scanInstance(row)
}

// filterSQL is an instance filter rendered for SQLite. The SQL text depends
// only on which filters are present (lists travel as one JSON argument),
// so the number of distinct statements, and of cached prepared
// statements, stays small.
//
// With tag filters (and a region) the query is driven from the first
// tag's index range: tags carry their instance's account, region and seq,
// so matches come in listing order and a count is an index count. Further
// tags are probed per candidate. When nothing else filters on the
// instances themselves, neither the count nor the skipped rows of a page
// touch the instances table at all.
type filterSQL struct {
	tagDriven bool
	tagWhere  string // conditions on instance_tags t0
	tagArgs   []any
	instWhere string // conditions on instances i ("" when none)
	instArgs  []any
}

func buildFilter(f *moat.InstanceFilter) filterSQL {
	var q filterSQL
	var inst []string
	tags := f.Tags
	if len(tags) > 0 && f.Region != "" {
		q.tagDriven = true
		t0 := tags[0]
		tags = tags[1:]
		tw := []string{"t0.account_id = ?", "t0.region = ?", "t0.key = ?"}
		q.tagArgs = []any{f.AccountID, string(f.Region), t0.Key}
		if t0.HasValue {
			tw = append(tw, "t0.value = ?")
			q.tagArgs = append(q.tagArgs, t0.Value)
		}
		for _, tg := range tags {
			if tg.HasValue {
				tw = append(tw, "EXISTS (SELECT 1 FROM instance_tags t WHERE t.instance_id = t0.instance_id AND t.key = ? AND t.value = ?)")
				q.tagArgs = append(q.tagArgs, tg.Key, tg.Value)
			} else {
				tw = append(tw, "EXISTS (SELECT 1 FROM instance_tags t WHERE t.instance_id = t0.instance_id AND t.key = ?)")
				q.tagArgs = append(q.tagArgs, tg.Key)
			}
		}
		q.tagWhere = strings.Join(tw, " AND ")
	} else {
		inst = append(inst, "i.account_id = ?")
		q.instArgs = append(q.instArgs, f.AccountID)
		if f.Region != "" {
			inst = append(inst, "i.region = ?")
			q.instArgs = append(q.instArgs, string(f.Region))
		}
		for _, tg := range tags { // tags without a region
			if tg.HasValue {
				inst = append(inst, "EXISTS (SELECT 1 FROM instance_tags t WHERE t.instance_id = i.instance_id AND t.key = ? AND t.value = ?)")
				q.instArgs = append(q.instArgs, tg.Key, tg.Value)
			} else {
				inst = append(inst, "EXISTS (SELECT 1 FROM instance_tags t WHERE t.instance_id = i.instance_id AND t.key = ?)")
				q.instArgs = append(q.instArgs, tg.Key)
			}
		}
	}
	inst = append(inst, sqlbuild.Where(f, sqlbuild.Dialect{Param: q.param, IDIn: q.idIn, Instr: "instr"})...)
	q.instWhere = strings.Join(inst, " AND ")
	return q
}

// param records an argument of a condition on instances.
func (q *filterSQL) param(arg any) string {
	q.instArgs = append(q.instArgs, arg)
	return "?"
}

// idIn matches a list of IDs passed as one JSON array.
func (q *filterSQL) idIn(ids []string) string {
	b, _ := json.Marshal(ids)
	return "i.instance_id IN (SELECT value FROM json_each(" + q.param(string(b)) + "))"
}

// count renders SELECT COUNT(*).
func (q *filterSQL) count() (string, []any) {
	switch {
	case q.tagDriven && q.instWhere == "":
		return `SELECT COUNT(*) FROM instance_tags t0 WHERE ` + q.tagWhere, q.tagArgs
	case q.tagDriven:
		return `SELECT COUNT(*) FROM instance_tags t0 JOIN instances i ON i.seq = t0.seq WHERE ` + q.tagWhere + ` AND ` + q.instWhere,
			append(append([]any{}, q.tagArgs...), q.instArgs...)
	}
	return `SELECT COUNT(*) FROM instances i WHERE ` + q.instWhere, q.instArgs
}

// list renders a page of cols (sqlbuild.ListCols, maybe after others) in listing
// order.
func (q *filterSQL) list(cols string, n, offset int) (string, []any) {
	page := limit(n) + ` OFFSET ?`
	switch {
	case q.tagDriven && q.instWhere == "":
		return `SELECT ` + cols + ` FROM instances i WHERE i.seq IN (SELECT t0.seq FROM instance_tags t0 WHERE ` + q.tagWhere +
			` ORDER BY t0.seq` + page + `) ORDER BY i.seq`, append(append([]any{}, q.tagArgs...), offset)
	case q.tagDriven:
		return `SELECT ` + cols + ` FROM instance_tags t0 JOIN instances i ON i.seq = t0.seq WHERE ` + q.tagWhere + ` AND ` + q.instWhere +
			` ORDER BY t0.seq` + page, append(append(append([]any{}, q.tagArgs...), q.instArgs...), offset)
	}
	return `SELECT ` + cols + ` FROM instances i WHERE ` + q.instWhere + ` ORDER BY i.seq` + page, append(append([]any{}, q.instArgs...), offset)
}

// after narrows the filter to instances after seq in listing order.
func (q *filterSQL) after(seq int64) {
	if q.tagDriven {
		q.tagWhere += " AND t0.seq > ?"
		q.tagArgs = append(q.tagArgs, seq)
		return
	}
	q.instWhere += " AND i.seq > ?"
	q.instArgs = append(q.instArgs, seq)
}

// limit renders a LIMIT clause with the number in the SQL text. SQLite
// (3.4x) reads a bound LIMIT value while planning and marks the statement
// to be re-planned whenever that parameter is bound again, which would
// re-prepare a cached statement on every execution. The limits used are
// few (page sizes up to 50, fixed batch sizes), so the texts stay few.
func limit(n int) string {
	if n <= 0 {
		return " LIMIT -1"
	}
	return " LIMIT " + strconv.Itoa(n)
}

// scanListed reads sqlbuild.ListCols, after any leading columns given in pre.
func scanListed(sc interface{ Scan(...any) error }, f *moat.InstanceFilter, in *moat.Instance, pre ...any) error {
	var created, expire int64
	var region, product, spec, renewal string
	dest := append(pre, &in.ID, &region, &in.IP, &in.Remark, &in.Edition, &in.ResourceGroupID, &created, &expire, &in.Phase,
		&product, &spec, &renewal, &in.RenewPeriod)
	if err := sc.Scan(dest...); err != nil {
		return err
	}
	in.AccountID = f.AccountID
	in.Region, in.ProductType, in.RenewalStatus = moat.Region(region), moat.ProductType(product), moat.RenewalStatus(renewal)
	in.CreateTime, in.ExpireTime = fromMS(created), fromMS(expire)
	return sqlbuild.DecodeSpec(spec, &in.Spec)
}

func collectListed(rows *sql.Rows, f *moat.InstanceFilter) ([]moat.Instance, error) {
	defer rows.Close()
	var out []moat.Instance
	for rows.Next() {
		var in moat.Instance
		if err := scanListed(rows, f, &in); err != nil {
			return nil, err
		}
		out = append(out, in)
	}
	return out, rows.Err()
}

// InstancePage implements moat.Reader. Without filters the count comes
// from the counter row in the same statement as the page.
func (s *Store) InstancePage(ctx context.Context, f moat.InstanceFilter) ([]moat.Instance, int64, error) {
	if !f.Unfiltered() || f.Limit <= 0 {
		n, err := s.CountInstances(ctx, f)
		if err != nil || int64(f.Offset) >= n {
			return nil, n, err
		}
		list, err := s.Instances(ctx, f)
		return list, n, err
	}
	// Each parameter is used once: SQLite re-plans a statement whose
	// parameter it compared while planning (a repeated ?1 is), whenever
	// that parameter is bound again.
	rows, err := s.rquery(ctx, `SELECT (SELECT n FROM instance_counts WHERE account_id = ? AND region = ?), `+sqlbuild.ListCols+`
		FROM instances i WHERE i.account_id = ? AND i.region = ? ORDER BY i.seq`+limit(f.Limit)+` OFFSET ?`,
		f.AccountID, string(f.Region), f.AccountID, string(f.Region), f.Offset)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var out []moat.Instance
	var n int64
	for rows.Next() {
		var in moat.Instance
		if err := scanListed(rows, &f, &in, &n); err != nil {
			return nil, 0, err
		}
		out = append(out, in)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	if len(out) == 0 { // past the end, or no instances: the count alone
		n, err = s.CountInstances(ctx, f)
	}
	return out, n, err
}

// Instances implements moat.Reader.
func (s *Store) Instances(ctx context.Context, f moat.InstanceFilter) ([]moat.Instance, error) {
	fq := buildFilter(&f)
	q, args := fq.list(sqlbuild.ListCols, f.Limit, f.Offset)
	rows, err := s.rquery(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return collectListed(rows, &f)
}

// ScanInstances implements moat.Reader.
func (s *Store) ScanInstances(ctx context.Context, f moat.InstanceFilter, batch int, fn func([]moat.Instance) error) error {
	batch = max(batch, 1)
	var last int64
	for {
		fq := buildFilter(&f)
		fq.after(last)
		q, args := fq.list(`i.seq, `+sqlbuild.ListCols, batch, 0)
		rows, err := s.rquery(ctx, q, args...)
		if err != nil {
			return err
		}
		list := make([]moat.Instance, 0, batch)
		for rows.Next() {
			var in moat.Instance
			if err := scanListed(rows, &f, &in, &last); err != nil {
				rows.Close()
				return err
			}
			list = append(list, in)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(list) > 0 {
			if err := fn(list); err != nil {
				return err
			}
		}
		if len(list) < batch {
			return nil
		}
	}
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
	fq := buildFilter(&f)
	q, args := fq.count()
	row, err := s.queryRow(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	err = row.Scan(&n)
	return n, err
}

// ListingVersion implements moat.Reader.
func (s *Store) ListingVersion(ctx context.Context, accountID string, region moat.Region) (int64, int64, error) {
	row, err := s.queryRow(ctx, `SELECT n, version FROM instance_counts WHERE account_id = ? AND region = ?`, accountID, string(region))
	if err != nil {
		return 0, 0, err
	}
	var n, v int64
	if err := row.Scan(&n, &v); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, 0, err
	}
	return n, v, nil
}

// TagsOf implements moat.Reader.
func (s *Store) TagsOf(ctx context.Context, ids []string) (map[string][]moat.Tag, error) {
	out := make(map[string][]moat.Tag, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	list, _ := json.Marshal(ids)
	rows, err := s.rquery(ctx, `SELECT instance_id, key, value FROM instance_tags
		WHERE instance_id IN (SELECT value FROM json_each(?)) ORDER BY instance_id, key`, string(list))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var t moat.Tag
		if err := rows.Scan(&id, &t.Key, &t.Value); err != nil {
			return nil, err
		}
		out[id] = append(out[id], t)
	}
	return out, rows.Err()
}

// TagKeys implements moat.Reader.
func (s *Store) TagKeys(ctx context.Context, accountID string, region moat.Region, resourceGroup string, offset, n int) ([]moat.TagKeyCount, int64, error) {
	from := ` FROM instance_tags t WHERE t.account_id = ? AND t.region = ?`
	args := []any{accountID, string(region)}
	if resourceGroup != "" {
		from = ` FROM instance_tags t JOIN instances i ON i.seq = t.seq WHERE t.account_id = ? AND t.region = ? AND i.resource_group_id = ?`
		args = append(args, resourceGroup)
	}
	row, err := s.queryRow(ctx, `SELECT COUNT(DISTINCT t.key)`+from, args...)
	if err != nil {
		return nil, 0, err
	}
	var total int64
	if err := row.Scan(&total); err != nil {
		return nil, 0, err
	}
	rows, err := s.rquery(ctx, `SELECT t.key, COUNT(*)`+from+` GROUP BY t.key ORDER BY t.key`+limit(n)+` OFFSET ?`, append(args, offset)...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	out := []moat.TagKeyCount{}
	for rows.Next() {
		var k moat.TagKeyCount
		if err := rows.Scan(&k.Key, &k.Count); err != nil {
			return nil, 0, err
		}
		out = append(out, k)
	}
	return out, total, rows.Err()
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
	q := `SELECT ` + sqlbuild.EventCols + ` FROM events WHERE seq > ?`
	args := []any{f.AfterSeq}
	if f.InstanceID != "" {
		// Events are indexed by their instance's seq (schema v5).
		row, err := s.queryRow(ctx, `SELECT COALESCE((SELECT seq FROM instances WHERE instance_id = ?), (SELECT seq FROM tombstones WHERE instance_id = ?), 0)`, f.InstanceID, f.InstanceID)
		if err != nil {
			return nil, err
		}
		var iseq int64
		if err := row.Scan(&iseq); err != nil {
			return nil, err
		}
		q += ` AND instance_seq = ? AND instance_id = ?`
		args = append(args, iseq, f.InstanceID)
	}
	if f.Type != "" {
		q += ` AND type = ?`
		args = append(args, string(f.Type))
	}
	q += ` ORDER BY seq`
	if f.Limit > 0 {
		q += limit(f.Limit)
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
		if err := rows.Scan(&e.Seq, &at, &rec, &e.InstanceID, &e.AccountID, &region, &typ, &e.RequestID, &e.Reason, &e.Periods, &e.Subject); err != nil {
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

// pageCount counts the rows of a page's FROM/WHERE clause and says whether
// the page at offset is past them all (then the page read can be skipped).
func (s *Store) pageCount(ctx context.Context, from string, args []any, offset int) (n int64, past bool, err error) {
	row, err := s.queryRow(ctx, `SELECT COUNT(*)`+from, args...)
	if err != nil {
		return 0, false, err
	}
	if err := row.Scan(&n); err != nil {
		return 0, false, err
	}
	return n, n == 0 || int64(offset) >= n, nil
}
