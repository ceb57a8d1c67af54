package moat

import (
	"sync"
	"sync/atomic"
	"time"
)

// ServerClock is the real clock plus an offset that the admin API can move.
// The offset is persisted in the store (LifecycleService.MoveClock), so
// every process that shares a store agrees on the time; this type only
// holds the current value.
type ServerClock struct {
	real   func() time.Time
	offset atomic.Int64 // nanoseconds

	// Reads of the stored offset may run concurrently (each request of a
	// replica sharing its store, and the lifecycle engine) and finish in
	// any order; tickets make the value of the read that started last win,
	// so a slow read never puts back an offset older than one already set.
	tickets atomic.Uint64
	mu      sync.Mutex
	applied uint64 // the ticket of the offset in effect
}

// NewServerClock returns a clock at offset zero over real (time.Now if nil).
func NewServerClock(real func() time.Time) *ServerClock {
	if real == nil {
		real = time.Now
	}
	return &ServerClock{real: real}
}

// Now is the server time, in UTC: calendar arithmetic on it (a term of
// months) must not depend on the machine's time zone.
func (c *ServerClock) Now() time.Time {
	return c.real().Add(time.Duration(c.offset.Load())).UTC()
}

// Real is the wall clock the signature timestamp check uses.
func (c *ServerClock) Real() time.Time { return c.real() }

// Offset is the current distance between server time and real time.
func (c *ServerClock) Offset() time.Duration { return time.Duration(c.offset.Load()) }

// SetOffset moves the clock.
func (c *ServerClock) SetOffset(d time.Duration) { c.SetOffsetFrom(c.Ticket(), d) }

// Ticket is taken before reading the stored offset; the value read is then
// given to SetOffsetFrom with it.
func (c *ServerClock) Ticket() uint64 { return c.tickets.Add(1) }

// SetOffsetFrom sets an offset read under ticket t, unless an offset from
// a later ticket is already in effect.
func (c *ServerClock) SetOffsetFrom(t uint64, d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t < c.applied {
		return
	}
	c.applied = t
	c.offset.Store(int64(d))
}

// MaxClockOffset bounds how far the admin API may move server time from
// the real clock, either way: 200 years, well inside what a time.Duration
// holds (292 years), so an offset never wraps around, and far beyond any
// subscription term a test needs to cross.
const MaxClockOffset = 200 * 365 * 24 * time.Hour

// newClockOffset is the offset that sets server time to set, or advances
// it from cur by advance. Each operand is checked before it is added or
// subtracted, so an out-of-range request is refused instead of wrapping
// around int64 or saturating to another time than the one asked.
func newClockOffset(cur time.Duration, real time.Time, set *time.Time, advance *time.Duration) (time.Duration, error) {
	refuse := func(what string) error {
		return Errorf(CodeInvalidAdminClock, "%s would put server time more than %d years from the real clock (MaxClockOffset).", what, MaxClockOffset/(365*24*time.Hour))
	}
	if set != nil {
		if set.Before(real.Add(-MaxClockOffset)) || set.After(real.Add(MaxClockOffset)) {
			return 0, refuse("Set " + set.UTC().Format(time.RFC3339))
		}
		return set.Sub(real), nil
	}
	a := *advance
	sum := cur + a
	if a > 0 && sum < cur || a < 0 && sum > cur || sum > MaxClockOffset || sum < -MaxClockOffset {
		return 0, refuse("Advance " + a.String())
	}
	return sum, nil
}
