package moat

import (
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
func (c *ServerClock) SetOffset(d time.Duration) { c.offset.Store(int64(d)) }
