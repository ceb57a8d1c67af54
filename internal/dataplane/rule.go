package dataplane

import (
	"context"
	"net"
	"net/netip"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"moat/internal/moat"
)

// ruleView is what a rule forwards by at one tick.
type ruleView struct {
	rule  moat.PortRule
	ip    netip.Addr
	state moat.TrafficState
	edge  *moat.Edge
}

// nodata reports whether empty connections are closed.
func (v *ruleView) nodata() bool {
	return v.state == moat.TrafficMitigated && v.rule.Config.NodataConn == "on"
}

// paced reports whether the guard may pace a source's bytes, so the
// client-to-origin copy goes through a buffer instead of splice.
func (v *ruleView) paced() bool {
	s := v.rule.Config.Slimit
	return v.state == moat.TrafficMitigated && (s.Bps > 0 || s.Pps > 0)
}

// rule is one port rule being served: its listener, guard, origins'
// health, open connections and counters.
type rule struct {
	p    *Plane
	key  moat.PortKey
	view atomic.Pointer[ruleView]

	guard    Guard
	settings *GuardSettings // the guard's settings (set by the reconcile loop only)

	bal    balancer
	health *healthSet // nil: no health check

	stats counters

	mu      sync.Mutex
	removed bool
	tcp     []*net.TCPListener // one rule's port, several sockets
	udp     *udpServer
	conns   map[*tconn]struct{}
	lnErr   string // the last listen error logged
	state   moat.TrafficState
	live    atomic.Int64 // this rule's connections and sessions still running
}

func newRule(p *Plane, v *ruleView) *rule {
	r := &rule{p: p, key: v.rule.PortKey, conns: map[*tconn]struct{}{}}
	r.bal.init()
	r.view.Store(v)
	gs := r.guardSettings(v)
	r.settings = &gs
	if p.cfg.NewGuard != nil {
		r.guard = p.cfg.NewGuard(gs)
	} else {
		r.guard = admitAll{}
	}
	return r
}

func (r *rule) guardSettings(v *ruleView) GuardSettings {
	s := GuardSettings{
		Key:       r.key,
		Node:      r.p.node,
		Mitigate:  v.state == moat.TrafficMitigated,
		Config:    v.rule.Config,
		Blacklist: map[netip.Addr]bool{},
		Whitelist: map[netip.Addr]bool{},
	}
	if v.edge != nil {
		for _, e := range v.edge.Blacklist {
			if a, err := netip.ParseAddr(e.IP); err == nil {
				s.Blacklist[a] = true
			}
		}
		for _, e := range v.edge.Whitelist {
			if a, err := netip.ParseAddr(e.IP); err == nil {
				s.Whitelist[a] = true
			}
		}
		s.UDPReflect = append([]int(nil), v.edge.UDPReflect...)
	}
	return s
}

// set applies a new view: guard settings, origins and health checks, the
// listener, and the state's effect on open connections.
func (r *rule) set(ctx context.Context, v *ruleView) {
	old := r.view.Swap(v)

	// Settings change only with a new snapshot or a new state.
	if old != v && (old.edge != v.edge || old.state != v.state) {
		gs := r.guardSettings(v)
		if !reflect.DeepEqual(*r.settings, gs) {
			r.guard.Update(gs)
			r.settings = &gs
		}
	}

	r.bal.setOrigins(v.rule.RealServers)
	if old == v || old.rule.HealthCheck != v.rule.HealthCheck ||
		old.rule.BackendPort != v.rule.BackendPort ||
		!slices.Equal(old.rule.RealServers, v.rule.RealServers) {
		r.restartHealth(v)
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	if r.removed {
		return
	}
	if r.state != v.state {
		if r.state != 0 {
			r.p.log.Info("dataplane: rule state", "instance", r.key.InstanceID, "protocol", r.key.Protocol, "port", r.key.FrontendPort, "state", v.state.String())
		}
		r.state = v.state
	}
	if v.state == moat.TrafficStopped {
		r.closeConnsLocked()
	}
	if r.tcp == nil && r.udp == nil {
		r.listenLocked(ctx, v)
	}
}

// listening reports whether the rule's socket is open.
func (r *rule) listening() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.tcp != nil || r.udp != nil
}

// listenLocked opens the rule's listener; a failure is logged once (until
// it changes) and retried on the next tick.
func (r *rule) listenLocked(ctx context.Context, v *ruleView) {
	addr := listenAddr(v.ip, r.key.FrontendPort)
	var err error
	switch r.key.Protocol {
	case moat.ProtocolTCP:
		var lns []*net.TCPListener
		if lns, err = listenTCP(ctx, addr, r.p.cfg.Freebind, acceptors()); err == nil {
			r.tcp = lns
			for _, ln := range lns {
				r.p.goHandler(func() { r.acceptLoop(ln) })
			}
		}
	case moat.ProtocolUDP:
		var pc *net.UDPConn
		if pc, err = listenUDP(ctx, addr, r.p.cfg.Freebind); err == nil {
			u := newUDPServer(r, pc)
			r.udp = u
			r.p.goHandler(u.readLoop)
		}
	default:
		return
	}
	if err != nil {
		if msg := err.Error(); msg != r.lnErr {
			r.lnErr = msg
			r.p.log.Warn("dataplane: listen", "instance", r.key.InstanceID, "protocol", r.key.Protocol, "port", r.key.FrontendPort, "addr", addr, "err", err)
		}
		return
	}
	r.lnErr = ""
}

// closeConnsLocked closes every open connection and UDP session.
func (r *rule) closeConnsLocked() {
	for c := range r.conns {
		c.abort()
	}
	if r.udp != nil {
		r.udp.closeSessions()
	}
}

// remove closes the listener, every connection and the health checks.
func (r *rule) remove() {
	r.mu.Lock()
	r.removed = true
	for _, ln := range r.tcp {
		ln.Close()
	}
	if r.udp != nil {
		r.udp.close()
	}
	r.closeConnsLocked()
	r.mu.Unlock()
	r.stopHealth()
}

// track registers an accepted connection; false when the rule is gone.
func (r *rule) track(c *tconn) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.removed {
		return false
	}
	r.conns[c] = struct{}{}
	r.live.Add(1)
	return true
}

func (r *rule) untrack(c *tconn) {
	r.mu.Lock()
	delete(r.conns, c)
	r.mu.Unlock()
	r.live.Add(-1)
}

// idle reports whether the rule is removed and nothing of it runs any
// more (its counters are final).
func (r *rule) idle() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.removed && r.live.Load() == 0 && (r.udp == nil || r.udp.done())
}

// admitAll is the guard of a plane without mitigation.
type admitAll struct{}

func (admitAll) Update(GuardSettings)                           {}
func (admitAll) Conn(netip.Addr, time.Time) (GuardedConn, bool) { return admitted{}, true }
func (admitAll) Datagram(netip.AddrPort, int, time.Time) bool   { return true }
func (admitAll) Session(netip.AddrPort, time.Time) (GuardedConn, bool) {
	return admitted{}, true
}
func (admitAll) Events(time.Time) []moat.MitigationEvent { return nil }

type admitted struct{}

func (admitted) Pace(int, time.Time) time.Duration { return 0 }
func (admitted) Done()                             {}
