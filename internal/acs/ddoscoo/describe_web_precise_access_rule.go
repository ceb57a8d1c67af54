package ddoscoo

import (
	"context"
	"fmt"

	"moat/internal/acs"
	"moat/internal/moat"
)

// DescribeWebPreciseAccessRuleRequest is DescribeWebPreciseAccessRule's
// parameters.
type DescribeWebPreciseAccessRuleRequest struct {
	Domains []string `acs:"Domains,required"`
	// Owner "clover" asks for the rules the service made itself; moat
	// makes none.
	Owner string `acs:"Owner"`
	// ResourceGroupId is accepted: websites belong to no resource group.
	ResourceGroupId string `acs:"ResourceGroupId"`
}

// ResourceIDs names the websites asked about, so that RAM judges each as
// domain/<name>.
func (r *DescribeWebPreciseAccessRuleRequest) ResourceIDs() []string {
	out := make([]string, 0, len(r.Domains))
	for _, d := range r.Domains {
		if d != "" {
			out = append(out, moat.DomainResource(d))
		}
	}
	return out
}

// DescribeWebPreciseAccessRuleResponse is its body.
type DescribeWebPreciseAccessRuleResponse struct {
	acs.Response
	PreciseAccessConfigList []PreciseAccessConfig
}

// PreciseAccessConfig is one website's precise access rules.
type PreciseAccessConfig struct {
	Domain   string
	RuleList []PreciseRuleView
}

// PreciseRuleView is a precise access rule: Expires and ExpirePeriod both
// give the lifetime in seconds it was given (0 for ever).
type PreciseRuleView struct {
	Name          string
	Action        string
	Owner         string
	Expires       int64
	ExpirePeriod  int64
	ConditionList []Condition
}

// DescribeWebPreciseAccessRule lists the precise access rules of the
// caller's websites among Domains; unknown domains are left out.
func (h *handlers) DescribeWebPreciseAccessRule(ctx context.Context, call *acs.Call, req *DescribeWebPreciseAccessRuleRequest) (*DescribeWebPreciseAccessRuleResponse, error) {
	region, err := call.Region()
	if err != nil {
		return nil, err
	}
	switch req.Owner {
	case "", "manual", "clover":
	default:
		return nil, moat.InvalidParamValue("Owner", req.Owner, "manual or clover")
	}
	if len(req.Domains) > maxSwitchDomains {
		return nil, moat.InvalidParam("Domains", fmt.Sprintf("a call names at most %d domains, not %d", maxSwitchDomains, len(req.Domains)))
	}
	names := make([]string, 0, len(req.Domains))
	for _, d := range req.Domains {
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
	out := &DescribeWebPreciseAccessRuleResponse{PreciseAccessConfigList: []PreciseAccessConfig{}}
	for _, d := range names {
		p, ok := prot[d]
		if !ok {
			continue
		}
		cfg := PreciseAccessConfig{Domain: d, RuleList: []PreciseRuleView{}}
		if req.Owner != "clover" {
			for _, r := range p.Precise {
				cfg.RuleList = append(cfg.RuleList, PreciseRuleView{Name: r.Name, Action: r.Action, Owner: "manual",
					Expires: r.Period, ExpirePeriod: r.Period, ConditionList: conditionsView(r.Conditions)})
			}
		}
		out.PreciseAccessConfigList = append(out.PreciseAccessConfigList, cfg)
	}
	return out, nil
}
