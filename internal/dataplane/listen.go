package dataplane

import (
	"context"
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// listenConfig binds with SO_REUSEPORT, so several edge processes on one
// host share an address (the kernel spreads connections and UDP flows
// across them), and with IP_FREEBIND when asked, so an address routed to
// the host but configured on no interface can be bound.
func listenConfig(freebind bool) *net.ListenConfig {
	return &net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
			if serr == nil && freebind {
				serr = unix.SetsockoptInt(int(fd), unix.SOL_IP, unix.IP_FREEBIND, 1)
			}
		})
		if err != nil {
			return err
		}
		return serr
	}}
}

func listenTCP(ctx context.Context, addr string, freebind bool) (*net.TCPListener, error) {
	ln, err := listenConfig(freebind).Listen(ctx, "tcp4", addr)
	if err != nil {
		return nil, err
	}
	return ln.(*net.TCPListener), nil
}

func listenUDP(ctx context.Context, addr string, freebind bool) (*net.UDPConn, error) {
	pc, err := listenConfig(freebind).ListenPacket(ctx, "udp4", addr)
	if err != nil {
		return nil, err
	}
	return pc.(*net.UDPConn), nil
}

// tcpInfo reads the kernel's counters of a connection; ok is false once
// the socket is closed.
func tcpInfo(c *net.TCPConn) (info *unix.TCPInfo, ok bool) {
	if c == nil {
		return nil, false
	}
	rc, err := c.SyscallConn()
	if err != nil {
		return nil, false
	}
	var gerr error
	if err := rc.Control(func(fd uintptr) {
		info, gerr = unix.GetsockoptTCPInfo(int(fd), unix.SOL_TCP, unix.TCP_INFO)
	}); err != nil || gerr != nil {
		return nil, false
	}
	return info, true
}
