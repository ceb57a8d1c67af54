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

// Region is where instances of the product live: Pro in cn-hangzhou,
// Premium in ap-southeast-1 (the ReleaseInstance API reference).
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
// Parameter.N.Code/Value items (BSS CreateInstance) and what DescribeInstanceSpecs
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

// paramRule is how one Parameter.N.Code is read into a Spec; the values
// it may take depend on the product and live in specRanges
// (spec_ranges.go).
type paramRule struct {
	// get reads a numeric code's value; nil for a string code.
	get func(s *Spec) int
	// int is a numeric code's field.
	int func(s *Spec) *int
	// str is a string code's field.
	str func(s *Spec) *string
	// upgradable: Upgrade/Downgrade may change it (numeric only).
	upgradable bool
	// onlyUp: it can be raised but never lowered (ports and domains).
	onlyUp bool
}

func intRule(field func(*Spec) *int, upgradable, onlyUp bool) paramRule {
	return paramRule{int: field, get: func(s *Spec) int { return *field(s) }, upgradable: upgradable, onlyUp: onlyUp}
}

func strRule(field func(*Spec) *string) paramRule {
	return paramRule{str: field}
}

// set parses v into s's field: a decimal integer for a numeric code.
func (r paramRule) set(s *Spec, code, v string) error {
	if r.str != nil {
		*r.str(s) = v
		return nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		return InvalidParam(ParamName(code), fmt.Sprintf("%q is not a decimal integer", v))
	}
	*r.int(s) = n
	return nil
}

// specRules is the catalogue of Parameter codes moat accepts, and how
// each may change after purchase.
var specRules = map[string]paramRule{
	"BaseBandwidth":        intRule(func(s *Spec) *int { return &s.BaseBandwidth }, true, false),
	"Bandwidth":            intRule(func(s *Spec) *int { return &s.Bandwidth }, true, false),
	"ServiceBandwidth":     intRule(func(s *Spec) *int { return &s.ServiceBandwidth }, true, false),
	"PortCount":            intRule(func(s *Spec) *int { return &s.PortCount }, true, true),
	"DomainCount":          intRule(func(s *Spec) *int { return &s.DomainCount }, true, true),
	"FunctionVersion":      intRule(func(s *Spec) *int { return &s.FunctionVersion }, true, false),
	"NormalBandwidth":      intRule(func(s *Spec) *int { return &s.NormalBandwidth }, true, false),
	"NormalQps":            intRule(func(s *Spec) *int { return &s.NormalQps }, true, false),
	"ProductPlan":          intRule(func(s *Spec) *int { return &s.ProductPlan }, false, false),
	"95BurstBandwidthMode": intRule(func(s *Spec) *int { return &s.BurstMode }, false, false),
	"ServicePartner":       strRule(func(s *Spec) *string { return &s.ServicePartner }),
	"Edition":              strRule(func(s *Spec) *string { return &s.EditionSale }),
	"AddressType":          strRule(func(s *Spec) *string { return &s.AddressType }),
}

// Param is one Parameter.N.Code/Value item.
type Param struct {
	Code  string
	Value string
}

// ParamName is how the domain names the item of code in an error: the
// Params item of that Code (BuyRequest.Params, ModifyRequest.Params).
// The list itself is Params, its first code Params.1.Code and a code of
// any item Params.N.Code; each edge maps the names to its own.
func ParamName(code string) string {
	return "Params." + code
}

// ApplyParams sets the given parameters on s, each judged by product p's
// range for it (Premium's by the ProductPlan that results, whatever the
// order of the items). An empty Value leaves the item at its current value
// (the Terraform provider sends AddressType and 95BurstBandwidthMode empty
// when unset). Unknown codes, and codes the product does not have, are
// refused with InvalidParameter naming the code; s is unchanged on error.
func ApplyParams(s *Spec, p ProductType, params []Param) error {
	if err := checkProductCodes(p, params); err != nil {
		return err
	}
	next := *s
	given, err := parseParams(&next, params)
	if err != nil {
		return err
	}
	if err := checkRanges(p, &next, given); err != nil {
		return err
	}
	*s = next
	return nil
}

// parseParams reads params into s and returns the codes given a value.
func parseParams(s *Spec, params []Param) ([]string, error) {
	seen := map[string]bool{}
	var given []string
	for _, p := range params {
		rule, ok := specRules[p.Code]
		if !ok {
			return nil, InvalidParamValue("Params.N.Code", p.Code, "accepted codes are "+strings.Join(ParamCodes(), ", "))
		}
		if seen[p.Code] {
			return nil, Errorf(CodeInvalidParameter, "Parameter code %q is given more than once.", p.Code)
		}
		seen[p.Code] = true
		if p.Value == "" {
			continue
		}
		if err := rule.set(s, p.Code, p.Value); err != nil {
			return nil, err
		}
		given = append(given, p.Code)
	}
	return given, nil
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
		return InvalidParam(ParamName("Bandwidth"), fmt.Sprintf("the burstable bandwidth (%d Gbps) cannot be below the base bandwidth (%d Gbps)", s.Bandwidth, s.BaseBandwidth))
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
		return s, MissingParam("Params.1.Code")
	}
	if err := checkProductCodes(p, params); err != nil {
		return s, err
	}
	given, err := parseParams(&next, params)
	if err != nil {
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
	// Ranges after the direction checks: a plan change is refused as
	// such, not as a bandwidth that would not fit the other plan.
	if err := checkRanges(p, &next, given); err != nil {
		return s, err
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

// Periods are the subscription lengths sold, in months (BSS CreateInstance's
// RenewPeriod and RenewInstance's RenewPeriod).
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
