package dataplane

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"moat/internal/moat"
)

// NodataReporter is implemented by a GuardedConn that wants to know when
// the forwarder closes its connection for sending nothing (NodataConn).
type NodataReporter interface {
	Nodata(now time.Time)
}

// acceptLoop serves a TCP listener until it is closed.
func (r *rule) acceptLoop(ln *net.TCPListener) {
	var delay time.Duration
	for {
		c, err := ln.AcceptTCP()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of descriptors or a similar passing failure: back off.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			time.Sleep(delay)
			continue
		}
		delay = 0
		r.accept(c)
	}
}

// refuse closes a connection at once with a reset.
func refuse(c *net.TCPConn) {
	c.SetLinger(0)
	c.Close()
}

// accept decides on a new connection and, when admitted, forwards it on
// its own goroutine.
func (r *rule) accept(c *net.TCPConn) {
	v := r.view.Load()
	if v.state == moat.TrafficStopped {
		r.stats.dropped.Add(1)
		refuse(c)
		return
	}
	src := addrPort(c.RemoteAddr())
	gc, ok := r.guard.Conn(src.Addr(), r.p.src.TrafficNow())
	if !ok {
		r.stats.dropped.Add(1)
		refuse(c)
		return
	}
	tc := &tconn{r: r, client: c, gc: gc, src: src}
	if !r.track(tc) {
		gc.Done()
		refuse(c)
		return
	}
	// A state change to stopped closes tracked connections; one tracked
	// after that sees the new state here.
	if r.view.Load().state == moat.TrafficStopped {
		tc.abort()
	}
	r.stats.newConns.Add(1)
	r.stats.open(1)
	r.p.goHandler(func() { tc.serve(v) })
}

func addrPort(a net.Addr) netip.AddrPort {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.AddrPort()
	}
	if ua, ok := a.(*net.UDPAddr); ok {
		return ua.AddrPort()
	}
	return netip.AddrPort{}
}

// tconn is one forwarded TCP connection.
type tconn struct {
	r      *rule
	client *net.TCPConn
	gc     GuardedConn
	src    netip.AddrPort

	mu     sync.Mutex
	origin *net.TCPConn
	closed bool
	done   chan struct{} // closed by abort
	// What was added to the rule's counters so far.
	inB, outB, inP, outP int64
	// The byte progress seen at the last flush (for active/inactive).
	seen int64
}

// serve dials an origin and relays both ways until both sides finished.
func (c *tconn) serve(v *ruleView) {
	r := c.r
	defer r.untrack(c)
	defer c.gc.Done()
	defer r.stats.open(-1)

	origin, o := c.dial(v)
	if origin == nil {
		c.finish(0, 0)
		return
	}
	defer r.bal.release(o)
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		origin.Close()
		c.finish(0, 0)
		return
	}
	c.origin = origin
	c.mu.Unlock()

	if r.p.cfg.ProxyProtocol {
		if _, err := origin.Write(proxyHeaderV2(c.src, netip.AddrPortFrom(v.ip, uint16(r.key.FrontendPort)))); err != nil {
			c.abort()
			c.finish(0, 0)
			return
		}
	}

	// The first direction to end half-closes its peer; at the end of the
	// second, finish closes both sockets at once, which sends the same FIN
	// without a shutdown(2) first.
	var ended atomic.Int32
	halfClose := func(w *net.TCPConn) {
		if ended.Add(1) == 1 {
			w.CloseWrite()
		}
	}
	outc := make(chan int64, 1)
	r.p.goHandler(func() {
		n, err := relay(c.client, origin, nil, time.Time{})
		if err != nil {
			c.abort()
		} else {
			halfClose(c.client)
		}
		outc <- n
	})
	in, err := c.upstream(v, origin)
	if err != nil {
		c.abort()
	} else {
		halfClose(origin)
	}
	out := <-outc
	c.finish(in, out)
}

// dial connects to an origin, trying up to dialAttempts distinct ones.
func (c *tconn) dial(v *ruleView) (*net.TCPConn, string) {
	r := c.r
	persist := time.Duration(v.rule.Config.PersistenceTimeout) * time.Second
	port := strconv.Itoa(v.rule.BackendPort)
	var tried []string
	for range dialAttempts {
		o, ok := r.bal.pick(c.src.Addr(), r.healthy, tried, persist, time.Now())
		if !ok {
			break
		}
		// No keep-alive probes towards origins (HAProxy's default too):
		// four setsockopt calls saved per connection; the client side
		// keeps its probes.
		d := net.Dialer{Timeout: DialTimeout, KeepAlive: -1}
		oc, err := d.Dial("tcp4", net.JoinHostPort(o, port))
		if err == nil {
			return oc.(*net.TCPConn), o
		}
		r.bal.release(o)
		tried = append(tried, o)
		if c.isClosed() {
			break
		}
	}
	if len(tried) > 0 {
		r.p.log.Debug("dataplane: no origin reachable", "instance", r.key.InstanceID, "port", r.key.FrontendPort, "tried", tried)
	}
	return nil, ""
}

func (c *tconn) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// upstream copies client to origin (see relay): spliced once bulk when
// nothing paces it, else read by read with the guard's pace before each
// write; with NodataConn the client's first bytes must come within the
// timeout.
func (c *tconn) upstream(v *ruleView, origin *net.TCPConn) (int64, error) {
	var firstBy time.Time
	if v.nodata() {
		firstBy = time.Now().Add(c.r.p.nodataTimeout)
	}
	var pace func(int) error
	if v.paced() {
		pace = func(n int) error { return c.pace(v, n) }
	}
	n, err := relay(origin, c.client, pace, firstBy)
	if n == 0 && errors.Is(err, os.ErrDeadlineExceeded) {
		c.r.stats.dropped.Add(1)
		if nr, ok := c.gc.(NodataReporter); ok {
			nr.Nodata(c.r.p.src.TrafficNow())
		}
	}
	return n, err
}

// pace waits as long as the guard asks before n bytes go on.
func (c *tconn) pace(v *ruleView, n int) error {
	if !v.paced() {
		return nil
	}
	d := c.gc.Pace(n, c.r.p.src.TrafficNow())
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-c.doneChan():
		return net.ErrClosed
	}
}

func (c *tconn) doneChan() chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done == nil {
		c.done = make(chan struct{})
		if c.closed {
			close(c.done)
		}
	}
	return c.done
}

// abort closes both sockets, counting their packets first.
func (c *tconn) abort() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closeLocked()
}

func (c *tconn) closeLocked() {
	if c.closed {
		return
	}
	c.progressLocked(false)
	c.closed = true
	if c.done != nil {
		close(c.done)
	}
	c.client.SetLinger(0)
	c.client.Close()
	if c.origin != nil {
		c.origin.Close()
	}
}

// finish closes the connection and settles its counters: the bytes the
// copies moved (in client to origin, out back), less what flushes
// already counted.
func (c *tconn) finish(in, out int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.closed {
		c.progressLocked(false)
		c.closed = true
		if c.done != nil {
			close(c.done)
		}
		c.client.Close()
		if c.origin != nil {
			c.origin.Close()
		}
	}
	st := &c.r.stats
	if d := in - c.inB; d > 0 {
		st.inB.Add(d)
		c.inB = in
	}
	if d := out - c.outB; d > 0 {
		st.outB.Add(d)
		c.outB = out
	}
}

// progressLocked adds to the rule's counters what the kernel counted of
// the open connection since the last call: packets to and from the
// client, and bytes received from either side; it reports whether any
// moved. When bytesToo is false only packets are taken (bytes are
// settled by finish).
func (c *tconn) progressLocked(bytesToo bool) bool {
	if c.closed {
		return false
	}
	st := &c.r.stats
	moved := false
	if ci, ok := tcpInfo(c.client); ok {
		if d := int64(ci.Data_segs_in) - c.inP; d > 0 {
			st.inP.Add(d)
			c.inP += d
		}
		if d := int64(ci.Data_segs_out) - c.outP; d > 0 {
			st.outP.Add(d)
			c.outP += d
		}
		if bytesToo {
			if d := payloadReceived(ci) - c.inB; d > 0 {
				st.inB.Add(d)
				c.inB += d
			}
		}
	}
	if bytesToo {
		if oi, ok := tcpInfo(c.origin); ok {
			if d := payloadReceived(oi) - c.outB; d > 0 {
				st.outB.Add(d)
				c.outB += d
			}
		}
		if p := c.inB + c.outB + c.inP + c.outP; p != c.seen {
			moved = true
			c.seen = p
		}
	}
	return moved
}

// flushProgress counts an open connection's progress; active says it
// moved data since the last flush.
func (c *tconn) flushProgress() (active bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.progressLocked(true)
}
