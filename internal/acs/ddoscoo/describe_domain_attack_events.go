package ddoscoo

import (
	"context"

	"moat/internal/acs"
	"moat/internal/moat"
)

// DescribeDomainAttackEventsRequest is DescribeDomainAttackEvents'
// parameters: the span (whole minutes, UNIX seconds), a page, and one
// website (all of the caller's in the region when Domain is absent).
type DescribeDomainAttackEventsRequest struct {
	Domain     string `acs:"Domain,domain"`
	StartTime  int64  `acs:"StartTime,required"`
	EndTime    int64  `acs:"EndTime,required"`
	PageNumber int    `acs:"PageNumber,required"`
	PageSize   int    `acs:"PageSize,required"`
	// ResourceGroupId is accepted: websites belong to no resource group.
	ResourceGroupId string `acs:"ResourceGroupId"`
}

// DomainAttackEvent is an item of DescribeDomainAttackEvents'
// DomainAttackEvents.
type DomainAttackEvent struct {
	Domain    string
	StartTime int64
	EndTime   int64
	MaxQps    int64
}

// DescribeDomainAttackEventsResponse is DescribeDomainAttackEvents' body.
type DescribeDomainAttackEventsResponse struct {
	acs.Response
	TotalCount         int64
	DomainAttackEvents []DomainAttackEvent
}

// DescribeDomainAttackEvents pages through the attacks on the websites
// that overlap the span, the latest first: the requests the websites'
// protection refused or watched, the sources' events that overlap in time
// joined into one. An attack still going on ends at server time; MaxQps
// is the highest requests per second one source reached.
func (h *handlers) DescribeDomainAttackEvents(ctx context.Context, call *acs.Call, req *DescribeDomainAttackEventsRequest) (*DescribeDomainAttackEventsResponse, error) {
	region, err := call.Region()
	if err != nil {
		return nil, err
	}
	if err := checkPage(req.PageNumber, req.PageSize); err != nil {
		return nil, err
	}
	q := moat.WebEventQuery{Domain: req.Domain, Start: unixTime(req.StartTime), End: unixTime(req.EndTime), PageNumber: req.PageNumber, PageSize: req.PageSize}
	evs, total, err := h.svc.DomainAttackEvents(ctx, call.Caller, region, q)
	if err != nil {
		return nil, err
	}
	resp := &DescribeDomainAttackEventsResponse{TotalCount: total, DomainAttackEvents: make([]DomainAttackEvent, 0, len(evs))}
	for _, ev := range evs {
		resp.DomainAttackEvents = append(resp.DomainAttackEvents, DomainAttackEvent{
			Domain: ev.Domain, StartTime: ev.Start.Unix(), EndTime: ev.End.Unix(), MaxQps: ev.PeakQPS,
		})
	}
	return resp, nil
}
