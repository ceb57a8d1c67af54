package moat_test

import (
	"fmt"
	"strings"
	"testing"

	"moat/internal/moat"
)

// TestHardening_SpecRangesPerProduct pins the Parameter.N ranges of each
// product (internal/moat/spec_ranges.go): every code is accepted at the
// edges of its product's range (Premium's by ProductPlan) and sets its
// field, and refused just outside with InvalidParameter naming the code;
// a code the product does not sell is refused; a refused value leaves the
// spec untouched. Anti-DDoS Premium's NormalQps starts at 500, Pro's at
// 3000; each Pro case runs for ddoscoo and ddoscoo_intl alike.
func TestHardening_SpecRangesPerProduct(t *testing.T) {
	const (
		pro = "pro"
		dip = "ddosDip"
	)
	type set func(*moat.Spec)
	cases := []struct {
		product     string
		plan        int // Premium: the ProductPlan of the spec the value is applied to
		code, value string
		want        set // nil: refused
	}{
		{pro, 0, "BaseBandwidth", "30", func(s *moat.Spec) { s.BaseBandwidth = 30 }},
		{pro, 0, "BaseBandwidth", "600", func(s *moat.Spec) { s.BaseBandwidth = 600 }},
		{pro, 0, "BaseBandwidth", "31", nil},
		{pro, 0, "BaseBandwidth", "200", nil},
		{pro, 0, "BaseBandwidth", "700", nil},
		{pro, 0, "BaseBandwidth", "0", nil},
		{pro, 0, "Bandwidth", "30", func(s *moat.Spec) { s.Bandwidth = 30 }},
		{pro, 0, "Bandwidth", "1000", func(s *moat.Spec) { s.Bandwidth = 1000 }},
		{pro, 0, "Bandwidth", "20", nil},
		{pro, 0, "Bandwidth", "35", nil},
		{pro, 0, "Bandwidth", "1010", nil},
		{pro, 0, "ServiceBandwidth", "100", func(s *moat.Spec) { s.ServiceBandwidth = 100 }},
		{pro, 0, "ServiceBandwidth", "150", func(s *moat.Spec) { s.ServiceBandwidth = 150 }},
		{pro, 0, "ServiceBandwidth", "5000", func(s *moat.Spec) { s.ServiceBandwidth = 5000 }},
		{pro, 0, "ServiceBandwidth", "50", nil},
		{pro, 0, "ServiceBandwidth", "120", nil},
		{pro, 0, "ServiceBandwidth", "5050", nil},
		{pro, 0, "PortCount", "50", func(s *moat.Spec) { s.PortCount = 50 }},
		{pro, 0, "PortCount", "55", func(s *moat.Spec) { s.PortCount = 55 }},
		{pro, 0, "PortCount", "400", func(s *moat.Spec) { s.PortCount = 400 }},
		{pro, 0, "PortCount", "5", nil},
		{pro, 0, "PortCount", "45", nil},
		{pro, 0, "PortCount", "53", nil},
		{pro, 0, "PortCount", "405", nil},
		{pro, 0, "DomainCount", "50", func(s *moat.Spec) { s.DomainCount = 50 }},
		{pro, 0, "DomainCount", "55", func(s *moat.Spec) { s.DomainCount = 55 }},
		{pro, 0, "DomainCount", "2000", func(s *moat.Spec) { s.DomainCount = 2000 }},
		{pro, 0, "DomainCount", "10", nil},
		{pro, 0, "DomainCount", "45", nil},
		{pro, 0, "DomainCount", "53", nil},
		{pro, 0, "DomainCount", "2005", nil},
		{pro, 0, "FunctionVersion", "0", func(s *moat.Spec) { s.FunctionVersion = 0 }},
		{pro, 0, "FunctionVersion", "1", func(s *moat.Spec) { s.FunctionVersion = 1 }},
		{pro, 0, "FunctionVersion", "2", nil},
		{pro, 0, "FunctionVersion", "-1", nil},
		{pro, 0, "NormalQps", "3000", func(s *moat.Spec) { s.NormalQps = 3000 }},
		{pro, 0, "NormalQps", "3100", func(s *moat.Spec) { s.NormalQps = 3100 }},
		{pro, 0, "NormalQps", "100000", func(s *moat.Spec) { s.NormalQps = 100000 }},
		{pro, 0, "NormalQps", "500", nil},
		{pro, 0, "NormalQps", "2900", nil},
		{pro, 0, "NormalQps", "3050", nil},
		{pro, 0, "NormalQps", "100100", nil},
		{pro, 0, "95BurstBandwidthMode", "0", func(s *moat.Spec) { s.BurstMode = 0 }},
		{pro, 0, "95BurstBandwidthMode", "2", func(s *moat.Spec) { s.BurstMode = 2 }},
		{pro, 0, "95BurstBandwidthMode", "3", nil},
		{pro, 0, "ServicePartner", "coop-line-001", func(s *moat.Spec) { s.ServicePartner = "coop-line-001" }},
		{pro, 0, "ServicePartner", "coop-line-002", nil},
		{pro, 0, "Edition", "coop", func(s *moat.Spec) { s.EditionSale = "coop" }},
		{pro, 0, "Edition", "advance", func(s *moat.Spec) { s.EditionSale = "advance" }},
		{pro, 0, "Edition", "Coop", nil},
		{pro, 0, "AddressType", "Ipv4", func(s *moat.Spec) { s.AddressType = "Ipv4" }},
		{pro, 0, "AddressType", "ipv4", nil},
		{pro, 0, "AddressType", "Ipv6", nil},
		{pro, 0, "NormalBandwidth", "100", nil}, // Premium's
		{pro, 0, "ProductPlan", "0", nil},       // Premium's

		{dip, 0, "NormalQps", "500", func(s *moat.Spec) { s.NormalQps = 500 }},
		{dip, 0, "NormalQps", "100000", func(s *moat.Spec) { s.NormalQps = 100000 }},
		{dip, 0, "NormalQps", "400", nil},
		{dip, 0, "NormalQps", "550", nil},
		{dip, 0, "NormalQps", "100100", nil},
		{dip, 1, "NormalQps", "1000", func(s *moat.Spec) { s.NormalQps = 1000 }},
		{dip, 1, "NormalQps", "900", nil},
		{dip, 2, "NormalQps", "500", func(s *moat.Spec) { s.NormalQps = 500 }},
		{dip, 2, "NormalQps", "400", nil},
		{dip, 3, "NormalQps", "500", func(s *moat.Spec) { s.NormalQps = 500 }},
		{dip, 3, "NormalQps", "400", nil},
		{dip, 0, "NormalBandwidth", "100", func(s *moat.Spec) { s.NormalBandwidth = 100 }},
		{dip, 0, "NormalBandwidth", "300", func(s *moat.Spec) { s.NormalBandwidth = 300 }},
		{dip, 0, "NormalBandwidth", "10", nil},
		{dip, 0, "NormalBandwidth", "120", nil},
		{dip, 0, "NormalBandwidth", "350", nil},
		{dip, 1, "NormalBandwidth", "150", func(s *moat.Spec) { s.NormalBandwidth = 150 }},
		{dip, 1, "NormalBandwidth", "90", nil},
		{dip, 2, "NormalBandwidth", "10", func(s *moat.Spec) { s.NormalBandwidth = 10 }},
		{dip, 2, "NormalBandwidth", "100", func(s *moat.Spec) { s.NormalBandwidth = 100 }},
		{dip, 2, "NormalBandwidth", "5", nil},
		{dip, 2, "NormalBandwidth", "15", nil},
		{dip, 2, "NormalBandwidth", "150", nil},
		{dip, 3, "NormalBandwidth", "10", func(s *moat.Spec) { s.NormalBandwidth = 10 }},
		{dip, 3, "NormalBandwidth", "150", func(s *moat.Spec) { s.NormalBandwidth = 150 }},
		{dip, 3, "NormalBandwidth", "200", func(s *moat.Spec) { s.NormalBandwidth = 200 }},
		{dip, 3, "NormalBandwidth", "110", nil},
		{dip, 3, "NormalBandwidth", "250", nil},
		{dip, 0, "PortCount", "5", func(s *moat.Spec) { s.PortCount = 5 }},
		{dip, 1, "PortCount", "400", func(s *moat.Spec) { s.PortCount = 400 }},
		{dip, 2, "PortCount", "50", func(s *moat.Spec) { s.PortCount = 50 }},
		{dip, 3, "PortCount", "5", func(s *moat.Spec) { s.PortCount = 5 }},
		{dip, 0, "PortCount", "0", nil},
		{dip, 0, "PortCount", "7", nil},
		{dip, 3, "PortCount", "405", nil},
		{dip, 0, "DomainCount", "10", func(s *moat.Spec) { s.DomainCount = 10 }},
		{dip, 1, "DomainCount", "200", func(s *moat.Spec) { s.DomainCount = 200 }},
		{dip, 2, "DomainCount", "50", func(s *moat.Spec) { s.DomainCount = 50 }},
		{dip, 0, "DomainCount", "5", nil},
		{dip, 0, "DomainCount", "55", nil},
		{dip, 3, "DomainCount", "210", nil},
		{dip, 1, "ProductPlan", "0", func(s *moat.Spec) { s.ProductPlan = 0 }},
		{dip, 0, "ProductPlan", "3", func(s *moat.Spec) { s.ProductPlan = 3 }},
		{dip, 0, "ProductPlan", "4", nil},
		{dip, 0, "ProductPlan", "-1", nil},
		{dip, 0, "FunctionVersion", "0", func(s *moat.Spec) { s.FunctionVersion = 0 }},
		{dip, 0, "FunctionVersion", "1", func(s *moat.Spec) { s.FunctionVersion = 1 }},
		{dip, 0, "FunctionVersion", "2", nil},
		{dip, 0, "95BurstBandwidthMode", "0", func(s *moat.Spec) { s.BurstMode = 0 }},
		{dip, 0, "95BurstBandwidthMode", "2", func(s *moat.Spec) { s.BurstMode = 2 }},
		{dip, 0, "95BurstBandwidthMode", "3", nil},
		{dip, 0, "ServicePartner", "coop-line-001", func(s *moat.Spec) { s.ServicePartner = "coop-line-001" }},
		{dip, 0, "ServicePartner", "coop-line-002", nil},
		{dip, 0, "Edition", "coop", func(s *moat.Spec) { s.EditionSale = "coop" }},
		{dip, 0, "Edition", "advance", nil},
		{dip, 0, "BaseBandwidth", "30", nil},     // Pro's
		{dip, 0, "Bandwidth", "30", nil},         // Pro's
		{dip, 0, "ServiceBandwidth", "100", nil}, // Pro's
		{dip, 0, "AddressType", "Ipv4", nil},     // Pro's

		// Numbers are decimal integers.
		{pro, 0, "PortCount", "abc", nil},
		{pro, 0, "PortCount", "50.0", nil},
		{pro, 0, "PortCount", "0x32", nil},
		{pro, 0, "Bandwidth", "1e2", nil},
		{dip, 0, "NormalQps", "5e2", nil},
	}
	// Starting specs with every field away from the values above, so a
	// value that lands in the wrong field shows.
	start := moat.Spec{BaseBandwidth: 60, Bandwidth: 60, ServiceBandwidth: 200, PortCount: 60, DomainCount: 60, FunctionVersion: 1,
		NormalBandwidth: 20, NormalQps: 4000, BurstMode: 1, ServicePartner: "x", EditionSale: "x", AddressType: "x"}
	covered := map[string]bool{}
	for _, c := range cases {
		products := []moat.ProductType{moat.ProductDdosDip}
		if c.product == pro {
			products = []moat.ProductType{moat.ProductDdoscoo, moat.ProductDdoscooIntl}
		}
		for _, p := range products {
			covered[fmt.Sprint(p, c.code, c.want == nil)] = true
			t.Run(fmt.Sprintf("%s/plan%d/%s=%s", p, c.plan, c.code, c.value), func(t *testing.T) {
				from := start
				from.ProductPlan = c.plan
				got := from
				err := moat.ApplyParams(&got, p, []moat.Param{{Code: c.code, Value: c.value}})
				if c.want == nil {
					if moat.ErrorCode(err) != moat.CodeInvalidParameter || !strings.Contains(moat.AsError(err).Message, c.code) {
						t.Fatalf("ApplyParams(%s, %s=%q) = %v; want InvalidParameter naming %s", p, c.code, c.value, err, c.code)
					}
					if got != from {
						t.Fatalf("a refused value changed the spec: %+v", got)
					}
					return
				}
				want := from
				c.want(&want)
				if err != nil || got != want {
					t.Fatalf("ApplyParams(%s, %s=%q) = %+v, %v; want %+v", p, c.code, c.value, got, err, want)
				}
			})
		}
	}
	// Every code is tried, accepted and refused, for every product.
	for _, p := range []moat.ProductType{moat.ProductDdoscoo, moat.ProductDdoscooIntl, moat.ProductDdosDip} {
		for _, code := range moat.ParamCodes() {
			if !covered[fmt.Sprint(p, code, true)] {
				t.Errorf("no refused case for %s %s", p, code)
			}
		}
	}
}

// TestHardening_SpecRangeMessages pins the refusals' wording: the code,
// the value, the product (and Premium's plan where the range depends on
// it) and what the value must be, so a caller can fix the call. The
// domain names an item Params.<code>; the BSS and ddoscoo handlers answer
// "Parameter <code>" (their tests pin that).
func TestHardening_SpecRangeMessages(t *testing.T) {
	cases := []struct {
		product moat.ProductType
		params  []moat.Param
		want    string
	}{
		{moat.ProductDdoscoo, []moat.Param{{Code: "NormalQps", Value: "500"}},
			`The specified parameter Params.NormalQps value "500" is not valid: NormalQps for Anti-DDoS Pro must be a multiple of 100 from 3000 to 100000.`},
		{moat.ProductDdosDip, []moat.Param{{Code: "NormalQps", Value: "400"}},
			`The specified parameter Params.NormalQps value "400" is not valid: NormalQps for Anti-DDoS Premium with ProductPlan 0 (Insurance) must be a multiple of 100 from 500 to 100000.`},
		{moat.ProductDdosDip, []moat.Param{{Code: "ProductPlan", Value: "1"}, {Code: "NormalQps", Value: "500"}},
			`The specified parameter Params.NormalQps value "500" is not valid: NormalQps for Anti-DDoS Premium with ProductPlan 1 (Unlimited) must be a multiple of 100 from 1000 to 100000.`},
		{moat.ProductDdosDip, []moat.Param{{Code: "NormalBandwidth", Value: "200"}, {Code: "ProductPlan", Value: "2"}},
			`The specified parameter Params.NormalBandwidth value "200" is not valid: NormalBandwidth for Anti-DDoS Premium with ProductPlan 2 (CMA) must be one of 10, 20, 30, 40, 50, 60, 70, 80, 90, 100 (Mbps).`},
		{moat.ProductDdosDip, []moat.Param{{Code: "PortCount", Value: "405"}},
			`The specified parameter Params.PortCount value "405" is not valid: PortCount for Anti-DDoS Premium must be a multiple of 5 from 5 to 400.`},
		{moat.ProductDdosDip, []moat.Param{{Code: "BaseBandwidth", Value: "30"}},
			`Parameter code "BaseBandwidth" does not apply to ProductType ddosDip (Anti-DDoS Premium).`},
		{moat.ProductDdoscooIntl, []moat.Param{{Code: "ProductPlan", Value: "1"}},
			`Parameter code "ProductPlan" does not apply to ProductType ddoscoo_intl (Anti-DDoS Pro).`},
	}
	for _, c := range cases {
		s := moat.DefaultSpec(c.product)
		err := moat.ApplyParams(&s, c.product, c.params)
		if moat.ErrorCode(err) != moat.CodeInvalidParameter || moat.AsError(err).Message != c.want {
			t.Errorf("ApplyParams(%s, %+v) = %v\nwant InvalidParameter %q", c.product, c.params, err, c.want)
		}
	}
}

// TestHardening_TerraformPremiumPurchase pins that the items the Terraform
// provider sends for every product (ServicePartner, PortCount,
// DomainCount, Edition coop) are a valid Premium purchase, on every plan.
func TestHardening_TerraformPremiumPurchase(t *testing.T) {
	for _, plan := range []string{"0", "1", "2", "3"} {
		s := moat.DefaultSpec(moat.ProductDdosDip)
		err := moat.ApplyParams(&s, moat.ProductDdosDip, []moat.Param{{Code: "ServicePartner", Value: "coop-line-001"}, {Code: "PortCount", Value: "50"},
			{Code: "DomainCount", Value: "50"}, {Code: "Edition", Value: "coop"}, {Code: "ProductPlan", Value: plan}})
		if err != nil || s.PortCount != 50 || s.DomainCount != 50 || fmt.Sprint(s.ProductPlan) != plan {
			t.Errorf("ProductPlan %s: ApplyParams = %+v, %v; want accepted", plan, s, err)
		}
	}
}

// TestApplyParamsCatalogueIsCovered keeps TestHardening_SpecRangesPerProduct honest: it
// fails when a code is added to the catalogue without cases above.
func TestApplyParamsCatalogueIsCovered(t *testing.T) {
	want := []string{"95BurstBandwidthMode", "AddressType", "Bandwidth", "BaseBandwidth", "DomainCount", "Edition",
		"FunctionVersion", "NormalBandwidth", "NormalQps", "PortCount", "ProductPlan", "ServiceBandwidth", "ServicePartner"}
	if got := moat.ParamCodes(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("ParamCodes() = %v, want %v (sorted)", got, want)
	}
}

// TestApplyParamsRules pins the rules across items: Ipv6 is refused with a
// message saying why, an unknown code is refused naming it, a code given
// twice is refused, and an empty value keeps the current value.
func TestApplyParamsRules(t *testing.T) {
	cases := []struct {
		name    string
		params  []moat.Param
		wantErr []string // substrings of the message; nil: accepted
		want    func(*moat.Spec)
	}{
		{"Ipv6 says the pools are IPv4 only", []moat.Param{{Code: "AddressType", Value: "Ipv6"}}, []string{"AddressType", "IPv4 only"}, nil},
		{"unknown code is named", []moat.Param{{Code: "PortCount", Value: "60"}, {Code: "SiteCount", Value: "1"}}, []string{`"SiteCount"`}, nil},
		{"codes are case-sensitive", []moat.Param{{Code: "portcount", Value: "60"}}, []string{`"portcount"`}, nil},
		{"a code given twice", []moat.Param{{Code: "PortCount", Value: "60"}, {Code: "PortCount", Value: "60"}}, []string{`"PortCount"`, "more than once"}, nil},
		{"a code given twice, once empty", []moat.Param{{Code: "PortCount", Value: ""}, {Code: "PortCount", Value: "60"}}, []string{`"PortCount"`, "more than once"}, nil},
		{"empty values keep the defaults", []moat.Param{{Code: "AddressType", Value: ""}, {Code: "95BurstBandwidthMode", Value: ""}, {Code: "PortCount", Value: ""}}, nil, func(*moat.Spec) {}},
		{"several codes", []moat.Param{{Code: "Bandwidth", Value: "100"}, {Code: "PortCount", Value: "80"}, {Code: "AddressType", Value: "Ipv4"}}, nil,
			func(s *moat.Spec) { s.Bandwidth, s.PortCount = 100, 80 }},
		{"no parameters", nil, nil, func(*moat.Spec) {}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := moat.DefaultSpec(moat.ProductDdoscoo)
			err := moat.ApplyParams(&got, moat.ProductDdoscoo, c.params)
			if c.wantErr != nil {
				if moat.ErrorCode(err) != moat.CodeInvalidParameter {
					t.Fatalf("ApplyParams(%+v) = %v, want InvalidParameter", c.params, err)
				}
				for _, sub := range c.wantErr {
					if msg := moat.AsError(err).Message; !strings.Contains(msg, sub) {
						t.Fatalf("message %q does not contain %q", msg, sub)
					}
				}
				return
			}
			want := moat.DefaultSpec(moat.ProductDdoscoo)
			c.want(&want)
			if err != nil || got != want {
				t.Fatalf("ApplyParams(%+v) = %+v, %v; want %+v", c.params, got, err, want)
			}
		})
	}
}

// TestDefaultSpec pins the smallest specification of each product, which
// instances made without parameters get, and that it is a valid purchase.
func TestDefaultSpec(t *testing.T) {
	pro := moat.Spec{BaseBandwidth: 30, Bandwidth: 30, ServiceBandwidth: 100, PortCount: 50, DomainCount: 50, NormalQps: 3000,
		ServicePartner: "coop-line-001", EditionSale: "coop", AddressType: "Ipv4"}
	premium := moat.Spec{NormalBandwidth: 100, PortCount: 50, DomainCount: 50, NormalQps: 3000,
		ServicePartner: "coop-line-001", EditionSale: "coop", AddressType: "Ipv4"}
	for p, want := range map[moat.ProductType]moat.Spec{moat.ProductDdoscoo: pro, moat.ProductDdoscooIntl: pro, moat.ProductDdosDip: premium} {
		got := moat.DefaultSpec(p)
		if got != want {
			t.Errorf("DefaultSpec(%s) = %+v, want %+v", p, got, want)
		}
		if err := got.Validate(p); err != nil {
			t.Errorf("DefaultSpec(%s).Validate: %v", p, err)
		}
	}
}

// TestValidate pins the cross-item rule: Pro's burstable Bandwidth may not
// be below its BaseBandwidth (equal is fine); Premium has no such items.
func TestValidate(t *testing.T) {
	cases := []struct {
		product          moat.ProductType
		base, burst      int
		ok               bool
		wantInTheMessage string
	}{
		{moat.ProductDdoscoo, 60, 60, true, ""},
		{moat.ProductDdoscoo, 60, 100, true, ""},
		{moat.ProductDdoscoo, 100, 60, false, "Bandwidth"},
		{moat.ProductDdoscooIntl, 100, 90, false, "Bandwidth"},
		{moat.ProductDdosDip, 100, 60, true, ""},
	}
	for _, c := range cases {
		s := moat.DefaultSpec(c.product)
		s.BaseBandwidth, s.Bandwidth = c.base, c.burst
		err := s.Validate(c.product)
		if c.ok && err != nil || !c.ok && (moat.ErrorCode(err) != moat.CodeInvalidParameter || !strings.Contains(moat.AsError(err).Message, c.wantInTheMessage)) {
			t.Errorf("%s base %d burst %d: Validate = %v, want ok=%v", c.product, c.base, c.burst, err, c.ok)
		}
	}
}

// TestModify pins Upgrade and Downgrade: numeric items move only in the
// stated direction, ports and domains are never lowered, the items fixed
// at purchase cannot change, the result must validate, and no parameters
// is a Missing error; the receiver is never changed.
func TestModify(t *testing.T) {
	pro := moat.DefaultSpec(moat.ProductDdoscoo)
	pro.Bandwidth, pro.PortCount, pro.DomainCount = 100, 100, 100
	prem := moat.DefaultSpec(moat.ProductDdosDip)
	prem.ProductPlan = 2
	premQps := moat.DefaultSpec(moat.ProductDdosDip)
	premQps.NormalQps = 500
	p := func(kv ...string) []moat.Param {
		var out []moat.Param
		for i := 0; i < len(kv); i += 2 {
			out = append(out, moat.Param{Code: kv[i], Value: kv[i+1]})
		}
		return out
	}
	cases := []struct {
		name    string
		from    moat.Spec
		product moat.ProductType
		typ     moat.ModifyType
		params  []moat.Param
		want    func(*moat.Spec) // nil: refused
		code    moat.Code
	}{
		{"upgrade raises bandwidth", pro, moat.ProductDdoscoo, moat.ModifyUpgrade, p("Bandwidth", "200"), func(s *moat.Spec) { s.Bandwidth = 200 }, ""},
		{"upgrade cannot lower bandwidth", pro, moat.ProductDdoscoo, moat.ModifyUpgrade, p("Bandwidth", "50"), nil, moat.CodeInvalidParameter},
		{"downgrade lowers bandwidth", pro, moat.ProductDdoscoo, moat.ModifyDowngrade, p("Bandwidth", "50"), func(s *moat.Spec) { s.Bandwidth = 50 }, ""},
		{"downgrade cannot raise bandwidth", pro, moat.ProductDdoscoo, moat.ModifyDowngrade, p("Bandwidth", "200"), nil, moat.CodeInvalidParameter},
		{"upgrade raises several", pro, moat.ProductDdoscoo, moat.ModifyUpgrade, p("ServiceBandwidth", "300", "PortCount", "150", "DomainCount", "105", "FunctionVersion", "1"),
			func(s *moat.Spec) {
				s.ServiceBandwidth, s.PortCount, s.DomainCount, s.FunctionVersion = 300, 150, 105, 1
			}, ""},
		{"an unchanged value is fine either way", pro, moat.ProductDdoscoo, moat.ModifyDowngrade, p("PortCount", "100", "Bandwidth", "50"), func(s *moat.Spec) { s.Bandwidth = 50 }, ""},
		{"upgrade cannot lower ports", pro, moat.ProductDdoscoo, moat.ModifyUpgrade, p("PortCount", "50"), nil, moat.CodeInvalidParameter},
		{"downgrade cannot lower ports", pro, moat.ProductDdoscoo, moat.ModifyDowngrade, p("PortCount", "50"), nil, moat.CodeInvalidParameter},
		{"downgrade cannot lower domains", pro, moat.ProductDdoscoo, moat.ModifyDowngrade, p("DomainCount", "95"), nil, moat.CodeInvalidParameter},
		{"downgrade cannot raise ports", pro, moat.ProductDdoscoo, moat.ModifyDowngrade, p("PortCount", "150"), nil, moat.CodeInvalidParameter},
		{"a mixed request is refused whole", pro, moat.ProductDdoscoo, moat.ModifyUpgrade, p("Bandwidth", "200", "ServiceBandwidth", "50"), nil, moat.CodeInvalidParameter},
		{"the result must validate", pro, moat.ProductDdoscoo, moat.ModifyUpgrade, p("BaseBandwidth", "300"), nil, moat.CodeInvalidParameter},
		{"base and burst together", pro, moat.ProductDdoscoo, moat.ModifyUpgrade, p("BaseBandwidth", "300", "Bandwidth", "300"),
			func(s *moat.Spec) { s.BaseBandwidth, s.Bandwidth = 300, 300 }, ""},
		{"product plan is fixed", prem, moat.ProductDdosDip, moat.ModifyUpgrade, p("ProductPlan", "3"), nil, moat.CodeInvalidParameter},
		{"product plan is fixed downwards too", prem, moat.ProductDdosDip, moat.ModifyDowngrade, p("ProductPlan", "1"), nil, moat.CodeInvalidParameter},
		{"the same product plan is no change", prem, moat.ProductDdosDip, moat.ModifyDowngrade, p("ProductPlan", "2", "NormalBandwidth", "90"), func(s *moat.Spec) { s.NormalBandwidth = 90 }, ""},
		{"a Premium upgrade is judged by its plan", prem, moat.ProductDdosDip, moat.ModifyUpgrade, p("NormalBandwidth", "150"), nil, moat.CodeInvalidParameter},
		{"a plan change is refused as such", prem, moat.ProductDdosDip, moat.ModifyUpgrade, p("ProductPlan", "0", "NormalBandwidth", "300"), nil, moat.CodeInvalidParameter},
		{"a Premium upgrade of NormalQps from 500", premQps, moat.ProductDdosDip, moat.ModifyUpgrade, p("NormalQps", "600"), func(s *moat.Spec) { s.NormalQps = 600 }, ""},
		{"a Premium downgrade of NormalQps to 500", prem, moat.ProductDdosDip, moat.ModifyDowngrade, p("NormalQps", "500"), func(s *moat.Spec) { s.NormalQps = 500 }, ""},
		{"a Pro downgrade of NormalQps to 500", pro, moat.ProductDdoscoo, moat.ModifyDowngrade, p("NormalQps", "500"), nil, moat.CodeInvalidParameter},
		{"a Premium upgrade past 400 ports", prem, moat.ProductDdosDip, moat.ModifyUpgrade, p("PortCount", "405"), nil, moat.CodeInvalidParameter},
		{"burst mode is fixed", prem, moat.ProductDdosDip, moat.ModifyUpgrade, p("95BurstBandwidthMode", "1"), nil, moat.CodeInvalidParameter},
		{"service partner is fixed", moat.Spec{}, moat.ProductDdosDip, moat.ModifyUpgrade, p("ServicePartner", "coop-line-001"), nil, moat.CodeInvalidParameter},
		{"edition is fixed", moat.Spec{}, moat.ProductDdosDip, moat.ModifyUpgrade, p("Edition", "coop"), nil, moat.CodeInvalidParameter},
		{"address type is fixed", moat.Spec{}, moat.ProductDdosDip, moat.ModifyUpgrade, p("AddressType", "Ipv4"), nil, moat.CodeInvalidParameter},
		{"the same address type is no change", pro, moat.ProductDdoscoo, moat.ModifyUpgrade, p("AddressType", "Ipv4", "Bandwidth", "110"), func(s *moat.Spec) { s.Bandwidth = 110 }, ""},
		{"an invalid value", pro, moat.ProductDdoscoo, moat.ModifyUpgrade, p("PortCount", "153"), nil, moat.CodeInvalidParameter},
		{"an unknown code", pro, moat.ProductDdoscoo, moat.ModifyUpgrade, p("Colour", "red"), nil, moat.CodeInvalidParameter},
		{"no parameters", pro, moat.ProductDdoscoo, moat.ModifyUpgrade, nil, nil, "MissingParams.1.Code"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			from := c.from
			got, err := from.Modify(c.typ, c.params, c.product)
			if from != c.from {
				t.Fatalf("Modify changed its receiver to %+v", from)
			}
			if c.want == nil {
				if moat.ErrorCode(err) != c.code || moat.ErrorKind(err) != moat.KindInvalid {
					t.Fatalf("Modify(%s, %+v) = %+v, %v; want %s", c.typ, c.params, got, err, c.code)
				}
				return
			}
			want := c.from
			c.want(&want)
			if err != nil || got != want {
				t.Fatalf("Modify(%s, %+v) = %+v, %v; want %+v", c.typ, c.params, got, err, want)
			}
		})
	}
}

// TestModifyMessagesSayWhy pins that a refused direction names the item,
// and the direction to use instead.
func TestModifyMessagesSayWhy(t *testing.T) {
	s := moat.DefaultSpec(moat.ProductDdoscoo)
	s.Bandwidth, s.PortCount = 100, 100
	for _, c := range []struct {
		typ    moat.ModifyType
		params []moat.Param
		want   []string
	}{
		{moat.ModifyUpgrade, []moat.Param{{Code: "Bandwidth", Value: "50"}}, []string{"Bandwidth", "Downgrade"}},
		{moat.ModifyDowngrade, []moat.Param{{Code: "Bandwidth", Value: "200"}}, []string{"Bandwidth", "Upgrade"}},
		{moat.ModifyDowngrade, []moat.Param{{Code: "PortCount", Value: "50"}}, []string{"PortCount", "only be raised"}},
		{moat.ModifyUpgrade, []moat.Param{{Code: "Edition", Value: "advance"}}, []string{"Edition", "cannot be changed"}},
		{moat.ModifyUpgrade, []moat.Param{{Code: "ProductPlan", Value: "1"}}, []string{"ProductPlan", "does not apply", "ddoscoo"}},
	} {
		_, err := s.Modify(c.typ, c.params, moat.ProductDdoscoo)
		for _, w := range c.want {
			if err == nil || !strings.Contains(moat.AsError(err).Message, w) {
				t.Errorf("Modify(%s, %+v) = %v; want a message containing %q", c.typ, c.params, err, w)
			}
		}
	}
}

// TestParseModifyType pins both spellings (BSS Upgrade/Downgrade, ddoscoo
// UPGRADE/DOWNGRADE) and the refusal of anything else.
func TestParseModifyType(t *testing.T) {
	for in, want := range map[string]moat.ModifyType{
		"Upgrade": moat.ModifyUpgrade, "UPGRADE": moat.ModifyUpgrade, "upgrade": moat.ModifyUpgrade,
		"Downgrade": moat.ModifyDowngrade, "DOWNGRADE": moat.ModifyDowngrade,
	} {
		if got, err := moat.ParseModifyType(in); err != nil || got != want {
			t.Errorf("ParseModifyType(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "Up", "Upgrades", " Upgrade", "Renew"} {
		if got, err := moat.ParseModifyType(in); moat.ErrorCode(err) != moat.CodeInvalidParameter || !strings.Contains(moat.AsError(err).Message, "ModifyType") {
			t.Errorf("ParseModifyType(%q) = %q, %v; want InvalidParameter naming ModifyType", in, got, err)
		}
	}
}

// TestValidPeriod pins the subscription lengths sold: 1 to 9, 12, 24 and
// 36 months; anything else is InvalidParameter naming the parameter.
func TestValidPeriod(t *testing.T) {
	for _, m := range []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 24, 36} {
		if err := moat.ValidPeriod("Period", m); err != nil {
			t.Errorf("ValidPeriod(%d): %v", m, err)
		}
	}
	for _, m := range []int{-1, 0, 10, 11, 13, 18, 23, 25, 35, 37, 48, 60} {
		if err := moat.ValidPeriod("RenewPeriod", m); moat.ErrorCode(err) != moat.CodeInvalidParameter || !strings.Contains(moat.AsError(err).Message, "RenewPeriod") {
			t.Errorf("ValidPeriod(%d) = %v; want InvalidParameter naming RenewPeriod", m, err)
		}
	}
}

// TestParseRenewalStatus pins the three statuses, the empty default
// (ManualRenewal) and the refusal, naming the parameter, of other
// spellings.
func TestParseRenewalStatus(t *testing.T) {
	for in, want := range map[string]moat.RenewalStatus{
		"": moat.RenewalManual, "ManualRenewal": moat.RenewalManual, "AutoRenewal": moat.RenewalAuto, "NotRenewal": moat.RenewalNone,
	} {
		if got, err := moat.ParseRenewalStatus("RenewalStatus", in); err != nil || got != want {
			t.Errorf("ParseRenewalStatus(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"autorenewal", "AUTORENEWAL", "Auto", "Manual", " AutoRenewal"} {
		if got, err := moat.ParseRenewalStatus("RenewStatus", in); moat.ErrorCode(err) != moat.CodeInvalidParameter || !strings.Contains(moat.AsError(err).Message, "RenewStatus") {
			t.Errorf("ParseRenewalStatus(%q) = %q, %v; want InvalidParameter naming RenewStatus", in, got, err)
		}
	}
}

// TestProductTypes pins the three BSS product types, where each lives,
// and the product an instance made without one gets in each region.
func TestProductTypes(t *testing.T) {
	for in, region := range map[string]moat.Region{
		"ddoscoo": moat.RegionMainland, "ddoscoo_intl": moat.RegionMainland, "ddosDip": moat.RegionOverseas,
	} {
		p, err := moat.ParseProductType(in)
		if err != nil || string(p) != in || p.Region() != region {
			t.Errorf("ParseProductType(%q) = %q (region %s), %v; want region %s", in, p, p.Region(), err, region)
		}
	}
	for _, in := range []string{"", "ddos", "DDOSCOO", "ddosdip", "ddoscoo-intl", "ddospro"} {
		if p, err := moat.ParseProductType(in); moat.ErrorCode(err) != moat.CodeInvalidParameter || !strings.Contains(moat.AsError(err).Message, "ProductType") {
			t.Errorf("ParseProductType(%q) = %q, %v; want InvalidParameter naming ProductType", in, p, err)
		}
	}
	if p := moat.DefaultProductType(moat.RegionMainland); p != moat.ProductDdoscoo {
		t.Errorf("DefaultProductType(mainland) = %q", p)
	}
	if p := moat.DefaultProductType(moat.RegionOverseas); p != moat.ProductDdosDip {
		t.Errorf("DefaultProductType(overseas) = %q", p)
	}
}
