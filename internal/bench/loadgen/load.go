// Package loadgen generates HTTP load and measures the answers: a
// closed-loop Load of one request builder, and a MixLoad whose requests'
// actions are drawn by weight, flat out or at a fixed arrival rate (an
// open loop that measures latency from each request's scheduled time). It
// knows nothing of moat: the caller builds the requests, and gets back
// counts, error codes and exact latency percentiles.
package loadgen

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Worker is one load connection's state, handed to the request builder.
// Everything in it is reused from request to request.
type Worker struct {
	ID     int
	Rand   *rand.Rand
	Params map[string]string // for the builder's signed parameters
	body   bytes.Buffer
}

// RequestFunc builds worker w's next request. ok=false means there is no
// more work (a count-bound load such as the release scenario).
type RequestFunc func(ctx context.Context, w *Worker) (req *http.Request, ok bool, err error)

// Load is a closed-loop load: Connections workers, each sending its next
// request when the previous answer has been read, over one shared
// keep-alive Transport that holds exactly one connection per worker.
type Load struct {
	Connections int
	// Warmup is run first and not recorded (connections are dialled and
	// the server's caches and prepared statements filled).
	Warmup time.Duration
	// Duration bounds the measured window; 0 runs until Next has no more
	// work, or Stop is closed.
	Duration time.Duration
	// Stop, when closed, ends the load after the requests in flight.
	Stop <-chan struct{}
	// Abort, when closed, ends the load like Stop, and Run reports
	// ErrAborted: it is the server process's exit.
	Abort <-chan struct{}
	Next  RequestFunc
	// Timeout bounds one request (default 60s).
	Timeout time.Duration
	// Progress, when set, reports the load on stderr while it runs.
	Progress *Progress
}

// ErrAborted is Run's error when Abort was closed during the load.
var ErrAborted = errors.New("the server exited during the load")

// LoadResult is what one load measured. Requests counts every answer in
// the measured window, errors included; OK the 2xx ones.
type LoadResult struct {
	Connections    int
	Seconds        float64
	Requests       int64
	OK             int64
	Errors         int64
	RequestsPerSec float64 // Requests / Seconds
	OKPerSec       float64 // OK / Seconds
	Latency        Latency
	// FirstError is the earliest failure: the HTTP status and body, or the
	// transport error.
	FirstError string `json:",omitempty"`
	// RatioToBaseline is OKPerSec over the bare handler's, when the
	// baseline was measured in the same run.
	RatioToBaseline float64 `json:",omitempty"`

	samples Samples
}

// NewTransport is the load's one Transport: keep-alive, one idle connection
// kept per worker, and no more connections than workers.
func NewTransport(conns int) *http.Transport {
	return &http.Transport{
		Proxy:               nil, // never through $HTTP_PROXY: this is loopback
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		MaxConnsPerHost:     conns,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
	}
}

type workerResult struct {
	samples        Samples
	requests, ok   int64
	errs           int64
	firstErr       string
	firstErrAt     time.Time
	lastCompletion time.Time
}

// Run runs the load and returns its figures. A cancelled ctx ends it early;
// requests cut off by the cancellation are not counted as errors.
func (l *Load) Run(ctx context.Context) (*LoadResult, error) {
	if l.Connections < 1 {
		return nil, errors.New("bench: a load needs at least one connection")
	}
	if l.Next == nil {
		return nil, errors.New("bench: a load needs a request builder")
	}
	timeout := l.Timeout
	if timeout <= 0 {
		timeout = 60 * time.Second
	}
	tr := NewTransport(l.Connections)
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: timeout}

	start := time.Now()
	from := start.Add(l.Warmup)
	var until time.Time
	if l.Duration > 0 {
		until = from.Add(l.Duration)
	}
	var stopped, aborted atomic.Bool
	var stopAt atomic.Int64
	if l.Stop != nil || l.Abort != nil {
		finished := make(chan struct{})
		defer close(finished)
		go func() {
			select {
			case <-l.Stop: // a nil channel never fires
			case <-l.Abort:
				aborted.Store(true)
			case <-ctx.Done():
				return
			case <-finished:
				return
			}
			stopAt.Store(time.Now().UnixNano())
			stopped.Store(true)
		}()
	}

	l.Progress.Start()
	defer l.Progress.Stop()
	results := make([]workerResult, l.Connections)
	var wg sync.WaitGroup
	for i := range l.Connections {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := &Worker{ID: i, Rand: rand.New(rand.NewPCG(uint64(start.UnixNano()), uint64(i))), Params: map[string]string{}}
			r := &results[i]
			r.samples = make(Samples, 0, 4096)
			for ctx.Err() == nil && !stopped.Load() {
				if !until.IsZero() && !time.Now().Before(until) {
					return
				}
				req, ok, err := l.Next(ctx, w)
				if !ok {
					return
				}
				t0 := time.Now()
				var status int
				if err == nil {
					status, err = do(client, req, &w.body)
				}
				t1 := time.Now()
				if ctx.Err() != nil {
					return // cut off by ctrl-C: neither a success nor an error
				}
				l.Progress.Add(err == nil && status >= 200 && status <= 299)
				if t1.Before(from) || (!until.IsZero() && t1.After(until)) {
					continue // warm-up, or finished after the window
				}
				r.requests++
				r.lastCompletion = t1
				r.samples = append(r.samples, t1.Sub(t0))
				switch {
				case err != nil:
					r.noteError(t1, err.Error())
				case status < 200 || status > 299:
					r.noteError(t1, fmt.Sprintf("HTTP %d: %s", status, Truncate(w.body.String(), 600)))
				default:
					r.ok++
				}
			}
		}()
	}
	wg.Wait()

	res := &LoadResult{Connections: l.Connections}
	parts := make([]Samples, len(results))
	var first *workerResult
	var last time.Time
	for i := range results {
		r := &results[i]
		parts[i] = r.samples
		res.Requests += r.requests
		res.OK += r.ok
		res.Errors += r.errs
		if r.errs > 0 && (first == nil || r.firstErrAt.Before(first.firstErrAt)) {
			first = r
		}
		if r.lastCompletion.After(last) {
			last = r.lastCompletion
		}
	}
	if first != nil {
		res.FirstError = first.firstErr
	}
	res.samples = Merge(parts...)
	res.Latency = res.samples.Summary()

	// The measured window: the fixed duration; else up to Stop (or the
	// last answer, for a count-bound load); cut short by ctrl-C.
	end := last
	switch {
	case !until.IsZero():
		end = until
	case stopAt.Load() != 0:
		end = time.Unix(0, stopAt.Load())
		if last.After(end) {
			end = last
		}
	}
	if ctx.Err() != nil && time.Now().Before(end) {
		end = time.Now()
	}
	if secs := end.Sub(from).Seconds(); secs > 0 {
		res.Seconds = Round3(secs)
		res.RequestsPerSec = Round1(float64(res.Requests) / secs)
		res.OKPerSec = Round1(float64(res.OK) / secs)
	}
	if err := ctx.Err(); err != nil {
		return res, err
	}
	if aborted.Load() {
		return res, ErrAborted
	}
	return res, nil
}

func (r *workerResult) noteError(at time.Time, msg string) {
	r.errs++
	if r.firstErr == "" {
		r.firstErr, r.firstErrAt = msg, at
	}
}

// do sends req and reads the whole answer into buf (reused), so the
// connection goes back to the pool.
func do(c *http.Client, req *http.Request, buf *bytes.Buffer) (int, error) {
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	buf.Reset()
	_, err = buf.ReadFrom(resp.Body)
	resp.Body.Close()
	if err != nil {
		return resp.StatusCode, fmt.Errorf("read answer: %w", err)
	}
	return resp.StatusCode, nil
}

// Truncate shortens s, trimmed, to n bytes and marks the cut.
func Truncate(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
