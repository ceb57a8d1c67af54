package ddoscoo

import (
	"context"

	"moat/internal/acs"
	"moat/internal/moat"
)

// AddAutoCcWhitelistRequest is AddAutoCcWhitelist's parameters. Whitelist
// is a JSON string, [{"src":"198.51.100.7"},…]. ExpireTime is deprecated:
// whitelisted addresses never expire, so it is read and ignored.
type AddAutoCcWhitelistRequest struct {
	InstanceId string `acs:"InstanceId,required,resource"`
	Whitelist  string `acs:"Whitelist,required"`
	ExpireTime *int   `acs:"ExpireTime"`
}

// AddAutoCcWhitelistResponse is AddAutoCcWhitelist's body.
type AddAutoCcWhitelistResponse struct {
	acs.Response
}

// AddAutoCcWhitelist lets source addresses through to an instance's IP
// for good.
func (h *handlers) AddAutoCcWhitelist(ctx context.Context, call *acs.Call, req *AddAutoCcWhitelistRequest) (*AddAutoCcWhitelistResponse, error) {
	region, err := call.Region()
	if err != nil {
		return nil, err
	}
	ips, err := sourceListJSON("Whitelist", req.Whitelist)
	if err != nil {
		return nil, err
	}
	if err := h.svc.AddSourceEntries(ctx, call.Caller, region, req.InstanceId, moat.Whitelist, ips, 0, call.RequestID); err != nil {
		return nil, err
	}
	return &AddAutoCcWhitelistResponse{}, nil
}
