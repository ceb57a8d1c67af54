package moat

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"slices"
	"strconv"
	"time"
)

// Notifications: an account's webhooks and the durable outbox of their
// deliveries. A notice is written to the outbox (one Delivery per webhook
// that wants it) in the transaction that records what it notifies, so a
// crash loses none; internal/notify POSTs them and reports each attempt
// back through WebhookService, which decides retries.

// Notice types, as webhooks name them in Events ("*": all of them).
const (
	NoticeExpiring          = "expiring" // 7, 3 and 1 days before expiry
	NoticeExpired           = "expired"
	NoticeForwardingStopped = "forwarding_stopped"
	NoticeRenewed           = "renewed" // RenewInstance or auto-renewal (Auto)
	NoticeReleased          = "released"
	NoticeAttack            = "attack" // a mitigation event of the data plane began
	NoticeAll               = "*"
)

// NoticeTypes lists every notice type, for validating subscriptions.
var NoticeTypes = []string{NoticeExpiring, NoticeExpired, NoticeForwardingStopped, NoticeRenewed, NoticeReleased, NoticeAttack}

// Webhook limits and delivery policy.
const (
	MaxWebhooksPerAccount = 20
	MaxWebhookURL         = 2048
	MaxWebhookSecret      = 256
	// DeliveryFirstRetry is the delay after a first failed attempt; each
	// later failure doubles it (with jitter of ±20%), up to
	// DeliveryMaxBackoff, so attempts 1-3 fall within about 3 s plus the
	// time the receiver takes to answer.
	DeliveryFirstRetry = time.Second
	DeliveryMaxBackoff = 15 * time.Minute
	// DeliveryGiveUp is how long (real time, from the notice) a delivery
	// is retried before it is marked failed.
	DeliveryGiveUp = 24 * time.Hour
)

// Webhook is an account's subscription to notices.
type Webhook struct {
	ID        string
	AccountID string
	URL       string
	Events    []string // notice types, or ["*"]
	Secret    string   // sealed in the store; never shown after creation
	Created   time.Time
}

// Wants reports whether the webhook subscribes to notices of typ.
func (w *Webhook) Wants(typ string) bool {
	return slices.Contains(w.Events, NoticeAll) || slices.Contains(w.Events, typ)
}

// DeliveryStatus is where a delivery stands.
type DeliveryStatus string

const (
	DeliveryPending   DeliveryStatus = "pending"
	DeliveryDelivered DeliveryStatus = "delivered"
	DeliveryFailed    DeliveryStatus = "failed"
)

// Delivery is one notice for one webhook: a row of the outbox. Times are
// real time: retries are paced by the wall clock, whatever the server
// clock says.
type Delivery struct {
	ID        int64 // assigned by the store
	WebhookID string
	EventID   string // X-Moat-Event-Id: one per notice, the same for every webhook and attempt
	Type      string
	Body      string // the JSON POSTed
	Status    DeliveryStatus
	Attempts  int
	Created   time.Time
	Next      time.Time // when a pending delivery is next due (or its lease ends)
	Last      time.Time // the last attempt; zero before the first
	LastCode  int       // the receiver's HTTP status (0: no answer)
	LastError string

	// URL and Secret (opened) are filled in by a claim, for the sender.
	URL    string
	Secret string
}

// DeliveryFilter selects a webhook's deliveries, the newest first.
type DeliveryFilter struct {
	WebhookID string
	Limit     int
}

// Attempt is the outcome of one POST of a claimed delivery.
type Attempt struct {
	Delivery Delivery
	At       time.Time // when the attempt ended
	Code     int       // HTTP status, 0 without an answer
	Err      string    // "" when a 2xx acknowledged it
}

// Notice is the JSON body of a delivery. Times are RFC 3339 in UTC with
// milliseconds; fields that do not apply to a type are left out.
type Notice struct {
	EventId    string
	Type       string
	Time       string
	AccountId  string
	InstanceId string
	RegionId   string
	ExpireTime string `json:",omitempty"`
	DaysLeft   int    `json:",omitempty"`
	Auto       bool   `json:",omitempty"` // renewed by auto-renewal
	RequestId  string `json:",omitempty"`
	Reason     string `json:",omitempty"`
	// Attack notices: the rule and what the data plane saw.
	Protocol     string `json:",omitempty"`
	FrontendPort int    `json:",omitempty"`
	Source       string `json:",omitempty"`
	Limit        string `json:",omitempty"`
	Node         string `json:",omitempty"`
}

// NoticeTime formats a time as notices carry it.
func NoticeTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// instanceNotice is a notice of typ about in, at t.
func instanceNotice(in *Instance, typ string, t time.Time) Notice {
	return Notice{Type: typ, Time: NoticeTime(t), AccountId: in.AccountID, InstanceId: in.ID, RegionId: string(in.Region),
		ExpireTime: NoticeTime(in.ExpireTime)}
}

// NewWebhookID returns a webhook ID.
func NewWebhookID() string { return "wh-" + randomString(lowerAlnum, 16) }

// newEventID returns a fresh notice ID.
func newEventID() string { return "evt-" + randomString(lowerAlnum, 20) }

// ---- The outbox side of a transaction ----

// notifyTx is the Tx that core.store's Update hands out (hookStore): it
// remembers each account's webhooks for the rest of the transaction (a
// lifecycle batch of 500 instances of one account reads them once) and
// gathers the deliveries, inserted together when the function returns.
type notifyTx struct {
	Tx
	hooks   map[string][]Webhook
	pending []Delivery
	now     time.Time // real time
}

// notify writes n to the outbox for every webhook of its account that
// wants it, in tx's transaction. n.EventId is drawn when empty.
func notify(tx Tx, n *Notice) error {
	if nt, ok := tx.(*notifyTx); ok {
		return nt.add(n)
	}
	nt := &notifyTx{Tx: tx, now: time.Now()}
	if err := nt.add(n); err != nil {
		return err
	}
	return nt.flush()
}

func (t *notifyTx) add(n *Notice) error {
	hooks, ok := t.hooks[n.AccountId]
	if !ok {
		var err error
		if hooks, err = t.Tx.WebhooksOf(n.AccountId); err != nil {
			return err
		}
		if t.hooks == nil {
			t.hooks = map[string][]Webhook{}
		}
		t.hooks[n.AccountId] = hooks
	}
	var body []byte
	for i := range hooks {
		if !hooks[i].Wants(n.Type) {
			continue
		}
		if body == nil {
			if n.EventId == "" {
				n.EventId = newEventID()
			}
			var err error
			if body, err = json.Marshal(n); err != nil {
				return err
			}
		}
		t.pending = append(t.pending, Delivery{WebhookID: hooks[i].ID, EventID: n.EventId, Type: n.Type, Body: string(body),
			Status: DeliveryPending, Created: t.now, Next: t.now})
	}
	return nil
}

func (t *notifyTx) flush() error {
	if len(t.pending) == 0 {
		return nil
	}
	err := t.Tx.InsertDeliveries(t.pending)
	t.pending = nil
	return err
}

// hookStore is core's store: its Update hands fn a notifyTx and inserts
// the deliveries fn gathered before the commit, then wakes the sender.
type hookStore struct {
	Store
	wake chan struct{}
}

func (h *hookStore) Update(ctx context.Context, fn func(tx Tx) error) error {
	queued := false
	err := h.Store.Update(ctx, func(tx Tx) error {
		nt := &notifyTx{Tx: tx, now: time.Now()}
		if err := fn(nt); err != nil {
			return err
		}
		queued = len(nt.pending) > 0
		return nt.flush()
	})
	if err == nil && queued {
		select {
		case h.wake <- struct{}{}:
		default:
		}
	}
	return err
}

// ---- WebhookService ----

// WebhookService holds webhooks and their deliveries: the admin API
// manages them, internal/notify sends them.
type WebhookService struct {
	*core
	sealer Sealer
	hooks  *hookStore
	rand   func() float64 // in [0, 1), for jitter
}

// WebhookSpec is a webhook to create.
type WebhookSpec struct {
	URL    string
	Events []string
	Secret string
}

func checkWebhook(spec *WebhookSpec) error {
	if spec.URL == "" {
		return Errorf(CodeInvalidParameter, "Url is mandatory: the http or https address deliveries are POSTed to.")
	}
	if len(spec.URL) > MaxWebhookURL {
		return Errorf(CodeInvalidParameter, "Url is longer than %d characters.", MaxWebhookURL)
	}
	u, err := url.Parse(spec.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Hostname() == "" {
		return Errorf(CodeInvalidParameter, "Url %q must be an absolute http or https URL with a host.", spec.URL)
	}
	if u.User != nil {
		return Errorf(CodeInvalidParameter, "Url must not carry credentials; deliveries are signed with the Secret.")
	}
	if u.Fragment != "" {
		return Errorf(CodeInvalidParameter, "Url must not have a fragment.")
	}
	if spec.Secret == "" {
		return Errorf(CodeInvalidParameter, "Secret is mandatory: every delivery is signed with it (X-Moat-Signature).")
	}
	if len(spec.Secret) > MaxWebhookSecret {
		return Errorf(CodeInvalidParameter, "Secret is longer than %d bytes.", MaxWebhookSecret)
	}
	if len(spec.Events) == 0 {
		return Errorf(CodeInvalidParameter, "Events is mandatory: a list of %v, or [\"*\"] for all.", NoticeTypes)
	}
	var events []string
	for _, e := range spec.Events {
		if e != NoticeAll && !slices.Contains(NoticeTypes, e) {
			return Errorf(CodeInvalidParameter, "Events: %q is not an event; use %v, or \"*\" for all.", e, NoticeTypes)
		}
		if !slices.Contains(events, e) {
			events = append(events, e)
		}
	}
	spec.Events = events
	return nil
}

// CreateWebhook subscribes an account's URL to notices. The answer
// carries no secret.
func (s *WebhookService) CreateWebhook(ctx context.Context, accountID string, spec WebhookSpec) (Webhook, error) {
	if err := checkWebhook(&spec); err != nil {
		return Webhook{}, err
	}
	sealed := spec.Secret
	if s.sealer != nil {
		var err error
		if sealed, err = s.sealer.Seal(spec.Secret); err != nil {
			return Webhook{}, Internal("seal webhook secret", err)
		}
	}
	w := Webhook{AccountID: accountID, URL: spec.URL, Events: spec.Events, Secret: sealed, Created: s.clock.Real().Truncate(time.Millisecond)}
	err := s.store.Update(ctx, func(tx Tx) error {
		if _, err := tx.Account(accountID); errors.Is(err, ErrNotFound) {
			return accountNotFound(accountID)
		} else if err != nil {
			return err
		}
		have, err := tx.WebhooksOf(accountID)
		if err != nil {
			return err
		}
		if len(have) >= MaxWebhooksPerAccount {
			return Errorf(CodeWebhookQuota, "The account %q has %d webhooks, the most it may have.", accountID, MaxWebhooksPerAccount)
		}
		for attempt := 0; ; attempt++ {
			w.ID = NewWebhookID()
			err := tx.InsertWebhook(w)
			if !errors.Is(err, ErrConflict) || attempt > 5 {
				return err
			}
		}
	})
	if err != nil {
		return Webhook{}, err
	}
	w.Secret = ""
	return w, nil
}

func accountNotFound(id string) error {
	return Errorf(CodeAccountNotFound, "Account %q does not exist.", id)
}

// Webhooks lists an account's webhooks (without secrets), oldest first.
func (s *WebhookService) Webhooks(ctx context.Context, accountID string) ([]Webhook, error) {
	if _, err := s.store.Account(ctx, accountID); errors.Is(err, ErrNotFound) {
		return nil, accountNotFound(accountID)
	} else if err != nil {
		return nil, err
	}
	ws, err := s.store.Webhooks(ctx, accountID)
	for i := range ws {
		ws[i].Secret = ""
	}
	return ws, err
}

func webhookNotFound(id string) error {
	return Errorf(CodeWebhookNotFound, "Webhook %q does not exist.", id)
}

// DeleteWebhook deletes a webhook and its deliveries, pending ones
// included.
func (s *WebhookService) DeleteWebhook(ctx context.Context, id string) error {
	err := s.store.Update(ctx, func(tx Tx) error { return tx.DeleteWebhook(id) })
	if errors.Is(err, ErrNotFound) {
		return webhookNotFound(id)
	}
	return err
}

// DefaultDeliveryPage and MaxDeliveryPage bound a delivery log page.
const (
	DefaultDeliveryPage = 100
	MaxDeliveryPage     = 1000
)

// WebhookDeliveries is a webhook's delivery log, the newest first.
func (s *WebhookService) WebhookDeliveries(ctx context.Context, id string, limit int) ([]Delivery, error) {
	if limit <= 0 {
		limit = DefaultDeliveryPage
	}
	if limit > MaxDeliveryPage {
		return nil, Errorf(CodeInvalidParameter, "Limit is at most %d.", MaxDeliveryPage)
	}
	if _, err := s.store.Webhook(ctx, id); errors.Is(err, ErrNotFound) {
		return nil, webhookNotFound(id)
	} else if err != nil {
		return nil, err
	}
	return s.store.Deliveries(ctx, DeliveryFilter{WebhookID: id, Limit: limit})
}

// DeliveryWake receives a value after a commit that queued deliveries,
// so a sender in this process need not wait for its next poll.
func (s *WebhookService) DeliveryWake() <-chan struct{} { return s.hooks.wake }

// NextDelivery is when the earliest pending delivery is due (real time).
func (s *WebhookService) NextDelivery(ctx context.Context) (time.Time, bool, error) {
	return s.store.NextDelivery(ctx)
}

// ClaimDeliveries claims up to limit due deliveries for lease, with
// their webhook's URL and opened secret. With several processes on one
// store, each delivery is claimed by one of them; a process that dies
// with a delivery in flight leaves it to be claimed again (same EventId)
// once the lease ends, so the lease must outlast an attempt.
func (s *WebhookService) ClaimDeliveries(ctx context.Context, limit int, lease time.Duration) ([]Delivery, error) {
	var out []Delivery
	now := s.clock.Real()
	err := s.store.Update(ctx, func(tx Tx) error {
		var err error
		out, err = tx.ClaimDeliveries(now, now.Add(lease), limit)
		return err
	})
	if err != nil {
		return nil, err
	}
	if s.sealer != nil {
		for i := range out {
			plain, err := s.sealer.Open(out[i].Secret)
			if err != nil {
				return nil, Internal("open webhook secret", err)
			}
			out[i].Secret = plain
		}
	}
	return out, nil
}

// RecordAttempts records the outcome of attempts: an acknowledged one is
// delivered; a failed one is retried after the backoff, or marked failed
// once DeliveryGiveUp has passed since the notice.
func (s *WebhookService) RecordAttempts(ctx context.Context, as []Attempt) error {
	if len(as) == 0 {
		return nil
	}
	ds := make([]Delivery, len(as))
	for i, a := range as {
		d := a.Delivery
		d.URL, d.Secret = "", ""
		d.Attempts++
		d.Last, d.LastCode, d.LastError = a.At, a.Code, a.Err
		switch {
		case a.Err == "":
			d.Status, d.Next = DeliveryDelivered, time.Time{}
		default:
			next := a.At.Add(s.backoff(d.Attempts))
			if next.Sub(d.Created) > DeliveryGiveUp {
				d.Status, d.Next = DeliveryFailed, time.Time{}
			} else {
				d.Status, d.Next = DeliveryPending, next
			}
		}
		ds[i] = d
	}
	return s.store.Update(ctx, func(tx Tx) error { return tx.UpdateDeliveries(ds) })
}

// backoff is the delay after the n-th failed attempt: DeliveryFirstRetry
// doubled n-1 times, capped at DeliveryMaxBackoff, with ±20% jitter so
// that receivers that fail together are not retried together.
func (s *WebhookService) backoff(n int) time.Duration {
	d := DeliveryFirstRetry
	for i := 1; i < n && d < DeliveryMaxBackoff; i++ {
		d *= 2
	}
	d = min(d, DeliveryMaxBackoff)
	return time.Duration(float64(d) * (0.8 + 0.4*s.rand()))
}

// ---- Attack notices ----

// attackEventID is the stable notice ID of a mitigation event, from its
// key: the data plane reports an event again as it progresses and ends,
// and every report yields the same ID, which the outbox keeps once per
// webhook.
func attackEventID(e *MitigationEvent) string {
	h := sha256.Sum256([]byte(e.Node + "\x00" + e.InstanceID + "\x00" + e.Protocol + "\x00" + strconv.Itoa(e.FrontendPort) + "\x00" +
		e.Source + "\x00" + e.Limit + "\x00" + strconv.FormatInt(e.Start.UnixMilli(), 10)))
	return "atk-" + hex.EncodeToString(h[:12])
}

// notifyAttacks writes an attack notice for every event of evs to the
// outbox (once per event and webhook, however often it is reported).
func (s *core) notifyAttacks(ctx context.Context, evs []MitigationEvent) error {
	type owner struct {
		account string
		region  Region
	}
	owners := map[string]owner{}
	for _, e := range evs {
		if _, ok := owners[e.InstanceID]; ok {
			continue
		}
		in, err := s.store.Instance(ctx, e.InstanceID)
		if errors.Is(err, ErrNotFound) {
			continue // released meanwhile: nobody to tell
		}
		if err != nil {
			return fmt.Errorf("attack notice: %w", err)
		}
		owners[e.InstanceID] = owner{in.AccountID, in.Region}
	}
	if len(owners) == 0 {
		return nil
	}
	return s.store.Update(ctx, func(tx Tx) error {
		for i := range evs {
			e := &evs[i]
			o, ok := owners[e.InstanceID]
			if !ok {
				continue
			}
			n := Notice{EventId: attackEventID(e), Type: NoticeAttack, Time: NoticeTime(e.Start), AccountId: o.account, InstanceId: e.InstanceID,
				RegionId: string(o.region), Protocol: e.Protocol, FrontendPort: e.FrontendPort, Source: e.Source, Limit: e.Limit, Node: e.Node}
			if err := notify(tx, &n); err != nil {
				return err
			}
		}
		return nil
	})
}

// jitterSource is the default source of jitter.
func jitterSource() float64 { return rand.Float64() }
