package ddoscoo

import (
	"context"

	"moat/internal/acs"
)

// CreateDomainResourceRequest is CreateDomainResource's parameters.
type CreateDomainResourceRequest struct {
	Domain      string           `acs:"Domain,required,domain"`
	InstanceIds []string         `acs:"InstanceIds,required,resource"`
	RealServers []string         `acs:"RealServers,required"`
	RsType      *int             `acs:"RsType,required"`
	ProxyTypes  []ProxyTypeParam `acs:"ProxyTypes,required"`
	// HttpsExt is a JSON object: {"Http2":0|1,"Http2https":0|1,"Https2http":0|1}.
	HttpsExt string `acs:"HttpsExt"`
}

// CreateDomainResourceResponse is CreateDomainResource's body.
type CreateDomainResourceResponse struct {
	acs.Response
}

// CreateDomainResource adds a website served by the given instances.
func (h *handlers) CreateDomainResource(ctx context.Context, call *acs.Call, req *CreateDomainResourceRequest) (*CreateDomainResourceResponse, error) {
	region, err := call.Region()
	if err != nil {
		return nil, err
	}
	w, err := webRuleOf(webRuleParams{Domain: req.Domain, InstanceIds: req.InstanceIds, RealServers: req.RealServers,
		RsType: *req.RsType, ProxyTypes: req.ProxyTypes, HttpsExt: req.HttpsExt})
	if err != nil {
		return nil, err
	}
	if err := h.svc.CreateWebRule(ctx, call.Caller, region, w, call.RequestID); err != nil {
		return nil, err
	}
	return &CreateDomainResourceResponse{}, nil
}
