package e2e

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	ddoscoov3 "github.com/alibabacloud-go/ddoscoo-20200101/v2/client"
	"github.com/alibabacloud-go/tea/tea"
	"golang.org/x/sys/unix"

	"moat/internal/admin"
)

// The data plane on a pool that is not loopback, as an operator routes
// one: the pool 198.18.<n>.0/24 (a benchmarking range) is routed to the
// host with `ip route add local … dev lo`, so moat binds its instance
// addresses on no interface; a client in a network namespace of its own
// reaches them over a veth pair whose host end is its gateway.

// ipRun runs ip with args and returns its combined output.
func ipRun(args ...string) (string, error) {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return string(out), nil
}

// netnsLab is a namespace with a veth link to the host and a pool routed
// locally on the host.
type netnsLab struct {
	NS     string
	Pool   string // 198.18.n.0/24
	HostIP string // the host end of the link, the namespace's gateway
	NSIP   string // the namespace's end: the client's source address
}

// newNetnsLab claims a free /24 of 198.18.0.0/16 (the first whose local
// route it can add, so concurrent runs never share one), creates the
// namespace and the link, and removes all of it when the test ends. Any
// step that fails fails the test with its reason.
func newNetnsLab(t *testing.T) *netnsLab {
	t.Helper()
	if _, err := exec.LookPath("ip"); err != nil {
		t.Fatalf("the network namespace test needs iproute2's ip command: %v", err)
	}
	var r [2]byte
	rand.Read(r[:])
	start := int(binary.BigEndian.Uint16(r[:]) % 256)
	lab := &netnsLab{}
	n := -1
	var lastErr error
	for i := range 256 {
		c := (start + i) % 256
		pool := fmt.Sprintf("198.18.%d.0/24", c)
		if _, err := ipRun("route", "add", "local", pool, "dev", "lo"); err != nil {
			lastErr = err
			continue
		}
		n, lab.Pool = c, pool
		break
	}
	if n < 0 {
		t.Fatalf("no /24 of 198.18.0.0/16 could be routed locally (the test runs as root in CI): %v", lastErr)
	}
	t.Cleanup(func() {
		if _, err := ipRun("route", "del", "local", lab.Pool, "dev", "lo"); err != nil {
			t.Errorf("remove the pool's route: %v", err)
		}
	})

	lab.NS = fmt.Sprintf("moat-e2e-%d-%d", os.Getpid(), n)
	hostIf, nsIf := fmt.Sprintf("moath%d", n), fmt.Sprintf("moatn%d", n)
	lab.HostIP, lab.NSIP = fmt.Sprintf("198.19.%d.1", n), fmt.Sprintf("198.19.%d.2", n)
	if _, err := ipRun("netns", "add", lab.NS); err != nil {
		t.Fatalf("cannot create a network namespace (the test needs root, as CI has): %v", err)
	}
	t.Cleanup(func() {
		if _, err := ipRun("netns", "del", lab.NS); err != nil {
			t.Errorf("delete namespace %s: %v", lab.NS, err)
		}
		// The veth pair goes with the namespace, asynchronously; one
		// left over (the namespace was never entered) is deleted here.
		if _, err := ipRun("link", "del", hostIf); err != nil && !strings.Contains(err.Error(), "Cannot find device") {
			t.Errorf("delete link %s: %v", hostIf, err)
		}
	})
	steps := [][]string{
		{"link", "add", hostIf, "type", "veth", "peer", "name", nsIf},
		{"link", "set", nsIf, "netns", lab.NS},
		{"addr", "add", lab.HostIP + "/30", "dev", hostIf},
		{"link", "set", hostIf, "up"},
		{"-n", lab.NS, "addr", "add", lab.NSIP + "/30", "dev", nsIf},
		{"-n", lab.NS, "link", "set", nsIf, "up"},
		{"-n", lab.NS, "link", "set", "lo", "up"},
		{"-n", lab.NS, "route", "add", lab.Pool, "via", lab.HostIP},
	}
	for _, s := range steps {
		if _, err := ipRun(s...); err != nil {
			t.Fatalf("set up the namespace's link: %v", err)
		}
	}
	return lab
}

// dial connects to addr from inside the namespace: the socket is made on
// a thread that entered the namespace and then returns to the test's own,
// and the connection works from any goroutine. The thread must not exit
// in the namespace: the servers, started with Pdeathsig, die with the
// thread that forked them.
func (l *netnsLab) dial(addr string, timeout time.Duration) (net.Conn, error) {
	type result struct {
		c   net.Conn
		err error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		home, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			runtime.UnlockOSThread()
			done <- result{nil, err}
			return
		}
		defer home.Close()
		ns, err := os.Open("/var/run/netns/" + l.NS)
		if err != nil {
			runtime.UnlockOSThread()
			done <- result{nil, err}
			return
		}
		defer ns.Close()
		if err := unix.Setns(int(ns.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			done <- result{nil, fmt.Errorf("enter namespace %s: %w", l.NS, err)}
			return
		}
		c, err := net.DialTimeout("tcp", addr, timeout)
		if rerr := unix.Setns(int(home.Fd()), unix.CLONE_NEWNET); rerr != nil {
			// The thread stays locked and ends with this goroutine.
			if c != nil {
				c.Close()
			}
			done <- result{nil, fmt.Errorf("leave namespace %s: %w", l.NS, rerr)}
			return
		}
		runtime.UnlockOSThread()
		done <- result{c, err}
	}()
	r := <-done
	return r.c, r.err
}

// countingEcho is an origin on 127.0.0.1 that echoes and counts the bytes
// it received and the distinct clients it saw.
type countingEcho struct {
	addr  *net.TCPAddr
	bytes atomic.Int64
	conns atomic.Int64
}

func newCountingEcho(t *testing.T) *countingEcho {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	o := &countingEcho{addr: ln.Addr().(*net.TCPAddr)}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			o.conns.Add(1)
			go func() {
				defer c.Close()
				buf := make([]byte, 32<<10)
				for {
					n, err := c.Read(buf)
					if n > 0 {
						o.bytes.Add(int64(n))
						if _, werr := c.Write(buf[:n]); werr != nil {
							return
						}
					}
					if err != nil {
						return
					}
				}
			}()
		}
	}()
	return o
}

// TestDataplaneNetns: with a routed, non-loopback pool, a client in
// another network namespace connects to the instance's address over a
// veth link; the connection is forwarded to the origin on the host, which
// receives every byte, and the answer comes back whole; the bytes show in
// DescribePortFlowList.
func TestDataplaneNetns(t *testing.T) {
	lab := newNetnsLab(t)
	s := dataplaneServer(t, lab.Pool)
	origin := newCountingEcho(t)
	in := createSingle(t, s, admin.InstancesRequest{ExpireIn: "720h"})
	if !strings.HasPrefix(in.Ip, strings.TrimSuffix(lab.Pool, "0/24")) {
		t.Fatalf("instance IP %s is not in the pool %s", in.Ip, lab.Pool)
	}
	c := SDKv3(t, s, testKeyID, testKeySecret)
	if _, err := c.CreatePort((&ddoscoov3.CreatePortRequest{}).SetInstanceId(in.InstanceId).SetFrontendProtocol("tcp").SetFrontendPort("7000").
		SetBackendPort(strconv.Itoa(origin.addr.Port)).SetRealServers(tea.StringSlice([]string{"127.0.0.1"}))); err != nil {
		t.Fatalf("CreatePort: %v", err)
	}
	front := net.JoinHostPort(in.Ip, "7000")

	// The listener comes up within the plane's poll; until then the
	// instance address refuses.
	var conn net.Conn
	var dialErr error
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("last dial error: %v\nmoat's log:\n%s", dialErr, s.Logs())
		}
	})
	eventually(t, 3*time.Second, "a client in the namespace connects to "+front, func() bool {
		conn, dialErr = lab.dial(front, time.Second)
		return dialErr == nil
	})
	defer conn.Close()
	if la := conn.LocalAddr().(*net.TCPAddr); la.IP.String() != lab.NSIP {
		t.Fatalf("the client's address is %s, want the namespace's %s: the connection did not cross the veth link", la.IP, lab.NSIP)
	}

	const size = 256 << 10
	msg := make([]byte, size)
	rand.Read(msg)
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	werr := make(chan error, 1)
	go func() {
		_, err := conn.Write(msg)
		if err == nil {
			err = conn.(*net.TCPConn).CloseWrite()
		}
		werr <- err
	}()
	got, err := io.ReadAll(conn)
	if err != nil {
		t.Fatalf("read the echo: %v", err)
	}
	if err := <-werr; err != nil {
		t.Fatalf("write: %v", err)
	}
	if !bytes.Equal(got, msg) {
		t.Fatalf("echo of %d bytes came back as %d different bytes", size, len(got))
	}
	if n := origin.bytes.Load(); n != size {
		t.Fatalf("the origin received %d bytes, want %d", n, size)
	}
	if n := origin.conns.Load(); n != 1 {
		t.Fatalf("the origin saw %d connections, want 1", n)
	}

	// The forwarded bytes are counted for the instance.
	now := serverNow(t, s).Truncate(time.Minute)
	from, to := now.Add(-5*time.Minute), now.Add(5*time.Minute)
	eventually(t, 5*time.Second, "DescribePortFlowList counts the bytes that crossed the namespace", func() bool {
		r, err := c.DescribePortFlowList((&ddoscoov3.DescribePortFlowListRequest{}).SetInstanceIds(tea.StringSlice([]string{in.InstanceId})).
			SetStartTime(from.Unix()).SetEndTime(to.Unix()).SetInterval(600))
		if err != nil {
			t.Fatalf("DescribePortFlowList: %v", err)
		}
		var in, out int64
		for _, p := range r.Body.PortFlowList {
			in += tea.Int64Value(p.InBps)
			out += tea.Int64Value(p.OutBps)
		}
		// One point of 600 s: 8 bits per byte, rounded up.
		want := (8*size + 599) / 600
		return in == int64(want) && out == int64(want)
	})
}
