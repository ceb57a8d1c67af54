package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"moat/internal/admin"
	"moat/internal/moat"
	"moat/internal/notify"
)

// TestWebhooksThreeReplicasDeliverOnce: three replicas share the outbox;
// clock moves through the admin API of different replicas produce the
// expiring notices 7, 3 and 1 days before expiry, then expired and
// forwarding_stopped, and each notice is POSTed exactly once (no replica
// dies here, so no lease runs out) with a valid signature.
func TestWebhooksThreeReplicasDeliverOnce(t *testing.T) {
	dsn := newDatabase(t, baseDSN())
	rs := startReplicas(t, dsn, 3, 8)
	const secret = "cluster-hook"
	var mu sync.Mutex
	posts := map[string]int{}   // EventId → POSTs
	keys := map[string]string{} // instance/type/days → EventId
	var bad []string
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		var n moat.Notice
		err := json.Unmarshal(body, &n)
		id := req.Header.Get(notify.HeaderEventID)
		mu.Lock()
		defer mu.Unlock()
		if err != nil || !notify.Verify(body, secret, req.Header.Get(notify.HeaderSignature)) || id != n.EventId {
			bad = append(bad, fmt.Sprintf("%s: %v", id, err))
		}
		key := fmt.Sprintf("%s/%s/%d", n.InstanceId, n.Type, n.DaysLeft)
		if prev, ok := keys[key]; ok && prev != id {
			bad = append(bad, key+" under two event IDs")
		}
		keys[key] = id
		posts[id]++
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(recv.Close)
	ctx := context.Background()
	const n = 60
	ins := rs[0].createInstances(t, admin.InstancesRequest{Count: n, ExpireIn: "240h"})
	acct := ins[0].AccountId
	if _, err := rs[1].Admin.CreateWebhook(ctx, acct, admin.WebhookRequest{Url: recv.URL, Events: []string{"*"}, Secret: secret}); err != nil {
		t.Fatal(err)
	}
	want := 0
	for i, step := range []struct {
		advance string
		notices int
	}{{"96h", 1}, {"96h", 1}, {"36h", 1}, {"24h", 1}, {"168h", 1}} {
		rs[i%3].advance(t, step.advance)
		want += step.notices * n
		deadline := time.Now().Add(60 * time.Second)
		for {
			mu.Lock()
			got := len(keys)
			mu.Unlock()
			if got >= want {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("after move %d: %d notices, want %d", i+1, got, want)
			}
			<-time.After(50 * time.Millisecond) // polls the receiver; asserts no timing
		}
	}
	// Let any duplicate that would come arrive: every delivery is
	// recorded delivered in the log once its POST is answered.
	hooks, err := rs[2].Admin.Webhooks(ctx, acct)
	if err != nil || len(hooks) != 1 {
		t.Fatalf("webhooks: %+v, %v", hooks, err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; {
		log, err := rs[2].Admin.Deliveries(ctx, hooks[0].WebhookId, 1000)
		if err != nil {
			t.Fatal(err)
		}
		done := 0
		for _, d := range log {
			if d.Status == "delivered" {
				done++
			}
		}
		if done == 5*n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d deliveries delivered in the log", done, 5*n)
		}
		<-time.After(50 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(bad) > 0 {
		t.Fatalf("bad deliveries: %v", bad)
	}
	if len(keys) != 5*n || len(posts) != 5*n {
		t.Fatalf("%d notices under %d IDs; want %d", len(keys), len(posts), 5*n)
	}
	for id, c := range posts {
		if c != 1 {
			t.Errorf("event %s POSTed %d times", id, c)
		}
	}
	for _, in := range ins {
		for _, k := range []string{"expiring/7", "expiring/3", "expiring/1", "expired/0", "forwarding_stopped/0"} {
			if _, ok := keys[in.InstanceId+"/"+k]; !ok {
				t.Errorf("%s: no %s notice", in.InstanceId, k)
			}
		}
	}
}
