package ddoscoo

import (
	"context"

	"moat/internal/acs"
)

// DescribeAutoCcListCountRequest is DescribeAutoCcListCount's parameters.
// QueryType (manual or auto) counts one kind of entry.
type DescribeAutoCcListCountRequest struct {
	InstanceId string `acs:"InstanceId,required,resource"`
	QueryType  string `acs:"QueryType"`
}

// DescribeAutoCcListCountResponse is DescribeAutoCcListCount's body.
type DescribeAutoCcListCountResponse struct {
	acs.Response
	BlackCount int
	WhiteCount int
}

// DescribeAutoCcListCount counts the live entries of an instance's
// blacklist and whitelist.
func (h *handlers) DescribeAutoCcListCount(ctx context.Context, call *acs.Call, req *DescribeAutoCcListCountRequest) (*DescribeAutoCcListCountResponse, error) {
	region, err := call.Region()
	if err != nil {
		return nil, err
	}
	black, white, err := h.svc.SourceCounts(ctx, call.Caller, region, req.InstanceId, req.QueryType)
	if err != nil {
		return nil, err
	}
	return &DescribeAutoCcListCountResponse{BlackCount: black, WhiteCount: white}, nil
}
