package moat_test

import (
	"testing"
	"time"

	"moat/internal/moat"
)

// TestServerClockLatestReadWins pins the order of concurrent reloads of the
// stored offset (each request of a replica sharing PostgreSQL reloads it,
// and so does the lifecycle engine): a read that started earlier but
// finished later never puts its older value back, and neither does one
// that started before the clock was moved.
func TestServerClockLatestReadWins(t *testing.T) {
	c := moat.NewServerClock(func() time.Time { return time.Unix(1e9, 0) })
	early, late := c.Ticket(), c.Ticket()
	c.SetOffsetFrom(late, 2*time.Hour)
	c.SetOffsetFrom(early, 0)
	if got := c.Offset(); got != 2*time.Hour {
		t.Fatalf("after a later read set 2h, an earlier read finishing last left the offset at %v", got)
	}
	stale := c.Ticket()
	c.SetOffset(time.Hour) // the clock moved after that read started
	c.SetOffsetFrom(stale, 2*time.Hour)
	if got := c.Offset(); got != time.Hour {
		t.Fatalf("a read started before the move set the offset back to %v, want 1h", got)
	}
	c.SetOffsetFrom(c.Ticket(), 3*time.Hour)
	if got, want := c.Now(), time.Unix(1e9, 0).Add(3*time.Hour).UTC(); !got.Equal(want) {
		t.Fatalf("Now = %v, want %v", got, want)
	}
}
