package dataplane

import (
	"context"
	"net"
	"testing"

	"golang.org/x/sys/unix"
)

func TestListenTCPSocketsShareAPortAndAcceptedInheritKeepAlive(t *testing.T) {
	lns, err := listenTCP(context.Background(), "127.0.0.1:0", false, 3)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	if len(lns) != 3 {
		t.Fatalf("%d listeners, want 3", len(lns))
	}
	for _, ln := range lns[1:] {
		if ln.Addr().String() != lns[0].Addr().String() {
			t.Fatalf("listeners on %v and %v, want one address", lns[0].Addr(), ln.Addr())
		}
	}
	accepted := make(chan *net.TCPConn, 1)
	for _, ln := range lns {
		go func() {
			if c, err := ln.AcceptTCP(); err == nil {
				accepted <- c
			}
		}()
	}
	c, err := net.Dial("tcp4", lns[0].Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s := <-accepted
	defer s.Close()
	rc, err := s.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	want := map[[2]int]int{
		{unix.SOL_SOCKET, unix.SO_KEEPALIVE}:   1,
		{unix.IPPROTO_TCP, unix.TCP_KEEPIDLE}:  keepAliveIdle,
		{unix.IPPROTO_TCP, unix.TCP_KEEPINTVL}: keepAliveInterval,
		{unix.IPPROTO_TCP, unix.TCP_KEEPCNT}:   keepAliveCount,
	}
	rc.Control(func(fd uintptr) {
		for k, w := range want {
			if v, err := unix.GetsockoptInt(int(fd), k[0], k[1]); err != nil || v != w {
				t.Errorf("accepted socket option %v: %d (%v), want %d", k, v, err, w)
			}
		}
	})
}
