package ddoscoo

import (
	"context"

	"moat/internal/acs"
)

// DeleteWebCCRuleV2Request is DeleteWebCCRuleV2's parameters: RuleNames
// is a JSON array of names.
type DeleteWebCCRuleV2Request struct {
	Domain    string `acs:"Domain,required,domain"`
	RuleNames string `acs:"RuleNames,required"`
	// Owner "clover" deletes rules the service made itself; moat makes
	// none.
	Owner string `acs:"Owner"`
	// ResourceGroupId is accepted: websites belong to no resource group.
	ResourceGroupId string `acs:"ResourceGroupId"`
}

// DeleteWebCCRuleV2Response is its body.
type DeleteWebCCRuleV2Response struct {
	acs.Response
}

// DeleteWebCCRuleV2 deletes custom frequency rules by name.
func (h *handlers) DeleteWebCCRuleV2(ctx context.Context, call *acs.Call, req *DeleteWebCCRuleV2Request) (*DeleteWebCCRuleV2Response, error) {
	region, err := call.Region()
	if err != nil {
		return nil, err
	}
	var names []string
	if err := decodeJSONArray("RuleNames", req.RuleNames, &names, `["rule1","rule2"]`); err != nil {
		return nil, err
	}
	if req.Owner == "clover" {
		return &DeleteWebCCRuleV2Response{}, nil
	}
	if err := h.svc.DeleteWebCCRules(ctx, call.Caller, region, req.Domain, names, call.RequestID); err != nil {
		return nil, err
	}
	return &DeleteWebCCRuleV2Response{}, nil
}
