package ddoscoo

import (
	"context"

	"moat/internal/acs"
	"moat/internal/moat"
)

// TagParam is a Tag.N.Key / Tag.N.Value pair.
type TagParam struct {
	Key   string `acs:"Key"`
	Value string `acs:"Value"`
}

// DescribeInstancesRequest is DescribeInstances' parameters.
type DescribeInstancesRequest struct {
	PageNumber      int        `acs:"PageNumber,required"`
	PageSize        int        `acs:"PageSize,required"`
	InstanceIds     []string   `acs:"InstanceIds,resource"`
	Ip              string     `acs:"Ip"`
	Remark          string     `acs:"Remark"`
	Edition         *int       `acs:"Edition"`
	Enabled         *int       `acs:"Enabled"`
	ExpireStartTime *int64     `acs:"ExpireStartTime"`
	ExpireEndTime   *int64     `acs:"ExpireEndTime"`
	Status          []int      `acs:"Status"`
	Tag             []TagParam `acs:"Tag"`
	ResourceGroupId string     `acs:"ResourceGroupId"`
}

// DescribeInstancesResponse is DescribeInstances' body.
type DescribeInstancesResponse struct {
	acs.Response
	TotalCount int64
	Instances  []Instance
}

func tagFilters(tags []TagParam, name string) ([]moat.TagFilter, error) {
	var out []moat.TagFilter
	for _, t := range tags {
		if t.Key == "" {
			return nil, moat.InvalidParam(name+".N.Key", "every tag filter needs a Key")
		}
		out = append(out, moat.TagFilter{Key: t.Key, Value: t.Value, HasValue: t.Value != ""})
	}
	return out, nil
}

// DescribeInstances lists the caller's instances (doc 91478).
func (h *handlers) DescribeInstances(ctx context.Context, call *acs.Call, req *DescribeInstancesRequest) (*DescribeInstancesResponse, error) {
	region, err := call.Region()
	if err != nil {
		return nil, err
	}
	tags, err := tagFilters(req.Tag, "Tag")
	if err != nil {
		return nil, err
	}
	page, err := h.svc.DescribeInstances(ctx, call.Caller, moat.DescribeQuery{
		Region: region, PageNumber: req.PageNumber, PageSize: req.PageSize,
		IDs: req.InstanceIds, IP: req.Ip, Remark: req.Remark,
		Edition: req.Edition, Enabled: req.Enabled,
		ExpireStart: msTime(req.ExpireStartTime), ExpireEnd: msTime(req.ExpireEndTime),
		Statuses: req.Status, Tags: tags, ResourceGroupID: req.ResourceGroupId,
	})
	if err != nil {
		return nil, moat.Rename(err, instanceParams)
	}
	resp := &DescribeInstancesResponse{TotalCount: page.Total, Instances: make([]Instance, 0, len(page.Instances))}
	for _, v := range page.Instances {
		resp.Instances = append(resp.Instances, instanceOf(v))
	}
	return resp, nil
}
