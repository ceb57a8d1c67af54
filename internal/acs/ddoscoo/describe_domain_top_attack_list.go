package ddoscoo

import (
	"context"

	"moat/internal/acs"
)

// DescribeDomainTopAttackListRequest is DescribeDomainTopAttackList's
// parameters: the span (whole minutes, UNIX seconds).
type DescribeDomainTopAttackListRequest struct {
	StartTime int64 `acs:"StartTime,required"`
	EndTime   int64 `acs:"EndTime,required"`
	// ResourceGroupId is accepted: websites belong to no resource group.
	ResourceGroupId string `acs:"ResourceGroupId"`
}

// DomainAttackItem is an item of DescribeDomainTopAttackList's AttackList.
type DomainAttackItem struct {
	Domain string
	Attack int64
	Count  int64
}

// DescribeDomainTopAttackListResponse is DescribeDomainTopAttackList's
// body.
type DescribeDomainTopAttackListResponse struct {
	acs.Response
	AttackList []DomainAttackItem
}

// DescribeDomainTopAttackList lists the caller's websites in the region
// that had attack requests in the span, the most attacked first: Attack
// is the busiest minute's attack requests per second and Count its
// busiest minute's requests per second (rounded up).
func (h *handlers) DescribeDomainTopAttackList(ctx context.Context, call *acs.Call, req *DescribeDomainTopAttackListRequest) (*DescribeDomainTopAttackListResponse, error) {
	region, err := call.Region()
	if err != nil {
		return nil, err
	}
	tops, err := h.svc.DomainTopAttacks(ctx, call.Caller, region, unixTime(req.StartTime), unixTime(req.EndTime))
	if err != nil {
		return nil, err
	}
	resp := &DescribeDomainTopAttackListResponse{AttackList: make([]DomainAttackItem, 0, len(tops))}
	for _, t := range tops {
		resp.AttackList = append(resp.AttackList, DomainAttackItem{
			Domain: t.Domain, Attack: perSecond(t.PeakAttacks, bucketSeconds), Count: perSecond(t.PeakRequests, bucketSeconds),
		})
	}
	return resp, nil
}
