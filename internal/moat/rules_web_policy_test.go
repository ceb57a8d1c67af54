package moat_test

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"moat/internal/moat"
)

// TestWebPolicySetAndRead: a new website spreads by ip_hash with every
// origin weighing 100; ConfigL7RsPolicy's mode and weights are stored
// (origins matched as the website names them), replace what was set, are
// shown by the Describe calls' view and reach the data plane's snapshot.
func TestWebPolicySetAndRead(t *testing.T) {
	e := newEnv(t, moat.Config{})
	in := e.create(t, moat.RegionMainland, 30*24*time.Hour, 1)[0]
	me, rg := e.caller(e.acct), moat.RegionMainland
	w := website("lb.example.com", in.ID)
	w.RealServers = []string{"192.0.2.20", "192.0.2.21", "192.0.2.22"}
	if err := e.svc.CreateWebRule(e.ctx, me, rg, w, "R"); err != nil {
		t.Fatal(err)
	}
	d := w.Domain
	view := func(only ...string) moat.WebPolicyView {
		t.Helper()
		v, err := e.svc.WebPolicy(e.ctx, me, rg, d, only)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	ow := func(pairs ...any) []moat.OriginWeight {
		var out []moat.OriginWeight
		for i := 0; i < len(pairs); i += 2 {
			out = append(out, moat.OriginWeight{Origin: pairs[i].(string), Weight: pairs[i+1].(int)})
		}
		return out
	}
	want := moat.WebPolicyView{Mode: moat.ProxyModeIPHash, RsType: moat.RsTypeIP, Origins: ow("192.0.2.20", 100, "192.0.2.21", 100, "192.0.2.22", 100)}
	if v := view(); !reflect.DeepEqual(v, want) {
		t.Fatalf("a new website's policy = %+v, want %+v", v, want)
	}

	if err := e.svc.SetWebPolicy(e.ctx, me, rg, "LB.example.com", moat.ProxyModeRR, ow(" 192.0.2.21 ", 30, "192.0.2.22", 1), "R1"); err != nil {
		t.Fatal(err)
	}
	want = moat.WebPolicyView{Mode: moat.ProxyModeRR, RsType: moat.RsTypeIP, Origins: ow("192.0.2.20", 100, "192.0.2.21", 30, "192.0.2.22", 1)}
	if v := view(); !reflect.DeepEqual(v, want) {
		t.Errorf("after rr with weights: %+v, want %+v", v, want)
	}
	if v := view("192.0.2.22"); !reflect.DeepEqual(v.Origins, ow("192.0.2.22", 1)) {
		t.Errorf("narrowed to one origin: %+v", v.Origins)
	}
	rules, _, err := e.svc.WebRules(e.ctx, me, rg, moat.WebQuery{Domain: d, Exact: true})
	if err != nil || len(rules) != 1 || rules[0].Protection.Policy.ModeOrDefault() != moat.ProxyModeRR {
		t.Errorf("the Describe view's policy: %+v, %v", rules, err)
	}
	snap, err := e.svc.Snapshot(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(snap.Webs, func(s moat.WebSite) bool { return s.Domain == d })
	if i < 0 || !reflect.DeepEqual(snap.Webs[i].Protection.Policy, moat.WebPolicy{Mode: moat.ProxyModeRR, Weights: map[string]int{"192.0.2.21": 30, "192.0.2.22": 1}}) {
		t.Errorf("the snapshot's website: %+v", snap.Webs)
	}

	// A new policy replaces the weights; the rest of the protection stays.
	if err := e.svc.SetWebCC(e.ctx, me, rg, d, false, "R2"); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.SetWebPolicy(e.ctx, me, rg, d, moat.ProxyModeLeastTime, nil, "R3"); err != nil {
		t.Fatal(err)
	}
	want = moat.WebPolicyView{Mode: moat.ProxyModeLeastTime, RsType: moat.RsTypeIP, Origins: ow("192.0.2.20", 100, "192.0.2.21", 100, "192.0.2.22", 100)}
	if v := view(); !reflect.DeepEqual(v, want) {
		t.Errorf("after least_time: %+v, want %+v", v, want)
	}
	if p := e.protection(t, d); p.CCEnabled {
		t.Errorf("setting the policy turned CC back on: %+v", p)
	}

	// Origins by name are matched without case or a final dot.
	named := website("named.example.com", in.ID)
	named.RsType, named.RealServers = moat.RsTypeDomain, []string{"a.origin.example", "b.origin.example"}
	if err := e.svc.CreateWebRule(e.ctx, me, rg, named, "R"); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.SetWebPolicy(e.ctx, me, rg, named.Domain, moat.ProxyModeRR, ow("B.Origin.Example.", 7), "R4"); err != nil {
		t.Fatal(err)
	}
	v, err := e.svc.WebPolicy(e.ctx, me, rg, named.Domain, nil)
	if err != nil || !reflect.DeepEqual(v, moat.WebPolicyView{Mode: moat.ProxyModeRR, RsType: moat.RsTypeDomain, Origins: ow("a.origin.example", 100, "b.origin.example", 7)}) {
		t.Errorf("a website of named origins: %+v, %v", v, err)
	}
}

// TestWebPolicyChecks: the mode is one of three, a weight is 1 to 100,
// an origin named is one of the website's and named once; a refused call
// changes nothing.
func TestWebPolicyChecks(t *testing.T) {
	e := newEnv(t, moat.Config{})
	in := e.create(t, moat.RegionMainland, 30*24*time.Hour, 1)[0]
	me, rg := e.caller(e.acct), moat.RegionMainland
	d := e.webSite(t, "chk.example.com", in.ID)
	cases := []struct {
		mode    string
		weights []moat.OriginWeight
		code    moat.Code
		says    string
	}{
		{"", nil, "MissingPolicy.ProxyMode", "Policy.ProxyMode"},
		{"least_conn", nil, moat.CodeInvalidParameter, "ip_hash, rr or least_time"},
		{"RR", nil, moat.CodeInvalidParameter, "ip_hash, rr or least_time"},
		{"rr", []moat.OriginWeight{{Origin: "192.0.2.20", Weight: 0}}, moat.CodeInvalidParameter, "Policy.Attributes.1.Attribute.Weight"},
		{"rr", []moat.OriginWeight{{Origin: "192.0.2.20", Weight: 101}}, moat.CodeInvalidParameter, "from 1 to 100"},
		{"rr", []moat.OriginWeight{{Origin: "192.0.2.99", Weight: 5}}, moat.CodeInvalidParameter, "one of the website's origins (192.0.2.20)"},
		{"rr", []moat.OriginWeight{{Origin: "", Weight: 5}}, "MissingPolicy.Attributes.1.RealServer", "is mandatory"},
		{"rr", []moat.OriginWeight{{Origin: "192.0.2.20", Weight: 5}, {Origin: "192.0.2.20", Weight: 6}}, moat.CodeInvalidParameter, "Policy.Attributes.2.RealServer"},
	}
	for _, c := range cases {
		err := e.svc.SetWebPolicy(e.ctx, me, rg, d, c.mode, c.weights, "R")
		if moat.ErrorCode(err) != c.code || !strings.Contains(moat.AsError(err).Message, c.says) {
			t.Errorf("mode %q weights %+v: %v, want %s saying %q", c.mode, c.weights, err, c.code, c.says)
		}
	}
	if _, err := e.svc.WebPolicy(e.ctx, me, rg, d, []string{"192.0.2.99"}); moat.ErrorCode(err) != moat.CodeInvalidParameter {
		t.Errorf("describing an origin the website does not have: %v", err)
	}
	if p := e.protection(t, d); !reflect.DeepEqual(p, moat.DefaultWebProtection()) {
		t.Errorf("refused calls changed the website: %+v", p)
	}
}

// TestWebPolicyEventsAndTenancy: setting the policy records rule_modified
// for domain/<name> on every instance the website is bound to; another
// account's website, or the caller's in the other region, is
// DomainNotExist with the message a domain nobody has gets.
func TestWebPolicyEventsAndTenancy(t *testing.T) {
	e := newEnv(t, moat.Config{})
	ins := e.create(t, moat.RegionMainland, 30*24*time.Hour, 2)
	me, them, rg := e.caller(e.acct), e.caller(e.other), moat.RegionMainland
	d := e.webSite(t, "pol.example.com", ins[0].ID, ins[1].ID)
	if err := e.svc.SetWebPolicy(e.ctx, me, rg, d, moat.ProxyModeRR, nil, "P1"); err != nil {
		t.Fatal(err)
	}
	for _, in := range ins {
		evs, err := e.svc.Events(e.ctx, moat.EventFilter{InstanceID: in.ID})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, ev := range evs {
			if ev.RequestID == "P1" {
				got = append(got, fmt.Sprintf("%s %s", ev.Type, ev.Subject))
			}
		}
		if !slices.Equal(got, []string{"rule_modified domain/pol.example.com"}) {
			t.Errorf("events of %s: %v", in.ID, got)
		}
	}
	calls := map[string]func(c moat.Caller, r moat.Region, d string) error{
		"config": func(c moat.Caller, r moat.Region, d string) error {
			return e.svc.SetWebPolicy(e.ctx, c, r, d, moat.ProxyModeLeastTime, nil, "R")
		},
		"describe": func(c moat.Caller, r moat.Region, d string) error {
			_, err := e.svc.WebPolicy(e.ctx, c, r, d, nil)
			return err
		},
	}
	for name, call := range calls {
		for _, who := range []struct {
			c moat.Caller
			r moat.Region
		}{{them, rg}, {me, moat.RegionOverseas}} {
			err := call(who.c, who.r, d)
			ghost := call(who.c, who.r, "ghost.example.com")
			if moat.ErrorCode(err) != moat.CodeDomainNotExist || strings.ReplaceAll(moat.AsError(err).Message, d, "<d>") != strings.ReplaceAll(moat.AsError(ghost).Message, "ghost.example.com", "<d>") {
				t.Errorf("%s by %s in %s: %v (a domain nobody has: %v)", name, who.c.AccountID, who.r, err, ghost)
			}
		}
	}
	v, err := e.svc.WebPolicy(e.ctx, me, rg, d, nil)
	if err != nil || v.Mode != moat.ProxyModeRR {
		t.Errorf("refused calls changed my website's policy: %+v, %v", v, err)
	}
}
