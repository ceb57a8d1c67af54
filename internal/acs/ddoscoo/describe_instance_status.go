package ddoscoo

import (
	"context"

	"moat/internal/acs"
	"moat/internal/moat"
)

// DescribeInstanceStatusRequest is DescribeInstanceStatus' parameters.
type DescribeInstanceStatusRequest struct {
	InstanceId  string `acs:"InstanceId,required"`
	ProductType int    `acs:"ProductType,required"`
}

// DescribeInstanceStatusResponse is DescribeInstanceStatus' body.
type DescribeInstanceStatusResponse struct {
	acs.Response
	InstanceId     string
	InstanceStatus int
}

// DescribeInstanceStatus reports 1 normal, 2 expired or 4 released.
// ProductType (1 mainland, 2 outside) names the region.
func (h *handlers) DescribeInstanceStatus(ctx context.Context, call *acs.Call, req *DescribeInstanceStatusRequest) (*DescribeInstanceStatusResponse, error) {
	region, err := moat.RegionForProductType(req.ProductType)
	if err != nil {
		return nil, err
	}
	st, err := h.svc.InstanceStatus(ctx, call.Caller, region, req.InstanceId)
	if err != nil {
		return nil, err
	}
	return &DescribeInstanceStatusResponse{InstanceId: req.InstanceId, InstanceStatus: st}, nil
}
