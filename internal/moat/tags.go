package moat

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Tag limits, as Alibaba's tag service documents them.
const (
	MaxTagsPerResource = 20
	MaxTagResources    = 50 // instance IDs per call
	MaxTagKeyLength    = 128
	MaxTagValueLength  = 128
	TagPageSize        = 50 // resources per DescribeTagResources page
)

// ResourceTypeInstance is the only ResourceType of ddoscoo's tag calls.
const ResourceTypeInstance = "INSTANCE"

// ValidateTag checks a tag: a key of 1 to 128 characters and a value of at
// most 128, neither starting with the reserved prefixes aliyun or acs:,
// nor containing http:// or https://.
func ValidateTag(t Tag) error {
	if t.Key == "" {
		return InvalidParam("Tags.N.Key", "a tag needs a key")
	}
	for _, c := range []struct{ name, v string }{{"Tags.N.Key", t.Key}, {"Tags.N.Value", t.Value}} {
		max := MaxTagKeyLength
		if c.name == "Tags.N.Value" {
			max = MaxTagValueLength
		}
		if len([]rune(c.v)) > max {
			return InvalidParam(c.name, fmt.Sprintf("at most %d characters", max))
		}
		l := strings.ToLower(c.v)
		if strings.HasPrefix(l, "aliyun") || strings.HasPrefix(l, "acs:") || strings.Contains(l, "http://") || strings.Contains(l, "https://") {
			return InvalidParam(c.name, "it must not start with aliyun or acs:, nor contain http:// or https://")
		}
	}
	return nil
}

func checkResourceType(t string) error {
	if t != ResourceTypeInstance {
		return InvalidParam("ResourceType", "use INSTANCE")
	}
	return nil
}

// checkResourceIDs checks the instance IDs of a tag call, named IDs (and
// IDs.1 for the first, when none is given) as the other listings name
// theirs; the handler maps the names to its parameters.
func checkResourceIDs(ids []string, required bool) error {
	if required && len(ids) == 0 {
		return MissingParam("IDs.1")
	}
	if len(ids) > MaxTagResources {
		return InvalidParam("IDs", fmt.Sprintf("at most %d IDs", MaxTagResources))
	}
	return nil
}

// TagResources adds tags (or changes their values) on the caller's
// instances in a region. With a resource group, every instance must be in
// it. At most 20 tags per instance.
func (s *InstanceService) TagResources(ctx context.Context, c Caller, region Region, resourceType string, ids []string, tags []Tag, resourceGroup string) error {
	if err := checkResourceType(resourceType); err != nil {
		return err
	}
	if err := checkResourceIDs(ids, true); err != nil {
		return err
	}
	if len(tags) == 0 {
		return MissingParam("Tags.1.Key")
	}
	if len(tags) > MaxTagsPerResource {
		return InvalidParam("Tags", fmt.Sprintf("at most %d tags", MaxTagsPerResource))
	}
	seen := map[string]bool{}
	for _, t := range tags {
		if err := ValidateTag(t); err != nil {
			return err
		}
		if seen[t.Key] {
			return Errorf(CodeInvalidParameter, "Tag key %q is given more than once.", t.Key)
		}
		seen[t.Key] = true
	}
	return s.store.Update(ctx, func(tx Tx) error {
		for _, id := range ids {
			in, err := tx.Instance(id)
			if in, err = ownInstance(in, err, c, region, id); err != nil {
				return err
			}
			if resourceGroup != "" && in.ResourceGroupID != resourceGroup {
				return instanceNotFound(id)
			}
			have, err := tx.Tags(id)
			if err != nil {
				return err
			}
			keys := map[string]bool{}
			for _, t := range have {
				keys[t.Key] = true
			}
			for _, t := range tags {
				keys[t.Key] = true
			}
			if len(keys) > MaxTagsPerResource {
				return Errorf(CodeTagQuotaExceeded, "Instance %q would carry %d tags; at most %d are allowed.", id, len(keys), MaxTagsPerResource)
			}
			if err := tx.SetTags(id, tags); err != nil {
				return err
			}
		}
		return nil
	})
}

// UntagResources removes the given tag keys, or all tags, from the
// caller's instances in a region (with a resource group, each must be in
// it).
func (s *InstanceService) UntagResources(ctx context.Context, c Caller, region Region, resourceType string, ids []string, keys []string, all bool, resourceGroup string) error {
	if err := checkResourceType(resourceType); err != nil {
		return err
	}
	if err := checkResourceIDs(ids, true); err != nil {
		return err
	}
	if len(keys) == 0 && !all {
		return Errorf(CodeInvalidParameter, "Give the tag keys to remove (TagKey.N), or All=true to remove every tag.")
	}
	if len(keys) > MaxTagsPerResource {
		return InvalidParam("Keys", fmt.Sprintf("at most %d keys", MaxTagsPerResource))
	}
	return s.store.Update(ctx, func(tx Tx) error {
		for _, id := range ids {
			in, err := tx.Instance(id)
			if in, err = ownInstance(in, err, c, region, id); err != nil {
				return err
			}
			if resourceGroup != "" && in.ResourceGroupID != resourceGroup {
				return instanceNotFound(id)
			}
			if len(keys) == 0 {
				keys = nil // all
			}
			if err := tx.DeleteTags(id, keys); err != nil {
				return err
			}
		}
		return nil
	})
}

// ResourceTag is one (instance, tag) pair of DescribeTagResources.
type ResourceTag struct {
	ResourceID string
	Tag
}

// ListTagResources lists tags of the caller's instances in a region:
// those named (ids), those carrying every given tag, or both.
// With tag filters only the filtered keys are listed; a resource group
// narrows to its instances. Pages hold the tags of TagPageSize instances;
// nextToken continues.
func (s *InstanceService) ListTagResources(ctx context.Context, c Caller, region Region, resourceType string, ids []string, filters []TagFilter, nextToken, resourceGroup string) ([]ResourceTag, string, error) {
	if err := checkResourceType(resourceType); err != nil {
		return nil, "", err
	}
	if err := checkResourceIDs(ids, false); err != nil {
		return nil, "", err
	}
	if len(ids) == 0 && len(filters) == 0 {
		return nil, "", Errorf(CodeInvalidParameter, "Give ResourceIds.N, Tags.N.Key, or both.")
	}
	if len(filters) > MaxTagsPerResource {
		return nil, "", InvalidParam("Filters", fmt.Sprintf("at most %d tags", MaxTagsPerResource))
	}
	offset := 0
	if nextToken != "" {
		n, err := strconv.Atoi(nextToken)
		if err != nil || n < 0 || n > maxOffset {
			return nil, "", InvalidParam("NextToken", "pass back the NextToken of the previous page")
		}
		offset = n
	}
	f := InstanceFilter{AccountID: c.AccountID, Region: region, Tags: filters, ResourceGroupID: resourceGroup, Offset: offset, Limit: TagPageSize + 1}
	if len(ids) > 0 {
		f.IDs = ids
	}
	var list []Instance
	var err error
	if c.Access != nil {
		list, _, err = s.visible(ctx, &c, f)
	} else {
		list, err = s.store.Instances(ctx, f)
	}
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(list) > TagPageSize {
		list = list[:TagPageSize]
		next = strconv.Itoa(offset + TagPageSize)
	}
	idList := make([]string, len(list))
	for i, in := range list {
		idList[i] = in.ID
	}
	tags, err := s.store.TagsOf(ctx, idList)
	if err != nil {
		return nil, "", err
	}
	wanted := map[string]bool{}
	for _, f := range filters {
		wanted[f.Key] = true
	}
	out := []ResourceTag{}
	for _, id := range idList {
		for _, t := range tags[id] {
			if len(wanted) == 0 || wanted[t.Key] {
				out = append(out, ResourceTag{ResourceID: id, Tag: t})
			}
		}
	}
	return out, next, nil
}

// TagKeyCount is one key of DescribeTagKeys and how many instances carry it.
type TagKeyCount struct {
	Key   string
	Count int64
}

// TagKeys lists the tag keys in use on the caller's instances in a region
// (in a resource group, when given).
func (s *InstanceService) TagKeys(ctx context.Context, c Caller, region Region, resourceType string, pageNumber, pageSize int, resourceGroup string) ([]TagKeyCount, int64, error) {
	if err := checkResourceType(resourceType); err != nil {
		return nil, 0, err
	}
	if pageNumber == 0 {
		pageNumber = 1
	}
	if pageSize == 0 {
		pageSize = 10
	}
	if pageNumber < 1 {
		return nil, 0, InvalidParam("PageNumber", "a positive integer")
	}
	if pageSize < 1 || pageSize > MaxPageSize {
		return nil, 0, InvalidParam("PageSize", fmt.Sprintf("between 1 and %d", MaxPageSize))
	}
	offset := maxOffset // a page past any key: empty, with the total
	if pageNumber-1 <= maxOffset/pageSize {
		offset = (pageNumber - 1) * pageSize
	}
	if c.Access != nil {
		return s.visibleTagKeys(ctx, &c, region, resourceGroup, offset, pageSize)
	}
	return s.store.TagKeys(ctx, c.AccountID, region, resourceGroup, offset, pageSize)
}

// visibleTagKeys counts tag keys over the instances the caller may see.
func (s *InstanceService) visibleTagKeys(ctx context.Context, c *Caller, region Region, resourceGroup string, offset, pageSize int) ([]TagKeyCount, int64, error) {
	counts := map[string]int64{}
	f := InstanceFilter{AccountID: c.AccountID, Region: region, ResourceGroupID: resourceGroup}
	err := s.eachVisible(ctx, c, f, func(batch []Instance) error {
		ids := make([]string, len(batch))
		for i, in := range batch {
			ids[i] = in.ID
		}
		tags, err := s.store.TagsOf(ctx, ids)
		for _, ts := range tags {
			for _, t := range ts {
				counts[t.Key]++
			}
		}
		return err
	})
	if err != nil {
		return nil, 0, err
	}
	keys := make([]TagKeyCount, 0, len(counts))
	for k, n := range counts {
		keys = append(keys, TagKeyCount{Key: k, Count: n})
	}
	slices.SortFunc(keys, func(a, b TagKeyCount) int { return strings.Compare(a.Key, b.Key) })
	total := int64(len(keys))
	if offset >= len(keys) {
		return []TagKeyCount{}, total, nil
	}
	keys = keys[offset:]
	if len(keys) > pageSize {
		keys = keys[:pageSize]
	}
	return keys, total, nil
}
