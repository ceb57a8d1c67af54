package moat

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// ---- The schedule ----

// step is one lifecycle transition: it falls due a fixed time after an
// instance's ExpireTime and moves the instance to a phase, recording an
// event. The phase is a function of ExpireTime and the clock, so due work
// is found by (phase, ExpireTime) alone: instances before a step, expired
// at least its delay ago.
//
// A step with notice > 0 records no event: it is the "expiring"
// notification sent that many days before expiry (to the account's
// webhooks; none for an auto-renewing instance), and its phase only says
// it was sent, so catch-up after downtime or a clock move sends each
// notice exactly once, as real time would have.
type step struct {
	to     Phase         // the phase it reaches
	event  EventType     // the event it records, at ExpireTime+after
	after  time.Duration // its delay after ExpireTime (negative: before it)
	notice int           // days before expiry of an "expiring" notice; 0 for an event
}

// schedule is the lifecycle, in order: dueTransitions applies it,
// NextDue and ApplyDue derive their store queries from it. advance adds
// the two steps that depend on the instance or the configuration:
// auto-renewal (due with the first step, instead of it) and auto-release
// (AutoReleaseAfter past ExpireTime, from any live phase).
var schedule = [...]step{
	{to: PhaseNotified7, after: -7 * Day, notice: 7},
	{to: PhaseNotified3, after: -3 * Day, notice: 3},
	{to: PhaseNotified1, after: -1 * Day, notice: 1},
	{to: PhaseExpired, event: EventExpired, after: 0},
	{to: PhaseStopped, event: EventForwardingStopped, after: ForwardingGrace},
}

// livePhases are the phases a stored instance can be in, in order.
var livePhases = [...]Phase{PhaseActive, PhaseNotified7, PhaseNotified3, PhaseNotified1, PhaseExpired, PhaseStopped}

// Day is 24 hours of server time.
const Day = 24 * time.Hour

type transition struct {
	typ    EventType
	at     time.Time
	phase  Phase
	notice int
}

// noticePhase is the phase an instance starts in when its ExpireTime is
// set at now (created, renewed, auto-renewed): past every notice whose
// time has already come. Real time would not have sent a notice for an
// expiry that did not exist yet at the notice's time.
func noticePhase(expire, now time.Time) Phase {
	p := PhaseActive
	for _, st := range schedule {
		if st.notice > 0 && !now.Before(expire.Add(st.after)) {
			p = st.to
		}
	}
	return p
}

// dueTransitions lists the transitions of in that are due at now and have
// not been applied, in order, none later than until.
func dueTransitions(in *Instance, now, until time.Time) []transition {
	if until.Before(now) {
		now = until
	}
	var out []transition
	for _, st := range schedule {
		at := in.ExpireTime.Add(st.after)
		if in.Phase < st.to && !now.Before(at) {
			out = append(out, transition{st.event, at, st.to, st.notice})
		}
	}
	return out
}

// dueQuery is one store query for due work: instances in phase whose
// ExpireTime is at most now minus after.
type dueQuery struct {
	phase Phase
	after time.Duration
}

// dueQueries derives the queries that find every instance with work due
// from the schedule: for each step, the instances in the phase before it;
// then, with auto-release on, the instances of every live phase.
// Whichever query finds an instance, advance applies everything due for
// it in order, so a later query cannot find it again with work left.
func (s *core) dueQueries() []dueQuery {
	qs := make([]dueQuery, 0, len(schedule)+len(livePhases))
	from := PhaseActive
	for _, st := range schedule {
		qs = append(qs, dueQuery{from, st.after})
		from = st.to
	}
	if a := s.autoReleaseAfter; a > 0 {
		for _, p := range livePhases {
			qs = append(qs, dueQuery{p, a})
		}
	}
	return qs
}

// firstDue is, for each live phase, the shortest delay after ExpireTime
// at which an instance in that phase has work due; a phase with nothing
// ahead of it is left out.
func (s *core) firstDue() []dueQuery {
	var out []dueQuery
	for _, p := range livePhases {
		var best time.Duration
		found := false
		consider := func(d time.Duration) {
			if !found || d < best {
				best, found = d, true
			}
		}
		for _, st := range schedule {
			if p < st.to {
				consider(st.after)
			}
		}
		if a := s.autoReleaseAfter; a > 0 {
			consider(a)
		}
		if found {
			out = append(out, dueQuery{p, best})
		}
	}
	return out
}

func (s *core) applyTransitions(tx Tx, in *Instance, now, until time.Time) error {
	ts := dueTransitions(in, now, until)
	if len(ts) == 0 {
		return nil
	}
	for _, t := range ts {
		in.Phase = t.phase
		if t.notice > 0 {
			if in.AutoRenews() {
				continue // it will not expire: no notice
			}
			n := instanceNotice(in, NoticeExpiring, t.at)
			n.DaysLeft = t.notice
			if err := notify(tx, &n); err != nil {
				return err
			}
			continue
		}
		ev := Event{Time: t.at, RecordedAt: now, InstanceID: in.ID, AccountID: in.AccountID, Region: in.Region, Type: t.typ}
		if err := tx.AppendEvent(&ev); err != nil {
			return err
		}
		n := instanceNotice(in, string(t.typ), t.at)
		if err := notify(tx, &n); err != nil {
			return err
		}
	}
	return tx.UpdatePhase(in.ID, in.Phase)
}

// releaseDue is when auto-release takes an instance, if it is on.
func (s *core) releaseDue(in *Instance) (time.Time, bool) {
	if s.autoReleaseAfter <= 0 {
		return time.Time{}, false
	}
	return in.ExpireTime.Add(s.autoReleaseAfter), true
}

// advance applies what is due for in at now: the lifecycle transitions
// that fell before its auto-release (if any), then the release itself
// once that is due.
func (s *LifecycleService) advance(tx Tx, in *Instance, now time.Time) error {
	if in.AutoRenews() && in.Phase < PhaseExpired && !now.Before(in.ExpireTime) {
		return s.autoRenew(tx, in, now)
	}
	if at, ok := s.releaseDue(in); ok {
		if !now.Before(at) {
			return s.release(tx, in, now, at, "", ReasonAutoRelease)
		}
		return s.applyTransitions(tx, in, now, at)
	}
	return s.applyTransitions(tx, in, now, now)
}

// autoRenew renews an auto-renewing instance whose expiry now has reached,
// by as many terms as it takes to pass now, in one step: one auto_renewed
// event at the expiry it replaced, carrying the number of terms (Periods).
// A clock moved a century ahead therefore costs one event and one row
// write per instance, whatever the jump, and the engine's batches of
// instances stay short transactions that other writers barely wait for.
// A k-term catch-up extends by k*RenewPeriod months from the old expiry,
// exactly as RenewInstance with that many months would.
func (s *LifecycleService) autoRenew(tx Tx, in *Instance, now time.Time) error {
	at := in.ExpireTime
	k := renewalTerms(at, now, in.RenewPeriod)
	in.ExpireTime = AddMonths(at, k*in.RenewPeriod)
	in.Phase = noticePhase(in.ExpireTime, now)
	reason := fmt.Sprintf("auto-renewal: %d months, now expires %s", in.RenewPeriod, in.ExpireTime.UTC().Format(time.RFC3339))
	if k > 1 {
		reason = fmt.Sprintf("auto-renewal: %d terms of %d months, now expires %s", k, in.RenewPeriod, in.ExpireTime.UTC().Format(time.RFC3339))
	}
	ev := Event{Time: at, RecordedAt: now, InstanceID: in.ID, AccountID: in.AccountID, Region: in.Region, Type: EventAutoRenewed,
		Reason: reason, Periods: k}
	if err := tx.AppendEvent(&ev); err != nil {
		return err
	}
	if err := tx.UpdateInstance(in); err != nil {
		return err
	}
	n := instanceNotice(in, NoticeRenewed, at)
	n.Auto = true
	return notify(tx, &n)
}

// renewalTerms is the least k >= 1 for which from + k*period months is
// after now. It starts from the calendar estimate, so it costs a few
// AddMonths calls whatever the distance.
func renewalTerms(from, now time.Time, period int) int {
	from, now = from.UTC(), now.UTC()
	months := (now.Year()-from.Year())*12 + int(now.Month()) - int(from.Month())
	k := max(months/period, 1)
	for k > 1 && now.Before(AddMonths(from, (k-1)*period)) {
		k--
	}
	for !now.Before(AddMonths(from, k*period)) {
		k++
	}
	return k
}

// NextDue is the earliest instant at which some transition becomes due,
// and false when nothing is scheduled.
func (s *LifecycleService) NextDue(ctx context.Context) (time.Time, bool, error) {
	var best time.Time
	found := false
	for _, q := range s.firstDue() {
		t, ok, err := s.store.EarliestExpiry(ctx, q.phase)
		if err != nil {
			return time.Time{}, false, err
		}
		if !ok {
			continue
		}
		t = t.Add(q.after)
		if !found || t.Before(best) {
			best, found = t, true
		}
	}
	return best, found, nil
}

// DefaultDueBatch is ApplyDue's batch when none is given.
const DefaultDueBatch = 500

// ApplyDue applies up to limit instances' due transitions in one
// transaction and reports how many instances it changed. The engine calls
// it until it returns fewer than limit.
func (s *LifecycleService) ApplyDue(ctx context.Context, limit int) (int, error) {
	if limit <= 0 {
		limit = DefaultDueBatch
	}
	queries := s.dueQueries()
	var n int
	err := s.store.Update(ctx, func(tx Tx) error {
		n = 0
		now := s.clock.Now()
		for _, q := range queries {
			if n >= limit {
				break
			}
			due, err := tx.DueInstances(q.phase, now.Add(-q.after), limit-n)
			if err != nil {
				return err
			}
			for j := range due {
				if err := s.advance(tx, &due[j], now); err != nil {
					return err
				}
				n++
			}
		}
		return nil
	})
	return n, err
}

// ---- Purges: what is kept only for a while ----

// PurgeNonces forgets up to limit nonces past retention (real clock).
func (s *LifecycleService) PurgeNonces(ctx context.Context, limit int) (int, error) {
	return s.store.PurgeNonces(ctx, s.clock.Real(), limit)
}

// PurgeSTSKeys deletes up to limit STS keys that expired more than
// STSKeyRetention ago (real clock, like their expiry), and says how many.
func (s *LifecycleService) PurgeSTSKeys(ctx context.Context, limit int) (int, error) {
	before := s.clock.Real().Add(-STSKeyRetention)
	var n int
	err := s.store.Update(ctx, func(tx Tx) error {
		var err error
		n, err = tx.DeleteExpiredSTSKeys(before, limit)
		return err
	})
	return n, err
}

// PurgeAudit forgets up to max records older than before.
func (s *LifecycleService) PurgeAudit(ctx context.Context, before time.Time, max int) (int, error) {
	return s.store.PurgeAudit(ctx, before, max)
}

// TrimAudit forgets up to max of the oldest records beyond the newest
// keep: the size-based retention beside the time-based one.
func (s *LifecycleService) TrimAudit(ctx context.Context, keep, max int) (int, error) {
	return s.store.TrimAudit(ctx, keep, max)
}

// ---- The clock ----

// Clock is the server clock.
func (s *LifecycleService) Clock() *ServerClock { return s.clock }

// LoadClock reads the persisted offset into the clock.
// Concurrent calls may finish in any order; the read that started last
// decides.
func (s *LifecycleService) LoadClock(ctx context.Context) error { return s.loadClock(ctx) }

func (s *core) loadClock(ctx context.Context) error {
	ticket := s.clock.Ticket()
	v, err := s.store.Setting(ctx, SettingClockOffset)
	if errors.Is(err, ErrNotFound) {
		s.clock.SetOffsetFrom(ticket, 0)
		return nil
	}
	if err != nil {
		return err
	}
	d, err := parseClockOffset(v)
	if err != nil {
		return err
	}
	s.clock.SetOffsetFrom(ticket, d)
	return nil
}

func parseClockOffset(v string) (time.Duration, error) {
	ns, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("stored clock offset %q: %w", v, err)
	}
	return time.Duration(ns), nil
}

// Gatherer runs a function once for a group of concurrent callers: a
// caller waits for a run that started after it arrived, and one run
// serves every caller that arrived while the previous one ran.
// internal/coalesce's Group[struct{}, struct{}] is one.
type Gatherer interface {
	Do(ctx context.Context, key struct{}, fn func(context.Context) (struct{}, error)) (struct{}, error)
}

// clockReloadTimeout bounds one read of the stored clock offset: a
// database that does not answer delays a call by at most about twice this
// before the call meets the same failure itself.
const clockReloadTimeout = 500 * time.Millisecond

// SyncClock holds to the rule that once a clock move has returned, no
// process sharing the store answers from the time before it: when other
// processes share the store (Config.SharedClock), it returns after a read
// of the stored offset that started after the call, so an API call that
// follows an admin clock call made through another replica sees the moved
// clock (the lifecycle engine's own reload, up to a second later, is too
// late for that). Concurrent calls share reads, so a burst of requests,
// signed or forged, costs the store one read at a time, not one each. A
// failed read keeps the offset in effect; the caller meets the failure on
// the store. With a store only this process serves, it does nothing.
func (s *LifecycleService) SyncClock(ctx context.Context) {
	if s.clockReloads == nil {
		return
	}
	s.clockReloads.Do(ctx, struct{}{}, s.reloadClock)
}

func (s *core) reloadClock(context.Context) (struct{}, error) {
	ctx, cancel := context.WithTimeout(context.Background(), clockReloadTimeout)
	defer cancel()
	// A failure keeps the offset in effect.
	_ = s.loadClock(ctx)
	return struct{}{}, nil
}

// MoveClock sets server time to set, or advances it by advance, and
// persists the offset so every process sharing the store agrees. Moving
// back is allowed; transitions already applied are not undone.
func (s *LifecycleService) MoveClock(ctx context.Context, set *time.Time, advance *time.Duration) (time.Time, time.Duration, error) {
	if (set == nil) == (advance == nil) {
		return time.Time{}, 0, Errorf(CodeInvalidAdminClock, "Give exactly one of Advance (a Go duration such as \"168h\") or Set (an RFC 3339 time).")
	}
	var offset time.Duration
	err := s.store.Update(ctx, func(tx Tx) error {
		cur := time.Duration(0)
		if v, err := tx.Setting(SettingClockOffset); err == nil {
			if cur, err = parseClockOffset(v); err != nil {
				return err
			}
		} else if !errors.Is(err, ErrNotFound) {
			return err
		}
		var err error
		if offset, err = newClockOffset(cur, s.clock.Real(), set, advance); err != nil {
			return err
		}
		return tx.SetSetting(SettingClockOffset, strconv.FormatInt(int64(offset), 10))
	})
	if err != nil {
		return time.Time{}, 0, err
	}
	s.clock.SetOffset(offset)
	return s.clock.Now(), offset, nil
}
