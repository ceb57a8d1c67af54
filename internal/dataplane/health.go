package dataplane

import (
	"context"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"moat/internal/moat"
)

// healthSet runs a rule's health check against each of its origins: a
// probe every Interval seconds, each bounded by Timeout; Down failures in
// a row mark an origin down (it gets no new connections), Up successes in
// a row mark it up again. Origins start up.
type healthSet struct {
	cancel context.CancelFunc
	done   sync.WaitGroup
	mu     sync.Mutex
	down   map[string]bool
}

func (r *rule) restartHealth(v *ruleView) {
	r.stopHealth()
	hc := v.rule.HealthCheck
	if hc.Type == "" {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := &healthSet{cancel: cancel, down: map[string]bool{}}
	port := hc.Port
	if port == 0 {
		port = v.rule.BackendPort
	}
	for _, o := range v.rule.RealServers {
		h.done.Add(1)
		r.p.goHandler(func() {
			defer h.done.Done()
			h.run(ctx, hc, o, port)
		})
	}
	r.mu.Lock()
	r.health = h
	r.mu.Unlock()
}

func (r *rule) stopHealth() {
	r.mu.Lock()
	h := r.health
	r.health = nil
	r.mu.Unlock()
	if h != nil {
		h.cancel()
		h.done.Wait()
	}
}

// healthy reports whether origin o may get new connections.
func (r *rule) healthy(o string) bool {
	r.mu.Lock()
	h := r.health
	r.mu.Unlock()
	if h == nil {
		return true
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return !h.down[o]
}

func (h *healthSet) run(ctx context.Context, hc moat.HealthCheck, origin string, port int) {
	interval := time.Duration(max(hc.Interval, 1)) * time.Second
	timeout := time.Duration(max(hc.Timeout, 1)) * time.Second
	up, down := max(hc.Up, 1), max(hc.Down, 1)
	addr := net.JoinHostPort(origin, strconv.Itoa(port))
	t := time.NewTicker(interval)
	defer t.Stop()
	var ok, fail int
	for {
		if probe(ctx, hc, addr, timeout) {
			ok, fail = ok+1, 0
		} else {
			ok, fail = 0, fail+1
		}
		h.mu.Lock()
		switch {
		case fail >= down:
			h.down[origin] = true
		case ok >= up:
			delete(h.down, origin)
		}
		h.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// probe is one check: a TCP connection, or an HTTP GET of the URI (with
// the Domain as Host) answered with a 2xx or 3xx status.
func probe(ctx context.Context, hc moat.HealthCheck, addr string, timeout time.Duration) bool {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if hc.Type != "http" {
		c, err := (&net.Dialer{}).DialContext(ctx, "tcp4", addr)
		if err != nil {
			return false
		}
		c.Close()
		return true
	}
	uri := hc.URI
	if !strings.HasPrefix(uri, "/") {
		uri = "/" + uri
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+uri, nil)
	if err != nil {
		return false
	}
	if hc.Domain != "" {
		req.Host = hc.Domain
	}
	req.Header.Set("User-Agent", "moat-healthcheck")
	resp, err := healthClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode >= 200 && resp.StatusCode < 400
}

// healthClient follows no redirects (a 3xx is an answer) and keeps no
// connections between probes.
var healthClient = &http.Client{
	Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil},
	CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	},
}
