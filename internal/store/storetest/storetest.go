// Package storetest is the conformance suite of moat.Store. Every store
// implementation (SQLite today, PostgreSQL later) runs the same suite from
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
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"moat/internal/moat"
)

// Run runs the conformance suite. open must return a fresh, empty, migrated
// store for the subtest it is given, and arrange its closing (t.Cleanup).
// testHardeningScanNestedDeeperThanPool pins what lets an unpaged listing
// stream without starving other readers: ScanInstances takes a read
// connection only while it reads a batch, never while fn runs. Scans
// nested deeper than any store's read pool (SQLite 4, PostgreSQL 16 by
// default) each pause inside fn while the next one runs; a store that kept
// a connection across fn would wait for one that never comes back, and
// fail when the deadline passes.
func testHardeningScanNestedDeeperThanPool(t *testing.T, s moat.Store) {
	const depth, n = 20, 5
	var want []string
	for i := range n {
		id := fmt.Sprintf("ddoscoo-cn-nest%02d", i)
		insert(t, s, inst(id, acctA, mainl, fmt.Sprintf("100.64.1.%d", i+1), at(time.Hour)))
		want = append(want, id)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	var scan func(level int) ([]string, error)
	scan = func(level int) ([]string, error) {
		var ids []string
		err := s.ScanInstances(ctx, owner(acctA, mainl), 1, func(list []moat.Instance) error {
			if len(ids) == 0 && level < depth {
				inner, err := scan(level + 1)
				if err != nil {
					return err
				}
				if !slices.Equal(inner, want) {
					return fmt.Errorf("level %d: %q, want %q", level+1, inner, want)
				}
			}
			for _, in := range list {
				ids = append(ids, in.ID)
			}
			return nil
		})
		return ids, err
	}
	got, err := scan(1)
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("ScanInstances nested %d deep: %q, %v; want %q at every level", depth, got, err, want)
	}
}

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

	{"Audit/ResourceCount round-trips beside the kept Resources", testAuditResourceCount},
	{"Audit/TrimAudit forgets the oldest records beyond the newest keep, max at a time", testAuditTrim},
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

// ---- Update ----

func testUpdateCommits(t *testing.T, s moat.Store) {
	in := inst("ddoscoo-cn-commit0001", acctA, mainl, "100.64.0.1", at(time.Hour))
	var ev moat.Event
	err := s.Update(t.Context(), func(tx moat.Tx) error {
		if err := tx.InsertAccount(moat.Account{ID: acctA, CreatedAt: base}); err != nil {
			return err
		}
		if err := tx.InsertInstance(&in); err != nil {
			return err
		}
		ev = moat.Event{Time: base, RecordedAt: base, InstanceID: in.ID, AccountID: acctA, Region: mainl, Type: moat.EventCreated}
		if err := tx.AppendEvent(&ev); err != nil {
			return err
		}
		return tx.SetSetting("k", "v")
	})
	if err != nil {
		t.Fatalf("Update = %v, want nil", err)
	}
	wantAccount(t, s, acctA)
	wantInstance(t, s, in)
	wantSetting(t, s, "k", "v")
	if got := seqs(events(t, s, moat.EventFilter{})); !slices.Equal(got, []int64{ev.Seq}) {
		t.Errorf("Events = seqs %v, want [%d]", got, ev.Seq)
	}
	if n := count(t, s, owner(acctA, mainl)); n != 1 {
		t.Errorf("CountInstances = %d, want 1", n)
	}
}

func testUpdateReadsOwnWrites(t *testing.T, s moat.Store) {
	in := inst("ddoscoo-cn-ownwrite01", acctA, mainl, "100.64.0.1", at(time.Hour))
	update(t, s, func(tx moat.Tx) error {
		if err := tx.InsertAccount(moat.Account{ID: acctA, CreatedAt: base}); err != nil {
			return err
		}
		if a, err := tx.Account(acctA); err != nil || a.ID != acctA {
			t.Errorf("Tx.Account after InsertAccount = %+v, %v", a, err)
		}
		if err := tx.InsertInstance(&in); err != nil {
			return err
		}
		if got, err := tx.Instance(in.ID); err != nil {
			t.Errorf("Tx.Instance after InsertInstance: %v", err)
		} else if d := diffInstance(got, in); d != "" {
			t.Errorf("Tx.Instance after InsertInstance: %s", d)
		}
		if used, err := tx.IPInUse(mainl, in.IP); err != nil || !used {
			t.Errorf("Tx.IPInUse after InsertInstance = %v, %v; want true", used, err)
		}
		if err := tx.SetSetting("k", "v1"); err != nil {
			return err
		}
		if v, err := tx.Setting("k"); err != nil || v != "v1" {
			t.Errorf("Tx.Setting after SetSetting = %q, %v; want v1", v, err)
		}
		return nil
	})
}

func testUpdateIsolation(t *testing.T, s moat.Store) {
	inside := make(chan struct{})
	release := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- s.Update(context.Background(), func(tx moat.Tx) error {
			if err := tx.SetSetting("pending", "x"); err != nil {
				return err
			}
			if err := tx.InsertAccount(moat.Account{ID: acctA, CreatedAt: base}); err != nil {
				return err
			}
			close(inside)
			<-release
			return nil
		})
	}()
	select {
	case <-inside:
	case err := <-done:
		t.Fatalf("Update returned %v before its fn blocked", err)
	}
	wantNoSetting(t, s, "pending")
	wantNoAccount(t, s, acctA)
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("Update = %v", err)
	}
	wantSetting(t, s, "pending", "x")
	wantAccount(t, s, acctA)
}

type customError struct{ n int }

func (e *customError) Error() string { return fmt.Sprintf("custom error %d", e.n) }

func testUpdateErrorRollsBack(t *testing.T, s moat.Store) {
	// Something committed before, which the failed call modifies.
	update(t, s, func(tx moat.Tx) error {
		if err := tx.SetSetting("keep", "old"); err != nil {
			return err
		}
		return tx.InsertAccessKey(moat.AccessKey{ID: "LTAIkeep", Secret: "s1", AccountID: acctA, Active: true, CreatedAt: base})
	})
	before := events(t, s, moat.EventFilter{})

	sentinel := errors.New("fn failed on purpose")
	custom := &customError{n: 7}
	for _, want := range []error{sentinel, custom, moat.Errorf(moat.CodeInstanceNotFound, "nope")} {
		in := inst("ddoscoo-cn-rollback01", acctA, mainl, "100.64.0.9", at(time.Hour))
		err := s.Update(t.Context(), func(tx moat.Tx) error {
			steps := []func() error{
				func() error { return tx.InsertAccount(moat.Account{ID: acctA, CreatedAt: base}) },
				func() error { return tx.InsertInstance(&in) },
				func() error { return tx.SetTags(in.ID, []moat.Tag{{Key: "env", Value: "prod"}}) },
				func() error {
					return tx.AppendEvent(&moat.Event{Time: base, RecordedAt: base, InstanceID: in.ID, AccountID: acctA, Region: mainl, Type: moat.EventCreated})
				},
				func() error { return tx.SetSetting("keep", "new") },
				func() error { return tx.SetSetting("fresh", "x") },
				func() error {
					return tx.UpdateAccessKey(moat.AccessKey{ID: "LTAIkeep", Secret: "s2", AccountID: acctA, Active: false})
				},
				func() error {
					return tx.InsertTombstone(moat.Tombstone{InstanceID: "gone", AccountID: acctA, Region: mainl, ReleasedAt: base})
				},
				func() error { return tx.PushFreeIP(mainl, 42) },
				func() error { return tx.SetIPCursor(mainl, "pool", 9) },
			}
			for i, step := range steps {
				if err := step(); err != nil {
					return fmt.Errorf("step %d: %w", i, err)
				}
			}
			return want
		})
		if !errors.Is(err, want) {
			t.Fatalf("Update = %v, want the error fn returned (%v)", err, want)
		}
		var ce *customError
		if want == custom && (!errors.As(err, &ce) || ce != custom) {
			t.Errorf("Update returned %#v, want the same *customError value", err)
		}

		wantNoAccount(t, s, acctA)
		wantNoInstance(t, s, in.ID)
		wantSetting(t, s, "keep", "old")
		wantNoSetting(t, s, "fresh")
		if k, err := s.AccessKey(t.Context(), "LTAIkeep"); err != nil || k.Secret != "s1" || !k.Active {
			t.Errorf("Reader.AccessKey = %+v, %v; want the committed secret s1, active", k, err)
		}
		if _, err := s.Tombstone(t.Context(), "gone"); !errors.Is(err, moat.ErrNotFound) {
			t.Errorf("Reader.Tombstone = %v; want ErrNotFound", err)
		}
		if got := events(t, s, moat.EventFilter{}); len(got) != len(before) {
			t.Errorf("Events after failed Update: %d, want %d", len(got), len(before))
		}
		if n := count(t, s, owner(acctA, mainl)); n != 0 {
			t.Errorf("unfiltered CountInstances = %d, want 0", n)
		}
		checkFilter(t, s, moat.InstanceFilter{AccountID: acctA, Region: mainl, Tags: []moat.TagFilter{{Key: "env"}}})
		check := errors.New("discard the nonce again")
		err = s.Update(t.Context(), func(tx moat.Tx) error {
			if ip, ok, err := tx.PopFreeIP(mainl, 0, 1000); err != nil || ok {
				t.Errorf("PopFreeIP = %d, %v, %v; want none (the push was rolled back)", ip, ok, err)
			}
			if c, err := tx.IPCursor(mainl, "pool"); err != nil || c != 0 {
				t.Errorf("IPCursor = %d, %v; want 0", c, err)
			}
			if ok, err := tx.IPInUse(mainl, in.IP); err != nil || ok {
				t.Errorf("IPInUse(%s) = %v, %v; want false", in.IP, ok, err)
			}
			if ok, err := tx.TombstoneExists("gone"); err != nil || ok {
				t.Errorf("TombstoneExists = %v, %v; want false", ok, err)
			}
			return check
		})
		if !errors.Is(err, check) {
			t.Fatalf("checking Update = %v, want %v", err, check)
		}
	}
}

func testUpdatePanic(t *testing.T, s moat.Store) {
	var err error
	func() {
		defer func() {
			if r := recover(); r != nil {
				t.Fatalf("Update let the panic through: %v", r)
			}
		}()
		err = s.Update(t.Context(), func(tx moat.Tx) error {
			if err := tx.SetSetting("k", "from the panicking call"); err != nil {
				return err
			}
			if err := tx.InsertAccount(moat.Account{ID: acctA, CreatedAt: base}); err != nil {
				return err
			}
			panic("boom")
		})
	}()
	if err == nil {
		t.Fatal("Update with a panicking fn returned nil")
	}
	wantNoSetting(t, s, "k")
	wantNoAccount(t, s, acctA)

	// The store keeps working, for writes and reads.
	update(t, s, func(tx moat.Tx) error { return tx.SetSetting("k", "after") })
	wantSetting(t, s, "k", "after")
	// A second panic is survived as well.
	if err := s.Update(t.Context(), func(tx moat.Tx) error { panic(errors.New("boom again")) }); err == nil {
		t.Fatal("second panicking Update returned nil")
	}
	update(t, s, func(tx moat.Tx) error { return tx.InsertAccount(moat.Account{ID: acctB, CreatedAt: base}) })
	wantAccount(t, s, acctB)
	wantSetting(t, s, "k", "after")
}

func testUpdateCancelled(t *testing.T, s moat.Store) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := s.Update(ctx, func(tx moat.Tx) error { return tx.SetSetting("k", "v") })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Update with a cancelled context = %v, want context.Canceled", err)
	}
	wantNoSetting(t, s, "k")
	update(t, s, func(tx moat.Tx) error { return tx.SetSetting("k", "later") })
	wantSetting(t, s, "k", "later")
}

func testUpdateConflictRecovers(t *testing.T, s moat.Store) {
	first := inst("ddoscoo-cn-conflict01", acctA, mainl, "100.64.0.1", at(time.Hour))
	insert(t, s, first)
	update(t, s, func(tx moat.Tx) error { return tx.InsertAccount(moat.Account{ID: acctA, CreatedAt: base}) })

	second := inst("ddoscoo-cn-conflict02", acctA, mainl, "100.64.0.2", at(2*time.Hour))
	update(t, s, func(tx moat.Tx) error {
		// A write before the conflicts must survive them.
		if err := tx.SetSetting("before", "1"); err != nil {
			return err
		}
		if err := tx.SetIPCursor(mainl, "pool", 5); err != nil {
			return err
		}
		dupID := inst(first.ID, acctA, mainl, "100.64.0.3", at(time.Hour))
		if err := tx.InsertInstance(&dupID); !errors.Is(err, moat.ErrConflict) {
			t.Errorf("InsertInstance(duplicate ID) = %v, want ErrConflict", err)
		}
		dupIP := inst("ddoscoo-cn-conflict03", acctA, mainl, first.IP, at(time.Hour))
		if err := tx.InsertInstance(&dupIP); !errors.Is(err, moat.ErrConflict) {
			t.Errorf("InsertInstance(duplicate IP) = %v, want ErrConflict", err)
		}
		if err := tx.InsertAccount(moat.Account{ID: acctA, CreatedAt: base}); !errors.Is(err, moat.ErrConflict) {
			t.Errorf("InsertAccount(duplicate) = %v, want ErrConflict", err)
		}
		// The transaction goes on as if the failed inserts never happened.
		if err := tx.InsertInstance(&second); err != nil {
			return err
		}
		return tx.SetSetting("after", "2")
	})
	wantSetting(t, s, "before", "1")
	wantSetting(t, s, "after", "2")
	wantInstance(t, s, first)
	wantInstance(t, s, second)
	wantNoInstance(t, s, "ddoscoo-cn-conflict03")
	checkFilter(t, s, owner(acctA, mainl), first.ID, second.ID)
	if n := count(t, s, owner(acctA, mainl)); n != 2 {
		t.Errorf("unfiltered CountInstances = %d, want 2", n)
	}
	update(t, s, func(tx moat.Tx) error {
		if c, err := tx.IPCursor(mainl, "pool"); err != nil || c != 5 {
			t.Errorf("IPCursor = %d, %v; want 5", c, err)
		}
		return nil
	})
}

func testUpdateConcurrent(t *testing.T, s moat.Store) {
	const n = 200
	type outcome int
	const (
		succeed outcome = iota
		fail
		panics
	)
	kind := func(i int) outcome {
		switch {
		case i%5 == 0:
			return panics
		case i%3 == 0:
			return fail
		}
		return succeed
	}
	update(t, s, func(tx moat.Tx) error { return tx.InsertAccount(moat.Account{ID: "shared", CreatedAt: base}) })

	errs := make([]error, n)
	wantErrs := make([]error, n)
	for i := range wantErrs {
		wantErrs[i] = fmt.Errorf("op %d fails on purpose", i)
	}
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			region := moat.Regions[i%2]
			acct := fmt.Sprintf("acct-%03d", i%4)
			errs[i] = s.Update(context.Background(), func(tx moat.Tx) error {
				in := inst(fmt.Sprintf("i-%03d", i), acct, region, fmt.Sprintf("10.0.%d.%d", i/256, i%256), at(time.Duration(i)*time.Minute))
				if err := tx.InsertInstance(&in); err != nil {
					return err
				}
				if err := tx.SetTags(in.ID, []moat.Tag{{Key: "op", Value: fmt.Sprint(i)}}); err != nil {
					return err
				}
				if err := tx.AppendEvent(&moat.Event{Time: base, RecordedAt: base, InstanceID: in.ID, AccountID: acct, Region: region, Type: moat.EventCreated}); err != nil {
					return err
				}
				if err := tx.SetSetting(fmt.Sprintf("op-%03d", i), fmt.Sprint(i)); err != nil {
					return err
				}
				// A conflict inside a call that then succeeds must not
				// disturb it or its neighbours in a shared commit.
				if err := tx.InsertAccount(moat.Account{ID: "shared", CreatedAt: base}); !errors.Is(err, moat.ErrConflict) {
					return fmt.Errorf("InsertAccount(shared) = %v, want ErrConflict", err)
				}
				switch kind(i) {
				case fail:
					return wantErrs[i]
				case panics:
					panic(fmt.Sprintf("op %d panics on purpose", i))
				}
				return nil
			})
		}()
	}
	close(start)
	wg.Wait()

	var ok []string
	counts := map[ownerKey]int64{}
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("i-%03d", i)
		key := fmt.Sprintf("op-%03d", i)
		switch kind(i) {
		case succeed:
			if errs[i] != nil {
				t.Errorf("op %d: Update = %v, want nil", i, errs[i])
				continue
			}
			ok = append(ok, id)
			counts[ownerKey{fmt.Sprintf("acct-%03d", i%4), moat.Regions[i%2]}]++
			readInstance(t, s, id)
			wantSetting(t, s, key, fmt.Sprint(i))
		case fail:
			if !errors.Is(errs[i], wantErrs[i]) {
				t.Errorf("op %d: Update = %v, want its own error %v", i, errs[i], wantErrs[i])
			}
			wantNoInstance(t, s, id)
			wantNoSetting(t, s, key)
		case panics:
			if errs[i] == nil {
				t.Errorf("op %d panicked but Update returned nil", i)
			}
			wantNoInstance(t, s, id)
			wantNoSetting(t, s, key)
		}
		// Tags follow their instance.
		tagged := list(t, s, moat.InstanceFilter{AccountID: fmt.Sprintf("acct-%03d", i%4), Region: moat.Regions[i%2],
			Tags: []moat.TagFilter{{Key: "op", Value: fmt.Sprint(i), HasValue: true}}})
		if want := kind(i) == succeed && errs[i] == nil; (len(tagged) == 1) != want || len(tagged) > 1 {
			t.Errorf("op %d: tag filter lists %q, want the instance only if the op succeeded (%v)", i, tagged, want)
		}
	}
	var total int64
	for _, acct := range []string{"acct-000", "acct-001", "acct-002", "acct-003"} {
		for _, r := range moat.Regions {
			f := owner(acct, r)
			if got, want := count(t, s, f), counts[ownerKey{acct, r}]; got != want {
				t.Errorf("unfiltered CountInstances(%s, %s) = %d, want %d", acct, r, got, want)
			}
			total += int64(len(list(t, s, f)))
		}
	}
	if total != int64(len(ok)) {
		t.Errorf("listings hold %d instances, want %d", total, len(ok))
	}
	evs := events(t, s, moat.EventFilter{})
	var evIDs []string
	for i, e := range evs {
		evIDs = append(evIDs, e.InstanceID)
		if i > 0 && e.Seq <= evs[i-1].Seq {
			t.Errorf("event seqs not increasing: %d after %d", e.Seq, evs[i-1].Seq)
		}
	}
	slices.Sort(evIDs)
	if !slices.Equal(evIDs, ok) {
		t.Errorf("events are for %q, want exactly the successful ops %q", evIDs, ok)
	}
}

// ---- Nonces ----

func testNonceFreshThenUsed(t *testing.T, s moat.Store) {
	if !nonceFresh(t, s, "LTAIa", "n1", at(time.Hour)) {
		t.Fatal("first UseNonce = false, want true")
	}
	if nonceFresh(t, s, "LTAIa", "n1", at(2*time.Hour)) {
		t.Error("second UseNonce = true, want false")
	}
}

// testNonceConcurrent: of many simultaneous uses of one nonce exactly one
// is fresh, and concurrent distinct nonces are all fresh.
func testNonceConcurrent(t *testing.T, s moat.Store) {
	const n = 64
	var wg sync.WaitGroup
	var fresh, freshDistinct atomic.Int64
	errs := make(chan error, 2*n)
	for i := 0; i < n; i++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			ok, err := s.UseNonce(context.Background(), "LTAIc", "same", at(time.Hour))
			if err != nil {
				errs <- err
			}
			if ok {
				fresh.Add(1)
			}
		}()
		go func() {
			defer wg.Done()
			ok, err := s.UseNonce(context.Background(), "LTAIc", fmt.Sprint("d", i), at(time.Hour))
			if err != nil {
				errs <- err
			}
			if ok {
				freshDistinct.Add(1)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("UseNonce: %v", err)
	}
	if fresh.Load() != 1 || freshDistinct.Load() != n {
		t.Errorf("fresh: %d of %d uses of one nonce (want 1), %d of %d distinct (want all)", fresh.Load(), n, freshDistinct.Load(), n)
	}
}

func testNonceIndependent(t *testing.T, s moat.Store) {
	if !nonceFresh(t, s, "LTAIa", "n", at(time.Hour)) {
		t.Fatal("UseNonce(a, n) = false, want true")
	}
	if !nonceFresh(t, s, "LTAIb", "n", at(time.Hour)) {
		t.Error("UseNonce(b, n) = false, want true: keys are independent")
	}
	if !nonceFresh(t, s, "LTAIa", "m", at(time.Hour)) {
		t.Error("UseNonce(a, m) = false, want true")
	}
	// Pairs that concatenate alike are still different.
	if !nonceFresh(t, s, "LTAIa", "bn", at(time.Hour)) || !nonceFresh(t, s, "LTAIab", "n", at(time.Hour)) {
		t.Error("UseNonce(a, bn) / (ab, n) not both fresh")
	}
	for _, p := range [][2]string{{"LTAIa", "n"}, {"LTAIb", "n"}, {"LTAIa", "m"}} {
		if nonceFresh(t, s, p[0], p[1], at(time.Hour)) {
			t.Errorf("UseNonce(%s, %s) again = true, want false", p[0], p[1])
		}
	}
}

func testNonceDeleteExpired(t *testing.T, s moat.Store) {
	expired := []string{"e1", "e2", "e3", "e4", "e5"}
	live := []string{"l1", "l2", "l3"}
	for i, n := range expired {
		nonceFresh(t, s, "LTAIa", n, at(-time.Duration(i+1)*time.Minute))
	}
	for i, n := range live {
		nonceFresh(t, s, "LTAIb", n, at(time.Duration(i+1)*time.Minute))
	}
	del := func(limit int) int {
		t.Helper()
		n, err := s.PurgeNonces(t.Context(), base, limit)
		if err != nil {
			t.Fatalf("PurgeNonces: %v", err)
		}
		return n
	}
	if got := del(2); got != 2 {
		t.Errorf("PurgeNonces(limit 2) = %d, want 2", got)
	}
	if got := del(2); got != 2 {
		t.Errorf("second PurgeNonces(limit 2) = %d, want 2", got)
	}
	if got := del(10); got != 1 {
		t.Errorf("third PurgeNonces(limit 10) = %d, want 1", got)
	}
	if got := del(10); got != 0 {
		t.Errorf("PurgeNonces with nothing expired = %d, want 0", got)
	}
	for _, n := range live {
		if nonceFresh(t, s, "LTAIb", n, at(time.Hour)) {
			t.Errorf("unexpired nonce %s was forgotten", n)
		}
	}
	for _, n := range expired {
		if !nonceFresh(t, s, "LTAIa", n, at(time.Hour)) {
			t.Errorf("deleted nonce %s is not fresh again", n)
		}
	}
	// Later, the live ones expire too.
	got, err := s.PurgeNonces(t.Context(), at(10*time.Minute), 100)
	if err != nil {
		t.Fatal(err)
	}
	if got != len(live) {
		t.Errorf("PurgeNonces(base+10m) = %d, want %d", got, len(live))
	}
}

// ---- Accounts and access keys ----

func testAccountRoundTrip(t *testing.T, s moat.Store) {
	created := at(-24 * time.Hour).In(east)
	update(t, s, func(tx moat.Tx) error {
		if err := tx.InsertAccount(moat.Account{ID: acctA, CreatedAt: created}); err != nil {
			return err
		}
		return tx.InsertAccount(moat.Account{ID: acctB, CreatedAt: base})
	})
	// check may run inside fn, so it must not call t.Fatal.
	check := func(how string, a moat.Account, err error, id string, want time.Time) {
		t.Helper()
		if err != nil {
			t.Errorf("%s.Account(%s): %v", how, id, err)
			return
		}
		if a.ID != id {
			t.Errorf("%s.Account(%s).ID = %q", how, id, a.ID)
		}
		if d := checkTime("CreatedAt", a.CreatedAt, want); d != "" {
			t.Errorf("%s.Account(%s): %s", how, id, d)
		}
	}
	a, err := s.Account(t.Context(), acctA)
	check("Reader", a, err, acctA, created)
	b, err := s.Account(t.Context(), acctB)
	check("Reader", b, err, acctB, base)
	update(t, s, func(tx moat.Tx) error {
		a, err := tx.Account(acctA)
		check("Tx", a, err, acctA, created)
		b, err := tx.Account(acctB)
		check("Tx", b, err, acctB, base)
		return nil
	})
}

func testAccountConflict(t *testing.T, s moat.Store) {
	update(t, s, func(tx moat.Tx) error { return tx.InsertAccount(moat.Account{ID: acctA, CreatedAt: base}) })
	err := s.Update(t.Context(), func(tx moat.Tx) error {
		return tx.InsertAccount(moat.Account{ID: acctA, CreatedAt: at(time.Hour)})
	})
	if !errors.Is(err, moat.ErrConflict) {
		t.Fatalf("InsertAccount(duplicate) = %v, want ErrConflict", err)
	}
	a, err := s.Account(t.Context(), acctA)
	if err != nil || !a.CreatedAt.Equal(base) {
		t.Errorf("Account after failed duplicate = %+v, %v; want the first one (CreatedAt %v)", a, err, base)
	}
}

func testAccountNotFound(t *testing.T, s moat.Store) {
	update(t, s, func(tx moat.Tx) error { return tx.InsertAccount(moat.Account{ID: acctA, CreatedAt: base}) })
	wantNoAccount(t, s, acctB)
	update(t, s, func(tx moat.Tx) error {
		if a, err := tx.Account(acctB); !errors.Is(err, moat.ErrNotFound) {
			t.Errorf("Tx.Account(missing) = %+v, %v; want ErrNotFound", a, err)
		}
		return nil
	})
}

// checkKey may run inside fn, so it must not call t.Fatal.
func checkKey(t *testing.T, how string, got moat.AccessKey, err error, want moat.AccessKey) {
	t.Helper()
	if err != nil {
		t.Errorf("%s.AccessKey(%s): %v", how, want.ID, err)
		return
	}
	if got.ID != want.ID || got.Secret != want.Secret || got.AccountID != want.AccountID || got.Active != want.Active {
		t.Errorf("%s.AccessKey(%s) = %+v, want %+v", how, want.ID, got, want)
	}
	if d := checkTime("CreatedAt", got.CreatedAt, want.CreatedAt); d != "" {
		t.Errorf("%s.AccessKey(%s): %s", how, want.ID, d)
	}
}

func testAccessKeyRoundTrip(t *testing.T, s moat.Store) {
	k1 := moat.AccessKey{ID: "LTAIactive", Secret: "secret-1/+=", AccountID: acctA, Active: true, CreatedAt: at(-time.Minute).In(east)}
	k2 := moat.AccessKey{ID: "LTAIinactive", Secret: "secret-2", AccountID: acctB, Active: false, CreatedAt: base}
	update(t, s, func(tx moat.Tx) error {
		if err := tx.InsertAccessKey(k1); err != nil {
			return err
		}
		return tx.InsertAccessKey(k2)
	})
	for _, k := range []moat.AccessKey{k1, k2} {
		got, err := s.AccessKey(t.Context(), k.ID)
		checkKey(t, "Reader", got, err, k)
	}
	update(t, s, func(tx moat.Tx) error {
		for _, k := range []moat.AccessKey{k1, k2} {
			got, err := tx.AccessKey(k.ID)
			checkKey(t, "Tx", got, err, k)
		}
		return nil
	})
}

func testRevokedKeys(t *testing.T, s moat.Store) {
	first := moat.RevokedKey{ID: "LTAIrevoked", AccountID: acctA, RevokedAt: at(-time.Hour)}
	update(t, s, func(tx moat.Tx) error {
		if _, err := tx.RevokedKey(first.ID); !errors.Is(err, moat.ErrNotFound) {
			t.Errorf("RevokedKey before any record = %v, want ErrNotFound", err)
		}
		if err := tx.InsertRevokedKey(first); err != nil {
			return err
		}
		// A second record of the same ID keeps the first.
		return tx.InsertRevokedKey(moat.RevokedKey{ID: first.ID, AccountID: acctB, RevokedAt: base})
	})
	update(t, s, func(tx moat.Tx) error {
		got, err := tx.RevokedKey(first.ID)
		if err != nil || got.ID != first.ID || got.AccountID != acctA || !got.RevokedAt.Equal(first.RevokedAt) {
			t.Errorf("RevokedKey = %+v, %v; want %+v", got, err, first)
		}
		if _, err := tx.RevokedKey("LTAIrevoked2"); !errors.Is(err, moat.ErrNotFound) {
			t.Errorf("RevokedKey of another ID = %v, want ErrNotFound", err)
		}
		return nil
	})
}

func testAccessKeyConflict(t *testing.T, s moat.Store) {
	k := moat.AccessKey{ID: "LTAIdup", Secret: "first", AccountID: acctA, Active: true, CreatedAt: base}
	update(t, s, func(tx moat.Tx) error { return tx.InsertAccessKey(k) })
	err := s.Update(t.Context(), func(tx moat.Tx) error {
		return tx.InsertAccessKey(moat.AccessKey{ID: k.ID, Secret: "second", AccountID: acctB, Active: false, CreatedAt: base})
	})
	if !errors.Is(err, moat.ErrConflict) {
		t.Fatalf("InsertAccessKey(duplicate) = %v, want ErrConflict", err)
	}
	got, err := s.AccessKey(t.Context(), k.ID)
	checkKey(t, "Reader", got, err, k)
}

func testAccessKeyUpdate(t *testing.T, s moat.Store) {
	k := moat.AccessKey{ID: "LTAIupd", Secret: "old", AccountID: acctA, Active: true, CreatedAt: base}
	other := moat.AccessKey{ID: "LTAIother", Secret: "other", AccountID: acctA, Active: true, CreatedAt: base}
	update(t, s, func(tx moat.Tx) error {
		if err := tx.InsertAccessKey(k); err != nil {
			return err
		}
		return tx.InsertAccessKey(other)
	})
	k.Secret, k.Active = "new", false
	update(t, s, func(tx moat.Tx) error { return tx.UpdateAccessKey(k) })
	got, err := s.AccessKey(t.Context(), k.ID)
	checkKey(t, "Reader", got, err, k)
	got, err = s.AccessKey(t.Context(), other.ID)
	checkKey(t, "Reader", got, err, other)

	k.Active = true
	update(t, s, func(tx moat.Tx) error {
		if err := tx.UpdateAccessKey(k); err != nil {
			return err
		}
		got, err := tx.AccessKey(k.ID)
		checkKey(t, "Tx", got, err, k)
		return nil
	})
	got, err = s.AccessKey(t.Context(), k.ID)
	checkKey(t, "Reader", got, err, k)
}

func testAccessKeyNotFound(t *testing.T, s moat.Store) {
	if k, err := s.AccessKey(t.Context(), "LTAInone"); !errors.Is(err, moat.ErrNotFound) {
		t.Errorf("Reader.AccessKey(missing) = %+v, %v; want ErrNotFound", k, err)
	}
	update(t, s, func(tx moat.Tx) error {
		if k, err := tx.AccessKey("LTAInone"); !errors.Is(err, moat.ErrNotFound) {
			t.Errorf("Tx.AccessKey(missing) = %+v, %v; want ErrNotFound", k, err)
		}
		return nil
	})
	err := s.Update(t.Context(), func(tx moat.Tx) error {
		return tx.UpdateAccessKey(moat.AccessKey{ID: "LTAInone", Secret: "x", AccountID: acctA, Active: true, CreatedAt: base})
	})
	if !errors.Is(err, moat.ErrNotFound) {
		t.Errorf("UpdateAccessKey(missing) = %v, want ErrNotFound", err)
	}
	if k, err := s.AccessKey(t.Context(), "LTAInone"); !errors.Is(err, moat.ErrNotFound) {
		t.Errorf("UpdateAccessKey(missing) created %+v, %v", k, err)
	}
}

func testDeleteExpiredSTSKeys(t *testing.T, s moat.Store) {
	perm := moat.AccessKey{ID: "LTAIperm", Secret: "p", AccountID: acctA, Active: true, CreatedAt: base}
	user := moat.AccessKey{ID: "LTAIuser", Secret: "u", AccountID: acctA, UserName: "ops", Active: true, CreatedAt: base}
	sts := func(id string, exp time.Duration) moat.AccessKey {
		return moat.AccessKey{ID: id, Secret: "s", AccountID: acctA, UserName: "ops", Active: true, CreatedAt: base,
			TokenHash: "hash-" + id, Expires: at(exp)}
	}
	keys := []moat.AccessKey{perm, user, sts("STS.old", -3*time.Hour), sts("STS.older", -4*time.Hour),
		sts("STS.oldest", -5*time.Hour), sts("STS.edge", 0), sts("STS.live", time.Hour)}
	update(t, s, func(tx moat.Tx) error {
		for _, k := range keys {
			if err := tx.InsertAccessKey(k); err != nil {
				return err
			}
		}
		return nil
	})
	purge := func(max int) int {
		var n int
		update(t, s, func(tx moat.Tx) error {
			var err error
			n, err = tx.DeleteExpiredSTSKeys(base, max)
			return err
		})
		return n
	}
	if n := purge(2); n != 2 {
		t.Fatalf("DeleteExpiredSTSKeys(max 2) = %d, want 2", n)
	}
	for _, id := range []string{"STS.oldest", "STS.older"} {
		if _, err := s.AccessKey(t.Context(), id); !errors.Is(err, moat.ErrNotFound) {
			t.Errorf("after the first purge AccessKey(%s) = %v, want ErrNotFound (the earliest expiries go first)", id, err)
		}
	}
	if n := purge(0); n != 1 {
		t.Fatalf("DeleteExpiredSTSKeys(no limit) = %d, want 1 (STS.old)", n)
	}
	if n := purge(0); n != 0 {
		t.Fatalf("DeleteExpiredSTSKeys again = %d, want 0", n)
	}
	for _, k := range []moat.AccessKey{perm, user, sts("STS.edge", 0), sts("STS.live", time.Hour)} {
		got, err := s.AccessKey(t.Context(), k.ID)
		checkKey(t, "Reader", got, err, k)
	}
}

// ---- Instances ----

func testInstanceRoundTrip(t *testing.T, s moat.Store) {
	in := moat.Instance{
		ID: "ddosDip-sg-roundtrip01", AccountID: acctA, Region: overs, IP: "100.96.0.17",
		Remark: "Ünïcode remark 中文 'quoted' %_", Edition: moat.EditionSecCMA, ResourceGroupID: "rg-acfm2pz25js4",
		CreateTime: at(-48 * time.Hour).In(east), ExpireTime: at(30 * 24 * time.Hour).In(east), Phase: moat.PhaseStopped,
	}
	zero := moat.Instance{
		ID: "ddoscoo-cn-zerofields", AccountID: acctA, Region: mainl, IP: "100.64.0.1",
		CreateTime: base, ExpireTime: base, // Remark, Edition, ResourceGroupID, Phase at zero values
	}
	insert(t, s, in, zero)
	for _, want := range []moat.Instance{in, zero} {
		wantInstance(t, s, want)
	}
	update(t, s, func(tx moat.Tx) error {
		for _, want := range []moat.Instance{in, zero} {
			got, err := tx.Instance(want.ID)
			if err != nil {
				return fmt.Errorf("Tx.Instance(%s): %w", want.ID, err)
			}
			if d := diffInstance(got, want); d != "" {
				t.Errorf("Tx.Instance(%s): %s", want.ID, d)
			}
		}
		return nil
	})
	got, err := s.Instances(t.Context(), owner(acctA, overs))
	if err != nil || len(got) != 1 {
		t.Fatalf("Instances = %+v, %v; want one", got, err)
	}
	if d := diffInstance(got[0], in); d != "" {
		t.Errorf("Instances()[0]: %s", d)
	}
}

func testInstanceNotFound(t *testing.T, s moat.Store) {
	insert(t, s, inst("ddoscoo-cn-present001", acctA, mainl, "100.64.0.1", at(time.Hour)))
	wantNoInstance(t, s, "ddoscoo-cn-missing001")
	update(t, s, func(tx moat.Tx) error {
		if in, err := tx.Instance("ddoscoo-cn-missing001"); !errors.Is(err, moat.ErrNotFound) {
			t.Errorf("Tx.Instance(missing) = %+v, %v; want ErrNotFound", in, err)
		}
		return nil
	})
	missing := inst("ddoscoo-cn-missing001", acctA, mainl, "100.64.0.2", at(time.Hour))
	if err := s.Update(t.Context(), func(tx moat.Tx) error { return tx.UpdateInstance(&missing) }); !errors.Is(err, moat.ErrNotFound) {
		t.Errorf("UpdateInstance(missing) = %v, want ErrNotFound", err)
	}
	if err := s.Update(t.Context(), func(tx moat.Tx) error { return tx.DeleteInstance(missing.ID) }); !errors.Is(err, moat.ErrNotFound) {
		t.Errorf("DeleteInstance(missing) = %v, want ErrNotFound", err)
	}
	wantNoInstance(t, s, missing.ID)
	if n := count(t, s, owner(acctA, mainl)); n != 1 {
		t.Errorf("unfiltered CountInstances = %d, want 1", n)
	}
}

func testInstanceDuplicateID(t *testing.T, s moat.Store) {
	first := inst("ddoscoo-cn-dupid00001", acctA, mainl, "100.64.0.1", at(time.Hour))
	insert(t, s, first)
	for _, dup := range []moat.Instance{
		inst(first.ID, acctA, mainl, "100.64.0.2", at(2*time.Hour)),
		inst(first.ID, acctB, overs, "100.96.0.2", at(2*time.Hour)),
	} {
		if err := s.Update(t.Context(), func(tx moat.Tx) error { return tx.InsertInstance(&dup) }); !errors.Is(err, moat.ErrConflict) {
			t.Errorf("InsertInstance(duplicate ID, %s %s) = %v, want ErrConflict", dup.AccountID, dup.Region, err)
		}
	}
	wantInstance(t, s, first)
	checkFilter(t, s, owner(acctB, overs))
	if n := count(t, s, owner(acctB, overs)); n != 0 {
		t.Errorf("unfiltered CountInstances(B, overseas) = %d, want 0", n)
	}
	if n := count(t, s, owner(acctA, mainl)); n != 1 {
		t.Errorf("unfiltered CountInstances(A, mainland) = %d, want 1", n)
	}
}

func testInstanceDuplicateIP(t *testing.T, s moat.Store) {
	first := inst("ddoscoo-cn-dupip00001", acctA, mainl, "100.64.0.1", at(time.Hour))
	insert(t, s, first)
	for _, dup := range []moat.Instance{
		inst("ddoscoo-cn-dupip00002", acctA, mainl, first.IP, at(time.Hour)),
		inst("ddoscoo-cn-dupip00003", acctB, mainl, first.IP, at(time.Hour)), // another account, same region
	} {
		if err := s.Update(t.Context(), func(tx moat.Tx) error { return tx.InsertInstance(&dup) }); !errors.Is(err, moat.ErrConflict) {
			t.Errorf("InsertInstance(%s with taken IP) = %v, want ErrConflict", dup.ID, err)
		}
		wantNoInstance(t, s, dup.ID)
	}
	checkFilter(t, s, owner(acctA, mainl), first.ID)
	checkFilter(t, s, owner(acctB, mainl))
	if n := count(t, s, owner(acctB, mainl)); n != 0 {
		t.Errorf("unfiltered CountInstances(B) = %d, want 0", n)
	}
}

func testInstanceSameIPOtherRegion(t *testing.T, s moat.Store) {
	a := inst("ddoscoo-cn-sameip0001", acctA, mainl, "10.1.2.3", at(time.Hour))
	b := inst("ddosDip-sg-sameip0002", acctA, overs, "10.1.2.3", at(time.Hour))
	insert(t, s, a)
	insert(t, s, b)
	wantInstance(t, s, a)
	wantInstance(t, s, b)
	checkFilter(t, s, moat.InstanceFilter{AccountID: acctA, Region: mainl, IP: "10.1.2.3"}, a.ID)
	checkFilter(t, s, moat.InstanceFilter{AccountID: acctA, Region: overs, IP: "10.1.2.3"}, b.ID)
}

func testInstanceUpdate(t *testing.T, s moat.Store) {
	in := inst("ddosDip-sg-update0001", acctA, overs, "100.96.0.1", at(time.Hour))
	other := inst("ddosDip-sg-update0002", acctA, overs, "100.96.0.2", at(time.Hour))
	insert(t, s, in, other)

	in.Remark = "changed"
	in.Edition = moat.EditionCMA
	in.ResourceGroupID = "rg-new"
	in.ExpireTime = at(5 * time.Hour).In(east)
	in.Phase = moat.PhaseExpired
	update(t, s, func(tx moat.Tx) error {
		if err := tx.UpdateInstance(&in); err != nil {
			return err
		}
		got, err := tx.Instance(in.ID)
		if err != nil {
			return err
		}
		if d := diffInstance(got, in); d != "" {
			t.Errorf("Tx.Instance after UpdateInstance: %s", d)
		}
		return nil
	})
	wantInstance(t, s, in)
	wantInstance(t, s, other) // untouched

	// Queries follow the new values.
	f := owner(acctA, overs)
	f.Edition = ptr(moat.EditionCMA)
	checkFilter(t, s, f, in.ID)
	f = owner(acctA, overs)
	f.RemarkContains = "changed"
	checkFilter(t, s, f, in.ID)
	f = owner(acctA, overs)
	f.ResourceGroupID = "rg-new"
	checkFilter(t, s, f, in.ID)
	f = owner(acctA, overs)
	f.ExpireFrom = ptr(at(5 * time.Hour))
	checkFilter(t, s, f, in.ID)
	checkFilter(t, s, owner(acctA, overs), in.ID, other.ID) // order unchanged by updates
	if e, ok, err := s.EarliestExpiry(t.Context(), moat.PhaseExpired); err != nil || !ok || !e.Equal(at(5*time.Hour)) {
		t.Errorf("EarliestExpiry(expired) = %v, %v, %v; want %v", e, ok, err, at(5*time.Hour))
	}

	// Back again, including zero values.
	in.Remark, in.Edition, in.ResourceGroupID, in.Phase = "", moat.EditionInsurance, "", moat.PhaseActive
	update(t, s, func(tx moat.Tx) error { return tx.UpdateInstance(&in) })
	wantInstance(t, s, in)
	if _, ok, err := s.EarliestExpiry(t.Context(), moat.PhaseExpired); err != nil || ok {
		t.Errorf("EarliestExpiry(expired) after moving back = %v, %v; want none", ok, err)
	}
}

func testInstanceDelete(t *testing.T, s moat.Store) {
	in := inst("ddoscoo-cn-delete0001", acctA, mainl, "100.64.0.1", at(time.Hour))
	keep := inst("ddoscoo-cn-delete0002", acctA, mainl, "100.64.0.2", at(time.Hour))
	insert(t, s, in, keep)
	setTags(t, s, in.ID, moat.Tag{Key: "env", Value: "prod"})
	setTags(t, s, keep.ID, moat.Tag{Key: "team", Value: "x"})
	envProd := moat.InstanceFilter{AccountID: acctA, Region: mainl, Tags: []moat.TagFilter{{Key: "env", Value: "prod", HasValue: true}}}
	envAny := moat.InstanceFilter{AccountID: acctA, Region: mainl, Tags: []moat.TagFilter{{Key: "env"}}}
	checkFilter(t, s, envProd, in.ID)

	deleteInstance(t, s, in.ID)
	wantNoInstance(t, s, in.ID)
	wantInstance(t, s, keep)
	checkFilter(t, s, owner(acctA, mainl), keep.ID)
	checkFilter(t, s, envProd)
	checkFilter(t, s, envAny)
	if err := s.Update(t.Context(), func(tx moat.Tx) error { return tx.DeleteInstance(in.ID) }); !errors.Is(err, moat.ErrNotFound) {
		t.Errorf("second DeleteInstance = %v, want ErrNotFound", err)
	}
	update(t, s, func(tx moat.Tx) error {
		if used, err := tx.IPInUse(mainl, in.IP); err != nil || used {
			t.Errorf("IPInUse(deleted instance's IP) = %v, %v; want false", used, err)
		}
		return nil
	})

	// The IP can be taken again by another instance.
	again := inst("ddoscoo-cn-delete0003", acctB, mainl, in.IP, at(2*time.Hour))
	insert(t, s, again)
	wantInstance(t, s, again)

	// The tags went with the instance: the same ID inserted anew (the store
	// holds no rule against it) carries none of them.
	reborn := inst(in.ID, acctA, mainl, "100.64.0.4", at(time.Hour))
	insert(t, s, reborn)
	checkFilter(t, s, envProd)
	checkFilter(t, s, envAny)
	checkFilter(t, s, owner(acctA, mainl), keep.ID, reborn.ID)
}

func testInstanceSetTags(t *testing.T, s moat.Store) {
	a := inst("ddoscoo-cn-tags000001", acctA, mainl, "100.64.0.1", at(time.Hour))
	b := inst("ddoscoo-cn-tags000002", acctA, mainl, "100.64.0.2", at(time.Hour))
	insert(t, s, a, b)
	update(t, s, func(tx moat.Tx) error {
		return tx.SetTags(a.ID, []moat.Tag{{Key: "env", Value: "prod"}, {Key: "team", Value: ""}})
	})
	checkFilter(t, s, moat.InstanceFilter{AccountID: acctA, Region: mainl, Tags: []moat.TagFilter{{Key: "env", Value: "prod", HasValue: true}}}, a.ID)
	// An empty value is a value.
	checkFilter(t, s, moat.InstanceFilter{AccountID: acctA, Region: mainl, Tags: []moat.TagFilter{{Key: "team", Value: "", HasValue: true}}}, a.ID)
	checkFilter(t, s, moat.InstanceFilter{AccountID: acctA, Region: mainl, Tags: []moat.TagFilter{{Key: "team"}}}, a.ID)
	// An instance inserted and tagged in the same Update.
	c := inst("ddoscoo-cn-tags000003", acctA, mainl, "100.64.0.3", at(time.Hour))
	update(t, s, func(tx moat.Tx) error {
		if err := tx.InsertInstance(&c); err != nil {
			return err
		}
		return tx.SetTags(c.ID, []moat.Tag{{Key: "env", Value: "dev"}})
	})
	checkFilter(t, s, moat.InstanceFilter{AccountID: acctA, Region: mainl, Tags: []moat.TagFilter{{Key: "env"}}}, a.ID, c.ID)
}

// ---- Listing ----

func testListOrder(t *testing.T, s moat.Store) {
	// IDs, IPs and expiries all out of order, so no other order passes.
	first := []moat.Instance{
		inst("ddoscoo-cn-m", acctA, mainl, "100.64.0.9", at(3*time.Hour)),
		inst("ddoscoo-cn-c", acctA, mainl, "100.64.0.2", at(1*time.Hour)),
	}
	insert(t, s, first...)
	insert(t, s, inst("ddoscoo-cn-z", acctA, mainl, "100.64.0.5", at(2*time.Hour)))
	insert(t, s, inst("ddoscoo-cn-a", acctA, mainl, "100.64.0.7", at(5*time.Hour)),
		inst("ddoscoo-cn-q", acctA, mainl, "100.64.0.1", at(4*time.Hour)))
	want := []string{"ddoscoo-cn-m", "ddoscoo-cn-c", "ddoscoo-cn-z", "ddoscoo-cn-a", "ddoscoo-cn-q"}
	checkFilter(t, s, owner(acctA, mainl), want...)

	// Deleting from the middle and adding keeps the order of the rest.
	deleteInstance(t, s, "ddoscoo-cn-z")
	insert(t, s, inst("ddoscoo-cn-b", acctA, mainl, "100.64.0.3", at(time.Minute)))
	checkFilter(t, s, owner(acctA, mainl), "ddoscoo-cn-m", "ddoscoo-cn-c", "ddoscoo-cn-a", "ddoscoo-cn-q", "ddoscoo-cn-b")
	// Deleting the newest and adding: the new one is still last.
	deleteInstance(t, s, "ddoscoo-cn-b")
	insert(t, s, inst("ddoscoo-cn-0", acctA, mainl, "100.64.0.4", at(time.Minute)))
	checkFilter(t, s, owner(acctA, mainl), "ddoscoo-cn-m", "ddoscoo-cn-c", "ddoscoo-cn-a", "ddoscoo-cn-q", "ddoscoo-cn-0")
}

func testListPaging(t *testing.T, s moat.Store) {
	var all []string
	for i := 0; i < 7; i++ {
		id := fmt.Sprintf("ddoscoo-cn-page%02d", 7-i) // descending IDs
		all = append(all, id)
		insert(t, s, inst(id, acctA, mainl, fmt.Sprintf("100.64.0.%d", 10-i), at(time.Duration(i%3)*time.Hour)))
	}
	insert(t, s, inst("ddosDip-sg-other", acctA, overs, "100.96.0.1", at(time.Hour)))
	for _, c := range []struct {
		offset, limit int
		want          []string
	}{
		{0, 0, all},
		{0, 3, all[0:3]},
		{3, 3, all[3:6]},
		{6, 3, all[6:7]},
		{7, 3, nil},
		{100, 3, nil},
		{2, 0, all[2:]},
		{0, 100, all},
		{1, 1, all[1:2]},
	} {
		f := owner(acctA, mainl)
		f.Offset, f.Limit = c.offset, c.limit
		got := list(t, s, f)
		if !slices.Equal(got, c.want) && !(len(got) == 0 && len(c.want) == 0) {
			t.Errorf("Instances(Offset %d, Limit %d) = %q, want %q", c.offset, c.limit, got, c.want)
		}
		if n := count(t, s, f); n != 7 {
			t.Errorf("CountInstances(Offset %d, Limit %d) = %d, want 7", c.offset, c.limit, n)
		}
		checkPage(t, s, f, c.want, 7)
	}
	// Paging a filtered query.
	f := owner(acctA, mainl)
	f.ExpireBefore = ptr(at(time.Hour)) // i%3 == 0: indices 0, 3, 6
	f.Offset, f.Limit = 1, 1
	if got := list(t, s, f); !slices.Equal(got, []string{all[3]}) {
		t.Errorf("filtered page = %q, want %q", got, all[3])
	}
	if n := count(t, s, f); n != 3 {
		t.Errorf("filtered CountInstances with paging = %d, want 3", n)
	}
}

func testFilterIDs(t *testing.T, s moat.Store) {
	a := inst("ddoscoo-cn-ids000001", acctA, mainl, "100.64.0.1", at(time.Hour))
	b := inst("ddoscoo-cn-ids000002", acctA, mainl, "100.64.0.2", at(time.Hour))
	c := inst("ddoscoo-cn-ids000003", acctA, mainl, "100.64.0.3", at(time.Hour))
	foreign := inst("ddoscoo-cn-ids000004", acctB, mainl, "100.64.0.4", at(time.Hour))
	otherRegion := inst("ddosDip-sg-ids000005", acctA, overs, "100.96.0.5", at(time.Hour))
	insert(t, s, a, b, c, foreign, otherRegion)

	f := owner(acctA, mainl)
	checkFilter(t, s, f, a.ID, b.ID, c.ID) // nil: any
	// Listed in insertion order whatever the order of IDs; unknown IDs,
	// another account's and another region's are ignored.
	f.IDs = []string{c.ID, "ddoscoo-cn-unknown", a.ID, foreign.ID, otherRegion.ID}
	checkFilter(t, s, f, a.ID, c.ID)
	f.IDs = []string{b.ID}
	checkFilter(t, s, f, b.ID)
	f.IDs = []string{b.ID, b.ID}
	checkFilter(t, s, f, b.ID)
	f.IDs = []string{"ddoscoo-cn-unknown"}
	checkFilter(t, s, f)
}

func testFilterIP(t *testing.T, s moat.Store) {
	a := inst("ddoscoo-cn-ip0000001", acctA, mainl, "100.64.0.1", at(time.Hour))
	b := inst("ddoscoo-cn-ip0000002", acctA, mainl, "100.64.0.11", at(time.Hour))
	c := inst("ddoscoo-cn-ip0000003", acctA, mainl, "100.64.0.111", at(time.Hour))
	insert(t, s, a, b, c)
	f := owner(acctA, mainl)
	f.IP = "100.64.0.11"
	checkFilter(t, s, f, b.ID)
	f.IP = "100.64.0.1"
	checkFilter(t, s, f, a.ID)
	f.IP = "100.64.0"
	checkFilter(t, s, f)
	f.IP = "100.64.0.2"
	checkFilter(t, s, f)
}

func testFilterRemark(t *testing.T, s moat.Store) {
	mk := func(id, ip, remark string) moat.Instance {
		in := inst(id, acctA, mainl, ip, at(time.Hour))
		in.Remark = remark
		return in
	}
	hello := mk("ddoscoo-cn-rm01", "100.64.0.1", "Hello World")
	lower := mk("ddoscoo-cn-rm02", "100.64.0.2", "hello world")
	pct := mk("ddoscoo-cn-rm03", "100.64.0.3", "100% sure")
	under := mk("ddoscoo-cn-rm04", "100.64.0.4", "snake_case")
	cjk := mk("ddoscoo-cn-rm05", "100.64.0.5", "防护实例 Ab")
	empty := mk("ddoscoo-cn-rm06", "100.64.0.6", "")
	quote := mk("ddoscoo-cn-rm07", "100.64.0.7", `it's a \back"slash`)
	insert(t, s, hello, lower, pct, under, cjk, empty, quote)
	for _, c := range []struct {
		sub  string
		want []string
	}{
		{"World", []string{hello.ID}},
		{"world", []string{lower.ID}},
		{"WORLD", nil},
		{"lo Wo", []string{hello.ID}},
		{"o", []string{hello.ID, lower.ID}},
		{"Hello World", []string{hello.ID}},
		{"Hello World!", nil},
		{"%", []string{pct.ID}},            // literal, not a wildcard
		{"_", []string{under.ID}},          // literal, not a wildcard
		{"e_c", []string{under.ID}},        // literal
		{"H%d", nil},                       // not a pattern
		{"护实", []string{cjk.ID}},           // multibyte
		{"ab", nil},                        // case-sensitive beyond ASCII words too
		{`\back`, []string{quote.ID}},      // backslash is literal
		{`it's`, []string{quote.ID}},       // quote is literal
		{`"slash`, []string{quote.ID}},     // double quote is literal
		{"*", nil},                         // no glob either
		{"[h]", nil},                       // no character classes
		{"Hello", []string{hello.ID}},      // prefix
		{"sure", []string{pct.ID}},         // suffix
		{"snake_case", []string{under.ID}}, // whole
	} {
		f := owner(acctA, mainl)
		f.RemarkContains = c.sub
		checkFilter(t, s, f, c.want...)
	}
}

func testFilterEdition(t *testing.T, s moat.Store) {
	mk := func(id, ip string, ed int) moat.Instance {
		in := inst(id, acctA, overs, ip, at(time.Hour))
		in.Edition = ed
		return in
	}
	e0 := mk("ddosDip-sg-ed0", "100.96.0.1", moat.EditionInsurance)
	e1 := mk("ddosDip-sg-ed1", "100.96.0.2", moat.EditionUnlimited)
	e3 := mk("ddosDip-sg-ed3", "100.96.0.3", moat.EditionSecCMA)
	e0b := mk("ddosDip-sg-ed0b", "100.96.0.4", moat.EditionInsurance)
	insert(t, s, e0, e1, e3, e0b)
	for _, c := range []struct {
		ed   int
		want []string
	}{
		{0, []string{e0.ID, e0b.ID}},
		{1, []string{e1.ID}},
		{2, nil},
		{3, []string{e3.ID}},
		{9, nil},
	} {
		f := owner(acctA, overs)
		f.Edition = ptr(c.ed)
		checkFilter(t, s, f, c.want...)
	}
}

// expiryFixture inserts instances expiring at base-1ms, base, base+1ms,
// base+1h, in scrambled insertion order, and returns their IDs by expiry.
func expiryFixture(t *testing.T, s moat.Store) (before, exact, after, later string) {
	t.Helper()
	insert(t, s,
		inst("ddoscoo-cn-exp-later", acctA, mainl, "100.64.0.4", at(time.Hour)),
		inst("ddoscoo-cn-exp-exact", acctA, mainl, "100.64.0.2", base.In(east)),
		inst("ddoscoo-cn-exp-before", acctA, mainl, "100.64.0.1", at(-time.Millisecond)),
		inst("ddoscoo-cn-exp-after", acctA, mainl, "100.64.0.3", at(time.Millisecond)),
	)
	return "ddoscoo-cn-exp-before", "ddoscoo-cn-exp-exact", "ddoscoo-cn-exp-after", "ddoscoo-cn-exp-later"
}

func testFilterExpireFrom(t *testing.T, s moat.Store) {
	before, exact, after, later := expiryFixture(t, s)
	_ = before
	f := owner(acctA, mainl)
	f.ExpireFrom = ptr(base)
	checkFilter(t, s, f, later, exact, after)
	f.ExpireFrom = ptr(base.In(east)) // the zone of the bound does not matter
	checkFilter(t, s, f, later, exact, after)
	f.ExpireFrom = ptr(at(time.Millisecond))
	checkFilter(t, s, f, later, after)
	f.ExpireFrom = ptr(at(-time.Millisecond))
	checkFilter(t, s, f, later, exact, before, after)
	f.ExpireFrom = ptr(at(time.Hour + time.Millisecond))
	checkFilter(t, s, f)
}

func testFilterExpireBefore(t *testing.T, s moat.Store) {
	before, exact, after, later := expiryFixture(t, s)
	f := owner(acctA, mainl)
	f.ExpireBefore = ptr(base)
	checkFilter(t, s, f, before)
	f.ExpireBefore = ptr(base.In(east))
	checkFilter(t, s, f, before)
	f.ExpireBefore = ptr(at(time.Millisecond))
	checkFilter(t, s, f, exact, before)
	f.ExpireBefore = ptr(at(-time.Millisecond))
	checkFilter(t, s, f)
	f.ExpireBefore = ptr(at(2 * time.Hour))
	checkFilter(t, s, f, later, exact, before, after)
	// Both bounds: the half-open range [base, base+1h) .
	f.ExpireFrom, f.ExpireBefore = ptr(base), ptr(at(time.Hour))
	checkFilter(t, s, f, exact, after)
}

func testFilterResourceGroup(t *testing.T, s moat.Store) {
	mk := func(id, ip, rg string) moat.Instance {
		in := inst(id, acctA, mainl, ip, at(time.Hour))
		in.ResourceGroupID = rg
		return in
	}
	a := mk("ddoscoo-cn-rg1", "100.64.0.1", "rg-aaa")
	b := mk("ddoscoo-cn-rg2", "100.64.0.2", "rg-aaab")
	c := mk("ddoscoo-cn-rg3", "100.64.0.3", "")
	d := mk("ddoscoo-cn-rg4", "100.64.0.4", "rg-aaa")
	insert(t, s, a, b, c, d)
	f := owner(acctA, mainl)
	f.ResourceGroupID = "rg-aaa"
	checkFilter(t, s, f, a.ID, d.ID)
	f.ResourceGroupID = "rg-aaab"
	checkFilter(t, s, f, b.ID)
	f.ResourceGroupID = "RG-AAA"
	checkFilter(t, s, f)
	f.ResourceGroupID = "rg-"
	checkFilter(t, s, f)
}

func testFilterTags(t *testing.T, s moat.Store) {
	a := inst("ddoscoo-cn-tag1", acctA, mainl, "100.64.0.1", at(time.Hour))
	b := inst("ddoscoo-cn-tag2", acctA, mainl, "100.64.0.2", at(time.Hour))
	c := inst("ddoscoo-cn-tag3", acctA, mainl, "100.64.0.3", at(time.Hour))
	d := inst("ddoscoo-cn-tag4", acctA, mainl, "100.64.0.4", at(time.Hour))
	foreign := inst("ddoscoo-cn-tag5", acctB, mainl, "100.64.0.5", at(time.Hour))
	insert(t, s, a, b, c, d, foreign)
	setTags(t, s, a.ID, moat.Tag{Key: "env", Value: "prod"}, moat.Tag{Key: "team", Value: "red"})
	setTags(t, s, b.ID, moat.Tag{Key: "env", Value: "dev"}, moat.Tag{Key: "team", Value: "red"})
	setTags(t, s, c.ID, moat.Tag{Key: "env", Value: "prod"})
	setTags(t, s, foreign.ID, moat.Tag{Key: "env", Value: "prod"}, moat.Tag{Key: "team", Value: "red"})
	// d has no tags.

	tf := func(tags ...moat.TagFilter) moat.InstanceFilter {
		f := owner(acctA, mainl)
		f.Tags = tags
		return f
	}
	kv := func(k, v string) moat.TagFilter { return moat.TagFilter{Key: k, Value: v, HasValue: true} }
	k := func(k string) moat.TagFilter { return moat.TagFilter{Key: k} }

	checkFilter(t, s, tf(k("env")), a.ID, b.ID, c.ID)
	checkFilter(t, s, tf(k("team")), a.ID, b.ID)
	checkFilter(t, s, tf(k("absent")))
	checkFilter(t, s, tf(k("Env"))) // keys are case-sensitive
	checkFilter(t, s, tf(kv("env", "prod")), a.ID, c.ID)
	checkFilter(t, s, tf(kv("env", "dev")), b.ID)
	checkFilter(t, s, tf(kv("env", "Prod")))
	checkFilter(t, s, tf(kv("env", "")))
	checkFilter(t, s, tf(kv("team", "prod"))) // value of another key
	// Several tags are ANDed.
	checkFilter(t, s, tf(kv("env", "prod"), kv("team", "red")), a.ID)
	checkFilter(t, s, tf(k("env"), k("team")), a.ID, b.ID)
	checkFilter(t, s, tf(kv("env", "prod"), k("team")), a.ID)
	checkFilter(t, s, tf(kv("env", "prod"), kv("env", "dev")))
	checkFilter(t, s, tf(k("env"), k("absent")))
	// A value filter without HasValue is a key filter.
	checkFilter(t, s, tf(moat.TagFilter{Key: "env", Value: "prod"}), a.ID, b.ID, c.ID)
}

func testFilterCombined(t *testing.T, s moat.Store) {
	mk := func(id, ip string, ed int, rg, remark string, expire time.Time) moat.Instance {
		in := inst(id, acctA, overs, ip, expire)
		in.Edition, in.ResourceGroupID, in.Remark = ed, rg, remark
		return in
	}
	a := mk("ddosDip-sg-c1", "100.96.0.1", 1, "rg-1", "web front", at(time.Hour))
	b := mk("ddosDip-sg-c2", "100.96.0.2", 1, "rg-1", "web back", at(3*time.Hour))
	c := mk("ddosDip-sg-c3", "100.96.0.3", 2, "rg-1", "web front", at(time.Hour))
	d := mk("ddosDip-sg-c4", "100.96.0.4", 1, "rg-2", "web front", at(time.Hour))
	insert(t, s, a, b, c, d)
	setTags(t, s, a.ID, moat.Tag{Key: "env", Value: "prod"})
	setTags(t, s, b.ID, moat.Tag{Key: "env", Value: "prod"})
	setTags(t, s, d.ID, moat.Tag{Key: "env", Value: "prod"})

	f := owner(acctA, overs)
	f.Edition = ptr(1)
	f.ResourceGroupID = "rg-1"
	checkFilter(t, s, f, a.ID, b.ID)
	f.RemarkContains = "front"
	checkFilter(t, s, f, a.ID)
	f.RemarkContains = ""
	f.ExpireBefore = ptr(at(2 * time.Hour))
	checkFilter(t, s, f, a.ID)
	f.ExpireBefore = nil
	f.ExpireFrom = ptr(at(2 * time.Hour))
	f.Tags = []moat.TagFilter{{Key: "env", Value: "prod", HasValue: true}}
	checkFilter(t, s, f, b.ID)
	f.IDs = []string{a.ID, c.ID, d.ID}
	checkFilter(t, s, f)
	f = owner(acctA, overs)
	f.IDs = []string{a.ID, c.ID, d.ID}
	f.IP = "100.96.0.4"
	checkFilter(t, s, f, d.ID)
}

func testListIsolation(t *testing.T, s moat.Store) {
	aM := inst("ddoscoo-cn-iso1", acctA, mainl, "100.64.0.1", at(time.Hour))
	aO := inst("ddosDip-sg-iso2", acctA, overs, "100.96.0.1", at(time.Hour))
	bM := inst("ddoscoo-cn-iso3", acctB, mainl, "100.64.0.2", at(time.Hour))
	bO := inst("ddosDip-sg-iso4", acctB, overs, "100.96.0.2", at(time.Hour))
	aM2 := inst("ddoscoo-cn-iso5", acctA, mainl, "100.64.0.3", at(time.Hour))
	insert(t, s, aM, aO, bM, bO, aM2)
	for _, in := range []moat.Instance{aM, aO, bM, bO, aM2} {
		setTags(t, s, in.ID, moat.Tag{Key: "k", Value: "v"})
	}
	for _, c := range []struct {
		acct   string
		region moat.Region
		want   []string
	}{
		{acctA, mainl, []string{aM.ID, aM2.ID}},
		{acctA, overs, []string{aO.ID}},
		{acctB, mainl, []string{bM.ID}},
		{acctB, overs, []string{bO.ID}},
		{"1000000000000009", mainl, nil},
		{acctA, "eu-central-1", nil},
	} {
		f := owner(c.acct, c.region)
		checkFilter(t, s, f, c.want...)
		if n := count(t, s, f); n != int64(len(c.want)) {
			t.Errorf("unfiltered CountInstances(%s, %s) = %d, want %d", c.acct, c.region, n, len(c.want))
		}
		f.Tags = []moat.TagFilter{{Key: "k"}}
		checkFilter(t, s, f, c.want...)
		f.Tags = nil
		f.ExpireFrom = ptr(base)
		checkFilter(t, s, f, c.want...)
	}
	// Another owner's instance is not reachable through filters either.
	f := owner(acctA, mainl)
	f.IP = bM.IP
	checkFilter(t, s, f)
}

func testCountUnfiltered(t *testing.T, s moat.Store) {
	want := map[ownerKey]int64{}
	check := func(when string) {
		t.Helper()
		for _, acct := range []string{acctA, acctB, "1000000000000003"} {
			for _, r := range moat.Regions {
				f := owner(acct, r)
				w := want[ownerKey{acct, r}]
				if n := count(t, s, f); n != w {
					t.Errorf("%s: unfiltered CountInstances(%s, %s) = %d, want %d", when, acct, r, n, w)
				}
				if got := list(t, s, f); int64(len(got)) != w {
					t.Errorf("%s: Instances(%s, %s) lists %d, want %d", when, acct, r, len(got), w)
				}
				f.Offset, f.Limit = 1, 2
				if n := count(t, s, f); n != w {
					t.Errorf("%s: unfiltered CountInstances(%s, %s) with paging = %d, want %d", when, acct, r, n, w)
				}
			}
		}
	}
	check("empty store")

	var live []moat.Instance
	ipn := 0
	add := func(acct string, r moat.Region, k int) {
		t.Helper()
		var batch []moat.Instance
		for i := 0; i < k; i++ {
			ipn++
			batch = append(batch, inst(fmt.Sprintf("i-%s-%s-%03d", acct, r, ipn), acct, r, fmt.Sprintf("10.0.0.%d", ipn), at(time.Hour)))
		}
		insert(t, s, batch...)
		live = append(live, batch...)
		want[ownerKey{acct, r}] += int64(k)
	}
	del := func(i int) {
		t.Helper()
		in := live[i]
		deleteInstance(t, s, in.ID)
		live = slices.Delete(live, i, i+1)
		want[ownerKey{in.AccountID, in.Region}]--
	}
	add(acctA, mainl, 3)
	add(acctA, overs, 2)
	add(acctB, mainl, 4)
	check("after inserts")
	del(0)
	del(3)
	check("after deletes")
	add(acctA, mainl, 1)
	add(acctB, overs, 2)
	check("after more inserts")

	// A failed Update changes no count.
	err := s.Update(t.Context(), func(tx moat.Tx) error {
		extra := inst("i-rolled-back", acctA, mainl, "10.9.9.9", at(time.Hour))
		if err := tx.InsertInstance(&extra); err != nil {
			return err
		}
		if err := tx.DeleteInstance(live[0].ID); err != nil {
			return err
		}
		return errors.New("roll back")
	})
	if err == nil {
		t.Fatal("Update returned nil, want its error")
	}
	check("after a failed Update")

	// Insert and delete in one Update.
	update(t, s, func(tx moat.Tx) error {
		extra := inst("i-transient", acctB, overs, "10.9.9.8", at(time.Hour))
		if err := tx.InsertInstance(&extra); err != nil {
			return err
		}
		return tx.DeleteInstance(extra.ID)
	})
	check("after insert and delete in one Update")

	for len(live) > 0 {
		del(len(live) - 1)
	}
	check("after deleting everything")
	add(acctB, overs, 1)
	check("after inserting again")
}

// ---- DueInstances and EarliestExpiry ----

func withPhase(in moat.Instance, p moat.Phase) moat.Instance {
	in.Phase = p
	return in
}

func testDueInstances(t *testing.T, s moat.Store) {
	ins := []moat.Instance{
		inst("due-late", acctA, mainl, "100.64.0.1", at(-1*time.Hour)),
		inst("due-boundary", acctB, overs, "100.96.0.1", base),
		inst("due-notyet", acctA, mainl, "100.64.0.2", at(time.Millisecond)),
		inst("due-early", acctB, mainl, "100.64.0.3", at(-3*time.Hour)),
		withPhase(inst("due-expired", acctA, mainl, "100.64.0.4", at(-2*time.Hour)), moat.PhaseExpired),
		inst("due-mid", acctA, overs, "100.96.0.2", at(-2*time.Hour)),
		withPhase(inst("due-stopped", acctA, mainl, "100.64.0.5", at(-4*time.Hour)), moat.PhaseStopped),
		withPhase(inst("due-expired-future", acctA, mainl, "100.64.0.6", at(time.Hour)), moat.PhaseExpired),
	}
	insert(t, s, ins...)
	byID := map[string]moat.Instance{}
	for _, in := range ins {
		byID[in.ID] = in
	}
	due := func(p moat.Phase, at time.Time, limit int) []string {
		t.Helper()
		var got []moat.Instance
		update(t, s, func(tx moat.Tx) error {
			var err error
			got, err = tx.DueInstances(p, at, limit)
			return err
		})
		for _, in := range got {
			if d := diffInstance(in, byID[in.ID]); d != "" {
				t.Errorf("DueInstances returned %s: %s", in.ID, d)
			}
		}
		return ids(got)
	}
	for _, c := range []struct {
		phase moat.Phase
		at    time.Time
		limit int
		want  []string
	}{
		{moat.PhaseActive, base, 10, []string{"due-early", "due-mid", "due-late", "due-boundary"}},
		{moat.PhaseActive, base.In(east), 10, []string{"due-early", "due-mid", "due-late", "due-boundary"}},
		{moat.PhaseActive, base, 2, []string{"due-early", "due-mid"}},
		{moat.PhaseActive, base, 1, []string{"due-early"}},
		{moat.PhaseActive, at(-time.Millisecond), 10, []string{"due-early", "due-mid", "due-late"}},
		{moat.PhaseActive, at(-3*time.Hour - time.Millisecond), 10, nil},
		{moat.PhaseActive, at(time.Millisecond), 10, []string{"due-early", "due-mid", "due-late", "due-boundary", "due-notyet"}},
		{moat.PhaseExpired, base, 10, []string{"due-expired"}},
		{moat.PhaseExpired, at(time.Hour), 10, []string{"due-expired", "due-expired-future"}},
		{moat.PhaseStopped, base, 10, []string{"due-stopped"}},
	} {
		if got := due(c.phase, c.at, c.limit); !slices.Equal(got, c.want) && !(len(got) == 0 && len(c.want) == 0) {
			t.Errorf("DueInstances(phase %d, %v, %d) = %q, want %q", c.phase, c.at, c.limit, got, c.want)
		}
	}
	// Moving an instance to the next phase takes it off the phase's list.
	early := byID["due-early"]
	early.Phase = moat.PhaseExpired
	update(t, s, func(tx moat.Tx) error { return tx.UpdateInstance(&early) })
	byID[early.ID] = early
	if got := due(moat.PhaseActive, base, 10); !slices.Equal(got, []string{"due-mid", "due-late", "due-boundary"}) {
		t.Errorf("DueInstances(active) after moving due-early = %q", got)
	}
	if got := due(moat.PhaseExpired, base, 10); !slices.Equal(got, []string{"due-early", "due-expired"}) {
		t.Errorf("DueInstances(expired) after moving due-early = %q", got)
	}
}

func testEarliestExpiry(t *testing.T, s moat.Store) {
	earliest := func(p moat.Phase) (time.Time, bool) {
		t.Helper()
		e, ok, err := s.EarliestExpiry(t.Context(), p)
		if err != nil {
			t.Fatalf("EarliestExpiry(%d): %v", p, err)
		}
		if ok && e.Location() != time.UTC {
			t.Errorf("EarliestExpiry(%d) = %v, not in UTC", p, e)
		}
		return e, ok
	}
	for _, p := range []moat.Phase{moat.PhaseActive, moat.PhaseExpired, moat.PhaseStopped} {
		if e, ok := earliest(p); ok {
			t.Errorf("EarliestExpiry(%d) on an empty store = %v, true; want false", p, e)
		}
	}
	insert(t, s,
		inst("ee-1", acctA, mainl, "100.64.0.1", at(2*time.Hour)),
		inst("ee-2", acctB, overs, "100.96.0.1", at(time.Hour+time.Millisecond).In(east)),
		inst("ee-3", acctA, overs, "100.96.0.2", at(3*time.Hour)),
		withPhase(inst("ee-4", acctA, mainl, "100.64.0.2", at(-5*time.Hour)), moat.PhaseExpired),
		withPhase(inst("ee-5", acctA, mainl, "100.64.0.3", at(-6*time.Hour)), moat.PhaseExpired),
	)
	if e, ok := earliest(moat.PhaseActive); !ok || !e.Equal(at(time.Hour+time.Millisecond)) {
		t.Errorf("EarliestExpiry(active) = %v, %v; want %v", e, ok, at(time.Hour+time.Millisecond))
	}
	if e, ok := earliest(moat.PhaseExpired); !ok || !e.Equal(at(-6*time.Hour)) {
		t.Errorf("EarliestExpiry(expired) = %v, %v; want %v", e, ok, at(-6*time.Hour))
	}
	if e, ok := earliest(moat.PhaseStopped); ok {
		t.Errorf("EarliestExpiry(stopped) = %v, true; want false", e)
	}
	deleteInstance(t, s, "ee-2")
	if e, ok := earliest(moat.PhaseActive); !ok || !e.Equal(at(2*time.Hour)) {
		t.Errorf("EarliestExpiry(active) after delete = %v, %v; want %v", e, ok, at(2*time.Hour))
	}
	deleteInstance(t, s, "ee-4")
	deleteInstance(t, s, "ee-5")
	if e, ok := earliest(moat.PhaseExpired); ok {
		t.Errorf("EarliestExpiry(expired) after deleting all = %v, true; want false", e)
	}
}

// ---- Tombstones ----

func testTombstoneRoundTrip(t *testing.T, s moat.Store) {
	ts := moat.Tombstone{InstanceID: "ddosDip-sg-tomb00001", AccountID: acctA, Region: overs, ReleasedAt: at(-time.Hour).In(east)}
	update(t, s, func(tx moat.Tx) error {
		if ok, err := tx.TombstoneExists(ts.InstanceID); err != nil || ok {
			t.Errorf("TombstoneExists before insert = %v, %v; want false", ok, err)
		}
		if err := tx.InsertTombstone(ts); err != nil {
			return err
		}
		if ok, err := tx.TombstoneExists(ts.InstanceID); err != nil || !ok {
			t.Errorf("TombstoneExists after insert in the same Update = %v, %v; want true", ok, err)
		}
		return nil
	})
	update(t, s, func(tx moat.Tx) error {
		if ok, err := tx.TombstoneExists(ts.InstanceID); err != nil || !ok {
			t.Errorf("TombstoneExists = %v, %v; want true", ok, err)
		}
		return nil
	})
	got, err := s.Tombstone(t.Context(), ts.InstanceID)
	if err != nil {
		t.Fatalf("Reader.Tombstone: %v", err)
	}
	if got.InstanceID != ts.InstanceID || got.AccountID != ts.AccountID || got.Region != ts.Region {
		t.Errorf("Reader.Tombstone = %+v, want %+v", got, ts)
	}
	if d := checkTime("ReleasedAt", got.ReleasedAt, ts.ReleasedAt); d != "" {
		t.Errorf("Reader.Tombstone: %s", d)
	}
	// A tombstone is not an instance.
	wantNoInstance(t, s, ts.InstanceID)
}

func testTombstoneNotFound(t *testing.T, s moat.Store) {
	update(t, s, func(tx moat.Tx) error {
		return tx.InsertTombstone(moat.Tombstone{InstanceID: "ddoscoo-cn-tomb0001", AccountID: acctA, Region: mainl, ReleasedAt: base})
	})
	// A live instance is not a tombstone either.
	insert(t, s, inst("ddoscoo-cn-live00001", acctA, mainl, "100.64.0.1", at(time.Hour)))
	for _, id := range []string{"ddoscoo-cn-tomb0002", "ddoscoo-cn-live00001"} {
		if got, err := s.Tombstone(t.Context(), id); !errors.Is(err, moat.ErrNotFound) {
			t.Errorf("Reader.Tombstone(%s) = %+v, %v; want ErrNotFound", id, got, err)
		}
		update(t, s, func(tx moat.Tx) error {
			if ok, err := tx.TombstoneExists(id); err != nil || ok {
				t.Errorf("TombstoneExists(%s) = %v, %v; want false", id, ok, err)
			}
			return nil
		})
	}
}

// ---- Events ----

func diffEvent(got, want moat.Event) string {
	var d []string
	if got.Seq != want.Seq || got.InstanceID != want.InstanceID || got.AccountID != want.AccountID ||
		got.Region != want.Region || got.Type != want.Type || got.RequestID != want.RequestID || got.Reason != want.Reason || got.Periods != want.Periods {
		d = append(d, fmt.Sprintf("got %+v, want %+v", got, want))
	}
	if s := checkTime("Time", got.Time, want.Time); s != "" {
		d = append(d, s)
	}
	if s := checkTime("RecordedAt", got.RecordedAt, want.RecordedAt); s != "" {
		d = append(d, s)
	}
	return strings.Join(d, "; ")
}

func testEventRoundTrip(t *testing.T, s moat.Store) {
	if got := events(t, s, moat.EventFilter{}); len(got) != 0 {
		t.Fatalf("Events on an empty store = %+v, want none", got)
	}
	evs := []moat.Event{
		{Time: at(-time.Hour).In(east), RecordedAt: base, InstanceID: "i-1", AccountID: acctA, Region: mainl, Type: moat.EventCreated, RequestID: "C0FFEE-REQ-1"},
		{Time: base, RecordedAt: at(time.Millisecond), InstanceID: "i-1", AccountID: acctA, Region: mainl, Type: moat.EventAutoRenewed, Reason: "auto-renewal", Periods: 1201},
		{Time: at(7 * 24 * time.Hour), RecordedAt: at(8 * 24 * time.Hour).In(east), InstanceID: "i-2", AccountID: acctB, Region: overs, Type: moat.EventReleased, RequestID: "REQ-2", Reason: moat.ReasonReleaseInstance},
	}
	// Two in one Update, one in a later Update.
	update(t, s, func(tx moat.Tx) error {
		for i := range evs[:2] {
			if err := tx.AppendEvent(&evs[i]); err != nil {
				return err
			}
		}
		return nil
	})
	update(t, s, func(tx moat.Tx) error { return tx.AppendEvent(&evs[2]) })
	if !(evs[0].Seq > 0 && evs[1].Seq > evs[0].Seq && evs[2].Seq > evs[1].Seq) {
		t.Fatalf("AppendEvent assigned seqs %d, %d, %d; want positive and increasing", evs[0].Seq, evs[1].Seq, evs[2].Seq)
	}
	got := events(t, s, moat.EventFilter{})
	if len(got) != len(evs) {
		t.Fatalf("Events = %d events, want %d", len(got), len(evs))
	}
	for i := range evs {
		if d := diffEvent(got[i], evs[i]); d != "" {
			t.Errorf("event %d: %s", i, d)
		}
	}
	// A later Append still gets a larger Seq.
	e4 := moat.Event{Time: base, RecordedAt: base, InstanceID: "i-3", AccountID: acctA, Region: mainl, Type: moat.EventForwardingStopped}
	update(t, s, func(tx moat.Tx) error { return tx.AppendEvent(&e4) })
	if e4.Seq <= evs[2].Seq {
		t.Errorf("later event Seq %d, want > %d", e4.Seq, evs[2].Seq)
	}
}

func testEventFilters(t *testing.T, s moat.Store) {
	var all []moat.Event
	spec := []struct {
		id  string
		typ moat.EventType
	}{
		{"i-1", moat.EventCreated},
		{"i-2", moat.EventCreated},
		{"i-1", moat.EventExpired},
		{"i-3", moat.EventCreated},
		{"i-1", moat.EventForwardingStopped},
		{"i-2", moat.EventExpired},
		{"i-1", moat.EventReleased},
	}
	for i, sp := range spec {
		e := moat.Event{Time: at(time.Duration(i) * time.Minute), RecordedAt: at(time.Duration(i) * time.Minute),
			InstanceID: sp.id, AccountID: acctA, Region: mainl, Type: sp.typ, RequestID: fmt.Sprintf("req-%d", i)}
		update(t, s, func(tx moat.Tx) error { return tx.AppendEvent(&e) })
		all = append(all, e)
	}
	pick := func(idx ...int) []int64 {
		out := []int64{}
		for _, i := range idx {
			out = append(out, all[i].Seq)
		}
		return out
	}
	for _, c := range []struct {
		f    moat.EventFilter
		want []int64
	}{
		{moat.EventFilter{}, pick(0, 1, 2, 3, 4, 5, 6)},
		{moat.EventFilter{InstanceID: "i-1"}, pick(0, 2, 4, 6)},
		{moat.EventFilter{InstanceID: "i-9"}, pick()},
		{moat.EventFilter{Type: moat.EventCreated}, pick(0, 1, 3)},
		{moat.EventFilter{Type: moat.EventExpired}, pick(2, 5)},
		{moat.EventFilter{InstanceID: "i-2", Type: moat.EventExpired}, pick(5)},
		{moat.EventFilter{AfterSeq: all[2].Seq}, pick(3, 4, 5, 6)},
		{moat.EventFilter{AfterSeq: all[6].Seq}, pick()},
		{moat.EventFilter{Limit: 3}, pick(0, 1, 2)},
		{moat.EventFilter{AfterSeq: all[1].Seq, Limit: 2}, pick(2, 3)},
		{moat.EventFilter{InstanceID: "i-1", AfterSeq: all[2].Seq, Limit: 1}, pick(4)},
		{moat.EventFilter{InstanceID: "i-1", Type: moat.EventReleased, AfterSeq: all[0].Seq}, pick(6)},
	} {
		got := events(t, s, c.f)
		if gs := seqs(got); !slices.Equal(gs, c.want) {
			t.Errorf("Events(%+v) = seqs %v, want %v", c.f, gs, c.want)
		}
		for _, e := range got {
			for _, w := range all {
				if w.Seq == e.Seq {
					if d := diffEvent(e, w); d != "" {
						t.Errorf("Events(%+v) seq %d: %s", c.f, e.Seq, d)
					}
				}
			}
		}
	}
	// Paging by AfterSeq walks every event exactly once.
	var walked []int64
	after := int64(0)
	for {
		page := events(t, s, moat.EventFilter{AfterSeq: after, Limit: 2})
		if len(page) == 0 {
			break
		}
		walked = append(walked, seqs(page)...)
		after = page[len(page)-1].Seq
		if len(walked) > len(all) {
			break
		}
	}
	if want := pick(0, 1, 2, 3, 4, 5, 6); !slices.Equal(walked, want) {
		t.Errorf("walking with AfterSeq/Limit 2 = %v, want %v", walked, want)
	}
}

// ---- IP pool primitives ----

func pop(t *testing.T, s moat.Store, r moat.Region, lo, hi uint32) (uint32, bool) {
	t.Helper()
	var ip uint32
	var ok bool
	update(t, s, func(tx moat.Tx) error {
		var err error
		ip, ok, err = tx.PopFreeIP(r, lo, hi)
		return err
	})
	return ip, ok
}

func push(t *testing.T, s moat.Store, r moat.Region, ips ...uint32) {
	t.Helper()
	update(t, s, func(tx moat.Tx) error {
		for _, ip := range ips {
			if err := tx.PushFreeIP(r, ip); err != nil {
				return err
			}
		}
		return nil
	})
}

func testPopFreeIP(t *testing.T, s moat.Store) {
	// Values above 2^31 catch signed 32-bit storage.
	const hiBase = 0xC8000000 // 200.0.0.0
	push(t, s, mainl, hiBase+50, hiBase+7, hiBase+300, hiBase+8, 0xFFFFFFFE, 5)
	for _, c := range []struct {
		lo, hi uint32
		want   uint32
	}{
		{hiBase, hiBase + 1000, hiBase + 7},
		{hiBase, hiBase + 1000, hiBase + 8},
		{hiBase + 9, 0xFFFFFFFF, hiBase + 50},
		{hiBase + 300, hiBase + 300, hiBase + 300}, // inclusive bounds
		{0, 0xFFFFFFFF, 5},
		{0, 0xFFFFFFFF, 0xFFFFFFFE},
	} {
		ip, ok := pop(t, s, mainl, c.lo, c.hi)
		if !ok || ip != c.want {
			t.Errorf("PopFreeIP(%#x, %#x) = %#x, %v; want %#x, true", c.lo, c.hi, ip, ok, c.want)
		}
	}
	if ip, ok := pop(t, s, mainl, 0, 0xFFFFFFFF); ok {
		t.Errorf("PopFreeIP on an emptied list = %#x, true; want false", ip)
	}
	// Pop and push in one Update.
	update(t, s, func(tx moat.Tx) error {
		if err := tx.PushFreeIP(overs, 10); err != nil {
			return err
		}
		ip, ok, err := tx.PopFreeIP(overs, 0, 100)
		if err != nil || !ok || ip != 10 {
			t.Errorf("PopFreeIP after PushFreeIP in the same Update = %d, %v, %v; want 10, true", ip, ok, err)
		}
		return err
	})
	if ip, ok := pop(t, s, overs, 0, 100); ok {
		t.Errorf("PopFreeIP = %d, true; want false", ip)
	}
}

func testPopFreeIPNone(t *testing.T, s moat.Store) {
	if ip, ok := pop(t, s, mainl, 0, 0xFFFFFFFF); ok {
		t.Errorf("PopFreeIP on an empty store = %d, true; want false", ip)
	}
	push(t, s, mainl, 100, 200)
	for _, c := range [][2]uint32{{0, 99}, {101, 199}, {201, 0xFFFFFFFF}} {
		if ip, ok := pop(t, s, mainl, c[0], c[1]); ok {
			t.Errorf("PopFreeIP(%d, %d) = %d, true; want false", c[0], c[1], ip)
		}
	}
	// Another region's free list is separate.
	if ip, ok := pop(t, s, overs, 0, 0xFFFFFFFF); ok {
		t.Errorf("PopFreeIP(overseas) = %d, true; want false", ip)
	}
	// Nothing was taken by the misses.
	if ip, ok := pop(t, s, mainl, 0, 1000); !ok || ip != 100 {
		t.Errorf("PopFreeIP = %d, %v; want 100, true", ip, ok)
	}
	if ip, ok := pop(t, s, mainl, 0, 1000); !ok || ip != 200 {
		t.Errorf("PopFreeIP = %d, %v; want 200, true", ip, ok)
	}
}

func testPushFreeIPIdempotent(t *testing.T, s moat.Store) {
	push(t, s, mainl, 7)
	push(t, s, mainl, 7, 7)
	push(t, s, overs, 7)
	if ip, ok := pop(t, s, mainl, 0, 100); !ok || ip != 7 {
		t.Fatalf("PopFreeIP = %d, %v; want 7, true", ip, ok)
	}
	if ip, ok := pop(t, s, mainl, 0, 100); ok {
		t.Errorf("second PopFreeIP after pushing 7 three times = %d, true; want false", ip)
	}
	if ip, ok := pop(t, s, overs, 0, 100); !ok || ip != 7 {
		t.Errorf("PopFreeIP(overseas) = %d, %v; want 7, true", ip, ok)
	}
}

func testIPCursor(t *testing.T, s moat.Store) {
	cursor := func(r moat.Region, pool string) uint32 {
		t.Helper()
		var c uint32
		update(t, s, func(tx moat.Tx) error {
			var err error
			c, err = tx.IPCursor(r, pool)
			return err
		})
		return c
	}
	set := func(r moat.Region, pool string, v uint32) {
		t.Helper()
		update(t, s, func(tx moat.Tx) error { return tx.SetIPCursor(r, pool, v) })
	}
	const p1, p2 = "100.64.0.0/11", "100.64.0.0/24"
	if c := cursor(mainl, p1); c != 0 {
		t.Errorf("IPCursor of a new pool = %d, want 0", c)
	}
	set(mainl, p1, 17)
	set(mainl, p2, 3)
	set(overs, p1, 0xFFFFFFFF)
	for _, c := range []struct {
		r    moat.Region
		pool string
		want uint32
	}{
		{mainl, p1, 17}, {mainl, p2, 3}, {overs, p1, 0xFFFFFFFF}, {overs, p2, 0},
	} {
		if got := cursor(c.r, c.pool); got != c.want {
			t.Errorf("IPCursor(%s, %s) = %d, want %d", c.r, c.pool, got, c.want)
		}
	}
	set(mainl, p1, 18)
	set(overs, p1, 0)
	if got := cursor(mainl, p1); got != 18 {
		t.Errorf("IPCursor after overwrite = %d, want 18", got)
	}
	if got := cursor(overs, p1); got != 0 {
		t.Errorf("IPCursor after reset = %d, want 0", got)
	}
	if got := cursor(mainl, p2); got != 3 {
		t.Errorf("IPCursor(other pool) = %d, want 3", got)
	}
}

func testIPInUse(t *testing.T, s moat.Store) {
	inUse := func(r moat.Region, ip string) bool {
		t.Helper()
		var used bool
		update(t, s, func(tx moat.Tx) error {
			var err error
			used, err = tx.IPInUse(r, ip)
			return err
		})
		return used
	}
	if inUse(mainl, "100.64.0.1") {
		t.Error("IPInUse on an empty store = true")
	}
	a := inst("ddoscoo-cn-inuse001", acctA, mainl, "100.64.0.1", at(time.Hour))
	insert(t, s, a)
	for _, c := range []struct {
		r    moat.Region
		ip   string
		want bool
	}{
		{mainl, "100.64.0.1", true},
		{overs, "100.64.0.1", false},
		{mainl, "100.64.0.10", false},
		{mainl, "100.64.0.", false},
	} {
		if got := inUse(c.r, c.ip); got != c.want {
			t.Errorf("IPInUse(%s, %s) = %v, want %v", c.r, c.ip, got, c.want)
		}
	}
	// Free-list entries are not live instances.
	ipn, _ := moat.IPNumber("100.64.0.2")
	push(t, s, mainl, ipn)
	if inUse(mainl, "100.64.0.2") {
		t.Error("IPInUse of a free-list address = true")
	}
	deleteInstance(t, s, a.ID)
	if inUse(mainl, "100.64.0.1") {
		t.Error("IPInUse after DeleteInstance = true")
	}
}

// ---- Settings ----

func testSettings(t *testing.T, s moat.Store) {
	wantNoSetting(t, s, moat.SettingClockOffset)
	update(t, s, func(tx moat.Tx) error {
		if v, err := tx.Setting(moat.SettingClockOffset); !errors.Is(err, moat.ErrNotFound) {
			t.Errorf("Tx.Setting(missing) = %q, %v; want ErrNotFound", v, err)
		}
		if err := tx.SetSetting(moat.SettingClockOffset, "-3600000000000"); err != nil {
			return err
		}
		return tx.SetSetting(moat.SettingBootstrapAccount, "")
	})
	wantSetting(t, s, moat.SettingClockOffset, "-3600000000000")
	wantSetting(t, s, moat.SettingBootstrapAccount, "") // an empty value is a value
	update(t, s, func(tx moat.Tx) error { return tx.SetSetting(moat.SettingClockOffset, "42") })
	wantSetting(t, s, moat.SettingClockOffset, "42")
	wantSetting(t, s, moat.SettingBootstrapAccount, "")
	update(t, s, func(tx moat.Tx) error {
		if v, err := tx.Setting(moat.SettingClockOffset); err != nil || v != "42" {
			t.Errorf("Tx.Setting = %q, %v; want 42", v, err)
		}
		return nil
	})
	long := strings.Repeat("välue ", 2000)
	update(t, s, func(tx moat.Tx) error { return tx.SetSetting("long", long) })
	wantSetting(t, s, "long", long)
}

func testListingVersion(t *testing.T, s moat.Store) {
	ver := func(acct string, r moat.Region) (int64, int64) {
		t.Helper()
		n, v, err := s.ListingVersion(t.Context(), acct, r)
		if err != nil {
			t.Fatalf("ListingVersion: %v", err)
		}
		return n, v
	}
	if n, v := ver(acctA, mainl); n != 0 || v != 0 {
		t.Fatalf("ListingVersion with no instances = %d, %d; want 0, 0", n, v)
	}
	seen := map[int64]bool{0: true}
	step := func(what string, wantN int64, fn func(tx moat.Tx) error) {
		t.Helper()
		_, otherBefore := ver(acctB, mainl)
		update(t, s, fn)
		n, v := ver(acctA, mainl)
		if n != wantN || seen[v] {
			t.Errorf("after %s: ListingVersion = %d, %d; want count %d and a version not seen before (%v)", what, n, v, wantN, seen)
		}
		seen[v] = true
		if _, otherAfter := ver(acctB, mainl); otherAfter != otherBefore {
			t.Errorf("after %s: another account's version moved %d -> %d", what, otherBefore, otherAfter)
		}
	}
	in := inst("ddoscoo-cn-version001", acctA, mainl, "100.64.9.1", at(time.Hour))
	insert(t, s, inst("ddoscoo-cn-versionB01", acctB, mainl, "100.64.9.2", at(time.Hour)))
	step("insert", 1, func(tx moat.Tx) error { return tx.InsertInstance(&in) })
	step("update", 1, func(tx moat.Tx) error { in.Remark = "changed"; return tx.UpdateInstance(&in) })
	step("tags", 1, func(tx moat.Tx) error { return tx.SetTags(in.ID, []moat.Tag{{Key: "k", Value: "v"}}) })
	step("delete", 0, func(tx moat.Tx) error { return tx.DeleteInstance(in.ID) })

	// Nothing that leaves the listing alone moves the version.
	_, before := ver(acctA, mainl)
	update(t, s, func(tx moat.Tx) error { return tx.SetSetting("x", "y") })
	failed := errors.New("rolled back")
	if err := s.Update(t.Context(), func(tx moat.Tx) error {
		in2 := inst("ddoscoo-cn-version002", acctA, mainl, "100.64.9.3", at(time.Hour))
		if err := tx.InsertInstance(&in2); err != nil {
			return err
		}
		return failed
	}); !errors.Is(err, failed) {
		t.Fatalf("failing Update = %v", err)
	}
	if n, after := ver(acctA, mainl); after != before || n != 0 {
		t.Errorf("ListingVersion moved %d -> %d (count %d) without a committed change", before, after, n)
	}
	if _, v := ver(acctA, overs); v != 0 {
		t.Errorf("the other region's version is %d, want 0", v)
	}
}

// ---- Billing fields, client tokens and the billing filters ----

// fullSpec sets every field of moat.Spec to a non-zero value.
func fullSpec() moat.Spec {
	return moat.Spec{BaseBandwidth: 300, Bandwidth: 600, ServiceBandwidth: 250, PortCount: 155, DomainCount: 205,
		FunctionVersion: 1, NormalBandwidth: 120, NormalQps: 3400, ProductPlan: 3, BurstMode: 2,
		ServicePartner: "coop-line-001", EditionSale: "coop", AddressType: "Ipv4"}
}

// otherSpec differs from fullSpec in every field, and sets every field.
func otherSpec() moat.Spec {
	return moat.Spec{BaseBandwidth: 600, Bandwidth: 1000, ServiceBandwidth: 5000, PortCount: 400, DomainCount: 300,
		FunctionVersion: 2, NormalBandwidth: 990, NormalQps: 99900, ProductPlan: 1, BurstMode: 1,
		ServicePartner: "line 'b' \"quoted\" 中文", EditionSale: "advance", AddressType: "Ipv6"}
}

// everyFieldSet fails when a field of the struct v is zero, so that a
// fixture keeps covering every field when the type grows one.
func everyFieldSet(t *testing.T, what string, v any) {
	t.Helper()
	rv := reflect.ValueOf(v)
	for i := 0; i < rv.NumField(); i++ {
		if rv.Field(i).IsZero() {
			t.Fatalf("fixture %s leaves %s zero", what, rv.Type().Field(i).Name)
		}
	}
}

// readEverywhere asserts that want comes back whole from every read path:
// Reader.Instance, Tx.Instance, and Instances and InstancePage listing its
// owner's region unfiltered (also as a page, the counter path), by ID, and
// over every region.
func readEverywhere(t *testing.T, s moat.Store, want moat.Instance) {
	t.Helper()
	wantInstance(t, s, want)
	update(t, s, func(tx moat.Tx) error {
		got, err := tx.Instance(want.ID)
		if err != nil {
			return fmt.Errorf("Tx.Instance(%s): %w", want.ID, err)
		}
		if d := diffInstance(got, want); d != "" {
			t.Errorf("Tx.Instance(%s): %s", want.ID, d)
		}
		return nil
	})
	for _, f := range []moat.InstanceFilter{
		{AccountID: want.AccountID, Region: want.Region},
		{AccountID: want.AccountID, Region: want.Region, Limit: 50},
		{AccountID: want.AccountID, Region: want.Region, IDs: []string{want.ID}, Limit: 50},
		{AccountID: want.AccountID, Limit: 50},
	} {
		listed, err := s.Instances(t.Context(), f)
		if err != nil {
			t.Fatalf("Instances(%s): %v", describe(f), err)
		}
		paged, _, err := s.InstancePage(t.Context(), f)
		if err != nil {
			t.Fatalf("InstancePage(%s): %v", describe(f), err)
		}
		for how, got := range map[string][]moat.Instance{"Instances": listed, "InstancePage": paged} {
			found := false
			for _, in := range got {
				if in.ID == want.ID {
					found = true
					if d := diffInstance(in, want); d != "" {
						t.Errorf("%s(%s) item %s: %s", how, describe(f), want.ID, d)
					}
				}
			}
			if !found {
				t.Errorf("%s(%s) does not list %s", how, describe(f), want.ID)
			}
		}
	}
}

func testInstanceBillingRoundTrip(t *testing.T, s moat.Store) {
	everyFieldSet(t, "fullSpec", fullSpec())
	a := inst("ddosDip-sg-billing001", acctA, overs, "100.96.0.1", at(time.Hour))
	a.ProductType, a.Spec, a.RenewalStatus, a.RenewPeriod = moat.ProductDdosDip, fullSpec(), moat.RenewalAuto, 36
	b := inst("ddoscoo-cn-billing002", acctA, mainl, "100.64.0.1", at(2*time.Hour))
	b.ProductType, b.Spec, b.RenewalStatus, b.RenewPeriod = moat.ProductDdoscooIntl, otherSpec(), moat.RenewalNone, 12
	// Zero values are values: a store must not put its defaults in.
	c := inst("ddoscoo-cn-billing003", acctA, mainl, "100.64.0.2", at(3*time.Hour))
	c.ProductType, c.Spec, c.RenewalStatus, c.RenewPeriod = "", moat.Spec{}, "", 0
	insert(t, s, a, b, c)
	for _, want := range []moat.Instance{a, b, c} {
		readEverywhere(t, s, want)
	}
}

func testInstanceBillingUpdate(t *testing.T, s moat.Store) {
	first, second := fullSpec(), otherSpec()
	everyFieldSet(t, "otherSpec", second)
	fv, sv := reflect.ValueOf(first), reflect.ValueOf(second)
	for i := 0; i < fv.NumField(); i++ {
		if fv.Field(i).Interface() == sv.Field(i).Interface() {
			t.Fatalf("fixtures fullSpec and otherSpec agree on %s", fv.Type().Field(i).Name)
		}
	}
	in := inst("ddoscoo-cn-bupdate01", acctA, mainl, "100.64.0.1", at(time.Hour))
	in.ProductType, in.Spec, in.RenewalStatus, in.RenewPeriod = moat.ProductDdoscoo, first, moat.RenewalManual, 1
	other := inst("ddoscoo-cn-bupdate02", acctA, mainl, "100.64.0.2", at(time.Hour))
	other.ProductType, other.Spec, other.RenewalStatus, other.RenewPeriod = moat.ProductDdoscoo, first, moat.RenewalManual, 1
	insert(t, s, in, other)

	in.Spec, in.RenewalStatus, in.RenewPeriod = second, moat.RenewalAuto, 24
	update(t, s, func(tx moat.Tx) error {
		if err := tx.UpdateInstance(&in); err != nil {
			return err
		}
		got, err := tx.Instance(in.ID)
		if err != nil {
			return err
		}
		if d := diffInstance(got, in); d != "" {
			t.Errorf("Tx.Instance after UpdateInstance, same Update: %s", d)
		}
		return nil
	})
	readEverywhere(t, s, in)
	readEverywhere(t, s, other) // untouched
	f := owner(acctA, mainl)
	f.RenewalStatus = moat.RenewalAuto
	checkFilter(t, s, f, in.ID)
	f.RenewalStatus = moat.RenewalManual
	checkFilter(t, s, f, other.ID)

	// And to zero values.
	in.Spec, in.RenewalStatus, in.RenewPeriod = moat.Spec{}, moat.RenewalNone, 0
	update(t, s, func(tx moat.Tx) error { return tx.UpdateInstance(&in) })
	readEverywhere(t, s, in)
	f.RenewalStatus = moat.RenewalAuto
	checkFilter(t, s, f)
}

func testAccountResourceGroup(t *testing.T, s moat.Store) {
	want := map[string]string{acctA: "rg-acfm2pz25js4xyz", acctB: ""}
	update(t, s, func(tx moat.Tx) error {
		for id, rg := range want {
			if err := tx.InsertAccount(moat.Account{ID: id, CreatedAt: base, ResourceGroupID: rg}); err != nil {
				return err
			}
		}
		return nil
	})
	for id, rg := range want {
		if a, err := s.Account(t.Context(), id); err != nil || a.ResourceGroupID != rg {
			t.Errorf("Reader.Account(%s) = %+v, %v; want ResourceGroupID %q", id, a, err, rg)
		}
	}
	update(t, s, func(tx moat.Tx) error {
		for id, rg := range want {
			if a, err := tx.Account(id); err != nil || a.ResourceGroupID != rg {
				t.Errorf("Tx.Account(%s) = %+v, %v; want ResourceGroupID %q", id, a, err, rg)
			}
		}
		return nil
	})
}

func diffToken(got, want moat.ClientToken) string {
	var d []string
	if got.AccountID != want.AccountID || got.Action != want.Action || got.Token != want.Token {
		d = append(d, fmt.Sprintf("key = (%q, %q, %q), want (%q, %q, %q)", got.AccountID, got.Action, got.Token, want.AccountID, want.Action, want.Token))
	}
	if got.ParamsHash != want.ParamsHash || got.InstanceID != want.InstanceID || got.OrderID != want.OrderID {
		d = append(d, fmt.Sprintf("ParamsHash, InstanceID, OrderID = %q, %q, %q; want %q, %q, %q",
			got.ParamsHash, got.InstanceID, got.OrderID, want.ParamsHash, want.InstanceID, want.OrderID))
	}
	if s := checkTime("CreatedAt", got.CreatedAt, want.CreatedAt); s != "" {
		d = append(d, s)
	}
	return strings.Join(d, "; ")
}

// wantToken checks, inside an Update, the record of a token; nil want
// means ErrNotFound.
func wantToken(t *testing.T, tx moat.Tx, acct, action, token string, want *moat.ClientToken) {
	t.Helper()
	got, err := tx.ClientToken(acct, action, token)
	if want == nil {
		if !errors.Is(err, moat.ErrNotFound) {
			t.Errorf("ClientToken(%s, %s, %s) = %+v, %v; want ErrNotFound", acct, action, token, got, err)
		}
		return
	}
	if err != nil {
		t.Errorf("ClientToken(%s, %s, %s): %v", acct, action, token, err)
		return
	}
	if d := diffToken(got, *want); d != "" {
		t.Errorf("ClientToken(%s, %s, %s): %s", acct, action, token, d)
	}
}

func testClientTokenRoundTrip(t *testing.T, s moat.Store) {
	rec := moat.ClientToken{AccountID: acctA, Action: "CreateInstance", Token: "0c1f-Token_1.x",
		ParamsHash: "3a7bd3e2360a3d29eea436fcfb7e44c735d117c42d1c1835420b6b9942dd4f1b",
		InstanceID: "ddoscoo-cn-token00001", OrderID: "210000000000001", CreatedAt: at(-time.Hour).In(east)}
	update(t, s, func(tx moat.Tx) error {
		wantToken(t, tx, rec.AccountID, rec.Action, rec.Token, nil)
		if err := tx.PutClientToken(rec); err != nil {
			return err
		}
		wantToken(t, tx, rec.AccountID, rec.Action, rec.Token, &rec) // its own write
		return nil
	})
	update(t, s, func(tx moat.Tx) error {
		wantToken(t, tx, rec.AccountID, rec.Action, rec.Token, &rec)
		return nil
	})

	// A second put of the same key replaces every value.
	replaced := rec
	replaced.ParamsHash, replaced.InstanceID, replaced.OrderID, replaced.CreatedAt = "other-hash", "ddoscoo-cn-token00002", "210000000000002", at(25*time.Hour)
	update(t, s, func(tx moat.Tx) error { return tx.PutClientToken(replaced) })
	update(t, s, func(tx moat.Tx) error {
		wantToken(t, tx, rec.AccountID, rec.Action, rec.Token, &replaced)
		return nil
	})

	// A put in a failed Update is not kept.
	failed := errors.New("rolled back")
	err := s.Update(t.Context(), func(tx moat.Tx) error {
		lost := rec
		lost.OrderID = "lost"
		if err := tx.PutClientToken(lost); err != nil {
			return err
		}
		return failed
	})
	if !errors.Is(err, failed) {
		t.Fatalf("failing Update = %v", err)
	}
	update(t, s, func(tx moat.Tx) error {
		wantToken(t, tx, rec.AccountID, rec.Action, rec.Token, &replaced)
		return nil
	})
}

func testClientTokenIsolation(t *testing.T, s moat.Store) {
	keys := []struct{ acct, action, token string }{
		{acctA, "CreateInstance", "tok"},
		{acctB, "CreateInstance", "tok"}, // another account
		{acctA, "RenewInstance", "tok"},  // another action
		{acctA, "CreateInstance", "TOK"}, // tokens are case-sensitive
		{acctA, "CreateInstance", "tok2"},
	}
	recs := make([]moat.ClientToken, len(keys))
	for i, k := range keys {
		recs[i] = moat.ClientToken{AccountID: k.acct, Action: k.action, Token: k.token, ParamsHash: fmt.Sprint("hash-", i),
			InstanceID: fmt.Sprint("ddoscoo-cn-iso", i), OrderID: fmt.Sprint(300000000000000 + i), CreatedAt: at(time.Duration(i) * time.Minute)}
	}
	update(t, s, func(tx moat.Tx) error { return tx.PutClientToken(recs[0]) })
	update(t, s, func(tx moat.Tx) error {
		wantToken(t, tx, keys[0].acct, keys[0].action, keys[0].token, &recs[0])
		for _, k := range keys[1:] {
			wantToken(t, tx, k.acct, k.action, k.token, nil)
		}
		return nil
	})
	update(t, s, func(tx moat.Tx) error {
		for _, r := range recs[1:] {
			if err := tx.PutClientToken(r); err != nil {
				return err
			}
		}
		return nil
	})
	update(t, s, func(tx moat.Tx) error {
		for i, k := range keys {
			wantToken(t, tx, k.acct, k.action, k.token, &recs[i])
		}
		return nil
	})
}

func testFilterAnyRegion(t *testing.T, s moat.Store) {
	aM := inst("ddoscoo-cn-any1", acctA, mainl, "100.64.0.1", at(time.Hour))
	aO := inst("ddosDip-sg-any2", acctA, overs, "100.64.0.1", at(2*time.Hour)) // the same IP, another region
	bM := inst("ddoscoo-cn-any3", acctB, mainl, "100.64.0.2", at(time.Hour))
	bO := inst("ddosDip-sg-any4", acctB, overs, "100.96.0.2", at(time.Hour))
	aM2 := inst("ddoscoo-cn-any5", acctA, mainl, "100.64.0.3", at(3*time.Hour))
	aO2 := inst("ddosDip-sg-any6", acctA, overs, "100.96.0.3", at(4*time.Hour))
	insert(t, s, aM, aO, bM)
	insert(t, s, bO, aM2, aO2)
	setTags(t, s, aM.ID, moat.Tag{Key: "env", Value: "dev"})
	setTags(t, s, aO.ID, moat.Tag{Key: "env", Value: "prod"})
	setTags(t, s, aM2.ID, moat.Tag{Key: "env", Value: "prod"}, moat.Tag{Key: "team", Value: "red"})
	setTags(t, s, bM.ID, moat.Tag{Key: "env", Value: "prod"})

	anyRegion := func(mod func(f *moat.InstanceFilter)) moat.InstanceFilter {
		f := moat.InstanceFilter{AccountID: acctA}
		mod(&f)
		return f
	}
	all := anyRegion(func(*moat.InstanceFilter) {})
	// Both regions, in insertion order across them.
	checkFilter(t, s, all, aM.ID, aO.ID, aM2.ID, aO2.ID)
	if n, m, o := count(t, s, all), count(t, s, owner(acctA, mainl)), count(t, s, owner(acctA, overs)); n != m+o {
		t.Errorf("CountInstances over every region = %d, want mainland %d + overseas %d", n, m, o)
	}
	checkFilter(t, s, moat.InstanceFilter{AccountID: acctB}, bM.ID, bO.ID)
	checkFilter(t, s, moat.InstanceFilter{AccountID: "1000000000000009"})
	kv := func(k, v string) moat.TagFilter { return moat.TagFilter{Key: k, Value: v, HasValue: true} }
	checkFilter(t, s, anyRegion(func(f *moat.InstanceFilter) { f.Tags = []moat.TagFilter{{Key: "env"}} }), aM.ID, aO.ID, aM2.ID)
	checkFilter(t, s, anyRegion(func(f *moat.InstanceFilter) { f.Tags = []moat.TagFilter{kv("env", "prod")} }), aO.ID, aM2.ID)
	checkFilter(t, s, anyRegion(func(f *moat.InstanceFilter) { f.Tags = []moat.TagFilter{kv("env", "prod"), {Key: "team"}} }), aM2.ID)
	checkFilter(t, s, anyRegion(func(f *moat.InstanceFilter) { f.IDs = []string{aO2.ID, bO.ID, aM.ID} }), aM.ID, aO2.ID)
	checkFilter(t, s, anyRegion(func(f *moat.InstanceFilter) { f.IP = "100.64.0.1" }), aM.ID, aO.ID)
	checkFilter(t, s, anyRegion(func(f *moat.InstanceFilter) { f.ExpireFrom = ptr(at(2 * time.Hour)) }), aO.ID, aM2.ID, aO2.ID)
	checkFilter(t, s, anyRegion(func(f *moat.InstanceFilter) { f.Edition = ptr(moat.EditionInsurance) }), aO.ID, aO2.ID)
}

func testFilterCreateTime(t *testing.T, s moat.Store) {
	mk := func(id, ip string, created time.Time) moat.Instance {
		in := inst(id, acctA, mainl, ip, at(24*time.Hour))
		in.CreateTime = created
		return in
	}
	later := mk("ddoscoo-cn-cr-later", "100.64.0.4", at(time.Hour))
	exact := mk("ddoscoo-cn-cr-exact", "100.64.0.2", base.In(east))
	before := mk("ddoscoo-cn-cr-before", "100.64.0.1", at(-time.Millisecond))
	after := mk("ddoscoo-cn-cr-after", "100.64.0.3", at(time.Millisecond))
	other := inst("ddosDip-sg-cr-other", acctA, overs, "100.96.0.1", at(24*time.Hour))
	other.CreateTime = base
	insert(t, s, later, exact, before, after, other)
	for _, c := range []struct {
		name         string
		from, before *time.Time
		want         []string
	}{
		{"from base", ptr(base), nil, []string{later.ID, exact.ID, after.ID}},
		{"from base in another zone", ptr(base.In(east)), nil, []string{later.ID, exact.ID, after.ID}},
		{"from base+1ms", ptr(at(time.Millisecond)), nil, []string{later.ID, after.ID}},
		{"from base-1ms", ptr(at(-time.Millisecond)), nil, []string{later.ID, exact.ID, before.ID, after.ID}},
		{"from after the last", ptr(at(time.Hour + time.Millisecond)), nil, nil},
		{"before base", nil, ptr(base), []string{before.ID}},
		{"before base+1ms", nil, ptr(at(time.Millisecond)), []string{exact.ID, before.ID}},
		{"before base-1ms", nil, ptr(at(-time.Millisecond)), nil},
		{"[base, base+1h)", ptr(base), ptr(at(time.Hour)), []string{exact.ID, after.ID}},
		{"[base, base+1h]", ptr(base), ptr(at(time.Hour + time.Millisecond)), []string{later.ID, exact.ID, after.ID}},
	} {
		f := owner(acctA, mainl)
		f.CreateFrom, f.CreateBefore = c.from, c.before
		checkFilter(t, s, f, c.want...)
	}
	f := moat.InstanceFilter{AccountID: acctA, CreateFrom: ptr(base), CreateBefore: ptr(at(time.Millisecond))}
	checkFilter(t, s, f, exact.ID, other.ID)
}

func testFilterRenewalStatus(t *testing.T, s moat.Store) {
	mk := func(id, ip string, r moat.RenewalStatus) moat.Instance {
		in := inst(id, acctA, mainl, ip, at(time.Hour))
		in.RenewalStatus = r
		return in
	}
	manual := mk("ddoscoo-cn-rs1", "100.64.0.1", moat.RenewalManual)
	auto1 := mk("ddoscoo-cn-rs2", "100.64.0.2", moat.RenewalAuto)
	none := mk("ddoscoo-cn-rs3", "100.64.0.3", moat.RenewalNone)
	auto2 := mk("ddoscoo-cn-rs4", "100.64.0.4", moat.RenewalAuto)
	foreign := inst("ddoscoo-cn-rs5", acctB, mainl, "100.64.0.5", at(time.Hour))
	foreign.RenewalStatus = moat.RenewalAuto
	insert(t, s, manual, auto1, none, auto2, foreign)
	for _, c := range []struct {
		status moat.RenewalStatus
		want   []string
	}{
		{moat.RenewalAuto, []string{auto1.ID, auto2.ID}},
		{moat.RenewalManual, []string{manual.ID}},
		{moat.RenewalNone, []string{none.ID}},
		{"autorenewal", nil},
		{"Auto", nil},
	} {
		f := owner(acctA, mainl)
		f.RenewalStatus = c.status
		checkFilter(t, s, f, c.want...)
	}
}

func testFilterProductType(t *testing.T, s moat.Store) {
	mk := func(id string, r moat.Region, ip string, p moat.ProductType) moat.Instance {
		in := inst(id, acctA, r, ip, at(time.Hour))
		in.ProductType = p
		return in
	}
	cn := mk("ddoscoo-cn-pt1", mainl, "100.64.0.1", moat.ProductDdoscoo)
	intl := mk("ddoscoo-cn-pt2", mainl, "100.64.0.2", moat.ProductDdoscooIntl)
	dip := mk("ddosDip-sg-pt3", overs, "100.96.0.3", moat.ProductDdosDip)
	cn2 := mk("ddoscoo-cn-pt4", mainl, "100.64.0.4", moat.ProductDdoscoo)
	insert(t, s, cn, intl, dip, cn2)
	for _, c := range []struct {
		region  moat.Region
		product moat.ProductType
		want    []string
	}{
		{mainl, moat.ProductDdoscoo, []string{cn.ID, cn2.ID}}, // not ddoscoo_intl: no prefix match
		{mainl, moat.ProductDdoscooIntl, []string{intl.ID}},
		{mainl, moat.ProductDdosDip, nil},
		{overs, moat.ProductDdoscoo, nil},
		{"", moat.ProductDdosDip, []string{dip.ID}},
		{"", moat.ProductDdoscoo, []string{cn.ID, cn2.ID}},
		{"", "ddos", nil},
		{"", "DDOSCOO", nil},
	} {
		f := moat.InstanceFilter{AccountID: acctA, Region: c.region, ProductType: c.product}
		checkFilter(t, s, f, c.want...)
	}
}

// ---- Tags ----

// txTags reads an instance's tags through Tx.Tags, sorted by key (the
// contract does not order them).
func txTags(t *testing.T, s moat.Store, id string) []moat.Tag {
	t.Helper()
	var out []moat.Tag
	update(t, s, func(tx moat.Tx) error {
		got, err := tx.Tags(id)
		if err != nil {
			return fmt.Errorf("Tx.Tags(%s): %w", id, err)
		}
		out = slices.Clone(got)
		return nil
	})
	slices.SortFunc(out, func(a, b moat.Tag) int { return strings.Compare(a.Key, b.Key) })
	return out
}

func wantTags(t *testing.T, s moat.Store, id string, want ...moat.Tag) {
	t.Helper()
	if got := txTags(t, s, id); !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
		t.Errorf("Tx.Tags(%s) = %+v, want %+v", id, got, want)
	}
}

func testTagsUpsert(t *testing.T, s moat.Store) {
	a := inst("ddoscoo-cn-upsert01", acctA, mainl, "100.64.0.1", at(time.Hour))
	b := inst("ddoscoo-cn-upsert02", acctA, mainl, "100.64.0.2", at(time.Hour))
	insert(t, s, a, b)
	wantTags(t, s, a.ID)
	setTags(t, s, a.ID, moat.Tag{Key: "env", Value: "prod"}, moat.Tag{Key: "team", Value: "red"})
	wantTags(t, s, a.ID, moat.Tag{Key: "env", Value: "prod"}, moat.Tag{Key: "team", Value: "red"})
	// env changes value, team stays, owner is added with an empty value.
	update(t, s, func(tx moat.Tx) error {
		if err := tx.SetTags(a.ID, []moat.Tag{{Key: "env", Value: "dev"}, {Key: "owner", Value: ""}}); err != nil {
			return err
		}
		got, err := tx.Tags(a.ID)
		if err != nil {
			return err
		}
		if len(got) != 3 {
			t.Errorf("Tx.Tags in the Update that set them = %+v, want 3 tags", got)
		}
		return nil
	})
	want := []moat.Tag{{Key: "env", Value: "dev"}, {Key: "owner", Value: ""}, {Key: "team", Value: "red"}}
	wantTags(t, s, a.ID, want...)
	wantTags(t, s, b.ID)
	// Filters see the new value only.
	f := owner(acctA, mainl)
	f.Tags = []moat.TagFilter{{Key: "env", Value: "prod", HasValue: true}}
	checkFilter(t, s, f)
	f.Tags = []moat.TagFilter{{Key: "env", Value: "dev", HasValue: true}}
	checkFilter(t, s, f, a.ID)
	got, err := s.TagsOf(t.Context(), []string{a.ID})
	if err != nil || !slices.Equal(got[a.ID], want) {
		t.Errorf("TagsOf(%s) = %+v, %v; want %+v", a.ID, got, err, want)
	}
}

func testTagsDelete(t *testing.T, s moat.Store) {
	a := inst("ddoscoo-cn-untag01", acctA, mainl, "100.64.0.1", at(time.Hour))
	b := inst("ddoscoo-cn-untag02", acctA, mainl, "100.64.0.2", at(time.Hour))
	c := inst("ddoscoo-cn-untag03", acctA, mainl, "100.64.0.3", at(time.Hour))
	insert(t, s, a, b, c)
	tg := func(k, v string) moat.Tag { return moat.Tag{Key: k, Value: v} }
	setTags(t, s, a.ID, tg("env", "prod"), tg("team", "red"), tg("owner", "ann"), tg("cost", "7"))
	setTags(t, s, b.ID, tg("env", "dev"), tg("team", "blue"))
	del := func(id string, keys []string) {
		t.Helper()
		update(t, s, func(tx moat.Tx) error { return tx.DeleteTags(id, keys) })
	}
	del(a.ID, []string{"team", "absent"})
	wantTags(t, s, a.ID, tg("cost", "7"), tg("env", "prod"), tg("owner", "ann"))
	wantTags(t, s, b.ID, tg("env", "dev"), tg("team", "blue"))
	del(a.ID, []string{"env", "cost"})
	wantTags(t, s, a.ID, tg("owner", "ann"))
	setTags(t, s, a.ID, tg("env", "again"))
	del(a.ID, nil)
	wantTags(t, s, a.ID)
	wantTags(t, s, b.ID, tg("env", "dev"), tg("team", "blue"))
	del(c.ID, nil) // an instance without tags
	del(c.ID, []string{"env"})
	wantTags(t, s, c.ID)
	f := owner(acctA, mainl)
	f.Tags = []moat.TagFilter{{Key: "env"}}
	checkFilter(t, s, f, b.ID)
	f.Tags = []moat.TagFilter{{Key: "owner"}}
	checkFilter(t, s, f)
	del(b.ID, nil)
	wantTags(t, s, b.ID)
	if keys, n, err := s.TagKeys(t.Context(), acctA, mainl, "", 0, 10); err != nil || len(keys) != 0 || n != 0 {
		t.Errorf("TagKeys after deleting every tag = %+v, %d, %v; want none", keys, n, err)
	}

	// A delete in a failed Update is not kept.
	setTags(t, s, a.ID, tg("env", "prod"))
	failed := errors.New("rolled back")
	if err := s.Update(t.Context(), func(tx moat.Tx) error {
		if err := tx.DeleteTags(a.ID, nil); err != nil {
			return err
		}
		return failed
	}); !errors.Is(err, failed) {
		t.Fatalf("failing Update = %v", err)
	}
	wantTags(t, s, a.ID, tg("env", "prod"))
}

func testTagsListingVersion(t *testing.T, s moat.Store) {
	in := inst("ddoscoo-cn-tagver01", acctA, mainl, "100.64.0.1", at(time.Hour))
	otherAcct := inst("ddoscoo-cn-tagver02", acctB, mainl, "100.64.0.2", at(time.Hour))
	otherRegion := inst("ddosDip-sg-tagver03", acctA, overs, "100.96.0.3", at(time.Hour))
	insert(t, s, in, otherAcct, otherRegion)
	ver := func(acct string, r moat.Region) (int64, int64) {
		t.Helper()
		n, v, err := s.ListingVersion(t.Context(), acct, r)
		if err != nil {
			t.Fatalf("ListingVersion(%s, %s): %v", acct, r, err)
		}
		return n, v
	}
	_, v0 := ver(acctA, mainl)
	seen := map[int64]bool{v0: true}
	for _, step := range []struct {
		what string
		fn   func(tx moat.Tx) error
	}{
		{"SetTags of a new key", func(tx moat.Tx) error { return tx.SetTags(in.ID, []moat.Tag{{Key: "env", Value: "prod"}}) }},
		{"SetTags of a new value", func(tx moat.Tx) error { return tx.SetTags(in.ID, []moat.Tag{{Key: "env", Value: "dev"}}) }},
		{"SetTags of two keys", func(tx moat.Tx) error {
			return tx.SetTags(in.ID, []moat.Tag{{Key: "a", Value: "1"}, {Key: "b", Value: "2"}})
		}},
		{"DeleteTags of a key", func(tx moat.Tx) error { return tx.DeleteTags(in.ID, []string{"a"}) }},
		{"DeleteTags of every key", func(tx moat.Tx) error { return tx.DeleteTags(in.ID, nil) }},
	} {
		_, otherAcctBefore := ver(acctB, mainl)
		_, otherRegionBefore := ver(acctA, overs)
		update(t, s, step.fn)
		n, v := ver(acctA, mainl)
		if n != 1 || seen[v] {
			t.Errorf("after %s: ListingVersion = %d, %d; want count 1 and a version not seen before (%v)", step.what, n, v, seen)
		}
		seen[v] = true
		if _, after := ver(acctB, mainl); after != otherAcctBefore {
			t.Errorf("after %s: another account's version moved %d -> %d", step.what, otherAcctBefore, after)
		}
		if _, after := ver(acctA, overs); after != otherRegionBefore {
			t.Errorf("after %s: another region's version moved %d -> %d", step.what, otherRegionBefore, after)
		}
	}
}

func testTagsOf(t *testing.T, s moat.Store) {
	a := inst("ddoscoo-cn-tagsof01", acctA, mainl, "100.64.0.1", at(time.Hour))
	b := inst("ddoscoo-cn-tagsof02", acctA, mainl, "100.64.0.2", at(time.Hour))
	c := inst("ddoscoo-cn-tagsof03", acctA, mainl, "100.64.0.3", at(time.Hour)) // no tags
	d := inst("ddosDip-sg-tagsof04", acctB, overs, "100.96.0.4", at(time.Hour)) // not asked for
	insert(t, s, a, b, c, d)
	// Written out of order; sorted by key means byte order, as Go sorts
	// strings: upper case before lower, multibyte last.
	setTags(t, s, a.ID, moat.Tag{Key: "zeta", Value: "1"}, moat.Tag{Key: "ñandú", Value: "2"}, moat.Tag{Key: "alpha", Value: "3"},
		moat.Tag{Key: "Mid", Value: "4"}, moat.Tag{Key: "a b", Value: ""})
	setTags(t, s, b.ID, moat.Tag{Key: "env", Value: "prod"})
	setTags(t, s, d.ID, moat.Tag{Key: "env", Value: "prod"})
	wantA := []moat.Tag{{Key: "Mid", Value: "4"}, {Key: "a b", Value: ""}, {Key: "alpha", Value: "3"}, {Key: "zeta", Value: "1"}, {Key: "ñandú", Value: "2"}}
	if !slices.IsSortedFunc(wantA, func(x, y moat.Tag) int { return strings.Compare(x.Key, y.Key) }) {
		t.Fatal("fixture wantA is not in byte order")
	}
	check := func(when string, ask []string, want map[string][]moat.Tag) {
		t.Helper()
		got, err := s.TagsOf(t.Context(), ask)
		if err != nil {
			t.Fatalf("%s: TagsOf(%q): %v", when, ask, err)
		}
		for id, tags := range got {
			if len(tags) > 0 && !slices.Contains(ask, id) {
				t.Errorf("%s: TagsOf(%q) answers for %s, which was not asked", when, ask, id)
			}
		}
		for _, id := range ask {
			if g, w := got[id], want[id]; !slices.Equal(g, w) && !(len(g) == 0 && len(w) == 0) {
				t.Errorf("%s: TagsOf(%q)[%s] = %+v, want %+v", when, ask, id, g, w)
			}
		}
	}
	check("several", []string{b.ID, a.ID, c.ID, "ddoscoo-cn-unknown"}, map[string][]moat.Tag{a.ID: wantA, b.ID: {{Key: "env", Value: "prod"}}})
	check("one", []string{b.ID}, map[string][]moat.Tag{b.ID: {{Key: "env", Value: "prod"}}})
	check("none", nil, nil)
	if got, err := s.TagsOf(t.Context(), nil); err != nil || got == nil {
		t.Errorf("TagsOf(nil) = %v, %v; want an empty map", got, err)
	}
	deleteInstance(t, s, b.ID)
	check("after a delete", []string{a.ID, b.ID}, map[string][]moat.Tag{a.ID: wantA})
}

func testTagKeys(t *testing.T, s moat.Store) {
	tg := func(k, v string) moat.Tag { return moat.Tag{Key: k, Value: v} }
	a1 := inst("ddoscoo-cn-keys01", acctA, mainl, "100.64.0.1", at(time.Hour))
	a2 := inst("ddoscoo-cn-keys02", acctA, mainl, "100.64.0.2", at(time.Hour))
	a3 := inst("ddoscoo-cn-keys03", acctA, mainl, "100.64.0.3", at(time.Hour))
	a4 := inst("ddoscoo-cn-keys04", acctA, mainl, "100.64.0.4", at(time.Hour)) // no tags
	o1 := inst("ddosDip-sg-keys05", acctA, overs, "100.96.0.5", at(time.Hour))
	b1 := inst("ddoscoo-cn-keys06", acctB, mainl, "100.64.0.6", at(time.Hour))
	insert(t, s, a1, a2, a3, a4, o1, b1)
	setTags(t, s, a1.ID, tg("env", "prod"), tg("team", "red"))
	setTags(t, s, a2.ID, tg("env", "dev"))
	setTags(t, s, a3.ID, tg("env", "prod"), tg("cost", "1"), tg("Zone", "x"))
	setTags(t, s, o1.ID, tg("env", "x"), tg("overseas", "1"))
	setTags(t, s, b1.ID, tg("env", "prod"), tg("foreign", "1"))
	kc := func(k string, n int64) moat.TagKeyCount { return moat.TagKeyCount{Key: k, Count: n} }
	check := func(when, acct string, r moat.Region, offset, limit int, want []moat.TagKeyCount, total int64) {
		t.Helper()
		got, n, err := s.TagKeys(t.Context(), acct, r, "", offset, limit)
		if err != nil {
			t.Fatalf("%s: TagKeys(%s, %s, %d, %d): %v", when, acct, r, offset, limit, err)
		}
		if !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) || n != total {
			t.Errorf("%s: TagKeys(%s, %s, offset %d, limit %d) = %+v, %d; want %+v, %d", when, acct, r, offset, limit, got, n, want, total)
		}
	}
	all := []moat.TagKeyCount{kc("Zone", 1), kc("cost", 1), kc("env", 3), kc("team", 1)}
	check("all", acctA, mainl, 0, 10, all, 4)
	check("exact fit", acctA, mainl, 0, 4, all, 4)
	check("first page", acctA, mainl, 0, 2, all[:2], 4)
	check("middle", acctA, mainl, 1, 2, all[1:3], 4)
	check("last", acctA, mainl, 3, 2, all[3:], 4)
	check("past the end", acctA, mainl, 4, 10, nil, 4)
	check("other region", acctA, overs, 0, 10, []moat.TagKeyCount{kc("env", 1), kc("overseas", 1)}, 2)
	check("other account", acctB, mainl, 0, 10, []moat.TagKeyCount{kc("env", 1), kc("foreign", 1)}, 2)
	check("no tags there", acctB, overs, 0, 10, nil, 0)
	check("unknown account", "1000000000000009", mainl, 0, 10, nil, 0)

	deleteInstance(t, s, a3.ID)
	check("after a delete", acctA, mainl, 0, 10, []moat.TagKeyCount{kc("env", 2), kc("team", 1)}, 2)
	update(t, s, func(tx moat.Tx) error { return tx.DeleteTags(a1.ID, []string{"team"}) })
	setTags(t, s, a2.ID, tg("env", "changed")) // a new value is still one instance
	check("after DeleteTags", acctA, mainl, 0, 10, []moat.TagKeyCount{kc("env", 2)}, 1)
}

func testUpdatePhase(t *testing.T, s moat.Store) {
	in := inst("ddoscoo-cn-phase00001", acctA, mainl, "100.64.8.1", at(time.Hour))
	insert(t, s, in)
	_, before, err := s.ListingVersion(t.Context(), acctA, mainl)
	if err != nil {
		t.Fatal(err)
	}
	update(t, s, func(tx moat.Tx) error { return tx.UpdatePhase(in.ID, moat.PhaseStopped) })
	got := readInstance(t, s, in.ID)
	want := in
	want.Phase = moat.PhaseStopped
	if d := diffInstance(got, want); d != "" {
		t.Errorf("after UpdatePhase: %s", d)
	}
	if _, after, _ := s.ListingVersion(t.Context(), acctA, mainl); after != before {
		t.Errorf("UpdatePhase moved the listing version %d -> %d", before, after)
	}
	err = s.Update(t.Context(), func(tx moat.Tx) error { return tx.UpdatePhase("ddoscoo-cn-nosuch0001", moat.PhaseExpired) })
	if !errors.Is(err, moat.ErrNotFound) {
		t.Errorf("UpdatePhase of a missing instance = %v, want ErrNotFound", err)
	}
}

func testEventsOfReleased(t *testing.T, s moat.Store) {
	a := inst("ddoscoo-cn-evrel00001", acctA, mainl, "100.64.7.1", at(-time.Hour))
	b := inst("ddoscoo-cn-evrel00002", acctA, mainl, "100.64.7.2", at(-time.Hour))
	insert(t, s, a, b)
	ev := func(id string, typ moat.EventType) *moat.Event {
		return &moat.Event{Time: base, RecordedAt: base, InstanceID: id, AccountID: acctA, Region: mainl, Type: typ}
	}
	update(t, s, func(tx moat.Tx) error {
		for _, e := range []*moat.Event{ev(a.ID, moat.EventCreated), ev(b.ID, moat.EventCreated), ev(a.ID, moat.EventExpired)} {
			if err := tx.AppendEvent(e); err != nil {
				return err
			}
		}
		return nil
	})
	// Released as the domain does it: delete, tombstone, then the event.
	update(t, s, func(tx moat.Tx) error {
		if err := tx.DeleteInstance(a.ID); err != nil {
			return err
		}
		if err := tx.InsertTombstone(moat.Tombstone{InstanceID: a.ID, AccountID: acctA, Region: mainl, ReleasedAt: base}); err != nil {
			return err
		}
		return tx.AppendEvent(ev(a.ID, moat.EventReleased))
	})
	var types []moat.EventType
	for _, e := range events(t, s, moat.EventFilter{InstanceID: a.ID}) {
		if e.InstanceID != a.ID {
			t.Errorf("Events(InstanceID %s) lists an event of %s", a.ID, e.InstanceID)
		}
		types = append(types, e.Type)
	}
	if want := []moat.EventType{moat.EventCreated, moat.EventExpired, moat.EventReleased}; !slices.Equal(types, want) {
		t.Errorf("events of the released instance = %v, want %v", types, want)
	}
	if got := events(t, s, moat.EventFilter{InstanceID: b.ID}); len(got) != 1 || got[0].Type != moat.EventCreated {
		t.Errorf("events of the live instance = %+v, want its created event", got)
	}
	if got := events(t, s, moat.EventFilter{InstanceID: "ddoscoo-cn-neverexist1"}); len(got) != 0 {
		t.Errorf("events of an unknown ID = %+v, want none", got)
	}
}
