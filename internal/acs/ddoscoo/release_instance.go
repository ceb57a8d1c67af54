package ddoscoo

import (
	"context"

	"moat/internal/acs"
)

// ReleaseInstanceRequest is ReleaseInstance's parameters. The page marks
// InstanceId optional, but there is nothing to release without it.
type ReleaseInstanceRequest struct {
	InstanceId string `acs:"InstanceId,required,resource"`
}

// ReleaseInstanceResponse is ReleaseInstance's body.
type ReleaseInstanceResponse struct {
	acs.Response
}

// ReleaseInstance releases an expired instance (doc 169259).
func (h *handlers) ReleaseInstance(ctx context.Context, call *acs.Call, req *ReleaseInstanceRequest) (*ReleaseInstanceResponse, error) {
	region, err := call.Region()
	if err != nil {
		return nil, err
	}
	if err := h.svc.ReleaseInstance(ctx, call.Caller, region, req.InstanceId, call.RequestID); err != nil {
		return nil, err
	}
	return &ReleaseInstanceResponse{}, nil
}
