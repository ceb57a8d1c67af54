package ddoscoo

import (
	"context"
	"strconv"

	"moat/internal/acs"
	"moat/internal/moat"
)

// DescribePortMaxConnsRequest is DescribePortMaxConns' parameters.
type DescribePortMaxConnsRequest struct {
	InstanceIds     []string `acs:"InstanceIds,required,resource"`
	StartTime       int64    `acs:"StartTime,required"`
	EndTime         int64    `acs:"EndTime,required"`
	ResourceGroupId string   `acs:"ResourceGroupId"`
}

// PortMaxConn is an item of DescribePortMaxConns' PortMaxConns.
type PortMaxConn struct {
	Ip   string
	Port string
	Cps  int64
}

// DescribePortMaxConnsResponse is DescribePortMaxConns' body.
type DescribePortMaxConnsResponse struct {
	acs.Response
	PortMaxConns []PortMaxConn
}

// DescribePortMaxConns lists each frontend port that carried traffic in
// the span with its peak new connections per second (the busiest
// minute's, rounded up), the busiest port first.
func (h *handlers) DescribePortMaxConns(ctx context.Context, call *acs.Call, req *DescribePortMaxConnsRequest) (*DescribePortMaxConnsResponse, error) {
	region, err := call.Region()
	if err != nil {
		return nil, err
	}
	q, err := statsQuery(req.InstanceIds, req.StartTime, req.EndTime, nil, 0)
	if err != nil {
		return nil, err
	}
	peaks, err := h.svc.PortMaxConns(ctx, call.Caller, region, q)
	if err != nil {
		return nil, moat.Rename(err, instanceParams)
	}
	resp := &DescribePortMaxConnsResponse{PortMaxConns: make([]PortMaxConn, 0, len(peaks))}
	for _, p := range peaks {
		resp.PortMaxConns = append(resp.PortMaxConns, PortMaxConn{
			Ip: p.IP, Port: strconv.Itoa(p.Port), Cps: perSecond(p.PeakBucketConn, bucketSeconds),
		})
	}
	return resp, nil
}
