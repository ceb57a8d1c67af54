package e2e

import (
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ddoscoo"

	"moat/internal/admin"
)

const forwardingGraceMs = int64(7 * 24 * time.Hour / time.Millisecond)

// renewalGraceMs is how long after expiry an instance can be renewed.
const renewalGraceMs = int64(30 * 24 * time.Hour / time.Millisecond)

// v1Instance returns one instance as DescribeInstances shows it, failing
// unless it is listed exactly once.
func v1Instance(t testing.TB, c *ddoscoo.Client, id string) ddoscoo.Instance {
	t.Helper()
	resp := v1List(t, c, func(r *ddoscoo.DescribeInstancesRequest) { r.InstanceIds = &[]string{id} })
	if len(resp.Instances) != 1 || resp.Instances[0].InstanceId != id {
		t.Fatalf("DescribeInstances(%s) = %+v, want that one instance", id, resp.Instances)
	}
	return resp.Instances[0]
}

// wantState checks an instance's Status and Enabled.
func wantState(t testing.TB, c *ddoscoo.Client, id string, status, enabled int) {
	t.Helper()
	in := v1Instance(t, c, id)
	if in.Status != status || in.Enabled != enabled {
		t.Fatalf("%s: Status %d Enabled %d, want Status %d Enabled %d", id, in.Status, in.Enabled, status, enabled)
	}
}

// wantOneEvent checks that id has exactly one event of typ, at atMs, owned
// by account, and returns it.
func wantOneEvent(t testing.TB, s *Server, id, typ, account string, atMs int64) admin.Event {
	t.Helper()
	evs := eventsOfType(t, s, id, typ)
	if len(evs) != 1 {
		t.Fatalf("%s: %d %q events %+v, want exactly 1", id, len(evs), typ, evs)
	}
	e := evs[0]
	if got := eventMillis(t, e); got != atMs {
		t.Fatalf("%s: %q event at %s (%d ms), want %d ms", id, typ, e.Time, got, atMs)
	}
	if e.AccountId != account {
		t.Fatalf("%s: %q event AccountId %q, want the owner %q", id, typ, e.AccountId, account)
	}
	return e
}

// lifecycleTypes lists the lifecycle event types of id in recorded order.
func lifecycleTypes(t testing.TB, s *Server, id string) []string {
	t.Helper()
	var out []string
	var last int64
	for _, e := range s.Events(t, id, "") {
		if e.Seq <= last {
			t.Fatalf("%s: events out of order: %+v", id, s.Events(t, id, ""))
		}
		last = e.Seq
		if e.Type != "created" {
			out = append(out, e.Type)
		}
	}
	return out
}

// TestLifecycleExpiryAndForwardingStop pins the two timed transitions: an
// instance created to expire in 24h is Status 1/Enabled 1 with no
// lifecycle events; 25h later it is Status 2/Enabled 1 with exactly one
// "expired" event at its ExpireTime; 7 days after that it is Enabled 0 with
// exactly one "forwarding_stopped" event at ExpireTime+7d; moving on adds
// no duplicates.
func TestLifecycleExpiryAndForwardingStop(t *testing.T) {
	s := StartServer(t)
	in := createSingle(t, s, admin.InstancesRequest{ExpireIn: "24h"})
	c := SDKv1(t, s, "cn-hangzhou", testKeyID, testKeySecret)
	id, owner := in.InstanceId, in.AccountId
	if owner == "" {
		t.Fatalf("created instance %+v has no AccountId", in)
	}

	wantState(t, c, id, 1, 1)
	if got := lifecycleTypes(t, s, id); len(got) != 0 {
		t.Fatalf("before expiry: lifecycle events %v, want none", got)
	}

	s.Advance(t, "25h")
	wantState(t, c, id, 2, 1)
	wantOneEvent(t, s, id, "expired", owner, in.ExpireTime)
	if got := lifecycleTypes(t, s, id); !slices.Equal(got, []string{"expired"}) {
		t.Fatalf("after expiry: lifecycle events %v, want [expired]", got)
	}

	s.Advance(t, "166h") // ExpireTime + 167h: still forwarding
	wantState(t, c, id, 2, 1)
	if got := lifecycleTypes(t, s, id); !slices.Equal(got, []string{"expired"}) {
		t.Fatalf("just before the forwarding stop: lifecycle events %v, want [expired]", got)
	}
	s.Advance(t, "1h")
	wantState(t, c, id, 2, 0)
	wantOneEvent(t, s, id, "forwarding_stopped", owner, in.ExpireTime+forwardingGraceMs)

	s.Advance(t, "720h")
	wantState(t, c, id, 2, 0)
	if got := lifecycleTypes(t, s, id); !slices.Equal(got, []string{"expired", "forwarding_stopped"}) {
		t.Fatalf("30 days later: lifecycle events %v, want [expired forwarding_stopped] once each", got)
	}
}

// TestLifecycleCatchUp pins the catch-up rule: an instance created already
// past both transitions (ExpireIn -200h) gets "expired" then
// "forwarding_stopped" at once, each at its due time, and one past only its
// expiry gets only "expired"; later clock moves add nothing.
func TestLifecycleCatchUp(t *testing.T) {
	s := StartServer(t)
	old := createSingle(t, s, admin.InstancesRequest{ExpireIn: "-200h"})
	recent := createSingle(t, s, admin.InstancesRequest{ExpireIn: "-25h"})
	c := SDKv1(t, s, "cn-hangzhou", testKeyID, testKeySecret)

	check := func() {
		t.Helper()
		if got := lifecycleTypes(t, s, old.InstanceId); !slices.Equal(got, []string{"expired", "forwarding_stopped"}) {
			t.Fatalf("created 200h past expiry: lifecycle events %v, want [expired forwarding_stopped]", got)
		}
		wantOneEvent(t, s, old.InstanceId, "expired", old.AccountId, old.ExpireTime)
		wantOneEvent(t, s, old.InstanceId, "forwarding_stopped", old.AccountId, old.ExpireTime+forwardingGraceMs)
		wantState(t, c, old.InstanceId, 2, 0)
		if got := lifecycleTypes(t, s, recent.InstanceId); !slices.Equal(got, []string{"expired"}) {
			t.Fatalf("created 25h past expiry: lifecycle events %v, want [expired]", got)
		}
		wantOneEvent(t, s, recent.InstanceId, "expired", recent.AccountId, recent.ExpireTime)
		wantState(t, c, recent.InstanceId, 2, 1)
	}
	check()
	s.Advance(t, "1h")
	check()
}

// TestLifecycleReleaseEvent pins the "released" event of ReleaseInstance:
// exactly one, carrying the RequestId the SDK got back, the owner's
// AccountId (here a second account's, not the bootstrap's) and Reason
// "ReleaseInstance"; the instance is then never listed and reports status 4.
func TestLifecycleReleaseEvent(t *testing.T) {
	s := StartServer(t)
	const acct, key, secret = "1000000000000002", "LTAIlifecycleowner000002", "lifecycle-owner-secret-0002"
	s.CreateAccount(t, acct, key, secret)
	in := createSingle(t, s, admin.InstancesRequest{AccessKeyId: key, ExpireIn: "-1h"})
	other := createSingle(t, s, admin.InstancesRequest{AccessKeyId: key, ExpireIn: "-1h"})
	if in.AccountId != acct {
		t.Fatalf("instance owner %q, want %q", in.AccountId, acct)
	}
	c := SDKv1(t, s, "cn-hangzhou", key, secret)

	req := ddoscoo.CreateReleaseInstanceRequest()
	req.InstanceId = in.InstanceId
	resp, err := c.ReleaseInstance(req)
	if err != nil {
		t.Fatalf("ReleaseInstance: %v", err)
	}
	wantRequestID(t, "ReleaseInstance", resp.RequestId)
	evs := eventsOfType(t, s, in.InstanceId, "released")
	if len(evs) != 1 {
		t.Fatalf("released events %+v, want exactly one", evs)
	}
	e := evs[0]
	if e.RequestId != resp.RequestId || e.AccountId != acct || e.Reason != "ReleaseInstance" || e.RegionId != "cn-hangzhou" {
		t.Fatalf("released event %+v, want RequestId %s, AccountId %s, Reason ReleaseInstance, RegionId cn-hangzhou", e, resp.RequestId, acct)
	}
	if got := lifecycleTypes(t, s, in.InstanceId); !slices.Equal(got, []string{"expired", "released"}) {
		t.Fatalf("lifecycle events %v, want [expired released]", got)
	}
	if got := eventsOfType(t, s, other.InstanceId, "released"); len(got) != 0 {
		t.Fatalf("the other instance got released events %+v", got)
	}

	wantIDSet(t, "after release", v1List(t, c, nil), other.InstanceId)
	s.Advance(t, "200h")
	wantIDSet(t, "200h after release", v1List(t, c, nil), other.InstanceId)
	if got := eventsOfType(t, s, in.InstanceId, "released"); len(got) != 1 {
		t.Fatalf("released events after moving the clock %+v, want still one", got)
	}
	if got := lifecycleTypes(t, s, in.InstanceId); !slices.Equal(got, []string{"expired", "released"}) {
		t.Fatalf("a released instance got later lifecycle events: %v", got)
	}
}

// TestLifecycleIPReuse pins the IP pool: live instances never share an IP,
// a released instance's IP returns to the pool, and the pool hands out the
// lowest free address first (not the most recently freed one).
func TestLifecycleIPReuse(t *testing.T) {
	s := StartServer(t)
	first := s.CreateInstances(t, admin.InstancesRequest{Count: 4, ExpireIn: "-1h"})
	if len(first) != 4 {
		t.Fatalf("created %d instances, want 4", len(first))
	}
	c := SDKv1(t, s, "cn-hangzhou", testKeyID, testKeySecret)
	ipOf := map[string]string{}
	for _, in := range first {
		ipOf[in.InstanceId] = in.Ip
	}
	if len(map[string]bool{first[0].Ip: true, first[1].Ip: true, first[2].Ip: true, first[3].Ip: true}) != 4 {
		t.Fatalf("live instances share IPs: %+v", first)
	}
	// Free the 2nd and then the 3rd address (by allocation order): the
	// lowest free one is the 2nd even though the 3rd was freed last.
	sorted := slices.Clone(first)
	slices.SortFunc(sorted, func(a, b admin.Instance) int { return compareIPv4(t, a.Ip, b.Ip) })
	lo, hi := sorted[1], sorted[2]
	for _, in := range []admin.Instance{lo, hi} {
		req := ddoscoo.CreateReleaseInstanceRequest()
		req.InstanceId = in.InstanceId
		if _, err := c.ReleaseInstance(req); err != nil {
			t.Fatalf("ReleaseInstance(%s): %v", in.InstanceId, err)
		}
	}
	for _, in := range v1List(t, c, nil).Instances {
		if in.Ip == lo.Ip || in.Ip == hi.Ip {
			t.Fatalf("after release, live instance %s still holds freed IP %s", in.InstanceId, in.Ip)
		}
	}

	a := createSingle(t, s, admin.InstancesRequest{})
	if a.Ip != lo.Ip {
		t.Fatalf("new instance got IP %s, want the lowest free address %s (the other freed one is %s)", a.Ip, lo.Ip, hi.Ip)
	}
	if got := v1Instance(t, c, a.InstanceId).Ip; got != lo.Ip {
		t.Fatalf("DescribeInstances shows IP %s for the new instance, want %s", got, lo.Ip)
	}
	b := createSingle(t, s, admin.InstancesRequest{})
	if b.Ip != hi.Ip {
		t.Fatalf("second new instance got IP %s, want the remaining freed address %s", b.Ip, hi.Ip)
	}
	fresh := createSingle(t, s, admin.InstancesRequest{})
	seen := map[string]bool{}
	for _, in := range v1List(t, c, nil).Instances {
		if seen[in.Ip] {
			t.Fatalf("two live instances share IP %s", in.Ip)
		}
		seen[in.Ip] = true
	}
	if fresh.Ip == lo.Ip || fresh.Ip == hi.Ip || !seen[fresh.Ip] || len(seen) != 5 {
		t.Fatalf("third new instance IP %s; live IPs %v", fresh.Ip, seen)
	}
}

func compareIPv4(t testing.TB, a, b string) int {
	t.Helper()
	pa, errA := netip.ParseAddr(a)
	pb, errB := netip.ParseAddr(b)
	if errA != nil || errB != nil || !pa.Is4() || !pb.Is4() {
		t.Fatalf("%q and %q must be IPv4 addresses", a, b)
	}
	return pa.Compare(pb)
}

// TestLifecycleAutoRelease pins --auto-release-after 48h: an instance is
// released by the engine exactly when it is 48h past expiry (not at 47h),
// with one "released" event at ExpireTime+48h, Reason "auto-release" and
// the owner's AccountId; it leaves DescribeInstances, reports status 4 and
// cannot be released again; an instance found already past the deadline is
// released on the engine's next pass; instances not yet due stay.
func TestLifecycleAutoRelease(t *testing.T) {
	s := StartServer(t, WithArgs("--auto-release-after", "48h"))
	in := createSingle(t, s, admin.InstancesRequest{ExpireIn: "24h"})
	keep := createSingle(t, s, admin.InstancesRequest{ExpireIn: "720h"})
	c := SDKv1(t, s, "cn-hangzhou", testKeyID, testKeySecret)

	s.Advance(t, "25h")
	wantState(t, c, in.InstanceId, 2, 1)
	s.Advance(t, "46h") // ExpireTime + 47h
	wantState(t, c, in.InstanceId, 2, 1)
	if got := eventsOfType(t, s, in.InstanceId, "released"); len(got) != 0 {
		t.Fatalf("released 47h after expiry: %+v", got)
	}

	s.Advance(t, "1h") // ExpireTime + 48h (and the few ms of real time)
	e := wantOneEvent(t, s, in.InstanceId, "released", in.AccountId, in.ExpireTime+(48*time.Hour).Milliseconds())
	if e.Reason != "auto-release" {
		t.Fatalf("released event Reason %q, want auto-release", e.Reason)
	}
	if got := lifecycleTypes(t, s, in.InstanceId); !slices.Equal(got, []string{"expired", "released"}) {
		t.Fatalf("lifecycle events %v, want [expired released]", got)
	}
	wantIDSet(t, "after auto-release", v1List(t, c, nil), keep.InstanceId)
	st := ddoscoo.CreateDescribeInstanceStatusRequest()
	st.InstanceId, st.ProductType = in.InstanceId, "1"
	sresp, err := c.DescribeInstanceStatus(st)
	if err != nil {
		t.Fatalf("DescribeInstanceStatus: %v", err)
	}
	if sresp.InstanceStatus != 4 {
		t.Fatalf("auto-released instance status %d, want 4", sresp.InstanceStatus)
	}
	rel := ddoscoo.CreateReleaseInstanceRequest()
	rel.InstanceId = in.InstanceId
	_, err = c.ReleaseInstance(rel)
	v1Error(t, err, 404, "InstanceNotFound")

	late := createSingle(t, s, admin.InstancesRequest{ExpireIn: "-100h"})
	s.Advance(t, "1s")
	e = wantOneEvent(t, s, late.InstanceId, "released", late.AccountId, late.ExpireTime+(48*time.Hour).Milliseconds())
	if e.Reason != "auto-release" {
		t.Fatalf("late instance released with Reason %q, want auto-release", e.Reason)
	}
	if got := lifecycleTypes(t, s, late.InstanceId); !slices.Equal(got, []string{"expired", "released"}) {
		t.Fatalf("late instance lifecycle events %v, want [expired released]", got)
	}
	wantIDSet(t, "after the late auto-release", v1List(t, c, nil), keep.InstanceId)
	if got := eventsOfType(t, s, keep.InstanceId, "released"); len(got) != 0 {
		t.Fatalf("the instance not yet due was released: %+v", got)
	}
}

// TestLifecycleAutoReleaseCatchUp pins that catching up gives the history
// the engine would have written running all along: with
// --auto-release-after 48h, an expired instance whose server clock then
// jumps 200h at once (as after downtime) is released as of ExpireTime+48h
// with events [expired, released] only; it never records a
// "forwarding_stopped" at ExpireTime+7d, which it could only have reached
// five days after it was released.
func TestLifecycleAutoReleaseCatchUp(t *testing.T) {
	s := StartServer(t, WithArgs("--auto-release-after", "48h"))
	in := createSingle(t, s, admin.InstancesRequest{ExpireIn: "24h"})
	s.Advance(t, "25h")
	wantOneEvent(t, s, in.InstanceId, "expired", in.AccountId, in.ExpireTime)

	s.Advance(t, "200h") // ExpireTime + 201h, past ExpireTime+48h and ExpireTime+7d
	e := wantOneEvent(t, s, in.InstanceId, "released", in.AccountId, in.ExpireTime+(48*time.Hour).Milliseconds())
	if e.Reason != "auto-release" {
		t.Fatalf("released event Reason %q, want auto-release", e.Reason)
	}
	if got := lifecycleTypes(t, s, in.InstanceId); !slices.Equal(got, []string{"expired", "released"}) {
		var detail []string
		for _, e := range s.Events(t, in.InstanceId, "") {
			detail = append(detail, e.Type+"@"+e.Time)
		}
		t.Fatalf("lifecycle events %v (%v), want [expired released]: the instance was released at ExpireTime+48h, before forwarding would stop at ExpireTime+7d", got, detail)
	}
}
