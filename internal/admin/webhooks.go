package admin

import (
	"net/http"
	"strconv"

	"moat/internal/moat"
)

// The admin routes of notifications: an account's webhooks and each
// webhook's delivery log (docs/WEBHOOKS.md).

// WebhookRequest creates a webhook. Events names notice types
// (moat.NoticeTypes) or is ["*"].
type WebhookRequest struct {
	Url    string
	Events []string
	Secret string
}

// Webhook is a webhook as the API shows it (never its secret).
type Webhook struct {
	WebhookId  string
	AccountId  string
	Url        string
	Events     []string
	CreateTime string
}

// WebhooksResponse lists an account's webhooks.
type WebhooksResponse struct {
	Webhooks []Webhook
}

// Delivery is one entry of a delivery log.
type Delivery struct {
	EventId     string
	Type        string
	Status      string // pending, delivered, failed
	Attempts    int
	CreateTime  string
	NextAttempt string `json:",omitempty"` // pending only
	LastAttempt string `json:",omitempty"`
	LastStatus  int    `json:",omitempty"` // the receiver's HTTP status
	LastError   string `json:",omitempty"`
	Body        string
}

// DeletedWebhook acknowledges a deletion.
type DeletedWebhook struct {
	WebhookId string
	Deleted   bool
}

// DeliveriesResponse is a webhook's delivery log, the newest first.
type DeliveriesResponse struct {
	WebhookId  string
	Deliveries []Delivery
}

func webhookOut(w moat.Webhook) Webhook {
	return Webhook{WebhookId: w.ID, AccountId: w.AccountID, Url: w.URL, Events: w.Events, CreateTime: moat.NoticeTime(w.Created)}
}

func optTime(t interface{ IsZero() bool }, s string) string {
	if t.IsZero() {
		return ""
	}
	return s
}

func (s *Server) createWebhook(w http.ResponseWriter, r *http.Request) {
	var req WebhookRequest
	if err := readJSON(r, &req); err != nil {
		writeError(w, err)
		return
	}
	h, err := s.svc.CreateWebhook(r.Context(), r.PathValue("AccountId"), moat.WebhookSpec{URL: req.Url, Events: req.Events, Secret: req.Secret})
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, webhookOut(h))
}

func (s *Server) listWebhooks(w http.ResponseWriter, r *http.Request) {
	hs, err := s.svc.Webhooks(r.Context(), r.PathValue("AccountId"))
	if err != nil {
		writeError(w, err)
		return
	}
	out := WebhooksResponse{Webhooks: []Webhook{}}
	for _, h := range hs {
		out.Webhooks = append(out.Webhooks, webhookOut(h))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) deleteWebhook(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("WebhookId")
	if err := s.svc.DeleteWebhook(r.Context(), id); err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, DeletedWebhook{WebhookId: id, Deleted: true})
}

func (s *Server) webhookDeliveries(w http.ResponseWriter, r *http.Request) {
	limit := 0
	if v := r.URL.Query().Get("Limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			writeError(w, moat.Errorf(moat.CodeInvalidParameter, "Limit must be a positive integer."))
			return
		}
		limit = n
	}
	id := r.PathValue("WebhookId")
	ds, err := s.svc.WebhookDeliveries(r.Context(), id, limit)
	if err != nil {
		writeError(w, err)
		return
	}
	out := DeliveriesResponse{WebhookId: id, Deliveries: []Delivery{}}
	for _, d := range ds {
		e := Delivery{EventId: d.EventID, Type: d.Type, Status: string(d.Status), Attempts: d.Attempts, CreateTime: moat.NoticeTime(d.Created),
			LastStatus: d.LastCode, LastError: d.LastError, Body: d.Body}
		if d.Status == moat.DeliveryPending {
			e.NextAttempt = moat.NoticeTime(d.Next)
		}
		e.LastAttempt = optTime(d.Last, moat.NoticeTime(d.Last))
		out.Deliveries = append(out.Deliveries, e)
	}
	writeJSON(w, http.StatusOK, out)
}
