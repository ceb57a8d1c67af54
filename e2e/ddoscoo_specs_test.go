package e2e

import (
	"reflect"
	"strconv"
	"strings"
	"testing"

	ddoscoov3 "github.com/alibabacloud-go/ddoscoo-20200101/v2/client"
	"github.com/alibabacloud-go/tea/tea"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/bssopenapi"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ddoscoo"

	"moat/internal/admin"
)

// proSpec is DescribeInstanceSpecs of an admin-created Pro instance (the
// smallest specification: 30/30 Gbps, 100 Mbps clean, 50 ports, 50
// domains, 3,000 QPS, standard functions), as sdk-go v1 decodes it.
func proSpec(id string) ddoscoo.InstanceSpec {
	return ddoscoo.InstanceSpec{
		InstanceId: id, FunctionVersion: "default",
		BaseBandwidth: 30, ElasticBandwidth: 30, BandwidthMbps: 100,
		QpsLimit: 3000, PortLimit: 50, DomainLimit: 50, SiteLimit: 5,
		CpsLimit: 5000, ConnLimit: 100000,
	}
}

// v1Specs calls DescribeInstanceSpecs through sdk-go v1 in format ("JSON"
// or "XML") and checks the body is in that format.
func v1Specs(t testing.TB, c *ddoscoo.Client, format string, ids ...string) *ddoscoo.DescribeInstanceSpecsResponse {
	t.Helper()
	req := ddoscoo.CreateDescribeInstanceSpecsRequest()
	req.InstanceIds, req.AcceptFormat = &ids, format
	resp, err := c.DescribeInstanceSpecs(req)
	if err != nil {
		t.Fatalf("DescribeInstanceSpecs (%s): %v", format, err)
	}
	wantBodyFormat(t, "DescribeInstanceSpecs", format, resp.GetHttpContentString())
	wantRequestID(t, "DescribeInstanceSpecs", resp.RequestId)
	return resp
}

// wantBodyFormat checks that body is a JSON object or an XML document rooted
// at <{action}Response>.
func wantBodyFormat(t testing.TB, action, format, body string) {
	t.Helper()
	if format == "XML" {
		if !strings.HasPrefix(body, "<?xml") || !strings.Contains(body, "<"+action+"Response>") {
			t.Fatalf("%s (XML) answered %.300q, want an XML document rooted at <%sResponse>", action, body, action)
		}
		return
	}
	if !strings.HasPrefix(body, "{") {
		t.Fatalf("%s (JSON) answered %.300q, want a JSON object", action, body)
	}
}

// TestInstanceSpecsProAndPremium pins DescribeInstanceSpecs through sdk-go
// v1 in JSON and XML: every field of a Pro instance in cn-hangzhou (in the
// order asked), of a Premium instance in ap-southeast-1 (no protection
// bandwidth, 100 Mbps clean), and DefenseCount present as -1 only in
// ap-southeast-1, absent from the mainland body in both formats; the
// generated v3 client decodes the same values, addressing ap-southeast-1
// by endpoint host.
func TestInstanceSpecsProAndPremium(t *testing.T) {
	s := StartServer(t)
	a := createSingle(t, s, admin.InstancesRequest{ExpireIn: "720h"})
	b := createSingle(t, s, admin.InstancesRequest{ExpireIn: "-24h"})
	p := createSingle(t, s, admin.InstancesRequest{RegionId: "ap-southeast-1", Edition: editionPtr(1)})
	cn := SDKv1(t, s, "cn-hangzhou", testKeyID, testKeySecret)
	ap := SDKv1(t, s, "ap-southeast-1", testKeyID, testKeySecret)

	wantPro := []ddoscoo.InstanceSpec{proSpec(b.InstanceId), proSpec(a.InstanceId)}
	premium := ddoscoo.InstanceSpec{
		InstanceId: p.InstanceId, FunctionVersion: "default", BandwidthMbps: 100,
		QpsLimit: 3000, PortLimit: 50, DomainLimit: 50, SiteLimit: 5, DefenseCount: -1,
		CpsLimit: 5000, ConnLimit: 100000,
	}
	for _, format := range []string{"JSON", "XML"} {
		got := v1Specs(t, cn, format, b.InstanceId, a.InstanceId)
		if !reflect.DeepEqual(got.InstanceSpecs, wantPro) {
			t.Errorf("%s: Pro InstanceSpecs = %+v\nwant %+v", format, got.InstanceSpecs, wantPro)
		}
		if body := got.GetHttpContentString(); strings.Contains(body, "DefenseCount") {
			t.Errorf("%s: the mainland answer carries DefenseCount: %s", format, body)
		}
		gp := v1Specs(t, ap, format, p.InstanceId)
		if len(gp.InstanceSpecs) != 1 || gp.InstanceSpecs[0] != premium {
			t.Errorf("%s: Premium InstanceSpecs = %+v\nwant [%+v]", format, gp.InstanceSpecs, premium)
		}
	}
	raw := v1Specs(t, ap, "JSON", p.InstanceId).GetHttpContentString()
	if !strings.Contains(raw, `"DefenseCount":-1`) || !strings.Contains(raw, `"InstanceSpecs":[{`) {
		t.Errorf("ap-southeast-1 JSON = %s, want a plain InstanceSpecs array with \"DefenseCount\":-1", raw)
	}

	// The generated v3 client (int32 pointers; no RegionId, so the region
	// is the endpoint host's, else cn-hangzhou).
	for _, tc := range []struct {
		c                        *ddoscoov3.Client
		id                       string
		base, elastic, mbps, def *int32
	}{
		{SDKv3(t, s, testKeyID, testKeySecret), a.InstanceId, tea.Int32(30), tea.Int32(30), tea.Int32(100), nil},
		{SDKv3At(t, s, "ddoscoo.ap-southeast-1.aliyuncs.com", testKeyID, testKeySecret), p.InstanceId, tea.Int32(0), tea.Int32(0), tea.Int32(100), tea.Int32(-1)},
	} {
		resp, err := tc.c.DescribeInstanceSpecs(&ddoscoov3.DescribeInstanceSpecsRequest{InstanceIds: []*string{tea.String(tc.id)}})
		if err != nil {
			t.Fatalf("v3 DescribeInstanceSpecs(%s): %v", tc.id, err)
		}
		if l := resp.Body.InstanceSpecs; len(l) != 1 || tea.StringValue(l[0].InstanceId) != tc.id ||
			!reflect.DeepEqual([]*int32{l[0].BaseBandwidth, l[0].ElasticBandwidth, l[0].BandwidthMbps, l[0].DefenseCount, l[0].PortLimit, l[0].DomainLimit, l[0].SiteLimit, l[0].QpsLimit},
				[]*int32{tc.base, tc.elastic, tc.mbps, tc.def, tea.Int32(50), tea.Int32(50), tea.Int32(5), tea.Int32(3000)}) {
			t.Errorf("v3 DescribeInstanceSpecs(%s) = %v", tc.id, l)
		}
	}
}

// TestInstanceSpecsBurstModel pins ElasticBwModel, the 95th-percentile
// burst mode a purchase sets (95BurstBandwidthMode through BSS
// CreateInstance with sdk-go v1): "" for mode 0, "day" for 1, "month" for
// 2, in JSON and XML, next to the purchased bandwidths and limits.
func TestInstanceSpecsBurstModel(t *testing.T) {
	s := StartServer(t)
	bss, err := bssopenapi.NewClientWithAccessKey("cn-hangzhou", testKeyID, testKeySecret)
	if err != nil {
		t.Fatalf("bssopenapi client: %v", err)
	}
	bss.EndpointMap = map[string]string{"cn-hangzhou": s.Host()}
	cn := SDKv1(t, s, "cn-hangzhou", testKeyID, testKeySecret)
	for mode, want := range []string{"", "day", "month"} {
		req := bssopenapi.CreateCreateInstanceRequest()
		req.ProductCode, req.ProductType, req.SubscriptionType, req.Period = "ddos", "ddoscoo", "Subscription", "1"
		req.Parameter = &[]bssopenapi.CreateInstanceParameter{
			{Code: "95BurstBandwidthMode", Value: strconv.Itoa(mode)}, {Code: "BaseBandwidth", Value: "60"},
			{Code: "Bandwidth", Value: "100"}, {Code: "ServiceBandwidth", Value: "300"},
			{Code: "PortCount", Value: "55"}, {Code: "DomainCount", Value: "105"}, {Code: "FunctionVersion", Value: "1"},
		}
		resp, err := bss.CreateInstance(req)
		if err != nil {
			t.Fatalf("CreateInstance (mode %d): %v", mode, err)
		}
		spec := proSpec(resp.Data.InstanceId)
		spec.ElasticBwModel, spec.BaseBandwidth, spec.ElasticBandwidth, spec.BandwidthMbps = want, 60, 100, 300
		spec.PortLimit, spec.DomainLimit, spec.SiteLimit, spec.FunctionVersion = 55, 105, 10, "enhance"
		for _, format := range []string{"JSON", "XML"} {
			got := v1Specs(t, cn, format, resp.Data.InstanceId)
			if len(got.InstanceSpecs) != 1 || got.InstanceSpecs[0] != spec {
				t.Errorf("mode %d %s: %+v\nwant [%+v]", mode, format, got.InstanceSpecs, spec)
			}
		}
	}
}

// v1Details calls DescribeInstanceDetails through sdk-go v1 in format.
func v1Details(t testing.TB, c *ddoscoo.Client, format string, ids ...string) *ddoscoo.DescribeInstanceDetailsResponse {
	t.Helper()
	req := ddoscoo.CreateDescribeInstanceDetailsRequest()
	req.InstanceIds, req.AcceptFormat = &ids, format
	resp, err := c.DescribeInstanceDetails(req)
	if err != nil {
		t.Fatalf("DescribeInstanceDetails (%s): %v", format, err)
	}
	wantBodyFormat(t, "DescribeInstanceDetails", format, resp.GetHttpContentString())
	wantRequestID(t, "DescribeInstanceDetails", resp.RequestId)
	return resp
}

func detailOf(in admin.Instance, status string) ddoscoo.InstanceDetail {
	return ddoscoo.InstanceDetail{
		InstanceId: in.InstanceId, Line: "coop-line-001", FunctionVersion: "default",
		EipList:  []string{in.Ip},
		EipInfos: []ddoscoo.EipInfo{{Eip: in.Ip, Status: status, IpMode: "fnat", IpVersion: "Ipv4"}},
	}
}

// TestInstanceDetailsEipStatus pins DescribeInstanceDetails through sdk-go
// v1 in JSON and XML: the line (ServicePartner), the service IP in EipList
// and EipInfos with IpMode fnat / IpVersion Ipv4, Status "normal" before
// expiry and "expired" after it (also once the admin clock passes a live
// instance's expiry), the newer EipInfos fields (FunctionVersion,
// CertConfigured false, Ssl13Enabled false, TlsVersion "") in the JSON
// body, and a Premium instance in ap-southeast-1.
func TestInstanceDetailsEipStatus(t *testing.T) {
	s := StartServer(t)
	a := createSingle(t, s, admin.InstancesRequest{ExpireIn: "48h"})
	b := createSingle(t, s, admin.InstancesRequest{ExpireIn: "-1h"})
	p := createSingle(t, s, admin.InstancesRequest{RegionId: "ap-southeast-1", ExpireIn: "720h"})
	cn := SDKv1(t, s, "cn-hangzhou", testKeyID, testKeySecret)
	ap := SDKv1(t, s, "ap-southeast-1", testKeyID, testKeySecret)

	check := func(label string, c *ddoscoo.Client, want []ddoscoo.InstanceDetail, ids ...string) {
		t.Helper()
		for _, format := range []string{"JSON", "XML"} {
			got := v1Details(t, c, format, ids...)
			if !reflect.DeepEqual(got.InstanceDetails, want) {
				t.Errorf("%s (%s): InstanceDetails = %+v\nwant %+v", label, format, got.InstanceDetails, want)
			}
		}
	}
	check("before", cn, []ddoscoo.InstanceDetail{detailOf(a, "normal"), detailOf(b, "expired")}, a.InstanceId, b.InstanceId)
	check("premium", ap, []ddoscoo.InstanceDetail{detailOf(p, "normal")}, p.InstanceId)

	raw := v1Details(t, cn, "JSON", a.InstanceId).GetHttpContentString()
	want := `"EipInfos":[{"Eip":"` + a.Ip + `","Status":"normal","IpMode":"fnat","IpVersion":"Ipv4","FunctionVersion":"default","CertConfigured":false,"Ssl13Enabled":false,"TlsVersion":""}]`
	if !strings.Contains(raw, want) {
		t.Errorf("JSON body = %s\nwant it to contain %s", raw, want)
	}

	s.Advance(t, "48h")
	check("after the clock passed a's expiry", cn, []ddoscoo.InstanceDetail{detailOf(b, "expired"), detailOf(a, "expired")}, b.InstanceId, a.InstanceId)
}

// v1Statistics calls DescribeInstanceStatistics through sdk-go v1.
func v1Statistics(t testing.TB, c *ddoscoo.Client, format string, ids ...string) *ddoscoo.DescribeInstanceStatisticsResponse {
	t.Helper()
	req := ddoscoo.CreateDescribeInstanceStatisticsRequest()
	req.InstanceIds, req.AcceptFormat = &ids, format
	resp, err := c.DescribeInstanceStatistics(req)
	if err != nil {
		t.Fatalf("DescribeInstanceStatistics (%s): %v", format, err)
	}
	wantBodyFormat(t, "DescribeInstanceStatistics", format, resp.GetHttpContentString())
	wantRequestID(t, "DescribeInstanceStatistics", resp.RequestId)
	return resp
}

// TestInstanceStatisticsUsage pins DescribeInstanceStatistics through
// sdk-go v1 in JSON and XML: one item per asked ID in order, every usage 0
// (there are no forwarding rules yet), and DefenseCountUsage present (0)
// for Premium in ap-southeast-1 only.
func TestInstanceStatisticsUsage(t *testing.T) {
	s := StartServer(t)
	a := createSingle(t, s, admin.InstancesRequest{})
	b := createSingle(t, s, admin.InstancesRequest{ExpireIn: "-240h"})
	p := createSingle(t, s, admin.InstancesRequest{RegionId: "ap-southeast-1"})
	cn := SDKv1(t, s, "cn-hangzhou", testKeyID, testKeySecret)
	ap := SDKv1(t, s, "ap-southeast-1", testKeyID, testKeySecret)

	for _, format := range []string{"JSON", "XML"} {
		got := v1Statistics(t, cn, format, a.InstanceId, b.InstanceId)
		want := []ddoscoo.InstanceStatistic{{InstanceId: a.InstanceId}, {InstanceId: b.InstanceId}}
		if !reflect.DeepEqual(got.InstanceStatistics, want) {
			t.Errorf("%s: InstanceStatistics = %+v, want %+v", format, got.InstanceStatistics, want)
		}
		if body := got.GetHttpContentString(); strings.Contains(body, "DefenseCountUsage") {
			t.Errorf("%s: the mainland answer carries DefenseCountUsage: %s", format, body)
		}
		gp := v1Statistics(t, ap, format, p.InstanceId)
		if len(gp.InstanceStatistics) != 1 || gp.InstanceStatistics[0] != (ddoscoo.InstanceStatistic{InstanceId: p.InstanceId}) {
			t.Errorf("%s: Premium InstanceStatistics = %+v", format, gp.InstanceStatistics)
		}
		if body := gp.GetHttpContentString(); !strings.Contains(body, "DefenseCountUsage") {
			t.Errorf("%s: the Premium answer lacks DefenseCountUsage: %s", format, body)
		}
	}
	raw := v1Statistics(t, ap, "JSON", p.InstanceId).GetHttpContentString()
	if want := `{"InstanceId":"` + p.InstanceId + `","PortUsage":0,"DomainUsage":0,"SiteUsage":0,"DefenseCountUsage":0}`; !strings.Contains(raw, want) {
		t.Errorf("Premium JSON = %s, want it to contain %s", raw, want)
	}
}

// v1Ext calls DescribeInstanceExt through sdk-go v1.
func v1Ext(t testing.TB, c *ddoscoo.Client, format, id, pageNumber, pageSize string) *ddoscoo.DescribeInstanceExtResponse {
	t.Helper()
	req := ddoscoo.CreateDescribeInstanceExtRequest()
	req.InstanceId, req.PageNumber, req.PageSize, req.AcceptFormat = id, pageNumber, pageSize, format
	resp, err := c.DescribeInstanceExt(req)
	if err != nil {
		t.Fatalf("DescribeInstanceExt (%s, %q, %s/%s): %v", format, id, pageNumber, pageSize, err)
	}
	wantBodyFormat(t, "DescribeInstanceExt", format, resp.GetHttpContentString())
	return resp
}

// TestInstanceExtPaging pins DescribeInstanceExt through sdk-go v1 in JSON
// and XML: TotalCount and the items of each page in creation order (10 by
// default), InstanceId narrowing to one instance (an unknown one to none),
// and the values: FunctionVersion 0, NormalBandwidth the clean bandwidth
// (100 Mbps), ProductPlan the edition (9 for Pro, the plan for Premium),
// ServicePartner coop-line-001.
func TestInstanceExtPaging(t *testing.T) {
	s := StartServer(t)
	list := s.CreateInstances(t, admin.InstancesRequest{Count: 12})
	p := createSingle(t, s, admin.InstancesRequest{RegionId: "ap-southeast-1", Edition: editionPtr(2)})
	cn := SDKv1(t, s, "cn-hangzhou", testKeyID, testKeySecret)
	ap := SDKv1(t, s, "ap-southeast-1", testKeyID, testKeySecret)

	ext := func(in admin.Instance, plan int64) ddoscoo.InstanceExtSpecsItem {
		return ddoscoo.InstanceExtSpecsItem{InstanceId: in.InstanceId, NormalBandwidth: 100, ProductPlan: plan, ServicePartner: "coop-line-001"}
	}
	exts := func(from, to int) []ddoscoo.InstanceExtSpecsItem {
		out := []ddoscoo.InstanceExtSpecsItem{}
		for _, in := range list[from:to] {
			out = append(out, ext(in, 9))
		}
		return out
	}
	cases := []struct {
		label, id, number, size string
		total                   int64
		want                    []ddoscoo.InstanceExtSpecsItem
	}{
		{"defaults", "", "", "", 12, exts(0, 10)},
		{"page 2 of 10", "", "2", "10", 12, exts(10, 12)},
		{"page 3 of 5", "", "3", "5", 12, exts(10, 12)},
		{"page 4 of 5", "", "4", "5", 12, exts(0, 0)},
		{"InstanceId", list[7].InstanceId, "", "", 1, exts(7, 8)},
		{"unknown InstanceId", ghostID(list[7].InstanceId), "", "", 0, exts(0, 0)},
	}
	for _, format := range []string{"JSON", "XML"} {
		for _, tc := range cases {
			got := v1Ext(t, cn, format, tc.id, tc.number, tc.size)
			if got.TotalCount != tc.total || !reflect.DeepEqual(got.InstanceExtSpecs, tc.want) && len(got.InstanceExtSpecs)+len(tc.want) != 0 {
				t.Errorf("%s %s: TotalCount %d %+v\nwant %d %+v", format, tc.label, got.TotalCount, got.InstanceExtSpecs, tc.total, tc.want)
			}
		}
		gp := v1Ext(t, ap, format, "", "", "")
		if want := []ddoscoo.InstanceExtSpecsItem{ext(p, 2)}; gp.TotalCount != 1 || !reflect.DeepEqual(gp.InstanceExtSpecs, want) {
			t.Errorf("%s Premium: TotalCount %d %+v, want 1 %+v", format, gp.TotalCount, gp.InstanceExtSpecs, want)
		}
	}
	if raw := v1Ext(t, cn, "JSON", "", "4", "5").GetHttpContentString(); !strings.Contains(raw, `"TotalCount":12,"InstanceExtSpecs":[]`) {
		t.Errorf("an empty page = %s, want TotalCount 12 and an empty InstanceExtSpecs array", raw)
	}
}

// TestInstanceReadsValidation pins the errors of DescribeInstanceSpecs,
// DescribeInstanceDetails, DescribeInstanceStatistics and
// DescribeInstanceExt through sdk-go v1: no InstanceIds is 400
// MissingInstanceIds; an unknown ID, a Premium ID asked in cn-hangzhou,
// and one unknown among known ones are 404 InstanceNotFound; another
// account's instance gets exactly what a never-existing ID gets; more than
// 200 IDs, and DescribeInstanceExt's PageNumber 0, PageSize 0 or 51 and a
// non-numeric PageSize, are 400 InvalidParameter.
func TestInstanceReadsValidation(t *testing.T) {
	s := StartServer(t)
	a := createSingle(t, s, admin.InstancesRequest{})
	p := createSingle(t, s, admin.InstancesRequest{RegionId: "ap-southeast-1"})
	const acct, key, secret = "1000000000000031", "LTAIspecsaccountb0000031", "specs-account-b-secret-000031"
	s.CreateAccount(t, acct, key, secret)
	other := createSingle(t, s, admin.InstancesRequest{AccessKeyId: key})
	cn := SDKv1(t, s, "cn-hangzhou", testKeyID, testKeySecret)

	calls := map[string]func(ids []string) error{
		"DescribeInstanceSpecs": func(ids []string) error {
			r := ddoscoo.CreateDescribeInstanceSpecsRequest()
			if ids != nil {
				r.InstanceIds = &ids
			}
			_, err := cn.DescribeInstanceSpecs(r)
			return err
		},
		"DescribeInstanceDetails": func(ids []string) error {
			r := ddoscoo.CreateDescribeInstanceDetailsRequest()
			if ids != nil {
				r.InstanceIds = &ids
			}
			_, err := cn.DescribeInstanceDetails(r)
			return err
		},
		"DescribeInstanceStatistics": func(ids []string) error {
			r := ddoscoo.CreateDescribeInstanceStatisticsRequest()
			if ids != nil {
				r.InstanceIds = &ids
			}
			_, err := cn.DescribeInstanceStatistics(r)
			return err
		},
	}
	many := make([]string, 201)
	for i := range many {
		many[i] = a.InstanceId
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			v1Error(t, call(nil), 400, "MissingInstanceIds")
			v1Error(t, call([]string{ghostID(a.InstanceId)}), 404, "InstanceNotFound")
			v1Error(t, call([]string{p.InstanceId}), 404, "InstanceNotFound")
			v1Error(t, call([]string{a.InstanceId, ghostID(a.InstanceId)}), 404, "InstanceNotFound")
			v1Error(t, call(many), 400, "InvalidParameter")
			ghost := ghostID(other.InstanceId)
			sameAsGhost(t, name+" of another account's instance", call([]string{other.InstanceId}), call([]string{ghost}), other.InstanceId, ghost)
		})
	}

	for _, tc := range []struct{ number, size string }{{"0", ""}, {"", "0"}, {"", "51"}, {"", "ten"}, {"-1", ""}} {
		r := ddoscoo.CreateDescribeInstanceExtRequest()
		r.PageNumber, r.PageSize = tc.number, tc.size
		_, err := cn.DescribeInstanceExt(r)
		v1Error(t, err, 400, "InvalidParameter")
	}
}
