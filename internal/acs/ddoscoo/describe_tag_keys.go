package ddoscoo

import (
	"context"

	"moat/internal/acs"
)

// DescribeTagKeysRequest is DescribeTagKeys' parameters.
type DescribeTagKeysRequest struct {
	RegionId     string `acs:"RegionId,required"`
	ResourceType string `acs:"ResourceType,required"`
	PageNumber   *int   `acs:"PageNumber"`
	PageSize     *int   `acs:"PageSize"`
	// ResourceGroupId narrows the count to the group's instances.
	ResourceGroupId string `acs:"ResourceGroupId"`
}

// TagKey is an item of DescribeTagKeys' TagKeys list: a key and how many
// instances carry it.
type TagKey struct {
	TagKey   string
	TagCount int
}

// DescribeTagKeysResponse is DescribeTagKeys' body. PageNumber and
// PageSize echo the page served (defaults 1 and 10).
type DescribeTagKeysResponse struct {
	acs.Response
	PageNumber int
	PageSize   int
	TotalCount int
	TagKeys    []TagKey
}

// DescribeTagKeys lists the tag keys in use on the caller's instances in
// the region, sorted by key, with their instance counts.
func (h *handlers) DescribeTagKeys(ctx context.Context, call *acs.Call, req *DescribeTagKeysRequest) (*DescribeTagKeysResponse, error) {
	region, err := call.Region()
	if err != nil {
		return nil, err
	}
	number, size, err := pageArgs(req.PageNumber, req.PageSize)
	if err != nil {
		return nil, err
	}
	keys, total, err := h.svc.TagKeys(ctx, call.Caller, region, req.ResourceType, number, size, req.ResourceGroupId)
	if err != nil {
		return nil, err
	}
	resp := &DescribeTagKeysResponse{PageNumber: max(number, 1), PageSize: size, TotalCount: int(total), TagKeys: make([]TagKey, 0, len(keys))}
	if size == 0 {
		resp.PageSize = 10
	}
	for _, k := range keys {
		resp.TagKeys = append(resp.TagKeys, TagKey{TagKey: k.Key, TagCount: int(k.Count)})
	}
	return resp, nil
}
