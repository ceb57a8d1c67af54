package dataplane

import (
	"context"
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// Keep-alive probes of accepted connections (Go's defaults): set once on
// the listening socket, whose accepted sockets inherit them, instead of
// four setsockopt calls for each connection.
const (
	keepAliveIdle     = 15 // seconds
	keepAliveInterval = 15 // seconds
	keepAliveCount    = 9
)

// acceptors is how many listening sockets a TCP rule opens on its port,
// each with its own accept loop (the kernel spreads new connections
// across them, SO_REUSEPORT). One: on a 2-CPU host, one per CPU measured
// no faster for short connections.
func acceptors() int { return 1 }

// listenConfig binds with SO_REUSEPORT, so several edge processes on one
// host share an address (the kernel spreads connections and UDP flows
// across them), and with IP_FREEBIND when asked, so an address routed to
// the host but configured on no interface can be bound.
func listenConfig(freebind, keepAlive bool) *net.ListenConfig {
	lc := &net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			opts := [][3]int{{unix.SOL_SOCKET, unix.SO_REUSEPORT, 1}}
			if freebind {
				opts = append(opts, [3]int{unix.SOL_IP, unix.IP_FREEBIND, 1})
			}
			if keepAlive {
				opts = append(opts, [3]int{unix.SOL_SOCKET, unix.SO_KEEPALIVE, 1},
					[3]int{unix.IPPROTO_TCP, unix.TCP_KEEPIDLE, keepAliveIdle},
					[3]int{unix.IPPROTO_TCP, unix.TCP_KEEPINTVL, keepAliveInterval},
					[3]int{unix.IPPROTO_TCP, unix.TCP_KEEPCNT, keepAliveCount})
			}
			for _, o := range opts {
				if serr = unix.SetsockoptInt(int(fd), o[0], o[1], o[2]); serr != nil {
					return
				}
			}
		})
		if err != nil {
			return err
		}
		return serr
	}}
	if keepAlive {
		// Accepted sockets inherit the listener's settings.
		lc.KeepAlive = -1
	}
	return lc
}

// listenTCP opens n listening sockets on addr (n ≥ 1); the others bind
// the first one's address, so a port 0 is the same for all.
func listenTCP(ctx context.Context, addr string, freebind bool, n int) ([]*net.TCPListener, error) {
	lc := listenConfig(freebind, true)
	var lns []*net.TCPListener
	for i := range max(n, 1) {
		if i == 1 {
			addr = lns[0].Addr().String()
		}
		ln, err := lc.Listen(ctx, "tcp4", addr)
		if err != nil {
			for _, l := range lns {
				l.Close()
			}
			return nil, err
		}
		lns = append(lns, ln.(*net.TCPListener))
	}
	return lns, nil
}

func listenUDP(ctx context.Context, addr string, freebind bool) (*net.UDPConn, error) {
	pc, err := listenConfig(freebind, false).ListenPacket(ctx, "udp4", addr)
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

// TCP states (tcpi_state) in which the peer's FIN has arrived.
const (
	tcpTimeWait  = 6
	tcpCloseWait = 8
	tcpLastAck   = 9
	tcpClosing   = 11
)

// payloadReceived is the payload bytes a socket received: the kernel's
// count (tcpi_bytes_received) advances by one for the peer's FIN, which
// carries no payload.
func payloadReceived(i *unix.TCPInfo) int64 {
	n := int64(i.Bytes_received)
	switch i.State {
	case tcpTimeWait, tcpCloseWait, tcpLastAck, tcpClosing:
		if n > 0 {
			n--
		}
	}
	return n
}
