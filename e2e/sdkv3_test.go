package e2e

import (
	"slices"
	"testing"

	ddoscoov3 "github.com/alibabacloud-go/ddoscoo-20200101/v2/client"
	"github.com/alibabacloud-go/tea/tea"

	"moat/internal/admin"
)

// v3IDs lists the InstanceIds of a v3 DescribeInstances answer, sorted.
func v3IDs(body *ddoscoov3.DescribeInstancesResponseBody) []string {
	var out []string
	for _, in := range body.Instances {
		out = append(out, tea.StringValue(in.InstanceId))
	}
	slices.Sort(out)
	return out
}

func v3List(t testing.TB, c *ddoscoov3.Client, req *ddoscoov3.DescribeInstancesRequest) *ddoscoov3.DescribeInstancesResponseBody {
	t.Helper()
	if req == nil {
		req = &ddoscoov3.DescribeInstancesRequest{}
	}
	req.SetPageNumber("1").SetPageSize("50")
	resp, err := c.DescribeInstances(req)
	if err != nil {
		t.Fatalf("v3 DescribeInstances: %v", err)
	}
	if tea.Int32Value(resp.StatusCode) != 200 || resp.Body == nil {
		t.Fatalf("v3 DescribeInstances: status %d, body %v", tea.Int32Value(resp.StatusCode), resp.Body)
	}
	wantRequestID(t, "v3 DescribeInstances", tea.StringValue(resp.Body.RequestId))
	return resp.Body
}

func sortedStrings(v ...string) []string {
	v = slices.Clone(v)
	slices.Sort(v)
	return v
}

// TestSDKv3InstanceOperations pins the five operations through the
// generated ddoscoo-20200101 v2.0.0 client (signature v3, no RegionId, so
// cn-hangzhou): DescribeInstances fields and filters, DescribeInstanceIds,
// DescribeInstanceStatus, ModifyInstanceRemark and ReleaseInstance, and its
// errors as tea.SDKError: 400 InstanceNotExpire, 404 InstanceNotFound and
// 400 MissingRemark.
func TestSDKv3InstanceOperations(t *testing.T) {
	s := StartServer(t)
	live := createSingle(t, s, admin.InstancesRequest{ExpireIn: "720h", Remark: "v3-live", Tags: []admin.TagItem{{Key: "k", Value: "v"}}})
	exp := createSingle(t, s, admin.InstancesRequest{ExpireIn: "-24h", Remark: "v3-expired"})
	c := SDKv3(t, s, testKeyID, testKeySecret)

	body := v3List(t, c, nil)
	if got, want := v3IDs(body), sortedStrings(live.InstanceId, exp.InstanceId); !slices.Equal(got, want) || tea.Int64Value(body.TotalCount) != 2 {
		t.Fatalf("DescribeInstances: TotalCount %d ids %v, want 2 %v", tea.Int64Value(body.TotalCount), got, want)
	}
	for _, in := range body.Instances {
		want, status, enabled := live, int32(1), int32(1)
		if tea.StringValue(in.InstanceId) == exp.InstanceId {
			want, status = exp, 2
		}
		if tea.Int32Value(in.Status) != status || tea.Int32Value(in.Enabled) != enabled || tea.Int32Value(in.Edition) != 9 ||
			tea.Int64Value(in.ExpireTime) != want.ExpireTime || tea.Int64Value(in.CreateTime) != want.CreateTime ||
			tea.StringValue(in.Remark) != want.Remark || tea.StringValue(in.IpMode) != "fnat" || tea.StringValue(in.IpVersion) != "Ipv4" ||
			in.DebtStatus == nil || tea.Int32Value(in.DebtStatus) != 0 {
			t.Errorf("v3 instance %s = %v, want Status %d Enabled %d Edition 9 ExpireTime %d CreateTime %d Remark %q fnat Ipv4 DebtStatus 0",
				tea.StringValue(in.InstanceId), in, status, enabled, want.ExpireTime, want.CreateTime, want.Remark)
		}
	}
	filtered := v3List(t, c, (&ddoscoov3.DescribeInstancesRequest{}).
		SetStatus([]*int32{tea.Int32(2)}).
		SetInstanceIds([]*string{tea.String(live.InstanceId), tea.String(exp.InstanceId)}).
		SetExpireEndTime(exp.ExpireTime).SetEnabled(1).SetRemark("expired"))
	if got := v3IDs(filtered); !slices.Equal(got, []string{exp.InstanceId}) || tea.Int64Value(filtered.TotalCount) != 1 {
		t.Errorf("filtered DescribeInstances = %v (TotalCount %d), want [%s]", got, tea.Int64Value(filtered.TotalCount), exp.InstanceId)
	}
	tagged := v3List(t, c, (&ddoscoov3.DescribeInstancesRequest{}).SetTag([]*ddoscoov3.DescribeInstancesRequestTag{{Key: tea.String("k"), Value: tea.String("v")}}))
	if got := v3IDs(tagged); !slices.Equal(got, []string{live.InstanceId}) {
		t.Errorf("Tag k=v = %v, want [%s]", got, live.InstanceId)
	}

	ids, err := c.DescribeInstanceIds((&ddoscoov3.DescribeInstanceIdsRequest{}).SetInstanceIds([]*string{tea.String(live.InstanceId)}).SetEdition(9))
	if err != nil {
		t.Fatalf("v3 DescribeInstanceIds: %v", err)
	}
	if got := ids.Body.InstanceIds; len(got) != 1 || tea.StringValue(got[0].InstanceId) != live.InstanceId || tea.Int32Value(got[0].Edition) != 9 ||
		tea.StringValue(got[0].Remark) != "v3-live" || tea.StringValue(got[0].IpMode) != "fnat" || tea.StringValue(got[0].IpVersion) != "Ipv4" {
		t.Errorf("v3 DescribeInstanceIds = %v, want only %s (Edition 9, v3-live, fnat, Ipv4)", got, live.InstanceId)
	}

	status := func(id string, productType int32) (int32, error) {
		t.Helper()
		resp, err := c.DescribeInstanceStatus((&ddoscoov3.DescribeInstanceStatusRequest{}).SetInstanceId(id).SetProductType(productType))
		if err != nil {
			return 0, err
		}
		if tea.StringValue(resp.Body.InstanceId) != id {
			t.Fatalf("v3 DescribeInstanceStatus InstanceId = %q, want %q", tea.StringValue(resp.Body.InstanceId), id)
		}
		return tea.Int32Value(resp.Body.InstanceStatus), nil
	}
	if st, err := status(live.InstanceId, 1); err != nil || st != 1 {
		t.Fatalf("v3 DescribeInstanceStatus(live) = %d, %v; want 1", st, err)
	}
	if st, err := status(exp.InstanceId, 1); err != nil || st != 2 {
		t.Fatalf("v3 DescribeInstanceStatus(expired) = %d, %v; want 2", st, err)
	}
	_, err = status(live.InstanceId, 3)
	teaError(t, err, 400, "InvalidParameter")

	mod, err := c.ModifyInstanceRemark((&ddoscoov3.ModifyInstanceRemarkRequest{}).SetInstanceId(live.InstanceId).SetRemark("renamed by v3 高防"))
	if err != nil {
		t.Fatalf("v3 ModifyInstanceRemark: %v", err)
	}
	wantRequestID(t, "v3 ModifyInstanceRemark", tea.StringValue(mod.Body.RequestId))
	renamed := v3List(t, c, (&ddoscoov3.DescribeInstancesRequest{}).SetInstanceIds([]*string{tea.String(live.InstanceId)}))
	if len(renamed.Instances) != 1 || tea.StringValue(renamed.Instances[0].Remark) != "renamed by v3 高防" {
		t.Fatalf("after v3 ModifyInstanceRemark: %v", renamed.Instances)
	}
	_, err = c.ModifyInstanceRemark((&ddoscoov3.ModifyInstanceRemarkRequest{}).SetInstanceId(live.InstanceId))
	teaError(t, err, 400, "MissingRemark")

	_, err = c.ReleaseInstance((&ddoscoov3.ReleaseInstanceRequest{}).SetInstanceId(live.InstanceId))
	se := teaError(t, err, 400, "InstanceNotExpire")
	if tea.StringValue(se.Message) == "" {
		t.Errorf("InstanceNotExpire SDKError has no Message")
	}
	rel, err := c.ReleaseInstance((&ddoscoov3.ReleaseInstanceRequest{}).SetInstanceId(exp.InstanceId))
	if err != nil {
		t.Fatalf("v3 ReleaseInstance(expired): %v", err)
	}
	wantRequestID(t, "v3 ReleaseInstance", tea.StringValue(rel.Body.RequestId))
	if tea.Int32Value(rel.StatusCode) != 200 {
		t.Fatalf("v3 ReleaseInstance status %d", tea.Int32Value(rel.StatusCode))
	}
	_, err = c.ReleaseInstance((&ddoscoov3.ReleaseInstanceRequest{}).SetInstanceId(exp.InstanceId))
	teaError(t, err, 404, "InstanceNotFound")
	if st, err := status(exp.InstanceId, 1); err != nil || st != 4 {
		t.Fatalf("v3 DescribeInstanceStatus(released) = %d, %v; want 4", st, err)
	}
	after := v3List(t, c, nil)
	if got := v3IDs(after); !slices.Equal(got, []string{live.InstanceId}) || tea.Int64Value(after.TotalCount) != 1 {
		t.Fatalf("after release: %v (TotalCount %d), want [%s]", got, tea.Int64Value(after.TotalCount), live.InstanceId)
	}
}

// TestSDKv3RegionFromEndpointHost pins how a v3 client, which sends no
// RegionId, addresses the outside-mainland region: through the endpoint
// host ddoscoo.ap-southeast-1.aliyuncs.com (reached here through the SDK's
// HttpProxy, so the Host header and the signed host are the Alibaba name).
// That client lists and releases the Premium instance and does not see the
// mainland one; a client on the plain endpoint (cn-hangzhou by default)
// neither sees nor can release the Premium instance.
func TestSDKv3RegionFromEndpointHost(t *testing.T) {
	s := StartServer(t)
	premium := createSingle(t, s, admin.InstancesRequest{RegionId: "ap-southeast-1", ExpireIn: "-1h", Remark: "sg"})
	pro := createSingle(t, s, admin.InstancesRequest{ExpireIn: "-1h", Remark: "hz"})
	sg := SDKv3At(t, s, "ddoscoo.ap-southeast-1.aliyuncs.com", testKeyID, testKeySecret)
	hz := SDKv3At(t, s, "ddoscoo.cn-hangzhou.aliyuncs.com", testKeyID, testKeySecret)
	plain := SDKv3(t, s, testKeyID, testKeySecret)

	body := v3List(t, sg, nil)
	if got := v3IDs(body); !slices.Equal(got, []string{premium.InstanceId}) || tea.Int64Value(body.TotalCount) != 1 {
		t.Fatalf("ap-southeast-1 endpoint lists %v (TotalCount %d), want only the Premium instance %s", got, tea.Int64Value(body.TotalCount), premium.InstanceId)
	}
	if in := body.Instances[0]; tea.Int32Value(in.Edition) != 0 || tea.Int32Value(in.Status) != 2 || tea.StringValue(in.Remark) != "sg" {
		t.Errorf("Premium instance = %v, want Edition 0, Status 2, Remark sg", in)
	}
	for name, c := range map[string]*ddoscoov3.Client{"plain endpoint": plain, "cn-hangzhou endpoint": hz} {
		if got := v3IDs(v3List(t, c, nil)); !slices.Equal(got, []string{pro.InstanceId}) {
			t.Errorf("%s lists %v, want only the mainland instance %s", name, got, pro.InstanceId)
		}
	}

	_, err := plain.ReleaseInstance((&ddoscoov3.ReleaseInstanceRequest{}).SetInstanceId(premium.InstanceId))
	teaError(t, err, 404, "InstanceNotFound")
	_, err = sg.ReleaseInstance((&ddoscoov3.ReleaseInstanceRequest{}).SetInstanceId(pro.InstanceId))
	teaError(t, err, 404, "InstanceNotFound")

	rel, err := sg.ReleaseInstance((&ddoscoov3.ReleaseInstanceRequest{}).SetInstanceId(premium.InstanceId))
	if err != nil {
		t.Fatalf("ReleaseInstance through the ap-southeast-1 endpoint: %v", err)
	}
	wantRequestID(t, "ReleaseInstance (ap-southeast-1)", tea.StringValue(rel.Body.RequestId))
	evs := eventsOfType(t, s, premium.InstanceId, "released")
	if len(evs) != 1 || evs[0].RequestId != tea.StringValue(rel.Body.RequestId) || evs[0].RegionId != "ap-southeast-1" {
		t.Fatalf("released events = %+v, want one in ap-southeast-1 with RequestId %s", evs, tea.StringValue(rel.Body.RequestId))
	}
	if body := v3List(t, sg, nil); len(body.Instances) != 0 || tea.Int64Value(body.TotalCount) != 0 {
		t.Fatalf("after release the ap-southeast-1 endpoint lists %v", v3IDs(body))
	}
	if got := v3IDs(v3List(t, plain, nil)); !slices.Equal(got, []string{pro.InstanceId}) {
		t.Fatalf("the mainland instance changed: %v", got)
	}
}
