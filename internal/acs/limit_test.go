package acs

import (
	"testing"
	"time"

	"moat/internal/moat"
)

// TestLimiterRates pins the token buckets: a burst of one second's worth,
// refilled continuously, per principal and action; a rate below one call
// per second still lets one call through, then one per 1/rate seconds.
func TestLimiterRates(t *testing.T) {
	now := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	l := NewLimiter(map[string]float64{"Slow": 0.1, "*": 2}, func() time.Time { return now })
	allow := func(principal, action string) moat.Code { return moat.ErrorCode(l.Allow(principal, action)) }
	for i, want := range []moat.Code{"", moat.CodeThrottlingUser} {
		if got := allow("p", "Slow"); got != want {
			t.Fatalf("Slow call %d: %q, want %q", i+1, got, want)
		}
	}
	if got := allow("q", "Slow"); got != "" {
		t.Fatalf("another principal's first Slow call: %q, want it allowed", got)
	}
	now = now.Add(9 * time.Second)
	if got := allow("p", "Slow"); got != moat.CodeThrottlingUser {
		t.Fatalf("Slow after 9 s at 0.1/s: %q, want Throttling.User", got)
	}
	now = now.Add(time.Second)
	if got := allow("p", "Slow"); got != "" {
		t.Fatalf("Slow after 10 s at 0.1/s: %q, want it allowed", got)
	}
	for i, want := range []moat.Code{"", "", moat.CodeThrottlingUser} {
		if got := allow("p", "Other"); got != want {
			t.Fatalf("Other call %d at 2/s: %q, want %q", i+1, got, want)
		}
	}
	err := moat.AsError(l.Allow("p", "Other"))
	if err.RetryAfter <= 0 || err.RetryAfter > 500*time.Millisecond {
		t.Fatalf("RetryAfter %v, want within the 0.5 s a token takes", err.RetryAfter)
	}
}
