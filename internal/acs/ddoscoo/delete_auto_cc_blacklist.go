package ddoscoo

import (
	"context"

	"moat/internal/acs"
	"moat/internal/moat"
)

// DeleteAutoCcBlacklistRequest is DeleteAutoCcBlacklist's parameters.
// Blacklist is a JSON string, [{"src":"198.51.100.7"},…].
type DeleteAutoCcBlacklistRequest struct {
	InstanceId string `acs:"InstanceId,required,resource"`
	Blacklist  string `acs:"Blacklist,required"`
}

// DeleteAutoCcBlacklistResponse is DeleteAutoCcBlacklist's body.
type DeleteAutoCcBlacklistResponse struct {
	acs.Response
}

// DeleteAutoCcBlacklist removes source addresses from an instance's
// blacklist; addresses not on it are ignored.
func (h *handlers) DeleteAutoCcBlacklist(ctx context.Context, call *acs.Call, req *DeleteAutoCcBlacklistRequest) (*DeleteAutoCcBlacklistResponse, error) {
	region, err := call.Region()
	if err != nil {
		return nil, err
	}
	ips, err := sourceListJSON("Blacklist", req.Blacklist)
	if err != nil {
		return nil, err
	}
	if err := h.svc.DeleteSourceEntries(ctx, call.Caller, region, req.InstanceId, moat.Blacklist, ips, call.RequestID); err != nil {
		return nil, err
	}
	return &DeleteAutoCcBlacklistResponse{}, nil
}
