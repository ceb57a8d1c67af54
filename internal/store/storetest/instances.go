package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"moat/internal/moat"
)

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
