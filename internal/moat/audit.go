package moat

import (
	"context"
	"sync"
	"time"
	"unicode/utf8"
)

// The audit log records every authenticated call. Records are appended by
// a background writer in batches, so a call does not wait for its own
// record's commit: a crash can lose the records of the calls answered in
// the last moments (at most auditFlushEvery, or one batch), never a write
// a call made. Close flushes everything queued.

const (
	auditQueue      = 1 << 12
	auditBatch      = 2000
	auditFlushEvery = 20 * time.Millisecond
)

type auditLog struct {
	store Store
	ch    chan AuditRecord
	// flushes asks the writer to store everything queued so far and to
	// close the channel it is sent when that is done.
	flushes chan chan struct{}
	start   sync.Once
	stop    chan struct{}
	stopped chan struct{}
	closed  sync.Once
	onError func(error)
}

func newAuditLog(s Store) *auditLog {
	return &auditLog{store: s, ch: make(chan AuditRecord, auditQueue), flushes: make(chan chan struct{}),
		stop: make(chan struct{}), stopped: make(chan struct{})}
}

// What one audit record keeps. A call that names many long IDs (a refused
// one costs the caller nothing) must not cost the store, and the admin
// listing, more than a few kilobytes: a record keeps how many IDs the call
// named, the first AuditMaxResources of them, and every text value cut to
// AuditMaxValue bytes, ending with AuditTruncated when it was cut.
const (
	AuditMaxResources = 20
	AuditMaxValue     = 128
	AuditTruncated    = "...(truncated)"
)

// capAudit bounds what rec keeps (see AuditMaxResources).
func capAudit(rec AuditRecord) AuditRecord {
	rec.ResourceCount = max(rec.ResourceCount, len(rec.Resources))
	if len(rec.Resources) > AuditMaxResources {
		rec.Resources = rec.Resources[:AuditMaxResources:AuditMaxResources]
	}
	cut := false
	for _, v := range rec.Resources {
		cut = cut || len(v) > AuditMaxValue
	}
	if cut {
		res := make([]string, len(rec.Resources))
		for i, v := range rec.Resources {
			res[i] = capValue(v)
		}
		rec.Resources = res
	}
	for _, v := range []*string{&rec.AccountID, &rec.Principal, &rec.SourceIP, &rec.Action, &rec.Code, &rec.RequestID} {
		*v = capValue(*v)
	}
	return rec
}

// capValue cuts v to at most AuditMaxValue bytes, marker included, at a
// character boundary.
func capValue(v string) string {
	if len(v) <= AuditMaxValue {
		return v
	}
	n := AuditMaxValue - len(AuditTruncated)
	for n > 0 && !utf8.RuneStart(v[n]) {
		n--
	}
	return v[:n] + AuditTruncated
}

// RecordAudit queues a record (blocking only when the queue is full, so a
// stalled store slows callers down rather than losing records). The record
// is capped first (see AuditMaxResources).
func (s *AuditService) RecordAudit(rec AuditRecord) {
	rec = capAudit(rec)
	a := s.audit
	a.start.Do(func() { go a.run() })
	select {
	case a.ch <- rec:
	case <-a.stopped:
	}
}

// OnAuditError sets what happens to a failed audit write (logging).
func (s *AuditService) OnAuditError(f func(error)) { s.audit.onError = f }

func (a *auditLog) run() {
	defer close(a.stopped)
	batch := make([]AuditRecord, 0, auditBatch)
	flush := func() {
		if len(batch) == 0 {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		if err := a.store.AppendAudit(ctx, batch); err != nil && a.onError != nil {
			a.onError(err)
		}
		cancel()
		batch = batch[:0]
	}
	timer := time.NewTimer(auditFlushEvery)
	defer timer.Stop()
	for {
		select {
		case rec := <-a.ch:
			batch = append(batch, rec)
			if len(batch) >= auditBatch {
				flush()
			}
		case <-timer.C:
			flush()
			timer.Reset(auditFlushEvery)
		case done := <-a.flushes:
			// Every record queued before the flush was asked for is in
			// the channel now (RecordAudit returns only once it is).
			for n := len(a.ch); n > 0; n-- {
				batch = append(batch, <-a.ch)
				if len(batch) >= auditBatch {
					flush()
				}
			}
			flush()
			close(done)
		case <-a.stop:
			for {
				select {
				case rec := <-a.ch:
					batch = append(batch, rec)
					if len(batch) >= auditBatch {
						flush()
					}
				default:
					flush()
					return
				}
			}
		}
	}
}

// Close flushes the audit log; call it before closing the store.
func (s *AuditService) Close() {
	a := s.audit
	a.closed.Do(func() {
		a.start.Do(func() { go a.run() })
		close(a.stop)
		<-a.stopped
	})
}

// FlushAudit waits until every record queued before the call is stored
// (or the log is closed).
func (s *AuditService) FlushAudit(ctx context.Context) error {
	a := s.audit
	a.start.Do(func() { go a.run() })
	done := make(chan struct{})
	select {
	case a.flushes <- done:
	case <-a.stopped:
		return nil // Close flushed everything
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Audit lists audit records (oldest first).
func (s *AuditService) Audit(ctx context.Context, f AuditFilter) ([]AuditRecord, error) {
	if f.Limit <= 0 || f.Limit > 100000 {
		f.Limit = 100000
	}
	return s.store.Audit(ctx, f)
}
