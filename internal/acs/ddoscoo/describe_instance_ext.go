package ddoscoo

import (
	"context"

	"moat/internal/acs"
	"moat/internal/moat"
)

// DescribeInstanceExtRequest is DescribeInstanceExt's parameters (strings
// on the wire; PageNumber defaults to 1 and PageSize to 10).
type DescribeInstanceExtRequest struct {
	InstanceId string `acs:"InstanceId,resource"`
	PageNumber *int   `acs:"PageNumber"`
	PageSize   *int   `acs:"PageSize"`
}

// InstanceExtSpec is an item of DescribeInstanceExt's InstanceExtSpecs
// list, with sdk-go v1's int64 types.
type InstanceExtSpec struct {
	InstanceId      string
	FunctionVersion int64
	NormalBandwidth int64
	ProductPlan     int64
	ServicePartner  string
}

// DescribeInstanceExtResponse is DescribeInstanceExt's body.
type DescribeInstanceExtResponse struct {
	acs.Response
	TotalCount       int64
	InstanceExtSpecs []InstanceExtSpec
}

// instanceExtSpecOf converts a domain view. NormalBandwidth is the clean
// bandwidth of either product (Premium's NormalBandwidth, Pro's
// ServiceBandwidth), as DescribeInstanceSpecs' BandwidthMbps; ProductPlan
// is the instance's edition (0-3 Premium plans, 9 Pro), the enum the
// DescribeInstanceExt API reference gives for it.
func instanceExtSpecOf(v moat.InstanceView) InstanceExtSpec {
	return InstanceExtSpec{
		InstanceId:      v.ID,
		FunctionVersion: int64(v.Spec.FunctionVersion),
		NormalBandwidth: int64(v.Spec.CleanBandwidth(v.ProductType)),
		ProductPlan:     int64(v.Edition),
		ServicePartner:  v.Spec.ServicePartner,
	}
}

// DescribeInstanceExt pages through the caller's instances in the region
// (or the one InstanceId names) with their extended specification. An
// unknown InstanceId matches nothing.
func (h *handlers) DescribeInstanceExt(ctx context.Context, call *acs.Call, req *DescribeInstanceExtRequest) (*DescribeInstanceExtResponse, error) {
	region, err := call.Region()
	if err != nil {
		return nil, err
	}
	number, size, err := pageArgs(req.PageNumber, req.PageSize)
	if err != nil {
		return nil, err
	}
	page, err := h.svc.InstancesPage(ctx, call.Caller, region, req.InstanceId, number, size)
	if err != nil {
		return nil, err
	}
	resp := &DescribeInstanceExtResponse{TotalCount: page.Total, InstanceExtSpecs: make([]InstanceExtSpec, 0, len(page.Instances))}
	for _, v := range page.Instances {
		resp.InstanceExtSpecs = append(resp.InstanceExtSpecs, instanceExtSpecOf(v))
	}
	return resp, nil
}
