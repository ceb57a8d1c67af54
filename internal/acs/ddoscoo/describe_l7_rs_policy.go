package ddoscoo

import (
	"context"

	"moat/internal/acs"
)

// DescribeL7RsPolicyRequest is DescribeL7RsPolicy's parameters;
// RealServers narrows the origins shown.
type DescribeL7RsPolicyRequest struct {
	Domain      string   `acs:"Domain,required,domain"`
	RealServers []string `acs:"RealServers"`
	// ResourceGroupId is accepted: websites belong to no resource group.
	ResourceGroupId string `acs:"ResourceGroupId"`
}

// RsAttribute is an origin's settings as DescribeL7RsPolicy shows them.
type RsAttribute struct {
	Weight int
}

// RsPolicyAttributes is one origin of DescribeL7RsPolicy.
type RsPolicyAttributes struct {
	RealServer string
	RsType     int
	Attribute  RsAttribute
}

// DescribeL7RsPolicyResponse is its body.
type DescribeL7RsPolicyResponse struct {
	acs.Response
	ProxyMode  string
	Attributes []RsPolicyAttributes
}

// DescribeL7RsPolicy reports how a website's requests are spread over its
// origins, with each origin's weight.
func (h *handlers) DescribeL7RsPolicy(ctx context.Context, call *acs.Call, req *DescribeL7RsPolicyRequest) (*DescribeL7RsPolicyResponse, error) {
	region, err := call.Region()
	if err != nil {
		return nil, err
	}
	v, err := h.svc.WebPolicy(ctx, call.Caller, region, req.Domain, req.RealServers)
	if err != nil {
		return nil, err
	}
	resp := &DescribeL7RsPolicyResponse{ProxyMode: v.Mode, Attributes: make([]RsPolicyAttributes, 0, len(v.Origins))}
	for _, o := range v.Origins {
		resp.Attributes = append(resp.Attributes, RsPolicyAttributes{RealServer: o.Origin, RsType: v.RsType, Attribute: RsAttribute{Weight: o.Weight}})
	}
	return resp, nil
}
