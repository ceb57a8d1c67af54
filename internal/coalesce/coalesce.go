// Package coalesce gathers concurrent reads of one value, as a group
// commit gathers writes: a caller gets the result of a read that started
// after it called, and one read serves every caller that arrived while the
// previous read of the same key ran. A burst of N requests for a value
// costs about two reads at a time, not N, and nobody gets a value read
// before they asked, which a cache with a lifetime could not promise.
package coalesce

import (
	"context"
	"sync"
)

// Group coalesces the reads of values by key. The zero Group is ready.
type Group[K comparable, V any] struct {
	mu sync.Mutex
	// rounds holds a key while a read of it runs, with the read that
	// callers arriving meanwhile wait for.
	rounds map[K]*round[V]
}

type round[V any] struct {
	next *call[V] // nil until a caller arrives during the running read
}

type call[V any] struct {
	done    chan struct{}
	waiters int // callers waiting for it (tests wait for them to join)
	val     V
	err     error
}

// Do returns fn's result for key from a call of fn that started after Do
// was called. With no read of key running, the caller runs fn itself,
// with its ctx. Otherwise it waits, until ctx ends, for the next read,
// which starts when the running one ends, runs on its own goroutine with a
// context that is never cancelled (fn must bound its own time), and
// serves every caller that arrived while the previous one ran. Callers of
// one key must pass equivalent fns: the next read runs the fn of the
// caller whose read ends before it.
func (g *Group[K, V]) Do(ctx context.Context, key K, fn func(context.Context) (V, error)) (V, error) {
	g.mu.Lock()
	r, running := g.rounds[key]
	if !running {
		if g.rounds == nil {
			g.rounds = map[K]*round[V]{}
		}
		r = &round[V]{}
		g.rounds[key] = r
		g.mu.Unlock()
		v, err := fn(ctx)
		g.end(key, r, fn)
		return v, err
	}
	if r.next == nil {
		r.next = &call[V]{done: make(chan struct{})}
	}
	c := r.next
	c.waiters++
	g.mu.Unlock()
	select {
	case <-c.done:
		return c.val, c.err
	case <-ctx.Done():
		var zero V
		return zero, ctx.Err()
	}
}

// end ends a read of key: it starts the read that callers wait for, if
// any arrived meanwhile, and otherwise forgets key.
func (g *Group[K, V]) end(key K, r *round[V], fn func(context.Context) (V, error)) {
	g.mu.Lock()
	c := r.next
	r.next = nil
	if c == nil {
		delete(g.rounds, key)
	}
	g.mu.Unlock()
	if c == nil {
		return
	}
	go func() {
		c.val, c.err = fn(context.Background())
		close(c.done)
		g.end(key, r, fn)
	}()
}
