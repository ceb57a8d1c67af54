package ddoscoo

import (
	"context"

	"moat/internal/acs"
)

// DescribeDomainsRequest is DescribeDomains' parameters.
type DescribeDomainsRequest struct {
	InstanceIds []string `acs:"InstanceIds,resource"`
	// ResourceGroupId is accepted: websites belong to no resource group.
	ResourceGroupId string `acs:"ResourceGroupId"`
}

// DescribeDomainsResponse is DescribeDomains' body.
type DescribeDomainsResponse struct {
	acs.Response
	Domains []string
}

// DescribeDomains lists the caller's website domains, or those bound to
// any of the given instances.
func (h *handlers) DescribeDomains(ctx context.Context, call *acs.Call, req *DescribeDomainsRequest) (*DescribeDomainsResponse, error) {
	region, err := call.Region()
	if err != nil {
		return nil, err
	}
	domains, err := h.svc.Domains(ctx, call.Caller, region, req.InstanceIds)
	if err != nil {
		return nil, err
	}
	return &DescribeDomainsResponse{Domains: nonNil(domains)}, nil
}
