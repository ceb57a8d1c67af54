package moat

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"
)

// MaxCreateCount bounds one admin create call (one transaction).
const MaxCreateCount = 10000

// MaxRemarkLength is ModifyInstanceRemark's documented limit, in characters.
const MaxRemarkLength = 500

// The bounds of an instance listing's request, as the ddoscoo API
// documents them for DescribeInstances and the calls like it.
const (
	MaxPageSize       = 50  // instances per page
	MaxListIDs        = 200 // InstanceIds.N in one call
	MaxListTagFilters = 200 // Tag.N in one DescribeInstances call
)

// MaxResourceGroupIDLength bounds a resource group ID.
const MaxResourceGroupIDLength = 64

// ---- Instances: the ddoscoo operations ----

// DescribeQuery is DescribeInstances' request, decoded from the wire.
type DescribeQuery struct {
	Region          Region
	PageNumber      int
	PageSize        int
	IDs             []string
	IP              string
	Remark          string
	Edition         *int
	Enabled         *int
	ExpireStart     *time.Time
	ExpireEnd       *time.Time
	Statuses        []int
	Tags            []TagFilter
	ResourceGroupID string
}

// InstanceView is an instance with its time-derived state at one instant.
type InstanceView struct {
	Instance
	Status     int
	Enabled    int
	Mitigating bool
}

func view(in Instance, now time.Time) InstanceView {
	v := InstanceView{Instance: in, Status: in.Status(now), Mitigating: in.Mitigating(now)}
	if in.Forwarding(now) {
		v.Enabled = 1
	}
	return v
}

// Page is one page of instances and the total count of matches.
type Page struct {
	Instances []InstanceView
	Total     int64
}

// maxOffset bounds a page offset (far beyond any store's size).
const maxOffset = 1 << 40

// The range of expiry bounds worth applying; anything outside is "no bound".
var (
	minExpiry = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	maxExpiry = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)
)

// msAfter is the first whole millisecond strictly after t.
func msAfter(t time.Time) time.Time {
	return t.Truncate(time.Millisecond).Add(time.Millisecond)
}

// narrowExpire intersects the half-open range [from, before) with another.
func narrowExpire(f *InstanceFilter, from, before *time.Time) {
	if from != nil && (f.ExpireFrom == nil || from.After(*f.ExpireFrom)) {
		t := *from
		f.ExpireFrom = &t
	}
	if before != nil && (f.ExpireBefore == nil || before.Before(*f.ExpireBefore)) {
		t := *before
		f.ExpireBefore = &t
	}
}

// DescribeInstances lists the caller's live instances in a region.
func (s *InstanceService) DescribeInstances(ctx context.Context, c Caller, q DescribeQuery) (Page, error) {
	if q.PageNumber < 1 {
		return Page{}, InvalidParam("PageNumber", "it must be a positive integer")
	}
	if q.PageSize < 1 || q.PageSize > MaxPageSize {
		return Page{}, InvalidParam("PageSize", fmt.Sprintf("it must be between 1 and %d", MaxPageSize))
	}
	if len(q.IDs) > MaxListIDs {
		return Page{}, InvalidParam("IDs", fmt.Sprintf("at most %d IDs", MaxListIDs))
	}
	if len(q.Statuses) > 2 {
		return Page{}, InvalidParam("Statuses", "at most 2 values")
	}
	if len(q.Tags) > MaxListTagFilters {
		return Page{}, InvalidParam("Tags", fmt.Sprintf("at most %d tags", MaxListTagFilters))
	}
	now := s.clock.Now()
	// A page beyond any possible count is empty; this also keeps the
	// offset from overflowing.
	beyond := q.PageNumber-1 > maxOffset/q.PageSize
	offset := 0
	if !beyond {
		offset = (q.PageNumber - 1) * q.PageSize
	}
	f := InstanceFilter{
		AccountID: c.AccountID, Region: q.Region, IDs: q.IDs, IP: q.IP,
		RemarkContains: q.Remark, Edition: q.Edition, Tags: q.Tags,
		ResourceGroupID: q.ResourceGroupID,
		Offset:          offset, Limit: q.PageSize,
	}
	if q.IDs != nil && len(q.IDs) == 0 {
		f.IDs = nil
	}
	// Status and Enabled are functions of ExpireTime and the clock, so
	// they become ranges on ExpireTime.
	wantNormal, wantExpired := len(q.Statuses) == 0, len(q.Statuses) == 0
	for _, st := range q.Statuses {
		switch st {
		case StatusNormal:
			wantNormal = true
		case StatusExpired:
			wantExpired = true
		default:
			return Page{}, InvalidParam("Statuses", "use 1 (normal) or 2 (expired)")
		}
	}
	// With ExpireTime in whole milliseconds, "ExpireTime > t" is
	// "ExpireTime >= msAfter(t)" for any instant t.
	normalFrom := msAfter(now)
	switch {
	case wantNormal && !wantExpired:
		narrowExpire(&f, &normalFrom, nil)
	case wantExpired && !wantNormal:
		narrowExpire(&f, nil, &normalFrom)
	}
	if q.Enabled != nil {
		// Forwarding while now < ExpireTime+7d, i.e. ExpireTime > now-7d.
		forwardFrom := msAfter(now.Add(-ForwardingGrace))
		switch *q.Enabled {
		case 1:
			narrowExpire(&f, &forwardFrom, nil)
		case 0:
			narrowExpire(&f, nil, &forwardFrom)
		default:
			return Page{}, InvalidParam("Enabled", "use 0 or 1")
		}
	}
	// Bounds beyond any representable expiry are no bound at all (and
	// would overflow once turned back into milliseconds).
	if q.ExpireStart != nil && q.ExpireStart.After(minExpiry) {
		narrowExpire(&f, q.ExpireStart, nil)
	}
	if q.ExpireEnd != nil && q.ExpireEnd.Before(maxExpiry) { // inclusive end
		before := q.ExpireEnd.Add(time.Millisecond)
		narrowExpire(&f, nil, &before)
	}
	if f.Empty() {
		return Page{Instances: []InstanceView{}}, nil
	}
	var list []Instance
	var total int64
	var err error
	if c.Access != nil {
		// A page past the end is empty, but its TotalCount must still be
		// the count of what the caller may see, not of the whole account.
		if beyond {
			f.Offset = maxOffset + 1
		}
		list, total, err = s.visible(ctx, &c, f)
	} else {
		list, total, err = s.instancePage(ctx, &f, &q, beyond)
	}
	if err != nil {
		return Page{}, err
	}
	page := Page{Total: total, Instances: make([]InstanceView, 0, len(list))}
	for _, in := range list {
		page.Instances = append(page.Instances, view(in, now))
	}
	return page, nil
}

// instancePage reads a page, from the listing cache when it is current.
func (s *InstanceService) instancePage(ctx context.Context, f *InstanceFilter, q *DescribeQuery, beyond bool) ([]Instance, int64, error) {
	if beyond {
		n, err := s.store.CountInstances(ctx, *f)
		return nil, n, err
	}
	fk, cacheable := filterKey(f, q)
	if !cacheable {
		return s.store.InstancePage(ctx, *f)
	}
	_, version, err := s.store.ListingVersion(ctx, f.AccountID, f.Region)
	if err != nil {
		return nil, 0, err
	}
	key := listingKey{account: f.AccountID, region: f.Region, filter: fk, offset: f.Offset, limit: f.Limit}
	if e, ok := s.listings.get(key, version); ok {
		return e.list, e.total, nil
	}
	list, total, err := s.store.InstancePage(ctx, *f)
	if err != nil {
		return nil, 0, err
	}
	// Tagged with the version read before the page: if a change landed in
	// between, the page is newer than its tag, the next read sees a newer
	// version, and the entry is never served again.
	s.listings.put(key, listingEntry{version: version, total: total, list: list})
	return list, total, nil
}

// DescribeInstanceIDs calls fn with the caller's instances in a region,
// optionally narrowed to an edition and to IDs, in listing order and in
// batches. The action has no paging, so the answer can hold an account's
// every instance: it is read in keyset batches and handed on batch by
// batch (memory bounded by the batch, a store connection held only while a
// batch is read), and a listing longer than one batch is a heavy read,
// capped per account. Errors before the first call of fn (a bad
// parameter, the cap) come before any of the answer is written.
func (s *InstanceService) DescribeInstanceIDs(ctx context.Context, c Caller, region Region, edition *int, ids []string, resourceGroup string, fn func([]Instance) error) error {
	if len(ids) > MaxListIDs {
		return InvalidParam("IDs", fmt.Sprintf("at most %d IDs", MaxListIDs))
	}
	f := InstanceFilter{AccountID: c.AccountID, Region: region, Edition: edition, ResourceGroupID: resourceGroup}
	if len(ids) > 0 {
		f.IDs = ids
	}
	return s.scan(ctx, c.AccountID, f, func(batch []Instance) error {
		kept, err := s.admit(ctx, &c, batch)
		if err != nil || len(kept) == 0 {
			return err
		}
		return fn(kept)
	})
}

// InstanceStatus is DescribeInstanceStatus: 1 normal, 2 expired, 4 released.
func (s *InstanceService) InstanceStatus(ctx context.Context, c Caller, region Region, id string) (int, error) {
	in, err := s.store.Instance(ctx, id)
	if err == nil {
		if in, err = ownInstance(in, nil, c, region, id); err != nil {
			return 0, err
		}
		return in.Status(s.clock.Now()), nil
	}
	if !errors.Is(err, ErrNotFound) {
		return 0, err
	}
	t, err := s.store.Tombstone(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return 0, instanceNotFound(id)
	}
	if err != nil {
		return 0, err
	}
	if t.AccountID != c.AccountID || t.Region != region {
		return 0, instanceNotFound(id)
	}
	return StatusReleased, nil
}

// ValidateRemark enforces ModifyInstanceRemark's limit.
func ValidateRemark(remark string) error {
	if !utf8.ValidString(remark) {
		return InvalidParam("Remark", "it must be UTF-8 text")
	}
	if n := utf8.RuneCountInString(remark); n > MaxRemarkLength {
		return InvalidParam("Remark", fmt.Sprintf("at most %d characters, got %d", MaxRemarkLength, n))
	}
	return nil
}

// ModifyInstanceRemark sets an instance's remark.
func (s *InstanceService) ModifyInstanceRemark(ctx context.Context, c Caller, region Region, id, remark string) error {
	if err := ValidateRemark(remark); err != nil {
		return err
	}
	return s.store.Update(ctx, func(tx Tx) error {
		in, err := tx.Instance(id)
		if in, err = ownInstance(in, err, c, region, id); err != nil {
			return err
		}
		in.Remark = remark
		return tx.UpdateInstance(&in)
	})
}

// ReleaseInstance releases an expired instance of the caller. It is atomic:
// the instance, its tags and its IP go together, a tombstone keeps its ID
// from reuse, and a "released" event names the request and the owner.
func (s *InstanceService) ReleaseInstance(ctx context.Context, c Caller, region Region, id, requestID string) error {
	return s.store.Update(ctx, func(tx Tx) error {
		in, err := tx.Instance(id)
		if in, err = ownInstance(in, err, c, region, id); err != nil {
			return err
		}
		now := s.clock.Now()
		if in.Status(now) != StatusExpired {
			return Errorf(CodeInstanceNotExpire, "The instance %q has not expired yet (it expires at %s); only expired instances can be released.", id, in.ExpireTime.UTC().Format(time.RFC3339))
		}
		return s.release(tx, &in, now, now, requestID, ReasonReleaseInstance)
	})
}

// ---- Admin operations ----

// NewInstances describes instances to create through the admin API.
type NewInstances struct {
	// The owner is the account of AccessKeyID, else AccountID, else the
	// bootstrap account (see owner).
	AccountID   string
	AccessKeyID string
	Region      Region
	Count       int
	ExpireTime  *time.Time
	ExpireIn    *time.Duration
	Remark      string
	Edition     *int
	Tags        []Tag
	// ResourceGroupID overrides the account's default resource group.
	ResourceGroupID string
	RequestID       string
}

// DefaultExpiry is the term of an instance created without an expiry: one
// month, the shortest subscription sold.
const DefaultExpiry = 30 * 24 * time.Hour

// CreateInstances creates Count instances in one transaction.
func (s *InstanceService) CreateInstances(ctx context.Context, spec NewInstances) ([]InstanceView, error) {
	owner, err := s.owner(ctx, spec.AccountID, spec.AccessKeyID)
	if err != nil {
		return nil, err
	}
	spec.AccountID = owner
	if spec.Count == 0 {
		spec.Count = 1
	}
	if spec.Count < 1 || spec.Count > MaxCreateCount {
		return nil, InvalidParam("Count", fmt.Sprintf("it must be between 1 and %d", MaxCreateCount))
	}
	if spec.Region == "" {
		spec.Region = DefaultRegion
	}
	if _, err := ParseRegion(string(spec.Region)); err != nil {
		return nil, err
	}
	edition := DefaultEdition(spec.Region)
	if spec.Edition != nil {
		edition = *spec.Edition
		if !ValidEdition(spec.Region, edition) {
			return nil, InvalidParam("Edition", "cn-hangzhou sells edition 9 (Pro); ap-southeast-1 sells 0, 1, 2 or 3 (Premium)")
		}
	}
	if err := ValidateRemark(spec.Remark); err != nil {
		return nil, err
	}
	for _, t := range spec.Tags {
		if err := ValidateTag(t); err != nil {
			return nil, err
		}
	}
	if len(spec.Tags) > MaxTagsPerResource {
		return nil, InvalidParam("Tags", fmt.Sprintf("at most %d tags", MaxTagsPerResource))
	}
	if len(spec.ResourceGroupID) > MaxResourceGroupIDLength {
		return nil, InvalidParam("ResourceGroupId", fmt.Sprintf("at most %d characters", MaxResourceGroupIDLength))
	}
	if spec.ExpireTime != nil && spec.ExpireIn != nil {
		return nil, InvalidParam("ExpireTime", "give ExpireTime or ExpireIn, not both")
	}
	pool, ok := s.pools[spec.Region]
	if !ok {
		return nil, Errorf(CodeInvalidRegionID, "No IP pool is configured for region %s.", spec.Region)
	}
	var out []InstanceView
	err = s.store.Update(ctx, func(tx Tx) error {
		out = out[:0]
		acct, err := tx.Account(spec.AccountID)
		if errors.Is(err, ErrNotFound) {
			return Errorf(CodeAccountNotFound, "Account %q does not exist.", spec.AccountID)
		} else if err != nil {
			return err
		}
		rg := acct.ResourceGroupID
		if spec.ResourceGroupID != "" {
			rg = spec.ResourceGroupID
		}
		product := DefaultProductType(spec.Region)
		// A Premium edition is its ProductPlan; keep them in step, or a
		// later spec change would recompute the edition from plan 0.
		sp := DefaultSpec(product)
		if product == ProductDdosDip {
			sp.ProductPlan = edition
		}
		now := s.clock.Now()
		expire := now.Add(DefaultExpiry)
		switch {
		case spec.ExpireTime != nil:
			expire = *spec.ExpireTime
		case spec.ExpireIn != nil:
			expire = now.Add(*spec.ExpireIn)
		}
		expire = expire.Truncate(time.Millisecond)
		created := now.Truncate(time.Millisecond)
		for i := 0; i < spec.Count; i++ {
			in := Instance{
				AccountID: spec.AccountID, Region: spec.Region, Remark: spec.Remark,
				Edition: edition, CreateTime: created, ExpireTime: expire, ResourceGroupID: rg,
				ProductType: product, Spec: sp, RenewalStatus: RenewalManual, RenewPeriod: 1,
			}
			in.Phase = noticePhase(expire, now)
			if err := s.insertInstance(tx, &in, pool); err != nil {
				return err
			}
			if len(spec.Tags) > 0 {
				if err := tx.SetTags(in.ID, spec.Tags); err != nil {
					return err
				}
			}
			ev := Event{Time: now, RecordedAt: now, InstanceID: in.ID, AccountID: in.AccountID, Region: in.Region, Type: EventCreated, RequestID: spec.RequestID}
			if err := tx.AppendEvent(&ev); err != nil {
				return err
			}
			// An instance created already past a transition owes its
			// events at once (those before its auto-release: the
			// release itself is the engine's, on its next pass).
			until := now
			if at, ok := s.releaseDue(&in); ok && at.Before(now) {
				until = at
			}
			if err := s.applyTransitions(tx, &in, now, until); err != nil {
				return err
			}
			out = append(out, view(in, now))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// owner decides whose new instances are: the account of keyID when one is
// named (accountID, if also given, must be that account), else accountID,
// else the bootstrap account, so an operator can create instances without
// naming anyone.
func (s *InstanceService) owner(ctx context.Context, accountID, keyID string) (string, error) {
	switch {
	case keyID != "":
		k, err := s.store.AccessKey(ctx, keyID)
		if errors.Is(err, ErrNotFound) {
			return "", Errorf(CodeAccessKeyNotFound, "AccessKeyId %q does not exist.", keyID)
		}
		if err != nil {
			return "", err
		}
		if accountID != "" && accountID != k.AccountID {
			return "", InvalidParam("AccountId", "it does not own AccessKeyId; give one or the other")
		}
		return k.AccountID, nil
	case accountID != "":
		return accountID, nil
	}
	acct, err := s.store.Setting(ctx, SettingBootstrapAccount)
	if err != nil {
		return "", Internal("bootstrap account", err)
	}
	return acct, nil
}

// Events lists recorded events.
func (s *InstanceService) Events(ctx context.Context, f EventFilter) ([]Event, error) {
	if f.Type != "" {
		ok := false
		for _, t := range EventTypes {
			ok = ok || t == f.Type
		}
		if !ok {
			return nil, InvalidParam("Type", fmt.Sprintf("one of %v", EventTypes))
		}
	}
	if f.Limit <= 0 || f.Limit > 100000 {
		f.Limit = 100000
	}
	return s.store.Events(ctx, f)
}
