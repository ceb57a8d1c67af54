package e2e

import (
	"encoding/json"
	"fmt"
	"testing"

	openapi "github.com/alibabacloud-go/darabonba-openapi/v2/client"
	"github.com/alibabacloud-go/tea/dara"
	"github.com/alibabacloud-go/tea/tea"

	"moat/internal/admin"
)

// daraCall makes an RPC call with darabonba's CallApi the way generic
// callers do (Style RPC, JSON body type); with SignatureAlgorithm "v2" it
// takes DoRPCRequest, which signs with v1, sends Format=json and adds no
// RegionId unless the query has one.
func daraCall(c *openapi.Client, action string, query map[string]string) (map[string]any, error) {
	q := map[string]*string{}
	for k, v := range query {
		q[k] = tea.String(v)
	}
	params := &openapi.Params{
		Action:      tea.String(action),
		Version:     tea.String("2020-01-01"),
		Protocol:    tea.String("http"),
		Pathname:    tea.String("/"),
		Method:      tea.String("POST"),
		AuthType:    tea.String("AK"),
		Style:       tea.String("RPC"),
		ReqBodyType: tea.String("formData"),
		BodyType:    tea.String("json"),
	}
	return c.CallApi(params, &openapi.OpenApiRequest{Query: q}, &dara.RuntimeOptions{})
}

// daraBody returns the decoded JSON body of a CallApi result.
func daraBody(t testing.TB, res map[string]any) map[string]any {
	t.Helper()
	if code, ok := res["statusCode"].(json.Number); !ok || code.String() != "200" {
		t.Fatalf("CallApi statusCode = %#v, want 200", res["statusCode"])
	}
	body, ok := res["body"].(map[string]any)
	if !ok {
		t.Fatalf("CallApi body = %#v, want a JSON object", res["body"])
	}
	return body
}

// jsonInt asserts that v is a JSON number (darabonba decodes with UseNumber)
// holding an integer, and returns it.
func jsonInt(t testing.TB, what string, v any) int64 {
	t.Helper()
	n, ok := v.(json.Number)
	if !ok {
		t.Fatalf("%s = %#v (%T), want a JSON number", what, v, v)
	}
	i, err := n.Int64()
	if err != nil {
		t.Fatalf("%s = %s, want an integer: %v", what, n, err)
	}
	return i
}

// TestDaraV2DescribeAndRelease pins darabonba-openapi CallApi with
// SignatureAlgorithm "v2" (Format=json in lower case, no RegionId):
// DescribeInstances answers in JSON whose numbers (TotalCount, Status,
// Enabled, Edition, ExpireTime, CreateTime in ms) are JSON integers with
// the exact values; RegionId in the query selects ap-southeast-1;
// ReleaseInstance returns a RequestId, and its errors arrive as tea.SDKError
// with Code and StatusCode.
func TestDaraV2DescribeAndRelease(t *testing.T) {
	s := StartServer(t)
	exp := createSingle(t, s, admin.InstancesRequest{ExpireIn: "-24h", Remark: "dara"})
	live := createSingle(t, s, admin.InstancesRequest{ExpireIn: "720h"})
	premium := createSingle(t, s, admin.InstancesRequest{RegionId: "ap-southeast-1", ExpireIn: "-1h", Edition: editionPtr(1)})
	c := DaraV2(t, s, testKeyID, testKeySecret)

	res, err := daraCall(c, "DescribeInstances", map[string]string{"PageNumber": "1", "PageSize": "10", "InstanceIds.1": exp.InstanceId})
	if err != nil {
		t.Fatalf("DescribeInstances: %v", err)
	}
	body := daraBody(t, res)
	wantRequestID(t, "dara DescribeInstances", fmt.Sprint(body["RequestId"]))
	if n := jsonInt(t, "TotalCount", body["TotalCount"]); n != 1 {
		t.Fatalf("TotalCount = %d, want 1", n)
	}
	list, ok := body["Instances"].([]any)
	if !ok || len(list) != 1 {
		t.Fatalf("Instances = %#v, want a list of one", body["Instances"])
	}
	in := list[0].(map[string]any)
	if in["InstanceId"] != exp.InstanceId || in["Remark"] != "dara" || in["Ip"] != exp.Ip || in["IpMode"] != "fnat" || in["IpVersion"] != "Ipv4" {
		t.Errorf("instance = %v, want %s, Remark dara, Ip %s, fnat, Ipv4", in, exp.InstanceId, exp.Ip)
	}
	for name, want := range map[string]int64{
		"Status": 2, "Enabled": 1, "Edition": 9, "DebtStatus": 0,
		"ExpireTime": exp.ExpireTime, "CreateTime": exp.CreateTime,
	} {
		if got := jsonInt(t, name, in[name]); got != want {
			t.Errorf("%s = %d, want %d", name, got, want)
		}
	}

	res, err = daraCall(c, "DescribeInstances", map[string]string{"PageNumber": "1", "PageSize": "10"})
	if err != nil {
		t.Fatalf("DescribeInstances without RegionId: %v", err)
	}
	if n := jsonInt(t, "TotalCount", daraBody(t, res)["TotalCount"]); n != 2 {
		t.Fatalf("without RegionId (cn-hangzhou) TotalCount = %d, want 2", n)
	}
	res, err = daraCall(c, "DescribeInstances", map[string]string{"PageNumber": "1", "PageSize": "10", "RegionId": "ap-southeast-1"})
	if err != nil {
		t.Fatalf("DescribeInstances in ap-southeast-1: %v", err)
	}
	body = daraBody(t, res)
	if n := jsonInt(t, "TotalCount", body["TotalCount"]); n != 1 {
		t.Fatalf("ap-southeast-1 TotalCount = %d, want 1", n)
	}
	if in := body["Instances"].([]any)[0].(map[string]any); in["InstanceId"] != premium.InstanceId || jsonInt(t, "Edition", in["Edition"]) != 1 {
		t.Fatalf("ap-southeast-1 instance = %v, want %s Edition 1", in, premium.InstanceId)
	}

	_, err = daraCall(c, "DescribeInstances", map[string]string{"PageNumber": "1", "PageSize": "51"})
	teaError(t, err, 400, "InvalidParameter")
	_, err = daraCall(c, "ReleaseInstance", map[string]string{"InstanceId": live.InstanceId})
	teaError(t, err, 400, "InstanceNotExpire")

	res, err = daraCall(c, "ReleaseInstance", map[string]string{"InstanceId": exp.InstanceId})
	if err != nil {
		t.Fatalf("ReleaseInstance: %v", err)
	}
	relID := fmt.Sprint(daraBody(t, res)["RequestId"])
	wantRequestID(t, "dara ReleaseInstance", relID)
	if evs := eventsOfType(t, s, exp.InstanceId, "released"); len(evs) != 1 || evs[0].RequestId != relID {
		t.Fatalf("released events = %+v, want one with RequestId %s", evs, relID)
	}
	_, err = daraCall(c, "ReleaseInstance", map[string]string{"InstanceId": exp.InstanceId})
	teaError(t, err, 404, "InstanceNotFound")
	_, err = daraCall(c, "ReleaseInstance", map[string]string{"InstanceId": premium.InstanceId})
	teaError(t, err, 404, "InstanceNotFound")
	res, err = daraCall(c, "ReleaseInstance", map[string]string{"InstanceId": premium.InstanceId, "RegionId": "ap-southeast-1"})
	if err != nil {
		t.Fatalf("ReleaseInstance in ap-southeast-1: %v", err)
	}
	daraBody(t, res)
	res, err = daraCall(c, "DescribeInstances", map[string]string{"PageNumber": "1", "PageSize": "10"})
	if err != nil {
		t.Fatalf("DescribeInstances after release: %v", err)
	}
	body = daraBody(t, res)
	if n := jsonInt(t, "TotalCount", body["TotalCount"]); n != 1 || body["Instances"].([]any)[0].(map[string]any)["InstanceId"] != live.InstanceId {
		t.Fatalf("after release: %v, want only %s", body, live.InstanceId)
	}
}
