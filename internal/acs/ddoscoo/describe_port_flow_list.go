package ddoscoo

import (
	"context"

	"moat/internal/acs"
	"moat/internal/moat"
)

// DescribePortFlowListRequest is DescribePortFlowList's parameters: the
// instances, the span (whole minutes, UNIX seconds) and the width of a
// point. ResourceGroupId is accepted and does not narrow the answer (the
// instances are named).
type DescribePortFlowListRequest struct {
	InstanceIds     []string `acs:"InstanceIds,required,resource"`
	StartTime       int64    `acs:"StartTime,required"`
	EndTime         int64    `acs:"EndTime,required"`
	Interval        int      `acs:"Interval,required"`
	ResourceGroupId string   `acs:"ResourceGroupId"`
}

// PortFlow is an item of DescribePortFlowList's PortFlowList.
type PortFlow struct {
	Index     int64
	Time      int64
	InBps     int64
	OutBps    int64
	InPps     int64
	OutPps    int64
	AttackBps int64
	AttackPps int64
	Region    string
}

// DescribePortFlowListResponse is DescribePortFlowList's body.
type DescribePortFlowListResponse struct {
	acs.Response
	PortFlowList []PortFlow
}

// DescribePortFlowList reports the traffic the data plane forwarded for
// the instances, per Interval: bit and packet rates in and out (averages
// over the point, rounded up), and as AttackPps the connections and
// datagrams mitigation refused per second (moat counts no attack bytes,
// so AttackBps is 0). Every point that has begun is listed, zeros
// included.
func (h *handlers) DescribePortFlowList(ctx context.Context, call *acs.Call, req *DescribePortFlowListRequest) (*DescribePortFlowListResponse, error) {
	region, err := call.Region()
	if err != nil {
		return nil, err
	}
	q, err := statsQuery(req.InstanceIds, req.StartTime, req.EndTime, &req.Interval, 0)
	if err != nil {
		return nil, err
	}
	points, err := h.svc.PortFlow(ctx, call.Caller, region, q)
	if err != nil {
		return nil, moat.Rename(err, instanceParams)
	}
	resp := &DescribePortFlowListResponse{PortFlowList: make([]PortFlow, 0, len(points))}
	for _, p := range points {
		resp.PortFlowList = append(resp.PortFlowList, PortFlow{
			Index: p.Index, Time: p.Time.Unix(),
			InBps: perSecond(8*p.InBytes, p.Seconds), OutBps: perSecond(8*p.OutBytes, p.Seconds),
			InPps: perSecond(p.InPackets, p.Seconds), OutPps: perSecond(p.OutPackets, p.Seconds),
			AttackPps: perSecond(p.Dropped, p.Seconds), Region: trafficRegion(region),
		})
	}
	return resp, nil
}
