package l4

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func startOrigins(t *testing.T) *Origins {
	t.Helper()
	o, err := ListenOrigins("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	o.Start()
	t.Cleanup(o.Shutdown)
	return o
}

func TestReadyLineNamesTheThreeAddresses(t *testing.T) {
	o := startOrigins(t)
	line := o.ReadyLine()
	for _, want := range []string{OriginsReady, "bulk=" + o.Bulk.Addr().String(), "echo=" + o.Echo.Addr().String(), "close=" + o.Close.Addr().String()} {
		if !strings.Contains(line, want) {
			t.Errorf("ready line %q lacks %q", line, want)
		}
	}
}

func TestBulkCountsWhatArrivesAndStopsAtMaxBytes(t *testing.T) {
	o := startOrigins(t)
	ctx := context.Background()
	res, err := Bulk(ctx, o.Bulk.Addr().String(), 2, 0, 200*time.Millisecond, 1<<40)
	if err != nil {
		t.Fatal(err)
	}
	if res.Bytes <= 0 || res.MBPerSec <= 0 || res.Errors != 0 {
		t.Errorf("flat-out bulk: %+v, want bytes and no errors", res)
	}
	// A bounded download: at most 2 x 1000 bytes can arrive.
	res, err = Bulk(ctx, o.Bulk.Addr().String(), 2, 0, 100*time.Millisecond, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if res.Bytes > 2000 {
		t.Errorf("bounded bulk received %d bytes, want at most 2000", res.Bytes)
	}
}

func TestShortAnswersAndRefusals(t *testing.T) {
	o := startOrigins(t)
	ctx := context.Background()
	res, err := Short(ctx, ShortSpec{Addr: o.Close.Addr().String(), Workers: 2, Duration: 200 * time.Millisecond, Max: 200})
	if err != nil {
		t.Fatal(err)
	}
	if res.Answered == 0 || res.Refused != 0 || res.Errors != 0 || res.Attempts > 200 {
		t.Errorf("short connections to the close origin: %+v", res)
	}
	// A listener that closes every connection at once refuses them all.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	res, err = Short(ctx, ShortSpec{Addr: ln.Addr().String(), Workers: 2, Duration: 200 * time.Millisecond, Max: 100})
	if err != nil {
		t.Fatal(err)
	}
	if res.Answered != 0 || res.Refused == 0 {
		t.Errorf("short connections to a closing listener: %+v, want all refused", res)
	}
}

func TestShortDialsFromTheSource(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	seen := make(chan string, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		seen <- c.RemoteAddr().(*net.TCPAddr).IP.String()
		var b [1]byte
		c.Read(b[:])
		c.Write(b[:])
		c.Close()
	}()
	res, err := Short(context.Background(), ShortSpec{Addr: ln.Addr().String(), Source: netip.MustParseAddr("127.0.0.7"), Workers: 1, Duration: time.Second, Max: 1})
	if err != nil {
		t.Fatal(err)
	}
	if got := <-seen; got != "127.0.0.7" {
		t.Errorf("connection came from %s, want 127.0.0.7", got)
	}
	if res.Answered != 1 || res.Source != "127.0.0.7" {
		t.Errorf("result %+v, want 1 answered from 127.0.0.7", res)
	}
}

func TestPacedKeepsToItsSchedule(t *testing.T) {
	o := startOrigins(t)
	res, err := Paced(context.Background(), PacedSpec{Addr: o.Close.Addr().String(), Source: netip.MustParseAddr("127.0.0.3"), Rate: 50, Duration: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	// 200 ms at 50/s is exactly 10 starts.
	if res.Attempts != 10 || res.Answered != 10 || res.Latency == nil {
		t.Errorf("paced: %+v, want 10 attempts, all answered, with latencies", res)
	}
}

func TestEchoKeepsEveryLatency(t *testing.T) {
	o := startOrigins(t)
	res, err := Echo(context.Background(), o.Echo.Addr().String(), 2, 0, 5*time.Second, 50)
	if err != nil {
		t.Fatal(err)
	}
	// Each connection stops after 50 pings, well inside the window.
	if res.Pings != 100 || res.Errors != 0 || res.Latency.P99Ms <= 0 || res.Latency.P50Ms > res.Latency.P99Ms {
		t.Errorf("echo: %+v, want 100 pings with ordered percentiles", res)
	}
}

func TestHoldKeepsConnectionsOpen(t *testing.T) {
	o := startOrigins(t)
	srcs := []netip.Addr{netip.MustParseAddr("127.0.0.4"), netip.MustParseAddr("127.0.0.5")}
	h, err := Hold(context.Background(), o.Echo.Addr().String(), 50, 8, srcs)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if len(h.Conns) != 50 || h.Errors != 0 {
		t.Fatalf("held %d connections, %d errors (%s); want 50", len(h.Conns), h.Errors, h.FirstError)
	}
	// Still open end to end.
	c := h.Conns[49]
	c.SetDeadline(time.Now().Add(5 * time.Second))
	b := []byte{'z'}
	if _, err := c.Write(b); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Read(b); err != nil || b[0] != 'z' {
		t.Fatalf("echo on a held connection: %q, %v", b, err)
	}
	if ip := c.LocalAddr().(*net.TCPAddr).IP.String(); ip != "127.0.0.5" {
		t.Errorf("connection 49 is from %s, want 127.0.0.5", ip)
	}
}
