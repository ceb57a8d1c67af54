package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"moat/internal/moat"
	"moat/internal/store/sqlbuild"
)

// The audit log has a database file of its own (path + ".audit"), like
// the nonces and for the same reason: a record per call is appended every
// few milliseconds, and in the main file those commits would empty the
// readers' page caches.

// AuditPath is the audit database of the store at path.
func AuditPath(path string) string { return path + ".audit" }

const auditSchema = `
CREATE TABLE IF NOT EXISTS audit (
    seq        INTEGER PRIMARY KEY,
    time_ms    INTEGER NOT NULL,
    account_id TEXT NOT NULL,
    principal  TEXT NOT NULL,
    source_ip  TEXT NOT NULL,
    action     TEXT NOT NULL,
    resources  TEXT NOT NULL, -- JSON array of instance IDs
    code       TEXT NOT NULL,
    request_id TEXT NOT NULL,
    resource_count INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS audit_account ON audit(account_id, seq);
CREATE INDEX IF NOT EXISTS audit_time ON audit(time_ms);`

func openAudit(ctx context.Context, path string) (*writer, *sql.DB, error) {
	ap := AuditPath(path)
	w, err := openWriter(ctx, ap, "file:"+ap+"?"+dsnSide+"&_txlock=immediate&_mutex=no")
	if err != nil {
		return nil, nil, err
	}
	if _, err := w.conn.ExecContext(ctx, auditSchema); err != nil {
		w.conn.Close()
		w.db.Close()
		return nil, nil, fmt.Errorf("sqlite: audit database %s: %w", ap, err)
	}
	// A file made before records kept the count of the IDs a call named
	// lacks the column (the audit file has no migrations of its own).
	var has int
	if err := w.conn.QueryRowContext(ctx, `SELECT count(*) FROM pragma_table_info('audit') WHERE name = 'resource_count'`).Scan(&has); err == nil && has == 0 {
		_, err = w.conn.ExecContext(ctx, `ALTER TABLE audit ADD COLUMN resource_count INTEGER NOT NULL DEFAULT 0`)
		if err != nil {
			w.conn.Close()
			w.db.Close()
			return nil, nil, fmt.Errorf("sqlite: audit database %s: add resource_count: %w", ap, err)
		}
	} else if err != nil {
		w.conn.Close()
		w.db.Close()
		return nil, nil, fmt.Errorf("sqlite: audit database %s: %w", ap, err)
	}
	r, err := sql.Open("sqlite3", "file:"+ap+"?"+dsnSide+"&_query_only=1")
	if err != nil {
		w.conn.Close()
		w.db.Close()
		return nil, nil, err
	}
	r.SetMaxOpenConns(2)
	return w, r, nil
}

// AppendAudit implements moat.Store.
func (s *Store) AppendAudit(ctx context.Context, recs []moat.AuditRecord) error {
	return s.audit.update(ctx, false, func(w *writer) error {
		st, err := w.stmt(`INSERT INTO audit(time_ms, account_id, principal, source_ip, action, resources, code, request_id, resource_count) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		for i := range recs {
			r := &recs[i]
			res := r.Resources
			if res == nil {
				res = []string{}
			}
			b, _ := json.Marshal(res)
			out, err := st.Exec(ms(r.Time), r.AccountID, r.Principal, r.SourceIP, r.Action, string(b), r.Code, r.RequestID, max(r.ResourceCount, len(res)))
			if err != nil {
				return err
			}
			if r.Seq, err = out.LastInsertId(); err != nil {
				return err
			}
		}
		return nil
	})
}

// PurgeAudit implements moat.Store.
func (s *Store) PurgeAudit(ctx context.Context, before time.Time, max int) (int, error) {
	var n int64
	err := s.audit.update(ctx, true, func(w *writer) error {
		st, err := w.stmt(`DELETE FROM audit WHERE seq IN (SELECT seq FROM audit WHERE time_ms < ? ORDER BY seq` + limit(max) + `)`)
		if err != nil {
			return err
		}
		res, err := st.Exec(ms(before))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}

// TrimAudit implements moat.Store: Seqs only grow and records are only
// deleted oldest first, so the newest keep records are those within keep
// of the largest Seq, found from the primary key without counting rows.
func (s *Store) TrimAudit(ctx context.Context, keep, max int) (int, error) {
	var n int64
	err := s.audit.update(ctx, true, func(w *writer) error {
		st, err := w.stmt(`DELETE FROM audit WHERE seq IN (SELECT seq FROM audit WHERE seq <= (SELECT max(seq) FROM audit) - ? ORDER BY seq` + limit(max) + `)`)
		if err != nil {
			return err
		}
		res, err := st.Exec(keep)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}

// Audit implements moat.Reader. The InstanceId filter matches the JSON
// list of resources, so it reads the account's records (give AccountId
// too when the log is large).
func (s *Store) Audit(ctx context.Context, f moat.AuditFilter) ([]moat.AuditRecord, error) {
	var where []string
	args := []any{}
	where = append(where, "seq > ?")
	args = append(args, f.AfterSeq)
	if f.AccountID != "" {
		where = append(where, "account_id = ?")
		args = append(args, f.AccountID)
	}
	if f.Action != "" {
		if strings.Contains(f.Action, ":") {
			where = append(where, "action = ?")
		} else {
			where = append(where, "substr(action, instr(action, ':') + 1) = ?")
		}
		args = append(args, f.Action)
	}
	if f.InstanceID != "" {
		b, _ := json.Marshal(f.InstanceID)
		where = append(where, "instr(resources, ?) > 0")
		args = append(args, string(b))
	}
	q := `SELECT ` + sqlbuild.AuditCols + ` FROM audit WHERE ` +
		strings.Join(where, " AND ") + ` ORDER BY seq` + limit(f.Limit)
	rows, err := s.auditRead.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []moat.AuditRecord{}
	for rows.Next() {
		var r moat.AuditRecord
		var at int64
		var res string
		if err := rows.Scan(&r.Seq, &at, &r.AccountID, &r.Principal, &r.SourceIP, &r.Action, &res, &r.Code, &r.RequestID, &r.ResourceCount); err != nil {
			return nil, err
		}
		r.Time = fromMS(at)
		if err := json.Unmarshal([]byte(res), &r.Resources); err != nil {
			return nil, fmt.Errorf("sqlite: audit record %d resources: %w", r.Seq, err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
