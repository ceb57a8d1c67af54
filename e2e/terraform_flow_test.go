package e2e

import (
	"fmt"
	"slices"
	"testing"

	rpc "github.com/alibabacloud-go/tea-rpc/client"
)

// tfCreateRequest is resourceAliCloudDdoscooInstanceCreate's BSS
// CreateInstance body: the nine Parameter items in the provider's order,
// address_type and bandwidth_mode unset (empty values), Period as a
// number, no RegionId.
func tfCreateRequest(productType, base, bandwidth, service, ports, domains string) map[string]any {
	return map[string]any{
		"ProductCode":      "ddos",
		"SubscriptionType": "Subscription",
		"Parameter": []map[string]string{
			{"Code": "ServicePartner", "Value": "coop-line-001"},
			{"Code": "BaseBandwidth", "Value": base},
			{"Code": "Bandwidth", "Value": bandwidth},
			{"Code": "ServiceBandwidth", "Value": service},
			{"Code": "PortCount", "Value": ports},
			{"Code": "DomainCount", "Value": domains},
			{"Code": "Edition", "Value": "coop"},
			{"Code": "AddressType", "Value": ""},
			{"Code": "95BurstBandwidthMode", "Value": ""},
		},
		"ProductType": productType,
		"Period":      1,
	}
}

// tfCreate runs the provider's create: CreateInstance, the check of
// response["Code"] == "Success", Data.InstanceId as the resource ID, then
// the state poll (DescribeInstances by InstanceIds until Status is 1).
func tfCreate(t testing.TB, conn *rpc.Client, body map[string]any) string {
	t.Helper()
	res, err := tfBSSCall(conn, "CreateInstance", body)
	if err != nil {
		t.Fatalf("BSS CreateInstance: %v", err)
	}
	if code, _ := res["Code"].(string); code != "Success" {
		t.Fatalf("BSS CreateInstance answered %v, want Code Success", res)
	}
	data, ok := res["Data"].(map[string]any)
	if !ok {
		t.Fatalf("BSS CreateInstance answered %v, want a Data object", res)
	}
	id := fmt.Sprint(data["InstanceId"])
	if in := tfDescribeInstance(t, conn, id); in == nil || tfNumber(t, "Status", in["Status"]) != 1 {
		t.Fatalf("state poll right after create: %v, want the instance with Status 1 (Available)", in)
	}
	return id
}

// tfDescribeInstance is DescribeDdoscooInstance: DescribeInstances with
// InstanceIds, PageSize 50, PageNumber 1 and no RegionId; nil when the
// instance is not listed (the provider's NotFoundErr).
func tfDescribeInstance(t testing.TB, conn *rpc.Client, id string) map[string]any {
	t.Helper()
	res, err := tfCall(conn, "DescribeInstances", map[string]any{"InstanceIds": []string{id}, "PageSize": 50, "PageNumber": 1})
	if err != nil {
		t.Fatalf("DescribeInstances(%s): %v", id, err)
	}
	for _, in := range tfInstances(t, res) {
		if fmt.Sprint(in["InstanceId"]) == id {
			return in
		}
	}
	return nil
}

// tfSpecs is DescribeDdoscooInstanceSpec for several IDs: DescribeInstanceSpecs
// with InstanceIds only, the items keyed by InstanceId.
func tfSpecs(conn *rpc.Client, ids ...string) (map[string]map[string]any, error) {
	res, err := tfCall(conn, "DescribeInstanceSpecs", map[string]any{"InstanceIds": ids})
	if err != nil {
		return nil, err
	}
	list, _ := res["InstanceSpecs"].([]any)
	out := map[string]map[string]any{}
	for _, v := range list {
		item, _ := v.(map[string]any)
		out[fmt.Sprint(item["InstanceId"])] = item
	}
	return out, nil
}

// tfWantSpec checks what the provider reads into base_bandwidth,
// bandwidth, service_bandwidth, port_count and domain_count.
func tfWantSpec(t testing.TB, label string, conn *rpc.Client, id string, base, elastic, mbps, ports, domains int64) {
	t.Helper()
	specs, err := tfSpecs(conn, id)
	if err != nil {
		t.Fatalf("%s: DescribeInstanceSpecs: %v", label, err)
	}
	sp, ok := specs[id]
	if !ok || len(specs) != 1 {
		t.Fatalf("%s: DescribeInstanceSpecs = %v, want %s only", label, specs, id)
	}
	got := []int64{tfNumber(t, "BaseBandwidth", sp["BaseBandwidth"]), tfNumber(t, "ElasticBandwidth", sp["ElasticBandwidth"]),
		tfNumber(t, "BandwidthMbps", sp["BandwidthMbps"]), tfNumber(t, "PortLimit", sp["PortLimit"]), tfNumber(t, "DomainLimit", sp["DomainLimit"])}
	if want := []int64{base, elastic, mbps, ports, domains}; !slices.Equal(got, want) {
		t.Fatalf("%s: BaseBandwidth, ElasticBandwidth, BandwidthMbps, PortLimit, DomainLimit = %v, want %v", label, got, want)
	}
}

// tfUpdateSpec is DdoscooService.UpdateInstanceSpec: BSS ModifyInstance
// with one Parameter item, Upgrade or Downgrade by the direction of the
// change, RegionId ap-southeast-1 for ddoscoo_intl (cn-hangzhou
// otherwise), and the provider's success test.
func tfUpdateSpec(t testing.TB, conn *rpc.Client, id, productType, code, oldValue, newValue string) {
	t.Helper()
	region := "cn-hangzhou"
	if productType == "ddoscoo_intl" {
		region = "ap-southeast-1"
	}
	modifyType := "Upgrade"
	var o, n int
	fmt.Sscan(oldValue, &o)
	fmt.Sscan(newValue, &n)
	if n < o {
		modifyType = "Downgrade"
	}
	res, err := tfBSSCall(conn, "ModifyInstance", map[string]any{
		"InstanceId": id, "RegionId": region, "ProductCode": "ddos", "ProductType": productType,
		"SubscriptionType": "Subscription", "ModifyType": modifyType,
		"Parameter": []map[string]string{{"Code": code, "Value": newValue}},
	})
	if err != nil {
		t.Fatalf("BSS ModifyInstance %s %s %s -> %s: %v", modifyType, code, oldValue, newValue, err)
	}
	data, _ := res["Data"].(map[string]any)
	if res["Code"] != "Success" || res["Success"] != true || data == nil || !bssOrderIDRE.MatchString(fmt.Sprint(data["OrderId"])) || data["HostId"] != "" {
		t.Fatalf("BSS ModifyInstance answered %v, want Code Success, Success true, Data{OrderId, HostId \"\"}", res)
	}
}

// TestTerraformInstanceFlow replays alicloud_ddoscoo_instance end to end
// with tea-rpc v1.2.0 shaped as the provider shapes every call (form-body
// POST, signature v1): BSS CreateInstance with the nine Parameter items
// (two empty) answers Code Success and Data.InstanceId; the poll finds
// Status 1 at once; DescribeInstanceSpecs reports what was bought;
// ModifyInstanceRemark renames it; BSS ModifyInstance upgrades Bandwidth
// and PortCount and downgrades Bandwidth, one item per call, and the specs
// follow; a delete before expiry is InstanceNotExpire, which the provider
// treats as done, and the instance stays; past expiry ReleaseInstance
// (RegionId cn-hangzhou) succeeds; the read after it finds nothing
// (DescribeInstances empty, DescribeInstanceSpecs InstanceNotFound 404).
func TestTerraformInstanceFlow(t *testing.T) {
	s := StartServer(t)
	conn := TeaRPC(t, s, testKeyID, testKeySecret)

	id := tfCreate(t, conn, tfCreateRequest("ddoscoo", "30", "60", "200", "55", "60"))
	in := tfDescribeInstance(t, conn, id)
	if in["IpVersion"] != "Ipv4" || tfNumber(t, "Edition", in["Edition"]) != 9 || in["Ip"] == "" || tfNumber(t, "Enabled", in["Enabled"]) != 1 {
		t.Fatalf("read after create: %v, want IpVersion Ipv4 (address_type), Edition 9 (edition_sale coop), an Ip, Enabled 1", in)
	}
	tfWantSpec(t, "after create", conn, id, 30, 60, 200, 55, 60)

	if _, err := tfCall(conn, "ModifyInstanceRemark", map[string]any{"RegionId": "cn-hangzhou", "InstanceId": id, "Remark": "tf-ddoscoo"}); err != nil {
		t.Fatalf("ModifyInstanceRemark: %v", err)
	}
	if in := tfDescribeInstance(t, conn, id); in["Remark"] != "tf-ddoscoo" {
		t.Fatalf("name after rename: %v, want Remark tf-ddoscoo", in)
	}

	tfUpdateSpec(t, conn, id, "ddoscoo", "Bandwidth", "60", "100")
	tfUpdateSpec(t, conn, id, "ddoscoo", "PortCount", "55", "80")
	tfWantSpec(t, "after two upgrades", conn, id, 30, 100, 200, 80, 60)
	tfUpdateSpec(t, conn, id, "ddoscoo", "Bandwidth", "100", "50")
	tfWantSpec(t, "after a downgrade", conn, id, 30, 50, 200, 80, 60)
	if in := tfDescribeInstance(t, conn, id); tfNumber(t, "Status", in["Status"]) != 1 {
		t.Fatalf("wait for Available after update: %v", in)
	}

	raw, result := tfDelete(conn, "cn-hangzhou", id)
	teaError(t, raw, 400, "InstanceNotExpire")
	if result != nil {
		t.Fatalf("delete before expiry: the provider's result %v, want nil (wait for auto release)", result)
	}
	if tfDescribeInstance(t, conn, id) == nil {
		t.Fatalf("delete before expiry removed %s", id)
	}

	s.Advance(t, "800h") // past the one-month term
	if in := tfDescribeInstance(t, conn, id); tfNumber(t, "Status", in["Status"]) != 2 {
		t.Fatalf("after the term: %v, want Status 2", in)
	}
	if raw, result := tfDelete(conn, "cn-hangzhou", id); raw != nil || result != nil {
		t.Fatalf("ReleaseInstance past expiry: %v", raw)
	}
	if evs := eventsOfType(t, s, id, "released"); len(evs) != 1 || evs[0].Reason != "ReleaseInstance" {
		t.Fatalf("released events %+v, want one by ReleaseInstance", evs)
	}
	if in := tfDescribeInstance(t, conn, id); in != nil {
		t.Fatalf("read after delete: %v, want no instance", in)
	}
	_, err := tfSpecs(conn, id)
	teaError(t, err, 404, "InstanceNotFound")
	if !tfIsExpectedErrors(err, "InstanceNotFound") {
		t.Fatalf("DescribeInstanceSpecs after delete: %v is not the provider's InstanceNotFound", err)
	}
	if raw, result := tfDelete(conn, "cn-hangzhou", id); result != nil || !tfIsExpectedErrors(raw, "InstanceNotFound") {
		t.Fatalf("a second delete: %v, want InstanceNotFound, treated as done", raw)
	}
}

// TestTerraformInstancesDataSource replays alicloud_ddoscoo_instances' read
// for two IDs: DescribeInstances with RegionId, PageSize 10, PageNumber 1
// and InstanceIds.1/.2 in the form body lists exactly those two (not a
// third instance), with their remarks, and DescribeInstanceSpecs for both
// IDs returns both specifications.
func TestTerraformInstancesDataSource(t *testing.T) {
	s := StartServer(t)
	conn := TeaRPC(t, s, testKeyID, testKeySecret)
	a := tfCreate(t, conn, tfCreateRequest("ddoscoo", "30", "30", "100", "50", "50"))
	b := tfCreate(t, conn, tfCreateRequest("ddoscoo", "60", "80", "300", "65", "70"))
	tfCreate(t, conn, tfCreateRequest("ddoscoo", "30", "30", "100", "50", "50"))
	for id, name := range map[string]string{a: "ds-a", b: "ds-b"} {
		if _, err := tfCall(conn, "ModifyInstanceRemark", map[string]any{"RegionId": "cn-hangzhou", "InstanceId": id, "Remark": name}); err != nil {
			t.Fatalf("ModifyInstanceRemark: %v", err)
		}
	}

	res, err := tfCall(conn, "DescribeInstances", map[string]any{
		"RegionId": "cn-hangzhou", "PageSize": 10, "PageNumber": 1, "InstanceIds": []any{a, b},
	})
	if err != nil {
		t.Fatalf("DescribeInstances by ids: %v", err)
	}
	var ids, names []string
	for _, in := range tfInstances(t, res) {
		ids = append(ids, fmt.Sprint(in["InstanceId"]))
		names = append(names, fmt.Sprint(in["Remark"]))
	}
	if !slices.Equal(ids, []string{a, b}) || !slices.Equal(names, []string{"ds-a", "ds-b"}) || tfNumber(t, "TotalCount", res["TotalCount"]) != 2 {
		t.Fatalf("data source read: ids %v names %v (%v), want [%s %s] [ds-a ds-b]", ids, names, res, a, b)
	}
	specs, err := tfSpecs(conn, a, b)
	if err != nil {
		t.Fatalf("DescribeInstanceSpecs for both: %v", err)
	}
	if len(specs) != 2 || tfNumber(t, "PortLimit", specs[a]["PortLimit"]) != 50 || tfNumber(t, "ElasticBandwidth", specs[b]["ElasticBandwidth"]) != 80 ||
		tfNumber(t, "BandwidthMbps", specs[b]["BandwidthMbps"]) != 300 || tfNumber(t, "DomainLimit", specs[b]["DomainLimit"]) != 70 {
		t.Fatalf("specs %v, want %s's PortLimit 50 and %s's ElasticBandwidth 80, BandwidthMbps 300, DomainLimit 70", specs, a, b)
	}
}

// TestTerraformIntlProduct pins the provider's ddoscoo_intl path: the
// instance is bought in cn-hangzhou (a mainland product sold on the
// international site), and UpdateInstanceSpec's RegionId ap-southeast-1
// does not move the call to another region: the upgrade lands on the
// cn-hangzhou instance.
func TestTerraformIntlProduct(t *testing.T) {
	s := StartServer(t)
	conn := TeaRPC(t, s, testKeyID, testKeySecret)
	id := tfCreate(t, conn, tfCreateRequest("ddoscoo_intl", "30", "30", "100", "50", "50"))
	tfUpdateSpec(t, conn, id, "ddoscoo_intl", "DomainCount", "50", "75")
	tfWantSpec(t, "ddoscoo_intl after an upgrade", conn, id, 30, 30, 100, 50, 75)
}
