package e2e

import (
	"context"
	"encoding/json"
	"net/url"
	"slices"
	"testing"
	"time"

	ddoscoov3 "github.com/alibabacloud-go/ddoscoo-20200101/v2/client"
	"github.com/alibabacloud-go/tea/tea"

	"moat/internal/admin"
)

func auditRecords(t testing.TB, s *Server, kv ...string) []admin.AuditRecord {
	t.Helper()
	q := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		q.Set(kv[i], kv[i+1])
	}
	recs, err := s.Admin.Audit(context.Background(), q)
	if err != nil {
		t.Fatalf("audit %v: %v", q, err)
	}
	return recs
}

// auditSummary is "Principal Action Code" per record, in order.
func auditSummary(recs []admin.AuditRecord) []string {
	out := []string{}
	for _, r := range recs {
		out = append(out, r.Principal+" "+r.Action+" "+r.Code)
	}
	return out
}

// TestAuditLog pins the audit log: every authenticated call is recorded
// (successes with Code "OK", refusals with their code; a request that
// fails authentication is not), with its time, principal, source IP,
// Action, the instances it named and its RequestId; GET /_moat/v1/audit
// lists them newest last and filters by AccountId, Action (with or
// without the product) and InstanceId; a release names the RAM user that
// made it, matching the release event's RequestId; `moat admin audit`
// prints the same.
func TestAuditLog(t *testing.T) {
	s := StartServer(t)
	ramAccount(t, s)
	tagged := createSingle(t, s, admin.InstancesRequest{AccountId: ramAcct, ExpireIn: "-1h", Tags: []admin.TagItem{{Key: "team", Value: "oncall"}}})
	untagged := createSingle(t, s, admin.InstancesRequest{AccountId: ramAcct, ExpireIn: "-1h"})
	oc := newRAMUser(t, s, ramAcct, "oncall", map[string]string{"release": policyDoc(allowStmt(ramRelease, "*", teamOncall))})
	newRAMUser(t, s, ramAcct, "ops", map[string]string{"all": policyDoc(allowStmt("yundun-ddoscoo:*", "*", ""))})
	sts := issueSTS(t, s, "ops", admin.STSRequest{DurationSeconds: 900})

	start := time.Now().Add(-time.Second)
	root := SDKv1(t, s, "cn-hangzhou", ramRootKey, ramRootSecret)
	list := v1List(t, root, nil)                                                            // 1 root DescribeInstances OK
	v1Error(t, describeErr(t, s, ramRootKey, "wrong-secret"), 400, "SignatureDoesNotMatch") // not authenticated: not recorded
	v1List(t, SDKv1(t, s, "cn-hangzhou", testKeyID, testKeySecret), nil)                    // another account
	_, err := v1Release(SDKv1(t, s, "cn-hangzhou", oc.KeyID, oc.Secret), untagged.InstanceId)
	refused := wantForbidden(t, err) // 2 user/oncall ReleaseInstance Forbidden.RAM
	rel, err := v1Release(SDKv1(t, s, "cn-hangzhou", oc.KeyID, oc.Secret), tagged.InstanceId)
	if err != nil { // 3 user/oncall ReleaseInstance OK
		t.Fatalf("release: %v", err)
	}
	_, err = stsV3(t, s, sts.AccessKeyId, sts.AccessKeySecret, sts.SecurityToken).DescribeInstances(
		&ddoscoov3.DescribeInstancesRequest{PageNumber: tea.String("1"), PageSize: tea.String("10"), InstanceIds: []*string{tea.String(untagged.InstanceId)}})
	if err != nil { // 4 sts/ops DescribeInstances OK
		t.Fatalf("STS DescribeInstances: %v", err)
	}
	_, err = v1Release(root, tagged.InstanceId)
	v1Error(t, err, 404, "InstanceNotFound") // 5 root ReleaseInstance InstanceNotFound
	end := time.Now().Add(time.Second)

	recs := auditRecords(t, s, "AccountId", ramAcct)
	want := []string{
		"root ddoscoo:DescribeInstances OK",
		"user/oncall ddoscoo:ReleaseInstance Forbidden.RAM",
		"user/oncall ddoscoo:ReleaseInstance OK",
		"sts/ops ddoscoo:DescribeInstances OK",
		"root ddoscoo:ReleaseInstance InstanceNotFound",
	}
	if got := auditSummary(recs); !slices.Equal(got, want) {
		t.Fatalf("audit of the account = %v, want %v (newest last)", got, want)
	}
	requestIDs := []string{list.RequestId, refused, rel.RequestId}
	for i, r := range recs {
		at, err := time.Parse(time.RFC3339Nano, r.Time)
		if err != nil || at.Before(start) || at.After(end) {
			t.Errorf("record %d Time %q, want the call's time", i, r.Time)
		}
		if i > 0 && r.Seq <= recs[i-1].Seq {
			t.Errorf("record %d Seq %d after %d", i, r.Seq, recs[i-1].Seq)
		}
		if r.AccountId != ramAcct || r.SourceIp != "127.0.0.1" {
			t.Errorf("record %d = %+v, want AccountId %s and SourceIp 127.0.0.1", i, r, ramAcct)
		}
		if i < len(requestIDs) && r.RequestId != requestIDs[i] {
			t.Errorf("record %d RequestId %q, want the call's %q", i, r.RequestId, requestIDs[i])
		}
		wantRequestID(t, "audit record", r.RequestId)
	}
	wantRes := [][]string{{}, {untagged.InstanceId}, {tagged.InstanceId}, {untagged.InstanceId}, {tagged.InstanceId}}
	for i, r := range recs {
		if !slices.Equal(r.Resources, wantRes[i]) {
			t.Errorf("record %d Resources %v, want %v", i, r.Resources, wantRes[i])
		}
	}

	// The release names who did it, and matches the event.
	if evs := eventsOfType(t, s, tagged.InstanceId, "released"); len(evs) != 1 || evs[0].RequestId != recs[2].RequestId {
		t.Fatalf("released event %+v, want RequestId %s of the audit record", evs, recs[2].RequestId)
	}

	filters := []struct {
		kv   []string
		want []string
	}{
		{[]string{"Action", "ReleaseInstance"}, []string{want[1], want[2], want[4]}},
		{[]string{"Action", "ddoscoo:ReleaseInstance", "AccountId", ramAcct}, []string{want[1], want[2], want[4]}},
		{[]string{"InstanceId", tagged.InstanceId}, []string{want[2], want[4]}},
		{[]string{"InstanceId", untagged.InstanceId, "Action", "DescribeInstances"}, []string{want[3]}},
		{[]string{"AccountId", "9999999999999999"}, []string{}},
	}
	for _, f := range filters {
		if got := auditSummary(auditRecords(t, s, f.kv...)); !slices.Equal(got, f.want) {
			t.Errorf("audit %v = %v, want %v", f.kv, got, f.want)
		}
	}
	if got := auditRecords(t, s, "Action", "ReleaseInstance"); len(got) != 3 {
		t.Errorf("ReleaseInstance across accounts: %v, want 3 records", auditSummary(got))
	}
	// The other account's call is in the log under its own account.
	all := auditRecords(t, s)
	others := 0
	for _, r := range all {
		if r.AccountId != ramAcct {
			others++
			if r.Principal != "root" || r.Action != "ddoscoo:DescribeInstances" || r.Code != "OK" {
				t.Errorf("other account's record %+v", r)
			}
		}
	}
	if others != 1 || len(all) != 6 {
		t.Fatalf("whole log: %d records, %d of another account; want 6 and 1 (the failed signature is not recorded)", len(all), others)
	}

	r := runMoat(t, cliEnv(s, "", ""), "admin", "audit", "--account-id", ramAcct, "--action", "ReleaseInstance", "--instance-id", tagged.InstanceId)
	cliWantExit(t, r, 0, "moat admin audit")
	var out admin.AuditResponse
	cliJSON(t, r, &out)
	if got := auditSummary(out.Records); !slices.Equal(got, []string{want[2], want[4]}) || out.Records[0].RequestId != rel.RequestId {
		t.Fatalf("moat admin audit = %s, want the release by user/oncall (RequestId %s), then the root's", r.stdout, rel.RequestId)
	}
}

// wantForbidden asserts a Forbidden.RAM refusal from sdk-go v1 and
// returns its RequestId.
func wantForbidden(t testing.TB, err error) string {
	t.Helper()
	return v1Error(t, err, 403, "Forbidden.RAM").RequestId()
}

// TestAuditAdminParams pins the audit route's paging parameters.
func TestAuditAdminParams(t *testing.T) {
	s := StartServer(t)
	for range 3 {
		v1List(t, SDKv1(t, s, "cn-hangzhou", testKeyID, testKeySecret), nil)
	}
	all := auditRecords(t, s)
	if len(all) != 3 {
		t.Fatalf("%d records, want 3", len(all))
	}
	if got := auditRecords(t, s, "Limit", "2"); len(got) != 2 || got[0].Seq != all[0].Seq {
		t.Fatalf("Limit 2 = %v, want the two oldest", got)
	}
	if got := auditRecords(t, s, "After", jsonNumber(all[0].Seq)); len(got) != 2 || got[0].Seq != all[1].Seq {
		t.Fatalf("After the first = %v, want the two newest", got)
	}
	status, body := adminRaw(t, s, "GET", "/_moat/v1/audit", "")
	var raw struct{ Records []json.RawMessage }
	if err := json.Unmarshal([]byte(body), &raw); err != nil || status != 200 || len(raw.Records) != 3 {
		t.Fatalf("GET /_moat/v1/audit: %d %s", status, body)
	}
	wantJSONKeys(t, "audit answer", body, "Records")
	wantJSONKeys(t, "audit record", string(raw.Records[0]), "Seq", "Time", "AccountId", "Principal", "SourceIp", "Action", "Resources", "ResourceCount", "Code", "RequestId")
	for _, q := range []string{"Limit=0", "Limit=x", "After=-1"} {
		status, body := adminRaw(t, s, "GET", "/_moat/v1/audit?"+q, "")
		if status != 400 {
			t.Errorf("audit?%s: %d %s, want 400", q, status, body)
		}
	}
}

func jsonNumber(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}
