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
	// Round is the least time between two rounds of store work. A round
	// records every attempt that finished since the last one (one
	// transaction) and claims deliveries for the free slots plus one
	// more slot's worth each (one transaction), so however fast the
	// receivers answer the sender commits at most two transactions per
	// Round and sends at most 2*Concurrency deliveries per Round.
	Round time.Duration
	// Client sends the POSTs; redirects are not followed (a 3xx is a
	// failed attempt).
	Client *http.Client

	transport *http.Transport // Client's transport as New made it
}

// New returns a Sender with the defaults: 16 POSTs in flight, 10 s each,
// a look at the outbox at least every second, a round of store work at
// most every 50 ms.
func New(svc Service, log *slog.Logger) *Sender {
	if log == nil {
		log = slog.Default()
	}
	t := &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 16, IdleConnTimeout: 90 * time.Second}
	return &Sender{svc: svc, log: log, Concurrency: 16, Timeout: 10 * time.Second, Poll: time.Second, Round: 50 * time.Millisecond,
		transport: t,
		Client: &http.Client{
			Transport: t,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		}}
}

// maxAnswer is how much of a receiver's answer is read (and an error
// message is cut to).
const maxAnswer = 4 << 10

// Run delivers until ctx ends, then waits for the POSTs in flight and
// records them. Deliveries claimed but not yet started when ctx ends stay
// claimed until their lease ends, then are claimed again.
func (s *Sender) Run(ctx context.Context) {
	if s.Client.Transport == s.transport && s.transport.MaxIdleConnsPerHost < s.Concurrency {
		// Keep a connection per slot to a receiver, rather than dialing
		// anew for every POST beyond the idle limit.
		s.transport.MaxIdleConnsPerHost = s.Concurrency
	}
	results := make(chan moat.Attempt, s.Concurrency)
	inflight := 0
	var queue []moat.Delivery // claimed, waiting for a free slot
	var done []moat.Attempt   // finished, not yet recorded
	var last time.Time        // when the last round began
	look := time.Now()        // when to look at the outbox next
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		// Start claimed deliveries in the free slots.
		for ; inflight < s.Concurrency && len(queue) > 0; inflight++ {
			d := queue[0]
			queue = queue[1:]
			go func() { results <- s.send(ctx, d) }()
		}
		if ctx.Err() != nil {
			for ; inflight > 0; inflight-- {
				done = append(done, <-results)
			}
			s.record(ctx, done)
			return
		}
		now := time.Now()
		// Claims keep at most one slot's worth of deliveries waiting
		// beyond the slots, so a claim waits at most one Timeout for a
		// slot and its lease (three Timeouts) outlasts wait and attempt.
		room := 2*s.Concurrency - inflight - len(queue)
		claim := room > 0 && !now.Before(look)
		wait := s.Poll
		switch {
		case len(done) > 0 || claim:
			if next := last.Add(s.Round); now.Before(next) {
				wait = next.Sub(now)
				break
			}
			last = now
			if len(done) > 0 {
				s.record(ctx, done)
				done = done[:0]
				// Failed attempts are pending again: see when the next
				// one is due.
				look, claim = now, room > 0
			}
			if claim {
				ds, next, err := s.claim(ctx, room)
				queue = append(queue, ds...)
				switch {
				case err != nil:
					if ctx.Err() == nil {
						s.log.Error("webhooks: claim deliveries", "err", err)
					}
					look = now.Add(s.Poll)
				case len(ds) == room:
					look = now // more may be due: claim again next round
				case !next.IsZero() && next.Before(now.Add(s.Poll)):
					look = next
				default:
					look = now.Add(s.Poll)
				}
			}
			continue
		case room > 0:
			wait = look.Sub(now)
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
			look = time.Now()
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

// record records finished attempts in one transaction.
func (s *Sender) record(ctx context.Context, done []moat.Attempt) {
	if len(done) == 0 {
		return
	}
	if err := s.svc.RecordAttempts(context.WithoutCancel(ctx), done); err != nil {
		// The deliveries stay claimed until their lease ends, then are
		// attempted again.
		s.log.Error("webhooks: record attempts", "count", len(done), "err", err)
	}
}

// claim claims up to limit due deliveries. When none is due it says
// when the next pending one is (zero: none is pending).
func (s *Sender) claim(ctx context.Context, limit int) ([]moat.Delivery, time.Time, error) {
	next, ok, err := s.svc.NextDelivery(ctx)
	if err != nil || !ok {
		return nil, time.Time{}, err
	}
	if time.Until(next) > 0 {
		return nil, next, nil
	}
	ds, err := s.svc.ClaimDeliveries(ctx, limit, s.lease())
	return ds, time.Time{}, err
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
