package l4

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"moat/internal/bench/loadgen"
)

// ioTimeout bounds every dial and every wait for an answer, so that no
// loop outlives its duration by more than this.
const ioTimeout = 3 * time.Second

// dialer dials addr, from src when it is valid (port chosen by the
// kernel).
func dialer(src netip.Addr) *net.Dialer {
	d := &net.Dialer{Timeout: ioTimeout}
	if src.IsValid() {
		d.LocalAddr = &net.TCPAddr{IP: src.AsSlice()}
	}
	return d
}

// errs keeps an error count and the first error's text.
type errs struct {
	n     atomic.Int64
	once  sync.Once
	first string
}

func (e *errs) add(err error) {
	e.n.Add(1)
	e.once.Do(func() { e.first = err.Error() })
}

// window waits out warm-up then duration (or ctx, or until done is
// closed: every worker has reached its count), calling mark at the start
// and at the end of the measured time; it returns the measured seconds.
// With no warm-up the caller marks the start itself, before its workers
// begin.
func window(ctx context.Context, warmup, d time.Duration, done <-chan struct{}, mark func(start bool)) (float64, error) {
	sleep := func(d time.Duration) error {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-done:
		case <-ctx.Done():
			return ctx.Err()
		}
		return nil
	}
	if warmup > 0 {
		if err := sleep(warmup); err != nil {
			return 0, err
		}
		mark(true)
	}
	t0 := time.Now()
	err := sleep(d)
	mark(false)
	return time.Since(t0).Seconds(), err
}

// waitChan is closed when wg's goroutines have all returned.
func waitChan(wg *sync.WaitGroup) <-chan struct{} {
	c := make(chan struct{})
	go func() {
		wg.Wait()
		close(c)
	}()
	return c
}

// ---- Bulk throughput ----

// BulkResult is a bulk download through Connections connections.
type BulkResult struct {
	Connections int
	Seconds     float64 // the measured window
	Bytes       int64   // received in the window
	MBPerSec    float64 // MiB/s
	Errors      int64
	FirstError  string `json:",omitempty"`
}

// Bulk opens conns connections to a bulk origin (or a proxy in front of
// it), asks each for at most maxBytes, and counts what arrives during
// d after warmup. The connections are closed at the end, cutting the
// downloads short.
func Bulk(ctx context.Context, addr string, conns int, warmup, d time.Duration, maxBytes int64) (*BulkResult, error) {
	res := &BulkResult{Connections: conns}
	var got atomic.Int64
	var e errs
	cs := make([]net.Conn, 0, conns)
	defer func() {
		for _, c := range cs {
			c.Close()
		}
	}()
	dl := dialer(netip.Addr{})
	for range conns {
		c, err := dl.DialContext(ctx, "tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("bulk: dial %s: %w", addr, err)
		}
		cs = append(cs, c)
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for _, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var hdr [8]byte
			binary.BigEndian.PutUint64(hdr[:], uint64(maxBytes))
			if _, err := c.Write(hdr[:]); err != nil {
				e.add(err)
				return
			}
			buf := make([]byte, bulkChunk)
			for {
				n, err := c.Read(buf)
				got.Add(int64(n))
				if err != nil {
					select {
					case <-stop:
					default:
						if !errors.Is(err, io.EOF) {
							e.add(err)
						}
					}
					return
				}
			}
		}()
	}
	var from, to int64
	secs, err := window(ctx, warmup, d, waitChan(&wg), func(start bool) {
		if start {
			from = got.Load()
		} else {
			to = got.Load()
		}
	})
	close(stop)
	for _, c := range cs {
		c.Close()
	}
	wg.Wait()
	res.Seconds = loadgen.Round3(secs)
	res.Bytes = to - from
	if secs > 0 {
		res.MBPerSec = loadgen.Round1(float64(res.Bytes) / secs / (1 << 20))
	}
	res.Errors, res.FirstError = e.n.Load(), e.first
	return res, err
}

// ---- Short connections ----

// ShortResult counts short connections: connect, send a byte, read the
// answer and the close. Answered connections got the origin's byte;
// refused ones were closed or reset with no answer (what a proxy does
// to a connection it will not forward); errors are failed dials and
// timeouts.
type ShortResult struct {
	Workers        int     `json:",omitempty"`
	Rate           float64 `json:",omitempty"` // the paced loops' schedule, connections/s
	Source         string  `json:",omitempty"`
	Seconds        float64
	Attempts       int64
	Answered       int64
	Refused        int64
	Errors         int64
	AnsweredPerSec float64
	AttemptsPerSec float64
	// Latency is connect to close of answered connections.
	Latency    *loadgen.Latency `json:",omitempty"`
	FirstError string           `json:",omitempty"`
}

// outcome of one short connection.
type outcome int

const (
	answered outcome = iota
	refused
	failed
)

// shortConn makes one short connection.
func shortConn(ctx context.Context, dl *net.Dialer, addr string) (outcome, error) {
	c, err := dl.DialContext(ctx, "tcp", addr)
	if errors.Is(err, syscall.ECONNRESET) {
		// Accepted and reset at once: a refusal.
		return refused, nil
	}
	if err != nil {
		return failed, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(ioTimeout))
	if _, err := c.Write([]byte{'x'}); err != nil {
		// The proxy closed it before the byte went out.
		return refused, nil
	}
	var buf [16]byte
	n := 0
	for {
		k, err := c.Read(buf[n:])
		n += k
		if err == nil && n < len(buf) {
			continue
		}
		var ne net.Error
		switch {
		case n > 0:
			return answered, nil
		case errors.As(err, &ne) && ne.Timeout():
			return failed, err
		default:
			// EOF or reset with no answer.
			return refused, nil
		}
	}
}

// shortTally counts short connections inside the measured window.
type shortTally struct {
	on                          atomic.Bool
	attempts, answered, refused atomic.Int64
	e                           errs
	mu                          sync.Mutex
	lat                         []loadgen.Samples
}

func (t *shortTally) record(o outcome, err error, took time.Duration, lat *loadgen.Samples) {
	if !t.on.Load() {
		return
	}
	t.attempts.Add(1)
	switch o {
	case answered:
		t.answered.Add(1)
		if lat != nil {
			*lat = append(*lat, took)
		}
	case refused:
		t.refused.Add(1)
	default:
		t.e.add(err)
	}
}

func (t *shortTally) result(secs float64) *ShortResult {
	r := &ShortResult{Seconds: loadgen.Round3(secs), Attempts: t.attempts.Load(), Answered: t.answered.Load(), Refused: t.refused.Load(),
		Errors: t.e.n.Load(), FirstError: t.e.first}
	if secs > 0 {
		r.AnsweredPerSec = loadgen.Round1(float64(r.Answered) / secs)
		r.AttemptsPerSec = loadgen.Round1(float64(r.Attempts) / secs)
	}
	if len(t.lat) > 0 {
		s := loadgen.Merge(t.lat...)
		if len(s) > 0 {
			l := s.Summary()
			r.Latency = &l
		}
	}
	return r
}

// ShortSpec is a closed loop of short connections.
type ShortSpec struct {
	Addr    string
	Source  netip.Addr // the local address to dial from; zero: any
	Workers int
	Warmup  time.Duration
	// Duration is the measured time; Max bounds the connections made in
	// all (warm-up included), 0: no bound but the time.
	Duration time.Duration
	Max      int64
}

// Short runs Workers workers, each making one short connection after
// another.
func Short(ctx context.Context, s ShortSpec) (*ShortResult, error) {
	var t shortTally
	t.on.Store(s.Warmup == 0)
	var made atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	dl := dialer(s.Source)
	for range s.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if s.Max > 0 && made.Add(1) > s.Max {
					return
				}
				o, err := shortConn(ctx, dl, s.Addr)
				t.record(o, err, 0, nil)
			}
		}()
	}
	secs, err := window(ctx, s.Warmup, s.Duration, waitChan(&wg), func(start bool) { t.on.Store(start) })
	close(stop)
	wg.Wait()
	r := t.result(secs)
	r.Workers = s.Workers
	if s.Source.IsValid() {
		r.Source = s.Source.String()
	}
	return r, err
}

// PacedSpec is an open loop: one short connection every 1/Rate seconds,
// each in its own goroutine, at most MaxInFlight at once (a start that
// finds them all busy counts as an error).
type PacedSpec struct {
	Addr        string
	Source      netip.Addr
	Rate        float64
	Duration    time.Duration
	MaxInFlight int
}

// Paced makes connections on schedule for Duration and then waits for
// the last ones (at most the dial and answer timeouts). Connections
// started in the window count, whenever they end.
func Paced(ctx context.Context, s PacedSpec) (*ShortResult, error) {
	if s.Rate <= 0 || s.Duration <= 0 {
		return nil, errors.New("paced: rate and duration must be positive")
	}
	maxIn := s.MaxInFlight
	if maxIn <= 0 {
		maxIn = 64
	}
	var t shortTally
	t.on.Store(true)
	sem := make(chan struct{}, maxIn)
	dl := dialer(s.Source)
	interval := time.Duration(float64(time.Second) / s.Rate)
	n := int64(s.Duration / interval)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var lat loadgen.Samples
	t0 := time.Now()
	var err error
	for i := range n {
		at := t0.Add(time.Duration(i) * interval)
		if d := time.Until(at); d > 0 {
			tm := time.NewTimer(d)
			select {
			case <-tm.C:
			case <-ctx.Done():
				tm.Stop()
				err = ctx.Err()
			}
			if err != nil {
				break
			}
		}
		select {
		case sem <- struct{}{}:
		default:
			t.record(failed, errors.New("paced: too many connections in flight"), 0, nil)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			start := time.Now()
			o, cerr := shortConn(ctx, dl, s.Addr)
			took := time.Since(start)
			mu.Lock()
			t.record(o, cerr, took, &lat)
			mu.Unlock()
		}()
	}
	secs := time.Since(t0).Seconds()
	if err == nil {
		secs = s.Duration.Seconds()
	}
	wg.Wait()
	t.lat = []loadgen.Samples{lat}
	r := t.result(secs)
	r.Rate = s.Rate
	if s.Source.IsValid() {
		r.Source = s.Source.String()
	}
	return r, err
}

// ---- Echo latency ----

// EchoResult is a one-byte ping-pong on Connections connections.
type EchoResult struct {
	Connections int
	Seconds     float64
	Pings       int64 // answered in the window
	PerSec      float64
	Latency     loadgen.Latency
	Errors      int64
	FirstError  string `json:",omitempty"`
}

// Echo opens conns connections to an echo origin (or a proxy in front of
// it); each sends one byte and waits for it, over and over, at most
// maxPings times per connection. Latencies of the pings that start in
// the window after warmup are kept, all of them, for exact percentiles.
func Echo(ctx context.Context, addr string, conns int, warmup, d time.Duration, maxPings int) (*EchoResult, error) {
	res := &EchoResult{Connections: conns}
	cs := make([]net.Conn, 0, conns)
	defer func() {
		for _, c := range cs {
			c.Close()
		}
	}()
	dl := dialer(netip.Addr{})
	for range conns {
		c, err := dl.DialContext(ctx, "tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("echo: dial %s: %w", addr, err)
		}
		cs = append(cs, c)
	}
	var on, stopped atomic.Bool
	on.Store(warmup == 0)
	var e errs
	parts := make([]loadgen.Samples, conns)
	var wg sync.WaitGroup
	for i, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := []byte{'p'}
			for range maxPings {
				if stopped.Load() {
					return
				}
				measured := on.Load()
				start := time.Now()
				c.SetDeadline(start.Add(ioTimeout))
				if _, err := c.Write(b); err != nil {
					e.add(err)
					return
				}
				if _, err := io.ReadFull(c, b); err != nil {
					if !stopped.Load() {
						e.add(err)
					}
					return
				}
				if measured && on.Load() {
					parts[i] = append(parts[i], time.Since(start))
				}
			}
		}()
	}
	secs, err := window(ctx, warmup, d, waitChan(&wg), func(start bool) { on.Store(start) })
	stopped.Store(true)
	wg.Wait()
	s := loadgen.Merge(parts...)
	res.Seconds = loadgen.Round3(secs)
	res.Pings = int64(len(s))
	if secs > 0 {
		res.PerSec = loadgen.Round1(float64(res.Pings) / secs)
	}
	res.Latency = s.Summary()
	res.Errors, res.FirstError = e.n.Load(), e.first
	return res, err
}

// ---- Idle connections ----

// Held is a set of open, idle connections.
type Held struct {
	Conns      []net.Conn
	Errors     int64
	FirstError string
}

// Close closes every held connection.
func (h *Held) Close() {
	for _, c := range h.Conns {
		c.Close()
	}
	h.Conns = nil
}

// Hold opens n connections to an echo origin (or a proxy in front of it)
// from the given sources in turn (none: any), dialling parallel at a
// time; each sends one byte and reads it back, so that it is established
// end to end, and then stays open and idle until Close.
func Hold(ctx context.Context, addr string, n, parallel int, sources []netip.Addr) (*Held, error) {
	h := &Held{Conns: make([]net.Conn, n)}
	var e errs
	var next atomic.Int64
	var wg sync.WaitGroup
	dls := []*net.Dialer{dialer(netip.Addr{})}
	if len(sources) > 0 {
		dls = dls[:0]
		for _, s := range sources {
			dls = append(dls, dialer(s))
		}
	}
	for range max(1, parallel) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := []byte{'i'}
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				c, err := dls[i%len(dls)].DialContext(ctx, "tcp", addr)
				if err != nil {
					e.add(err)
					continue
				}
				c.SetDeadline(time.Now().Add(ioTimeout))
				if _, err := c.Write(b); err == nil {
					_, err = io.ReadFull(c, b)
				}
				if err != nil {
					e.add(err)
					c.Close()
					continue
				}
				c.SetDeadline(time.Time{})
				h.Conns[i] = c
			}
		}()
	}
	wg.Wait()
	kept := h.Conns[:0]
	for _, c := range h.Conns {
		if c != nil {
			kept = append(kept, c)
		}
	}
	h.Conns = kept
	h.Errors, h.FirstError = e.n.Load(), e.first
	return h, ctx.Err()
}
