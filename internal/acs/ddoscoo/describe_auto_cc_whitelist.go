package ddoscoo

import (
	"context"

	"moat/internal/acs"
	"moat/internal/moat"
)

// DescribeAutoCcWhitelistRequest is DescribeAutoCcWhitelist's parameters.
// KeyWord is a prefix of the source addresses to list.
type DescribeAutoCcWhitelistRequest struct {
	InstanceId string `acs:"InstanceId,required,resource"`
	PageNumber int    `acs:"PageNumber,required"`
	PageSize   int    `acs:"PageSize,required"`
	KeyWord    string `acs:"KeyWord"`
}

// DescribeAutoCcWhitelistResponse is DescribeAutoCcWhitelist's body.
type DescribeAutoCcWhitelistResponse struct {
	acs.Response
	TotalCount      int64
	AutoCcWhitelist []AutoCcEntry
}

// DescribeAutoCcWhitelist pages through an instance's whitelist; its
// entries never expire (EndTime 0).
func (h *handlers) DescribeAutoCcWhitelist(ctx context.Context, call *acs.Call, req *DescribeAutoCcWhitelistRequest) (*DescribeAutoCcWhitelistResponse, error) {
	number, size, err := pageArgs(&req.PageNumber, &req.PageSize)
	if err != nil {
		return nil, err
	}
	q := moat.SourceQuery{KeyWord: req.KeyWord, PageNumber: number, PageSize: size}
	list, total, err := h.describeSourceList(ctx, call, req.InstanceId, moat.Whitelist, q)
	if err != nil {
		return nil, err
	}
	return &DescribeAutoCcWhitelistResponse{TotalCount: total, AutoCcWhitelist: list}, nil
}
