package ddoscoo

import (
	"context"

	"moat/internal/acs"
)

// WebCCDomainRequest is the parameters of EnableWebCC and DisableWebCC.
type WebCCDomainRequest struct {
	Domain string `acs:"Domain,required,domain"`
	// ResourceGroupId is accepted: websites belong to no resource group.
	ResourceGroupId string `acs:"ResourceGroupId"`
}

// WebCCDomainResponse is their body.
type WebCCDomainResponse struct {
	acs.Response
}

// EnableWebCC turns a website's CC protection on.
func (h *handlers) EnableWebCC(ctx context.Context, call *acs.Call, req *WebCCDomainRequest) (*WebCCDomainResponse, error) {
	return h.setWebCC(ctx, call, req, true)
}

// DisableWebCC turns a website's CC protection off.
func (h *handlers) DisableWebCC(ctx context.Context, call *acs.Call, req *WebCCDomainRequest) (*WebCCDomainResponse, error) {
	return h.setWebCC(ctx, call, req, false)
}

func (h *handlers) setWebCC(ctx context.Context, call *acs.Call, req *WebCCDomainRequest, on bool) (*WebCCDomainResponse, error) {
	region, err := call.Region()
	if err != nil {
		return nil, err
	}
	if err := h.svc.SetWebCC(ctx, call.Caller, region, req.Domain, on, call.RequestID); err != nil {
		return nil, err
	}
	return &WebCCDomainResponse{}, nil
}
