package ddoscoo

import (
	"context"

	"moat/internal/acs"
	"moat/internal/moat"
)

// ModifyWebPreciseAccessRuleRequest is ModifyWebPreciseAccessRule's
// parameters: Rules is a JSON array of rules, each created or replaced by
// name; Expires is the lifetime in seconds of its block rules (omitted:
// for ever).
type ModifyWebPreciseAccessRuleRequest struct {
	Domain  string `acs:"Domain,required,domain"`
	Rules   string `acs:"Rules,required"`
	Expires *int64 `acs:"Expires"`
	// ResourceGroupId is accepted: websites belong to no resource group.
	ResourceGroupId string `acs:"ResourceGroupId"`
}

// ModifyWebPreciseAccessRuleResponse is its body.
type ModifyWebPreciseAccessRuleResponse struct {
	acs.Response
}

// ModifyWebPreciseAccessRule creates or replaces precise access rules.
func (h *handlers) ModifyWebPreciseAccessRule(ctx context.Context, call *acs.Call, req *ModifyWebPreciseAccessRuleRequest) (*ModifyWebPreciseAccessRuleResponse, error) {
	region, err := call.Region()
	if err != nil {
		return nil, err
	}
	var in []preciseRuleJSON
	if err := decodeJSONArray("Rules", req.Rules, &in, `[{"action":"block","name":"rule1","condition":[{"field":"uri","match_method":"contain","content":"/admin"}]}]`); err != nil {
		return nil, err
	}
	rules := make([]moat.PreciseRule, 0, len(in))
	for _, r := range in {
		rules = append(rules, moat.PreciseRule{Name: r.Name, Action: r.Action, Conditions: conditionsOf(r.Condition)})
	}
	var period int64
	if req.Expires != nil {
		period = *req.Expires
	}
	if err := h.svc.PutPreciseRules(ctx, call.Caller, region, req.Domain, rules, period, call.RequestID); err != nil {
		return nil, err
	}
	return &ModifyWebPreciseAccessRuleResponse{}, nil
}
