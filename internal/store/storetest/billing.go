package storetest

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"moat/internal/moat"
)

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
