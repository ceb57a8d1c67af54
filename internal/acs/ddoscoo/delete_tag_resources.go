package ddoscoo

import (
	"context"

	"moat/internal/acs"
	"moat/internal/moat"
)

// DeleteTagResourcesRequest is DeleteTagResources' parameters.
type DeleteTagResourcesRequest struct {
	RegionId     string   `acs:"RegionId,required"`
	ResourceType string   `acs:"ResourceType,required"`
	ResourceIds  []string `acs:"ResourceIds,required,resource"`
	TagKey       []string `acs:"TagKey"`
	All          *bool    `acs:"All"`
	// ResourceGroupId, when given, must be every instance's group.
	ResourceGroupId string `acs:"ResourceGroupId"`
}

// DeleteTagResourcesResponse is DeleteTagResources' body.
type DeleteTagResourcesResponse struct {
	acs.Response
}

// DeleteTagResources removes the keys TagKey.N, or every tag with
// All=true, from instances. Removing a key an instance does not carry is
// not an error.
func (h *handlers) DeleteTagResources(ctx context.Context, call *acs.Call, req *DeleteTagResourcesRequest) (*DeleteTagResourcesResponse, error) {
	region, err := call.Region()
	if err != nil {
		return nil, err
	}
	all := req.All != nil && *req.All
	if err := h.svc.UntagResources(ctx, call.Caller, region, req.ResourceType, req.ResourceIds, req.TagKey, all, req.ResourceGroupId); err != nil {
		return nil, moat.Rename(err, tagParams)
	}
	return &DeleteTagResourcesResponse{}, nil
}
