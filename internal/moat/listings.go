package moat

import (
	"encoding/json"
	"sync"
	"time"
)

// listingCache keeps recent DescribeInstances pages. An entry is valid only
// for the listing version the store reported when it was read
// (Store.ListingVersion), which every change to the account's instances in
// the region bumps, in whichever process makes it: a cached page is served
// only while it is exactly what the store would return. Pages whose filter
// depends on the clock (Status, Enabled) are not cached.
//
// Polling clients (the Terraform provider waits for Status 1 this way,
// dashboards refresh) and the benchmark read the same pages over and over;
// a hit costs one point query instead of an index walk and ten row reads.
type listingCache struct {
	mu        sync.Mutex
	m         map[listingKey]listingEntry
	instances int // held in all entries
}

// maxCachedListingInstances bounds the cache (about 25 MB).
const maxCachedListingInstances = 100000

type listingKey struct {
	account       string
	region        Region
	filter        string // "" when unfiltered
	offset, limit int
}

type listingEntry struct {
	version int64
	total   int64
	list    []Instance
}

func (c *listingCache) get(k listingKey, version int64) (listingEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[k]
	if !ok || e.version != version {
		return listingEntry{}, false
	}
	return e, true
}

func (c *listingCache) put(k listingKey, e listingEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[listingKey]listingEntry{}
	}
	if old, ok := c.m[k]; ok {
		c.instances -= len(old.list)
		delete(c.m, k)
	}
	// Evict arbitrary entries (map order is random) until there is room.
	for kk, old := range c.m {
		if c.instances+len(e.list) <= maxCachedListingInstances {
			break
		}
		c.instances -= len(old.list)
		delete(c.m, kk)
	}
	c.m[k] = e
	c.instances += len(e.list)
}

// filterKey renders the clock-independent parts of a filter, or reports
// that the filter cannot be cached.
func filterKey(f *InstanceFilter, q *DescribeQuery) (string, bool) {
	if len(q.Statuses) > 0 || q.Enabled != nil {
		return "", false
	}
	if f.Unfiltered() {
		return "", true
	}
	b, err := json.Marshal(struct {
		IDs     []string
		IP, Rem string
		Ed      *int
		From    *time.Time
		Before  *time.Time
		Tags    []TagFilter
		RG      string
	}{f.IDs, f.IP, f.RemarkContains, f.Edition, f.ExpireFrom, f.ExpireBefore, f.Tags, f.ResourceGroupID})
	return string(b), err == nil
}
