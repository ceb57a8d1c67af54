package webguard

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"moat/internal/dataplane"
	"moat/internal/moat"
)

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

var (
	srcA = netip.MustParseAddr("198.51.100.1")
	srcB = netip.MustParseAddr("198.51.100.2")
)

func settings(p moat.WebProtection) dataplane.WebGuardSettings {
	return dataplane.WebGuardSettings{AccountID: "acct", Domain: "www.example.com", Node: "n1", Mitigate: true, Protection: p}
}

func get(target string) *http.Request { return httptest.NewRequest(http.MethodGet, target, nil) }

func TestOffWhileNotMitigating(t *testing.T) {
	s := settings(moat.WebProtection{CCEnabled: true, CCMode: moat.CCModeSOSEnhance, Blacklist: []string{"198.51.100.0/24"}})
	s.Mitigate = false
	g := New(s)
	for i := range 200 {
		if v := g.Request(srcA, get("/"), t0.Add(time.Duration(i)*time.Millisecond)); !v.Allow || v.Attack {
			t.Fatalf("request %d while not mitigating: %+v, want allowed and not an attack", i, v)
		}
	}
	if evs := g.Events(t0.Add(time.Second)); len(evs) != 0 {
		t.Errorf("events while not mitigating: %+v", evs)
	}
}

func TestBlacklistRefusesWhitelistExempts(t *testing.T) {
	g := New(settings(moat.WebProtection{CCEnabled: true, CCMode: moat.CCModeSOSEnhance,
		Blacklist: []string{"198.51.100.0/24"}, Whitelist: []string{"198.51.100.2"}}))
	v := g.Request(srcA, get("/"), t0)
	if v.Allow || v.Status != BlockStatus || string(v.Body) != string(BlockPage) || !v.Attack || v.Reason != "blacklist" {
		t.Errorf("blacklisted source: %+v, want refused 405 with the block page, reason blacklist", v)
	}
	// The whitelist wins over the blacklist and over the CC threshold.
	for i := range 500 {
		if v := g.Request(srcB, get("/"), t0.Add(time.Duration(i)*time.Millisecond)); !v.Allow || v.Attack {
			t.Fatalf("whitelisted request %d: %+v, want allowed", i, v)
		}
	}
	other := netip.MustParseAddr("203.0.113.9")
	if v := g.Request(other, get("/"), t0); !v.Allow {
		t.Errorf("a source on neither list: %+v, want allowed", v)
	}
}

func TestPreciseRules(t *testing.T) {
	p := moat.WebProtection{CCEnabled: true, CCMode: moat.CCModeSOSEnhance, Precise: []moat.PreciseRule{
		{Name: "ok", Action: "accept", Conditions: []moat.PreciseCondition{{Field: "header", Header: "X-Pass", Match: "equal", Value: "yes"}}},
		{Name: "admin", Action: "block", Conditions: []moat.PreciseCondition{{Field: "uri", Match: "contain", Value: "/admin"}}},
		{Name: "bots", Action: "watch", Conditions: []moat.PreciseCondition{{Field: "user-agent", Match: "regular", Value: `(?i)bot`}}},
		{Name: "old", Action: "block", Expires: t0.Unix(), Conditions: []moat.PreciseCondition{{Field: "uri", Match: "equal", Value: "/old"}}},
		{Name: "noref", Action: "challenge", Conditions: []moat.PreciseCondition{
			{Field: "http-method", Match: "equal", Value: "post"}, {Field: "referer", Match: "nexist"}}},
		{Name: "net", Action: "block", Conditions: []moat.PreciseCondition{{Field: "ip", Match: "belong", Value: "203.0.113.0/24"}}},
		{Name: "long", Action: "block", Conditions: []moat.PreciseCondition{{Field: "params", Match: "lgreat", Value: "10"}}},
	}}
	g := New(settings(p))
	post := func(ref string) *http.Request {
		r := httptest.NewRequest(http.MethodPost, "/form", nil)
		if ref != "" {
			r.Header.Set("Referer", ref)
		}
		return r
	}
	bot := get("/index")
	bot.Header.Set("User-Agent", "SomeBot/1.0")
	pass := get("/admin")
	pass.Header.Set("X-Pass", "yes")
	for _, tc := range []struct {
		name   string
		src    netip.Addr
		r      *http.Request
		allow  bool
		attack bool
		reason string
	}{
		{"a path containing /admin is blocked", srcA, get("/x/admin/y"), false, true, "precise:admin"},
		{"another path passes", srcA, get("/public"), true, false, ""},
		{"a watched user agent passes, counted", srcA, bot, true, true, "precise:bots"},
		{"an ended rule no longer applies", srcA, get("/old"), true, false, ""},
		{"POST without Referer is challenged (refused)", srcA, post(""), false, true, "precise:noref"},
		{"POST with Referer passes", srcA, post("https://www.example.com/"), true, false, ""},
		{"a source in the rule's block is blocked", netip.MustParseAddr("203.0.113.50"), get("/"), false, true, "precise:net"},
		{"a query longer than 10 is blocked", srcA, get("/?q=0123456789"), false, true, "precise:long"},
		{"an accept rule comes first and lets through", srcA, pass, true, false, ""},
	} {
		v := g.Request(tc.src, tc.r, t0)
		if v.Allow != tc.allow || v.Attack != tc.attack || v.Reason != tc.reason {
			t.Errorf("%s: %+v, want allow %v attack %v reason %q", tc.name, v, tc.allow, tc.attack, tc.reason)
		}
		if !v.Allow && v.Status != BlockStatus {
			t.Errorf("%s: status %d, want %d", tc.name, v.Status, BlockStatus)
		}
	}
}

func ccRuleOf(name, uri, action string, count, interval, ttl int) moat.CCRule {
	return moat.CCRule{Name: name, URI: uri, Match: "prefix", Count: count, Interval: interval, TTL: ttl, Action: action, Target: "ip"}
}

func TestCCRuleCutsOneSourceAnotherPasses(t *testing.T) {
	g := New(settings(moat.WebProtection{CCEnabled: true, CCMode: moat.CCModeDefault,
		CCRules: []moat.CCRule{ccRuleOf("login", "/login", "block", 3, 10, 60)}}))
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	for i := range 3 {
		if v := g.Request(srcA, get("/login"), at(time.Duration(i)*time.Second)); !v.Allow {
			t.Fatalf("request %d within the count: %+v", i+1, v)
		}
	}
	v := g.Request(srcA, get("/login/x"), at(3*time.Second))
	if v.Allow || v.Reason != "cc_rule:login" {
		t.Fatalf("4th request in 10 s: %+v, want refused by cc_rule:login", v)
	}
	// Another source, and another path of the same source, pass.
	if v := g.Request(srcB, get("/login"), at(3*time.Second)); !v.Allow {
		t.Errorf("another source: %+v, want allowed", v)
	}
	if v := g.Request(srcA, get("/home"), at(3*time.Second)); !v.Allow {
		t.Errorf("a path the rule does not cover: %+v, want allowed", v)
	}
	// The block lasts TTL from the crossing, whatever the window.
	if v := g.Request(srcA, get("/login"), at(62*time.Second)); v.Allow {
		t.Errorf("within the 60 s block: %+v, want refused", v)
	}
	if v := g.Request(srcA, get("/login"), at(63*time.Second)); !v.Allow {
		t.Errorf("after the block: %+v, want allowed", v)
	}
	// A new window: requests spaced beyond Interval never cross.
	g2 := New(settings(moat.WebProtection{CCEnabled: true, CCMode: moat.CCModeDefault,
		CCRules: []moat.CCRule{ccRuleOf("login", "/login", "block", 3, 10, 60)}}))
	for i := range 20 {
		if v := g2.Request(srcA, get("/login"), at(time.Duration(i)*4*time.Second)); !v.Allow {
			t.Fatalf("request %d at 4 s spacing (at most 3 per 10 s window): %+v", i, v)
		}
	}
}

func TestCCRuleWatchExactHeaderTarget(t *testing.T) {
	r := ccRuleOf("api", "/api", "watch", 2, 5, 60)
	r.Match = "exact"
	h := ccRuleOf("user", "/p", "block", 2, 5, 60)
	h.Target, h.SubKey = "header", "X-User"
	g := New(settings(moat.WebProtection{CCEnabled: true, CCMode: moat.CCModeDefault, CCRules: []moat.CCRule{r, h}}))
	for i := range 4 {
		v := g.Request(srcA, get("/api"), t0.Add(time.Duration(i)*time.Millisecond))
		if !v.Allow || v.Attack != (i >= 2) {
			t.Errorf("watch rule, request %d: %+v, want allowed, an attack from the 3rd", i+1, v)
		}
	}
	if v := g.Request(srcA, get("/api/x"), t0); !v.Allow || v.Attack {
		t.Errorf("exact rule on another path: %+v", v)
	}
	// The header rule counts per header value, whatever the address.
	req := func(user string) *http.Request {
		q := get("/p")
		q.Header.Set("X-User", user)
		return q
	}
	g.Request(srcA, req("alice"), t0)
	g.Request(srcB, req("alice"), t0)
	if v := g.Request(srcA, req("bob"), t0); !v.Allow {
		t.Errorf("another header value: %+v, want allowed", v)
	}
	if v := g.Request(srcB, req("alice"), t0); v.Allow || v.Reason != "cc_rule:user" {
		t.Errorf("3rd request of alice from two addresses: %+v, want refused", v)
	}
}

func TestModeThresholdsAndSwitch(t *testing.T) {
	for mode, m := range Modes {
		t.Run(mode, func(t *testing.T) {
			g := New(settings(moat.WebProtection{CCEnabled: true, CCMode: mode}))
			step := ModeWindow / time.Duration(m.Count+1)
			for i := range m.Count {
				if v := g.Request(srcA, get("/"), t0.Add(time.Duration(i)*step)); !v.Allow {
					t.Fatalf("request %d of %d: %+v", i+1, m.Count, v)
				}
			}
			cross := t0.Add(time.Duration(m.Count) * step)
			if v := g.Request(srcA, get("/"), cross); v.Allow || v.Reason != "cc" {
				t.Fatalf("request %d within %v: %+v, want refused by cc", m.Count+1, ModeWindow, v)
			}
			if v := g.Request(srcB, get("/"), cross); !v.Allow {
				t.Errorf("another source: %+v", v)
			}
			if v := g.Request(srcA, get("/"), cross.Add(m.Block-time.Nanosecond)); v.Allow {
				t.Errorf("just before the block ends: %+v, want refused", v)
			}
			if v := g.Request(srcA, get("/"), cross.Add(m.Block)); !v.Allow {
				t.Errorf("when the block ends: %+v, want allowed", v)
			}
		})
	}
	// With the switch off neither the mode nor custom rules apply; the
	// precise rules and lists still do.
	g := New(settings(moat.WebProtection{CCEnabled: false, CCMode: moat.CCModeSOSEnhance,
		CCRules: []moat.CCRule{ccRuleOf("all", "/", "block", 2, 10, 60)},
		Precise: []moat.PreciseRule{{Name: "p", Action: "block", Conditions: []moat.PreciseCondition{{Field: "uri", Match: "equal", Value: "/no"}}}}}))
	for i := range 300 {
		if v := g.Request(srcA, get("/"), t0.Add(time.Duration(i)*time.Millisecond)); !v.Allow {
			t.Fatalf("CC off, request %d: %+v", i, v)
		}
	}
	if v := g.Request(srcA, get("/no"), t0); v.Allow {
		t.Errorf("CC off, precise rule: %+v, want refused", v)
	}
}

func TestUpdateKeepsCounts(t *testing.T) {
	p := moat.WebProtection{CCEnabled: true, CCMode: moat.CCModeDefault, CCRules: []moat.CCRule{ccRuleOf("r", "/", "block", 3, 10, 60)}}
	g := New(settings(p))
	for i := range 3 {
		g.Request(srcA, get("/"), t0.Add(time.Duration(i)*time.Second))
	}
	p.Whitelist = []string{"192.0.2.1"}
	g.Update(settings(p))
	if v := g.Request(srcA, get("/"), t0.Add(4*time.Second)); v.Allow {
		t.Errorf("after an update, the 4th request of the window: %+v, want refused", v)
	}
	p.CCRules = nil
	g.Update(settings(p))
	if v := g.Request(srcA, get("/"), t0.Add(5*time.Second)); !v.Allow {
		t.Errorf("after the rule is removed: %+v, want allowed", v)
	}
}

func TestEvents(t *testing.T) {
	g := New(settings(moat.WebProtection{CCEnabled: true, CCMode: moat.CCModeDefault, Blacklist: []string{"198.51.100.1"},
		Precise: []moat.PreciseRule{{Name: "w", Action: "watch", Conditions: []moat.PreciseCondition{{Field: "uri", Match: "equal", Value: "/w"}}}}}))
	// Three refused in the first second, five in the next; two watched.
	for i := range 3 {
		g.Request(srcA, get("/"), t0.Add(time.Duration(i)*time.Millisecond))
	}
	for i := range 5 {
		g.Request(srcA, get("/"), t0.Add(time.Second+time.Duration(i)*time.Millisecond))
	}
	g.Request(srcB, get("/w"), t0)
	g.Request(srcB, get("/w"), t0.Add(time.Second))
	evs := g.Events(t0.Add(2 * time.Second))
	byReason := map[string]moat.WebAttackEvent{}
	for _, e := range evs {
		byReason[e.Source+" "+e.Reason] = e
	}
	want := map[string]moat.WebAttackEvent{
		"198.51.100.1 blacklist": {AccountID: "acct", Domain: "www.example.com", Node: "n1", Source: "198.51.100.1", Reason: "blacklist",
			Start: t0, Peak: 5, Blocked: 8},
		"198.51.100.2 precise:w": {AccountID: "acct", Domain: "www.example.com", Node: "n1", Source: "198.51.100.2", Reason: "precise:w",
			Start: t0, Peak: 1, Watched: 2},
	}
	if len(evs) != 2 || fmt.Sprint(byReason) != fmt.Sprint(want) {
		t.Fatalf("Events = %+v, want %+v", byReason, want)
	}
	if evs := g.Events(t0.Add(3 * time.Second)); len(evs) != 0 {
		t.Errorf("Events with no change: %+v, want none", evs)
	}
	// Quiet for EventQuiet: the events end at their last request.
	evs = g.Events(t0.Add(time.Second + 5*time.Millisecond + EventQuiet))
	if len(evs) != 2 {
		t.Fatalf("after the quiet time: %+v, want both ended", evs)
	}
	for _, e := range evs {
		if e.End.IsZero() || e.End.Before(e.Start) {
			t.Errorf("ended event %+v: End not set", e)
		}
	}
	if e := evs[0]; e.Reason == "blacklist" && !e.End.Equal(t0.Add(time.Second+4*time.Millisecond)) {
		t.Errorf("blacklist event End = %v, want its last request", e.End)
	}
	// A new request after the end opens a new event.
	g.Request(srcA, get("/"), t0.Add(time.Hour))
	if evs := g.Events(t0.Add(time.Hour)); len(evs) != 1 || !evs[0].Start.Equal(t0.Add(time.Hour)) || evs[0].Blocked != 1 {
		t.Errorf("a new event: %+v", evs)
	}
}

func TestBoundedState(t *testing.T) {
	g := New(settings(moat.WebProtection{CCEnabled: true, CCMode: moat.CCModeDefault,
		Precise: []moat.PreciseRule{{Name: "all", Action: "watch", Conditions: []moat.PreciseCondition{{Field: "uri", Match: "contain", Value: "/"}}}}}))
	g.SetLimits(64, 8)
	for i := range 2000 {
		src := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		if v := g.Request(src, get("/"), t0.Add(time.Duration(i)*time.Millisecond)); !v.Allow {
			t.Fatalf("request %d: %+v", i, v)
		}
		if len(g.counters) > 64 || len(g.events) > 9 {
			t.Fatalf("after %d sources: %d counters, %d events; want at most 64 and 8+1", i+1, len(g.counters), len(g.events))
		}
	}
	evs := g.Events(t0.Add(3 * time.Second))
	var overflow int64
	for _, e := range evs {
		if e.Source == overflowSource {
			overflow = e.Watched
		}
	}
	if overflow != 2000-8 {
		t.Errorf("overflow event counted %d, want %d", overflow, 2000-8)
	}
	// Idle counters are forgotten by Events.
	g.Events(t0.Add(time.Hour))
	if len(g.counters) != 0 {
		t.Errorf("%d counters left after an idle hour", len(g.counters))
	}
}
