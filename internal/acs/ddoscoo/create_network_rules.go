package ddoscoo

import (
	"context"

	"moat/internal/acs"
	"moat/internal/moat"
)

// CreateNetworkRulesRequest is CreateNetworkRules' parameters: NetworkRules
// is a JSON array of {"InstanceId","Protocol","FrontendPort",
// "BackendPort","RealServers"}.
type CreateNetworkRulesRequest struct {
	NetworkRules string `acs:"NetworkRules,required"`
}

// ResourceIDs names the instances the rules are added to.
func (r *CreateNetworkRulesRequest) ResourceIDs() []string { return ruleInstances(r.NetworkRules) }

// CreateNetworkRulesResponse is CreateNetworkRules' body.
type CreateNetworkRulesResponse struct {
	acs.Response
}

// CreateNetworkRules adds port rules, all of them or none.
func (h *handlers) CreateNetworkRules(ctx context.Context, call *acs.Call, req *CreateNetworkRulesRequest) (*CreateNetworkRulesResponse, error) {
	region, err := call.Region()
	if err != nil {
		return nil, err
	}
	items, err := parseRules("NetworkRules", req.NetworkRules, ruleShape)
	if err != nil {
		return nil, err
	}
	rules := make([]moat.PortRule, len(items))
	for i, it := range items {
		rules[i] = moat.PortRule{
			PortKey:     moat.PortKey{InstanceID: it.InstanceId, Protocol: it.Protocol, FrontendPort: it.FrontendPort},
			BackendPort: it.BackendPort,
			RealServers: it.RealServers,
		}
	}
	if err := h.svc.CreatePortRules(ctx, call.Caller, region, rules, call.RequestID); err != nil {
		return nil, err
	}
	return &CreateNetworkRulesResponse{}, nil
}
