package notify_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"moat/internal/moat"
	"moat/internal/notify"
	"moat/internal/store/sqlite"
)

// receiver is a webhook endpoint on 127.0.0.1 that records every POST.
type receiver struct {
	*httptest.Server
	secret string
	got    chan post
	// answer decides the status of the n-th POST (1-based); nil: 200.
	answer func(n int) int
	mu     sync.Mutex
	n      int
}

type post struct {
	at      time.Time
	eventID string
	sigOK   bool
	notice  moat.Notice
}

func newReceiver(t *testing.T, secret string, answer func(int) int) *receiver {
	r := &receiver{secret: secret, got: make(chan post, 1000), answer: answer}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		p := post{at: time.Now(), eventID: req.Header.Get(notify.HeaderEventID),
			sigOK: notify.Verify(body, r.secret, req.Header.Get(notify.HeaderSignature))}
		if err := json.Unmarshal(body, &p.notice); err != nil {
			t.Errorf("delivery body %q: %v", body, err)
		}
		r.mu.Lock()
		r.n++
		n := r.n
		r.mu.Unlock()
		code := http.StatusOK
		if r.answer != nil {
			code = r.answer(n)
		}
		w.WriteHeader(code)
		r.got <- p
	}))
	t.Cleanup(r.Close)
	return r
}

// next waits for the next POST (at most 15 s, real time).
func (r *receiver) next(t *testing.T) post {
	t.Helper()
	select {
	case p := <-r.got:
		return p
	case <-time.After(15 * time.Second):
		t.Fatal("no delivery within 15 s")
		return post{}
	}
}

// settled waits until the outbox has nothing pending: every attempt has
// been recorded.
func (e *env) settled(t *testing.T) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; {
		_, ok, err := e.svc.NextDelivery(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("deliveries still pending after 10 s")
		}
		<-time.After(10 * time.Millisecond) // polls the outbox; asserts no timing
	}
}

type env struct {
	ctx  context.Context
	svc  *moat.Service
	acct string
}

// newEnv is a service on a fresh SQLite store with an account and a
// sender running until the test ends.
func newEnv(t *testing.T, configure func(*notify.Sender)) *env {
	ctx := t.Context()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "moat.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	svc, err := moat.NewService(moat.Config{Store: st, Clock: moat.NewServerClock(time.Now)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.PutAccount(ctx, "1001", "AKWH1", "s"); err != nil {
		t.Fatal(err)
	}
	s := notify.New(svc.WebhookService, nil)
	if configure != nil {
		configure(s)
	}
	rctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); s.Run(rctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return &env{ctx: ctx, svc: svc, acct: "1001"}
}

func (e *env) hook(t *testing.T, url, secret string, events ...string) moat.Webhook {
	t.Helper()
	w, err := e.svc.CreateWebhook(e.ctx, e.acct, moat.WebhookSpec{URL: url, Events: events, Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func (e *env) instance(t *testing.T, expireIn time.Duration) string {
	t.Helper()
	ins, err := e.svc.CreateInstances(e.ctx, moat.NewInstances{AccountID: e.acct, Region: moat.RegionMainland, Count: 1, ExpireIn: &expireIn})
	if err != nil {
		t.Fatal(err)
	}
	return ins[0].ID
}

// advance moves server time and applies what fell due, as the admin
// clock call does through the engine.
func (e *env) advance(t *testing.T, d time.Duration) {
	t.Helper()
	if _, _, err := e.svc.MoveClock(e.ctx, nil, &d); err != nil {
		t.Fatal(err)
	}
	for {
		n, err := e.svc.ApplyDue(e.ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		if n < moat.DefaultDueBatch {
			return
		}
	}
}

// TestExpiringNoticesFollowTheClock: clock moves produce the notices real
// time would have, each once: 7, 3 and 1 days before expiry, then expired
// and forwarding_stopped; a jump over all of them sends all, in order.
// Every delivery is signed with the webhook's secret.
func TestExpiringNoticesFollowTheClock(t *testing.T) {
	e := newEnv(t, nil)
	r := newReceiver(t, "s3cret", nil)
	e.hook(t, r.URL+"/hook", "s3cret", "*")
	id := e.instance(t, 10*moat.Day)

	var check func(p post, typ string, days int)
	want := func(typ string, days int) {
		t.Helper()
		check(r.next(t), typ, days)
	}
	check = func(p post, typ string, days int) {
		t.Helper()
		if !p.sigOK {
			t.Errorf("%s: signature does not verify", typ)
		}
		if p.eventID == "" || p.eventID != p.notice.EventId {
			t.Errorf("%s: X-Moat-Event-Id %q, body EventId %q", typ, p.eventID, p.notice.EventId)
		}
		if p.notice.Type != typ || p.notice.DaysLeft != days || p.notice.InstanceId != id || p.notice.AccountId != e.acct || p.notice.RegionId != "cn-hangzhou" || p.notice.ExpireTime == "" {
			t.Fatalf("got %+v; want %s with DaysLeft %d for %s", p.notice, typ, days, id)
		}
	}
	e.advance(t, 2*moat.Day) // 8 days left: nothing
	e.advance(t, 2*moat.Day) // 6 days left
	want("expiring", 7)
	e.advance(t, 3*moat.Day+time.Hour) // 2 days 23 hours left
	want("expiring", 3)
	e.advance(t, -time.Hour) // back: nothing again
	e.advance(t, 2*moat.Day+time.Hour)
	want("expiring", 1)
	e.advance(t, 2*moat.Day)
	want("expired", 0)
	e.advance(t, 7*moat.Day)
	want("forwarding_stopped", 0)

	// One jump past everything: all five, in one pass. They are sent
	// concurrently, so they may arrive in any order; each carries its
	// own Time.
	id = e.instance(t, 10*moat.Day)
	e.advance(t, 30*moat.Day)
	got := map[string]post{}
	for range 5 {
		p := r.next(t)
		key := p.notice.Type + "/" + strconv.Itoa(p.notice.DaysLeft)
		if _, dup := got[key]; dup {
			t.Fatalf("%s delivered twice", key)
		}
		got[key] = p
	}
	for _, w := range []struct {
		typ  string
		days int
	}{{"expiring", 7}, {"expiring", 3}, {"expiring", 1}, {"expired", 0}, {"forwarding_stopped", 0}} {
		check(got[w.typ+"/"+strconv.Itoa(w.days)], w.typ, w.days)
	}
	e.settled(t)
	select {
	case p := <-r.got:
		t.Fatalf("an extra delivery: %+v", p.notice)
	default:
	}
}

// TestRenewAndReleaseNotices: a renewal and a release are notified to the
// webhooks that want them, and only to those.
func TestRenewAndReleaseNotices(t *testing.T) {
	e := newEnv(t, nil)
	all := newReceiver(t, "a", nil)
	released := newReceiver(t, "b", nil)
	e.hook(t, all.URL, "a", "renewed", "released", "expired")
	e.hook(t, released.URL, "b", "released")
	id := e.instance(t, 40*moat.Day)
	if _, err := e.svc.RenewInstance(e.ctx, moat.Caller{AccountID: e.acct}, moat.RenewRequest{InstanceID: id, ProductType: moat.ProductDdoscoo, RenewPeriod: 1}); err != nil {
		t.Fatal(err)
	}
	if p := all.next(t); p.notice.Type != "renewed" || p.notice.InstanceId != id {
		t.Fatalf("got %+v; want renewed", p.notice)
	}
	e.advance(t, 80*moat.Day)
	if p := all.next(t); p.notice.Type != "expired" {
		t.Fatalf("got %+v; want expired", p.notice)
	}
	if err := e.svc.ReleaseInstance(e.ctx, moat.Caller{AccountID: e.acct}, moat.RegionMainland, id, "req-1"); err != nil {
		t.Fatal(err)
	}
	for _, r := range []*receiver{all, released} {
		if p := r.next(t); p.notice.Type != "released" || p.notice.RequestId != "req-1" || !p.sigOK {
			t.Fatalf("got %+v (signature ok %v); want released", p.notice, p.sigOK)
		}
	}
	e.settled(t)
}

// TestRetriesBackOff: failed attempts are retried after about 1 s, then
// about 2 s (±20% jitter), always with the same X-Moat-Event-Id, until a
// 2xx acknowledges; the delivery log shows it.
func TestRetriesBackOff(t *testing.T) {
	e := newEnv(t, nil)
	r := newReceiver(t, "k", func(n int) int {
		if n <= 2 {
			return http.StatusServiceUnavailable
		}
		return http.StatusNoContent
	})
	w := e.hook(t, r.URL, "k", "expiring")
	e.instance(t, 3*moat.Day-time.Hour) // the 3-day notice's time has come at creation: none
	e.advance(t, 2*moat.Day)            // the 1-day notice
	var ps [3]post
	for i := range ps {
		ps[i] = r.next(t)
		if ps[i].notice.DaysLeft != 1 || ps[i].eventID != ps[0].eventID {
			t.Fatalf("attempt %d: %+v, event %s; want the 1-day notice, event %s", i+1, ps[i].notice, ps[i].eventID, ps[0].eventID)
		}
	}
	for i, want := range []time.Duration{time.Second, 2 * time.Second} {
		gap := ps[i+1].at.Sub(ps[i].at)
		if gap < want*8/10 || gap > want*12/10+time.Second {
			t.Errorf("gap before attempt %d = %s; want about %s", i+2, gap, want)
		}
	}
	if total := ps[2].at.Sub(ps[0].at); total > 30*time.Second {
		t.Errorf("three attempts took %s", total)
	}
	var log []moat.Delivery
	for deadline := time.Now().Add(10 * time.Second); ; {
		var err error
		if log, err = e.svc.WebhookDeliveries(e.ctx, w.ID, 0); err != nil {
			t.Fatal(err)
		}
		if len(log) == 1 && log[0].Status == moat.DeliveryDelivered || time.Now().After(deadline) {
			break
		}
		<-time.After(20 * time.Millisecond) // polls the log; asserts no timing
	}
	if len(log) != 1 || log[0].Status != moat.DeliveryDelivered || log[0].Attempts != 3 || log[0].LastCode != http.StatusNoContent {
		t.Fatalf("delivery log = %+v; want one delivered after 3 attempts", log)
	}
}

// TestHangingReceiverDoesNotDelayTheAPI: with every sending slot stuck on
// a receiver that never answers, API writes that queue more notices and
// reads answer as fast as without it.
func TestHangingReceiverDoesNotDelayTheAPI(t *testing.T) {
	e := newEnv(t, func(s *notify.Sender) { s.Concurrency, s.Timeout = 2, time.Minute })
	release := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(release); hang.Close() })
	e.hook(t, hang.URL, "k", "*")
	start := time.Now()
	for i := 0; i < 50; i++ {
		id := e.instance(t, 10*moat.Day)
		if _, err := e.svc.RenewInstance(e.ctx, moat.Caller{AccountID: e.acct}, moat.RenewRequest{InstanceID: id, ProductType: moat.ProductDdoscoo, RenewPeriod: 1}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Webhooks(e.ctx, e.acct); err != nil {
			t.Fatal(err)
		}
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("150 API calls took %s while the receiver hangs", took)
	}
}

// TestWebhookValidation: the subscription rules.
func TestWebhookValidation(t *testing.T) {
	e := newEnv(t, nil)
	for _, c := range []struct {
		spec moat.WebhookSpec
		code moat.Code
	}{
		{moat.WebhookSpec{URL: "ftp://127.0.0.1/x", Events: []string{"*"}, Secret: "k"}, moat.CodeInvalidParameter},
		{moat.WebhookSpec{URL: "127.0.0.1:80/x", Events: []string{"*"}, Secret: "k"}, moat.CodeInvalidParameter},
		{moat.WebhookSpec{URL: "http://127.0.0.1/x", Events: []string{"*"}}, moat.CodeInvalidParameter},
		{moat.WebhookSpec{URL: "http://127.0.0.1/x", Events: []string{"expird"}, Secret: "k"}, moat.CodeInvalidParameter},
		{moat.WebhookSpec{URL: "http://127.0.0.1/x", Secret: "k"}, moat.CodeInvalidParameter},
	} {
		if _, err := e.svc.CreateWebhook(e.ctx, e.acct, c.spec); moat.AsError(err).Code != c.code {
			t.Errorf("CreateWebhook(%+v) = %v; want %s", c.spec, err, c.code)
		}
	}
	if _, err := e.svc.CreateWebhook(e.ctx, "9999", moat.WebhookSpec{URL: "http://127.0.0.1/x", Events: []string{"*"}, Secret: "k"}); moat.AsError(err).Code != moat.CodeAccountNotFound {
		t.Errorf("unknown account: %v", err)
	}
	w := e.hook(t, "http://localhost:9/x", "k", "expired", "attack", "expired")
	if len(w.Events) != 2 || w.Secret != "" {
		t.Errorf("created %+v; want two events and no secret shown", w)
	}
	if err := e.svc.DeleteWebhook(e.ctx, w.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.DeleteWebhook(e.ctx, w.ID); moat.AsError(err).Code != moat.CodeWebhookNotFound {
		t.Errorf("second delete: %v", err)
	}
}
