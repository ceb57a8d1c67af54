package e2e

import (
	"encoding/json"
	"encoding/xml"
	"strconv"
	"strings"
	"testing"

	openapi "github.com/alibabacloud-go/darabonba-openapi/v2/client"
	ddoscoov3 "github.com/alibabacloud-go/ddoscoo-20200101/v2/client"
	"github.com/alibabacloud-go/tea/dara"
	"github.com/alibabacloud-go/tea/tea"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ddoscoo"

	"moat/internal/admin"
)

// modifyV3 calls ModifyInstance through the generated v3 client's own
// CallApi (signature v3, parameters in the query) with exactly the
// openapi.Params its generated methods use. ddoscoo-20200101 v2.0.0, the
// version the module proxy serves, predates ModifyInstance, so this is
// the call a newer generated ModifyInstanceWithOptions makes. It returns
// the RequestId and OrderId, asserting OrderId is a JSON integer.
func modifyV3(t testing.TB, c *ddoscoov3.Client, query map[string]string) (string, int64, error) {
	t.Helper()
	q := map[string]*string{}
	for k, v := range query {
		q[k] = tea.String(v)
	}
	params := &openapi.Params{
		Action:      tea.String("ModifyInstance"),
		Version:     tea.String("2020-01-01"),
		Protocol:    tea.String("HTTPS"),
		Pathname:    tea.String("/"),
		Method:      tea.String("POST"),
		AuthType:    tea.String("AK"),
		Style:       tea.String("RPC"),
		ReqBodyType: tea.String("formData"),
		BodyType:    tea.String("json"),
	}
	res, err := c.CallApi(params, &openapi.OpenApiRequest{Query: q}, &dara.RuntimeOptions{})
	if err != nil {
		return "", 0, err
	}
	body := daraBody(t, res)
	id, _ := body["RequestId"].(string)
	wantRequestID(t, "ModifyInstance (v3)", id)
	return id, jsonInt(t, "ModifyInstance OrderId", body["OrderId"]), nil
}

// modifyV1 calls ModifyInstance through sdk-go v1's core as the aliyun CLI
// does (a CommonRequest on the ddoscoo client: services/ddoscoo v1.63.107
// has no ModifyInstance), in format, and decodes the body with the
// standard library's JSON or XML decoder.
func modifyV1(t testing.TB, c *ddoscoo.Client, format string, query map[string]string) (string, int64, error) {
	t.Helper()
	req := requests.NewCommonRequest()
	req.Method, req.Product, req.Version, req.ApiName = "POST", "ddoscoo", "2020-01-01", "ModifyInstance"
	req.AcceptFormat = format
	for k, v := range query {
		req.QueryParams[k] = v
	}
	resp, err := c.ProcessCommonRequest(req)
	if err != nil {
		return "", 0, err
	}
	var out struct {
		RequestId string
		OrderId   int64
	}
	body := resp.GetHttpContentBytes()
	wantBodyFormat(t, "ModifyInstance", format, string(body))
	if format == "XML" {
		err = xml.Unmarshal(body, &out)
	} else {
		err = json.Unmarshal(body, &out)
	}
	if err != nil {
		t.Fatalf("ModifyInstance (%s) body %q: %v", format, body, err)
	}
	wantRequestID(t, "ModifyInstance (v1 "+format+")", out.RequestId)
	return out.RequestId, out.OrderId, nil
}

// wantOrderID checks a 15-digit order number.
func wantModifyOrderID(t testing.TB, label string, id int64) {
	t.Helper()
	if id < 1e14 || id >= 1e15 {
		t.Fatalf("%s: OrderId %d, want a 15-digit order number", label, id)
	}
}

// specOfInstance reads one instance's DescribeInstanceSpecs item.
func specOfInstance(t testing.TB, c *ddoscoo.Client, id string) ddoscoo.InstanceSpec {
	t.Helper()
	resp := v1Specs(t, c, "JSON", id)
	if len(resp.InstanceSpecs) != 1 {
		t.Fatalf("DescribeInstanceSpecs(%s) = %+v, want one item", id, resp.InstanceSpecs)
	}
	return resp.InstanceSpecs[0]
}

// wantModified checks that id has exactly n "modified" events and that the
// last was recorded by the call with requestID and names its order.
func wantModifiedEvents(t testing.TB, s *Server, id string, n int, requestID string, order int64) {
	t.Helper()
	evs := eventsOfType(t, s, id, "modified")
	if len(evs) != n {
		t.Fatalf("%s: %d modified events %+v, want %d", id, len(evs), evs, n)
	}
	last := evs[n-1]
	if last.RequestId != requestID || !strings.Contains(last.Reason, strconv.FormatInt(order, 10)) {
		t.Fatalf("%s: last modified event %+v, want RequestId %s and a Reason naming order %d", id, last, requestID, order)
	}
}

// TestModifyInstanceUpgradeDowngradeV3 pins ModifyInstance through the v3
// client (signature v3, no RegionId: ProductType names the region): an
// UPGRADE of every resizable item of a Pro instance, then a DOWNGRADE,
// each answered with a RequestId and an int64 OrderId, each reflected at
// once by DescribeInstanceSpecs and DescribeInstanceExt, each recorded as
// one "modified" event carrying the call's RequestId and the order; the
// edition stays 9; the lower-case spelling "upgrade" is accepted, and
// ProductType, not RegionId, selects the region (ddoscoo_intl is a
// mainland product even with RegionId ap-southeast-1).
func TestModifyInstanceUpgradeDowngradeV3(t *testing.T) {
	s := StartServer(t)
	a := createSingle(t, s, admin.InstancesRequest{})
	v3 := SDKv3(t, s, testKeyID, testKeySecret)
	cn := SDKv1(t, s, "cn-hangzhou", testKeyID, testKeySecret)

	reqID, order, err := modifyV3(t, v3, map[string]string{
		"InstanceId": a.InstanceId, "ModifyType": "UPGRADE", "ProductType": "ddoscoo",
		"BaseBandwidth": "60", "Bandwidth": "100", "ServiceBandwidth": "200", "PortCount": "60",
		"DomainCount": "75", "NormalQps": "5000", "FunctionVersion": "1",
	})
	if err != nil {
		t.Fatalf("UPGRADE: %v", err)
	}
	wantModifyOrderID(t, "UPGRADE", order)
	up := proSpec(a.InstanceId)
	up.BaseBandwidth, up.ElasticBandwidth, up.BandwidthMbps, up.PortLimit = 60, 100, 200, 60
	up.DomainLimit, up.SiteLimit, up.QpsLimit, up.FunctionVersion = 75, 7, 5000, "enhance"
	if got := specOfInstance(t, cn, a.InstanceId); got != up {
		t.Fatalf("after UPGRADE: %+v\nwant %+v", got, up)
	}
	wantModifiedEvents(t, s, a.InstanceId, 1, reqID, order)

	reqID2, order2, err := modifyV3(t, v3, map[string]string{
		"InstanceId": a.InstanceId, "ModifyType": "DOWNGRADE", "ProductType": "ddoscoo",
		"BaseBandwidth": "30", "Bandwidth": "50", "ServiceBandwidth": "150", "NormalQps": "4000", "FunctionVersion": "0",
		"PortCount": "60", "ServicePartner": "coop-line-001", "EditionSale": "coop", "AddressType": "Ipv4",
	})
	if err != nil {
		t.Fatalf("DOWNGRADE: %v", err)
	}
	wantModifyOrderID(t, "DOWNGRADE", order2)
	if order2 == order {
		t.Fatalf("DOWNGRADE reused order %d", order)
	}
	down := up
	down.BaseBandwidth, down.ElasticBandwidth, down.BandwidthMbps, down.QpsLimit, down.FunctionVersion = 30, 50, 150, 4000, "default"
	if got := specOfInstance(t, cn, a.InstanceId); got != down {
		t.Fatalf("after DOWNGRADE: %+v\nwant %+v", got, down)
	}
	wantModifiedEvents(t, s, a.InstanceId, 2, reqID2, order2)
	ext := v1Ext(t, cn, "JSON", a.InstanceId, "", "")
	if want := (ddoscoo.InstanceExtSpecsItem{InstanceId: a.InstanceId, NormalBandwidth: 150, ProductPlan: 9, ServicePartner: "coop-line-001"}); len(ext.InstanceExtSpecs) != 1 || ext.InstanceExtSpecs[0] != want {
		t.Fatalf("DescribeInstanceExt after DOWNGRADE = %+v, want [%+v]", ext.InstanceExtSpecs, want)
	}

	// The instance was bought as ddoscoo: addressed as ddoscoo_intl (the
	// international site's product) it does not exist.
	_, _, err = modifyV3(t, v3, map[string]string{
		"InstanceId": a.InstanceId, "ModifyType": "upgrade", "ProductType": "ddoscoo_intl", "FunctionVersion": "1",
	})
	teaError(t, err, 404, "InstanceNotFound")
	if _, _, err := modifyV3(t, v3, map[string]string{
		"InstanceId": a.InstanceId, "ModifyType": "upgrade", "ProductType": "ddoscoo", "FunctionVersion": "1",
		"RegionId": "ap-southeast-1",
	}); err != nil {
		t.Fatalf("upgrade (lower case, ddoscoo, RegionId ap-southeast-1): %v", err)
	}
	if got := specOfInstance(t, cn, a.InstanceId); got.FunctionVersion != "enhance" {
		t.Fatalf("FunctionVersion after the third change = %q, want enhance", got.FunctionVersion)
	}
	if in := v1Instance(t, cn, a.InstanceId); in.Edition != 9 || in.Status != 1 {
		t.Fatalf("DescribeInstances after the changes: Edition %d Status %d, want 9 and 1", in.Edition, in.Status)
	}
	if evs := eventsOfType(t, s, a.InstanceId, "modified"); len(evs) != 3 {
		t.Fatalf("%d modified events, want 3", len(evs))
	}
}

// TestModifyInstanceSDKv1 pins ModifyInstance through sdk-go v1's core in
// JSON and XML on a Premium instance (ProductType ddosDip, RegionId
// ap-southeast-1): UPGRADE and DOWNGRADE of NormalBandwidth (the clean
// bandwidth DescribeInstanceSpecs reports as BandwidthMbps) and NormalQps,
// each with a RequestId, an int64 OrderId and a "modified" event.
func TestModifyInstanceSDKv1(t *testing.T) {
	s := StartServer(t)
	p := createSingle(t, s, admin.InstancesRequest{RegionId: "ap-southeast-1"})
	ap := SDKv1(t, s, "ap-southeast-1", testKeyID, testKeySecret)

	steps := []struct {
		format, modifyType, bw, qps string
		wantBw, wantQps             int
	}{
		{"JSON", "UPGRADE", "300", "6000", 300, 6000},
		{"XML", "DOWNGRADE", "200", "", 200, 6000},
		{"XML", "UPGRADE", "", "8000", 200, 8000},
		{"JSON", "DOWNGRADE", "100", "3000", 100, 3000},
	}
	for i, st := range steps {
		q := map[string]string{"InstanceId": p.InstanceId, "ModifyType": st.modifyType, "ProductType": "ddosDip"}
		if st.bw != "" {
			q["NormalBandwidth"] = st.bw
		}
		if st.qps != "" {
			q["NormalQps"] = st.qps
		}
		reqID, order, err := modifyV1(t, ap, st.format, q)
		if err != nil {
			t.Fatalf("step %d %s %s: %v", i, st.format, st.modifyType, err)
		}
		wantModifyOrderID(t, st.modifyType, order)
		got := specOfInstance(t, ap, p.InstanceId)
		if got.BandwidthMbps != st.wantBw || got.QpsLimit != st.wantQps || got.DefenseCount != -1 || got.ElasticBandwidth != 0 {
			t.Fatalf("step %d: specs %+v, want BandwidthMbps %d QpsLimit %d DefenseCount -1", i, got, st.wantBw, st.wantQps)
		}
		wantModifiedEvents(t, s, p.InstanceId, i+1, reqID, order)
	}
}

// TestModifyInstanceRefusals pins ModifyInstance's refusals, each through
// the v3 client with its exact status and code, none of which changes the
// specification or records an event: missing InstanceId, ModifyType or
// ProductType (Missing{Param}); no item to change (400 MissingParameter);
// a bad ModifyType or ProductType, a DOWNGRADE of PortCount or
// DomainCount, an UPGRADE that lowers Bandwidth, a DOWNGRADE that raises
// one, a burst bandwidth below the base, another ServicePartner or
// EditionSale, Ipv6, an off-step value (400 InvalidParameter); an unknown
// ID, a Pro ID with ProductType ddosDip, and another account's instance
// exactly as a never-existing ID (404 InstanceNotFound); and an expired
// instance (400 InstanceExpired); an unknown RegionId (400
// InvalidRegionId).
func TestModifyInstanceRefusals(t *testing.T) {
	s := StartServer(t)
	a := createSingle(t, s, admin.InstancesRequest{})
	old := createSingle(t, s, admin.InstancesRequest{ExpireIn: "-1h"})
	const acct, key, secret = "1000000000000051", "LTAImodifyaccountb000051", "modify-account-b-secret-000051"
	s.CreateAccount(t, acct, key, secret)
	other := createSingle(t, s, admin.InstancesRequest{AccessKeyId: key})
	v3 := SDKv3(t, s, testKeyID, testKeySecret)
	cn := SDKv1(t, s, "cn-hangzhou", testKeyID, testKeySecret)

	// Raise ports and domains first, so that a downgrade has room to go.
	if _, _, err := modifyV3(t, v3, map[string]string{"InstanceId": a.InstanceId, "ModifyType": "UPGRADE", "ProductType": "ddoscoo", "PortCount": "80", "DomainCount": "80", "Bandwidth": "60"}); err != nil {
		t.Fatalf("UPGRADE: %v", err)
	}
	before := specOfInstance(t, cn, a.InstanceId)

	base := func(kv ...string) map[string]string {
		q := map[string]string{"InstanceId": a.InstanceId, "ModifyType": "UPGRADE", "ProductType": "ddoscoo"}
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] == "" {
				delete(q, kv[i])
			} else {
				q[kv[i]] = kv[i+1]
			}
		}
		return q
	}
	cases := []struct {
		label  string
		query  map[string]string
		status int
		code   string
	}{
		{"no InstanceId", base("InstanceId", "", "Bandwidth", "70"), 400, "MissingInstanceId"},
		{"no ModifyType", base("ModifyType", "", "Bandwidth", "70"), 400, "MissingModifyType"},
		{"no ProductType", base("ProductType", "", "Bandwidth", "70"), 400, "MissingProductType"},
		{"nothing to change", base(), 400, "MissingParameter"},
		{"ModifyType SIDEGRADE", base("ModifyType", "SIDEGRADE", "Bandwidth", "70"), 400, "InvalidParameter"},
		{"ProductType ecs", base("ProductType", "ecs", "Bandwidth", "70"), 400, "InvalidParameter"},
		{"DOWNGRADE PortCount", base("ModifyType", "DOWNGRADE", "PortCount", "60"), 400, "InvalidParameter"},
		{"DOWNGRADE DomainCount", base("ModifyType", "DOWNGRADE", "DomainCount", "60"), 400, "InvalidParameter"},
		{"UPGRADE lowering Bandwidth", base("Bandwidth", "50"), 400, "InvalidParameter"},
		{"UPGRADE raising one, lowering another", base("PortCount", "90", "NormalQps", "4000", "Bandwidth", "40"), 400, "InvalidParameter"},
		{"DOWNGRADE raising ServiceBandwidth", base("ModifyType", "DOWNGRADE", "ServiceBandwidth", "300"), 400, "InvalidParameter"},
		{"burst below base", base("BaseBandwidth", "100"), 400, "InvalidParameter"},
		{"ServicePartner", base("ServicePartner", "coop-line-002"), 400, "InvalidParameter"},
		{"EditionSale", base("EditionSale", "advance"), 400, "InvalidParameter"},
		{"AddressType Ipv6", base("AddressType", "Ipv6"), 400, "InvalidParameter"},
		{"off-step PortCount", base("PortCount", "83"), 400, "InvalidParameter"},
		{"non-numeric Bandwidth", base("Bandwidth", "lots"), 400, "InvalidParameter"},
		{"unknown ID", base("InstanceId", ghostID(a.InstanceId), "Bandwidth", "70"), 404, "InstanceNotFound"},
		{"Pro ID as ddosDip", base("ProductType", "ddosDip", "NormalBandwidth", "200"), 404, "InstanceNotFound"},
		{"expired", base("InstanceId", old.InstanceId, "Bandwidth", "70"), 400, "InstanceExpired"},
		{"RegionId cn-beijing", base("RegionId", "cn-beijing", "Bandwidth", "70"), 400, "InvalidRegionId"},
	}
	for _, tc := range cases {
		_, _, err := modifyV3(t, v3, tc.query)
		se := teaError(t, err, tc.status, tc.code)
		if tc.code == "InvalidParameter" && tea.StringValue(se.Message) == "" {
			t.Errorf("%s: InvalidParameter without a message", tc.label)
		}
	}
	if got := specOfInstance(t, cn, a.InstanceId); got != before {
		t.Fatalf("the refusals changed the spec: %+v, was %+v", got, before)
	}
	if evs := eventsOfType(t, s, a.InstanceId, "modified"); len(evs) != 1 {
		t.Fatalf("%d modified events after the refusals, want only the first UPGRADE's", len(evs))
	}
	if evs := eventsOfType(t, s, old.InstanceId, "modified"); len(evs) != 0 {
		t.Fatalf("the expired instance was modified: %+v", evs)
	}

	// Account B's instance, asked for by this account through sdk-go v1
	// so that sameAsGhost can compare the two ServerErrors.
	ghost := ghostID(other.InstanceId)
	q := func(id string) map[string]string {
		return map[string]string{"InstanceId": id, "ModifyType": "UPGRADE", "ProductType": "ddoscoo", "Bandwidth": "70"}
	}
	_, _, errOther := modifyV1(t, cn, "JSON", q(other.InstanceId))
	_, _, errGhost := modifyV1(t, cn, "JSON", q(ghost))
	sameAsGhost(t, "ModifyInstance of another account's instance", errOther, errGhost, other.InstanceId, ghost)
	if evs := eventsOfType(t, s, other.InstanceId, "modified"); len(evs) != 0 {
		t.Fatalf("another account modified the instance: %+v", evs)
	}
}
