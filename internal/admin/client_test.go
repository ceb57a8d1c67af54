package admin_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"moat/internal/admin"
)

// The typed client sends each call to its path with the bearer token;
// EventsPage leaves zero fields out of the query; Recording keeps the
// answer's body as the server sent it, success or error, for `moat admin`
// to print.
func TestClientCallsAndRecording(t *testing.T) {
	// body is a part of the request body the call must send.
	type seen struct{ method, uri, auth, body string }
	var got []seen
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got = append(got, seen{r.Method, r.URL.RequestURI(), r.Header.Get("Authorization"), string(b)})
		switch r.URL.Path {
		case "/_moat/v1/events":
			io.WriteString(w, `{"Events":[{"Seq":7,"Type":"expired"}]}`+"\n")
		case "/_moat/v1/instances":
			io.WriteString(w, `{"Instances":[]}`+"\n")
		default:
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"Code":"InvalidAccessKeyId.NotFound","Message":"no such key"}`+"\n")
		}
	}))
	defer srv.Close()
	ctx := context.Background()
	c := &admin.Client{Endpoint: srv.URL + "/", Token: "tok", HTTP: srv.Client()}

	var raw []byte
	evs, err := c.Recording(&raw).EventsPage(ctx, admin.EventsQuery{Type: "expired", After: 5, Limit: 100})
	if err != nil || len(evs) != 1 || evs[0].Seq != 7 {
		t.Fatalf("EventsPage = %+v, %v", evs, err)
	}
	if string(raw) != `{"Events":[{"Seq":7,"Type":"expired"}]}`+"\n" {
		t.Errorf("recorded %q, want the body as sent", raw)
	}
	if _, err := c.Events(ctx, "", ""); err != nil {
		t.Fatal(err)
	}
	if err := c.SeedInstances(ctx, admin.InstancesRequest{Count: 3, ExpireIn: "1h"}); err != nil {
		t.Fatal(err)
	}
	raw = nil
	err = c.Recording(&raw).DeleteKey(ctx, "AK/1")
	var ae *admin.Error
	if !errors.As(err, &ae) || ae.Status != 404 || ae.Code != "InvalidAccessKeyId.NotFound" {
		t.Errorf("DeleteKey: %v, want the admin API's error", err)
	}
	if !strings.Contains(string(raw), `"no such key"`) {
		t.Errorf("recorded %q for an error answer, want its body", raw)
	}

	want := []seen{
		{"GET", "/_moat/v1/events?After=5&Limit=100&Type=expired", "Bearer tok", ""},
		{"GET", "/_moat/v1/events", "Bearer tok", ""},
		{"POST", "/_moat/v1/instances", "Bearer tok", `"Count":3,`},
		{"DELETE", "/_moat/v1/access-keys/AK%2F1", "Bearer tok", ""},
	}
	if len(got) != len(want) {
		t.Fatalf("server saw %d calls, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		w, g := want[i], got[i]
		if g.method != w.method || g.uri != w.uri || g.auth != w.auth || !strings.Contains(g.body, w.body) {
			t.Errorf("call %d: %+v, want %+v", i, g, w)
		}
	}
	// The client a copy was made from records nothing.
	raw = nil
	if _, err := c.Events(ctx, "", ""); err != nil || raw != nil {
		t.Errorf("the original client recorded %q (%v)", raw, err)
	}
}
