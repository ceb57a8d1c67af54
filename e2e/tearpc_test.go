package e2e

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	rpc "github.com/alibabacloud-go/tea-rpc/client"
	util "github.com/alibabacloud-go/tea-utils/service"
	"github.com/alibabacloud-go/tea/tea"

	"moat/internal/admin"
)

// tfCall is the Terraform provider's call shape (conn.DoRequest in
// resource_alicloud_ddoscoo_instance.go): POST, version 2020-01-01, AK
// auth, no query, every business parameter, RegionId included, in the
// form body.
func tfCall(conn *rpc.Client, action string, body map[string]any) (map[string]any, error) {
	return conn.DoRequest(tea.String(action), nil, tea.String("POST"), tea.String("2020-01-01"), tea.String("AK"), nil, body, &util.RuntimeOptions{})
}

// tfIsExpectedErrors is the provider's IsExpectedErrors for a tea error: a
// code matches when it equals the error's Code or appears in its Message.
func tfIsExpectedErrors(err error, codes ...string) bool {
	var se *tea.SDKError
	if !errors.As(err, &se) {
		return false
	}
	for _, code := range codes {
		if tea.StringValue(se.Code) == code || strings.Contains(tea.StringValue(se.Message), code) {
			return true
		}
	}
	return false
}

// tfDelete is resourceAlicloudDdoscooInstanceDelete: ReleaseInstance with
// RegionId cn-hangzhou in the body, where InstanceNotFound (already gone)
// and InstanceNotExpire (wait for auto release) both end the delete
// without error. It returns the raw call error too.
func tfDelete(conn *rpc.Client, region, id string) (raw, result error) {
	_, raw = tfCall(conn, "ReleaseInstance", map[string]any{"RegionId": region, "InstanceId": id})
	if raw == nil || tfIsExpectedErrors(raw, "InstanceNotFound") || tfIsExpectedErrors(raw, "InstanceNotExpire") {
		return raw, nil
	}
	return raw, raw
}

// tfNumber reads a number as tea-utils' ReadAsJSON decodes it (float64).
func tfNumber(t testing.TB, what string, v any) int64 {
	t.Helper()
	f, ok := v.(float64)
	if !ok || f != float64(int64(f)) {
		t.Fatalf("%s = %#v (%T), want an integral JSON number", what, v, v)
	}
	return int64(f)
}

func tfInstances(t testing.TB, res map[string]any) []map[string]any {
	t.Helper()
	list, ok := res["Instances"].([]any)
	if !ok {
		t.Fatalf("Instances = %#v, want a JSON list", res["Instances"])
	}
	var out []map[string]any
	for _, v := range list {
		out = append(out, v.(map[string]any))
	}
	return out
}

// TestTeaRPCTerraformShape pins the Terraform provider's use of tea-rpc
// v1.2.0 (business parameters and RegionId in a form body):
// DescribeInstances with list and struct-list filters in the body and its
// float-decoded numbers, ModifyInstanceRemark, and ReleaseInstance with the
// provider's delete handling: InstanceNotExpire (400) and InstanceNotFound
// (404) arrive as tea.SDKError with those exact Codes, each recognised only
// as itself, and both end the delete without error, while a real release
// succeeds with a RequestId recorded on the released event.
func TestTeaRPCTerraformShape(t *testing.T) {
	s := StartServer(t)
	live := createSingle(t, s, admin.InstancesRequest{ExpireIn: "720h", Remark: "tf", Tags: []admin.TagItem{{Key: "managed-by", Value: "terraform"}}})
	exp := createSingle(t, s, admin.InstancesRequest{ExpireIn: "-1h"})
	premium := createSingle(t, s, admin.InstancesRequest{RegionId: "ap-southeast-1", ExpireIn: "-1h"})
	conn := TeaRPC(t, s, testKeyID, testKeySecret)

	res, err := tfCall(conn, "DescribeInstances", map[string]any{"RegionId": "cn-hangzhou", "PageNumber": 1, "PageSize": 50})
	if err != nil {
		t.Fatalf("DescribeInstances: %v", err)
	}
	wantRequestID(t, "tea-rpc DescribeInstances", fmt.Sprint(res["RequestId"]))
	if n := tfNumber(t, "TotalCount", res["TotalCount"]); n != 2 {
		t.Fatalf("TotalCount = %d, want 2", n)
	}
	for _, in := range tfInstances(t, res) {
		want, status := live, int64(1)
		if in["InstanceId"] == exp.InstanceId {
			want, status = exp, 2
		}
		if in["InstanceId"] != want.InstanceId || in["Ip"] != want.Ip ||
			tfNumber(t, "ExpireTime", in["ExpireTime"]) != want.ExpireTime || tfNumber(t, "CreateTime", in["CreateTime"]) != want.CreateTime ||
			tfNumber(t, "Status", in["Status"]) != status || tfNumber(t, "Enabled", in["Enabled"]) != 1 || tfNumber(t, "Edition", in["Edition"]) != 9 {
			t.Errorf("instance %v, want %+v with Status %d", in, want, status)
		}
	}
	res, err = tfCall(conn, "DescribeInstances", map[string]any{
		"RegionId": "cn-hangzhou", "PageNumber": "1", "PageSize": "10",
		"InstanceIds": []string{live.InstanceId, exp.InstanceId},
		"Tag":         []map[string]string{{"Key": "managed-by", "Value": "terraform"}},
	})
	if err != nil {
		t.Fatalf("DescribeInstances with InstanceIds and Tag: %v", err)
	}
	if list := tfInstances(t, res); len(list) != 1 || list[0]["InstanceId"] != live.InstanceId || tfNumber(t, "TotalCount", res["TotalCount"]) != 1 {
		t.Fatalf("InstanceIds+Tag filter in the body: %v, want only %s", res, live.InstanceId)
	}

	const remark = "managed by terraform: 高防 & co"
	res, err = tfCall(conn, "ModifyInstanceRemark", map[string]any{"RegionId": "cn-hangzhou", "InstanceId": live.InstanceId, "Remark": remark})
	if err != nil {
		t.Fatalf("ModifyInstanceRemark: %v", err)
	}
	wantRequestID(t, "tea-rpc ModifyInstanceRemark", fmt.Sprint(res["RequestId"]))
	res, err = tfCall(conn, "DescribeInstances", map[string]any{"RegionId": "cn-hangzhou", "PageNumber": 1, "PageSize": 10, "InstanceIds": []string{live.InstanceId}})
	if err != nil {
		t.Fatalf("DescribeInstances: %v", err)
	}
	if list := tfInstances(t, res); len(list) != 1 || list[0]["Remark"] != remark {
		t.Fatalf("after ModifyInstanceRemark: %v, want Remark %q", list, remark)
	}

	raw, result := tfDelete(conn, "cn-hangzhou", live.InstanceId)
	teaError(t, raw, 400, "InstanceNotExpire")
	if result != nil || tfIsExpectedErrors(raw, "InstanceNotFound") {
		t.Fatalf("InstanceNotExpire: delete result %v, recognised as InstanceNotFound %v; want nil and false", result, tfIsExpectedErrors(raw, "InstanceNotFound"))
	}

	res, err = tfCall(conn, "ReleaseInstance", map[string]any{"RegionId": "cn-hangzhou", "InstanceId": exp.InstanceId})
	if err != nil {
		t.Fatalf("ReleaseInstance: %v", err)
	}
	relID := fmt.Sprint(res["RequestId"])
	wantRequestID(t, "tea-rpc ReleaseInstance", relID)
	if evs := eventsOfType(t, s, exp.InstanceId, "released"); len(evs) != 1 || evs[0].RequestId != relID || evs[0].Reason != "ReleaseInstance" {
		t.Fatalf("released events = %+v, want one with RequestId %s", evs, relID)
	}

	for _, id := range []string{exp.InstanceId, "ddoscoo-cn-neverexisted1", premium.InstanceId} {
		raw, result := tfDelete(conn, "cn-hangzhou", id)
		teaError(t, raw, 404, "InstanceNotFound")
		if result != nil || tfIsExpectedErrors(raw, "InstanceNotExpire") {
			t.Fatalf("delete %s: result %v, recognised as InstanceNotExpire %v; want nil and false", id, result, tfIsExpectedErrors(raw, "InstanceNotExpire"))
		}
	}
	if raw, result := tfDelete(conn, "ap-southeast-1", premium.InstanceId); raw != nil || result != nil {
		t.Fatalf("delete of the Premium instance with RegionId ap-southeast-1: %v", raw)
	}
	if evs := eventsOfType(t, s, premium.InstanceId, "released"); len(evs) != 1 {
		t.Fatalf("Premium instance released events = %+v, want one", evs)
	}

	res, err = tfCall(conn, "DescribeInstances", map[string]any{"PageNumber": 1, "PageSize": 50})
	if err != nil {
		t.Fatalf("DescribeInstances without RegionId: %v", err)
	}
	var ids []string
	for _, in := range tfInstances(t, res) {
		ids = append(ids, fmt.Sprint(in["InstanceId"]))
	}
	if !slices.Equal(ids, []string{live.InstanceId}) || tfNumber(t, "TotalCount", res["TotalCount"]) != 1 {
		t.Fatalf("after releases (no RegionId, so cn-hangzhou): %v, want only %s", ids, live.InstanceId)
	}
}
