package dataplane

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

// tcpPair is a connected pair of loopback TCP sockets.
func tcpPair(t *testing.T) (a, b *net.TCPConn) {
	t.Helper()
	ln, err := net.ListenTCP("tcp4", &net.TCPAddr{IP: net.IPv4(127, 94, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	a, err = net.DialTCP("tcp4", nil, ln.Addr().(*net.TCPAddr))
	if err != nil {
		t.Fatal(err)
	}
	b, err = ln.AcceptTCP()
	if err != nil {
		a.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

// pipes counts this process's open pipe descriptors.
func pipes(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	n := 0
	for _, e := range ents {
		if l, err := os.Readlink("/proc/self/fd/" + e.Name()); err == nil && strings.HasPrefix(l, "pipe:") {
			n++
		}
	}
	return n
}

type relayResult struct {
	n   int64
	err error
}

// startRelay relays from's peer to to's peer: writes to in arrive at out.
func startRelay(t *testing.T, pace func(int) error, firstBy time.Time) (in, out *net.TCPConn, done chan relayResult) {
	t.Helper()
	in, src := tcpPair(t)
	dst, out := tcpPair(t)
	done = make(chan relayResult, 1)
	go func() {
		n, err := relay(dst, src, pace, firstBy)
		dst.CloseWrite()
		done <- relayResult{n, err}
	}()
	return in, out, done
}

func waitRelay(t *testing.T, done chan relayResult) relayResult {
	t.Helper()
	select {
	case r := <-done:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("relay did not return")
		return relayResult{}
	}
}

func TestRelayIdleHoldsNoPipe(t *testing.T) {
	before := pipes(t)
	var ins, outs []*net.TCPConn
	for range 8 {
		in, out, _ := startRelay(t, nil, time.Time{})
		ins, outs = append(ins, in), append(outs, out)
	}
	// Each relay forwards a message and goes idle.
	b := make([]byte, 5)
	for i := range ins {
		if _, err := ins[i].Write([]byte("hello")); err != nil {
			t.Fatal(err)
		}
		outs[i].SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.ReadFull(outs[i], b); err != nil || string(b) != "hello" {
			t.Fatalf("relay %d: %q, %v", i, b, err)
		}
	}
	if after := pipes(t); after != before {
		t.Errorf("8 idle relays: %d pipe descriptors, before %d", after, before)
	}
}

func TestRelayBulkThenSmallThenEnd(t *testing.T) {
	in, out, done := startRelay(t, nil, time.Time{})
	data := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB: bulk
	tail := []byte("tail")
	go func() {
		in.Write(data)
		in.Write(tail)
		in.CloseWrite()
	}()
	out.SetReadDeadline(time.Now().Add(10 * time.Second))
	got, err := io.ReadAll(out)
	if err != nil {
		t.Fatal(err)
	}
	if want := append(append([]byte{}, data...), tail...); !bytes.Equal(got, want) {
		t.Fatalf("got %d bytes, want %d", len(got), len(want))
	}
	if r := waitRelay(t, done); r.err != nil || r.n != int64(len(data)+len(tail)) {
		t.Fatalf("relay: %d bytes, %v", r.n, r.err)
	}
}

func TestRelayPacedReadsEachChunk(t *testing.T) {
	var paced int
	in, out, done := startRelay(t, func(n int) error { paced += n; return nil }, time.Time{})
	data := bytes.Repeat([]byte("x"), 256<<10)
	go func() {
		in.Write(data)
		in.CloseWrite()
	}()
	out.SetReadDeadline(time.Now().Add(10 * time.Second))
	got, err := io.ReadAll(out)
	if err != nil || len(got) != len(data) {
		t.Fatalf("got %d bytes, %v", len(got), err)
	}
	r := waitRelay(t, done)
	if r.err != nil || r.n != int64(len(data)) || paced != len(data) {
		t.Fatalf("relay: %d bytes, %v; paced %d", r.n, r.err, paced)
	}
}

func TestRelayPaceErrorStops(t *testing.T) {
	stop := errors.New("stop")
	in, _, done := startRelay(t, func(int) error { return stop }, time.Time{})
	in.Write([]byte("x"))
	if r := waitRelay(t, done); !errors.Is(r.err, stop) || r.n != 0 {
		t.Fatalf("relay: %d bytes, %v", r.n, r.err)
	}
}

func TestRelayFirstBytesDeadline(t *testing.T) {
	_, _, done := startRelay(t, nil, time.Now().Add(50*time.Millisecond))
	if r := waitRelay(t, done); !errors.Is(r.err, os.ErrDeadlineExceeded) || r.n != 0 {
		t.Fatalf("relay of a silent client: %d bytes, %v", r.n, r.err)
	}

	// Bytes in time clear the deadline for the rest of the connection.
	firstBy := time.Now().Add(time.Second)
	in, out, done := startRelay(t, nil, firstBy)
	in.Write([]byte("a"))
	b := make([]byte, 1)
	out.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(out, b); err != nil {
		t.Fatal(err)
	}
	// A deadline still set would end the relay at firstBy, before this
	// write.
	time.Sleep(time.Until(firstBy.Add(200 * time.Millisecond)))
	select {
	case r := <-done:
		t.Fatalf("relay ended after its first bytes: %d, %v", r.n, r.err)
	default:
	}
	in.Write([]byte("b"))
	if _, err := io.ReadFull(out, b); err != nil || b[0] != 'b' {
		t.Fatalf("after the deadline: %q, %v", b, err)
	}
	in.CloseWrite()
	if r := waitRelay(t, done); r.err != nil || r.n != 2 {
		t.Fatalf("relay: %d bytes, %v", r.n, r.err)
	}
}

func TestRelayEndsWhenSourceCloses(t *testing.T) {
	_, src := tcpPair(t)
	dst, _ := tcpPair(t)
	done := make(chan relayResult, 1)
	go func() {
		n, err := relay(dst, src, nil, time.Time{})
		done <- relayResult{n, err}
	}()
	// Closing the relay's own socket (as abort does) ends an idle wait,
	// or the relay finds it closed at once.
	src.Close()
	if r := waitRelay(t, done); r.err == nil {
		t.Fatalf("relay of a closed socket: %d bytes, no error", r.n)
	}
}
