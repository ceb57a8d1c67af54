package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	openapi "github.com/alibabacloud-go/darabonba-openapi/v2/client"
	ddoscoov3 "github.com/alibabacloud-go/ddoscoo-20200101/v2/client"
	rpc "github.com/alibabacloud-go/tea-rpc/client"
	"github.com/alibabacloud-go/tea/tea"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth/credentials"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ddoscoo"

	"moat/internal/admin"
)

func v3DescribeRequest() *ddoscoov3.DescribeInstancesRequest {
	return &ddoscoov3.DescribeInstancesRequest{PageNumber: tea.String("1"), PageSize: tea.String("10")}
}

// stsV1 is sdk-go v1's ddoscoo client for STS credentials.
func stsV1(t testing.TB, s *Server, id, secret, token string) *ddoscoo.Client {
	t.Helper()
	c, err := ddoscoo.NewClientWithStsToken("cn-hangzhou", id, secret, token)
	if err != nil {
		t.Fatalf("sdk-go v1 STS client: %v", err)
	}
	c.EndpointMap = map[string]string{"cn-hangzhou": s.Host()}
	return c
}

// stsV3 is the generated v3 client with a SecurityToken in its config.
func stsV3(t testing.TB, s *Server, id, secret, token string) *ddoscoov3.Client {
	t.Helper()
	c, err := ddoscoov3.NewClient(&openapi.Config{
		AccessKeyId: tea.String(id), AccessKeySecret: tea.String(secret), SecurityToken: tea.String(token),
		Endpoint: tea.String(s.Host()), Protocol: tea.String("http"), RegionId: tea.String("cn-hangzhou"),
	})
	if err != nil {
		t.Fatalf("v3 STS client: %v", err)
	}
	return c
}

func issueSTS(t testing.TB, s *Server, user string, req admin.STSRequest) admin.STSResponse {
	t.Helper()
	c, err := s.Admin.IssueSTS(context.Background(), ramAcct, user, req)
	if err != nil {
		t.Fatalf("issue STS for %s: %v", user, err)
	}
	return c
}

// describeStsOK lists instances with STS credentials through sdk-go v1.
func describeStsOK(t testing.TB, s *Server, c admin.STSResponse) *ddoscoo.DescribeInstancesResponse {
	t.Helper()
	return v1List(t, stsV1(t, s, c.AccessKeyId, c.AccessKeySecret, c.SecurityToken), nil)
}

// TestSTSOfficialClients pins temporary credentials issued through the
// admin API (201, an STS. key, Expiration = real now + DurationSeconds)
// against every client's own STS credential type: sdk-go v1
// (NewClientWithStsToken and credentials.NewStsTokenCredential, the
// SecurityToken parameter), the generated v3 client (x-acs-security-token),
// darabonba with signature v1, and tea-rpc.
func TestSTSOfficialClients(t *testing.T) {
	s := StartServer(t)
	ramAccount(t, s)
	expired := createSingle(t, s, admin.InstancesRequest{AccountId: ramAcct, ExpireIn: "-1h"})
	live := createSingle(t, s, admin.InstancesRequest{AccountId: ramAcct, ExpireIn: "720h"})
	newRAMUser(t, s, ramAcct, "ops", map[string]string{"ops": policyDoc(allowStmt("yundun-ddoscoo:Describe*", "*", ""), allowStmt(ramRelease, "*", ""))})

	before := time.Now().Truncate(time.Second)
	status, body := adminRaw(t, s, http.MethodPost, "/_moat/v1/accounts/"+ramAcct+"/users/ops/sts", `{"DurationSeconds": 3600}`)
	after := time.Now()
	var c admin.STSResponse
	if err := json.Unmarshal([]byte(body), &c); err != nil || status != http.StatusCreated {
		t.Fatalf("issue STS: %d %s, want 201", status, body)
	}
	wantJSONKeys(t, "issue STS", body, "AccessKeyId", "AccessKeySecret", "SecurityToken", "Expiration")
	exp, err := time.Parse(time.RFC3339, c.Expiration)
	if !strings.HasPrefix(c.AccessKeyId, "STS.") || c.AccessKeySecret == "" || c.SecurityToken == "" || err != nil ||
		exp.Before(before.Add(time.Hour)) || exp.After(after.Add(time.Hour)) || !strings.HasSuffix(c.Expiration, "Z") {
		t.Fatalf("STS credentials = %s, want an STS. key, a secret, a token and an RFC 3339 UTC Expiration one hour from now", body)
	}
	want := []string{expired.InstanceId, live.InstanceId}

	wantIDSet(t, "sdk-go v1 NewClientWithStsToken", describeStsOK(t, s, c), want...)

	cred := credentials.NewStsTokenCredential(c.AccessKeyId, c.AccessKeySecret, c.SecurityToken)
	withCred, err := ddoscoo.NewClientWithOptions("cn-hangzhou", sdk.NewConfig(), cred)
	if err != nil {
		t.Fatal(err)
	}
	withCred.EndpointMap = map[string]string{"cn-hangzhou": s.Host()}
	wantIDSet(t, "sdk-go v1 StsTokenCredential", v1List(t, withCred, nil), want...)

	v3 := stsV3(t, s, c.AccessKeyId, c.AccessKeySecret, c.SecurityToken)
	if got := v3IDs(v3List(t, v3, nil)); !equalStrings(got, sortedStrings(want...)) {
		t.Fatalf("v3 STS DescribeInstances = %v, want %v", got, want)
	}

	dara, err := openapi.NewClient(&openapi.Config{
		AccessKeyId: tea.String(c.AccessKeyId), AccessKeySecret: tea.String(c.AccessKeySecret), SecurityToken: tea.String(c.SecurityToken),
		Endpoint: tea.String(s.Host()), Protocol: tea.String("http"), SignatureAlgorithm: tea.String("v2"),
	})
	if err != nil {
		t.Fatal(err)
	}
	res, err := daraCall(dara, "DescribeInstances", map[string]string{"PageNumber": "1", "PageSize": "10"})
	if err != nil {
		t.Fatalf("darabonba v2 STS DescribeInstances: %v", err)
	}
	if n := jsonInt(t, "TotalCount", daraBody(t, res)["TotalCount"]); n != 2 {
		t.Fatalf("darabonba v2 STS TotalCount = %d, want 2", n)
	}

	tr, err := rpc.NewClient(&rpc.Config{
		AccessKeyId: tea.String(c.AccessKeyId), AccessKeySecret: tea.String(c.AccessKeySecret), SecurityToken: tea.String(c.SecurityToken),
		Endpoint: tea.String(s.Host()), Protocol: tea.String("http"), RegionId: tea.String("cn-hangzhou"),
	})
	if err != nil {
		t.Fatal(err)
	}
	out, err := tfCall(tr, "DescribeInstances", map[string]any{"PageNumber": "1", "PageSize": "10", "RegionId": "cn-hangzhou"})
	if err != nil {
		t.Fatalf("tea-rpc STS DescribeInstances: %v", err)
	}
	if n := len(tfInstances(t, out)); n != 2 {
		t.Fatalf("tea-rpc STS DescribeInstances: %d instances, want 2", n)
	}

	// The session may do what the user may: release, through v3.
	if _, err := v3.ReleaseInstance(&ddoscoov3.ReleaseInstanceRequest{InstanceId: tea.String(expired.InstanceId)}); err != nil {
		t.Fatalf("v3 STS ReleaseInstance: %v", err)
	}
	if got := rootStatus(t, s, expired.InstanceId); got != 4 {
		t.Fatalf("after the STS release: InstanceStatus %d, want 4", got)
	}
}

func equalStrings(a, b []string) bool { return strings.Join(a, ",") == strings.Join(b, ",") }

// TestSTSNarrowingPolicy pins the inline session policy: it takes rights
// away (the user may release, the session may not: SessionPolicy
// ImplicitDeny) and never adds any (a session allowed "*" of a
// describe-only user cannot release).
func TestSTSNarrowingPolicy(t *testing.T) {
	s := StartServer(t)
	ramAccount(t, s)
	a := createSingle(t, s, admin.InstancesRequest{AccountId: ramAcct, ExpireIn: "-1h"})
	b := createSingle(t, s, admin.InstancesRequest{AccountId: ramAcct, ExpireIn: "-1h"})
	ops := newRAMUser(t, s, ramAcct, "ops", map[string]string{"ops": policyDoc(allowStmt("yundun-ddoscoo:Describe*", "*", ""), allowStmt(ramRelease, "*", ""))})
	newRAMUser(t, s, ramAcct, "ro", map[string]string{"ro": policyDoc(allowStmt("yundun-ddoscoo:Describe*", "*", ""))})

	narrow := issueSTS(t, s, "ops", admin.STSRequest{DurationSeconds: 900, Policy: policyDoc(allowStmt("yundun-ddoscoo:Describe*", "*", ""))})
	nc := stsV1(t, s, narrow.AccessKeyId, narrow.AccessKeySecret, narrow.SecurityToken)
	wantIDSet(t, "narrowed session", v1List(t, nc, nil), a.InstanceId, b.InstanceId)
	_, err := v1Release(nc, a.InstanceId)
	wantDeniedV1(t, "narrowed session release", err, deniedDetail(ramRelease, "AssumedRoleUser", "ops", "ImplicitDeny", "SessionPolicy"))
	_, err = stsV3(t, s, narrow.AccessKeyId, narrow.AccessKeySecret, narrow.SecurityToken).ReleaseInstance(&ddoscoov3.ReleaseInstanceRequest{InstanceId: tea.String(a.InstanceId)})
	wantDeniedTea(t, "narrowed session release (v3)", err, deniedDetail(ramRelease, "AssumedRoleUser", "ops", "ImplicitDeny", "SessionPolicy"))
	if _, err := v1Release(SDKv1(t, s, "cn-hangzhou", ops.KeyID, ops.Secret), a.InstanceId); err != nil {
		t.Fatalf("the user itself may release: %v", err)
	}

	wide := issueSTS(t, s, "ro", admin.STSRequest{DurationSeconds: 900, Policy: policyDoc(allowStmt("*", "*", ""))})
	_, err = v1Release(stsV1(t, s, wide.AccessKeyId, wide.AccessKeySecret, wide.SecurityToken), b.InstanceId)
	wantDeniedV1(t, "session policy wider than the user's", err, deniedDetail(ramRelease, "AssumedRoleUser", "ro", "ImplicitDeny", "AccountLevelIdentityBasedPolicy"))
	if got := rootStatus(t, s, b.InstanceId); got != 2 {
		t.Fatalf("refused release changed the instance: InstanceStatus %d, want 2", got)
	}
}

// TestSTSTokenErrors pins what is refused: a malformed token, another
// session's token, an STS key without its token, a permanent key with a
// token (all 400 InvalidSecurityToken.MalformedToken), disabled and
// deleted STS keys, DurationSeconds outside 900..43200 (400), unknown
// users and malformed session policies; and that moving server time does
// not expire a session (the real clock governs expiry).
func TestSTSTokenErrors(t *testing.T) {
	s := StartServer(t)
	ramAccount(t, s)
	ctx := context.Background()
	u := newRAMUser(t, s, ramAcct, "ops", map[string]string{"read": policyDoc(allowStmt("yundun-ddoscoo:Describe*", "*", ""))})
	a := issueSTS(t, s, "ops", admin.STSRequest{DurationSeconds: 900})
	b := issueSTS(t, s, "ops", admin.STSRequest{DurationSeconds: 900})
	const malformed = "InvalidSecurityToken.MalformedToken"

	stsErr := func(id, secret, token string) error {
		_, err := stsV1(t, s, id, secret, token).DescribeInstances(describeRequestV1())
		return err
	}
	v1Error(t, stsErr(a.AccessKeyId, a.AccessKeySecret, "CAISnot-a-real-token"), 400, malformed)
	v1Error(t, stsErr(a.AccessKeyId, a.AccessKeySecret, b.SecurityToken), 400, malformed)
	v1Error(t, describeErr(t, s, a.AccessKeyId, a.AccessKeySecret), 400, malformed)
	v1Error(t, stsErr(u.KeyID, u.Secret, a.SecurityToken), 400, malformed)
	_, err := stsV3(t, s, a.AccessKeyId, a.AccessKeySecret, "CAISnot-a-real-token").DescribeInstances(v3DescribeRequest())
	teaError(t, err, 400, malformed)
	_, err = stsV3(t, s, a.AccessKeyId, a.AccessKeySecret, b.SecurityToken).DescribeInstances(v3DescribeRequest())
	teaError(t, err, 400, malformed)
	describeStsOK(t, s, a)
	describeStsOK(t, s, b)

	// Server time a day on: the 900-second sessions still work.
	s.Advance(t, "24h")
	describeStsOK(t, s, a)

	if err := s.Admin.SetKeyStatus(ctx, a.AccessKeyId, "Inactive"); err != nil {
		t.Fatal(err)
	}
	v1Error(t, stsErr(a.AccessKeyId, a.AccessKeySecret, a.SecurityToken), 400, "InvalidAccessKeyId.Inactive")
	if err := s.Admin.DeleteKey(ctx, a.AccessKeyId); err != nil {
		t.Fatal(err)
	}
	v1Error(t, stsErr(a.AccessKeyId, a.AccessKeySecret, a.SecurityToken), 404, "InvalidAccessKeyId.NotFound")
	describeStsOK(t, s, b)

	for _, d := range []int64{899, 43201, -1} {
		_, err := s.Admin.IssueSTS(ctx, ramAcct, "ops", admin.STSRequest{DurationSeconds: d})
		wantAdminError(t, "DurationSeconds out of range", err, 400, "InvalidDuration")
	}
	for _, d := range []int64{900, 43200} {
		before := time.Now().Truncate(time.Second)
		c := issueSTS(t, s, "ops", admin.STSRequest{DurationSeconds: d})
		exp, err := time.Parse(time.RFC3339, c.Expiration)
		if err != nil || exp.Before(before.Add(time.Duration(d)*time.Second)) || exp.After(time.Now().Add(time.Duration(d)*time.Second)) {
			t.Fatalf("DurationSeconds %d: Expiration %q, want real now + %d s", d, c.Expiration, d)
		}
		describeStsOK(t, s, c)
	}
	_, err = s.Admin.IssueSTS(ctx, ramAcct, "ghost", admin.STSRequest{DurationSeconds: 900})
	wantAdminError(t, "STS for an unknown user", err, 404, "UserNotFound")
	_, err = s.Admin.IssueSTS(ctx, ramAcct, "ops", admin.STSRequest{DurationSeconds: 900, Policy: `{"Version": "1"`})
	wantAdminError(t, "malformed session policy", err, 400, "MalformedPolicyDocument")
}

func describeRequestV1() *ddoscoo.DescribeInstancesRequest {
	req := ddoscoo.CreateDescribeInstancesRequest()
	req.PageNumber, req.PageSize = "1", "10"
	return req
}
