package ddoscoo

import (
	"context"

	"moat/internal/acs"
	"moat/internal/moat"
)

// CreateTagResourcesRequest is CreateTagResources' parameters.
type CreateTagResourcesRequest struct {
	RegionId        string     `acs:"RegionId,required"`
	ResourceType    string     `acs:"ResourceType,required"`
	ResourceIds     []string   `acs:"ResourceIds,required,resource"`
	Tags            []TagParam `acs:"Tags"`
	ResourceGroupId string     `acs:"ResourceGroupId"`
}

// CreateTagResourcesResponse is CreateTagResources' body.
type CreateTagResourcesResponse struct {
	acs.Response
}

// CreateTagResources adds tags to instances, or changes the value of a
// key they already carry (at most 20 keys per instance). RegionId is
// required: the tag calls document it so, and the documented "required"
// wins over the v3 SDKs' habit of addressing a region by host, so an
// absent RegionId is MissingRegionId even when the endpoint host names a
// region. ResourceType is INSTANCE. With a
// ResourceGroupId every instance must be in that group.
func (h *handlers) CreateTagResources(ctx context.Context, call *acs.Call, req *CreateTagResourcesRequest) (*CreateTagResourcesResponse, error) {
	region, err := call.Region()
	if err != nil {
		return nil, err
	}
	tags := make([]moat.Tag, 0, len(req.Tags))
	for _, t := range req.Tags {
		tags = append(tags, moat.Tag{Key: t.Key, Value: t.Value})
	}
	if err := h.svc.TagResources(ctx, call.Caller, region, req.ResourceType, req.ResourceIds, tags, req.ResourceGroupId); err != nil {
		return nil, moat.Rename(err, tagParams)
	}
	return &CreateTagResourcesResponse{}, nil
}
