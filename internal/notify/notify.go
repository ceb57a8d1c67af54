// Package notify delivers webhook notifications: it claims due deliveries
// from the store's outbox (moat.WebhookService), POSTs each one signed to
// its webhook, and reports every attempt back, which decides whether it is
// delivered, retried later or failed.
//
// It runs beside the API in moat serve and never on its path: at most
// Concurrency POSTs are in flight, each bounded by Timeout, so a slow or
// dead receiver costs its own deliveries time and nothing else. With
// several replicas on one store each claims different deliveries (the
// store's claim), and a claim that a dead process leaves behind is taken
// over when its lease ends; the receiver may then see a delivery twice,
// always with the same X-Moat-Event-Id.
package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"moat/internal/moat"
)

// Service is what the sender needs of moat (moat.WebhookService).
type Service interface {
	ClaimDeliveries(ctx context.Context, limit int, lease time.Duration) ([]moat.Delivery, error)
	RecordAttempts(ctx context.Context, as []moat.Attempt) error
	NextDelivery(ctx context.Context) (time.Time, bool, error)
	DeliveryWake() <-chan struct{}
}

var _ Service = (*moat.WebhookService)(nil)

// Headers of a delivery.
const (
	HeaderEventID   = "X-Moat-Event-Id"
	HeaderEventType = "X-Moat-Event-Type"
	HeaderSignature = "X-Moat-Signature"
)

// Sign is the X-Moat-Signature value of body under secret.
func Sign(body []byte, secret string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify reports whether sig is body's signature under secret (in
// constant time), as a receiver checks it.
func Verify(body []byte, secret, sig string) bool {
	return hmac.Equal([]byte(Sign(body, secret)), []byte(sig))
}

// Sender delivers due notifications until its context ends.
type Sender struct {
	svc Service
	log *slog.Logger
	// Concurrency bounds the POSTs in flight.
	Concurrency int
	// Timeout bounds one POST, connection and answer included.
	Timeout time.Duration
	// Poll bounds the wait between looks at the outbox (real time), so
	// deliveries queued by other processes are seen within it.
	Poll time.Duration
	// Client sends the POSTs; redirects are not followed (a 3xx is a
	// failed attempt).
	Client *http.Client
}

// New returns a Sender with the defaults: 16 POSTs in flight, 10 s each,
// a look at the outbox at least every second.
func New(svc Service, log *slog.Logger) *Sender {
	if log == nil {
		log = slog.Default()
	}
	return &Sender{svc: svc, log: log, Concurrency: 16, Timeout: 10 * time.Second, Poll: time.Second,
		Client: &http.Client{
			Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 16, IdleConnTimeout: 90 * time.Second},
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		}}
}

// maxAnswer is how much of a receiver's answer is read (and an error
// message is cut to).
const maxAnswer = 4 << 10

// Run delivers until ctx ends, then waits for the POSTs in flight.
func (s *Sender) Run(ctx context.Context) {
	results := make(chan moat.Attempt, s.Concurrency)
	inflight := 0
	var done []moat.Attempt
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		// Record what finished, in one transaction.
		if len(done) > 0 {
			if err := s.svc.RecordAttempts(context.WithoutCancel(ctx), done); err != nil {
				// The deliveries stay claimed until their lease ends,
				// then are attempted again.
				s.log.Error("webhooks: record attempts", "count", len(done), "err", err)
			}
			done = done[:0]
		}
		if ctx.Err() != nil {
			for ; inflight > 0; inflight-- {
				done = append(done, <-results)
			}
			if len(done) > 0 {
				if err := s.svc.RecordAttempts(context.WithoutCancel(ctx), done); err != nil {
					s.log.Error("webhooks: record attempts", "count", len(done), "err", err)
				}
			}
			return
		}
		wait := s.Poll
		if free := s.Concurrency - inflight; free > 0 {
			n, next, err := s.claim(ctx, free, results)
			inflight += n
			switch {
			case err != nil && ctx.Err() == nil:
				s.log.Error("webhooks: claim deliveries", "err", err)
			case n == free:
				wait = 0 // more may be due: claim again as soon as a slot frees
			case !next.IsZero():
				wait = min(max(time.Until(next), 0), s.Poll)
			}
		}
		if wait == 0 && inflight < s.Concurrency {
			continue
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
		case a := <-results:
			inflight--
			done = append(done, a)
			// Gather whatever else has finished meanwhile.
			for more := true; more; {
				select {
				case a := <-results:
					inflight--
					done = append(done, a)
				default:
					more = false
				}
			}
		case <-s.svc.DeliveryWake():
		case <-timer.C:
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
	}
}

// claim starts up to free due deliveries and says how many, and when
// the next pending one is due when it started fewer.
func (s *Sender) claim(ctx context.Context, free int, results chan<- moat.Attempt) (int, time.Time, error) {
	next, ok, err := s.svc.NextDelivery(ctx)
	if err != nil || !ok {
		return 0, time.Time{}, err
	}
	if time.Until(next) > 0 {
		return 0, next, nil
	}
	ds, err := s.svc.ClaimDeliveries(ctx, free, s.lease())
	if err != nil {
		return 0, time.Time{}, err
	}
	for _, d := range ds {
		go func() { results <- s.send(ctx, d) }()
	}
	if len(ds) < free {
		// What remains pending is not due yet (or claimed by another
		// process): look again within Poll.
		return len(ds), time.Now().Add(s.Poll), nil
	}
	return len(ds), time.Time{}, nil
}

// lease is how long a claim is kept: three attempts' worth, so it
// outlasts the attempt and the recording of its outcome.
func (s *Sender) lease() time.Duration { return 3 * s.Timeout }

// send makes one attempt.
func (s *Sender) send(ctx context.Context, d moat.Delivery) moat.Attempt {
	a := moat.Attempt{Delivery: d}
	err := s.post(ctx, d, &a.Code)
	a.At = time.Now()
	if err != nil {
		a.Err = err.Error()
		if len(a.Err) > maxAnswer {
			a.Err = a.Err[:maxAnswer]
		}
	}
	return a
}

func (s *Sender) post(ctx context.Context, d moat.Delivery, code *int) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.Timeout)
	defer cancel()
	body := []byte(d.Body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "moat-webhooks/1")
	req.Header.Set(HeaderEventID, d.EventID)
	req.Header.Set(HeaderEventType, d.Type)
	req.Header.Set(HeaderSignature, Sign(body, d.Secret))
	resp, err := s.Client.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("no answer within %s", s.Timeout)
		}
		return err
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	*code = resp.StatusCode
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("HTTP %d: %s", resp.StatusCode, bytes.TrimSpace(answer))
	}
	return nil
}
