package ddoscoo

import (
	"context"

	"moat/internal/acs"
	"moat/internal/moat"
)

// DescribePortConnsCountRequest is DescribePortConnsCount's parameters.
type DescribePortConnsCountRequest struct {
	InstanceIds     []string `acs:"InstanceIds,required,resource"`
	StartTime       int64    `acs:"StartTime,required"`
	EndTime         int64    `acs:"EndTime,required"`
	Port            string   `acs:"Port"`
	ResourceGroupId string   `acs:"ResourceGroupId"`
}

// DescribePortConnsCountResponse is DescribePortConnsCount's body.
type DescribePortConnsCountResponse struct {
	acs.Response
	Conns      int64
	ActConns   int64
	InActConns int64
	Cps        int64
}

// DescribePortConnsCount reports the peaks over the span: concurrent,
// active and inactive connections, and new connections per second in the
// busiest minute (rounded up).
func (h *handlers) DescribePortConnsCount(ctx context.Context, call *acs.Call, req *DescribePortConnsCountRequest) (*DescribePortConnsCountResponse, error) {
	region, err := call.Region()
	if err != nil {
		return nil, err
	}
	port, err := statsPort(req.Port)
	if err != nil {
		return nil, err
	}
	q, err := statsQuery(req.InstanceIds, req.StartTime, req.EndTime, nil, port)
	if err != nil {
		return nil, err
	}
	sum, err := h.svc.PortConnsCount(ctx, call.Caller, region, q)
	if err != nil {
		return nil, moat.Rename(err, instanceParams)
	}
	return &DescribePortConnsCountResponse{
		Conns: sum.MaxConns, ActConns: sum.ActiveConns, InActConns: sum.InactiveConns,
		Cps: perSecond(sum.PeakBucketConn, bucketSeconds),
	}, nil
}
