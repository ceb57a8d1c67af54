package metrics

import (
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"moat/internal/moat"
)

func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("GET /metrics: %d", rec.Code)
	}
	b, _ := io.ReadAll(rec.Body)
	return string(b)
}

func wantLines(t *testing.T, body string, lines ...string) {
	t.Helper()
	for _, l := range lines {
		if !strings.Contains(body, "\n"+l+"\n") {
			t.Errorf("metrics lack %q", l)
		}
	}
}

func TestRequests(t *testing.T) {
	m := New()
	m.ObserveRequest("ddoscoo:DescribeInstances", "", 200, 3*time.Millisecond)
	m.ObserveRequest("ddoscoo:DescribeInstances", "", 200, 30*time.Millisecond)
	m.ObserveRequest("ddoscoo:ReleaseInstance", "InstanceNotExpire", 400, time.Millisecond)
	body := scrape(t, m)
	wantLines(t, body,
		`moat_requests_total{action="ddoscoo:DescribeInstances",code="OK",status="200"} 2`,
		`moat_requests_total{action="ddoscoo:ReleaseInstance",code="InstanceNotExpire",status="400"} 1`,
		`moat_request_duration_seconds_bucket{action="ddoscoo:DescribeInstances",status="200",le="0.005"} 1`,
		`moat_request_duration_seconds_bucket{action="ddoscoo:DescribeInstances",status="200",le="0.05"} 2`,
		`moat_request_duration_seconds_count{action="ddoscoo:ReleaseInstance",status="400"} 1`,
	)
	if !strings.Contains(body, "go_goroutines") || !strings.Contains(body, "process_resident_memory_bytes") {
		t.Error("the runtime and process collectors are missing")
	}
}

func TestGauges(t *testing.T) {
	now := time.Date(2027, 1, 1, 0, 0, 10, 0, time.UTC)
	var nextErr error
	m := New()
	m.Watch(Sources{
		NextDue: func(context.Context) (time.Time, bool, error) { return now.Add(-90 * time.Second), true, nextErr },
		Now:     func() time.Time { return now },
		Applied: func() int64 { return 42 },
		Pool:    func() (int, int, int) { return 3, 1, 8 },
		Nonces:  func(context.Context) (int64, error) { return 1234, nil },
	})
	wantLines(t, scrape(t, m),
		"moat_lifecycle_lag_seconds 90",
		"moat_lifecycle_transitions_applied_total 42",
		"moat_store_pool_in_use_connections 3",
		"moat_store_pool_idle_connections 1",
		"moat_store_pool_max_connections 8",
		"moat_nonces 1234",
	)
	nextErr = errors.New("store down")
	wantLines(t, scrape(t, m), "moat_lifecycle_lag_seconds -1")
}

// fakeStore answers Update with the error it is given.
type fakeStore struct {
	moat.Store
	err error
}

func (f *fakeStore) Update(ctx context.Context, fn func(moat.Tx) error) error { return f.err }
func (f *fakeStore) UseNonce(context.Context, string, string, time.Time) (bool, error) {
	return true, nil
}

func TestStoreCountsOnlyStoreFailures(t *testing.T) {
	m := New()
	fs := &fakeStore{}
	s := m.Store(fs)
	for _, err := range []error{nil, moat.ErrNotFound, moat.ErrConflict, moat.Errorf(moat.CodeInstanceNotExpire, "not yet"),
		moat.Unavailable("update", errors.New("connection refused")), errors.New("disk I/O error")} {
		fs.err = err
		if got := s.Update(context.Background(), nil); got != err {
			t.Fatalf("Update returned %v, want %v unchanged", got, err)
		}
	}
	s.UseNonce(context.Background(), "k", "n", time.Now())
	wantLines(t, scrape(t, m),
		`moat_store_operation_duration_seconds_count{op="update"} 6`,
		`moat_store_errors_total{op="update"} 2`,
		`moat_store_operation_duration_seconds_count{op="use_nonce"} 1`,
		`moat_store_errors_total{op="use_nonce"} 0`,
	)
}
