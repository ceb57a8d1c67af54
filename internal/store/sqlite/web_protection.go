package sqlite

import (
	"context"
	"database/sql"
	"time"

	"moat/internal/moat"
	"moat/internal/store/sqlbuild"
)

// Website protection: one JSON document per (account, website).

func (t *tx) WebProtection(accountID, domain string) (moat.WebProtection, error) {
	var p moat.WebProtection
	var doc string
	if err := t.queryRow(`SELECT protection FROM web_protections WHERE account_id = ? AND domain = ?`, accountID, domain).Scan(&doc); err != nil {
		return p, notFound(err)
	}
	return p, sqlbuild.DecodeJSON(doc, &p)
}

func (t *tx) PutWebProtection(accountID, domain string, p moat.WebProtection, updated time.Time) error {
	_, err := t.exec(`INSERT INTO web_protections(account_id, domain, protection, updated_ms) VALUES (?, ?, ?, ?)
		ON CONFLICT(account_id, domain) DO UPDATE SET protection = excluded.protection, updated_ms = excluded.updated_ms`,
		accountID, domain, sqlbuild.EncodeJSON(p), ms(updated))
	return err
}

// WebProtections implements moat.Reader.
func (s *Store) WebProtections(ctx context.Context) (map[string]moat.WebProtection, error) {
	rows, err := s.rquery(ctx, `SELECT account_id, domain, protection FROM web_protections`)
	if err != nil {
		return nil, err
	}
	return collectProtections(rows, true)
}

// WebProtectionsOf implements moat.Reader.
func (s *Store) WebProtectionsOf(ctx context.Context, accountID string, domains []string) (map[string]moat.WebProtection, error) {
	rows, err := s.rquery(ctx, `SELECT account_id, domain, protection FROM web_protections
		WHERE account_id = ? AND domain IN (SELECT value FROM json_each(?))`, accountID, jsonList(domains))
	if err != nil {
		return nil, err
	}
	return collectProtections(rows, false)
}

// collectProtections reads rows of (account, domain, protection), keyed
// by moat.WebProtectionKey when byAccount, else by domain.
func collectProtections(rows *sql.Rows, byAccount bool) (map[string]moat.WebProtection, error) {
	defer rows.Close()
	out := map[string]moat.WebProtection{}
	for rows.Next() {
		var account, domain, doc string
		if err := rows.Scan(&account, &domain, &doc); err != nil {
			return nil, err
		}
		var p moat.WebProtection
		if err := sqlbuild.DecodeJSON(doc, &p); err != nil {
			return nil, err
		}
		key := domain
		if byAccount {
			key = moat.WebProtectionKey(account, domain)
		}
		out[key] = p
	}
	return out, rows.Err()
}
