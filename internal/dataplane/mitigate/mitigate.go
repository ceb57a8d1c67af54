// Package mitigate is a port rule's mitigation: the dataplane.Guard the
// forwarder consults for every new connection, UDP session and datagram,
// and for pacing the bytes a source sends. It is pure logic: every call
// takes the time, so its behaviour follows a fixed clock exactly.
//
// What it enforces, from the rule's RuleConfig and the instance's lists:
//
//   - Blacklist: refused. A source on both lists is refused: an explicit
//     refusal is the safer reading, and the lists are the user's own.
//   - Whitelist: exempt from every limit below. Its connections still
//     count towards the concurrent totals (they do load the origin), but
//     are never refused by them.
//   - Slimit, per source: CpsEnable 1 with Cps > 0 allows Cps new
//     connections a second (a token bucket holding a tenth of a second's
//     worth, at least one connection: no one second admits more than
//     1.1 × Cps + 1, and a flood gets Cps a second); CpsMode 2
//     (automatic) uses AutoCps instead of Cps, a fixed default, not a
//     learned one.
//     MaxconnEnable 1 with Maxconn > 0 bounds the source's concurrent
//     connections. Bps and Pps (> 0) bound the bytes and reads (TCP) or
//     datagrams (UDP) a second the source sends towards the origin,
//     shared by all its connections, with a tenth of a second of burst.
//   - Sla, per rule: the same new-connection rate and concurrent bound
//     across all sources.
//   - UDP: a datagram whose payload is shorter than PayloadLen.Min or
//     longer than PayloadLen.Max is dropped (Max 0 means no maximum: the
//     default is 0-6000); datagrams from a UDPReflect source port are
//     dropped; Bps and Pps drop the datagrams over the rate (a datagram
//     passes while the source's buckets have credit, and is charged in
//     full, so one datagram larger than a tenth of a second's worth can
//     still pass a low rate); a new session counts against the
//     connection limits.
//
// Mitigate false (an expired instance still forwarding) admits everything
// and paces nothing; concurrent connections are still counted, so the
// limits apply consistently once mitigation is back.
//
// Every refusal (and every wait Pace imposes) is a crossing of one limit
// by one source, and opens or extends a MitigationEvent for that pair; it
// ends EventQuiet after the last crossing (End is that crossing). Peak is
// the highest count a second seen at a crossing (new connections asked
// for, bytes, packets, or refusals for the lists and UDP filters), or the
// concurrent connections asked for (held + 1) for Maxconn. A paced TCP
// source drops nothing, so its Bps/Pps events have Dropped 0. Sla events, and those of the
// overflow bucket below, carry the source 0.0.0.0 (not one source).
//
// Memory is bounded: a source with no open connection and no activity for
// IdleAfter is forgotten (its buckets would be full again by then), and at
// most MaxSources sources are tracked per rule: beyond, new sources share
// one overflow bucket whose per-source limits apply to them all together
// (harsh, but it holds under a flood from spoofed or rotating addresses).
// Open events are capped the same way (beyond, they fold into 0.0.0.0).
package mitigate

import (
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"moat/internal/dataplane"
	"moat/internal/moat"
)

const (
	// IdleAfter is how long a source with no open connection stays
	// tracked after its last activity.
	IdleAfter = 60 * time.Second
	// MaxSources is how many sources a rule tracks one by one.
	MaxSources = 100_000
	// EventQuiet ends an event once its source has not crossed the limit
	// for this long.
	EventQuiet = 10 * time.Second
	// AutoCps is the per-source new-connection limit in automatic mode
	// (Slimit.CpsMode 2).
	AutoCps = 200

	// cpsTol is the new-connection buckets' credit: a tenth of a second
	// (at least one connection's worth), so no one second admits more
	// than 1.1 × Cps (plus one).
	cpsTol = int64(100 * time.Millisecond)
	// trafficTol is the byte and packet buckets' credit.
	trafficTol = int64(100 * time.Millisecond)
	// sweepSteps bounds the idle sources looked at per call.
	sweepSteps = 4
)

var _ dataplane.Guard = (*Rule)(nil)

// cpsCredit is a new-connection bucket's credit at rate a second: cpsTol,
// or one connection's cost rounded up to the nanosecond when that is more.
func cpsCredit(rate int64) int64 {
	return max(cpsTol, (int64(time.Second)+rate-1)/rate)
}

// Rule is one port rule's mitigation state; safe for concurrent use.
type Rule struct {
	cfg atomic.Pointer[config]

	mu         sync.Mutex
	maxSources int
	sources    map[netip.Addr]*source
	lru        source // sentinel: lru.next is the most recent source
	overflow   source // shared by sources beyond maxSources
	conns      int64  // concurrent connections across sources
	sla        bucket // the rule's new-connection bucket
	slaSec     int64  // the unix second slaSecN counts
	slaSecN    int64  // new connections asked for in slaSec
	events     map[evKey]*event
	changed    []*event
}

// config is GuardSettings made ready for the hot path.
type config struct {
	key      moat.PortKey
	node     string
	mitigate bool
	black    map[netip.Addr]bool
	white    map[netip.Addr]bool
	reflect  map[uint16]bool

	srcCps, srcMaxconn int64 // 0: no limit
	srcBps, srcPps     int64
	slaCps, slaMaxconn int64
	payMin, payMax     int // payMax 0: no maximum
}

func compile(s dataplane.GuardSettings) *config {
	c := &config{
		key:      s.Key,
		node:     s.Node,
		mitigate: s.Mitigate,
		black:    s.Blacklist,
		white:    s.Whitelist,
		payMin:   s.Config.PayloadLen.Min,
		payMax:   s.Config.PayloadLen.Max,
	}
	if len(s.UDPReflect) > 0 {
		c.reflect = make(map[uint16]bool, len(s.UDPReflect))
		for _, p := range s.UDPReflect {
			if p > 0 && p <= 65535 {
				c.reflect[uint16(p)] = true
			}
		}
	}
	sl := s.Config.Slimit
	if sl.CpsEnable == 1 {
		c.srcCps = int64(max(sl.Cps, 0))
		if sl.CpsMode == 2 {
			c.srcCps = AutoCps
		}
	}
	if sl.MaxconnEnable == 1 {
		c.srcMaxconn = int64(max(sl.Maxconn, 0))
	}
	c.srcBps, c.srcPps = max(sl.Bps, 0), max(sl.Pps, 0)
	if s.Config.Sla.CpsEnable == 1 {
		c.slaCps = int64(max(s.Config.Sla.Cps, 0))
	}
	if s.Config.Sla.MaxconnEnable == 1 {
		c.slaMaxconn = int64(max(s.Config.Sla.Maxconn, 0))
	}
	return c
}

// New returns a rule's mitigation with settings s.
func New(s dataplane.GuardSettings) *Rule {
	r := &Rule{
		maxSources: MaxSources,
		sources:    make(map[netip.Addr]*source),
		events:     make(map[evKey]*event),
	}
	r.lru.next, r.lru.prev = &r.lru, &r.lru
	r.overflow.addr = allSources
	r.Update(s)
	return r
}

// Update applies new settings; sources, connections, buckets and events
// go on under them.
func (r *Rule) Update(s dataplane.GuardSettings) { r.cfg.Store(compile(s)) }

// Conn decides on a new TCP connection.
func (r *Rule) Conn(src netip.Addr, now time.Time) (dataplane.GuardedConn, bool) {
	return r.admit(src.Unmap(), now.UnixNano())
}

// Session decides on a new UDP session: a new connection for the limits.
func (r *Rule) Session(src netip.AddrPort, now time.Time) (dataplane.GuardedConn, bool) {
	return r.admit(src.Addr().Unmap(), now.UnixNano())
}

func (r *Rule) admit(src netip.Addr, t int64) (dataplane.GuardedConn, bool) {
	c := r.cfg.Load()
	r.mu.Lock()
	defer r.mu.Unlock()
	if c.mitigate && c.black[src] {
		r.cross(src, moat.LimitBlacklist, t, -1, 1)
		return nil, false
	}
	s := r.source(src, t)
	s.tick(t)
	s.secConns++
	if sec := t / int64(time.Second); sec != r.slaSec {
		r.slaSec, r.slaSecN = sec, 0
	}
	r.slaSecN++
	if c.mitigate && !c.white[src] {
		if c.srcMaxconn > 0 && s.conns >= c.srcMaxconn {
			r.cross(s.addr, moat.LimitSlimitMaxconn, t, s.conns+1, 1)
			return nil, false
		}
		if c.slaMaxconn > 0 && r.conns >= c.slaMaxconn {
			r.cross(allSources, moat.LimitSlaMaxconn, t, r.conns+1, 1)
			return nil, false
		}
		cps, sla := s.cps, r.sla
		if c.srcCps > 0 && !cps.take(t, 1, c.srcCps, cpsCredit(c.srcCps)) {
			r.cross(s.addr, moat.LimitSlimitCps, t, s.secConns, 1)
			return nil, false
		}
		if c.slaCps > 0 && !sla.take(t, 1, c.slaCps, cpsCredit(c.slaCps)) {
			r.cross(allSources, moat.LimitSlaCps, t, r.slaSecN, 1)
			return nil, false
		}
		s.cps, r.sla = cps, sla
	}
	s.conns++
	r.conns++
	return &conn{r: r, s: s, addr: src}, true
}

// Datagram decides on one UDP datagram of n payload bytes.
func (r *Rule) Datagram(src netip.AddrPort, n int, now time.Time) bool {
	c := r.cfg.Load()
	if !c.mitigate {
		return true
	}
	a, t := src.Addr().Unmap(), now.UnixNano()
	limit := ""
	switch {
	case c.black[a]:
		limit = moat.LimitBlacklist
	case c.white[a]:
		return true
	case c.reflect[src.Port()]:
		limit = moat.LimitUDPReflect
	case n < c.payMin || c.payMax > 0 && n > c.payMax:
		limit = moat.LimitPayloadLen
	case c.srcBps == 0 && c.srcPps == 0:
		return true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if limit != "" {
		r.cross(a, limit, t, -1, 1)
		return false
	}
	s := r.source(a, t)
	s.tick(t)
	s.secBytes += int64(n)
	s.secPkts++
	if c.srcBps > 0 && !s.bytes.credit(t, trafficTol) {
		r.cross(s.addr, moat.LimitSlimitBps, t, s.secBytes, 1)
		return false
	}
	if c.srcPps > 0 && !s.pkts.credit(t, trafficTol) {
		r.cross(s.addr, moat.LimitSlimitPps, t, s.secPkts, 1)
		return false
	}
	if c.srcBps > 0 {
		s.bytes.owe(t, int64(n), c.srcBps, trafficTol)
	}
	if c.srcPps > 0 {
		s.pkts.owe(t, 1, c.srcPps, trafficTol)
	}
	return true
}

// conn is an admitted connection or UDP session.
type conn struct {
	r    *Rule
	s    *source    // the overflow bucket for an untracked source
	addr netip.Addr // the source itself, for the lists
	done atomic.Bool
}

// Pace says how long to wait before forwarding n more bytes (one packet)
// from the source; the wait keeps the source's rate, across all its
// connections, at its Bps and Pps.
func (c *conn) Pace(n int, now time.Time) time.Duration {
	cfg := c.r.cfg.Load()
	if !cfg.mitigate || cfg.srcBps == 0 && cfg.srcPps == 0 || cfg.white[c.addr] {
		return 0
	}
	t := now.UnixNano()
	r, s := c.r, c.s
	r.mu.Lock()
	defer r.mu.Unlock()
	r.touch(s, t)
	s.tick(t)
	s.secBytes += int64(n)
	s.secPkts++
	var wb, wp time.Duration
	if cfg.srcBps > 0 {
		wb = s.bytes.owe(t, int64(n), cfg.srcBps, trafficTol)
	}
	if cfg.srcPps > 0 {
		wp = s.pkts.owe(t, 1, cfg.srcPps, trafficTol)
	}
	if wb > 0 {
		r.cross(s.addr, moat.LimitSlimitBps, t, s.secBytes, 0)
	}
	if wp > 0 {
		r.cross(s.addr, moat.LimitSlimitPps, t, s.secPkts, 0)
	}
	return max(wb, wp)
}

// Done gives the connection's concurrent slot back; later calls do
// nothing.
func (c *conn) Done() {
	if c.done.Swap(true) {
		return
	}
	c.r.mu.Lock()
	c.s.conns--
	c.r.conns--
	c.r.mu.Unlock()
}
