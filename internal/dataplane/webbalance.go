package dataplane

import (
	"hash/fnv"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"moat/internal/moat"
)

// How a website's requests are spread over its origins (its policy's
// mode, set by ConfigL7RsPolicy):
//
//   - ip_hash: the client's address picks the origin, so a client keeps
//     its origin while the origins stay the same;
//   - rr: the origins in turn, in proportion to their weights (smooth
//     weighted round robin: over every sum-of-weights requests each origin
//     gets exactly its weight, interleaved);
//   - least_time: the origin with the lowest recent time to the first
//     byte of its answer (an exponentially weighted moving average);
//     an origin not measured yet counts as fastest, so each is tried;
//     equal times go to the origin with the fewest requests in flight,
//     then in turn. A request the origin failed counts as webFailSample.

const (
	// webFailSample is the time counted for a request its origin did not
	// answer (refused, reset, timed out), so least_time turns away from
	// an origin that fails quickly.
	webFailSample = 10 * time.Second
	// webEWMAShift weighs a new sample 1/2^webEWMAShift into the average.
	webEWMAShift = 2
)

// webBalance picks the origins of one website's requests. It is built
// for one set of origins, mode and weights and kept while they stay.
type webBalance struct {
	mode    string
	origins []string
	weights []int // rr's weights, nil when all are equal

	next atomic.Uint64 // rr with equal weights, least_time's turn

	mu      sync.Mutex
	current []int        // smooth weighted round robin
	times   []originTime // least_time
}

// originTime is what least_time knows of one origin.
type originTime struct {
	ewma     int64 // nanoseconds; 0 with no sample yet
	inflight int
}

// newWebBalance builds the balance of a website's policy over origins.
func newWebBalance(p moat.WebPolicy, origins []string) *webBalance {
	b := &webBalance{mode: p.ModeOrDefault(), origins: slices.Clone(origins)}
	switch b.mode {
	case moat.ProxyModeRR:
		ws := make([]int, len(origins))
		same := true
		for i, o := range origins {
			ws[i] = p.Weight(o)
			same = same && ws[i] == ws[0]
		}
		if !same {
			b.weights, b.current = ws, make([]int, len(origins))
		}
	case moat.ProxyModeLeastTime:
		b.times = make([]originTime, len(origins))
	}
	return b
}

// sameAs reports whether b was built for this policy and these origins.
func (b *webBalance) sameAs(p moat.WebPolicy, origins []string) bool {
	if b.mode != p.ModeOrDefault() || !slices.Equal(b.origins, origins) {
		return false
	}
	if b.mode != moat.ProxyModeRR {
		return true
	}
	for i, o := range origins {
		w := p.Weight(o)
		if b.weights == nil && w != p.Weight(origins[0]) || b.weights != nil && b.weights[i] != w {
			return false
		}
	}
	return true
}

// pick returns the origin of a request from src and its index, which
// done must get back once the request is over.
func (b *webBalance) pick(src netip.Addr) (string, int) {
	n := len(b.origins)
	if n == 1 {
		if b.times != nil {
			b.mu.Lock()
			b.times[0].inflight++
			b.mu.Unlock()
		}
		return b.origins[0], 0
	}
	var i int
	switch b.mode {
	case moat.ProxyModeRR:
		if b.weights == nil {
			i = int((b.next.Add(1) - 1) % uint64(n))
		} else {
			i = b.pickWeighted()
		}
	case moat.ProxyModeLeastTime:
		i = b.pickFastest()
	default:
		h := fnv.New32a()
		h.Write(src.AsSlice())
		i = int(h.Sum32() % uint32(n))
	}
	return b.origins[i], i
}

// pickWeighted is one step of smooth weighted round robin: every origin
// gains its weight, the highest is chosen and loses the total.
func (b *webBalance) pickWeighted() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	total, best := 0, 0
	for i, w := range b.weights {
		b.current[i] += w
		total += w
		if b.current[i] > b.current[best] {
			best = i
		}
	}
	b.current[best] -= total
	return best
}

// pickFastest chooses least_time's origin and counts the request in
// flight to it.
func (b *webBalance) pickFastest() int {
	n := len(b.origins)
	start := int(b.next.Add(1) % uint64(n))
	b.mu.Lock()
	defer b.mu.Unlock()
	best := start
	for k := 1; k < n; k++ {
		i := (start + k) % n
		c, o := b.times[i], b.times[best]
		if c.ewma < o.ewma || c.ewma == o.ewma && c.inflight < o.inflight {
			best = i
		}
	}
	b.times[best].inflight++
	return best
}

// observe records how long origin i took to begin its answer (failed:
// it did not answer).
func (b *webBalance) observe(i int, d time.Duration, failed bool) {
	if b.times == nil {
		return
	}
	if failed {
		d += webFailSample
	}
	if d <= 0 {
		d = 1
	}
	b.mu.Lock()
	t := &b.times[i]
	if t.ewma == 0 {
		t.ewma = int64(d)
	} else {
		t.ewma += (int64(d) - t.ewma) >> webEWMAShift
		if t.ewma <= 0 {
			t.ewma = 1
		}
	}
	b.mu.Unlock()
}

// done ends a request picked for origin i.
func (b *webBalance) done(i int) {
	if b.times == nil {
		return
	}
	b.mu.Lock()
	b.times[i].inflight--
	b.mu.Unlock()
}
