package e2e

import (
	"errors"
	"testing"
	"time"

	openapi "github.com/alibabacloud-go/darabonba-openapi/v2/client"
	ddoscoov3 "github.com/alibabacloud-go/ddoscoo-20200101/v2/client"
	rpc "github.com/alibabacloud-go/tea-rpc/client"
	"github.com/alibabacloud-go/tea/tea"
	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ddoscoo"

	"moat/internal/admin"
)

// SDKv1 returns the official sdk-go v1 ddoscoo client (signature v1,
// everything in the query) pointed at s, for region.
func SDKv1(t testing.TB, s *Server, region, keyID, secret string) *ddoscoo.Client {
	t.Helper()
	c, err := ddoscoo.NewClientWithAccessKey(region, keyID, secret)
	if err != nil {
		t.Fatalf("sdk-go v1 client: %v", err)
	}
	c.EndpointMap = map[string]string{region: s.Host()}
	return c
}

// SDKv3 returns the generated ddoscoo-20200101 v2.0.0 client (signature
// v3, ACS3-HMAC-SHA256) pointed at s.
func SDKv3(t testing.TB, s *Server, keyID, secret string) *ddoscoov3.Client {
	t.Helper()
	c, err := ddoscoov3.NewClient(&openapi.Config{
		AccessKeyId:     tea.String(keyID),
		AccessKeySecret: tea.String(secret),
		Endpoint:        tea.String(s.Host()),
		Protocol:        tea.String("http"),
		RegionId:        tea.String("cn-hangzhou"),
	})
	if err != nil {
		t.Fatalf("ddoscoo-20200101 client: %v", err)
	}
	return c
}

// DaraV2 returns a darabonba-openapi client that signs with signature v1
// (SignatureAlgorithm "v2" selects DoRPCRequest).
func DaraV2(t testing.TB, s *Server, keyID, secret string) *openapi.Client {
	t.Helper()
	c, err := openapi.NewClient(&openapi.Config{
		AccessKeyId:        tea.String(keyID),
		AccessKeySecret:    tea.String(secret),
		Endpoint:           tea.String(s.Host()),
		Protocol:           tea.String("http"),
		SignatureAlgorithm: tea.String("v2"),
	})
	if err != nil {
		t.Fatalf("darabonba client: %v", err)
	}
	return c
}

// TeaRPC returns the tea-rpc v1.2.0 client the Terraform provider uses
// (business parameters in a form body).
func TeaRPC(t testing.TB, s *Server, keyID, secret string) *rpc.Client {
	t.Helper()
	c, err := rpc.NewClient(&rpc.Config{
		AccessKeyId:     tea.String(keyID),
		AccessKeySecret: tea.String(secret),
		Endpoint:        tea.String(s.Host()),
		Protocol:        tea.String("http"),
		RegionId:        tea.String("cn-hangzhou"),
	})
	if err != nil {
		t.Fatalf("tea-rpc client: %v", err)
	}
	return c
}

// SDKv3At returns the generated v3 client addressing endpoint (an Alibaba
// host name such as ddoscoo.ap-southeast-1.aliyuncs.com) while its HTTP
// traffic goes to s through the SDK's own HttpProxy setting. The request
// line then carries the absolute URL, so s sees Host: endpoint, exactly
// as the real gateway would, and the signed host header is endpoint too.
func SDKv3At(t testing.TB, s *Server, endpoint, keyID, secret string) *ddoscoov3.Client {
	t.Helper()
	c, err := ddoscoov3.NewClient(&openapi.Config{
		AccessKeyId:     tea.String(keyID),
		AccessKeySecret: tea.String(secret),
		Endpoint:        tea.String(endpoint),
		Protocol:        tea.String("http"),
		HttpProxy:       tea.String(s.Endpoint),
	})
	if err != nil {
		t.Fatalf("ddoscoo-20200101 client for %s: %v", endpoint, err)
	}
	return c
}

// v1Error asserts that err is sdk-go v1's *ServerError with the given HTTP
// status and Code, and returns it.
func v1Error(t testing.TB, err error, status int, code string) *sdkerrors.ServerError {
	t.Helper()
	var se *sdkerrors.ServerError
	if !errors.As(err, &se) {
		t.Fatalf("err = %v (%T), want a *sdkerrors.ServerError %d %s", err, err, status, code)
	}
	if se.HttpStatus() != status || se.ErrorCode() != code {
		t.Fatalf("ServerError = HTTP %d %q (%s), want HTTP %d %q", se.HttpStatus(), se.ErrorCode(), se.Message(), status, code)
	}
	if se.RequestId() == "" {
		t.Fatalf("ServerError %s has no RequestId", code)
	}
	return se
}

// teaError asserts that err is darabonba/tea's *tea.SDKError with the given
// HTTP status and Code, and returns it.
func teaError(t testing.TB, err error, status int, code string) *tea.SDKError {
	t.Helper()
	var se *tea.SDKError
	if !errors.As(err, &se) {
		t.Fatalf("err = %v (%T), want a *tea.SDKError %d %s", err, err, status, code)
	}
	if tea.IntValue(se.StatusCode) != status || tea.StringValue(se.Code) != code {
		t.Fatalf("SDKError = HTTP %d %q (%s), want HTTP %d %q", tea.IntValue(se.StatusCode), tea.StringValue(se.Code), tea.StringValue(se.Message), status, code)
	}
	return se
}

// createSingle creates exactly one instance through the admin API.
func createSingle(t testing.TB, s *Server, req admin.InstancesRequest) admin.Instance {
	t.Helper()
	out := s.CreateInstances(t, req)
	if len(out) != 1 {
		t.Fatalf("create instances: got %d instances, want 1", len(out))
	}
	return out[0]
}

// v1List lists every instance the v1 client c sees (one page of 50) with
// extra filters applied by set, failing the test on any error.
func v1List(t testing.TB, c *ddoscoo.Client, set func(*ddoscoo.DescribeInstancesRequest)) *ddoscoo.DescribeInstancesResponse {
	t.Helper()
	req := ddoscoo.CreateDescribeInstancesRequest()
	req.PageNumber, req.PageSize = "1", "50"
	if set != nil {
		set(req)
	}
	resp, err := c.DescribeInstances(req)
	if err != nil {
		t.Fatalf("DescribeInstances: %v", err)
	}
	return resp
}

// instanceIDsOf lists the InstanceIds of v1 instances, in order.
func instanceIDsOf(list []ddoscoo.Instance) []string {
	out := make([]string, 0, len(list))
	for _, in := range list {
		out = append(out, in.InstanceId)
	}
	return out
}

// eventsOfType returns the events of one instance with one type.
func eventsOfType(t testing.TB, s *Server, id, typ string) []admin.Event {
	t.Helper()
	evs := s.Events(t, id, typ)
	for _, e := range evs {
		if e.InstanceId != id || e.Type != typ {
			t.Fatalf("Events(%s, %s) returned %+v", id, typ, e)
		}
	}
	return evs
}

// eventMillis parses an admin event time to UNIX milliseconds.
func eventMillis(t testing.TB, e admin.Event) int64 {
	t.Helper()
	at, err := time.Parse(time.RFC3339Nano, e.Time)
	if err != nil {
		t.Fatalf("event %+v: Time: %v", e, err)
	}
	return at.UnixMilli()
}
