package ddoscoo

import (
	"context"
	"strconv"

	"moat/internal/acs"
	"moat/internal/moat"
)

// DescribeDDosAllEventListRequest is DescribeDDosAllEventList's
// parameters: the span, a page, and optionally the event types (a comma
// list of defense, blackhole, cc and web-cc) and an instance IP.
type DescribeDDosAllEventListRequest struct {
	StartTime  int64         `acs:"StartTime,required"`
	EndTime    int64         `acs:"EndTime,required"`
	PageNumber int           `acs:"PageNumber,required"`
	PageSize   int           `acs:"PageSize,required"`
	EventType  acs.CommaList `acs:"EventType"`
	Ip         string        `acs:"Ip"`
}

// AttackEvent is an item of DescribeDDosAllEventList's AttackEvents.
type AttackEvent struct {
	EventType string
	Ip        string
	Port      string
	StartTime int64
	EndTime   int64
	Mbps      int64
	Pps       int64
	Area      string
}

// DescribeDDosAllEventListResponse is DescribeDDosAllEventList's body.
type DescribeDDosAllEventListResponse struct {
	acs.Response
	Total        int64
	AttackEvents []AttackEvent
}

// DescribeDDosAllEventList pages through the mitigation events of all the
// caller's instances in the region (or of the one with Ip), as
// DescribeDDoSEvents does; moat records only defense events, so a list
// of other types is empty. Mbps is the peak of a byte limit in Mbit/s,
// rounded up.
func (h *handlers) DescribeDDosAllEventList(ctx context.Context, call *acs.Call, req *DescribeDDosAllEventListRequest) (*DescribeDDosAllEventListResponse, error) {
	region, err := call.Region()
	if err != nil {
		return nil, err
	}
	types, empty := req.EventType.Items()
	if empty {
		return nil, moat.InvalidParamValue("EventType", string(req.EventType), "a comma-separated list without empty items")
	}
	if err := checkPage(req.PageNumber, req.PageSize); err != nil {
		return nil, err
	}
	q := moat.EventQuery{IP: req.Ip, Types: types, Start: unixTime(req.StartTime), End: unixTime(req.EndTime), PageNumber: req.PageNumber, PageSize: req.PageSize}
	evs, total, err := h.svc.AttackEvents(ctx, call.Caller, region, q)
	if err != nil {
		return nil, err
	}
	resp := &DescribeDDosAllEventListResponse{Total: total, AttackEvents: make([]AttackEvent, 0, len(evs))}
	for _, ev := range evs {
		bps, pps := eventRates(ev.MitigationEvent)
		resp.AttackEvents = append(resp.AttackEvents, AttackEvent{
			EventType: moat.EventTypeDefense, Ip: ev.IP, Port: strconv.Itoa(ev.FrontendPort),
			StartTime: ev.Start.Unix(), EndTime: ev.End.Unix(),
			Mbps: perSecond(bps, 1_000_000), Pps: pps, Area: trafficRegion(region),
		})
	}
	return resp, nil
}
