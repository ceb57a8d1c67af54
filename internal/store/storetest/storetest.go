// Package storetest is the conformance suite of moat.Store. Every store
// implementation (SQLite and PostgreSQL) runs the same suite from
// its own tests:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) moat.Store { return openFresh(t) })
//	}
//
// The suite pins only the contract written in internal/moat/store.go (and
// the types it uses), never a particular implementation's schema, SQL or
// batching. It uses no wall clock: every time is a fixed instant.
package storetest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"moat/internal/moat"
)

// Run runs the conformance suite. open must return a fresh, empty, migrated
// store for the subtest it is given, and arrange its closing (t.Cleanup).
func Run(t *testing.T, open func(t *testing.T) moat.Store) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := open(t)
			if s == nil {
				t.Fatal("open returned a nil store")
			}
			c.fn(t, s)
		})
	}
}

type testCase struct {
	name string
	fn   func(t *testing.T, s moat.Store)
}

var cases = []testCase{
	{"Scan/holds no read connection while fn runs (scans nested deeper than the read pool)", testHardeningScanNestedDeeperThanPool},
	{"Update/returns nil and its writes are visible to Reader", testUpdateCommits},
	{"Update/fn reads its own uncommitted writes", testUpdateReadsOwnWrites},
	{"Update/Reader does not see the writes of an Update in progress", testUpdateIsolation},
	{"Update/fn error discards every write and comes back unchanged", testUpdateErrorRollsBack},
	{"Update/panic in fn becomes an error, discards writes, store keeps working", testUpdatePanic},
	{"Update/cancelled context fails and keeps nothing", testUpdateCancelled},
	{"Update/a conflict inside fn leaves the transaction usable", testUpdateConflictRecovers},
	{"Update/concurrent calls keep exactly the successful calls' writes", testUpdateConcurrent},

	{"Nonces/first use is fresh and reuse is not", testNonceFreshThenUsed},
	{"Nonces/access keys and nonces are independent", testNonceIndependent},
	{"Nonces/PurgeNonces deletes only expired nonces up to limit", testNonceDeleteExpired},
	{"Nonces/exactly one of concurrent uses of a nonce is fresh", testNonceConcurrent},

	{"Accounts/insert and read back through Tx and Reader", testAccountRoundTrip},
	{"Accounts/duplicate insert is ErrConflict", testAccountConflict},
	{"Accounts/missing account is ErrNotFound", testAccountNotFound},
	{"AccessKeys/insert and read back through Tx and Reader", testAccessKeyRoundTrip},
	{"AccessKeys/duplicate insert is ErrConflict", testAccessKeyConflict},
	{"AccessKeys/UpdateAccessKey changes secret and active", testAccessKeyUpdate},
	{"AccessKeys/missing key is ErrNotFound for reads and UpdateAccessKey", testAccessKeyNotFound},
	{"AccessKeys/DeleteExpiredSTSKeys deletes only expired STS keys, earliest first, up to max", testDeleteExpiredSTSKeys},
	{"AccessKeys/a revoked key is recorded once, for good, and read back", testRevokedKeys},

	{"Instances/insert round-trips every field through Tx and Reader in UTC", testInstanceRoundTrip},
	{"Instances/missing instance is ErrNotFound for reads, update and delete", testInstanceNotFound},
	{"Instances/duplicate ID is ErrConflict", testInstanceDuplicateID},
	{"Instances/duplicate region and IP is ErrConflict while the first is live", testInstanceDuplicateIP},
	{"Instances/same IP in another region is allowed", testInstanceSameIPOtherRegion},
	{"Instances/UpdateInstance rewrites the mutable fields", testInstanceUpdate},
	{"Instances/UpdatePhase records the phase alone and leaves the listing version", testUpdatePhase},
	{"Events/an instance's events are found by its ID before and after it is released", testEventsOfReleased},
	{"Instances/DeleteInstance removes the instance, its tags and frees its IP", testInstanceDelete},
	{"Instances/SetTags attaches tags to one instance only", testInstanceSetTags},

	{"Instances/listing is in insertion order", testListOrder},
	{"Instances/Offset and Limit page through the list", testListPaging},
	{"Instances/filter IDs selects the listed instances of the owner", testFilterIDs},
	{"Instances/filter IP is an exact match", testFilterIP},
	{"Instances/filter RemarkContains is a case-sensitive literal substring", testFilterRemark},
	{"Instances/filter Edition matches exactly, including edition 0", testFilterEdition},
	{"Instances/filter ExpireFrom is inclusive", testFilterExpireFrom},
	{"Instances/filter ExpireBefore is exclusive", testFilterExpireBefore},
	{"Instances/filter ResourceGroupID is an exact match", testFilterResourceGroup},
	{"Instances/filter Tags match by key or key and value, ANDed", testFilterTags},
	{"Instances/filters combine with AND", testFilterCombined},
	{"Instances/AccountID and Region isolate listings and counts", testListIsolation},
	{"Instances/ListingVersion changes with every change to the listing, and only then", testListingVersion},
	{"Instances/unfiltered count follows inserts and deletes per account and region", testCountUnfiltered},

	{"DueInstances/returns the phase's instances due at t, earliest first, up to limit", testDueInstances},
	{"EarliestExpiry/is the smallest ExpireTime per phase and false when none", testEarliestExpiry},

	{"Tombstones/insert, exists and read back", testTombstoneRoundTrip},
	{"Tombstones/missing tombstone is ErrNotFound and does not exist", testTombstoneNotFound},

	{"Events/AppendEvent assigns increasing Seq and every field round-trips", testEventRoundTrip},
	{"Events/filters InstanceID, Type, AfterSeq and Limit in Seq order", testEventFilters},

	{"IPPool/PopFreeIP takes the lowest free IP in range and removes it", testPopFreeIP},
	{"IPPool/PopFreeIP reports false when no free IP is in range or region", testPopFreeIPNone},
	{"IPPool/PushFreeIP is idempotent", testPushFreeIPIdempotent},
	{"IPPool/IPCursor defaults to 0 and is kept per region and pool", testIPCursor},
	{"IPPool/IPInUse reflects live instances of the region", testIPInUse},

	{"Settings/missing is ErrNotFound, SetSetting upserts, Reader sees it", testSettings},

	{"Billing/ProductType, every Spec field, RenewalStatus and RenewPeriod round-trip through every read", testInstanceBillingRoundTrip},
	{"Billing/UpdateInstance rewrites Spec, RenewalStatus and RenewPeriod", testInstanceBillingUpdate},
	{"Billing/Account ResourceGroupID round-trips, empty included", testAccountResourceGroup},
	{"Billing/ClientToken is ErrNotFound until put, round-trips, is replaced on conflict", testClientTokenRoundTrip},
	{"Billing/ClientToken records are isolated by account, action and token", testClientTokenIsolation},
	{"Billing/filter Region \"\" spans every region of the account", testFilterAnyRegion},
	{"Billing/filter CreateFrom is inclusive and CreateBefore exclusive", testFilterCreateTime},
	{"Billing/filter RenewalStatus is an exact match", testFilterRenewalStatus},
	{"Billing/filter ProductType is an exact match", testFilterProductType},

	{"Tags/Tx.Tags reads what SetTags wrote; SetTags replaces a key's value", testTagsUpsert},
	{"Tags/DeleteTags removes the given keys, or every tag with nil", testTagsDelete},
	{"Tags/SetTags and DeleteTags move ListingVersion of the instance's listing only", testTagsListingVersion},
	{"Tags/TagsOf maps each instance to its tags sorted by key", testTagsOf},
	{"Tags/TagKeys counts instances per distinct key, sorted and paged, per account and region", testTagKeys},

	{"RAM/users, their policies and STS keys: unique names and IDs, replace, delete", testUsersPoliciesKeys},

	{"Audit/AppendAudit assigns increasing Seq, fields round-trip, filters and PurgeAudit", testAuditRoundTrip},
	{"Audit/ResourceCount round-trips beside the kept Resources", testAuditResourceCount},
	{"Audit/TrimAudit forgets the oldest records beyond the newest keep, max at a time", testAuditTrim},

	{"Rules/a port rule round-trips through Tx and Reader, is updated and deleted", testPortRuleRoundTrip},
	{"Rules/a taken port key is ErrConflict and leaves the transaction usable; missing rules are ErrNotFound", testPortRuleConflictNotFound},
	{"Rules/PortRulePage orders by protocol then port, filters, pages and counts; PortRulesByKey keeps the keys' order", testPortRulePage},
	{"Rules/a website round-trips with its bindings in order; conflict per account; update replaces the bindings; delete", testWebRuleRoundTrip},
	{"Rules/WebRulePage: exact or case-insensitive literal substring domain, instance and region filters, order, paging", testWebRulePage},
	{"Rules/certificates get increasing IDs, names are unique per account, reads are per account", testCerts},
	{"Rules/source entries: put replaces, delete some or all, expired and prefix-filtered entries left out of pages and counts", testSourceEntries},
	{"Rules/UDP reflection ports are set, replaced and cleared", testUDPReflect},
	{"Rules/RuleCount and RuleCounts count port rules and website bindings per instance", testRuleCounts},
	{"Rules/DeleteInstance removes the instance's rules, lists, filter and bindings, and no other instance's", testDeleteInstanceRules},
	{"Rules/rule writes leave the listing version", testRulesLeaveListingVersion},
	{"Rules/a website's protection round-trips, is replaced, read per account or all, and goes with its website", testWebProtection},
	{"Events/Subject round-trips", testEventSubject},

	{"Traffic/AddTraffic: counters add, gauges replace, MaxConns keeps the larger; nodes and buckets are rows of their own", testTrafficAccumulates},
	{"Traffic/Traffic filters instances, protocol, port and buckets in [From, To), by bucket", testTrafficFilters},
	{"Traffic/PutMitigationEvents inserts a new key and updates End, Peak and Dropped of a known one", testMitigationPut},
	{"Traffic/MitigationEvents: latest Start first, paging, count, overlap with [From, To)", testMitigationList},
	{"Traffic/PurgeTraffic forgets old samples and ended events, at most max a call", testPurgeTraffic},
	{"Traffic/LastEventSeq is 0, then the last committed event's Seq", testLastEventSeq},
	{"Traffic/ForwardingConfig: instances with port rules, their rules with settings, lists and UDP filter; Seq", testForwardingConfig},
	{"Traffic/ForwardingConfig holds every change recorded up to its Seq, under concurrent writes", testForwardingConfigSeq},
	{"Traffic/DeleteInstance removes the instance's samples and mitigation events, and no other's", testDeleteInstanceTraffic},
	{"Traffic/AddWebTraffic: every counter adds per (account, domain, bucket, node); WebTraffic filters by account, domains and buckets", testWebTrafficAccumulates},
	{"Traffic/PutWebAttackEvents inserts a new key and replaces End and figures of a known one; WebAttackEvents latest first", testWebAttackEvents},
	{"Traffic/ForwardingConfig: instances bound to websites, their websites and the certificates those use", testForwardingConfigWebs},

	{"Webhooks/round-trip, conflict, per account; the outbox: no duplicate per webhook and event, claims with lease, outcomes, delete", testWebhooks},
}

// ---- fixtures and helpers ----

// base is the suite's "now". Every time is at millisecond precision, as the
// domain hands them to the store.
var base = time.Date(2031, 3, 14, 15, 9, 26, 535_000_000, time.UTC)

// east is a non-UTC zone: a store must hand times back in UTC whatever zone
// they were written in.
var east = time.FixedZone("UTC+8", 8*3600)

const (
	acctA = "1000000000000001"
	acctB = "1000000000000002"
	mainl = moat.RegionMainland
	overs = moat.RegionOverseas
)

func at(d time.Duration) time.Time { return base.Add(d) }

func ptr[T any](v T) *T { return &v }

// inst returns an instance of account/region with the given ID, IP and
// expiry; the other fields have fixed, non-zero values.
func inst(id, account string, region moat.Region, ip string, expire time.Time) moat.Instance {
	return moat.Instance{
		ID: id, AccountID: account, Region: region, IP: ip,
		Remark: "remark of " + id, Edition: moat.DefaultEdition(region), ResourceGroupID: "rg-default",
		CreateTime: at(-time.Hour), ExpireTime: expire, Phase: moat.PhaseActive,
		ProductType: moat.DefaultProductType(region), Spec: moat.DefaultSpec(moat.DefaultProductType(region)),
		RenewalStatus: moat.RenewalManual, RenewPeriod: 1,
	}
}

func update(t *testing.T, s moat.Store, fn func(tx moat.Tx) error) {
	t.Helper()
	if err := s.Update(t.Context(), fn); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

func insert(t *testing.T, s moat.Store, ins ...moat.Instance) {
	t.Helper()
	update(t, s, func(tx moat.Tx) error {
		for i := range ins {
			if err := tx.InsertInstance(&ins[i]); err != nil {
				return fmt.Errorf("InsertInstance(%s): %w", ins[i].ID, err)
			}
		}
		return nil
	})
}

func setTags(t *testing.T, s moat.Store, id string, tags ...moat.Tag) {
	t.Helper()
	update(t, s, func(tx moat.Tx) error { return tx.SetTags(id, tags) })
}

func deleteInstance(t *testing.T, s moat.Store, id string) {
	t.Helper()
	update(t, s, func(tx moat.Tx) error { return tx.DeleteInstance(id) })
}

func ids(ins []moat.Instance) []string {
	out := make([]string, len(ins))
	for i, in := range ins {
		out[i] = in.ID
	}
	return out
}

// checkTime reports a difference between two times: a different instant or
// a zone other than UTC.
func checkTime(field string, got, want time.Time) string {
	if !got.Equal(want) {
		return fmt.Sprintf("%s = %v, want %v", field, got, want)
	}
	if got.Location() != time.UTC {
		return fmt.Sprintf("%s = %v is not in UTC", field, got)
	}
	return ""
}

// diffInstance compares every field; "" when equal.
func diffInstance(got, want moat.Instance) string {
	var d []string
	add := func(s string) {
		if s != "" {
			d = append(d, s)
		}
	}
	if got.ID != want.ID {
		add(fmt.Sprintf("ID = %q, want %q", got.ID, want.ID))
	}
	if got.AccountID != want.AccountID {
		add(fmt.Sprintf("AccountID = %q, want %q", got.AccountID, want.AccountID))
	}
	if got.Region != want.Region {
		add(fmt.Sprintf("Region = %q, want %q", got.Region, want.Region))
	}
	if got.IP != want.IP {
		add(fmt.Sprintf("IP = %q, want %q", got.IP, want.IP))
	}
	if got.Remark != want.Remark {
		add(fmt.Sprintf("Remark = %q, want %q", got.Remark, want.Remark))
	}
	if got.Edition != want.Edition {
		add(fmt.Sprintf("Edition = %d, want %d", got.Edition, want.Edition))
	}
	if got.ResourceGroupID != want.ResourceGroupID {
		add(fmt.Sprintf("ResourceGroupID = %q, want %q", got.ResourceGroupID, want.ResourceGroupID))
	}
	add(checkTime("CreateTime", got.CreateTime, want.CreateTime))
	add(checkTime("ExpireTime", got.ExpireTime, want.ExpireTime))
	if got.Phase != want.Phase {
		add(fmt.Sprintf("Phase = %d, want %d", got.Phase, want.Phase))
	}
	if got.ProductType != want.ProductType {
		add(fmt.Sprintf("ProductType = %q, want %q", got.ProductType, want.ProductType))
	}
	if got.Spec != want.Spec {
		add(fmt.Sprintf("Spec = %+v, want %+v", got.Spec, want.Spec))
	}
	if got.RenewalStatus != want.RenewalStatus {
		add(fmt.Sprintf("RenewalStatus = %q, want %q", got.RenewalStatus, want.RenewalStatus))
	}
	if got.RenewPeriod != want.RenewPeriod {
		add(fmt.Sprintf("RenewPeriod = %d, want %d", got.RenewPeriod, want.RenewPeriod))
	}
	return strings.Join(d, "; ")
}

func readInstance(t *testing.T, s moat.Store, id string) moat.Instance {
	t.Helper()
	in, err := s.Instance(t.Context(), id)
	if err != nil {
		t.Fatalf("Reader.Instance(%s): %v", id, err)
	}
	return in
}

func wantInstance(t *testing.T, s moat.Store, want moat.Instance) {
	t.Helper()
	if d := diffInstance(readInstance(t, s, want.ID), want); d != "" {
		t.Errorf("Reader.Instance(%s): %s", want.ID, d)
	}
}

func wantNoInstance(t *testing.T, s moat.Store, id string) {
	t.Helper()
	if in, err := s.Instance(t.Context(), id); !errors.Is(err, moat.ErrNotFound) {
		t.Errorf("Reader.Instance(%s) = %+v, %v; want ErrNotFound", id, in, err)
	}
}

// list returns the IDs Instances(f) lists.
func list(t *testing.T, s moat.Store, f moat.InstanceFilter) []string {
	t.Helper()
	got, err := s.Instances(t.Context(), f)
	if err != nil {
		t.Fatalf("Instances(%+v): %v", f, err)
	}
	return ids(got)
}

func count(t *testing.T, s moat.Store, f moat.InstanceFilter) int64 {
	t.Helper()
	n, err := s.CountInstances(t.Context(), f)
	if err != nil {
		t.Fatalf("CountInstances(%+v): %v", f, err)
	}
	return n
}

// checkFilter asserts that f lists exactly want, in that order, that
// CountInstances agrees, and that paging does not change the count.
func checkFilter(t *testing.T, s moat.Store, f moat.InstanceFilter, want ...string) {
	t.Helper()
	f.Offset, f.Limit = 0, 0
	if want == nil {
		want = []string{}
	}
	got := list(t, s, f)
	if !slices.Equal(got, want) {
		t.Errorf("Instances(%s) = %q, want %q", describe(f), got, want)
	}
	if n := count(t, s, f); n != int64(len(want)) {
		t.Errorf("CountInstances(%s) = %d, want %d", describe(f), n, len(want))
	}
	checkPage(t, s, f, want, len(want))
	checkScan(t, s, f, want)
	f.Offset, f.Limit = 1, 1
	if n := count(t, s, f); n != int64(len(want)) {
		t.Errorf("CountInstances(%s) with Offset 1, Limit 1 = %d, want %d (paging must not change the count)", describe(f), n, len(want))
	}
	if len(want) > 1 {
		checkPage(t, s, f, want[1:2], len(want))
	} else {
		checkPage(t, s, f, nil, len(want))
	}
}

// checkScan pins ScanInstances: the same instances as Instances, each
// with every field, for batch sizes from 1 to more than the matches, in
// non-empty batches no larger than asked; fn may read the store, and its
// error ends the scan.
func checkScan(t *testing.T, s moat.Store, f moat.InstanceFilter, want []string) {
	t.Helper()
	f.Offset, f.Limit = 1, 1 // ignored
	for _, batch := range []int{1, 2, len(want) + 1} {
		ids := []string{}
		err := s.ScanInstances(t.Context(), f, batch, func(list []moat.Instance) error {
			if len(list) == 0 || len(list) > batch {
				t.Errorf("ScanInstances(%s, batch %d) gave a batch of %d", describe(f), batch, len(list))
			}
			if len(ids) > len(want) {
				return fmt.Errorf("more instances than the %d matches", len(want)) // a scan that never ends
			}
			for _, in := range list {
				ids = append(ids, in.ID)
				full, err := s.Instance(t.Context(), in.ID)
				if err != nil || full != in {
					t.Errorf("ScanInstances(%s) item %+v differs from Instance() = %+v, %v", describe(f), in, full, err)
				}
			}
			return nil
		})
		if err != nil || !slices.Equal(ids, want) {
			t.Errorf("ScanInstances(%s, batch %d) = %q, %v; want %q", describe(f), batch, ids, err, want)
		}
	}
	if len(want) > 1 {
		stop := errors.New("enough")
		calls := 0
		err := s.ScanInstances(t.Context(), f, 1, func([]moat.Instance) error { calls++; return stop })
		if !errors.Is(err, stop) || calls != 1 {
			t.Errorf("ScanInstances(%s) with fn failing: %v after %d calls, want fn's error after 1", describe(f), err, calls)
		}
	}
}

// checkPage pins InstancePage: the same instances as Instances, each with
// every field (owner and region included), and the same total as
// CountInstances.
func checkPage(t *testing.T, s moat.Store, f moat.InstanceFilter, want []string, total int) {
	t.Helper()
	got, n, err := s.InstancePage(t.Context(), f)
	if err != nil {
		t.Fatalf("InstancePage(%s): %v", describe(f), err)
	}
	ids := []string{}
	for _, in := range got {
		ids = append(ids, in.ID)
		full, err := s.Instance(t.Context(), in.ID)
		if err != nil || full != in {
			t.Errorf("InstancePage(%s) item %+v differs from Instance() = %+v, %v", describe(f), in, full, err)
		}
	}
	if want == nil {
		want = []string{}
	}
	if !slices.Equal(ids, want) || n != int64(total) {
		t.Errorf("InstancePage(%s, Offset %d, Limit %d) = %q, %d; want %q, %d", describe(f), f.Offset, f.Limit, ids, n, want, total)
	}
}

// describe renders a filter legibly (pointers dereferenced).
func describe(f moat.InstanceFilter) string {
	var b strings.Builder
	fmt.Fprintf(&b, "{Account %s Region %s", f.AccountID, f.Region)
	if f.IDs != nil {
		fmt.Fprintf(&b, " IDs %q", f.IDs)
	}
	if f.IP != "" {
		fmt.Fprintf(&b, " IP %q", f.IP)
	}
	if f.RemarkContains != "" {
		fmt.Fprintf(&b, " RemarkContains %q", f.RemarkContains)
	}
	if f.Edition != nil {
		fmt.Fprintf(&b, " Edition %d", *f.Edition)
	}
	if f.ExpireFrom != nil {
		fmt.Fprintf(&b, " ExpireFrom %v", *f.ExpireFrom)
	}
	if f.ExpireBefore != nil {
		fmt.Fprintf(&b, " ExpireBefore %v", *f.ExpireBefore)
	}
	if f.ResourceGroupID != "" {
		fmt.Fprintf(&b, " ResourceGroupID %q", f.ResourceGroupID)
	}
	if len(f.Tags) > 0 {
		fmt.Fprintf(&b, " Tags %+v", f.Tags)
	}
	if f.CreateFrom != nil {
		fmt.Fprintf(&b, " CreateFrom %v", *f.CreateFrom)
	}
	if f.CreateBefore != nil {
		fmt.Fprintf(&b, " CreateBefore %v", *f.CreateBefore)
	}
	if f.RenewalStatus != "" {
		fmt.Fprintf(&b, " RenewalStatus %q", f.RenewalStatus)
	}
	if f.ProductType != "" {
		fmt.Fprintf(&b, " ProductType %q", f.ProductType)
	}
	if f.Offset != 0 || f.Limit != 0 {
		fmt.Fprintf(&b, " Offset %d Limit %d", f.Offset, f.Limit)
	}
	b.WriteString("}")
	return b.String()
}

type ownerKey struct {
	account string
	region  moat.Region
}

func owner(account string, region moat.Region) moat.InstanceFilter {
	return moat.InstanceFilter{AccountID: account, Region: region}
}

func events(t *testing.T, s moat.Store, f moat.EventFilter) []moat.Event {
	t.Helper()
	evs, err := s.Events(t.Context(), f)
	if err != nil {
		t.Fatalf("Events(%+v): %v", f, err)
	}
	return evs
}

func seqs(evs []moat.Event) []int64 {
	out := make([]int64, len(evs))
	for i, e := range evs {
		out[i] = e.Seq
	}
	return out
}

func wantSetting(t *testing.T, s moat.Store, key, want string) {
	t.Helper()
	got, err := s.Setting(t.Context(), key)
	if err != nil || got != want {
		t.Errorf("Reader.Setting(%q) = %q, %v; want %q", key, got, err, want)
	}
}

func wantNoSetting(t *testing.T, s moat.Store, key string) {
	t.Helper()
	if got, err := s.Setting(t.Context(), key); !errors.Is(err, moat.ErrNotFound) {
		t.Errorf("Reader.Setting(%q) = %q, %v; want ErrNotFound", key, got, err)
	}
}

func wantAccount(t *testing.T, s moat.Store, id string) {
	t.Helper()
	if a, err := s.Account(t.Context(), id); err != nil || a.ID != id {
		t.Errorf("Reader.Account(%s) = %+v, %v; want the account", id, a, err)
	}
}

func wantNoAccount(t *testing.T, s moat.Store, id string) {
	t.Helper()
	if a, err := s.Account(t.Context(), id); !errors.Is(err, moat.ErrNotFound) {
		t.Errorf("Reader.Account(%s) = %+v, %v; want ErrNotFound", id, a, err)
	}
}

// nonceFresh records the nonce and reports whether it was fresh.
func nonceFresh(t *testing.T, s moat.Store, key, nonce string, expires time.Time) bool {
	t.Helper()
	fresh, err := s.UseNonce(t.Context(), key, nonce, expires)
	if err != nil {
		t.Fatalf("UseNonce(%s, %s): %v", key, nonce, err)
	}
	return fresh
}
