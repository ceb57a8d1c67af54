// Package webguard is a website's dataplane.WebGuard: the domain's IP
// sets, precise access rules, custom frequency (CC) rules and the CC
// mode's built-in per-source threshold, with attack events per source and
// reason. It is pure logic over the times it is given.
//
// A request is judged in this order:
//  1. The whitelist lets the source through, unjudged and uncounted.
//  2. The blacklist refuses it (reason blacklist).
//  3. Precise rules, in their order, that have not ended: the first
//     matching accept rule lets the request through (no CC check); a
//     matching block or challenge rule refuses it; a matching watch rule
//     counts it as an attack and judging goes on.
//  4. While the CC switch is on, custom CC rules: a source (the client
//     address, or the value of a header) that makes more than Count
//     matching requests within Interval seconds (a window opened by its
//     first request) is refused for TTL seconds (block, challenge), or
//     counted (watch), or let through unjudged (accept).
//  5. While the CC switch is on, the mode's built-in threshold: more than
//     Modes[mode].Count requests from one address within ModeWindow
//     refuse the address for Modes[mode].Block.
//
// The real service answers challenge with a JavaScript or CAPTCHA check;
// moat refuses such requests as it does blocked ones. Refused requests get
// BlockStatus (405, the status the Alibaba Cloud WAF documents for its
// block page; Anti-DDoS documents none) and BlockPage.
package webguard

import (
	"net/http"
	"net/netip"
	"sync"
	"time"

	"moat/internal/dataplane"
	"moat/internal/moat"
)

// BlockStatus is the status of a refused request.
const BlockStatus = http.StatusMethodNotAllowed

// BlockPage is the body of a refused request. Callers must not modify it.
var BlockPage = []byte(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>405 Request blocked</title></head>
<body><h1>405 Request blocked</h1>
<p>This request was blocked by the website's Anti-DDoS protection.</p>
</body></html>
`)

// Mode is a CC mode's built-in threshold: more than Count requests from
// one address within ModeWindow refuse it for Block.
type Mode struct {
	Count int
	Block time.Duration
}

// ModeWindow is the window the built-in thresholds count over.
const ModeWindow = 10 * time.Second

// Modes are the CC modes' thresholds: the default mode only stops a
// flood (100 requests a second, sustained), the emergency modes
// (gf_under_attack, then gf_sos_verify and gf_sos_enhance) stop ever
// smaller rates, for longer.
var Modes = map[string]Mode{
	moat.CCModeDefault:     {Count: 1000, Block: time.Minute},
	moat.CCModeUnderAttack: {Count: 300, Block: 5 * time.Minute},
	moat.CCModeSOSVerify:   {Count: 100, Block: 10 * time.Minute},
	moat.CCModeSOSEnhance:  {Count: 50, Block: 30 * time.Minute},
}

// Bounds of the state a Guard keeps.
const (
	// DefaultMaxSources bounds the counters kept (one per source and
	// rule): beyond it, counters whose window and block are over are
	// forgotten, then arbitrary ones; a source without a counter is
	// counted afresh.
	DefaultMaxSources = 65536
	// DefaultMaxEvents bounds the open events; beyond it a new source's
	// attacks are counted in the event of the source "0.0.0.0".
	DefaultMaxEvents = 4096
	// EventQuiet is how long an event lasts without a matching request
	// before it ends.
	EventQuiet = 30 * time.Second
)

// Guard is one website's protection. It is safe for concurrent use.
type Guard struct {
	mu         sync.Mutex
	set        dataplane.WebGuardSettings
	white      ipSet
	black      ipSet
	precise    []preciseRule
	cc         []ccRule
	mode       Mode
	counters   map[counterKey]*counter
	events     map[evKey]*event
	changed    []*event
	maxSources int
	maxEvents  int
}

type preciseRule struct {
	name    string
	action  string
	expires int64
	conds   []cond
	ok      bool
}

type ccRule struct {
	moat.CCRule
	conds []cond
	ok    bool
}

// counterKey names a counter: a rule ("" for the mode's threshold) and a
// source (an address, or a header's value).
type counterKey struct {
	rule   string
	source string
}

// counter counts a source's requests in a window, and blocks it until
// until (unix ns; 0 not blocked).
type counter struct {
	start int64 // unix ns the window opened
	span  int64 // the window's length, ns
	n     int64
	until int64
	seen  int64
}

var _ dataplane.WebGuard = (*Guard)(nil)

// New returns a guard enforcing s.
func New(s dataplane.WebGuardSettings) *Guard {
	g := &Guard{counters: map[counterKey]*counter{}, events: map[evKey]*event{},
		maxSources: DefaultMaxSources, maxEvents: DefaultMaxEvents}
	g.Update(s)
	return g
}

// SetLimits changes the bounds of the state kept (tests use small ones).
func (g *Guard) SetLimits(maxSources, maxEvents int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.maxSources, g.maxEvents = max(maxSources, 1), max(maxEvents, 1)
}

// Update implements dataplane.WebGuard.
func (g *Guard) Update(s dataplane.WebGuardSettings) {
	p := s.Protection
	white, black := compileSet(p.Whitelist), compileSet(p.Blacklist)
	precise := make([]preciseRule, 0, len(p.Precise))
	for _, r := range p.Precise {
		cs, ok := compileConds(r.Conditions)
		precise = append(precise, preciseRule{name: r.Name, action: r.Action, expires: r.Expires, conds: cs, ok: ok && len(cs) > 0})
	}
	cc := make([]ccRule, 0, len(p.CCRules))
	for _, r := range p.CCRules {
		cs, ok := compileConds(r.Conditions)
		cc = append(cc, ccRule{CCRule: r, conds: cs, ok: ok && r.Count > 0 && r.Interval > 0})
	}
	mode, ok := Modes[p.CCMode]
	if !ok {
		mode = Modes[moat.CCModeDefault]
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.set, g.white, g.black, g.precise, g.cc, g.mode = s, white, black, precise, cc, mode
}

func allow() dataplane.WebVerdict { return dataplane.WebVerdict{Allow: true} }

func refuse(reason string) dataplane.WebVerdict {
	return dataplane.WebVerdict{Status: BlockStatus, Body: BlockPage, Attack: true, Reason: reason}
}

// Request implements dataplane.WebGuard.
func (g *Guard) Request(src netip.Addr, r *http.Request, now time.Time) dataplane.WebVerdict {
	t := now.UnixNano()
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.set.Mitigate || g.white.contains(src) {
		return allow()
	}
	srcKey := src.Unmap().String()
	if g.black.contains(src) {
		g.record(srcKey, "blacklist", t, true)
		return refuse("blacklist")
	}
	v := allow()
	for i := range g.precise {
		p := &g.precise[i]
		if !p.ok || p.expires != 0 && p.expires <= now.Unix() || !allMatch(p.conds, src, r) {
			continue
		}
		reason := "precise:" + p.name
		switch p.action {
		case moat.WebActionAccept:
			return v
		case moat.WebActionWatch:
			g.record(srcKey, reason, t, false)
			v = dataplane.WebVerdict{Allow: true, Attack: true, Reason: reason}
			continue
		}
		g.record(srcKey, reason, t, true)
		return refuse(reason)
	}
	if !g.set.Protection.CCEnabled {
		return v
	}
	for i := range g.cc {
		c := &g.cc[i]
		if !c.ok || c.Expires != 0 && c.Expires <= now.Unix() || !c.applies(src, r) {
			continue
		}
		key := srcKey
		if c.Target == "header" {
			if hv, ok := header(r, c.SubKey); ok {
				key = hv
			}
		}
		reason := "cc_rule:" + c.Name
		refusing := c.Action == moat.WebActionBlock || c.Action == moat.WebActionChallenge
		over, blocked := g.count(counterKey{c.Name, key}, t, int64(c.Interval)*int64(time.Second), int64(c.Count), int64(c.TTL)*int64(time.Second), refusing)
		switch {
		case !over && !blocked:
			continue
		case c.Action == moat.WebActionAccept:
			return v
		case c.Action == moat.WebActionWatch:
			g.record(srcKey, reason, t, false)
			v = dataplane.WebVerdict{Allow: true, Attack: true, Reason: reason}
			continue
		}
		g.record(srcKey, reason, t, true)
		return refuse(reason)
	}
	over, blocked := g.count(counterKey{"", srcKey}, t, int64(ModeWindow), int64(g.mode.Count), int64(g.mode.Block), true)
	if over || blocked {
		g.record(srcKey, "cc", t, true)
		return refuse("cc")
	}
	return v
}

// applies says whether a CC rule counts r: its URI and conditions match.
func (c *ccRule) applies(src netip.Addr, r *http.Request) bool {
	if c.URI != "" {
		if c.Match == "exact" {
			if r.URL.Path != c.URI {
				return false
			}
		} else if len(r.URL.Path) < len(c.URI) || r.URL.Path[:len(c.URI)] != c.URI {
			return false
		}
	}
	return allMatch(c.conds, src, r)
}

// count counts a request at t on the counter k (a window of span ns, at
// most limit requests). over: this request is beyond the limit (and,
// when blocking, the source is then blocked for ttl ns); blocked: the
// source was blocked already. g.mu is held.
func (g *Guard) count(k counterKey, t, span, limit, ttl int64, blocking bool) (over, blocked bool) {
	c := g.counters[k]
	if c == nil {
		if len(g.counters) >= g.maxSources {
			g.sweep(t, len(g.counters)-g.maxSources+max(1, g.maxSources/16))
		}
		c = &counter{start: t, span: span}
		g.counters[k] = c
	}
	c.seen = t
	if c.until > t {
		return false, true
	}
	if t-c.start >= span || t < c.start {
		c.start, c.n, c.span = t, 0, span
	}
	c.n++
	if c.n <= limit {
		return false, false
	}
	if blocking {
		c.until = t + ttl
		c.start, c.n = c.until, 0
	}
	return true, false
}

// sweep forgets counters whose window and block are over at t, and when
// that freed fewer than need, arbitrary others until need are freed (an
// attacker with many addresses gets counted afresh rather than growing
// memory). g.mu is held.
func (g *Guard) sweep(t int64, need int) {
	freed := 0
	for k, c := range g.counters {
		if t >= c.until && t-c.start >= c.span {
			delete(g.counters, k)
			freed++
		}
	}
	for k := range g.counters {
		if freed >= need {
			break
		}
		delete(g.counters, k)
		freed++
	}
}
