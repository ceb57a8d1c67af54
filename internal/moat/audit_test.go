package moat_test

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"moat/internal/moat"
)

// auditIDs is the RequestIds of records, in order.
func auditIDs(recs []moat.AuditRecord) []string {
	out := []string{}
	for _, r := range recs {
		out = append(out, r.RequestID)
	}
	return out
}

func (e *env) audit(t *testing.T, f moat.AuditFilter) []moat.AuditRecord {
	t.Helper()
	recs, err := e.svc.Audit(e.ctx, f)
	if err != nil {
		t.Fatalf("Audit(%+v): %v", f, err)
	}
	return recs
}

// TestAuditFiltersAndOrder pins the audit log's read side: records come
// back oldest first with increasing Seq and every field as recorded;
// AccountId, Action (with or without the product) and InstanceId filter,
// alone and together; InstanceId matches whole IDs only; After and Limit
// page.
func TestAuditFiltersAndOrder(t *testing.T) {
	e := newEnv(t, moat.Config{})
	t.Cleanup(e.svc.Close)
	const idA, idAB = "ddoscoo-cn-aaaaaaaaaaaa", "ddoscoo-cn-aaaaaaaaaaaab"
	recs := []moat.AuditRecord{
		{AccountID: e.acct, Principal: "root", Action: "ddoscoo:DescribeInstances", Code: "OK", RequestID: "R1"},
		{AccountID: e.acct, Principal: "user/oncall", Action: "ddoscoo:ReleaseInstance", Resources: []string{idA}, Code: "Forbidden.RAM", RequestID: "R2"},
		{AccountID: e.other, Principal: "root", Action: "ddoscoo:ReleaseInstance", Resources: []string{idA}, Code: "InstanceNotFound", RequestID: "R3"},
		{AccountID: e.acct, Principal: "sts/oncall", Action: "ddoscoo:ReleaseInstance", Resources: []string{idAB}, Code: "OK", RequestID: "R4"},
		{AccountID: e.acct, Principal: "user/ci", Action: "bss:RenewInstance", Resources: []string{idA}, Code: "OK", RequestID: "R5"},
		{AccountID: e.acct, Principal: "root", Action: "ddoscoo:DescribeInstanceSpecs", Resources: []string{idAB, idA}, Code: "OK", RequestID: "R6"},
	}
	for i := range recs {
		recs[i].Time = t0.Add(time.Duration(i) * time.Second).Add(123 * time.Millisecond)
		recs[i].SourceIP = fmt.Sprintf("127.0.0.%d", i+1)
		e.svc.RecordAudit(recs[i])
	}
	if err := e.svc.FlushAudit(e.ctx); err != nil {
		t.Fatal(err)
	}

	all := e.audit(t, moat.AuditFilter{})
	if got := auditIDs(all); !slices.Equal(got, []string{"R1", "R2", "R3", "R4", "R5", "R6"}) {
		t.Fatalf("all records = %v, want R1..R6 oldest first", got)
	}
	for i, r := range all {
		w := recs[i]
		if i > 0 && r.Seq <= all[i-1].Seq {
			t.Errorf("Seq %d after %d: not increasing", r.Seq, all[i-1].Seq)
		}
		if !r.Time.Equal(w.Time) || r.AccountID != w.AccountID || r.Principal != w.Principal || r.SourceIP != w.SourceIP ||
			r.Action != w.Action || !slices.Equal(r.Resources, w.Resources) || r.Code != w.Code || r.RequestID != w.RequestID {
			t.Errorf("record %d = %+v, want %+v", i, r, w)
		}
	}

	cases := []struct {
		f    moat.AuditFilter
		want []string
	}{
		{moat.AuditFilter{AccountID: e.acct}, []string{"R1", "R2", "R4", "R5", "R6"}},
		{moat.AuditFilter{AccountID: e.other}, []string{"R3"}},
		{moat.AuditFilter{AccountID: "3000000000000003"}, []string{}},
		{moat.AuditFilter{Action: "ReleaseInstance"}, []string{"R2", "R3", "R4"}},
		{moat.AuditFilter{Action: "ddoscoo:ReleaseInstance"}, []string{"R2", "R3", "R4"}},
		{moat.AuditFilter{Action: "bss:ReleaseInstance"}, []string{}},
		{moat.AuditFilter{Action: "RenewInstance"}, []string{"R5"}},
		{moat.AuditFilter{Action: "Release"}, []string{}},
		{moat.AuditFilter{InstanceID: idA}, []string{"R2", "R3", "R5", "R6"}},
		{moat.AuditFilter{InstanceID: idAB}, []string{"R4", "R6"}},
		{moat.AuditFilter{InstanceID: "ddoscoo-cn-aaaa"}, []string{}},
		{moat.AuditFilter{AccountID: e.acct, Action: "ReleaseInstance", InstanceID: idA}, []string{"R2"}},
		{moat.AuditFilter{AfterSeq: all[3].Seq}, []string{"R5", "R6"}},
		{moat.AuditFilter{Limit: 2}, []string{"R1", "R2"}},
		{moat.AuditFilter{AccountID: e.acct, AfterSeq: all[1].Seq, Limit: 2}, []string{"R4", "R5"}},
	}
	for _, tc := range cases {
		if got := auditIDs(e.audit(t, tc.f)); !slices.Equal(got, tc.want) {
			t.Errorf("Audit(%+v) = %v, want %v", tc.f, got, tc.want)
		}
	}
}

// TestAuditFlushAndClose pins the asynchronous writer: FlushAudit returns
// only once every record queued before it is stored (many writers, more
// than one batch), and Close stores what is still queued.
func TestAuditFlushAndClose(t *testing.T) {
	e := newEnv(t, moat.Config{})
	const writers, each = 8, 700 // 5600 records: several batches
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				e.svc.RecordAudit(moat.AuditRecord{Time: t0, AccountID: e.acct, Principal: "root", Action: "ddoscoo:DescribeInstances",
					Code: "OK", RequestID: fmt.Sprintf("w%d-%d", w, i)})
			}
		}()
	}
	wg.Wait()
	if err := e.svc.FlushAudit(e.ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(e.audit(t, moat.AuditFilter{})); n != writers*each {
		t.Fatalf("after FlushAudit: %d records, want %d", n, writers*each)
	}
	for i := range 10 {
		e.svc.RecordAudit(moat.AuditRecord{Time: t0, AccountID: e.other, Action: "ddoscoo:DescribeInstances", Code: "OK", RequestID: fmt.Sprintf("late-%d", i)})
	}
	e.svc.Close()
	recs, err := e.store.Audit(e.ctx, moat.AuditFilter{AccountID: e.other})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 10 {
		t.Fatalf("after Close: %d records of the late batch, want 10", len(recs))
	}
	// After Close, recording and flushing neither block nor fail.
	e.svc.RecordAudit(moat.AuditRecord{Time: t0, AccountID: e.other, RequestID: "after-close"})
	if err := e.svc.FlushAudit(e.ctx); err != nil {
		t.Fatalf("FlushAudit after Close: %v", err)
	}
}

// TestPurgeAudit pins retention: PurgeAudit forgets records older than
// the cut-off (strictly), at most max of them, oldest first.
func TestPurgeAudit(t *testing.T) {
	e := newEnv(t, moat.Config{})
	t.Cleanup(e.svc.Close)
	for i := range 5 {
		e.svc.RecordAudit(moat.AuditRecord{Time: t0.Add(time.Duration(i) * time.Hour), AccountID: e.acct, Action: "ddoscoo:DescribeInstances",
			Code: "OK", RequestID: fmt.Sprintf("R%d", i)})
	}
	if err := e.svc.FlushAudit(e.ctx); err != nil {
		t.Fatal(err)
	}
	n, err := e.svc.PurgeAudit(e.ctx, t0.Add(3*time.Hour), 1)
	if err != nil || n != 1 {
		t.Fatalf("PurgeAudit(max 1) = %d, %v; want 1", n, err)
	}
	if got := auditIDs(e.audit(t, moat.AuditFilter{})); !slices.Equal(got, []string{"R1", "R2", "R3", "R4"}) {
		t.Fatalf("after purging one: %v, want the oldest gone", got)
	}
	n, err = e.svc.PurgeAudit(e.ctx, t0.Add(3*time.Hour), 100)
	if err != nil || n != 2 {
		t.Fatalf("PurgeAudit(before R3) = %d, %v; want 2", n, err)
	}
	if got := auditIDs(e.audit(t, moat.AuditFilter{})); !slices.Equal(got, []string{"R3", "R4"}) {
		t.Fatalf("after purging before R3's time: %v, want [R3 R4] (R3 is not older than the cut-off)", got)
	}
}
