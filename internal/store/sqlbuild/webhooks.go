package sqlbuild

import (
	"strings"
	"time"

	"moat/internal/moat"
)

// WebhookCols are the columns of webhooks, in the order both stores scan
// and insert them.
const WebhookCols = `webhook_id, account_id, url, events, secret, created_ms`

// DeliveryCols are the columns of webhook_deliveries that both stores
// scan, in order (delivery_id first; insertion leaves it to the store).
const DeliveryCols = `delivery_id, webhook_id, event_id, type, body, status, attempts, created_ms, next_ms, last_ms, last_code, last_error`

// DeliveryInsertCols are the columns an insert into webhook_deliveries
// names.
const DeliveryInsertCols = `webhook_id, event_id, type, body, status, attempts, created_ms, next_ms, last_ms, last_code, last_error`

// EncodeEvents stores a webhook's event list as one comma-separated
// value; DecodeEvents reads it back.
func EncodeEvents(events []string) string { return strings.Join(events, ",") }

// DecodeEvents is EncodeEvents' inverse.
func DecodeEvents(v string) []string {
	if v == "" {
		return nil
	}
	return strings.Split(v, ",")
}

// MS is t in milliseconds, 0 for the zero time; FromMS its inverse.
func MS(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// FromMS is MS's inverse.
func FromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

// WebhookDest returns scan destinations for WebhookCols and a function
// that completes the webhook once scanned.
func WebhookDest(w *moat.Webhook) ([]any, func()) {
	var events string
	var created int64
	return []any{&w.ID, &w.AccountID, &w.URL, &events, &w.Secret, &created}, func() {
		w.Events, w.Created = DecodeEvents(events), FromMS(created)
	}
}

// WebhookArgs are w's values in WebhookCols order.
func WebhookArgs(w *moat.Webhook) []any {
	return []any{w.ID, w.AccountID, w.URL, EncodeEvents(w.Events), w.Secret, MS(w.Created)}
}

// DeliveryDest returns scan destinations for DeliveryCols (and extra ones
// after them) and a function that completes the delivery once scanned.
func DeliveryDest(d *moat.Delivery, extra ...any) ([]any, func()) {
	var status string
	var created, next, last int64
	dest := []any{&d.ID, &d.WebhookID, &d.EventID, &d.Type, &d.Body, &status, &d.Attempts, &created, &next, &last, &d.LastCode, &d.LastError}
	return append(dest, extra...), func() {
		d.Status = moat.DeliveryStatus(status)
		d.Created, d.Next, d.Last = FromMS(created), FromMS(next), FromMS(last)
	}
}

// DeliveryArgs are d's values in DeliveryInsertCols order.
func DeliveryArgs(d *moat.Delivery) []any {
	return []any{d.WebhookID, d.EventID, d.Type, d.Body, string(d.Status), d.Attempts, MS(d.Created), MS(d.Next), MS(d.Last), d.LastCode, d.LastError}
}

// Prefixed qualifies each column of a column list with p ("d.").
func Prefixed(p, cols string) string {
	parts := strings.Split(cols, ",")
	for i, c := range parts {
		parts[i] = p + strings.TrimSpace(c)
	}
	return strings.Join(parts, ", ")
}
