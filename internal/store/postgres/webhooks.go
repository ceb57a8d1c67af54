package postgres

import (
	"context"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"moat/internal/moat"
	"moat/internal/store/sqlbuild"
)

// Webhooks and their outbox (moat.WebhookReader, moat.WebhookTx).

// Webhook implements moat.Reader.
func (s *Store) Webhook(ctx context.Context, id string) (moat.Webhook, error) {
	var w moat.Webhook
	dest, done := sqlbuild.WebhookDest(&w)
	if err := s.rowOnce(ctx, "webhook", `SELECT `+sqlbuild.WebhookCols+` FROM webhooks WHERE webhook_id = $1`, []any{id}, dest...); err != nil {
		return moat.Webhook{}, err
	}
	done()
	return w, nil
}

// Webhooks implements moat.Reader.
func (s *Store) Webhooks(ctx context.Context, accountID string) ([]moat.Webhook, error) {
	var out []moat.Webhook
	err := s.read(ctx, "webhooks", func(ctx context.Context, c *pgxpool.Conn) error {
		rows, err := c.Query(ctx, `SELECT `+sqlbuild.WebhookCols+` FROM webhooks WHERE account_id = $1 ORDER BY created_ms, webhook_id`, accountID)
		if err != nil {
			return err
		}
		out, err = scanWebhooks(rows)
		return err
	})
	return out, err
}

func scanWebhooks(rows pgx.Rows) ([]moat.Webhook, error) {
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

func scanDeliveries(rows pgx.Rows, withHook bool) ([]moat.Delivery, error) {
	defer rows.Close()
	var out []moat.Delivery
	for rows.Next() {
		var d moat.Delivery
		var extra []any
		if withHook {
			extra = []any{&d.URL, &d.Secret}
		}
		dest, done := sqlbuild.DeliveryDest(&d, extra...)
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		done()
		out = append(out, d)
	}
	return out, rows.Err()
}

// Deliveries implements moat.Reader.
func (s *Store) Deliveries(ctx context.Context, f moat.DeliveryFilter) ([]moat.Delivery, error) {
	var out []moat.Delivery
	err := s.read(ctx, "deliveries", func(ctx context.Context, c *pgxpool.Conn) error {
		rows, err := c.Query(ctx, `SELECT `+sqlbuild.DeliveryCols+` FROM webhook_deliveries WHERE webhook_id = $1
			ORDER BY delivery_id DESC LIMIT `+strconv.Itoa(f.Limit), f.WebhookID)
		if err != nil {
			return err
		}
		out, err = scanDeliveries(rows, false)
		return err
	})
	return out, err
}

// NextDelivery implements moat.Reader.
func (s *Store) NextDelivery(ctx context.Context) (time.Time, bool, error) {
	var v *int64
	if err := s.rowOnce(ctx, "next delivery", `SELECT MIN(next_ms) FROM webhook_deliveries WHERE status = 'pending'`, nil, &v); err != nil {
		return time.Time{}, false, err
	}
	if v == nil {
		return time.Time{}, false, nil
	}
	return fromMS(*v), true, nil
}

func (t *tx) InsertWebhook(w moat.Webhook) error {
	n, err := t.exec("insert webhook", `INSERT INTO webhooks (`+sqlbuild.WebhookCols+`) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`,
		sqlbuild.WebhookArgs(&w)...)
	return conflictIfNone(n, err)
}

func (t *tx) WebhooksOf(accountID string) ([]moat.Webhook, error) {
	var out []moat.Webhook
	err := t.query("webhooks", `SELECT `+sqlbuild.WebhookCols+` FROM webhooks WHERE account_id = $1 ORDER BY created_ms, webhook_id`,
		[]any{accountID}, func(rows pgx.Rows) error {
			var err error
			out, err = scanWebhooks(rows)
			return err
		})
	return out, err
}

func (t *tx) DeleteWebhook(id string) error {
	if err := notFoundIfNone(t.exec("delete webhook", `DELETE FROM webhooks WHERE webhook_id = $1`, id)); err != nil {
		return err
	}
	t.later("delete deliveries", `DELETE FROM webhook_deliveries WHERE webhook_id = $1`, id)
	return nil
}

// InsertDeliveries queues one multi-row insert, sent with the
// transaction's next statement or its COMMIT: nothing waits for the IDs,
// so the outbox costs the transaction no round trip of its own.
func (t *tx) InsertDeliveries(ds []moat.Delivery) error {
	if len(ds) == 0 {
		return nil
	}
	cols := make([][]any, 11)
	for i := range ds {
		for j, v := range sqlbuild.DeliveryArgs(&ds[i]) {
			cols[j] = append(cols[j], v)
		}
	}
	texts := func(vs []any) []string {
		out := make([]string, len(vs))
		for i, v := range vs {
			out[i] = v.(string)
		}
		return out
	}
	ints := func(vs []any) []int64 {
		out := make([]int64, len(vs))
		for i, v := range vs {
			switch x := v.(type) {
			case int:
				out[i] = int64(x)
			case int64:
				out[i] = x
			}
		}
		return out
	}
	t.later("insert deliveries", `INSERT INTO webhook_deliveries (`+sqlbuild.DeliveryInsertCols+`)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int[], $7::bigint[], $8::bigint[], $9::bigint[], $10::int[], $11::text[])
		ON CONFLICT (webhook_id, event_id) DO NOTHING`,
		texts(cols[0]), texts(cols[1]), texts(cols[2]), texts(cols[3]), texts(cols[4]), ints(cols[5]), ints(cols[6]), ints(cols[7]), ints(cols[8]), ints(cols[9]), texts(cols[10]))
	return nil
}

// ClaimDeliveries locks the due rows it takes (FOR UPDATE SKIP LOCKED), so
// concurrent claims by other replicas pass them by, and moves their Next
// to until in the same statement.
func (t *tx) ClaimDeliveries(now, until time.Time, limit int) ([]moat.Delivery, error) {
	var out []moat.Delivery
	err := t.query("claim deliveries", `WITH due AS (
			SELECT delivery_id FROM webhook_deliveries WHERE status = 'pending' AND next_ms <= $1
			ORDER BY next_ms LIMIT `+strconv.Itoa(limit)+` FOR UPDATE SKIP LOCKED)
		UPDATE webhook_deliveries AS d SET next_ms = $2 FROM due, webhooks AS w
		WHERE d.delivery_id = due.delivery_id AND w.webhook_id = d.webhook_id
		RETURNING `+sqlbuild.Prefixed("d.", sqlbuild.DeliveryCols)+`, w.url, w.secret`,
		[]any{ms(now), ms(until)}, func(rows pgx.Rows) error {
			var err error
			out, err = scanDeliveries(rows, true)
			return err
		})
	return out, err
}

func (t *tx) UpdateDeliveries(ds []moat.Delivery) error {
	if len(ds) == 0 {
		return nil
	}
	ids, statuses, errs := make([]int64, len(ds)), make([]string, len(ds)), make([]string, len(ds))
	attempts, codes := make([]int64, len(ds)), make([]int64, len(ds))
	nexts, lasts := make([]int64, len(ds)), make([]int64, len(ds))
	for i, d := range ds {
		ids[i], statuses[i], errs[i] = d.ID, string(d.Status), d.LastError
		attempts[i], codes[i] = int64(d.Attempts), int64(d.LastCode)
		nexts[i], lasts[i] = sqlbuild.MS(d.Next), sqlbuild.MS(d.Last)
	}
	_, err := t.exec("update deliveries", `UPDATE webhook_deliveries AS d SET status = v.status, attempts = v.attempts, next_ms = v.next_ms,
			last_ms = v.last_ms, last_code = v.last_code, last_error = v.last_error
		FROM unnest($1::bigint[], $2::text[], $3::int[], $4::bigint[], $5::bigint[], $6::int[], $7::text[])
			AS v (id, status, attempts, next_ms, last_ms, last_code, last_error)
		WHERE d.delivery_id = v.id AND d.status = 'pending'`, ids, statuses, attempts, nexts, lasts, codes, errs)
	return err
}
