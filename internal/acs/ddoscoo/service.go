package ddoscoo

import (
	"context"

	"moat/internal/moat"
)

// Service is what the ddoscoo handlers need of moat: the instance
// operations, and the billing views and specification change that the
// ddoscoo API shares with BSS. A handler test can give a fake.
type Service interface {
	DescribeInstances(ctx context.Context, c moat.Caller, q moat.DescribeQuery) (moat.Page, error)
	DescribeInstanceIDs(ctx context.Context, c moat.Caller, region moat.Region, edition *int, ids []string, resourceGroup string, fn func([]moat.Instance) error) error
	InstanceStatus(ctx context.Context, c moat.Caller, region moat.Region, id string) (int, error)
	ModifyInstanceRemark(ctx context.Context, c moat.Caller, region moat.Region, id, remark string) error
	ReleaseInstance(ctx context.Context, c moat.Caller, region moat.Region, id, requestID string) error

	TagResources(ctx context.Context, c moat.Caller, region moat.Region, resourceType string, ids []string, tags []moat.Tag, resourceGroup string) error
	UntagResources(ctx context.Context, c moat.Caller, region moat.Region, resourceType string, ids []string, keys []string, all bool, resourceGroup string) error
	ListTagResources(ctx context.Context, c moat.Caller, region moat.Region, resourceType string, ids []string, filters []moat.TagFilter, nextToken, resourceGroup string) ([]moat.ResourceTag, string, error)
	TagKeys(ctx context.Context, c moat.Caller, region moat.Region, resourceType string, pageNumber, pageSize int, resourceGroup string) ([]moat.TagKeyCount, int64, error)

	Instances(ctx context.Context, c moat.Caller, region moat.Region, ids []string) ([]moat.InstanceView, error)
	InstancesPage(ctx context.Context, c moat.Caller, region moat.Region, id string, pageNumber, pageSize int) (moat.Page, error)
	ModifyInstanceSpec(ctx context.Context, c moat.Caller, r moat.ModifyRequest) (moat.Order, error)
}

var _ Service = (*moat.Service)(nil)

// instanceParams names the ddoscoo parameters that the instance listings'
// domain inputs come from, for moat.Rename.
var instanceParams = map[string]string{
	"IDs":      "InstanceIds",
	"IDs.1":    "InstanceIds.1",
	"Statuses": "Status",
	"Tags":     "Tag",
}

// tagParams names the parameters of the tag calls that their domain
// inputs come from, for moat.Rename: the instance IDs, the keys to remove
// and DescribeTagResources' tag filters. Tags (Tags.N.Key, Tags.N.Value),
// ResourceType and NextToken are the domain's names too.
var tagParams = map[string]string{
	"IDs":     "ResourceIds",
	"IDs.1":   "ResourceIds.1",
	"Keys":    "TagKey",
	"Filters": "Tags",
}
