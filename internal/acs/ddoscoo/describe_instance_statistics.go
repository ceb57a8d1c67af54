package ddoscoo

import (
	"context"

	"moat/internal/acs"
	"moat/internal/moat"
)

// DescribeInstanceStatisticsRequest is DescribeInstanceStatistics'
// parameters.
type DescribeInstanceStatisticsRequest struct {
	InstanceIds []string `acs:"InstanceIds,required,resource"`
}

// InstanceStatistic is an item of DescribeInstanceStatistics'
// InstanceStatistics list. DefenseCountUsage is Premium's
// (ap-southeast-1) only.
type InstanceStatistic struct {
	InstanceId        string
	PortUsage         int
	DomainUsage       int
	SiteUsage         int
	DefenseCountUsage *int `json:"DefenseCountUsage,omitempty" xml:"DefenseCountUsage,omitempty"`
}

// DescribeInstanceStatisticsResponse is DescribeInstanceStatistics' body.
type DescribeInstanceStatisticsResponse struct {
	acs.Response
	InstanceStatistics []InstanceStatistic
}

// DescribeInstanceStatistics reports how much of each instance's limits is
// used: PortUsage counts its port rules, DomainUsage its websites, and
// SiteUsage its websites' primary domains (www.example.com and
// shop.example.com are one site). No advanced
// mitigation is ever counted. An ID that is not the caller's in the
// region is InstanceNotFound.
func (h *handlers) DescribeInstanceStatistics(ctx context.Context, call *acs.Call, req *DescribeInstanceStatisticsRequest) (*DescribeInstanceStatisticsResponse, error) {
	region, err := call.Region()
	if err != nil {
		return nil, err
	}
	list, err := h.svc.Instances(ctx, call.Caller, region, req.InstanceIds)
	if err != nil {
		return nil, moat.Rename(err, instanceParams)
	}
	ids := make([]string, 0, len(list))
	for _, v := range list {
		ids = append(ids, v.ID)
	}
	usage, err := h.svc.RuleUsage(ctx, call.Caller, region, ids)
	if err != nil {
		return nil, err
	}
	resp := &DescribeInstanceStatisticsResponse{InstanceStatistics: make([]InstanceStatistic, 0, len(list))}
	for _, v := range list {
		n := usage[v.ID]
		st := InstanceStatistic{InstanceId: v.ID, PortUsage: n.Ports, DomainUsage: n.Domains, SiteUsage: n.Sites}
		if v.Region == moat.RegionOverseas {
			st.DefenseCountUsage = new(int)
		}
		resp.InstanceStatistics = append(resp.InstanceStatistics, st)
	}
	return resp, nil
}
