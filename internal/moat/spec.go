package moat

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ProductType is what BSS sells: Anti-DDoS Pro bought on the China site
// (ddoscoo) or the international site (ddoscoo_intl), both in the
// mainland region, or Anti-DDoS Premium (ddosDip), outside the mainland.
type ProductType string

const (
	ProductDdoscoo     ProductType = "ddoscoo"
	ProductDdoscooIntl ProductType = "ddoscoo_intl"
	ProductDdosDip     ProductType = "ddosDip"
)

// ParseProductType validates a ProductType.
func ParseProductType(s string) (ProductType, error) {
	switch p := ProductType(s); p {
	case ProductDdoscoo, ProductDdoscooIntl, ProductDdosDip:
		return p, nil
	}
	return "", InvalidParam("ProductType", "use ddoscoo or ddoscoo_intl (Anti-DDoS Pro, cn-hangzhou) or ddosDip (Anti-DDoS Premium, ap-southeast-1)")
}

// Region is where instances of the product live (facts file C).
func (p ProductType) Region() Region {
	if p == ProductDdosDip {
		return RegionOverseas
	}
	return RegionMainland
}

// DefaultProductType is the product of an instance created without one.
func DefaultProductType(r Region) ProductType {
	if r == RegionOverseas {
		return ProductDdosDip
	}
	return ProductDdoscoo
}

// Spec is an instance's purchased specification: the BSS
// Parameter.N.Code/Value items (facts file D) and what DescribeInstanceSpecs
// reports of them.
type Spec struct {
	BaseBandwidth    int    // guaranteed protection, Gbps (Pro)
	Bandwidth        int    // burstable protection, Gbps (Pro)
	ServiceBandwidth int    // clean bandwidth, Mbps (Pro)
	PortCount        int    // forwarding rules for ports: PortLimit
	DomainCount      int    // forwarding rules for domains: DomainLimit
	FunctionVersion  int    // 0 standard, 1 enhanced
	NormalBandwidth  int    // clean bandwidth, Mbps (Premium)
	NormalQps        int    // clean QPS
	ProductPlan      int    // Premium plan: 0 Insurance, 1 Unlimited, 2 CMA, 3 Sec-CMA
	BurstMode        int    // 95BurstBandwidthMode: 0 off, 1 daily 95th, 2 monthly 95th
	ServicePartner   string // protection line, coop-line-001
	EditionSale      string // coop (Profession)
	AddressType      string // Ipv4 (Ipv6 is not supported by moat's pools)
}

// DefaultSpec is the smallest specification of a product: what an
// instance created without parameters (the admin API) gets.
func DefaultSpec(p ProductType) Spec {
	s := Spec{PortCount: 50, DomainCount: 50, ServicePartner: "coop-line-001", EditionSale: "coop", AddressType: "Ipv4", NormalQps: 3000}
	if p == ProductDdosDip {
		s.NormalBandwidth = 100
		return s
	}
	s.BaseBandwidth, s.Bandwidth, s.ServiceBandwidth = 30, 30, 100
	return s
}

// paramRule validates one Parameter.N.Code.
type paramRule struct {
	// set applies a value to a spec; it returns an error naming the code.
	set func(s *Spec, v string) error
	// get reads the value back (for modify checks and echoes).
	get func(s *Spec) int
	// upgradable: Upgrade/Downgrade may change it (numeric only).
	upgradable bool
	// onlyUp: it can be raised but never lowered (ports and domains).
	onlyUp bool
}

func intRule(code string, field func(*Spec) *int, ok func(int) bool, why string, upgradable, onlyUp bool) paramRule {
	return paramRule{
		set: func(s *Spec, v string) error {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil || !ok(n) {
				return InvalidParam("Parameter "+code, fmt.Sprintf("%q is not %s", v, why))
			}
			*field(s) = n
			return nil
		},
		get:        func(s *Spec) int { return *field(s) },
		upgradable: upgradable,
		onlyUp:     onlyUp,
	}
}

func strRule(code string, field func(*Spec) *string, allowed ...string) paramRule {
	return paramRule{set: func(s *Spec, v string) error {
		if !slices.Contains(allowed, v) {
			return InvalidParam("Parameter "+code, fmt.Sprintf("%q is not one of %s", v, strings.Join(allowed, ", ")))
		}
		*field(s) = v
		return nil
	}}
}

func stepRange(lo, hi, step int) func(int) bool {
	return func(n int) bool { return n >= lo && n <= hi && (n-lo)%step == 0 }
}

func oneOf(vals ...int) func(int) bool {
	return func(n int) bool { return slices.Contains(vals, n) }
}

// specRules is the catalogue of Parameter codes moat accepts, with the
// ranges of the facts file (D) and, where it gives none, of the product's
// ROS resource type (ALIYUN::DDoSPro::ProInstance). Limits that neither
// states are generous bounds, written down in docs/DESIGN.md.
var specRules = map[string]paramRule{
	"BaseBandwidth": intRule("BaseBandwidth", func(s *Spec) *int { return &s.BaseBandwidth },
		oneOf(30, 60, 100, 300, 400, 500, 600), "one of 30, 60, 100, 300, 400, 500, 600 (Gbps)", true, false),
	"Bandwidth": intRule("Bandwidth", func(s *Spec) *int { return &s.Bandwidth },
		stepRange(30, 1000, 10), "a multiple of 10 from 30 to 1000 (Gbps)", true, false),
	"ServiceBandwidth": intRule("ServiceBandwidth", func(s *Spec) *int { return &s.ServiceBandwidth },
		stepRange(100, 5000, 50), "a multiple of 50 from 100 to 5000 (Mbps)", true, false),
	"PortCount": intRule("PortCount", func(s *Spec) *int { return &s.PortCount },
		stepRange(50, 10000, 5), "at least 50, in steps of 5", true, true),
	"DomainCount": intRule("DomainCount", func(s *Spec) *int { return &s.DomainCount },
		stepRange(50, 10000, 5), "at least 50, in steps of 5", true, true),
	"FunctionVersion": intRule("FunctionVersion", func(s *Spec) *int { return &s.FunctionVersion },
		oneOf(0, 1), "0 (standard) or 1 (enhanced)", true, false),
	"NormalBandwidth": intRule("NormalBandwidth", func(s *Spec) *int { return &s.NormalBandwidth },
		stepRange(10, 10000, 10), "a multiple of 10 from 10 to 10000 (Mbps)", true, false),
	"NormalQps": intRule("NormalQps", func(s *Spec) *int { return &s.NormalQps },
		stepRange(3000, 100000, 100), "a multiple of 100 from 3000 to 100000", true, false),
	"ProductPlan": intRule("ProductPlan", func(s *Spec) *int { return &s.ProductPlan },
		oneOf(0, 1, 2, 3), "0, 1, 2 or 3", false, false),
	"95BurstBandwidthMode": intRule("95BurstBandwidthMode", func(s *Spec) *int { return &s.BurstMode },
		oneOf(0, 1, 2), "0, 1 or 2", false, false),
	"ServicePartner": strRule("ServicePartner", func(s *Spec) *string { return &s.ServicePartner }, "coop-line-001"),
	"Edition":        strRule("Edition", func(s *Spec) *string { return &s.EditionSale }, "coop", "advance"),
	"AddressType": {set: func(s *Spec, v string) error {
		switch v {
		case "Ipv4":
			s.AddressType = v
			return nil
		case "Ipv6":
			return InvalidParam("Parameter AddressType", "moat's IP pools are IPv4 only; use Ipv4")
		}
		return InvalidParam("Parameter AddressType", fmt.Sprintf("%q is not Ipv4 or Ipv6", v))
	}},
}

// proOnly and premiumOnly are the codes that belong to one product (the
// CreateInstance pages list them per product); the rest apply to both.
var (
	proOnly     = map[string]bool{"BaseBandwidth": true, "Bandwidth": true, "ServiceBandwidth": true, "95BurstBandwidthMode": true, "Edition": true, "AddressType": true}
	premiumOnly = map[string]bool{"NormalBandwidth": true, "ProductPlan": true}
)

// checkProductCodes refuses a code that the product does not have.
func checkProductCodes(p ProductType, params []Param) error {
	for _, prm := range params {
		if p == ProductDdosDip && proOnly[prm.Code] || p != ProductDdosDip && premiumOnly[prm.Code] {
			return Errorf(CodeInvalidParameter, "Parameter code %q does not apply to ProductType %s.", prm.Code, p)
		}
	}
	return nil
}

// Param is one Parameter.N.Code/Value item.
type Param struct {
	Code  string
	Value string
}

// ApplyParams sets the given parameters on s. An empty Value leaves the
// item at its current value (the Terraform provider sends AddressType and
// 95BurstBandwidthMode empty when unset). Unknown codes are refused with
// InvalidParameter naming the code.
func ApplyParams(s *Spec, params []Param) error {
	seen := map[string]bool{}
	for _, p := range params {
		rule, ok := specRules[p.Code]
		if !ok {
			return Errorf(CodeInvalidParameter, "The specified parameter Parameter.N.Code value %q is not valid: accepted codes are %s.", p.Code, strings.Join(ParamCodes(), ", "))
		}
		if seen[p.Code] {
			return Errorf(CodeInvalidParameter, "Parameter code %q is given more than once.", p.Code)
		}
		seen[p.Code] = true
		if p.Value == "" {
			continue
		}
		if err := rule.set(s, p.Value); err != nil {
			return err
		}
	}
	return nil
}

// ParamCodes lists the accepted codes, sorted.
func ParamCodes() []string {
	out := make([]string, 0, len(specRules))
	for c := range specRules {
		out = append(out, c)
	}
	slices.Sort(out)
	return out
}

// Validate checks a complete specification for a product.
func (s *Spec) Validate(p ProductType) error {
	if p != ProductDdosDip && s.Bandwidth < s.BaseBandwidth {
		return InvalidParam("Parameter Bandwidth", fmt.Sprintf("the burstable bandwidth (%d Gbps) cannot be below the base bandwidth (%d Gbps)", s.Bandwidth, s.BaseBandwidth))
	}
	return nil
}

// ModifyType is an Upgrade or a Downgrade (BSS spells them Upgrade and
// Downgrade, ddoscoo UPGRADE and DOWNGRADE).
type ModifyType string

const (
	ModifyUpgrade   ModifyType = "Upgrade"
	ModifyDowngrade ModifyType = "Downgrade"
)

// ParseModifyType accepts either spelling.
func ParseModifyType(s string) (ModifyType, error) {
	switch strings.ToLower(s) {
	case "upgrade":
		return ModifyUpgrade, nil
	case "downgrade":
		return ModifyDowngrade, nil
	}
	return "", InvalidParam("ModifyType", "use Upgrade or Downgrade")
}

// Modify applies params to a copy of s as an upgrade or a downgrade:
// every changed item must be one that can change, and move in the stated
// direction (ports and domains only up).
func (s Spec) Modify(t ModifyType, params []Param, p ProductType) (Spec, error) {
	next := s
	if len(params) == 0 {
		return s, MissingParam("Parameter.1.Code")
	}
	if err := checkProductCodes(p, params); err != nil {
		return s, err
	}
	if err := ApplyParams(&next, params); err != nil {
		return s, err
	}
	for _, prm := range params {
		rule := specRules[prm.Code]
		if rule.get == nil || !rule.upgradable {
			if specRulesDiffer(prm.Code, &s, &next) {
				return s, Errorf(CodeInvalidParameter, "Parameter %s cannot be changed after purchase; buy a new instance instead.", prm.Code)
			}
			continue
		}
		old, now := rule.get(&s), rule.get(&next)
		switch {
		case now == old:
		case t == ModifyUpgrade && now < old:
			return s, Errorf(CodeInvalidParameter, "An Upgrade cannot lower %s from %d to %d; use Downgrade.", prm.Code, old, now)
		case t == ModifyDowngrade && now > old:
			return s, Errorf(CodeInvalidParameter, "A Downgrade cannot raise %s from %d to %d; use Upgrade.", prm.Code, old, now)
		case t == ModifyDowngrade && rule.onlyUp:
			return s, Errorf(CodeInvalidParameter, "%s can only be raised (from %d); it cannot be downgraded to %d.", prm.Code, old, now)
		}
	}
	if next == s {
		return s, Errorf(CodeInvalidParameter, "Nothing would change: every item given already has that value.")
	}
	if err := next.Validate(p); err != nil {
		return s, err
	}
	return next, nil
}

func specRulesDiffer(code string, a, b *Spec) bool {
	switch code {
	case "ServicePartner":
		return a.ServicePartner != b.ServicePartner
	case "Edition":
		return a.EditionSale != b.EditionSale
	case "AddressType":
		return a.AddressType != b.AddressType
	case "ProductPlan":
		return a.ProductPlan != b.ProductPlan
	case "95BurstBandwidthMode":
		return a.BurstMode != b.BurstMode
	}
	return false
}

// FunctionVersionName is DescribeInstanceSpecs' spelling of the function
// plan.
func (s *Spec) FunctionVersionName() string {
	if s.FunctionVersion == 1 {
		return "enhance"
	}
	return "default"
}

// CleanBandwidth is the clean (service) bandwidth in Mbps.
func (s *Spec) CleanBandwidth(p ProductType) int {
	if p == ProductDdosDip {
		return s.NormalBandwidth
	}
	return s.ServiceBandwidth
}

// AddMonths moves t by n calendar months, in UTC, clamped to the last day
// of the target month (Jan 31 + 1 month is the end of February, as a
// billing period ends, not Go's normalised March 3).
func AddMonths(t time.Time, n int) time.Time {
	t = t.UTC()
	y, m, d := t.Date()
	first := time.Date(y, m+time.Month(n), 1, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
	last := first.AddDate(0, 1, -1).Day()
	return first.AddDate(0, 0, min(d, last)-1)
}

// Periods are the subscription lengths sold, in months (facts file D).
var Periods = []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 24, 36}

// ValidPeriod checks a Period or RenewPeriod in months.
func ValidPeriod(name string, months int) error {
	if !slices.Contains(Periods, months) {
		return InvalidParam(name, "a number of months: 1 to 9, 12, 24 or 36")
	}
	return nil
}

// RenewalStatus is BSS's renewal setting of an instance.
type RenewalStatus string

const (
	RenewalManual RenewalStatus = "ManualRenewal"
	RenewalAuto   RenewalStatus = "AutoRenewal"
	RenewalNone   RenewalStatus = "NotRenewal"
)

// ParseRenewalStatus validates a RenewalStatus ("" is ManualRenewal).
func ParseRenewalStatus(name, s string) (RenewalStatus, error) {
	switch r := RenewalStatus(s); r {
	case "":
		return RenewalManual, nil
	case RenewalManual, RenewalAuto, RenewalNone:
		return r, nil
	}
	return "", InvalidParam(name, "use AutoRenewal, ManualRenewal or NotRenewal")
}
