package ddoscoo

import (
	"context"

	"moat/internal/acs"
	"moat/internal/moat"
)

// DescribePortRequest is DescribePort's parameters: an instance's rules,
// optionally of one protocol or frontend port, a page at a time.
type DescribePortRequest struct {
	InstanceId       string `acs:"InstanceId,required,resource"`
	FrontendProtocol string `acs:"FrontendProtocol"`
	FrontendPort     *int   `acs:"FrontendPort"`
	PageNumber       *int   `acs:"PageNumber"`
	PageSize         *int   `acs:"PageSize"`
}

// PortRule is an item of DescribePort's NetworkRules list.
type PortRule struct {
	InstanceId       string
	FrontendProtocol string
	FrontendPort     int
	BackendPort      int
	RealServers      []string
	IsAutoCreate     bool
}

// DescribePortResponse is DescribePort's body.
type DescribePortResponse struct {
	acs.Response
	TotalCount   int64
	NetworkRules []PortRule
}

// DescribePort pages through an instance's port rules. Every moat rule is
// created by a call, so IsAutoCreate is false.
func (h *handlers) DescribePort(ctx context.Context, call *acs.Call, req *DescribePortRequest) (*DescribePortResponse, error) {
	region, err := call.Region()
	if err != nil {
		return nil, err
	}
	q, err := portQuery(req.InstanceId, req.FrontendProtocol, req.FrontendPort, req.PageNumber, req.PageSize)
	if err != nil {
		return nil, err
	}
	page, err := h.svc.PortRules(ctx, call.Caller, region, q)
	if err != nil {
		return nil, moat.Rename(err, frontendParams)
	}
	resp := &DescribePortResponse{TotalCount: page.Total, NetworkRules: make([]PortRule, 0, len(page.Rules))}
	for _, r := range page.Rules {
		resp.NetworkRules = append(resp.NetworkRules, PortRule{
			InstanceId: r.InstanceID, FrontendProtocol: r.Protocol, FrontendPort: r.FrontendPort,
			BackendPort: r.BackendPort, RealServers: nonNil(r.RealServers),
		})
	}
	return resp, nil
}

// portQuery builds the query of DescribePort and DescribeNetworkRules; a
// frontend port given as 0 or less is refused, not read as "any".
func portQuery(id, protocol string, port, number, size *int) (moat.PortQuery, error) {
	n, s, err := pageArgs(number, size)
	if err != nil {
		return moat.PortQuery{}, err
	}
	q := moat.PortQuery{InstanceID: id, Protocol: protocol, PageNumber: n, PageSize: s}
	if port != nil {
		if err := moat.CheckPort("FrontendPort", *port); err != nil {
			return moat.PortQuery{}, err
		}
		q.FrontendPort = *port
	}
	return q, nil
}
