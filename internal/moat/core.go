package moat

import (
	"errors"
	"fmt"
	"time"
)

// core is what every part of the service shares: the store (the one write
// path), server time, the IP pools, the audit log and the RAM decisions
// that narrow listings. Its methods are only the steps several parts take:
// the write steps (instance insertion, release, the lifecycle transitions),
// each a single function over Tx, the RAM filter on listings, and reading
// the stored clock offset.
type core struct {
	store            Store
	clock            *ServerClock
	pools            map[Region]Pool
	autoReleaseAfter time.Duration // 0: off
	compiler         PolicyCompiler
	authz            authzCache
	audit            *auditLog
	heavy            heavyReads
	// clockReloads shares reloads of the stored clock offset among
	// concurrent callers; nil when no other process shares the store.
	clockReloads Gatherer
}

// Service is every part of moat's business rules over one core. Only the
// wiring in cmd/ holds it; each consumer (a product's handlers, the admin
// API, the lifecycle engine, the gateway) declares the few methods it calls
// as an interface of its own, which one part, or this bundle, satisfies.
type Service struct {
	*core
	*IdentityService
	*InstanceService
	*BillingService
	*LifecycleService
	*AuditService
	*RuleService
	*TrafficService
	*WebhookService
}

// IdentityService holds accounts, AccessKeys, signature nonces, STS
// credentials and RAM decisions: what the gateway checks before a call and
// the admin API provisions.
type IdentityService struct {
	*core
	keys   keyCache
	sealer Sealer
}

// InstanceService holds the instance operations of the ddoscoo API
// (describe, status, remark, release, tags), instance creation through the
// admin API and the event log.
type InstanceService struct {
	*core
	listings listingCache
}

// BillingService holds the BSS operations: buy, renew, change a
// specification, renewal settings, and the billing views of instances.
type BillingService struct{ *core }

// LifecycleService holds the timer side: the schedule of due transitions,
// the purges of what is kept only for a while, and server time.
type LifecycleService struct{ *core }

// AuditService records and reads the audit log of authenticated calls.
type AuditService struct{ *core }

// Config configures a Service.
type Config struct {
	Store Store
	Clock *ServerClock
	// Pools maps each region to its IP pool; DefaultPools when nil.
	Pools map[Region]Pool
	// AutoReleaseAfter releases instances that long past expiry; 0 is off.
	AutoReleaseAfter time.Duration
	// Sealer encrypts AccessKey secrets and certificate keys at rest; nil
	// keeps them plain.
	Sealer Sealer
	// Policies compiles RAM policy documents; nil refuses them.
	Policies PolicyCompiler
	// MaxHeavyReads caps each account's heavy reads in flight (see
	// heavyReads); 0 is DefaultMaxHeavyReads.
	MaxHeavyReads int
	// SharedClock, set when other processes share the store, gathers the
	// reloads of the stored clock offset (see SyncClock); nil when this
	// process alone serves the store.
	SharedClock Gatherer
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
	hooks := &hookStore{Store: c.Store, wake: make(chan struct{}, 1)}
	co := &core{store: hooks, clock: c.Clock, pools: pools, autoReleaseAfter: c.AutoReleaseAfter,
		compiler: c.Policies, audit: newAuditLog(c.Store), heavy: heavyReads{max: maxHeavy}, clockReloads: c.SharedClock}
	return &Service{
		core:             co,
		IdentityService:  &IdentityService{core: co, keys: keyCache{ttl: KeyCacheTTL}, sealer: c.Sealer},
		InstanceService:  &InstanceService{core: co},
		BillingService:   &BillingService{core: co},
		LifecycleService: &LifecycleService{core: co},
		AuditService:     &AuditService{core: co},
		RuleService:      &RuleService{core: co, sealer: c.Sealer},
		TrafficService:   &TrafficService{core: co, sealer: c.Sealer},
		WebhookService:   &WebhookService{core: co, sealer: c.Sealer, hooks: hooks, rand: jitterSource},
	}, nil
}

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

// ---- Write steps shared by the parts ----

// insertInstance gives in a fresh ID and an IP from pool and stores it.
func (s *core) insertInstance(tx Tx, in *Instance, pool Pool) error {
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
func (s *core) allocateIP(tx Tx, region Region, pool Pool) (string, error) {
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

// release deletes in after recording any transitions it still owed.
func (s *core) release(tx Tx, in *Instance, now, at time.Time, requestID, reason string) error {
	if err := s.applyTransitions(tx, in, now, at); err != nil {
		return err
	}
	if err := s.releaseRules(tx, in); err != nil {
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
	if err := tx.AppendEvent(&ev); err != nil {
		return err
	}
	n := instanceNotice(in, NoticeReleased, at)
	n.RequestId, n.Reason = requestID, reason
	return notify(tx, &n)
}
