package ddoscoo

import (
	"context"

	"moat/internal/acs"
	"moat/internal/moat"
)

// DescribeNetworkRulesRequest is DescribeNetworkRules' parameters.
type DescribeNetworkRulesRequest struct {
	InstanceId      string `acs:"InstanceId,required,resource"`
	ForwardProtocol string `acs:"ForwardProtocol"`
	FrontendPort    *int   `acs:"FrontendPort"`
	PageNumber      *int   `acs:"PageNumber,required"`
	PageSize        *int   `acs:"PageSize,required"`
}

// NetworkRule is an item of DescribeNetworkRules' NetworkRules list.
type NetworkRule struct {
	InstanceId   string
	Protocol     string
	FrontendPort int
	BackendPort  int
	RealServers  []string
	IsAutoCreate bool
}

// DescribeNetworkRulesResponse is DescribeNetworkRules' body.
type DescribeNetworkRulesResponse struct {
	acs.Response
	TotalCount   int64
	NetworkRules []NetworkRule
}

// DescribeNetworkRules pages through an instance's port rules, as
// DescribePort does with the JSON calls' field names.
func (h *handlers) DescribeNetworkRules(ctx context.Context, call *acs.Call, req *DescribeNetworkRulesRequest) (*DescribeNetworkRulesResponse, error) {
	region, err := call.Region()
	if err != nil {
		return nil, err
	}
	q, err := portQuery(req.InstanceId, req.ForwardProtocol, req.FrontendPort, req.PageNumber, req.PageSize)
	if err != nil {
		return nil, err
	}
	rules, total, err := h.svc.PortRules(ctx, call.Caller, region, q)
	if err != nil {
		return nil, moat.Rename(err, forwardParams)
	}
	resp := &DescribeNetworkRulesResponse{TotalCount: total, NetworkRules: make([]NetworkRule, 0, len(rules))}
	for _, r := range rules {
		resp.NetworkRules = append(resp.NetworkRules, NetworkRule{
			InstanceId: r.InstanceID, Protocol: r.Protocol, FrontendPort: r.FrontendPort,
			BackendPort: r.BackendPort, RealServers: nonNil(r.RealServers),
		})
	}
	return resp, nil
}
