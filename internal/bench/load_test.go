package bench

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// A count-bound load sends exactly the requests its builder hands out,
// counts non-2xx answers as errors with the first body, and records one
// latency per answer.
func TestLoadCountsAnswersAndErrors(t *testing.T) {
	var served atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("fail") == "1" {
			http.Error(w, `{"Code":"InstanceNotFound"}`, http.StatusNotFound)
			return
		}
		served.Add(1)
		w.Write([]byte(BaselineBody))
	}))
	defer srv.Close()

	const total = 500
	var next atomic.Int64
	load := &Load{Connections: 8, Next: func(ctx context.Context, w *Worker) (*http.Request, bool, error) {
		i := next.Add(1)
		if i > total {
			return nil, false, nil
		}
		url := srv.URL + "/"
		if i%50 == 0 {
			url += "?fail=1"
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, nil)
		return req, true, err
	}}
	res, err := load.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != total || res.OK != total-10 || res.Errors != 10 {
		t.Errorf("requests %d ok %d errors %d, want %d, %d, 10", res.Requests, res.OK, res.Errors, total, total-10)
	}
	if served.Load() != total-10 {
		t.Errorf("server answered %d successes, want %d", served.Load(), total-10)
	}
	if !strings.HasPrefix(res.FirstError, "HTTP 404: ") || !strings.Contains(res.FirstError, "InstanceNotFound") {
		t.Errorf("FirstError = %q, want the status and body", res.FirstError)
	}
	if len(res.samples) != total || res.Latency.MaxMs <= 0 || res.Latency.P50Ms > res.Latency.P99Ms {
		t.Errorf("latencies: %d samples, %+v", len(res.samples), res.Latency)
	}
	if res.Seconds <= 0 || res.RequestsPerSec <= 0 {
		t.Errorf("no rate: %+v", res)
	}
}

func TestBaselineHandlerAnswersEverything(t *testing.T) {
	for _, m := range []string{http.MethodGet, http.MethodPost} {
		rec := httptest.NewRecorder()
		BaselineHandler().ServeHTTP(rec, httptest.NewRequest(m, "/?Action=Anything", nil))
		if rec.Code != 200 || rec.Body.String() != BaselineBody || rec.Header().Get("Content-Type") != "application/json" {
			t.Errorf("%s: %d %q", m, rec.Code, rec.Body.String())
		}
	}
}

func TestParseScenarios(t *testing.T) {
	all, err := ParseScenarios("all")
	if err != nil || len(all) != len(AllScenarios) {
		t.Fatalf("all: %v %v", all, err)
	}
	got, err := ParseScenarios("release, describe,release")
	if err != nil || len(got) != 2 || got[0] != "release" || got[1] != "describe" {
		t.Errorf("subset: %v %v", got, err)
	}
	if _, err := ParseScenarios("describe,nope"); err == nil {
		t.Error("an unknown scenario was accepted")
	}
}
