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

// freshSwitches are the switches of a website as it is added: the
// default CC protection on (as DescribeDomainResource says), custom,
// precise, region and AI rules off, the black and white lists off, AI
// protection watching at its default level. moat keeps no other website
// protection settings, so every website shows these.
func freshSwitches(domain string) ProtectSwitch {
	return ProtectSwitch{Domain: domain, CcEnable: 1, CcTemplate: "default", AiMode: "watch", AiTemplate: "level60"}
}

// DescribeDomainCcProtectSwitch reports the protection switches of the
// caller's websites among Domains; unknown domains are left out (the
// Terraform provider reads an empty list as "gone"). The provider reads
// it on every create, update and read of alicloud_ddoscoo_domain_resource.
func (h *handlers) DescribeDomainCcProtectSwitch(ctx context.Context, call *acs.Call, req *DescribeDomainCcProtectSwitchRequest) (*DescribeDomainCcProtectSwitchResponse, error) {
	region, err := call.Region()
	if err != nil {
		return nil, err
	}
	if len(req.Domains) > maxSwitchDomains {
		return nil, moat.InvalidParam("Domains", fmt.Sprintf("a call names at most %d domains, not %d", maxSwitchDomains, len(req.Domains)))
	}
	out := &DescribeDomainCcProtectSwitchResponse{ProtectSwitchList: []ProtectSwitch{}}
	for _, d := range req.Domains {
		if _, err := moat.CheckDomain("Domains", d); err != nil {
			return nil, err
		}
		webs, _, err := h.svc.WebRules(ctx, call.Caller, region, moat.WebQuery{Domain: d, Exact: true, PageSize: 1})
		if err != nil {
			return nil, err
		}
		if len(webs) == 1 {
			out.ProtectSwitchList = append(out.ProtectSwitchList, freshSwitches(webs[0].Domain))
		}
	}
	return out, nil
}
