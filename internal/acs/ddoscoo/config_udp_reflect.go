package ddoscoo

import (
	"context"

	"moat/internal/acs"
)

// ConfigUdpReflectRequest is ConfigUdpReflect's parameters. Config is a
// JSON string, {"UdpSports":[17,19]}: the UDP source ports to drop.
type ConfigUdpReflectRequest struct {
	InstanceId string `acs:"InstanceId,required,resource"`
	Config     string `acs:"Config,required"`
}

// ConfigUdpReflectResponse is ConfigUdpReflect's body.
type ConfigUdpReflectResponse struct {
	acs.Response
}

// ConfigUdpReflect sets the UDP source ports an instance drops, replacing
// the previous set; an empty list turns the filter off.
func (h *handlers) ConfigUdpReflect(ctx context.Context, call *acs.Call, req *ConfigUdpReflectRequest) (*ConfigUdpReflectResponse, error) {
	region, err := call.Region()
	if err != nil {
		return nil, err
	}
	ports, err := udpReflectJSON(req.Config)
	if err != nil {
		return nil, err
	}
	if err := h.svc.SetUDPReflect(ctx, call.Caller, region, req.InstanceId, ports, call.RequestID); err != nil {
		return nil, err
	}
	return &ConfigUdpReflectResponse{}, nil
}
