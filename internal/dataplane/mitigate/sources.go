package mitigate

import (
	"net/netip"
	"time"
)

// allSources names no single source: the events of the rule's totals and
// of the overflow bucket.
var allSources = netip.IPv4Unspecified()

// source is what a rule knows of one client address.
type source struct {
	addr  netip.Addr
	conns int64 // open connections and UDP sessions
	cps   bucket
	bytes bucket
	pkts  bucket

	sec      int64 // the unix second the counts below are for
	secConns int64 // new connections asked for in sec
	secBytes int64
	secPkts  int64

	last       int64 // unix ns of the last activity
	prev, next *source
	tracked    bool // in the rule's map and list (not the overflow)
}

// tick starts the per-second counts afresh in a new second.
func (s *source) tick(t int64) {
	if sec := t / int64(time.Second); sec != s.sec {
		s.sec, s.secConns, s.secBytes, s.secPkts = sec, 0, 0, 0
	}
}

// source returns src's state, tracking it if there is room, else the
// overflow bucket. r.mu is held.
func (r *Rule) source(src netip.Addr, t int64) *source {
	if s := r.sources[src]; s != nil {
		r.touch(s, t)
		r.sweep(t, sweepSteps)
		return s
	}
	r.sweep(t, sweepSteps)
	if len(r.sources) >= r.maxSources {
		r.overflow.last = t
		return &r.overflow
	}
	s := &source{addr: src, last: t, tracked: true}
	r.sources[src] = s
	r.pushFront(s)
	return s
}

// touch records activity of s at t.
func (r *Rule) touch(s *source, t int64) {
	s.last = max(s.last, t)
	if !s.tracked || r.lru.next == s {
		return
	}
	s.prev.next, s.next.prev = s.next, s.prev
	r.pushFront(s)
}

func (r *Rule) pushFront(s *source) {
	s.prev, s.next = &r.lru, r.lru.next
	r.lru.next.prev = s
	r.lru.next = s
}

// sweep forgets up to steps sources idle for IdleAfter at t (all of them
// when steps < 0), least recently active first. A source that still holds
// connections is moved to the front instead.
func (r *Rule) sweep(t int64, steps int) {
	for ; steps != 0; steps-- {
		s := r.lru.prev
		if s == &r.lru || t-s.last < int64(IdleAfter) {
			return
		}
		if s.conns > 0 {
			s.last = t
			r.touch(s, t)
			continue
		}
		s.prev.next, s.next.prev = s.next, s.prev
		s.prev, s.next, s.tracked = nil, nil, false
		delete(r.sources, s.addr)
	}
}
