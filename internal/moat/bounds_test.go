package moat_test

import (
	"math"
	"strconv"
	"testing"
	"time"

	"moat/internal/moat"
)

// TestHardening_AdminIntegersValidatedBeforeArithmetic pins the domain's
// checks on the admin API's integers: an STS duration is judged as seconds
// before it becomes nanoseconds, and a clock move is refused when it would
// wrap the offset around int64 or leave MaxClockOffset, also from an
// offset stored by an older process beyond the bound.
func TestHardening_AdminIntegersValidatedBeforeArithmetic(t *testing.T) {
	for _, sec := range []int64{18446744073710552, math.MaxInt64, math.MinInt64, 9223372036855, 899, 43201, 0} {
		if d, err := moat.STSDuration(sec); moat.ErrorCode(err) != moat.CodeDurationInvalid {
			t.Errorf("STSDuration(%d) = %s, %v; want InvalidDuration", sec, d, err)
		}
	}
	for _, sec := range []int64{900, 3600, 43200} {
		if d, err := moat.STSDuration(sec); err != nil || d != time.Duration(sec)*time.Second {
			t.Errorf("STSDuration(%d) = %s, %v", sec, d, err)
		}
	}

	e := newEnv(t, moat.Config{})
	move := func(set *time.Time, adv time.Duration) error {
		var a *time.Duration
		if set == nil {
			a = &adv
		}
		_, _, err := e.svc.MoveClock(e.ctx, set, a)
		return err
	}
	far := t0.Add(moat.MaxClockOffset + time.Second)
	near := t0.Add(-moat.MaxClockOffset - time.Second)
	year9999 := time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)
	for _, set := range []time.Time{far, near, year9999, {}} {
		if err := move(&set, 0); moat.ErrorCode(err) != moat.CodeInvalidAdminClock {
			t.Errorf("Set %s: %v, want InvalidClock", set, err)
		}
	}
	for _, adv := range []time.Duration{math.MaxInt64, math.MinInt64, moat.MaxClockOffset + 1} {
		if err := move(nil, adv); moat.ErrorCode(err) != moat.CodeInvalidAdminClock {
			t.Errorf("Advance %s: %v, want InvalidClock", adv, err)
		}
	}
	if err := move(nil, moat.MaxClockOffset); err != nil {
		t.Fatalf("Advance by exactly MaxClockOffset: %v", err)
	}
	if err := move(nil, time.Nanosecond); moat.ErrorCode(err) != moat.CodeInvalidAdminClock {
		t.Errorf("one nanosecond past MaxClockOffset: %v, want InvalidClock", err)
	}
	// An offset stored beyond the bound (by an older version): moves that
	// would wrap around are refused, one back inside is taken exactly.
	if err := e.store.Update(e.ctx, func(tx moat.Tx) error {
		return tx.SetSetting(moat.SettingClockOffset, strconv.FormatInt(math.MaxInt64-5, 10))
	}); err != nil {
		t.Fatal(err)
	}
	if err := move(nil, 10); moat.ErrorCode(err) != moat.CodeInvalidAdminClock {
		t.Errorf("Advance wrapping a stored offset around: %v, want InvalidClock", err)
	}
	if err := move(nil, -(math.MaxInt64 - 5)); err != nil {
		t.Errorf("Advance back to offset zero: %v", err)
	}
	if off := e.svc.Clock().Offset(); off != 0 {
		t.Errorf("offset %s, want 0", off)
	}
}
