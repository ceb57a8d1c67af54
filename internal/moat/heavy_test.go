package moat_test

import (
	"testing"
	"time"

	"moat/internal/moat"
)

// TestHardening_UnpagedListingStreamsAndCapsPerAccount pins the bounds of
// DescribeInstanceIds, which has no paging: its answer comes in batches of
// at most 1,000 instances (memory bounded by the batch), and while an
// account runs as many listings longer than one batch as the cap allows,
// its next one is refused with Throttling.User before any of it is read
// out, while its short listings, its paged DescribeInstances and another
// account's unpaged listing are served.
func TestHardening_UnpagedListingStreamsAndCapsPerAccount(t *testing.T) {
	e := newEnv(t, moat.Config{MaxHeavyReads: 1})
	week := 7 * 24 * time.Hour
	mine := e.create(t, moat.RegionMainland, week, 2500)
	if _, err := e.svc.CreateInstances(e.ctx, moat.NewInstances{AccountID: e.other, Region: moat.RegionMainland, Count: 1001, ExpireIn: &week}); err != nil {
		t.Fatal(err)
	}
	me, other := e.caller(e.acct), e.caller(e.other)
	ids := func(c moat.Caller, only []string) ([]string, []int, error) {
		var got []string
		var sizes []int
		err := e.svc.DescribeInstanceIDs(e.ctx, c, moat.RegionMainland, nil, only, "", func(b []moat.Instance) error {
			sizes = append(sizes, len(b))
			for _, in := range b {
				got = append(got, in.ID)
			}
			return nil
		})
		return got, sizes, err
	}

	// A listing that holds its slot: it stops in its first batch until told.
	inFirst, goOn := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	var held []string
	var sizes []int
	go func() {
		done <- e.svc.DescribeInstanceIDs(e.ctx, me, moat.RegionMainland, nil, nil, "", func(b []moat.Instance) error {
			if len(held) == 0 {
				close(inFirst)
				<-goOn
			}
			sizes = append(sizes, len(b))
			for _, in := range b {
				held = append(held, in.ID)
			}
			return nil
		})
	}()
	<-inFirst

	called := false
	err := e.svc.DescribeInstanceIDs(e.ctx, me, moat.RegionMainland, nil, nil, "", func([]moat.Instance) error { called = true; return nil })
	if moat.ErrorCode(err) != moat.CodeThrottlingUser || called {
		t.Errorf("second unpaged listing of the account: %v (fn called: %v), want Throttling.User before any batch", err, called)
	}
	if got, _, err := ids(me, []string{mine[0].ID, mine[2499].ID}); err != nil || len(got) != 2 {
		t.Errorf("short listing of the account: %v, %v", got, err)
	}
	if page, err := e.svc.DescribeInstances(e.ctx, me, moat.DescribeQuery{Region: moat.RegionMainland, PageNumber: 3, PageSize: 10}); err != nil || len(page.Instances) != 10 || page.Total != 2500 || page.Instances[0].ID != mine[20].ID {
		t.Errorf("paged DescribeInstances of the account: %d items, total %d, %v", len(page.Instances), page.Total, err)
	}
	if got, s, err := ids(other, nil); err != nil || len(got) != 1001 || len(s) != 2 || s[0] != 1000 {
		t.Errorf("another account's unpaged listing: %d IDs in batches %v, %v", len(got), s, err)
	}

	close(goOn)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if len(held) != len(mine) || held[0] != mine[0].ID || held[2499] != mine[2499].ID {
		t.Fatalf("the held listing gave %d IDs, want %d in creation order", len(held), len(mine))
	}
	for _, n := range sizes {
		if n > 1000 {
			t.Errorf("a batch of %d instances (batches %v); want at most 1000", n, sizes)
		}
	}
	// The slot is free again.
	if got, _, err := ids(me, nil); err != nil || len(got) != 2500 {
		t.Errorf("after the held listing ended: %d IDs, %v", len(got), err)
	}
}

func TestHardening_MaxHeavyReadsMustBePositive(t *testing.T) {
	if _, err := moat.NewService(moat.Config{Store: newEnv(t, moat.Config{}).store, Clock: moat.NewServerClock(time.Now), MaxHeavyReads: -1}); err == nil {
		t.Fatal("NewService accepted MaxHeavyReads -1")
	}
}
