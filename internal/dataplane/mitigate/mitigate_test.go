package mitigate

import (
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"moat/internal/dataplane"
	"moat/internal/moat"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

var (
	srcA = netip.MustParseAddr("127.0.0.2")
	srcB = netip.MustParseAddr("127.0.0.3")
	srcC = netip.MustParseAddr("127.0.0.4")
)

func at(d time.Duration) time.Time { return t0.Add(d) }

// settings are a mitigated TCP rule with the defaults (nothing limited)
// changed by f.
func settings(f func(*dataplane.GuardSettings)) dataplane.GuardSettings {
	s := dataplane.GuardSettings{
		Key:      moat.PortKey{InstanceID: "ddoscoo-cn-test", Protocol: "tcp", FrontendPort: 80},
		Node:     "edge-1",
		Mitigate: true,
		Config: moat.RuleConfig{
			Sla:        moat.SlaConfig{Cps: 100000, Maxconn: 1000000},
			Slimit:     moat.SlimitConfig{CpsMode: 1},
			PayloadLen: moat.PayloadLen{Min: 0, Max: 6000},
		},
	}
	if f != nil {
		f(&s)
	}
	return s
}

func slimitCps(n int) func(*dataplane.GuardSettings) {
	return func(s *dataplane.GuardSettings) {
		s.Config.Slimit.Cps, s.Config.Slimit.CpsEnable = n, 1
	}
}

// conns asks for n connections from src at now and returns those admitted.
func conns(r *Rule, src netip.Addr, n int, now time.Time) []dataplane.GuardedConn {
	var got []dataplane.GuardedConn
	for range n {
		if c, ok := r.Conn(src, now); ok {
			got = append(got, c)
		}
	}
	return got
}

func wantConns(t *testing.T, r *Rule, src netip.Addr, n int, now time.Time, want int) []dataplane.GuardedConn {
	t.Helper()
	got := conns(r, src, n, now)
	if len(got) != want {
		t.Fatalf("%d connections from %v at %v: %d admitted, want %d", n, src, now.Sub(t0), len(got), want)
	}
	return got
}

func TestSlimitCpsAtItsEdge(t *testing.T) {
	// The bucket holds a tenth of a second: 10 connections at once.
	r := New(settings(slimitCps(100)))
	wantConns(t, r, srcA, 11, at(0), 10)
	wantConns(t, r, srcA, 1, at(9*time.Millisecond), 0)
	wantConns(t, r, srcA, 2, at(10*time.Millisecond), 1) // one token a 10 ms
	wantConns(t, r, srcA, 10, at(60*time.Millisecond), 5)
	// A tenth of a second with nothing asked refills the whole burst, no
	// more.
	wantConns(t, r, srcA, 11, at(260*time.Millisecond), 10)

	// Asking once a millisecond over a fresh second admits the burst
	// (one each millisecond up to 10 ms), then one each 10 ms; over five
	// seconds, Cps a second beyond the burst.
	for _, c := range []struct {
		ms   int
		want int
	}{{1000, 10 + 99}, {5000, 10 + 499}} {
		r = New(settings(slimitCps(100)))
		admitted := 0
		for ms := range c.ms {
			admitted += len(conns(r, srcA, 1, at(time.Duration(ms)*time.Millisecond)))
		}
		if admitted != c.want {
			t.Errorf("one a millisecond for %d ms: %d admitted, want %d", c.ms, admitted, c.want)
		}
	}
}

func TestSlimitCpsUnevenRate(t *testing.T) {
	// 3 a second costs 333333333⅓ ns each, over a tenth of a second: the
	// credit is one connection rounded up (333333334 ns), and the
	// remainder is kept exactly, so each next one is due ⅓ ns later.
	r := New(settings(slimitCps(3)))
	wantConns(t, r, srcA, 4, at(0), 1)
	wantConns(t, r, srcA, 1, at(333333332), 0)
	wantConns(t, r, srcA, 2, at(333333333), 1)
	wantConns(t, r, srcA, 1, at(666666665), 0)
	wantConns(t, r, srcA, 2, at(666666666), 1)
	wantConns(t, r, srcA, 1, at(999999999), 0)
	wantConns(t, r, srcA, 2, at(time.Second), 1)
}

func TestSlimitCpsIsPerSource(t *testing.T) {
	r := New(settings(slimitCps(100)))
	wantConns(t, r, srcA, 500, at(0), 10)
	wantConns(t, r, srcB, 100, at(0), 10)
	wantConns(t, r, srcA, 1, at(0), 0)
	wantConns(t, r, srcC, 1, at(0), 1)
}

func TestSlimitCpsDisabledOrZero(t *testing.T) {
	for name, f := range map[string]func(*dataplane.GuardSettings){
		"CpsEnable 0": func(s *dataplane.GuardSettings) { s.Config.Slimit.Cps = 1 },
		"Cps 0":       slimitCps(0),
	} {
		r := New(settings(f))
		if got := len(conns(r, srcA, 1000, at(0))); got != 1000 {
			t.Errorf("%s: %d of 1000 admitted", name, got)
		}
	}
}

func TestSlimitCpsAutomatic(t *testing.T) {
	r := New(settings(func(s *dataplane.GuardSettings) {
		slimitCps(1)(s)
		s.Config.Slimit.CpsMode = 2
	}))
	wantConns(t, r, srcA, AutoCps, at(0), AutoCps/10)
	wantConns(t, r, srcA, AutoCps, at(100*time.Millisecond), AutoCps/10)
}

func TestSlimitMaxconn(t *testing.T) {
	r := New(settings(func(s *dataplane.GuardSettings) {
		s.Config.Slimit.Maxconn, s.Config.Slimit.MaxconnEnable = 3, 1
	}))
	held := wantConns(t, r, srcA, 4, at(0), 3)
	wantConns(t, r, srcB, 3, at(0), 3)
	held[0].Done()
	held[0].Done() // a second Done gives nothing back
	wantConns(t, r, srcA, 2, at(time.Second), 1)
	held[1].Done()
	held[2].Done()
	wantConns(t, r, srcA, 3, at(2*time.Second), 2)
}

func TestSla(t *testing.T) {
	r := New(settings(func(s *dataplane.GuardSettings) {
		s.Config.Sla.Cps, s.Config.Sla.CpsEnable = 100, 1
	}))
	wantConns(t, r, srcA, 6, at(0), 6) // a burst of 10 across sources
	wantConns(t, r, srcB, 6, at(0), 4)
	wantConns(t, r, srcC, 1, at(0), 0)
	wantConns(t, r, srcC, 2, at(10*time.Millisecond), 1)

	// Below 10 a second the burst is one connection.
	r = New(settings(func(s *dataplane.GuardSettings) {
		s.Config.Sla.Cps, s.Config.Sla.CpsEnable = 2, 1
	}))
	wantConns(t, r, srcA, 2, at(0), 1)
	wantConns(t, r, srcB, 2, at(500*time.Millisecond), 1)

	r = New(settings(func(s *dataplane.GuardSettings) {
		s.Config.Sla.Maxconn, s.Config.Sla.MaxconnEnable = 5, 1
	}))
	held := wantConns(t, r, srcA, 3, at(0), 3)
	wantConns(t, r, srcB, 3, at(0), 2)
	held[0].Done()
	wantConns(t, r, srcC, 2, at(0), 1)
}

func TestSourceLimitsComeFirstAndRefusalsTakeNoToken(t *testing.T) {
	// A source refused by its own limit takes nothing from the rule's.
	r := New(settings(func(s *dataplane.GuardSettings) {
		slimitCps(10)(s)
		s.Config.Sla.Cps, s.Config.Sla.CpsEnable = 100, 1
	}))
	// Bursts: 1 a source, 10 for the rule.
	wantConns(t, r, srcA, 1000, at(0), 1)
	wantConns(t, r, srcB, 1000, at(0), 1)
	for i := range 8 {
		wantConns(t, r, netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}), 1, at(0), 1)
	}
	wantConns(t, r, srcC, 1, at(0), 0)
	if evs := r.Events(at(0)); len(evs) != 3 || evs[2].Limit != moat.LimitSlaCps || evs[2].Source != "0.0.0.0" || evs[2].Dropped != 1 || evs[2].Peak != 2009 {
		t.Errorf("events %+v, want slimit_cps for A and B, then one sla_cps of 0.0.0.0 peaking at 2009 asked", evs)
	}
}

func TestWhitelistIsExempt(t *testing.T) {
	r := New(settings(func(s *dataplane.GuardSettings) {
		slimitCps(1)(s)
		s.Config.Slimit.Maxconn, s.Config.Slimit.MaxconnEnable = 1, 1
		s.Config.Slimit.Bps = 1024
		s.Config.Sla.Maxconn, s.Config.Sla.MaxconnEnable = 2, 1
		s.Whitelist = map[netip.Addr]bool{srcA: true}
	}))
	held := wantConns(t, r, srcA, 10, at(0), 10)
	for i := range 100 {
		if d := held[0].Pace(64<<10, at(0)); d != 0 {
			t.Fatalf("read %d of a whitelisted source waits %v", i, d)
		}
	}
	// Its connections load the rule: others meet the rule's total.
	wantConns(t, r, srcB, 1, at(0), 0)
	if evs := r.Events(at(0)); len(evs) != 1 || evs[0].Limit != moat.LimitSlaMaxconn {
		t.Errorf("events %+v, want only sla_maxconn", evs)
	}
}

func TestBlacklist(t *testing.T) {
	r := New(settings(func(s *dataplane.GuardSettings) {
		s.Blacklist = map[netip.Addr]bool{srcA: true, srcC: true}
		s.Whitelist = map[netip.Addr]bool{srcC: true}
	}))
	wantConns(t, r, srcA, 3, at(0), 0)
	wantConns(t, r, netip.AddrFrom16(srcA.As16()), 1, at(0), 0) // IPv4-mapped
	wantConns(t, r, srcB, 3, at(0), 3)
	wantConns(t, r, srcC, 1, at(0), 0) // on both lists: refused
	if r.Datagram(netip.AddrPortFrom(srcA, 5000), 10, at(0)) {
		t.Error("a blacklisted datagram passed")
	}
	evs := r.Events(at(0))
	if len(evs) != 2 || evs[0].Source != "127.0.0.2" || evs[0].Limit != moat.LimitBlacklist || evs[0].Dropped != 5 || evs[0].Peak != 5 || evs[1].Source != "127.0.0.4" {
		t.Errorf("events %+v, want blacklist of 127.0.0.2 (5 dropped) and of 127.0.0.4", evs)
	}
}

func TestMitigateOff(t *testing.T) {
	limited := func(s *dataplane.GuardSettings) {
		slimitCps(1)(s)
		s.Config.Slimit.Maxconn, s.Config.Slimit.MaxconnEnable = 2, 1
		s.Config.Slimit.Bps, s.Config.Slimit.Pps = 1024, 1
		s.Config.Sla.Cps, s.Config.Sla.CpsEnable = 100, 1
		s.Config.PayloadLen = moat.PayloadLen{Min: 10, Max: 20}
		s.Blacklist = map[netip.Addr]bool{srcB: true}
		s.UDPReflect = []int{19}
	}
	off := settings(func(s *dataplane.GuardSettings) { limited(s); s.Mitigate = false })
	r := New(off)
	held := wantConns(t, r, srcA, 300, at(0), 300)
	wantConns(t, r, srcB, 1, at(0), 1)
	for i := range 10 {
		if d := held[0].Pace(1<<20, at(0)); d != 0 {
			t.Fatalf("read %d waits %v", i, d)
		}
	}
	for _, d := range []struct {
		port, n int
	}{{19, 15}, {5000, 1}, {5000, 9000}, {5000, 15}, {5000, 15}} {
		if !r.Datagram(netip.AddrPortFrom(srcB, uint16(d.port)), d.n, at(0)) {
			t.Errorf("datagram %+v dropped while mitigation is off", d)
		}
	}
	if evs := r.Events(at(0)); len(evs) != 0 {
		t.Errorf("events while mitigation is off: %+v", evs)
	}
	// Back on: the 300 connections still count against Maxconn 2.
	r.Update(settings(limited))
	wantConns(t, r, srcA, 1, at(2*time.Second), 0)
	for _, c := range held[:299] {
		c.Done()
	}
	wantConns(t, r, srcA, 2, at(3*time.Second), 1)
}

// paced forwards reads of n bytes from conns (taking turns) from t0 for
// span, each waiting what Pace says, and returns the bytes forwarded
// within the span.
func paced(conns []dataplane.GuardedConn, n int, span time.Duration) int {
	now, sent := t0, 0
	for i := 0; ; i++ {
		now = now.Add(conns[i%len(conns)].Pace(n, now))
		if now.After(t0.Add(span)) {
			return sent
		}
		sent += n
	}
}

func TestPaceBps(t *testing.T) {
	const bps, read = 1000, 100
	for _, span := range []time.Duration{time.Second, 10 * time.Second} {
		for _, nconns := range []int{1, 3} {
			r := New(settings(func(s *dataplane.GuardSettings) { s.Config.Slimit.Bps = bps }))
			held := wantConns(t, r, srcA, nconns, at(0), nconns)
			// The limit over the span, plus the tenth of a second of
			// burst, plus the read that is paid for after it went.
			want := int(bps*span/time.Second) + bps/10 + read
			if got := paced(held, read, span); got != want {
				t.Errorf("%d connection(s) over %v: %d bytes, want %d", nconns, span, got, want)
			}
		}
	}
}

func TestPaceIsPerSourceAndShared(t *testing.T) {
	r := New(settings(func(s *dataplane.GuardSettings) { s.Config.Slimit.Bps = 1024 }))
	a := wantConns(t, r, srcA, 2, at(0), 2)
	b := wantConns(t, r, srcB, 1, at(0), 1)
	if d := a[0].Pace(1024, at(0)); d != 0 {
		t.Fatalf("first read waits %v", d)
	}
	// A's second connection waits for what the first sent, B does not.
	if d, want := a[1].Pace(1024, at(0)), 900*time.Millisecond; d != want {
		t.Errorf("A's other connection waits %v, want %v", d, want)
	}
	if d := b[0].Pace(1024, at(0)); d != 0 {
		t.Errorf("B waits %v", d)
	}
	evs := r.Events(at(0))
	if len(evs) != 1 || evs[0].Source != "127.0.0.2" || evs[0].Limit != moat.LimitSlimitBps || evs[0].Peak != 2048 || evs[0].Dropped != 0 {
		t.Errorf("events %+v, want slimit_bps of A peaking at 2048 B/s, nothing dropped", evs)
	}
}

func TestPacePps(t *testing.T) {
	r := New(settings(func(s *dataplane.GuardSettings) { s.Config.Slimit.Pps = 10 }))
	held := wantConns(t, r, srcA, 1, at(0), 1)
	// 10 reads a second, one tenth of a second of burst (one read), and
	// the one paid for after it went.
	if got, want := paced(held, 1, 5*time.Second), 50+1+1; got != want {
		t.Errorf("reads in 5 s at Pps 10: %d, want %d", got, want)
	}
	// One read at a time never waits while the source keeps to its rate.
	r = New(settings(func(s *dataplane.GuardSettings) { s.Config.Slimit.Pps = 1 }))
	held = wantConns(t, r, srcA, 1, at(0), 1)
	for i := range 5 {
		if d := held[0].Pace(1500, at(time.Duration(i)*time.Second)); d != 0 {
			t.Errorf("read %d at 1/s waits %v", i, d)
		}
	}
}

func udpSettings(f func(*dataplane.GuardSettings)) dataplane.GuardSettings {
	return settings(func(s *dataplane.GuardSettings) {
		s.Key.Protocol, s.Key.FrontendPort = "udp", 53
		if f != nil {
			f(s)
		}
	})
}

func TestUDPPayloadLen(t *testing.T) {
	r := New(udpSettings(func(s *dataplane.GuardSettings) {
		s.Config.PayloadLen = moat.PayloadLen{Min: 10, Max: 100}
	}))
	src := netip.AddrPortFrom(srcA, 5353)
	for n, want := range map[int]bool{0: false, 9: false, 10: true, 100: true, 101: false, 6000: false} {
		if got := r.Datagram(src, n, at(0)); got != want {
			t.Errorf("payload %d: passed %v, want %v", n, got, want)
		}
	}
	if evs := r.Events(at(0)); len(evs) != 1 || evs[0].Limit != moat.LimitPayloadLen || evs[0].Dropped != 4 || evs[0].Peak != 4 {
		t.Errorf("events %+v, want one payload_len with 4 dropped", evs)
	}
	// Max 0: no maximum.
	r = New(udpSettings(func(s *dataplane.GuardSettings) { s.Config.PayloadLen = moat.PayloadLen{} }))
	for _, n := range []int{0, 1, 6000, 65507} {
		if !r.Datagram(src, n, at(0)) {
			t.Errorf("payload %d dropped with PayloadLen 0-0", n)
		}
	}
}

func TestUDPReflect(t *testing.T) {
	r := New(udpSettings(func(s *dataplane.GuardSettings) { s.UDPReflect = []int{19, 123} }))
	for port, want := range map[uint16]bool{19: false, 123: false, 53: true, 1234: true} {
		if got := r.Datagram(netip.AddrPortFrom(srcA, port), 100, at(0)); got != want {
			t.Errorf("source port %d: passed %v, want %v", port, got, want)
		}
	}
	// Whitelisted sources are exempt.
	r.Update(udpSettings(func(s *dataplane.GuardSettings) {
		s.UDPReflect = []int{19}
		s.Whitelist = map[netip.Addr]bool{srcB: true}
	}))
	if !r.Datagram(netip.AddrPortFrom(srcB, 19), 100, at(0)) {
		t.Error("a whitelisted reflector port was dropped")
	}
	if evs := r.Events(at(0)); len(evs) != 1 || evs[0].Limit != moat.LimitUDPReflect || evs[0].Dropped != 2 {
		t.Errorf("events %+v, want one udp_reflect with 2 dropped", evs)
	}
}

func TestUDPRates(t *testing.T) {
	r := New(udpSettings(func(s *dataplane.GuardSettings) { s.Config.Slimit.Pps = 100 }))
	a, b := netip.AddrPortFrom(srcA, 5000), netip.AddrPortFrom(srcB, 5000)
	passed := func(src netip.AddrPort, n int, now time.Time) int {
		k := 0
		for range n {
			if r.Datagram(src, 10, now) {
				k++
			}
		}
		return k
	}
	// A tenth of a second of credit (10) and the datagram that empties it.
	if got := passed(a, 50, at(0)); got != 11 {
		t.Errorf("A at once: %d passed, want 11", got)
	}
	if got := passed(a, 5, at(9*time.Millisecond)); got != 0 {
		t.Errorf("A 9 ms later: %d passed, want 0", got)
	}
	if got := passed(a, 5, at(10*time.Millisecond)); got != 1 {
		t.Errorf("A 10 ms later: %d passed, want 1", got)
	}
	if got := passed(b, 50, at(0)); got != 11 {
		t.Errorf("B: %d passed, want 11", got)
	}
	evs := r.Events(at(0))
	if len(evs) != 2 || evs[0].Limit != moat.LimitSlimitPps || evs[0].Dropped != 48 || evs[0].Peak != 60 {
		t.Errorf("events %+v, want slimit_pps of A (48 dropped, peak 60/s) and of B", evs)
	}

	// Bps: a datagram passes while there is credit and is paid in full.
	r = New(udpSettings(func(s *dataplane.GuardSettings) { s.Config.Slimit.Bps = 1024 }))
	if !r.Datagram(a, 1000, at(0)) {
		t.Fatal("a first datagram over a tenth of a second's worth was dropped")
	}
	if r.Datagram(a, 1, at(0)) {
		t.Error("a datagram passed without credit")
	}
	// 1000 bytes at 1024 B/s: credit again after 1000/1024 s minus 100 ms.
	back := time.Duration(1000*int64(time.Second)/1024) - 100*time.Millisecond
	if r.Datagram(a, 1, at(back-time.Nanosecond)) {
		t.Error("a datagram passed before the credit came back")
	}
	if !r.Datagram(a, 1, at(back+time.Nanosecond)) {
		t.Error("a datagram was dropped after the credit came back")
	}
}

func TestUDPSessions(t *testing.T) {
	r := New(udpSettings(func(s *dataplane.GuardSettings) {
		slimitCps(2)(s)
		s.Config.Slimit.Maxconn, s.Config.Slimit.MaxconnEnable = 3, 1
	}))
	var held []dataplane.GuardedConn
	for port := range uint16(3) {
		c, ok := r.Session(netip.AddrPortFrom(srcA, 5000+port), at(time.Duration(port)*time.Second))
		if !ok {
			t.Fatalf("session %d refused", port)
		}
		held = append(held, c)
	}
	if _, ok := r.Session(netip.AddrPortFrom(srcA, 6000), at(5*time.Second)); ok {
		t.Error("a fourth concurrent session was admitted")
	}
	held[0].Done()
	if _, ok := r.Session(netip.AddrPortFrom(srcA, 6000), at(5*time.Second)); !ok {
		t.Error("a session was refused after one ended")
	}
	held[1].Done()
	held[2].Done()
	n := 0
	for port := range uint16(3) {
		if _, ok := r.Session(netip.AddrPortFrom(srcA, 7000+port), at(10*time.Second)); ok {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d new sessions at once with Cps 2, want 1", n)
	}
	if _, ok := r.Session(netip.AddrPortFrom(srcA, 7003), at(10*time.Second+500*time.Millisecond)); !ok {
		t.Error("a new session half a second later was refused")
	}
}

func TestEvents(t *testing.T) {
	r := New(settings(slimitCps(100)))
	wantConns(t, r, srcA, 15, at(0), 10)
	wantConns(t, r, srcA, 5, at(500*time.Millisecond), 5)
	wantConns(t, r, srcA, 15, at(600*time.Millisecond), 10)
	evs := r.Events(at(600 * time.Millisecond))
	want := moat.MitigationEvent{
		PortKey: settings(nil).Key, Node: "edge-1", Source: "127.0.0.2", Limit: moat.LimitSlimitCps,
		Start: t0, Peak: 35, Dropped: 10,
	}
	if len(evs) != 1 || evs[0] != want {
		t.Fatalf("events %+v, want %+v", evs, want)
	}
	if evs := r.Events(at(time.Second)); len(evs) != 0 {
		t.Errorf("nothing changed, yet events %+v", evs)
	}
	// It grows: 12 asked in a later second (the bucket is full again
	// at 0.7 s), then 40 (full again at 2.7 s).
	wantConns(t, r, srcA, 12, at(2600*time.Millisecond), 10)
	want.Dropped, want.Peak = 12, 35
	if evs := r.Events(at(3 * time.Second)); len(evs) != 1 || evs[0] != want {
		t.Fatalf("events %+v, want %+v", evs, want)
	}
	wantConns(t, r, srcA, 40, at(4*time.Second), 10)
	want.Dropped, want.Peak = 42, 40
	// Quiet (admitted connections are no crossing) for just under 10 s.
	wantConns(t, r, srcA, 1, at(12*time.Second), 1)
	if evs := r.Events(at(14*time.Second - 1)); len(evs) != 1 || evs[0] != want {
		t.Fatalf("events %+v, want %+v", evs, want)
	}
	if evs := r.Events(at(14*time.Second - 1)); len(evs) != 0 {
		t.Fatalf("events %+v, want none", evs)
	}
	want.End = at(4 * time.Second)
	if evs := r.Events(at(14 * time.Second)); len(evs) != 1 || evs[0] != want {
		t.Fatalf("ended: events %+v, want %+v", evs, want)
	}
	// A new crossing is a new event.
	wantConns(t, r, srcA, 11, at(20*time.Second), 10)
	want = moat.MitigationEvent{PortKey: want.PortKey, Node: "edge-1", Source: "127.0.0.2", Limit: moat.LimitSlimitCps, Start: at(20 * time.Second), Peak: 11, Dropped: 1}
	if evs := r.Events(at(20 * time.Second)); len(evs) != 1 || evs[0] != want {
		t.Fatalf("events %+v, want %+v", evs, want)
	}
}

func TestEventEndsWithoutEventsCalls(t *testing.T) {
	// A crossing 10 s after the last ends the event and starts another,
	// however seldom Events is called.
	r := New(settings(slimitCps(1)))
	wantConns(t, r, srcA, 2, at(0), 1)
	wantConns(t, r, srcA, 2, at(10*time.Second), 1)
	evs := r.Events(at(10 * time.Second))
	if len(evs) != 2 || evs[0].End != t0 || evs[1].Start != at(10*time.Second) || !evs[1].End.IsZero() {
		t.Errorf("events %+v, want one ended at t0 and one started at +10 s", evs)
	}
}

func TestEventsPerSourceAndLimit(t *testing.T) {
	r := New(settings(func(s *dataplane.GuardSettings) {
		slimitCps(2)(s)
		s.Config.Slimit.Maxconn, s.Config.Slimit.MaxconnEnable = 1, 1
	}))
	wantConns(t, r, srcA, 3, at(0), 1) // maxconn refuses before cps
	wantConns(t, r, srcB, 3, at(0), 1)
	r.Update(settings(slimitCps(2)))
	// Cps now: the refused connections took no token, so one is due
	// after A's first (half a second).
	wantConns(t, r, srcA, 2, at(500*time.Millisecond), 1)
	evs := r.Events(at(500 * time.Millisecond))
	got := map[string]int64{}
	for _, e := range evs {
		got[e.Source+" "+e.Limit] = e.Dropped
	}
	want := map[string]int64{"127.0.0.2 slimit_maxconn": 2, "127.0.0.3 slimit_maxconn": 2, "127.0.0.2 slimit_cps": 1}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("events %v, want %v", got, want)
	}
}

func TestIdleSourcesAreForgotten(t *testing.T) {
	r := New(settings(slimitCps(1)))
	held := wantConns(t, r, srcA, 1, at(0), 1)
	wantConns(t, r, srcB, 1, at(0), 1)[0].Done()
	r.Events(at(IdleAfter - 1))
	if n := len(r.sources); n != 2 {
		t.Fatalf("%d sources tracked before they idle, want 2", n)
	}
	r.Events(at(IdleAfter))
	if n := len(r.sources); n != 1 || r.sources[srcA] == nil {
		t.Fatalf("after %v: %d sources tracked, want only A (it holds a connection)", IdleAfter, len(r.sources))
	}
	held[0].Done()
	r.Events(at(2*IdleAfter + time.Second))
	if n := len(r.sources); n != 0 {
		t.Fatalf("%d sources tracked once all idle", n)
	}
	// The hot path forgets them too, a few at a time.
	for i := range 10 {
		wantConns(t, r, netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}), 1, at(3*IdleAfter), 1)[0].Done()
	}
	for i := range 3 {
		conns(r, srcA, 1, at(4*IdleAfter+time.Duration(i)*time.Second))
	}
	if n := len(r.sources); n != 1 {
		t.Errorf("%d sources tracked after the hot path swept, want 1", n)
	}
}

func TestSourceCapSharesAnOverflowBucket(t *testing.T) {
	r := New(settings(slimitCps(1)))
	r.maxSources = 2
	wantConns(t, r, srcA, 1, at(0), 1)[0].Done()
	wantConns(t, r, srcB, 1, at(0), 1)[0].Done()
	// Beyond the cap, C and D share one bucket of the per-source limits.
	wantConns(t, r, srcC, 1, at(0), 1)
	wantConns(t, r, netip.MustParseAddr("127.0.0.5"), 1, at(0), 0)
	if n := len(r.sources); n != 2 {
		t.Errorf("%d sources tracked, want 2", n)
	}
	evs := r.Events(at(0))
	if len(evs) != 1 || evs[0].Source != "0.0.0.0" || evs[0].Limit != moat.LimitSlimitCps {
		t.Errorf("events %+v, want slimit_cps of the overflow (0.0.0.0)", evs)
	}
	// Once a tracked source idles, a new one gets its own bucket.
	wantConns(t, r, srcC, 1, at(IdleAfter), 1)
	if r.sources[srcC] == nil {
		t.Error("C is not tracked after room was made")
	}
}

func TestOpenEventsAreCapped(t *testing.T) {
	r := New(udpSettings(func(s *dataplane.GuardSettings) { s.UDPReflect = []int{19} }))
	r.maxSources = 2
	for i := range 5 {
		r.Datagram(netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}), 19), 10, at(0))
	}
	got := map[string]int64{}
	for _, e := range r.Events(at(0)) {
		got[e.Source] = e.Dropped
	}
	if want := map[string]int64{"10.0.0.0": 1, "10.0.0.1": 1, "0.0.0.0": 3}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("events %v, want %v", got, want)
	}
}

func TestWhitelistedOverflowSourceIsNotPaced(t *testing.T) {
	r := New(settings(func(s *dataplane.GuardSettings) {
		s.Config.Slimit.Bps = 1024
		s.Whitelist = map[netip.Addr]bool{srcC: true}
	}))
	r.maxSources = 1
	wantConns(t, r, srcA, 1, at(0), 1)
	c := wantConns(t, r, srcC, 1, at(0), 1)[0]
	for i := range 3 {
		if d := c.Pace(1<<20, at(0)); d != 0 {
			t.Fatalf("read %d of a whitelisted source waits %v", i, d)
		}
	}
}

func TestUpdateKeepsState(t *testing.T) {
	r := New(settings(func(s *dataplane.GuardSettings) {
		slimitCps(100)(s)
		s.Config.Slimit.Maxconn, s.Config.Slimit.MaxconnEnable = 20, 1
	}))
	held := wantConns(t, r, srcA, 15, at(0), 10)
	r.Update(settings(func(s *dataplane.GuardSettings) {
		slimitCps(100)(s)
		s.Config.Slimit.Maxconn, s.Config.Slimit.MaxconnEnable = 10, 1
		s.Blacklist = map[netip.Addr]bool{srcC: true}
	}))
	// The 10 open connections count against the new Maxconn (checked
	// before the rate).
	wantConns(t, r, srcA, 1, at(0), 0)
	held[0].Done()
	// The bucket is still empty.
	wantConns(t, r, srcA, 1, at(0), 0)
	wantConns(t, r, srcA, 2, at(time.Second), 1)
	if evs := r.Events(at(time.Second)); len(evs) != 2 || evs[0].Limit != moat.LimitSlimitCps || evs[0].Dropped != 6 || evs[1].Limit != moat.LimitSlimitMaxconn || evs[1].Dropped != 2 || evs[1].Peak != 11 {
		t.Errorf("events %+v, want slimit_cps (6 dropped) then slimit_maxconn (2, peak 11)", evs)
	}
}

func TestConcurrentUse(t *testing.T) {
	r := New(settings(func(s *dataplane.GuardSettings) {
		slimitCps(1000)(s)
		s.Config.Slimit.Maxconn, s.Config.Slimit.MaxconnEnable = 50, 1
		s.Config.Slimit.Bps = 1 << 20
	}))
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			src := netip.AddrFrom4([4]byte{127, 0, 1, byte(g % 4)})
			for i := range 2000 {
				now := at(time.Duration(i) * time.Millisecond)
				if c, ok := r.Conn(src, now); ok {
					c.Pace(1000, now)
					c.Done()
				}
				if i%100 == 0 {
					r.Events(now)
					r.Update(settings(slimitCps(1000)))
				}
			}
		})
	}
	wg.Wait()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.conns != 0 {
		t.Errorf("%d connections still counted after all were done", r.conns)
	}
	for a, s := range r.sources {
		if s.conns != 0 {
			t.Errorf("%v still counts %d connections", a, s.conns)
		}
	}
}

func BenchmarkConnAdmit(b *testing.B) {
	r := New(settings(func(s *dataplane.GuardSettings) {
		slimitCps(500000)(s)
		s.Config.Slimit.Maxconn, s.Config.Slimit.MaxconnEnable = 1000, 1
		s.Config.Sla.Cps, s.Config.Sla.CpsEnable = 100000, 1
	}))
	srcs := make([]netip.Addr, 1024)
	for i := range srcs {
		srcs[i] = netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)})
	}
	// One clock for all goroutines, 10 µs a connection: the rule's
	// 100,000 a second, so (nearly) every connection is admitted.
	var tick, refused atomic.Int64
	admit := func(i int) {
		now := t0.Add(time.Duration(tick.Add(1)) * 10 * time.Microsecond)
		if c, ok := r.Conn(srcs[i%len(srcs)], now); ok {
			c.Done()
		} else {
			refused.Add(1)
		}
	}
	b.Run("serial", func(b *testing.B) {
		refused.Store(0)
		for i := 0; b.Loop(); i++ {
			admit(i)
		}
		b.ReportMetric(float64(refused.Load())/float64(b.N), "refused/op")
	})
	b.Run("parallel", func(b *testing.B) {
		refused.Store(0)
		b.RunParallel(func(pb *testing.PB) {
			for i := 0; pb.Next(); i++ {
				admit(i)
			}
		})
		b.ReportMetric(float64(refused.Load())/float64(b.N), "refused/op")
	})
}
