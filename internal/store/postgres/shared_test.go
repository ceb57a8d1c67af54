package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"moat/internal/moat"
	"moat/internal/store/postgres"
)

// These tests stand for several moat processes on one database: two
// Stores with pools of their own, each under a Service of its own.

const acct = "1000000000000001"

// twoStores opens two stores on one fresh database, with an account.
func twoStores(t *testing.T) (a, b *postgres.Store, dsn string) {
	t.Helper()
	dsn = freshDB(t, false)
	a = open(t, dsn, postgres.Options{MaxConns: 8})
	b = open(t, dsn, postgres.Options{MaxConns: 8})
	err := a.Update(t.Context(), func(tx moat.Tx) error {
		return tx.InsertAccount(moat.Account{ID: acct, CreatedAt: time.Now(), ResourceGroupID: "rg-acfmtest"})
	})
	if err != nil {
		t.Fatal(err)
	}
	return a, b, dsn
}

func service(t *testing.T, s moat.Store) *moat.Service {
	t.Helper()
	svc, err := moat.NewService(moat.Config{Store: s, Clock: moat.NewServerClock(nil)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	return svc
}

// together runs fn(i) for i in [0, n) on n goroutines released at once.
func together(n int, fn func(i int)) {
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			fn(i)
		}()
	}
	close(start)
	wg.Wait()
}

// TestSharedReleaseExactlyOnce: the same instance released through two
// processes at once is released by exactly one; the other gets
// InstanceNotFound, and the history holds one release.
func TestSharedReleaseExactlyOnce(t *testing.T) {
	a, b, dsn := twoStores(t)
	svcs := []*moat.Service{service(t, a), service(t, b)}
	expired := -time.Hour
	views, err := svcs[0].CreateInstances(t.Context(), moat.NewInstances{AccountID: acct, Region: moat.RegionMainland, Count: 10, ExpireIn: &expired})
	if err != nil {
		t.Fatal(err)
	}
	caller := moat.Caller{AccountID: acct}
	for _, v := range views {
		errs := make([]error, 4)
		together(len(errs), func(i int) {
			errs[i] = svcs[i%2].ReleaseInstance(context.Background(), caller, moat.RegionMainland, v.ID, fmt.Sprint("req-", i))
		})
		won := 0
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			case moat.AsError(err).Code != moat.CodeInstanceNotFound:
				t.Errorf("release of %s: %v, want success or InstanceNotFound", v.ID, err)
			}
		}
		if won != 1 {
			t.Errorf("release of %s: %d calls succeeded, want exactly 1 (%v)", v.ID, won, errs)
		}
		evs, err := a.Events(t.Context(), moat.EventFilter{InstanceID: v.ID, Type: moat.EventReleased})
		if err != nil || len(evs) != 1 {
			t.Errorf("released events of %s = %+v, %v; want one", v.ID, evs, err)
		}
	}
	if n := queryInt(t, dsn, `SELECT count(*) FROM tombstones`); n != int64(len(views)) {
		t.Errorf("%d tombstones, want %d", n, len(views))
	}
	if n := queryInt(t, dsn, `SELECT count(*) FROM ip_free`); n != int64(len(views)) {
		t.Errorf("%d free IPs, want %d (each released once)", n, len(views))
	}
	if n, _, err := a.ListingVersion(t.Context(), acct, moat.RegionMainland); err != nil || n != 0 {
		t.Errorf("instance count after the releases = %d, %v; want 0", n, err)
	}
}

// TestSharedClientToken: concurrent purchases with one ClientToken through
// two processes make one instance, and every call gets its order.
func TestSharedClientToken(t *testing.T) {
	a, b, _ := twoStores(t)
	svcs := []*moat.Service{service(t, a), service(t, b)}
	caller := moat.Caller{AccountID: acct}
	req := moat.BuyRequest{ProductType: moat.ProductDdoscoo, Period: 1, RenewalStatus: moat.RenewalManual, ClientToken: "token-0f5a"}
	orders := make([]moat.Order, 20)
	errs := make([]error, len(orders))
	together(len(orders), func(i int) {
		orders[i], errs[i] = svcs[i%2].BuyInstance(context.Background(), caller, req)
	})
	for i, err := range errs {
		if err != nil {
			t.Fatalf("purchase %d: %v", i, err)
		}
		if orders[i] != orders[0] {
			t.Errorf("purchase %d got order %+v, purchase 0 %+v: want the same", i, orders[i], orders[0])
		}
	}
	list, err := b.Instances(t.Context(), moat.InstanceFilter{AccountID: acct})
	if err != nil || len(list) != 1 || list[0].ID != orders[0].InstanceID {
		t.Errorf("instances = %+v, %v; want exactly %s", list, err, orders[0].InstanceID)
	}
	// A different token buys another.
	req.ClientToken = "token-other"
	if o, err := svcs[1].BuyInstance(t.Context(), caller, req); err != nil || o.InstanceID == orders[0].InstanceID {
		t.Errorf("purchase with another token = %+v, %v; want a new instance", o, err)
	}
}

// TestSharedDueInstancesClaims: two processes claiming due instances at
// the same time get disjoint sets, without waiting for each other.
func TestSharedDueInstancesClaims(t *testing.T) {
	a, b, _ := twoStores(t)
	const total = 120
	past := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	err := a.Update(t.Context(), func(tx moat.Tx) error {
		for i := range total {
			in := moat.Instance{ID: fmt.Sprintf("ddoscoo-cn-due%06d", i), AccountID: acct, Region: moat.RegionMainland,
				IP: moat.IPString(uint32(0x64400000 + i)), CreateTime: past, ExpireTime: past.Add(time.Duration(i) * time.Millisecond)}
			if err := tx.InsertInstance(&in); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// In the first round each side holds its claim until the other has
	// claimed too: with locking reads that wait, this would never end.
	var claimed [2]chan struct{}
	var once [2]sync.Once
	for i := range claimed {
		claimed[i] = make(chan struct{})
	}
	got := [2][]string{}
	errs := [2]error{}
	stores := []*postgres.Store{a, b}
	together(2, func(i int) {
		for round := 0; ; round++ {
			var batch []string
			err := stores[i].Update(context.Background(), func(tx moat.Tx) error {
				batch = batch[:0]
				due, err := tx.DueInstances(moat.PhaseActive, time.Now(), 25)
				if err != nil {
					return err
				}
				for _, in := range due {
					batch = append(batch, in.ID)
				}
				if round == 0 {
					once[i].Do(func() { close(claimed[i]) })
					select {
					case <-claimed[1-i]:
					case <-time.After(10 * time.Second):
						return errors.New("the other side did not claim while this one held its claim")
					}
				}
				for _, in := range due {
					if err := tx.UpdatePhase(in.ID, moat.PhaseExpired); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				errs[i] = err
				return
			}
			if len(batch) == 0 {
				return
			}
			got[i] = append(got[i], batch...)
		}
	})
	for i, err := range errs {
		if err != nil {
			t.Fatalf("claimer %d: %v", i, err)
		}
	}
	all := append(slices.Clone(got[0]), got[1]...)
	slices.Sort(all)
	if len(slices.Compact(slices.Clone(all))) != len(all) {
		t.Errorf("an instance was claimed twice: %d claims, %d distinct", len(all), len(slices.Compact(all)))
	}
	if len(all) != total || len(got[0]) == 0 || len(got[1]) == 0 {
		t.Errorf("claims: %d and %d, want %d in all, both sides working", len(got[0]), len(got[1]), total)
	}
}

// TestSharedLifecycleExactlyOnce: two lifecycle engines applying due
// transitions at once record each expiry exactly once.
func TestSharedLifecycleExactlyOnce(t *testing.T) {
	a, b, dsn := twoStores(t)
	svcs := []*moat.Service{service(t, a), service(t, b)}
	expired := -time.Hour
	const total = 300
	if _, err := svcs[0].CreateInstances(t.Context(), moat.NewInstances{AccountID: acct, Region: moat.RegionMainland, Count: total}); err != nil {
		t.Fatal(err)
	}
	// Expire them all behind the engines' backs.
	exec(t, dsn, `UPDATE instances SET expire_ms = $1`, time.Now().Add(expired).UnixMilli())
	var applied atomic.Int64
	errs := make([]error, 4)
	together(len(errs), func(i int) {
		for {
			n, err := svcs[i%2].ApplyDue(context.Background(), 20)
			if err != nil {
				errs[i] = err
				return
			}
			applied.Add(int64(n))
			if n == 0 {
				return
			}
		}
	})
	for i, err := range errs {
		if err != nil {
			t.Fatalf("engine %d: %v", i, err)
		}
	}
	if got := applied.Load(); got != total {
		t.Errorf("ApplyDue applied %d instances in all, want %d", got, total)
	}
	if n := queryInt(t, dsn, `SELECT count(*) FROM events WHERE type = 'expired'`); n != total {
		t.Errorf("%d expired events, want %d", n, total)
	}
	if n := queryInt(t, dsn, `SELECT count(*) FROM (SELECT instance_id FROM events WHERE type = 'expired' GROUP BY instance_id HAVING count(*) > 1) d`); n != 0 {
		t.Errorf("%d instances expired more than once", n)
	}
}

// TestSharedNonce: a nonce used through two processes at once is fresh for
// exactly one call.
func TestSharedNonce(t *testing.T) {
	a, b, _ := twoStores(t)
	stores := []*postgres.Store{a, b}
	exp := time.Now().Add(time.Hour)
	for round := range 5 {
		var fresh atomic.Int64
		errs := make([]error, 64)
		together(len(errs), func(i int) {
			ok, err := stores[i%2].UseNonce(context.Background(), "LTAIshared", fmt.Sprint("nonce-", round), exp)
			errs[i] = err
			if ok {
				fresh.Add(1)
			}
		})
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		if fresh.Load() != 1 {
			t.Errorf("round %d: %d of %d uses fresh, want 1", round, fresh.Load(), len(errs))
		}
	}
}

// TestSharedClock: concurrent clock advances through two processes add up
// (the offset is read and written under a lock, even before it exists).
func TestSharedClock(t *testing.T) {
	a, b, _ := twoStores(t)
	svcs := []*moat.Service{service(t, a), service(t, b)}
	step := time.Minute
	errs := make([]error, 12)
	together(len(errs), func(i int) {
		_, _, errs[i] = svcs[i%2].MoveClock(context.Background(), nil, &step)
	})
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	v, err := b.Setting(t.Context(), moat.SettingClockOffset)
	if want := fmt.Sprint(int64(time.Duration(len(errs)) * step)); err != nil || v != want {
		t.Errorf("stored offset = %s, %v; want %s", v, err, want)
	}
}

// TestDeadlockRetried: two transactions that lock two rows in opposite
// orders deadlock; PostgreSQL aborts one, which Update runs again, so both
// succeed.
func TestDeadlockRetried(t *testing.T) {
	a, b, _ := twoStores(t)
	err := a.Update(t.Context(), func(tx moat.Tx) error {
		return errors.Join(tx.SetSetting("x", "0"), tx.SetSetting("y", "0"))
	})
	if err != nil {
		t.Fatal(err)
	}
	var holding [2]chan struct{}
	var once [2]sync.Once
	for i := range holding {
		holding[i] = make(chan struct{})
	}
	var calls atomic.Int64
	keys := [2][2]string{{"x", "y"}, {"y", "x"}}
	stores := []*postgres.Store{a, b}
	errs := make([]error, 2)
	together(2, func(i int) {
		errs[i] = stores[i].Update(context.Background(), func(tx moat.Tx) error {
			calls.Add(1)
			if _, err := tx.Setting(keys[i][0]); err != nil {
				return err
			}
			once[i].Do(func() { close(holding[i]) })
			<-holding[1-i]
			if _, err := tx.Setting(keys[i][1]); err != nil {
				return err
			}
			return tx.SetSetting(keys[i][1], fmt.Sprint(i))
		})
	})
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("Update: %v", err)
	}
	if calls.Load() < 3 {
		t.Errorf("fn ran %d times, want a retry after the deadlock", calls.Load())
	}
}

// TestUpdateAfterClose: a closed store refuses work as unavailable.
func TestUpdateAfterClose(t *testing.T) {
	s, err := postgres.Open(t.Context(), freshDB(t, false), postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
	ran := false
	err = s.Update(t.Context(), func(moat.Tx) error { ran = true; return nil })
	if moat.ErrorKind(err) != moat.KindUnavailable || ran {
		t.Errorf("Update after Close = %v (ran %v), want unavailable without running", err, ran)
	}
	if _, err := s.Instance(t.Context(), "x"); moat.ErrorKind(err) != moat.KindUnavailable {
		t.Errorf("Instance after Close = %v, want unavailable", err)
	}
	if _, err := s.UseNonce(t.Context(), "k", "n", time.Now()); moat.ErrorKind(err) != moat.KindUnavailable {
		t.Errorf("UseNonce after Close = %v, want unavailable", err)
	}
}
