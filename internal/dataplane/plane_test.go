package dataplane

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"moat/internal/moat"
)

// TestTCPForwardHalfCloseAndCounters: a client's bytes reach the origin,
// which answers only after the client half-closed; the answer comes back
// whole and then EOF. The samples count exactly those bytes, one new
// connection, some packets each way.
func TestTCPForwardHalfCloseAndCounters(t *testing.T) {
	const n = 1
	src := &fakeSource{}
	startOrigin(t, originAddr(n, 1), "o1", false)
	r := tcpRule(n, 1)
	src.set(edge(src, n, r))
	_, stop := startPlane(t, src, nil)

	data := bytes.Repeat([]byte("moat-forward "), 80_000) // ~1 MB, spliced
	got, err := roundTrip(dialFront(t, n, 2), data)
	if err != nil {
		t.Fatalf("round trip: %v", err)
	}
	if want := append([]byte("o1:"), data...); !bytes.Equal(got, want) {
		t.Fatalf("answer: %d bytes %q, want %d bytes", len(got), trim(got), len(want))
	}
	stop()
	k := moat.PortKey{InstanceID: edge(src, n).ID, Protocol: moat.ProtocolTCP, FrontendPort: frontPort}
	tot := src.totals(k)
	if tot.InBytes != int64(len(data)) || tot.OutBytes != int64(len(data)+3) {
		t.Errorf("bytes in/out = %d/%d, want %d/%d", tot.InBytes, tot.OutBytes, len(data), len(data)+3)
	}
	if tot.NewConns != 1 || tot.MaxConns != 1 || tot.Dropped != 0 {
		t.Errorf("new/max/dropped = %d/%d/%d, want 1/1/0", tot.NewConns, tot.MaxConns, tot.Dropped)
	}
	if tot.InPackets < 1 || tot.OutPackets < 1 {
		t.Errorf("packets in/out = %d/%d, want some each way", tot.InPackets, tot.OutPackets)
	}
	for _, s := range src.samples {
		if s.Node != "test" || !s.Bucket.Equal(s.Bucket.Truncate(moat.StatsBucket)) {
			t.Errorf("sample node %q bucket %v: want node test, a minute boundary", s.Node, s.Bucket)
		}
	}
}

// TestCountersOfOpenConnection: an open connection's bytes are written
// while it lasts (active), and the totals stay exact when it ends.
func TestCountersOfOpenConnection(t *testing.T) {
	const n = 2
	src := &fakeSource{}
	startOrigin(t, originAddr(n, 1), "o1", true)
	src.set(edge(src, n, tcpRule(n, 1)))
	_, stop := startPlane(t, src, nil)
	k := moat.PortKey{InstanceID: edge(src, n).ID, Protocol: moat.ProtocolTCP, FrontendPort: frontPort}

	c := dialFront(t, n, 2)
	defer c.Close()
	msg := []byte("ping-0123456789")
	if _, err := c.Write(msg); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(c, make([]byte, len(msg))); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the open connection's bytes in a sample", func() bool {
		tot := src.totals(k)
		return tot.InBytes == int64(len(msg)) && tot.OutBytes == int64(len(msg))
	})
	src.mu.Lock()
	active := false
	for _, s := range src.samples {
		active = active || s.ActiveConns == 1
	}
	src.mu.Unlock()
	if !active {
		t.Error("no sample counted the connection active")
	}
	if _, err := c.Write(msg); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(c, make([]byte, len(msg))); err != nil {
		t.Fatal(err)
	}
	c.Close()
	stop()
	tot := src.totals(k)
	if tot.InBytes != 2*int64(len(msg)) || tot.OutBytes != 2*int64(len(msg)) {
		t.Errorf("bytes in/out = %d/%d, want %d each", tot.InBytes, tot.OutBytes, 2*len(msg))
	}
}

// TestFlushRetriesFailedWrites: samples that could not be written are
// written with the next flush, not lost and not doubled.
func TestFlushRetriesFailedWrites(t *testing.T) {
	const n = 3
	src := &fakeSource{failN: 3}
	startOrigin(t, originAddr(n, 1), "o1", false)
	src.set(edge(src, n, tcpRule(n, 1)))
	_, stop := startPlane(t, src, nil)
	for range 3 {
		forwardedOnce(t, n, 2, []byte("abc"))
	}
	waitFor(t, "three failed writes", func() bool {
		src.mu.Lock()
		defer src.mu.Unlock()
		return src.failN == 0
	})
	stop()
	k := moat.PortKey{InstanceID: edge(src, n).ID, Protocol: moat.ProtocolTCP, FrontendPort: frontPort}
	if tot := src.totals(k); tot.InBytes != 9 || tot.OutBytes != 3*6 || tot.NewConns != 3 {
		t.Errorf("in/out/new = %d/%d/%d, want 9/18/3", tot.InBytes, tot.OutBytes, tot.NewConns)
	}
}

// TestUDPEcho: datagrams reach the origin through a per-source session and
// the answers come back from the instance's address and port.
func TestUDPEcho(t *testing.T) {
	const n = 4
	src := &fakeSource{}
	opc, err := net.ListenPacket("udp4", originAddr(n, 1))
	if err != nil {
		t.Fatal(err)
	}
	defer opc.Close()
	go func() {
		buf := make([]byte, 2048)
		for {
			m, a, err := opc.ReadFrom(buf)
			if err != nil {
				return
			}
			opc.WriteTo(append([]byte("echo:"), buf[:m]...), a)
		}
	}()
	src.set(edge(src, n, udpRule(n, 1)))
	_, stop := startPlane(t, src, nil)

	cl, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 93, n, 2)})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	front := netip.MustParseAddrPort(frontAddr(n))
	buf := make([]byte, 2048)
	sent, answers := 0, 0
	deadline := time.Now().Add(5 * time.Second)
	for answers < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("%d answers to %d datagrams", answers, sent)
		}
		if _, err := cl.WriteToUDPAddrPort([]byte("hello"), front); err != nil {
			t.Fatal(err)
		}
		sent++
		cl.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		m, from, err := cl.ReadFromUDPAddrPort(buf)
		if err != nil {
			continue
		}
		if string(buf[:m]) != "echo:hello" || from != front {
			t.Fatalf("answer %q from %v, want echo:hello from %v", buf[:m], from, front)
		}
		answers++
	}
	// Drain late answers before counting.
	cl.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	for {
		if _, _, err := cl.ReadFromUDPAddrPort(buf); err != nil {
			break
		}
		answers++
	}
	stop()
	k := moat.PortKey{InstanceID: edge(src, n).ID, Protocol: moat.ProtocolUDP, FrontendPort: frontPort}
	tot := src.totals(k)
	if tot.OutPackets != int64(answers) || tot.OutBytes != int64(10*answers) {
		t.Errorf("out packets/bytes = %d/%d, want %d/%d", tot.OutPackets, tot.OutBytes, answers, 10*answers)
	}
	if tot.InPackets < int64(answers) || tot.InPackets > int64(sent) || tot.InBytes != 5*tot.InPackets {
		t.Errorf("in packets/bytes = %d/%d for %d sent and %d answered", tot.InPackets, tot.InBytes, sent, answers)
	}
	if tot.NewConns != 1 {
		t.Errorf("sessions = %d, want 1", tot.NewConns)
	}
}

// TestStoppedRefusesAndClosesThenRenewalRestores: seven days after expiry
// new connections are closed at once and an open one within 1 s, UDP is
// dropped; renewal forwards again.
func TestStoppedRefusesAndClosesThenRenewalRestores(t *testing.T) {
	const n = 5
	src := &fakeSource{}
	startOrigin(t, originAddr(n, 1), "o1", true)
	e := edge(src, n, tcpRule(n, 1))
	src.set(e)
	_, stop := startPlane(t, src, nil)
	k := moat.PortKey{InstanceID: e.ID, Protocol: moat.ProtocolTCP, FrontendPort: frontPort}

	c := dialFront(t, n, 2)
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(c, make([]byte, 1)); err != nil {
		t.Fatalf("echo before expiry: %v", err)
	}

	// Expired, still forwarding: traffic goes on.
	src.move(31 * 24 * time.Hour)
	if _, err := c.Write([]byte("y")); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(c, make([]byte, 1)); err != nil {
		t.Fatalf("echo after expiry: %v", err)
	}

	// Seven days later: the open connection is closed within 1 s.
	src.move(7 * 24 * time.Hour)
	moved := time.Now()
	c.SetReadDeadline(moved.Add(time.Second))
	_, err := c.Read(make([]byte, 1))
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("the open connection still open 1 s after forwarding stopped")
	}
	// New ones are closed at once while the port still listens.
	listening, closed := refused(n, 3)
	if !listening || !closed {
		t.Fatalf("new connection while stopped: listening %v closed %v, want both (%v)", listening, closed, lastDialErr.Load())
	}

	// Renewal restores forwarding.
	src.move(-38 * 24 * time.Hour)
	forwardedOnce(t, n, 2, []byte("back"))
	stop()
	if tot := src.totals(k); tot.Dropped < 1 {
		t.Errorf("dropped = %d, want the refused connection counted", tot.Dropped)
	}
}

// TestStoppedDropsUDP: while stopped, datagrams are dropped.
func TestStoppedDropsUDP(t *testing.T) {
	const n = 6
	src := &fakeSource{}
	got := make(chan string, 100)
	opc, err := net.ListenPacket("udp4", originAddr(n, 1))
	if err != nil {
		t.Fatal(err)
	}
	defer opc.Close()
	go func() {
		buf := make([]byte, 2048)
		for {
			m, _, err := opc.ReadFrom(buf)
			if err != nil {
				return
			}
			got <- string(buf[:m])
		}
	}()
	e := edge(src, n, udpRule(n, 1))
	e.ExpireTime = src.TrafficNow().Add(-8 * 24 * time.Hour)
	src.set(e)
	p, stop := startPlane(t, src, nil)
	waitFor(t, "the UDP socket", func() bool { return udpOf(p, e.Rules[0].PortKey) != nil })
	cl, err := net.DialUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 93, n, 2)}, net.UDPAddrFromAddrPort(netip.MustParseAddrPort(frontAddr(n))))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	for range 5 {
		cl.Write([]byte("dropped"))
	}
	// Renewal: later datagrams arrive, the dropped ones never do.
	e.ExpireTime = src.TrafficNow().Add(24 * time.Hour)
	src.set(e)
	deadline := time.After(5 * time.Second)
	for {
		cl.Write([]byte("through"))
		select {
		case m := <-got:
			if m != "through" {
				t.Fatalf("origin got %q while stopped", m)
			}
		case <-time.After(50 * time.Millisecond):
			continue
		case <-deadline:
			t.Fatal("no datagram forwarded after renewal")
		}
		break
	}
	stop()
	if tot := src.totals(e.Rules[0].PortKey); tot.Dropped < 5 {
		t.Errorf("dropped = %d, want at least the 5 sent while stopped", tot.Dropped)
	}
}

// TestRuleDeletedNothingListens: a deleted rule's port is closed and its
// open connections end; a released instance (gone from the snapshot)
// likewise.
func TestRuleDeletedNothingListens(t *testing.T) {
	const n = 7
	src := &fakeSource{}
	startOrigin(t, originAddr(n, 1), "o1", true)
	e := edge(src, n, tcpRule(n, 1))
	src.set(e)
	startPlane(t, src, nil)

	c := dialFront(t, n, 2)
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	c.Write([]byte("x"))
	if _, err := io.ReadFull(c, make([]byte, 1)); err != nil {
		t.Fatal(err)
	}
	e.Rules = nil
	src.set(e)
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatal("the connection survived its rule")
	} else if ne := net.Error(nil); errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("the connection survived its rule")
	}
	waitFor(t, "nothing listening", func() bool {
		listening, _ := refused(n, 2)
		return !listening
	})

	// A rule back, then its instance released.
	e = edge(src, n, tcpRule(n, 1))
	src.set(e)
	forwardedOnce(t, n, 2, []byte("again"))
	src.set()
	waitFor(t, "nothing listening after release", func() bool {
		listening, _ := refused(n, 2)
		return !listening
	})
}

// TestHealthCheckDownGetsNothing: an origin failing its HTTP check is
// reported abnormal and gets no new connections; when it recovers it is
// normal again. Without a check every origin is normal.
func TestHealthCheckDownGetsNothing(t *testing.T) {
	const n = 8
	src := &fakeSource{}
	startOrigin(t, originAddr(n, 1), "o1", false)
	sick := startOrigin(t, originAddr(n, 2), "o2", false)
	sick.status.Store(503)
	r := tcpRule(n, 1, 2)
	e := edge(src, n, r)
	src.set(e)
	p, _ := startPlane(t, src, nil)
	k := e.Rules[0].PortKey
	for _, st := range p.OriginHealth(k, r.RealServers) {
		if st.Status != moat.HealthNormal {
			t.Fatalf("without a check: %v", st)
		}
	}

	e.Rules[0].HealthCheck = moat.HealthCheck{Type: "http", Interval: 1, Timeout: 1, Up: 1, Down: 1, URI: "/health", Domain: "example.com"}
	src.set(e)
	want := []moat.OriginStatus{{Address: originIP(n, 1), Status: moat.HealthNormal}, {Address: originIP(n, 2), Status: moat.HealthAbnormal}}
	waitFor(t, "o2 abnormal", func() bool {
		got := p.OriginHealth(k, r.RealServers)
		return got[0] == want[0] && got[1] == want[1]
	})
	before := sick.conns.Load()
	for range 6 {
		if o := originOf(forwardedOnce(t, n, 2, []byte("hi"))); o != "o1" {
			t.Fatalf("a connection reached %s, which is down", o)
		}
	}
	if sick.conns.Load() != before {
		t.Fatal("the sick origin got a connection")
	}
	sick.status.Store(200)
	waitFor(t, "o2 normal again", func() bool {
		return p.OriginHealth(k, r.RealServers)[1].Status == moat.HealthNormal
	})
}

// TestSpreadAndPersistence: without persistence, connections from one
// source spread over the origins; with PersistenceTimeout, each source
// keeps its origin.
func TestSpreadAndPersistence(t *testing.T) {
	const n = 9
	src := &fakeSource{}
	startOrigin(t, originAddr(n, 1), "o1", false)
	startOrigin(t, originAddr(n, 2), "o2", false)
	e := edge(src, n, tcpRule(n, 1, 2))
	src.set(e)
	startPlane(t, src, nil)

	seen := map[string]int{}
	for range 6 {
		seen[originOf(forwardedOnce(t, n, 2, []byte("a")))]++
	}
	if seen["o1"] == 0 || seen["o2"] == 0 {
		t.Fatalf("without persistence one source reached %v, want both origins", seen)
	}

	e.Rules[0].Config.PersistenceTimeout = 60
	src.set(e)
	// Wait for the setting: two sources each see one origin 8 times.
	waitFor(t, "persistence", func() bool {
		for k := 2; k <= 3; k++ {
			first := originOf(forwardedOnce(t, n, k, []byte("b")))
			for range 7 {
				if originOf(forwardedOnce(t, n, k, []byte("b"))) != first {
					return false
				}
			}
		}
		return true
	})
}

// TestGuardRefusalCounted: a connection the guard refuses is closed at
// once and counted as dropped; its event is written; admitted
// connections are given back once each; the guard gets the rule's
// settings and the instance's lists.
func TestGuardRefusalCounted(t *testing.T) {
	const n = 10
	src := &fakeSource{}
	startOrigin(t, originAddr(n, 1), "o1", false)
	g := &fakeGuard{refuse: map[netip.Addr]bool{netip.MustParseAddr(clientIP(n, 3)): true}}
	e := edge(src, n, tcpRule(n, 1))
	e.Blacklist = []moat.SourceEntry{{IP: clientIP(n, 3)}}
	e.Whitelist = []moat.SourceEntry{{IP: clientIP(n, 4)}}
	e.UDPReflect = []int{19}
	src.set(e)
	_, stop := startPlane(t, src, func(c *Config) {
		c.NewGuard = func(s GuardSettings) Guard { g.Update(s); return g }
	})
	forwardedOnce(t, n, 2, []byte("ok"))
	if listening, closed := refused(n, 3); !listening || !closed {
		t.Fatalf("refused source: listening %v closed %v (%v)", listening, closed, lastDialErr.Load())
	}
	stop()
	k := e.Rules[0].PortKey
	if tot := src.totals(k); tot.Dropped != 1 || tot.NewConns != g.admitted.Load() {
		t.Errorf("dropped/new = %d/%d, want 1/%d", tot.Dropped, tot.NewConns, g.admitted.Load())
	}
	if g.done.Load() != g.admitted.Load() {
		t.Errorf("%d connections given back of %d admitted", g.done.Load(), g.admitted.Load())
	}
	if len(src.events) != 1 || src.events[0].Source != clientIP(n, 3) {
		t.Errorf("events %+v, want the refusal of %s", src.events, clientIP(n, 3))
	}
	s := g.last()
	if s.Key != k || !s.Mitigate || s.Node != "test" || !s.Blacklist[netip.MustParseAddr(clientIP(n, 3))] ||
		!s.Whitelist[netip.MustParseAddr(clientIP(n, 4))] || len(s.UDPReflect) != 1 {
		t.Errorf("guard settings %+v", s)
	}
}

// TestGuardMitigatesOnlyInService: after expiry the guard is told not to
// mitigate; renewal turns mitigation back on.
func TestGuardMitigatesOnlyInService(t *testing.T) {
	const n = 11
	src := &fakeSource{}
	g := &fakeGuard{}
	src.set(edge(src, n, tcpRule(n, 1)))
	startPlane(t, src, func(c *Config) {
		c.NewGuard = func(s GuardSettings) Guard { g.Update(s); return g }
	})
	waitFor(t, "mitigating", func() bool { return g.last().Mitigate })
	src.move(31 * 24 * time.Hour)
	waitFor(t, "not mitigating after expiry", func() bool { return !g.last().Mitigate })
	src.move(-31 * 24 * time.Hour)
	waitFor(t, "mitigating after renewal", func() bool { return g.last().Mitigate })
}

// TestPacedCopyForwardsExactly: with a source byte limit the client's
// bytes go through the guard's pace and still arrive whole.
func TestPacedCopyForwardsExactly(t *testing.T) {
	const n = 12
	src := &fakeSource{}
	startOrigin(t, originAddr(n, 1), "o1", false)
	g := &fakeGuard{pace: time.Millisecond}
	r := tcpRule(n, 1)
	r.Config.Slimit.Bps = 1 << 20
	src.set(edge(src, n, r))
	_, stop := startPlane(t, src, func(c *Config) {
		c.NewGuard = func(s GuardSettings) Guard { g.Update(s); return g }
	})
	data := bytes.Repeat([]byte("p"), 100_000)
	got := forwardedOnce(t, n, 2, data)
	if len(got) != len(data)+3 {
		t.Fatalf("answer %d bytes, want %d", len(got), len(data)+3)
	}
	if g.paced.Load() == 0 {
		t.Fatal("the guard was never asked to pace")
	}
	stop()
	if tot := src.totals(src.snap.Edges[0].Rules[0].PortKey); tot.InBytes != int64(len(data)) {
		t.Errorf("in bytes %d, want %d", tot.InBytes, len(data))
	}
}

// TestNodataConnClosesSilentClients: with NodataConn on, a client that
// sends nothing is closed after the timeout; one that talks is forwarded.
func TestNodataConnClosesSilentClients(t *testing.T) {
	const n = 13
	src := &fakeSource{}
	startOrigin(t, originAddr(n, 1), "o1", false)
	r := tcpRule(n, 1)
	r.Config.NodataConn = "on"
	e := edge(src, n, r)
	src.set(e)
	_, stop := startPlane(t, src, nil, func(p *Plane) { p.nodataTimeout = 200 * time.Millisecond })

	forwardedOnce(t, n, 2, []byte("talks"))
	c := dialFront(t, n, 2)
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err := c.Read(make([]byte, 1))
	if ne := net.Error(nil); err == nil || errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("silent connection: %v, want closed", err)
	}
	stop()
	if tot := src.totals(e.Rules[0].PortKey); tot.Dropped != 1 {
		t.Errorf("dropped %d, want 1", tot.Dropped)
	}
}

// TestProxyProtocolV2: with ProxyProtocol the origin first reads a PROXY
// v2 header naming the client and the instance's address.
func TestProxyProtocolV2(t *testing.T) {
	const n = 14
	src := &fakeSource{}
	o := startOrigin(t, originAddr(n, 1), "o1", false)
	o.hdr = make(chan []byte, 10)
	src.set(edge(src, n, tcpRule(n, 1)))
	startPlane(t, src, func(c *Config) { c.ProxyProtocol = true })
	c := dialFront(t, n, 5)
	local := c.LocalAddr().(*net.TCPAddr).AddrPort()
	if got, err := roundTrip(c, []byte("x")); err != nil || string(got) != "o1:x" {
		t.Fatalf("round trip: %q %v", got, err)
	}
	h := <-o.hdr
	if !bytes.Equal(h[:12], proxyV2Sig[:]) || h[12] != 0x21 || h[13] != 0x11 || binary.BigEndian.Uint16(h[14:]) != 12 {
		t.Fatalf("header % x", h[:16])
	}
	srcIP, _ := netip.AddrFromSlice(h[16:20])
	dstIP, _ := netip.AddrFromSlice(h[20:24])
	gotSrc := netip.AddrPortFrom(srcIP, binary.BigEndian.Uint16(h[24:]))
	gotDst := netip.AddrPortFrom(dstIP, binary.BigEndian.Uint16(h[26:]))
	if gotSrc != local || gotDst.String() != frontAddr(n) {
		t.Fatalf("header says %v -> %v, want %v -> %s", gotSrc, gotDst, local, frontAddr(n))
	}
}

// TestProxyHeaderV2IPv6 pins the IPv6 form's layout.
func TestProxyHeaderV2IPv6(t *testing.T) {
	h := proxyHeaderV2(netip.MustParseAddrPort("[2001:db8::1]:1234"), netip.MustParseAddrPort("[2001:db8::2]:80"))
	if len(h) != 52 || h[13] != 0x21 || binary.BigEndian.Uint16(h[14:]) != 36 ||
		h[31] != 1 || h[47] != 2 || binary.BigEndian.Uint16(h[48:]) != 1234 || binary.BigEndian.Uint16(h[50:]) != 80 {
		t.Fatalf("header % x", h)
	}
}

// TestListenFailureLoggedOnceNotFatal: a rule whose address this host
// cannot bind is logged once and retried; other rules forward.
func TestListenFailureLoggedOnceNotFatal(t *testing.T) {
	const n = 15
	src := &fakeSource{}
	startOrigin(t, originAddr(n, 1), "o1", false)
	bad := edge(src, 200, tcpRule(200, 1))
	bad.IP = "192.0.2.1" // TEST-NET-1: not on this host
	src.set(bad, edge(src, n, tcpRule(n, 1)))
	var logs lockedBuffer
	startPlane(t, src, func(c *Config) { c.Logger = slog.New(slog.NewTextHandler(&logs, nil)) })
	forwardedOnce(t, n, 2, []byte("ok"))
	polls := src.polls.Load()
	waitFor(t, "ten more ticks", func() bool { return src.polls.Load() >= polls+10 })
	if c := strings.Count(logs.String(), "dataplane: listen"); c != 1 {
		t.Fatalf("%d listen warnings, want 1:\n%s", c, logs.String())
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestUDPSessionIdleTimeout: a session that moves nothing for the idle
// timeout is closed; the source's next datagram opens a new one.
func TestUDPSessionIdleTimeout(t *testing.T) {
	const n = 16
	src := &fakeSource{}
	opc, err := net.ListenPacket("udp4", originAddr(n, 1))
	if err != nil {
		t.Fatal(err)
	}
	defer opc.Close()
	go func() {
		buf := make([]byte, 2048)
		for {
			m, a, err := opc.ReadFrom(buf)
			if err != nil {
				return
			}
			opc.WriteTo(buf[:m], a)
		}
	}()
	e := edge(src, n, udpRule(n, 1))
	src.set(e)
	p, stop := startPlane(t, src, nil, func(p *Plane) { p.udpIdle = 100 * time.Millisecond })
	cl, err := net.DialUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 93, n, 2)}, net.UDPAddrFromAddrPort(netip.MustParseAddrPort(frontAddr(n))))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	echo := func() {
		t.Helper()
		buf := make([]byte, 64)
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			cl.Write([]byte("u"))
			cl.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
			if _, err := cl.Read(buf); err == nil {
				return
			}
		}
		t.Fatal("no echo")
	}
	sessions := func() int {
		u := udpOf(p, e.Rules[0].PortKey)
		if u == nil {
			return -1
		}
		u.mu.Lock()
		defer u.mu.Unlock()
		return len(u.sessions)
	}
	echo()
	waitFor(t, "the idle session closed", func() bool { return sessions() == 0 })
	echo()
	stop()
	if tot := src.totals(e.Rules[0].PortKey); tot.NewConns != 2 {
		t.Errorf("sessions opened %d, want 2", tot.NewConns)
	}
}

// TestTCPHealthCheckDeadOrigin: an origin that refuses connections fails
// its TCP check.
func TestTCPHealthCheckDeadOrigin(t *testing.T) {
	const n = 17
	src := &fakeSource{}
	startOrigin(t, originAddr(n, 1), "o1", false)
	r := tcpRule(n, 1, 2) // nothing listens on origin 2
	r.HealthCheck = moat.HealthCheck{Type: "tcp", Interval: 1, Timeout: 1, Up: 2, Down: 1}
	e := edge(src, n, r)
	src.set(e)
	p, _ := startPlane(t, src, nil)
	waitFor(t, "origin 2 abnormal", func() bool {
		st := p.OriginHealth(e.Rules[0].PortKey, r.RealServers)
		return st[0].Status == moat.HealthNormal && st[1].Status == moat.HealthAbnormal
	})
}

// TestFreebindListensOnAbsentAddress: with Freebind an address that is
// on no interface of this host is bound.
func TestFreebindListensOnAbsentAddress(t *testing.T) {
	src := &fakeSource{}
	e := edge(src, 201, tcpRule(201, 1))
	e.IP = "192.0.2.77"
	src.set(e)
	var logs lockedBuffer
	p, _ := startPlane(t, src, func(c *Config) {
		c.Freebind = true
		c.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})
	waitFor(t, "the listener", func() bool {
		r := ruleOf(p, e.Rules[0].PortKey)
		if r == nil {
			return false
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		return r.tcp != nil
	})
	if strings.Contains(logs.String(), "dataplane: listen") {
		t.Fatalf("listen warning with Freebind:\n%s", logs.String())
	}
}

func ruleOf(p *Plane, k moat.PortKey) *rule {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.rules[k]
}

// udpOf is a rule's UDP server, nil before it listens.
func udpOf(p *Plane, k moat.PortKey) *udpServer {
	r := ruleOf(p, k)
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.udp
}
