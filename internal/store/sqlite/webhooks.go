package sqlite

import (
	"context"
	"database/sql"
	"strconv"
	"time"

	"moat/internal/moat"
	"moat/internal/store/sqlbuild"
)

// Webhooks and their outbox (moat.WebhookReader, moat.WebhookTx).

// Webhook implements moat.Reader.
func (s *Store) Webhook(ctx context.Context, id string) (moat.Webhook, error) {
	row, err := s.queryRow(ctx, `SELECT `+sqlbuild.WebhookCols+` FROM webhooks WHERE webhook_id = ?`, id)
	if err != nil {
		return moat.Webhook{}, err
	}
	var w moat.Webhook
	dest, done := sqlbuild.WebhookDest(&w)
	if err := row.Scan(dest...); err != nil {
		return moat.Webhook{}, notFound(err)
	}
	done()
	return w, nil
}

// Webhooks implements moat.Reader.
func (s *Store) Webhooks(ctx context.Context, accountID string) ([]moat.Webhook, error) {
	rows, err := s.rquery(ctx, `SELECT `+sqlbuild.WebhookCols+` FROM webhooks WHERE account_id = ? ORDER BY created_ms, webhook_id`, accountID)
	if err != nil {
		return nil, err
	}
	return scanWebhooks(rows)
}

func scanWebhooks(rows *sql.Rows) ([]moat.Webhook, error) {
	defer rows.Close()
	var out []moat.Webhook
	for rows.Next() {
		var w moat.Webhook
		dest, done := sqlbuild.WebhookDest(&w)
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		done()
		out = append(out, w)
	}
	return out, rows.Err()
}

// Deliveries implements moat.Reader.
func (s *Store) Deliveries(ctx context.Context, f moat.DeliveryFilter) ([]moat.Delivery, error) {
	rows, err := s.rquery(ctx, `SELECT `+sqlbuild.DeliveryCols+` FROM webhook_deliveries WHERE webhook_id = ?
		ORDER BY delivery_id DESC LIMIT `+strconv.Itoa(f.Limit), f.WebhookID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []moat.Delivery
	for rows.Next() {
		var d moat.Delivery
		dest, done := sqlbuild.DeliveryDest(&d)
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		done()
		out = append(out, d)
	}
	return out, rows.Err()
}

// NextDelivery implements moat.Reader.
func (s *Store) NextDelivery(ctx context.Context) (time.Time, bool, error) {
	row, err := s.queryRow(ctx, `SELECT MIN(next_ms) FROM webhook_deliveries WHERE status = 'pending'`)
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

func (t *tx) InsertWebhook(w moat.Webhook) error {
	_, err := t.exec(`INSERT INTO webhooks(`+sqlbuild.WebhookCols+`) VALUES (?, ?, ?, ?, ?, ?)`, sqlbuild.WebhookArgs(&w)...)
	return insertErr(err)
}

func (t *tx) WebhooksOf(accountID string) ([]moat.Webhook, error) {
	rows, err := t.query(`SELECT `+sqlbuild.WebhookCols+` FROM webhooks WHERE account_id = ? ORDER BY created_ms, webhook_id`, accountID)
	if err != nil {
		return nil, err
	}
	return scanWebhooks(rows)
}

func (t *tx) DeleteWebhook(id string) error {
	res, err := t.exec(`DELETE FROM webhooks WHERE webhook_id = ?`, id)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return moat.ErrNotFound
	}
	_, err = t.exec(`DELETE FROM webhook_deliveries WHERE webhook_id = ?`, id)
	return err
}

func (t *tx) InsertDeliveries(ds []moat.Delivery) error {
	for i := range ds {
		var id int64
		err := t.queryRow(`INSERT INTO webhook_deliveries(`+sqlbuild.DeliveryInsertCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (webhook_id, event_id) DO NOTHING RETURNING delivery_id`, sqlbuild.DeliveryArgs(&ds[i])...).Scan(&id)
		if err != nil && err != sql.ErrNoRows {
			return err
		}
		ds[i].ID = id
	}
	return nil
}

func (t *tx) ClaimDeliveries(now, until time.Time, limit int) ([]moat.Delivery, error) {
	rows, err := t.query(`SELECT `+sqlbuild.Prefixed("d.", sqlbuild.DeliveryCols)+`, w.url, w.secret FROM webhook_deliveries d JOIN webhooks w ON w.webhook_id = d.webhook_id
		WHERE d.status = 'pending' AND d.next_ms <= ? ORDER BY d.next_ms LIMIT `+strconv.Itoa(limit), ms(now))
	if err != nil {
		return nil, err
	}
	var out []moat.Delivery
	for rows.Next() {
		var d moat.Delivery
		dest, done := sqlbuild.DeliveryDest(&d, &d.URL, &d.Secret)
		if err := rows.Scan(dest...); err != nil {
			rows.Close()
			return nil, err
		}
		done()
		out = append(out, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		out[i].Next = until.Truncate(time.Millisecond)
		if _, err := t.exec(`UPDATE webhook_deliveries SET next_ms = ? WHERE delivery_id = ?`, ms(until), out[i].ID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (t *tx) UpdateDeliveries(ds []moat.Delivery) error {
	for i := range ds {
		d := &ds[i]
		if _, err := t.exec(`UPDATE webhook_deliveries SET status = ?, attempts = ?, next_ms = ?, last_ms = ?, last_code = ?, last_error = ?
			WHERE delivery_id = ? AND status = 'pending'`,
			string(d.Status), d.Attempts, sqlbuild.MS(d.Next), sqlbuild.MS(d.Last), d.LastCode, d.LastError, d.ID); err != nil {
			return err
		}
	}
	return nil
}
