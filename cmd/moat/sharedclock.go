package main

import (
	"context"
	"net/http"
	"sync"
	"time"
)

// clockReloadTimeout bounds one read of the stored clock offset: a
// database that does not answer delays a request by at most about twice
// this before the request meets the same failure itself.
const clockReloadTimeout = 500 * time.Millisecond

// sharedClock reloads the stored clock offset before each request when
// several processes share the store (PostgreSQL): another replica may have
// moved the clock, and once an admin clock call has returned no replica may
// answer from the time before it (the lifecycle engine's own reload, up to
// a second later, is too late for a client that advances the clock through
// one replica and releases through another). A failed read keeps the
// current offset. With a store only this process serves, next is returned
// as it is.
func sharedClock(shared bool, load func(context.Context) error, next http.Handler) http.Handler {
	if !shared {
		return next
	}
	c := &clockReloader{load: load}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.reload(r.Context())
		next.ServeHTTP(w, r)
	})
}

// clockReloader gathers concurrent reloads (as a group commit gathers
// writes): a request waits for a read that started after it arrived, and
// one read serves every request that arrived while the previous one ran,
// so a burst of requests, signed or forged, costs the database a read at a
// time, not one each.
type clockReloader struct {
	load func(context.Context) error

	mu      sync.Mutex
	running bool
	next    chan struct{} // closed when the read after the running one ends
}

func (c *clockReloader) reload(ctx context.Context) {
	c.mu.Lock()
	if c.running {
		if c.next == nil {
			c.next = make(chan struct{})
		}
		ch := c.next
		c.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
		}
		return
	}
	c.running = true
	c.mu.Unlock()
	c.round(nil)
}

// round reads once, releases the requests that waited for it (done), and
// starts the read that requests arriving meanwhile wait for.
func (c *clockReloader) round(done chan struct{}) {
	ctx, cancel := context.WithTimeout(context.Background(), clockReloadTimeout)
	c.load(ctx) // a failure keeps the offset in effect; the request meets it on the store
	cancel()
	if done != nil {
		close(done)
	}
	c.mu.Lock()
	next := c.next
	c.next = nil
	c.running = next != nil
	c.mu.Unlock()
	if next != nil {
		go c.round(next)
	}
}
