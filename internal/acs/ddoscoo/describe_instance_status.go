package ddoscoo

import (
	"context"
	"strconv"
	"strings"

	"moat/internal/acs"
	"moat/internal/moat"
)

// DescribeInstanceStatusRequest is DescribeInstanceStatus' parameters.
// ProductType, an integer, is read by CallRegion.
type DescribeInstanceStatusRequest struct {
	InstanceId  string `acs:"InstanceId,required,resource"`
	ProductType string `acs:"ProductType,required"`
}

// CallRegion is the region ProductType names: 1 mainland, 2 outside.
func (r *DescribeInstanceStatusRequest) CallRegion() (moat.Region, error) {
	if r.ProductType == "" {
		return "", moat.MissingParam("ProductType")
	}
	pt, err := strconv.Atoi(strings.TrimSpace(r.ProductType))
	if err != nil {
		return "", moat.InvalidParam("ProductType", "it must be an integer")
	}
	return moat.RegionForProductType(pt)
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
	region, err := call.Region()
	if err != nil {
		return nil, err
	}
	st, err := h.svc.InstanceStatus(ctx, call.Caller, region, req.InstanceId)
	if err != nil {
		return nil, err
	}
	return &DescribeInstanceStatusResponse{InstanceId: req.InstanceId, InstanceStatus: st}, nil
}
