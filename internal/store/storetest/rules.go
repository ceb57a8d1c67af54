package storetest

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"moat/internal/moat"
)

// ---- Forwarding rules ----

func portRule(id, protocol string, port int) moat.PortRule {
	return moat.PortRule{
		PortKey:     moat.PortKey{InstanceID: id, Protocol: protocol, FrontendPort: port},
		BackendPort: port + 1000,
		RealServers: []string{"192.0.2.1", "192.0.2.2"},
		Config: moat.RuleConfig{PersistenceTimeout: 60, Synproxy: "on", NodataConn: "off",
			Sla:        moat.SlaConfig{Cps: 100, Maxconn: 1000, CpsEnable: 1},
			Slimit:     moat.SlimitConfig{Cps: 10, Maxconn: 20, Bps: 1 << 40, Pps: 1 << 33, MaxconnEnable: 1, CpsMode: 2},
			PayloadLen: moat.PayloadLen{Min: 1, Max: 1400}},
		HealthCheck: moat.HealthCheck{Type: "http", Port: 8080, Interval: 5, Timeout: 3, Up: 2, Down: 3, Domain: "www.example.com", URI: "/health"},
		Created:     at(-time.Minute).In(east),
		Updated:     at(-time.Second).In(east),
	}
}

// diffStruct compares a and b with their times cleared (checked apart by
// checkTime); "" when equal.
func diffStruct[T any](got, want T, zero func(*T)) string {
	zero(&got)
	zero(&want)
	if !reflect.DeepEqual(got, want) {
		return fmt.Sprintf("got %+v, want %+v", got, want)
	}
	return ""
}

func diffPortRule(got, want moat.PortRule) string {
	if d := checkTime("Created", got.Created, want.Created) + checkTime("Updated", got.Updated, want.Updated); d != "" {
		return d
	}
	return diffStruct(got, want, func(r *moat.PortRule) { r.Created, r.Updated = time.Time{}, time.Time{} })
}

func diffWebRule(got, want moat.WebRule) string {
	if d := checkTime("Created", got.Created, want.Created) + checkTime("Updated", got.Updated, want.Updated); d != "" {
		return d
	}
	return diffStruct(got, want, func(r *moat.WebRule) { r.Created, r.Updated = time.Time{}, time.Time{} })
}

func keysOf(rules []moat.PortRule) []moat.PortKey {
	out := []moat.PortKey{}
	for _, r := range rules {
		out = append(out, r.PortKey)
	}
	return out
}

func portPage(t *testing.T, s moat.Store, f moat.PortRuleFilter) ([]moat.PortKey, int64) {
	t.Helper()
	got, n, err := s.PortRulePage(t.Context(), f)
	if err != nil {
		t.Fatalf("PortRulePage(%+v): %v", f, err)
	}
	return keysOf(got), n
}

func testPortRuleRoundTrip(t *testing.T, s moat.Store) {
	a := inst("ddoscoo-cn-port0001", acctA, mainl, "100.64.0.1", at(time.Hour))
	insert(t, s, a)
	r := portRule(a.ID, moat.ProtocolTCP, 80)
	update(t, s, func(tx moat.Tx) error {
		if _, err := tx.PortRule(r.PortKey); !errors.Is(err, moat.ErrNotFound) {
			t.Errorf("PortRule before insert: %v, want ErrNotFound", err)
		}
		if err := tx.InsertPortRule(&r); err != nil {
			return err
		}
		got, err := tx.PortRule(r.PortKey)
		if err != nil {
			return err
		}
		if d := diffPortRule(got, r); d != "" {
			t.Errorf("Tx.PortRule in the inserting Update: %s", d)
		}
		return nil
	})
	update(t, s, func(tx moat.Tx) error {
		got, err := tx.PortRule(r.PortKey)
		if err != nil {
			return err
		}
		if d := diffPortRule(got, r); d != "" {
			t.Errorf("Tx.PortRule: %s", d)
		}
		list, err := tx.PortRules(a.ID)
		if err != nil {
			return err
		}
		if len(list) != 1 || diffPortRule(list[0], r) != "" {
			t.Errorf("Tx.PortRules = %+v, want [%+v]", list, r)
		}
		return nil
	})
	// A listing leaves out the protection settings and the health check.
	listed := r
	listed.Config, listed.HealthCheck = moat.RuleConfig{}, moat.HealthCheck{}
	got, n, err := s.PortRulePage(t.Context(), moat.PortRuleFilter{InstanceID: a.ID})
	if err != nil || n != 1 || len(got) != 1 || diffPortRule(got[0], listed) != "" {
		t.Errorf("PortRulePage = %+v, %d, %v; want [%+v], 1", got, n, err, listed)
	}

	// UpdatePortRule rewrites the mutable fields, not Created.
	u := r
	u.BackendPort = 9000
	u.RealServers = []string{"198.51.100.7"}
	u.Config.Synproxy, u.Config.PayloadLen = "off", moat.PayloadLen{}
	u.HealthCheck = moat.HealthCheck{}
	u.Updated = at(time.Minute)
	u.Created = at(time.Hour) // ignored
	update(t, s, func(tx moat.Tx) error { return tx.UpdatePortRule(&u) })
	want := u
	want.Created = r.Created
	update(t, s, func(tx moat.Tx) error {
		got, err := tx.PortRule(r.PortKey)
		if err != nil {
			return err
		}
		if d := diffPortRule(got, want); d != "" {
			t.Errorf("Tx.PortRule after UpdatePortRule: %s", d)
		}
		return nil
	})

	// Delete.
	update(t, s, func(tx moat.Tx) error { return tx.DeletePortRule(r.PortKey) })
	update(t, s, func(tx moat.Tx) error {
		if _, err := tx.PortRule(r.PortKey); !errors.Is(err, moat.ErrNotFound) {
			t.Errorf("PortRule after delete: %v, want ErrNotFound", err)
		}
		if list, err := tx.PortRules(a.ID); err != nil || len(list) != 0 {
			t.Errorf("PortRules after delete = %+v, %v; want none", list, err)
		}
		return nil
	})
}

func testPortRuleConflictNotFound(t *testing.T, s moat.Store) {
	a := inst("ddoscoo-cn-port0002", acctA, mainl, "100.64.0.1", at(time.Hour))
	insert(t, s, a)
	r := portRule(a.ID, moat.ProtocolTCP, 443)
	update(t, s, func(tx moat.Tx) error { return tx.InsertPortRule(&r) })
	update(t, s, func(tx moat.Tx) error {
		dup := portRule(a.ID, moat.ProtocolTCP, 443)
		dup.BackendPort = 1
		if err := tx.InsertPortRule(&dup); !errors.Is(err, moat.ErrConflict) {
			t.Errorf("InsertPortRule(duplicate key) = %v, want ErrConflict", err)
		}
		// The same port of the other protocol is another rule; the
		// transaction goes on after the conflict.
		udp := portRule(a.ID, moat.ProtocolUDP, 443)
		return tx.InsertPortRule(&udp)
	})
	update(t, s, func(tx moat.Tx) error {
		got, err := tx.PortRule(r.PortKey)
		if err != nil || got.BackendPort != r.BackendPort {
			t.Errorf("PortRule after a refused duplicate = %+v, %v; want the first", got, err)
		}
		missing := moat.PortKey{InstanceID: a.ID, Protocol: moat.ProtocolTCP, FrontendPort: 444}
		if err := tx.DeletePortRule(missing); !errors.Is(err, moat.ErrNotFound) {
			t.Errorf("DeletePortRule(missing) = %v, want ErrNotFound", err)
		}
		m := portRule(a.ID, moat.ProtocolTCP, 444)
		if err := tx.UpdatePortRule(&m); !errors.Is(err, moat.ErrNotFound) {
			t.Errorf("UpdatePortRule(missing) = %v, want ErrNotFound", err)
		}
		return nil
	})
	if _, n := portPage(t, s, moat.PortRuleFilter{InstanceID: a.ID}); n != 2 {
		t.Errorf("PortRulePage count = %d, want 2", n)
	}
}

func testPortRulePage(t *testing.T, s moat.Store) {
	a := inst("ddoscoo-cn-port0003", acctA, mainl, "100.64.0.1", at(time.Hour))
	b := inst("ddoscoo-cn-port0004", acctA, mainl, "100.64.0.2", at(time.Hour))
	insert(t, s, a, b)
	// Inserted out of order; ports compare as numbers (9 before 10).
	var rules []moat.PortRule
	for _, k := range []struct {
		p string
		n int
	}{{"udp", 53}, {"tcp", 10}, {"tcp", 9}, {"udp", 7}, {"tcp", 8080}} {
		rules = append(rules, portRule(a.ID, k.p, k.n))
	}
	other := portRule(b.ID, moat.ProtocolTCP, 9)
	update(t, s, func(tx moat.Tx) error {
		for i := range rules {
			if err := tx.InsertPortRule(&rules[i]); err != nil {
				return err
			}
		}
		return tx.InsertPortRule(&other)
	})
	k := func(p string, n int) moat.PortKey {
		return moat.PortKey{InstanceID: a.ID, Protocol: p, FrontendPort: n}
	}
	all := []moat.PortKey{k("tcp", 9), k("tcp", 10), k("tcp", 8080), k("udp", 7), k("udp", 53)}
	for _, c := range []struct {
		f     moat.PortRuleFilter
		want  []moat.PortKey
		total int64
	}{
		{moat.PortRuleFilter{InstanceID: a.ID}, all, 5},
		{moat.PortRuleFilter{InstanceID: a.ID, Offset: 1, Limit: 2}, all[1:3], 5},
		{moat.PortRuleFilter{InstanceID: a.ID, Offset: 4, Limit: 2}, all[4:], 5},
		{moat.PortRuleFilter{InstanceID: a.ID, Offset: 5, Limit: 2}, []moat.PortKey{}, 5},
		{moat.PortRuleFilter{InstanceID: a.ID, Protocol: "udp"}, all[3:], 2},
		{moat.PortRuleFilter{InstanceID: a.ID, FrontendPort: 10}, all[1:2], 1},
		{moat.PortRuleFilter{InstanceID: a.ID, Protocol: "udp", FrontendPort: 10}, []moat.PortKey{}, 0},
		{moat.PortRuleFilter{InstanceID: b.ID}, []moat.PortKey{other.PortKey}, 1},
		{moat.PortRuleFilter{InstanceID: "ddoscoo-cn-none"}, []moat.PortKey{}, 0},
	} {
		got, n := portPage(t, s, c.f)
		if !slices.Equal(got, c.want) || n != c.total {
			t.Errorf("PortRulePage(%+v) = %v, %d; want %v, %d", c.f, got, n, c.want, c.total)
		}
	}
	update(t, s, func(tx moat.Tx) error {
		list, err := tx.PortRules(a.ID)
		if err != nil {
			return err
		}
		if got := keysOf(list); !slices.Equal(got, all) {
			t.Errorf("Tx.PortRules = %v, want %v", got, all)
		}
		return nil
	})

	// PortRulesByKey keeps the order asked and leaves missing keys out.
	ask := []moat.PortKey{k("udp", 53), k("tcp", 11), other.PortKey, k("tcp", 9), {InstanceID: "ddoscoo-cn-none", Protocol: "tcp", FrontendPort: 9}}
	got, err := s.PortRulesByKey(t.Context(), ask)
	if err != nil {
		t.Fatalf("PortRulesByKey: %v", err)
	}
	if want := []moat.PortKey{k("udp", 53), other.PortKey, k("tcp", 9)}; !slices.Equal(keysOf(got), want) {
		t.Errorf("PortRulesByKey(%v) = %v, want %v", ask, keysOf(got), want)
	}
	if len(got) > 0 {
		if d := diffPortRule(got[0], rules[0]); d != "" {
			t.Errorf("PortRulesByKey item: %s", d)
		}
	}
	if got, err := s.PortRulesByKey(t.Context(), nil); err != nil || len(got) != 0 {
		t.Errorf("PortRulesByKey(nil) = %+v, %v; want none", got, err)
	}
}

func webRule(account, domain string, instances ...string) moat.WebRule {
	return moat.WebRule{
		AccountID: account, Region: mainl, Domain: domain, Cname: "cname-of-" + domain,
		InstanceIDs: instances, RealServers: []string{"origin.example.net"}, RsType: moat.RsTypeDomain,
		ProxyTypes: []moat.ProxyType{{Type: moat.ProxyHTTP, Ports: []int{80, 8080}}, {Type: moat.ProxyHTTPS, Ports: []int{443}}},
		HTTPSExt:   moat.HTTPSExt{Http2: 1, Https2http: 1},
		CertID:     0,
		Created:    at(-time.Hour).In(east),
		Updated:    at(-time.Minute),
	}
}

func webDomains(rules []moat.WebRule) []string {
	out := []string{}
	for _, r := range rules {
		out = append(out, r.Domain)
	}
	return out
}

func testWebRuleRoundTrip(t *testing.T, s moat.Store) {
	a := inst("ddoscoo-cn-web00001", acctA, mainl, "100.64.0.1", at(time.Hour))
	b := inst("ddoscoo-cn-web00002", acctA, mainl, "100.64.0.2", at(time.Hour))
	c := inst("ddoscoo-cn-web00003", acctA, mainl, "100.64.0.3", at(time.Hour))
	insert(t, s, a, b, c)
	// Bindings come back in the order given.
	w := webRule(acctA, "www.example.com", b.ID, a.ID)
	update(t, s, func(tx moat.Tx) error {
		if _, err := tx.WebRule(acctA, w.Domain); !errors.Is(err, moat.ErrNotFound) {
			t.Errorf("WebRule before insert: %v, want ErrNotFound", err)
		}
		if err := tx.InsertWebRule(&w); err != nil {
			return err
		}
		got, err := tx.WebRule(acctA, w.Domain)
		if err != nil {
			return err
		}
		if d := diffWebRule(got, w); d != "" {
			t.Errorf("Tx.WebRule in the inserting Update: %s", d)
		}
		return nil
	})
	update(t, s, func(tx moat.Tx) error {
		dup := webRule(acctA, w.Domain, c.ID)
		if err := tx.InsertWebRule(&dup); !errors.Is(err, moat.ErrConflict) {
			t.Errorf("InsertWebRule(duplicate domain) = %v, want ErrConflict", err)
		}
		// Another account may have the domain.
		other := webRule(acctB, w.Domain, "ddoscoo-cn-otheracct")
		return tx.InsertWebRule(&other)
	})
	update(t, s, func(tx moat.Tx) error {
		got, err := tx.WebRule(acctA, w.Domain)
		if err != nil {
			return err
		}
		if d := diffWebRule(got, w); d != "" {
			t.Errorf("Tx.WebRule after a refused duplicate: %s", d)
		}
		for _, id := range []string{a.ID, b.ID} {
			list, err := tx.WebRulesOf(id)
			if err != nil {
				return err
			}
			if len(list) != 1 || diffWebRule(list[0], w) != "" {
				t.Errorf("WebRulesOf(%s) = %+v, want [%+v]", id, list, w)
			}
		}
		if list, err := tx.WebRulesOf(c.ID); err != nil || len(list) != 0 {
			t.Errorf("WebRulesOf(%s) = %+v, %v; want none", c.ID, list, err)
		}
		return nil
	})

	// UpdateWebRule replaces the bindings and the mutable fields.
	u := w
	u.InstanceIDs = []string{c.ID, b.ID}
	u.RealServers = []string{"192.0.2.9", "192.0.2.10"}
	u.RsType = moat.RsTypeIP
	u.ProxyTypes = []moat.ProxyType{{Type: moat.ProxyWebsocket, Ports: []int{81}}}
	u.HTTPSExt = moat.HTTPSExt{Http2https: 1}
	u.CertID = 42
	u.Updated = at(time.Minute)
	update(t, s, func(tx moat.Tx) error { return tx.UpdateWebRule(&u) })
	update(t, s, func(tx moat.Tx) error {
		got, err := tx.WebRule(acctA, w.Domain)
		if err != nil {
			return err
		}
		if d := diffWebRule(got, u); d != "" {
			t.Errorf("Tx.WebRule after UpdateWebRule: %s", d)
		}
		for id, n := range map[string]int{a.ID: 0, b.ID: 1, c.ID: 1} {
			if list, err := tx.WebRulesOf(id); err != nil || len(list) != n {
				t.Errorf("WebRulesOf(%s) after UpdateWebRule = %d websites, %v; want %d", id, len(list), err, n)
			}
		}
		m := webRule(acctA, "missing.example.com", a.ID)
		if err := tx.UpdateWebRule(&m); !errors.Is(err, moat.ErrNotFound) {
			t.Errorf("UpdateWebRule(missing) = %v, want ErrNotFound", err)
		}
		if err := tx.DeleteWebRule(acctA, "missing.example.com"); !errors.Is(err, moat.ErrNotFound) {
			t.Errorf("DeleteWebRule(missing) = %v, want ErrNotFound", err)
		}
		return nil
	})
	counts, err := s.RuleCounts(t.Context(), []string{a.ID, b.ID, c.ID})
	if want := map[string]moat.RuleCount{b.ID: {Domains: 1}, c.ID: {Domains: 1}}; err != nil || !reflect.DeepEqual(counts, want) {
		t.Errorf("RuleCounts = %+v, %v; want %+v", counts, err, want)
	}

	update(t, s, func(tx moat.Tx) error { return tx.DeleteWebRule(acctA, w.Domain) })
	update(t, s, func(tx moat.Tx) error {
		if _, err := tx.WebRule(acctA, w.Domain); !errors.Is(err, moat.ErrNotFound) {
			t.Errorf("WebRule after delete: %v, want ErrNotFound", err)
		}
		for _, id := range []string{a.ID, b.ID, c.ID} {
			if list, err := tx.WebRulesOf(id); err != nil || len(list) != 0 {
				t.Errorf("WebRulesOf(%s) after delete = %+v, %v; want none", id, list, err)
			}
		}
		if _, err := tx.WebRule(acctB, w.Domain); err != nil {
			t.Errorf("the other account's website after delete: %v", err)
		}
		// The domain can be added again, with no stale bindings.
		again := webRule(acctA, w.Domain, a.ID)
		if err := tx.InsertWebRule(&again); err != nil {
			return err
		}
		got, err := tx.WebRule(acctA, w.Domain)
		if err != nil || !slices.Equal(got.InstanceIDs, again.InstanceIDs) {
			t.Errorf("WebRule after re-insert = %+v, %v; want instances %v", got, err, again.InstanceIDs)
		}
		return nil
	})
}

func testWebRulePage(t *testing.T, s moat.Store) {
	i1, i2, i3 := "ddoscoo-cn-wpage001", "ddoscoo-cn-wpage002", "ddoscoo-cn-wpage003"
	insert(t, s, inst(i1, acctA, mainl, "100.64.0.1", at(time.Hour)), inst(i2, acctA, mainl, "100.64.0.2", at(time.Hour)),
		inst(i3, acctA, mainl, "100.64.0.3", at(time.Hour)))
	rules := []moat.WebRule{
		webRule(acctA, "www.example.com", i1),
		webRule(acctA, "api.example.com", i1, i2),
		webRule(acctA, "shop.Example.org", i2),
		webRule(acctA, "a%b.example.com", i3),
		webRule(acctA, "a_b.example.com", i3),
		webRule(acctA, "axb.example.com", i3),
		webRule(acctB, "www.example.com", "ddoscoo-cn-wpageb01"),
	}
	ov := webRule(acctA, "overseas.example.com", "ddosDip-sg-wpage004")
	ov.Region = overs
	rules = append(rules, ov)
	update(t, s, func(tx moat.Tx) error {
		for i := range rules {
			if err := tx.InsertWebRule(&rules[i]); err != nil {
				return fmt.Errorf("InsertWebRule(%s): %w", rules[i].Domain, err)
			}
		}
		return nil
	})
	f := func(mod func(*moat.WebRuleFilter)) moat.WebRuleFilter {
		w := moat.WebRuleFilter{AccountID: acctA, Region: mainl}
		if mod != nil {
			mod(&w)
		}
		return w
	}
	all := []string{"a%b.example.com", "a_b.example.com", "api.example.com", "axb.example.com", "shop.Example.org", "www.example.com"}
	for _, c := range []struct {
		f     moat.WebRuleFilter
		want  []string
		total int64
	}{
		{f(nil), all, 6},
		{f(func(w *moat.WebRuleFilter) { w.Offset, w.Limit = 2, 2 }), all[2:4], 6},
		{f(func(w *moat.WebRuleFilter) { w.Offset, w.Limit = 6, 2 }), []string{}, 6},
		{f(func(w *moat.WebRuleFilter) { w.Region = overs }), []string{"overseas.example.com"}, 1},
		{f(func(w *moat.WebRuleFilter) { w.Region = "" }), append(slices.Clone(all[:4]), "overseas.example.com", "shop.Example.org", "www.example.com"), 7},
		{f(func(w *moat.WebRuleFilter) { w.AccountID = acctB }), []string{"www.example.com"}, 1},
		// Exact: the whole domain, case and all.
		{f(func(w *moat.WebRuleFilter) { w.Domain, w.Exact = "example.com", true }), []string{}, 0},
		{f(func(w *moat.WebRuleFilter) { w.Domain, w.Exact = "api.example.com", true }), []string{"api.example.com"}, 1},
		// Substring, whatever the case.
		{f(func(w *moat.WebRuleFilter) { w.Domain = "EXAMPLE.ORG" }), []string{"shop.Example.org"}, 1},
		{f(func(w *moat.WebRuleFilter) { w.Domain = "example.com" }), []string{"a%b.example.com", "a_b.example.com", "api.example.com", "axb.example.com", "www.example.com"}, 5},
		// LIKE's metacharacters are literal.
		{f(func(w *moat.WebRuleFilter) { w.Domain = "a%b" }), []string{"a%b.example.com"}, 1},
		{f(func(w *moat.WebRuleFilter) { w.Domain = "a_b" }), []string{"a_b.example.com"}, 1},
		{f(func(w *moat.WebRuleFilter) { w.Domain = "%" }), []string{"a%b.example.com"}, 1},
		{f(func(w *moat.WebRuleFilter) { w.Domain = `a\` }), []string{}, 0},
		// Bound to any of the instances.
		{f(func(w *moat.WebRuleFilter) { w.InstanceIDs = []string{i2} }), []string{"api.example.com", "shop.Example.org"}, 2},
		{f(func(w *moat.WebRuleFilter) { w.InstanceIDs = []string{i1, i2} }), []string{"api.example.com", "shop.Example.org", "www.example.com"}, 3},
		{f(func(w *moat.WebRuleFilter) { w.InstanceIDs = []string{i3}; w.Domain = "a_" }), []string{"a_b.example.com"}, 1},
		{f(func(w *moat.WebRuleFilter) { w.InstanceIDs = []string{"ddoscoo-cn-wpageb01"} }), []string{}, 0},
		{f(func(w *moat.WebRuleFilter) { w.InstanceIDs = []string{} }), []string{}, 0},
	} {
		got, n, err := s.WebRulePage(t.Context(), c.f)
		if err != nil {
			t.Fatalf("WebRulePage(%+v): %v", c.f, err)
		}
		if d := webDomains(got); !slices.Equal(d, c.want) || n != c.total {
			t.Errorf("WebRulePage(%+v) = %q, %d; want %q, %d", c.f, d, n, c.want, c.total)
		}
	}
	// Items carry every field, their bindings included.
	got, _, err := s.WebRulePage(t.Context(), f(func(w *moat.WebRuleFilter) { w.Domain, w.Exact = "api.example.com", true }))
	if err != nil || len(got) != 1 || diffWebRule(got[0], rules[1]) != "" {
		t.Errorf("WebRulePage item = %+v, %v; want %+v", got, err, rules[1])
	}
}

func testCerts(t *testing.T, s moat.Store) {
	c1 := moat.Cert{AccountID: acctA, Region: mainl, Name: "site", CertPEM: "-----BEGIN CERTIFICATE-----\nAAA\n-----END CERTIFICATE-----\n",
		KeyPEM: "sealed:key-1", Common: "www.example.com", Issuer: "Example CA", NotBefore: at(-24 * time.Hour).In(east),
		NotAfter: at(365 * 24 * time.Hour), Created: base}
	c2 := c1
	c2.Name, c2.KeyPEM = "site-2", "sealed:key-2"
	sameName := c1
	sameName.AccountID = acctB
	update(t, s, func(tx moat.Tx) error {
		for _, c := range []*moat.Cert{&c1, &c2, &sameName} {
			if err := tx.InsertCert(c); err != nil {
				return fmt.Errorf("InsertCert(%s, %s): %w", c.AccountID, c.Name, err)
			}
		}
		return nil
	})
	if c1.ID <= 0 || c2.ID <= c1.ID || sameName.ID <= c2.ID {
		t.Errorf("InsertCert IDs = %d, %d, %d; want positive and increasing", c1.ID, c2.ID, sameName.ID)
	}
	update(t, s, func(tx moat.Tx) error {
		dup := c1
		dup.ID, dup.KeyPEM = 0, "other"
		if err := tx.InsertCert(&dup); !errors.Is(err, moat.ErrConflict) {
			t.Errorf("InsertCert(taken name) = %v, want ErrConflict", err)
		}
		third := c1
		third.ID, third.Name = 0, "site-3"
		if err := tx.InsertCert(&third); err != nil {
			return err
		}
		if third.ID <= sameName.ID {
			t.Errorf("InsertCert after a conflict: ID %d, want above %d", third.ID, sameName.ID)
		}
		return nil
	})
	diff := func(got, want moat.Cert) string {
		if d := checkTime("NotBefore", got.NotBefore, want.NotBefore) + checkTime("NotAfter", got.NotAfter, want.NotAfter) +
			checkTime("Created", got.Created, want.Created); d != "" {
			return d
		}
		return diffStruct(got, want, func(c *moat.Cert) { c.NotBefore, c.NotAfter, c.Created = time.Time{}, time.Time{}, time.Time{} })
	}
	update(t, s, func(tx moat.Tx) error {
		got, err := tx.Cert(acctA, c2.ID)
		if err != nil || diff(got, c2) != "" {
			t.Errorf("Cert(%d) = %+v, %v; want %+v (%s)", c2.ID, got, err, c2, diff(got, c2))
		}
		got, err = tx.CertByName(acctA, "site")
		if err != nil || diff(got, c1) != "" {
			t.Errorf("CertByName(site) = %+v, %v; want %+v", got, err, c1)
		}
		if got, err := tx.CertByName(acctB, "site"); err != nil || got.ID != sameName.ID {
			t.Errorf("CertByName(other account, site) = %+v, %v; want ID %d", got, err, sameName.ID)
		}
		// Another account's certificate is not found by ID.
		if _, err := tx.Cert(acctB, c1.ID); !errors.Is(err, moat.ErrNotFound) {
			t.Errorf("Cert(other account's ID) = %v, want ErrNotFound", err)
		}
		if _, err := tx.CertByName(acctA, "nope"); !errors.Is(err, moat.ErrNotFound) {
			t.Errorf("CertByName(missing) = %v, want ErrNotFound", err)
		}
		return nil
	})
	list, err := s.Certs(t.Context(), acctA)
	if err != nil {
		t.Fatalf("Certs: %v", err)
	}
	var names []string
	for _, c := range list {
		names = append(names, c.Name)
	}
	if want := []string{"site", "site-2", "site-3"}; !slices.Equal(names, want) {
		t.Errorf("Certs(%s) = %q, want %q in ID order", acctA, names, want)
	}
	if len(list) > 0 && diff(list[0], c1) != "" {
		t.Errorf("Certs item: %s", diff(list[0], c1))
	}
	if list, err := s.Certs(t.Context(), "1000000000000099"); err != nil || len(list) != 0 {
		t.Errorf("Certs(no certificates) = %+v, %v; want none", list, err)
	}
}

func sourcePage(t *testing.T, s moat.Store, f moat.SourceFilter) ([]string, int64) {
	t.Helper()
	got, n, err := s.SourceEntryPage(t.Context(), f)
	if err != nil {
		t.Fatalf("SourceEntryPage(%+v): %v", f, err)
	}
	ips := []string{}
	for _, e := range got {
		ips = append(ips, e.IP)
	}
	return ips, n
}

func countSources(t *testing.T, s moat.Store, id string, list moat.SourceListKind, typ string, now time.Time) int {
	t.Helper()
	var n int
	update(t, s, func(tx moat.Tx) error {
		var err error
		n, err = tx.CountSourceEntries(id, list, typ, now)
		return err
	})
	return n
}

func testSourceEntries(t *testing.T, s moat.Store) {
	a := inst("ddoscoo-cn-src00001", acctA, mainl, "100.64.0.1", at(time.Hour))
	b := inst("ddoscoo-cn-src00002", acctA, mainl, "100.64.0.2", at(time.Hour))
	insert(t, s, a, b)
	e := func(id string, l moat.SourceListKind, ip, typ string, exp time.Duration) moat.SourceEntry {
		se := moat.SourceEntry{InstanceID: id, List: l, IP: ip, Type: typ, Created: at(-time.Hour).In(east)}
		if exp != 0 {
			se.Expires = at(exp)
		}
		return se
	}
	black := moat.Blacklist
	update(t, s, func(tx moat.Tx) error {
		return tx.PutSourceEntries([]moat.SourceEntry{
			e(a.ID, black, "10.0.0.2", moat.SourceManual, 0),
			e(a.ID, black, "10.0.0.1", moat.SourceAuto, time.Minute),
			e(a.ID, black, "10.0.1.1", moat.SourceManual, -time.Minute), // expired
			e(a.ID, black, "10.0.0.3", moat.SourceManual, 0),            // exactly at now: expired
			e(a.ID, black, "172.16.0.1", moat.SourceManual, 0),
			e(a.ID, black, "10_0.0.9", moat.SourceManual, 0),
			e(a.ID, moat.Whitelist, "10.0.0.2", moat.SourceManual, 0),
			e(b.ID, black, "10.0.0.2", moat.SourceManual, 0),
		})
	})
	// 10.0.0.3 expires exactly at now.
	update(t, s, func(tx moat.Tx) error {
		return tx.PutSourceEntries([]moat.SourceEntry{{InstanceID: a.ID, List: black, IP: "10.0.0.3", Type: moat.SourceManual,
			Expires: base, Created: at(-time.Hour)}})
	})
	f := moat.SourceFilter{InstanceID: a.ID, List: black, Now: base}
	live := []string{"10.0.0.1", "10.0.0.2", "10_0.0.9", "172.16.0.1"}
	for _, c := range []struct {
		f     func(*moat.SourceFilter)
		want  []string
		total int64
	}{
		{func(*moat.SourceFilter) {}, live, 4},
		{func(f *moat.SourceFilter) { f.Offset, f.Limit = 1, 2 }, live[1:3], 4},
		{func(f *moat.SourceFilter) { f.Offset, f.Limit = 4, 2 }, []string{}, 4},
		{func(f *moat.SourceFilter) { f.Prefix = "10.0." }, live[:2], 2},
		{func(f *moat.SourceFilter) { f.Prefix = "10_" }, []string{"10_0.0.9"}, 1},
		{func(f *moat.SourceFilter) { f.Prefix = "1_" }, []string{}, 0},
		{func(f *moat.SourceFilter) { f.Prefix = "%" }, []string{}, 0},
		{func(f *moat.SourceFilter) { f.Type = moat.SourceAuto }, []string{"10.0.0.1"}, 1},
		{func(f *moat.SourceFilter) { f.Type = moat.SourceManual; f.Prefix = "10" }, []string{"10.0.0.2", "10_0.0.9"}, 2},
		{func(f *moat.SourceFilter) { f.Now = at(-2 * time.Minute) }, []string{"10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.1.1", "10_0.0.9", "172.16.0.1"}, 6},
		{func(f *moat.SourceFilter) { f.Now = at(time.Minute) }, []string{"10.0.0.2", "10_0.0.9", "172.16.0.1"}, 3},
		{func(f *moat.SourceFilter) { f.List = moat.Whitelist }, []string{"10.0.0.2"}, 1},
		{func(f *moat.SourceFilter) { f.InstanceID = b.ID }, []string{"10.0.0.2"}, 1},
	} {
		g := f
		c.f(&g)
		got, n := sourcePage(t, s, g)
		if !slices.Equal(got, c.want) || n != c.total {
			t.Errorf("SourceEntryPage(%+v) = %q, %d; want %q, %d", g, got, n, c.want, c.total)
		}
	}
	got, _, err := s.SourceEntryPage(t.Context(), moat.SourceFilter{InstanceID: a.ID, List: black, Now: base, Limit: 1})
	if err != nil || len(got) != 1 {
		t.Fatalf("SourceEntryPage(Limit 1) = %+v, %v", got, err)
	}
	want := e(a.ID, black, "10.0.0.1", moat.SourceAuto, time.Minute)
	if g := got[0]; g.InstanceID != want.InstanceID || g.List != want.List || g.IP != want.IP || g.Type != want.Type ||
		checkTime("Expires", g.Expires, want.Expires)+checkTime("Created", g.Created, want.Created) != "" {
		t.Errorf("SourceEntryPage item = %+v, want %+v", g, want)
	}
	if got, _, _ := s.SourceEntryPage(t.Context(), moat.SourceFilter{InstanceID: a.ID, List: black, Now: base, Prefix: "10.0.0.2"}); len(got) != 1 || !got[0].Expires.IsZero() {
		t.Errorf("an entry that never expires = %+v, want a zero Expires", got)
	}

	for _, c := range []struct {
		typ  string
		now  time.Time
		want int
	}{{"", base, 4}, {moat.SourceManual, base, 3}, {moat.SourceAuto, base, 1}, {moat.SourceAuto, at(time.Minute), 0}, {"", at(-time.Hour), 6}} {
		if n := countSources(t, s, a.ID, black, c.typ, c.now); n != c.want {
			t.Errorf("CountSourceEntries(type %q, now %v) = %d, want %d", c.typ, c.now, n, c.want)
		}
	}

	// Put replaces Type, Expires and Created of an address the list has.
	update(t, s, func(tx moat.Tx) error {
		return tx.PutSourceEntries([]moat.SourceEntry{e(a.ID, black, "10.0.0.1", moat.SourceManual, 0)})
	})
	if n := countSources(t, s, a.ID, black, moat.SourceAuto, base); n != 0 {
		t.Errorf("auto entries after replacing the only one = %d, want 0", n)
	}
	if got, _ := sourcePage(t, s, moat.SourceFilter{InstanceID: a.ID, List: black, Now: at(time.Hour)}); !slices.Contains(got, "10.0.0.1") {
		t.Errorf("a replaced entry still expires: page at +1h = %q", got)
	}

	// Delete some (missing ones count nothing), then all.
	update(t, s, func(tx moat.Tx) error {
		n, err := tx.DeleteSourceEntries(a.ID, black, []string{"10.0.0.1", "10.0.0.2", "192.0.2.200"})
		if err != nil || n != 2 {
			t.Errorf("DeleteSourceEntries(3 addresses, 2 listed) = %d, %v; want 2", n, err)
		}
		return err
	})
	if got, _ := sourcePage(t, s, f); !slices.Equal(got, []string{"10_0.0.9", "172.16.0.1"}) {
		t.Errorf("page after deleting two = %q", got)
	}
	update(t, s, func(tx moat.Tx) error {
		n, err := tx.DeleteSourceEntries(a.ID, black, nil)
		if err != nil || n != 4 { // expired ones included
			t.Errorf("DeleteSourceEntries(all) = %d, %v; want 4", n, err)
		}
		return err
	})
	if got, n := sourcePage(t, s, moat.SourceFilter{InstanceID: a.ID, List: black}); len(got) != 0 || n != 0 {
		t.Errorf("page after emptying = %q, %d", got, n)
	}
	// The other list and the other instance keep theirs.
	if got, _ := sourcePage(t, s, moat.SourceFilter{InstanceID: a.ID, List: moat.Whitelist, Now: base}); len(got) != 1 {
		t.Errorf("whitelist after emptying the blacklist = %q", got)
	}
	if got, _ := sourcePage(t, s, moat.SourceFilter{InstanceID: b.ID, List: black, Now: base}); len(got) != 1 {
		t.Errorf("the other instance's blacklist after emptying = %q", got)
	}
}

func testUDPReflect(t *testing.T, s moat.Store) {
	a, b := "ddoscoo-cn-udp00001", "ddoscoo-cn-udp00002"
	insert(t, s, inst(a, acctA, mainl, "100.64.0.1", at(time.Hour)), inst(b, acctA, mainl, "100.64.0.2", at(time.Hour)))
	want := func(id string, ports []int) {
		t.Helper()
		got, err := s.UDPReflect(t.Context(), id)
		if err != nil || !slices.Equal(got, ports) || (ports == nil) != (got == nil) {
			t.Errorf("UDPReflect(%s) = %v, %v; want %v", id, got, err, ports)
		}
	}
	want(a, nil)
	update(t, s, func(tx moat.Tx) error { return tx.SetUDPReflect(a, []int{123, 19, 1900}) })
	want(a, []int{123, 19, 1900})
	want(b, nil)
	update(t, s, func(tx moat.Tx) error { return tx.SetUDPReflect(a, []int{53}) })
	want(a, []int{53})
	update(t, s, func(tx moat.Tx) error { return tx.SetUDPReflect(a, []int{}) })
	want(a, nil)
	update(t, s, func(tx moat.Tx) error { return tx.SetUDPReflect(b, []int{11211}) })
	update(t, s, func(tx moat.Tx) error { return tx.SetUDPReflect(b, nil) })
	want(b, nil)
}

func testRuleCounts(t *testing.T, s moat.Store) {
	a, b, c := "ddoscoo-cn-count001", "ddoscoo-cn-count002", "ddoscoo-cn-count003"
	insert(t, s, inst(a, acctA, mainl, "100.64.0.1", at(time.Hour)), inst(b, acctA, mainl, "100.64.0.2", at(time.Hour)),
		inst(c, acctA, mainl, "100.64.0.3", at(time.Hour)))
	update(t, s, func(tx moat.Tx) error {
		for _, r := range []moat.PortRule{portRule(a, "tcp", 1), portRule(a, "tcp", 2), portRule(a, "udp", 1), portRule(b, "tcp", 1)} {
			if err := tx.InsertPortRule(&r); err != nil {
				return err
			}
		}
		for _, w := range []moat.WebRule{webRule(acctA, "one.example.com", a, c), webRule(acctA, "two.example.com", c), webRule(acctB, "three.example.com", c)} {
			if err := tx.InsertWebRule(&w); err != nil {
				return err
			}
		}
		for id, want := range map[string]moat.RuleCount{a: {Ports: 3, Domains: 1}, b: {Ports: 1, Domains: 0}, c: {Ports: 0, Domains: 3}, "ddoscoo-cn-none": {}} {
			if got, err := tx.RuleCount(id); err != nil || got != want {
				t.Errorf("Tx.RuleCount(%s) = %+v, %v; want %+v", id, got, err, want)
			}
		}
		return nil
	})
	got, err := s.RuleCounts(t.Context(), []string{a, b, c, "ddoscoo-cn-none"})
	if want := map[string]moat.RuleCount{a: {Ports: 3, Domains: 1}, b: {Ports: 1, Domains: 0}, c: {Ports: 0, Domains: 3}}; err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("RuleCounts = %+v, %v; want %+v", got, err, want)
	}
	got, err = s.RuleCounts(t.Context(), []string{b})
	if want := map[string]moat.RuleCount{b: {Ports: 1, Domains: 0}}; err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("RuleCounts(one) = %+v, %v; want %+v", got, err, want)
	}
	if got, err := s.RuleCounts(t.Context(), nil); err != nil || len(got) != 0 {
		t.Errorf("RuleCounts(nil) = %+v, %v; want empty", got, err)
	}
}

func testDeleteInstanceRules(t *testing.T, s moat.Store) {
	a := inst("ddoscoo-cn-delrule01", acctA, mainl, "100.64.0.1", at(time.Hour))
	b := inst("ddoscoo-cn-delrule02", acctA, mainl, "100.64.0.2", at(time.Hour))
	insert(t, s, a, b)
	shared := webRule(acctA, "shared.example.com", a.ID, b.ID)
	only := webRule(acctA, "only.example.com", a.ID)
	update(t, s, func(tx moat.Tx) error {
		for _, id := range []string{a.ID, b.ID} {
			r := portRule(id, "tcp", 80)
			if err := tx.InsertPortRule(&r); err != nil {
				return err
			}
			if err := tx.PutSourceEntries([]moat.SourceEntry{{InstanceID: id, List: moat.Blacklist, IP: "10.0.0.1", Type: moat.SourceManual, Created: base},
				{InstanceID: id, List: moat.Whitelist, IP: "10.0.0.2", Type: moat.SourceManual, Created: base}}); err != nil {
				return err
			}
			if err := tx.SetUDPReflect(id, []int{19}); err != nil {
				return err
			}
		}
		if err := tx.InsertWebRule(&shared); err != nil {
			return err
		}
		return tx.InsertWebRule(&only)
	})
	_, v0, err := s.ListingVersion(t.Context(), acctA, mainl)
	if err != nil {
		t.Fatal(err)
	}
	deleteInstance(t, s, a.ID)
	_, v1, err := s.ListingVersion(t.Context(), acctA, mainl)
	if err != nil || v1 == v0 {
		t.Errorf("ListingVersion after DeleteInstance = %d, %v; want a change from %d", v1, err, v0)
	}

	if got, n := portPage(t, s, moat.PortRuleFilter{InstanceID: a.ID}); len(got) != 0 || n != 0 {
		t.Errorf("port rules of the deleted instance = %v, %d", got, n)
	}
	for _, l := range []moat.SourceListKind{moat.Blacklist, moat.Whitelist} {
		if got, n := sourcePage(t, s, moat.SourceFilter{InstanceID: a.ID, List: l}); len(got) != 0 || n != 0 {
			t.Errorf("%s entries of the deleted instance = %q, %d", l, got, n)
		}
	}
	if got, err := s.UDPReflect(t.Context(), a.ID); err != nil || got != nil {
		t.Errorf("UDPReflect of the deleted instance = %v, %v", got, err)
	}
	if got, err := s.RuleCounts(t.Context(), []string{a.ID}); err != nil || len(got) != 0 {
		t.Errorf("RuleCounts of the deleted instance = %+v, %v", got, err)
	}
	update(t, s, func(tx moat.Tx) error {
		if list, err := tx.WebRulesOf(a.ID); err != nil || len(list) != 0 {
			t.Errorf("WebRulesOf(deleted) = %+v, %v; want none", list, err)
		}
		// The websites themselves are the domain's to update or delete;
		// the store drops only the bindings.
		w, err := tx.WebRule(acctA, shared.Domain)
		if err != nil || !slices.Equal(w.InstanceIDs, []string{b.ID}) {
			t.Errorf("shared website after deleting one of its instances = %+v, %v; want bound to %s only", w, err, b.ID)
		}
		w, err = tx.WebRule(acctA, only.Domain)
		if err != nil || len(w.InstanceIDs) != 0 {
			t.Errorf("website of the deleted instance alone = %+v, %v; want no bindings", w, err)
		}
		if c, err := tx.RuleCount(a.ID); err != nil || c != (moat.RuleCount{}) {
			t.Errorf("Tx.RuleCount(deleted) = %+v, %v; want zero", c, err)
		}
		return nil
	})
	// The other instance keeps everything.
	if got, n := portPage(t, s, moat.PortRuleFilter{InstanceID: b.ID}); len(got) != 1 || n != 1 {
		t.Errorf("port rules of the other instance = %v, %d", got, n)
	}
	if got, _ := sourcePage(t, s, moat.SourceFilter{InstanceID: b.ID, List: moat.Blacklist}); len(got) != 1 {
		t.Errorf("blacklist of the other instance = %q", got)
	}
	if got, err := s.UDPReflect(t.Context(), b.ID); err != nil || !slices.Equal(got, []int{19}) {
		t.Errorf("UDPReflect of the other instance = %v, %v", got, err)
	}
	got, err := s.RuleCounts(t.Context(), []string{b.ID})
	if want := map[string]moat.RuleCount{b.ID: {Ports: 1, Domains: 1}}; err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("RuleCounts of the other instance = %+v, %v; want %+v", got, err, want)
	}
}

// testRulesLeaveListingVersion pins that rule writes leave the listing
// of instances as it is (listings do not show rules).
func testRulesLeaveListingVersion(t *testing.T, s moat.Store) {
	a := inst("ddoscoo-cn-rulever01", acctA, mainl, "100.64.0.1", at(time.Hour))
	insert(t, s, a)
	n0, v0, err := s.ListingVersion(t.Context(), acctA, mainl)
	if err != nil {
		t.Fatal(err)
	}
	r := portRule(a.ID, "tcp", 80)
	w := webRule(acctA, "ver.example.com", a.ID)
	cert := moat.Cert{AccountID: acctA, Region: mainl, Name: "c", Created: base, NotBefore: base, NotAfter: base}
	update(t, s, func(tx moat.Tx) error {
		return errors.Join(tx.InsertPortRule(&r), tx.InsertWebRule(&w), tx.InsertCert(&cert),
			tx.PutSourceEntries([]moat.SourceEntry{{InstanceID: a.ID, List: moat.Blacklist, IP: "10.0.0.1", Type: moat.SourceManual, Created: base}}),
			tx.SetUDPReflect(a.ID, []int{19}))
	})
	update(t, s, func(tx moat.Tx) error {
		r.BackendPort = 1
		w.CertID = cert.ID
		_, derr := tx.DeleteSourceEntries(a.ID, moat.Blacklist, nil)
		return errors.Join(tx.UpdatePortRule(&r), tx.UpdateWebRule(&w), derr, tx.SetUDPReflect(a.ID, nil))
	})
	update(t, s, func(tx moat.Tx) error {
		return errors.Join(tx.DeletePortRule(r.PortKey), tx.DeleteWebRule(acctA, w.Domain))
	})
	if n, v, err := s.ListingVersion(t.Context(), acctA, mainl); err != nil || n != n0 || v != v0 {
		t.Errorf("ListingVersion after rule writes = %d, %d, %v; want %d, %d", n, v, err, n0, v0)
	}
}

func testEventSubject(t *testing.T, s moat.Store) {
	a := inst("ddoscoo-cn-subject01", acctA, mainl, "100.64.0.1", at(time.Hour))
	insert(t, s, a)
	subj := moat.PortSubject(moat.PortKey{InstanceID: a.ID, Protocol: "tcp", FrontendPort: 80})
	evs := []moat.Event{
		{Time: base, RecordedAt: base, InstanceID: a.ID, AccountID: acctA, Region: mainl, Type: moat.EventRuleCreated, RequestID: "req-1", Subject: subj},
		{Time: base, RecordedAt: base, InstanceID: a.ID, AccountID: acctA, Region: mainl, Type: moat.EventListChanged, RequestID: "req-2",
			Subject: moat.ListSubject(moat.Blacklist)},
		{Time: base, RecordedAt: base, InstanceID: a.ID, AccountID: acctA, Region: mainl, Type: moat.EventRenewed, RequestID: "req-3"},
	}
	update(t, s, func(tx moat.Tx) error {
		for i := range evs {
			if err := tx.AppendEvent(&evs[i]); err != nil {
				return err
			}
		}
		return nil
	})
	got := events(t, s, moat.EventFilter{InstanceID: a.ID})
	if len(got) != len(evs) {
		t.Fatalf("Events = %+v, want %d events", got, len(evs))
	}
	for i, e := range got {
		if e.Subject != evs[i].Subject || e.Type != evs[i].Type {
			t.Errorf("event %d = type %q subject %q, want %q %q", i, e.Type, e.Subject, evs[i].Type, evs[i].Subject)
		}
	}
	if got := events(t, s, moat.EventFilter{Type: moat.EventRuleCreated}); len(got) != 1 || got[0].Subject != subj {
		t.Errorf("Events(rule_created) = %+v, want one with subject %q", got, subj)
	}
}
