// Package dataplane forwards traffic by the port rules and the websites:
// it listens on each instance's IP at each rule's frontend port (TCP or
// UDP) and relays clients to the rule's origin servers, and at each
// website's ports, where it proxies HTTP and HTTPS by Host and SNI to the
// website's origins (web*.go). It applies the instance's traffic state
// (mitigated, unmitigated, stopped), the rule's Guard and the website's
// WebGuard, runs the rules' health checks, and reports what it counted to
// moat.
//
// A Plane follows moat through a Source: every Poll it re-reads the
// snapshot when the event sequence moved, re-evaluates every instance's
// state on the server clock, and makes its listeners match. Every Flush
// it writes the counters of each rule as a moat.TrafficSample and the
// guards' mitigation events.
package dataplane

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"moat/internal/moat"
)

// Source is what the plane needs of moat; moat.TrafficService satisfies it.
type Source interface {
	Snapshot(ctx context.Context) (moat.Snapshot, error)
	LastSeq(ctx context.Context) (int64, error)
	TrafficNow() time.Time
	RecordTraffic(ctx context.Context, s []moat.TrafficSample) error
	RecordMitigation(ctx context.Context, e []moat.MitigationEvent) error
	RecordWebTraffic(ctx context.Context, s []moat.WebTrafficSample) error
	RecordWebAttacks(ctx context.Context, e []moat.WebAttackEvent) error
}

var _ Source = (*moat.TrafficService)(nil)

// Timeouts of the forwarder.
const (
	// NodataTimeout: with NodataConn on and the instance mitigated, a TCP
	// connection whose client sends nothing for this long is closed.
	NodataTimeout = 10 * time.Second
	// UDPIdleTimeout: a UDP session that moved no datagram either way for
	// this long is closed.
	UDPIdleTimeout = 60 * time.Second
	// DialTimeout bounds a connection attempt to an origin.
	DialTimeout = 5 * time.Second
	// dialAttempts is how many distinct origins a new connection tries.
	dialAttempts = 3
)

// Config configures a Plane.
type Config struct {
	Source Source
	// SyncClock reloads a shared clock offset before each tick; nil when
	// there is none.
	SyncClock func(context.Context)
	// NewGuard builds a rule's mitigation; nil admits everything.
	NewGuard func(GuardSettings) Guard
	// NewWebGuard builds a website's protection; nil allows every
	// request.
	NewWebGuard func(WebGuardSettings) WebGuard
	// Node names this process in samples and events (host:pid by default).
	Node string
	// Poll is how often the event sequence is polled and states
	// re-evaluated (250 ms by default).
	Poll time.Duration
	// Flush is how often counters and events are written (1 s by default).
	Flush time.Duration
	// Freebind binds with IP_FREEBIND: addresses routed to the host but
	// configured on no interface.
	Freebind bool
	// ProxyProtocol sends a PROXY protocol v2 header to the origin at the
	// start of every TCP connection, carrying the client's address.
	ProxyProtocol bool
	// Meter receives the counters as they are flushed (Prometheus); nil
	// counts nothing.
	Meter  Meter
	Logger *slog.Logger
}

// Meter is where the plane reports its figures as it flushes them:
// counters as deltas, gauges as values.
type Meter interface {
	AddBytes(in, out int64)
	AddPackets(in, out int64)
	AddConns(n int64)
	SetOpen(n int64)
	Drop(reason string, n int64)
	SetListeners(n int)
	// AddWebRequests counts n website requests whose answer is of class
	// ("2xx", "3xx", "4xx", "5xx" or "other").
	AddWebRequests(class string, n int64)
	// AddWebAttacks counts n website requests the protection refused or
	// watched.
	AddWebAttacks(n int64)
	// WebBlock counts n website requests the protection refused, by the
	// kind of what matched (WebBlock* reasons).
	WebBlock(reason string, n int64)
}

// Drop reasons a Meter is given.
const (
	DropStopped   = "stopped"   // the instance's forwarding has stopped
	DropMitigated = "mitigated" // the rule's guard refused it
)

// What refused a website request, as a Meter is told: the kind of the
// guard's WebVerdict.Reason (its rule name left out).
const (
	WebBlockBlacklist = "blacklist" // the domain's blacklist
	WebBlockCC        = "cc"        // the CC mode
	WebBlockCCRule    = "cc_rule"   // a custom frequency rule
	WebBlockPrecise   = "precise"   // a precise access rule
	WebBlockOther     = "other"
)

// webBlockKinds are the WebBlock reasons, in webCounters.blocked order.
var webBlockKinds = [...]string{WebBlockBlacklist, WebBlockCC, WebBlockCCRule, WebBlockPrecise, WebBlockOther}

// webBlockKind is the index in webBlockKinds of a verdict's reason.
func webBlockKind(reason string) int {
	kind, _, _ := strings.Cut(reason, ":")
	for i, k := range webBlockKinds[:len(webBlockKinds)-1] {
		if k == kind {
			return i
		}
	}
	return len(webBlockKinds) - 1
}

type noMeter struct{}

func (noMeter) AddBytes(int64, int64)        {}
func (noMeter) AddPackets(int64, int64)      {}
func (noMeter) AddConns(int64)               {}
func (noMeter) SetOpen(int64)                {}
func (noMeter) Drop(string, int64)           {}
func (noMeter) SetListeners(int)             {}
func (noMeter) AddWebRequests(string, int64) {}
func (noMeter) AddWebAttacks(int64)          {}
func (noMeter) WebBlock(string, int64)       {}

// Plane is the forwarder. Its methods are safe for concurrent use.
type Plane struct {
	cfg  Config
	src  Source
	log  *slog.Logger
	node string

	nodataTimeout time.Duration
	udpIdle       time.Duration

	mu      sync.Mutex
	rules   map[moat.PortKey]*rule
	retired []*rule // removed rules whose last counters are not written yet

	handlers sync.WaitGroup // every listener and connection handler
	tasks    chan func()    // handed to idle handler goroutines
	stopped  chan struct{}  // closed when Run returns
	stopOnce sync.Once

	web webState

	// flush state, touched only by the flush loop
	pending      map[sampleKey]moat.TrafficSample
	pendingEv    map[eventKey]moat.MitigationEvent
	pendingWeb   map[webSampleKey]moat.WebTrafficSample
	pendingWebEv map[webEventKey]moat.WebAttackEvent
}

// New returns a Plane; Run starts it.
func New(cfg Config) *Plane {
	if cfg.Poll <= 0 {
		cfg.Poll = 250 * time.Millisecond
	}
	if cfg.Flush <= 0 {
		cfg.Flush = time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Meter == nil {
		cfg.Meter = noMeter{}
	}
	if cfg.Node == "" {
		h, _ := os.Hostname()
		cfg.Node = h + ":" + strconv.Itoa(os.Getpid())
	}
	return &Plane{
		cfg: cfg, src: cfg.Source, log: cfg.Logger, node: cfg.Node,
		nodataTimeout: NodataTimeout,
		udpIdle:       UDPIdleTimeout,
		rules:         map[moat.PortKey]*rule{},
		pending:       map[sampleKey]moat.TrafficSample{},
		pendingEv:     map[eventKey]moat.MitigationEvent{},
		web:           newWebState(),
		pendingWeb:    map[webSampleKey]moat.WebTrafficSample{},
		pendingWebEv:  map[webEventKey]moat.WebAttackEvent{},
		tasks:         make(chan func()),
		stopped:       make(chan struct{}),
	}
}

// Node is this process's name in samples and events.
func (p *Plane) Node() string { return p.node }

// Run forwards until ctx ends; on return every listener and connection is
// closed and the last counters have been written (or logged as lost).
func (p *Plane) Run(ctx context.Context) error {
	if p.src == nil {
		return fmt.Errorf("dataplane: no source")
	}
	var loops sync.WaitGroup
	loops.Add(1)
	go func() { defer loops.Done(); p.flushLoop(ctx) }()

	var snap *moat.Snapshot
	tick := time.NewTicker(p.cfg.Poll)
	for {
		snap = p.reconcile(ctx, snap)
		select {
		case <-ctx.Done():
		case <-tick.C:
			continue
		}
		break
	}
	tick.Stop()
	loops.Wait()

	p.removeUnless(nil)
	p.reconcileWeb(ctx, nil, time.Time{})
	p.handlers.Wait()
	p.stopOnce.Do(func() { close(p.stopped) })

	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	p.flush(fctx)
	return nil
}

// reconcile is one tick: the snapshot (re-read when the sequence moved),
// every rule's state at server time, and the listeners to match.
func (p *Plane) reconcile(ctx context.Context, snap *moat.Snapshot) *moat.Snapshot {
	if ctx.Err() != nil {
		return snap
	}
	if p.cfg.SyncClock != nil {
		p.cfg.SyncClock(ctx)
	}
	seq, err := p.src.LastSeq(ctx)
	if err != nil {
		if ctx.Err() == nil {
			p.log.Warn("dataplane: read event sequence", "err", err)
		}
	} else if snap == nil || seq != snap.Seq {
		s, err := p.src.Snapshot(ctx)
		if err != nil {
			if ctx.Err() == nil {
				p.log.Warn("dataplane: read snapshot", "err", err)
			}
		} else {
			snap = &s
		}
	}
	if snap == nil {
		return nil
	}
	now := p.src.TrafficNow()
	seen := make(map[moat.PortKey]bool)
	for i := range snap.Edges {
		e := &snap.Edges[i]
		ip, err := netip.ParseAddr(e.IP)
		if err != nil {
			continue
		}
		state := e.StateAt(now)
		for j := range e.Rules {
			pr := e.Rules[j]
			seen[pr.PortKey] = true
			p.apply(ctx, e, j, ip, state)
		}
	}
	p.removeUnless(seen)
	p.reconcileWeb(ctx, snap, now)
	return snap
}

// removeUnless closes the rules not in keep (all of them when keep is
// nil); their last counters are written by a later flush.
func (p *Plane) removeUnless(keep map[moat.PortKey]bool) {
	var gone []*rule
	p.mu.Lock()
	for k, r := range p.rules {
		if !keep[k] {
			gone = append(gone, r)
			delete(p.rules, k)
		}
	}
	p.mu.Unlock()
	for _, r := range gone {
		r.remove()
	}
	p.mu.Lock()
	p.retired = append(p.retired, gone...)
	p.mu.Unlock()
}

// apply makes the listener, guard, health checks and connections of the
// j-th rule of e match it and the instance's state.
func (p *Plane) apply(ctx context.Context, e *moat.Edge, j int, ip netip.Addr, state moat.TrafficState) {
	k := e.Rules[j].PortKey
	p.mu.Lock()
	r := p.rules[k]
	p.mu.Unlock()
	if r != nil {
		if old := r.view.Load(); old.ip != ip {
			p.removeRule(r)
			r = nil
		} else if old.edge == e && old.state == state && r.listening() {
			return // nothing changed since the last tick
		}
	}
	v := &ruleView{rule: e.Rules[j], ip: ip, state: state, edge: e}
	if r == nil {
		r = newRule(p, v)
		p.mu.Lock()
		p.rules[k] = r
		p.mu.Unlock()
	}
	r.set(ctx, v)
}

// removeRule closes one rule (its address changed).
func (p *Plane) removeRule(r *rule) {
	p.mu.Lock()
	if p.rules[r.key] == r {
		delete(p.rules, r.key)
	}
	p.mu.Unlock()
	r.remove()
	p.mu.Lock()
	p.retired = append(p.retired, r)
	p.mu.Unlock()
}

// OriginHealth reports what the health checks observed of a rule's
// origins (moat.HealthSource): an origin is abnormal while its checks
// fail; without a check, or for an origin not checked here, normal.
func (p *Plane) OriginHealth(k moat.PortKey, origins []string) []moat.OriginStatus {
	p.mu.Lock()
	r := p.rules[k]
	p.mu.Unlock()
	out := make([]moat.OriginStatus, len(origins))
	for i, o := range origins {
		st := moat.HealthNormal
		if r != nil && !r.healthy(o) {
			st = moat.HealthAbnormal
		}
		out[i] = moat.OriginStatus{Address: o, Status: st}
	}
	return out
}

var _ moat.HealthSource = (*Plane)(nil)

// workerIdle is how long a handler goroutine waits for another task
// before it ends.
const workerIdle = 5 * time.Second

// goHandler runs f as a handler Run waits for: on an idle handler
// goroutine when one waits, else on a new one. Reuse spares each short
// connection the start of its goroutines and the copies of their stacks
// as they grow.
func (p *Plane) goHandler(f func()) {
	p.handlers.Add(1)
	select {
	case p.tasks <- f:
	default:
		go p.worker(f)
	}
}

// worker runs f, then the tasks handed to it until it has been idle for
// workerIdle or Run has ended.
func (p *Plane) worker(f func()) {
	var idle *time.Timer
	for {
		f()
		p.handlers.Done()
		f = nil // let the finished task's memory go while idle
		if idle == nil {
			idle = time.NewTimer(workerIdle)
		} else {
			idle.Reset(workerIdle)
		}
		select {
		case f = <-p.tasks:
		case <-idle.C:
			return
		case <-p.stopped:
			idle.Stop()
			return
		}
	}
}

// listenAddr is ip:port.
func listenAddr(ip netip.Addr, port int) string {
	return net.JoinHostPort(ip.String(), strconv.Itoa(port))
}
