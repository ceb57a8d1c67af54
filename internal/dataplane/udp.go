package dataplane

import (
	"errors"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"moat/internal/moat"
)

// udpServer is a rule's UDP socket and its per-source sessions. Each
// session is a UDP socket connected to the origin chosen for the source;
// the origin's answers go back from the rule's socket, so from the
// instance's address and port.
type udpServer struct {
	r  *rule
	pc *net.UDPConn

	mu       sync.Mutex
	sessions map[netip.AddrPort]*usession
	closed   bool
	loopDone atomic.Bool
}

type usession struct {
	u      *udpServer
	client netip.AddrPort
	origin string
	conn   *net.UDPConn
	last   atomic.Int64 // UnixNano of the last datagram either way
	closed atomic.Bool

	moved atomic.Bool // moved a datagram since the last flush

	guarded GuardedConn // the session's slot in the guard's connection limits
}

func newUDPServer(r *rule, pc *net.UDPConn) *udpServer {
	return &udpServer{r: r, pc: pc, sessions: map[netip.AddrPort]*usession{}}
}

// readLoop takes client datagrams until the socket is closed.
func (u *udpServer) readLoop() {
	defer u.loopDone.Store(true)
	buf := make([]byte, 64<<10)
	r := u.r
	for {
		n, src, err := u.pc.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		src = netip.AddrPortFrom(src.Addr().Unmap(), src.Port())
		v := r.view.Load()
		if v.state == moat.TrafficStopped {
			r.stats.dropped.Add(1)
			continue
		}
		u.mu.Lock()
		s := u.sessions[src]
		u.mu.Unlock()
		now := r.p.src.TrafficNow()
		if !r.guard.Datagram(src, n, now) {
			r.stats.dropped.Add(1)
			continue
		}
		if s == nil {
			gc, ok := r.guard.Session(src, now)
			if !ok {
				r.stats.dropped.Add(1)
				continue
			}
			if s = u.open(v, src, gc); s == nil {
				r.stats.dropped.Add(1)
				continue
			}
		}
		s.last.Store(time.Now().UnixNano())
		s.moved.Store(true)
		if _, err := s.conn.Write(buf[:n]); err != nil {
			r.stats.dropped.Add(1)
			continue
		}
		r.stats.inB.Add(int64(n))
		r.stats.inP.Add(1)
	}
}

// open starts a session for src toward an origin; the session holds gc
// (given back when it ends, or at once when it cannot start).
func (u *udpServer) open(v *ruleView, src netip.AddrPort, gc GuardedConn) *usession {
	r := u.r
	persist := time.Duration(v.rule.Config.PersistenceTimeout) * time.Second
	o, ok := r.bal.pick(src.Addr(), r.healthy, nil, persist, time.Now())
	if !ok {
		gc.Done()
		return nil
	}
	raddr, err := net.ResolveUDPAddr("udp4", net.JoinHostPort(o, strconv.Itoa(v.rule.BackendPort)))
	if err != nil {
		r.bal.release(o)
		gc.Done()
		return nil
	}
	conn, err := net.DialUDP("udp4", nil, raddr)
	if err != nil {
		r.bal.release(o)
		gc.Done()
		return nil
	}
	s := &usession{u: u, client: src, origin: o, conn: conn, guarded: gc}
	s.last.Store(time.Now().UnixNano())
	u.mu.Lock()
	if u.closed {
		u.mu.Unlock()
		conn.Close()
		r.bal.release(o)
		gc.Done()
		return nil
	}
	u.sessions[src] = s
	u.mu.Unlock()
	r.live.Add(1)
	r.stats.newConns.Add(1)
	r.stats.open(1)
	r.p.goHandler(s.answerLoop)
	// A change to stopped closes the sessions it finds; one added after
	// that sees the new state here.
	if r.view.Load().state == moat.TrafficStopped {
		s.close()
		return nil
	}
	return s
}

// answerLoop relays the origin's answers to the client until the session
// is closed or idle for the idle timeout.
func (s *usession) answerLoop() {
	u, r := s.u, s.u.r
	defer r.live.Add(-1)
	defer s.end()
	buf := make([]byte, 64<<10)
	idle := r.p.udpIdle
	for {
		s.conn.SetReadDeadline(time.Unix(0, s.last.Load()).Add(idle))
		n, err := s.conn.Read(buf)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				if time.Since(time.Unix(0, s.last.Load())) >= idle {
					return
				}
				continue
			}
			if s.closed.Load() || errors.Is(err, net.ErrClosed) {
				return
			}
			// An ICMP error from the origin (port unreachable): keep on.
			continue
		}
		if r.view.Load().state == moat.TrafficStopped {
			return
		}
		if _, err := u.pc.WriteToUDPAddrPort(buf[:n], s.client); err != nil {
			continue
		}
		s.last.Store(time.Now().UnixNano())
		s.moved.Store(true)
		r.stats.outB.Add(int64(n))
		r.stats.outP.Add(1)
	}
}

// end closes the session and forgets it.
func (s *usession) end() {
	u, r := s.u, s.u.r
	u.mu.Lock()
	if u.sessions[s.client] == s {
		delete(u.sessions, s.client)
	}
	u.mu.Unlock()
	s.close()
	r.bal.release(s.origin)
	r.stats.open(-1)
	s.guarded.Done()
}

func (s *usession) close() {
	if s.closed.CompareAndSwap(false, true) {
		s.conn.Close()
	}
}

// closeSessions closes every session.
func (u *udpServer) closeSessions() {
	u.mu.Lock()
	for k, s := range u.sessions {
		delete(u.sessions, k)
		s.close()
	}
	u.mu.Unlock()
}

// close closes the socket and every session.
func (u *udpServer) close() {
	u.mu.Lock()
	u.closed = true
	u.mu.Unlock()
	u.pc.Close()
	u.closeSessions()
}

// done reports whether the read loop has ended.
func (u *udpServer) done() bool { return u.loopDone.Load() }

// flushProgress reports how many sessions moved data since the last
// flush and how many did not.
func (u *udpServer) flushProgress() (active, inactive int64) {
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, s := range u.sessions {
		if s.moved.Swap(false) {
			active++
		} else {
			inactive++
		}
	}
	return
}
