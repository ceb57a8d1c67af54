package ddoscoo

import (
	"context"

	"moat/internal/acs"
	"moat/internal/moat"
)

// EmptyAutoCcBlacklistRequest is EmptyAutoCcBlacklist's parameters.
type EmptyAutoCcBlacklistRequest struct {
	InstanceId string `acs:"InstanceId,required,resource"`
}

// EmptyAutoCcBlacklistResponse is EmptyAutoCcBlacklist's body.
type EmptyAutoCcBlacklistResponse struct {
	acs.Response
}

// EmptyAutoCcBlacklist removes every address from an instance's blacklist.
func (h *handlers) EmptyAutoCcBlacklist(ctx context.Context, call *acs.Call, req *EmptyAutoCcBlacklistRequest) (*EmptyAutoCcBlacklistResponse, error) {
	region, err := call.Region()
	if err != nil {
		return nil, err
	}
	if err := h.svc.EmptySourceList(ctx, call.Caller, region, req.InstanceId, moat.Blacklist, call.RequestID); err != nil {
		return nil, err
	}
	return &EmptyAutoCcBlacklistResponse{}, nil
}
