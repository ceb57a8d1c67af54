package storetest

import (
	"errors"
	"testing"
	"time"

	"moat/internal/moat"
)

// ---- Webhooks and their outbox ----

func testWebhooks(t *testing.T, s moat.Store) {
	ctx := t.Context()
	created := time.UnixMilli(1_800_000_000_000).UTC()
	w1 := moat.Webhook{ID: "wh-1", AccountID: acctA, URL: "http://127.0.0.1:1/a", Events: []string{"expired", "renewed"}, Secret: "sealed-1", Created: created}
	w2 := moat.Webhook{ID: "wh-2", AccountID: acctA, URL: "https://example.com/b", Events: []string{"*"}, Secret: "sealed-2", Created: created.Add(time.Millisecond)}
	update(t, s, func(tx moat.Tx) error {
		for _, w := range []moat.Webhook{w1, w2} {
			if err := tx.InsertWebhook(w); err != nil {
				return err
			}
		}
		if err := tx.InsertWebhook(w1); !errors.Is(err, moat.ErrConflict) {
			t.Errorf("InsertWebhook(taken ID) = %v; want ErrConflict", err)
		}
		got, err := tx.WebhooksOf(acctA)
		if err != nil || len(got) != 2 || got[0].ID != "wh-1" || got[1].ID != "wh-2" {
			t.Errorf("Tx.WebhooksOf = %+v, %v", got, err)
		}
		return nil
	})
	got, err := s.Webhook(ctx, "wh-1")
	if err != nil || got.URL != w1.URL || got.Secret != w1.Secret || len(got.Events) != 2 || got.Events[1] != "renewed" || !got.Created.Equal(created) || got.AccountID != acctA {
		t.Errorf("Webhook = %+v, %v; want %+v", got, err, w1)
	}
	if _, err := s.Webhook(ctx, "wh-none"); !errors.Is(err, moat.ErrNotFound) {
		t.Errorf("Webhook(missing) = %v; want ErrNotFound", err)
	}
	if ws, err := s.Webhooks(ctx, acctB); err != nil || len(ws) != 0 {
		t.Errorf("Webhooks(other account) = %+v, %v; want none", ws, err)
	}
	if _, ok, err := s.NextDelivery(ctx); ok || err != nil {
		t.Errorf("NextDelivery with an empty outbox = %v, %v; want false", ok, err)
	}

	// Two notices for two webhooks; the same (webhook, event) again is
	// left out.
	now := time.UnixMilli(1_800_000_100_000).UTC()
	d := func(hook, ev string, next time.Time) moat.Delivery {
		return moat.Delivery{WebhookID: hook, EventID: ev, Type: "expired", Body: `{"EventId":"` + ev + `"}`, Status: moat.DeliveryPending, Created: now, Next: next}
	}
	update(t, s, func(tx moat.Tx) error {
		return tx.InsertDeliveries([]moat.Delivery{d("wh-1", "e1", now), d("wh-2", "e1", now.Add(time.Second)), d("wh-1", "e2", now.Add(time.Hour))})
	})
	update(t, s, func(tx moat.Tx) error { return tx.InsertDeliveries([]moat.Delivery{d("wh-1", "e1", now)}) })
	if log, err := s.Deliveries(ctx, moat.DeliveryFilter{WebhookID: "wh-1", Limit: 10}); err != nil || len(log) != 2 || log[0].EventID != "e2" || log[1].EventID != "e1" {
		t.Fatalf("Deliveries(wh-1) = %+v, %v; want e2, e1 (newest first, no duplicate)", log, err)
	}
	if next, ok, err := s.NextDelivery(ctx); !ok || err != nil || !next.Equal(now) {
		t.Errorf("NextDelivery = %s, %v, %v; want %s", next, ok, err, now)
	}

	// A claim takes what is due, earliest first, with the webhook's URL
	// and secret, and moves Next to the lease's end.
	lease := now.Add(time.Minute)
	var claimed []moat.Delivery
	update(t, s, func(tx moat.Tx) error {
		var err error
		claimed, err = tx.ClaimDeliveries(now.Add(time.Second), lease, 10)
		return err
	})
	if len(claimed) != 2 || claimed[0].WebhookID != "wh-1" || claimed[0].URL != w1.URL || claimed[0].Secret != "sealed-1" || claimed[1].Secret != "sealed-2" ||
		claimed[0].Body != `{"EventId":"e1"}` || claimed[0].Status != moat.DeliveryPending {
		t.Fatalf("ClaimDeliveries = %+v", claimed)
	}
	update(t, s, func(tx moat.Tx) error {
		again, err := tx.ClaimDeliveries(now.Add(time.Second), lease, 10)
		if len(again) != 0 {
			t.Errorf("a second claim before the lease ends took %+v", again)
		}
		return err
	})

	// Outcomes: one delivered, one retried later.
	ok, retry := claimed[0], claimed[1]
	ok.Status, ok.Attempts, ok.Next, ok.Last, ok.LastCode = moat.DeliveryDelivered, 1, time.Time{}, now.Add(2*time.Second), 204
	retry.Attempts, retry.Next, retry.Last, retry.LastCode, retry.LastError = 1, now.Add(5*time.Second), now.Add(2*time.Second), 500, "HTTP 500: boom"
	update(t, s, func(tx moat.Tx) error { return tx.UpdateDeliveries([]moat.Delivery{ok, retry}) })
	log, err := s.Deliveries(ctx, moat.DeliveryFilter{WebhookID: "wh-2", Limit: 10})
	if err != nil || len(log) != 1 || log[0].Attempts != 1 || log[0].LastCode != 500 || log[0].LastError != "HTTP 500: boom" ||
		!log[0].Next.Equal(now.Add(5*time.Second)) || !log[0].Last.Equal(now.Add(2*time.Second)) || !log[0].Created.Equal(now) {
		t.Errorf("retried delivery = %+v, %v", log, err)
	}
	// A delivered one is not rewritten by a late outcome.
	late := ok
	late.Status, late.Attempts = moat.DeliveryFailed, 7
	update(t, s, func(tx moat.Tx) error { return tx.UpdateDeliveries([]moat.Delivery{late}) })
	log, _ = s.Deliveries(ctx, moat.DeliveryFilter{WebhookID: "wh-1", Limit: 10})
	if len(log) != 2 || log[1].Status != moat.DeliveryDelivered || log[1].Attempts != 1 || !log[1].Next.IsZero() {
		t.Errorf("delivered one after a late outcome = %+v", log)
	}

	// Deleting a webhook deletes its deliveries.
	update(t, s, func(tx moat.Tx) error {
		if err := tx.DeleteWebhook("wh-none"); !errors.Is(err, moat.ErrNotFound) {
			t.Errorf("DeleteWebhook(missing) = %v; want ErrNotFound", err)
		}
		return tx.DeleteWebhook("wh-1")
	})
	if log, err := s.Deliveries(ctx, moat.DeliveryFilter{WebhookID: "wh-1", Limit: 10}); err != nil || len(log) != 0 {
		t.Errorf("deliveries of a deleted webhook = %+v, %v", log, err)
	}
	if ws, err := s.Webhooks(ctx, acctA); err != nil || len(ws) != 1 || ws[0].ID != "wh-2" {
		t.Errorf("Webhooks after delete = %+v, %v", ws, err)
	}
}
