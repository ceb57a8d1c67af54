package sqlite

import (
	"context"

	"moat/internal/moat"
)

// RAM users and their policies.

func (t *tx) User(accountID, name string) (moat.User, error) {
	u := moat.User{AccountID: accountID, Name: name}
	var created int64
	err := t.queryRow(`SELECT user_id, created_ms FROM users WHERE account_id = ? AND user_name = ?`, accountID, name).Scan(&u.ID, &created)
	u.CreatedAt = fromMS(created)
	return u, notFound(err)
}

func (t *tx) InsertUser(u moat.User) error {
	_, err := t.exec(`INSERT INTO users(account_id, user_name, user_id, created_ms) VALUES (?, ?, ?, ?)`, u.AccountID, u.Name, u.ID, ms(u.CreatedAt))
	return insertErr(err)
}

func (t *tx) PutUserPolicy(p moat.UserPolicy) error {
	_, err := t.exec(`INSERT INTO user_policies(account_id, user_name, policy_name, document, updated_ms) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT(account_id, user_name, policy_name) DO UPDATE SET document = excluded.document, updated_ms = excluded.updated_ms`,
		p.AccountID, p.UserName, p.Name, p.Document, ms(p.UpdatedAt))
	return err
}

func (t *tx) DeleteUserPolicy(accountID, userName, name string) error {
	res, err := t.exec(`DELETE FROM user_policies WHERE account_id = ? AND user_name = ? AND policy_name = ?`, accountID, userName, name)
	return affected(res, err)
}

// User implements moat.Reader.
func (s *Store) User(ctx context.Context, accountID, name string) (moat.User, error) {
	row, err := s.queryRow(ctx, `SELECT user_id, created_ms FROM users WHERE account_id = ? AND user_name = ?`, accountID, name)
	if err != nil {
		return moat.User{}, err
	}
	u := moat.User{AccountID: accountID, Name: name}
	var created int64
	err = row.Scan(&u.ID, &created)
	u.CreatedAt = fromMS(created)
	return u, notFound(err)
}

// UserPolicies implements moat.Reader.
func (s *Store) UserPolicies(ctx context.Context, accountID, userName string) ([]moat.UserPolicy, error) {
	rows, err := s.rquery(ctx, `SELECT policy_name, document, updated_ms FROM user_policies WHERE account_id = ? AND user_name = ? ORDER BY policy_name`, accountID, userName)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []moat.UserPolicy{}
	for rows.Next() {
		p := moat.UserPolicy{AccountID: accountID, UserName: userName}
		var updated int64
		if err := rows.Scan(&p.Name, &p.Document, &updated); err != nil {
			return nil, err
		}
		p.UpdatedAt = fromMS(updated)
		out = append(out, p)
	}
	return out, rows.Err()
}
