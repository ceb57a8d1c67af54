package ddoscoo

import (
	"context"

	"moat/internal/acs"
	"moat/internal/moat"
)

// EmptyAutoCcWhitelistRequest is EmptyAutoCcWhitelist's parameters.
type EmptyAutoCcWhitelistRequest struct {
	InstanceId string `acs:"InstanceId,required,resource"`
}

// EmptyAutoCcWhitelistResponse is EmptyAutoCcWhitelist's body.
type EmptyAutoCcWhitelistResponse struct {
	acs.Response
}

// EmptyAutoCcWhitelist removes every address from an instance's whitelist.
func (h *handlers) EmptyAutoCcWhitelist(ctx context.Context, call *acs.Call, req *EmptyAutoCcWhitelistRequest) (*EmptyAutoCcWhitelistResponse, error) {
	region, err := call.Region()
	if err != nil {
		return nil, err
	}
	if err := h.svc.EmptySourceList(ctx, call.Caller, region, req.InstanceId, moat.Whitelist, call.RequestID); err != nil {
		return nil, err
	}
	return &EmptyAutoCcWhitelistResponse{}, nil
}
