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

// testAuditRoundTrip: AppendAudit assigns increasing Seqs in the order
// given, every field round-trips (Time in UTC, nil Resources read back as
// an empty list), the filters select by account, action (with or without
// its product prefix), instance ID (whole IDs only), AfterSeq and Limit,
// and PurgeAudit deletes records older than a time, up to a limit.
func testAuditRoundTrip(t *testing.T, s moat.Store) {
	recs := []moat.AuditRecord{
		{Time: base, AccountID: "a", Principal: "root", SourceIP: "127.0.0.1", Action: "ddoscoo:ReleaseInstance", Resources: []string{"i-1"}, RequestID: "r1"},
		{Time: base.Add(time.Minute), AccountID: "b", Principal: "user/bob", SourceIP: "::1", Action: "bss:CreateInstance", Resources: []string{}, Code: "Forbidden", RequestID: "r2"},
		{Time: base.Add(2 * time.Minute), AccountID: "a", Principal: "sts/alice", Action: "ddoscoo:DescribeInstances", Resources: []string{"i-2", `i-"3"`}, RequestID: "r3"},
	}
	if err := s.AppendAudit(t.Context(), recs); err != nil {
		t.Fatal(err)
	}
	if !(recs[0].Seq > 0 && recs[1].Seq > recs[0].Seq && recs[2].Seq > recs[1].Seq) {
		t.Fatalf("Seqs %d %d %d, want increasing in order", recs[0].Seq, recs[1].Seq, recs[2].Seq)
	}
	more := []moat.AuditRecord{{Time: base.Add(3 * time.Minute), AccountID: "a", Action: "ddoscoo:ReleaseInstance", Resources: nil}}
	if err := s.AppendAudit(t.Context(), more); err != nil || more[0].Seq <= recs[2].Seq {
		t.Fatalf("later AppendAudit: seq %d, %v", more[0].Seq, err)
	}
	seqs := func(f moat.AuditFilter) []int64 {
		t.Helper()
		got, err := s.Audit(t.Context(), f)
		if err != nil {
			t.Fatal(err)
		}
		var out []int64
		for _, r := range got {
			out = append(out, r.Seq)
		}
		return out
	}
	all, err := s.Audit(t.Context(), moat.AuditFilter{})
	if err != nil || len(all) != 4 {
		t.Fatalf("Audit = %+v, %v", all, err)
	}
	for i, r := range append(slices.Clone(recs), more[0]) {
		want := r
		if want.Resources == nil {
			want.Resources = []string{}
		}
		got := all[i]
		if got.Seq != want.Seq || !got.Time.Equal(want.Time) || got.Time.Location() != time.UTC || got.AccountID != want.AccountID ||
			got.Principal != want.Principal || got.SourceIP != want.SourceIP || got.Action != want.Action ||
			!slices.Equal(got.Resources, want.Resources) || got.Resources == nil || got.Code != want.Code || got.RequestID != want.RequestID {
			t.Errorf("record %d = %+v, want %+v", i, got, want)
		}
	}
	for _, c := range []struct {
		f    moat.AuditFilter
		want []int64
	}{
		{moat.AuditFilter{AccountID: "a"}, []int64{recs[0].Seq, recs[2].Seq, more[0].Seq}},
		{moat.AuditFilter{Action: "ReleaseInstance"}, []int64{recs[0].Seq, more[0].Seq}},
		{moat.AuditFilter{Action: "ddoscoo:ReleaseInstance"}, []int64{recs[0].Seq, more[0].Seq}},
		{moat.AuditFilter{Action: "bss:ReleaseInstance"}, nil},
		{moat.AuditFilter{InstanceID: `i-"3"`}, []int64{recs[2].Seq}},
		{moat.AuditFilter{InstanceID: "i-"}, nil},
		{moat.AuditFilter{AfterSeq: recs[0].Seq, Limit: 2}, []int64{recs[1].Seq, recs[2].Seq}},
	} {
		if got := seqs(c.f); !slices.Equal(got, c.want) {
			t.Errorf("Audit(%+v) = %v, want %v", c.f, got, c.want)
		}
	}
	if n, err := s.PurgeAudit(t.Context(), base.Add(2*time.Minute), 1); err != nil || n != 1 {
		t.Errorf("PurgeAudit(limit 1) = %d, %v; want 1", n, err)
	}
	if n, err := s.PurgeAudit(t.Context(), base.Add(2*time.Minute), 0); err != nil || n != 1 {
		t.Errorf("PurgeAudit(no limit) = %d, %v; want 1", n, err)
	}
	if got := seqs(moat.AuditFilter{}); !slices.Equal(got, []int64{recs[2].Seq, more[0].Seq}) {
		t.Errorf("Audit after purging = %v", got)
	}
}
