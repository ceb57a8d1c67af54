package postgres

import (
	"context"

	"github.com/jackc/pgx/v5/pgxpool"

	"moat/internal/moat"
)

// RAM users and their policies.

func (t *tx) User(accountID, name string) (moat.User, error) {
	u := moat.User{AccountID: accountID, Name: name}
	var created int64
	err := t.lockedRead("user", []string{"user", accountID, name}, func() error {
		return t.row("user", `SELECT user_id, created_ms FROM users WHERE account_id = $1 AND user_name = $2 FOR UPDATE`,
			[]any{accountID, name}, &u.ID, &created)
	})
	if err != nil {
		return moat.User{}, err
	}
	u.CreatedAt = fromMS(created)
	return u, nil
}

func (t *tx) InsertUser(u moat.User) error {
	return conflictIfNone(t.exec("insert user", `INSERT INTO users (account_id, user_name, user_id, created_ms) VALUES ($1, $2, $3, $4)
		ON CONFLICT DO NOTHING`, u.AccountID, u.Name, u.ID, ms(u.CreatedAt)))
}

func (t *tx) PutUserPolicy(p moat.UserPolicy) error {
	_, err := t.exec("put user policy", `INSERT INTO user_policies (account_id, user_name, policy_name, document, updated_ms) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (account_id, user_name, policy_name) DO UPDATE SET document = excluded.document, updated_ms = excluded.updated_ms`,
		p.AccountID, p.UserName, p.Name, p.Document, ms(p.UpdatedAt))
	return err
}

func (t *tx) DeleteUserPolicy(accountID, userName, name string) error {
	return notFoundIfNone(t.exec("delete user policy", `DELETE FROM user_policies WHERE account_id = $1 AND user_name = $2 AND policy_name = $3`,
		accountID, userName, name))
}

// User implements moat.Reader.
func (s *Store) User(ctx context.Context, accountID, name string) (moat.User, error) {
	u := moat.User{AccountID: accountID, Name: name}
	var created int64
	if err := s.rowOnce(ctx, "user", `SELECT user_id, created_ms FROM users WHERE account_id = $1 AND user_name = $2`,
		[]any{accountID, name}, &u.ID, &created); err != nil {
		return moat.User{}, err
	}
	u.CreatedAt = fromMS(created)
	return u, nil
}

// UserPolicies implements moat.Reader.
func (s *Store) UserPolicies(ctx context.Context, accountID, userName string) ([]moat.UserPolicy, error) {
	out := []moat.UserPolicy{}
	err := s.read(ctx, "user policies", func(ctx context.Context, c *pgxpool.Conn) error {
		out = out[:0]
		rows, err := c.Query(ctx, `SELECT policy_name, document, updated_ms FROM user_policies WHERE account_id = $1 AND user_name = $2
			ORDER BY policy_name`, accountID, userName)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			p := moat.UserPolicy{AccountID: accountID, UserName: userName}
			var updated int64
			if err := rows.Scan(&p.Name, &p.Document, &updated); err != nil {
				return err
			}
			p.UpdatedAt = fromMS(updated)
			out = append(out, p)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
