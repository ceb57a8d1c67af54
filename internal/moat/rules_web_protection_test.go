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

// webSite makes a website bound to ids of e's account and returns its
// domain.
func (e *env) webSite(t *testing.T, domain string, ids ...string) string {
	t.Helper()
	if err := e.svc.CreateWebRule(e.ctx, e.caller(e.acct), moat.RegionMainland, website(domain, ids...), "R-site"); err != nil {
		t.Fatal(err)
	}
	return domain
}

func (e *env) protection(t *testing.T, domain string) moat.WebProtection {
	t.Helper()
	p, err := e.svc.WebProtection(e.ctx, e.caller(e.acct), moat.RegionMainland, domain)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func ccRule(name string, count int) moat.CCRule {
	return moat.CCRule{Name: name, Action: moat.WebActionBlock, Count: count, Interval: 60, TTL: 300,
		Conditions: []moat.PreciseCondition{{Field: "uri", Match: "prefix", Value: "/login"}}}
}

func preciseRule(name, action, path string) moat.PreciseRule {
	return moat.PreciseRule{Name: name, Action: action, Conditions: []moat.PreciseCondition{{Field: "uri", Match: "contain", Value: path}}}
}

func ruleNames[T any](list []T, name func(T) string) string {
	var out []string
	for _, v := range list {
		out = append(out, name(v))
	}
	return strings.Join(out, ",")
}

func ccNames(p moat.WebProtection) string {
	return ruleNames(p.CCRules, func(r moat.CCRule) string { return fmt.Sprintf("%s:%d", r.Name, r.Count) })
}

func preciseNames(p moat.WebProtection) string {
	return ruleNames(p.Precise, func(r moat.PreciseRule) string { return r.Name + ":" + r.Action })
}

// TestWebProtectionSettings: a new website has CC on in the default mode
// and nothing else; each setting is stored as given, canonical (IP sets
// without repeats, /32 as an address, blocks masked; field and method
// lower case; a CC rule's target ip and match prefix by default).
func TestWebProtectionSettings(t *testing.T) {
	e := newEnv(t, moat.Config{})
	in := e.create(t, moat.RegionMainland, 30*24*time.Hour, 1)[0]
	me := e.caller(e.acct)
	d := e.webSite(t, "shop.example.com", in.ID)
	if p := e.protection(t, d); !reflect.DeepEqual(p, moat.DefaultWebProtection()) || !p.CCEnabled || p.CCMode != moat.CCModeDefault {
		t.Fatalf("a new website's protection = %+v", p)
	}
	if err := e.svc.SetWebCC(e.ctx, me, moat.RegionMainland, "SHOP.example.com", false, "R1"); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.SetWebCCMode(e.ctx, me, moat.RegionMainland, d, moat.CCModeUnderAttack, "R2"); err != nil {
		t.Fatal(err)
	}
	black := []string{"198.51.100.7", "198.51.100.7/32", "10.1.2.3/8", " 203.0.113.9 "}
	if err := e.svc.SetWebIPSets(e.ctx, me, moat.RegionMainland, d, black, []string{"192.0.2.0/24"}, "R3"); err != nil {
		t.Fatal(err)
	}
	r := ccRule("login", 20)
	r.Conditions[0].Field, r.Conditions[0].Match = "URI", "Prefix"
	if err := e.svc.PutWebCCRules(e.ctx, me, moat.RegionMainland, d, []moat.CCRule{r}, 0, "R4"); err != nil {
		t.Fatal(err)
	}
	hdr := moat.PreciseRule{Name: "bot", Action: moat.WebActionWatch, Conditions: []moat.PreciseCondition{
		{Field: "header", Match: "equal", Value: "1", Header: "X-Bot"}, {Field: "http-method", Match: "equal", Value: "POST"}}}
	if err := e.svc.PutPreciseRules(e.ctx, me, moat.RegionMainland, d, []moat.PreciseRule{hdr}, 0, "R5"); err != nil {
		t.Fatal(err)
	}
	want := moat.WebProtection{
		CCEnabled: false, CCMode: moat.CCModeUnderAttack,
		CCRules: []moat.CCRule{{Name: "login", Action: "block", Count: 20, Interval: 60, TTL: 300, Match: "prefix", Target: "ip",
			Conditions: []moat.PreciseCondition{{Field: "uri", Match: "prefix", Value: "/login"}}}},
		Blacklist: []string{"198.51.100.7", "10.0.0.0/8", "203.0.113.9"},
		Whitelist: []string{"192.0.2.0/24"},
		Precise:   []moat.PreciseRule{hdr},
	}
	if got := e.protection(t, d); !reflect.DeepEqual(got, want) {
		t.Fatalf("protection\n got %+v\nwant %+v", got, want)
	}
	// The IP sets are replaced whole: none given empties both.
	if err := e.svc.SetWebIPSets(e.ctx, me, moat.RegionMainland, d, nil, nil, "R6"); err != nil {
		t.Fatal(err)
	}
	if p := e.protection(t, d); len(p.Blacklist)+len(p.Whitelist) != 0 || len(p.CCRules) != 1 {
		t.Fatalf("after emptying the IP sets: %+v", p)
	}
	// The batch read: the caller's websites only, by lower-case name.
	m, err := e.svc.WebProtections(e.ctx, me, moat.RegionMainland, []string{"Shop.Example.com", "nobody.example.com"})
	if err != nil || len(m) != 1 || m[d].CCMode != moat.CCModeUnderAttack {
		t.Fatalf("WebProtections = %+v, %v", m, err)
	}
}

// TestWebProtectionChecks pins each setting's validation and its code;
// a refused call changes nothing.
func TestWebProtectionChecks(t *testing.T) {
	e := newEnv(t, moat.Config{})
	in := e.create(t, moat.RegionMainland, 30*24*time.Hour, 1)[0]
	me := e.caller(e.acct)
	d := e.webSite(t, "check.example.com", in.ID)
	rg := moat.RegionMainland
	cc := func(mod func(r *moat.CCRule)) func() error {
		r := ccRule("r1", 10)
		mod(&r)
		return func() error { return e.svc.PutWebCCRules(e.ctx, me, rg, d, []moat.CCRule{r}, 0, "R") }
	}
	pr := func(mod func(r *moat.PreciseRule)) func() error {
		r := preciseRule("p1", moat.WebActionBlock, "/admin")
		mod(&r)
		return func() error { return e.svc.PutPreciseRules(e.ctx, me, rg, d, []moat.PreciseRule{r}, 0, "R") }
	}
	cond := func(c moat.PreciseCondition) func() error {
		return pr(func(r *moat.PreciseRule) { r.Conditions = []moat.PreciseCondition{c} })
	}
	many := func(n int, f func(i int) string) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = f(i)
		}
		return out
	}
	cases := []struct {
		name string
		call func() error
		code moat.Code
		msg  string
	}{
		{"mode empty", func() error { return e.svc.SetWebCCMode(e.ctx, me, rg, d, "", "R") }, "MissingTemplate", "Template"},
		{"mode unknown", func() error { return e.svc.SetWebCCMode(e.ctx, me, rg, d, "strict", "R") }, moat.CodeInvalidParameter, `Template value "strict"`},
		{"domain malformed", func() error { return e.svc.SetWebCC(e.ctx, me, rg, "not a domain", true, "R") }, moat.CodeInvalidDomain, ""},
		{"ip set bad address", func() error { return e.svc.SetWebIPSets(e.ctx, me, rg, d, []string{"300.1.1.1"}, nil, "R") }, moat.CodeInvalidIP, "BlackList"},
		{"ip set IPv6", func() error { return e.svc.SetWebIPSets(e.ctx, me, rg, d, nil, []string{"2001:db8::/32"}, "R") }, moat.CodeInvalidIP, "WhiteList"},
		{"ip set too long", func() error {
			return e.svc.SetWebIPSets(e.ctx, me, rg, d, many(moat.MaxWebIPSet+1, func(i int) string { return fmt.Sprintf("10.0.%d.%d", i/250, i%250+1) }), nil, "R")
		}, moat.CodeInvalidParameter, "at most 200"},
		{"cc no rules", func() error { return e.svc.PutWebCCRules(e.ctx, me, rg, d, nil, 0, "R") }, "MissingRuleList", ""},
		{"cc negative period", func() error { return e.svc.PutWebCCRules(e.ctx, me, rg, d, []moat.CCRule{ccRule("a", 10)}, -1, "R") }, moat.CodeInvalidParameter, "Expires"},
		{"cc no name", cc(func(r *moat.CCRule) { r.Name = "" }), "MissingRuleList.name", ""},
		{"cc name chars", cc(func(r *moat.CCRule) { r.Name = "a-b" }), moat.CodeInvalidParameter, "RuleList.name"},
		{"cc name long", cc(func(r *moat.CCRule) { r.Name = strings.Repeat("a", moat.MaxWebRuleName+1) }), moat.CodeInvalidParameter, "RuleList.name"},
		{"cc no action", cc(func(r *moat.CCRule) { r.Action = "" }), "MissingRuleList.action", ""},
		{"cc bad action", cc(func(r *moat.CCRule) { r.Action = "drop" }), moat.CodeInvalidParameter, "RuleList.action"},
		{"cc count low", cc(func(r *moat.CCRule) { r.Count = moat.MinCCCount - 1 }), moat.CodeInvalidParameter, "RuleList.ratelimit.threshold"},
		{"cc count high", cc(func(r *moat.CCRule) { r.Count = moat.MaxCCCount + 1 }), moat.CodeInvalidParameter, "RuleList.ratelimit.threshold"},
		{"cc interval low", cc(func(r *moat.CCRule) { r.Interval = moat.MinCCInterval - 1 }), moat.CodeInvalidParameter, "RuleList.ratelimit.interval"},
		{"cc interval high", cc(func(r *moat.CCRule) { r.Interval = moat.MaxCCInterval + 1 }), moat.CodeInvalidParameter, "RuleList.ratelimit.interval"},
		{"cc ttl low", cc(func(r *moat.CCRule) { r.TTL = moat.MinCCTTL - 1 }), moat.CodeInvalidParameter, "RuleList.ratelimit.ttl"},
		{"cc ttl high", cc(func(r *moat.CCRule) { r.TTL = moat.MaxCCTTL + 1 }), moat.CodeInvalidParameter, "RuleList.ratelimit.ttl"},
		{"cc bad target", cc(func(r *moat.CCRule) { r.Target = "cookie" }), moat.CodeInvalidParameter, "RuleList.ratelimit.target"},
		{"cc header without subkey", cc(func(r *moat.CCRule) { r.Target = "header" }), "MissingRuleList.ratelimit.subkey", ""},
		{"cc bad mode", cc(func(r *moat.CCRule) { r.Match = "suffix" }), moat.CodeInvalidParameter, "RuleList.mode"},
		{"cc relative uri", cc(func(r *moat.CCRule) { r.URI = "login" }), moat.CodeInvalidParameter, "RuleList.uri"},
		{"cc same name twice", func() error {
			return e.svc.PutWebCCRules(e.ctx, me, rg, d, []moat.CCRule{ccRule("a", 10), ccRule("a", 20)}, 0, "R")
		}, moat.CodeInvalidParameter, "once"},
		{"cc bad condition", cc(func(r *moat.CCRule) { r.Conditions[0].Field = "body" }), moat.CodeInvalidParameter, "RuleList.condition.field"},
		{"precise no rules", func() error { return e.svc.PutPreciseRules(e.ctx, me, rg, d, nil, 0, "R") }, "MissingRules", ""},
		{"precise negative period", func() error {
			return e.svc.PutPreciseRules(e.ctx, me, rg, d, []moat.PreciseRule{preciseRule("a", "block", "/x")}, -5, "R")
		}, moat.CodeInvalidParameter, "Expires"},
		{"precise no name", pr(func(r *moat.PreciseRule) { r.Name = "" }), "MissingRules.name", ""},
		{"precise bad action", pr(func(r *moat.PreciseRule) { r.Action = "deny" }), moat.CodeInvalidParameter, "Rules.action"},
		{"precise no conditions", pr(func(r *moat.PreciseRule) { r.Conditions = nil }), "MissingRules.condition", ""},
		{"precise six conditions", pr(func(r *moat.PreciseRule) {
			for range moat.MaxRuleConditions {
				r.Conditions = append(r.Conditions, r.Conditions[0])
			}
		}), moat.CodeInvalidParameter, "at most 5 conditions"},
		{"field unknown", cond(moat.PreciseCondition{Field: "body", Match: "contain", Value: "x"}), moat.CodeInvalidParameter, "Rules.condition.field"},
		{"method not of the field", cond(moat.PreciseCondition{Field: "ip", Match: "contain", Value: "1.2.3.4"}), moat.CodeInvalidParameter, "Rules.condition.match_method"},
		{"method of content-length only", cond(moat.PreciseCondition{Field: "uri", Match: "vless", Value: "3"}), moat.CodeInvalidParameter, "Rules.condition.match_method"},
		{"nexist not for uri", cond(moat.PreciseCondition{Field: "uri", Match: "nexist"}), moat.CodeInvalidParameter, "Rules.condition.match_method"},
		{"header without name", cond(moat.PreciseCondition{Field: "header", Match: "equal", Value: "x"}), "MissingRules.condition.header_name", ""},
		{"empty content", cond(moat.PreciseCondition{Field: "uri", Match: "equal"}), "MissingRules.condition.content", ""},
		{"content too long", cond(moat.PreciseCondition{Field: "uri", Match: "contain", Value: strings.Repeat("a", moat.MaxConditionValue+1)}), moat.CodeInvalidParameter, "Rules.condition.content"},
		{"ip content not an address", cond(moat.PreciseCondition{Field: "ip", Match: "belong", Value: "example.com"}), moat.CodeInvalidIP, ""},
		{"bad regular expression", cond(moat.PreciseCondition{Field: "uri", Match: "regular", Value: "(a"}), moat.CodeInvalidParameter, "a regular expression"},
		{"length not a number", cond(moat.PreciseCondition{Field: "uri", Match: "lgreat", Value: "ten"}), moat.CodeInvalidParameter, "a length"},
		{"length negative", cond(moat.PreciseCondition{Field: "content-length", Match: "vgreat", Value: "-1"}), moat.CodeInvalidParameter, "a length"},
		{"length with sign", cond(moat.PreciseCondition{Field: "content-length", Match: "vgreat", Value: "+10"}), moat.CodeInvalidParameter, "a length"},
		{"delete cc no names", func() error { return e.svc.DeleteWebCCRules(e.ctx, me, rg, d, nil, "R") }, "MissingRuleNames", ""},
		{"delete precise no names", func() error { return e.svc.DeletePreciseRules(e.ctx, me, rg, d, nil, "R") }, "MissingRuleNames", ""},
	}
	before := e.events(t, in.ID)
	for _, c := range cases {
		err := c.call()
		if moat.ErrorCode(err) != c.code || !strings.Contains(moat.AsError(err).Message, c.msg) {
			t.Errorf("%s: %v, want %s mentioning %q", c.name, err, c.code, c.msg)
		}
	}
	if p := e.protection(t, d); !reflect.DeepEqual(p, moat.DefaultWebProtection()) {
		t.Errorf("refused calls changed the protection: %+v", p)
	}
	if after := e.events(t, in.ID); len(after) != len(before) {
		t.Errorf("refused calls recorded events: %v", after[len(before):])
	}
	// The bounds themselves are accepted, and every documented method of
	// each field.
	edge := []moat.CCRule{ccRule("lo", moat.MinCCCount), ccRule("hi", moat.MaxCCCount)}
	edge[0].Interval, edge[0].TTL = moat.MinCCInterval, moat.MinCCTTL
	edge[1].Interval, edge[1].TTL, edge[1].Target, edge[1].SubKey = moat.MaxCCInterval, moat.MaxCCTTL, "header", "X-Client"
	if err := e.svc.PutWebCCRules(e.ctx, me, rg, d, edge, 0, "R"); err != nil {
		t.Fatalf("rules at the bounds: %v", err)
	}
	ok := []moat.PreciseCondition{
		{Field: "ip", Match: "nbelong", Value: "10.0.0.0/8"}, {Field: "referer", Match: "nexist"},
		{Field: "content-length", Match: "vless", Value: "1024"}, {Field: "uri", Match: "regular", Value: "^/a+$"},
		{Field: "params", Match: "lless", Value: "0"},
	}
	if err := e.svc.PutPreciseRules(e.ctx, me, rg, d, []moat.PreciseRule{{Name: "ok", Action: moat.WebActionAccept, Conditions: ok}}, 0, "R"); err != nil {
		t.Fatalf("valid conditions: %v", err)
	}
}

// TestWebRulesReplaceByName: a rule of a name the website has replaces it
// in place; others are added after; the limits count the result, and a
// call over them keeps nothing; deletes ignore names the website lacks.
func TestWebRulesReplaceByName(t *testing.T) {
	e := newEnv(t, moat.Config{})
	in := e.create(t, moat.RegionMainland, 30*24*time.Hour, 1)[0]
	me := e.caller(e.acct)
	rg := moat.RegionMainland
	d := e.webSite(t, "names.example.com", in.ID)

	put := func(rs ...moat.CCRule) error { return e.svc.PutWebCCRules(e.ctx, me, rg, d, rs, 0, "R") }
	if err := put(ccRule("a", 10), ccRule("b", 10)); err != nil {
		t.Fatal(err)
	}
	if err := put(ccRule("c", 30), ccRule("a", 20)); err != nil {
		t.Fatal(err)
	}
	if got := ccNames(e.protection(t, d)); got != "a:20,b:10,c:30" {
		t.Fatalf("CC rules %s, want a:20,b:10,c:30", got)
	}
	var fill []moat.CCRule
	for i := 3; i < moat.MaxWebCCRules; i++ {
		fill = append(fill, ccRule(fmt.Sprintf("f%d", i), 5))
	}
	if err := put(fill...); err != nil {
		t.Fatalf("up to the limit: %v", err)
	}
	wantCode(t, "one over the limit", put(ccRule("extra", 5), ccRule("a", 99)), moat.CodeExceedWebRuleLimit)
	if p := e.protection(t, d); len(p.CCRules) != moat.MaxWebCCRules || p.CCRules[0].Count != 20 {
		t.Fatalf("a refused call changed the rules: %d, first %+v", len(p.CCRules), p.CCRules[0])
	}
	if err := put(ccRule("a", 99)); err != nil {
		t.Fatalf("replacing at the limit: %v", err)
	}
	if err := e.svc.DeleteWebCCRules(e.ctx, me, rg, d, []string{"b", "nope", "f3"}, "R"); err != nil {
		t.Fatal(err)
	}
	if got := ccNames(e.protection(t, d)); !strings.HasPrefix(got, "a:99,c:30,f4:5,") || strings.Contains(got, "b:") || strings.Contains(got, "f3:") {
		t.Fatalf("after delete: %s", got)
	}

	putP := func(rs ...moat.PreciseRule) error { return e.svc.PutPreciseRules(e.ctx, me, rg, d, rs, 0, "R") }
	if err := putP(preciseRule("x", "block", "/x"), preciseRule("y", "watch", "/y")); err != nil {
		t.Fatal(err)
	}
	if err := putP(preciseRule("x", "accept", "/x2")); err != nil {
		t.Fatal(err)
	}
	p := e.protection(t, d)
	if got := preciseNames(p); got != "x:accept,y:watch" || p.Precise[0].Conditions[0].Value != "/x2" {
		t.Fatalf("precise rules %s %+v", got, p.Precise)
	}
	var fillP []moat.PreciseRule
	for i := 2; i <= moat.MaxPreciseRules; i++ {
		fillP = append(fillP, preciseRule(fmt.Sprintf("p%d", i), "block", "/p"))
	}
	wantCode(t, "precise over the limit", putP(fillP...), moat.CodeExceedWebRuleLimit)
	if err := e.svc.DeletePreciseRules(e.ctx, me, rg, d, []string{"y", "zzz"}, "R"); err != nil {
		t.Fatal(err)
	}
	if got := preciseNames(e.protection(t, d)); got != "x:accept" {
		t.Fatalf("precise after delete: %s", got)
	}
}

// TestWebRuleExpiry: a CC rule given a period, and a block precise rule
// given one, end after it (the other precise actions ignore it); ended
// rules are neither shown nor counted against the limit, and the next
// change drops them from the store.
func TestWebRuleExpiry(t *testing.T) {
	e := newEnv(t, moat.Config{})
	in := e.create(t, moat.RegionMainland, 30*24*time.Hour, 1)[0]
	me := e.caller(e.acct)
	rg := moat.RegionMainland
	d := e.webSite(t, "ttl.example.com", in.ID)
	if err := e.svc.PutWebCCRules(e.ctx, me, rg, d, []moat.CCRule{ccRule("short", 10)}, 600, "R1"); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.PutWebCCRules(e.ctx, me, rg, d, []moat.CCRule{ccRule("forever", 10)}, 0, "R2"); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.PutPreciseRules(e.ctx, me, rg, d, []moat.PreciseRule{preciseRule("blk", "block", "/a"), preciseRule("wat", "watch", "/b")}, 600, "R3"); err != nil {
		t.Fatal(err)
	}
	p := e.protection(t, d)
	if ccNames(p) != "short:10,forever:10" || preciseNames(p) != "blk:block,wat:watch" {
		t.Fatalf("before the period ends: %s / %s", ccNames(p), preciseNames(p))
	}
	if r := p.CCRules[0]; r.Period != 600 || r.Expires == 0 {
		t.Errorf("the short CC rule: period %d expires %d", r.Period, r.Expires)
	}
	if r := p.CCRules[1]; r.Period != 0 || r.Expires != 0 {
		t.Errorf("the lasting CC rule: period %d expires %d", r.Period, r.Expires)
	}
	if b, w := p.Precise[0], p.Precise[1]; b.Period != 600 || b.Expires != p.CCRules[0].Expires || w.Period != 0 || w.Expires != 0 {
		t.Errorf("precise rules: block %+v, watch %+v", b, w)
	}
	e.advance(t, 599*time.Second)
	if p := e.protection(t, d); len(p.CCRules) != 2 || len(p.Precise) != 2 {
		t.Fatalf("a second before the end: %s / %s", ccNames(p), preciseNames(p))
	}
	e.advance(t, time.Second)
	p = e.protection(t, d)
	if ccNames(p) != "forever:10" || preciseNames(p) != "wat:watch" {
		t.Fatalf("at the end: %s / %s", ccNames(p), preciseNames(p))
	}
	m, err := e.svc.WebProtections(e.ctx, me, rg, []string{d})
	if err != nil || len(m[d].CCRules) != 1 || len(m[d].Precise) != 1 {
		t.Fatalf("WebProtections at the end: %+v, %v", m, err)
	}
	// Stored until the next change, which drops them.
	stored, err := e.store.WebProtectionsOf(e.ctx, e.acct, []string{d})
	if err != nil || len(stored[d].CCRules) != 2 {
		t.Fatalf("stored before a change: %+v, %v", stored, err)
	}
	if err := e.svc.SetWebCC(e.ctx, me, rg, d, true, "R4"); err != nil {
		t.Fatal(err)
	}
	stored, err = e.store.WebProtectionsOf(e.ctx, e.acct, []string{d})
	if err != nil || ccNames(stored[d]) != "forever:10" || preciseNames(stored[d]) != "wat:watch" {
		t.Fatalf("stored after a change: %+v, %v", stored, err)
	}
	// A replacement restarts the period from now.
	if err := e.svc.PutWebCCRules(e.ctx, me, rg, d, []moat.CCRule{ccRule("forever", 11)}, 60, "R5"); err != nil {
		t.Fatal(err)
	}
	e.advance(t, time.Minute)
	if p := e.protection(t, d); len(p.CCRules) != 0 {
		t.Fatalf("a replaced rule with a period outlived it: %+v", p.CCRules)
	}
}

// TestWebProtectionEvents: every accepted change is a rule_modified event
// about domain/<name> on each instance the website is bound to, with the
// request's ID.
func TestWebProtectionEvents(t *testing.T) {
	e := newEnv(t, moat.Config{})
	ins := e.create(t, moat.RegionMainland, 30*24*time.Hour, 2)
	me := e.caller(e.acct)
	rg := moat.RegionMainland
	d := e.webSite(t, "ev.example.com", ins[0].ID, ins[1].ID)
	e.webSite(t, "quiet.example.com", ins[0].ID)
	steps := []error{
		e.svc.SetWebCC(e.ctx, me, rg, d, false, "W1"),
		e.svc.SetWebCCMode(e.ctx, me, rg, d, moat.CCModeSOSVerify, "W2"),
		e.svc.PutWebCCRules(e.ctx, me, rg, d, []moat.CCRule{ccRule("a", 10)}, 0, "W3"),
		e.svc.DeleteWebCCRules(e.ctx, me, rg, d, []string{"a"}, "W4"),
		e.svc.SetWebIPSets(e.ctx, me, rg, d, []string{"198.51.100.1"}, nil, "W5"),
		e.svc.PutPreciseRules(e.ctx, me, rg, d, []moat.PreciseRule{preciseRule("p", "block", "/x")}, 0, "W6"),
		e.svc.DeletePreciseRules(e.ctx, me, rg, d, []string{"p"}, "W7"),
	}
	for i, err := range steps {
		if err != nil {
			t.Fatalf("step %d: %v", i+1, err)
		}
	}
	for _, in := range ins {
		evs, err := e.svc.Events(e.ctx, moat.EventFilter{InstanceID: in.ID})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, ev := range evs {
			if strings.HasPrefix(ev.RequestID, "W") {
				got = append(got, fmt.Sprintf("%s %s %s", ev.Type, ev.Subject, ev.RequestID))
			}
		}
		var want []string
		for i := range steps {
			want = append(want, fmt.Sprintf("rule_modified domain/ev.example.com W%d", i+1))
		}
		if !slices.Equal(got, want) {
			t.Errorf("events of %s:\n%s\nwant:\n%s", in.ID, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
}

// TestWebProtectionTenancy: another account's website, or the caller's in
// the other region, is DomainNotExist for every call, with the message a
// domain nobody has gets; two accounts' websites of one name keep their
// own settings.
func TestWebProtectionTenancy(t *testing.T) {
	e := newEnv(t, moat.Config{})
	in := e.create(t, moat.RegionMainland, 30*24*time.Hour, 1)[0]
	me, them := e.caller(e.acct), e.caller(e.other)
	d := e.webSite(t, "shared.example.com", in.ID)
	mine := e.webSite(t, "mine.example.com", in.ID)
	theirs, err := e.svc.CreateInstances(e.ctx, moat.NewInstances{AccountID: e.other, Region: moat.RegionMainland, Count: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.CreateWebRule(e.ctx, them, moat.RegionMainland, website(d, theirs[0].ID), "R"); err != nil {
		t.Fatal(err)
	}
	calls := map[string]func(c moat.Caller, r moat.Region, d string) error{
		"switch": func(c moat.Caller, r moat.Region, d string) error { return e.svc.SetWebCC(e.ctx, c, r, d, false, "R") },
		"mode": func(c moat.Caller, r moat.Region, d string) error {
			return e.svc.SetWebCCMode(e.ctx, c, r, d, moat.CCModeSOSEnhance, "R")
		},
		"cc rules": func(c moat.Caller, r moat.Region, d string) error {
			return e.svc.PutWebCCRules(e.ctx, c, r, d, []moat.CCRule{ccRule("x", 5)}, 0, "R")
		},
		"delete cc rules": func(c moat.Caller, r moat.Region, d string) error {
			return e.svc.DeleteWebCCRules(e.ctx, c, r, d, []string{"x"}, "R")
		},
		"ip sets": func(c moat.Caller, r moat.Region, d string) error {
			return e.svc.SetWebIPSets(e.ctx, c, r, d, []string{"198.51.100.1"}, nil, "R")
		},
		"precise": func(c moat.Caller, r moat.Region, d string) error {
			return e.svc.PutPreciseRules(e.ctx, c, r, d, []moat.PreciseRule{preciseRule("x", "block", "/")}, 0, "R")
		},
		"delete precise": func(c moat.Caller, r moat.Region, d string) error {
			return e.svc.DeletePreciseRules(e.ctx, c, r, d, []string{"x"}, "R")
		},
		"read": func(c moat.Caller, r moat.Region, d string) error {
			_, err := e.svc.WebProtection(e.ctx, c, r, d)
			return err
		},
	}
	for name, call := range calls {
		for _, who := range []struct {
			c moat.Caller
			r moat.Region
		}{{them, moat.RegionMainland}, {me, moat.RegionOverseas}} {
			err := call(who.c, who.r, mine)
			ghost := call(who.c, who.r, "ghost.example.com")
			if moat.ErrorCode(err) != moat.CodeDomainNotExist || strings.ReplaceAll(moat.AsError(err).Message, mine, "<d>") != strings.ReplaceAll(moat.AsError(ghost).Message, "ghost.example.com", "<d>") {
				t.Errorf("%s by %s in %s: %v (a domain nobody has: %v)", name, who.c.AccountID, who.r, err, ghost)
			}
		}
		// The other account's own website of the shared name is its own.
		if err := call(them, moat.RegionMainland, d); err != nil {
			t.Errorf("%s by the other account on its own website: %v", name, err)
		}
	}
	if p := e.protection(t, d); !reflect.DeepEqual(p, moat.DefaultWebProtection()) {
		t.Errorf("the other account's changes reached mine: %+v", p)
	}
	if p := e.protection(t, mine); !reflect.DeepEqual(p, moat.DefaultWebProtection()) {
		t.Errorf("refused calls changed my website: %+v", p)
	}
	tp, err := e.svc.WebProtection(e.ctx, them, moat.RegionMainland, d)
	if err != nil || tp.CCEnabled || tp.CCMode != moat.CCModeSOSEnhance || len(tp.Blacklist) != 1 {
		t.Errorf("the other account's website: %+v, %v", tp, err)
	}
	if m, err := e.svc.WebProtections(e.ctx, them, moat.RegionMainland, []string{mine, d}); err != nil || len(m) != 1 || m[d].CCEnabled {
		t.Errorf("the other account's batch read: %+v, %v", m, err)
	}
}

// TestWebProtectionGoesWithWebsite: deleting a website deletes its
// protection (a new website of the name starts from the default), and so
// does releasing the only instance it is bound to.
func TestWebProtectionGoesWithWebsite(t *testing.T) {
	e := newEnv(t, moat.Config{})
	ins := append(e.create(t, moat.RegionMainland, 30*24*time.Hour, 1), e.create(t, moat.RegionMainland, time.Hour, 1)...)
	me := e.caller(e.acct)
	rg := moat.RegionMainland
	configure := func(d string) {
		t.Helper()
		if err := e.svc.SetWebCCMode(e.ctx, me, rg, d, moat.CCModeUnderAttack, "R"); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.PutWebCCRules(e.ctx, me, rg, d, []moat.CCRule{ccRule("a", 10)}, 0, "R"); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.SetWebIPSets(e.ctx, me, rg, d, []string{"198.51.100.1"}, []string{"198.51.100.2"}, "R"); err != nil {
			t.Fatal(err)
		}
	}
	stored := func(d string) bool {
		t.Helper()
		m, err := e.store.WebProtectionsOf(e.ctx, e.acct, []string{d})
		if err != nil {
			t.Fatal(err)
		}
		_, ok := m[d]
		return ok
	}
	d := e.webSite(t, "gone.example.com", ins[0].ID)
	configure(d)
	if !stored(d) {
		t.Fatal("the protection was not stored")
	}
	if err := e.svc.DeleteWebRule(e.ctx, me, rg, d, "R"); err != nil {
		t.Fatal(err)
	}
	if stored(d) {
		t.Fatal("the protection outlived its website")
	}
	wantCode(t, "read a deleted website", func() error { _, err := e.svc.WebProtection(e.ctx, me, rg, d); return err }(), moat.CodeDomainNotExist)
	e.webSite(t, d, ins[0].ID)
	if p := e.protection(t, d); !reflect.DeepEqual(p, moat.DefaultWebProtection()) {
		t.Fatalf("a new website of a deleted one's name: %+v", p)
	}

	only := e.webSite(t, "only.example.com", ins[1].ID)
	both := e.webSite(t, "both.example.com", ins[0].ID, ins[1].ID)
	configure(only)
	configure(both)
	e.advance(t, 2*time.Hour) // the second instance expires, and may be released
	if err := e.svc.ReleaseInstance(e.ctx, me, rg, ins[1].ID, "R"); err != nil {
		t.Fatal(err)
	}
	if stored(only) {
		t.Fatal("the protection of a website whose only instance was released is still stored")
	}
	if p := e.protection(t, both); p.CCMode != moat.CCModeUnderAttack || len(p.CCRules) != 1 {
		t.Fatalf("a website still bound elsewhere lost its protection: %+v", p)
	}
	e.webSite(t, only, ins[0].ID)
	if p := e.protection(t, only); !reflect.DeepEqual(p, moat.DefaultWebProtection()) {
		t.Fatalf("a new website of a released one's name: %+v", p)
	}
}
