package moat_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"moat/internal/moat"
)

func TestLifecycleAppliesEachTransitionOnce(t *testing.T) {
	e := newEnv(t, moat.Config{})
	in := e.create(t, moat.RegionMainland, 24*time.Hour, 1)[0]
	e.advance(t, 24*time.Hour-time.Millisecond)
	if got := fmt.Sprint(e.events(t, in.ID)); got != "[created]" {
		t.Fatalf("1 ms before expiry: %s", got)
	}
	e.advance(t, time.Millisecond)
	if got := fmt.Sprint(e.events(t, in.ID)); got != "[created expired]" {
		t.Fatalf("at expiry: %s", got)
	}
	e.advance(t, moat.ForwardingGrace)
	e.advance(t, 30*24*time.Hour)
	if got := fmt.Sprint(e.events(t, in.ID)); got != "[created expired forwarding_stopped]" {
		t.Fatalf("after the grace: %s", got)
	}
	evs, _ := e.svc.Events(e.ctx, moat.EventFilter{InstanceID: in.ID})
	if !evs[1].Time.Equal(in.ExpireTime) || !evs[2].Time.Equal(in.ExpireTime.Add(moat.ForwardingGrace)) {
		t.Fatalf("event times %s %s, want the due times", evs[1].Time, evs[2].Time)
	}
	// Moving the clock back shows the instance normal again but never
	// repeats an event when time moves forward again.
	back := -60 * 24 * time.Hour
	e.advance(t, back)
	page, err := e.svc.DescribeInstances(e.ctx, e.caller(e.acct), moat.DescribeQuery{Region: moat.RegionMainland, PageNumber: 1, PageSize: 10})
	if err != nil || page.Instances[0].Status != moat.StatusNormal {
		t.Fatalf("after moving back: %+v %v", page, err)
	}
	e.advance(t, -back)
	if got := fmt.Sprint(e.events(t, in.ID)); got != "[created expired forwarding_stopped]" {
		t.Fatalf("after moving forward again: %s", got)
	}
}

func TestAutoRelease(t *testing.T) {
	for _, after := range []time.Duration{48 * time.Hour, 10 * 24 * time.Hour} {
		t.Run(after.String(), func(t *testing.T) {
			e := newEnv(t, moat.Config{AutoReleaseAfter: after})
			in := e.create(t, moat.RegionMainland, time.Hour, 1)[0]
			e.advance(t, time.Hour+after-time.Millisecond)
			if _, err := e.store.Instance(e.ctx, in.ID); err != nil {
				t.Fatalf("released early: %v", err)
			}
			next, ok, err := e.svc.NextDue(e.ctx)
			if err != nil || !ok || !next.Equal(in.ExpireTime.Add(min(after, moat.ForwardingGrace))) && !next.Equal(in.ExpireTime.Add(after)) {
				t.Fatalf("NextDue = %s %v %v", next, ok, err)
			}
			e.advance(t, time.Millisecond)
			if _, err := e.store.Instance(e.ctx, in.ID); !errors.Is(err, moat.ErrNotFound) {
				t.Fatalf("not auto-released: %v", err)
			}
			want := "[created expired released]"
			if after > moat.ForwardingGrace {
				want = "[created expired forwarding_stopped released]"
			}
			if got := fmt.Sprint(e.events(t, in.ID)); got != want {
				t.Fatalf("events %s, want %s", got, want)
			}
			evs, _ := e.svc.Events(e.ctx, moat.EventFilter{InstanceID: in.ID, Type: moat.EventReleased})
			if evs[0].Reason != moat.ReasonAutoRelease || !evs[0].Time.Equal(in.ExpireTime.Add(after)) {
				t.Fatalf("released event %+v", evs[0])
			}
		})
	}
}

func TestClockIsPersisted(t *testing.T) {
	e := newEnv(t, moat.Config{})
	set := time.Date(2030, 5, 1, 12, 0, 0, 0, time.UTC)
	now, off, err := e.svc.MoveClock(e.ctx, &set, nil)
	if err != nil || !now.Equal(set) || off != set.Sub(t0) {
		t.Fatalf("MoveClock = %s %s %v", now, off, err)
	}
	// A second service on the same store (another process) sees it.
	other, _ := moat.NewService(moat.Config{Store: e.store, Clock: moat.NewServerClock(e.real.Now)})
	if err := other.LoadClock(e.ctx); err != nil || !other.Clock().Now().Equal(set) {
		t.Fatalf("other process: %s %v", other.Clock().Now(), err)
	}
	if _, _, err := e.svc.MoveClock(e.ctx, nil, nil); moat.ErrorCode(err) != moat.CodeInvalidAdminClock {
		t.Fatalf("neither Set nor Advance: %v", err)
	}
}
