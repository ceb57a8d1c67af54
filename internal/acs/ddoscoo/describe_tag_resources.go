package ddoscoo

import (
	"context"

	"moat/internal/acs"
	"moat/internal/moat"
)

// DescribeTagResourcesRequest is DescribeTagResources' parameters.
type DescribeTagResourcesRequest struct {
	RegionId     string     `acs:"RegionId,required"`
	ResourceType string     `acs:"ResourceType,required"`
	ResourceIds  []string   `acs:"ResourceIds,resource"`
	Tags         []TagParam `acs:"Tags"`
	NextToken    string     `acs:"NextToken"`
	// ResourceGroupId narrows the listing to the group's instances.
	ResourceGroupId string `acs:"ResourceGroupId"`
}

// TagResource is one (instance, tag) pair.
type TagResource struct {
	ResourceId   string
	ResourceType string
	TagKey       string
	TagValue     string
}

// TagResources wraps the list: this is the one ddoscoo answer whose list
// is an object, "TagResources":{"TagResource":[…]} (the DescribeTagResources API reference).
type TagResources struct {
	TagResource []TagResource
}

// DescribeTagResourcesResponse is DescribeTagResources' body. NextToken is
// empty on the last page.
type DescribeTagResourcesResponse struct {
	acs.Response
	NextToken    string
	TagResources TagResources
}

// DescribeTagResources lists the tags of the named instances, of the
// instances carrying every given tag (a tag without Value matches any
// value; only the filtered keys are listed), or of both. A page holds the
// tags of 50 instances; pass NextToken back for the next.
func (h *handlers) DescribeTagResources(ctx context.Context, call *acs.Call, req *DescribeTagResourcesRequest) (*DescribeTagResourcesResponse, error) {
	region, err := call.Region()
	if err != nil {
		return nil, err
	}
	filters, err := tagFilters(req.Tags, "Tags")
	if err != nil {
		return nil, err
	}
	list, next, err := h.svc.ListTagResources(ctx, call.Caller, region, req.ResourceType, req.ResourceIds, filters, req.NextToken, req.ResourceGroupId)
	if err != nil {
		return nil, moat.Rename(err, tagParams)
	}
	resp := &DescribeTagResourcesResponse{NextToken: next, TagResources: TagResources{TagResource: make([]TagResource, 0, len(list))}}
	for _, rt := range list {
		resp.TagResources.TagResource = append(resp.TagResources.TagResource, TagResource{
			ResourceId: rt.ResourceID, ResourceType: req.ResourceType, TagKey: rt.Key, TagValue: rt.Value,
		})
	}
	return resp, nil
}
