package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"moat/internal/moat"
)

// ---- Update ----

func testUpdateCommits(t *testing.T, s moat.Store) {
	in := inst("ddoscoo-cn-commit0001", acctA, mainl, "100.64.0.1", at(time.Hour))
	var ev moat.Event
	err := s.Update(t.Context(), func(tx moat.Tx) error {
		if err := tx.InsertAccount(moat.Account{ID: acctA, CreatedAt: base}); err != nil {
			return err
		}
		if err := tx.InsertInstance(&in); err != nil {
			return err
		}
		ev = moat.Event{Time: base, RecordedAt: base, InstanceID: in.ID, AccountID: acctA, Region: mainl, Type: moat.EventCreated}
		if err := tx.AppendEvent(&ev); err != nil {
			return err
		}
		return tx.SetSetting("k", "v")
	})
	if err != nil {
		t.Fatalf("Update = %v, want nil", err)
	}
	wantAccount(t, s, acctA)
	wantInstance(t, s, in)
	wantSetting(t, s, "k", "v")
	if got := seqs(events(t, s, moat.EventFilter{})); !slices.Equal(got, []int64{ev.Seq}) {
		t.Errorf("Events = seqs %v, want [%d]", got, ev.Seq)
	}
	if n := count(t, s, owner(acctA, mainl)); n != 1 {
		t.Errorf("CountInstances = %d, want 1", n)
	}
}

func testUpdateReadsOwnWrites(t *testing.T, s moat.Store) {
	in := inst("ddoscoo-cn-ownwrite01", acctA, mainl, "100.64.0.1", at(time.Hour))
	update(t, s, func(tx moat.Tx) error {
		if err := tx.InsertAccount(moat.Account{ID: acctA, CreatedAt: base}); err != nil {
			return err
		}
		if a, err := tx.Account(acctA); err != nil || a.ID != acctA {
			t.Errorf("Tx.Account after InsertAccount = %+v, %v", a, err)
		}
		if err := tx.InsertInstance(&in); err != nil {
			return err
		}
		if got, err := tx.Instance(in.ID); err != nil {
			t.Errorf("Tx.Instance after InsertInstance: %v", err)
		} else if d := diffInstance(got, in); d != "" {
			t.Errorf("Tx.Instance after InsertInstance: %s", d)
		}
		if used, err := tx.IPInUse(mainl, in.IP); err != nil || !used {
			t.Errorf("Tx.IPInUse after InsertInstance = %v, %v; want true", used, err)
		}
		if err := tx.SetSetting("k", "v1"); err != nil {
			return err
		}
		if v, err := tx.Setting("k"); err != nil || v != "v1" {
			t.Errorf("Tx.Setting after SetSetting = %q, %v; want v1", v, err)
		}
		return nil
	})
}

func testUpdateIsolation(t *testing.T, s moat.Store) {
	inside := make(chan struct{})
	release := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- s.Update(context.Background(), func(tx moat.Tx) error {
			if err := tx.SetSetting("pending", "x"); err != nil {
				return err
			}
			if err := tx.InsertAccount(moat.Account{ID: acctA, CreatedAt: base}); err != nil {
				return err
			}
			close(inside)
			<-release
			return nil
		})
	}()
	select {
	case <-inside:
	case err := <-done:
		t.Fatalf("Update returned %v before its fn blocked", err)
	}
	wantNoSetting(t, s, "pending")
	wantNoAccount(t, s, acctA)
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("Update = %v", err)
	}
	wantSetting(t, s, "pending", "x")
	wantAccount(t, s, acctA)
}

type customError struct{ n int }

func (e *customError) Error() string { return fmt.Sprintf("custom error %d", e.n) }

func testUpdateErrorRollsBack(t *testing.T, s moat.Store) {
	// Something committed before, which the failed call modifies.
	update(t, s, func(tx moat.Tx) error {
		if err := tx.SetSetting("keep", "old"); err != nil {
			return err
		}
		return tx.InsertAccessKey(moat.AccessKey{ID: "LTAIkeep", Secret: "s1", AccountID: acctA, Active: true, CreatedAt: base})
	})
	before := events(t, s, moat.EventFilter{})

	sentinel := errors.New("fn failed on purpose")
	custom := &customError{n: 7}
	for _, want := range []error{sentinel, custom, moat.Errorf(moat.CodeInstanceNotFound, "nope")} {
		in := inst("ddoscoo-cn-rollback01", acctA, mainl, "100.64.0.9", at(time.Hour))
		err := s.Update(t.Context(), func(tx moat.Tx) error {
			steps := []func() error{
				func() error { return tx.InsertAccount(moat.Account{ID: acctA, CreatedAt: base}) },
				func() error { return tx.InsertInstance(&in) },
				func() error { return tx.SetTags(in.ID, []moat.Tag{{Key: "env", Value: "prod"}}) },
				func() error {
					return tx.AppendEvent(&moat.Event{Time: base, RecordedAt: base, InstanceID: in.ID, AccountID: acctA, Region: mainl, Type: moat.EventCreated})
				},
				func() error { return tx.SetSetting("keep", "new") },
				func() error { return tx.SetSetting("fresh", "x") },
				func() error {
					return tx.UpdateAccessKey(moat.AccessKey{ID: "LTAIkeep", Secret: "s2", AccountID: acctA, Active: false})
				},
				func() error {
					return tx.InsertTombstone(moat.Tombstone{InstanceID: "gone", AccountID: acctA, Region: mainl, ReleasedAt: base})
				},
				func() error { return tx.PushFreeIP(mainl, 42) },
				func() error { return tx.SetIPCursor(mainl, "pool", 9) },
			}
			for i, step := range steps {
				if err := step(); err != nil {
					return fmt.Errorf("step %d: %w", i, err)
				}
			}
			return want
		})
		if !errors.Is(err, want) {
			t.Fatalf("Update = %v, want the error fn returned (%v)", err, want)
		}
		var ce *customError
		if want == custom && (!errors.As(err, &ce) || ce != custom) {
			t.Errorf("Update returned %#v, want the same *customError value", err)
		}

		wantNoAccount(t, s, acctA)
		wantNoInstance(t, s, in.ID)
		wantSetting(t, s, "keep", "old")
		wantNoSetting(t, s, "fresh")
		if k, err := s.AccessKey(t.Context(), "LTAIkeep"); err != nil || k.Secret != "s1" || !k.Active {
			t.Errorf("Reader.AccessKey = %+v, %v; want the committed secret s1, active", k, err)
		}
		if _, err := s.Tombstone(t.Context(), "gone"); !errors.Is(err, moat.ErrNotFound) {
			t.Errorf("Reader.Tombstone = %v; want ErrNotFound", err)
		}
		if got := events(t, s, moat.EventFilter{}); len(got) != len(before) {
			t.Errorf("Events after failed Update: %d, want %d", len(got), len(before))
		}
		if n := count(t, s, owner(acctA, mainl)); n != 0 {
			t.Errorf("unfiltered CountInstances = %d, want 0", n)
		}
		checkFilter(t, s, moat.InstanceFilter{AccountID: acctA, Region: mainl, Tags: []moat.TagFilter{{Key: "env"}}})
		check := errors.New("discard the nonce again")
		err = s.Update(t.Context(), func(tx moat.Tx) error {
			if ip, ok, err := tx.PopFreeIP(mainl, 0, 1000); err != nil || ok {
				t.Errorf("PopFreeIP = %d, %v, %v; want none (the push was rolled back)", ip, ok, err)
			}
			if c, err := tx.IPCursor(mainl, "pool"); err != nil || c != 0 {
				t.Errorf("IPCursor = %d, %v; want 0", c, err)
			}
			if ok, err := tx.IPInUse(mainl, in.IP); err != nil || ok {
				t.Errorf("IPInUse(%s) = %v, %v; want false", in.IP, ok, err)
			}
			if ok, err := tx.TombstoneExists("gone"); err != nil || ok {
				t.Errorf("TombstoneExists = %v, %v; want false", ok, err)
			}
			return check
		})
		if !errors.Is(err, check) {
			t.Fatalf("checking Update = %v, want %v", err, check)
		}
	}
}

func testUpdatePanic(t *testing.T, s moat.Store) {
	var err error
	func() {
		defer func() {
			if r := recover(); r != nil {
				t.Fatalf("Update let the panic through: %v", r)
			}
		}()
		err = s.Update(t.Context(), func(tx moat.Tx) error {
			if err := tx.SetSetting("k", "from the panicking call"); err != nil {
				return err
			}
			if err := tx.InsertAccount(moat.Account{ID: acctA, CreatedAt: base}); err != nil {
				return err
			}
			panic("boom")
		})
	}()
	if err == nil {
		t.Fatal("Update with a panicking fn returned nil")
	}
	wantNoSetting(t, s, "k")
	wantNoAccount(t, s, acctA)

	// The store keeps working, for writes and reads.
	update(t, s, func(tx moat.Tx) error { return tx.SetSetting("k", "after") })
	wantSetting(t, s, "k", "after")
	// A second panic is survived as well.
	if err := s.Update(t.Context(), func(tx moat.Tx) error { panic(errors.New("boom again")) }); err == nil {
		t.Fatal("second panicking Update returned nil")
	}
	update(t, s, func(tx moat.Tx) error { return tx.InsertAccount(moat.Account{ID: acctB, CreatedAt: base}) })
	wantAccount(t, s, acctB)
	wantSetting(t, s, "k", "after")
}

func testUpdateCancelled(t *testing.T, s moat.Store) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := s.Update(ctx, func(tx moat.Tx) error { return tx.SetSetting("k", "v") })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Update with a cancelled context = %v, want context.Canceled", err)
	}
	wantNoSetting(t, s, "k")
	update(t, s, func(tx moat.Tx) error { return tx.SetSetting("k", "later") })
	wantSetting(t, s, "k", "later")
}

func testUpdateConflictRecovers(t *testing.T, s moat.Store) {
	first := inst("ddoscoo-cn-conflict01", acctA, mainl, "100.64.0.1", at(time.Hour))
	insert(t, s, first)
	update(t, s, func(tx moat.Tx) error { return tx.InsertAccount(moat.Account{ID: acctA, CreatedAt: base}) })

	second := inst("ddoscoo-cn-conflict02", acctA, mainl, "100.64.0.2", at(2*time.Hour))
	update(t, s, func(tx moat.Tx) error {
		// A write before the conflicts must survive them.
		if err := tx.SetSetting("before", "1"); err != nil {
			return err
		}
		if err := tx.SetIPCursor(mainl, "pool", 5); err != nil {
			return err
		}
		dupID := inst(first.ID, acctA, mainl, "100.64.0.3", at(time.Hour))
		if err := tx.InsertInstance(&dupID); !errors.Is(err, moat.ErrConflict) {
			t.Errorf("InsertInstance(duplicate ID) = %v, want ErrConflict", err)
		}
		dupIP := inst("ddoscoo-cn-conflict03", acctA, mainl, first.IP, at(time.Hour))
		if err := tx.InsertInstance(&dupIP); !errors.Is(err, moat.ErrConflict) {
			t.Errorf("InsertInstance(duplicate IP) = %v, want ErrConflict", err)
		}
		if err := tx.InsertAccount(moat.Account{ID: acctA, CreatedAt: base}); !errors.Is(err, moat.ErrConflict) {
			t.Errorf("InsertAccount(duplicate) = %v, want ErrConflict", err)
		}
		// The transaction goes on as if the failed inserts never happened.
		if err := tx.InsertInstance(&second); err != nil {
			return err
		}
		return tx.SetSetting("after", "2")
	})
	wantSetting(t, s, "before", "1")
	wantSetting(t, s, "after", "2")
	wantInstance(t, s, first)
	wantInstance(t, s, second)
	wantNoInstance(t, s, "ddoscoo-cn-conflict03")
	checkFilter(t, s, owner(acctA, mainl), first.ID, second.ID)
	if n := count(t, s, owner(acctA, mainl)); n != 2 {
		t.Errorf("unfiltered CountInstances = %d, want 2", n)
	}
	update(t, s, func(tx moat.Tx) error {
		if c, err := tx.IPCursor(mainl, "pool"); err != nil || c != 5 {
			t.Errorf("IPCursor = %d, %v; want 5", c, err)
		}
		return nil
	})
}

func testUpdateConcurrent(t *testing.T, s moat.Store) {
	const n = 200
	type outcome int
	const (
		succeed outcome = iota
		fail
		panics
	)
	kind := func(i int) outcome {
		switch {
		case i%5 == 0:
			return panics
		case i%3 == 0:
			return fail
		}
		return succeed
	}
	update(t, s, func(tx moat.Tx) error { return tx.InsertAccount(moat.Account{ID: "shared", CreatedAt: base}) })

	errs := make([]error, n)
	wantErrs := make([]error, n)
	for i := range wantErrs {
		wantErrs[i] = fmt.Errorf("op %d fails on purpose", i)
	}
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			region := moat.Regions[i%2]
			acct := fmt.Sprintf("acct-%03d", i%4)
			errs[i] = s.Update(context.Background(), func(tx moat.Tx) error {
				in := inst(fmt.Sprintf("i-%03d", i), acct, region, fmt.Sprintf("10.0.%d.%d", i/256, i%256), at(time.Duration(i)*time.Minute))
				if err := tx.InsertInstance(&in); err != nil {
					return err
				}
				if err := tx.SetTags(in.ID, []moat.Tag{{Key: "op", Value: fmt.Sprint(i)}}); err != nil {
					return err
				}
				if err := tx.AppendEvent(&moat.Event{Time: base, RecordedAt: base, InstanceID: in.ID, AccountID: acct, Region: region, Type: moat.EventCreated}); err != nil {
					return err
				}
				if err := tx.SetSetting(fmt.Sprintf("op-%03d", i), fmt.Sprint(i)); err != nil {
					return err
				}
				// A conflict inside a call that then succeeds must not
				// disturb it or its neighbours in a shared commit.
				if err := tx.InsertAccount(moat.Account{ID: "shared", CreatedAt: base}); !errors.Is(err, moat.ErrConflict) {
					return fmt.Errorf("InsertAccount(shared) = %v, want ErrConflict", err)
				}
				switch kind(i) {
				case fail:
					return wantErrs[i]
				case panics:
					panic(fmt.Sprintf("op %d panics on purpose", i))
				}
				return nil
			})
		}()
	}
	close(start)
	wg.Wait()

	var ok []string
	counts := map[ownerKey]int64{}
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("i-%03d", i)
		key := fmt.Sprintf("op-%03d", i)
		switch kind(i) {
		case succeed:
			if errs[i] != nil {
				t.Errorf("op %d: Update = %v, want nil", i, errs[i])
				continue
			}
			ok = append(ok, id)
			counts[ownerKey{fmt.Sprintf("acct-%03d", i%4), moat.Regions[i%2]}]++
			readInstance(t, s, id)
			wantSetting(t, s, key, fmt.Sprint(i))
		case fail:
			if !errors.Is(errs[i], wantErrs[i]) {
				t.Errorf("op %d: Update = %v, want its own error %v", i, errs[i], wantErrs[i])
			}
			wantNoInstance(t, s, id)
			wantNoSetting(t, s, key)
		case panics:
			if errs[i] == nil {
				t.Errorf("op %d panicked but Update returned nil", i)
			}
			wantNoInstance(t, s, id)
			wantNoSetting(t, s, key)
		}
		// Tags follow their instance.
		tagged := list(t, s, moat.InstanceFilter{AccountID: fmt.Sprintf("acct-%03d", i%4), Region: moat.Regions[i%2],
			Tags: []moat.TagFilter{{Key: "op", Value: fmt.Sprint(i), HasValue: true}}})
		if want := kind(i) == succeed && errs[i] == nil; (len(tagged) == 1) != want || len(tagged) > 1 {
			t.Errorf("op %d: tag filter lists %q, want the instance only if the op succeeded (%v)", i, tagged, want)
		}
	}
	var total int64
	for _, acct := range []string{"acct-000", "acct-001", "acct-002", "acct-003"} {
		for _, r := range moat.Regions {
			f := owner(acct, r)
			if got, want := count(t, s, f), counts[ownerKey{acct, r}]; got != want {
				t.Errorf("unfiltered CountInstances(%s, %s) = %d, want %d", acct, r, got, want)
			}
			total += int64(len(list(t, s, f)))
		}
	}
	if total != int64(len(ok)) {
		t.Errorf("listings hold %d instances, want %d", total, len(ok))
	}
	evs := events(t, s, moat.EventFilter{})
	var evIDs []string
	for i, e := range evs {
		evIDs = append(evIDs, e.InstanceID)
		if i > 0 && e.Seq <= evs[i-1].Seq {
			t.Errorf("event seqs not increasing: %d after %d", e.Seq, evs[i-1].Seq)
		}
	}
	slices.Sort(evIDs)
	if !slices.Equal(evIDs, ok) {
		t.Errorf("events are for %q, want exactly the successful ops %q", evIDs, ok)
	}
}
