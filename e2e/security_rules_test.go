package e2e

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"moat/internal/admin"
)

// Forwarding rules in the security suite: what A owns besides its
// instances (port rules, websites, a certificate, source lists), the
// cross-tenant probes that name them by domain or inside a JSON parameter,
// and hostile JSON values.

const (
	// secPortOrigin is the origin the fixtures send; secAOrigin and
	// secASiteOrigin are the origins of A's own rules, which B must never see.
	secPortOrigin  = "192.0.2.81"
	secAOrigin     = "192.0.2.181"
	secASiteOrigin = "192.0.2.191"
	secBOrigin     = "192.0.2.82"
	secCertName    = "tenant-a-private-cert"
	secABlackIP    = "198.51.100.199"
	secAWhiteIP    = "198.51.100.198"
)

// secADomain is A's private website in region r.
func secADomain(r secRegion) string { return "private-a-" + r.id + ".example.com" }

// secBothDomain is a website both accounts have in region r (a domain is
// unique within an account, not across accounts).
func secBothDomain(r secRegion) string { return "both-" + r.id + ".example.net" }

// secNewDomain is a website nobody has until A's Create control adds it.
func secNewDomain(r secRegion) string { return "new-" + r.id + ".example.net" }

// secGhostDomain is a domain no account ever has, distinct per probe so
// that one probe's writes never meet another's.
func secGhostDomain(a secAction, r secRegion, who string) string {
	return "never-" + strings.ToLower(a.action) + "-" + r.id + "-" + who + ".example.org"
}

// secWebsite are the parameters of an HTTP website on port 80 (the
// instances are added by the caller).
func secWebsite(domain string) map[string]string {
	return map[string]string{"Domain": domain, "RsType": "0", "RealServers.1": secPortOrigin,
		"ProxyTypes.1.ProxyType": "http", "ProxyTypes.1.ProxyPorts.1": "80"}
}

// secRuleItems is a NetworkRules value: a TCP rule on port for each
// instance.
func secRuleItems(port int, ids ...string) string {
	items := make([]string, len(ids))
	for i, id := range ids {
		items[i] = fmt.Sprintf(`{"InstanceId":%q,"Protocol":"tcp","FrontendPort":%d,"BackendPort":%d,"RealServers":[%q]}`, id, port, port, secPortOrigin)
	}
	return "[" + strings.Join(items, ",") + "]"
}

// secRuleKeys is a NetworkRule(s) value naming the TCP rule on port of
// each instance.
func secRuleKeys(port int, ids ...string) string {
	items := make([]string, len(ids))
	for i, id := range ids {
		items[i] = fmt.Sprintf(`{"InstanceId":%q,"Protocol":"tcp","FrontendPort":%d}`, id, port)
	}
	return "[" + strings.Join(items, ",") + "]"
}

// secOK makes a call by k that must succeed.
func secOK(t *testing.T, s *Server, k secKey, action string, p map[string]string) rawResponse {
	t.Helper()
	r := secSend(t, s, k.v1(action, p))
	if r.Status != 200 {
		t.Fatalf("%s %v: status %d: %s", action, p, r.Status, r.Body)
	}
	return r
}

// secRulesOf gives instance id of k's account a TCP port rule on 8080 and
// the website domain on port 80.
func secRulesOf(t *testing.T, s *Server, k secKey, r secRegion, id, domain, origin string) {
	t.Helper()
	secOK(t, s, k, "CreatePort", map[string]string{"RegionId": r.id, "InstanceId": id, "FrontendProtocol": "tcp", "FrontendPort": "8080", "RealServers.1": origin})
	w := secWebsite(domain)
	w["RegionId"], w["InstanceIds.1"], w["RealServers.1"] = r.id, id, origin
	secOK(t, s, k, "CreateDomainResource", w)
}

// rules gives A's instances their rules: a port rule and the shared
// website, a private website serving a certificate, and source lists.
// What B must never see of them goes into aRuleSecrets.
func (e *secEnv) rules(t *testing.T) {
	s := e.s
	certPEM, keyPEM := selfSigned(t, secADomain(secMainland), secADomain(secOverseas))
	e.secrets = append(e.secrets, keyPEM)
	e.aRuleSecrets = []string{secAOrigin, secASiteOrigin, secCertName, secABlackIP, secAWhiteIP}
	for _, x := range []struct {
		r  secRegion
		in admin.Instance
	}{{secMainland, e.aPro}, {secOverseas, e.aPremium}} {
		r, id := x.r, x.in.InstanceId
		secRulesOf(t, s, keyA, r, id, secBothDomain(r), secAOrigin)
		w := secWebsite(secADomain(r))
		w["RegionId"], w["InstanceIds.1"], w["RealServers.1"] = r.id, id, secASiteOrigin
		secOK(t, s, keyA, "CreateDomainResource", w)
		secOK(t, s, keyA, "AssociateWebCert", map[string]string{"RegionId": r.id, "Domain": secADomain(r), "CertName": secCertName, "Cert": certPEM, "Key": keyPEM})
		secOK(t, s, keyA, "AddAutoCcBlacklist", map[string]string{"RegionId": r.id, "InstanceId": id, "Blacklist": srcList(secABlackIP), "ExpireTime": "3600"})
		secOK(t, s, keyA, "AddAutoCcWhitelist", map[string]string{"RegionId": r.id, "InstanceId": id, "Whitelist": srcList(secAWhiteIP)})
		var sites struct {
			WebRules []struct{ Domain, Cname string }
		}
		rawOKJSON(t, secOK(t, s, keyA, "DescribeDomainResource", map[string]string{"RegionId": r.id, "Domain": secADomain(r), "QueryDomainPattern": "exact"}), &sites)
		if len(sites.WebRules) != 1 || sites.WebRules[0].Cname == "" {
			t.Fatalf("A's website %s: %+v", secADomain(r), sites)
		}
		e.aRuleSecrets = append(e.aRuleSecrets, secADomain(r), sites.WebRules[0].Cname)
	}
	var certs struct{ Certs []struct{ Id int64 } }
	rawOKJSON(t, secOK(t, s, keyA, "DescribeCerts", map[string]string{"RegionId": secMainland.id}), &certs)
	if len(certs.Certs) != 1 {
		t.Fatalf("A's certificates: %+v", certs)
	}
	e.aCertID = fmt.Sprint(certs.Certs[0].Id)
}

// secTarget is what B probes in one region: A's instance and website, B's
// own instance, and a never-existing instance ID.
type secTarget struct {
	region  secRegion
	a, bOwn admin.Instance
	ghost   string
	aDomain string
}

// secDomainParams are the actions that take a website's domain in a
// parameter RAM does not read as a resource (it names the website only
// as a filter, or several of them), with what makes it name one website.
var secDomainParams = map[string]struct {
	name  string
	extra map[string]string
}{
	"ddoscoo:DescribeDomainResource":        {"Domain", map[string]string{"QueryDomainPattern": "exact"}},
	"ddoscoo:DescribeWebRules":              {"Domain", map[string]string{"QueryDomainPattern": "exact"}},
	"ddoscoo:DescribeDomainCcProtectSwitch": {"Domains.1", nil},
	"ddoscoo:DescribeWebCcProtectSwitch":    {"Domains.1", nil},
	"ddoscoo:DescribeWebPreciseAccessRule":  {"Domains.1", nil},
}

// secDomainBinds are the website actions that need the website's
// instances: a domain probe names the caller's own.
var secDomainBinds = map[string]bool{"ddoscoo:CreateDomainResource": true, "ddoscoo:ModifyDomainResource": true}

// domainParam is the parameter that names the website the action acts on
// ("" when it names none): Domain, which website actions tag as their
// resource, else the entry of secDomainParams.
func (a secAction) domainParam() string {
	if slices.Contains(a.ids, "Domain") {
		return "Domain"
	}
	return secDomainParams[a.String()].name
}

// instanceParams are the resource parameters that name instances.
func (a secAction) instanceParams() []string {
	var out []string
	for _, n := range a.ids {
		if n != "Domain" {
			out = append(out, n)
		}
	}
	return out
}

// domainCall are the parameters of a call about website domain in r, by
// a caller owning instance own.
func (a secAction) domainCall(r secRegion, own, domain string) map[string]string {
	var ids []string
	if secDomainBinds[a.String()] {
		ids = []string{own}
	}
	p := a.params(r, ids)
	p[a.domainParam()] = domain
	maps.Copy(p, secDomainParams[a.String()].extra)
	return p
}

// secJSONParams are the actions that name instances inside a JSON
// parameter (acs.Resourced), with that parameter naming ids: port 18080
// for a new rule, else the rule on 8080 every test instance has.
var secJSONParams = map[string]func(ids ...string) map[string]string{
	"ddoscoo:CreateNetworkRules": func(ids ...string) map[string]string {
		return map[string]string{"NetworkRules": secRuleItems(18080, ids...)}
	},
	"ddoscoo:ConfigNetworkRules": func(ids ...string) map[string]string {
		return map[string]string{"NetworkRules": secRuleItems(8080, ids...)}
	},
	"ddoscoo:DeleteNetworkRule": func(ids ...string) map[string]string {
		return map[string]string{"NetworkRule": secRuleKeys(8080, ids...)}
	},
	"ddoscoo:DescribeNetworkRuleAttributes": func(ids ...string) map[string]string {
		return map[string]string{"NetworkRules": secRuleKeys(8080, ids...)}
	},
	"ddoscoo:DescribeHealthCheckList": func(ids ...string) map[string]string {
		return map[string]string{"NetworkRules": secRuleKeys(8080, ids...)}
	},
	"ddoscoo:DescribeHealthCheckStatus": func(ids ...string) map[string]string {
		return map[string]string{"NetworkRules": secRuleKeys(8080, ids...)}
	},
}

// secAccountWide are the actions that name no instance and no website:
// they act on the caller's account as a whole (or create an instance).
var secAccountWide = map[string]bool{
	"ddoscoo:DescribeInstanceIds": true,
	"BssOpenApi:CreateInstance":   true,
	// The caller's own mitigation events, optionally of one of its IPs.
	"ddoscoo:DescribeDDosAllEventList": true,
	// The caller's own attacked websites.
	"ddoscoo:DescribeDomainTopAttackList": true,
}

// TestSecActionsAllProbed pins that every action the products serve is
// probed across tenants one way or another: by its instance parameters,
// inside its JSON, by domain, as a listing, or declared account-wide.
func TestSecActionsAllProbed(t *testing.T) {
	for _, a := range secActions() {
		if len(a.instanceParams()) == 0 && secJSONParams[a.String()] == nil && a.domainParam() == "" && !a.list && !secAccountWide[a.String()] {
			t.Errorf("%s names no instance or website the cross-tenant sweep knows of: give it an entry in secJSONParams or secDomainParams, or declare it in secAccountWide", a)
		}
	}
	for name := range secJSONParams {
		if !slices.ContainsFunc(secActions(), func(a secAction) bool { return a.String() == name }) {
			t.Errorf("secJSONParams names %s, which is not served", name)
		}
	}
}

// secDeletesLast orders actions with the Delete ones after the rest, and
// DeleteDomainResource after the other Delete ones (which act on the
// website it deletes), so that A's controls delete its rules and websites
// only once the others have run.
func secDeletesLast(actions []secAction) []secAction {
	rank := func(a secAction) int {
		switch {
		case a.action == "DeleteDomainResource":
			return 2
		case strings.HasPrefix(a.action, "Delete"):
			return 1
		}
		return 0
	}
	out := slices.Clone(actions)
	slices.SortStableFunc(out, func(x, y secAction) int { return rank(x) - rank(y) })
	return out
}

// secLeaks reports A's data in an answer to B.
type secLeaks func(t *testing.T, label string, r rawResponse, named ...string)

// secSameAsGhost asserts that got (naming a) equals want (naming ghost).
func secSameAsGhost(t *testing.T, got, want rawResponse, a, ghost string) {
	t.Helper()
	if got.Status >= 500 {
		t.Fatalf("status %d: %s", got.Status, got.Body)
	}
	if g, w := secNormal(got, a), secNormal(want, ghost); g != w {
		t.Errorf("B naming A's %s got\n%s\nbut a never-existing one gets\n%s", a, g, w)
	}
	var code struct{ Code string }
	json.Unmarshal(got.Body, &code)
	t.Logf("A's %s and a never-existing one both get %d %s", a, got.Status, code.Code)
}

// secJSONProbes: B names A's instance inside the JSON parameter of the
// rule calls (alone, and after a rule of its own), and gets exactly the
// answer about an instance that never existed.
func secJSONProbes(t *testing.T, e *secEnv, actions []secAction, targets []secTarget, leaks secLeaks) {
	for _, a := range actions {
		build := secJSONParams[a.String()]
		if build == nil {
			continue
		}
		for _, tg := range targets {
			for i, v := range [][2][]string{
				{{tg.a.InstanceId}, {tg.ghost}},
				{{tg.bOwn.InstanceId, tg.a.InstanceId}, {tg.bOwn.InstanceId, tg.ghost}},
			} {
				name := a.String() + " " + tg.region.id + [...]string{" JSON naming A's instance", " JSON naming A's instance after B's own"}[i]
				t.Run(name, func(t *testing.T) {
					secAttacks.Add(1)
					call := func(ids []string) rawResponse {
						p := a.params(tg.region, nil)
						maps.Copy(p, build(ids...))
						return secSend(t, e.s, keyB.v1(a.action, p))
					}
					got, want := call(v[0]), call(v[1])
					secSameAsGhost(t, got, want, tg.a.InstanceId, tg.ghost)
					leaks(t, name, got, tg.a.InstanceId)
				})
			}
		}
	}
}

// secJSONControls: A naming its own instance inside the JSON gets another
// answer than naming a never-existing one, so the probes reach the lookup.
func secJSONControls(t *testing.T, e *secEnv, actions []secAction, targets []secTarget) {
	for _, a := range actions {
		build := secJSONParams[a.String()]
		if build == nil {
			continue
		}
		for _, tg := range targets {
			t.Run("control: "+a.String()+" "+tg.region.id+" JSON reaches the instance", func(t *testing.T) {
				call := func(id string) rawResponse {
					p := a.params(tg.region, nil)
					maps.Copy(p, build(id))
					return secSend(t, e.s, keyA.v1(a.action, p))
				}
				ghost := call(tg.ghost)
				own := call(tg.a.InstanceId)
				if secNormal(own, tg.a.InstanceId) == secNormal(ghost, tg.ghost) {
					t.Errorf("A about its own instance and about a never-existing one gets the same answer, so B's probe proves nothing; fix %s in secJSONParams:\n%s", a, secNormal(own, tg.a.InstanceId))
				}
			})
		}
	}
}

// secDomainProbes: B names A's website (with its own instances where the
// call binds some) and gets exactly the answer about a domain nobody
// has; B names A's certificate; B's own website reads show nothing of A's.
func secDomainProbes(t *testing.T, e *secEnv, actions []secAction, targets []secTarget, leaks secLeaks) {
	s := e.s
	for _, a := range actions {
		if a.domainParam() == "" {
			continue
		}
		for _, tg := range targets {
			name := a.String() + " " + tg.region.id + " naming A's website"
			t.Run(name, func(t *testing.T) {
				secAttacks.Add(1)
				ghost := secGhostDomain(a, tg.region, "b")
				call := func(d string) rawResponse {
					return secSend(t, s, keyB.v1(a.action, a.domainCall(tg.region, tg.bOwn.InstanceId, d)))
				}
				got, want := call(tg.aDomain), call(ghost)
				secSameAsGhost(t, got, want, tg.aDomain, ghost)
				leaks(t, name, got, tg.aDomain)
				if strings.HasPrefix(a.action, "Create") && got.Status == 200 {
					// A domain is unique within an account: B made websites
					// of its own under both names. It removes them.
					for _, d := range []string{tg.aDomain, ghost} {
						secOK(t, s, keyB, "DeleteDomainResource", map[string]string{"RegionId": tg.region.id, "Domain": d})
					}
				}
			})
		}
	}
	for _, tg := range targets {
		name := "AssociateWebCert " + tg.region.id + " of B's website with A's certificate"
		t.Run(name, func(t *testing.T) {
			secAttacks.Add(1)
			call := func(id string) rawResponse {
				return secSend(t, s, keyB.v1("AssociateWebCert", map[string]string{"RegionId": tg.region.id, "Domain": secBothDomain(tg.region), "CertId": id}))
			}
			// Certificate IDs are small numbers: only the message's
			// mention of the ID is normalized.
			norm := func(r rawResponse, id string) rawResponse {
				r.Body = []byte(strings.Replace(string(r.Body), "certificate "+id+" ", "certificate <CertId> ", 1))
				return r
			}
			got, want := call(e.aCertID), call("987654321")
			secSameAsGhost(t, norm(got, e.aCertID), norm(want, "987654321"), "<CertId>", "<CertId>")
			secWant(t, got, 400, "CertNotExist")
			leaks(t, name, got)
		})
		for _, c := range []struct {
			action string
			p      map[string]string
		}{
			{"DescribeDomainResource", map[string]string{"PageNumber": "1", "PageSize": "50"}},
			{"DescribeWebRules", map[string]string{"PageNumber": "1", "PageSize": "50"}},
			{"DescribeDomains", nil},
			{"DescribeCerts", nil},
			{"DescribeDomainCcProtectSwitch", map[string]string{"Domains.1": secBothDomain(tg.region)}},
			{"DescribeWebCcProtectSwitch", map[string]string{"Domains.1": secBothDomain(tg.region)}},
			{"DescribeWebPreciseAccessRule", map[string]string{"Domains.1": secBothDomain(tg.region)}},
			{"DescribeWebCCRulesV2", map[string]string{"Domain": secBothDomain(tg.region)}},
		} {
			name := c.action + " " + tg.region.id + " shows only B's websites"
			t.Run(name, func(t *testing.T) {
				secAttacks.Add(1)
				p := map[string]string{"RegionId": tg.region.id}
				maps.Copy(p, c.p)
				got := secSend(t, s, keyB.v1(c.action, p))
				secWant(t, got, 200, "")
				leaks(t, name, got)
			})
		}
	}
}

// secDomainControls: A naming its own website gets another answer than
// naming a domain nobody has.
func secDomainControls(t *testing.T, e *secEnv, actions []secAction, targets []secTarget) {
	for _, a := range actions {
		if a.domainParam() == "" {
			continue
		}
		for _, tg := range targets {
			t.Run("control: "+a.String()+" "+tg.region.id+" reaches the website", func(t *testing.T) {
				ghost := secGhostDomain(a, tg.region, "a")
				call := func(d string) rawResponse {
					return secSend(t, e.s, keyA.v1(a.action, a.domainCall(tg.region, tg.a.InstanceId, d)))
				}
				g := call(ghost)
				own := call(tg.aDomain)
				if secNormal(own, tg.aDomain) == secNormal(g, ghost) {
					t.Errorf("A about its own website and about a domain nobody has gets the same answer, so B's probe proves nothing; give %s a fixture:\n%s", a, secNormal(own, tg.aDomain))
				}
			})
		}
	}
}

// ---- hostile JSON ----

// secHostileJSON sends hostile values in every JSON parameter, by A (so
// that nothing but the value stops the call): huge arrays, deep nesting,
// wrong types and 1 MiB strings. Each gets its 400 quickly.
func secHostileJSON(t *testing.T, e *secEnv) {
	s := e.s
	id := e.aPro.InstanceId
	base := func(extra map[string]string) map[string]string {
		p := map[string]string{"RegionId": secMainland.id}
		maps.Copy(p, extra)
		return p
	}
	web := base(secWebsite("hostile.example.net"))
	web["InstanceIds.1"] = id
	type jsonParam struct {
		action, param string
		p             map[string]string
		// wrongType is a value of the right JSON shape with a field of
		// the wrong type.
		wrongType string
		// long wraps a long string where the value holds a string.
		long func(string) string
		// longCode is the code a 60000-byte string in the value gets:
		// the code of the field that holds it.
		longCode string
		// arrayCode is the code an array of 5000 empty objects gets.
		arrayCode string
	}
	rules := func(f string) func(string) string {
		return func(x string) string { return fmt.Sprintf(f, id, x) }
	}
	params := []jsonParam{
		{"CreateNetworkRules", "NetworkRules", base(nil), `[{"InstanceId":"` + id + `","Protocol":"tcp","FrontendPort":"8080","RealServers":["192.0.2.1"]}]`,
			rules(`[{"InstanceId":%q,"Protocol":%q,"FrontendPort":18081,"RealServers":["192.0.2.1"]}]`), "InvalidParameter", "InvalidParameter.JSONError"},
		{"ConfigNetworkRules", "NetworkRules", base(nil), `[{"InstanceId":"` + id + `","Protocol":"tcp","FrontendPort":8080,"RealServers":"192.0.2.1"}]`,
			rules(`[{"InstanceId":%q,"Protocol":"tcp","FrontendPort":8080,"RealServers":[%q]}]`), "InvalidIp", "InvalidParameter.JSONError"},
		{"DeleteNetworkRule", "NetworkRule", base(nil), `[{"InstanceId":["` + id + `"],"Protocol":"tcp","FrontendPort":8080}]`,
			rules(`[{"InstanceId":%q,"Protocol":%q,"FrontendPort":8080}]`), "InvalidParameter", "InvalidParameter.JSONError"},
		{"DescribeNetworkRuleAttributes", "NetworkRules", base(nil), `[{"InstanceId":"` + id + `","Protocol":"tcp","FrontendPort":{}}]`,
			rules(`[{"InstanceId":%q,"Protocol":%q,"FrontendPort":8080}]`), "InvalidParameter", "InvalidParameter.JSONError"},
		{"DescribeHealthCheckList", "NetworkRules", base(nil), `[{"InstanceId":true,"Protocol":"tcp","FrontendPort":8080}]`,
			rules(`[{"InstanceId":%q,"Protocol":%q,"FrontendPort":8080}]`), "InvalidParameter", "InvalidParameter.JSONError"},
		{"DescribeHealthCheckStatus", "NetworkRules", base(nil), `[{"InstanceId":"` + id + `","Protocol":7,"FrontendPort":8080}]`,
			rules(`[{"InstanceId":%q,"Protocol":%q,"FrontendPort":8080}]`), "InvalidParameter", "InvalidParameter.JSONError"},
		{"ModifyNetworkRuleAttribute", "Config", base(map[string]string{"InstanceId": id, "ForwardProtocol": "tcp", "FrontendPort": "8080"}), `{"Sla":{"Cps":"500"}}`,
			func(x string) string { return `{"Synproxy":"` + x + `"}` }, "InvalidParameter", "InvalidParameter.JSONError"},
		{"ModifyHealthCheckConfig", "HealthCheck", base(map[string]string{"InstanceId": id, "ForwardProtocol": "tcp", "FrontendPort": "8080"}), `{"Type":"tcp","Port":"8080"}`,
			func(x string) string { return `{"Type":"http","Domain":"` + x + `","Uri":"/"}` }, "InvalidDomain", "InvalidParameter.JSONError"},
		{"AddAutoCcBlacklist", "Blacklist", base(map[string]string{"InstanceId": id, "ExpireTime": "300"}), `[{"src":198}]`,
			func(x string) string { return `[{"src":"` + x + `"}]` }, "InvalidIp", "InvalidParameter.JSONError"},
		{"DeleteAutoCcBlacklist", "Blacklist", base(map[string]string{"InstanceId": id}), `{"src":"198.51.100.1"}`,
			func(x string) string { return `[{"src":"` + x + `"}]` }, "InvalidIp", "InvalidParameter.JSONError"},
		{"AddAutoCcWhitelist", "Whitelist", base(map[string]string{"InstanceId": id}), `[{"src":["198.51.100.1"]}]`,
			func(x string) string { return `[{"src":"` + x + `"}]` }, "InvalidIp", "InvalidParameter.JSONError"},
		{"DeleteAutoCcWhitelist", "Whitelist", base(map[string]string{"InstanceId": id}), `[null, 5]`,
			func(x string) string { return `[{"src":"` + x + `"}]` }, "InvalidIp", "InvalidParameter.JSONError"},
		{"ConfigUdpReflect", "Config", base(map[string]string{"InstanceId": id}), `{"UdpSports":["17"]}`,
			func(x string) string { return `{"UdpSports":["` + x + `"]}` }, "InvalidParameter.JSONError", "InvalidParameter.JSONError"},
		{"CreateDomainResource", "HttpsExt", web, `{"Http2":"on"}`,
			func(x string) string { return `{"Http2":"` + x + `"}` }, "InvalidParameter.JSONError", "InvalidParameter.JSONError"},
	}
	const (
		big    = 1 << 20         // a 1 MiB string: with the rest, over the body limit
		nearly = 1<<20 - 16*1024 // a string that fits in the body with the rest
	)
	send := func(action, param string, p map[string]string, value string) func(t *testing.T) rawResponse {
		return func(t *testing.T) rawResponse {
			q := secParams(keyA, action, p)
			q[param] = value
			rawSignV1("POST", secSecretA, q)
			start := time.Now()
			r := secSend(t, s, rawV1Request("POST", q, rawAllInBody, false))
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("answered after %v", d)
			}
			// An error may quote the value (as InvalidParameter does, up to
			// the 64 KiB cap) but never answers with more than that.
			if len(r.Body) > min(len(value), 64<<10)+2048 {
				t.Errorf("a %d-byte answer to a %d-byte value", len(r.Body), len(value))
			}
			return r
		}
	}
	var attacks []secAttack
	for _, jp := range params {
		at := func(what string, code, value string) {
			attacks = append(attacks, secAttack{name: jp.action + " " + jp.param + " " + what, status: 400, code: code, send: send(jp.action, jp.param, jp.p, value)})
		}
		// Values over the gateway's 64 KiB cap on one parameter.
		at("array of 100000 objects", "InvalidParameter", "["+strings.Repeat("{},", 99999)+"{}]")
		at("nested 200000 arrays deep", "InvalidParameter", strings.Repeat("[", 200000))
		// Values under the cap that the JSON parser must refuse.
		at("array of 5000 objects", jp.arrayCode, "["+strings.Repeat("{},", 4999)+"{}]")
		at("nested 30000 arrays deep", "InvalidParameter.JSONError", strings.Repeat("[", 30000))
		at("nested 10500 objects deep", "InvalidParameter.JSONError", strings.Repeat(`{"a":`, 10500)+"1"+strings.Repeat("}", 10500))
		at("of the wrong type", "InvalidParameter.JSONError", jp.wrongType)
		at("a bare string", "InvalidParameter.JSONError", `"`+jp.param+`"`)
		at("null", "InvalidParameter.JSONError", "null")
		at("truncated", "InvalidParameter.JSONError", jp.wrongType[:len(jp.wrongType)/2])
		at("with a 1 MiB string", "InvalidParameter", jp.long(strings.Repeat("a", big)))
		at("with a 60000-byte string", jp.longCode, jp.long(strings.Repeat("a", 60000)))
	}
	secRun(t, attacks)
	e.healthy(t)
	t.Run("A's rules survived", func(t *testing.T) {
		var d struct{ NetworkRules []struct{ FrontendPort int } }
		rawOKJSON(t, secOK(t, s, keyA, "DescribeNetworkRules", map[string]string{"RegionId": secMainland.id, "InstanceId": id, "PageNumber": "1", "PageSize": "50"}), &d)
		if len(d.NetworkRules) != 1 || d.NetworkRules[0].FrontendPort != 8080 {
			t.Errorf("A's port rules after the hostile values: %+v", d)
		}
	})
}
