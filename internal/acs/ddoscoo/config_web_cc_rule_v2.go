package ddoscoo

import (
	"context"

	"moat/internal/acs"
	"moat/internal/moat"
)

// ConfigWebCCRuleV2Request is ConfigWebCCRuleV2's parameters: RuleList is
// a JSON array of rules, each created or replaced by name; Expires their
// lifetime in seconds (0 for ever).
type ConfigWebCCRuleV2Request struct {
	Domain   string `acs:"Domain,required,domain"`
	RuleList string `acs:"RuleList,required"`
	Expires  *int64 `acs:"Expires"`
	// ResourceGroupId is accepted: websites belong to no resource group.
	ResourceGroupId string `acs:"ResourceGroupId"`
}

// ConfigWebCCRuleV2Response is its body.
type ConfigWebCCRuleV2Response struct {
	acs.Response
}

// ConfigWebCCRuleV2 creates or replaces custom frequency rules. A rule's
// conditions choose the requests it counts; its ratelimit is required.
func (h *handlers) ConfigWebCCRuleV2(ctx context.Context, call *acs.Call, req *ConfigWebCCRuleV2Request) (*ConfigWebCCRuleV2Response, error) {
	region, err := call.Region()
	if err != nil {
		return nil, err
	}
	var in []ccRuleJSON
	if err := decodeJSONArray("RuleList", req.RuleList, &in, `[{"action":"block","name":"rule1","condition":[{"field":"uri","match_method":"prefix","content":"/login"}],"ratelimit":{"target":"ip","interval":60,"threshold":100,"ttl":300}}]`); err != nil {
		return nil, err
	}
	rules := make([]moat.CCRule, 0, len(in))
	for _, r := range in {
		if r.RateLimit == nil {
			return nil, moat.MissingParam("RuleList.ratelimit")
		}
		rules = append(rules, moat.CCRule{Name: r.Name, Action: r.Action, Conditions: conditionsOf(r.Condition),
			Target: r.RateLimit.Target, SubKey: r.RateLimit.SubKey, Interval: r.RateLimit.Interval, Count: r.RateLimit.Threshold, TTL: r.RateLimit.TTL})
	}
	var period int64
	if req.Expires != nil {
		period = *req.Expires
	}
	if err := h.svc.PutWebCCRules(ctx, call.Caller, region, req.Domain, rules, period, call.RequestID); err != nil {
		return nil, err
	}
	return &ConfigWebCCRuleV2Response{}, nil
}
