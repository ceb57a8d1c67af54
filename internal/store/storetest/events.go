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
