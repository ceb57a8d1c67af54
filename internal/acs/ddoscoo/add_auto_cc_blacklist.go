package ddoscoo

import (
	"context"

	"moat/internal/acs"
	"moat/internal/moat"
)

// AddAutoCcBlacklistRequest is AddAutoCcBlacklist's parameters. Blacklist
// is a JSON string, [{"src":"198.51.100.7"},…]; ExpireTime is in seconds
// (300 to 604800).
type AddAutoCcBlacklistRequest struct {
	InstanceId string `acs:"InstanceId,required,resource"`
	Blacklist  string `acs:"Blacklist,required"`
	ExpireTime int    `acs:"ExpireTime,required"`
}

// AddAutoCcBlacklistResponse is AddAutoCcBlacklist's body.
type AddAutoCcBlacklistResponse struct {
	acs.Response
}

// AddAutoCcBlacklist blocks source addresses at an instance's IP for
// ExpireTime seconds; an address already listed gets the new expiry.
func (h *handlers) AddAutoCcBlacklist(ctx context.Context, call *acs.Call, req *AddAutoCcBlacklistRequest) (*AddAutoCcBlacklistResponse, error) {
	region, err := call.Region()
	if err != nil {
		return nil, err
	}
	ips, err := sourceListJSON("Blacklist", req.Blacklist)
	if err != nil {
		return nil, err
	}
	ttl, err := blacklistTTL(req.ExpireTime)
	if err != nil {
		return nil, err
	}
	if err := h.svc.AddSourceEntries(ctx, call.Caller, region, req.InstanceId, moat.Blacklist, ips, ttl, call.RequestID); err != nil {
		return nil, err
	}
	return &AddAutoCcBlacklistResponse{}, nil
}
