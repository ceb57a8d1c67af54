package ddoscoo

import (
	"context"

	"moat/internal/acs"
)

// DeleteWebPreciseAccessRuleRequest is DeleteWebPreciseAccessRule's
// parameters (RuleNames.N).
type DeleteWebPreciseAccessRuleRequest struct {
	Domain    string   `acs:"Domain,required,domain"`
	RuleNames []string `acs:"RuleNames,required"`
	// ResourceGroupId is accepted: websites belong to no resource group.
	ResourceGroupId string `acs:"ResourceGroupId"`
}

// DeleteWebPreciseAccessRuleResponse is its body.
type DeleteWebPreciseAccessRuleResponse struct {
	acs.Response
}

// DeleteWebPreciseAccessRule deletes precise access rules by name.
func (h *handlers) DeleteWebPreciseAccessRule(ctx context.Context, call *acs.Call, req *DeleteWebPreciseAccessRuleRequest) (*DeleteWebPreciseAccessRuleResponse, error) {
	region, err := call.Region()
	if err != nil {
		return nil, err
	}
	if err := h.svc.DeletePreciseRules(ctx, call.Caller, region, req.Domain, req.RuleNames, call.RequestID); err != nil {
		return nil, err
	}
	return &DeleteWebPreciseAccessRuleResponse{}, nil
}
