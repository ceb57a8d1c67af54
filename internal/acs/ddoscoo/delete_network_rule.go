package ddoscoo

import (
	"context"

	"moat/internal/acs"
)

// DeleteNetworkRuleRequest is DeleteNetworkRule's parameters: NetworkRule
// is a JSON array of {"InstanceId","Protocol","FrontendPort"}.
type DeleteNetworkRuleRequest struct {
	NetworkRule string `acs:"NetworkRule,required"`
}

// ResourceIDs names the instances whose rules are deleted.
func (r *DeleteNetworkRuleRequest) ResourceIDs() []string { return ruleInstances(r.NetworkRule) }

// DeleteNetworkRuleResponse is DeleteNetworkRule's body.
type DeleteNetworkRuleResponse struct {
	acs.Response
}

// DeleteNetworkRule deletes port rules, all of them or none.
func (h *handlers) DeleteNetworkRule(ctx context.Context, call *acs.Call, req *DeleteNetworkRuleRequest) (*DeleteNetworkRuleResponse, error) {
	region, err := call.Region()
	if err != nil {
		return nil, err
	}
	keys, err := parseKeys("NetworkRule", req.NetworkRule)
	if err != nil {
		return nil, err
	}
	if err := h.svc.DeletePortRules(ctx, call.Caller, region, keys, call.RequestID); err != nil {
		return nil, err
	}
	return &DeleteNetworkRuleResponse{}, nil
}
