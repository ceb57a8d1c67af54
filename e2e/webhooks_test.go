package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"moat/internal/admin"
	"moat/internal/moat"
	"moat/internal/notify"
)

// hookReceiver is a webhook endpoint on 127.0.0.1 that keeps every
// delivery by its X-Moat-Event-Id and checks each signature.
type hookReceiver struct {
	*httptest.Server
	secret string
	mu     sync.Mutex
	byID   map[string]moat.Notice // EventId → notice
	byKey  map[string]string      // instance/type/days → EventId
	posts  int
	bad    []string
	change chan struct{}
}

func newHookReceiver(t *testing.T, secret string) *hookReceiver {
	r := &hookReceiver{secret: secret, byID: map[string]moat.Notice{}, byKey: map[string]string{}, change: make(chan struct{}, 1)}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		var n moat.Notice
		err := json.Unmarshal(body, &n)
		id := req.Header.Get(notify.HeaderEventID)
		r.mu.Lock()
		r.posts++
		switch {
		case err != nil:
			r.bad = append(r.bad, "body: "+err.Error())
		case !notify.Verify(body, secret, req.Header.Get(notify.HeaderSignature)):
			r.bad = append(r.bad, "signature of "+id)
		case id != n.EventId:
			r.bad = append(r.bad, "header "+id+" body "+n.EventId)
		}
		key := fmt.Sprintf("%s/%s/%d", n.InstanceId, n.Type, n.DaysLeft)
		if prev, ok := r.byKey[key]; ok && prev != id {
			r.bad = append(r.bad, key+" delivered with two event IDs "+prev+" and "+id)
		}
		r.byKey[key], r.byID[id] = id, n
		r.mu.Unlock()
		select {
		case r.change <- struct{}{}:
		default:
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(r.Close)
	return r
}

// waitFor waits until n distinct notices have arrived (at most 60 s).
func (r *hookReceiver) waitFor(t *testing.T, n int) {
	t.Helper()
	deadline := time.After(60 * time.Second)
	for {
		r.mu.Lock()
		got := len(r.byKey)
		r.mu.Unlock()
		if got >= n {
			return
		}
		select {
		case <-r.change:
		case <-deadline:
			t.Fatalf("%d distinct notices after 60 s, want %d", got, n)
		}
	}
}

// TestWebhooksAdminAPI pins the routes: validation (400), unknown account
// and webhook (404), creation (201, no secret echoed), listing, deletion
// and the delivery log, each error with the admin API's body.
func TestWebhooksAdminAPI(t *testing.T) {
	s := StartServer(t)
	ctx := context.Background()
	s.CreateAccount(t, "2001", "AKHOOKS00001", "secret")
	wantErr := func(what string, err error, status int, code string) {
		t.Helper()
		var e *admin.Error
		if !errors.As(err, &e) || e.Status != status || e.Code != code || e.Message == "" {
			t.Errorf("%s: %v; want HTTP %d %s with a message", what, err, status, code)
		}
	}
	for _, req := range []admin.WebhookRequest{
		{Url: "ftp://127.0.0.1/", Events: []string{"*"}, Secret: "k"},
		{Url: "http://127.0.0.1/", Events: []string{"*"}},
		{Url: "http://127.0.0.1/", Events: []string{"expiry"}, Secret: "k"},
		{Url: "http://127.0.0.1/", Secret: "k"},
	} {
		_, err := s.Admin.CreateWebhook(ctx, "2001", req)
		wantErr(fmt.Sprintf("create %+v", req), err, 400, "InvalidParameter")
	}
	_, err := s.Admin.DoRaw(ctx, http.MethodPost, "/_moat/v1/accounts/2001/webhooks", `{"Url":"http://127.0.0.1/","Events":["*"],"Secret":"k","Extra":1}`)
	wantErr("unknown field", err, 400, "InvalidParameter")
	_, err = s.Admin.CreateWebhook(ctx, "9999", admin.WebhookRequest{Url: "http://127.0.0.1/", Events: []string{"*"}, Secret: "k"})
	wantErr("unknown account", err, 404, "AccountNotFound")
	_, err = s.Admin.Webhooks(ctx, "9999")
	wantErr("list of unknown account", err, 404, "AccountNotFound")

	var raw []byte
	created, err := s.Admin.Recording(&raw).CreateWebhook(ctx, "2001", admin.WebhookRequest{Url: "http://localhost:8080/hook", Events: []string{"expiring", "released"}, Secret: "top-secret"})
	if err != nil || created.WebhookId == "" || created.AccountId != "2001" || len(created.Events) != 2 {
		t.Fatalf("create: %+v, %v", created, err)
	}
	if string(raw) == "" || json.Valid(raw) && strings.Contains(string(raw), "top-secret") {
		t.Errorf("creation answer %s echoes the secret", raw)
	}
	list, err := s.Admin.Webhooks(ctx, "2001")
	if err != nil || len(list) != 1 || list[0].WebhookId != created.WebhookId || list[0].Url != "http://localhost:8080/hook" {
		t.Fatalf("list: %+v, %v", list, err)
	}
	if log, err := s.Admin.Deliveries(ctx, created.WebhookId, 0); err != nil || len(log) != 0 {
		t.Errorf("deliveries of a new webhook: %+v, %v", log, err)
	}
	_, err = s.Admin.Deliveries(ctx, "wh-none", 0)
	wantErr("deliveries of unknown webhook", err, 404, "WebhookNotFound")
	if err := s.Admin.DeleteWebhook(ctx, created.WebhookId); err != nil {
		t.Fatal(err)
	}
	wantErr("second delete", s.Admin.DeleteWebhook(ctx, created.WebhookId), 404, "WebhookNotFound")
}

// TestWebhooksOnceAcrossRestartAndKill9: notices queued by a clock move
// reach the receiver once each (a repeat only with the same
// X-Moat-Event-Id) although the server is killed with SIGKILL right after
// the move returns, and again across a graceful restart; every signature
// verifies.
func TestWebhooksOnceAcrossRestartAndKill9(t *testing.T) {
	s := StartServer(t, WithArgs("--webhook-timeout", "1s"))
	ctx := context.Background()
	s.CreateAccount(t, "2002", "AKHOOKS00002", "secret")
	r := newHookReceiver(t, "k2")
	if _, err := s.Admin.CreateWebhook(ctx, "2002", admin.WebhookRequest{Url: r.URL + "/in", Events: []string{"*"}, Secret: "k2"}); err != nil {
		t.Fatal(err)
	}
	const n = 25
	s.CreateInstances(t, admin.InstancesRequest{AccountId: "2002", Count: n, ExpireIn: "240h"})
	// 7, 3 and 1 days before expiry, and expired: 4 notices each.
	s.Advance(t, "241h")
	s.Kill()
	s.Restart()
	r.waitFor(t, 4*n)
	// forwarding_stopped: 1 more each, across a graceful restart.
	s.Advance(t, "169h")
	s.Stop()
	s.Restart()
	r.waitFor(t, 5*n)

	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.bad) > 0 {
		t.Fatalf("bad deliveries: %v", r.bad)
	}
	if len(r.byKey) != 5*n || len(r.byID) != 5*n {
		t.Fatalf("%d notices under %d event IDs; want %d of each", len(r.byKey), len(r.byID), 5*n)
	}
	t.Logf("%d POSTs for %d notices", r.posts, len(r.byID))
}
