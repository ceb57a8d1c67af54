package main

import (
	"context"
	"net/http"
	"time"

	"moat/internal/coalesce"
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
	// Concurrent reloads are gathered (package coalesce): a request waits
	// for a read that started after it arrived, and one read serves every
	// request that arrived while the previous one ran, so a burst of
	// requests, signed or forged, costs the database a read at a time,
	// not one each.
	var reloads coalesce.Group[struct{}, struct{}]
	reload := func(context.Context) (struct{}, error) {
		ctx, cancel := context.WithTimeout(context.Background(), clockReloadTimeout)
		defer cancel()
		// A failure keeps the offset in effect; the request meets it on
		// the store.
		load(ctx)
		return struct{}{}, nil
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reloads.Do(r.Context(), struct{}{}, reload)
		next.ServeHTTP(w, r)
	})
}
