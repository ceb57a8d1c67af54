package ddoscoo

import (
	"context"

	"moat/internal/acs"
	"moat/internal/moat"
)

// DescribePortConnsListRequest is DescribePortConnsList's parameters; Port
// (a string) narrows the figures to one frontend port.
type DescribePortConnsListRequest struct {
	InstanceIds     []string `acs:"InstanceIds,required,resource"`
	StartTime       int64    `acs:"StartTime,required"`
	EndTime         int64    `acs:"EndTime,required"`
	Interval        int      `acs:"Interval,required"`
	Port            string   `acs:"Port"`
	ResourceGroupId string   `acs:"ResourceGroupId"`
}

// PortConns is an item of DescribePortConnsList's ConnsList (it has no
// time: Index counts points from StartTime).
type PortConns struct {
	Index      int64
	ActConns   int64
	InActConns int64
	Cps        int64
	Conns      int64
}

// DescribePortConnsListResponse is DescribePortConnsList's body.
type DescribePortConnsListResponse struct {
	acs.Response
	ConnsList []PortConns
}

// DescribePortConnsList reports connections per Interval: the peak active,
// inactive and concurrent connections, and new connections per second
// (the point's average, rounded up).
func (h *handlers) DescribePortConnsList(ctx context.Context, call *acs.Call, req *DescribePortConnsListRequest) (*DescribePortConnsListResponse, error) {
	region, err := call.Region()
	if err != nil {
		return nil, err
	}
	port, err := statsPort(req.Port)
	if err != nil {
		return nil, err
	}
	q, err := statsQuery(req.InstanceIds, req.StartTime, req.EndTime, &req.Interval, port)
	if err != nil {
		return nil, err
	}
	points, err := h.svc.PortConns(ctx, call.Caller, region, q)
	if err != nil {
		return nil, moat.Rename(err, instanceParams)
	}
	resp := &DescribePortConnsListResponse{ConnsList: make([]PortConns, 0, len(points))}
	for _, p := range points {
		resp.ConnsList = append(resp.ConnsList, PortConns{
			Index: p.Index, ActConns: p.ActiveConns, InActConns: p.InactiveConns,
			Cps: perSecond(p.NewConns, p.Seconds), Conns: p.MaxConns,
		})
	}
	return resp, nil
}
