package e2e

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	ddoscoov3 "github.com/alibabacloud-go/ddoscoo-20200101/v2/client"
	"github.com/alibabacloud-go/tea/tea"

	"moat/internal/admin"
)

// The data plane, end to end on loopback: `moat serve --dataplane` with an
// IP pool of loopback addresses, origins on 127.0.0.1, clients bound to
// distinct loopback sources (127.65.9.2, 127.65.9.3, …) so that per-source
// limits show. Each test has its own pool, so no two bind one address;
// the sources are the tests' own too, since a busy source address (a
// benchmark's flood from 127.0.0.2) can run out of ephemeral ports.

// tcpEcho is an origin that echoes every connection until the client
// half-closes, then closes.
func tcpEcho(t testing.TB) *net.TCPAddr {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.Copy(c, c)
			}()
		}
	}()
	return ln.Addr().(*net.TCPAddr)
}

// udpEcho is an origin that answers every datagram with itself.
func udpEcho(t testing.TB) *net.UDPAddr {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 65535)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			pc.WriteTo(buf[:n], from)
		}
	}()
	return pc.LocalAddr().(*net.UDPAddr)
}

// echoOnce connects from src to addr, sends a message and reports whether
// it came back: false when the connection is refused, reset or closed
// before the answer.
func echoOnce(src, addr string) bool {
	d := net.Dialer{Timeout: 2 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	c, err := d.Dial("tcp", addr)
	// A source address out of free ports is the client's trouble, not a
	// refusal: try again (bounded) rather than report one.
	for i := 0; i < 50 && (errors.Is(err, syscall.EADDRINUSE) || errors.Is(err, syscall.EADDRNOTAVAIL)); i++ {
		time.Sleep(20 * time.Millisecond)
		c, err = d.Dial("tcp", addr)
	}
	if err != nil {
		return false
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	msg := []byte("ping " + src)
	if _, err := c.Write(msg); err != nil {
		return false
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil {
		return false
	}
	return bytes.Equal(got, msg)
}

// udpOnce sends one datagram from src and reports whether it came back.
func udpOnce(src, addr string) bool {
	la := &net.UDPAddr{IP: net.ParseIP(src)}
	ra, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return false
	}
	c, err := net.DialUDP("udp", la, ra)
	if err != nil {
		return false
	}
	defer c.Close()
	msg := []byte("dgram " + src)
	c.SetDeadline(time.Now().Add(500 * time.Millisecond))
	if _, err := c.Write(msg); err != nil {
		return false
	}
	got := make([]byte, 2048)
	n, err := c.Read(got)
	return err == nil && bytes.Equal(got[:n], msg)
}

// burst makes n echo connections from src one after the other and counts
// those answered.
func echoBurst(src, addr string, n int) int {
	ok := 0
	for range n {
		if echoOnce(src, addr) {
			ok++
		}
	}
	return ok
}

// eventually polls cond every 50 ms until it holds or within passes.
func eventually(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		if cond() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, within)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// dataplaneServer starts moat with the data plane on a pool of its own.
func dataplaneServer(t testing.TB, pool string) *Server {
	s := StartServer(t, WithArgs("--dataplane", "--ip-pool", "cn-hangzhou="+pool))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server log:\n%s", s.Logs())
		}
	})
	return s
}

// TestDataplaneStory is the seed's story on a socket: a port rule
// forwards; a blacklisted source is refused; a source over Slimit Cps is
// cut to its limit while another source is untouched; at expiry the same
// flood passes unlimited; seven days later connections are refused and an
// open one is closed; renewal forwards and limits again; the traffic shows
// in DescribePortFlowList; after release nothing listens.
func TestDataplaneStory(t *testing.T) {
	s := dataplaneServer(t, "127.65.1.0/24")
	origin := tcpEcho(t)
	in := createSingle(t, s, admin.InstancesRequest{ExpireIn: "720h"})
	c := SDKv3(t, s, testKeyID, testKeySecret)
	bss := BSSv1(t, s, testKeyID, testKeySecret)
	front := net.JoinHostPort(in.Ip, "8080")

	if _, err := c.CreatePort((&ddoscoov3.CreatePortRequest{}).SetInstanceId(in.InstanceId).SetFrontendProtocol("tcp").SetFrontendPort("8080").
		SetBackendPort(strconv.Itoa(origin.Port)).SetRealServers(tea.StringSlice([]string{"127.0.0.1"}))); err != nil {
		t.Fatalf("CreatePort: %v", err)
	}
	eventually(t, 3*time.Second, "the rule forwards", func() bool { return echoOnce("127.65.9.2", front) })

	// The blacklist refuses its source, and only it.
	if _, err := c.AddAutoCcBlacklist((&ddoscoov3.AddAutoCcBlacklistRequest{}).SetInstanceId(in.InstanceId).
		SetBlacklist(`[{"src":"127.65.9.3"}]`).SetExpireTime(3600)); err != nil {
		t.Fatalf("AddAutoCcBlacklist: %v", err)
	}
	eventually(t, 3*time.Second, "the blacklisted source is refused", func() bool { return !echoOnce("127.65.9.3", front) })
	if !echoOnce("127.65.9.2", front) {
		t.Fatal("another source is refused with the blacklisted one")
	}

	// Slimit Cps 5: a burst of 20 from one source gets a few through (the
	// bucket holds one and refills at 5/s while the burst runs); another
	// source has its own bucket, its first connection passes.
	if _, err := c.ModifyNetworkRuleAttribute((&ddoscoov3.ModifyNetworkRuleAttributeRequest{}).SetInstanceId(in.InstanceId).
		SetForwardProtocol("tcp").SetFrontendPort(8080).SetConfig(`{"Slimit":{"Cps":5,"CpsEnable":1}}`)); err != nil {
		t.Fatalf("ModifyNetworkRuleAttribute: %v", err)
	}
	limited := func() bool { n := echoBurst("127.65.9.4", front, 20); return n >= 1 && n <= 8 }
	eventually(t, 5*time.Second, "a flood from 127.65.9.4 is cut to Slimit Cps", limited)
	if !echoOnce("127.65.9.5", front) {
		t.Fatal("another source is refused while 127.65.9.4 is limited")
	}

	// Expiry: mitigation stops. The same flood passes whole, and the
	// blacklist no longer applies.
	s.Advance(t, "721h")
	eventually(t, 5*time.Second, "after expiry the flood passes unlimited", func() bool { return echoBurst("127.65.9.4", front, 20) == 20 })
	if !echoOnce("127.65.9.3", front) {
		t.Fatal("after expiry the blacklisted source is still refused")
	}

	// Seven days later forwarding stops: new connections are refused and
	// an open one is closed.
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.65.9.6")}}
	open, err := d.Dial("tcp", front)
	if err != nil {
		t.Fatal(err)
	}
	defer open.Close()
	if _, err := open.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	one := make([]byte, 1)
	open.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := io.ReadFull(open, one); err != nil {
		t.Fatalf("the open connection does not forward before the stop: %v", err)
	}
	s.Advance(t, "168h")
	open.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := open.Read(one); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("the open connection was not closed when forwarding stopped: %v", err)
	}
	eventually(t, 3*time.Second, "new connections are refused once forwarding stopped", func() bool { return !echoOnce("127.65.9.2", front) })
	if echoOnce("127.65.9.5", front) {
		t.Fatal("a stopped instance forwarded a new connection")
	}

	// Renewal: forwarded and limited again.
	if _, err := bssRenew(bss, in.InstanceId, 1, ""); err != nil {
		t.Fatalf("RenewInstance: %v", err)
	}
	eventually(t, 5*time.Second, "renewal restores forwarding", func() bool { return echoOnce("127.65.9.2", front) })
	eventually(t, 5*time.Second, "renewal restores the limits", limited)

	// The traffic shows in DescribePortFlowList, then zero once it stops.
	now := serverNow(t, s)
	start := now.Truncate(time.Minute).Add(-5 * time.Minute)
	flow := func(from, to time.Time) (bps int64) {
		t.Helper()
		r, err := c.DescribePortFlowList((&ddoscoov3.DescribePortFlowListRequest{}).SetInstanceIds(tea.StringSlice([]string{in.InstanceId})).
			SetStartTime(from.Unix()).SetEndTime(to.Unix()).SetInterval(60))
		if err != nil {
			t.Fatalf("DescribePortFlowList: %v", err)
		}
		for _, p := range r.Body.PortFlowList {
			bps += tea.Int64Value(p.InBps)
		}
		return bps
	}
	eventually(t, 5*time.Second, "the forwarded bytes show in DescribePortFlowList", func() bool {
		return flow(start, now.Truncate(time.Minute).Add(2*time.Minute)) > 0
	})
	s.Advance(t, "10m")
	later := serverNow(t, s).Truncate(time.Minute)
	if got := flow(later.Add(-3*time.Minute), later); got != 0 {
		t.Fatalf("minutes without traffic show InBps %d", got)
	}

	// Release (after it expires again): nothing listens.
	s.Advance(t, "1000h")
	if _, err := c.ReleaseInstance((&ddoscoov3.ReleaseInstanceRequest{}).SetInstanceId(in.InstanceId)); err != nil {
		t.Fatalf("ReleaseInstance: %v", err)
	}
	eventually(t, 3*time.Second, "nothing listens after release", func() bool {
		_, err := net.DialTimeout("tcp", front, time.Second)
		return err != nil
	})
}

// TestDataplaneUDP is the story for a UDP rule: answers come back from
// the instance's address and port; a blacklisted source gets nothing;
// forwarding stops seven days after expiry and renewal restores it.
func TestDataplaneUDP(t *testing.T) {
	s := dataplaneServer(t, "127.65.2.0/24")
	origin := udpEcho(t)
	in := createSingle(t, s, admin.InstancesRequest{ExpireIn: "720h"})
	c := SDKv3(t, s, testKeyID, testKeySecret)
	bss := BSSv1(t, s, testKeyID, testKeySecret)
	front := net.JoinHostPort(in.Ip, "5353")
	if _, err := c.CreatePort((&ddoscoov3.CreatePortRequest{}).SetInstanceId(in.InstanceId).SetFrontendProtocol("udp").SetFrontendPort("5353").
		SetBackendPort(strconv.Itoa(origin.Port)).SetRealServers(tea.StringSlice([]string{"127.0.0.1"}))); err != nil {
		t.Fatalf("CreatePort: %v", err)
	}
	eventually(t, 3*time.Second, "the UDP rule forwards", func() bool { return udpOnce("127.65.9.2", front) })

	if _, err := c.AddAutoCcBlacklist((&ddoscoov3.AddAutoCcBlacklistRequest{}).SetInstanceId(in.InstanceId).
		SetBlacklist(`[{"src":"127.65.9.3"}]`).SetExpireTime(3600)); err != nil {
		t.Fatalf("AddAutoCcBlacklist: %v", err)
	}
	eventually(t, 3*time.Second, "the blacklisted source gets no answer", func() bool { return !udpOnce("127.65.9.3", front) })

	s.Advance(t, "721h")
	eventually(t, 3*time.Second, "after expiry the blacklist no longer applies", func() bool { return udpOnce("127.65.9.3", front) })
	s.Advance(t, "168h")
	eventually(t, 3*time.Second, "datagrams are dropped once forwarding stopped", func() bool { return !udpOnce("127.65.9.2", front) })
	if _, err := bssRenew(bss, in.InstanceId, 1, ""); err != nil {
		t.Fatalf("RenewInstance: %v", err)
	}
	eventually(t, 3*time.Second, "renewal restores forwarding", func() bool { return udpOnce("127.65.9.2", front) })
}
