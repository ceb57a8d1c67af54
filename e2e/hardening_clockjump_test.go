package e2e

import (
	"slices"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/bssopenapi"

	"moat/internal/moat"
)

// TestHardening_ClockJumpAutoRenewsInOneStep pins the catch-up of
// auto-renewal after a century-long clock jump: each auto-renewing
// instance gets exactly one auto_renewed event, at the expiry it replaced,
// whose Periods is the number of terms renewed (the least that takes the
// expiry past server time), and its ExpireTime moves by that many terms
// in one step; so the jump writes one event per instance, not one per
// elapsed term. A second pass at nearly the same time adds nothing.
// Server time is set 15 days past a term boundary, so no boundary lies
// near the instants the engine and the test read.
func TestHardening_ClockJumpAutoRenewsInOneStep(t *testing.T) {
	s := StartServer(t)
	c := BSSv1(t, s, testKeyID, testKeySecret)
	dd := SDKv1(t, s, "cn-hangzhou", testKeyID, testKeySecret)
	period := map[string]int{}
	for _, p := range []int{1, 1, 1, 12} {
		id := bssBuy(t, c, 1, func(r *bssopenapi.CreateInstanceRequest) {
			r.RenewalStatus, r.RenewPeriod = "AutoRenewal", requests.NewInteger(p)
		}).Data.InstanceId
		period[id] = p
	}
	exp := map[string]time.Time{}
	var first time.Time
	for id := range period {
		exp[id] = time.UnixMilli(v1Instance(t, dd, id).ExpireTime).UTC()
		if first.IsZero() || exp[id].Before(first) {
			first = exp[id]
		}
	}
	// A century of months after the earliest expiry, plus half a month:
	// every instance bought here expires within the same second, so all
	// are 15 days past a term boundary.
	now := moat.AddMonths(first, 1200).Add(15 * 24 * time.Hour)
	bssSetClock(t, s, now.UnixMilli())

	check := func(when string) {
		t.Helper()
		for id, p := range period {
			evs := eventsOfType(t, s, id, "auto_renewed")
			if len(evs) != 1 {
				t.Fatalf("%s: %s: %d auto_renewed events, want one for the whole jump", when, id, len(evs))
			}
			ev := evs[0]
			k := ev.Periods
			want := moat.AddMonths(exp[id], k*p)
			if eventMillis(t, ev) != exp[id].UnixMilli() || k < 1 || !want.After(now) || moat.AddMonths(exp[id], (k-1)*p).After(now) {
				t.Fatalf("%s: %s: event %+v; want at the old expiry %s with the least Periods that passes %s", when, id, ev, exp[id], now)
			}
			if wantK := map[int]int{1: 1201, 12: 101}[p]; k != wantK {
				t.Fatalf("%s: %s (RenewPeriod %d): Periods %d, want %d", when, id, p, k, wantK)
			}
			in := v1Instance(t, dd, id)
			if in.ExpireTime != want.UnixMilli() || in.Status != 1 || in.Enabled != 1 {
				t.Fatalf("%s: %s: ExpireTime %d Status %d Enabled %d, want %d (%s), 1, 1", when, id, in.ExpireTime, in.Status, in.Enabled, want.UnixMilli(), want)
			}
			if got := lifecycleTypes(t, s, id); !slices.Equal(got, []string{"auto_renewed"}) {
				t.Fatalf("%s: %s: events %v, want [auto_renewed]", when, id, got)
			}
		}
	}
	check("after the jump")
	bssSetClock(t, s, now.Add(24*time.Hour).UnixMilli())
	check("a day later")
}
