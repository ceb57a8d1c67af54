package ddoscoo

import (
	"context"

	"moat/internal/acs"
)

// DescribeDomainQPSListRequest is DescribeDomainQPSList's parameters: the
// span (whole minutes, UNIX seconds), the width of a point, and one
// website (all of the caller's in the region when Domain is absent).
type DescribeDomainQPSListRequest struct {
	Domain    string `acs:"Domain,domain"`
	StartTime int64  `acs:"StartTime,required"`
	EndTime   int64  `acs:"EndTime,required"`
	Interval  int64  `acs:"Interval,required"`
	// ResourceGroupId is accepted: websites belong to no resource group.
	ResourceGroupId string `acs:"ResourceGroupId"`
}

// DomainQPS is an item of DescribeDomainQPSList's DomainQPSList.
type DomainQPS struct {
	Index        int64
	Time         int64
	TotalQps     int64
	AttackQps    int64
	MaxQps       int64
	MaxNormalQps int64
	MaxAttackQps int64
	TotalCount   int64
	CacheHits    int64
}

// DescribeDomainQPSListResponse is DescribeDomainQPSList's body.
type DescribeDomainQPSListResponse struct {
	acs.Response
	DomainQPSList []DomainQPS
}

// DescribeDomainQPSList reports the requests the websites answered, per
// Interval: TotalCount requests, TotalQps and AttackQps their averages
// over the point (rounded up), and the Max figures the busiest minute's
// requests per second (all, normal, attack). moat caches nothing, so
// CacheHits is 0. Every point that has begun is listed, zeros included.
func (h *handlers) DescribeDomainQPSList(ctx context.Context, call *acs.Call, req *DescribeDomainQPSListRequest) (*DescribeDomainQPSListResponse, error) {
	region, err := call.Region()
	if err != nil {
		return nil, err
	}
	q, err := webStatsQuery(req.Domain, req.StartTime, &req.EndTime, &req.Interval)
	if err != nil {
		return nil, err
	}
	points, err := h.svc.DomainQPS(ctx, call.Caller, region, q)
	if err != nil {
		return nil, err
	}
	resp := &DescribeDomainQPSListResponse{DomainQPSList: make([]DomainQPS, 0, len(points))}
	for _, p := range points {
		resp.DomainQPSList = append(resp.DomainQPSList, DomainQPS{
			Index: p.Index, Time: p.Time.Unix(),
			TotalQps: perSecond(p.Requests, p.Seconds), AttackQps: perSecond(p.AttackRequests, p.Seconds),
			MaxQps: perSecond(p.PeakRequests, bucketSeconds), MaxNormalQps: perSecond(p.PeakNormal, bucketSeconds),
			MaxAttackQps: perSecond(p.PeakAttacks, bucketSeconds), TotalCount: p.Requests,
		})
	}
	return resp, nil
}
