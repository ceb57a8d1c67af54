package ddoscoo

import (
	"context"

	"moat/internal/acs"
	"moat/internal/moat"
)

// DescribeAutoCcBlacklistRequest is DescribeAutoCcBlacklist's parameters.
// KeyWord is a prefix of the source addresses to list; QueryType (manual
// or auto) narrows the list to one kind of entry.
type DescribeAutoCcBlacklistRequest struct {
	InstanceId string `acs:"InstanceId,required,resource"`
	PageNumber int    `acs:"PageNumber,required"`
	PageSize   int    `acs:"PageSize,required"`
	KeyWord    string `acs:"KeyWord"`
	QueryType  string `acs:"QueryType"`
}

// DescribeAutoCcBlacklistResponse is DescribeAutoCcBlacklist's body.
type DescribeAutoCcBlacklistResponse struct {
	acs.Response
	TotalCount      int64
	AutoCcBlacklist []AutoCcEntry
}

// DescribeAutoCcBlacklist pages through an instance's live blacklist
// entries; an expired entry is gone.
func (h *handlers) DescribeAutoCcBlacklist(ctx context.Context, call *acs.Call, req *DescribeAutoCcBlacklistRequest) (*DescribeAutoCcBlacklistResponse, error) {
	number, size, err := pageArgs(&req.PageNumber, &req.PageSize)
	if err != nil {
		return nil, err
	}
	q := moat.SourceQuery{KeyWord: req.KeyWord, Type: req.QueryType, PageNumber: number, PageSize: size}
	list, total, err := h.describeSourceList(ctx, call, req.InstanceId, moat.Blacklist, q)
	if err != nil {
		return nil, err
	}
	return &DescribeAutoCcBlacklistResponse{TotalCount: total, AutoCcBlacklist: list}, nil
}
