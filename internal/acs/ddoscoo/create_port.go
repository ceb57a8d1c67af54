package ddoscoo

import (
	"context"

	"moat/internal/acs"
	"moat/internal/moat"
)

// CreatePortRequest is CreatePort's parameters. The ports arrive as
// strings; BackendPort is optional and defaults to the frontend port.
type CreatePortRequest struct {
	InstanceId       string   `acs:"InstanceId,required,resource"`
	FrontendProtocol string   `acs:"FrontendProtocol,required"`
	FrontendPort     string   `acs:"FrontendPort,required"`
	BackendPort      *string  `acs:"BackendPort"`
	RealServers      []string `acs:"RealServers,required"`
}

// CreatePortResponse is CreatePort's body.
type CreatePortResponse struct {
	acs.Response
}

// CreatePort adds one port rule to an instance.
func (h *handlers) CreatePort(ctx context.Context, call *acs.Call, req *CreatePortRequest) (*CreatePortResponse, error) {
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
	if back == 0 {
		back = front
	}
	r := moat.PortRule{
		PortKey:     moat.PortKey{InstanceID: req.InstanceId, Protocol: req.FrontendProtocol, FrontendPort: front},
		BackendPort: back,
		RealServers: req.RealServers,
	}
	if err := h.svc.CreatePortRules(ctx, call.Caller, region, []moat.PortRule{r}, call.RequestID); err != nil {
		return nil, moat.Rename(err, frontendParams)
	}
	return &CreatePortResponse{}, nil
}
