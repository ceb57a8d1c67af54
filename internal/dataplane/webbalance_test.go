package dataplane

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"moat/internal/moat"
)

// Origin policy tests use octets 86 and 87 (see web_test.go).

// policySite is website n with origins 1..k on port under policy p.
func policySite(n, port int, domain string, p moat.WebPolicy, origins ...int) moat.WebSite {
	w := website(n, domain, map[string][]int{moat.ProxyHTTP: {port}}, origins...)
	w.Protection = moat.DefaultWebProtection()
	w.Protection.Policy = p
	return w
}

// originName is the origin's name in a webOrigin's answer.
func originName(body string) string {
	o, _, _ := strings.Cut(body, " ")
	return strings.TrimPrefix(o, "origin=")
}

// TestWebRoundRobinSpreadsExactly: under rr one client's requests go to
// the origins in turn (exact counts), by weight when weights differ, and
// a change of policy applies to the next request while ip_hash keeps a
// client on one origin.
func TestWebRoundRobinSpreadsExactly(t *testing.T) {
	const n = 86
	const port = 8090
	src := &fakeSource{}
	origins := []*webOrigin{
		startWebOrigin(t, net.JoinHostPort(originIP(n, 1), strconv.Itoa(port)), "one", nil),
		startWebOrigin(t, net.JoinHostPort(originIP(n, 2), strconv.Itoa(port)), "two", nil),
		startWebOrigin(t, net.JoinHostPort(originIP(n, 3), strconv.Itoa(port)), "three", nil),
	}
	const domain = "rr.example.test"
	rr := policySite(n, port, domain, moat.WebPolicy{Mode: moat.ProxyModeRR}, 1, 2, 3)
	src.setWeb([]moat.Edge{webEdge(src, n)}, rr)
	p, _ := startPlane(t, src, nil)
	url := fmt.Sprintf("http://%s:%d/", domain, port)
	c := webClient(n, 1, nil, false)
	get(t, c, url) // the listener is up
	counts := func(k int) map[string]int {
		t.Helper()
		for _, o := range origins {
			o.hits.Store(0)
		}
		got := map[string]int{}
		for i := 0; i < k; i++ {
			_, body := get(t, c, url)
			got[originName(body)]++
		}
		for _, o := range origins {
			if int(o.hits.Load()) != got[o.name] {
				t.Fatalf("origin %s counted %d requests, the answers say %d", o.name, o.hits.Load(), got[o.name])
			}
		}
		return got
	}

	if got := counts(30); got["one"] != 10 || got["two"] != 10 || got["three"] != 10 {
		t.Errorf("rr, equal weights, 30 requests: %v, want 10 each", got)
	}

	// Weights 1, 2 and 3: every six requests give 1, 2 and 3.
	w := rr
	w.Protection.Policy.Weights = map[string]int{originIP(n, 1): 1, originIP(n, 2): 2, originIP(n, 3): 3}
	src.setWeb([]moat.Edge{webEdge(src, n)}, w)
	waitFor(t, "the weights applied", func() bool {
		s := siteOf(p, domain)
		return s != nil && s.view.Load().bal.weights != nil
	})
	if got := counts(36); got["one"] != 6 || got["two"] != 12 || got["three"] != 18 {
		t.Errorf("rr, weights 1/2/3, 36 requests: %v, want 6/12/18", got)
	}

	// ip_hash: one client, one origin.
	ih := rr
	ih.Protection.Policy = moat.WebPolicy{Mode: moat.ProxyModeIPHash}
	src.setWeb([]moat.Edge{webEdge(src, n)}, ih)
	waitFor(t, "ip_hash applied", func() bool {
		s := siteOf(p, domain)
		return s != nil && s.view.Load().bal.mode == moat.ProxyModeIPHash
	})
	if got := counts(9); len(got) != 1 {
		t.Errorf("ip_hash, one client, 9 requests: %v, want one origin", got)
	}
}

// siteOf is the plane's website domain of account "acct".
func siteOf(p *Plane, domain string) *webSite {
	p.web.mu.Lock()
	defer p.web.mu.Unlock()
	return p.web.sites[webKey{"acct", domain}]
}

// slowOrigin answers after a delay.
type slowOrigin struct {
	webOrigin
	delay time.Duration
}

func (o *slowOrigin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	time.Sleep(o.delay)
	o.webOrigin.ServeHTTP(w, r)
}

// TestWebLeastTimePrefersFastOrigin: under least_time each origin is
// tried once, then requests go to the origin that answers quickly, not
// to the one that answers after a delay.
func TestWebLeastTimePrefersFastOrigin(t *testing.T) {
	const n = 87
	const port = 8091
	src := &fakeSource{}
	fast := startWebOrigin(t, net.JoinHostPort(originIP(n, 1), strconv.Itoa(port)), "fast", nil)
	slow := &slowOrigin{webOrigin: webOrigin{name: "slow"}, delay: 200 * time.Millisecond}
	ln, err := net.Listen("tcp4", net.JoinHostPort(originIP(n, 2), strconv.Itoa(port)))
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: slow}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	const domain = "lt.example.test"
	src.setWeb([]moat.Edge{webEdge(src, n)}, policySite(n, port, domain, moat.WebPolicy{Mode: moat.ProxyModeLeastTime}, 1, 2))
	p, _ := startPlane(t, src, nil)
	c := webClient(n, 1, nil, false)
	url := fmt.Sprintf("http://%s:%d/", domain, port)
	got := map[string]int{}
	for i := 0; i < 12; i++ {
		_, body := get(t, c, url)
		got[originName(body)]++
	}
	if got["slow"] != 1 || got["fast"] != 11 {
		t.Errorf("least_time, 12 requests: %v, want the slow origin tried once and the rest fast", got)
	}
	if fast.hits.Load() != 11 || slow.hits.Load() != 1 {
		t.Errorf("origins counted fast %d, slow %d; want 11 and 1", fast.hits.Load(), slow.hits.Load())
	}
	s := siteOf(p, domain)
	b := s.view.Load().bal
	b.mu.Lock()
	defer b.mu.Unlock()
	for i, ot := range b.times {
		if ot.inflight != 0 {
			t.Errorf("origin %s has %d requests in flight after all answered", b.origins[i], ot.inflight)
		}
	}
}

// TestWebBalancePick pins the pickers on their own: smooth weighted
// round robin interleaves, least_time breaks ties by requests in flight
// and turns away from a failing origin, ip_hash depends on the address
// only.
func TestWebBalancePick(t *testing.T) {
	a := netip.MustParseAddr("198.51.100.7")
	origins := []string{"o1", "o2", "o3"}

	b := newWebBalance(moat.WebPolicy{Mode: moat.ProxyModeRR, Weights: map[string]int{"o1": 5, "o2": 1, "o3": 1}}, origins)
	var seq []string
	for i := 0; i < 7; i++ {
		o, _ := b.pick(a)
		seq = append(seq, o)
	}
	if want := "o1 o1 o2 o1 o3 o1 o1"; strings.Join(seq, " ") != want {
		t.Errorf("smooth weighted rr 5/1/1: %v, want %s", seq, want)
	}

	lt := newWebBalance(moat.WebPolicy{Mode: moat.ProxyModeLeastTime}, origins)
	var held []int
	for i := 0; i < 3; i++ {
		_, k := lt.pick(a) // unmeasured: ties by fewest in flight
		held = append(held, k)
	}
	if seen := map[int]bool{held[0]: true, held[1]: true, held[2]: true}; len(seen) != 3 {
		t.Errorf("three concurrent picks among unmeasured origins: %v, want all three", held)
	}
	for _, k := range held {
		lt.done(k)
	}
	lt.observe(0, 5*time.Millisecond, false)
	lt.observe(1, time.Millisecond, true) // refused quickly
	lt.observe(2, 20*time.Millisecond, false)
	for i := 0; i < 5; i++ {
		if o, k := lt.pick(a); o != "o1" {
			t.Errorf("least_time after 5ms/failed/20ms: %s, want o1", o)
		} else {
			lt.done(k)
		}
	}
	// o1 slows down: the average moves towards it until o3 is faster.
	for i := 0; i < 20; i++ {
		lt.observe(0, 100*time.Millisecond, false)
	}
	if o, _ := lt.pick(a); o != "o3" {
		t.Errorf("least_time after o1 slowed to 100ms: %s, want o3", o)
	}

	ih := newWebBalance(moat.WebPolicy{}, origins)
	first, _ := ih.pick(a)
	for i := 0; i < 5; i++ {
		if o, _ := ih.pick(a); o != first {
			t.Errorf("ip_hash moved %s from %s to %s", a, first, o)
		}
	}
	if !ih.sameAs(moat.WebPolicy{Mode: moat.ProxyModeIPHash}, origins) || ih.sameAs(moat.WebPolicy{Mode: moat.ProxyModeRR}, origins) {
		t.Error("sameAs: the empty mode is ip_hash and rr is not")
	}
	eq := newWebBalance(moat.WebPolicy{Mode: moat.ProxyModeRR}, origins)
	if !eq.sameAs(moat.WebPolicy{Mode: moat.ProxyModeRR, Weights: map[string]int{"o1": 100}}, origins) ||
		eq.sameAs(moat.WebPolicy{Mode: moat.ProxyModeRR, Weights: map[string]int{"o1": 50}}, origins) {
		t.Error("sameAs: weight 100 is the default, 50 is not")
	}
}
