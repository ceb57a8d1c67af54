package moat

import (
	"slices"
	"testing"
	"time"
)

func TestDueTransitions(t *testing.T) {
	exp := time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC)
	stop := exp.Add(ForwardingGrace)
	far := exp.Add(365 * 24 * time.Hour)
	type tr struct {
		typ EventType
		at  time.Time
	}
	cases := []struct {
		name  string
		phase Phase
		now   time.Time
		until time.Time
		want  []tr
	}{
		{"before expiry nothing is due", PhaseActive, exp.Add(-time.Millisecond), far, nil},
		{"at expiry it expires", PhaseActive, exp, far, []tr{{EventExpired, exp}}},
		{"one ms before the stop only the expiry", PhaseActive, stop.Add(-time.Millisecond), far, []tr{{EventExpired, exp}}},
		{"caught up after downtime: both, in order", PhaseActive, stop.Add(time.Hour), far, []tr{{EventExpired, exp}, {EventForwardingStopped, stop}}},
		{"already expired: only the stop", PhaseExpired, stop, far, []tr{{EventForwardingStopped, stop}}},
		{"already expired, stop not due", PhaseExpired, stop.Add(-time.Millisecond), far, nil},
		{"already stopped: nothing", PhaseStopped, far, far, nil},
		{"released before the stop owes no stop", PhaseExpired, far, exp.Add(48 * time.Hour), nil},
		{"released at expiry+2d from active owes the expiry", PhaseActive, far, exp.Add(48 * time.Hour), []tr{{EventExpired, exp}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// The lifecycle's events; the notices before expiry are
			// TestNoticeTransitions'.
			in := &Instance{ExpireTime: exp, Phase: max(c.phase, PhaseNotified1)}
			got := dueTransitions(in, c.now, c.until)
			if len(got) != len(c.want) {
				t.Fatalf("got %d transitions %+v, want %+v", len(got), got, c.want)
			}
			for i := range got {
				if got[i].typ != c.want[i].typ || !got[i].at.Equal(c.want[i].at) {
					t.Fatalf("transition %d = %s at %s, want %s at %s", i, got[i].typ, got[i].at, c.want[i].typ, c.want[i].at)
				}
			}
		})
	}
}

// TestNoticeTransitions pins the "expiring" notices 7, 3 and 1 days
// before expiry: each due at its instant, caught up in order after
// downtime, none once sent, and an instance whose expiry is set late
// (created or renewed) starts past the notices whose time has come.
func TestNoticeTransitions(t *testing.T) {
	exp := time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC)
	far := exp.Add(365 * Day)
	notices := func(phase Phase, now time.Time) []int {
		var out []int
		for _, tr := range dueTransitions(&Instance{ExpireTime: exp, Phase: phase}, now, far) {
			if tr.notice > 0 {
				out = append(out, tr.notice)
			}
		}
		return out
	}
	cases := []struct {
		name  string
		phase Phase
		now   time.Time
		want  []int
	}{
		{"8 days before: none", PhaseActive, exp.Add(-8 * Day), nil},
		{"1 ms before 7 days: none", PhaseActive, exp.Add(-7*Day - time.Millisecond), nil},
		{"at 7 days: the 7-day notice", PhaseActive, exp.Add(-7 * Day), []int{7}},
		{"at 3 days from active: 7 then 3", PhaseActive, exp.Add(-3 * Day), []int{7, 3}},
		{"at 3 days after the 7-day one: 3", PhaseNotified7, exp.Add(-3 * Day), []int{3}},
		{"after expiry from active: all three", PhaseActive, exp.Add(time.Hour), []int{7, 3, 1}},
		{"all sent: none", PhaseNotified1, far, nil},
		{"expired: none", PhaseExpired, far, nil},
	}
	for _, c := range cases {
		if got := notices(c.phase, c.now); !slices.Equal(got, c.want) {
			t.Errorf("%s: notices %v, want %v", c.name, got, c.want)
		}
	}
	for _, c := range []struct {
		now  time.Time
		want Phase
	}{
		{exp.Add(-30 * Day), PhaseActive},
		{exp.Add(-7 * Day), PhaseNotified7},
		{exp.Add(-2 * Day), PhaseNotified3},
		{exp.Add(-time.Hour), PhaseNotified1},
		{exp.Add(time.Hour), PhaseNotified1}, // the expiry itself is still owed
	} {
		if got := noticePhase(exp, c.now); got != c.want {
			t.Errorf("noticePhase at %s = %d, want %d", c.now, got, c.want)
		}
	}
}

func TestInstanceStateAtBoundaries(t *testing.T) {
	exp := time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC)
	in := &Instance{ExpireTime: exp}
	cases := []struct {
		now        time.Time
		status     int
		forwarding bool
		mitigating bool
	}{
		{exp.Add(-time.Nanosecond), StatusNormal, true, true},
		{exp, StatusExpired, true, false},
		{exp.Add(ForwardingGrace - time.Nanosecond), StatusExpired, true, false},
		{exp.Add(ForwardingGrace), StatusExpired, false, false},
	}
	for _, c := range cases {
		if in.Status(c.now) != c.status || in.Forwarding(c.now) != c.forwarding || in.Mitigating(c.now) != c.mitigating {
			t.Errorf("at %s: status %d forwarding %v mitigating %v; want %d %v %v", c.now, in.Status(c.now), in.Forwarding(c.now), in.Mitigating(c.now), c.status, c.forwarding, c.mitigating)
		}
	}
}

func TestCatalogueKindsAndCodes(t *testing.T) {
	for _, c := range Codes() {
		k, ok := KindOf(c)
		if !ok {
			t.Fatalf("code %s not in catalogue", c)
		}
		if e := Errorf(c, "x"); e.Kind != k || e.Code != c {
			t.Fatalf("Errorf(%s) = %+v", c, e)
		}
	}
	if e := Errorf("NotARealCode", "x"); e.Kind != KindInternal {
		t.Fatalf("an unknown code must become internal, got %v", e.Kind)
	}
	if e := MissingParam("InstanceId"); e.Code != "MissingInstanceId" || e.Message != "InstanceId is mandatory for this action." || e.Kind != KindInvalid {
		t.Fatalf("MissingParam = %+v", e)
	}
}

func TestPools(t *testing.T) {
	p := MustPool("10.0.0.0/30")
	if p.Size() != 2 || IPString(p.Addr(0)) != "10.0.0.1" || IPString(p.Addr(1)) != "10.0.0.2" {
		t.Fatalf("/30 pool: size %d first %s", p.Size(), IPString(p.Addr(0)))
	}
	for _, bad := range []string{"10.0.0.0/31", "::1/64", "nonsense", "10.0.0.0"} {
		if _, err := ParsePool(bad); err == nil {
			t.Errorf("ParsePool(%q) accepted", bad)
		}
	}
	for r, p := range DefaultPools() {
		if p.Size() < 1_000_000 {
			t.Errorf("default pool of %s holds only %d addresses", r, p.Size())
		}
	}
}

// TestScheduleQueries pins the store queries derived from the schedule:
// ApplyDue's, in order, and NextDue's earliest delay per phase, with
// auto-release off and on (shorter and longer than the forwarding grace).
func TestScheduleQueries(t *testing.T) {
	const day = 24 * time.Hour
	// The three notices come first: 7, 3 and 1 days before expiry.
	notices := []dueQuery{{PhaseActive, -7 * day}, {PhaseNotified7, -3 * day}, {PhaseNotified3, -day}}
	cases := []struct {
		autoRelease time.Duration
		apply, next []dueQuery
	}{
		{0,
			append(slices.Clone(notices), dueQuery{PhaseNotified1, 0}, dueQuery{PhaseExpired, ForwardingGrace}),
			append(slices.Clone(notices), dueQuery{PhaseNotified1, 0}, dueQuery{PhaseExpired, ForwardingGrace})},
		{day,
			append(slices.Clone(notices), dueQuery{PhaseNotified1, 0}, dueQuery{PhaseExpired, ForwardingGrace},
				dueQuery{PhaseActive, day}, dueQuery{PhaseNotified7, day}, dueQuery{PhaseNotified3, day}, dueQuery{PhaseNotified1, day}, dueQuery{PhaseExpired, day}, dueQuery{PhaseStopped, day}),
			append(slices.Clone(notices), dueQuery{PhaseNotified1, 0}, dueQuery{PhaseExpired, day}, dueQuery{PhaseStopped, day})},
		{30 * day,
			append(slices.Clone(notices), dueQuery{PhaseNotified1, 0}, dueQuery{PhaseExpired, ForwardingGrace},
				dueQuery{PhaseActive, 30 * day}, dueQuery{PhaseNotified7, 30 * day}, dueQuery{PhaseNotified3, 30 * day}, dueQuery{PhaseNotified1, 30 * day}, dueQuery{PhaseExpired, 30 * day}, dueQuery{PhaseStopped, 30 * day}),
			append(slices.Clone(notices), dueQuery{PhaseNotified1, 0}, dueQuery{PhaseExpired, ForwardingGrace}, dueQuery{PhaseStopped, 30 * day})},
	}
	for _, c := range cases {
		s := &core{autoReleaseAfter: c.autoRelease}
		if got := s.dueQueries(); !slices.Equal(got, c.apply) {
			t.Errorf("auto-release %v: ApplyDue queries %v, want %v", c.autoRelease, got, c.apply)
		}
		if got := s.firstDue(); !slices.Equal(got, c.next) {
			t.Errorf("auto-release %v: NextDue queries %v, want %v", c.autoRelease, got, c.next)
		}
	}
}
