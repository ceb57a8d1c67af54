package ddoscoo

import (
	"context"

	"moat/internal/acs"
	"moat/internal/moat"
)

// ModifyWebCCGlobalSwitchRequest is ModifyWebCCGlobalSwitch's parameters.
type ModifyWebCCGlobalSwitchRequest struct {
	Domain         string `acs:"Domain,required,domain"`
	CcGlobalSwitch string `acs:"CcGlobalSwitch,required"`
	// ResourceGroupId is accepted: websites belong to no resource group.
	ResourceGroupId string `acs:"ResourceGroupId"`
}

// ModifyWebCCGlobalSwitchResponse is its body.
type ModifyWebCCGlobalSwitchResponse struct {
	acs.Response
}

// ModifyWebCCGlobalSwitch turns a website's CC protection on ("open") or
// off ("close").
func (h *handlers) ModifyWebCCGlobalSwitch(ctx context.Context, call *acs.Call, req *ModifyWebCCGlobalSwitchRequest) (*ModifyWebCCGlobalSwitchResponse, error) {
	region, err := call.Region()
	if err != nil {
		return nil, err
	}
	var on bool
	switch req.CcGlobalSwitch {
	case "open":
		on = true
	case "close":
	default:
		return nil, moat.InvalidParamValue("CcGlobalSwitch", req.CcGlobalSwitch, "open or close")
	}
	if err := h.svc.SetWebCC(ctx, call.Caller, region, req.Domain, on, call.RequestID); err != nil {
		return nil, err
	}
	return &ModifyWebCCGlobalSwitchResponse{}, nil
}
