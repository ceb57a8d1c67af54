package ddoscoo

import (
	"context"

	"moat/internal/acs"
)

// ConfigWebCCTemplateRequest is ConfigWebCCTemplate's parameters.
type ConfigWebCCTemplateRequest struct {
	Domain   string `acs:"Domain,required,domain"`
	Template string `acs:"Template,required"`
	// ResourceGroupId is accepted: websites belong to no resource group.
	ResourceGroupId string `acs:"ResourceGroupId"`
}

// ConfigWebCCTemplateResponse is its body.
type ConfigWebCCTemplateResponse struct {
	acs.Response
}

// ConfigWebCCTemplate sets a website's CC mode.
func (h *handlers) ConfigWebCCTemplate(ctx context.Context, call *acs.Call, req *ConfigWebCCTemplateRequest) (*ConfigWebCCTemplateResponse, error) {
	region, err := call.Region()
	if err != nil {
		return nil, err
	}
	if err := h.svc.SetWebCCMode(ctx, call.Caller, region, req.Domain, req.Template, call.RequestID); err != nil {
		return nil, err
	}
	return &ConfigWebCCTemplateResponse{}, nil
}
