// Package lifecycle runs the timer side of moat: it applies expiry,
// forwarding-stop and auto-release transitions when they fall due, through
// the domain's lifecycle part (moat.LifecycleService), and so the same
// write path as API calls.
//
// It keeps no schedule in memory: due times are data (an index on
// (phase, ExpireTime) in the store), so after a restart or downtime the
// first pass finds everything that fell due meanwhile. Between passes it
// sleeps until the earliest due time, at most Poll, so a clock moved by
// another process sharing the store is noticed within Poll.
//
// Two clocks meet here. What the engine applies or forgets is judged in
// server time (moat.ServerClock, which the admin API can move): due times,
// and the time audit records carry. Its own pacing is real time: Poll,
// PurgeEvery and Stats, since a server clock moved a year ahead must not
// make the engine spin or stall. The sleep until the next due time is a
// server-time distance slept on the real clock, which is right while the
// offset holds still and, when it moves, is corrected within Poll.
package lifecycle

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"moat/internal/moat"
)

// Service is what the engine needs of moat (moat.LifecycleService).
type Service interface {
	ApplyDue(ctx context.Context, limit int) (int, error)
	NextDue(ctx context.Context) (time.Time, bool, error)
	PurgeNonces(ctx context.Context, limit int) (int, error)
	PurgeSTSKeys(ctx context.Context, limit int) (int, error)
	PurgeAudit(ctx context.Context, before time.Time, max int) (int, error)
	TrimAudit(ctx context.Context, keep, max int) (int, error)
	LoadClock(ctx context.Context) error
}

var _ Service = (*moat.LifecycleService)(nil)

// Clock is server time (moat.ServerClock).
type Clock interface{ Now() time.Time }

// Engine applies due transitions.
type Engine struct {
	svc   Service
	clock Clock
	log   *slog.Logger

	// BatchSize is how many instances one transaction changes; small
	// batches keep the single writer available to API calls.
	BatchSize int
	// Poll bounds the sleep between passes (real time).
	Poll time.Duration
	// PurgeEvery is how often (real time) forgotten nonces, long-expired
	// STS keys and audit records past AuditRetention are deleted.
	PurgeEvery time.Duration
	// AuditRetention is how long audit records are kept, in server time
	// (the time each record carries); 0 keeps them.
	AuditRetention time.Duration
	// AuditMaxRecords is how many audit records are kept at most, the
	// oldest forgotten first; 0 keeps any number. Beside AuditRetention
	// it bounds the audit store whatever the call rate.
	AuditMaxRecords int

	kicks chan chan error
	mu    sync.Mutex
	stats Stats
}

// Stats describes the engine's work so far, in real time.
type Stats struct {
	Passes      int64
	Applied     int64
	LastPass    time.Time
	LastApplied time.Duration // duration of the last pass that changed something
}

// New returns an engine.
func New(svc Service, clock Clock, log *slog.Logger) *Engine {
	if log == nil {
		log = slog.Default()
	}
	return &Engine{svc: svc, clock: clock, log: log, BatchSize: moat.DefaultDueBatch, Poll: time.Second, PurgeEvery: 30 * time.Second, kicks: make(chan chan error)}
}

// Stats returns a snapshot of the counters.
func (e *Engine) Stats() Stats {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.stats
}

// Kick wakes the engine and waits until a pass that started after the call
// has finished, so a caller that moved the clock sees its effects. It
// returns the pass's error, or ctx's.
func (e *Engine) Kick(ctx context.Context) error {
	done := make(chan error, 1)
	select {
	case e.kicks <- done:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Run loops until ctx ends.
func (e *Engine) Run(ctx context.Context) {
	var waiting []chan error
	lastPurge := time.Time{}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		err := e.pass(ctx)
		for _, w := range waiting {
			w <- err
		}
		waiting = waiting[:0]
		if ctx.Err() != nil {
			return
		}
		if time.Since(lastPurge) >= e.PurgeEvery {
			lastPurge = time.Now()
			e.purge(ctx)
		}
		wait := e.Poll
		if err == nil {
			if next, ok, nerr := e.svc.NextDue(ctx); nerr != nil {
				e.log.Error("lifecycle: next due time", "err", nerr)
			} else if ok {
				if d := next.Sub(e.clock.Now()); d < wait {
					wait = max(d, 0)
				}
			}
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case w := <-e.kicks:
			waiting = append(waiting, w)
			timer.Stop() // Go 1.23+ timers drop a stale tick on Stop/Reset
		case <-timer.C:
		}
	}
}

// pass applies everything due now, in batches.
func (e *Engine) pass(ctx context.Context) error {
	start := time.Now()
	if err := e.svc.LoadClock(ctx); err != nil && ctx.Err() == nil {
		e.log.Error("lifecycle: load clock", "err", err)
	}
	var total int
	var err error
	for ctx.Err() == nil {
		var n int
		n, err = e.svc.ApplyDue(ctx, e.BatchSize)
		total += n
		if err != nil || n < e.BatchSize {
			break
		}
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		e.log.Error("lifecycle: apply due transitions", "err", err, "applied", total)
	}
	e.mu.Lock()
	e.stats.Passes++
	e.stats.Applied += int64(total)
	e.stats.LastPass = time.Now()
	if total > 0 {
		e.stats.LastApplied = time.Since(start)
	}
	e.mu.Unlock()
	if total > 0 {
		e.log.Info("lifecycle pass", "Applied", total, "DurationMs", time.Since(start).Milliseconds())
	}
	return err
}

func (e *Engine) purge(ctx context.Context) {
	if e.AuditRetention > 0 {
		before := e.clock.Now().Add(-e.AuditRetention) // records carry server time
		e.purgeAll(ctx, "audit records", func(ctx context.Context, max int) (int, error) {
			return e.svc.PurgeAudit(ctx, before, max)
		})
	}
	if e.AuditMaxRecords > 0 {
		e.purgeAll(ctx, "audit records over the limit", func(ctx context.Context, max int) (int, error) {
			return e.svc.TrimAudit(ctx, e.AuditMaxRecords, max)
		})
	}
	e.purgeAll(ctx, "STS keys", e.svc.PurgeSTSKeys)
	e.purgeAll(ctx, "nonces", e.svc.PurgeNonces)
}

// purgeBatch is how many rows one purge call deletes.
const purgeBatch = 5000

// purgeAll calls purge with batches of purgeBatch until a batch is short.
func (e *Engine) purgeAll(ctx context.Context, what string, purge func(context.Context, int) (int, error)) {
	for ctx.Err() == nil {
		n, err := purge(ctx, purgeBatch)
		if err != nil {
			if ctx.Err() == nil {
				e.log.Error("lifecycle: purge "+what, "err", err)
			}
			return
		}
		if n < purgeBatch {
			return
		}
	}
}
