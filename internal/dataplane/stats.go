package dataplane

import (
	"context"
	"sync/atomic"
	"time"

	"moat/internal/moat"
)

// counters are one rule's figures since the last flush (the gauges:
// open connections now, and their peak).
type counters struct {
	inB, outB, inP, outP atomic.Int64
	newConns, dropped    atomic.Int64
	conns, peak          atomic.Int64
	// reported says the last sample had open connections, so the next
	// one is written even when empty (the gauges go back to zero).
	reported bool
}

// open adds d to the open connections, keeping the peak.
func (c *counters) open(d int64) {
	n := c.conns.Add(d)
	for {
		p := c.peak.Load()
		if n <= p || c.peak.CompareAndSwap(p, n) {
			return
		}
	}
}

type sampleKey struct {
	moat.PortKey
	Bucket time.Time
}

type eventKey struct {
	moat.PortKey
	Source, Limit string
	Start         time.Time
}

func (p *Plane) flushLoop(ctx context.Context) {
	t := time.NewTicker(p.cfg.Flush)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			p.flush(ctx)
		}
	}
}

// flush takes every rule's counters and guard events into the pending
// sets and writes them; what fails to be written stays pending and is
// merged with the next flush, so nothing is lost or counted twice.
func (p *Plane) flush(ctx context.Context) {
	now := p.src.TrafficNow()
	bucket := now.UTC().Truncate(moat.StatsBucket)

	p.mu.Lock()
	rules := make([]*rule, 0, len(p.rules)+len(p.retired))
	for _, r := range p.rules {
		rules = append(rules, r)
	}
	var keep []*rule
	for _, r := range p.retired {
		// A retired rule is written one last time once nothing of it runs.
		if r.idle() {
			rules = append(rules, r)
		} else {
			keep = append(keep, r)
		}
	}
	p.retired = keep
	p.mu.Unlock()

	m := p.cfg.Meter
	var open int64
	listeners := 0
	for _, r := range rules {
		r.bal.expire(time.Now())
		if s, ok := r.sample(bucket); ok {
			p.addPending(s)
			m.AddBytes(s.InBytes, s.OutBytes)
			m.AddPackets(s.InPackets, s.OutPackets)
			m.AddConns(s.NewConns)
			reason := DropMitigated
			if r.view.Load().state == moat.TrafficStopped {
				reason = DropStopped
			}
			m.Drop(reason, s.Dropped)
		}
		open += r.stats.conns.Load()
		r.mu.Lock()
		if r.tcp != nil || r.udp != nil {
			listeners++
		}
		r.mu.Unlock()
		for _, e := range r.guard.Events(now) {
			p.pendingEv[eventKey{e.PortKey, e.Source, e.Limit, e.Start}] = e
		}
	}

	webIn, webOut, webListeners := p.takeWeb(now, bucket)
	m.AddBytes(webIn, webOut)

	m.SetOpen(open)
	m.SetListeners(listeners + webListeners)

	if len(p.pending) > 0 {
		samples := make([]moat.TrafficSample, 0, len(p.pending))
		for _, s := range p.pending {
			samples = append(samples, s)
		}
		if err := p.src.RecordTraffic(ctx, samples); err != nil {
			p.log.Warn("dataplane: write traffic samples (kept for the next flush)", "samples", len(samples), "err", err)
		} else {
			clear(p.pending)
		}
	}
	if len(p.pendingEv) > 0 {
		evs := make([]moat.MitigationEvent, 0, len(p.pendingEv))
		for _, e := range p.pendingEv {
			evs = append(evs, e)
		}
		if err := p.src.RecordMitigation(ctx, evs); err != nil {
			p.log.Warn("dataplane: write mitigation events (kept for the next flush)", "events", len(evs), "err", err)
		} else {
			clear(p.pendingEv)
		}
	}
	p.writeWeb(ctx)
}

// addPending merges a sample into the pending one of its rule and bucket:
// counters add up, the gauges are the newer ones, the peak the higher.
func (p *Plane) addPending(s moat.TrafficSample) {
	k := sampleKey{s.PortKey, s.Bucket}
	old, ok := p.pending[k]
	if ok {
		s.InBytes += old.InBytes
		s.OutBytes += old.OutBytes
		s.InPackets += old.InPackets
		s.OutPackets += old.OutPackets
		s.NewConns += old.NewConns
		s.Dropped += old.Dropped
		s.MaxConns = max(s.MaxConns, old.MaxConns)
	}
	p.pending[k] = s
}

// sample takes the rule's counters since the last flush; ok is false when
// there is nothing to say.
func (r *rule) sample(bucket time.Time) (moat.TrafficSample, bool) {
	var active, inactive int64
	r.mu.Lock()
	conns := make([]*tconn, 0, len(r.conns))
	for c := range r.conns {
		conns = append(conns, c)
	}
	u := r.udp
	r.mu.Unlock()
	for _, c := range conns {
		if c.flushProgress() {
			active++
		} else {
			inactive++
		}
	}
	if u != nil {
		a, i := u.flushProgress()
		active += a
		inactive += i
	}
	st := &r.stats
	cur := st.conns.Load()
	s := moat.TrafficSample{
		PortKey:       r.key,
		Bucket:        bucket,
		Node:          r.p.node,
		InBytes:       st.inB.Swap(0),
		OutBytes:      st.outB.Swap(0),
		InPackets:     st.inP.Swap(0),
		OutPackets:    st.outP.Swap(0),
		NewConns:      st.newConns.Swap(0),
		Dropped:       st.dropped.Swap(0),
		ActiveConns:   active,
		InactiveConns: inactive,
		MaxConns:      max(st.peak.Swap(cur), cur),
	}
	busy := s.InBytes != 0 || s.OutBytes != 0 || s.InPackets != 0 || s.OutPackets != 0 ||
		s.NewConns != 0 || s.Dropped != 0 || s.ActiveConns != 0 || s.InactiveConns != 0 || s.MaxConns != 0
	if !busy && !st.reported {
		return s, false
	}
	st.reported = busy
	return s, true
}
