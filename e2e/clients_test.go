package e2e

import (
	"testing"

	openapi "github.com/alibabacloud-go/darabonba-openapi/v2/client"
	ddoscoov3 "github.com/alibabacloud-go/ddoscoo-20200101/v2/client"
	"github.com/alibabacloud-go/tea/tea"
	rpc "github.com/alibabacloud-go/tea-rpc/client"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ddoscoo"
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
