package lifecycle_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"moat/internal/lifecycle"
	"moat/internal/moat"
)

// TestHardening_AuditSizeRetentionEvictsOldest pins the size-based audit
// retention: with AuditMaxRecords set, the engine's housekeeping forgets
// the oldest records beyond that many, however recent they are (the
// time-based retention alone would keep a burst for 168 h), in batches, so
// a flood of calls cannot grow the audit store without bound.
func TestHardening_AuditSizeRetentionEvictsOldest(t *testing.T) {
	svc, st, acct := setup(t, filepath.Join(t.TempDir(), "m.db"))
	defer st.Close()
	defer svc.Close()
	ctx := context.Background()
	var want []string
	for i := range 12_000 {
		id := fmt.Sprintf("R%05d", i)
		svc.RecordAudit(moat.AuditRecord{Time: svc.Clock().Now(), AccountID: acct, Principal: "root", Action: "ddoscoo:DescribeInstances", Code: "OK", RequestID: id})
		if i >= 12_000-7_000 {
			want = append(want, id)
		}
	}
	if err := svc.FlushAudit(ctx); err != nil {
		t.Fatal(err)
	}
	e := lifecycle.New(svc, svc.Clock(), nil)
	e.Poll = time.Hour
	e.AuditRetention = 168 * time.Hour // every record is recent: only the size limit applies
	e.AuditMaxRecords = 7_000
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { e.Run(runCtx); close(done) }()
	defer func() { cancel(); <-done }()
	// The first housekeeping runs before the engine takes its first kick,
	// so once Kick returns it has finished.
	if err := e.Kick(ctx); err != nil {
		t.Fatal(err)
	}
	recs, err := svc.Audit(ctx, moat.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	got := make([]string, 0, len(recs))
	for _, r := range recs {
		got = append(got, r.RequestID)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("%d records kept (first %v); want the newest 7000, R05000 to R11999", len(got), got[:min(3, len(got))])
	}
}
