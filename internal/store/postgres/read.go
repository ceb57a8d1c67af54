package postgres

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"moat/internal/moat"
	"moat/internal/store/sqlbuild"
)

// Reads run outside any transaction, each statement on its own snapshot of
// committed state; the ones that need two statements send them together
// (one round trip).

// rowOnce runs a one-row read; no row is ErrNotFound.
func (s *Store) rowOnce(ctx context.Context, op, q string, args []any, dest ...any) error {
	return s.read(ctx, op, func(ctx context.Context, c *pgxpool.Conn) error {
		err := c.QueryRow(ctx, q, args...).Scan(dest...)
		if errors.Is(err, pgx.ErrNoRows) {
			return moat.ErrNotFound
		}
		return err
	})
}

// AccessKey implements moat.Reader.
func (s *Store) AccessKey(ctx context.Context, id string) (moat.AccessKey, error) {
	var k moat.AccessKey
	dest, done := keyDest(&k)
	if err := s.rowOnce(ctx, "access key", `SELECT `+sqlbuild.KeyCols+` FROM access_keys WHERE access_key_id = $1`, []any{id}, dest...); err != nil {
		return moat.AccessKey{}, err
	}
	done()
	return k, nil
}

// Account implements moat.Reader.
func (s *Store) Account(ctx context.Context, id string) (moat.Account, error) {
	var a moat.Account
	var created int64
	err := s.rowOnce(ctx, "account", `SELECT account_id, created_ms, resource_group_id FROM accounts WHERE account_id = $1`, []any{id},
		&a.ID, &created, &a.ResourceGroupID)
	if err != nil {
		return moat.Account{}, err
	}
	a.CreatedAt = fromMS(created)
	return a, nil
}

// Instance implements moat.Reader.
func (s *Store) Instance(ctx context.Context, id string) (moat.Instance, error) {
	var in moat.Instance
	dest, done := instanceDest(&in)
	if err := s.rowOnce(ctx, "instance", `SELECT `+sqlbuild.InstanceCols+` FROM instances WHERE instance_id = $1`, []any{id}, dest...); err != nil {
		return moat.Instance{}, err
	}
	return in, done()
}

// params collects positional arguments while SQL text is written.
type params []any

func (p *params) add(v any) string {
	*p = append(*p, v)
	return "$" + strconv.Itoa(len(*p))
}

// filterSQL renders an instance filter, as the SQLite store does. With tag
// filters and a region the query is driven from the first tag's index
// range: tags carry their instance's account, region and seq, so matches
// come in listing order and a count is an index count. Further tags are
// matched by seq in their own index ranges. When nothing else filters on the
// instances themselves, neither the count nor the skipped rows of a page
// touch the instances table.
type filterSQL struct {
	tagDriven bool
	tagWhere  string // conditions on instance_tags t0
	instWhere string // conditions on instances i ("" when none)
}

// buildFilter renders f, appending its arguments to p.
func buildFilter(f *moat.InstanceFilter, p *params) filterSQL {
	var q filterSQL
	var inst []string
	// tagCond probes a further tag of instance i (by primary key).
	tagCond := func(tg moat.TagFilter) string {
		if tg.HasValue {
			return "EXISTS (SELECT 1 FROM instance_tags t WHERE t.instance_id = i.instance_id AND t.key = " + p.add(tg.Key) +
				" AND t.value = " + p.add(tg.Value) + ")"
		}
		return "EXISTS (SELECT 1 FROM instance_tags t WHERE t.instance_id = i.instance_id AND t.key = " + p.add(tg.Key) + ")"
	}
	// tagCondSeq probes a further tag of the instance of t0 through the
	// same (account, region, key[, value], seq) index as t0's range: both
	// are in seq order, so PostgreSQL can merge them instead of probing
	// row by row.
	tagCondSeq := func(tg moat.TagFilter) string {
		c := "EXISTS (SELECT 1 FROM instance_tags t WHERE t.account_id = t0.account_id AND t.region = t0.region AND t.key = " + p.add(tg.Key)
		if tg.HasValue {
			c += " AND t.value = " + p.add(tg.Value)
		}
		return c + " AND t.seq = t0.seq)"
	}
	tags := f.Tags
	if len(tags) > 0 && f.Region != "" {
		q.tagDriven = true
		t0 := tags[0]
		tw := []string{"t0.account_id = " + p.add(f.AccountID), "t0.region = " + p.add(string(f.Region)), "t0.key = " + p.add(t0.Key)}
		if t0.HasValue {
			tw = append(tw, "t0.value = "+p.add(t0.Value))
		}
		for _, tg := range tags[1:] {
			tw = append(tw, tagCondSeq(tg))
		}
		q.tagWhere = strings.Join(tw, " AND ")
	} else {
		inst = append(inst, "i.account_id = "+p.add(f.AccountID))
		if f.Region != "" {
			inst = append(inst, "i.region = "+p.add(string(f.Region)))
		}
		for _, tg := range tags { // tags without a region
			inst = append(inst, tagCond(tg))
		}
	}
	inst = append(inst, sqlbuild.Where(f, sqlbuild.Dialect{Param: p.add, IDIn: func(ids []string) string {
		return "i.instance_id = ANY(" + p.add(ids) + "::text[])"
	}, Instr: "strpos"})...)
	q.instWhere = strings.Join(inst, " AND ")
	return q
}

// countSQL renders the count of f's matches.
func countSQL(f *moat.InstanceFilter) (string, []any) {
	var p params
	q := buildFilter(f, &p)
	switch {
	case q.tagDriven && q.instWhere == "":
		return `SELECT COUNT(*) FROM instance_tags t0 WHERE ` + q.tagWhere, p
	case q.tagDriven:
		return `SELECT COUNT(*) FROM instance_tags t0 JOIN instances i ON i.seq = t0.seq WHERE ` + q.tagWhere + ` AND ` + q.instWhere, p
	}
	return `SELECT COUNT(*) FROM instances i WHERE ` + q.instWhere, p
}

// listSQL renders a page of f's matches (sqlbuild.ListCols) in listing order.
func listSQL(f *moat.InstanceFilter) (string, []any) {
	return listSQLAfter(f, sqlbuild.ListCols, 0)
}

// listSQLAfter renders a page of f's matches in listing order, as cols
// (sqlbuild.ListCols, maybe after others), narrowed to those after seq when it is
// positive (a keyset page).
func listSQLAfter(f *moat.InstanceFilter, cols string, seq int64) (string, []any) {
	var p params
	q := buildFilter(f, &p)
	if seq > 0 {
		if q.tagDriven {
			q.tagWhere += " AND t0.seq > " + p.add(seq)
		} else {
			q.instWhere += " AND i.seq > " + p.add(seq)
		}
	}
	page := func() string {
		return ` LIMIT ` + p.add(limitArg(f.Limit)) + ` OFFSET ` + p.add(int64(max(f.Offset, 0)))
	}
	switch {
	case q.tagDriven && q.instWhere == "":
		// The page is chosen from the tag index alone; only its rows are
		// read from instances.
		sub := `SELECT t0.seq FROM instance_tags t0 WHERE ` + q.tagWhere + ` ORDER BY t0.seq` + page()
		return `SELECT ` + cols + ` FROM (` + sub + `) pg JOIN instances i ON i.seq = pg.seq ORDER BY i.seq`, p
	case q.tagDriven:
		return `SELECT ` + cols + ` FROM instance_tags t0 JOIN instances i ON i.seq = t0.seq WHERE ` + q.tagWhere + ` AND ` + q.instWhere +
			` ORDER BY t0.seq` + page(), p
	}
	return `SELECT ` + cols + ` FROM instances i WHERE ` + q.instWhere + ` ORDER BY i.seq` + page(), p
}

// collectListed reads sqlbuild.ListCols rows, after any leading columns in pre
// (scanned from every row; the last row's values remain).
func collectListed(rows pgx.Rows, f *moat.InstanceFilter, pre ...any) ([]moat.Instance, error) {
	defer rows.Close()
	var out []moat.Instance
	var region, product, spec, renewal string
	var created, expire int64
	var phase int16
	for rows.Next() {
		var in moat.Instance
		dest := append(pre[:len(pre):len(pre)], &in.ID, &region, &in.IP, &in.Remark, &in.Edition, &in.ResourceGroupID, &created, &expire, &phase,
			&product, &spec, &renewal, &in.RenewPeriod)
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		in.AccountID = f.AccountID
		in.Region, in.ProductType, in.RenewalStatus = moat.Region(region), moat.ProductType(product), moat.RenewalStatus(renewal)
		in.CreateTime, in.ExpireTime, in.Phase = fromMS(created), fromMS(expire), moat.Phase(phase)
		if err := sqlbuild.DecodeSpec(spec, &in.Spec); err != nil {
			return nil, err
		}
		out = append(out, in)
	}
	return out, rows.Err()
}

// Instances implements moat.Reader.
func (s *Store) Instances(ctx context.Context, f moat.InstanceFilter) ([]moat.Instance, error) {
	q, args := listSQL(&f)
	var out []moat.Instance
	err := s.read(ctx, "instances", func(ctx context.Context, c *pgxpool.Conn) error {
		rows, err := c.Query(ctx, q, args...)
		if err != nil {
			return err
		}
		out, err = collectListed(rows, &f)
		return err
	})
	return out, err
}

// ScanInstances implements moat.Reader.
func (s *Store) ScanInstances(ctx context.Context, f moat.InstanceFilter, batch int, fn func([]moat.Instance) error) error {
	f.Offset, f.Limit = 0, max(batch, 1)
	var last int64
	for {
		q, args := listSQLAfter(&f, `i.seq, `+sqlbuild.ListCols, last)
		var list []moat.Instance
		seq := last // the last row's seq once read (a retried read starts over)
		err := s.read(ctx, "scan instances", func(ctx context.Context, c *pgxpool.Conn) error {
			rows, err := c.Query(ctx, q, args...)
			if err != nil {
				return err
			}
			list, err = collectListed(rows, &f, &seq)
			return err
		})
		if err != nil {
			return err
		}
		last = seq
		if len(list) > 0 {
			if err := fn(list); err != nil {
				return err
			}
		}
		if len(list) < f.Limit {
			return nil
		}
	}
}

// CountInstances implements moat.Reader. Without filters the count is the
// sum of the counter rows of the account and region.
func (s *Store) CountInstances(ctx context.Context, f moat.InstanceFilter) (int64, error) {
	var n int64
	var err error
	if f.Unfiltered() {
		err = s.rowOnce(ctx, "count instances", `SELECT `+sumN+` FROM instance_counts WHERE account_id = $1 AND region = $2`,
			[]any{f.AccountID, string(f.Region)}, &n)
		return n, err
	}
	q, args := countSQL(&f)
	err = s.rowOnce(ctx, "count instances", q, args, &n)
	return n, err
}

// InstancePage implements moat.Reader: one round trip. Without filters the
// count comes from the counter rows in the same statement (and snapshot) as
// the page; with filters the count and the page are sent together.
func (s *Store) InstancePage(ctx context.Context, f moat.InstanceFilter) ([]moat.Instance, int64, error) {
	var out []moat.Instance
	var n int64
	if f.Unfiltered() && f.Limit > 0 {
		err := s.read(ctx, "instance page", func(ctx context.Context, c *pgxpool.Conn) error {
			rows, err := c.Query(ctx, `SELECT (SELECT `+sumN+` FROM instance_counts WHERE account_id = $1 AND region = $2), `+sqlbuild.ListCols+`
				FROM instances i WHERE i.account_id = $1 AND i.region = $2 ORDER BY i.seq LIMIT $3 OFFSET $4`,
				f.AccountID, string(f.Region), int64(f.Limit), int64(max(f.Offset, 0)))
			if err != nil {
				return err
			}
			out, err = collectListed(rows, &f, &n)
			return err
		})
		if err != nil {
			return nil, 0, err
		}
		if len(out) == 0 { // past the end, or no instances: the count alone
			n, err = s.CountInstances(ctx, f)
		}
		return out, n, err
	}
	cq, cargs := countSQL(&f)
	lq, largs := listSQL(&f)
	err := s.read(ctx, "instance page", func(ctx context.Context, c *pgxpool.Conn) error {
		b := &pgx.Batch{}
		b.Queue(cq, cargs...)
		b.Queue(lq, largs...)
		br := c.SendBatch(ctx, b)
		defer br.Close()
		if err := br.QueryRow().Scan(&n); err != nil {
			return err
		}
		rows, err := br.Query()
		if err != nil {
			return err
		}
		out, err = collectListed(rows, &f)
		if err != nil {
			return err
		}
		return br.Close()
	})
	if err != nil {
		return nil, 0, err
	}
	return out, n, nil
}

// sumN is the live instance count over an account and region's shards.
const sumN = `COALESCE(sum(n), 0)::bigint`

// ListingVersion implements moat.Reader: the sums over the shards, read in
// one snapshot.
//
// Every DescribeInstances served from the listing cache asks for it, so
// concurrent asks for one listing share a read (package coalesce): each
// still gets a read that started after it asked, so a change committed
// before then, by any replica, is seen. A 64-connection describe load on
// one account made one query per request, which cost 40% of the
// throughput.
func (s *Store) ListingVersion(ctx context.Context, accountID string, region moat.Region) (int64, int64, error) {
	r, err := s.versions.Do(ctx, countKey{accountID, string(region)}, func(ctx context.Context) ([2]int64, error) {
		var r [2]int64
		err := s.rowOnce(ctx, "listing version", `SELECT `+sumN+`, COALESCE(sum(version), 0)::bigint FROM instance_counts
			WHERE account_id = $1 AND region = $2`, []any{accountID, string(region)}, &r[0], &r[1])
		return r, err
	})
	return r[0], r[1], err
}

// TagsOf implements moat.Reader.
func (s *Store) TagsOf(ctx context.Context, ids []string) (map[string][]moat.Tag, error) {
	out := make(map[string][]moat.Tag, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	err := s.read(ctx, "tags of", func(ctx context.Context, c *pgxpool.Conn) error {
		rows, err := c.Query(ctx, `SELECT instance_id, key, value FROM instance_tags WHERE instance_id = ANY($1::text[]) ORDER BY instance_id, key`, ids)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			var t moat.Tag
			if err := rows.Scan(&id, &t.Key, &t.Value); err != nil {
				return err
			}
			out[id] = append(out[id], t)
		}
		return rows.Err()
	})
	return out, err
}

// TagKeys implements moat.Reader.
func (s *Store) TagKeys(ctx context.Context, accountID string, region moat.Region, resourceGroup string, offset, n int) ([]moat.TagKeyCount, int64, error) {
	from := ` FROM instance_tags t WHERE t.account_id = $1 AND t.region = $2`
	args := []any{accountID, string(region)}
	if resourceGroup != "" {
		from = ` FROM instance_tags t JOIN instances i ON i.seq = t.seq WHERE t.account_id = $1 AND t.region = $2 AND i.resource_group_id = $3`
		args = append(args, resourceGroup)
	}
	page := ` GROUP BY t.key ORDER BY t.key LIMIT $` + strconv.Itoa(len(args)+1) + ` OFFSET $` + strconv.Itoa(len(args)+2)
	pargs := append(append([]any{}, args...), limitArg(n), int64(max(offset, 0)))
	out := []moat.TagKeyCount{}
	var total int64
	err := s.read(ctx, "tag keys", func(ctx context.Context, c *pgxpool.Conn) error {
		out = out[:0]
		b := &pgx.Batch{}
		b.Queue(`SELECT COUNT(DISTINCT t.key)`+from, args...)
		b.Queue(`SELECT t.key, COUNT(*)`+from+page, pargs...)
		br := c.SendBatch(ctx, b)
		defer br.Close()
		if err := br.QueryRow().Scan(&total); err != nil {
			return err
		}
		rows, err := br.Query()
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var k moat.TagKeyCount
			if err := rows.Scan(&k.Key, &k.Count); err != nil {
				return err
			}
			out = append(out, k)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		rows.Close()
		return br.Close()
	})
	if err != nil {
		return nil, 0, err
	}
	return out, total, nil
}

// Tombstone implements moat.Reader.
func (s *Store) Tombstone(ctx context.Context, id string) (moat.Tombstone, error) {
	var t moat.Tombstone
	var region string
	var released int64
	err := s.rowOnce(ctx, "tombstone", `SELECT instance_id, account_id, region, released_ms FROM tombstones WHERE instance_id = $1`, []any{id},
		&t.InstanceID, &t.AccountID, &region, &released)
	if err != nil {
		return moat.Tombstone{}, err
	}
	t.Region, t.ReleasedAt = moat.Region(region), fromMS(released)
	return t, nil
}

// Events implements moat.Reader, in Seq order. It first waits for the
// transactions that are inserting events to end (eventHorizonLock), so no
// event with a lower Seq than one it returns can become visible later: a
// reader that tails the log by AfterSeq sees every event, as with the
// SQLite store's single writer.
func (s *Store) Events(ctx context.Context, f moat.EventFilter) ([]moat.Event, error) {
	var p params
	q := `SELECT ` + sqlbuild.EventCols + ` FROM events WHERE seq > ` + p.add(f.AfterSeq)
	if f.InstanceID != "" {
		// Events are indexed by their instance's seq; a released
		// instance's tombstone keeps it.
		id := p.add(f.InstanceID)
		q += ` AND instance_seq = COALESCE((SELECT seq FROM instances WHERE instance_id = ` + id + `), (SELECT seq FROM tombstones WHERE instance_id = ` + id + `), 0)` +
			` AND instance_id = ` + id
	}
	if f.Type != "" {
		q += ` AND type = ` + p.add(string(f.Type))
	}
	q += ` ORDER BY seq`
	if f.Limit > 0 {
		q += ` LIMIT ` + p.add(int64(f.Limit))
	}
	out := []moat.Event{}
	err := s.read(ctx, "events", func(ctx context.Context, c *pgxpool.Conn) error {
		out = out[:0]
		// Under READ COMMITTED the SELECT's snapshot is taken after the
		// lock is granted; the lock is released with the transaction.
		ptx, err := c.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted, AccessMode: pgx.ReadOnly})
		if err != nil {
			return err
		}
		defer ptx.Rollback(ctx)
		if _, err := ptx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, eventHorizonLock); err != nil {
			return err
		}
		rows, err := ptx.Query(ctx, q, p...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var e moat.Event
			var at, rec int64
			var region, typ string
			if err := rows.Scan(&e.Seq, &at, &rec, &e.InstanceID, &e.AccountID, &region, &typ, &e.RequestID, &e.Reason, &e.Periods, &e.Subject); err != nil {
				return err
			}
			e.Time, e.RecordedAt, e.Region, e.Type = fromMS(at), fromMS(rec), moat.Region(region), moat.EventType(typ)
			out = append(out, e)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Setting implements moat.Reader.
func (s *Store) Setting(ctx context.Context, key string) (string, error) {
	var v string
	err := s.rowOnce(ctx, "setting", `SELECT value FROM settings WHERE key = $1`, []any{key}, &v)
	return v, err
}

// EarliestExpiry implements moat.Reader.
func (s *Store) EarliestExpiry(ctx context.Context, phase moat.Phase) (time.Time, bool, error) {
	var v *int64
	if err := s.rowOnce(ctx, "earliest expiry", `SELECT MIN(expire_ms) FROM instances WHERE phase = $1`, []any{int16(phase)}, &v); err != nil {
		return time.Time{}, false, err
	}
	if v == nil {
		return time.Time{}, false, nil
	}
	return fromMS(*v), true, nil
}
