package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"moat/internal/moat"
)

// auditRequestIDs lists every audit record's RequestID, in Seq order.
func auditRequestIDs(t *testing.T, s moat.Store) []string {
	t.Helper()
	recs, err := s.Audit(t.Context(), moat.AuditFilter{})
	if err != nil {
		t.Fatalf("Audit: %v", err)
	}
	out := []string{}
	for i, r := range recs {
		if i > 0 && r.Seq <= recs[i-1].Seq {
			t.Fatalf("Audit: Seq %d after %d", r.Seq, recs[i-1].Seq)
		}
		out = append(out, r.RequestID)
	}
	return out
}

// testAuditResourceCount: a record keeps how many instances the call
// named beside the IDs it keeps (the domain caps the list), and a record
// whose count was not set reads back with the length of its list.
func testAuditResourceCount(t *testing.T, s moat.Store) {
	recs := []moat.AuditRecord{
		{Time: base, AccountID: acctA, Principal: "user/ops", Action: "ddoscoo:DescribeInstanceSpecs", Resources: []string{"i-1", "i-2"}, ResourceCount: 990, Code: "Forbidden.RAM", RequestID: "R1"},
		{Time: at(time.Second), AccountID: acctA, Principal: "root", Action: "ddoscoo:ReleaseInstance", Resources: []string{"i-3"}, Code: "OK", RequestID: "R2"},
		{Time: at(2 * time.Second), AccountID: acctB, Principal: "root", Action: "ddoscoo:DescribeInstances", Code: "OK", RequestID: "R3"},
	}
	if err := s.AppendAudit(t.Context(), recs); err != nil {
		t.Fatal(err)
	}
	got, err := s.Audit(t.Context(), moat.AuditFilter{})
	if err != nil || len(got) != 3 {
		t.Fatalf("Audit = %+v, %v; want 3 records", got, err)
	}
	for i, want := range []int{990, 1, 0} {
		if got[i].ResourceCount != want || !slices.Equal(got[i].Resources, append([]string{}, recs[i].Resources...)) {
			t.Errorf("record %d: Resources %q ResourceCount %d; want %q and %d", i, got[i].Resources, got[i].ResourceCount, recs[i].Resources, want)
		}
	}
}

// testAuditTrim: TrimAudit(keep, max) deletes the oldest records first,
// at most max per call, until only the newest keep remain; records
// appended later are trimmed the same way; keep larger than the log
// deletes nothing.
func testAuditTrim(t *testing.T, s moat.Store) {
	var all []string
	appendN := func(n int) {
		t.Helper()
		var recs []moat.AuditRecord
		for range n {
			id := fmt.Sprintf("R%02d", len(all))
			all = append(all, id)
			recs = append(recs, moat.AuditRecord{Time: at(time.Duration(len(all)) * time.Second), AccountID: acctA, Principal: "root",
				Action: "ddoscoo:DescribeInstances", Code: "OK", RequestID: id})
		}
		if err := s.AppendAudit(t.Context(), recs); err != nil {
			t.Fatal(err)
		}
	}
	trim := func(keep, max, want int) {
		t.Helper()
		if n, err := s.TrimAudit(t.Context(), keep, max); err != nil || n != want {
			t.Fatalf("TrimAudit(keep %d, max %d) = %d, %v; want %d", keep, max, n, err, want)
		}
	}
	if n, err := s.TrimAudit(t.Context(), 5, 100); err != nil || n != 0 {
		t.Fatalf("TrimAudit on an empty log = %d, %v", n, err)
	}
	appendN(12)
	trim(20, 100, 0)
	trim(5, 4, 4) // at most max at a time, oldest first
	if got := auditRequestIDs(t, s); !slices.Equal(got, all[4:]) {
		t.Fatalf("after trimming 4: %v, want %v", got, all[4:])
	}
	trim(5, 4, 3)
	trim(5, 4, 0)
	if got := auditRequestIDs(t, s); !slices.Equal(got, all[7:]) {
		t.Fatalf("after trimming to 5: %v, want the newest five %v", got, all[7:])
	}
	appendN(3)
	trim(5, 0, 3) // max 0: no limit
	if got := auditRequestIDs(t, s); !slices.Equal(got, all[10:]) {
		t.Fatalf("after 3 more and a trim: %v, want %v", got, all[10:])
	}
}
