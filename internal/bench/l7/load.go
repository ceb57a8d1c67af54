package l7

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"moat/internal/bench/loadgen"
)

// ioTimeout bounds every dial, handshake and wait for an answer, so that
// no loop outlives its duration by more than this.
const ioTimeout = 3 * time.Second

// Target is what a load talks to.
type Target struct {
	Addr string // host:port to dial
	// Host is the Host header and, over TLS, the SNI.
	Host string
	TLS  bool
	// Sources are the local addresses the connections are dialled from,
	// in turn (port chosen by the kernel); none: any.
	Sources []netip.Addr
}

// ClientTLS is the loads' TLS: 1.3 only, X25519 key exchange (what both
// Go and OpenSSL 3.0 servers pick first), no session tickets, so every
// connection makes a full handshake. The loads do not verify the
// certificate, to spend less CPU beside the proxy under test; Check does.
func ClientTLS(host string) *tls.Config {
	return &tls.Config{
		ServerName:             host,
		InsecureSkipVerify:     true,
		MinVersion:             tls.VersionTLS13,
		MaxVersion:             tls.VersionTLS13,
		CurvePreferences:       []tls.CurveID{tls.X25519},
		SessionTicketsDisabled: true,
	}
}

// conn is one client connection with its reader.
type conn struct {
	net.Conn
	br *bufio.Reader
}

// dial opens connection number i (its source is Sources[i mod n]) and,
// over TLS, completes the handshake.
func (t Target) dial(ctx context.Context, i int, tc *tls.Config) (*conn, error) {
	d := &net.Dialer{Timeout: ioTimeout}
	if len(t.Sources) > 0 {
		d.LocalAddr = &net.TCPAddr{IP: t.Sources[i%len(t.Sources)].AsSlice()}
	}
	c, err := d.DialContext(ctx, "tcp", t.Addr)
	if err != nil {
		return nil, err
	}
	if t.TLS {
		if tc == nil {
			tc = ClientTLS(t.Host)
		}
		s := tls.Client(c, tc)
		hctx, cancel := context.WithTimeout(ctx, ioTimeout)
		err := s.HandshakeContext(hctx)
		cancel()
		if err != nil {
			c.Close()
			return nil, err
		}
		c = s
	}
	return &conn{Conn: c, br: bufio.NewReaderSize(c, 4<<10)}, nil
}

// request is a GET of / for host; with closing, asking the server to
// close the connection after the answer.
func request(host string, closing bool) []byte {
	s := "GET / HTTP/1.1\r\nHost: " + host + "\r\nUser-Agent: moat-bench\r\n"
	if closing {
		s += "Connection: close\r\n"
	}
	return []byte(s + "\r\n")
}

// roundTrip writes req and reads one answer, discarding its body; keep
// is false when the connection cannot carry another request.
func (c *conn) roundTrip(req []byte) (status int, keep bool, err error) {
	c.SetDeadline(time.Now().Add(ioTimeout))
	if _, err := c.Write(req); err != nil {
		return 0, false, err
	}
	return readAnswer(c.br)
}

var (
	hdrContentLength = []byte("content-length:")
	hdrConnection    = []byte("connection:")
	hdrTransferEnc   = []byte("transfer-encoding:")
)

// readAnswer reads an HTTP/1.1 answer: the status line, the headers, and
// the body by Content-Length, chunks, or up to the close.
func readAnswer(br *bufio.Reader) (status int, keep bool, err error) {
	line, err := br.ReadSlice('\n')
	if err != nil {
		return 0, false, err
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return 0, false, fmt.Errorf("not an HTTP/1 status line: %q", line)
	}
	status, err = strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, false, fmt.Errorf("status line %q: %w", line, err)
	}
	keep = line[7] == '1'
	length, chunked := int64(-1), false
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return status, false, err
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			break
		}
		lower := bytes.ToLower(line)
		switch {
		case bytes.HasPrefix(lower, hdrContentLength):
			length, err = strconv.ParseInt(string(bytes.TrimSpace(line[len(hdrContentLength):])), 10, 64)
			if err != nil {
				return status, false, fmt.Errorf("Content-Length %q: %w", line, err)
			}
		case bytes.HasPrefix(lower, hdrConnection):
			if bytes.Contains(lower, []byte("close")) {
				keep = false
			}
		case bytes.HasPrefix(lower, hdrTransferEnc):
			chunked = bytes.Contains(lower, []byte("chunked"))
		}
	}
	switch {
	case status == http.StatusNoContent || status == http.StatusNotModified || status < 200:
	case chunked:
		if err := discardChunks(br); err != nil {
			return status, false, err
		}
	case length >= 0:
		if _, err := br.Discard(int(length)); err != nil {
			return status, false, err
		}
	default:
		if _, err := io.Copy(io.Discard, br); err != nil {
			return status, false, err
		}
		keep = false
	}
	return status, keep, nil
}

// discardChunks reads a chunked body and its trailers.
func discardChunks(br *bufio.Reader) error {
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return err
		}
		line = bytes.TrimRight(line, "\r\n")
		if i := bytes.IndexByte(line, ';'); i >= 0 {
			line = line[:i]
		}
		n, err := strconv.ParseInt(string(bytes.TrimSpace(line)), 16, 64)
		if err != nil || n < 0 {
			return fmt.Errorf("chunk size %q", line)
		}
		if n == 0 {
			for {
				t, err := br.ReadSlice('\n')
				if err != nil {
					return err
				}
				if len(bytes.TrimRight(t, "\r\n")) == 0 {
					return nil
				}
			}
		}
		if _, err := br.Discard(int(n) + 2); err != nil {
			return err
		}
	}
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

// part is one worker's tally of the measured window.
type part struct {
	answered, ok int64
	statuses     map[int]int64
	lat          loadgen.Samples
}

func (p *part) record(status int, took time.Duration) {
	p.answered++
	if status == http.StatusOK {
		p.ok++
	} else {
		if p.statuses == nil {
			p.statuses = map[int]int64{}
		}
		p.statuses[status]++
	}
	p.lat = append(p.lat, took)
}

// Result is a load's figures over its measured window.
type Result struct {
	Connections int     `json:",omitempty"` // keep-alive and paced loads
	Workers     int     `json:",omitempty"` // the handshake load
	Rate        float64 `json:",omitempty"` // the paced load's schedule, requests/s
	Seconds     float64
	// Answered requests (any status), of them OK with 200; Statuses
	// counts the others by status.
	Answered int64
	OK       int64
	Statuses map[string]int64 `json:",omitempty"`
	PerSec   float64          // answered/s
	OKPerSec float64
	// Latency of the answered requests: keep-alive, write to answer;
	// handshakes, connect to answer; paced, from the scheduled time
	// when the request went out late, else from the write.
	Latency    loadgen.Latency
	Errors     int64
	FirstError string `json:",omitempty"`
}

func (r *Result) merge(parts []part, secs float64, e *errs) {
	r.Seconds = loadgen.Round3(secs)
	lats := make([]loadgen.Samples, len(parts))
	for i, p := range parts {
		r.Answered += p.answered
		r.OK += p.ok
		for s, n := range p.statuses {
			if r.Statuses == nil {
				r.Statuses = map[string]int64{}
			}
			r.Statuses[strconv.Itoa(s)] += n
		}
		lats[i] = p.lat
	}
	if secs > 0 {
		r.PerSec = loadgen.Round1(float64(r.Answered) / secs)
		r.OKPerSec = loadgen.Round1(float64(r.OK) / secs)
	}
	r.Latency = loadgen.Merge(lats...).Summary()
	r.Errors, r.FirstError = e.n.Load(), e.first
}

// window waits out warm-up then duration (or ctx, or until done),
// switching on at the start of the measured time and off at its end; it
// returns the measured seconds.
func window(ctx context.Context, warmup, d time.Duration, done <-chan struct{}, on *atomic.Bool) (float64, error) {
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
	}
	on.Store(true)
	t0 := time.Now()
	err := sleep(d)
	on.Store(false)
	return time.Since(t0).Seconds(), err
}

func waitChan(wg *sync.WaitGroup) <-chan struct{} {
	c := make(chan struct{})
	go func() {
		wg.Wait()
		close(c)
	}()
	return c
}

// Spec is a closed loop: Conns keep-alive connections, or Conns workers
// each making one connection per request.
type Spec struct {
	Target
	Conns    int
	Warmup   time.Duration
	Duration time.Duration // measured
	// Max bounds the requests made in all (warm-up included); 0: no
	// bound but the time.
	Max int64
}

// KeepAlive opens Conns connections and sends one request after another
// on each; a connection the server closes is replaced. Requests that
// start and end in the window after Warmup count.
func KeepAlive(ctx context.Context, s Spec) (*Result, error) {
	cs := make([]*conn, s.Conns)
	defer func() {
		for _, c := range cs {
			if c != nil {
				c.Close()
			}
		}
	}()
	for i := range cs {
		c, err := s.dial(ctx, i, nil)
		if err != nil {
			return nil, fmt.Errorf("keep-alive: dial %s: %w", s.Addr, err)
		}
		cs[i] = c
	}
	req := request(s.Host, false)
	var on, stopped atomic.Bool
	var made atomic.Int64
	var e errs
	parts := make([]part, s.Conns)
	var wg sync.WaitGroup
	for i := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := &parts[i]
			for !stopped.Load() {
				if s.Max > 0 && made.Add(1) > s.Max {
					return
				}
				measured := on.Load()
				start := time.Now()
				status, keep, err := cs[i].roundTrip(req)
				if err != nil {
					if stopped.Load() {
						return
					}
					e.add(err)
				} else if measured && on.Load() {
					p.record(status, time.Since(start))
				}
				if err != nil || !keep {
					cs[i].Close()
					c, err := s.dial(ctx, i, nil)
					if err != nil {
						if !stopped.Load() {
							e.add(err)
						}
						cs[i] = nil
						return
					}
					cs[i] = c
				}
			}
		}()
	}
	secs, err := window(ctx, s.Warmup, s.Duration, waitChan(&wg), &on)
	// A worker waiting for an answer gives up within ioTimeout.
	stopped.Store(true)
	wg.Wait()
	r := &Result{Connections: s.Conns}
	r.merge(parts, secs, &e)
	return r, err
}

// Handshakes runs Conns workers, each making one connection per request:
// connect, handshake (over TLS: a full one), one request asking to
// close, the answer, close.
func Handshakes(ctx context.Context, s Spec) (*Result, error) {
	req := request(s.Host, true)
	tc := ClientTLS(s.Host)
	var on, stopped atomic.Bool
	var made, next atomic.Int64
	var e errs
	parts := make([]part, s.Conns)
	var wg sync.WaitGroup
	for i := range s.Conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := &parts[i]
			for !stopped.Load() {
				if s.Max > 0 && made.Add(1) > s.Max {
					return
				}
				measured := on.Load()
				start := time.Now()
				c, err := s.dial(ctx, int(next.Add(1)), tc)
				if err != nil {
					if !stopped.Load() {
						e.add(err)
					}
					continue
				}
				status, _, err := c.roundTrip(req)
				c.Close()
				if err != nil {
					if !stopped.Load() {
						e.add(err)
					}
					continue
				}
				if measured && on.Load() {
					p.record(status, time.Since(start))
				}
			}
		}()
	}
	secs, err := window(ctx, s.Warmup, s.Duration, waitChan(&wg), &on)
	stopped.Store(true)
	wg.Wait()
	r := &Result{Workers: s.Conns}
	r.merge(parts, secs, &e)
	return r, err
}

// PacedSpec is an open loop at a fixed rate spread over Conns keep-alive
// connections, each sending at Rate/Conns on a schedule offset from the
// others'.
type PacedSpec struct {
	Target
	Conns    int
	Rate     float64 // requests/s in all
	Warmup   time.Duration
	Duration time.Duration // measured
}

// Paced sends requests on schedule for Warmup+Duration. A request that
// goes out late because the previous one on its connection had not been
// answered by its time is measured from its scheduled time, so a stall
// counts for every request it delayed.
func Paced(ctx context.Context, s PacedSpec) (*Result, error) {
	if s.Rate <= 0 || s.Duration <= 0 || s.Conns < 1 {
		return nil, errors.New("paced: rate, duration and connections must be positive")
	}
	cs := make([]*conn, s.Conns)
	defer func() {
		for _, c := range cs {
			if c != nil {
				c.Close()
			}
		}
	}()
	for i := range cs {
		c, err := s.dial(ctx, i, nil)
		if err != nil {
			return nil, fmt.Errorf("paced: dial %s: %w", s.Addr, err)
		}
		cs[i] = c
	}
	req := request(s.Host, false)
	interval := time.Duration(float64(time.Second) * float64(s.Conns) / s.Rate)
	t0 := time.Now().Add(10 * time.Millisecond)
	from, end := t0.Add(s.Warmup), t0.Add(s.Warmup+s.Duration)
	var e errs
	parts := make([]part, s.Conns)
	var wg sync.WaitGroup
	for i := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := &parts[i]
			prevEnd := time.Time{}
			for k := int64(0); ; k++ {
				due := t0.Add(time.Duration(i)*interval/time.Duration(s.Conns) + time.Duration(k)*interval)
				if !due.Before(end) || ctx.Err() != nil {
					return
				}
				if d := time.Until(due); d > 0 {
					time.Sleep(d)
				}
				start := time.Now()
				if prevEnd.After(due) {
					start = due
				}
				status, keep, err := cs[i].roundTrip(req)
				prevEnd = time.Now()
				if err != nil {
					e.add(err)
				} else if !due.Before(from) {
					p.record(status, prevEnd.Sub(start))
				}
				if err != nil || !keep {
					cs[i].Close()
					c, err := s.dial(ctx, i, nil)
					if err != nil {
						e.add(err)
						cs[i] = nil
						return
					}
					cs[i] = c
				}
			}
		}()
	}
	wg.Wait()
	r := &Result{Connections: s.Conns, Rate: s.Rate}
	r.merge(parts, s.Duration.Seconds(), &e)
	return r, ctx.Err()
}

// Check fetches / once over a new connection, verifying the certificate
// against roots over TLS, and returns the status and the body.
func Check(ctx context.Context, t Target, roots *x509.CertPool) (int, string, error) {
	var tc *tls.Config
	if t.TLS {
		tc = ClientTLS(t.Host)
		tc.InsecureSkipVerify, tc.RootCAs = false, roots
	}
	c, err := t.dial(ctx, 0, tc)
	if err != nil {
		return 0, "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(ioTimeout))
	if _, err := c.Write(request(t.Host, true)); err != nil {
		return 0, "", err
	}
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}
