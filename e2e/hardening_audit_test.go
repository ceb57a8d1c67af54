package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"moat/internal/moat"
)

// TestHardening_AuditRecordOfHugeRefusedCallIsBounded pins the cap on one
// audit record, end to end: a RAM user with no permissions sends
// DescribeInstanceSpecs naming 990 IDs of 1,000 bytes (a 1 MB signed
// form body); the call is refused, and its audit record keeps
// ResourceCount 990 and only the first 20 IDs, each cut to 128 bytes, so
// the record the admin API lists is a few kilobytes, not a megabyte.
func TestHardening_AuditRecordOfHugeRefusedCallIsBounded(t *testing.T) {
	s := StartServer(t)
	ramAccount(t, s)
	u := newRAMUser(t, s, ramAcct, "nobody", nil)
	extra := map[string]string{"Format": "JSON"}
	for i := range 990 {
		extra[fmt.Sprintf("InstanceIds.%d", i+1)] = fmt.Sprintf("ddoscoo-cn-%04d-", i) + strings.Repeat("a", 1000-16)
	}
	p := rawV1Params("DescribeInstanceSpecs", extra)
	p["AccessKeyId"] = u.KeyID
	rawSignV1("POST", u.Secret, p)
	req := rawV1Request("POST", p, rawAllInBody, false)
	if len(req.Body) < 990*1000 {
		t.Fatalf("body is %d bytes, want about 1 MB", len(req.Body))
	}
	resp := rawDo(t, s.Endpoint, &http.Client{}, req)
	if resp.Status != http.StatusForbidden || !strings.Contains(string(resp.Body), `"Code":"Forbidden.RAM"`) {
		t.Fatalf("huge refused call: %d %.300s, want 403 Forbidden.RAM", resp.Status, resp.Body)
	}

	recs := auditRecords(t, s, "AccountId", ramAcct, "Action", "DescribeInstanceSpecs")
	if len(recs) != 1 {
		t.Fatalf("%d DescribeInstanceSpecs records, want 1: %+v", len(recs), recs)
	}
	r := recs[0]
	if r.Principal != "user/nobody" || r.Code != "Forbidden.RAM" || r.ResourceCount != 990 || len(r.Resources) != moat.AuditMaxResources {
		t.Fatalf("record: Principal %s Code %s ResourceCount %d, %d Resources; want user/nobody, Forbidden.RAM, 990 and %d",
			r.Principal, r.Code, r.ResourceCount, len(r.Resources), moat.AuditMaxResources)
	}
	for i, id := range r.Resources {
		if len(id) > moat.AuditMaxValue || !strings.HasPrefix(id, fmt.Sprintf("ddoscoo-cn-%04d-aaa", i)) || !strings.HasSuffix(id, moat.AuditTruncated) {
			t.Fatalf("kept ID %d = %q, want the ID cut to %d bytes ending with %q", i, id, moat.AuditMaxValue, moat.AuditTruncated)
		}
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > 4096 {
		t.Fatalf("the listed record is %d bytes of JSON, want at most 4 KB", len(b))
	}
}

// TestHardening_AuditMaxRecordsFlag pins --audit-max-records, end to end:
// the housekeeping (which runs when the server starts, and every 30 s)
// forgets the oldest records beyond the limit, however recent, and keeps
// the newest in order.
func TestHardening_AuditMaxRecordsFlag(t *testing.T) {
	s := StartServer(t, WithArgs("--audit-max-records", "3"))
	dd := SDKv1(t, s, "cn-hangzhou", testKeyID, testKeySecret)
	for range 6 {
		v1List(t, dd, nil)
	}
	before := auditRecords(t, s, "Action", "DescribeInstances")
	if len(before) < 6 {
		t.Fatalf("%d records before the restart, want at least the 6 calls", len(before))
	}
	// Stopped first: a Restart alone starts a second process on the same
	// store and leaves the first running, its own housekeeping included,
	// past the end of the test.
	s.Stop()
	s.Restart()
	// The clock call returns after an engine pass, and the engine takes
	// it only after the housekeeping of its first loop.
	s.Advance(t, "1s")
	after := auditRecords(t, s, "Action", "DescribeInstances")
	want := before[len(before)-3:]
	if len(after) != 3 {
		t.Fatalf("%d records after the housekeeping, want the newest 3", len(after))
	}
	for i := range want {
		if after[i].Seq != want[i].Seq || after[i].RequestId != want[i].RequestId {
			t.Fatalf("kept %+v, want the newest three %+v", after, want)
		}
	}
}
