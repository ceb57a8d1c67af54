package moat

import (
	"time"
)

// Region is where an instance lives. ddoscoo has exactly two: mainland China
// ("Anti-DDoS Pro") and outside mainland China ("Anti-DDoS Premium").
type Region string

const (
	RegionMainland Region = "cn-hangzhou"
	RegionOverseas Region = "ap-southeast-1"
)

// Regions lists the regions moat serves.
var Regions = []Region{RegionMainland, RegionOverseas}

// DefaultRegion is used when a request names none (ReleaseInstance doc).
const DefaultRegion = RegionMainland

// ParseRegion validates a RegionId.
func ParseRegion(s string) (Region, error) {
	switch Region(s) {
	case RegionMainland, RegionOverseas:
		return Region(s), nil
	}
	return "", Errorf(CodeInvalidRegionID, "The specified RegionId %q is not valid: use cn-hangzhou (Anti-DDoS Pro) or ap-southeast-1 (Anti-DDoS Premium).", s)
}

// ProductType is DescribeInstanceStatus's way of naming the region.
func RegionForProductType(pt int) (Region, error) {
	switch pt {
	case 1:
		return RegionMainland, nil
	case 2:
		return RegionOverseas, nil
	}
	return "", InvalidParam("ProductType", "use 1 (mainland China) or 2 (outside mainland China)")
}

// Editions, per DescribeInstances: 0 Premium Insurance, 1 Premium Unlimited,
// 2 Premium CMA, 3 Premium Sec-CMA, 9 Pro Profession.
const (
	EditionInsurance  = 0
	EditionUnlimited  = 1
	EditionCMA        = 2
	EditionSecCMA     = 3
	EditionProfession = 9
)

// ValidEdition reports whether an edition is sold in a region: Pro
// (mainland) is only the Profession edition, Premium (overseas) the others.
func ValidEdition(r Region, e int) bool {
	if r == RegionMainland {
		return e == EditionProfession
	}
	return e >= EditionInsurance && e <= EditionSecCMA
}

// DefaultEdition is the edition an instance gets when none is asked for.
func DefaultEdition(r Region) int {
	if r == RegionMainland {
		return EditionProfession
	}
	return EditionInsurance
}

// ForwardingGrace is how long an expired instance keeps forwarding traffic
// (ReleaseInstance doc: "The instance stops forwarding traffic seven days
// after it expires").
// RenewalGrace is how long after expiry an instance can still be renewed:
// the documentation's "from day 7 to day 30 forwarding stops; renewal
// restores it; from day 30 the instance is released".
const RenewalGrace = 30 * 24 * time.Hour

const ForwardingGrace = 7 * 24 * time.Hour

// Phase is the last lifecycle transition the engine has applied to an
// instance. The state a caller sees (Status, Enabled) is computed from the
// clock, so it is exact at every instant; Phase records which transitions
// have been announced as events, so each is announced exactly once.
type Phase uint8

const (
	PhaseActive    Phase = 0 // nothing applied yet
	PhaseNotified7 Phase = 1 // the "expiring" notice 7 days before expiry sent
	PhaseNotified3 Phase = 2 // the one 3 days before
	PhaseNotified1 Phase = 3 // the one 1 day before
	PhaseExpired   Phase = 4 // "expired" applied: mitigation off
	PhaseStopped   Phase = 5 // "forwarding_stopped" applied
)

// Status values of DescribeInstances / DescribeInstanceStatus.
const (
	StatusNormal   = 1
	StatusExpired  = 2
	StatusOverdue  = 3 // pay-as-you-go debt; never for subscription instances
	StatusReleased = 4
)

// Instance is an Anti-DDoS Pro/Premium instance.
type Instance struct {
	ID              string
	AccountID       string
	Region          Region
	IP              string
	Remark          string
	Edition         int
	ResourceGroupID string
	CreateTime      time.Time
	ExpireTime      time.Time
	Phase           Phase
	ProductType     ProductType
	Spec            Spec
	RenewalStatus   RenewalStatus
	RenewPeriod     int // months, for auto-renewal
}

// AutoRenews reports whether the lifecycle engine renews the instance at
// expiry instead of letting it expire.
func (in *Instance) AutoRenews() bool {
	return in.RenewalStatus == RenewalAuto && in.RenewPeriod > 0
}

// Status is 1 (normal) before ExpireTime and 2 (expired) from then on.
func (in *Instance) Status(now time.Time) int {
	if now.Before(in.ExpireTime) {
		return StatusNormal
	}
	return StatusExpired
}

// Forwarding reports whether the instance still forwards traffic (the
// Enabled field): until seven days after expiry.
func (in *Instance) Forwarding(now time.Time) bool {
	return now.Before(in.ExpireTime.Add(ForwardingGrace))
}

// Mitigating reports whether DDoS mitigation is on: only before expiry.
func (in *Instance) Mitigating(now time.Time) bool {
	return now.Before(in.ExpireTime)
}

// Tombstone remembers a released instance so that DescribeInstanceStatus can
// report status 4 and its ID is never handed out again.
type Tombstone struct {
	InstanceID string
	AccountID  string
	Region     Region
	ReleasedAt time.Time
}

// Tag is a key/value label on an instance.
type Tag struct {
	Key   string
	Value string
}

// TagFilter matches instances carrying Key, with Value when HasValue.
type TagFilter struct {
	Key      string
	Value    string
	HasValue bool
}

// InstanceFilter is a normalised DescribeInstances query as the store runs
// it: every time-derived condition (Status, Enabled, expiry window) has been
// folded into one half-open range on ExpireTime by the domain.
type InstanceFilter struct {
	AccountID       string
	Region          Region   // "" matches every region
	IDs             []string // nil: any
	IP              string
	RemarkContains  string
	Edition         *int
	ExpireFrom      *time.Time // inclusive
	ExpireBefore    *time.Time // exclusive
	Tags            []TagFilter
	ResourceGroupID string
	CreateFrom      *time.Time // inclusive
	CreateBefore    *time.Time // exclusive
	RenewalStatus   RenewalStatus
	ProductType     ProductType
	Offset, Limit   int // Limit 0: no limit
}

// Unfiltered reports whether the filter selects every instance of the
// account in the region, so a store may answer the count from a counter.
func (f *InstanceFilter) Unfiltered() bool {
	return f.Region != "" && f.IDs == nil && f.IP == "" && f.RemarkContains == "" && f.Edition == nil &&
		f.ExpireFrom == nil && f.ExpireBefore == nil && len(f.Tags) == 0 && f.ResourceGroupID == "" &&
		f.CreateFrom == nil && f.CreateBefore == nil && f.RenewalStatus == "" && f.ProductType == ""
}

// Empty reports whether the filter can match nothing (an empty time range).
func (f *InstanceFilter) Empty() bool {
	return f.ExpireFrom != nil && f.ExpireBefore != nil && !f.ExpireFrom.Before(*f.ExpireBefore) ||
		f.CreateFrom != nil && f.CreateBefore != nil && !f.CreateFrom.Before(*f.CreateBefore) ||
		f.IDs != nil && len(f.IDs) == 0
}
