package ddoscoo

import (
	"context"
	"strconv"

	"moat/internal/acs"
	"moat/internal/moat"
)

// DescribeWebCCRulesV2Request is DescribeWebCCRulesV2's parameters;
// Offset and PageSize are strings on the wire.
type DescribeWebCCRulesV2Request struct {
	Domain   string `acs:"Domain,required,domain"`
	Owner    string `acs:"Owner"`
	Offset   string `acs:"Offset"`
	PageSize string `acs:"PageSize"`
	// ResourceGroupId is accepted: websites belong to no resource group.
	ResourceGroupId string `acs:"ResourceGroupId"`
}

// DescribeWebCCRulesV2Response is its body; TotalCount is a string.
type DescribeWebCCRulesV2Response struct {
	acs.Response
	Domain     string
	TotalCount string
	WebCCRules []WebCCRuleV2
}

// WebCCRuleV2 is a custom frequency rule.
type WebCCRuleV2 struct {
	Name       string
	Owner      string
	Expires    int64
	RuleDetail WebCCRuleDetail
}

// WebCCRuleDetail is a rule's action, conditions and rate limit.
type WebCCRuleDetail struct {
	Name      string
	Action    string
	Condition []Condition
	RateLimit WebCCRateLimit
}

// WebCCRateLimit is a rule's rate limit.
type WebCCRateLimit struct {
	Target    string
	SubKey    string
	Interval  int
	Threshold int
	Ttl       int
}

// maxCCRulesPage is DescribeWebCCRulesV2's largest page.
const maxCCRulesPage = 20

// DescribeWebCCRulesV2 pages through a website's custom frequency rules.
func (h *handlers) DescribeWebCCRulesV2(ctx context.Context, call *acs.Call, req *DescribeWebCCRulesV2Request) (*DescribeWebCCRulesV2Response, error) {
	region, err := call.Region()
	if err != nil {
		return nil, err
	}
	switch req.Owner {
	case "", "manual", "clover":
	default:
		return nil, moat.InvalidParamValue("Owner", req.Owner, "manual or clover")
	}
	offset, size := 0, maxCCRulesPage
	if req.Offset != "" {
		if offset, err = strconv.Atoi(req.Offset); err != nil || offset < 0 {
			return nil, moat.InvalidParamValue("Offset", req.Offset, "a non-negative integer")
		}
	}
	if req.PageSize != "" {
		if size, err = strconv.Atoi(req.PageSize); err != nil || size < 1 || size > maxCCRulesPage {
			return nil, moat.InvalidParamValue("PageSize", req.PageSize, "1 to 20")
		}
	}
	p, err := h.svc.WebProtection(ctx, call.Caller, region, req.Domain)
	if err != nil {
		return nil, err
	}
	rules := p.CCRules
	if req.Owner == "clover" {
		rules = nil
	}
	out := &DescribeWebCCRulesV2Response{Domain: req.Domain, TotalCount: strconv.Itoa(len(rules)), WebCCRules: []WebCCRuleV2{}}
	for i := offset; i < len(rules) && i < offset+size; i++ {
		r := rules[i]
		out.WebCCRules = append(out.WebCCRules, WebCCRuleV2{Name: r.Name, Owner: "manual", Expires: r.Period, RuleDetail: WebCCRuleDetail{
			Name: r.Name, Action: r.Action, Condition: conditionsView(r.Conditions),
			RateLimit: WebCCRateLimit{Target: r.Target, SubKey: r.SubKey, Interval: r.Interval, Threshold: r.Count, Ttl: r.TTL}}})
	}
	return out, nil
}
