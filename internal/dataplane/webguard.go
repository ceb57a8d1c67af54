package dataplane

import (
	"net/http"
	"net/netip"
	"time"

	"moat/internal/moat"
)

// WebGuard is one website's protection, as the web proxy consults it for
// every request while the website's instance is in service (CC switch and
// mode, custom frequency rules, the domain's IP sets, precise access
// rules). A WebGuard is used by many goroutines at once.
type WebGuard interface {
	// Update applies a website's settings, keeping the counts of sources
	// already seen.
	Update(s WebGuardSettings)
	// Request decides on one request from src at now. A refused request
	// gets Verdict's Status and Body, and never reaches the origin.
	Request(src netip.Addr, r *http.Request, now time.Time) WebVerdict
	// Events returns the attack events that started, grew or ended since
	// the last call (as moat.WebAttackEvent).
	Events(now time.Time) []moat.WebAttackEvent
}

// WebVerdict is a WebGuard's decision on one request.
type WebVerdict struct {
	Allow bool
	// Status and Body answer a refused request (the real service's block
	// page and status).
	Status int
	Body   []byte
	// Attack marks a request counted as an attack (refused, or watched).
	Attack bool
	// Reason names what matched: blacklist, cc, cc_rule:<name>,
	// precise:<name>.
	Reason string
}

// WebGuardSettings are what a WebGuard enforces for one website.
type WebGuardSettings struct {
	AccountID string
	Domain    string
	Node      string
	// Mitigate is false while the website's instances are expired but
	// still forwarding: then every request is allowed and none counted.
	Mitigate   bool
	Protection moat.WebProtection
}
