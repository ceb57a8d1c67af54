package dataplane

import (
	"net/netip"
	"time"

	"moat/internal/moat"
)

// Guard is one port rule's mitigation, as the forwarder consults it: it
// admits or refuses each new TCP connection and each UDP datagram, paces
// the bytes an admitted source sends, and reports the mitigation events
// it saw. internal/dataplane/mitigate implements it; the forwarder holds
// one per rule and gives it the rule's settings on every snapshot.
//
// A Guard is used by many goroutines at once.
type Guard interface {
	// Update applies a rule's settings; it keeps the state of sources and
	// connections already seen (their counts go on under the new limits).
	Update(s GuardSettings)
	// Conn decides on a new TCP connection from src at now. A refused
	// connection is counted (and may open or extend an event); an
	// admitted one must be given back with Done exactly once.
	Conn(src netip.Addr, now time.Time) (c GuardedConn, ok bool)
	// Datagram decides on one UDP datagram of n payload bytes from src
	// (every datagram, the first of a session included).
	Datagram(src netip.AddrPort, n int, now time.Time) bool
	// Session decides on a new UDP session from src, asked after its
	// first datagram was admitted: it counts as a new connection for the
	// connection limits, and an admitted one holds a concurrent slot
	// until its Done (when the session ends). Its Pace is not needed:
	// Datagram already applies the byte and packet rates.
	Session(src netip.AddrPort, now time.Time) (c GuardedConn, ok bool)
	// Events returns the events that started, grew or ended since the
	// last call (each with its current End, Peak and Dropped; End zero
	// while it lasts).
	Events(now time.Time) []moat.MitigationEvent
}

// GuardedConn is an admitted TCP connection (or UDP session).
type GuardedConn interface {
	// Pace says how long to wait before forwarding n more bytes (one
	// read's worth, counted as one packet) from the client to the
	// origin, for the source's byte and packet rate limits; 0 at once.
	Pace(n int, now time.Time) time.Duration
	// Done gives the connection back (its concurrent-connection slot).
	Done()
}

// GuardSettings are what a Guard enforces for one rule.
type GuardSettings struct {
	Key  moat.PortKey
	Node string
	// Mitigate is false while the instance is expired but still
	// forwarding: then nothing is limited or refused (the blacklist
	// included) and no event starts.
	Mitigate bool
	Config   moat.RuleConfig
	// Blacklist sources are refused; Whitelist sources are exempt from
	// every limit. Expired entries are already left out.
	Blacklist map[netip.Addr]bool
	Whitelist map[netip.Addr]bool
	// UDPReflect are the UDP source ports whose datagrams are dropped.
	UDPReflect []int
}
