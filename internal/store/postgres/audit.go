package postgres

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"moat/internal/moat"
	"moat/internal/store/sqlbuild"
)

// The audit log, appended to outside Update.

// AppendAudit implements moat.Store: the batch in one statement, which
// commits on its own. The records' Seq follow their order: rows are
// inserted in the order of the batch, so the identity values they draw
// increase with it (other processes' records may fall between them).
func (s *Store) AppendAudit(ctx context.Context, recs []moat.AuditRecord) error {
	if len(recs) == 0 {
		return nil
	}
	times := make([]int64, len(recs))
	accounts := make([]string, len(recs))
	principals := make([]string, len(recs))
	ips := make([]string, len(recs))
	actions := make([]string, len(recs))
	resources := make([]string, len(recs)) // each a text[] literal: arrays of arrays must be rectangular
	codes := make([]string, len(recs))
	reqs := make([]string, len(recs))
	counts := make([]int64, len(recs))
	for i := range recs {
		r := &recs[i]
		times[i], accounts[i], principals[i], ips[i], actions[i], codes[i], reqs[i] =
			ms(r.Time), r.AccountID, r.Principal, r.SourceIP, r.Action, r.Code, r.RequestID
		resources[i] = arrayLiteral(r.Resources)
		counts[i] = int64(max(r.ResourceCount, len(r.Resources)))
	}
	var seqs []int64
	err := s.read(ctx, "append audit", func(ctx context.Context, c *pgxpool.Conn) error {
		seqs = seqs[:0]
		rows, err := c.Query(ctx, `INSERT INTO audit (time_ms, account_id, principal, source_ip, action, resources, code, request_id, resource_count)
			SELECT t, a, p, ip, act, res::text[], code, req, n
			FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::bigint[])
				WITH ORDINALITY AS u (t, a, p, ip, act, res, code, req, n, ord)
			ORDER BY ord
			RETURNING seq`, times, accounts, principals, ips, actions, resources, codes, reqs, counts)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var seq int64
			if err := rows.Scan(&seq); err != nil {
				return err
			}
			seqs = append(seqs, seq)
		}
		return rows.Err()
	})
	if err != nil {
		return err
	}
	slices.Sort(seqs)
	for i := range recs {
		if i < len(seqs) {
			recs[i].Seq = seqs[i]
		}
	}
	return nil
}

// arrayLiteral renders a PostgreSQL text[] literal, every element quoted.
func arrayLiteral(v []string) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, e := range v {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('"')
		for _, r := range e {
			if r == '"' || r == '\\' {
				b.WriteByte('\\')
			}
			b.WriteRune(r)
		}
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}

// PurgeAudit implements moat.Store: the oldest records first, up to max
// (no limit when max <= 0).
func (s *Store) PurgeAudit(ctx context.Context, before time.Time, max int) (int, error) {
	var n int64
	err := s.read(ctx, "purge audit", func(ctx context.Context, c *pgxpool.Conn) error {
		tag, err := c.Exec(ctx, `DELETE FROM audit WHERE seq IN (
			SELECT seq FROM audit WHERE time_ms < $1 ORDER BY seq LIMIT $2 FOR UPDATE SKIP LOCKED)`, ms(before), limitArg(max))
		n = tag.RowsAffected()
		return err
	})
	return int(n), err
}

// TrimAudit implements moat.Store: records are deleted only oldest first
// and Seqs only grow, so the newest keep records are those within keep of
// the largest Seq, found from the primary key without counting rows.
func (s *Store) TrimAudit(ctx context.Context, keep, max int) (int, error) {
	var n int64
	err := s.read(ctx, "trim audit", func(ctx context.Context, c *pgxpool.Conn) error {
		tag, err := c.Exec(ctx, `DELETE FROM audit WHERE seq IN (
			SELECT seq FROM audit WHERE seq <= (SELECT max(seq) FROM audit) - $1 ORDER BY seq LIMIT $2 FOR UPDATE SKIP LOCKED)`, int64(keep), limitArg(max))
		n = tag.RowsAffected()
		return err
	})
	return int(n), err
}

// Audit implements moat.Reader. Action without a product prefix matches
// the part after the colon; InstanceID matches any of a record's
// resources.
func (s *Store) Audit(ctx context.Context, f moat.AuditFilter) ([]moat.AuditRecord, error) {
	var p params
	where := []string{"seq > " + p.add(f.AfterSeq)}
	if f.AccountID != "" {
		where = append(where, "account_id = "+p.add(f.AccountID))
	}
	if f.Action != "" {
		if strings.Contains(f.Action, ":") {
			where = append(where, "action = "+p.add(f.Action))
		} else {
			where = append(where, "substr(action, strpos(action, ':') + 1) = "+p.add(f.Action))
		}
	}
	if f.InstanceID != "" {
		where = append(where, p.add(f.InstanceID)+"::text = ANY(resources)")
	}
	q := `SELECT ` + sqlbuild.AuditCols + ` FROM audit WHERE ` +
		strings.Join(where, " AND ") + ` ORDER BY seq LIMIT ` + p.add(limitArg(f.Limit))
	out := []moat.AuditRecord{}
	err := s.read(ctx, "audit", func(ctx context.Context, c *pgxpool.Conn) error {
		out = out[:0]
		rows, err := c.Query(ctx, q, p...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var r moat.AuditRecord
			var at int64
			if err := rows.Scan(&r.Seq, &at, &r.AccountID, &r.Principal, &r.SourceIP, &r.Action, &r.Resources, &r.Code, &r.RequestID, &r.ResourceCount); err != nil {
				return err
			}
			r.Time = fromMS(at)
			if r.Resources == nil {
				r.Resources = []string{}
			}
			out = append(out, r)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
