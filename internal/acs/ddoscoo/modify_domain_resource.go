package ddoscoo

import (
	"context"

	"moat/internal/acs"
)

// ModifyDomainResourceRequest is ModifyDomainResource's parameters.
type ModifyDomainResourceRequest struct {
	Domain      string           `acs:"Domain,required,domain"`
	InstanceIds []string         `acs:"InstanceIds,required,resource"`
	RealServers []string         `acs:"RealServers,required"`
	RsType      *int             `acs:"RsType,required"`
	ProxyTypes  []ProxyTypeParam `acs:"ProxyTypes,required"`
	// HttpsExt is a JSON object: {"Http2":0|1,"Http2https":0|1,"Https2http":0|1}.
	HttpsExt string `acs:"HttpsExt"`
}

// ModifyDomainResourceResponse is ModifyDomainResource's body.
type ModifyDomainResourceResponse struct {
	acs.Response
}

// ModifyDomainResource replaces a website's instances, origins, protocols
// and HTTPS options; its CNAME and certificate stay, and so do its HTTPS
// options when HttpsExt is absent (Terraform sends it only when it
// changed).
func (h *handlers) ModifyDomainResource(ctx context.Context, call *acs.Call, req *ModifyDomainResourceRequest) (*ModifyDomainResourceResponse, error) {
	region, err := call.Region()
	if err != nil {
		return nil, err
	}
	w, err := webRuleOf(webRuleParams{Domain: req.Domain, InstanceIds: req.InstanceIds, RealServers: req.RealServers,
		RsType: *req.RsType, ProxyTypes: req.ProxyTypes, HttpsExt: req.HttpsExt})
	if err != nil {
		return nil, err
	}
	if err := h.svc.ModifyWebRule(ctx, call.Caller, region, w, req.HttpsExt == "", call.RequestID); err != nil {
		return nil, err
	}
	return &ModifyDomainResourceResponse{}, nil
}
