package moat

import (
	"context"
	"time"
)

// Store persists moat's state. Implementations hold no business rules: the
// Service decides what to write, the Store only reads and writes it,
// atomically and durably. One conformance suite (internal/store/storetest)
// pins the contract for every implementation.
type Store interface {
	Reader

	// Update runs fn in a serialisable transaction. When Update returns
	// nil the writes are durable (they survive a crash or kill -9 of the
	// process). When fn returns an error nothing it wrote is kept and that
	// error is returned unchanged. fn may be called on another goroutine
	// and must not retain tx.
	Update(ctx context.Context, fn func(tx Tx) error) error

	// UseNonce records a signature nonce of an AccessKey, durably when it
	// returns, and reports whether it was fresh (false: seen before and
	// not yet purged). Every signed request calls it, so stores keep it
	// off the path of other writes and reads.
	UseNonce(ctx context.Context, accessKeyID, nonce string, expires time.Time) (bool, error)
	// PurgeNonces forgets at most limit nonces that expired before t.
	PurgeNonces(ctx context.Context, before time.Time, limit int) (int, error)

	// AppendAudit records authenticated calls, durably when it returns,
	// assigning their Seq in order.
	AppendAudit(ctx context.Context, recs []AuditRecord) error
	// PurgeAudit forgets at most max records older than before.
	PurgeAudit(ctx context.Context, before time.Time, max int) (int, error)
	// AddTraffic records data-plane samples, durably when it returns:
	// for each (rule, bucket, node) the counters (bytes, packets,
	// NewConns, Dropped) add to what is stored, ActiveConns and
	// InactiveConns replace it and MaxConns keeps the larger.
	AddTraffic(ctx context.Context, samples []TrafficSample) error
	// PutMitigationEvents records mitigation events, keyed by (Node,
	// rule, Source, Limit, Start): a new key is inserted, a known one gets
	// the given End, Peak and Dropped.
	PutMitigationEvents(ctx context.Context, evs []MitigationEvent) error
	// AddWebTraffic records website samples, durably when it returns: for
	// each (account, domain, bucket, node) every counter adds to what is
	// stored.
	AddWebTraffic(ctx context.Context, samples []WebTrafficSample) error
	// PutWebAttackEvents records website attack events, keyed by (Node,
	// AccountID, Domain, Source, Reason, Start): a new key is inserted, a
	// known one gets the given End, Peak, Blocked and Watched.
	PutWebAttackEvents(ctx context.Context, evs []WebAttackEvent) error
	// PurgeTraffic forgets at most max samples and ended mitigation
	// events older than before.
	PurgeTraffic(ctx context.Context, before time.Time, max int) (int, error)

	// TrimAudit forgets at most max of the oldest records, so that once
	// it returns fewer than max at most keep records remain (fewer when
	// Seqs have gaps: it keeps the records within keep of the newest Seq).
	TrimAudit(ctx context.Context, keep, max int) (int, error)

	Close() error
}

// Reader answers queries from committed state.
type Reader interface {
	AccessKey(ctx context.Context, id string) (AccessKey, error) // ErrNotFound
	Account(ctx context.Context, id string) (Account, error)     // ErrNotFound
	Instance(ctx context.Context, id string) (Instance, error)   // ErrNotFound
	// Instances lists matches in creation order, honouring Offset/Limit.
	Instances(ctx context.Context, f InstanceFilter) ([]Instance, error)
	// ScanInstances calls fn with every match of f in creation order, in
	// batches of at most batch instances (Offset/Limit are ignored), and
	// stops at fn's first error, which it returns. Each batch is read by
	// its own query after the previous one's last instance (keyset), and
	// no connection is held while fn runs, so fn may read the store; a
	// scan is therefore not one snapshot. Memory is bounded by batch
	// whatever the number of matches.
	ScanInstances(ctx context.Context, f InstanceFilter, batch int, fn func([]Instance) error) error
	// CountInstances counts matches, ignoring Offset/Limit.
	CountInstances(ctx context.Context, f InstanceFilter) (int64, error)
	// InstancePage is Instances and CountInstances together, in as few
	// round trips as the store can manage (DescribeInstances' hot path).
	InstancePage(ctx context.Context, f InstanceFilter) ([]Instance, int64, error)
	// ListingVersion returns the number of live instances of an account
	// in a region, and a version that changes whenever any of them (or
	// its tags) is inserted, updated or deleted, by any process. Equal
	// versions mean identical listings. Zero and zero when it has none.
	ListingVersion(ctx context.Context, accountID string, region Region) (count, version int64, err error)
	Tombstone(ctx context.Context, id string) (Tombstone, error) // ErrNotFound
	Events(ctx context.Context, f EventFilter) ([]Event, error)
	// TagsOf returns the tags of each given instance (sorted by key).
	TagsOf(ctx context.Context, instanceIDs []string) (map[string][]Tag, error)
	// TagKeys pages through the distinct tag keys on an account's
	// instances in a region (sorted by byte order), with how many
	// instances carry each, and the number of distinct keys; a resource
	// group ("" for any) narrows it to that group's instances.
	TagKeys(ctx context.Context, accountID string, region Region, resourceGroup string, offset, limit int) ([]TagKeyCount, int64, error)
	Setting(ctx context.Context, key string) (string, error)        // ErrNotFound
	User(ctx context.Context, accountID, name string) (User, error) // ErrNotFound
	// UserPolicies lists a user's policies, by name.
	UserPolicies(ctx context.Context, accountID, userName string) ([]UserPolicy, error)
	// Audit lists audit records in Seq order (oldest first).
	Audit(ctx context.Context, f AuditFilter) ([]AuditRecord, error)
	// EarliestExpiry is the smallest ExpireTime among instances in phase,
	// and false when there is none.
	EarliestExpiry(ctx context.Context, phase Phase) (time.Time, bool, error)

	RuleReader
	WebhookReader
}

// WebhookReader answers queries on webhooks and their outbox
// (webhooks.go).
type WebhookReader interface {
	Webhook(ctx context.Context, id string) (Webhook, error) // ErrNotFound
	// Webhooks lists an account's webhooks, oldest first.
	Webhooks(ctx context.Context, accountID string) ([]Webhook, error)
	// Deliveries lists a webhook's deliveries, the newest first, at most
	// f.Limit.
	Deliveries(ctx context.Context, f DeliveryFilter) ([]Delivery, error)
	// NextDelivery is the earliest Next of a pending delivery, and false
	// when none is pending.
	NextDelivery(ctx context.Context) (time.Time, bool, error)
}

// RuleReader answers queries on forwarding configuration (rules.go).
type RuleReader interface {
	// PortRulePage lists an instance's port rules that match f, by
	// protocol then frontend port, honouring Offset/Limit, and counts
	// every match. A listing shows no protection settings or health
	// check: Config and HealthCheck are left zero (PortRulesByKey and
	// Tx.PortRule read them).
	PortRulePage(ctx context.Context, f PortRuleFilter) ([]PortRule, int64, error)
	// PortRulesByKey returns the rules that exist among keys, in the
	// order of keys (missing ones are left out).
	PortRulesByKey(ctx context.Context, keys []PortKey) ([]PortRule, error)
	// WebRulePage lists an account's websites in a region that match f
	// (Domain: equal when Exact, else a substring; InstanceIDs: bound to
	// any of them), by domain — except that a substring search lists the
	// domain equal to it first (a client reading the first entry for a
	// name gets that name) — honouring Offset/Limit, and counts every
	// match.
	WebRulePage(ctx context.Context, f WebRuleFilter) ([]WebRule, int64, error)
	// Certs lists an account's certificates by ID.
	Certs(ctx context.Context, accountID string) ([]Cert, error)
	// WebProtections reads every stored website protection, keyed by
	// WebProtectionKey (websites never changed are absent: they have
	// DefaultWebProtection).
	WebProtections(ctx context.Context) (map[string]WebProtection, error)
	// WebProtectionsOf reads the stored protections of an account's
	// websites among domains, keyed by domain (absent: none stored).
	WebProtectionsOf(ctx context.Context, accountID string, domains []string) (map[string]WebProtection, error)
	// SourceEntryPage lists the entries of an instance's list that match
	// f, by address, and counts every match.
	SourceEntryPage(ctx context.Context, f SourceFilter) ([]SourceEntry, int64, error)
	// RuleCounts counts the port rules and the websites of each given
	// instance (instances with none are absent).
	RuleCounts(ctx context.Context, instanceIDs []string) (map[string]RuleCount, error)
	// UDPReflect returns an instance's blocked UDP source ports (nil:
	// none).
	UDPReflect(ctx context.Context, instanceID string) ([]int, error)

	// LastEventSeq is the Seq of the last recorded event (0: none).
	LastEventSeq(ctx context.Context) (int64, error)
	// ForwardingConfig reads every live instance that has port rules or
	// websites, with its rules (Config and HealthCheck included), source
	// list entries (expired ones may be included) and UDP reflection
	// filter, the websites bound to any of them (InstanceIDs may name
	// instances not listed) and the certificates those websites use.
	// Seq is LastEventSeq read before the rest, so a change recorded
	// after Seq may or may not be in it, and one recorded before is.
	ForwardingConfig(ctx context.Context) (ForwardingConfig, error)
	// WebTraffic lists the website samples that match f (one per domain,
	// bucket and node), by bucket then domain.
	WebTraffic(ctx context.Context, f WebTrafficFilter) ([]WebTrafficSample, error)
	// WebAttackEvents lists the website attack events that match f, the
	// latest Start first.
	WebAttackEvents(ctx context.Context, f WebAttackFilter) ([]WebAttackEvent, error)
	// Traffic lists the samples that match f (one per rule, bucket and
	// node), by bucket.
	Traffic(ctx context.Context, f TrafficFilter) ([]TrafficSample, error)
	// MitigationEvents lists the events that match f, the latest Start
	// first, honouring Offset/Limit, and counts every match.
	MitigationEvents(ctx context.Context, f MitigationFilter) ([]MitigationEvent, int64, error)
}

// Tx is the write side, valid only inside Update's function.
type Tx interface {
	Account(id string) (Account, error) // ErrNotFound
	InsertAccount(a Account) error      // ErrConflict if it exists
	AccessKey(id string) (AccessKey, error)
	InsertAccessKey(k AccessKey) error // ErrConflict if it exists
	UpdateAccessKey(k AccessKey) error // ErrNotFound; rewrites Secret and Active
	DeleteAccessKey(id string) error   // ErrNotFound
	// RevokedKey reads the record of a deleted key (ErrNotFound: none);
	// InsertRevokedKey records one, keeping the first record of an ID.
	RevokedKey(id string) (RevokedKey, error)
	InsertRevokedKey(r RevokedKey) error
	// DeleteExpiredSTSKeys deletes at most max STS keys (TokenHash set)
	// that expired before t, the earliest first, and says how many.
	DeleteExpiredSTSKeys(before time.Time, max int) (int, error)

	User(accountID, name string) (User, error) // ErrNotFound
	// InsertUser adds a RAM user; ErrConflict when the name is taken in
	// the account (or the ID anywhere).
	InsertUser(u User) error
	// PutUserPolicy attaches a policy to a user, replacing one of the
	// same name.
	PutUserPolicy(p UserPolicy) error
	DeleteUserPolicy(accountID, userName, name string) error // ErrNotFound

	Instance(id string) (Instance, error) // ErrNotFound
	// InsertInstance adds an instance; ErrConflict when its ID or its
	// (Region, IP) is taken.
	InsertInstance(in *Instance) error
	// UpdateInstance rewrites the mutable fields (Remark, Edition,
	// ResourceGroupID, ExpireTime, Phase, Spec, RenewalStatus,
	// RenewPeriod).
	UpdateInstance(in *Instance) error
	// UpdatePhase records the lifecycle phase alone. Listings do not show
	// the phase, so it leaves the listing version as it is (the lifecycle
	// engine writes it for every instance that expires).
	UpdatePhase(id string, phase Phase) error
	// DeleteInstance removes an instance and everything attached to it.
	DeleteInstance(id string) error
	// DueInstances returns up to limit instances in phase whose ExpireTime
	// is at or before t, earliest first. On stores shared by several
	// processes the rows are claimed (locked) for this transaction.
	DueInstances(phase Phase, t time.Time, limit int) ([]Instance, error)
	// SetTags adds tags to an instance, replacing the value of a key it
	// already has.
	SetTags(instanceID string, tags []Tag) error
	// Tags returns an instance's tags.
	Tags(instanceID string) ([]Tag, error)
	// DeleteTags removes the given keys from an instance, or every tag
	// when keys is nil.
	DeleteTags(instanceID string, keys []string) error

	// ClientToken returns the record of a billing call made with a token.
	ClientToken(accountID, action, token string) (ClientToken, error) // ErrNotFound
	// PutClientToken records (or replaces) it.
	PutClientToken(t ClientToken) error

	TombstoneExists(id string) (bool, error)
	InsertTombstone(t Tombstone) error

	AppendEvent(e *Event) error

	// PopFreeIP takes the lowest free address of region within [lo, hi].
	PopFreeIP(region Region, lo, hi uint32) (uint32, bool, error)
	PushFreeIP(region Region, ip uint32) error
	// IPCursor is the next never-used offset of a region's pool.
	IPCursor(region Region, pool string) (uint32, error)
	SetIPCursor(region Region, pool string, next uint32) error
	IPInUse(region Region, ip string) (bool, error)

	Setting(key string) (string, error) // ErrNotFound
	SetSetting(key, value string) error

	RuleTx
	WebhookTx
}

// WebhookTx writes webhooks and their outbox (webhooks.go).
type WebhookTx interface {
	// InsertWebhook adds a webhook; ErrConflict when its ID is taken.
	InsertWebhook(w Webhook) error
	// WebhooksOf lists an account's webhooks, oldest first.
	WebhooksOf(accountID string) ([]Webhook, error)
	// DeleteWebhook deletes a webhook and all its deliveries; ErrNotFound.
	DeleteWebhook(id string) error
	// InsertDeliveries adds deliveries (the store numbers them); one whose
	// (WebhookID, EventID) is stored already is left out.
	InsertDeliveries(ds []Delivery) error
	// ClaimDeliveries returns up to limit pending deliveries whose Next
	// is at or before now, earliest first, with their webhook's URL and
	// Secret (as stored), and sets their Next to until. On stores shared
	// by several processes a row is claimed by one transaction only
	// (others skip it).
	ClaimDeliveries(now, until time.Time, limit int) ([]Delivery, error)
	// UpdateDeliveries rewrites Status, Attempts, Next, Last, LastCode and
	// LastError of deliveries that are still pending (others, and deleted
	// ones, are left as they are).
	UpdateDeliveries(ds []Delivery) error
}

// RuleTx writes forwarding configuration (rules.go). DeleteInstance also
// deletes an instance's port rules, source lists, UDP reflection filter,
// website bindings, traffic samples and mitigation events.
type RuleTx interface {
	// PortRules returns an instance's port rules by protocol then port.
	PortRules(instanceID string) ([]PortRule, error)
	PortRule(k PortKey) (PortRule, error) // ErrNotFound
	// InsertPortRule adds a rule; ErrConflict when its key is taken.
	InsertPortRule(r *PortRule) error
	// UpdatePortRule rewrites BackendPort, RealServers, Config,
	// HealthCheck and Updated; ErrNotFound.
	UpdatePortRule(r *PortRule) error
	DeletePortRule(k PortKey) error // ErrNotFound
	// RuleCount counts an instance's port rules and websites.
	RuleCount(instanceID string) (RuleCount, error)

	WebRule(accountID, domain string) (WebRule, error) // ErrNotFound
	// WebRulesOf returns the websites bound to an instance, by domain.
	WebRulesOf(instanceID string) ([]WebRule, error)
	// InsertWebRule adds a website with its instance bindings;
	// ErrConflict when the account has the domain.
	InsertWebRule(w *WebRule) error
	// UpdateWebRule rewrites everything but AccountID, Domain, Cname and
	// Created, the instance bindings included; ErrNotFound.
	UpdateWebRule(w *WebRule) error
	// DeleteWebRule deletes a website, its bindings and its protection;
	// ErrNotFound.
	DeleteWebRule(accountID, domain string) error
	// WebProtection reads a website's stored protection (ErrNotFound:
	// none stored); PutWebProtection stores it, replacing what was.
	WebProtection(accountID, domain string) (WebProtection, error)
	PutWebProtection(accountID, domain string, p WebProtection, updated time.Time) error

	// InsertCert adds a certificate and assigns its ID; ErrConflict when
	// the account has one of that name.
	InsertCert(c *Cert) error
	Cert(accountID string, id int64) (Cert, error)   // ErrNotFound
	CertByName(accountID, name string) (Cert, error) // ErrNotFound

	// PutSourceEntries adds entries to a list, replacing the Type,
	// Expires and Created of addresses it has.
	PutSourceEntries(entries []SourceEntry) error
	// DeleteSourceEntries removes addresses from an instance's list, or
	// every entry when ips is nil, and says how many it removed.
	DeleteSourceEntries(instanceID string, list SourceListKind, ips []string) (int, error)
	// CountSourceEntries counts the entries of one type ("" any) on a
	// list that expire after now (or never).
	CountSourceEntries(instanceID string, list SourceListKind, typ string, now time.Time) (int, error)

	// SetUDPReflect records an instance's blocked UDP source ports (nil
	// or empty: none).
	SetUDPReflect(instanceID string, ports []int) error
}

// Settings keys.
const (
	SettingClockOffset      = "clock_offset_ns"
	SettingBootstrapAccount = "bootstrap_account_id"
)
