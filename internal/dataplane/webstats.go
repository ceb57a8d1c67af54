package dataplane

import (
	"context"
	"sync/atomic"
	"time"

	"moat/internal/moat"
)

// webCounters are one website's figures since the last flush.
type webCounters struct {
	requests, attacks atomic.Int64
	inB, outB         atomic.Int64
	class             [4]atomic.Int64 // 2xx, 3xx, 4xx, 5xx
	codes             [len(moat.WebStatusCodes)]atomic.Int64
	// blocked counts the requests the guard refused, by webBlockKinds
	// (for the Meter only).
	blocked [len(webBlockKinds)]atomic.Int64
}

// record counts one answered request: in bytes received, w what was sent.
func (c *webCounters) record(in int64, w *webWriter) {
	c.requests.Add(1)
	c.inB.Add(in)
	c.outB.Add(w.n)
	status := w.status
	if status == 0 {
		// The handler wrote nothing: net/http answers 200 with no body.
		status = 200
	}
	if k := status/100 - 2; k >= 0 && k < len(c.class) {
		c.class[k].Add(1)
	}
	for i, code := range moat.WebStatusCodes {
		if code == status {
			c.codes[i].Add(1)
		}
	}
}

// take returns the counters as a sample and zeroes them; ok is false when
// nothing was counted.
func (c *webCounters) take(k webKey, bucket time.Time, node string) (moat.WebTrafficSample, bool) {
	s := moat.WebTrafficSample{
		AccountID: k.account, Domain: k.domain, Bucket: bucket, Node: node,
		Requests: c.requests.Swap(0), AttackRequests: c.attacks.Swap(0),
		InBytes: c.inB.Swap(0), OutBytes: c.outB.Swap(0),
		Status2xx: c.class[0].Swap(0), Status3xx: c.class[1].Swap(0), Status4xx: c.class[2].Swap(0), Status5xx: c.class[3].Swap(0),
	}
	busy := s.Requests != 0 || s.AttackRequests != 0 || s.InBytes != 0 || s.OutBytes != 0
	for i := range c.codes {
		s.Codes[i] = c.codes[i].Swap(0)
	}
	return s, busy
}

// webClasses name the status classes a Meter is told, in
// webCounters.class order.
var webClasses = [...]string{"2xx", "3xx", "4xx", "5xx"}

type webSampleKey struct {
	webKey
	bucket time.Time
}

type webEventKey struct {
	webKey
	source, reason string
	start          time.Time
}

// takeWeb moves every website's counters and guard events into the
// pending sets (called by flush); it returns the bytes counted and the
// number of open website listeners.
func (p *Plane) takeWeb(now, bucket time.Time) (in, out int64, listeners int) {
	w := &p.web
	w.mu.Lock()
	sites := make([]*webSite, 0, len(w.sites)+len(w.retired))
	for _, s := range w.sites {
		sites = append(sites, s)
	}
	sites = append(sites, w.retired...)
	w.retired = nil
	for _, l := range w.listeners {
		l.mu.Lock()
		if l.ln != nil {
			listeners++
		}
		l.mu.Unlock()
	}
	w.mu.Unlock()

	m := p.cfg.Meter
	var classes [4]int64
	var requests, attacks int64
	for _, s := range sites {
		for i := range s.stats.blocked {
			if n := s.stats.blocked[i].Swap(0); n > 0 {
				m.WebBlock(webBlockKinds[i], n)
			}
		}
		if x, ok := s.stats.take(s.key, bucket, p.node); ok {
			in += x.InBytes
			out += x.OutBytes
			requests += x.Requests
			attacks += x.AttackRequests
			for i, n := range []int64{x.Status2xx, x.Status3xx, x.Status4xx, x.Status5xx} {
				classes[i] += n
			}
			k := webSampleKey{s.key, bucket}
			if old, ok := p.pendingWeb[k]; ok {
				x = addWebSamples(old, x)
			}
			p.pendingWeb[k] = x
		}
		if s.guard != nil {
			for _, e := range s.guard.Events(now) {
				p.pendingWebEv[webEventKey{webKey{e.AccountID, e.Domain}, e.Source, e.Reason, e.Start}] = e
			}
		}
	}
	other := requests
	for i, n := range classes {
		if n > 0 {
			m.AddWebRequests(webClasses[i], n)
		}
		other -= n
	}
	if other > 0 {
		m.AddWebRequests("other", other)
	}
	if attacks > 0 {
		m.AddWebAttacks(attacks)
	}
	if n := w.dropped.Swap(0); n > 0 {
		m.Drop(DropStopped, n)
	}
	return in, out, listeners
}

// addWebSamples adds b's counters to a's.
func addWebSamples(a, b moat.WebTrafficSample) moat.WebTrafficSample {
	a.Requests += b.Requests
	a.AttackRequests += b.AttackRequests
	a.InBytes += b.InBytes
	a.OutBytes += b.OutBytes
	a.Status2xx += b.Status2xx
	a.Status3xx += b.Status3xx
	a.Status4xx += b.Status4xx
	a.Status5xx += b.Status5xx
	for i := range a.Codes {
		a.Codes[i] += b.Codes[i]
	}
	return a
}

// writeWeb writes the pending website samples and events; what fails
// stays pending for the next flush.
func (p *Plane) writeWeb(ctx context.Context) {
	if len(p.pendingWeb) > 0 {
		samples := make([]moat.WebTrafficSample, 0, len(p.pendingWeb))
		for _, s := range p.pendingWeb {
			samples = append(samples, s)
		}
		if err := p.src.RecordWebTraffic(ctx, samples); err != nil {
			p.log.Warn("dataplane: write website samples (kept for the next flush)", "samples", len(samples), "err", err)
		} else {
			clear(p.pendingWeb)
		}
	}
	if len(p.pendingWebEv) > 0 {
		evs := make([]moat.WebAttackEvent, 0, len(p.pendingWebEv))
		for _, e := range p.pendingWebEv {
			evs = append(evs, e)
		}
		if err := p.src.RecordWebAttacks(ctx, evs); err != nil {
			p.log.Warn("dataplane: write website attack events (kept for the next flush)", "events", len(evs), "err", err)
		} else {
			clear(p.pendingWebEv)
		}
	}
}
