package main

import (
	"context"
	"net/http"
)

// syncClock serves each request after sync, the domain's rule that no
// replica sharing the store answers from a clock older than the last
// clock move (moat.LifecycleService.SyncClock).
func syncClock(sync func(context.Context), next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sync(r.Context())
		next.ServeHTTP(w, r)
	})
}
