package dataplane

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"moat/internal/moat"
)

// Addresses: every test has its own octet n; its instance listens on
// 127.91.n.1:8080, its origins on 127.92.n.k:9000 and its clients are
// 127.93.n.k, so tests never share an address (nor with other packages'
// tests using 127.0.0.x clients) and no port is picked and released.
const (
	frontPort = 8080
	backPort  = 9000
)

func frontIP(n int) string       { return fmt.Sprintf("127.91.%d.1", n) }
func originIP(n, k int) string   { return fmt.Sprintf("127.92.%d.%d", n, k) }
func frontAddr(n int) string     { return fmt.Sprintf("%s:%d", frontIP(n), frontPort) }
func originAddr(n, k int) string { return fmt.Sprintf("%s:%d", originIP(n, k), backPort) }
func clientIP(n, k int) string   { return fmt.Sprintf("127.93.%d.%d", n, k) }
func clientAddr(n, k int) *net.TCPAddr {
	return &net.TCPAddr{IP: net.IPv4(127, 93, byte(n), byte(k))}
}

// fakeSource is moat as the plane sees it: a snapshot the test replaces,
// a clock it moves, and the samples and events written.
type fakeSource struct {
	mu         sync.Mutex
	snap       moat.Snapshot
	offset     time.Duration
	samples    []moat.TrafficSample
	events     []moat.MitigationEvent
	webSamples []moat.WebTrafficSample
	webEvents  []moat.WebAttackEvent
	failN      int // the next failN RecordTraffic calls fail
	polls      atomic.Int64
}

func (f *fakeSource) Snapshot(context.Context) (moat.Snapshot, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.snap, nil
}

func (f *fakeSource) LastSeq(context.Context) (int64, error) {
	f.polls.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.snap.Seq, nil
}

func (f *fakeSource) TrafficNow() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return time.Now().Add(f.offset)
}

func (f *fakeSource) RecordTraffic(_ context.Context, s []moat.TrafficSample) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failN > 0 {
		f.failN--
		return errors.New("store unavailable")
	}
	f.samples = append(f.samples, s...)
	return nil
}

func (f *fakeSource) RecordMitigation(_ context.Context, e []moat.MitigationEvent) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.events = append(f.events, e...)
	return nil
}

// set replaces the snapshot with copies of these edges (a new sequence
// number).
func (f *fakeSource) set(edges ...moat.Edge) {
	f.mu.Lock()
	defer f.mu.Unlock()
	edges = slices.Clone(edges)
	for i := range edges {
		edges[i].Rules = slices.Clone(edges[i].Rules)
	}
	f.snap = moat.Snapshot{Seq: f.snap.Seq + 1, Edges: edges, Webs: f.snap.Webs}
}

// move moves the server clock by d.
func (f *fakeSource) move(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.offset += d
}

// totals sums the samples written for k.
func (f *fakeSource) totals(k moat.PortKey) moat.TrafficSample {
	f.mu.Lock()
	defer f.mu.Unlock()
	var t moat.TrafficSample
	for _, s := range f.samples {
		if s.PortKey != k {
			continue
		}
		t.InBytes += s.InBytes
		t.OutBytes += s.OutBytes
		t.InPackets += s.InPackets
		t.OutPackets += s.OutPackets
		t.NewConns += s.NewConns
		t.Dropped += s.Dropped
		t.MaxConns = max(t.MaxConns, s.MaxConns)
	}
	return t
}

// edge is an instance with IP frontIP(n) expiring in 30 days (server time
// of f) and the given rules.
func edge(f *fakeSource, n int, rules ...moat.PortRule) moat.Edge {
	id := fmt.Sprintf("ddoscoo-cn-test%08d", n)
	for i := range rules {
		rules[i].InstanceID = id
	}
	return moat.Edge{
		Instance: moat.Instance{ID: id, IP: frontIP(n), ExpireTime: f.TrafficNow().Add(30 * 24 * time.Hour)},
		Rules:    rules,
	}
}

func tcpRule(n int, origins ...int) moat.PortRule {
	r := moat.PortRule{PortKey: moat.PortKey{Protocol: moat.ProtocolTCP, FrontendPort: frontPort}, BackendPort: backPort}
	for _, k := range origins {
		r.RealServers = append(r.RealServers, originIP(n, k))
	}
	return r
}

func udpRule(n int, origins ...int) moat.PortRule {
	r := tcpRule(n, origins...)
	r.Protocol = moat.ProtocolUDP
	return r
}

// startPlane runs a plane over src until the test ends (or stop is
// called); Poll and Flush are short so tests wait little. tune changes
// the plane before it runs.
func startPlane(t *testing.T, src *fakeSource, mod func(*Config), tune ...func(*Plane)) (p *Plane, stop func()) {
	t.Helper()
	cfg := Config{Source: src, Node: "test", Poll: 20 * time.Millisecond, Flush: 50 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if mod != nil {
		mod(&cfg)
	}
	p = New(cfg)
	for _, f := range tune {
		f(p)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Errorf("Run did not return within 10 s of its context ending")
			}
		})
	}
	t.Cleanup(stop)
	return p, stop
}

// origin is a TCP test server. A connection that starts with "GET " is
// a health probe, answered with status; any other gets name, ':' and
// everything the client sent once it half-closed (mode collect), or its
// bytes echoed as they come (mode echo).
type origin struct {
	name   string
	echo   bool
	status atomic.Int64
	ln     net.Listener
	conns  atomic.Int64
	hdr    chan []byte // with proxy: the first 28 bytes of each connection
}

func startOrigin(t *testing.T, addr, name string, echo bool) *origin {
	t.Helper()
	ln, err := net.Listen("tcp4", addr)
	if err != nil {
		t.Fatalf("origin %s: %v", addr, err)
	}
	o := &origin{name: name, echo: echo, ln: ln}
	o.status.Store(200)
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() { defer wg.Done(); o.serve(c) }()
		}
	}()
	return o
}

func (o *origin) serve(c net.Conn) {
	defer c.Close()
	br := bufio.NewReader(c)
	if o.echo {
		io.Copy(c, br)
		return
	}
	if p, err := br.Peek(4); err == nil && string(p) == "GET " {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		req.Body.Close()
		st := int(o.status.Load())
		fmt.Fprintf(c, "HTTP/1.1 %d %s\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", st, http.StatusText(st))
		return
	}
	o.conns.Add(1)
	if o.hdr != nil {
		h := make([]byte, 28)
		if _, err := io.ReadFull(br, h); err != nil {
			return
		}
		o.hdr <- h
	}
	data, err := io.ReadAll(br)
	if err != nil {
		return
	}
	c.Write(append([]byte(o.name+":"), data...))
}

// dialFront connects to the instance from source k (127.93.n.k), retrying
// until the plane listens.
func dialFront(t *testing.T, n, k int) *net.TCPConn {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	d := net.Dialer{LocalAddr: clientAddr(n, k), Timeout: time.Second}
	for {
		c, err := d.Dial("tcp4", frontAddr(n))
		if err == nil {
			return c.(*net.TCPConn)
		}
		if time.Now().After(deadline) {
			t.Fatalf("dial %s: %v", frontAddr(n), err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// roundTrip sends data from source k, half-closes, and reads the answer
// until the origin closes.
func roundTrip(c *net.TCPConn, data []byte) ([]byte, error) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	errc := make(chan error, 1)
	go func() {
		_, err := c.Write(data)
		if err == nil {
			err = c.CloseWrite()
		}
		errc <- err
	}()
	got, rerr := io.ReadAll(c)
	if werr := <-errc; werr != nil {
		return got, werr
	}
	return got, rerr
}

// forwardedOnce retries a round trip from source k until it is
// forwarded (the plane may not have applied the latest snapshot yet) and
// returns the answer.
func forwardedOnce(t *testing.T, n, k int, data []byte) []byte {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, err := roundTrip(dialFront(t, n, k), data)
		if err == nil && len(data) > 0 && bytes.HasSuffix(got, data) {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("round trip through %s: got %q, %v", frontAddr(n), trim(got), err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// refused reports whether a connection from source k is closed without
// an answer: refused by the kernel (nothing listens) or closed at once.
func refused(n, k int) (listening bool, closed bool) {
	d := net.Dialer{LocalAddr: clientAddr(n, k), Timeout: time.Second}
	c, err := d.Dial("tcp4", frontAddr(n))
	if err != nil {
		lastDialErr.Store(err.Error())
		// A reset during the handshake is a listener that closed the
		// connection at once; only a refusal means nothing listens.
		return errors.Is(err, syscall.ECONNRESET), true
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	c.Write([]byte("hello"))
	c.(*net.TCPConn).CloseWrite()
	b, err := io.ReadAll(c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true, false
	}
	return true, len(b) == 0
}

var lastDialErr atomic.Value

// waitFor polls cond until it holds or 5 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func originOf(got []byte) string {
	name, _, _ := strings.Cut(string(got), ":")
	return name
}

func trim(b []byte) string {
	if len(b) > 64 {
		return string(b[:64]) + "…"
	}
	return string(b)
}

// fakeGuard refuses the sources in refuse, paces by pace, and reports
// one event per refusal.
type fakeGuard struct {
	mu       sync.Mutex
	refuse   map[netip.Addr]bool
	pace     time.Duration
	settings []GuardSettings
	events   []moat.MitigationEvent
	admitted atomic.Int64
	done     atomic.Int64
	paced    atomic.Int64
	dgrams   atomic.Int64
}

func (g *fakeGuard) Update(s GuardSettings) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.settings = append(g.settings, s)
}

func (g *fakeGuard) Conn(src netip.Addr, now time.Time) (GuardedConn, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.refuse[src] {
		g.events = append(g.events, moat.MitigationEvent{Source: src.String(), Limit: moat.LimitBlacklist, Start: now, Dropped: 1})
		return nil, false
	}
	g.admitted.Add(1)
	return &fakeConn{g: g}, true
}

func (g *fakeGuard) Datagram(src netip.AddrPort, n int, now time.Time) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.dgrams.Add(1)
	return !g.refuse[src.Addr()]
}

func (g *fakeGuard) Session(src netip.AddrPort, now time.Time) (GuardedConn, bool) {
	g.admitted.Add(1)
	return &fakeConn{g: g}, true
}

func (g *fakeGuard) Events(time.Time) []moat.MitigationEvent {
	g.mu.Lock()
	defer g.mu.Unlock()
	e := g.events
	g.events = nil
	return e
}

// last is the latest settings (zero before the first).
func (g *fakeGuard) last() GuardSettings {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.settings) == 0 {
		return GuardSettings{}
	}
	return g.settings[len(g.settings)-1]
}

type fakeConn struct {
	g    *fakeGuard
	once atomic.Bool
}

func (c *fakeConn) Pace(n int, now time.Time) time.Duration {
	c.g.paced.Add(1)
	return c.g.pace
}

func (c *fakeConn) Done() {
	if !c.once.CompareAndSwap(false, true) {
		panic("Done called twice")
	}
	c.g.done.Add(1)
}

func (f *fakeSource) RecordWebTraffic(_ context.Context, s []moat.WebTrafficSample) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.webSamples = append(f.webSamples, s...)
	return nil
}

func (f *fakeSource) RecordWebAttacks(_ context.Context, e []moat.WebAttackEvent) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.webEvents = append(f.webEvents, e...)
	return nil
}
