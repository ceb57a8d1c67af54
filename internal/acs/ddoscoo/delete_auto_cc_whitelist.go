package ddoscoo

import (
	"context"

	"moat/internal/acs"
	"moat/internal/moat"
)

// DeleteAutoCcWhitelistRequest is DeleteAutoCcWhitelist's parameters.
// Whitelist is a JSON string, [{"src":"198.51.100.7"},…].
type DeleteAutoCcWhitelistRequest struct {
	InstanceId string `acs:"InstanceId,required,resource"`
	Whitelist  string `acs:"Whitelist,required"`
}

// DeleteAutoCcWhitelistResponse is DeleteAutoCcWhitelist's body.
type DeleteAutoCcWhitelistResponse struct {
	acs.Response
}

// DeleteAutoCcWhitelist removes source addresses from an instance's
// whitelist; addresses not on it are ignored.
func (h *handlers) DeleteAutoCcWhitelist(ctx context.Context, call *acs.Call, req *DeleteAutoCcWhitelistRequest) (*DeleteAutoCcWhitelistResponse, error) {
	region, err := call.Region()
	if err != nil {
		return nil, err
	}
	ips, err := sourceListJSON("Whitelist", req.Whitelist)
	if err != nil {
		return nil, err
	}
	if err := h.svc.DeleteSourceEntries(ctx, call.Caller, region, req.InstanceId, moat.Whitelist, ips, call.RequestID); err != nil {
		return nil, err
	}
	return &DeleteAutoCcWhitelistResponse{}, nil
}
