package dataplane

import (
	"bytes"
	"io"
	"net"
	"runtime"
	"sync"
	"testing"
	"time"

	"moat/internal/moat"
)

// TestTCPOriginEndsFirstThenClient: the origin answers and half-closes
// before the client has sent anything; the client reads the answer and
// EOF, then sends and half-closes. The origin gets those bytes and a clean
// EOF (the second direction to end closes its sockets instead of a
// shutdown, which must still deliver a FIN, not a reset).
func TestTCPOriginEndsFirstThenClient(t *testing.T) {
	const n = 18
	ln, err := net.Listen("tcp4", originAddr(n, 1))
	if err != nil {
		t.Fatalf("origin: %v", err)
	}
	type result struct {
		got []byte
		err error
	}
	res := make(chan result, 1)
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := c.Write([]byte("hello")); err != nil {
			res <- result{err: err}
			return
		}
		c.(*net.TCPConn).CloseWrite()
		got, err := io.ReadAll(c)
		res <- result{got, err}
	}()

	src := &fakeSource{}
	src.set(edge(src, n, tcpRule(n, 1)))
	startPlane(t, src, nil)

	c := dialFront(t, n, 2)
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	got, err := io.ReadAll(c)
	if err != nil || string(got) != "hello" {
		t.Fatalf("client read %q, %v; want hello then EOF", got, err)
	}
	data := bytes.Repeat([]byte("late "), 20_000)
	if _, err := c.Write(data); err != nil {
		t.Fatalf("client write after the origin's EOF: %v", err)
	}
	c.CloseWrite()
	r := <-res
	if r.err != nil || !bytes.Equal(r.got, data) {
		t.Fatalf("origin read %d bytes, %v; want %d bytes then EOF", len(r.got), r.err, len(data))
	}
	k := moat.PortKey{InstanceID: edge(src, n).ID, Protocol: moat.ProtocolTCP, FrontendPort: frontPort}
	waitFor(t, "the connection's bytes counted", func() bool {
		tot := src.totals(k)
		return tot.InBytes == int64(len(data)) && tot.OutBytes == 5
	})
}

// TestHandlersReuseAndEnd: more tasks at once than idle handler
// goroutines all run; Run waits for them; once Run returned, idle handler
// goroutines end.
func TestHandlersReuseAndEnd(t *testing.T) {
	base := runtime.NumGoroutine()
	src := &fakeSource{}
	p, stop := startPlane(t, src, nil)

	const tasks = 20
	var ran sync.WaitGroup
	release := make(chan struct{})
	for round := range 3 {
		ran.Add(tasks)
		for range tasks {
			p.goHandler(func() {
				ran.Done()
				if round == 2 {
					<-release
				}
			})
		}
		ran.Wait()
	}

	// Run is blocked on the last round's handlers until they finish.
	stopped := make(chan struct{})
	go func() { stop(); close(stopped) }()
	select {
	case <-stopped:
		t.Fatalf("Run returned while handlers were running")
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatalf("Run did not return after its handlers ended")
	}
	waitFor(t, "idle handler goroutines ended", func() bool {
		return runtime.NumGoroutine() <= base
	})
}
