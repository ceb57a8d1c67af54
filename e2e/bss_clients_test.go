package e2e

import (
	"context"
	"regexp"
	"testing"
	"time"

	rpc "github.com/alibabacloud-go/tea-rpc/client"
	util "github.com/alibabacloud-go/tea-utils/service"
	"github.com/alibabacloud-go/tea/tea"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/bssopenapi"

	"moat/internal/admin"
)

// BSSv1 returns the official sdk-go v1 bssopenapi client (signature v1,
// every parameter in the query, RegionId cn-hangzhou always sent) pointed
// at s.
func BSSv1(t testing.TB, s *Server, keyID, secret string) *bssopenapi.Client {
	t.Helper()
	c, err := bssopenapi.NewClientWithAccessKey("cn-hangzhou", keyID, secret)
	if err != nil {
		t.Fatalf("sdk-go v1 bssopenapi client: %v", err)
	}
	c.EndpointMap = map[string]string{"cn-hangzhou": s.Host()}
	return c
}

// tfBSSCall is the Terraform provider's BSS call shape (conn.DoRequest in
// resource_alicloud_ddoscoo_instance.go, client.RpcPost("BssOpenApi", …)
// in service_alicloud_ddoscoo.go): tea-rpc, POST, version 2017-12-14, AK
// auth, no query, every business parameter in the form body.
func tfBSSCall(conn *rpc.Client, action string, body map[string]any) (map[string]any, error) {
	return conn.DoRequest(tea.String(action), nil, tea.String("POST"), tea.String("2017-12-14"), tea.String("AK"), nil, body, &util.RuntimeOptions{})
}

var bssOrderIDRE = regexp.MustCompile(`^[1-9][0-9]{14}$`)

// bssBuy is sdk-go v1 CreateInstance of an Anti-DDoS Pro instance
// (ddoscoo) for Period months, adjusted by set; it fails the test on any
// error or a body that is not the documented success.
func bssBuy(t testing.TB, c *bssopenapi.Client, period int, set func(*bssopenapi.CreateInstanceRequest)) *bssopenapi.CreateInstanceResponse {
	t.Helper()
	resp, err := c.CreateInstance(bssBuyRequest(period, set))
	if err != nil {
		t.Fatalf("CreateInstance: %v", err)
	}
	if resp.Code != "Success" || !resp.Success || resp.Data.InstanceId == "" || !bssOrderIDRE.MatchString(resp.Data.OrderId) {
		t.Fatalf("CreateInstance = %s, want Code Success, Success true, an InstanceId and an OrderId", resp.GetHttpContentString())
	}
	return resp
}

func bssBuyRequest(period int, set func(*bssopenapi.CreateInstanceRequest)) *bssopenapi.CreateInstanceRequest {
	req := bssopenapi.CreateCreateInstanceRequest()
	req.ProductCode, req.ProductType, req.SubscriptionType = "ddos", "ddoscoo", "Subscription"
	req.Period = requests.NewInteger(period)
	if set != nil {
		set(req)
	}
	return req
}

// bssRenew is sdk-go v1 RenewInstance of a ddoscoo instance.
func bssRenew(c *bssopenapi.Client, id string, months int, token string) (*bssopenapi.RenewInstanceResponse, error) {
	req := bssopenapi.CreateRenewInstanceRequest()
	req.ProductCode, req.ProductType, req.InstanceId = "ddos", "ddoscoo", id
	req.RenewPeriod, req.ClientToken = requests.NewInteger(months), token
	return c.RenewInstance(req)
}

// bssSetRenewal is sdk-go v1 SetRenewal of ddoscoo instances.
func bssSetRenewal(c *bssopenapi.Client, ids, status string, period int, unit string) (*bssopenapi.SetRenewalResponse, error) {
	req := bssopenapi.CreateSetRenewalRequest()
	req.ProductCode, req.ProductType, req.SubscriptionType = "ddos", "ddoscoo", "Subscription"
	req.InstanceIDs, req.RenewalStatus, req.RenewalPeriodUnit = ids, status, unit
	if period != 0 {
		req.RenewalPeriod = requests.NewInteger(period)
	}
	return c.SetRenewal(req)
}

// bssAddMonths is the domain's term arithmetic: calendar months added to a
// UNIX-millisecond instant in the local time zone, which the server
// process shares with the tests.
func bssAddMonths(ms int64, months int) int64 {
	return time.UnixMilli(ms).AddDate(0, months, 0).UnixMilli()
}

// bssSetClock sets server time to the UNIX-millisecond instant ms (the clock
// runs on from there with real time) and waits for the lifecycle engine.
func bssSetClock(t testing.TB, s *Server, ms int64) {
	t.Helper()
	if _, err := s.Admin.MoveClock(context.Background(), admin.ClockRequest{Set: time.UnixMilli(ms).UTC().Format(time.RFC3339Nano)}); err != nil {
		t.Fatalf("set clock: %v", err)
	}
}
