package e2e

import (
	"bytes"
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"moat/internal/acs"
	"moat/internal/acs/bss"
	"moat/internal/acs/ddoscoo"
	"moat/internal/admin"
)

// secAction is an action of moat's product tables, with the parameters
// that name instances (acs.Action.ResourceParams).
type secAction struct {
	product, version, action string
	ids                      []string
	list                     bool
}

func (a secAction) String() string { return a.product + ":" + a.action }

// secActions enumerates every action moat serves, from the products' own
// action tables, so that a new action is probed without touching this file
// (its probe must still reach the instance lookup: see secFixtures).
func secActions() []secAction {
	var out []secAction
	for _, p := range []*acs.Product{ddoscoo.Product(nil), bss.Product(nil)} {
		for name, a := range p.Actions {
			out = append(out, secAction{product: p.Name, version: p.Version, action: name, ids: a.ResourceParams(), list: a.IsListing()})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

// secRegion is what addresses an instance's region in each product.
type secRegion struct {
	id, productType, statusType string
}

var (
	secMainland = secRegion{"cn-hangzhou", "ddoscoo", "1"}
	secOverseas = secRegion{"ap-southeast-1", "ddosDip", "2"}
)

// secFixtures are the parameters, besides the instance IDs, that make an
// action's call valid, so that it gets as far as looking the instances up.
// An action without an entry gets only its region; the owner control in
// secCrossTenant fails if that does not reach the lookup, which is the
// signal to add an entry here.
var secFixtures = map[string]func(r secRegion) map[string]string{
	"ddoscoo:DescribeInstances":      func(r secRegion) map[string]string { return map[string]string{"PageNumber": "1", "PageSize": "10"} },
	"ddoscoo:DescribeInstanceStatus": func(r secRegion) map[string]string { return map[string]string{"ProductType": r.statusType} },
	"ddoscoo:ModifyInstanceRemark":   func(r secRegion) map[string]string { return map[string]string{"Remark": secRemark} },
	"ddoscoo:ModifyInstance": func(r secRegion) map[string]string {
		return map[string]string{"ModifyType": "Upgrade", "ProductType": r.productType, "PortCount": "60"}
	},
	"ddoscoo:CreateTagResources": func(r secRegion) map[string]string {
		return map[string]string{"ResourceType": "INSTANCE", "Tags.1.Key": secTagKey, "Tags.1.Value": secTagValue}
	},
	"ddoscoo:DeleteTagResources": func(r secRegion) map[string]string {
		return map[string]string{"ResourceType": "INSTANCE", "TagKey.1": "no-such-key"}
	},
	"ddoscoo:DescribeTagResources": func(r secRegion) map[string]string { return map[string]string{"ResourceType": "INSTANCE"} },
	"ddoscoo:DescribeTagKeys":      func(r secRegion) map[string]string { return map[string]string{"ResourceType": "INSTANCE"} },
	"ddoscoo:AddAutoCcBlacklist": func(r secRegion) map[string]string {
		return map[string]string{"Blacklist": `[{"src":"198.51.100.7"}]`, "ExpireTime": "300"}
	},
	"ddoscoo:DeleteAutoCcBlacklist":   func(r secRegion) map[string]string { return map[string]string{"Blacklist": `[{"src":"198.51.100.7"}]`} },
	"ddoscoo:DescribeAutoCcBlacklist": func(r secRegion) map[string]string { return map[string]string{"PageNumber": "1", "PageSize": "10"} },
	"ddoscoo:AddAutoCcWhitelist":      func(r secRegion) map[string]string { return map[string]string{"Whitelist": `[{"src":"198.51.100.7"}]`} },
	"ddoscoo:DeleteAutoCcWhitelist":   func(r secRegion) map[string]string { return map[string]string{"Whitelist": `[{"src":"198.51.100.7"}]`} },
	"ddoscoo:DescribeAutoCcWhitelist": func(r secRegion) map[string]string { return map[string]string{"PageNumber": "1", "PageSize": "10"} },
	"ddoscoo:ConfigUdpReflect":        func(r secRegion) map[string]string { return map[string]string{"Config": `{"UdpSports":[17]}`} },
	"ddoscoo:DescribeNetworkRules":    func(r secRegion) map[string]string { return map[string]string{"PageNumber": "1", "PageSize": "10"} },
	// The statistics read an hour of 2025 (minute-aligned UNIX seconds).
	"ddoscoo:DescribePortFlowList":   func(r secRegion) map[string]string { return secSpan(true) },
	"ddoscoo:DescribePortConnsList":  func(r secRegion) map[string]string { return secSpan(true) },
	"ddoscoo:DescribePortConnsCount": func(r secRegion) map[string]string { return secSpan(false) },
	"ddoscoo:DescribePortMaxConns":   func(r secRegion) map[string]string { return secSpan(false) },
	"ddoscoo:DescribeDDoSEvents": func(r secRegion) map[string]string {
		p := secSpan(false)
		p["PageNumber"], p["PageSize"] = "1", "10"
		return p
	},
	// The website statistics: the same hour, a point per minute.
	"ddoscoo:DescribeDomainQPSList": func(r secRegion) map[string]string { return secSpan(true) },
	"ddoscoo:DescribeDomainStatusCodeList": func(r secRegion) map[string]string {
		p := secSpan(true)
		p["QueryType"] = "gf"
		return p
	},
	"ddoscoo:DescribeDomainTopAttackList": func(r secRegion) map[string]string { return secSpan(false) },
	"ddoscoo:DescribeDomainAttackEvents": func(r secRegion) map[string]string {
		p := secSpan(false)
		p["PageNumber"], p["PageSize"] = "1", "10"
		return p
	},
	"ddoscoo:CreatePort": func(r secRegion) map[string]string {
		return map[string]string{"FrontendProtocol": "tcp", "FrontendPort": "9090", "RealServers.1": secPortOrigin}
	},
	"ddoscoo:ModifyPort": func(r secRegion) map[string]string {
		return map[string]string{"FrontendProtocol": "tcp", "FrontendPort": "8080", "RealServers.1": secPortOrigin}
	},
	"ddoscoo:DeletePort": func(r secRegion) map[string]string {
		return map[string]string{"FrontendProtocol": "tcp", "FrontendPort": "9090", "RealServers.1": secPortOrigin}
	},
	"ddoscoo:ModifyNetworkRuleAttribute": func(r secRegion) map[string]string {
		return map[string]string{"ForwardProtocol": "tcp", "FrontendPort": "8080", "Config": `{}`}
	},
	"ddoscoo:ModifyHealthCheckConfig": func(r secRegion) map[string]string {
		return map[string]string{"ForwardProtocol": "tcp", "FrontendPort": "8080", "HealthCheck": `{"Type":"tcp","Port":8080}`}
	},
	// A website: a new domain for Create, the domain both accounts have
	// for Modify (so that the call gets as far as the instances).
	"ddoscoo:CreateDomainResource": func(r secRegion) map[string]string { return secWebsite(secNewDomain(r)) },
	"ddoscoo:ModifyDomainResource": func(r secRegion) map[string]string { return secWebsite(secBothDomain(r)) },
	"ddoscoo:AssociateWebCert":     func(r secRegion) map[string]string { return map[string]string{"CertId": "999999"} },
	"ddoscoo:DescribeDomainResource": func(r secRegion) map[string]string {
		return map[string]string{"PageNumber": "1", "PageSize": "10"}
	},
	"ddoscoo:DescribeWebRules": func(r secRegion) map[string]string { return map[string]string{"PageNumber": "1", "PageSize": "10"} },
	// Website protection: a valid setting of each kind, so that the call
	// gets as far as the website.
	"ddoscoo:ModifyWebCCGlobalSwitch": func(r secRegion) map[string]string { return map[string]string{"CcGlobalSwitch": "open"} },
	"ddoscoo:ConfigWebCCTemplate":     func(r secRegion) map[string]string { return map[string]string{"Template": "default"} },
	"ddoscoo:ConfigWebCCRuleV2": func(r secRegion) map[string]string {
		return map[string]string{"RuleList": `[{"action":"block","name":"sec_cc","condition":[{"field":"uri","match_method":"prefix","content":"/login"}],"ratelimit":{"target":"ip","interval":60,"threshold":100,"ttl":300}}]`}
	},
	"ddoscoo:DeleteWebCCRuleV2": func(r secRegion) map[string]string { return map[string]string{"RuleNames": `["sec_cc"]`} },
	"ddoscoo:ConfigWebIpSet":    func(r secRegion) map[string]string { return map[string]string{"BlackList.1": "198.51.100.0/24"} },
	"ddoscoo:ModifyWebPreciseAccessRule": func(r secRegion) map[string]string {
		return map[string]string{"Rules": `[{"action":"block","name":"sec_precise","condition":[{"field":"uri","match_method":"contain","content":"/admin"}]}]`}
	},
	"ddoscoo:DeleteWebPreciseAccessRule": func(r secRegion) map[string]string { return map[string]string{"RuleNames.1": "sec_precise"} },
	"ddoscoo:ConfigL7RsPolicy":           func(r secRegion) map[string]string { return map[string]string{"Policy": `{"ProxyMode":"rr"}`} },
	"BssOpenApi:RenewInstance": func(r secRegion) map[string]string {
		return map[string]string{"ProductType": r.productType, "RenewPeriod": "1"}
	},
	"BssOpenApi:ModifyInstance": func(r secRegion) map[string]string {
		return map[string]string{"ProductType": r.productType, "ModifyType": "Upgrade", "Parameter.1.Code": "DomainCount", "Parameter.1.Value": "60"}
	},
	"BssOpenApi:SetRenewal": func(r secRegion) map[string]string {
		return map[string]string{"ProductType": r.productType, "RenewalStatus": "AutoRenewal", "RenewalPeriod": "1", "RenewalPeriodUnit": "M"}
	},
	"BssOpenApi:QueryAvailableInstances": func(r secRegion) map[string]string { return map[string]string{"ProductType": r.productType} },
}

// secSpan is a statistics call's time span, with an Interval if asked.
func secSpan(interval bool) map[string]string {
	p := map[string]string{"StartTime": "1735689600", "EndTime": "1735693200"}
	if interval {
		p["Interval"] = "60"
	}
	return p
}

// secListFilters are what a listing needs besides secFixtures when it
// names no instance: DescribeTagResources wants ResourceIds or a tag, and
// B asks for A's tag key.
var secListFilters = map[string]map[string]string{
	"ddoscoo:DescribeTagResources": {"Tags.1.Key": secTagKey},
}

// params are the action's parameters in region r with the instance
// parameters naming ids (a single value, Name.N, or BSS's comma list).
func (a secAction) params(r secRegion, ids []string) map[string]string {
	p := map[string]string{"Version": a.version}
	if a.product == "ddoscoo" {
		p["RegionId"] = r.id
	} else {
		p["ProductCode"] = "ddos"
	}
	if f := secFixtures[a.String()]; f != nil {
		maps.Copy(p, f(r))
	}
	for _, name := range a.instanceParams() {
		if len(ids) == 0 {
			break
		}
		switch {
		case name == "InstanceIDs":
			p[name] = strings.Join(ids, ",")
		case strings.HasSuffix(name, "s"):
			for i, id := range ids {
				p[name+"."+strconv.Itoa(i+1)] = id
			}
		default:
			p[name] = ids[0]
		}
	}
	return p
}

// listShaped reports whether the action takes several instance IDs.
func (a secAction) listShaped() bool {
	for _, name := range a.instanceParams() {
		if name == "InstanceIDs" || strings.HasSuffix(name, "s") {
			return true
		}
	}
	return false
}

// secNormal is an answer with its RequestId and the instance ID it named
// replaced, for comparing the answer about A's instance with the answer
// about one that never existed.
func secNormal(r rawResponse, id string) string {
	body := bytes.ReplaceAll(r.Body, []byte(r.RequestID), []byte("<RequestId>"))
	if id != "" {
		body = bytes.ReplaceAll(body, []byte(id), []byte("<InstanceId>"))
	}
	return http.StatusText(r.Status) + " " + r.Header.Get("Content-Type") + "\n" + string(body)
}

// secCrossTenant: account B calls every action of both products with
// account A's instance IDs (alone, and beside one of its own), and each
// answer is exactly the answer about an ID of the same shape that never
// existed; B's listings never show A's instances or their data; A's
// instances are unchanged afterwards. A control then shows that each probe
// reaches the instance lookup: A's own call about its instance gets a
// different answer than a never-existing ID.
func secCrossTenant(t *testing.T, e *secEnv) {
	s := e.s
	bPremium := s.CreateInstances(t, admin.InstancesRequest{AccessKeyId: secKeyB, RegionId: "ap-southeast-1", ExpireIn: "720h"})[0]
	targets := []secTarget{
		{region: secMainland, a: e.aPro, bOwn: e.bPro, ghost: ghostID(e.aPro.InstanceId), aDomain: secADomain(secMainland)},
		{region: secOverseas, a: e.aPremium, bOwn: bPremium, ghost: ghostID(e.aPremium.InstanceId), aDomain: secADomain(secOverseas)},
	}
	// B's own rules beside A's: a port rule on each of its instances and
	// the website both accounts have.
	for _, tg := range targets {
		secRulesOf(t, s, keyB, tg.region, tg.bOwn.InstanceId, secBothDomain(tg.region), secBOrigin)
	}
	// What of A's must never appear in an answer to B (beyond the ID B
	// itself named, which an InstanceNotFound message repeats).
	secrets := []string{secRemark, secTagKey, secTagValue, secAcctA, e.aPro.Ip, e.aPremium.Ip, e.aExpired.Ip, e.aExpired.InstanceId, e.aPro.ResourceGroupId}
	secrets = append(secrets, e.aRuleSecrets...)
	leaks := func(t *testing.T, label string, r rawResponse, named ...string) {
		t.Helper()
		body := string(r.Body)
		for _, n := range named {
			body = strings.ReplaceAll(body, n, "")
		}
		for _, x := range append(secrets, e.aPro.InstanceId, e.aPremium.InstanceId) {
			if x != "" && strings.Contains(body, x) {
				t.Errorf("%s: B's answer shows A's %q: %s", label, x, r.Body)
			}
		}
	}
	before := secSnapshot(t, e)
	actions := secActions()
	if len(actions) < 19 {
		t.Fatalf("only %d actions in the product tables: %v", len(actions), actions)
	}
	call := func(t *testing.T, k secKey, a secAction, r secRegion, ids []string) rawResponse {
		p := a.params(r, ids)
		return secSend(t, s, k.v1(a.action, p))
	}
	probed := 0
	for _, a := range actions {
		if len(a.instanceParams()) == 0 {
			continue
		}
		for _, tg := range targets {
			variants := [][2][]string{{{tg.a.InstanceId}, {tg.ghost}}}
			if a.listShaped() {
				variants = append(variants, [2][]string{{tg.bOwn.InstanceId, tg.a.InstanceId}, {tg.bOwn.InstanceId, tg.ghost}})
			}
			for i, v := range variants {
				name := a.String() + " " + tg.region.id + [...]string{"", " beside B's own"}[i]
				t.Run(name, func(t *testing.T) {
					secAttacks.Add(1)
					probed++
					got := call(t, keyB, a, tg.region, v[0])
					want := call(t, keyB, a, tg.region, v[1])
					if got.Status >= 500 {
						t.Fatalf("status %d: %s", got.Status, got.Body)
					}
					if g, w := secNormal(got, tg.a.InstanceId), secNormal(want, tg.ghost); g != w {
						t.Errorf("B naming A's %s got\n%s\nbut a never-existing ID gets\n%s", tg.a.InstanceId, g, w)
					}
					var code struct{ Code string }
					json.Unmarshal(got.Body, &code)
					t.Logf("A's ID and a never-existing one both get %d %s", got.Status, code.Code)
					leaks(t, name, got, tg.a.InstanceId)
				})
			}
		}
	}
	// Instances named inside JSON parameters, and websites named by domain.
	secJSONProbes(t, e, actions, targets, leaks)
	secDomainProbes(t, e, actions, targets, leaks)
	// Listings with no instance filter, and filters naming A's data.
	for _, a := range actions {
		if !a.list {
			continue
		}
		for _, r := range []secRegion{secMainland, secOverseas} {
			name := a.String() + " " + r.id + " lists only B's"
			t.Run(name, func(t *testing.T) {
				secAttacks.Add(1)
				p := a.params(r, nil)
				maps.Copy(p, secListFilters[a.String()])
				got := secSend(t, s, keyB.v1(a.action, p))
				secWant(t, got, 200, "")
				leaks(t, name, got)
			})
		}
	}
	for _, f := range []struct{ name, key, a, ghost string }{
		{"Remark", "Remark", secRemark, "never-used-remark-xxxxxxx"},
		{"Ip", "Ip", e.aPro.Ip, "203.0.113.77"},
		{"ResourceGroupId", "ResourceGroupId", e.aPro.ResourceGroupId, ghostID(e.aPro.ResourceGroupId)},
		{"Tag", "Tag.1.Key", secTagKey, "never-used-tag-key"},
	} {
		t.Run("DescribeInstances filtered by A's "+f.name, func(t *testing.T) {
			secAttacks.Add(1)
			q := func(v string) rawResponse {
				return secSend(t, s, keyB.v1("DescribeInstances", map[string]string{"PageNumber": "1", "PageSize": "50", f.key: v}))
			}
			got, want := q(f.a), q(f.ghost)
			if g, w := secNormal(got, f.a), secNormal(want, f.ghost); g != w {
				t.Errorf("B filtering by A's %s got\n%s\nbut a never-used value gets\n%s", f.name, g, w)
			}
			leaks(t, f.name, got, f.a)
		})
	}
	if probed == 0 {
		t.Fatal("no action takes instance IDs")
	}
	t.Run("A's instances unchanged", func(t *testing.T) {
		if after := secSnapshot(t, e); after != before {
			t.Errorf("A's instances changed during B's probes:\nbefore %s\nafter  %s", before, after)
		}
	})
	// Control: A's own calls reach the lookup (they may change A's
	// instances and rules: this runs last, deletions after the rest).
	actions = secDeletesLast(actions)
	for _, a := range actions {
		if len(a.instanceParams()) == 0 {
			continue
		}
		for _, tg := range targets {
			t.Run("control: "+a.String()+" "+tg.region.id+" reaches the instance", func(t *testing.T) {
				ghost := call(t, keyA, a, tg.region, []string{tg.ghost})
				own := call(t, keyA, a, tg.region, []string{tg.a.InstanceId})
				if secNormal(own, tg.a.InstanceId) == secNormal(ghost, tg.ghost) {
					t.Errorf("A about its own instance and about a never-existing one gets the same answer, so B's probe proves nothing; give %s a fixture in secFixtures:\n%s", a, secNormal(own, tg.a.InstanceId))
				}
			})
		}
	}
	secJSONControls(t, e, actions, targets)
	secDomainControls(t, e, actions, targets)
}

// secSnapshot is what A can read about its instances, RequestIds removed.
func secSnapshot(t *testing.T, e *secEnv) string {
	var b strings.Builder
	for i, r := range []secRegion{secMainland, secOverseas} {
		own := []string{e.aPro.InstanceId, e.aPremium.InstanceId}[i]
		for _, c := range []struct {
			action string
			params map[string]string
		}{
			{"DescribeInstances", map[string]string{"PageNumber": "1", "PageSize": "50", "RegionId": r.id}},
			{"DescribeTagResources", map[string]string{"ResourceType": "INSTANCE", "RegionId": r.id, "ResourceIds.1": own}},
			{"DescribeInstanceSpecs", map[string]string{"InstanceIds.1": own, "RegionId": r.id}},
			{"QueryAvailableInstances", bssParamsOf(map[string]string{"ProductType": r.productType})},
			// A's rules: port rules with their settings, websites,
			// certificates and source lists.
			{"DescribeNetworkRules", map[string]string{"InstanceId": own, "PageNumber": "1", "PageSize": "50", "RegionId": r.id}},
			{"DescribeNetworkRuleAttributes", map[string]string{"NetworkRules": secRuleKeys(8080, own), "RegionId": r.id}},
			{"DescribeHealthCheckList", map[string]string{"NetworkRules": secRuleKeys(8080, own), "RegionId": r.id}},
			{"DescribeDomainResource", map[string]string{"PageNumber": "1", "PageSize": "50", "RegionId": r.id}},
			{"DescribeCerts", map[string]string{"Domain": secADomain(r), "RegionId": r.id}},
			{"DescribeAutoCcBlacklist", map[string]string{"InstanceId": own, "PageNumber": "1", "PageSize": "50", "RegionId": r.id}},
			{"DescribeAutoCcWhitelist", map[string]string{"InstanceId": own, "PageNumber": "1", "PageSize": "50", "RegionId": r.id}},
			{"DescribeUdpReflect", map[string]string{"InstanceId": own, "RegionId": r.id}},
		} {
			res := secSend(t, e.s, keyA.v1(c.action, c.params))
			secWant(t, res, 200, "")
			b.WriteString(secNormal(res, "") + "\n")
		}
	}
	for _, id := range []string{e.aPro.InstanceId, e.aPremium.InstanceId, e.aExpired.InstanceId} {
		evs := e.s.Events(t, id, "")
		types := make([]string, len(evs))
		for i, ev := range evs {
			types[i] = ev.Type
		}
		b.WriteString(id + " events " + strings.Join(slices.Clip(types), ",") + "\n")
	}
	return b.String()
}
