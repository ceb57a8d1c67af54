package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"

	ddoscoov3 "github.com/alibabacloud-go/ddoscoo-20200101/v2/client"
	"github.com/alibabacloud-go/tea/tea"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ddoscoo"

	"moat/internal/admin"
)

// The account every RAM test works in (created through the admin API, so
// its ID is known), with its own AccessKey pair.
const (
	ramAcct       = "1357924680135792"
	ramRootKey    = "LTAIramtestrootkey000001"
	ramRootSecret = "ram-root-secret-0123456789abcdef"
)

func ramAccount(t testing.TB, s *Server) {
	t.Helper()
	s.CreateAccount(t, ramAcct, ramRootKey, ramRootSecret)
}

// ramUser is a RAM user with one AccessKey pair.
type ramUser struct {
	Name, KeyID, Secret string
}

// newRAMUser creates a RAM user in acct, attaches the named policies and
// makes an AccessKey pair.
func newRAMUser(t testing.TB, s *Server, acct, name string, policies map[string]string) ramUser {
	t.Helper()
	ctx := context.Background()
	u, err := s.Admin.CreateUser(ctx, acct, name)
	if err != nil {
		t.Fatalf("create user %s: %v", name, err)
	}
	if u.AccountId != acct || u.UserName != name || len(u.UserId) != 16 {
		t.Fatalf("create user = %+v, want AccountId %s, UserName %s and a 16-digit UserId", u, acct, name)
	}
	for _, pn := range slices.Sorted(maps.Keys(policies)) {
		putPolicy(t, s, acct, name, pn, policies[pn])
	}
	k, err := s.Admin.CreateUserKey(ctx, acct, name)
	if err != nil {
		t.Fatalf("create access key for %s: %v", name, err)
	}
	if k.AccessKeyId == "" || k.AccessKeySecret == "" {
		t.Fatalf("create access key = %+v, want an ID and a secret", k)
	}
	return ramUser{Name: name, KeyID: k.AccessKeyId, Secret: k.AccessKeySecret}
}

func putPolicy(t testing.TB, s *Server, acct, user, name, doc string) {
	t.Helper()
	if err := s.Admin.PutPolicy(context.Background(), acct, user, name, doc); err != nil {
		t.Fatalf("put policy %s on %s: %v", name, user, err)
	}
}

// policyDoc is a RAM policy document with the given statements.
func policyDoc(statements ...string) string {
	return `{"Version": "1", "Statement": [` + strings.Join(statements, ",") + `]}`
}

func allowStmt(action, resource, cond string) string { return stmt("Allow", action, resource, cond) }
func denyStmt(action, resource, cond string) string  { return stmt("Deny", action, resource, cond) }

func stmt(effect, action, resource, cond string) string {
	s := fmt.Sprintf(`{"Effect": %q, "Action": %q, "Resource": %q`, effect, action, resource)
	if cond != "" {
		s += `, "Condition": ` + cond
	}
	return s + "}"
}

const (
	ramRelease  = "yundun-ddoscoo:ReleaseInstance"
	ramDescribe = "yundun-ddoscoo:DescribeInstances"
	teamOncall  = `{"StringEquals": {"acs:ResourceTag/team": "oncall"}}`
)

// deniedDetail is the AccessDeniedDetail object a refusal carries.
func deniedDetail(action, principalType, name, kind, policyType string) map[string]any {
	return map[string]any{
		"AuthAction": action, "AuthPrincipalType": principalType, "AuthPrincipalOwnerId": ramAcct,
		"AuthPrincipalDisplayName": name, "NoPermissionType": kind, "PolicyType": policyType, "EncodedDiagnosticMessage": "",
	}
}

// wantDeniedV1 asserts that sdk-go v1 surfaced 403 Forbidden.RAM with
// exactly this AccessDeniedDetail.
func wantDeniedV1(t testing.TB, what string, err error, want map[string]any) {
	t.Helper()
	se := v1Error(t, err, 403, "Forbidden.RAM")
	if got := se.AccessDeniedDetail(); !maps.Equal(got, want) {
		t.Fatalf("%s: sdk-go v1 AccessDeniedDetail = %v, want %v", what, got, want)
	}
}

// wantDeniedTea is the same for darabonba/tea clients.
func wantDeniedTea(t testing.TB, what string, err error, want map[string]any) {
	t.Helper()
	se := teaError(t, err, 403, "Forbidden.RAM")
	if got := se.AccessDeniedDetail; !maps.Equal(got, want) {
		t.Fatalf("%s: tea AccessDeniedDetail = %v, want %v", what, got, want)
	}
}

func v1Release(c *ddoscoo.Client, id string) (*ddoscoo.ReleaseInstanceResponse, error) {
	req := ddoscoo.CreateReleaseInstanceRequest()
	req.InstanceId = id
	return c.ReleaseInstance(req)
}

// rootStatus is DescribeInstanceStatus by the account's own key.
func rootStatus(t testing.TB, s *Server, id string) int {
	t.Helper()
	req := ddoscoo.CreateDescribeInstanceStatusRequest()
	req.InstanceId, req.ProductType = id, requests.NewInteger(1)
	resp, err := SDKv1(t, s, "cn-hangzhou", ramRootKey, ramRootSecret).DescribeInstanceStatus(req)
	if err != nil {
		t.Fatalf("DescribeInstanceStatus(%s): %v", id, err)
	}
	return resp.InstanceStatus
}

// TestRAMDescribeOnlyUser pins a CI user allowed only yundun-ddoscoo:Describe*:
// it lists everything, and ReleaseInstance is 403 Forbidden.RAM with the
// AccessDeniedDetail that sdk-go v1, the v3 client and tea-rpc all surface
// (ImplicitDeny); an explicit Deny shows as ExplicitDeny; a BSS purchase is
// refused too; the account's own key still releases.
func TestRAMDescribeOnlyUser(t *testing.T) {
	s := StartServer(t)
	ramAccount(t, s)
	expired := createSingle(t, s, admin.InstancesRequest{AccountId: ramAcct, ExpireIn: "-1h"})
	live := createSingle(t, s, admin.InstancesRequest{AccountId: ramAcct, ExpireIn: "720h"})
	ci := newRAMUser(t, s, ramAcct, "ci", map[string]string{"read": policyDoc(allowStmt("yundun-ddoscoo:Describe*", "*", ""))})

	v1 := SDKv1(t, s, "cn-hangzhou", ci.KeyID, ci.Secret)
	wantIDSet(t, "ci DescribeInstances", v1List(t, v1, nil), expired.InstanceId, live.InstanceId)
	specs := v1Specs(t, v1, "JSON", live.InstanceId)
	if len(specs.InstanceSpecs) != 1 || specs.InstanceSpecs[0].InstanceId != live.InstanceId {
		t.Fatalf("ci DescribeInstanceSpecs = %+v", specs.InstanceSpecs)
	}

	implicit := deniedDetail(ramRelease, "SubUser", "ci", "ImplicitDeny", "AccountLevelIdentityBasedPolicy")
	_, err := v1Release(v1, expired.InstanceId)
	wantDeniedV1(t, "sdk-go v1 ReleaseInstance", err, implicit)

	v3 := SDKv3(t, s, ci.KeyID, ci.Secret)
	if body := v3List(t, v3, &ddoscoov3.DescribeInstancesRequest{PageNumber: tea.String("1"), PageSize: tea.String("10")}); tea.Int64Value(body.TotalCount) != 2 {
		t.Fatalf("ci v3 DescribeInstances TotalCount = %d, want 2", tea.Int64Value(body.TotalCount))
	}
	_, err = v3.ReleaseInstance(&ddoscoov3.ReleaseInstanceRequest{InstanceId: tea.String(expired.InstanceId)})
	wantDeniedTea(t, "v3 ReleaseInstance", err, implicit)

	// tea-rpc v1.2.0 keeps the code but does not read AccessDeniedDetail.
	_, err = tfCall(TeaRPC(t, s, ci.KeyID, ci.Secret), "ReleaseInstance", map[string]any{"InstanceId": expired.InstanceId})
	teaError(t, err, 403, "Forbidden.RAM")
	if !tfIsExpectedErrors(err, "Forbidden.RAM") {
		t.Fatalf("the Terraform provider's IsExpectedErrors does not see Forbidden.RAM in %v", err)
	}

	_, err = BSSv1(t, s, ci.KeyID, ci.Secret).CreateInstance(bssBuyRequest(1, nil))
	wantDeniedV1(t, "bss CreateInstance", err, deniedDetail("bss:CreateInstance", "SubUser", "ci", "ImplicitDeny", "AccountLevelIdentityBasedPolicy"))

	// An explicit Deny in a second policy wins over the Allow.
	putPolicy(t, s, ramAcct, "ci", "no-list", policyDoc(denyStmt(ramDescribe, "*", "")))
	req := ddoscoo.CreateDescribeInstancesRequest()
	req.PageNumber, req.PageSize = "1", "10"
	_, err = v1.DescribeInstances(req)
	wantDeniedV1(t, "DescribeInstances under a Deny", err, deniedDetail(ramDescribe, "SubUser", "ci", "ExplicitDeny", "AccountLevelIdentityBasedPolicy"))
	if err := s.Admin.DeletePolicy(context.Background(), ramAcct, "ci", "no-list"); err != nil {
		t.Fatal(err)
	}
	wantIDSet(t, "ci DescribeInstances after the Deny is detached", v1List(t, v1, nil), expired.InstanceId, live.InstanceId)

	if got := rootStatus(t, s, expired.InstanceId); got != 2 {
		t.Fatalf("refused release changed the instance: InstanceStatus %d, want 2", got)
	}
	if _, err := v1Release(SDKv1(t, s, "cn-hangzhou", ramRootKey, ramRootSecret), expired.InstanceId); err != nil {
		t.Fatalf("the account's own key releases: %v", err)
	}
}

// TestRAMResourceTagCondition pins an on-call user allowed ReleaseInstance
// and Describe* only on instances tagged team=oncall: it releases a tagged
// expired instance and is refused on an untagged one and on another team's;
// DescribeInstances (TotalCount and pages), DescribeInstanceIds,
// DescribeTagResources and DescribeTagKeys show it only tagged instances.
func TestRAMResourceTagCondition(t *testing.T) {
	s := StartServer(t)
	ramAccount(t, s)
	oncallTag := []admin.TagItem{{Key: "team", Value: "oncall"}}
	taggedExpired := createSingle(t, s, admin.InstancesRequest{AccountId: ramAcct, ExpireIn: "-1h", Tags: oncallTag})
	untaggedExpired := createSingle(t, s, admin.InstancesRequest{AccountId: ramAcct, ExpireIn: "-1h"})
	otherTeam := createSingle(t, s, admin.InstancesRequest{AccountId: ramAcct, ExpireIn: "-1h", Tags: []admin.TagItem{{Key: "team", Value: "payments"}, {Key: "cost", Value: "42"}}})
	taggedLive := createSingle(t, s, admin.InstancesRequest{AccountId: ramAcct, ExpireIn: "720h", Tags: oncallTag})
	oc := newRAMUser(t, s, ramAcct, "oncall", map[string]string{
		"release": policyDoc(allowStmt(ramRelease, "*", teamOncall)),
		"see":     policyDoc(allowStmt("yundun-ddoscoo:Describe*", "*", teamOncall)),
	})
	v1 := SDKv1(t, s, "cn-hangzhou", oc.KeyID, oc.Secret)
	root := SDKv1(t, s, "cn-hangzhou", ramRootKey, ramRootSecret)
	visible := []string{taggedExpired.InstanceId, taggedLive.InstanceId}

	wantIDSet(t, "root", v1List(t, root, nil), taggedExpired.InstanceId, untaggedExpired.InstanceId, otherTeam.InstanceId, taggedLive.InstanceId)
	wantIDSet(t, "oncall DescribeInstances", v1List(t, v1, nil), visible...)
	for page, want := range map[string]string{"1": visible[0], "2": visible[1]} {
		resp := v1List(t, v1, func(r *ddoscoo.DescribeInstancesRequest) { r.PageNumber, r.PageSize = page, "1" })
		if got := instanceIDsOf(resp.Instances); resp.TotalCount != 2 || !slices.Equal(got, []string{want}) {
			t.Errorf("oncall page %s of size 1: TotalCount %d ids %v, want 2 [%s]", page, resp.TotalCount, got, want)
		}
	}
	resp := v1List(t, v1, func(r *ddoscoo.DescribeInstancesRequest) {
		r.InstanceIds = &[]string{untaggedExpired.InstanceId, otherTeam.InstanceId, taggedLive.InstanceId}
	})
	wantIDSet(t, "oncall DescribeInstances by IDs", resp, taggedLive.InstanceId)

	idsReq := ddoscoo.CreateDescribeInstanceIdsRequest()
	ids, err := v1.DescribeInstanceIds(idsReq)
	if err != nil {
		t.Fatalf("DescribeInstanceIds: %v", err)
	}
	var gotIDs []string
	for _, in := range ids.InstanceIds {
		gotIDs = append(gotIDs, in.InstanceId)
	}
	if !slices.Equal(gotIDs, visible) {
		t.Errorf("oncall DescribeInstanceIds = %v, want %v", gotIDs, visible)
	}

	g := tagger{t: t, c: v1}
	wantTags(t, "oncall DescribeTagResources", g.mustDescribe([]string{taggedExpired.InstanceId, untaggedExpired.InstanceId, otherTeam.InstanceId, taggedLive.InstanceId}, nil, ""),
		tagPair(taggedExpired.InstanceId, "team", "oncall"), tagPair(taggedLive.InstanceId, "team", "oncall"))
	keys, err := g.keys("1", "10")
	if err != nil {
		t.Fatalf("DescribeTagKeys: %v", err)
	}
	if keys.TotalCount != 1 || len(keys.TagKeys) != 1 || keys.TagKeys[0].TagKey != "team" || keys.TagKeys[0].TagCount != 2 {
		t.Errorf("oncall DescribeTagKeys = %+v (TotalCount %d), want only team on 2 instances", keys.TagKeys, keys.TotalCount)
	}

	implicit := deniedDetail(ramRelease, "SubUser", "oncall", "ImplicitDeny", "AccountLevelIdentityBasedPolicy")
	_, err = v1Release(v1, untaggedExpired.InstanceId)
	wantDeniedV1(t, "release the untagged instance", err, implicit)
	_, err = v1Release(v1, otherTeam.InstanceId)
	wantDeniedV1(t, "release team=payments", err, implicit)
	rel, err := v1Release(v1, taggedExpired.InstanceId)
	if err != nil {
		t.Fatalf("release the tagged expired instance: %v", err)
	}
	wantRequestID(t, "ReleaseInstance", rel.RequestId)
	if got := rootStatus(t, s, taggedExpired.InstanceId); got != 4 {
		t.Fatalf("released instance: InstanceStatus %d, want 4", got)
	}
	for _, id := range []string{untaggedExpired.InstanceId, otherTeam.InstanceId} {
		if got := rootStatus(t, s, id); got != 2 {
			t.Fatalf("refused instance %s: InstanceStatus %d, want 2", id, got)
		}
	}
	if evs := eventsOfType(t, s, taggedExpired.InstanceId, "released"); len(evs) != 1 || evs[0].RequestId != rel.RequestId || evs[0].AccountId != ramAcct {
		t.Fatalf("released events = %+v, want one with RequestId %s", evs, rel.RequestId)
	}
	// The live tagged instance is allowed by RAM but not by the lifecycle.
	_, err = v1Release(v1, taggedLive.InstanceId)
	v1Error(t, err, 400, "InstanceNotExpire")
}

// TestRAMConditions pins acs:SourceIp (the connection's address, here
// 127.0.0.1) and acs:CurrentTime through the real gateway; a replaced
// policy applies to the next request.
func TestRAMConditions(t *testing.T) {
	s := StartServer(t)
	ramAccount(t, s)
	createSingle(t, s, admin.InstancesRequest{AccountId: ramAcct})
	u := newRAMUser(t, s, ramAcct, "net", nil)
	v1 := SDKv1(t, s, "cn-hangzhou", u.KeyID, u.Secret)
	cases := []struct {
		cond string
		ok   bool
	}{
		{`{"IpAddress": {"acs:SourceIp": "127.0.0.1"}}`, true},
		{`{"IpAddress": {"acs:SourceIp": "10.0.0.0/8"}}`, false},
		{`{"IpAddress": {"acs:SourceIp": ["10.0.0.0/8", "127.0.0.0/8"]}}`, true},
		{`{"NotIpAddress": {"acs:SourceIp": "10.0.0.0/8"}}`, true},
		{`{"NotIpAddress": {"acs:SourceIp": "127.0.0.1/32"}}`, false},
		{`{"DateLessThan": {"acs:CurrentTime": "2020-01-01T00:00:00Z"}}`, false},
		{`{"DateGreaterThan": {"acs:CurrentTime": "2020-01-01T00:00:00Z"}}`, true},
		{`{"DateGreaterThan": {"acs:CurrentTime": "2020-01-01T00:00:00Z"}, "DateLessThan": {"acs:CurrentTime": "2021-01-01T00:00:00Z"}}`, false},
	}
	req := ddoscoo.CreateDescribeInstancesRequest()
	req.PageNumber, req.PageSize = "1", "10"
	for _, tc := range cases {
		putPolicy(t, s, ramAcct, "net", "p", policyDoc(allowStmt("yundun-ddoscoo:Describe*", "*", tc.cond)))
		resp, err := v1.DescribeInstances(req)
		if tc.ok {
			if err != nil || resp.TotalCount != 1 {
				t.Errorf("%s: DescribeInstances = %v, want allowed with TotalCount 1", tc.cond, err)
			}
			continue
		}
		wantDeniedV1(t, tc.cond, err, deniedDetail(ramDescribe, "SubUser", "net", "ImplicitDeny", "AccountLevelIdentityBasedPolicy"))
	}
}

// adminRaw sends an admin API request and returns the status and body.
func adminRaw(t testing.TB, s *Server, method, path, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, s.Endpoint+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+adminToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// wantJSONKeys asserts that body is a JSON object with exactly keys.
func wantJSONKeys(t testing.TB, what, body string, keys ...string) {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("%s: %v in %s", what, err, body)
	}
	got := slices.Sorted(maps.Keys(m))
	if want := slices.Sorted(slices.Values(keys)); !slices.Equal(got, want) {
		t.Fatalf("%s: keys %v, want %v", what, got, want)
	}
}

// wantAdminError asserts an admin API error answer.
func wantAdminError(t testing.TB, what string, err error, status int, code string) *admin.Error {
	t.Helper()
	var ae *admin.Error
	if !errors.As(err, &ae) || ae.Status != status || ae.Code != code {
		t.Fatalf("%s: err = %v, want admin API %d %s", what, err, status, code)
	}
	return ae
}

// TestAdminRAMRoutes pins the admin API's user and policy routes: 201
// with AccountId/UserName/UserId, 409 for a taken name, 404 for unknown
// accounts, users and policies, and 400 MalformedPolicyDocument with the
// line and column of the problem.
func TestAdminRAMRoutes(t *testing.T) {
	s := StartServer(t)
	ramAccount(t, s)
	ctx := context.Background()
	status, body := adminRaw(t, s, http.MethodPost, "/_moat/v1/accounts/"+ramAcct+"/users", `{"UserName": "ci"}`)
	var u admin.UserResponse
	if err := json.Unmarshal([]byte(body), &u); err != nil || status != http.StatusCreated || u.AccountId != ramAcct || u.UserName != "ci" || len(u.UserId) != 16 {
		t.Fatalf("create user: %d %s, want 201 with AccountId, UserName, UserId", status, body)
	}
	wantJSONKeys(t, "create user", body, "AccountId", "UserName", "UserId")
	_, err := s.Admin.CreateUser(ctx, ramAcct, "ci")
	wantAdminError(t, "the same name again", err, 409, "UserAlreadyExists")
	_, err = s.Admin.CreateUser(ctx, "9999999999999999", "ci")
	wantAdminError(t, "unknown account", err, 404, "AccountNotFound")
	_, err = s.Admin.CreateUser(ctx, ramAcct, "bad name")
	wantAdminError(t, "bad name", err, 400, "InvalidParameter")
	status, body = adminRaw(t, s, http.MethodPost, "/_moat/v1/accounts/"+ramAcct+"/users", `{"UserNme": "typo"}`)
	if status != 400 || !strings.Contains(body, `"InvalidParameter"`) {
		t.Fatalf("unknown field: %d %s, want 400 InvalidParameter", status, body)
	}

	status, body = adminRaw(t, s, http.MethodPost, "/_moat/v1/accounts/"+ramAcct+"/users/ci/access-keys", "")
	var k admin.KeyResponse
	if err := json.Unmarshal([]byte(body), &k); err != nil || status != http.StatusCreated || k.AccessKeyId == "" || k.AccessKeySecret == "" {
		t.Fatalf("create access key: %d %s, want 201 with AccessKeyId and AccessKeySecret", status, body)
	}
	wantJSONKeys(t, "create access key", body, "AccessKeyId", "AccessKeySecret")
	_, err = s.Admin.CreateUserKey(ctx, ramAcct, "ghost")
	wantAdminError(t, "key for an unknown user", err, 404, "UserNotFound")

	doc := "{\n  \"Version\": \"1\",\n  \"Statement\": [\n    {\"Effect\": \"Alow\", \"Action\": \"*\", \"Resource\": \"*\"}\n  ]\n}"
	ae := wantAdminError(t, "malformed policy", s.Admin.PutPolicy(ctx, ramAcct, "ci", "p", doc), 400, "MalformedPolicyDocument")
	if !strings.Contains(ae.Message, "line 4, column 16") {
		t.Fatalf("MalformedPolicyDocument message %q does not give line 4, column 16", ae.Message)
	}
	ae = wantAdminError(t, "trailing comma", s.Admin.PutPolicy(ctx, ramAcct, "ci", "p", "{\"Version\": \"1\",\n\"Statement\": [],\n}"), 400, "MalformedPolicyDocument")
	if !strings.Contains(ae.Message, "line 3, column 1") {
		t.Fatalf("MalformedPolicyDocument message %q does not give line 3, column 1", ae.Message)
	}
	status, body = adminRaw(t, s, http.MethodPut, "/_moat/v1/accounts/"+ramAcct+"/users/ci/policies/read", policyDoc(allowStmt("yundun-ddoscoo:Describe*", "*", "")))
	if status != 200 || !strings.Contains(body, `"PolicyName":"read"`) {
		t.Fatalf("put policy: %d %s, want 200", status, body)
	}
	wantAdminError(t, "policy on an unknown user", s.Admin.PutPolicy(ctx, ramAcct, "ghost", "p", policyDoc(allowStmt("*", "*", ""))), 404, "UserNotFound")
	status, _ = adminRaw(t, s, http.MethodDelete, "/_moat/v1/accounts/"+ramAcct+"/users/ci/policies/read", "")
	if status != 200 {
		t.Fatalf("delete policy: %d, want 200", status)
	}
	wantAdminError(t, "delete it again", s.Admin.DeletePolicy(ctx, ramAcct, "ci", "read"), 404, "PolicyNotFound")

	// Detached: the user may do nothing.
	req := ddoscoo.CreateDescribeInstancesRequest()
	req.PageNumber, req.PageSize = "1", "10"
	_, err = SDKv1(t, s, "cn-hangzhou", k.AccessKeyId, k.AccessKeySecret).DescribeInstances(req)
	wantDeniedV1(t, "after the policy was detached", err, deniedDetail(ramDescribe, "SubUser", "ci", "ImplicitDeny", "AccountLevelIdentityBasedPolicy"))
}
