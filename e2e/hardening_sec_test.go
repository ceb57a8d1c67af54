package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/bssopenapi"

	"moat/internal/admin"
)

// TestHardening_RAMDenyCrossRegionListing pins RAM on a listing that spans
// regions, through sdk-go v1 on the wire: BSS QueryAvailableInstances
// without a Region judges each instance by its own region's ARN. A Deny
// scoped to ap-southeast-1 hides that region's instance (also when the
// call names it), and an Allow scoped to cn-hangzhou lists cn-hangzhou's
// instance instead of refusing the call.
func TestHardening_RAMDenyCrossRegionListing(t *testing.T) {
	s := StartServer(t)
	ramAccount(t, s)
	hz := s.CreateInstances(t, admin.InstancesRequest{AccountId: ramAcct, RegionId: "cn-hangzhou"})[0].InstanceId
	sg := s.CreateInstances(t, admin.InstancesRequest{AccountId: ramAcct, RegionId: "ap-southeast-1"})[0].InstanceId
	const action = "bss:QueryAvailableInstances"
	denySG := newRAMUser(t, s, ramAcct, "deny-sg", map[string]string{
		"all":   policyDoc(allowStmt("bss:*", "*", "")),
		"no-sg": policyDoc(denyStmt(action, "acs:yundun-ddoscoo:ap-southeast-1:*:instance/*", "")),
	})
	hzOnly := newRAMUser(t, s, ramAcct, "hz-only", map[string]string{
		"p": policyDoc(allowStmt(action, "acs:yundun-ddoscoo:cn-hangzhou:*:instance/*", "")),
	})

	query := func(who string, u ramUser, ids string) bssopenapi.Data {
		t.Helper()
		return bssQuery(t, BSSv1(t, s, u.KeyID, u.Secret), func(r *bssopenapi.QueryAvailableInstancesRequest) {
			r.ProductCode, r.InstanceIDs = "ddos", ids
		})
	}
	want := func(what string, d bssopenapi.Data, ids ...string) {
		t.Helper()
		if got := bssBillingIDs(d); !slices.Equal(got, ids) || d.TotalCount != len(ids) {
			t.Errorf("%s: InstanceList %v TotalCount %d, want %v", what, got, d.TotalCount, ids)
		}
	}
	root := ramUser{KeyID: ramRootKey, Secret: ramRootSecret}
	want("the account's own key (control)", query("root", root, ""), hz, sg)
	want("Deny on ap-southeast-1, no region", query("deny-sg", denySG, ""), hz)
	want("Deny on ap-southeast-1, naming the denied instance", query("deny-sg", denySG, sg))
	want("Deny on ap-southeast-1, naming both", query("deny-sg", denySG, hz+","+sg), hz)
	want("Allow on cn-hangzhou only, no region", query("hz-only", hzOnly, ""), hz)
}

// TestHardening_AdminIntegersValidatedBeforeArithmetic pins that the admin
// API checks every duration and count it takes before computing with it:
// an STS DurationSeconds whose nanoseconds overflow (18446744073710552 s
// once wrapped to an expiry ~1,000 s away) is InvalidDuration, and so is
// any value outside 900-43200 up to the int64 limits; a number beyond
// int64 is InvalidParameter; a clock Advance that would overflow the
// offset, or move the server clock beyond the documented bound, and a Set
// beyond it, are InvalidClock and leave the clock where it was.
func TestHardening_AdminIntegersValidatedBeforeArithmetic(t *testing.T) {
	s := StartServer(t)
	ramAccount(t, s)
	ctx := context.Background()
	if _, err := s.Admin.CreateUser(ctx, ramAcct, "ops"); err != nil {
		t.Fatal(err)
	}
	for _, d := range []int64{18446744073710552, 9223372036854775807, -9223372036854775808, 9223372036855, 43201} {
		_, err := s.Admin.IssueSTS(ctx, ramAcct, "ops", admin.STSRequest{DurationSeconds: d})
		wantAdminError(t, fmt.Sprintf("DurationSeconds %d", d), err, 400, "InvalidDuration")
	}
	for _, raw := range []string{`{"DurationSeconds": 18446744073709551616}`, `{"DurationSeconds": 1e30}`, `{"DurationSeconds": 900.5}`} {
		status, body := adminRaw(t, s, "POST", "/_moat/v1/accounts/"+ramAcct+"/users/ops/sts", raw)
		if status != 400 || !strings.Contains(body, `"InvalidParameter"`) {
			t.Errorf("%s: %d %s, want 400 InvalidParameter", raw, status, body)
		}
	}

	before, err := s.Admin.Clock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, req := range []admin.ClockRequest{
		{Advance: "2562047h"}, // the largest Go duration: beyond the bound
		{Advance: "-2562047h"},
		{Set: "9999-12-31T23:59:59Z"},
		{Set: "0001-01-01T00:00:00Z"},
	} {
		_, err := s.Admin.MoveClock(ctx, req)
		wantAdminError(t, fmt.Sprintf("clock %+v", req), err, 400, "InvalidClock")
	}
	// Two moves that are each within the bound but together are not.
	if _, err := s.Admin.MoveClock(ctx, admin.ClockRequest{Advance: "1700000h"}); err != nil {
		t.Fatalf("Advance 1700000h (194 years): %v", err)
	}
	_, err = s.Admin.MoveClock(ctx, admin.ClockRequest{Advance: "1700000h"})
	wantAdminError(t, "a second Advance of 194 years", err, 400, "InvalidClock")
	after, err := s.Admin.Clock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := before.OffsetMs + 1700000*3600*1000; after.OffsetMs != want {
		t.Fatalf("clock offset %d ms after the refused moves, want %d (only the accepted Advance)", after.OffsetMs, want)
	}
}

// TestHardening_BSSActionNamedAsInRAM pins one name for a BSS action in
// the audit log and the metrics, the RAM one (bss:CreateInstance), as
// docs/ADMIN.md and docs/OPERATIONS.md give it: an audit filter on it finds
// every purchase, and no record or metric says BssOpenApi:.
func TestHardening_BSSActionNamedAsInRAM(t *testing.T) {
	s := StartServer(t)
	c := BSSv1(t, s, testKeyID, testKeySecret)
	var bought []string
	for range 3 {
		bought = append(bought, bssBuy(t, c, 1, nil).Data.InstanceId)
	}
	bssQuery(t, c, func(r *bssopenapi.QueryAvailableInstancesRequest) { r.ProductCode = "ddos" })

	var got []string
	for _, r := range auditRecords(t, s, "Action", "bss:CreateInstance") {
		if r.Action != "bss:CreateInstance" || r.Code != "OK" || len(r.Resources) != 0 {
			t.Errorf("audit record %+v, want Action bss:CreateInstance, Code OK", r)
		}
		got = append(got, r.RequestId)
	}
	if len(got) != len(bought) {
		t.Fatalf("audit Action=bss:CreateInstance: %d records, want %d (one per purchase)", len(got), len(bought))
	}
	if recs := auditRecords(t, s, "Action", "bss:QueryAvailableInstances"); len(recs) != 2 { // JSON and XML
		t.Fatalf("audit Action=bss:QueryAvailableInstances: %d records, want 2", len(recs))
	}
	for _, r := range auditRecords(t, s) {
		if strings.HasPrefix(r.Action, "BssOpenApi:") {
			t.Errorf("audit record %+v names the action BssOpenApi:, not bss:", r)
		}
	}
	var buys int
	for k, v := range scrape(t, s) {
		if strings.Contains(k, "BssOpenApi") {
			t.Errorf("metric %s = %s names the product BssOpenApi, not bss", k, v)
		}
		if strings.HasPrefix(k, "moat_requests_total{") && strings.Contains(k, `action="bss:CreateInstance"`) && strings.Contains(k, `status="200"`) {
			n, err := strconv.Atoi(v)
			if err != nil {
				t.Fatalf("metric %s = %q", k, v)
			}
			buys += n
		}
	}
	if buys != len(bought) {
		t.Fatalf(`moat_requests_total{action="bss:CreateInstance",status="200"} = %d, want %d`, buys, len(bought))
	}
}

// TestHardening_RevokedBootstrapKeyStaysRevoked pins that revoking the
// bootstrap AccessKey (the MOAT_ACCESS_KEY_ID/SECRET pair, which stays in
// the environment) survives restarts: a key disabled through the admin API
// stays Inactive and a deleted one stays deleted, with the same pair still
// set; start says why the pair was not installed; without a pair no new
// one is generated in place of the revoked key; a new pair is installed.
func TestHardening_RevokedBootstrapKeyStaysRevoked(t *testing.T) {
	s := StartServer(t)
	ctx := context.Background()
	if err := describeErr(t, s, testKeyID, testKeySecret); err != nil {
		t.Fatalf("the bootstrap key before revocation: %v", err)
	}
	restart := func() {
		t.Helper()
		s.Stop()
		s.Restart()
	}

	if err := s.Admin.SetKeyStatus(ctx, testKeyID, "Inactive"); err != nil {
		t.Fatal(err)
	}
	restart()
	v1Error(t, describeErr(t, s, testKeyID, testKeySecret), 400, "InvalidAccessKeyId.Inactive")
	if logs := s.Logs(); !strings.Contains(logs, "not installed") || !strings.Contains(logs, testKeyID) || !strings.Contains(logs, "Inactive") {
		t.Fatalf("start with a disabled bootstrap key logged no warning naming it:\n%s", logs)
	}

	if err := s.Admin.DeleteKey(ctx, testKeyID); err != nil {
		t.Fatal(err)
	}
	restart()
	v1Error(t, describeErr(t, s, testKeyID, testKeySecret), 404, "InvalidAccessKeyId.NotFound")
	restart() // twice: the tombstone, not the first restart's state, decides
	v1Error(t, describeErr(t, s, testKeyID, testKeySecret), 404, "InvalidAccessKeyId.NotFound")
	if logs := s.Logs(); !strings.Contains(logs, "deleted") {
		t.Fatalf("start with a deleted bootstrap key logged no warning:\n%s", logs)
	}
	// Re-enabling a deleted key is impossible; through the admin API as
	// well the key is gone.
	wantAdminError(t, "enable the deleted bootstrap key", s.Admin.SetKeyStatus(ctx, testKeyID, "Active"), 404, "AccessKeyNotFound")

	// Nor does an idempotent account creation re-run with the same pair.
	_, err := s.Admin.CreateAccount(ctx, admin.AccountRequest{AccountId: "2468013579246801", AccessKeyId: testKeyID, AccessKeySecret: testKeySecret})
	wantAdminError(t, "create an account with the deleted key", err, 409, "AccessKeyConflict")

	// Without a pair: no new bootstrap key replaces the revoked one.
	s.Stop()
	without := s.env[:0:0]
	for _, kv := range s.env {
		if !strings.HasPrefix(kv, "MOAT_ACCESS_KEY_") {
			without = append(without, kv)
		}
	}
	saved := s.env
	s.env = without
	s.Restart()
	s.Stop()
	if out := s.Stdout(); strings.Contains(out, "MOAT_ACCESS_KEY_ID=") {
		t.Fatalf("start without a pair after the bootstrap key was deleted generated a new one:\n%s", out)
	}

	// A new pair is an operator's explicit choice: it is installed.
	const newID, newSecret = "LTAInewbootstrapkey00002", "new-bootstrap-secret-0123456789"
	s.env = append(without, "MOAT_ACCESS_KEY_ID="+newID, "MOAT_ACCESS_KEY_SECRET="+newSecret)
	s.Restart()
	if err := describeErr(t, s, newID, newSecret); err != nil {
		t.Fatalf("a new bootstrap pair after the revocation: %v", err)
	}
	v1Error(t, describeErr(t, s, testKeyID, testKeySecret), 404, "InvalidAccessKeyId.NotFound")
	s.env = saved
}

// TestHardening_RAMRegionDenyOnIDActions pins the audit that went with the
// cross-region listing fix: every action that names instances acts only in
// the one region RAM judged it in (RegionId, the endpoint host, or
// ProductType), so naming an instance of a denied region under another
// region's name reaches nothing. A user allowed everything but denied
// everything on ap-southeast-1 ARNs cannot touch that region's instance
// through any ddoscoo or BSS action, whichever region the call claims;
// the same calls on the cn-hangzhou instance succeed.
func TestHardening_RAMRegionDenyOnIDActions(t *testing.T) {
	s := StartServer(t)
	ramAccount(t, s)
	hz := s.CreateInstances(t, admin.InstancesRequest{AccountId: ramAcct, RegionId: "cn-hangzhou", ExpireIn: "-1h", Remark: "hz"})[0].InstanceId
	sg := s.CreateInstances(t, admin.InstancesRequest{AccountId: ramAcct, RegionId: "ap-southeast-1", ExpireIn: "-1h", Remark: "sg"})[0].InstanceId
	// The control renews hz, so its release control needs another expired one.
	hzRelease := s.CreateInstances(t, admin.InstancesRequest{AccountId: ramAcct, RegionId: "cn-hangzhou", ExpireIn: "-1h"})[0].InstanceId
	u := newRAMUser(t, s, ramAcct, "no-sg", map[string]string{
		"all":   policyDoc(allowStmt("*", "*", "")),
		"no-sg": policyDoc(denyStmt("*", "acs:yundun-ddoscoo:ap-southeast-1:*:instance/*", "")),
	})
	key := secKey{id: u.KeyID, secret: u.Secret}
	send := func(action string, params map[string]string) (int, string) {
		t.Helper()
		r := secSend(t, s, key.v1(action, params))
		var env struct{ Code string }
		if r.Status != 200 {
			if err := json.Unmarshal(r.Body, &env); err != nil {
				t.Fatalf("%s: %d %s", action, r.Status, r.Body)
			}
		}
		return r.Status, env.Code
	}
	type probe struct {
		action string
		params func(id string) map[string]string
	}
	probes := []probe{
		{"ModifyInstanceRemark", func(id string) map[string]string { return map[string]string{"InstanceId": id, "Remark": "changed"} }},
		{"DescribeInstanceSpecs", func(id string) map[string]string { return map[string]string{"InstanceIds.1": id} }},
		{"DescribeInstanceDetails", func(id string) map[string]string { return map[string]string{"InstanceIds.1": id} }},
		{"DescribeInstanceStatistics", func(id string) map[string]string { return map[string]string{"InstanceIds.1": id} }},
		{"CreateTagResources", func(id string) map[string]string {
			return map[string]string{"ResourceType": "INSTANCE", "ResourceIds.1": id, "Tags.1.Key": "k", "Tags.1.Value": "v"}
		}},
		{"RenewInstance", func(id string) map[string]string {
			return bssParamsOf(map[string]string{"InstanceId": id, "RenewPeriod": "1"})
		}},
		{"SetRenewal", func(id string) map[string]string {
			return bssParamsOf(map[string]string{"InstanceIDs": id, "RenewalStatus": "AutoRenewal", "RenewalPeriod": "1"})
		}},
		{"ReleaseInstance", func(id string) map[string]string { return map[string]string{"InstanceId": id} }},
	}
	claims := []struct {
		name   string
		params map[string]string
	}{
		{"claiming cn-hangzhou", map[string]string{"RegionId": "cn-hangzhou", "ProductType": "ddoscoo"}},
		{"claiming ap-southeast-1", map[string]string{"RegionId": "ap-southeast-1", "ProductType": "ddosDip"}},
	}
	for _, p := range probes {
		for _, c := range claims {
			params := p.params(sg)
			for k, v := range c.params {
				if _, set := params[k]; !set {
					params[k] = v
				}
			}
			if p.action == "RenewInstance" || p.action == "SetRenewal" {
				delete(params, "RegionId")
			}
			status, code := send(p.action, params)
			if status == 200 || (code != "Forbidden.RAM" && code != "InstanceNotFound") {
				t.Errorf("%s of the ap-southeast-1 instance %s: %d %s, want 403 Forbidden.RAM or 404 InstanceNotFound", p.action, c.name, status, code)
			}
		}
		control := hz
		if p.action == "ReleaseInstance" {
			control = hzRelease
		}
		params := p.params(control)
		params["RegionId"], params["ProductType"] = "cn-hangzhou", "ddoscoo"
		if p.action == "RenewInstance" || p.action == "SetRenewal" {
			delete(params, "RegionId")
		}
		if status, code := send(p.action, params); status != 200 {
			t.Errorf("control: %s of the cn-hangzhou instance: %d %s, want 200", p.action, status, code)
		}
	}
	// The ap-southeast-1 instance is as it was: only its own lifecycle
	// events, its remark.
	for _, ev := range s.Events(t, sg, "") {
		if ev.Type != "created" && ev.Type != "expired" {
			t.Errorf("event %+v on the denied instance", ev)
		}
	}
	sgv := v1Instance(t, SDKv1(t, s, "ap-southeast-1", ramRootKey, ramRootSecret), sg)
	if sgv.Remark != "sg" {
		t.Errorf("the denied instance's remark is %q, want sg", sgv.Remark)
	}
}
