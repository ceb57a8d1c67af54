package webguard

import (
	"time"

	"moat/internal/moat"
)

// overflowSource is the source of the event that counts the attacks of
// sources beyond the events bound.
const overflowSource = "0.0.0.0"

// evKey is what an event is about: a source and the reason it matched.
type evKey struct {
	source string
	reason string
}

// event is an open or just-ended attack event.
type event struct {
	key     evKey
	start   int64 // unix ns of the first matching request
	last    int64 // of the latest
	end     int64 // 0 while open
	peak    int64
	blocked int64
	watched int64
	sec     int64 // the unix second secN counts
	secN    int64 // matching requests in sec
	dirty   bool  // changed since the last Events
}

// record counts a request of source matching reason at t, refused or
// watched. g.mu is held.
func (g *Guard) record(source, reason string, t int64, refused bool) {
	k := evKey{source, reason}
	e := g.events[k]
	if e == nil && len(g.events) >= g.maxEvents {
		k.source = overflowSource
		e = g.events[k]
	}
	if e != nil && t-e.last >= int64(EventQuiet) {
		g.end(e)
		e = nil
	}
	if e == nil {
		e = &event{key: k, start: t, last: t}
		g.events[k] = e
	}
	e.last = max(e.last, t)
	if refused {
		e.blocked++
	} else {
		e.watched++
	}
	if sec := t / int64(time.Second); sec != e.sec {
		e.sec, e.secN = sec, 0
	}
	e.secN++
	e.peak = max(e.peak, e.secN)
	g.mark(e)
}

// end closes e at its last request. g.mu is held.
func (g *Guard) end(e *event) {
	e.end = e.last
	delete(g.events, e.key)
	g.mark(e)
}

func (g *Guard) mark(e *event) {
	if !e.dirty {
		e.dirty = true
		g.changed = append(g.changed, e)
	}
}

// Events implements dataplane.WebGuard: the events that started, grew or
// ended since the last call, ending those quiet for EventQuiet at now. It
// also forgets the counters idle at now.
func (g *Guard) Events(now time.Time) []moat.WebAttackEvent {
	t := now.UnixNano()
	g.mu.Lock()
	defer g.mu.Unlock()
	g.sweep(t, 0)
	for _, e := range g.events {
		if t-e.last >= int64(EventQuiet) {
			g.end(e)
		}
	}
	if len(g.changed) == 0 {
		return nil
	}
	out := make([]moat.WebAttackEvent, len(g.changed))
	for i, e := range g.changed {
		out[i] = moat.WebAttackEvent{
			AccountID: g.set.AccountID,
			Domain:    g.set.Domain,
			Node:      g.set.Node,
			Source:    e.key.source,
			Reason:    e.key.reason,
			Start:     time.Unix(0, e.start).UTC(),
			Peak:      e.peak,
			Blocked:   e.blocked,
			Watched:   e.watched,
		}
		if e.end != 0 {
			out[i].End = time.Unix(0, e.end).UTC()
		}
		e.dirty = false
		g.changed[i] = nil
	}
	g.changed = g.changed[:0]
	return out
}
