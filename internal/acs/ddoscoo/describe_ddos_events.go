package ddoscoo

import (
	"context"
	"strconv"

	"moat/internal/acs"
	"moat/internal/moat"
)

// DescribeDDoSEventsRequest is DescribeDDoSEvents' parameters; without
// EndTime the span ends at server time.
type DescribeDDoSEventsRequest struct {
	InstanceIds     []string `acs:"InstanceIds,required,resource"`
	StartTime       int64    `acs:"StartTime,required"`
	EndTime         *int64   `acs:"EndTime"`
	PageNumber      int      `acs:"PageNumber,required"`
	PageSize        int      `acs:"PageSize,required"`
	ResourceGroupId string   `acs:"ResourceGroupId"`
}

// DDoSEvent is an item of DescribeDDoSEvents' DDoSEvents.
type DDoSEvent struct {
	Ip        string
	Port      string
	EventType string
	StartTime int64
	EndTime   int64
	Bps       int64
	Pps       int64
	Region    string
}

// DescribeDDoSEventsResponse is DescribeDDoSEvents' body.
type DescribeDDoSEventsResponse struct {
	acs.Response
	Total      int64
	DDoSEvents []DDoSEvent
}

// DescribeDDoSEvents pages through the mitigation events of the instances
// that overlap the span, the latest first: each is one source held to one
// limit of one port rule ("defense"; moat never blackholes). An event
// still going on ends at server time. Bps and Pps are the peak rates of
// the byte and packet limits; other limits count connections and report
// 0.
func (h *handlers) DescribeDDoSEvents(ctx context.Context, call *acs.Call, req *DescribeDDoSEventsRequest) (*DescribeDDoSEventsResponse, error) {
	region, err := call.Region()
	if err != nil {
		return nil, err
	}
	q := moat.EventQuery{InstanceIDs: req.InstanceIds, Start: unixTime(req.StartTime), PageNumber: req.PageNumber, PageSize: req.PageSize}
	if req.EndTime != nil {
		q.End = unixTime(*req.EndTime)
	}
	if err := checkPage(req.PageNumber, req.PageSize); err != nil {
		return nil, err
	}
	evs, total, err := h.svc.AttackEvents(ctx, call.Caller, region, q)
	if err != nil {
		return nil, moat.Rename(err, instanceParams)
	}
	resp := &DescribeDDoSEventsResponse{Total: total, DDoSEvents: make([]DDoSEvent, 0, len(evs))}
	for _, ev := range evs {
		bps, pps := eventRates(ev.MitigationEvent)
		resp.DDoSEvents = append(resp.DDoSEvents, DDoSEvent{
			Ip: ev.IP, Port: strconv.Itoa(ev.FrontendPort), EventType: moat.EventTypeDefense,
			StartTime: ev.Start.Unix(), EndTime: ev.End.Unix(), Bps: bps, Pps: pps, Region: trafficRegion(region),
		})
	}
	return resp, nil
}
