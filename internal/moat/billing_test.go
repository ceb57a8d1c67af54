package moat_test

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"moat/internal/moat"
)

// ---- helpers ----

func (e *env) buy(t *testing.T, acct string, r moat.BuyRequest) moat.Order {
	t.Helper()
	o, err := e.svc.BuyInstance(e.ctx, e.caller(acct), r)
	if err != nil {
		t.Fatalf("BuyInstance(%+v): %v", r, err)
	}
	return o
}

func (e *env) stored(t *testing.T, id string) moat.Instance {
	t.Helper()
	in, err := e.store.Instance(e.ctx, id)
	if err != nil {
		t.Fatalf("store.Instance(%s): %v", id, err)
	}
	return in
}

// viewOf is the instance as the API shows it now (Status, Enabled).
func (e *env) viewOf(t *testing.T, acct string, in moat.Instance) moat.InstanceView {
	t.Helper()
	vs, err := e.svc.Instances(e.ctx, e.caller(acct), in.Region, []string{in.ID})
	if err != nil {
		t.Fatalf("Instances(%s): %v", in.ID, err)
	}
	return vs[0]
}

// countAll counts an account's instances in every region.
func (e *env) countAll(t *testing.T, acct string) int64 {
	t.Helper()
	n, err := e.store.CountInstances(e.ctx, moat.InstanceFilter{AccountID: acct})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// setClock moves server time to at without running the engine.
func (e *env) setClock(t *testing.T, at time.Time) {
	t.Helper()
	if _, _, err := e.svc.MoveClock(e.ctx, &at, nil); err != nil {
		t.Fatal(err)
	}
}

// moveTo moves server time to at and runs the engine, as the admin clock
// call does.
func (e *env) moveTo(t *testing.T, at time.Time) {
	t.Helper()
	e.advance(t, at.Sub(e.svc.Clock().Now()))
}

func (e *env) eventsOf(t *testing.T, id string) []moat.Event {
	t.Helper()
	evs, err := e.svc.Events(e.ctx, moat.EventFilter{InstanceID: id})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func wantCode(t *testing.T, what string, err error, code moat.Code) {
	t.Helper()
	if moat.ErrorCode(err) != code {
		t.Fatalf("%s: %v, want %s", what, err, code)
	}
}

var orderIDShape = regexp.MustCompile(`^[1-9][0-9]{14}$`)

// ---- BuyInstance ----

// TestBuyInstance pins what CreateInstance makes: the ID shape of its
// region, an expiry Period calendar months on (in milliseconds), the spec
// of its parameters, the edition, the renewal settings (RenewPeriod
// defaulting to Period), the account's resource group, an IP, and one
// created event naming the request and the order.
func TestBuyInstance(t *testing.T) {
	now := time.Date(2026, 1, 15, 10, 20, 30, 123456789, time.UTC)
	ms := time.Date(2026, 1, 15, 10, 20, 30, 123000000, time.UTC)
	cases := []struct {
		name     string
		req      moat.BuyRequest
		region   moat.Region
		prefix   string
		expire   time.Time
		spec     func(*moat.Spec)
		edition  int
		renewPer int
	}{
		{"Pro, one month, defaults", moat.BuyRequest{ProductType: moat.ProductDdoscoo, Period: 1, RenewalStatus: moat.RenewalManual},
			moat.RegionMainland, "ddoscoo-cn-", ms.AddDate(0, 1, 0), func(*moat.Spec) {}, moat.EditionProfession, 1},
		{"Pro intl, two months (59 days), parameters", moat.BuyRequest{ProductType: moat.ProductDdoscooIntl, Period: 2, RenewalStatus: moat.RenewalAuto, RenewPeriod: 12,
			Params: []moat.Param{{Code: "Bandwidth", Value: "100"}, {Code: "PortCount", Value: "80"}, {Code: "AddressType", Value: ""}}},
			moat.RegionMainland, "ddoscoo-cn-", time.Date(2026, 3, 15, 10, 20, 30, 123000000, time.UTC),
			func(s *moat.Spec) { s.Bandwidth, s.PortCount = 100, 80 }, moat.EditionProfession, 12},
		{"Premium, three years, plan CMA", moat.BuyRequest{ProductType: moat.ProductDdosDip, Period: 36, RenewalStatus: moat.RenewalNone,
			Params: []moat.Param{{Code: "ProductPlan", Value: "2"}, {Code: "NormalBandwidth", Value: "50"}}},
			moat.RegionOverseas, "ddosDip-sg-", time.Date(2029, 1, 15, 10, 20, 30, 123000000, time.UTC),
			func(s *moat.Spec) { s.ProductPlan, s.NormalBandwidth = 2, 50 }, moat.EditionCMA, 36},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, moat.Config{})
			e.setClock(t, now)
			c.req.RequestID = "REQ-" + c.name
			o := e.buy(t, e.acct, c.req)
			if !orderIDShape.MatchString(o.OrderID) || !strings.HasPrefix(o.InstanceID, c.prefix) || len(o.InstanceID) != len(c.prefix)+12 {
				t.Fatalf("order %+v: want a 15-digit OrderId and an InstanceId %s + 12 characters", o, c.prefix)
			}
			in := e.stored(t, o.InstanceID)
			acct, err := e.store.Account(e.ctx, e.acct)
			if err != nil || acct.ResourceGroupID == "" {
				t.Fatalf("account %+v, %v: want a default resource group", acct, err)
			}
			spec := moat.DefaultSpec(c.req.ProductType)
			c.spec(&spec)
			switch {
			case in.AccountID != e.acct || in.Region != c.region || in.ProductType != c.req.ProductType:
				t.Errorf("owner, region, product = %s, %s, %s", in.AccountID, in.Region, in.ProductType)
			case !in.CreateTime.Equal(ms) || !in.ExpireTime.Equal(c.expire):
				t.Errorf("created %s expires %s; want %s and %s", in.CreateTime, in.ExpireTime, ms, c.expire)
			case in.Spec != spec:
				t.Errorf("spec = %+v, want %+v", in.Spec, spec)
			case in.Edition != c.edition:
				t.Errorf("edition = %d, want %d", in.Edition, c.edition)
			case in.RenewalStatus != c.req.RenewalStatus || in.RenewPeriod != c.renewPer:
				t.Errorf("renewal = %s/%d, want %s/%d", in.RenewalStatus, in.RenewPeriod, c.req.RenewalStatus, c.renewPer)
			case in.ResourceGroupID != acct.ResourceGroupID:
				t.Errorf("resource group = %q, want the account's %q", in.ResourceGroupID, acct.ResourceGroupID)
			case in.IP == "" || in.Phase != moat.PhaseActive:
				t.Errorf("IP %q phase %d", in.IP, in.Phase)
			}
			if v := e.viewOf(t, e.acct, in); v.Status != moat.StatusNormal || v.Enabled != 1 || !v.Mitigating {
				t.Errorf("view = status %d enabled %d mitigating %v; want a normal instance", v.Status, v.Enabled, v.Mitigating)
			}
			evs := e.eventsOf(t, o.InstanceID)
			if len(evs) != 1 || evs[0].Type != moat.EventCreated || evs[0].RequestID != c.req.RequestID ||
				!strings.Contains(evs[0].Reason, o.OrderID) || !evs[0].Time.Equal(ms) || evs[0].AccountID != e.acct {
				t.Errorf("events = %+v; want one created event of the request, naming order %s", evs, o.OrderID)
			}
		})
	}
}

// TestBuyInstanceRefusals pins the validation of CreateInstance: a bad
// Period, RenewPeriod, ClientToken or parameter is InvalidParameter, and
// nothing is created.
func TestBuyInstanceRefusals(t *testing.T) {
	e := newEnv(t, moat.Config{})
	ok := moat.BuyRequest{ProductType: moat.ProductDdoscoo, Period: 1, RenewalStatus: moat.RenewalManual}
	cases := []struct {
		name string
		mod  func(*moat.BuyRequest)
	}{
		{"Period 0", func(r *moat.BuyRequest) { r.Period = 0 }},
		{"Period 10", func(r *moat.BuyRequest) { r.Period = 10 }},
		{"RenewPeriod 11", func(r *moat.BuyRequest) { r.RenewPeriod = 11 }},
		{"ClientToken of 65 characters", func(r *moat.BuyRequest) { r.ClientToken = strings.Repeat("a", 65) }},
		{"ClientToken with a space", func(r *moat.BuyRequest) { r.ClientToken = "a b" }},
		{"ClientToken not ASCII", func(r *moat.BuyRequest) { r.ClientToken = "tökén" }},
		{"unknown parameter", func(r *moat.BuyRequest) { r.Params = []moat.Param{{Code: "Colour", Value: "red"}} }},
		{"out of range parameter", func(r *moat.BuyRequest) { r.Params = []moat.Param{{Code: "PortCount", Value: "45"}} }},
		{"Ipv6", func(r *moat.BuyRequest) { r.Params = []moat.Param{{Code: "AddressType", Value: "Ipv6"}} }},
		{"Bandwidth below BaseBandwidth", func(r *moat.BuyRequest) { r.Params = []moat.Param{{Code: "BaseBandwidth", Value: "100"}} }},
	}
	for _, c := range cases {
		r := ok
		c.mod(&r)
		if _, err := e.svc.BuyInstance(e.ctx, e.caller(e.acct), r); moat.ErrorCode(err) != moat.CodeInvalidParameter {
			t.Errorf("%s: %v, want InvalidParameter", c.name, err)
		}
	}
	if n := e.countAll(t, e.acct); n != 0 {
		t.Fatalf("refused purchases left %d instances", n)
	}
	r := ok
	r.ClientToken = strings.Repeat("a", 64)
	e.buy(t, e.acct, r) // 64 characters is fine
}

// TestBuyInstancePoolExhausted pins that a purchase with no free address
// is IpPoolExhausted and leaves nothing (no instance, no event, no used
// ClientToken), and that a release makes room.
func TestBuyInstancePoolExhausted(t *testing.T) {
	e := newEnv(t, moat.Config{Pools: map[moat.Region]moat.Pool{moat.RegionMainland: moat.MustPool("192.0.2.0/30")}})
	r := moat.BuyRequest{ProductType: moat.ProductDdoscoo, Period: 1, RenewalStatus: moat.RenewalManual}
	first := e.buy(t, e.acct, r)
	e.buy(t, e.acct, r)
	r.ClientToken = "third"
	_, err := e.svc.BuyInstance(e.ctx, e.caller(e.acct), r)
	wantCode(t, "third purchase in a /30", err, moat.CodeIPPoolExhausted)
	if moat.ErrorKind(err) != moat.KindConflict {
		t.Errorf("kind %s, want conflict (a 4xx)", moat.ErrorKind(err))
	}
	if n := e.countAll(t, e.acct); n != 2 {
		t.Fatalf("%d instances after a failed purchase, want 2", n)
	}
	if evs, _ := e.svc.Events(e.ctx, moat.EventFilter{Type: moat.EventCreated}); len(evs) != 2 {
		t.Fatalf("%d created events, want 2", len(evs))
	}
	// The other region has its own pool.
	e.buy(t, e.acct, moat.BuyRequest{ProductType: moat.ProductDdosDip, Period: 1})
	// After a release the same token buys: the failure did not record it.
	e.moveTo(t, e.stored(t, first.InstanceID).ExpireTime)
	if err := e.svc.ReleaseInstance(e.ctx, e.caller(e.acct), moat.RegionMainland, first.InstanceID, "R"); err != nil {
		t.Fatal(err)
	}
	o := e.buy(t, e.acct, r)
	if o.InstanceID == first.InstanceID || e.stored(t, o.InstanceID).IP != "192.0.2.1" {
		t.Fatalf("after a release: %+v, want a new instance on the freed 192.0.2.1", o)
	}
}

// ---- ClientToken ----

// TestClientTokenIdempotency pins BSS idempotency: the same token with the
// same parameters (in any order) within 24 hours is the same order and
// instance; with other parameters IdempotentParameterMismatch; tokens are
// per account and per action; from 24 hours on the token starts afresh.
func TestClientTokenIdempotency(t *testing.T) {
	e := newEnv(t, moat.Config{})
	r := moat.BuyRequest{ProductType: moat.ProductDdoscoo, Period: 1, RenewalStatus: moat.RenewalManual, ClientToken: "tok-A",
		Params: []moat.Param{{Code: "PortCount", Value: "60"}, {Code: "Bandwidth", Value: "50"}}}
	first := e.buy(t, e.acct, r)
	again := e.buy(t, e.acct, r)
	swapped := r
	swapped.Params = []moat.Param{r.Params[1], r.Params[0]}
	reordered := e.buy(t, e.acct, swapped)
	if again != first || reordered != first {
		t.Fatalf("retries = %+v, %+v; want the first order %+v", again, reordered, first)
	}
	if n := e.countAll(t, e.acct); n != 1 {
		t.Fatalf("%d instances after retries, want 1", n)
	}
	for _, c := range []struct {
		name string
		mod  func(*moat.BuyRequest)
	}{
		{"another Period", func(r *moat.BuyRequest) { r.Period = 2 }},
		{"another product", func(r *moat.BuyRequest) { r.ProductType = moat.ProductDdoscooIntl }},
		{"another renewal", func(r *moat.BuyRequest) { r.RenewalStatus = moat.RenewalAuto }},
		{"another value", func(r *moat.BuyRequest) {
			r.Params = []moat.Param{{Code: "PortCount", Value: "65"}, {Code: "Bandwidth", Value: "50"}}
		}},
		{"a parameter less", func(r *moat.BuyRequest) { r.Params = r.Params[:1] }},
	} {
		other := r
		c.mod(&other)
		_, err := e.svc.BuyInstance(e.ctx, e.caller(e.acct), other)
		if moat.ErrorCode(err) != moat.CodeIdempotentParameterMismatch || moat.ErrorKind(err) != moat.KindConflict {
			t.Errorf("%s with the same token: %v, want IdempotentParameterMismatch", c.name, err)
		}
	}
	if n := e.countAll(t, e.acct); n != 1 {
		t.Fatalf("%d instances after mismatches, want 1", n)
	}
	// Another account's token is its own.
	if o := e.buy(t, e.other, r); o.InstanceID == first.InstanceID || o.OrderID == first.OrderID {
		t.Fatalf("another account with the same token got %+v", o)
	}
	// So is another action's: renewing with the token works.
	renew, err := e.svc.RenewInstance(e.ctx, e.caller(e.acct), moat.RenewRequest{InstanceID: first.InstanceID, ProductType: moat.ProductDdoscoo, RenewPeriod: 1, ClientToken: "tok-A"})
	if err != nil || renew.OrderID == first.OrderID {
		t.Fatalf("RenewInstance with the CreateInstance token = %+v, %v; want a new order", renew, err)
	}
	if evs := e.eventsOf(t, first.InstanceID); len(evs) != 2 || evs[0].Type != moat.EventCreated {
		t.Fatalf("events %+v, want one created and one renewed", evs)
	}

	// Up to 24 hours later the token still answers.
	e.advance(t, moat.ClientTokenWindow-time.Millisecond)
	if o := e.buy(t, e.acct, r); o != first {
		t.Fatalf("24h - 1ms later: %+v, want %+v", o, first)
	}
	// From 24 hours on it is a new purchase, even with other parameters;
	// a retry then answers with the new order.
	e.advance(t, time.Millisecond)
	other := r
	other.Period = 2
	fresh := e.buy(t, e.acct, other)
	if fresh.InstanceID == first.InstanceID || fresh.OrderID == first.OrderID {
		t.Fatalf("24h later: %+v, want a new order", fresh)
	}
	if o := e.buy(t, e.acct, other); o != fresh {
		t.Fatalf("retry of the new order: %+v, want %+v", o, fresh)
	}
	if _, err := e.svc.BuyInstance(e.ctx, e.caller(e.acct), r); moat.ErrorCode(err) != moat.CodeIdempotentParameterMismatch {
		t.Fatalf("the first parameters after the token was reused: %v, want IdempotentParameterMismatch", err)
	}
	if n := e.countAll(t, e.acct); n != 2 {
		t.Fatalf("%d instances, want 2", n)
	}
}

// TestClientTokenConcurrent pins idempotency under concurrent retries: 20
// simultaneous purchases with one token make one instance and all get its
// order; 20 simultaneous renewals with one token extend it once.
func TestClientTokenConcurrent(t *testing.T) {
	e := newEnv(t, moat.Config{})
	r := moat.BuyRequest{ProductType: moat.ProductDdosDip, Period: 1, RenewalStatus: moat.RenewalManual, ClientToken: "same-token"}
	const n = 20
	orders := make([]moat.Order, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			orders[i], errs[i] = e.svc.BuyInstance(e.ctx, e.caller(e.acct), r)
		}()
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil || orders[i] != orders[0] {
			t.Fatalf("call %d = %+v, %v; want %+v", i, orders[i], errs[i], orders[0])
		}
	}
	if c := e.countAll(t, e.acct); c != 1 {
		t.Fatalf("%d instances, want 1", c)
	}
	if evs, _ := e.svc.Events(e.ctx, moat.EventFilter{Type: moat.EventCreated}); len(evs) != 1 {
		t.Fatalf("%d created events, want 1", len(evs))
	}

	id := orders[0].InstanceID
	before := e.stored(t, id).ExpireTime
	rr := moat.RenewRequest{InstanceID: id, ProductType: moat.ProductDdosDip, RenewPeriod: 1, ClientToken: "renew-token"}
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			orders[i], errs[i] = e.svc.RenewInstance(e.ctx, e.caller(e.acct), rr)
		}()
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil || orders[i] != orders[0] {
			t.Fatalf("renewal %d = %+v, %v; want %+v", i, orders[i], errs[i], orders[0])
		}
	}
	if got, want := e.stored(t, id).ExpireTime, before.AddDate(0, 1, 0); !got.Equal(want) {
		t.Fatalf("after 20 renewals with one token the instance expires %s, want %s (renewed once)", got, want)
	}
}

// ---- RenewInstance ----

// TestRenewWindow pins the renewal window on the fake clock: renewal is
// allowed up to the last millisecond before expiry + 30 days (forwarding
// stops at 7 days; renewal restores it), extends from the old expiry, and
// makes the instance normal, forwarding and active again, so its next
// expiry is announced anew; from expiry + 30 days it is
// InstanceNotRenewable and nothing changes.
func TestRenewWindow(t *testing.T) {
	cases := []struct {
		name    string
		after   time.Duration // from expiry
		ok      bool
		history string // before the renewal's own event
	}{
		{"1 ms before expiry", -time.Millisecond, true, "[created]"},
		{"at expiry", 0, true, "[created expired]"},
		{"1 ms after expiry", time.Millisecond, true, "[created expired]"},
		{"7 days minus 1 ms after expiry", moat.ForwardingGrace - time.Millisecond, true, "[created expired]"},
		{"exactly 7 days after expiry (forwarding stopped)", moat.ForwardingGrace, true, "[created expired forwarding_stopped]"},
		{"30 days minus 1 ms after expiry", moat.RenewalGrace - time.Millisecond, true, "[created expired forwarding_stopped]"},
		{"exactly 30 days after expiry", moat.RenewalGrace, false, "[created expired forwarding_stopped]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, moat.Config{})
			o := e.buy(t, e.acct, moat.BuyRequest{ProductType: moat.ProductDdoscoo, Period: 1, RenewalStatus: moat.RenewalManual})
			old := e.stored(t, o.InstanceID)
			e.moveTo(t, old.ExpireTime.Add(c.after))
			if got := fmt.Sprint(e.events(t, o.InstanceID)); got != c.history {
				t.Fatalf("history before renewing = %s, want %s", got, c.history)
			}
			before := e.stored(t, o.InstanceID)
			r := moat.RenewRequest{InstanceID: o.InstanceID, ProductType: moat.ProductDdoscoo, RenewPeriod: 2, RequestID: "REQ-renew"}
			order, err := e.svc.RenewInstance(e.ctx, e.caller(e.acct), r)
			if !c.ok {
				wantCode(t, "renewal", err, moat.CodeInstanceNotRenewable)
				if moat.ErrorKind(err) != moat.KindConflict {
					t.Errorf("kind %s, want conflict (a 4xx)", moat.ErrorKind(err))
				}
				if now := e.stored(t, o.InstanceID); now != before {
					t.Fatalf("a refused renewal changed the instance: %+v, was %+v", now, before)
				}
				if got := fmt.Sprint(e.events(t, o.InstanceID)); got != c.history {
					t.Fatalf("a refused renewal recorded events: %s", got)
				}
				if v := e.viewOf(t, e.acct, old); v.Status != moat.StatusExpired || v.Enabled != 0 {
					t.Fatalf("view %+v, want status 2 enabled 0", v)
				}
				return
			}
			if err != nil || order.InstanceID != o.InstanceID || !orderIDShape.MatchString(order.OrderID) || order.OrderID == o.OrderID {
				t.Fatalf("RenewInstance = %+v, %v; want a new order for %s", order, err, o.InstanceID)
			}
			in := e.stored(t, o.InstanceID)
			if want := old.ExpireTime.AddDate(0, 2, 0); !in.ExpireTime.Equal(want) || in.Phase != moat.PhaseActive {
				t.Fatalf("renewed: expires %s phase %d; want %s (from the old expiry) and active", in.ExpireTime, in.Phase, want)
			}
			if v := e.viewOf(t, e.acct, in); v.Status != moat.StatusNormal || v.Enabled != 1 || !v.Mitigating {
				t.Fatalf("renewed view: status %d enabled %d mitigating %v; want 1, 1, true", v.Status, v.Enabled, v.Mitigating)
			}
			evs := e.eventsOf(t, o.InstanceID)
			last := evs[len(evs)-1]
			if want := strings.TrimSuffix(c.history, "]") + " renewed]"; fmt.Sprint(e.events(t, o.InstanceID)) != want {
				t.Fatalf("history = %s, want %s", fmt.Sprint(e.events(t, o.InstanceID)), want)
			}
			if last.RequestID != "REQ-renew" || !strings.Contains(last.Reason, order.OrderID) || !last.Time.Equal(e.svc.Clock().Now()) {
				t.Fatalf("renewed event %+v", last)
			}
			// The next expiry is announced again, at its own time.
			e.moveTo(t, in.ExpireTime)
			evs = e.eventsOf(t, o.InstanceID)
			if want := strings.TrimSuffix(c.history, "]") + " renewed expired]"; fmt.Sprint(e.events(t, o.InstanceID)) != want {
				t.Fatalf("history after the new expiry = %s, want %s", fmt.Sprint(e.events(t, o.InstanceID)), want)
			}
			if got := evs[len(evs)-1].Time; !got.Equal(in.ExpireTime) {
				t.Fatalf("second expired event at %s, want %s", got, in.ExpireTime)
			}
		})
	}
}

// TestRenewRecordsOwedExpiry pins that a renewal after expiry that the
// engine has not announced yet records the expiry first, at its due time,
// so the history reads created, expired, renewed; the engine adds nothing
// afterwards.
func TestRenewRecordsOwedExpiry(t *testing.T) {
	e := newEnv(t, moat.Config{})
	o := e.buy(t, e.acct, moat.BuyRequest{ProductType: moat.ProductDdoscoo, Period: 1})
	exp := e.stored(t, o.InstanceID).ExpireTime
	e.setClock(t, exp.Add(3*24*time.Hour)) // the engine does not run
	if _, err := e.svc.RenewInstance(e.ctx, e.caller(e.acct), moat.RenewRequest{InstanceID: o.InstanceID, ProductType: moat.ProductDdoscoo, RenewPeriod: 1}); err != nil {
		t.Fatal(err)
	}
	e.advance(t, 0)
	evs := e.eventsOf(t, o.InstanceID)
	if got := fmt.Sprint(e.events(t, o.InstanceID)); got != "[created expired renewed]" {
		t.Fatalf("history = %s", got)
	}
	if !evs[1].Time.Equal(exp) {
		t.Fatalf("expired event at %s, want the expiry %s", evs[1].Time, exp)
	}
}

// TestRenewRules pins RenewInstance's refusals (unknown, another
// account's, another product's region: InstanceNotFound; a bad period:
// InvalidParameter) and its ClientToken: a retry renews once, other
// parameters are IdempotentParameterMismatch.
func TestRenewRules(t *testing.T) {
	e := newEnv(t, moat.Config{})
	o := e.buy(t, e.acct, moat.BuyRequest{ProductType: moat.ProductDdoscoo, Period: 1})
	before := e.stored(t, o.InstanceID)
	for _, c := range []struct {
		name   string
		caller string
		r      moat.RenewRequest
		code   moat.Code
	}{
		{"unknown", e.acct, moat.RenewRequest{InstanceID: "ddoscoo-cn-unknown00000", ProductType: moat.ProductDdoscoo, RenewPeriod: 1}, moat.CodeInstanceNotFound},
		{"another account's", e.other, moat.RenewRequest{InstanceID: o.InstanceID, ProductType: moat.ProductDdoscoo, RenewPeriod: 1}, moat.CodeInstanceNotFound},
		{"another product's region", e.acct, moat.RenewRequest{InstanceID: o.InstanceID, ProductType: moat.ProductDdosDip, RenewPeriod: 1}, moat.CodeInstanceNotFound},
		{"RenewPeriod 0", e.acct, moat.RenewRequest{InstanceID: o.InstanceID, ProductType: moat.ProductDdoscoo}, moat.CodeInvalidParameter},
		{"RenewPeriod 13", e.acct, moat.RenewRequest{InstanceID: o.InstanceID, ProductType: moat.ProductDdoscoo, RenewPeriod: 13}, moat.CodeInvalidParameter},
	} {
		if _, err := e.svc.RenewInstance(e.ctx, e.caller(c.caller), c.r); moat.ErrorCode(err) != c.code {
			t.Errorf("%s: %v, want %s", c.name, err, c.code)
		}
	}
	if got := e.stored(t, o.InstanceID); got != before {
		t.Fatalf("refused renewals changed the instance: %+v", got)
	}
	r := moat.RenewRequest{InstanceID: o.InstanceID, ProductType: moat.ProductDdoscoo, RenewPeriod: 3, ClientToken: "renew-1"}
	first, err := e.svc.RenewInstance(e.ctx, e.caller(e.acct), r)
	if err != nil {
		t.Fatal(err)
	}
	if again, err := e.svc.RenewInstance(e.ctx, e.caller(e.acct), r); err != nil || again != first {
		t.Fatalf("retry = %+v, %v; want %+v", again, err, first)
	}
	r.RenewPeriod = 6
	if _, err := e.svc.RenewInstance(e.ctx, e.caller(e.acct), r); moat.ErrorCode(err) != moat.CodeIdempotentParameterMismatch {
		t.Fatalf("same token, other RenewPeriod: %v", err)
	}
	if got, want := e.stored(t, o.InstanceID).ExpireTime, before.ExpireTime.AddDate(0, 3, 0); !got.Equal(want) {
		t.Fatalf("expires %s, want %s (renewed exactly once)", got, want)
	}
}

// ---- ModifyInstanceSpec ----

// TestModifyInstanceSpec pins Upgrade/Downgrade on a live instance: the
// new spec is stored with a modified event naming the request, the order
// and the changes; a refused change, another account's or region's
// instance (InstanceNotFound) and an expired instance (InstanceExpired)
// change nothing; a ClientToken retry modifies once.
func TestModifyInstanceSpec(t *testing.T) {
	e := newEnv(t, moat.Config{})
	o := e.buy(t, e.acct, moat.BuyRequest{ProductType: moat.ProductDdoscoo, Period: 1})
	me := e.caller(e.acct)
	up := moat.ModifyRequest{InstanceID: o.InstanceID, ProductType: moat.ProductDdoscoo, ModifyType: moat.ModifyUpgrade, RequestID: "REQ-up", ClientToken: "up-1",
		Params: []moat.Param{{Code: "PortCount", Value: "100"}, {Code: "Bandwidth", Value: "100"}}}
	order, err := e.svc.ModifyInstanceSpec(e.ctx, me, up)
	if err != nil || order.InstanceID != o.InstanceID || !orderIDShape.MatchString(order.OrderID) {
		t.Fatalf("upgrade = %+v, %v", order, err)
	}
	if again, err := e.svc.ModifyInstanceSpec(e.ctx, me, up); err != nil || again != order {
		t.Fatalf("retry = %+v, %v; want %+v", again, err, order)
	}
	want := moat.DefaultSpec(moat.ProductDdoscoo)
	want.PortCount, want.Bandwidth = 100, 100
	in := e.stored(t, o.InstanceID)
	if in.Spec != want || in.Edition != moat.EditionProfession {
		t.Fatalf("after the upgrade: spec %+v edition %d; want %+v and 9", in.Spec, in.Edition, want)
	}
	evs := e.eventsOf(t, o.InstanceID)
	if len(evs) != 2 || evs[1].Type != moat.EventModified || evs[1].RequestID != "REQ-up" ||
		!strings.Contains(evs[1].Reason, order.OrderID) || !strings.Contains(evs[1].Reason, "Bandwidth=100") || !strings.Contains(evs[1].Reason, "PortCount=100") {
		t.Fatalf("events = %+v; want created and one modified event", evs)
	}

	refused := []struct {
		name   string
		caller moat.Caller
		r      moat.ModifyRequest
		code   moat.Code
	}{
		{"ports down", me, moat.ModifyRequest{InstanceID: o.InstanceID, ProductType: moat.ProductDdoscoo, ModifyType: moat.ModifyDowngrade, Params: []moat.Param{{Code: "PortCount", Value: "50"}}}, moat.CodeInvalidParameter},
		{"no parameters", me, moat.ModifyRequest{InstanceID: o.InstanceID, ProductType: moat.ProductDdoscoo, ModifyType: moat.ModifyUpgrade}, "MissingParams.1.Code"},
		{"another account", e.caller(e.other), moat.ModifyRequest{InstanceID: o.InstanceID, ProductType: moat.ProductDdoscoo, ModifyType: moat.ModifyUpgrade, Params: up.Params}, moat.CodeInstanceNotFound},
		{"another region", me, moat.ModifyRequest{InstanceID: o.InstanceID, ProductType: moat.ProductDdosDip, ModifyType: moat.ModifyUpgrade, Params: up.Params}, moat.CodeInstanceNotFound},
		{"token reused with other parameters", me, moat.ModifyRequest{InstanceID: o.InstanceID, ProductType: moat.ProductDdoscoo, ModifyType: moat.ModifyUpgrade, ClientToken: "up-1", Params: []moat.Param{{Code: "PortCount", Value: "200"}}}, moat.CodeIdempotentParameterMismatch},
	}
	check := func(when string) {
		t.Helper()
		for _, c := range refused {
			if _, err := e.svc.ModifyInstanceSpec(e.ctx, c.caller, c.r); moat.ErrorCode(err) != c.code {
				t.Errorf("%s, %s: %v, want %s", when, c.name, err, c.code)
			}
		}
	}
	check("live")
	if got := e.stored(t, o.InstanceID); got != in {
		t.Fatalf("refused changes changed the instance: %+v", got)
	}
	if n := len(e.eventsOf(t, o.InstanceID)); n != 2 {
		t.Fatalf("%d events after refused changes, want 2", n)
	}

	down := moat.ModifyRequest{InstanceID: o.InstanceID, ProductType: moat.ProductDdoscoo, ModifyType: moat.ModifyDowngrade, Params: []moat.Param{{Code: "Bandwidth", Value: "50"}}}
	if _, err := e.svc.ModifyInstanceSpec(e.ctx, me, down); err != nil {
		t.Fatalf("downgrade: %v", err)
	}
	if got := e.stored(t, o.InstanceID).Spec.Bandwidth; got != 50 {
		t.Fatalf("Bandwidth after the downgrade = %d", got)
	}

	// Expired: renew first.
	e.moveTo(t, in.ExpireTime)
	expired := e.stored(t, o.InstanceID)
	up.ClientToken = ""
	up.Params = []moat.Param{{Code: "PortCount", Value: "150"}}
	_, err = e.svc.ModifyInstanceSpec(e.ctx, me, up)
	wantCode(t, "modify an expired instance", err, moat.CodeInstanceExpired)
	if moat.ErrorKind(err) != moat.KindConflict {
		t.Errorf("kind %s, want conflict", moat.ErrorKind(err))
	}
	if got := e.stored(t, o.InstanceID); got != expired {
		t.Fatalf("a refused change on an expired instance changed it: %+v", got)
	}
	if _, err := e.svc.RenewInstance(e.ctx, me, moat.RenewRequest{InstanceID: o.InstanceID, ProductType: moat.ProductDdoscoo, RenewPeriod: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.ModifyInstanceSpec(e.ctx, me, up); err != nil {
		t.Fatalf("modify after renewing: %v", err)
	}
}

// TestModifyKeepsPremiumEdition pins that a spec change never changes a
// Premium instance's edition (its ProductPlan cannot change), also for an
// instance made through the admin API with an edition of its own.
func TestModifyKeepsPremiumEdition(t *testing.T) {
	e := newEnv(t, moat.Config{})
	d := 24 * time.Hour * 60
	made, err := e.svc.CreateInstances(e.ctx, moat.NewInstances{AccountID: e.acct, Region: moat.RegionOverseas, Edition: ptr(moat.EditionCMA), ExpireIn: &d})
	if err != nil {
		t.Fatal(err)
	}
	bought := e.buy(t, e.acct, moat.BuyRequest{ProductType: moat.ProductDdosDip, Period: 1, Params: []moat.Param{{Code: "ProductPlan", Value: "3"}}})
	for id, edition := range map[string]int{made[0].ID: moat.EditionCMA, bought.InstanceID: moat.EditionSecCMA} {
		_, err := e.svc.ModifyInstanceSpec(e.ctx, e.caller(e.acct), moat.ModifyRequest{InstanceID: id, ProductType: moat.ProductDdosDip,
			ModifyType: moat.ModifyUpgrade, Params: []moat.Param{{Code: "NormalQps", Value: "4000"}}})
		if err != nil {
			t.Fatalf("upgrade %s: %v", id, err)
		}
		if in := e.stored(t, id); in.Edition != edition || in.Spec.ProductPlan != edition || in.Spec.NormalQps != 4000 {
			t.Errorf("%s after an upgrade: edition %d, plan %d, QPS %d; want edition and plan %d", id, in.Edition, in.Spec.ProductPlan, in.Spec.NormalQps, edition)
		}
	}
}

// ---- SetRenewal ----

// TestSetRenewal pins SetRenewal: AutoRenewal needs a valid period and
// stores it; ManualRenewal and NotRenewal keep the period when none is
// given; the call is all or nothing: an unknown, foreign or other-region
// ID is InstanceNotFound and no instance changes.
func TestSetRenewal(t *testing.T) {
	e := newEnv(t, moat.Config{})
	var ids []string
	for range 3 {
		ids = append(ids, e.buy(t, e.acct, moat.BuyRequest{ProductType: moat.ProductDdoscoo, Period: 1, RenewalStatus: moat.RenewalManual}).InstanceID)
	}
	foreign := e.buy(t, e.other, moat.BuyRequest{ProductType: moat.ProductDdoscoo, Period: 1}).InstanceID
	premium := e.buy(t, e.acct, moat.BuyRequest{ProductType: moat.ProductDdosDip, Period: 1}).InstanceID
	me := e.caller(e.acct)
	type state struct {
		status moat.RenewalStatus
		period int
	}
	want := map[string]state{ids[0]: {moat.RenewalManual, 1}, ids[1]: {moat.RenewalManual, 1}, ids[2]: {moat.RenewalManual, 1}}
	check := func(when string) {
		t.Helper()
		for id, w := range want {
			if in := e.stored(t, id); in.RenewalStatus != w.status || in.RenewPeriod != w.period {
				t.Errorf("%s: %s is %s/%d, want %s/%d", when, id, in.RenewalStatus, in.RenewPeriod, w.status, w.period)
			}
		}
	}
	for _, c := range []struct {
		name   string
		ids    []string
		status moat.RenewalStatus
		months int
		code   moat.Code
	}{
		{"AutoRenewal without a period", ids, moat.RenewalAuto, 0, moat.CodeInvalidParameter},
		{"AutoRenewal for 10 months", ids, moat.RenewalAuto, 10, moat.CodeInvalidParameter},
		{"no IDs", nil, moat.RenewalAuto, 1, "MissingIDs"},
		{"101 IDs", make([]string, 101), moat.RenewalManual, 0, moat.CodeInvalidParameter},
		{"an unknown ID among known ones", []string{ids[0], "ddoscoo-cn-unknown00000", ids[2]}, moat.RenewalAuto, 12, moat.CodeInstanceNotFound},
		{"another account's ID last", []string{ids[0], ids[1], foreign}, moat.RenewalAuto, 12, moat.CodeInstanceNotFound},
		{"another region's ID", []string{ids[0], premium}, moat.RenewalAuto, 12, moat.CodeInstanceNotFound},
	} {
		if err := e.svc.SetRenewal(e.ctx, me, moat.ProductDdoscoo, c.ids, c.status, c.months); moat.ErrorCode(err) != c.code {
			t.Errorf("%s: %v, want %s", c.name, err, c.code)
		}
	}
	check("after refused calls")
	if in := e.stored(t, foreign); in.RenewalStatus != "" && in.RenewalStatus != moat.RenewalManual {
		t.Errorf("another account's instance changed: %s", in.RenewalStatus)
	}

	if err := e.svc.SetRenewal(e.ctx, me, moat.ProductDdoscoo, ids[:2], moat.RenewalAuto, 12); err != nil {
		t.Fatal(err)
	}
	want[ids[0]], want[ids[1]] = state{moat.RenewalAuto, 12}, state{moat.RenewalAuto, 12}
	check("after AutoRenewal for 12 months")
	if err := e.svc.SetRenewal(e.ctx, me, moat.ProductDdoscoo, ids[:1], moat.RenewalManual, 0); err != nil {
		t.Fatal(err)
	}
	want[ids[0]] = state{moat.RenewalManual, 12}
	check("after ManualRenewal without a period")
	if err := e.svc.SetRenewal(e.ctx, me, moat.ProductDdoscoo, ids[2:], moat.RenewalNone, 0); err != nil {
		t.Fatal(err)
	}
	want[ids[2]] = state{moat.RenewalNone, 1}
	check("after NotRenewal")
	if err := e.svc.SetRenewal(e.ctx, me, moat.ProductDdosDip, []string{premium}, moat.RenewalAuto, 1); err != nil {
		t.Fatalf("Premium: %v", err)
	}
}

// ---- Auto-renewal by the engine ----

// TestAutoRenewal pins the engine's auto-renewal: at expiry, not a
// millisecond before, an AutoRenewal instance is renewed for RenewPeriod
// months with an auto_renewed event at the old expiry, and never expires.
func TestAutoRenewal(t *testing.T) {
	e := newEnv(t, moat.Config{})
	o := e.buy(t, e.acct, moat.BuyRequest{ProductType: moat.ProductDdoscoo, Period: 1, RenewalStatus: moat.RenewalAuto, RenewPeriod: 3})
	exp := e.stored(t, o.InstanceID).ExpireTime
	e.moveTo(t, exp.Add(-time.Millisecond))
	if got := fmt.Sprint(e.events(t, o.InstanceID)); got != "[created]" {
		t.Fatalf("1 ms before expiry: %s", got)
	}
	e.advance(t, time.Millisecond)
	in := e.stored(t, o.InstanceID)
	if got := fmt.Sprint(e.events(t, o.InstanceID)); got != "[created auto_renewed]" {
		t.Fatalf("at expiry: %s", got)
	}
	if ev := e.eventsOf(t, o.InstanceID)[1]; !ev.Time.Equal(exp) || ev.AccountID != e.acct {
		t.Fatalf("auto_renewed event %+v, want at the old expiry %s", ev, exp)
	}
	if want := exp.AddDate(0, 3, 0); !in.ExpireTime.Equal(want) || in.Phase != moat.PhaseActive {
		t.Fatalf("expires %s phase %d, want %s and active", in.ExpireTime, in.Phase, want)
	}
	if v := e.viewOf(t, e.acct, in); v.Status != moat.StatusNormal || v.Enabled != 1 || !v.Mitigating {
		t.Fatalf("view %+v, want a normal instance", v)
	}
	// Switched off, the next expiry is an ordinary one.
	if err := e.svc.SetRenewal(e.ctx, e.caller(e.acct), moat.ProductDdoscoo, []string{o.InstanceID}, moat.RenewalManual, 0); err != nil {
		t.Fatal(err)
	}
	e.moveTo(t, in.ExpireTime)
	if got := fmt.Sprint(e.events(t, o.InstanceID)); got != "[created auto_renewed expired]" {
		t.Fatalf("after switching auto-renewal off: %s", got)
	}
}

// TestAutoRenewalCatchesUp pins that a clock jump over several terms
// renews in one step: one auto_renewed event at the expiry it replaced,
// with Periods the number of terms, the expiry moved by that many terms
// from the old one, while a manual instance beside it expires and stops.
func TestAutoRenewalCatchesUp(t *testing.T) {
	e := newEnv(t, moat.Config{}) // t0 is 2026-01-01
	auto := e.buy(t, e.acct, moat.BuyRequest{ProductType: moat.ProductDdoscoo, Period: 1, RenewalStatus: moat.RenewalAuto, RenewPeriod: 1})
	manual := e.buy(t, e.acct, moat.BuyRequest{ProductType: moat.ProductDdoscoo, Period: 1, RenewalStatus: moat.RenewalManual})
	e.moveTo(t, time.Date(2026, 4, 10, 0, 0, 0, 0, time.UTC))
	evs := e.eventsOf(t, auto.InstanceID)
	if got := fmt.Sprint(e.events(t, auto.InstanceID)); got != "[created auto_renewed]" {
		t.Fatalf("auto-renewing instance: %s", got)
	}
	if ev := evs[1]; !ev.Time.Equal(time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)) || ev.Periods != 3 {
		t.Errorf("renewal %+v, want at 2026-02-01 for 3 terms", ev)
	}
	if got, want := e.stored(t, auto.InstanceID).ExpireTime, time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Fatalf("expires %s, want %s", got, want)
	}
	if got := fmt.Sprint(e.events(t, manual.InstanceID)); got != "[created expired forwarding_stopped]" {
		t.Fatalf("manual instance: %s", got)
	}
}

// TestHardening_ClockJumpCatchUpIsBatched pins that a century-long jump
// over auto-renewing instances is applied in the engine's bounded batches:
// each ApplyDue call changes at most its limit of instances and writes one
// event per instance changed, whatever the jump, so no transaction grows
// with the distance the clock moved.
func TestHardening_ClockJumpCatchUpIsBatched(t *testing.T) {
	e := newEnv(t, moat.Config{})
	var ids []string
	for range 5 {
		ids = append(ids, e.buy(t, e.acct, moat.BuyRequest{ProductType: moat.ProductDdoscoo, Period: 1, RenewalStatus: moat.RenewalAuto, RenewPeriod: 1}).InstanceID)
	}
	d := 100 * 365 * 24 * time.Hour
	if _, _, err := e.svc.MoveClock(e.ctx, nil, &d); err != nil {
		t.Fatal(err)
	}
	countEvents := func() int {
		evs, err := e.svc.Events(e.ctx, moat.EventFilter{Type: moat.EventAutoRenewed})
		if err != nil {
			t.Fatal(err)
		}
		return len(evs)
	}
	for i, want := range []int{2, 2, 1, 0} {
		n, err := e.svc.ApplyDue(e.ctx, 2)
		if err != nil || n != want {
			t.Fatalf("ApplyDue #%d = %d, %v; want %d instances", i+1, n, err, want)
		}
		if got, total := countEvents(), min(2*(i+1), 5); got != total {
			t.Fatalf("after ApplyDue #%d: %d auto_renewed events, want %d (one per instance changed)", i+1, got, total)
		}
	}
	now := e.svc.Clock().Now()
	for _, id := range ids {
		in := e.stored(t, id)
		evs, _ := e.svc.Events(e.ctx, moat.EventFilter{InstanceID: id, Type: moat.EventAutoRenewed})
		if len(evs) != 1 || !in.ExpireTime.After(now) || in.ExpireTime.Sub(now) > 31*24*time.Hour ||
			!in.ExpireTime.Equal(moat.AddMonths(evs[0].Time, evs[0].Periods)) {
			t.Fatalf("%s: expires %s (now %s), renewals %+v; want one event whose Periods brings the expiry to within a term after now", id, in.ExpireTime, now, evs)
		}
	}
}

// TestAutoRenewalIsNeverAutoReleased pins that with auto-release on, an
// auto-renewing instance is renewed instead of expiring and so is never
// released, while a manual one is; the engine's next due time is 7 days
// before the renewed expiry.
func TestAutoRenewalIsNeverAutoReleased(t *testing.T) {
	e := newEnv(t, moat.Config{AutoReleaseAfter: 48 * time.Hour})
	auto := e.buy(t, e.acct, moat.BuyRequest{ProductType: moat.ProductDdosDip, Period: 1, RenewalStatus: moat.RenewalAuto, RenewPeriod: 1})
	manual := e.buy(t, e.acct, moat.BuyRequest{ProductType: moat.ProductDdosDip, Period: 1})
	e.moveTo(t, time.Date(2027, 1, 15, 0, 0, 0, 0, time.UTC))
	in := e.stored(t, auto.InstanceID)
	if want := time.Date(2027, 2, 1, 0, 0, 0, 0, time.UTC); !in.ExpireTime.Equal(want) {
		t.Fatalf("auto-renewing instance expires %s, want %s", in.ExpireTime, want)
	}
	renewals, _ := e.svc.Events(e.ctx, moat.EventFilter{InstanceID: auto.InstanceID, Type: moat.EventAutoRenewed})
	if len(renewals) != 1 || renewals[0].Periods != 12 || len(e.eventsOf(t, auto.InstanceID)) != 2 {
		t.Fatalf("renewals %+v in %s; want one of 12 terms and nothing else", renewals, fmt.Sprint(e.events(t, auto.InstanceID)))
	}
	if got := fmt.Sprint(e.events(t, manual.InstanceID)); got != "[created expired released]" {
		t.Fatalf("manual instance: %s", got)
	}
	// The first step ahead is the 7-day notice of the renewed expiry
	// (silent for an instance that renews itself).
	if next, ok, err := e.svc.NextDue(e.ctx); err != nil || !ok || !next.Equal(in.ExpireTime.Add(-7*moat.Day)) {
		t.Fatalf("NextDue = %s, %v, %v; want 7 days before the renewed expiry %s", next, ok, err, in.ExpireTime)
	}
}

// ---- Listing: QueryAvailableInstances and the per-ID reads ----

// TestQueryInstances pins QueryAvailableInstances: an account's
// instances of both regions in creation order, narrowed by product,
// region, IDs, renewal status, and inclusive creation and end time
// bounds, paged with a total that ignores paging; bad paging is refused.
func TestQueryInstances(t *testing.T) {
	e := newEnv(t, moat.Config{})
	a1 := e.buy(t, e.acct, moat.BuyRequest{ProductType: moat.ProductDdoscoo, Period: 1, RenewalStatus: moat.RenewalManual}).InstanceID
	e.advance(t, time.Hour)
	a2 := e.buy(t, e.acct, moat.BuyRequest{ProductType: moat.ProductDdosDip, Period: 1, RenewalStatus: moat.RenewalAuto}).InstanceID
	e.advance(t, time.Hour)
	a3 := e.buy(t, e.acct, moat.BuyRequest{ProductType: moat.ProductDdoscooIntl, Period: 12, RenewalStatus: moat.RenewalNone}).InstanceID
	a4 := e.create(t, moat.RegionOverseas, 30*24*time.Hour, 1)[0].ID // admin: ddosDip, ManualRenewal
	b1 := e.buy(t, e.other, moat.BuyRequest{ProductType: moat.ProductDdoscoo, Period: 1}).InstanceID
	t1 := t0.Add(time.Hour)
	at := func(tm time.Time) *time.Time { return &tm }
	cases := []struct {
		name  string
		q     moat.BillingQuery
		want  []string
		total int64
	}{
		{"everything", moat.BillingQuery{}, []string{a1, a2, a3, a4}, 4},
		{"Pro", moat.BillingQuery{ProductType: moat.ProductDdoscoo}, []string{a1}, 1},
		{"Pro intl", moat.BillingQuery{ProductType: moat.ProductDdoscooIntl}, []string{a3}, 1},
		{"Premium", moat.BillingQuery{ProductType: moat.ProductDdosDip}, []string{a2, a4}, 2},
		{"mainland", moat.BillingQuery{Region: moat.RegionMainland}, []string{a1, a3}, 2},
		{"overseas", moat.BillingQuery{Region: moat.RegionOverseas}, []string{a2, a4}, 2},
		{"Premium in the mainland", moat.BillingQuery{ProductType: moat.ProductDdosDip, Region: moat.RegionMainland}, nil, 0},
		{"IDs, another account's ignored", moat.BillingQuery{IDs: []string{a3, b1, a1}}, []string{a1, a3}, 2},
		{"AutoRenewal", moat.BillingQuery{RenewStatus: moat.RenewalAuto}, []string{a2}, 1},
		{"ManualRenewal", moat.BillingQuery{RenewStatus: moat.RenewalManual}, []string{a1, a4}, 2},
		{"NotRenewal", moat.BillingQuery{RenewStatus: moat.RenewalNone}, []string{a3}, 1},
		{"created from t1", moat.BillingQuery{CreateFrom: at(t1)}, []string{a2, a3, a4}, 3},
		{"created up to t1, inclusive", moat.BillingQuery{CreateTo: at(t1)}, []string{a1, a2}, 2},
		{"created exactly at t1", moat.BillingQuery{CreateFrom: at(t1), CreateTo: at(t1)}, []string{a2}, 1},
		{"ending up to a1's end, inclusive", moat.BillingQuery{EndTo: at(t0.AddDate(0, 1, 0))}, []string{a1, a4}, 2},
		{"ending from a2's end", moat.BillingQuery{EndFrom: at(t1.AddDate(0, 1, 0))}, []string{a2, a3}, 2},
		{"ending exactly at a2's end", moat.BillingQuery{EndFrom: at(t1.AddDate(0, 1, 0)), EndTo: at(t1.AddDate(0, 1, 0))}, []string{a2}, 1},
		{"first page", moat.BillingQuery{PageNum: 1, PageSize: 3}, []string{a1, a2, a3}, 4},
		{"second page", moat.BillingQuery{PageNum: 2, PageSize: 3}, []string{a4}, 4},
		{"past the end", moat.BillingQuery{PageNum: 3, PageSize: 3}, nil, 4},
		{"far past the end", moat.BillingQuery{PageNum: 1 << 50, PageSize: 300}, nil, 4},
		{"a filtered page", moat.BillingQuery{Region: moat.RegionOverseas, PageNum: 2, PageSize: 1}, []string{a4}, 2},
	}
	for _, c := range cases {
		page, err := e.svc.QueryInstances(e.ctx, e.caller(e.acct), c.q)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		var got []string
		for _, v := range page.Instances {
			got = append(got, v.ID)
			if v.Status != moat.StatusNormal {
				t.Errorf("%s: %s has status %d", c.name, v.ID, v.Status)
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(c.want) || page.Total != c.total || page.Instances == nil {
			t.Errorf("%s: %v (total %d), want %v (total %d)", c.name, got, page.Total, c.want, c.total)
		}
	}
	for _, c := range []struct {
		name string
		q    moat.BillingQuery
	}{
		{"PageSize 301", moat.BillingQuery{PageSize: 301}},
		{"PageSize -1", moat.BillingQuery{PageSize: -1}},
		{"PageNum -1", moat.BillingQuery{PageNum: -1}},
		{"101 IDs", moat.BillingQuery{IDs: make([]string, 101)}},
	} {
		if _, err := e.svc.QueryInstances(e.ctx, e.caller(e.acct), c.q); moat.ErrorCode(err) != moat.CodeInvalidParameter {
			t.Errorf("%s: %v, want InvalidParameter", c.name, err)
		}
	}
	if page, err := e.svc.QueryInstances(e.ctx, e.caller(e.other), moat.BillingQuery{}); err != nil || page.Total != 1 || page.Instances[0].ID != b1 {
		t.Errorf("the other account sees %+v, %v; want only its own", page, err)
	}
}

// TestInstancesByID pins the per-instance reads (DescribeInstanceSpecs and
// friends): the caller's instances in the order asked, InstanceNotFound
// for any other ID, and DescribeInstanceExt's paging.
func TestInstancesByID(t *testing.T) {
	e := newEnv(t, moat.Config{})
	mine := e.create(t, moat.RegionMainland, time.Hour, 3)
	premium := e.create(t, moat.RegionOverseas, time.Hour, 1)[0]
	foreign, err := e.svc.CreateInstances(e.ctx, moat.NewInstances{AccountID: e.other})
	if err != nil {
		t.Fatal(err)
	}
	me := e.caller(e.acct)
	vs, err := e.svc.Instances(e.ctx, me, moat.RegionMainland, []string{mine[2].ID, mine[0].ID, mine[2].ID})
	if err != nil || len(vs) != 3 || vs[0].ID != mine[2].ID || vs[1].ID != mine[0].ID || vs[2].ID != mine[2].ID {
		t.Fatalf("Instances = %+v, %v; want them in the order asked", vs, err)
	}
	for _, c := range []struct {
		name string
		ids  []string
		code moat.Code
	}{
		{"unknown", []string{mine[0].ID, "ddoscoo-cn-unknown00000"}, moat.CodeInstanceNotFound},
		{"another account's", []string{foreign[0].ID}, moat.CodeInstanceNotFound},
		{"another region's", []string{premium.ID}, moat.CodeInstanceNotFound},
		{"none", nil, "MissingIDs.1"},
		{"201", make([]string, 201), moat.CodeInvalidParameter},
	} {
		if _, err := e.svc.Instances(e.ctx, me, moat.RegionMainland, c.ids); moat.ErrorCode(err) != c.code {
			t.Errorf("%s: %v, want %s", c.name, err, c.code)
		}
	}
	for _, c := range []struct {
		id           string
		number, size int
		want         []string
		total        int64
	}{
		{"", 0, 0, []string{mine[0].ID, mine[1].ID, mine[2].ID}, 3},
		{"", 2, 2, []string{mine[2].ID}, 3},
		{mine[1].ID, 1, 10, []string{mine[1].ID}, 1},
		{foreign[0].ID, 1, 10, nil, 0},
	} {
		page, err := e.svc.InstancesPage(e.ctx, me, moat.RegionMainland, c.id, c.number, c.size)
		var got []string
		for _, v := range page.Instances {
			got = append(got, v.ID)
		}
		if err != nil || fmt.Sprint(got) != fmt.Sprint(c.want) || page.Total != c.total {
			t.Errorf("InstancesPage(%q, %d, %d) = %v (total %d), %v; want %v (total %d)", c.id, c.number, c.size, got, page.Total, err, c.want, c.total)
		}
	}
	for _, c := range [][2]int{{-1, 10}, {1, 51}, {1, -1}} {
		if _, err := e.svc.InstancesPage(e.ctx, me, moat.RegionMainland, "", c[0], c[1]); moat.ErrorCode(err) != moat.CodeInvalidParameter {
			t.Errorf("InstancesPage(page %d, size %d): %v, want InvalidParameter", c[0], c[1], err)
		}
	}
}
