package moat

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

// NonceRetention is how long a used SignatureNonce is remembered. Aliyun
// staff state a nonce must not repeat within 31 minutes; a timestamp is
// accepted up to 15 minutes either side of the real clock, so a request
// stays replayable for at most 30 minutes after it is first seen. 32 covers
// both with a margin.
const NonceRetention = 32 * time.Minute

// MaxCreateCount bounds one admin create call (one transaction).
const MaxCreateCount = 10000

// MaxRemarkLength is ModifyInstanceRemark's documented limit, in characters.
const MaxRemarkLength = 500

// Service holds moat's business rules. Handlers, the admin API and the
// lifecycle engine call it; it calls the Store.
type Service struct {
	store            Store
	clock            *ServerClock
	pools            map[Region]Pool
	autoReleaseAfter time.Duration // 0: off
	keys             keyCache
	listings         listingCache
	sealer           Sealer
	compiler         PolicyCompiler
	authz            authzCache
	audit            *auditLog
	heavy            heavyReads
}

// Config configures a Service.
type Config struct {
	Store Store
	Clock *ServerClock
	// Pools maps each region to its IP pool; DefaultPools when nil.
	Pools map[Region]Pool
	// AutoReleaseAfter releases instances that long past expiry; 0 is off.
	AutoReleaseAfter time.Duration
	// Sealer encrypts AccessKey secrets at rest; nil keeps them plain.
	Sealer Sealer
	// Policies compiles RAM policy documents; nil refuses them.
	Policies PolicyCompiler
	// MaxHeavyReads caps each account's heavy reads in flight (see
	// heavyReads); 0 is DefaultMaxHeavyReads.
	MaxHeavyReads int
}

// NewService returns a Service.
func NewService(c Config) (*Service, error) {
	if c.Store == nil || c.Clock == nil {
		return nil, errors.New("moat: service needs a store and a clock")
	}
	if c.AutoReleaseAfter < 0 {
		return nil, errors.New("moat: auto-release delay must not be negative")
	}
	maxHeavy, err := checkMaxHeavyReads(c.MaxHeavyReads)
	if err != nil {
		return nil, err
	}
	pools := DefaultPools()
	for r, p := range c.Pools {
		pools[r] = p
	}
	return &Service{store: c.Store, clock: c.Clock, pools: pools, autoReleaseAfter: c.AutoReleaseAfter, keys: keyCache{ttl: KeyCacheTTL},
		sealer: c.Sealer, compiler: c.Policies, audit: newAuditLog(c.Store), heavy: heavyReads{max: maxHeavy}}, nil
}

// Clock is the server clock.
func (s *Service) Clock() *ServerClock { return s.clock }

func instanceNotFound(id string) error {
	// Unknown, released, another region's and another account's instances
	// must be indistinguishable: one message, built only from the input.
	return Errorf(CodeInstanceNotFound, "The specified instance %q is not found.", id)
}

// ownInstance loads an instance the caller may act on in region, or returns
// InstanceNotFound.
func ownInstance(in Instance, err error, c Caller, region Region, id string) (Instance, error) {
	if errors.Is(err, ErrNotFound) {
		return Instance{}, instanceNotFound(id)
	}
	if err != nil {
		return Instance{}, err
	}
	if in.AccountID != c.AccountID || in.Region != region {
		return Instance{}, instanceNotFound(id)
	}
	return in, nil
}

// ---- Authentication support ----

// KeyCacheTTL is how long a looked-up AccessKey (or its absence) is reused
// for signature checks. Changes made through this process take effect at
// once; changes made by another process sharing the store within the TTL.
const KeyCacheTTL = time.Second

// keyCache remembers AccessKey lookups: every signed request needs one.
type keyCache struct {
	ttl time.Duration
	mu  sync.Mutex
	m   map[string]cachedKey
}

type cachedKey struct {
	key   AccessKey
	found bool
	at    time.Time
}

// maxCachedKeys bounds the cache (a flood of made-up key IDs cannot grow
// it without limit).
const maxCachedKeys = 1 << 16

func (c *keyCache) get(id string, now time.Time) (cachedKey, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[id]
	if !ok || now.Sub(e.at) >= c.ttl || now.Before(e.at) {
		return cachedKey{}, false
	}
	return e, true
}

func (c *keyCache) put(id string, e cachedKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxCachedKeys {
		c.m = map[string]cachedKey{}
	}
	c.m[id] = e
}

func (c *keyCache) forget(id string) {
	c.mu.Lock()
	delete(c.m, id)
	c.mu.Unlock()
}

// AccessKey returns an AccessKey for signature verification.
func (s *Service) AccessKey(ctx context.Context, id string) (AccessKey, error) {
	now := s.clock.Real()
	e, ok := s.keys.get(id, now)
	if !ok {
		k, err := s.store.AccessKey(ctx, id)
		if err == nil {
			k, err = s.open(k)
		}
		switch {
		case err == nil:
			e = cachedKey{key: k, found: true, at: now}
		case errors.Is(err, ErrNotFound):
			e = cachedKey{at: now}
		default:
			return AccessKey{}, err
		}
		s.keys.put(id, e)
	}
	if !e.found {
		return AccessKey{}, Errorf(CodeInvalidAccessKeyNotFound, "Specified access key is not found.")
	}
	return e.key, nil
}

// UseNonce records a SignatureNonce durably; a nonce seen before within the
// retention window is refused.
func (s *Service) UseNonce(ctx context.Context, accessKeyID, nonce string) error {
	fresh, err := s.store.UseNonce(ctx, accessKeyID, nonce, s.clock.Real().Add(NonceRetention))
	if err != nil {
		return err
	}
	if !fresh {
		return Errorf(CodeSignatureNonceUsed, "Specified signature nonce was used already.")
	}
	return nil
}

// PurgeNonces forgets up to limit nonces past retention (real clock).
func (s *Service) PurgeNonces(ctx context.Context, limit int) (int, error) {
	return s.store.PurgeNonces(ctx, s.clock.Real(), limit)
}

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
func (s *Service) DescribeInstances(ctx context.Context, c Caller, q DescribeQuery) (Page, error) {
	if q.PageNumber < 1 {
		return Page{}, InvalidParam("PageNumber", "it must be a positive integer")
	}
	if q.PageSize < 1 || q.PageSize > 50 {
		return Page{}, InvalidParam("PageSize", "it must be between 1 and 50")
	}
	if len(q.IDs) > 200 {
		return Page{}, InvalidParam("InstanceIds", "at most 200 IDs")
	}
	if len(q.Statuses) > 2 {
		return Page{}, InvalidParam("Status", "at most 2 values")
	}
	if len(q.Tags) > 200 {
		return Page{}, InvalidParam("Tag", "at most 200 tags")
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
			return Page{}, InvalidParam("Status", "use 1 (normal) or 2 (expired)")
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
func (s *Service) instancePage(ctx context.Context, f *InstanceFilter, q *DescribeQuery, beyond bool) ([]Instance, int64, error) {
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
func (s *Service) DescribeInstanceIDs(ctx context.Context, c Caller, region Region, edition *int, ids []string, resourceGroup string, fn func([]Instance) error) error {
	if len(ids) > 200 {
		return InvalidParam("InstanceIds", "at most 200 IDs")
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
func (s *Service) InstanceStatus(ctx context.Context, c Caller, region Region, id string) (int, error) {
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
func (s *Service) ModifyInstanceRemark(ctx context.Context, c Caller, region Region, id, remark string) error {
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
func (s *Service) ReleaseInstance(ctx context.Context, c Caller, region Region, id, requestID string) error {
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

// ---- The lifecycle ----

type transition struct {
	typ   EventType
	at    time.Time
	phase Phase
}

// dueTransitions lists the transitions of in that are due at now and have
// not been applied, in order, none later than until.
func dueTransitions(in *Instance, now, until time.Time) []transition {
	if until.Before(now) {
		now = until
	}
	var out []transition
	if in.Phase < PhaseExpired && !now.Before(in.ExpireTime) {
		out = append(out, transition{EventExpired, in.ExpireTime, PhaseExpired})
	}
	stop := in.ExpireTime.Add(ForwardingGrace)
	if in.Phase < PhaseStopped && !now.Before(stop) {
		out = append(out, transition{EventForwardingStopped, stop, PhaseStopped})
	}
	return out
}

func (s *Service) applyTransitions(tx Tx, in *Instance, now, until time.Time) error {
	ts := dueTransitions(in, now, until)
	if len(ts) == 0 {
		return nil
	}
	for _, t := range ts {
		in.Phase = t.phase
		ev := Event{Time: t.at, RecordedAt: now, InstanceID: in.ID, AccountID: in.AccountID, Region: in.Region, Type: t.typ}
		if err := tx.AppendEvent(&ev); err != nil {
			return err
		}
	}
	return tx.UpdatePhase(in.ID, in.Phase)
}

// release deletes in after recording any transitions it still owed.
func (s *Service) release(tx Tx, in *Instance, now, at time.Time, requestID, reason string) error {
	if err := s.applyTransitions(tx, in, now, at); err != nil {
		return err
	}
	if err := tx.DeleteInstance(in.ID); err != nil {
		return err
	}
	if err := tx.InsertTombstone(Tombstone{InstanceID: in.ID, AccountID: in.AccountID, Region: in.Region, ReleasedAt: at}); err != nil {
		return err
	}
	if n, ok := IPNumber(in.IP); ok {
		if err := tx.PushFreeIP(in.Region, n); err != nil {
			return err
		}
	}
	ev := Event{Time: at, RecordedAt: now, InstanceID: in.ID, AccountID: in.AccountID, Region: in.Region, Type: EventReleased, RequestID: requestID, Reason: reason}
	return tx.AppendEvent(&ev)
}

// releaseDue is when auto-release takes an instance, if it is on.
func (s *Service) releaseDue(in *Instance) (time.Time, bool) {
	if s.autoReleaseAfter <= 0 {
		return time.Time{}, false
	}
	return in.ExpireTime.Add(s.autoReleaseAfter), true
}

// advance applies what is due for in at now: the lifecycle transitions
// that fell before its auto-release (if any), then the release itself
// once that is due.
func (s *Service) advance(tx Tx, in *Instance, now time.Time) error {
	if in.AutoRenews() && in.Phase == PhaseActive && !now.Before(in.ExpireTime) {
		return s.autoRenew(tx, in, now)
	}
	if at, ok := s.releaseDue(in); ok {
		if !now.Before(at) {
			return s.release(tx, in, now, at, "", ReasonAutoRelease)
		}
		return s.applyTransitions(tx, in, now, at)
	}
	return s.applyTransitions(tx, in, now, now)
}

// autoRenew renews an auto-renewing instance whose expiry now has reached,
// by as many terms as it takes to pass now, in one step: one auto_renewed
// event at the expiry it replaced, carrying the number of terms (Periods).
// A clock moved a century ahead therefore costs one event and one row
// write per instance, whatever the jump, and the engine's batches of
// instances stay short transactions that other writers barely wait for.
// A k-term catch-up extends by k*RenewPeriod months from the old expiry,
// exactly as RenewInstance with that many months would.
func (s *Service) autoRenew(tx Tx, in *Instance, now time.Time) error {
	at := in.ExpireTime
	k := renewalTerms(at, now, in.RenewPeriod)
	in.ExpireTime = AddMonths(at, k*in.RenewPeriod)
	reason := fmt.Sprintf("auto-renewal: %d months, now expires %s", in.RenewPeriod, in.ExpireTime.UTC().Format(time.RFC3339))
	if k > 1 {
		reason = fmt.Sprintf("auto-renewal: %d terms of %d months, now expires %s", k, in.RenewPeriod, in.ExpireTime.UTC().Format(time.RFC3339))
	}
	ev := Event{Time: at, RecordedAt: now, InstanceID: in.ID, AccountID: in.AccountID, Region: in.Region, Type: EventAutoRenewed,
		Reason: reason, Periods: k}
	if err := tx.AppendEvent(&ev); err != nil {
		return err
	}
	return tx.UpdateInstance(in)
}

// renewalTerms is the least k >= 1 for which from + k*period months is
// after now. It starts from the calendar estimate, so it costs a few
// AddMonths calls whatever the distance.
func renewalTerms(from, now time.Time, period int) int {
	from, now = from.UTC(), now.UTC()
	months := (now.Year()-from.Year())*12 + int(now.Month()) - int(from.Month())
	k := max(months/period, 1)
	for k > 1 && now.Before(AddMonths(from, (k-1)*period)) {
		k--
	}
	for !now.Before(AddMonths(from, k*period)) {
		k++
	}
	return k
}

// NextDue is the earliest instant at which some transition becomes due,
// and false when nothing is scheduled.
func (s *Service) NextDue(ctx context.Context) (time.Time, bool, error) {
	var best time.Time
	found := false
	consider := func(phase Phase, delay time.Duration) error {
		t, ok, err := s.store.EarliestExpiry(ctx, phase)
		if err != nil || !ok {
			return err
		}
		t = t.Add(delay)
		if !found || t.Before(best) {
			best, found = t, true
		}
		return nil
	}
	expiredDelay := ForwardingGrace
	if s.autoReleaseAfter > 0 && s.autoReleaseAfter < expiredDelay {
		expiredDelay = s.autoReleaseAfter
	}
	if err := consider(PhaseActive, 0); err != nil {
		return time.Time{}, false, err
	}
	if err := consider(PhaseExpired, expiredDelay); err != nil {
		return time.Time{}, false, err
	}
	if s.autoReleaseAfter > 0 {
		if err := consider(PhaseStopped, s.autoReleaseAfter); err != nil {
			return time.Time{}, false, err
		}
	}
	return best, found, nil
}

// ApplyDue applies up to limit instances' due transitions in one
// transaction and reports how many instances it changed. The engine calls
// it until it returns fewer than limit.
func (s *Service) ApplyDue(ctx context.Context, limit int) (int, error) {
	if limit <= 0 {
		limit = 500
	}
	var n int
	err := s.store.Update(ctx, func(tx Tx) error {
		n = 0
		now := s.clock.Now()
		type query struct {
			phase  Phase
			cutoff time.Time
		}
		queries := []query{
			{PhaseActive, now},
			{PhaseExpired, now.Add(-ForwardingGrace)},
		}
		if a := s.autoReleaseAfter; a > 0 {
			queries = append(queries,
				query{PhaseActive, now.Add(-a)}, query{PhaseExpired, now.Add(-a)}, query{PhaseStopped, now.Add(-a)})
		}
		// Whichever query finds an instance, advance applies everything
		// due for it in order, so a later query cannot find it again
		// with work left.
		for _, q := range queries {
			if n >= limit {
				break
			}
			due, err := tx.DueInstances(q.phase, q.cutoff, limit-n)
			if err != nil {
				return err
			}
			for j := range due {
				if err := s.advance(tx, &due[j], now); err != nil {
					return err
				}
				n++
			}
		}
		return nil
	})
	return n, err
}

// ---- Admin operations ----

// NewInstances describes instances to create through the admin API.
type NewInstances struct {
	AccountID  string
	Region     Region
	Count      int
	ExpireTime *time.Time
	ExpireIn   *time.Duration
	Remark     string
	Edition    *int
	Tags       []Tag
	// ResourceGroupID overrides the account's default resource group.
	ResourceGroupID string
	RequestID       string
}

// DefaultExpiry is the term of an instance created without an expiry: one
// month, the shortest subscription sold.
const DefaultExpiry = 30 * 24 * time.Hour

// CreateInstances creates Count instances in one transaction.
func (s *Service) CreateInstances(ctx context.Context, spec NewInstances) ([]InstanceView, error) {
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
	if len(spec.ResourceGroupID) > 64 {
		return nil, InvalidParam("ResourceGroupId", "at most 64 characters")
	}
	if spec.ExpireTime != nil && spec.ExpireIn != nil {
		return nil, InvalidParam("ExpireTime", "give ExpireTime or ExpireIn, not both")
	}
	pool, ok := s.pools[spec.Region]
	if !ok {
		return nil, Errorf(CodeInvalidRegionID, "No IP pool is configured for region %s.", spec.Region)
	}
	var out []InstanceView
	err := s.store.Update(ctx, func(tx Tx) error {
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

// insertInstance gives in a fresh ID and an IP from pool and stores it.
func (s *Service) insertInstance(tx Tx, in *Instance, pool Pool) error {
	ip, err := s.allocateIP(tx, in.Region, pool)
	if err != nil {
		return err
	}
	in.IP = ip
	for attempt := 0; ; attempt++ {
		in.ID = NewInstanceID(in.Region)
		used, err := tx.TombstoneExists(in.ID)
		if err != nil {
			return err
		}
		if !used {
			err = tx.InsertInstance(in)
			if err == nil {
				return nil
			}
			if !errors.Is(err, ErrConflict) {
				return err
			}
		}
		if attempt > 5 {
			return Internal("insert instance", fmt.Errorf("could not draw a free instance ID"))
		}
	}
}

// allocateIP takes a released address of the pool, or the next never-used
// one that no live instance holds.
func (s *Service) allocateIP(tx Tx, region Region, pool Pool) (string, error) {
	lo, hi := pool.Range()
	if ip, ok, err := tx.PopFreeIP(region, lo, hi); err != nil {
		return "", err
	} else if ok {
		return IPString(ip), nil
	}
	next, err := tx.IPCursor(region, pool.Key())
	if err != nil {
		return "", err
	}
	for ; next < pool.Size(); next++ {
		ip := IPString(pool.Addr(next))
		used, err := tx.IPInUse(region, ip)
		if err != nil {
			return "", err
		}
		if !used {
			return ip, tx.SetIPCursor(region, pool.Key(), next+1)
		}
	}
	return "", Errorf(CodeIPPoolExhausted, "The IP pool of region %s (%s) has no free address; release instances or configure a larger pool.", region, pool.Prefix)
}

// PutAccount creates an account with one AccessKey pair. Repeating the call
// with identical values succeeds and reports created=false.
func (s *Service) PutAccount(ctx context.Context, accountID, keyID, secret string) (created bool, err error) {
	if err := validToken("AccountId", accountID, 64); err != nil {
		return false, err
	}
	if err := validToken("AccessKeyId", keyID, 128); err != nil {
		return false, err
	}
	if secret == "" || len(secret) > 128 {
		return false, InvalidParam("AccessKeySecret", "1 to 128 characters")
	}
	err = s.store.Update(ctx, func(tx Tx) error {
		created = false
		now := s.clock.Now()
		k, err := s.keyFromTx(tx, keyID)
		switch {
		case err == nil && k.AccountID != accountID:
			return Errorf(CodeAccessKeyConflict, "AccessKeyId %q belongs to another account.", keyID)
		case err == nil && k.Secret != secret:
			return Errorf(CodeAccessKeyConflict, "AccessKeyId %q already exists with a different secret.", keyID)
		case err == nil:
			return nil
		case !errors.Is(err, ErrNotFound):
			return err
		}
		// An idempotent provisioning call re-run after a revocation must
		// not bring the deleted key back.
		if r, err := tx.RevokedKey(keyID); err == nil {
			return Errorf(CodeAccessKeyConflict, "AccessKeyId %q was deleted at %s and cannot be used again; choose another.", keyID, r.RevokedAt.UTC().Format(time.RFC3339))
		} else if !errors.Is(err, ErrNotFound) {
			return err
		}
		if _, err := tx.Account(accountID); errors.Is(err, ErrNotFound) {
			if err := tx.InsertAccount(Account{ID: accountID, CreatedAt: now, ResourceGroupID: NewResourceGroupID()}); err != nil {
				return err
			}
		} else if err != nil {
			return err
		}
		created = true
		sealed, err := s.seal(secret)
		if err != nil {
			return err
		}
		return tx.InsertAccessKey(AccessKey{ID: keyID, Secret: sealed, AccountID: accountID, Active: true, CreatedAt: now})
	})
	s.keys.forget(keyID)
	return created, err
}

func validToken(name, v string, max int) error {
	if v == "" {
		return MissingParam(name)
	}
	if len(v) > max {
		return InvalidParam(name, fmt.Sprintf("at most %d characters", max))
	}
	for _, r := range v {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return InvalidParam(name, "letters, digits, '-', '_' and '.' only")
		}
	}
	return nil
}

// Bootstrap is the result of ensuring the bootstrap account.
type Bootstrap struct {
	AccountID   string
	AccessKeyID string
	Secret      string
	// Generated is true when a new random pair was made and must be shown
	// to the operator (this happens once).
	Generated bool
	// NotInstalled, when set, says why the key was revoked and is left so
	// (disabled, or deleted): the operator must be told at start.
	NotInstalled string
}

// EnsureBootstrap makes sure the bootstrap account exists. With a key pair
// given (from the environment) that pair is installed on it, replacing the
// secret of the same key if it changed. Without one, an existing key of the
// bootstrap account is kept, or a random pair is generated.
//
// A revocation is never undone: a key disabled or deleted through the
// admin API stays so although the environment still names it (the README
// tells operators to set the pair once, so it is there at every start),
// and no random pair replaces a deleted bootstrap key. NotInstalled says
// so; the server still starts (refusing to start would take every other
// account's service down for the sake of a key that no longer works), and
// a new pair, or the admin API, gives the account a working key again.
func (s *Service) EnsureBootstrap(ctx context.Context, keyID, secret string) (Bootstrap, error) {
	var b Bootstrap
	if (keyID == "") != (secret == "") {
		return b, errors.New("set both MOAT_ACCESS_KEY_ID and MOAT_ACCESS_KEY_SECRET, or neither")
	}
	if keyID != "" {
		if err := validToken("AccessKeyId", keyID, 128); err != nil {
			return b, err
		}
	}
	err := s.store.Update(ctx, func(tx Tx) error {
		b = Bootstrap{}
		now := s.clock.Now()
		acct, err := tx.Setting(SettingBootstrapAccount)
		if errors.Is(err, ErrNotFound) {
			acct = NewAccountID()
			if err := tx.InsertAccount(Account{ID: acct, CreatedAt: now, ResourceGroupID: NewResourceGroupID()}); err != nil {
				return err
			}
			if err := tx.SetSetting(SettingBootstrapAccount, acct); err != nil {
				return err
			}
		} else if err != nil {
			return err
		}
		b.AccountID = acct
		if keyID == "" {
			if id, err := tx.Setting("bootstrap_access_key_id"); err == nil {
				if k, err := tx.AccessKey(id); err == nil && k.AccountID == acct && k.UserName == "" {
					b.AccessKeyID = k.ID
					if !k.Active {
						b.NotInstalled = "it is Inactive (disabled through the admin API)"
					}
					return nil
				}
				if r, err := tx.RevokedKey(id); err == nil {
					b.AccessKeyID = id
					b.NotInstalled = "it was deleted at " + r.RevokedAt.UTC().Format(time.RFC3339) + "; no new pair is generated in its place"
					return nil
				} else if !errors.Is(err, ErrNotFound) {
					return err
				}
			}
			keyID, secret = NewAccessKeyPair()
			b.Generated = true
		}
		b.AccessKeyID = keyID
		b.Secret = secret
		sealed, err := s.seal(secret)
		if err != nil {
			return err
		}
		if r, err := tx.RevokedKey(keyID); err == nil {
			b.NotInstalled = "it was deleted at " + r.RevokedAt.UTC().Format(time.RFC3339)
			return nil
		} else if !errors.Is(err, ErrNotFound) {
			return err
		}
		k, err := s.keyFromTx(tx, keyID)
		switch {
		case err == nil && k.AccountID == acct && k.UserName == "" && !k.Active:
			b.NotInstalled = "it is Inactive (disabled through the admin API)"
			return nil
		case errors.Is(err, ErrNotFound):
			if err := tx.InsertAccessKey(AccessKey{ID: keyID, Secret: sealed, AccountID: acct, Active: true, CreatedAt: now}); err != nil {
				return err
			}
		case err != nil:
			return err
		case k.AccountID != acct || k.UserName != "":
			return fmt.Errorf("AccessKeyId %s belongs to account %s, not to the bootstrap account %s", keyID, k.AccountID, acct)
		case k.Secret != secret:
			k.Secret = sealed
			if err := tx.UpdateAccessKey(k); err != nil {
				return err
			}
		}
		return tx.SetSetting("bootstrap_access_key_id", keyID)
	})
	s.keys.forget(b.AccessKeyID)
	if !b.Generated {
		b.Secret = ""
	}
	return b, err
}

// BootstrapAccountID returns the bootstrap account.
func (s *Service) BootstrapAccountID(ctx context.Context) (string, error) {
	return s.store.Setting(ctx, SettingBootstrapAccount)
}

// Account returns an account.
func (s *Service) Account(ctx context.Context, id string) (Account, error) {
	a, err := s.store.Account(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return a, Errorf(CodeAccountNotFound, "Account %q does not exist.", id)
	}
	return a, err
}

// OwnerOfKey returns the account an AccessKey belongs to.
func (s *Service) OwnerOfKey(ctx context.Context, keyID string) (string, error) {
	k, err := s.store.AccessKey(ctx, keyID)
	if errors.Is(err, ErrNotFound) {
		return "", Errorf(CodeAccessKeyNotFound, "AccessKeyId %q does not exist.", keyID)
	}
	return k.AccountID, err
}

// Events lists recorded events.
func (s *Service) Events(ctx context.Context, f EventFilter) ([]Event, error) {
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

// ---- The clock ----

// LoadClock reads the persisted offset into the clock.
// Concurrent calls may finish in any order; the read that started last
// decides.
func (s *Service) LoadClock(ctx context.Context) error {
	ticket := s.clock.Ticket()
	v, err := s.store.Setting(ctx, SettingClockOffset)
	if errors.Is(err, ErrNotFound) {
		s.clock.SetOffsetFrom(ticket, 0)
		return nil
	}
	if err != nil {
		return err
	}
	ns, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return fmt.Errorf("stored clock offset %q: %w", v, err)
	}
	s.clock.SetOffsetFrom(ticket, time.Duration(ns))
	return nil
}

// MoveClock sets server time to set, or advances it by advance, and
// persists the offset so every process sharing the store agrees. Moving
// back is allowed; transitions already applied are not undone.
func (s *Service) MoveClock(ctx context.Context, set *time.Time, advance *time.Duration) (time.Time, time.Duration, error) {
	if (set == nil) == (advance == nil) {
		return time.Time{}, 0, Errorf(CodeInvalidAdminClock, "Give exactly one of Advance (a Go duration such as \"168h\") or Set (an RFC 3339 time).")
	}
	var offset time.Duration
	err := s.store.Update(ctx, func(tx Tx) error {
		cur := time.Duration(0)
		if v, err := tx.Setting(SettingClockOffset); err == nil {
			ns, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return fmt.Errorf("stored clock offset %q: %w", v, err)
			}
			cur = time.Duration(ns)
		} else if !errors.Is(err, ErrNotFound) {
			return err
		}
		var err error
		if offset, err = newClockOffset(cur, s.clock.Real(), set, advance); err != nil {
			return err
		}
		return tx.SetSetting(SettingClockOffset, strconv.FormatInt(int64(offset), 10))
	})
	if err != nil {
		return time.Time{}, 0, err
	}
	s.clock.SetOffset(offset)
	return s.clock.Now(), offset, nil
}
