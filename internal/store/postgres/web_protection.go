package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"moat/internal/moat"
	"moat/internal/store/sqlbuild"
)

// Website protection: one JSON document per (account, website).

func (t *tx) WebProtection(accountID, domain string) (moat.WebProtection, error) {
	var p moat.WebProtection
	var doc string
	if err := t.row("web protection", `SELECT protection FROM web_protections WHERE account_id = $1 AND domain = $2`,
		[]any{accountID, domain}, &doc); err != nil {
		return p, err
	}
	return p, sqlbuild.DecodeJSON(doc, &p)
}

func (t *tx) PutWebProtection(accountID, domain string, p moat.WebProtection, updated time.Time) error {
	_, err := t.exec("put web protection", `INSERT INTO web_protections(account_id, domain, protection, updated_ms) VALUES ($1, $2, $3, $4)
		ON CONFLICT (account_id, domain) DO UPDATE SET protection = excluded.protection, updated_ms = excluded.updated_ms`,
		accountID, domain, sqlbuild.EncodeJSON(p), ms(updated))
	return err
}

// WebProtections implements moat.Reader.
func (s *Store) WebProtections(ctx context.Context) (map[string]moat.WebProtection, error) {
	return s.readProtections(ctx, "web protections", `SELECT account_id, domain, protection FROM web_protections`, nil, true)
}

// WebProtectionsOf implements moat.Reader.
func (s *Store) WebProtectionsOf(ctx context.Context, accountID string, domains []string) (map[string]moat.WebProtection, error) {
	return s.readProtections(ctx, "web protections of", `SELECT account_id, domain, protection FROM web_protections
		WHERE account_id = $1 AND domain = ANY($2::text[])`, []any{accountID, domains}, false)
}

// readProtections reads rows of (account, domain, protection), keyed by
// moat.WebProtectionKey when byAccount, else by domain.
func (s *Store) readProtections(ctx context.Context, op, q string, args []any, byAccount bool) (map[string]moat.WebProtection, error) {
	var out map[string]moat.WebProtection
	err := s.read(ctx, op, func(ctx context.Context, c *pgxpool.Conn) error {
		out = map[string]moat.WebProtection{}
		rows, err := c.Query(ctx, q, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var account, domain, doc string
			if err := rows.Scan(&account, &domain, &doc); err != nil {
				return err
			}
			var p moat.WebProtection
			if err := sqlbuild.DecodeJSON(doc, &p); err != nil {
				return err
			}
			key := domain
			if byAccount {
				key = moat.WebProtectionKey(account, domain)
			}
			out[key] = p
		}
		return rows.Err()
	})
	return out, err
}
