package dataplane

import (
	"fmt"
	"net"
	"strconv"
	"sync"
	"testing"

	"moat/internal/moat"
)

// webMeter records what the plane reports of websites.
type webMeter struct {
	noMeter
	mu       sync.Mutex
	requests map[string]int64
	attacks  int64
	blocked  map[string]int64
}

func (m *webMeter) AddWebRequests(class string, n int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.requests[class] += n
}

func (m *webMeter) AddWebAttacks(n int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.attacks += n
}

func (m *webMeter) WebBlock(reason string, n int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.blocked[reason] += n
}

func (m *webMeter) String() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return fmt.Sprintf("requests %v attacks %d blocked %v", m.requests, m.attacks, m.blocked)
}

// TestWebMeter: the Meter is told the websites' requests by the class of
// their answer, the attack requests, and the refused ones by the kind of
// rule that refused them (its name left out).
func TestWebMeter(t *testing.T) {
	const n = 78
	const port = 8086
	src := &fakeSource{}
	startWebOrigin(t, net.JoinHostPort(originIP(n, 1), strconv.Itoa(port)), "meter", nil)
	src.setWeb([]moat.Edge{webEdge(src, n)}, website(n, "m.example.test", map[string][]int{moat.ProxyHTTP: {port}}, 1))
	m := &webMeter{requests: map[string]int64{}, blocked: map[string]int64{}}
	startPlane(t, src, func(c *Config) {
		c.Meter = m
		c.NewWebGuard = func(WebGuardSettings) WebGuard { return &blockGuard{} }
	})
	c := webClient(n, 1, nil, false)
	url := fmt.Sprintf("http://m.example.test:%d", port)
	get(t, c, url+"/")
	for range 3 {
		get(t, c, url+"/blocked")
	}
	want := "requests map[2xx:1 4xx:3] attacks 3 blocked map[precise:3]"
	waitFor(t, want, func() bool { return m.String() == want })
}
