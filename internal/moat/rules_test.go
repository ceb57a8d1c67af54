package moat_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"

	"moat/internal/moat"
)

func portRule(id, proto string, port int, origins ...string) moat.PortRule {
	if len(origins) == 0 {
		origins = []string{"192.0.2.10"}
	}
	return moat.PortRule{PortKey: moat.PortKey{InstanceID: id, Protocol: proto, FrontendPort: port}, BackendPort: port, RealServers: origins}
}

func (e *env) portCount(t *testing.T, id string) int64 {
	t.Helper()
	p, err := e.svc.PortRules(e.ctx, e.caller(e.acct), moat.RegionMainland, moat.PortQuery{InstanceID: id})
	if err != nil {
		t.Fatal(err)
	}
	return p.Total
}

// TestPortRuleLimitsAndBatches pins PortCount, uniqueness of (protocol,
// port) and the all-or-nothing batch.
func TestPortRuleLimitsAndBatches(t *testing.T) {
	e := newEnv(t, moat.Config{})
	in := e.create(t, moat.RegionMainland, 30*24*time.Hour, 1)[0]
	me := e.caller(e.acct)
	limit := moat.DefaultSpec(moat.ProductDdoscoo).PortCount

	var batch []moat.PortRule
	for i := 0; i < limit-1; i++ {
		batch = append(batch, portRule(in.ID, "tcp", 1000+i))
	}
	if err := e.svc.CreatePortRules(e.ctx, me, moat.RegionMainland, batch, "R1"); err != nil {
		t.Fatal(err)
	}
	// The same port over UDP is another rule; over TCP it is taken.
	wantCode(t, "duplicate", e.svc.CreatePortRules(e.ctx, me, moat.RegionMainland, []moat.PortRule{portRule(in.ID, "TCP", 1000)}, "R2"), moat.CodeNetworkRuleExist)
	// Two more do not fit: neither is kept.
	two := []moat.PortRule{portRule(in.ID, "udp", 1000), portRule(in.ID, "udp", 1001)}
	wantCode(t, "over the limit", e.svc.CreatePortRules(e.ctx, me, moat.RegionMainland, two, "R3"), moat.CodeExceedNetworkRuleLimit)
	if n := e.portCount(t, in.ID); n != int64(limit-1) {
		t.Fatalf("after a refused batch: %d rules, want %d", n, limit-1)
	}
	// A batch with one bad rule keeps none.
	bad := []moat.PortRule{portRule(in.ID, "udp", 1000), portRule(in.ID, "udp", 70000)}
	if err := e.svc.CreatePortRules(e.ctx, me, moat.RegionMainland, bad, "R4"); moat.ErrorCode(err) != moat.CodeInvalidParameter {
		t.Fatalf("bad port: %v", err)
	}
	if err := e.svc.CreatePortRules(e.ctx, me, moat.RegionMainland, []moat.PortRule{portRule(in.ID, "udp", 1000)}, "R5"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "full", e.svc.CreatePortRules(e.ctx, me, moat.RegionMainland, []moat.PortRule{portRule(in.ID, "udp", 1001)}, "R6"), moat.CodeExceedNetworkRuleLimit)
	if n := e.portCount(t, in.ID); n != int64(limit) {
		t.Fatalf("%d rules, want %d", n, limit)
	}

	// Input checks, each with its code.
	for _, c := range []struct {
		r    moat.PortRule
		code moat.Code
	}{
		{portRule(in.ID, "sctp", 80), moat.CodeInvalidParameter},
		{portRule(in.ID, "tcp", 0), moat.CodeInvalidParameter},
		{portRule(in.ID, "tcp", 80, "300.1.1.1"), moat.CodeInvalidIP},
		{portRule(in.ID, "tcp", 80, "2001:db8::1"), moat.CodeInvalidIP},
		{portRule(in.ID, "tcp", 80, "224.0.0.1"), moat.CodeInvalidIP},
		{portRule(in.ID, "tcp", 80, "192.0.2.1", "192.0.2.1"), moat.CodeInvalidParameter},
	} {
		wantCode(t, fmt.Sprintf("%+v", c.r), e.svc.CreatePortRules(e.ctx, me, moat.RegionMainland, []moat.PortRule{c.r}, "R"), c.code)
	}
	many := make([]string, moat.MaxRealServers+1)
	for i := range many {
		many[i] = fmt.Sprintf("192.0.2.%d", i+1)
	}
	wantCode(t, "21 origins", e.svc.CreatePortRules(e.ctx, me, moat.RegionMainland, []moat.PortRule{portRule(in.ID, "tcp", 80, many...)}, "R"), moat.CodeInvalidParameter)

	// Modify and delete name an existing rule.
	wantCode(t, "modify missing", e.svc.ModifyPortRules(e.ctx, me, moat.RegionMainland, []moat.PortChange{{PortKey: moat.PortKey{InstanceID: in.ID, Protocol: "tcp", FrontendPort: 9}, RealServers: []string{"192.0.2.1"}}}, "R"), moat.CodeNetworkRuleNotExist)
	if err := e.svc.ModifyPortRules(e.ctx, me, moat.RegionMainland, []moat.PortChange{{PortKey: moat.PortKey{InstanceID: in.ID, Protocol: "tcp", FrontendPort: 1000}, BackendPort: 8080, RealServers: []string{"192.0.2.7", "192.0.2.8"}}}, "R7"); err != nil {
		t.Fatal(err)
	}
	got, err := e.svc.LookupPortRules(e.ctx, me, moat.RegionMainland, []moat.PortKey{{InstanceID: in.ID, Protocol: "tcp", FrontendPort: 1000}, {InstanceID: in.ID, Protocol: "tcp", FrontendPort: 9}})
	if err != nil || len(got) != 1 || got[0].BackendPort != 8080 || strings.Join(got[0].RealServers, ",") != "192.0.2.7,192.0.2.8" {
		t.Fatalf("lookup after modify = %+v, %v", got, err)
	}
	keys := []moat.PortKey{{InstanceID: in.ID, Protocol: "tcp", FrontendPort: 1000}, {InstanceID: in.ID, Protocol: "tcp", FrontendPort: 9}}
	wantCode(t, "delete with a missing rule", e.svc.DeletePortRules(e.ctx, me, moat.RegionMainland, keys, "R"), moat.CodeNetworkRuleNotExist)
	if n := e.portCount(t, in.ID); n != int64(limit) {
		t.Fatalf("a refused delete removed rules: %d", n)
	}
	if err := e.svc.DeletePortRules(e.ctx, me, moat.RegionMainland, keys[:1], "R8"); err != nil {
		t.Fatal(err)
	}
	if n := e.portCount(t, in.ID); n != int64(limit-1) {
		t.Fatalf("%d rules after delete", n)
	}
}

// TestRuleConfigMerge pins the partial Config of ModifyNetworkRuleAttribute
// and its ranges.
func TestRuleConfigMerge(t *testing.T) {
	e := newEnv(t, moat.Config{})
	in := e.create(t, moat.RegionMainland, 30*24*time.Hour, 1)[0]
	me := e.caller(e.acct)
	k := moat.PortKey{InstanceID: in.ID, Protocol: "tcp", FrontendPort: 443}
	if err := e.svc.CreatePortRules(e.ctx, me, moat.RegionMainland, []moat.PortRule{portRule(in.ID, "tcp", 443)}, "R1"); err != nil {
		t.Fatal(err)
	}
	config := func() moat.RuleConfig {
		got, err := e.svc.LookupPortRules(e.ctx, me, moat.RegionMainland, []moat.PortKey{k})
		if err != nil || len(got) != 1 {
			t.Fatalf("lookup: %+v, %v", got, err)
		}
		return got[0].Config
	}
	if c := config(); c != moat.DefaultRuleConfig() {
		t.Fatalf("a new rule's config = %+v", c)
	}
	if err := e.svc.ModifyRuleConfig(e.ctx, me, moat.RegionMainland, k, moat.RuleConfigPatch{PersistenceTimeout: ptr(900)}, "R2"); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.ModifyRuleConfig(e.ctx, me, moat.RegionMainland, k, moat.RuleConfigPatch{Sla: &moat.SlaPatch{Cps: ptr(500), CpsEnable: ptr(1)}}, "R3"); err != nil {
		t.Fatal(err)
	}
	want := moat.DefaultRuleConfig()
	want.PersistenceTimeout, want.Sla.Cps, want.Sla.CpsEnable = 900, 500, 1
	if c := config(); c != want {
		t.Fatalf("merged config = %+v, want %+v", c, want)
	}
	for name, p := range map[string]moat.RuleConfigPatch{
		"timeout 10":     {PersistenceTimeout: ptr(10)},
		"synproxy maybe": {Synproxy: ptr("maybe")},
		"sla cps 99":     {Sla: &moat.SlaPatch{Cps: ptr(99)}},
		"slimit mode 3":  {Slimit: &moat.SlimitPatch{CpsMode: ptr(3)}},
		"bps 10":         {Slimit: &moat.SlimitPatch{Bps: ptr(int64(10))}},
		"min above max":  {PayloadLen: &moat.PayloadLenPatch{Min: ptr(100), Max: ptr(50)}},
		"max 6001":       {PayloadLen: &moat.PayloadLenPatch{Max: ptr(6001)}},
	} {
		wantCode(t, name, e.svc.ModifyRuleConfig(e.ctx, me, moat.RegionMainland, k, p, "R"), moat.CodeInvalidParameter)
	}
	if c := config(); c != want {
		t.Fatalf("a refused patch changed the config: %+v", c)
	}

	// Health checks: TCP rules only, defaults filled in, "" turns it off.
	if err := e.svc.ModifyHealthCheck(e.ctx, me, moat.RegionMainland, k, moat.HealthCheck{Type: "http", Domain: "www.example.com"}, "R4"); err != nil {
		t.Fatal(err)
	}
	got, _ := e.svc.LookupPortRules(e.ctx, me, moat.RegionMainland, []moat.PortKey{k})
	if h := got[0].HealthCheck; h != (moat.HealthCheck{Type: "http", Interval: 5, Timeout: 3, Up: 3, Down: 3, Domain: "www.example.com", URI: "/"}) {
		t.Fatalf("health check = %+v", h)
	}
	wantCode(t, "down 40", e.svc.ModifyHealthCheck(e.ctx, me, moat.RegionMainland, k, moat.HealthCheck{Type: "tcp", Down: 40}, "R"), moat.CodeInvalidParameter)
	if err := e.svc.CreatePortRules(e.ctx, me, moat.RegionMainland, []moat.PortRule{portRule(in.ID, "udp", 53)}, "R5"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "udp check", e.svc.ModifyHealthCheck(e.ctx, me, moat.RegionMainland, moat.PortKey{InstanceID: in.ID, Protocol: "udp", FrontendPort: 53}, moat.HealthCheck{Type: "tcp"}, "R"), moat.CodeInvalidParameter)
	st, err := e.svc.HealthStatuses(e.ctx, me, moat.RegionMainland, []moat.PortKey{k})
	if err != nil || len(st) != 1 || st[0].Status != moat.HealthNormal || len(st[0].RealServers) != 1 || st[0].RealServers[0].Address != "192.0.2.10" {
		t.Fatalf("health status = %+v, %v", st, err)
	}
}

// TestRulesTenancy: another account's or region's instance is exactly as
// absent as an unknown one, for every rule call; a domain is unique per
// account, not across accounts.
func TestRulesTenancy(t *testing.T) {
	e := newEnv(t, moat.Config{})
	in := e.create(t, moat.RegionMainland, 30*24*time.Hour, 1)[0]
	me, them := e.caller(e.acct), e.caller(e.other)
	theirs, err := e.svc.CreateInstances(e.ctx, moat.NewInstances{AccountID: e.other, Region: moat.RegionMainland, Count: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.CreatePortRules(e.ctx, me, moat.RegionMainland, []moat.PortRule{portRule(in.ID, "tcp", 8000)}, "R1"); err != nil {
		t.Fatal(err)
	}
	k := moat.PortKey{InstanceID: in.ID, Protocol: "tcp", FrontendPort: 8000}
	msg := fmt.Sprintf("The specified instance %q is not found.", in.ID)
	for name, call := range map[string]func(c moat.Caller, r moat.Region) error{
		"create": func(c moat.Caller, r moat.Region) error {
			return e.svc.CreatePortRules(e.ctx, c, r, []moat.PortRule{portRule(in.ID, "tcp", 81)}, "R")
		},
		"modify": func(c moat.Caller, r moat.Region) error {
			return e.svc.ModifyPortRules(e.ctx, c, r, []moat.PortChange{{PortKey: k, RealServers: []string{"192.0.2.1"}}}, "R")
		},
		"delete": func(c moat.Caller, r moat.Region) error {
			return e.svc.DeletePortRules(e.ctx, c, r, []moat.PortKey{k}, "R")
		},
		"describe": func(c moat.Caller, r moat.Region) error {
			_, err := e.svc.PortRules(e.ctx, c, r, moat.PortQuery{InstanceID: in.ID})
			return err
		},
		"config": func(c moat.Caller, r moat.Region) error {
			return e.svc.ModifyRuleConfig(e.ctx, c, r, k, moat.RuleConfigPatch{}, "R")
		},
		"health": func(c moat.Caller, r moat.Region) error {
			return e.svc.ModifyHealthCheck(e.ctx, c, r, k, moat.HealthCheck{}, "R")
		},
		"blacklist": func(c moat.Caller, r moat.Region) error {
			return e.svc.AddSourceEntries(e.ctx, c, r, in.ID, moat.Blacklist, []string{"198.51.100.1"}, time.Hour, "R")
		},
		"empty": func(c moat.Caller, r moat.Region) error {
			return e.svc.EmptySourceList(e.ctx, c, r, in.ID, moat.Whitelist, "R")
		},
		"udp": func(c moat.Caller, r moat.Region) error {
			return e.svc.SetUDPReflect(e.ctx, c, r, in.ID, []int{17}, "R")
		},
		"website": func(c moat.Caller, r moat.Region) error {
			return e.svc.CreateWebRule(e.ctx, c, r, website("t.example.com", in.ID), "R")
		},
	} {
		for _, who := range []struct {
			c moat.Caller
			r moat.Region
		}{{them, moat.RegionMainland}, {me, moat.RegionOverseas}} {
			err := call(who.c, who.r)
			if moat.ErrorCode(err) != moat.CodeInstanceNotFound || moat.AsError(err).Message != msg {
				t.Fatalf("%s by %s in %s: %v", name, who.c.AccountID, who.r, err)
			}
		}
	}
	// Lookups leave out what is not the caller's.
	if got, err := e.svc.LookupPortRules(e.ctx, them, moat.RegionMainland, []moat.PortKey{k}); err != nil || len(got) != 0 {
		t.Fatalf("another account's lookup = %+v, %v", got, err)
	}
	if u, err := e.svc.RuleUsage(e.ctx, them, moat.RegionMainland, []string{in.ID}); err != nil || len(u) != 0 {
		t.Fatalf("another account's usage = %+v, %v", u, err)
	}
	// The same domain in two accounts; each sees only its own.
	if err := e.svc.CreateWebRule(e.ctx, me, moat.RegionMainland, website("shop.example.com", in.ID), "R2"); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.CreateWebRule(e.ctx, them, moat.RegionMainland, website("shop.example.com", theirs[0].ID), "R3"); err != nil {
		t.Fatalf("the same domain in another account: %v", err)
	}
	wantCode(t, "twice in one account", e.svc.CreateWebRule(e.ctx, me, moat.RegionMainland, website("SHOP.example.com", in.ID), "R"), moat.CodeDomainExist)
	mine, n, err := e.svc.WebRules(e.ctx, me, moat.RegionMainland, moat.WebQuery{})
	if err != nil || n != 1 || mine[0].InstanceIDs[0] != in.ID {
		t.Fatalf("my websites = %+v (%d), %v", mine, n, err)
	}
	wantCode(t, "bind their instance", e.svc.ModifyWebRule(e.ctx, me, moat.RegionMainland, website("shop.example.com", theirs[0].ID), false, "R"), moat.CodeInstanceNotFound)
	wantCode(t, "delete in the other region", e.svc.DeleteWebRule(e.ctx, me, moat.RegionOverseas, "shop.example.com", "R"), moat.CodeDomainNotExist)
	if err := e.svc.CreateWebRule(e.ctx, me, moat.RegionMainland, website("www.example.com", in.ID), "R4"); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.CreateWebRule(e.ctx, me, moat.RegionMainland, website("*.shop.example.co.uk", in.ID), "R5"); err != nil {
		t.Fatal(err)
	}
	// Three websites, two sites: example.com and example.co.uk.
	if u, err := e.svc.RuleUsage(e.ctx, me, moat.RegionMainland, []string{in.ID}); err != nil || u[in.ID] != (moat.RuleCount{Ports: 1, Domains: 3, Sites: 2}) {
		t.Fatalf("usage = %+v, %v", u, err)
	}
}

func website(domain string, ids ...string) moat.WebRule {
	return moat.WebRule{Domain: domain, InstanceIDs: ids, RealServers: []string{"192.0.2.20"}, RsType: moat.RsTypeIP,
		ProxyTypes: []moat.ProxyType{{Type: moat.ProxyHTTP, Ports: []int{80}}, {Type: moat.ProxyHTTPS, Ports: []int{443}}}}
}

// TestRulesLifecycle: rules survive expiry and the seven days after; once
// forwarding stops they can be read and deleted but not changed; release
// deletes them with the instance, and a website bound to two instances
// loses only the released one.
func TestRulesLifecycle(t *testing.T) {
	e := newEnv(t, moat.Config{})
	ins := e.create(t, moat.RegionMainland, time.Hour, 2)
	a, b := ins[0], ins[1]
	me := e.caller(e.acct)
	if err := e.svc.CreatePortRules(e.ctx, me, moat.RegionMainland, []moat.PortRule{portRule(a.ID, "tcp", 22), portRule(b.ID, "tcp", 22)}, "R1"); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.CreateWebRule(e.ctx, me, moat.RegionMainland, website("both.example.com", a.ID, b.ID), "R2"); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.CreateWebRule(e.ctx, me, moat.RegionMainland, website("only-a.example.com", a.ID), "R3"); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.AddSourceEntries(e.ctx, me, moat.RegionMainland, a.ID, moat.Whitelist, []string{"198.51.100.1"}, 0, "R4"); err != nil {
		t.Fatal(err)
	}
	e.advance(t, 2*time.Hour) // expired: mitigation off, forwarding on
	if err := e.svc.CreatePortRules(e.ctx, me, moat.RegionMainland, []moat.PortRule{portRule(a.ID, "tcp", 23)}, "R5"); err != nil {
		t.Fatalf("a rule on an expired instance that still forwards: %v", err)
	}
	e.advance(t, moat.ForwardingGrace) // forwarding stopped
	wantCode(t, "create on a stopped instance", e.svc.CreatePortRules(e.ctx, me, moat.RegionMainland, []moat.PortRule{portRule(a.ID, "tcp", 24)}, "R"), moat.CodeInstanceExpired)
	wantCode(t, "modify a website on a stopped instance", e.svc.ModifyWebRule(e.ctx, me, moat.RegionMainland, website("only-a.example.com", a.ID), false, "R"), moat.CodeInstanceExpired)
	if p, err := e.svc.PortRules(e.ctx, me, moat.RegionMainland, moat.PortQuery{InstanceID: a.ID}); err != nil || p.Total != 2 || p.Forwarding {
		t.Fatalf("rules of a stopped instance: %+v, %v; want 2, not forwarding", p, err)
	}
	if err := e.svc.DeletePortRules(e.ctx, me, moat.RegionMainland, []moat.PortKey{{InstanceID: a.ID, Protocol: "tcp", FrontendPort: 23}}, "R6"); err != nil {
		t.Fatalf("delete on a stopped instance: %v", err)
	}

	if err := e.svc.ReleaseInstance(e.ctx, me, moat.RegionMainland, a.ID, "R7"); err != nil {
		t.Fatal(err)
	}
	webs, n, err := e.svc.WebRules(e.ctx, me, moat.RegionMainland, moat.WebQuery{})
	if err != nil || n != 1 || webs[0].Domain != "both.example.com" || fmt.Sprint(webs[0].InstanceIDs) != fmt.Sprint([]string{b.ID}) {
		t.Fatalf("websites after release = %+v (%d), %v", webs, n, err)
	}
	if _, err := e.svc.PortRules(e.ctx, me, moat.RegionMainland, moat.PortQuery{InstanceID: a.ID}); moat.ErrorCode(err) != moat.CodeInstanceNotFound {
		t.Fatalf("rules of a released instance: %v", err)
	}
	if got, err := e.svc.LookupPortRules(e.ctx, me, moat.RegionMainland, []moat.PortKey{{InstanceID: a.ID, Protocol: "tcp", FrontendPort: 22}}); err != nil || len(got) != 0 {
		t.Fatalf("lookup of a released instance's rule = %+v, %v", got, err)
	}
	if n := e.portCount(t, b.ID); n != 1 {
		t.Fatalf("the other instance lost rules: %d", n)
	}
	counts, err := e.store.RuleCounts(e.ctx, []string{a.ID, b.ID})
	if err != nil || counts[a.ID] != (moat.RuleCount{}) || counts[b.ID] != (moat.RuleCount{Ports: 1, Domains: 1}) {
		t.Fatalf("stored counts = %+v, %v", counts, err)
	}
	entries, total, err := e.store.SourceEntryPage(e.ctx, moat.SourceFilter{InstanceID: a.ID, List: moat.Whitelist, Now: t0, Limit: 10})
	if err != nil || total != 0 || len(entries) != 0 {
		t.Fatalf("a released instance's whitelist = %+v (%d), %v", entries, total, err)
	}
}

// TestRuleEvents: every change is an event with its subject and request.
func TestRuleEvents(t *testing.T) {
	e := newEnv(t, moat.Config{})
	in := e.create(t, moat.RegionMainland, 30*24*time.Hour, 1)[0]
	me := e.caller(e.acct)
	k := moat.PortKey{InstanceID: in.ID, Protocol: "udp", FrontendPort: 53}
	steps := []error{
		e.svc.CreatePortRules(e.ctx, me, moat.RegionMainland, []moat.PortRule{portRule(in.ID, "udp", 53)}, "R1"),
		e.svc.ModifyRuleConfig(e.ctx, me, moat.RegionMainland, k, moat.RuleConfigPatch{Synproxy: ptr("on")}, "R2"),
		e.svc.DeletePortRules(e.ctx, me, moat.RegionMainland, []moat.PortKey{k}, "R3"),
		e.svc.CreateWebRule(e.ctx, me, moat.RegionMainland, website("ev.example.com", in.ID), "R4"),
		e.svc.DeleteWebRule(e.ctx, me, moat.RegionMainland, "ev.example.com", "R5"),
		e.svc.AddSourceEntries(e.ctx, me, moat.RegionMainland, in.ID, moat.Blacklist, []string{"198.51.100.9"}, time.Hour, "R6"),
		e.svc.SetUDPReflect(e.ctx, me, moat.RegionMainland, in.ID, []int{19, 17, 17}, "R7"),
		e.svc.DeleteSourceEntries(e.ctx, me, moat.RegionMainland, in.ID, moat.Whitelist, []string{"198.51.100.9"}, "R8"), // nothing removed: no event
	}
	for i, err := range steps {
		if err != nil {
			t.Fatalf("step %d: %v", i+1, err)
		}
	}
	evs, err := e.svc.Events(e.ctx, moat.EventFilter{InstanceID: in.ID})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ev := range evs[1:] { // after "created"
		got = append(got, fmt.Sprintf("%s %s %s", ev.Type, ev.Subject, ev.RequestID))
	}
	want := []string{
		"rule_created port/udp/53 R1", "rule_modified port/udp/53 R2", "rule_deleted port/udp/53 R3",
		"rule_created domain/ev.example.com R4", "rule_deleted domain/ev.example.com R5",
		"list_changed blacklist R6", "list_changed udp_reflect R7",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	ports, err := e.svc.UDPReflect(e.ctx, me, moat.RegionMainland, in.ID)
	if err != nil || fmt.Sprint(ports) != "[17 19]" {
		t.Fatalf("udp reflect = %v, %v", ports, err)
	}
}

// TestWebsiteChecks pins website validation and the port split between
// websites and TCP port rules on one instance.
func TestWebsiteChecks(t *testing.T) {
	e := newEnv(t, moat.Config{})
	in := e.create(t, moat.RegionMainland, 30*24*time.Hour, 1)[0]
	me := e.caller(e.acct)
	if err := e.svc.CreatePortRules(e.ctx, me, moat.RegionMainland, []moat.PortRule{portRule(in.ID, "tcp", 8080)}, "R1"); err != nil {
		t.Fatal(err)
	}
	w := website("www.example.com", in.ID)
	w.ProxyTypes = append(w.ProxyTypes, moat.ProxyType{Type: moat.ProxyWebsocket, Ports: []int{8080}})
	wantCode(t, "website on a port rule's port", e.svc.CreateWebRule(e.ctx, me, moat.RegionMainland, w, "R"), moat.CodeNetworkRuleConflict)
	if err := e.svc.CreateWebRule(e.ctx, me, moat.RegionMainland, website("www.example.com", in.ID), "R2"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "port rule on a website's port", e.svc.CreatePortRules(e.ctx, me, moat.RegionMainland, []moat.PortRule{portRule(in.ID, "tcp", 443)}, "R"), moat.CodeNetworkRuleConflict)
	if err := e.svc.CreatePortRules(e.ctx, me, moat.RegionMainland, []moat.PortRule{portRule(in.ID, "udp", 443)}, "R3"); err != nil {
		t.Fatalf("a UDP rule on a website's TCP port: %v", err)
	}
	mixed := website("mixed.example.com", in.ID)
	mixed.ProxyTypes = []moat.ProxyType{{Type: "http", Ports: []int{80}}, {Type: "websockets", Ports: []int{80}}}
	wantCode(t, "clear and TLS on one port", e.svc.CreateWebRule(e.ctx, me, moat.RegionMainland, mixed, "R"), moat.CodeInvalidWebRule)
	for _, d := range []string{"example", "-a.example.com", "a..example.com", "exa mple.com", "1.2.3.4", "*.*.example.com", strings.Repeat("a", 64) + ".com"} {
		wantCode(t, d, e.svc.CreateWebRule(e.ctx, me, moat.RegionMainland, website(d, in.ID), "R"), moat.CodeInvalidDomain)
	}
	if err := e.svc.CreateWebRule(e.ctx, me, moat.RegionMainland, website("*.Example.org", in.ID), "R4"); err != nil {
		t.Fatalf("wildcard: %v", err)
	}
	webs, _, err := e.svc.WebRules(e.ctx, me, moat.RegionMainland, moat.WebQuery{Domain: "*.example.org", Exact: true})
	if err != nil || len(webs) != 1 || webs[0].Domain != "*.example.org" || webs[0].Cname != moat.CnameOf(e.acct, "*.example.org") {
		t.Fatalf("wildcard website = %+v, %v", webs, err)
	}
	// ModifyDomainResource without HttpsExt keeps the options; with it,
	// replaces them.
	h2 := website("h2.example.com", in.ID)
	h2.HTTPSExt.Http2 = 1
	if err := e.svc.CreateWebRule(e.ctx, me, moat.RegionMainland, h2, "R5"); err != nil {
		t.Fatal(err)
	}
	ext := func() moat.HTTPSExt {
		webs, _, err := e.svc.WebRules(e.ctx, me, moat.RegionMainland, moat.WebQuery{Domain: "h2.example.com", Exact: true})
		if err != nil || len(webs) != 1 {
			t.Fatalf("h2 website: %+v, %v", webs, err)
		}
		return webs[0].HTTPSExt
	}
	if err := e.svc.ModifyWebRule(e.ctx, me, moat.RegionMainland, website("h2.example.com", in.ID), true, "R6"); err != nil || ext().Http2 != 1 {
		t.Fatalf("modify keeping HttpsExt: %v, %+v", err, ext())
	}
	if err := e.svc.ModifyWebRule(e.ctx, me, moat.RegionMainland, website("h2.example.com", in.ID), false, "R7"); err != nil || ext().Http2 != 0 {
		t.Fatalf("modify replacing HttpsExt: %v, %+v", err, ext())
	}
	if c := moat.CnameOf(e.acct, "www.example.com"); !strings.HasSuffix(c, ".com") || !strings.Contains(c, ".aliyunddos") || len(strings.Split(c, ".")[0]) != 16 {
		t.Fatalf("cname %q", c)
	}
}

// selfSigned makes a certificate for names and its key.
func selfSigned(t *testing.T, names ...string) (certPEM, keyPEM string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: names[0]}, DNSNames: names,
		NotBefore: t0, NotAfter: t0.Add(365 * 24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})), string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}))
}

type prefixSealer struct{}

func (prefixSealer) Seal(p string) (string, error) { return "sealed:" + p, nil }
func (prefixSealer) Open(s string) (string, error) { return strings.TrimPrefix(s, "sealed:"), nil }

// TestWebCertificates pins AssociateWebCert's checks and that keys are
// sealed at rest.
func TestWebCertificates(t *testing.T) {
	e := newEnv(t, moat.Config{Sealer: prefixSealer{}})
	in := e.create(t, moat.RegionMainland, 30*24*time.Hour, 1)[0]
	me := e.caller(e.acct)
	if err := e.svc.CreateWebRule(e.ctx, me, moat.RegionMainland, website("www.example.com", in.ID), "R1"); err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM := selfSigned(t, "www.example.com")
	otherCert, otherKey := selfSigned(t, "www.example.net")
	wantCode(t, "no website", e.svc.AssociateWebCert(e.ctx, me, moat.RegionMainland, "none.example.com", moat.NewCert{Name: "c", CertPEM: certPEM, KeyPEM: keyPEM}, "R"), moat.CodeDomainNotExist)
	wantCode(t, "key of another cert", e.svc.AssociateWebCert(e.ctx, me, moat.RegionMainland, "www.example.com", moat.NewCert{Name: "c", CertPEM: certPEM, KeyPEM: otherKey}, "R"), moat.CodeCertKeyNotMatch)
	wantCode(t, "cert of another name", e.svc.AssociateWebCert(e.ctx, me, moat.RegionMainland, "www.example.com", moat.NewCert{Name: "c", CertPEM: otherCert, KeyPEM: otherKey}, "R"), moat.CodeDomainDoesNotMatchCert)
	wantCode(t, "not PEM", e.svc.AssociateWebCert(e.ctx, me, moat.RegionMainland, "www.example.com", moat.NewCert{Name: "c", CertPEM: "hello", KeyPEM: keyPEM}, "R"), moat.CodeCertFormatError)
	wantCode(t, "unknown ID", e.svc.AssociateWebCert(e.ctx, me, moat.RegionMainland, "www.example.com", moat.NewCert{ID: 99}, "R"), moat.CodeCertNotExist)
	if err := e.svc.AssociateWebCert(e.ctx, me, moat.RegionMainland, "www.example.com", moat.NewCert{Name: "site", CertPEM: certPEM, KeyPEM: keyPEM}, "R2"); err != nil {
		t.Fatal(err)
	}
	// The same upload again reuses the certificate; another under its name
	// is refused.
	if err := e.svc.AssociateWebCert(e.ctx, me, moat.RegionMainland, "www.example.com", moat.NewCert{Name: "site", CertPEM: certPEM, KeyPEM: keyPEM}, "R3"); err != nil {
		t.Fatal(err)
	}
	again, againKey := selfSigned(t, "www.example.com")
	wantCode(t, "name repeat", e.svc.AssociateWebCert(e.ctx, me, moat.RegionMainland, "www.example.com", moat.NewCert{Name: "site", CertPEM: again, KeyPEM: againKey}, "R"), moat.CodeCertNameRepeat)
	certs, err := e.svc.Certs(e.ctx, me, moat.RegionMainland, "www.example.com")
	if err != nil || len(certs) != 1 || !certs[0].DomainRelated || certs[0].Name != "site" || certs[0].Common != "www.example.com" || !certs[0].NotAfter.Equal(t0.Add(365*24*time.Hour)) {
		t.Fatalf("certs = %+v, %v", certs, err)
	}
	stored, err := e.store.Certs(e.ctx, e.acct)
	if err != nil || len(stored) != 1 || stored[0].KeyPEM != "sealed:"+keyPEM {
		t.Fatalf("the stored key is not sealed: %+v, %v", stored, err)
	}
	if err := e.svc.AssociateWebCert(e.ctx, me, moat.RegionMainland, "www.example.com", moat.NewCert{ID: certs[0].ID}, "R4"); err != nil {
		t.Fatalf("by ID: %v", err)
	}
	webs, _, err := e.svc.WebRules(e.ctx, me, moat.RegionMainland, moat.WebQuery{Domain: "www", PageSize: 10})
	if err != nil || len(webs) != 1 || webs[0].Cert == nil || webs[0].Cert.Name != "site" {
		t.Fatalf("website with cert = %+v, %v", webs, err)
	}
	if certs, err := e.svc.Certs(e.ctx, e.caller(e.other), moat.RegionMainland, ""); err != nil || len(certs) != 0 {
		t.Fatalf("another account sees certs: %+v, %v", certs, err)
	}
}

// TestSourceLists pins expiry, the manual-entry cap and QueryType.
func TestSourceLists(t *testing.T) {
	e := newEnv(t, moat.Config{})
	in := e.create(t, moat.RegionMainland, 30*24*time.Hour, 1)[0]
	me := e.caller(e.acct)
	wantCode(t, "ttl 10s", e.svc.AddSourceEntries(e.ctx, me, moat.RegionMainland, in.ID, moat.Blacklist, []string{"198.51.100.1"}, 10*time.Second, "R"), moat.CodeInvalidParameter)
	wantCode(t, "bad ip", e.svc.AddSourceEntries(e.ctx, me, moat.RegionMainland, in.ID, moat.Blacklist, []string{"198.51.100"}, time.Hour, "R"), moat.CodeInvalidIP)
	if err := e.svc.AddSourceEntries(e.ctx, me, moat.RegionMainland, in.ID, moat.Blacklist, []string{"198.51.100.1", "198.51.100.2"}, 10*time.Minute, "R1"); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.AddSourceEntries(e.ctx, me, moat.RegionMainland, in.ID, moat.Blacklist, []string{"198.51.100.2"}, time.Hour, "R2"); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.AddSourceEntries(e.ctx, me, moat.RegionMainland, in.ID, moat.Whitelist, []string{"203.0.113.5"}, 0, "R3"); err != nil {
		t.Fatal(err)
	}
	black, white, err := e.svc.SourceCounts(e.ctx, me, moat.RegionMainland, in.ID, "")
	if err != nil || black != 2 || white != 1 {
		t.Fatalf("counts = %d, %d, %v", black, white, err)
	}
	e.advance(t, 20*time.Minute)
	list, total, err := e.svc.SourceEntries(e.ctx, me, moat.RegionMainland, in.ID, moat.Blacklist, moat.SourceQuery{})
	if err != nil || total != 1 || list[0].IP != "198.51.100.2" || !list[0].Expires.Equal(t0.Add(time.Hour)) {
		t.Fatalf("blacklist after 20 minutes = %+v (%d), %v", list, total, err)
	}
	wl, _, err := e.svc.SourceEntries(e.ctx, me, moat.RegionMainland, in.ID, moat.Whitelist, moat.SourceQuery{KeyWord: "203.0"})
	if err != nil || len(wl) != 1 || !wl[0].Expires.IsZero() {
		t.Fatalf("whitelist = %+v, %v", wl, err)
	}
	// The cap counts live manual entries.
	ips := make([]string, moat.MaxSourceEntries)
	for i := range ips {
		ips[i] = fmt.Sprintf("10.%d.%d.1", i/250, i%250)
	}
	wantCode(t, "2001 entries", e.svc.AddSourceEntries(e.ctx, me, moat.RegionMainland, in.ID, moat.Blacklist, ips, time.Hour, "R"), moat.CodeExceedListLimit)
	if err := e.svc.AddSourceEntries(e.ctx, me, moat.RegionMainland, in.ID, moat.Blacklist, ips[:moat.MaxSourceEntries-1], time.Hour, "R4"); err != nil {
		t.Fatalf("1999 more: %v", err)
	}
	if err := e.svc.EmptySourceList(e.ctx, me, moat.RegionMainland, in.ID, moat.Blacklist, "R5"); err != nil {
		t.Fatal(err)
	}
	if black, white, _ := e.svc.SourceCounts(e.ctx, me, moat.RegionMainland, in.ID, ""); black != 0 || white != 1 {
		t.Fatalf("after emptying the blacklist: %d, %d", black, white)
	}
}
