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

// NetworkRule is an item of DescribeNetworkRules' NetworkRules list. The
// generated client v2.0.0 has the first six fields; the API reference
// page adds Remark, ProxyEnable, ProxyStatus and PayloadRuleEnable, and
// the reference page wins: moat's rules carry no remark, are never
// disabled one by one (ProxyEnable 0: on) and have no payload rules, and
// ProxyStatus says whether the instance forwards now ("off" from seven
// days after expiry).
type NetworkRule struct {
	InstanceId        string
	Protocol          string
	FrontendPort      int
	BackendPort       int
	RealServers       []string
	IsAutoCreate      bool
	Remark            string
	ProxyEnable       int
	ProxyStatus       string
	PayloadRuleEnable int
}

// ProxyStatus values.
const (
	proxyOn  = "on"
	proxyOff = "off"
)

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
	page, err := h.svc.PortRules(ctx, call.Caller, region, q)
	if err != nil {
		return nil, moat.Rename(err, forwardParams)
	}
	status := proxyOff
	if page.Forwarding {
		status = proxyOn
	}
	resp := &DescribeNetworkRulesResponse{TotalCount: page.Total, NetworkRules: make([]NetworkRule, 0, len(page.Rules))}
	for _, r := range page.Rules {
		resp.NetworkRules = append(resp.NetworkRules, NetworkRule{
			InstanceId: r.InstanceID, Protocol: r.Protocol, FrontendPort: r.FrontendPort,
			BackendPort: r.BackendPort, RealServers: nonNil(r.RealServers), ProxyStatus: status,
		})
	}
	return resp, nil
}
