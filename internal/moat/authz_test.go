package moat_test

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"moat/internal/moat"
)

const (
	actDescribe = "yundun-ddoscoo:DescribeInstances"
	actRelease  = "yundun-ddoscoo:ReleaseInstance"
	actSpecs    = "yundun-ddoscoo:DescribeInstanceSpecs"
)

// denied asserts a Forbidden.RAM refusal and its AccessDeniedDetail.
func denied(t *testing.T, what string, err error, want moat.AccessDeniedDetail) {
	t.Helper()
	wantRAMCode(t, what, err, moat.CodeForbiddenRAM, moat.KindForbidden)
	d := moat.AsError(err).AccessDenied
	if d == nil || *d != want {
		t.Fatalf("%s: AccessDeniedDetail = %+v, want %+v", what, d, want)
	}
}

func detail(action, principalType, owner, name, kind, policyType string) moat.AccessDeniedDetail {
	return moat.AccessDeniedDetail{AuthAction: action, AuthPrincipalType: principalType, AuthPrincipalOwnerId: owner,
		AuthPrincipalDisplayName: name, NoPermissionType: kind, PolicyType: policyType}
}

// tagged creates one instance with tags (k=v pairs) in acct.
func (e *env) tagged(t *testing.T, acct string, expireIn time.Duration, kv ...string) moat.InstanceView {
	t.Helper()
	var tags []moat.Tag
	for i := 0; i+1 < len(kv); i += 2 {
		tags = append(tags, moat.Tag{Key: kv[i], Value: kv[i+1]})
	}
	out, err := e.svc.CreateInstances(e.ctx, moat.NewInstances{AccountID: acct, Region: moat.RegionMainland, Count: 1, ExpireIn: &expireIn, Tags: tags})
	if err != nil {
		t.Fatal(err)
	}
	return out[0]
}

// TestAuthorizeUserPolicies pins the decision rules on a RAM user: the
// account's keys may do everything; a user may do what an Allow grants
// (action wildcards), nothing without one (ImplicitDeny), and an explicit
// Deny in any policy wins (ExplicitDeny); policy changes apply at once.
func TestAuthorizeUserPolicies(t *testing.T) {
	e, _ := newRAMEnv(t)
	root := e.callerOfKey(t, "AK"+e.acct, loopback)
	ci, _ := e.ramUser(t, e.acct, "ci", map[string]string{"read": policyDoc(allow("yundun-ddoscoo:Describe*", "*", ""))})
	none, _ := e.ramUser(t, e.acct, "nobody", nil)
	id := "ddoscoo-cn-anything0001"

	for _, action := range []string{actDescribe, actRelease, "bss:CreateInstance"} {
		if err := e.svc.Authorize(e.ctx, &root, action, moat.RegionMainland, []string{id}); err != nil {
			t.Errorf("account key, %s: %v", action, err)
		}
	}
	if err := e.svc.Authorize(e.ctx, &ci, actDescribe, moat.RegionMainland, nil); err != nil {
		t.Fatalf("ci DescribeInstances: %v", err)
	}
	if err := e.svc.Authorize(e.ctx, &ci, actSpecs, moat.RegionMainland, []string{id}); err != nil {
		t.Fatalf("ci DescribeInstanceSpecs: %v", err)
	}
	denied(t, "ci ReleaseInstance", e.svc.Authorize(e.ctx, &ci, actRelease, moat.RegionMainland, []string{id}),
		detail(actRelease, "SubUser", e.acct, "ci", "ImplicitDeny", "AccountLevelIdentityBasedPolicy"))
	denied(t, "ci bss:CreateInstance", e.svc.Authorize(e.ctx, &ci, "bss:CreateInstance", moat.RegionMainland, nil),
		detail("bss:CreateInstance", "SubUser", e.acct, "ci", "ImplicitDeny", "AccountLevelIdentityBasedPolicy"))
	denied(t, "a user without policies", e.svc.Authorize(e.ctx, &none, actDescribe, moat.RegionMainland, nil),
		detail(actDescribe, "SubUser", e.acct, "nobody", "ImplicitDeny", "AccountLevelIdentityBasedPolicy"))

	// An explicit Deny in a second policy beats the Allow of the first.
	e.putPolicy(t, e.acct, "ci", "no-specs", policyDoc(deny(actSpecs, "*", "")))
	denied(t, "ci DescribeInstanceSpecs after the Deny", e.svc.Authorize(e.ctx, &ci, actSpecs, moat.RegionMainland, []string{id}),
		detail(actSpecs, "SubUser", e.acct, "ci", "ExplicitDeny", "AccountLevelIdentityBasedPolicy"))
	if err := e.svc.Authorize(e.ctx, &ci, actDescribe, moat.RegionMainland, nil); err != nil {
		t.Fatalf("ci DescribeInstances beside the Deny: %v", err)
	}
	if err := e.svc.DeleteUserPolicy(e.ctx, e.acct, "ci", "no-specs"); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Authorize(e.ctx, &ci, actSpecs, moat.RegionMainland, []string{id}); err != nil {
		t.Fatalf("ci DescribeInstanceSpecs once the Deny is detached: %v", err)
	}
	wantRAMCode(t, "detaching it again", e.svc.DeleteUserPolicy(e.ctx, e.acct, "ci", "no-specs"), moat.CodePolicyNotFound, moat.KindNotFound)
	wantRAMCode(t, "detaching from an unknown user", e.svc.DeleteUserPolicy(e.ctx, e.acct, "ghost", "read"), moat.CodeUserNotFound, moat.KindNotFound)

	// Replacing a policy of the same name replaces what it grants.
	e.putPolicy(t, e.acct, "ci", "read", policyDoc(allow(actRelease, "*", "")))
	denied(t, "ci DescribeInstances after read was replaced", e.svc.Authorize(e.ctx, &ci, actDescribe, moat.RegionMainland, nil),
		detail(actDescribe, "SubUser", e.acct, "ci", "ImplicitDeny", "AccountLevelIdentityBasedPolicy"))
	if err := e.svc.Authorize(e.ctx, &ci, actRelease, moat.RegionMainland, []string{id}); err != nil {
		t.Fatalf("ci ReleaseInstance after read was replaced: %v", err)
	}
}

// TestAuthorizeResourceARN pins Resource matching: an instance is named
// acs:yundun-ddoscoo:{region}:{account}:instance/{id}; every instance of a
// call must be allowed; the ARN is built in the caller's account, so an
// ID of another account is judged like an unknown one.
func TestAuthorizeResourceARN(t *testing.T) {
	e, _ := newRAMEnv(t)
	a := e.tagged(t, e.acct, -time.Hour)
	b := e.tagged(t, e.acct, -time.Hour)
	arn := moat.ARN(moat.RegionMainland, e.acct, a.ID)
	if want := "acs:yundun-ddoscoo:cn-hangzhou:" + e.acct + ":instance/" + a.ID; arn != want {
		t.Fatalf("ARN = %q, want %q", arn, want)
	}
	u, _ := e.ramUser(t, e.acct, "one", map[string]string{"p": policyDoc(allow(actRelease, arn, ""))})
	if err := e.svc.Authorize(e.ctx, &u, actRelease, moat.RegionMainland, []string{a.ID}); err != nil {
		t.Fatalf("release the named instance: %v", err)
	}
	want := detail(actRelease, "SubUser", e.acct, "one", "ImplicitDeny", "AccountLevelIdentityBasedPolicy")
	denied(t, "release another instance", e.svc.Authorize(e.ctx, &u, actRelease, moat.RegionMainland, []string{b.ID}), want)
	denied(t, "release both", e.svc.Authorize(e.ctx, &u, actRelease, moat.RegionMainland, []string{a.ID, b.ID}), want)
	denied(t, "the same ID in the other region", e.svc.Authorize(e.ctx, &u, actRelease, moat.RegionOverseas, []string{a.ID}), want)
	denied(t, "a call on * (no instance)", e.svc.Authorize(e.ctx, &u, actRelease, moat.RegionMainland, nil), want)

	// A user of the other account with a policy naming this account's
	// instance still acts only in its own account.
	o, _ := e.ramUser(t, e.other, "intruder", map[string]string{"p": policyDoc(allow(actRelease, arn, ""))})
	denied(t, "other account's user", e.svc.Authorize(e.ctx, &o, actRelease, moat.RegionMainland, []string{a.ID}),
		detail(actRelease, "SubUser", e.other, "intruder", "ImplicitDeny", "AccountLevelIdentityBasedPolicy"))

	// Region and account wildcards in the ARN.
	w, _ := e.ramUser(t, e.acct, "hz", map[string]string{"p": policyDoc(allow(actRelease, "acs:yundun-ddoscoo:cn-hangzhou:*:instance/*", ""))})
	if err := e.svc.Authorize(e.ctx, &w, actRelease, moat.RegionMainland, []string{a.ID, b.ID}); err != nil {
		t.Fatalf("wildcard ARN in cn-hangzhou: %v", err)
	}
	denied(t, "wildcard ARN, other region", e.svc.Authorize(e.ctx, &w, actRelease, moat.RegionOverseas, []string{a.ID}),
		detail(actRelease, "SubUser", e.acct, "hz", "ImplicitDeny", "AccountLevelIdentityBasedPolicy"))
}

// TestAuthorizeConditions pins the request conditions: acs:SourceIp (the
// caller's address), acs:SecureTransport, and acs:CurrentTime, which reads
// the real clock (moving server time does not change it).
func TestAuthorizeConditions(t *testing.T) {
	e, _ := newRAMEnv(t)
	if _, err := e.svc.CreateUser(e.ctx, e.acct, "cond"); err != nil {
		t.Fatal(err)
	}
	k, err := e.svc.CreateAccessKey(e.ctx, e.acct, "cond")
	if err != nil {
		t.Fatal(err)
	}
	ten := netip.MustParseAddr("10.1.2.3")
	lo := netip.MustParseAddr("127.0.0.1")
	cases := []struct {
		cond   string
		ip     netip.Addr
		secure bool
		ok     bool
	}{
		{`{"IpAddress": {"acs:SourceIp": "127.0.0.1"}}`, lo, false, true},
		{`{"IpAddress": {"acs:SourceIp": "127.0.0.1"}}`, ten, false, false},
		{`{"IpAddress": {"acs:SourceIp": "10.0.0.0/8"}}`, lo, false, false},
		{`{"IpAddress": {"acs:SourceIp": ["192.0.2.0/24", "10.0.0.0/8"]}}`, ten, false, true},
		{`{"NotIpAddress": {"acs:SourceIp": "10.0.0.0/8"}}`, lo, false, true},
		{`{"NotIpAddress": {"acs:SourceIp": "10.0.0.0/8"}}`, ten, false, false},
		{`{"Bool": {"acs:SecureTransport": "true"}}`, lo, false, false},
		{`{"Bool": {"acs:SecureTransport": "true"}}`, lo, true, true},
		{`{"Bool": {"acs:SecureTransport": "false"}}`, lo, false, true},
		{`{"DateLessThan": {"acs:CurrentTime": "2020-01-01T00:00:00Z"}}`, lo, false, false},
		{`{"DateGreaterThan": {"acs:CurrentTime": "2020-01-01T00:00:00Z"}}`, lo, false, true},
		{`{"DateLessThan": {"acs:CurrentTime": "2026-01-01T00:00:01Z"}}`, lo, false, true},
		{`{"DateGreaterThan": {"acs:CurrentTime": "2026-01-01T00:00:00Z"}}`, lo, false, false},
		{`{"IpAddress": {"acs:SourceIp": "127.0.0.1"}, "Bool": {"acs:SecureTransport": "true"}}`, lo, false, false},
	}
	for i, tc := range cases {
		e.putPolicy(t, e.acct, "cond", "p", policyDoc(allow("yundun-ddoscoo:Describe*", "*", tc.cond)))
		c := e.callerOfKey(t, k.ID, moat.Env{SourceIP: tc.ip, SecureTransport: tc.secure})
		err := e.svc.Authorize(e.ctx, &c, actDescribe, moat.RegionMainland, nil)
		if tc.ok && err != nil {
			t.Errorf("case %d %s from %s secure=%v: %v, want allowed", i, tc.cond, tc.ip, tc.secure, err)
		}
		if !tc.ok && moat.ErrorCode(err) != moat.CodeForbiddenRAM {
			t.Errorf("case %d %s from %s secure=%v: %v, want Forbidden.RAM", i, tc.cond, tc.ip, tc.secure, err)
		}
	}

	// acs:CurrentTime is real time: a year of server time changes nothing,
	// a second of real time does.
	e.putPolicy(t, e.acct, "cond", "p", policyDoc(allow("yundun-ddoscoo:Describe*", "*", `{"DateLessThan": {"acs:CurrentTime": "2026-01-01T00:00:01Z"}}`)))
	c := e.callerOfKey(t, k.ID, loopback)
	year := 365 * 24 * time.Hour
	if _, _, err := e.svc.MoveClock(e.ctx, nil, &year); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Authorize(e.ctx, &c, actDescribe, moat.RegionMainland, nil); err != nil {
		t.Fatalf("server time a year on: %v", err)
	}
	e.real.Add(time.Second)
	denied(t, "real time past DateLessThan", e.svc.Authorize(e.ctx, &c, actDescribe, moat.RegionMainland, nil),
		detail(actDescribe, "SubUser", e.acct, "cond", "ImplicitDeny", "AccountLevelIdentityBasedPolicy"))
}

// TestAuthorizeResourceTags pins acs:ResourceTag/{key}: the instance's
// own tags decide; an untagged instance, one with another value, and an
// instance of another account carrying the tag are all refused.
func TestAuthorizeResourceTags(t *testing.T) {
	e, _ := newRAMEnv(t)
	oncall := e.tagged(t, e.acct, -time.Hour, "team", "oncall", "env", "prod")
	untagged := e.tagged(t, e.acct, -time.Hour)
	otherTeam := e.tagged(t, e.acct, -time.Hour, "team", "payments")
	foreign := e.tagged(t, e.other, -time.Hour, "team", "oncall")
	u, _ := e.ramUser(t, e.acct, "oncall", map[string]string{
		"release-tagged": policyDoc(allow(actRelease, "*", `{"StringEquals": {"acs:ResourceTag/team": "oncall"}}`)),
	})
	if err := e.svc.Authorize(e.ctx, &u, actRelease, moat.RegionMainland, []string{oncall.ID}); err != nil {
		t.Fatalf("release the oncall instance: %v", err)
	}
	want := detail(actRelease, "SubUser", e.acct, "oncall", "ImplicitDeny", "AccountLevelIdentityBasedPolicy")
	for what, ids := range map[string][]string{
		"untagged":                     {untagged.ID},
		"team=payments":                {otherTeam.ID},
		"tagged and untagged together": {oncall.ID, untagged.ID},
		"another account's tagged":     {foreign.ID},
		"unknown":                      {"ddoscoo-cn-doesnotexist"},
	} {
		denied(t, what, e.svc.Authorize(e.ctx, &u, actRelease, moat.RegionMainland, ids), want)
	}
	// Tags change: the decision follows.
	if err := e.svc.TagResources(e.ctx, e.caller(e.acct), moat.RegionMainland, rtInstance, []string{untagged.ID}, []moat.Tag{tag("team", "oncall")}, ""); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Authorize(e.ctx, &u, actRelease, moat.RegionMainland, []string{untagged.ID}); err != nil {
		t.Fatalf("after tagging team=oncall: %v", err)
	}
	// A Deny on a tag beats a broad Allow.
	e.putPolicy(t, e.acct, "oncall", "all", policyDoc(allow("yundun-ddoscoo:*", "*", "")))
	e.putPolicy(t, e.acct, "oncall", "not-prod", policyDoc(deny(actRelease, "*", `{"StringEquals": {"acs:ResourceTag/env": "prod"}}`)))
	denied(t, "env=prod under a Deny", e.svc.Authorize(e.ctx, &u, actRelease, moat.RegionMainland, []string{oncall.ID}),
		detail(actRelease, "SubUser", e.acct, "oncall", "ExplicitDeny", "AccountLevelIdentityBasedPolicy"))
	if err := e.svc.Authorize(e.ctx, &u, actRelease, moat.RegionMainland, []string{otherTeam.ID}); err != nil {
		t.Fatalf("an instance without env=prod under the broad Allow: %v", err)
	}
}

// listIDs is a DescribeInstances page's IDs.
func listIDs(p moat.Page) []string {
	var out []string
	for _, in := range p.Instances {
		out = append(out, in.ID)
	}
	return out
}

// TestListingsShowOnlyPermitted pins what listings show a RAM user whose
// policies admit instances by tag: DescribeInstances (pages and
// TotalCount, also for a page past the end), DescribeInstanceIds, the tag
// listings; a uniform policy shows everything or is refused outright.
func TestListingsShowOnlyPermitted(t *testing.T) {
	e, _ := newRAMEnv(t)
	a := e.tagged(t, e.acct, time.Hour, "team", "oncall")
	e.tagged(t, e.acct, time.Hour, "team", "payments", "secret", "x")
	e.tagged(t, e.acct, time.Hour)
	c := e.tagged(t, e.acct, -time.Hour, "team", "oncall", "env", "prod")
	e.tagged(t, e.other, time.Hour, "team", "oncall")
	cond := `{"StringEquals": {"acs:ResourceTag/team": "oncall"}}`
	u, _ := e.ramUser(t, e.acct, "oncall", map[string]string{"p": policyDoc(allow("yundun-ddoscoo:Describe*", "*", cond))})

	list := func(action string) moat.Caller {
		t.Helper()
		cc := u
		acc, err := e.svc.ListAccess(e.ctx, &cc, action, moat.RegionMainland)
		if err != nil {
			t.Fatalf("ListAccess(%s): %v", action, err)
		}
		if acc == nil || !acc.NeedTags {
			t.Fatalf("ListAccess(%s) = %+v, want a per-instance Access that needs tags", action, acc)
		}
		cc.Access = acc
		return cc
	}
	lc := list(actDescribe)
	want := []string{a.ID, c.ID}
	pages := []struct {
		number, size int
		ids          []string
	}{
		{1, 50, want},
		{1, 1, want[:1]},
		{2, 1, want[1:]},
		{3, 1, nil},
		{1 << 40, 50, nil}, // past any count: empty, TotalCount still the visible count
	}
	for _, p := range pages {
		page, err := e.svc.DescribeInstances(e.ctx, lc, moat.DescribeQuery{Region: moat.RegionMainland, PageNumber: p.number, PageSize: p.size})
		if err != nil {
			t.Fatal(err)
		}
		if got := listIDs(page); !slices.Equal(got, p.ids) || page.Total != 2 {
			t.Errorf("page %d size %d: TotalCount %d ids %v, want 2 %v", p.number, p.size, page.Total, got, p.ids)
		}
	}
	// DescribeInstanceExt and BSS QueryAvailableInstances page the same way.
	e.putPolicy(t, e.acct, "oncall", "bss", policyDoc(allow("bss:QueryAvailableInstances", "*", cond)))
	ext, bq := list("yundun-ddoscoo:DescribeInstanceExt"), list("bss:QueryAvailableInstances")
	for _, p := range pages {
		page, err := e.svc.InstancesPage(e.ctx, ext, moat.RegionMainland, "", p.number, p.size)
		if err != nil {
			t.Fatal(err)
		}
		if got := listIDs(page); !slices.Equal(got, p.ids) || page.Total != 2 {
			t.Errorf("DescribeInstanceExt page %d size %d: TotalCount %d ids %v, want 2 %v", p.number, p.size, page.Total, got, p.ids)
		}
		page, err = e.svc.QueryInstances(e.ctx, bq, moat.BillingQuery{PageNum: p.number, PageSize: p.size})
		if err != nil {
			t.Fatal(err)
		}
		if got := listIDs(page); !slices.Equal(got, p.ids) || page.Total != 2 {
			t.Errorf("QueryAvailableInstances page %d size %d: TotalCount %d ids %v, want 2 %v", p.number, p.size, page.Total, got, p.ids)
		}
	}

	// Filters still apply, within what the user may see.
	page, err := e.svc.DescribeInstances(e.ctx, lc, moat.DescribeQuery{Region: moat.RegionMainland, PageNumber: 1, PageSize: 50, Statuses: []int{moat.StatusExpired}})
	if err != nil {
		t.Fatal(err)
	}
	if got := listIDs(page); !slices.Equal(got, []string{c.ID}) || page.Total != 1 {
		t.Errorf("expired only: TotalCount %d ids %v, want 1 [%s]", page.Total, got, c.ID)
	}

	var got []string
	err = e.svc.DescribeInstanceIDs(e.ctx, list("yundun-ddoscoo:DescribeInstanceIds"), moat.RegionMainland, nil, nil, "", func(batch []moat.Instance) error {
		for _, in := range batch {
			got = append(got, in.ID)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Errorf("DescribeInstanceIds = %v, want %v", got, want)
	}

	tags, _, err := e.svc.ListTagResources(e.ctx, list("yundun-ddoscoo:DescribeTagResources"), moat.RegionMainland, rtInstance, nil, []moat.TagFilter{{Key: "team"}}, "", "")
	if err != nil {
		t.Fatal(err)
	}
	var pairs []string
	for _, rt := range tags {
		pairs = append(pairs, rt.ResourceID+":"+rt.Key+"="+rt.Value)
	}
	if wantPairs := []string{a.ID + ":team=oncall", c.ID + ":team=oncall"}; !slices.Equal(pairs, wantPairs) {
		t.Errorf("DescribeTagResources = %v, want %v", pairs, wantPairs)
	}
	keys, total, err := e.svc.TagKeys(e.ctx, list("yundun-ddoscoo:DescribeTagKeys"), moat.RegionMainland, rtInstance, 1, 50, "")
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(keys) != "[{env 1} {team 2}]" || total != 2 {
		t.Errorf("DescribeTagKeys = %v total %d, want [{env 1} {team 2}] total 2 (no key of an invisible instance)", keys, total)
	}

	// Uniform policies: everything (nil Access), or Forbidden.RAM.
	all, _ := e.ramUser(t, e.acct, "reader", map[string]string{"p": policyDoc(allow("yundun-ddoscoo:Describe*", "*", ""))})
	if acc, err := e.svc.ListAccess(e.ctx, &all, actDescribe, moat.RegionMainland); err != nil || acc != nil {
		t.Fatalf("ListAccess with Describe* on * = %+v, %v; want nil (everything)", acc, err)
	}
	none, _ := e.ramUser(t, e.acct, "writer", map[string]string{"p": policyDoc(allow(actRelease, "*", ""))})
	_, err = e.svc.ListAccess(e.ctx, &none, actDescribe, moat.RegionMainland)
	denied(t, "listing without a Describe permission", err, detail(actDescribe, "SubUser", e.acct, "writer", "ImplicitDeny", "AccountLevelIdentityBasedPolicy"))
	root := e.callerOfKey(t, "AK"+e.acct, loopback)
	if acc, err := e.svc.ListAccess(e.ctx, &root, actDescribe, moat.RegionMainland); err != nil || acc != nil {
		t.Fatalf("ListAccess for the account key = %+v, %v; want nil", acc, err)
	}
}

// TestPerInstanceListingAcrossBatches pins per-instance listings over more
// instances than one scan batch (1,000): pages on either side of a batch
// boundary, and past the end, hold exactly the permitted instances in
// creation order, TotalCount counts all of them, and DescribeTagKeys
// counts their tags.
func TestPerInstanceListingAcrossBatches(t *testing.T) {
	e, _ := newRAMEnv(t)
	create := func(n int, tags ...moat.Tag) []string {
		t.Helper()
		hour := time.Hour
		out, err := e.svc.CreateInstances(e.ctx, moat.NewInstances{AccountID: e.acct, Region: moat.RegionMainland, Count: n, ExpireIn: &hour, Tags: tags})
		if err != nil {
			t.Fatal(err)
		}
		ids := make([]string, len(out))
		for i, v := range out {
			ids[i] = v.ID
		}
		return ids
	}
	oncall := moat.Tag{Key: "team", Value: "oncall"}
	want := create(1000, oncall)
	create(1000, moat.Tag{Key: "team", Value: "payments"})
	want = append(want, create(500, oncall)...)
	cond := `{"StringEquals": {"acs:ResourceTag/team": "oncall"}}`
	u, _ := e.ramUser(t, e.acct, "oncall", map[string]string{"p": policyDoc(allow("yundun-ddoscoo:Describe*", "*", cond))})
	acc, err := e.svc.ListAccess(e.ctx, &u, actDescribe, moat.RegionMainland)
	if err != nil || acc == nil {
		t.Fatalf("ListAccess = %+v, %v; want a per-instance Access", acc, err)
	}
	u.Access = acc
	for _, number := range []int{1, 20, 21, 30, 31} {
		page, err := e.svc.DescribeInstances(e.ctx, u, moat.DescribeQuery{Region: moat.RegionMainland, PageNumber: number, PageSize: 50})
		if err != nil {
			t.Fatal(err)
		}
		from, to := min((number-1)*50, len(want)), min(number*50, len(want))
		if got := listIDs(page); !slices.Equal(got, want[from:to]) || page.Total != int64(len(want)) {
			t.Errorf("page %d: TotalCount %d, %d ids from %v; want %d, ids %d to %d of the permitted", number, page.Total, len(got), got[:min(len(got), 1)], len(want), from, to)
		}
	}
	keys, total, err := e.svc.TagKeys(e.ctx, u, moat.RegionMainland, rtInstance, 1, 50, "")
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(keys) != "[{team 1500}]" || total != 1 {
		t.Errorf("DescribeTagKeys = %v total %d, want [{team 1500}] total 1", keys, total)
	}
}

// TestSessionPolicyNarrows pins STS sessions: a request must be allowed by
// the user's policies and by the session's inline policy, so the session
// policy can only take away (ImplicitDeny/ExplicitDeny with PolicyType
// SessionPolicy), never add; a session without one has the user's rights,
// and detaching the user's policy ends the session's too.
func TestSessionPolicyNarrows(t *testing.T) {
	e, _ := newRAMEnv(t)
	x := e.tagged(t, e.acct, -time.Hour, "team", "oncall")
	y := e.tagged(t, e.acct, -time.Hour)
	e.ramUser(t, e.acct, "ops", map[string]string{"ops": policyDoc(allow("yundun-ddoscoo:Describe*", "*", ""), allow(actRelease, "*", ""))})
	e.ramUser(t, e.acct, "ro", map[string]string{"ro": policyDoc(allow("yundun-ddoscoo:Describe*", "*", ""))})
	session := func(user, policy string) moat.Caller {
		t.Helper()
		c := e.sts(t, e.acct, user, time.Hour, policy)
		return e.callerOfKey(t, c.AccessKeyID, loopback)
	}

	full := session("ops", "")
	if err := e.svc.Authorize(e.ctx, &full, actRelease, moat.RegionMainland, []string{x.ID}); err != nil {
		t.Fatalf("session without a policy, release: %v", err)
	}

	narrow := session("ops", policyDoc(allow("yundun-ddoscoo:Describe*", "*", "")))
	if err := e.svc.Authorize(e.ctx, &narrow, actDescribe, moat.RegionMainland, nil); err != nil {
		t.Fatalf("narrowed session, describe: %v", err)
	}
	denied(t, "narrowed session, release", e.svc.Authorize(e.ctx, &narrow, actRelease, moat.RegionMainland, []string{x.ID}),
		detail(actRelease, "AssumedRoleUser", e.acct, "ops", "ImplicitDeny", "SessionPolicy"))

	wide := session("ro", policyDoc(allow("*", "*", "")))
	denied(t, "session policy wider than the user's", e.svc.Authorize(e.ctx, &wide, actRelease, moat.RegionMainland, []string{x.ID}),
		detail(actRelease, "AssumedRoleUser", e.acct, "ro", "ImplicitDeny", "AccountLevelIdentityBasedPolicy"))
	denied(t, "session policy wider than the user's, bss", e.svc.Authorize(e.ctx, &wide, "bss:CreateInstance", moat.RegionMainland, nil),
		detail("bss:CreateInstance", "AssumedRoleUser", e.acct, "ro", "ImplicitDeny", "AccountLevelIdentityBasedPolicy"))

	denying := session("ops", policyDoc(allow("*", "*", ""), deny(actRelease, "*", `{"StringEquals": {"acs:ResourceTag/team": "oncall"}}`)))
	denied(t, "session Deny", e.svc.Authorize(e.ctx, &denying, actRelease, moat.RegionMainland, []string{x.ID}),
		detail(actRelease, "AssumedRoleUser", e.acct, "ops", "ExplicitDeny", "SessionPolicy"))
	if err := e.svc.Authorize(e.ctx, &denying, actRelease, moat.RegionMainland, []string{y.ID}); err != nil {
		t.Fatalf("session Deny does not cover the untagged instance: %v", err)
	}

	// A listing is the intersection too.
	tagOnly := session("ops", policyDoc(allow("yundun-ddoscoo:Describe*", "*", `{"StringEquals": {"acs:ResourceTag/team": "oncall"}}`)))
	acc, err := e.svc.ListAccess(e.ctx, &tagOnly, actDescribe, moat.RegionMainland)
	if err != nil || acc == nil {
		t.Fatalf("ListAccess for a tag-narrowed session = %+v, %v", acc, err)
	}
	tagOnly.Access = acc
	page, err := e.svc.DescribeInstances(e.ctx, tagOnly, moat.DescribeQuery{Region: moat.RegionMainland, PageNumber: 1, PageSize: 50})
	if err != nil {
		t.Fatal(err)
	}
	if got := listIDs(page); !slices.Equal(got, []string{x.ID}) || page.Total != 1 {
		t.Fatalf("narrowed listing: TotalCount %d ids %v, want 1 [%s]", page.Total, got, x.ID)
	}

	// The session never outlives the user's own permission.
	if err := e.svc.DeleteUserPolicy(e.ctx, e.acct, "ops", "ops"); err != nil {
		t.Fatal(err)
	}
	denied(t, "session after the user's policy was detached", e.svc.Authorize(e.ctx, &full, actRelease, moat.RegionMainland, []string{x.ID}),
		detail(actRelease, "AssumedRoleUser", e.acct, "ops", "ImplicitDeny", "AccountLevelIdentityBasedPolicy"))
}

// TestMalformedPolicyRejected pins that a document that does not parse is
// refused with MalformedPolicyDocument and its line and column, and that
// a failed replacement leaves the attached policy as it was.
func TestMalformedPolicyRejected(t *testing.T) {
	e, _ := newRAMEnv(t)
	u, _ := e.ramUser(t, e.acct, "ci", map[string]string{"p": policyDoc(allow("yundun-ddoscoo:Describe*", "*", ""))})
	doc := "{\n  \"Version\": \"1\",\n  \"Statement\": [\n    {\"Effect\": \"Alow\", \"Action\": \"*\", \"Resource\": \"*\"}\n  ]\n}"
	err := e.svc.PutUserPolicy(e.ctx, e.acct, "ci", "p", doc)
	wantRAMCode(t, "Effect Alow", err, moat.CodeMalformedPolicyDocument, moat.KindInvalid)
	if msg := moat.AsError(err).Message; !strings.Contains(msg, "line 4, column 16") {
		t.Fatalf("message %q does not point at line 4, column 16 (the Effect value)", msg)
	}
	if err := e.svc.Authorize(e.ctx, &u, actDescribe, moat.RegionMainland, nil); err != nil {
		t.Fatalf("the earlier policy no longer applies: %v", err)
	}
	if err := e.svc.Authorize(e.ctx, &u, actRelease, moat.RegionMainland, []string{"ddoscoo-cn-x"}); moat.ErrorCode(err) != moat.CodeForbiddenRAM {
		t.Fatalf("the malformed policy was applied: release = %v", err)
	}
	for _, bad := range []string{"", "not json", `{"Version": "1", "Statement": []`, `{"Version": "2", "Statement": []}`} {
		wantRAMCode(t, fmt.Sprintf("document %q", bad), e.svc.PutUserPolicy(e.ctx, e.acct, "ci", "q", bad), moat.CodeMalformedPolicyDocument, moat.KindInvalid)
	}
	good := policyDoc(allow("*", "*", ""))
	wantRAMCode(t, "policy name with a space", e.svc.PutUserPolicy(e.ctx, e.acct, "ci", "a b", good), moat.CodeInvalidParameter, moat.KindInvalid)
	wantRAMCode(t, "empty policy name", e.svc.PutUserPolicy(e.ctx, e.acct, "ci", "", good), "MissingPolicyName", moat.KindInvalid)
	wantRAMCode(t, "unknown user", e.svc.PutUserPolicy(e.ctx, e.acct, "ghost", "p", good), moat.CodeUserNotFound, moat.KindNotFound)
	wantRAMCode(t, "unknown account", e.svc.PutUserPolicy(e.ctx, "9000000000000009", "ci", "p", good), moat.CodeAccountNotFound, moat.KindNotFound)
}
