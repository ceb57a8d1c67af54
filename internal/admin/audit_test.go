package admin_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"moat/internal/admin"
	"moat/internal/moat"
	"moat/internal/store/sqlite"
)

// auditReads records the largest page the audit listing asked the store
// for.
type auditReads struct {
	moat.Store
	mu       sync.Mutex
	maxLimit int
	calls    int
}

func (a *auditReads) Audit(ctx context.Context, f moat.AuditFilter) ([]moat.AuditRecord, error) {
	a.mu.Lock()
	a.maxLimit, a.calls = max(a.maxLimit, f.Limit), a.calls+1
	a.mu.Unlock()
	return a.Store.Audit(ctx, f)
}

// TestHardening_AuditListingStreamsInChunks pins that GET /_moat/v1/audit
// holds a bounded number of records whatever the page asked for: it reads
// the store AuditChunk records at a time and streams them, so the answer
// is the same (every record, in Seq order, Limit and After page) while the
// server never holds more than a chunk.
func TestHardening_AuditListingStreamsInChunks(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "moat.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	reads := &auditReads{Store: st}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	svc, err := moat.NewService(moat.Config{Store: reads, Clock: moat.NewServerClock(func() time.Time { return t0 })})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	const n = 2*admin.AuditChunk + 234
	for i := range n {
		svc.RecordAudit(moat.AuditRecord{Time: t0, AccountID: "1000000000000001", Principal: "root", Action: "ddoscoo:DescribeInstances",
			Code: "OK", RequestID: fmt.Sprintf("R%05d", i)})
	}
	srv := httptest.NewServer(admin.New(svc, nil, "tok", nil))
	t.Cleanup(srv.Close)
	c := &admin.Client{Endpoint: srv.URL, Token: "tok", HTTP: srv.Client()}

	check := func(q url.Values, from, count int) []admin.AuditRecord {
		t.Helper()
		recs, err := c.Audit(ctx, q)
		if err != nil {
			t.Fatalf("audit %v: %v", q, err)
		}
		if len(recs) != count {
			t.Fatalf("audit %v: %d records, want %d", q, len(recs), count)
		}
		for i, r := range recs {
			if want := fmt.Sprintf("R%05d", from+i); r.RequestId != want || (i > 0 && r.Seq <= recs[i-1].Seq) {
				t.Fatalf("audit %v: record %d is %s (Seq %d), want %s in Seq order", q, i, r.RequestId, r.Seq, want)
			}
		}
		return recs
	}
	all := check(nil, 0, n)
	first := check(url.Values{"Limit": {"700"}}, 0, 700)
	check(url.Values{"After": {fmt.Sprint(first[len(first)-1].Seq)}}, 700, n-700)
	check(url.Values{"After": {fmt.Sprint(all[n-1].Seq)}}, n, 0)
	if reads.maxLimit < 1 || reads.maxLimit > admin.AuditChunk || reads.calls < 3 {
		t.Fatalf("the listing read pages of up to %d records in %d reads; want at most %d at a time", reads.maxLimit, reads.calls, admin.AuditChunk)
	}
}
