// Package l4 is the TCP side of the data-plane benchmark: the origin
// servers a proxy forwards to (bulk, echo, accept-then-close) and the
// load loops that drive a proxy in front of them (bulk throughput, short
// connections, echo latency, idle connections, paced and flooding
// sources). It knows nothing of moat or HAProxy: every loop takes the
// address to dial, so a test can aim it at an origin directly.
package l4

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
)

// OriginsReady is the prefix of the line the origin child prints when it
// listens; the three addresses follow as bulk=… echo=… close=….
const OriginsReady = "moat bench origins ready"

// Origins are the three origin servers.
//
//   - Bulk reads an 8-byte big-endian count N, then writes N bytes while
//     it reads and discards whatever else the client sends, and closes
//     once both directions are done.
//   - Echo writes back every byte it reads.
//   - Close reads one byte, answers one byte and closes: a short
//     connection whose answer proves it reached the origin.
type Origins struct {
	Bulk, Echo, Close net.Listener

	wg    sync.WaitGroup
	mu    sync.Mutex
	conns map[net.Conn]struct{}
	done  bool
}

// ListenOrigins listens on host at three kernel-chosen ports.
func ListenOrigins(host string) (*Origins, error) {
	o := &Origins{conns: map[net.Conn]struct{}{}}
	for _, ln := range []*net.Listener{&o.Bulk, &o.Echo, &o.Close} {
		l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
		if err != nil {
			o.Shutdown()
			return nil, fmt.Errorf("listen on %s: %w", host, err)
		}
		*ln = l
	}
	return o, nil
}

// ReadyLine is the line announcing the addresses (without newline).
func (o *Origins) ReadyLine() string {
	return fmt.Sprintf("%s bulk=%s echo=%s close=%s", OriginsReady, o.Bulk.Addr(), o.Echo.Addr(), o.Close.Addr())
}

// Start serves the three listeners until Shutdown.
func (o *Origins) Start() {
	for _, s := range []struct {
		ln    net.Listener
		serve func(net.Conn)
	}{{o.Bulk, serveBulk}, {o.Echo, serveEcho}, {o.Close, serveClose}} {
		o.wg.Add(1)
		go func() {
			defer o.wg.Done()
			o.accept(s.ln, s.serve)
		}()
	}
}

func (o *Origins) accept(ln net.Listener, serve func(net.Conn)) {
	for {
		c, err := ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors and the like: keep accepting.
			continue
		}
		if !o.track(c, true) {
			c.Close()
			return
		}
		o.wg.Add(1)
		go func() {
			defer o.wg.Done()
			defer o.track(c, false)
			defer c.Close()
			serve(c)
		}()
	}
}

// track adds or removes an open connection; it refuses new ones once
// shutting down.
func (o *Origins) track(c net.Conn, add bool) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !add {
		delete(o.conns, c)
		return true
	}
	if o.done {
		return false
	}
	o.conns[c] = struct{}{}
	return true
}

// Shutdown closes the listeners and every open connection, and waits for
// the handlers.
func (o *Origins) Shutdown() {
	for _, ln := range []net.Listener{o.Bulk, o.Echo, o.Close} {
		if ln != nil {
			ln.Close()
		}
	}
	o.mu.Lock()
	o.done = true
	for c := range o.conns {
		c.Close()
	}
	o.mu.Unlock()
	o.wg.Wait()
}

// Serve listens on host, prints the ready line to w, and serves until ctx
// ends.
func Serve(ctx context.Context, host string, w io.Writer) error {
	o, err := ListenOrigins(host)
	if err != nil {
		return err
	}
	o.Start()
	fmt.Fprintln(w, o.ReadyLine())
	<-ctx.Done()
	o.Shutdown()
	return nil
}

// bulkChunk is the block the bulk origin writes and the loops read.
const bulkChunk = 256 << 10

var zeros = make([]byte, bulkChunk)

func serveBulk(c net.Conn) {
	var hdr [8]byte
	if _, err := io.ReadFull(c, hdr[:]); err != nil {
		return
	}
	n := binary.BigEndian.Uint64(hdr[:])
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		io.Copy(io.Discard, c)
	}()
	for n > 0 {
		k := min(n, uint64(len(zeros)))
		if _, err := c.Write(zeros[:k]); err != nil {
			c.Close()
			break
		}
		n -= k
	}
	if tc, ok := c.(*net.TCPConn); ok {
		tc.CloseWrite()
	}
	<-drained
}

// serveEcho answers each read with its bytes. It reads into a small
// buffer of its own instead of io.Copy, which between TCP sockets
// splices through a pipe held while the connection is idle: two more
// descriptors per idle connection would exhaust the origin's limit.
func serveEcho(c net.Conn) {
	b := make([]byte, 4<<10)
	for {
		n, err := c.Read(b)
		if n > 0 {
			if _, werr := c.Write(b[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func serveClose(c net.Conn) {
	var b [1]byte
	if _, err := io.ReadFull(c, b[:]); err != nil {
		return
	}
	c.Write(b[:])
}
