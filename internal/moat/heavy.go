package moat

import (
	"context"
	"fmt"
	"sync"
)

// DefaultMaxHeavyReads is how many heavy reads one account may run at once
// unless configured otherwise (moat serve --max-heavy-reads).
const DefaultMaxHeavyReads = 2

// heavyReads counts each account's heavy reads in flight. A heavy read is
// one whose size no parameter bounds: DescribeInstanceIds (no paging), or a
// listing a RAM principal's policies make moat judge instance by instance.
// Each batch of such a read takes a store connection only while it is
// read, so other tenants' requests interleave with it; the cap keeps one
// account from filling the read pool with many of them at once, which
// would queue every other tenant's reads behind its batches.
//
// Every other read is bounded by its parameters: pages of at most 50
// (DescribeInstances, the tag listings) or MaxBillingPageSize
// (QueryAvailableInstances), at most 200 named IDs (DescribeInstanceDetails,
// Specs, Statistics), one ID (DescribeInstanceStatus); the admin event
// listing reads in chunks.
type heavyReads struct {
	mu  sync.Mutex
	max int
	n   map[string]int
}

// acquire takes one of the account's slots, or answers Throttling.User
// when they are all in use (the caller retries once one of its own heavy
// reads has ended; other accounts are not affected).
func (h *heavyReads) acquire(account string) (release func(), err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.n[account] >= h.max {
		return nil, Errorf(CodeThrottlingUser, "Request was denied due to user flow control: at most %d unpaged listings of one account's instances run at once; retry when one of yours has finished.", h.max)
	}
	if h.n == nil {
		h.n = map[string]int{}
	}
	h.n[account]++
	return func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		if h.n[account]--; h.n[account] <= 0 {
			delete(h.n, account)
		}
	}, nil
}

// scan is Store.ScanInstances for reads whose size the caller does not
// bound. A read that fits in one batch is light and runs freely; one that
// needs a second batch takes a heavy-read slot of account before its first
// batch reaches fn (so a refusal comes before any of the answer is out)
// and holds it until the scan ends.
func (s *core) scan(ctx context.Context, account string, f InstanceFilter, fn func([]Instance) error) (err error) {
	var release func()
	defer func() {
		if release != nil {
			release()
		}
	}()
	return s.store.ScanInstances(ctx, f, scanBatch, func(batch []Instance) error {
		if release == nil && len(batch) >= scanBatch {
			r, err := s.heavy.acquire(account)
			if err != nil {
				return err
			}
			release = r
		}
		return fn(batch)
	})
}

func checkMaxHeavyReads(n int) (int, error) {
	switch {
	case n == 0:
		return DefaultMaxHeavyReads, nil
	case n < 0:
		return 0, fmt.Errorf("moat: max heavy reads must be positive, not %d", n)
	}
	return n, nil
}
