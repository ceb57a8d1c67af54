package ddoscoo

import (
	"context"

	"moat/internal/acs"
	"moat/internal/moat"
)

// ConfigNetworkRulesRequest is ConfigNetworkRules' parameters: NetworkRules
// is a JSON array of {"InstanceId","Protocol","FrontendPort",
// "BackendPort","RealServers"} naming existing rules and their new
// origins (a BackendPort of 0 or left out keeps the rule's).
type ConfigNetworkRulesRequest struct {
	NetworkRules string `acs:"NetworkRules,required"`
}

// ResourceIDs names the instances whose rules change.
func (r *ConfigNetworkRulesRequest) ResourceIDs() []string { return ruleInstances(r.NetworkRules) }

// ConfigNetworkRulesResponse is ConfigNetworkRules' body.
type ConfigNetworkRulesResponse struct {
	acs.Response
}

// ConfigNetworkRules changes port rules' origins, all of them or none.
func (h *handlers) ConfigNetworkRules(ctx context.Context, call *acs.Call, req *ConfigNetworkRulesRequest) (*ConfigNetworkRulesResponse, error) {
	region, err := call.Region()
	if err != nil {
		return nil, err
	}
	items, err := parseRules("NetworkRules", req.NetworkRules, ruleShape)
	if err != nil {
		return nil, err
	}
	changes := make([]moat.PortChange, len(items))
	for i, it := range items {
		changes[i] = moat.PortChange{
			PortKey:     moat.PortKey{InstanceID: it.InstanceId, Protocol: it.Protocol, FrontendPort: it.FrontendPort},
			BackendPort: it.BackendPort,
			RealServers: it.RealServers,
		}
	}
	if err := h.svc.ModifyPortRules(ctx, call.Caller, region, changes, call.RequestID); err != nil {
		return nil, err
	}
	return &ConfigNetworkRulesResponse{}, nil
}
