package metrics

import (
	"context"
	"errors"
	"time"

	"moat/internal/moat"
)

// Store wraps s so that its hot operations are timed: every write
// transaction, nonce use, listing read and AccessKey lookup. Everything
// else passes through untouched (the embedded interface).
func (m *Metrics) Store(s moat.Store) moat.Store {
	return &store{Store: s, update: m.storeOp("update"), nonce: m.storeOp("use_nonce"), page: m.storeOp("instance_page"),
		instances: m.storeOp("instances"), version: m.storeOp("listing_version"), key: m.storeOp("access_key")}
}

type store struct {
	moat.Store
	update, nonce, page, instances, version, key storeOp
}

// failed tells a store failure from an answer: not found, a conflict and
// the domain's own refusals (returned unchanged through Update) are not
// failures of the store.
func failed(err error) bool {
	if err == nil || errors.Is(err, moat.ErrNotFound) || errors.Is(err, moat.ErrConflict) || errors.Is(err, context.Canceled) {
		return false
	}
	var e *moat.Error
	if errors.As(err, &e) {
		return e.Kind == moat.KindInternal || e.Kind == moat.KindUnavailable
	}
	return true
}

func (s *store) Update(ctx context.Context, fn func(tx moat.Tx) error) error {
	start := time.Now()
	err := s.Store.Update(ctx, fn)
	s.update.observe(start, failed(err))
	return err
}

func (s *store) UseNonce(ctx context.Context, accessKeyID, nonce string, expires time.Time) (bool, error) {
	start := time.Now()
	fresh, err := s.Store.UseNonce(ctx, accessKeyID, nonce, expires)
	s.nonce.observe(start, failed(err))
	return fresh, err
}

func (s *store) InstancePage(ctx context.Context, f moat.InstanceFilter) ([]moat.Instance, int64, error) {
	start := time.Now()
	list, n, err := s.Store.InstancePage(ctx, f)
	s.page.observe(start, failed(err))
	return list, n, err
}

func (s *store) Instances(ctx context.Context, f moat.InstanceFilter) ([]moat.Instance, error) {
	start := time.Now()
	list, err := s.Store.Instances(ctx, f)
	s.instances.observe(start, failed(err))
	return list, err
}

func (s *store) ListingVersion(ctx context.Context, accountID string, region moat.Region) (int64, int64, error) {
	start := time.Now()
	n, v, err := s.Store.ListingVersion(ctx, accountID, region)
	s.version.observe(start, failed(err))
	return n, v, err
}

func (s *store) AccessKey(ctx context.Context, id string) (moat.AccessKey, error) {
	start := time.Now()
	k, err := s.Store.AccessKey(ctx, id)
	s.key.observe(start, failed(err))
	return k, err
}
