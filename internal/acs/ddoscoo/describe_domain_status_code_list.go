package ddoscoo

import (
	"context"

	"moat/internal/acs"
	"moat/internal/moat"
)

// DescribeDomainStatusCodeListRequest is DescribeDomainStatusCodeList's
// parameters: the span (whole minutes, UNIX seconds; without EndTime it
// ends with the current minute), the width of a point, where the codes
// are counted (QueryType) and one website (all of the caller's in the
// region when Domain is absent).
type DescribeDomainStatusCodeListRequest struct {
	Domain    string `acs:"Domain,domain"`
	StartTime int64  `acs:"StartTime,required"`
	EndTime   *int64 `acs:"EndTime"`
	Interval  int64  `acs:"Interval,required"`
	// QueryType is gf (the answers the proxy sent) or upstrem (the
	// origin's answers; the API's spelling).
	QueryType string `acs:"QueryType,required"`
	// ResourceGroupId is accepted: websites belong to no resource group.
	ResourceGroupId string `acs:"ResourceGroupId"`
}

// StatusCodes is an item of DescribeDomainStatusCodeList's StatusCodeList.
type StatusCodes struct {
	Index     int32
	Time      int64
	Status2XX int64
	Status200 int64
	Status3XX int64
	Status4XX int64
	Status403 int64
	Status404 int64
	Status405 int64
	Status410 int64
	Status499 int64
	Status5XX int64
	Status501 int64
	Status502 int64
	Status503 int64
	Status504 int64
}

// DescribeDomainStatusCodeListResponse is DescribeDomainStatusCodeList's
// body.
type DescribeDomainStatusCodeListResponse struct {
	acs.Response
	StatusCodeList []StatusCodes
}

// DescribeDomainStatusCodeList reports, per Interval, how many answers of
// each status class and of the listed codes the websites' clients got.
// moat records the status it sends: an origin's answer is passed on as it
// is, so upstrem reports the same counts as gf, the proxy's own answers
// (block pages, 502 for an origin that cannot be reached, 499 for a
// client gone) included. Every point that has begun is listed, zeros
// included.
func (h *handlers) DescribeDomainStatusCodeList(ctx context.Context, call *acs.Call, req *DescribeDomainStatusCodeListRequest) (*DescribeDomainStatusCodeListResponse, error) {
	region, err := call.Region()
	if err != nil {
		return nil, err
	}
	switch req.QueryType {
	case "gf", "upstrem":
	default:
		return nil, moat.InvalidParamValue("QueryType", req.QueryType, "gf (at the proxy) or upstrem (from the origin)")
	}
	q, err := webStatsQuery(req.Domain, req.StartTime, req.EndTime, &req.Interval)
	if err != nil {
		return nil, err
	}
	points, err := h.svc.DomainStatusCodes(ctx, call.Caller, region, q)
	if err != nil {
		return nil, err
	}
	resp := &DescribeDomainStatusCodeListResponse{StatusCodeList: make([]StatusCodes, 0, len(points))}
	for _, p := range points {
		resp.StatusCodeList = append(resp.StatusCodeList, StatusCodes{
			Index: int32(p.Index), Time: p.Time.Unix(),
			Status2XX: p.Status2xx, Status3XX: p.Status3xx, Status4XX: p.Status4xx, Status5XX: p.Status5xx,
			Status200: p.Code(200), Status403: p.Code(403), Status404: p.Code(404), Status405: p.Code(405),
			Status410: p.Code(410), Status499: p.Code(499), Status501: p.Code(501), Status502: p.Code(502),
			Status503: p.Code(503), Status504: p.Code(504),
		})
	}
	return resp, nil
}
