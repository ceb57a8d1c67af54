package dataplane

import (
	"net/netip"
	"slices"
	"sync"
	"time"
)

// balancer picks a rule's origin for a new connection or session: the
// healthy origin with the fewest open connections (ties taken in turn),
// or, with a persistence timeout, the origin the source was last given
// while that is younger than the timeout and still healthy.
type balancer struct {
	mu      sync.Mutex
	origins []string
	open    map[string]int
	next    int
	sticky  map[netip.Addr]stick
}

type stick struct {
	origin string
	until  time.Time
}

func (b *balancer) init() {
	b.open = map[string]int{}
	b.sticky = map[netip.Addr]stick{}
}

// setOrigins replaces the origins; open counts of kept ones stay.
func (b *balancer) setOrigins(o []string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if slices.Equal(b.origins, o) {
		return
	}
	b.origins = slices.Clone(o)
}

// pick chooses an origin for src, avoiding those in skip, among those
// healthy says are up; persist is the persistence timeout (0: none).
// The choice must be given back with release.
func (b *balancer) pick(src netip.Addr, healthy func(string) bool, skip []string, persist time.Duration, now time.Time) (string, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	usable := func(o string) bool {
		return slices.Contains(b.origins, o) && !slices.Contains(skip, o) && (healthy == nil || healthy(o))
	}
	if persist > 0 {
		if s, ok := b.sticky[src]; ok && now.Before(s.until) && usable(s.origin) {
			b.sticky[src] = stick{s.origin, now.Add(persist)}
			b.open[s.origin]++
			return s.origin, true
		}
	}
	best, bestN := "", 0
	n := len(b.origins)
	for i := range n {
		o := b.origins[(b.next+i)%n]
		if !usable(o) {
			continue
		}
		if c := b.open[o]; best == "" || c < bestN {
			best, bestN = o, c
		}
	}
	if best == "" {
		return "", false
	}
	b.next = (b.next + 1) % max(n, 1)
	b.open[best]++
	if persist > 0 {
		b.sticky[src] = stick{best, now.Add(persist)}
	}
	return best, true
}

// release gives back a connection to o.
func (b *balancer) release(o string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.open[o] <= 1 {
		delete(b.open, o)
	} else {
		b.open[o]--
	}
}

// expire forgets persistence entries that ended by now.
func (b *balancer) expire(now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for k, s := range b.sticky {
		if !now.Before(s.until) {
			delete(b.sticky, k)
		}
	}
}
