package moat

import (
	"fmt"
	"slices"
	"strconv"
)

// The values each Parameter code may take, per product. Anti-DDoS Pro and
// Anti-DDoS Premium sell different ranges under the same codes (Premium's
// NormalQps starts at 500, Pro's at 3000), so every row names its product
// and, for Premium, the ProductPlans it covers; each cites its source:
//
//   - [ProROS]: ROS resource type ALIYUN::DDoSPro::ProInstance,
//     https://www.alibabacloud.com/help/en/ros/developer-reference/aliyun-ddospro-proinstance
//   - [PremiumROS]: ROS resource type ALIYUN::DDoSPro::PremiumInstance,
//     https://www.alibabacloud.com/help/en/ros/developer-reference/aliyun-ddospro-premiuminstance
//     (the per-plan ranges, including plan 3, as the ROS CDK's
//     PremiumInstanceProps states them)
//   - [ModifyAPI]: ddoscoo 2020-01-01 ModifyInstance, whose items are the
//     Parameter codes (EditionSale is the code Edition)
//   - [TF]: the Terraform provider's alicloud_ddoscoo_instance, a real
//     client: it sends ServicePartner, Edition, PortCount and DomainCount
//     for every product, and its acceptance tests (run against the live
//     service) upgrade a Pro instance's domain_count to 55.
//
// Where a source gives no bound, the row says so and keeps the generous
// bound moat has always had (docs/DESIGN.md, Billing).

// productLine is what a range belongs to: Pro (ddoscoo and ddoscoo_intl,
// one product sold on two sites) or Premium (ddosDip).
type productLine int

const (
	linePro productLine = iota
	linePremium
)

func lineOf(p ProductType) productLine {
	if p == ProductDdosDip {
		return linePremium
	}
	return linePro
}

func (l productLine) String() string {
	if l == linePremium {
		return "Anti-DDoS Premium"
	}
	return "Anti-DDoS Pro"
}

// planNames are Premium's ProductPlan values, for messages.
var planNames = map[int]string{0: "Insurance", 1: "Unlimited", 2: "CMA", 3: "Sec-CMA"}

// specRange is the values one code may take for one product line (and,
// when plans is set, only for those Premium plans).
type specRange struct {
	line  productLine
	code  string
	plans []int          // Premium plans the row covers; nil: all
	ints  func(int) bool // a numeric code's accepted values
	strs  []string       // a string code's accepted values
	want  string         // what the value must be, for the message
}

var specRanges = []specRange{
	// Anti-DDoS Pro.
	{line: linePro, code: "BaseBandwidth", ints: oneOf(30, 60, 100, 300, 400, 500, 600), want: "one of 30, 60, 100, 300, 400, 500, 600 (Gbps)"}, // [ProROS]
	// [ProROS] says only "at least BaseBandwidth, depending on it" (the
	// cross-item rule is in Spec.Validate); the step and the ceiling are
	// moat's.
	{line: linePro, code: "Bandwidth", ints: stepRange(30, 1000, 10), want: "a multiple of 10 from 30 to 1000 (Gbps)"},
	{line: linePro, code: "ServiceBandwidth", ints: stepRange(100, 5000, 50), want: "a multiple of 50 from 100 to 5000 (Mbps)"}, // [ProROS]
	{line: linePro, code: "PortCount", ints: stepRange(50, 400, 5), want: "a multiple of 5 from 50 to 400"},                     // [ProROS], [TF] ("at least 50, step 5")
	// [ProROS] says multiples of 10 from 50 to 2000, but [TF] documents
	// steps of 5 and its acceptance tests buy 55: refusing 55 would break
	// the Terraform flow, so the step is TF's and the ceiling ROS's.
	{line: linePro, code: "DomainCount", ints: stepRange(50, 2000, 5), want: "a multiple of 5 from 50 to 2000"},
	{line: linePro, code: "NormalQps", ints: stepRange(3000, 100000, 100), want: "a multiple of 100 from 3000 to 100000"}, // [ProROS]
	{line: linePro, code: "AddressType", strs: []string{"Ipv4", "Ipv6"}, want: "Ipv4 or Ipv6"},                            // [ProROS]
	{line: linePro, code: "Edition", strs: []string{"coop", "advance"}, want: "coop or advance"},                          // [ModifyAPI] EditionSale; [ProROS] lists coop only

	// Anti-DDoS Premium. [PremiumROS] says plan 2 (CMA) needs no PortCount,
	// DomainCount or NormalQps; [TF] sends PortCount and DomainCount
	// anyway, so plan 2 takes the values of plans 0 and 3 rather than
	// refusing them.
	{line: linePremium, code: "NormalQps", plans: []int{0, 2, 3}, ints: stepRange(500, 100000, 100), want: "a multiple of 100 from 500 to 100000"},             // [PremiumROS] plans 0 and 3; plan 2 is moat's (above)
	{line: linePremium, code: "NormalQps", plans: []int{1}, ints: stepRange(1000, 100000, 100), want: "a multiple of 100 from 1000 to 100000"},                 // [PremiumROS]
	{line: linePremium, code: "NormalBandwidth", plans: []int{0, 1}, ints: oneOf(100, 150, 200, 250, 300), want: "one of 100, 150, 200, 250, 300 (Mbps)"},      // [PremiumROS]
	{line: linePremium, code: "NormalBandwidth", plans: []int{2}, ints: stepRange(10, 100, 10), want: "one of 10, 20, 30, 40, 50, 60, 70, 80, 90, 100 (Mbps)"}, // [PremiumROS]
	{line: linePremium, code: "NormalBandwidth", plans: []int{3}, ints: oneOf(10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 150, 200),
		want: "one of 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 150, 200 (Mbps)"}, // [PremiumROS]
	{line: linePremium, code: "PortCount", ints: stepRange(5, 400, 5), want: "a multiple of 5 from 5 to 400"},                       // [PremiumROS] plans 0, 1, 3
	{line: linePremium, code: "DomainCount", ints: stepRange(10, 200, 10), want: "a multiple of 10 from 10 to 200"},                 // [PremiumROS] plans 0, 1, 3
	{line: linePremium, code: "ProductPlan", ints: oneOf(0, 1, 2, 3), want: "0 (Insurance), 1 (Unlimited), 2 (CMA) or 3 (Sec-CMA)"}, // [PremiumROS]
	{line: linePremium, code: "Edition", strs: []string{"coop"}, want: "coop"},                                                      // [TF] sends it for every product

	// Both products, the same values.
	{line: linePro, code: "FunctionVersion", ints: oneOf(0, 1), want: "0 (standard) or 1 (enhanced)"},                            // [ProROS]
	{line: linePremium, code: "FunctionVersion", ints: oneOf(0, 1), want: "0 (standard) or 1 (enhanced)"},                        // [PremiumROS]
	{line: linePro, code: "95BurstBandwidthMode", ints: oneOf(0, 1, 2), want: "0 (off), 1 (daily 95th) or 2 (monthly 95th)"},     // [ProROS] BurstBandwidthMode
	{line: linePremium, code: "95BurstBandwidthMode", ints: oneOf(0, 1, 2), want: "0 (off), 1 (daily 95th) or 2 (monthly 95th)"}, // [PremiumROS] BurstBandwidthMode
	{line: linePro, code: "ServicePartner", strs: []string{"coop-line-001"}, want: "coop-line-001"},                              // [ProROS]
	{line: linePremium, code: "ServicePartner", strs: []string{"coop-line-001"}, want: "coop-line-001"},                          // [ModifyAPI]; [TF] sends it for every product
}

func stepRange(lo, hi, step int) func(int) bool {
	return func(n int) bool { return n >= lo && n <= hi && (n-lo)%step == 0 }
}

func oneOf(vals ...int) func(int) bool {
	return func(n int) bool { return slices.Contains(vals, n) }
}

// appliesTo reports whether code is sold with the product line at all.
func appliesTo(l productLine, code string) bool {
	return slices.ContainsFunc(specRanges, func(r specRange) bool { return r.line == l && r.code == code })
}

// rangeFor is the row judging code for line l and Premium plan plan.
func rangeFor(l productLine, code string, plan int) (specRange, bool) {
	for _, r := range specRanges {
		if r.line == l && r.code == code && (r.plans == nil || slices.Contains(r.plans, plan)) {
			return r, true
		}
	}
	return specRange{}, false
}

// checkProductCodes refuses a code that the product does not have.
func checkProductCodes(p ProductType, params []Param) error {
	for _, prm := range params {
		if _, known := specRules[prm.Code]; known && !appliesTo(lineOf(p), prm.Code) {
			return Errorf(CodeInvalidParameter, "Parameter code %q does not apply to ProductType %s (%s).", prm.Code, p, lineOf(p))
		}
	}
	return nil
}

// checkRanges judges each given code's value in s by the product's row
// for it (Premium's by s's ProductPlan, whatever order the items came in).
func checkRanges(p ProductType, s *Spec, given []string) error {
	l := lineOf(p)
	for _, code := range given {
		r, ok := rangeFor(l, code, s.ProductPlan)
		if !ok {
			return Errorf(CodeInvalidParameter, "Parameter code %q does not apply to ProductType %s (%s).", code, p, l)
		}
		rule := specRules[code]
		var good bool
		var got string
		if r.ints != nil {
			n := rule.get(s)
			good, got = r.ints(n), strconv.Itoa(n)
		} else {
			v := *rule.str(s)
			good, got = slices.Contains(r.strs, v), v
		}
		if !good {
			subject := l.String()
			if r.plans != nil {
				subject += fmt.Sprintf(" with ProductPlan %d (%s)", s.ProductPlan, planNames[s.ProductPlan])
			}
			return InvalidParamValue(ParamName(code), got, fmt.Sprintf("%s for %s must be %s", code, subject, r.want))
		}
		if code == "AddressType" && s.AddressType == "Ipv6" {
			return InvalidParam(ParamName("AddressType"), "moat's IP pools are IPv4 only; use Ipv4")
		}
	}
	return nil
}
