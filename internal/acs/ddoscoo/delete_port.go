package ddoscoo

import (
	"context"

	"moat/internal/acs"
	"moat/internal/moat"
)

// DeletePortRequest is DeletePort's parameters. BackendPort and
// RealServers, which clients send as the rule stands, are accepted and
// not compared: the rule is named by instance, protocol and frontend port.
type DeletePortRequest struct {
	InstanceId       string   `acs:"InstanceId,required,resource"`
	FrontendProtocol string   `acs:"FrontendProtocol,required"`
	FrontendPort     string   `acs:"FrontendPort,required"`
	BackendPort      *string  `acs:"BackendPort"`
	RealServers      []string `acs:"RealServers"`
}

// DeletePortResponse is DeletePort's body.
type DeletePortResponse struct {
	acs.Response
}

// DeletePort deletes one port rule.
func (h *handlers) DeletePort(ctx context.Context, call *acs.Call, req *DeletePortRequest) (*DeletePortResponse, error) {
	region, err := call.Region()
	if err != nil {
		return nil, err
	}
	front, err := portParam("FrontendPort", req.FrontendPort)
	if err != nil {
		return nil, err
	}
	if _, err := optPortParam("BackendPort", req.BackendPort); err != nil {
		return nil, err
	}
	k := moat.PortKey{InstanceID: req.InstanceId, Protocol: req.FrontendProtocol, FrontendPort: front}
	if err := h.svc.DeletePortRules(ctx, call.Caller, region, []moat.PortKey{k}, call.RequestID); err != nil {
		return nil, moat.Rename(err, frontendParams)
	}
	return &DeletePortResponse{}, nil
}
