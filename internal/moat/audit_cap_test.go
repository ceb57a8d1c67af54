package moat_test

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"moat/internal/moat"
)

// TestHardening_AuditRecordCapped pins what one audit record may cost: a
// refused call naming 990 IDs of 1,000 bytes (what a RAM user with no
// permissions can send for free) is recorded with ResourceCount 990, the
// first AuditMaxResources IDs in order, each cut to AuditMaxValue bytes at
// a character boundary and ending with AuditTruncated; every other text
// value is cut the same way; short values and short lists are kept as
// they are.
func TestHardening_AuditRecordCapped(t *testing.T) {
	e := newEnv(t, moat.Config{})
	t.Cleanup(e.svc.Close)
	ids := make([]string, 990)
	for i := range ids {
		// Multi-byte characters straddle the cut, so a byte cut would
		// leave invalid UTF-8.
		ids[i] = fmt.Sprintf("ddoscoo-cn-%04d-", i) + strings.Repeat("é", 492)
	}
	long := strings.Repeat("x", 5000)
	e.svc.RecordAudit(moat.AuditRecord{Time: t0, AccountID: e.acct, Principal: "user/" + long, SourceIP: "127.0.0.1",
		Action: "ddoscoo:DescribeInstanceSpecs", Resources: ids, Code: "Forbidden.RAM", RequestID: "R-huge"})
	e.svc.RecordAudit(moat.AuditRecord{Time: t0, AccountID: e.acct, Principal: "root", SourceIP: "127.0.0.1",
		Action: "ddoscoo:ReleaseInstance", Resources: []string{"ddoscoo-cn-aaaaaaaaaaaa"}, Code: "OK", RequestID: "R-small"})
	if err := e.svc.FlushAudit(e.ctx); err != nil {
		t.Fatal(err)
	}
	recs := e.audit(t, moat.AuditFilter{})
	if len(recs) != 2 {
		t.Fatalf("%d records, want 2", len(recs))
	}
	huge, small := recs[0], recs[1]
	if huge.ResourceCount != 990 || len(huge.Resources) != moat.AuditMaxResources {
		t.Fatalf("huge call: ResourceCount %d, %d Resources kept; want 990 and %d", huge.ResourceCount, len(huge.Resources), moat.AuditMaxResources)
	}
	size := 0
	for i, id := range huge.Resources {
		prefix := fmt.Sprintf("ddoscoo-cn-%04d-", i)
		if len(id) > moat.AuditMaxValue || !strings.HasPrefix(id, prefix) || !strings.HasSuffix(id, moat.AuditTruncated) || !utf8.ValidString(id) {
			t.Fatalf("kept ID %d = %q (%d bytes); want %s... cut to at most %d bytes, valid UTF-8, ending with %q",
				i, id, len(id), prefix, moat.AuditMaxValue, moat.AuditTruncated)
		}
		size += len(id)
	}
	if p := huge.Principal; len(p) > moat.AuditMaxValue || !strings.HasPrefix(p, "user/xxx") || !strings.HasSuffix(p, moat.AuditTruncated) {
		t.Fatalf("Principal = %q (%d bytes), want it cut to %d bytes with the marker", p, len(p), moat.AuditMaxValue)
	}
	if size > moat.AuditMaxResources*moat.AuditMaxValue {
		t.Fatalf("kept IDs hold %d bytes", size)
	}
	if small.ResourceCount != 1 || len(small.Resources) != 1 || small.Resources[0] != "ddoscoo-cn-aaaaaaaaaaaa" || small.Principal != "root" {
		t.Fatalf("small call recorded as %+v, want it unchanged with ResourceCount 1", small)
	}
	// The kept IDs still find the record.
	if got := e.audit(t, moat.AuditFilter{InstanceID: huge.Resources[3]}); len(got) != 1 || got[0].RequestID != "R-huge" {
		t.Fatalf("InstanceId filter on a kept (cut) ID found %v", auditIDs(got))
	}
}
