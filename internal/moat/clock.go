package moat

import (
	"sync"
	"sync/atomic"
	"time"
)

// Clock tells server time.
type Clock interface {
	Now() time.Time
}

// ServerClock is the real clock plus an offset that the admin API can move.
// The offset is persisted by the Service, so every process that shares a
// store agrees on the time; this type only holds the current value.
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
