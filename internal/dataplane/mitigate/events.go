package mitigate

import (
	"net/netip"
	"time"

	"moat/internal/moat"
)

// evKey is what an event is about: a source and the limit it crossed.
type evKey struct {
	addr  netip.Addr
	limit string
}

// event is an open or just-ended mitigation event.
type event struct {
	key     evKey
	start   int64 // unix ns of the first crossing
	last    int64 // of the latest
	end     int64 // 0 while open
	peak    int64
	dropped int64
	sec     int64 // the unix second secN counts
	secN    int64 // crossings in sec
	dirty   bool  // changed since the last Events
}

// cross records that addr crossed limit at t, refusing dropped
// connections or datagrams; peak is the rate or count seen, or -1 for the
// crossings per second. r.mu is held.
func (r *Rule) cross(addr netip.Addr, limit string, t, peak, dropped int64) {
	k := evKey{addr, limit}
	e := r.events[k]
	if e == nil && len(r.events) >= r.maxSources {
		k.addr = allSources
		e = r.events[k]
	}
	if e != nil && t-e.last >= int64(EventQuiet) {
		r.end(e)
		e = nil
	}
	if e == nil {
		e = &event{key: k, start: t, last: t}
		r.events[k] = e
	}
	e.last = max(e.last, t)
	e.dropped += dropped
	if sec := t / int64(time.Second); sec != e.sec {
		e.sec, e.secN = sec, 0
	}
	e.secN++
	if peak < 0 {
		peak = e.secN
	}
	e.peak = max(e.peak, peak)
	r.mark(e)
}

// end closes e at its last crossing. r.mu is held.
func (r *Rule) end(e *event) {
	e.end = e.last
	delete(r.events, e.key)
	r.mark(e)
}

func (r *Rule) mark(e *event) {
	if !e.dirty {
		e.dirty = true
		r.changed = append(r.changed, e)
	}
}

// Events returns the events that started, grew or ended since the last
// call, ending those quiet for EventQuiet at now. It also forgets the
// sources idle at now.
func (r *Rule) Events(now time.Time) []moat.MitigationEvent {
	c := r.cfg.Load()
	t := now.UnixNano()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sweep(t, -1)
	for _, e := range r.events {
		if t-e.last >= int64(EventQuiet) {
			r.end(e)
		}
	}
	if len(r.changed) == 0 {
		return nil
	}
	out := make([]moat.MitigationEvent, len(r.changed))
	for i, e := range r.changed {
		out[i] = moat.MitigationEvent{
			PortKey: c.key,
			Node:    c.node,
			Source:  e.key.addr.String(),
			Limit:   e.key.limit,
			Start:   time.Unix(0, e.start).UTC(),
			Peak:    e.peak,
			Dropped: e.dropped,
		}
		if e.end != 0 {
			out[i].End = time.Unix(0, e.end).UTC()
		}
		e.dirty = false
		r.changed[i] = nil
	}
	r.changed = r.changed[:0]
	return out
}
