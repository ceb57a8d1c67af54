package ddoscoo

import (
	"context"

	"moat/internal/acs"
)

// ConfigWebIpSetRequest is ConfigWebIpSet's parameters: the website's
// whole blacklist and whitelist (BlackList.N, WhiteList.N; addresses or
// CIDR blocks). A list not given is emptied, as the Terraform provider
// sends both lists in full.
type ConfigWebIpSetRequest struct {
	Domain    string   `acs:"Domain,required,domain"`
	BlackList []string `acs:"BlackList"`
	WhiteList []string `acs:"WhiteList"`
	// ResourceGroupId is accepted: websites belong to no resource group.
	ResourceGroupId string `acs:"ResourceGroupId"`
}

// ConfigWebIpSetResponse is its body.
type ConfigWebIpSetResponse struct {
	acs.Response
}

// ConfigWebIpSet replaces a website's IP blacklist and whitelist.
func (h *handlers) ConfigWebIpSet(ctx context.Context, call *acs.Call, req *ConfigWebIpSetRequest) (*ConfigWebIpSetResponse, error) {
	region, err := call.Region()
	if err != nil {
		return nil, err
	}
	if err := h.svc.SetWebIPSets(ctx, call.Caller, region, req.Domain, req.BlackList, req.WhiteList, call.RequestID); err != nil {
		return nil, err
	}
	return &ConfigWebIpSetResponse{}, nil
}
