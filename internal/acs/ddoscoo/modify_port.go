package ddoscoo

import (
	"context"

	"moat/internal/acs"
	"moat/internal/moat"
)

// ModifyPortRequest is ModifyPort's parameters: the rule (instance,
// protocol, frontend port) and its new origins. BackendPort, a string,
// keeps the rule's when absent.
type ModifyPortRequest struct {
	InstanceId       string   `acs:"InstanceId,required,resource"`
	FrontendProtocol string   `acs:"FrontendProtocol,required"`
	FrontendPort     string   `acs:"FrontendPort,required"`
	BackendPort      *string  `acs:"BackendPort"`
	RealServers      []string `acs:"RealServers,required"`
}

// ModifyPortResponse is ModifyPort's body.
type ModifyPortResponse struct {
	acs.Response
}

// ModifyPort changes a port rule's origins and backend port.
func (h *handlers) ModifyPort(ctx context.Context, call *acs.Call, req *ModifyPortRequest) (*ModifyPortResponse, error) {
	region, err := call.Region()
	if err != nil {
		return nil, err
	}
	front, err := portParam("FrontendPort", req.FrontendPort)
	if err != nil {
		return nil, err
	}
	back, err := optPortParam("BackendPort", req.BackendPort)
	if err != nil {
		return nil, err
	}
	ch := moat.PortChange{
		PortKey:     moat.PortKey{InstanceID: req.InstanceId, Protocol: req.FrontendProtocol, FrontendPort: front},
		BackendPort: back,
		RealServers: req.RealServers,
	}
	if err := h.svc.ModifyPortRules(ctx, call.Caller, region, []moat.PortChange{ch}, call.RequestID); err != nil {
		return nil, moat.Rename(err, frontendParams)
	}
	return &ModifyPortResponse{}, nil
}
