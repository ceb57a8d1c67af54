package acs

import (
	"net"
	"net/http"
	"sync"

	"moat/internal/moat"
)

// PerClientLimit refuses a client address's requests beyond max in
// flight with Throttling (400), so one client cannot occupy every
// handler; 0 disables it.
func PerClientLimit(h http.Handler, max int) http.Handler {
	if max <= 0 {
		return h
	}
	var mu sync.Mutex
	inflight := map[string]int{}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			host = r.RemoteAddr
		}
		mu.Lock()
		if inflight[host] >= max {
			mu.Unlock()
			WriteError(w, NewRequestID(), r.Host, moat.Errorf(moat.CodeThrottling, "Request was denied due to flow control: more than %d requests in flight from %s.", max, host))
			return
		}
		inflight[host]++
		mu.Unlock()
		defer func() {
			mu.Lock()
			if inflight[host]--; inflight[host] == 0 {
				delete(inflight, host)
			}
			mu.Unlock()
		}()
		h.ServeHTTP(w, r)
	})
}
