package ddoscoo

import (
	"context"
	"fmt"

	"moat/internal/acs"
	"moat/internal/moat"
)

// DescribeDomainCcProtectSwitchRequest is DescribeDomainCcProtectSwitch's
// parameters.
type DescribeDomainCcProtectSwitchRequest struct {
	Domains []string `acs:"Domains,required"`
	// ResourceGroupId is accepted: websites belong to no resource group.
	ResourceGroupId string `acs:"ResourceGroupId"`
}

// ResourceIDs names the websites asked about, so that RAM judges each as
// domain/<name>.
func (r *DescribeDomainCcProtectSwitchRequest) ResourceIDs() []string {
	out := make([]string, 0, len(r.Domains))
	for _, d := range r.Domains {
		if d != "" {
			out = append(out, moat.DomainResource(d))
		}
	}
	return out
}

// DescribeDomainCcProtectSwitchResponse is its body.
type DescribeDomainCcProtectSwitchResponse struct {
	acs.Response
	ProtectSwitchList []ProtectSwitch
}

// ProtectSwitch is one website's protection switches.
type ProtectSwitch struct {
	Domain               string
	CcEnable             int
	CcTemplate           string
	CcGlobalSwitch       string
	CcCustomRuleEnable   int
	PreciseRuleEnable    int
	RegionBlockEnable    int
	BlackWhiteListEnable int
	AiRuleEnable         int
	AiMode               string
	AiTemplate           string
}

// maxSwitchDomains bounds one call's Domains.N.
const maxSwitchDomains = 50

// switchesOf are a website's protection switches: CC on or off in its
// mode, custom and precise rules and the lists on when it has some; moat
// keeps no region-block or AI rules, so those show as a new website has
// them (off, AI watching at its default level).
func switchesOf(domain string, p moat.WebProtection) ProtectSwitch {
	s := ProtectSwitch{Domain: domain, CcTemplate: ccTemplateOf(p), CcGlobalSwitch: "close", AiMode: "watch", AiTemplate: "level60"}
	if p.CCEnabled {
		s.CcEnable, s.CcGlobalSwitch = 1, "open"
		if len(p.CCRules) > 0 {
			s.CcCustomRuleEnable = 1
		}
	}
	if len(p.Precise) > 0 {
		s.PreciseRuleEnable = 1
	}
	if len(p.Blacklist)+len(p.Whitelist) > 0 {
		s.BlackWhiteListEnable = 1
	}
	return s
}

// protectSwitches answers DescribeDomainCcProtectSwitch and
// DescribeWebCcProtectSwitch: the switches of the caller's websites among
// domains, in their order; unknown domains are left out (the Terraform
// provider reads an empty list as "gone").
func (h *handlers) protectSwitches(ctx context.Context, call *acs.Call, domains []string) ([]ProtectSwitch, error) {
	region, err := call.Region()
	if err != nil {
		return nil, err
	}
	if len(domains) > maxSwitchDomains {
		return nil, moat.InvalidParam("Domains", fmt.Sprintf("a call names at most %d domains, not %d", maxSwitchDomains, len(domains)))
	}
	names := make([]string, 0, len(domains))
	for _, d := range domains {
		n, err := moat.CheckDomain("Domains", d)
		if err != nil {
			return nil, err
		}
		names = append(names, n)
	}
	prot, err := h.svc.WebProtections(ctx, call.Caller, region, names)
	if err != nil {
		return nil, err
	}
	out := []ProtectSwitch{}
	for _, d := range names {
		if p, ok := prot[d]; ok {
			out = append(out, switchesOf(d, p))
		}
	}
	return out, nil
}

// DescribeDomainCcProtectSwitch reports the protection switches of the
// caller's websites among Domains. The Terraform provider reads it on
// every create, update and read of alicloud_ddoscoo_domain_resource.
func (h *handlers) DescribeDomainCcProtectSwitch(ctx context.Context, call *acs.Call, req *DescribeDomainCcProtectSwitchRequest) (*DescribeDomainCcProtectSwitchResponse, error) {
	list, err := h.protectSwitches(ctx, call, req.Domains)
	if err != nil {
		return nil, err
	}
	return &DescribeDomainCcProtectSwitchResponse{ProtectSwitchList: list}, nil
}
