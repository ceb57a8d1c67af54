package loadgen

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
		w.Write([]byte(okBody))
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

// okBody is a small Alibaba RPC success body, the test servers' answer.
const okBody = `{"RequestId":"0F6B2B8C-6E1A-4C39-9B0B-6A4C2D2B7E11","Status":"ok"}`
