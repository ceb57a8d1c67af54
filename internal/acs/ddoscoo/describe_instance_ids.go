package ddoscoo

import (
	"context"

	"moat/internal/acs"
)

// DescribeInstanceIdsRequest is DescribeInstanceIds' parameters.
type DescribeInstanceIdsRequest struct {
	Edition         *int     `acs:"Edition"`
	InstanceIds     []string `acs:"InstanceIds"`
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

// DescribeInstanceIdsResponse is DescribeInstanceIds' body.
type DescribeInstanceIdsResponse struct {
	acs.Response
	InstanceIds []InstanceIdItem
}

// DescribeInstanceIds lists the IDs, editions and remarks of the caller's
// instances in a region.
func (h *handlers) DescribeInstanceIds(ctx context.Context, call *acs.Call, req *DescribeInstanceIdsRequest) (*DescribeInstanceIdsResponse, error) {
	region, err := call.Region()
	if err != nil {
		return nil, err
	}
	list, err := h.svc.DescribeInstanceIDs(ctx, call.Caller, region, req.Edition, req.InstanceIds, req.ResourceGroupId)
	if err != nil {
		return nil, err
	}
	resp := &DescribeInstanceIdsResponse{InstanceIds: make([]InstanceIdItem, 0, len(list))}
	for _, in := range list {
		resp.InstanceIds = append(resp.InstanceIds, InstanceIdItem{InstanceId: in.ID, Edition: in.Edition, Remark: in.Remark, IpMode: "fnat", IpVersion: "Ipv4"})
	}
	return resp, nil
}
