package moat_test

import (
	"fmt"
	"strings"
	"testing"

	"moat/internal/moat"
)

// TestApplyParamsBounds pins the Parameter.N catalogue: every code is
// accepted at the edges of its range and sets its field, and refused just
// outside with InvalidParameter naming the code; the spec is not touched
// by a refused value.
func TestApplyParamsBounds(t *testing.T) {
	type set func(*moat.Spec)
	cases := []struct {
		code, value string
		want        set // nil: refused
	}{
		{"BaseBandwidth", "30", func(s *moat.Spec) { s.BaseBandwidth = 30 }},
		{"BaseBandwidth", "600", func(s *moat.Spec) { s.BaseBandwidth = 600 }},
		{"BaseBandwidth", "31", nil},
		{"BaseBandwidth", "200", nil},
		{"BaseBandwidth", "700", nil},
		{"BaseBandwidth", "0", nil},
		{"Bandwidth", "30", func(s *moat.Spec) { s.Bandwidth = 30 }},
		{"Bandwidth", "1000", func(s *moat.Spec) { s.Bandwidth = 1000 }},
		{"Bandwidth", "20", nil},
		{"Bandwidth", "35", nil},
		{"Bandwidth", "1010", nil},
		{"ServiceBandwidth", "100", func(s *moat.Spec) { s.ServiceBandwidth = 100 }},
		{"ServiceBandwidth", "150", func(s *moat.Spec) { s.ServiceBandwidth = 150 }},
		{"ServiceBandwidth", "5000", func(s *moat.Spec) { s.ServiceBandwidth = 5000 }},
		{"ServiceBandwidth", "50", nil},
		{"ServiceBandwidth", "120", nil},
		{"ServiceBandwidth", "5050", nil},
		{"PortCount", "50", func(s *moat.Spec) { s.PortCount = 50 }},
		{"PortCount", "55", func(s *moat.Spec) { s.PortCount = 55 }},
		{"PortCount", "10000", func(s *moat.Spec) { s.PortCount = 10000 }},
		{"PortCount", "45", nil},
		{"PortCount", "53", nil},
		{"PortCount", "10005", nil},
		{"DomainCount", "50", func(s *moat.Spec) { s.DomainCount = 50 }},
		{"DomainCount", "55", func(s *moat.Spec) { s.DomainCount = 55 }},
		{"DomainCount", "10000", func(s *moat.Spec) { s.DomainCount = 10000 }},
		{"DomainCount", "45", nil},
		{"DomainCount", "53", nil},
		{"DomainCount", "10005", nil},
		{"FunctionVersion", "0", func(s *moat.Spec) { s.FunctionVersion = 0 }},
		{"FunctionVersion", "1", func(s *moat.Spec) { s.FunctionVersion = 1 }},
		{"FunctionVersion", "2", nil},
		{"FunctionVersion", "-1", nil},
		{"NormalBandwidth", "10", func(s *moat.Spec) { s.NormalBandwidth = 10 }},
		{"NormalBandwidth", "10000", func(s *moat.Spec) { s.NormalBandwidth = 10000 }},
		{"NormalBandwidth", "0", nil},
		{"NormalBandwidth", "15", nil},
		{"NormalBandwidth", "10010", nil},
		{"NormalQps", "3000", func(s *moat.Spec) { s.NormalQps = 3000 }},
		{"NormalQps", "3100", func(s *moat.Spec) { s.NormalQps = 3100 }},
		{"NormalQps", "100000", func(s *moat.Spec) { s.NormalQps = 100000 }},
		{"NormalQps", "2900", nil},
		{"NormalQps", "3050", nil},
		{"NormalQps", "100100", nil},
		{"ProductPlan", "0", func(s *moat.Spec) { s.ProductPlan = 0 }},
		{"ProductPlan", "3", func(s *moat.Spec) { s.ProductPlan = 3 }},
		{"ProductPlan", "4", nil},
		{"ProductPlan", "-1", nil},
		{"95BurstBandwidthMode", "0", func(s *moat.Spec) { s.BurstMode = 0 }},
		{"95BurstBandwidthMode", "2", func(s *moat.Spec) { s.BurstMode = 2 }},
		{"95BurstBandwidthMode", "3", nil},
		{"ServicePartner", "coop-line-001", func(s *moat.Spec) { s.ServicePartner = "coop-line-001" }},
		{"ServicePartner", "coop-line-002", nil},
		{"Edition", "coop", func(s *moat.Spec) { s.EditionSale = "coop" }},
		{"Edition", "Coop", nil},
		{"AddressType", "Ipv4", func(s *moat.Spec) { s.AddressType = "Ipv4" }},
		{"AddressType", "ipv4", nil},
		{"AddressType", "Ipv6", nil},
		// Numbers are decimal integers.
		{"PortCount", "abc", nil},
		{"PortCount", "50.0", nil},
		{"PortCount", "0x32", nil},
		{"Bandwidth", "1e2", nil},
	}
	// A starting spec with every field away from the values above, so a
	// value that lands in the wrong field shows.
	start := moat.Spec{BaseBandwidth: 60, Bandwidth: 60, ServiceBandwidth: 200, PortCount: 60, DomainCount: 60, FunctionVersion: 1,
		NormalBandwidth: 20, NormalQps: 4000, ProductPlan: 1, BurstMode: 1}
	for _, c := range cases {
		t.Run(c.code+"="+c.value, func(t *testing.T) {
			got := start
			err := moat.ApplyParams(&got, []moat.Param{{Code: c.code, Value: c.value}})
			if c.want == nil {
				if moat.ErrorCode(err) != moat.CodeInvalidParameter || !strings.Contains(moat.AsError(err).Message, c.code) {
					t.Fatalf("ApplyParams(%s=%q) = %v; want InvalidParameter naming %s", c.code, c.value, err, c.code)
				}
				if got != start {
					t.Fatalf("a refused value changed the spec: %+v", got)
				}
				return
			}
			want := start
			c.want(&want)
			if err != nil || got != want {
				t.Fatalf("ApplyParams(%s=%q) = %+v, %v; want %+v", c.code, c.value, got, err, want)
			}
		})
	}
}

// TestApplyParamsCatalogueIsCovered keeps TestApplyParamsBounds honest: it
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
			err := moat.ApplyParams(&got, c.params)
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
		{"the same product plan is no change", prem, moat.ProductDdosDip, moat.ModifyUpgrade, p("ProductPlan", "2", "NormalBandwidth", "200"), func(s *moat.Spec) { s.NormalBandwidth = 200 }, ""},
		{"burst mode is fixed", prem, moat.ProductDdosDip, moat.ModifyUpgrade, p("95BurstBandwidthMode", "1"), nil, moat.CodeInvalidParameter},
		{"service partner is fixed", moat.Spec{}, moat.ProductDdosDip, moat.ModifyUpgrade, p("ServicePartner", "coop-line-001"), nil, moat.CodeInvalidParameter},
		{"edition is fixed", moat.Spec{}, moat.ProductDdosDip, moat.ModifyUpgrade, p("Edition", "coop"), nil, moat.CodeInvalidParameter},
		{"address type is fixed", moat.Spec{}, moat.ProductDdosDip, moat.ModifyUpgrade, p("AddressType", "Ipv4"), nil, moat.CodeInvalidParameter},
		{"the same address type is no change", pro, moat.ProductDdoscoo, moat.ModifyUpgrade, p("AddressType", "Ipv4", "Bandwidth", "110"), func(s *moat.Spec) { s.Bandwidth = 110 }, ""},
		{"an invalid value", pro, moat.ProductDdoscoo, moat.ModifyUpgrade, p("PortCount", "153"), nil, moat.CodeInvalidParameter},
		{"an unknown code", pro, moat.ProductDdoscoo, moat.ModifyUpgrade, p("Colour", "red"), nil, moat.CodeInvalidParameter},
		{"no parameters", pro, moat.ProductDdoscoo, moat.ModifyUpgrade, nil, nil, "MissingParameter.1.Code"},
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
