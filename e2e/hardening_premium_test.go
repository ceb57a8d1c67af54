package e2e

import (
	"strings"
	"testing"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/bssopenapi"
)

// TestHardening_PremiumSpecRangesPerProduct pins that BSS CreateInstance
// and ModifyInstance judge each Parameter by the ranges of the product
// bought (internal/moat/spec_ranges.go), through sdk-go v1 on both stores:
// Anti-DDoS Premium (ddosDip) takes NormalQps 500, which Anti-DDoS Pro
// refuses with 400 InvalidParameter and a message giving Pro's range;
// Premium's own limits (NormalQps from 500, PortCount up to 400,
// NormalBandwidth by ProductPlan) are refused with theirs; a Premium
// purchase carrying what the Terraform provider sends for every product
// (ServicePartner, Edition coop, 95BurstBandwidthMode) is accepted; and
// BSS and ddoscoo ModifyInstance judge NormalQps by the instance's
// product too (a Premium instance goes down to 500, a Pro one does not).
func TestHardening_PremiumSpecRangesPerProduct(t *testing.T) {
	s := StartServer(t)
	c := BSSv1(t, s, testKeyID, testKeySecret)
	sg := SDKv1(t, s, "ap-southeast-1", testKeyID, testKeySecret)
	dd := SDKv1(t, s, "cn-hangzhou", testKeyID, testKeySecret)

	dip := bssBuy(t, c, 1, func(r *bssopenapi.CreateInstanceRequest) {
		r.ProductType, r.Parameter = "ddosDip", bssParams("NormalQps", "500")
	}).Data.InstanceId
	if got := bssSpec(t, sg, dip).QpsLimit; got != 500 {
		t.Fatalf("Premium QpsLimit %d, want the NormalQps 500 bought", got)
	}

	refused := []struct {
		name, product string
		params        []string
		want          []string // in the message
	}{
		{"Pro NormalQps 500", "ddoscoo", []string{"NormalQps", "500"}, []string{"NormalQps", "Anti-DDoS Pro", "from 3000 to 100000"}},
		{"Pro intl NormalQps 500", "ddoscoo_intl", []string{"NormalQps", "500"}, []string{"NormalQps", "Anti-DDoS Pro", "from 3000 to 100000"}},
		{"Premium NormalQps 400", "ddosDip", []string{"NormalQps", "400"}, []string{"NormalQps", "Anti-DDoS Premium", "from 500 to 100000"}},
		{"Premium PortCount 405", "ddosDip", []string{"PortCount", "405"}, []string{"PortCount", "Anti-DDoS Premium", "from 5 to 400"}},
		{"Premium plan 2 NormalBandwidth 200", "ddosDip", []string{"ProductPlan", "2", "NormalBandwidth", "200"}, []string{"NormalBandwidth", "ProductPlan 2", "10, 20"}},
		{"Premium plan 1 NormalQps 500", "ddosDip", []string{"ProductPlan", "1", "NormalQps", "500"}, []string{"NormalQps", "ProductPlan 1", "from 1000 to 100000"}},
	}
	for _, r := range refused {
		_, err := c.CreateInstance(bssBuyRequest(1, func(req *bssopenapi.CreateInstanceRequest) {
			req.ProductType, req.Parameter = r.product, bssParams(r.params...)
		}))
		se := v1Error(t, err, 400, "InvalidParameter")
		for _, w := range r.want {
			if !strings.Contains(se.Message(), w) {
				t.Fatalf("%s: message %q does not contain %q", r.name, se.Message(), w)
			}
		}
	}

	tf := bssBuy(t, c, 1, func(r *bssopenapi.CreateInstanceRequest) {
		r.ProductType, r.Parameter = "ddosDip", bssParams("ServicePartner", "coop-line-001", "PortCount", "50", "DomainCount", "50",
			"NormalBandwidth", "200", "NormalQps", "600", "Edition", "coop", "ProductPlan", "3", "95BurstBandwidthMode", "1", "FunctionVersion", "1")
	}).Data.InstanceId
	if got := bssSpec(t, sg, tf); got.QpsLimit != 600 || got.BandwidthMbps != 200 || got.PortLimit != 50 || got.DomainLimit != 50 {
		t.Fatalf("Terraform-shaped Premium purchase %+v, want QpsLimit 600 BandwidthMbps 200 PortLimit 50 DomainLimit 50", got)
	}

	req := bssopenapi.CreateModifyInstanceRequest()
	req.ProductCode, req.ProductType, req.SubscriptionType, req.InstanceId, req.ModifyType = "ddos", "ddosDip", "Subscription", dip, "Upgrade"
	req.Parameter = &[]bssopenapi.ModifyInstanceParameter{{Code: "NormalQps", Value: "800"}}
	if _, err := c.ModifyInstance(req); err != nil {
		t.Fatalf("ModifyInstance NormalQps 500 -> 800 of a Premium instance: %v", err)
	}
	if got := bssSpec(t, sg, dip).QpsLimit; got != 800 {
		t.Fatalf("Premium QpsLimit %d after the upgrade, want 800", got)
	}

	// ddoscoo's own ModifyInstance judges by the same ranges.
	if _, _, err := modifyV1(t, sg, "JSON", map[string]string{"InstanceId": dip, "ModifyType": "DOWNGRADE", "ProductType": "ddosDip", "NormalQps": "500"}); err != nil {
		t.Fatalf("ddoscoo ModifyInstance DOWNGRADE NormalQps 800 -> 500 of a Premium instance: %v", err)
	}
	if got := bssSpec(t, sg, dip).QpsLimit; got != 500 {
		t.Fatalf("Premium QpsLimit %d after the downgrade, want 500", got)
	}
	pro := bssBuy(t, c, 1, nil).Data.InstanceId
	_, _, err := modifyV1(t, dd, "JSON", map[string]string{"InstanceId": pro, "ModifyType": "DOWNGRADE", "ProductType": "ddoscoo", "NormalQps": "500"})
	if se := v1Error(t, err, 400, "InvalidParameter"); !strings.Contains(se.Message(), "from 3000 to 100000") {
		t.Fatalf("Pro DOWNGRADE to NormalQps 500: message %q, want Pro's range", se.Message())
	}
	if got := bssSpec(t, dd, pro).QpsLimit; got != 3000 {
		t.Fatalf("Pro QpsLimit %d after a refused downgrade, want 3000", got)
	}
}
