package e2e

import (
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/bssopenapi"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ddoscoo"
)

// bssParams builds sdk-go's Parameter list from code/value pairs.
func bssParams(kv ...string) *[]bssopenapi.CreateInstanceParameter {
	var out []bssopenapi.CreateInstanceParameter
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, bssopenapi.CreateInstanceParameter{Code: kv[i], Value: kv[i+1]})
	}
	return &out
}

// bssModify is sdk-go v1 ModifyInstance of a ddoscoo instance.
func bssModify(c *bssopenapi.Client, id, modifyType, format string, kv ...string) (*bssopenapi.ModifyInstanceResponse, error) {
	req := bssopenapi.CreateModifyInstanceRequest()
	req.ProductCode, req.ProductType, req.SubscriptionType = "ddos", "ddoscoo", "Subscription"
	req.InstanceId, req.ModifyType = id, modifyType
	var ps []bssopenapi.ModifyInstanceParameter
	for i := 0; i+1 < len(kv); i += 2 {
		ps = append(ps, bssopenapi.ModifyInstanceParameter{Code: kv[i], Value: kv[i+1]})
	}
	req.Parameter = &ps
	if format != "" {
		req.AcceptFormat = format
	}
	return c.ModifyInstance(req)
}

// bssSpec reads one instance's specification with sdk-go v1
// DescribeInstanceSpecs in region.
func bssSpec(t testing.TB, dd *ddoscoo.Client, id string) ddoscoo.InstanceSpec {
	t.Helper()
	req := ddoscoo.CreateDescribeInstanceSpecsRequest()
	req.InstanceIds = &[]string{id}
	resp, err := dd.DescribeInstanceSpecs(req)
	if err != nil {
		t.Fatalf("DescribeInstanceSpecs(%s): %v", id, err)
	}
	if len(resp.InstanceSpecs) != 1 || resp.InstanceSpecs[0].InstanceId != id {
		t.Fatalf("DescribeInstanceSpecs(%s) = %+v, want that one instance", id, resp.InstanceSpecs)
	}
	return resp.InstanceSpecs[0]
}

// bssWantSpec checks the five items Terraform reads back.
func bssWantSpec(t testing.TB, label string, got ddoscoo.InstanceSpec, base, elastic, mbps, ports, domains int) {
	t.Helper()
	if got.BaseBandwidth != base || got.ElasticBandwidth != elastic || got.BandwidthMbps != mbps || got.PortLimit != ports || got.DomainLimit != domains {
		t.Fatalf("%s: spec BaseBandwidth %d ElasticBandwidth %d BandwidthMbps %d PortLimit %d DomainLimit %d, want %d %d %d %d %d",
			label, got.BaseBandwidth, got.ElasticBandwidth, got.BandwidthMbps, got.PortLimit, got.DomainLimit, base, elastic, mbps, ports, domains)
	}
}

// bssWantXML checks that body is an XML document rooted at <{action}Response>.
func bssWantXML(t testing.TB, action, body string) {
	t.Helper()
	if !strings.HasPrefix(body, "<?xml") || !strings.Contains(body, "<"+action+"Response>") || !strings.HasSuffix(body, "</"+action+"Response>") {
		t.Fatalf("%s with Format=XML answered %.300q, want an XML document rooted at <%sResponse>", action, body, action)
	}
}

// bssWantBody checks a raw JSON body against a pattern of the whole body.
func bssWantBody(t testing.TB, action, body, pattern string) {
	t.Helper()
	if !regexp.MustCompile(`^` + pattern + `$`).MatchString(body) {
		t.Fatalf("%s answered\n%s\nwant the shape\n%s", action, body, pattern)
	}
}

const (
	bssRequestIDPattern = `"RequestId":"[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}"`
	bssOrderIDPattern   = `"OrderId":"[1-9][0-9]{14}"`
	bssEnvelopeHead     = `\{"Code":"Success","Message":"Successful!",` + bssRequestIDPattern + `,"Success":true`
)

// TestBSSCreateInstanceSDKv1 pins CreateInstance through sdk-go v1 in JSON
// and XML: the exact documented body (Code, Message, RequestId, Success,
// Data{InstanceId, OrderId}, in that order); the instance exists at once
// with Status 1, Edition 9, ExpireTime = CreateTime + Period months, the
// bought specification and renewal settings; ProductType ddosDip puts the
// instance in ap-southeast-1 (ddosDip-sg-…, Edition from ProductPlan)
// although sdk-go sent RegionId cn-hangzhou; XML decodes to the same
// fields under <CreateInstanceResponse>.
func TestBSSCreateInstanceSDKv1(t *testing.T) {
	s := StartServer(t)
	c := BSSv1(t, s, testKeyID, testKeySecret)
	dd := SDKv1(t, s, "cn-hangzhou", testKeyID, testKeySecret)
	sg := SDKv1(t, s, "ap-southeast-1", testKeyID, testKeySecret)

	resp := bssBuy(t, c, 2, func(r *bssopenapi.CreateInstanceRequest) {
		r.RenewalStatus, r.RenewPeriod, r.ClientToken = "AutoRenewal", requests.NewInteger(3), "create-json"
		r.Parameter = bssParams("ServicePartner", "coop-line-001", "BaseBandwidth", "60", "Bandwidth", "100",
			"ServiceBandwidth", "150", "PortCount", "70", "DomainCount", "55", "Edition", "coop", "AddressType", "Ipv4")
	})
	bssWantBody(t, "CreateInstance", resp.GetHttpContentString(),
		bssEnvelopeHead+`,"Data":\{"InstanceId":"ddoscoo-cn-[a-z0-9]{12}",`+bssOrderIDPattern+`\}\}`)
	if resp.Message != "Successful!" {
		t.Fatalf("Message %q", resp.Message)
	}
	wantRequestID(t, "CreateInstance", resp.RequestId)
	id := resp.Data.InstanceId
	in := v1Instance(t, dd, id)
	if in.Status != 1 || in.Enabled != 1 || in.Edition != 9 || in.ExpireTime != bssAddMonths(in.CreateTime, 2) || in.Ip == "" {
		t.Fatalf("bought instance %+v, want Status 1 Enabled 1 Edition 9 ExpireTime = CreateTime + 2 months and an Ip", in)
	}
	bssWantSpec(t, "bought", bssSpec(t, dd, id), 60, 100, 150, 70, 55)
	q := bssopenapi.CreateQueryAvailableInstancesRequest()
	q.InstanceIDs = id
	qa, err := c.QueryAvailableInstances(q)
	if err != nil {
		t.Fatalf("QueryAvailableInstances: %v", err)
	}
	if l := qa.Data.InstanceList; len(l) != 1 || l[0].RenewStatus != "AutoRenewal" || l[0].RenewalDuration != 3 {
		t.Fatalf("renewal settings %+v, want AutoRenewal for 3 months", l)
	}

	x := bssBuyRequest(1, func(r *bssopenapi.CreateInstanceRequest) { r.AcceptFormat = "XML" })
	xr, err := c.CreateInstance(x)
	if err != nil {
		t.Fatalf("CreateInstance (XML): %v", err)
	}
	bssWantXML(t, "CreateInstance", xr.GetHttpContentString())
	if xr.Code != "Success" || xr.Message != "Successful!" || !xr.Success || !strings.HasPrefix(xr.Data.InstanceId, "ddoscoo-cn-") || !bssOrderIDRE.MatchString(xr.Data.OrderId) {
		t.Fatalf("CreateInstance (XML) decodes to Code %q Message %q Success %v Data %s/%s", xr.Code, xr.Message, xr.Success, xr.Data.InstanceId, xr.Data.OrderId)
	}
	wantRequestID(t, "CreateInstance (XML)", xr.RequestId)
	if got := v1Instance(t, dd, xr.Data.InstanceId); got.ExpireTime != bssAddMonths(got.CreateTime, 1) {
		t.Fatalf("XML-bought instance %+v, want a 1-month term", got)
	}

	dip := bssBuy(t, c, 1, func(r *bssopenapi.CreateInstanceRequest) {
		r.ProductType, r.Parameter = "ddosDip", bssParams("ProductPlan", "2", "NormalBandwidth", "90")
	})
	did := dip.Data.InstanceId
	if !strings.HasPrefix(did, "ddosDip-sg-") {
		t.Fatalf("ddosDip InstanceId %q, want ddosDip-sg-…", did)
	}
	if got := v1Instance(t, sg, did); got.Edition != 2 || got.Status != 1 {
		t.Fatalf("Premium instance %+v, want Edition 2 (ProductPlan 2) Status 1", got)
	}
	if spec := bssSpec(t, sg, did); spec.BandwidthMbps != 90 {
		t.Fatalf("Premium BandwidthMbps %d, want the NormalBandwidth 90", spec.BandwidthMbps)
	}
	if ids := instanceIDsOf(v1List(t, dd, nil).Instances); slices.Contains(ids, did) || len(ids) != 2 {
		t.Fatalf("cn-hangzhou lists %v, want the two Pro instances only", ids)
	}
}

// TestBSSRenewInstanceSDKv1 pins RenewInstance through sdk-go v1: the body
// is exactly {Code, Message, RequestId, Success, Data{OrderId}}; JSON and
// XML renewals add up from the old expiry (1 + 2 months); each is one
// renewed event carrying the call's RequestId.
func TestBSSRenewInstanceSDKv1(t *testing.T) {
	s := StartServer(t)
	c := BSSv1(t, s, testKeyID, testKeySecret)
	dd := SDKv1(t, s, "cn-hangzhou", testKeyID, testKeySecret)
	id := bssBuy(t, c, 1, nil).Data.InstanceId
	exp := v1Instance(t, dd, id).ExpireTime

	resp, err := bssRenew(c, id, 1, "")
	if err != nil {
		t.Fatalf("RenewInstance: %v", err)
	}
	bssWantBody(t, "RenewInstance", resp.GetHttpContentString(), bssEnvelopeHead+`,"Data":\{`+bssOrderIDPattern+`\}\}`)

	req := bssopenapi.CreateRenewInstanceRequest()
	req.ProductCode, req.ProductType, req.InstanceId, req.RenewPeriod = "ddos", "ddoscoo", id, requests.NewInteger(2)
	req.AcceptFormat = "XML"
	xr, err := c.RenewInstance(req)
	if err != nil {
		t.Fatalf("RenewInstance (XML): %v", err)
	}
	bssWantXML(t, "RenewInstance", xr.GetHttpContentString())
	if xr.Code != "Success" || !xr.Success || xr.Message != "Successful!" || !bssOrderIDRE.MatchString(xr.Data.OrderId) || xr.Data.OrderId == resp.Data.OrderId {
		t.Fatalf("RenewInstance (XML) decodes to %+v / OrderId %q", xr.Code, xr.Data.OrderId)
	}
	if got, want := v1Instance(t, dd, id).ExpireTime, bssAddMonths(bssAddMonths(exp, 1), 2); got != want {
		t.Fatalf("ExpireTime %d after renewing 1 then 2 months, want %d", got, want)
	}
	evs := eventsOfType(t, s, id, "renewed")
	if len(evs) != 2 || evs[0].RequestId != resp.RequestId || evs[1].RequestId != xr.RequestId {
		t.Fatalf("renewed events %+v, want two carrying RequestIds %s and %s", evs, resp.RequestId, xr.RequestId)
	}
}

// TestBSSModifyInstanceSDKv1 pins BSS ModifyInstance through sdk-go v1: an
// Upgrade of two items at once and an XML Downgrade each answer exactly
// {Code, Message, RequestId, Success, Data{OrderId, HostId ""}}, are one
// modified event each, and DescribeInstanceSpecs shows the new values;
// ports and domains only go up; a Premium (ddosDip) instance's
// NormalBandwidth upgrades too.
func TestBSSModifyInstanceSDKv1(t *testing.T) {
	s := StartServer(t)
	c := BSSv1(t, s, testKeyID, testKeySecret)
	dd := SDKv1(t, s, "cn-hangzhou", testKeyID, testKeySecret)
	sg := SDKv1(t, s, "ap-southeast-1", testKeyID, testKeySecret)
	id := bssBuy(t, c, 1, nil).Data.InstanceId
	bssWantSpec(t, "default", bssSpec(t, dd, id), 30, 30, 100, 50, 50)

	up, err := bssModify(c, id, "Upgrade", "", "Bandwidth", "60", "ServiceBandwidth", "200")
	if err != nil {
		t.Fatalf("ModifyInstance Upgrade: %v", err)
	}
	bssWantBody(t, "ModifyInstance", up.GetHttpContentString(), bssEnvelopeHead+`,"Data":\{`+bssOrderIDPattern+`,"HostId":""\}\}`)
	bssWantSpec(t, "after the upgrade", bssSpec(t, dd, id), 30, 60, 200, 50, 50)

	down, err := bssModify(c, id, "Downgrade", "XML", "Bandwidth", "40")
	if err != nil {
		t.Fatalf("ModifyInstance Downgrade (XML): %v", err)
	}
	bssWantXML(t, "ModifyInstance", down.GetHttpContentString())
	if down.Code != "Success" || !down.Success || !bssOrderIDRE.MatchString(down.Data.OrderId) || down.Data.HostId != "" || down.Data.OrderId == up.Data.OrderId {
		t.Fatalf("ModifyInstance (XML) decodes to Code %q Success %v OrderId %q HostId %q", down.Code, down.Success, down.Data.OrderId, down.Data.HostId)
	}
	bssWantSpec(t, "after the downgrade", bssSpec(t, dd, id), 30, 40, 200, 50, 50)
	if _, err := bssModify(c, id, "Upgrade", "", "PortCount", "100", "DomainCount", "60"); err != nil {
		t.Fatalf("ModifyInstance Upgrade of ports and domains: %v", err)
	}
	bssWantSpec(t, "after more ports", bssSpec(t, dd, id), 30, 40, 200, 100, 60)
	_, err = bssModify(c, id, "Downgrade", "", "PortCount", "50")
	v1Error(t, err, 400, "InvalidParameter")
	bssWantSpec(t, "after a refused port downgrade", bssSpec(t, dd, id), 30, 40, 200, 100, 60)
	if evs := eventsOfType(t, s, id, "modified"); len(evs) != 3 || evs[0].RequestId != up.RequestId || evs[1].RequestId != down.RequestId {
		t.Fatalf("modified events %+v, want three, the first two with RequestIds %s, %s", evs, up.RequestId, down.RequestId)
	}

	dip := bssBuy(t, c, 1, func(r *bssopenapi.CreateInstanceRequest) { r.ProductType = "ddosDip" }).Data.InstanceId
	req := bssopenapi.CreateModifyInstanceRequest()
	req.ProductCode, req.ProductType, req.SubscriptionType, req.InstanceId, req.ModifyType = "ddos", "ddosDip", "Subscription", dip, "Upgrade"
	req.Parameter = &[]bssopenapi.ModifyInstanceParameter{{Code: "NormalBandwidth", Value: "300"}}
	if _, err := c.ModifyInstance(req); err != nil {
		t.Fatalf("ModifyInstance of a Premium instance: %v", err)
	}
	if got := bssSpec(t, sg, dip).BandwidthMbps; got != 300 {
		t.Fatalf("Premium BandwidthMbps %d after the upgrade, want 300", got)
	}
}

// bssQuery runs QueryAvailableInstances in JSON and in XML with the same
// filters, checks that both decode to the same page, and returns it.
func bssQuery(t testing.TB, c *bssopenapi.Client, set func(*bssopenapi.QueryAvailableInstancesRequest)) bssopenapi.Data {
	t.Helper()
	var pages [2]*bssopenapi.QueryAvailableInstancesResponse
	for i, format := range []string{"JSON", "XML"} {
		req := bssopenapi.CreateQueryAvailableInstancesRequest()
		if set != nil {
			set(req)
		}
		req.AcceptFormat = format
		resp, err := c.QueryAvailableInstances(req)
		if err != nil {
			t.Fatalf("QueryAvailableInstances (%s): %v", format, err)
		}
		if resp.Code != "Success" || !resp.Success || resp.Message != "Successful!" {
			t.Fatalf("QueryAvailableInstances (%s) = %s", format, resp.GetHttpContentString())
		}
		pages[i] = resp
	}
	j, x := pages[0].Data, pages[1].Data
	if !strings.Contains(pages[0].GetHttpContentString(), `"InstanceList":[`) {
		t.Fatalf("JSON body %s has no InstanceList array", pages[0].GetHttpContentString())
	}
	bssWantXML(t, "QueryAvailableInstances", pages[1].GetHttpContentString())
	if j.PageNum != x.PageNum || j.PageSize != x.PageSize || j.TotalCount != x.TotalCount || len(j.InstanceList) != len(x.InstanceList) ||
		len(j.InstanceList) > 0 && !reflect.DeepEqual(j.InstanceList, x.InstanceList) {
		t.Fatalf("JSON page %d/%d/%d %+v\nXML page %d/%d/%d %+v", j.PageNum, j.PageSize, j.TotalCount, j.InstanceList, x.PageNum, x.PageSize, x.TotalCount, x.InstanceList)
	}
	return j
}

func bssBillingIDs(d bssopenapi.Data) []string {
	var out []string
	for _, in := range d.InstanceList {
		out = append(out, in.InstanceID)
	}
	return out
}

// TestBSSQueryAvailableInstancesSDKv1 pins QueryAvailableInstances through
// sdk-go v1, JSON and XML decoding alike: every field of an item
// (InstanceID, ProductCode ddos, ProductType, Region, Status Normal,
// SubStatus Normal, SubscriptionType, RenewStatus, RenewalDuration and
// unit M, CreateTime/EndTime in UTC seconds, StopTime and
// ExpectedReleaseTime ExpireTime + 7 days, ReleaseTime empty, OwnerId the
// account, SellerId 26842); both regions in creation order; paging with
// PageNum/PageSize echoed and TotalCount the match count; each filter
// (ProductType, Region, InstanceIDs, RenewStatus, SubscriptionType,
// ProductCode, CreateTimeStart/End, EndTimeStart/End, inclusive); an
// instance is Expired/Normal after expiry and Expired/Stopped seven days
// later.
func TestBSSQueryAvailableInstancesSDKv1(t *testing.T) {
	s := StartServer(t)
	c := BSSv1(t, s, testKeyID, testKeySecret)
	dd := SDKv1(t, s, "cn-hangzhou", testKeyID, testKeySecret)
	p1 := bssBuy(t, c, 1, func(r *bssopenapi.CreateInstanceRequest) {
		r.RenewalStatus, r.RenewPeriod = "AutoRenewal", requests.NewInteger(2)
	}).Data.InstanceId
	p2 := bssBuy(t, c, 3, nil).Data.InstanceId
	s.Advance(t, "1h")
	p3 := bssBuy(t, c, 1, func(r *bssopenapi.CreateInstanceRequest) { r.ProductType = "ddoscoo_intl" }).Data.InstanceId
	d1 := bssBuy(t, c, 2, func(r *bssopenapi.CreateInstanceRequest) { r.ProductType = "ddosDip" }).Data.InstanceId
	all := []string{p1, p2, p3, d1}

	page := bssQuery(t, c, nil)
	if got := bssBillingIDs(page); !slices.Equal(got, all) || page.TotalCount != 4 || page.PageNum != 1 || page.PageSize != 20 {
		t.Fatalf("unfiltered: %v TotalCount %d PageNum %d PageSize %d, want %v, 4, 1, 20", got, page.TotalCount, page.PageNum, page.PageSize, all)
	}
	in := v1Instance(t, dd, p1)
	owner, err := strconv.ParseInt(bssAccountOf(t, s, p1), 10, 64)
	if err != nil {
		t.Fatalf("account ID: %v", err)
	}
	iso := func(ms int64) string { return time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05Z") }
	want := bssopenapi.Instance{
		InstanceID: p1, ProductCode: "ddos", ProductType: "ddoscoo", Region: "cn-hangzhou",
		Status: "Normal", SubStatus: "Normal", SubscriptionType: "Subscription",
		RenewStatus: "AutoRenewal", RenewalDuration: 2, RenewalDurationUnit: "M",
		CreateTime: iso(in.CreateTime), EndTime: iso(in.ExpireTime),
		StopTime: iso(in.ExpireTime + forwardingGraceMs), ExpectedReleaseTime: iso(in.ExpireTime + forwardingGraceMs),
		OwnerId: owner, SellerId: 26842,
	}
	if got := page.InstanceList[0]; !reflect.DeepEqual(got, want) {
		t.Fatalf("item\n%+v\nwant\n%+v", got, want)
	}
	if got := page.InstanceList[3]; got.Region != "ap-southeast-1" || got.ProductType != "ddosDip" || got.RenewStatus != "ManualRenewal" || got.RenewalDuration != 2 {
		t.Fatalf("Premium item %+v, want ap-southeast-1 ddosDip ManualRenewal for 2 months", got)
	}

	for _, pg := range []struct {
		num, size int
		want      []string
	}{{1, 3, all[:3]}, {2, 3, all[3:]}, {3, 3, nil}, {2, 1, all[1:2]}} {
		got := bssQuery(t, c, func(r *bssopenapi.QueryAvailableInstancesRequest) {
			r.PageNum, r.PageSize = requests.NewInteger(pg.num), requests.NewInteger(pg.size)
		})
		if !slices.Equal(bssBillingIDs(got), pg.want) || got.TotalCount != 4 || got.PageNum != pg.num || got.PageSize != pg.size {
			t.Fatalf("page %d of %d: %v TotalCount %d PageNum %d PageSize %d, want %v, 4, %d, %d", pg.num, pg.size, bssBillingIDs(got), got.TotalCount, got.PageNum, got.PageSize, pg.want, pg.num, pg.size)
		}
	}

	mid := iso(in.CreateTime + (30 * time.Minute).Milliseconds())
	exp2 := v1Instance(t, dd, p2).ExpireTime
	for _, f := range []struct {
		label string
		set   func(*bssopenapi.QueryAvailableInstancesRequest)
		want  []string
	}{
		{"ProductType ddoscoo", func(r *bssopenapi.QueryAvailableInstancesRequest) { r.ProductType = "ddoscoo" }, []string{p1, p2}},
		{"ProductType ddoscoo_intl", func(r *bssopenapi.QueryAvailableInstancesRequest) { r.ProductType = "ddoscoo_intl" }, []string{p3}},
		{"ProductType ddosDip", func(r *bssopenapi.QueryAvailableInstancesRequest) { r.ProductType = "ddosDip" }, []string{d1}},
		{"ProductType ddosDip, Region cn-hangzhou", func(r *bssopenapi.QueryAvailableInstancesRequest) { r.ProductType, r.Region = "ddosDip", "cn-hangzhou" }, nil},
		{"Region cn-hangzhou", func(r *bssopenapi.QueryAvailableInstancesRequest) { r.Region = "cn-hangzhou" }, []string{p1, p2, p3}},
		{"Region ap-southeast-1", func(r *bssopenapi.QueryAvailableInstancesRequest) { r.Region = "ap-southeast-1" }, []string{d1}},
		{"Region cn-beijing", func(r *bssopenapi.QueryAvailableInstancesRequest) { r.Region = "cn-beijing" }, nil},
		{"InstanceIDs", func(r *bssopenapi.QueryAvailableInstancesRequest) { r.InstanceIDs = d1 + ", " + p2 }, []string{p2, d1}},
		{"InstanceIDs unknown", func(r *bssopenapi.QueryAvailableInstancesRequest) { r.InstanceIDs = "ddoscoo-cn-nosuchinstance" }, nil},
		{"RenewStatus AutoRenewal", func(r *bssopenapi.QueryAvailableInstancesRequest) { r.RenewStatus = "AutoRenewal" }, []string{p1}},
		{"RenewStatus ManualRenewal", func(r *bssopenapi.QueryAvailableInstancesRequest) { r.RenewStatus = "ManualRenewal" }, []string{p2, p3, d1}},
		{"RenewStatus NotRenewal", func(r *bssopenapi.QueryAvailableInstancesRequest) { r.RenewStatus = "NotRenewal" }, nil},
		{"SubscriptionType and ProductCode", func(r *bssopenapi.QueryAvailableInstancesRequest) {
			r.SubscriptionType, r.ProductCode = "Subscription", "ddos"
		}, all},
		{"CreateTimeStart", func(r *bssopenapi.QueryAvailableInstancesRequest) { r.CreateTimeStart = mid }, []string{p3, d1}},
		{"CreateTimeEnd", func(r *bssopenapi.QueryAvailableInstancesRequest) { r.CreateTimeEnd = mid }, []string{p1, p2}},
		{"CreateTimeStart..CreateTimeEnd around the first purchases", func(r *bssopenapi.QueryAvailableInstancesRequest) {
			r.CreateTimeStart, r.CreateTimeEnd = iso(in.CreateTime-2000), iso(in.CreateTime+2000)
		}, []string{p1, p2}},
		{"EndTimeStart", func(r *bssopenapi.QueryAvailableInstancesRequest) { r.EndTimeStart = iso(exp2 - 1000) }, []string{p2}},
		{"EndTimeEnd", func(r *bssopenapi.QueryAvailableInstancesRequest) { r.EndTimeEnd = iso(exp2 - 1000) }, []string{p1, p3, d1}},
		{"EndTimeStart..EndTimeEnd", func(r *bssopenapi.QueryAvailableInstancesRequest) {
			r.EndTimeStart, r.EndTimeEnd = iso(exp2-1000), iso(exp2+1000)
		}, []string{p2}},
	} {
		got := bssQuery(t, c, f.set)
		if !slices.Equal(bssBillingIDs(got), f.want) || got.TotalCount != int(len(f.want)) {
			t.Fatalf("%s: %v TotalCount %d, want %v", f.label, bssBillingIDs(got), got.TotalCount, f.want)
		}
	}

	one := func(id string) bssopenapi.Instance {
		t.Helper()
		got := bssQuery(t, c, func(r *bssopenapi.QueryAvailableInstancesRequest) { r.InstanceIDs = id })
		if len(got.InstanceList) != 1 {
			t.Fatalf("%s: %+v, want one item", id, got.InstanceList)
		}
		return got.InstanceList[0]
	}
	s.Advance(t, "800h") // past p3's one-month term; p1 auto-renews
	if got := one(p3); got.Status != "Expired" || got.SubStatus != "Normal" {
		t.Fatalf("expired instance: Status %q SubStatus %q, want Expired Normal (still forwarding)", got.Status, got.SubStatus)
	}
	if got := one(p1); got.Status != "Normal" || got.EndTime != iso(bssAddMonths(in.ExpireTime, 2)) {
		t.Fatalf("auto-renewed instance: Status %q EndTime %s, want Normal %s", got.Status, got.EndTime, iso(bssAddMonths(in.ExpireTime, 2)))
	}
	s.Advance(t, "168h")
	if got := one(p3); got.Status != "Expired" || got.SubStatus != "Stopped" {
		t.Fatalf("7 days after expiry: Status %q SubStatus %q, want Expired Stopped", got.Status, got.SubStatus)
	}
}

// TestBSSSetRenewalSDKv1 pins SetRenewal through sdk-go v1: the body is
// exactly {Code, Message, RequestId, Success}; one call sets several
// comma-separated instances (AutoRenewal for 1 Y = 12 months); XML works
// and ManualRenewal/NotRenewal turn it off; a list with an unknown ID is
// 404 InstanceNotFound and changes none of them.
func TestBSSSetRenewalSDKv1(t *testing.T) {
	s := StartServer(t)
	c := BSSv1(t, s, testKeyID, testKeySecret)
	a := bssBuy(t, c, 1, nil).Data.InstanceId
	b := bssBuy(t, c, 1, nil).Data.InstanceId
	renewal := func(id string) (string, int) {
		t.Helper()
		got := bssQuery(t, c, func(r *bssopenapi.QueryAvailableInstancesRequest) { r.InstanceIDs = id })
		if len(got.InstanceList) != 1 {
			t.Fatalf("%s: %+v", id, got.InstanceList)
		}
		return got.InstanceList[0].RenewStatus, got.InstanceList[0].RenewalDuration
	}

	resp, err := bssSetRenewal(c, a+","+b, "AutoRenewal", 1, "Y")
	if err != nil {
		t.Fatalf("SetRenewal: %v", err)
	}
	bssWantBody(t, "SetRenewal", resp.GetHttpContentString(), bssEnvelopeHead+`\}`)
	for _, id := range []string{a, b} {
		if st, n := renewal(id); st != "AutoRenewal" || n != 12 {
			t.Fatalf("%s: %s for %d months, want AutoRenewal for 12", id, st, n)
		}
	}

	req := bssopenapi.CreateSetRenewalRequest()
	req.ProductCode, req.ProductType, req.InstanceIDs, req.RenewalStatus = "ddos", "ddoscoo", a, "ManualRenewal"
	req.AcceptFormat = "XML"
	xr, err := c.SetRenewal(req)
	if err != nil {
		t.Fatalf("SetRenewal (XML): %v", err)
	}
	bssWantXML(t, "SetRenewal", xr.GetHttpContentString())
	if xr.Code != "Success" || !xr.Success || xr.Message != "Successful!" {
		t.Fatalf("SetRenewal (XML) decodes to Code %q Success %v Message %q", xr.Code, xr.Success, xr.Message)
	}
	wantRequestID(t, "SetRenewal (XML)", xr.RequestId)
	if st, n := renewal(a); st != "ManualRenewal" || n != 12 {
		t.Fatalf("%s: %s for %d months, want ManualRenewal (the period kept)", a, st, n)
	}
	if _, err := bssSetRenewal(c, b, "NotRenewal", 0, ""); err != nil {
		t.Fatalf("SetRenewal NotRenewal: %v", err)
	}
	if st, _ := renewal(b); st != "NotRenewal" {
		t.Fatalf("%s: %s, want NotRenewal", b, st)
	}

	_, err = bssSetRenewal(c, a+",ddoscoo-cn-nosuchinstance", "AutoRenewal", 2, "M")
	v1Error(t, err, 404, "InstanceNotFound")
	if st, _ := renewal(a); st != "ManualRenewal" {
		t.Fatalf("%s after a failed SetRenewal: %s, want ManualRenewal unchanged", a, st)
	}
}

// TestBSSValidationErrorsSDKv1 pins the BSS validation errors as sdk-go v1
// sees them (HTTP status, Code, and the parameter the Message names), and
// that none of the refused calls creates, renews or changes anything.
func TestBSSValidationErrorsSDKv1(t *testing.T) {
	s := StartServer(t)
	c := BSSv1(t, s, testKeyID, testKeySecret)
	dd := SDKv1(t, s, "cn-hangzhou", testKeyID, testKeySecret)
	id := bssBuy(t, c, 1, func(r *bssopenapi.CreateInstanceRequest) { r.Parameter = bssParams("Bandwidth", "60") }).Data.InstanceId
	before := v1Instance(t, dd, id)

	buy := func(set func(*bssopenapi.CreateInstanceRequest)) error {
		_, err := c.CreateInstance(bssBuyRequest(1, set))
		return err
	}
	params := func(kv ...string) func(*bssopenapi.CreateInstanceRequest) {
		return func(r *bssopenapi.CreateInstanceRequest) { r.Parameter = bssParams(kv...) }
	}
	tooMany := make([]string, 0, 202)
	for range 101 {
		tooMany = append(tooMany, "PortCount", "50")
	}
	modify := func(modifyType string, kv ...string) error {
		_, err := bssModify(c, id, modifyType, "", kv...)
		return err
	}
	query := func(set func(*bssopenapi.QueryAvailableInstancesRequest)) error {
		req := bssopenapi.CreateQueryAvailableInstancesRequest()
		set(req)
		_, err := c.QueryAvailableInstances(req)
		return err
	}
	cases := []struct {
		label    string
		call     func() error
		status   int
		code     string
		mentions string
	}{
		{"unknown Parameter code", func() error { return buy(params("TurboMode", "1")) }, 400, "InvalidParameter", "TurboMode"},
		{"PortCount 53", func() error { return buy(params("PortCount", "53")) }, 400, "InvalidParameter", "PortCount"},
		{"BaseBandwidth 31", func() error { return buy(params("BaseBandwidth", "31")) }, 400, "InvalidParameter", "BaseBandwidth"},
		{"ServiceBandwidth 120", func() error { return buy(params("ServiceBandwidth", "120")) }, 400, "InvalidParameter", "ServiceBandwidth"},
		{"Parameter.101", func() error { return buy(params(tooMany...)) }, 400, "InvalidParameter", "Parameter.101"},
		{"Period 10", func() error { _, err := c.CreateInstance(bssBuyRequest(10, nil)); return err }, 400, "InvalidParameter", "Period"},
		{"ProductType ddos", func() error { return buy(func(r *bssopenapi.CreateInstanceRequest) { r.ProductType = "ddos" }) }, 400, "InvalidParameter", "ProductType"},
		{"ProductType missing", func() error { return buy(func(r *bssopenapi.CreateInstanceRequest) { r.ProductType = "" }) }, 400, "MissingProductType", "ProductType"},
		{"ProductCode rds", func() error { return buy(func(r *bssopenapi.CreateInstanceRequest) { r.ProductCode = "rds" }) }, 400, "InvalidParameter", "ProductCode"},
		{"ProductCode missing", func() error { return buy(func(r *bssopenapi.CreateInstanceRequest) { r.ProductCode = "" }) }, 400, "MissingProductCode", "ProductCode"},
		{"SubscriptionType PayAsYouGo", func() error {
			return buy(func(r *bssopenapi.CreateInstanceRequest) { r.SubscriptionType = "PayAsYouGo" })
		}, 400, "InvalidParameter", "SubscriptionType"},
		{"Period missing", func() error { return buy(func(r *bssopenapi.CreateInstanceRequest) { r.Period = "" }) }, 400, "MissingPeriod", "Period"},
		{"RenewalStatus Sometimes", func() error {
			return buy(func(r *bssopenapi.CreateInstanceRequest) { r.RenewalStatus = "Sometimes" })
		}, 400, "InvalidParameter", "RenewalStatus"},
		{"RenewPeriod 11", func() error {
			return buy(func(r *bssopenapi.CreateInstanceRequest) { r.RenewPeriod = requests.NewInteger(11) })
		}, 400, "InvalidParameter", "RenewPeriod"},
		{"ModifyType Sideways", func() error { return modify("Sideways", "Bandwidth", "100") }, 400, "InvalidParameter", "ModifyType"},
		{"ModifyType missing", func() error { return modify("", "Bandwidth", "100") }, 400, "MissingModifyType", "ModifyType"},
		{"Upgrade that lowers Bandwidth", func() error { return modify("Upgrade", "Bandwidth", "40") }, 400, "InvalidParameter", "Bandwidth"},
		{"Downgrade that raises Bandwidth", func() error { return modify("Downgrade", "Bandwidth", "100") }, 400, "InvalidParameter", "Bandwidth"},
		{"Upgrade of an unknown code", func() error { return modify("Upgrade", "Colour", "red") }, 400, "InvalidParameter", "Colour"},
		{"Upgrade out of range", func() error { return modify("Upgrade", "ServiceBandwidth", "120") }, 400, "InvalidParameter", "ServiceBandwidth"},
		{"Modify of an unknown instance", func() error {
			_, err := bssModify(c, "ddoscoo-cn-nosuchinstance", "Upgrade", "", "Bandwidth", "100")
			return err
		}, 404, "InstanceNotFound", "ddoscoo-cn-nosuchinstance"},
		{"RenewPeriod missing", func() error {
			req := bssopenapi.CreateRenewInstanceRequest()
			req.ProductCode, req.ProductType, req.InstanceId = "ddos", "ddoscoo", id
			_, err := c.RenewInstance(req)
			return err
		}, 400, "MissingRenewPeriod", "RenewPeriod"},
		{"RenewPeriod 10", func() error { _, err := bssRenew(c, id, 10, ""); return err }, 400, "InvalidParameter", "RenewPeriod"},
		{"Renew of an unknown instance", func() error { _, err := bssRenew(c, "ddoscoo-cn-nosuchinstance", 1, ""); return err }, 404, "InstanceNotFound", "ddoscoo-cn-nosuchinstance"},
		{"RenewalStatus Bad", func() error { _, err := bssSetRenewal(c, id, "Bad", 1, "M"); return err }, 400, "InvalidParameter", "RenewalStatus"},
		{"AutoRenewal without RenewalPeriod", func() error { _, err := bssSetRenewal(c, id, "AutoRenewal", 0, "M"); return err }, 400, "MissingRenewalPeriod", "RenewalPeriod"},
		{"RenewalPeriodUnit D", func() error { _, err := bssSetRenewal(c, id, "AutoRenewal", 1, "D"); return err }, 400, "InvalidParameter", "RenewalPeriodUnit"},
		{"RenewalPeriod 4 Y", func() error { _, err := bssSetRenewal(c, id, "AutoRenewal", 4, "Y"); return err }, 400, "InvalidParameter", "RenewalPeriod"},
		{"InstanceIDs with an empty item", func() error { _, err := bssSetRenewal(c, id+",,"+id, "AutoRenewal", 1, "M"); return err }, 400, "InvalidParameter", "InstanceIDs"},
		{"RenewStatus Sometimes", func() error {
			return query(func(r *bssopenapi.QueryAvailableInstancesRequest) { r.RenewStatus = "Sometimes" })
		}, 400, "InvalidParameter", "RenewStatus"},
		{"PageSize 301", func() error {
			return query(func(r *bssopenapi.QueryAvailableInstancesRequest) { r.PageSize = requests.NewInteger(301) })
		}, 400, "InvalidParameter", "PageSize"},
		{"PageNum 0 is the default, -1 is not", func() error {
			return query(func(r *bssopenapi.QueryAvailableInstancesRequest) { r.PageNum = requests.NewInteger(-1) })
		}, 400, "InvalidParameter", "PageNum"},
		{"query ProductCode rds", func() error {
			return query(func(r *bssopenapi.QueryAvailableInstancesRequest) { r.ProductCode = "rds" })
		}, 400, "InvalidParameter", "ProductCode"},
		{"query ProductType ddos", func() error {
			return query(func(r *bssopenapi.QueryAvailableInstancesRequest) { r.ProductType = "ddos" })
		}, 400, "InvalidParameter", "ProductType"},
	}
	for _, name := range []string{"CreateTimeStart", "CreateTimeEnd", "EndTimeStart", "EndTimeEnd"} {
		for _, bad := range []string{"2024-01-01 00:00:00", "2024-13-01T00:00:00Z", "yesterday"} {
			cases = append(cases, struct {
				label    string
				call     func() error
				status   int
				code     string
				mentions string
			}{fmt.Sprintf("%s %q", name, bad), func() error {
				return query(func(r *bssopenapi.QueryAvailableInstancesRequest) {
					reflect.ValueOf(r).Elem().FieldByName(name).SetString(bad)
				})
			}, 400, "InvalidParameter", name})
		}
	}
	for _, tc := range cases {
		err := tc.call()
		if err == nil {
			t.Fatalf("%s: succeeded, want HTTP %d %s", tc.label, tc.status, tc.code)
		}
		se := v1Error(t, err, tc.status, tc.code)
		if !strings.Contains(se.Message(), tc.mentions) {
			t.Fatalf("%s: Message %q does not name %s", tc.label, se.Message(), tc.mentions)
		}
	}

	if n := bssInstanceCount(t, dd); n != 1 {
		t.Fatalf("TotalCount %d after refused calls, want 1", n)
	}
	after := v1Instance(t, dd, id)
	if after.ExpireTime != before.ExpireTime {
		t.Fatalf("ExpireTime %d after refused renewals, want %d", after.ExpireTime, before.ExpireTime)
	}
	bssWantSpec(t, "after refused modifications", bssSpec(t, dd, id), 30, 60, 100, 50, 50)
	if got := lifecycleTypes(t, s, id); len(got) != 0 {
		t.Fatalf("events after refused calls: %v, want none", got)
	}
	status, n := func() (string, int) {
		got := bssQuery(t, c, func(r *bssopenapi.QueryAvailableInstancesRequest) { r.InstanceIDs = id })
		return got.InstanceList[0].RenewStatus, got.InstanceList[0].RenewalDuration
	}()
	if status != "ManualRenewal" || n != 1 {
		t.Fatalf("renewal after refused SetRenewal calls: %s for %d months, want ManualRenewal for 1", status, n)
	}
}
