package storetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"moat/internal/moat"
)

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
