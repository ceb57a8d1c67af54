package ddoscoo

import (
	"context"

	"moat/internal/acs"
)

// DeleteDomainResourceRequest is DeleteDomainResource's parameters.
type DeleteDomainResourceRequest struct {
	Domain string `acs:"Domain,required,domain"`
}

// DeleteDomainResourceResponse is DeleteDomainResource's body.
type DeleteDomainResourceResponse struct {
	acs.Response
}

// DeleteDomainResource deletes a website.
func (h *handlers) DeleteDomainResource(ctx context.Context, call *acs.Call, req *DeleteDomainResourceRequest) (*DeleteDomainResourceResponse, error) {
	region, err := call.Region()
	if err != nil {
		return nil, err
	}
	if err := h.svc.DeleteWebRule(ctx, call.Caller, region, req.Domain, call.RequestID); err != nil {
		return nil, err
	}
	return &DeleteDomainResourceResponse{}, nil
}
