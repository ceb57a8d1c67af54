package ddoscoo

import (
	"context"

	"moat/internal/acs"
	"moat/internal/moat"
)

// DescribeInstanceIdsRequest is DescribeInstanceIds' parameters.
type DescribeInstanceIdsRequest struct {
	Edition         *int     `acs:"Edition"`
	InstanceIds     []string `acs:"InstanceIds,resource"`
	ResourceGroupId string   `acs:"ResourceGroupId"`
}

// InstanceIdItem is an item of DescribeInstanceIds' InstanceIds list.
type InstanceIdItem struct {
	InstanceId string
	Edition    int
	Remark     string
	IpMode     string
	IpVersion  string
}

// DescribeInstanceIdsResponse is DescribeInstanceIds' body. The action
// has no paging, so the list is written as it is read (acs.List).
type DescribeInstanceIdsResponse struct {
	acs.Response
	InstanceIds acs.List[InstanceIdItem]
}

// DescribeInstanceIds lists the IDs, editions and remarks of the caller's
// instances in a region.
func (h *handlers) DescribeInstanceIds(ctx context.Context, call *acs.Call, req *DescribeInstanceIdsRequest) (*DescribeInstanceIdsResponse, error) {
	region, err := call.Region()
	if err != nil {
		return nil, err
	}
	each := func(yield func([]InstanceIdItem) error) error {
		items := make([]InstanceIdItem, 0, 64)
		err := h.svc.DescribeInstanceIDs(ctx, call.Caller, region, req.Edition, req.InstanceIds, req.ResourceGroupId, func(list []moat.Instance) error {
			items = items[:0]
			for _, in := range list {
				items = append(items, InstanceIdItem{InstanceId: in.ID, Edition: in.Edition, Remark: in.Remark, IpMode: ipMode, IpVersion: ipVersion})
			}
			return yield(items)
		})
		return moat.Rename(err, instanceParams)
	}
	return &DescribeInstanceIdsResponse{InstanceIds: acs.List[InstanceIdItem]{Each: each}}, nil
}
