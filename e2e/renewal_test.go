package e2e

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/bssopenapi"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ddoscoo"
)

// renewalEdgeSlack is how far before an edge the "just before" cases set
// server time. The server clock runs with real time between the admin call
// that sets it and the RenewInstance that follows, so an instant 1 ms
// before an edge cannot be hit from outside; the renewed event's Time, which is the
// server time the renewal was served at, shows on which side of the edge
// the call landed, and the test fails if it landed after it.
const renewalEdgeSlack = 2 * time.Second

// bssRenewedAt returns the time (UNIX ms) of id's only "renewed" event.
func bssRenewedAt(t testing.TB, s *Server, id string) int64 {
	t.Helper()
	evs := eventsOfType(t, s, id, "renewed")
	if len(evs) != 1 {
		t.Fatalf("%s: renewed events %+v, want exactly one", id, evs)
	}
	return eventMillis(t, evs[0])
}

// TestRenewalWindowEdges pins RenewInstance's window: before expiry, just
// after it, up to seven days after it and once forwarding has stopped at
// seven days, a renewal succeeds and the new ExpireTime is the old one
// plus the months (not the renewal time plus the months); a renewed
// expired instance is Status 1, Enabled 1 again; at exactly thirty days
// after expiry it is refused with 400 InstanceNotRenewable, and nothing
// changes: same ExpireTime, Status 2, Enabled 0, no renewed event. The
// "minus 1 ms" edges are approached from renewalEdgeSlack before them (see
// there); the "plus" edges are exact lower bounds.
func TestRenewalWindowEdges(t *testing.T) {
	s := StartServer(t)
	c := BSSv1(t, s, testKeyID, testKeySecret)
	dd := SDKv1(t, s, "cn-hangzhou", testKeyID, testKeySecret)
	// Terms a month apart, so each case has its own expiry to move to.
	var ids [5]string
	var exp [5]int64
	for i := range ids {
		ids[i] = bssBuy(t, c, i+1, nil).Data.InstanceId
		exp[i] = v1Instance(t, dd, ids[i]).ExpireTime
	}
	renew := func(label string, i, months int) {
		t.Helper()
		resp, err := bssRenew(c, ids[i], months, "")
		if err != nil {
			t.Fatalf("%s: RenewInstance: %v", label, err)
		}
		if resp.Code != "Success" || !resp.Success || !bssOrderIDRE.MatchString(resp.Data.OrderId) {
			t.Fatalf("%s: RenewInstance = %s", label, resp.GetHttpContentString())
		}
		in := v1Instance(t, dd, ids[i])
		if want := bssAddMonths(exp[i], months); in.ExpireTime != want || in.Status != 1 || in.Enabled != 1 {
			t.Fatalf("%s: after renewing %d months: ExpireTime %d Status %d Enabled %d, want ExpireTime %d (old %d + %d months) Status 1 Enabled 1",
				label, months, in.ExpireTime, in.Status, in.Enabled, want, exp[i], months)
		}
	}

	// Just before expiry: no expired event, ever.
	bssSetClock(t, s, exp[0]-1-renewalEdgeSlack.Milliseconds())
	renew("before expiry", 0, 1)
	if at := bssRenewedAt(t, s, ids[0]); at >= exp[0] {
		t.Fatalf("before expiry: the renewal was served at %d, not before ExpireTime %d (the machine took over %s)", at, exp[0], renewalEdgeSlack)
	}
	if got := lifecycleTypes(t, s, ids[0]); !slices.Equal(got, []string{"renewed"}) {
		t.Fatalf("before expiry: events %v, want [renewed]", got)
	}

	// 1 ms after expiry: expired first, then renewed.
	bssSetClock(t, s, exp[1]+1)
	wantState(t, dd, ids[1], 2, 1)
	renew("1 ms after expiry", 1, 2)
	if at := bssRenewedAt(t, s, ids[1]); at < exp[1]+1 {
		t.Fatalf("1 ms after expiry: the renewal was served at %d, before %d", at, exp[1]+1)
	}
	if got := lifecycleTypes(t, s, ids[1]); !slices.Equal(got, []string{"expired", "renewed"}) {
		t.Fatalf("1 ms after expiry: events %v, want [expired renewed]", got)
	}

	// Just before the seventh day after expiry: still renewable.
	stop := exp[2] + forwardingGraceMs
	bssSetClock(t, s, stop-1-renewalEdgeSlack.Milliseconds())
	wantState(t, dd, ids[2], 2, 1)
	renew("7 days minus 1 ms after expiry", 2, 1)
	if at := bssRenewedAt(t, s, ids[2]); at >= stop {
		t.Fatalf("7 days minus 1 ms: the renewal was served at %d, not before %d (the machine took over %s)", at, stop, renewalEdgeSlack)
	}
	if got := lifecycleTypes(t, s, ids[2]); !slices.Equal(got, []string{"expired", "renewed"}) {
		t.Fatalf("7 days minus 1 ms: events %v, want [expired renewed]", got)
	}

	// Exactly 7 days after expiry: forwarding stopped, and renewal
	// restores it.
	bssSetClock(t, s, exp[3]+forwardingGraceMs)
	wantState(t, dd, ids[3], 2, 0)
	renew("7 days after expiry (stopped)", 3, 1)
	if got := lifecycleTypes(t, s, ids[3]); !slices.Equal(got, []string{"expired", "forwarding_stopped", "renewed"}) {
		t.Fatalf("7 days after expiry: events %v, want [expired forwarding_stopped renewed]", got)
	}

	// Exactly 30 days after expiry: refused, nothing changes.
	bssSetClock(t, s, exp[4]+renewalGraceMs)
	wantState(t, dd, ids[4], 2, 0)
	_, err := bssRenew(c, ids[4], 1, "")
	v1Error(t, err, 400, "InstanceNotRenewable")
	in := v1Instance(t, dd, ids[4])
	if in.ExpireTime != exp[4] || in.Status != 2 || in.Enabled != 0 {
		t.Fatalf("after a refused renewal: ExpireTime %d Status %d Enabled %d, want %d, 2, 0", in.ExpireTime, in.Status, in.Enabled, exp[4])
	}
	if got := lifecycleTypes(t, s, ids[4]); !slices.Equal(got, []string{"expired", "forwarding_stopped"}) {
		t.Fatalf("after a refused renewal: events %v, want [expired forwarding_stopped]", got)
	}
}

// TestAutoRenewal pins auto-renewal: at expiry the lifecycle engine renews
// an instance bought with RenewalStatus AutoRenewal for its RenewPeriod,
// and one switched on by SetRenewal for the RenewalPeriod given (M months,
// Y years): one auto_renewed event at the old ExpireTime, ExpireTime + the
// months, Status 1, no expired event. SetRenewal ManualRenewal turns it off
// again: that instance expires (one expired event, Status 2, no
// auto_renewed).
func TestAutoRenewal(t *testing.T) {
	s := StartServer(t)
	c := BSSv1(t, s, testKeyID, testKeySecret)
	dd := SDKv1(t, s, "cn-hangzhou", testKeyID, testKeySecret)
	auto := func(r *bssopenapi.CreateInstanceRequest) {
		r.RenewalStatus, r.RenewPeriod = "AutoRenewal", requests.NewInteger(2)
	}
	bought := bssBuy(t, c, 1, auto).Data.InstanceId
	switched := bssBuy(t, c, 1, nil).Data.InstanceId
	yearly := bssBuy(t, c, 1, nil).Data.InstanceId
	stopped := bssBuy(t, c, 1, auto).Data.InstanceId
	for _, set := range []struct {
		id, status string
		period     int
		unit       string
	}{{switched, "AutoRenewal", 3, "M"}, {yearly, "AutoRenewal", 1, "Y"}, {stopped, "ManualRenewal", 0, ""}} {
		resp, err := bssSetRenewal(c, set.id, set.status, set.period, set.unit)
		if err != nil {
			t.Fatalf("SetRenewal %s %s: %v", set.id, set.status, err)
		}
		if resp.Code != "Success" || !resp.Success || resp.Message != "Successful!" {
			t.Fatalf("SetRenewal = %s", resp.GetHttpContentString())
		}
	}
	exp := map[string]int64{}
	var last int64
	for _, id := range []string{bought, switched, yearly, stopped} {
		exp[id] = v1Instance(t, dd, id).ExpireTime
		last = max(last, exp[id])
	}

	bssSetClock(t, s, last+1)
	for id, months := range map[string]int{bought: 2, switched: 3, yearly: 12} {
		evs := eventsOfType(t, s, id, "auto_renewed")
		if len(evs) != 1 || eventMillis(t, evs[0]) != exp[id] {
			t.Fatalf("%s: auto_renewed events %+v, want one at the old ExpireTime %d", id, evs, exp[id])
		}
		in := v1Instance(t, dd, id)
		if want := bssAddMonths(exp[id], months); in.ExpireTime != want || in.Status != 1 || in.Enabled != 1 {
			t.Fatalf("%s: ExpireTime %d Status %d Enabled %d, want ExpireTime %d (+%d months) Status 1 Enabled 1", id, in.ExpireTime, in.Status, in.Enabled, want, months)
		}
		if got := lifecycleTypes(t, s, id); !slices.Equal(got, []string{"auto_renewed"}) {
			t.Fatalf("%s: events %v, want [auto_renewed]", id, got)
		}
	}
	wantState(t, dd, stopped, 2, 1)
	wantOneEvent(t, s, stopped, "expired", bssAccountOf(t, s, stopped), exp[stopped])
	if got := lifecycleTypes(t, s, stopped); !slices.Equal(got, []string{"expired"}) {
		t.Fatalf("after SetRenewal ManualRenewal: events %v, want [expired]", got)
	}
}

// bssAccountOf is the owner of an instance, from its created event.
func bssAccountOf(t testing.TB, s *Server, id string) string {
	t.Helper()
	evs := eventsOfType(t, s, id, "created")
	if len(evs) != 1 {
		t.Fatalf("%s: created events %+v, want one", id, evs)
	}
	return evs[0].AccountId
}

// bssInstanceCount is DescribeInstances' TotalCount in cn-hangzhou.
func bssInstanceCount(t testing.TB, dd *ddoscoo.Client) int64 {
	t.Helper()
	return v1List(t, dd, nil).TotalCount
}

// TestClientTokenCreateSequential pins CreateInstance's idempotency: the
// same ClientToken sent again returns the first call's InstanceId and
// OrderId and creates nothing (TotalCount 1, one created event); the same
// token with another Period is 400 IdempotentParameterMismatch and creates
// nothing; another token buys a second instance.
func TestClientTokenCreateSequential(t *testing.T) {
	s := StartServer(t)
	c := BSSv1(t, s, testKeyID, testKeySecret)
	dd := SDKv1(t, s, "cn-hangzhou", testKeyID, testKeySecret)
	token := func(tok string) func(*bssopenapi.CreateInstanceRequest) {
		return func(r *bssopenapi.CreateInstanceRequest) { r.ClientToken = tok }
	}
	first := bssBuy(t, c, 1, token("tok-1"))
	again := bssBuy(t, c, 1, token("tok-1"))
	if again.Data.InstanceId != first.Data.InstanceId || again.Data.OrderId != first.Data.OrderId {
		t.Fatalf("same token: %s / %s, want the first call's %s / %s", again.Data.InstanceId, again.Data.OrderId, first.Data.InstanceId, first.Data.OrderId)
	}
	if n := bssInstanceCount(t, dd); n != 1 {
		t.Fatalf("after a repeated token: TotalCount %d, want 1", n)
	}
	_, err := c.CreateInstance(bssBuyRequest(2, token("tok-1")))
	v1Error(t, err, 400, "IdempotentParameterMismatch")
	if n := bssInstanceCount(t, dd); n != 1 {
		t.Fatalf("after a mismatched token: TotalCount %d, want 1", n)
	}
	if evs := s.Events(t, "", "created"); len(evs) != 1 || evs[0].InstanceId != first.Data.InstanceId {
		t.Fatalf("created events %+v, want one for %s", evs, first.Data.InstanceId)
	}
	other := bssBuy(t, c, 1, token("tok-2"))
	if other.Data.InstanceId == first.Data.InstanceId || other.Data.OrderId == first.Data.OrderId {
		t.Fatalf("another token returned %s / %s, the first order's", other.Data.InstanceId, other.Data.OrderId)
	}
	if n := bssInstanceCount(t, dd); n != 2 {
		t.Fatalf("after a second token: TotalCount %d, want 2", n)
	}
}

// TestClientTokenCreateConcurrent pins idempotency under concurrent
// retries: 20 CreateInstance calls with one ClientToken, in flight at
// once, all succeed with the same InstanceId and OrderId, and exactly one
// instance exists (TotalCount 1, one created event).
func TestClientTokenCreateConcurrent(t *testing.T) {
	s := StartServer(t)
	c := BSSv1(t, s, testKeyID, testKeySecret)
	dd := SDKv1(t, s, "cn-hangzhou", testKeyID, testKeySecret)
	const n = 20
	var wg sync.WaitGroup
	results := make([]*bssopenapi.CreateInstanceResponse, n)
	errs := make([]error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			results[i], errs[i] = c.CreateInstance(bssBuyRequest(3, func(r *bssopenapi.CreateInstanceRequest) { r.ClientToken = "burst" }))
		}()
	}
	close(start)
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("call %d: %v", i, errs[i])
		}
		got, want := results[i].Data, results[0].Data
		if got.InstanceId != want.InstanceId || got.OrderId != want.OrderId || got.InstanceId == "" {
			t.Fatalf("call %d: %s / %s, call 0: %s / %s; want one order", i, got.InstanceId, got.OrderId, want.InstanceId, want.OrderId)
		}
	}
	if got := bssInstanceCount(t, dd); got != 1 {
		t.Fatalf("TotalCount %d after %d calls with one token, want 1", got, n)
	}
	if evs := s.Events(t, "", "created"); len(evs) != 1 || evs[0].InstanceId != results[0].Data.InstanceId {
		t.Fatalf("created events %+v, want one for %s", evs, results[0].Data.InstanceId)
	}
}

// TestClientTokenRenew pins RenewInstance's idempotency: a retried renewal
// (same ClientToken) returns the first OrderId and renews once (ExpireTime
// + 1 month, one renewed event); the same token with another RenewPeriod
// is 400 IdempotentParameterMismatch and changes nothing.
func TestClientTokenRenew(t *testing.T) {
	s := StartServer(t)
	c := BSSv1(t, s, testKeyID, testKeySecret)
	dd := SDKv1(t, s, "cn-hangzhou", testKeyID, testKeySecret)
	id := bssBuy(t, c, 1, nil).Data.InstanceId
	exp := v1Instance(t, dd, id).ExpireTime
	var orders []string
	for i := range 2 {
		resp, err := bssRenew(c, id, 1, "renew-once")
		if err != nil {
			t.Fatalf("RenewInstance %d: %v", i, err)
		}
		orders = append(orders, resp.Data.OrderId)
	}
	if orders[0] != orders[1] || !bssOrderIDRE.MatchString(orders[0]) {
		t.Fatalf("OrderIds %v, want one order twice", orders)
	}
	want := bssAddMonths(exp, 1)
	if got := v1Instance(t, dd, id).ExpireTime; got != want {
		t.Fatalf("ExpireTime %d after a retried renewal, want %d (renewed once)", got, want)
	}
	if evs := eventsOfType(t, s, id, "renewed"); len(evs) != 1 {
		t.Fatalf("renewed events %+v, want one", evs)
	}
	_, err := bssRenew(c, id, 2, "renew-once")
	v1Error(t, err, 400, "IdempotentParameterMismatch")
	if got := v1Instance(t, dd, id).ExpireTime; got != want {
		t.Fatalf("ExpireTime %d after a mismatched token, want %d", got, want)
	}
}

// TestIPPoolExhaustion pins allocation from a configured pool: with
// --ip-pool cn-hangzhou=192.0.2.0/30 (two usable addresses) two purchases
// get 192.0.2.1 and 192.0.2.2, and the third is 400 IpPoolExhausted and
// creates nothing (TotalCount 2, two created events).
func TestIPPoolExhaustion(t *testing.T) {
	s := StartServer(t, WithArgs("--ip-pool", "cn-hangzhou=192.0.2.0/30"))
	c := BSSv1(t, s, testKeyID, testKeySecret)
	dd := SDKv1(t, s, "cn-hangzhou", testKeyID, testKeySecret)
	var ips []string
	for range 2 {
		ips = append(ips, v1Instance(t, dd, bssBuy(t, c, 1, nil).Data.InstanceId).Ip)
	}
	slices.Sort(ips)
	if !slices.Equal(ips, []string{"192.0.2.1", "192.0.2.2"}) {
		t.Fatalf("IPs %v, want [192.0.2.1 192.0.2.2]", ips)
	}
	_, err := c.CreateInstance(bssBuyRequest(1, nil))
	v1Error(t, err, 400, "IpPoolExhausted")
	if n := bssInstanceCount(t, dd); n != 2 {
		t.Fatalf("TotalCount %d after an exhausted pool, want 2", n)
	}
	if evs := s.Events(t, "", "created"); len(evs) != 2 {
		t.Fatalf("created events %+v, want 2", evs)
	}
}
