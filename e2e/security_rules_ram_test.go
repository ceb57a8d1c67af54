package e2e

import (
	"testing"

	"moat/internal/admin"
)

// secRulesRAM: RAM users of A whose policies name one instance or one
// website act on it and on nothing else, also when the other instance is
// named inside the NetworkRules JSON beside the allowed one.
func secRulesRAM(t *testing.T, e *secEnv) {
	s := e.s
	r := secOverseas
	x := e.aPremium.InstanceId
	y := s.CreateInstances(t, admin.InstancesRequest{AccessKeyId: secKeyA, RegionId: r.id, ExpireIn: "720h"})[0].InstanceId
	onX := secUser(t, s, "rules-on-x", secPolicy(`{"Effect": "Allow", "Action": "yundun-ddoscoo:*", "Resource": "acs:yundun-ddoscoo:*:*:instance/`+x+`"}`))
	onA := secUser(t, s, "website-a", secPolicy(`{"Effect": "Allow", "Action": "yundun-ddoscoo:*", "Resource": "acs:yundun-ddoscoo:*:*:domain/a.example.com"}`))
	e.secrets = append(e.secrets, onX.secret, onA.secret)
	for _, d := range []string{"a.example.com", "b.example.com"} {
		w := secWebsite(d)
		w["RegionId"], w["InstanceIds.1"] = r.id, x
		secOK(t, s, keyA, "CreateDomainResource", w)
	}
	port := func(id, p string) map[string]string {
		return map[string]string{"RegionId": r.id, "InstanceId": id, "FrontendProtocol": "tcp", "FrontendPort": p, "RealServers.1": secPortOrigin}
	}
	call := func(k secKey, action string, p map[string]string) func(t *testing.T) rawResponse {
		return func(t *testing.T) rawResponse { return secSend(t, s, k.v1(action, p)) }
	}
	site := func(d string) map[string]string {
		return map[string]string{"RegionId": r.id, "Domain": d, "QueryDomainPattern": "exact"}
	}
	t.Run("control: the user of X creates, describes and deletes a port rule on X", func(t *testing.T) {
		secOK(t, s, onX, "CreatePort", port(x, "7001"))
		var d struct{ NetworkRules []struct{ FrontendPort int } }
		rawOKJSON(t, secOK(t, s, onX, "DescribePort", map[string]string{"RegionId": r.id, "InstanceId": x, "FrontendProtocol": "tcp", "FrontendPort": "7001"}), &d)
		if len(d.NetworkRules) != 1 || d.NetworkRules[0].FrontendPort != 7001 {
			t.Errorf("DescribePort of the new rule: %+v", d)
		}
		secOK(t, s, onX, "DeletePort", port(x, "7001"))
		secOK(t, s, onX, "CreateNetworkRules", map[string]string{"RegionId": r.id, "NetworkRules": secRuleItems(7002, x)})
		secOK(t, s, onX, "DeleteNetworkRule", map[string]string{"RegionId": r.id, "NetworkRule": secRuleKeys(7002, x)})
	})
	t.Run("control: the user of a.example.com describes it", func(t *testing.T) {
		var d struct{ WebRules []struct{ Domain string } }
		rawOKJSON(t, secOK(t, s, onA, "DescribeDomainResource", site("a.example.com")), &d)
		if len(d.WebRules) != 1 || d.WebRules[0].Domain != "a.example.com" {
			t.Errorf("DescribeDomainResource of a.example.com: %+v", d)
		}
	})
	secRun(t, []secAttack{
		{name: "user of X CreatePort on Y", status: 403, code: "Forbidden.RAM", send: call(onX, "CreatePort", port(y, "7003"))},
		{name: "user of X DescribePort of Y", status: 403, code: "Forbidden.RAM", send: call(onX, "DescribePort", map[string]string{"RegionId": r.id, "InstanceId": y})},
		{name: "user of X DeletePort on Y", status: 403, code: "Forbidden.RAM", send: call(onX, "DeletePort", port(y, "8080"))},
		{name: "user of X CreateNetworkRules for Y", status: 403, code: "Forbidden.RAM", send: call(onX, "CreateNetworkRules", map[string]string{"RegionId": r.id, "NetworkRules": secRuleItems(7004, y)})},
		{name: "user of X CreateNetworkRules for X and Y", status: 403, code: "Forbidden.RAM", send: call(onX, "CreateNetworkRules", map[string]string{"RegionId": r.id, "NetworkRules": secRuleItems(7005, x, y)})},
		{name: "user of X CreateNetworkRules for Y and X", status: 403, code: "Forbidden.RAM", send: call(onX, "CreateNetworkRules", map[string]string{"RegionId": r.id, "NetworkRules": secRuleItems(7006, y, x)})},
		{name: "user of X DeleteNetworkRule of X and Y", status: 403, code: "Forbidden.RAM", send: call(onX, "DeleteNetworkRule", map[string]string{"RegionId": r.id, "NetworkRule": secRuleKeys(8080, x, y)})},
		{name: "user of X DescribeNetworkRuleAttributes of X and Y", status: 403, code: "Forbidden.RAM", send: call(onX, "DescribeNetworkRuleAttributes", map[string]string{"RegionId": r.id, "NetworkRules": secRuleKeys(8080, x, y)})},
		{name: "user of X DescribeHealthCheckStatus of Y", status: 403, code: "Forbidden.RAM", send: call(onX, "DescribeHealthCheckStatus", map[string]string{"RegionId": r.id, "NetworkRules": secRuleKeys(8080, y)})},
		{name: "user of a.example.com DescribeDomainResource of b.example.com", status: 403, code: "Forbidden.RAM", send: call(onA, "DescribeDomainResource", site("b.example.com"))},
		{name: "user of a.example.com DeleteDomainResource of b.example.com", status: 403, code: "Forbidden.RAM", send: call(onA, "DeleteDomainResource", map[string]string{"RegionId": r.id, "Domain": "b.example.com"})},
		{name: "user of a.example.com DeleteDomainResource of a.example.com.cn", status: 403, code: "Forbidden.RAM", send: call(onA, "DeleteDomainResource", map[string]string{"RegionId": r.id, "Domain": "a.example.com.cn"})},
		{name: "user of a.example.com DescribeDomainResource of a.example.com by fuzzy match", status: 403, code: "Forbidden.RAM", send: call(onA, "DescribeDomainResource", map[string]string{"RegionId": r.id, "Domain": "a.example.com"})},
		{name: "user of a.example.com ModifyDomainResource of a.example.com, bound to X", status: 403, code: "Forbidden.RAM", send: func(t *testing.T) rawResponse {
			w := secWebsite("a.example.com")
			w["RegionId"], w["InstanceIds.1"] = r.id, x
			return secSend(t, s, onA.v1("ModifyDomainResource", w))
		}},
	})
	t.Run("control: the user of a.example.com deletes it", func(t *testing.T) {
		secOK(t, s, onA, "DeleteDomainResource", map[string]string{"RegionId": r.id, "Domain": "a.example.com"})
	})
	t.Run("refused calls changed nothing", func(t *testing.T) {
		for _, id := range []string{x, y} {
			var d struct{ NetworkRules []struct{ FrontendPort int } }
			rawOKJSON(t, secOK(t, s, keyA, "DescribeNetworkRules", map[string]string{"RegionId": r.id, "InstanceId": id, "PageNumber": "1", "PageSize": "50"}), &d)
			for _, n := range d.NetworkRules {
				if n.FrontendPort > 7000 && n.FrontendPort < 7010 {
					t.Errorf("instance %s has a rule on port %d after the refused calls: %+v", id, n.FrontendPort, d)
				}
			}
		}
		var b struct{ WebRules []struct{ Domain string } }
		rawOKJSON(t, secOK(t, s, keyA, "DescribeDomainResource", site("b.example.com")), &b)
		if len(b.WebRules) != 1 {
			t.Errorf("b.example.com after the refused delete: %+v", b)
		}
		var a struct{ WebRules []struct{ Domain string } }
		rawOKJSON(t, secOK(t, s, keyA, "DescribeDomainResource", site("a.example.com")), &a)
		if len(a.WebRules) != 0 {
			t.Errorf("a.example.com after its user deleted it: %+v", a)
		}
	})
}
