package loadgen

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestErrorCode(t *testing.T) {
	for _, tc := range []struct {
		status       int
		err          error
		body         string
		code, prefix string
	}{
		{404, nil, `{"RequestId":"x","Code":"InstanceNotFound","Message":"no"}`, "InstanceNotFound", "HTTP 404: "},
		{503, nil, `<html>busy</html>`, "HTTP 503", "HTTP 503: <html>"},
		{400, nil, `{"Code":""}`, "HTTP 400", "HTTP 400: "},
		{0, errors.New("connection reset"), "", "transport", "connection reset"},
	} {
		code, msg := errorCode(tc.status, tc.err, []byte(tc.body))
		if code != tc.code || !strings.HasPrefix(msg, tc.prefix) {
			t.Errorf("errorCode(%d, %v, %q) = %q, %q; want %q, %q…", tc.status, tc.err, tc.body, code, msg, tc.code, tc.prefix)
		}
	}
}

// Aggregation adds every worker's counts per action, merges the error
// codes (per action, and prefixed by action in the total), keeps the
// earliest first error, and takes percentiles over all samples together.
func TestAggregate(t *testing.T) {
	ms := time.Millisecond
	names := []string{"describe", "release"}
	w1 := make([]tally, 2)
	w2 := make([]tally, 2)
	for i := 1; i <= 90; i++ {
		w1[0].record(time.Duration(i)*ms, t0, 200, nil, nil) // 1..90 ms
	}
	for i := 91; i <= 100; i++ {
		w2[0].record(time.Duration(i)*ms, t0, 200, nil, nil) // 91..100 ms
	}
	w1[1].record(5*ms, t0.Add(2*time.Second), 400, nil, []byte(`{"Code":"InstanceNotExpire"}`))
	w2[1].record(7*ms, t0.Add(time.Second), 404, nil, []byte(`{"Code":"InstanceNotFound"}`))
	w2[1].record(9*ms, t0.Add(3*time.Second), 404, nil, []byte(`{"Code":"InstanceNotFound"}`))
	w2[1].record(6*ms, t0, 200, nil, nil)

	total, actions := aggregate(names, [][]tally{w1, w2}, 10)
	d, r := actions[0], actions[1]
	if d.Action != "describe" || d.Requests != 100 || d.OK != 100 || d.Errors != 0 || d.ErrorCodes != nil {
		t.Errorf("describe: %+v", d)
	}
	if d.Latency.P50Ms != 50 || d.Latency.P90Ms != 90 || d.Latency.P99Ms != 99 || d.Latency.MaxMs != 100 {
		t.Errorf("describe latency: %+v, want 50/90/99/100 over both workers", d.Latency)
	}
	if d.OKPerSec != 10 || d.RequestsPerSec != 10 {
		t.Errorf("describe rates: %v ok/s, %v req/s; want 10", d.OKPerSec, d.RequestsPerSec)
	}
	if r.Requests != 4 || r.OK != 1 || r.Errors != 3 || r.ErrorCodes["InstanceNotFound"] != 2 || r.ErrorCodes["InstanceNotExpire"] != 1 {
		t.Errorf("release: %+v", r)
	}
	if !strings.Contains(r.FirstError, "InstanceNotFound") {
		t.Errorf("release first error %q: want the earliest (InstanceNotFound at +1s)", r.FirstError)
	}
	if total.Requests != 104 || total.OK != 101 || total.Errors != 3 || total.ErrorCodes["release:InstanceNotFound"] != 2 || len(total.ErrorCodes) != 2 {
		t.Errorf("total: %+v", total)
	}
	if total.Latency.MaxMs != 100 || total.OKPerSec != 10.1 {
		t.Errorf("total: latency %+v, %v ok/s", total.Latency, total.OKPerSec)
	}
	if !strings.HasPrefix(total.FirstError, "release: ") {
		t.Errorf("total first error %q: want it named by action", total.FirstError)
	}
	if got := SortedCodes(map[string]int64{"b": 1, "a": 1, "c": 5}); strings.Join(got, ",") != "c,a,b" {
		t.Errorf("SortedCodes = %v, want by count, then name", got)
	}
}

// A closed-loop mixed load with a count sends exactly that many measured
// requests (after the warm-up's), each of one action, and counts draws of
// an empty pool as starved instead of sending anything.
func TestMixLoadClosedCount(t *testing.T) {
	var served atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		if r.URL.Query().Get("a") == "create" {
			http.Error(w, `{"Code":"Throttling"}`, http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte(okBody))
	}))
	defer srv.Close()
	mix, err := NewMix(mixActions, []int{6, 2, 2, 0})
	if err != nil {
		t.Fatal(err)
	}
	var releases atomic.Int64
	const pool = 50
	load := &MixLoad{Connections: 4, Count: 1000, Mix: mix, Build: func(ctx context.Context, w *Worker, a int) (*http.Request, bool, error) {
		if mixActions[a] == "release" && releases.Add(1) > pool {
			return nil, false, nil
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/?a="+mixActions[a], nil)
		return req, true, err
	}}
	res, err := load.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]ActionResult{}
	for _, a := range res.Actions {
		byName[a.Action] = a
	}
	sent := res.Total.Requests
	if sent+res.Starved != 1000 || served.Load() != sent {
		t.Errorf("sent %d + starved %d, server saw %d; want 1000 draws, every sent one served", sent, res.Starved, served.Load())
	}
	if byName["release"].Requests != pool || res.Starved == 0 {
		t.Errorf("release sent %d (pool %d), starved %d", byName["release"].Requests, pool, res.Starved)
	}
	if c := byName["create"]; c.Errors != c.Requests || c.ErrorCodes["Throttling"] != c.Requests || c.Requests == 0 {
		t.Errorf("create: %+v, want every answer an error with code Throttling", c)
	}
	if byName["renew"].Requests != 0 {
		t.Errorf("renew has weight 0 but sent %d", byName["renew"].Requests)
	}
	if res.Mode != "closed" || res.Seconds <= 0 || res.Total.OKPerSec <= 0 {
		t.Errorf("result: %+v", res)
	}
}

// An open-loop mixed load accounts for every scheduled request: each is
// sent, dropped or starved (timing decides which, so only the sum is
// checked).
func TestMixLoadOpenAccountsForEverySlot(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(okBody))
	}))
	defer srv.Close()
	mix, err := NewMix(mixActions, []int{1, 0, 0, 0})
	if err != nil {
		t.Fatal(err)
	}
	load := &MixLoad{Connections: 4, Count: 200, Rate: 4000, Warmup: 10 * time.Millisecond, Mix: mix,
		Build: func(ctx context.Context, w *Worker, a int) (*http.Request, bool, error) {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
			return req, true, err
		}}
	res, err := load.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	o := res.Open
	if res.Mode != "open" || o == nil || o.Rate != 4000 {
		t.Fatalf("result: %+v", res)
	}
	if o.Scheduled != 200 || res.Total.Requests+o.Dropped+res.Starved != 200 {
		t.Errorf("scheduled %d: sent %d, dropped %d, starved %d; want 200 in all", o.Scheduled, res.Total.Requests, o.Dropped, res.Starved)
	}
}

// mixActions are the mixed scenario's actions, as the tests name them.
var mixActions = []string{"describe", "release", "create", "renew"}
