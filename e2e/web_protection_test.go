package e2e

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	ddoscoov3 "github.com/alibabacloud-go/ddoscoo-20200101/v2/client"
	"github.com/alibabacloud-go/tea/tea"

	"moat/internal/admin"
)

// webProt drives one website's protection: through the generated v3
// client where v2.0.0 has the action, else by a raw v1-signed call.
type webProt struct {
	t      *testing.T
	s      *Server
	c      *ddoscoov3.Client
	hc     *http.Client
	domain string
}

// raw makes a v1-signed call in cn-hangzhou and returns the answer.
func (w webProt) raw(action string, p map[string]string) rawResponse {
	w.t.Helper()
	q := map[string]string{"RegionId": "cn-hangzhou"}
	for k, v := range p {
		q[k] = v
	}
	r, _, err := rawCall(w.hc, w.s.Endpoint, action, q)
	if err != nil {
		w.t.Fatalf("%s: %v", action, err)
	}
	return r
}

// rawOK makes a raw call that must succeed and decodes its body.
func (w webProt) rawOK(action string, p map[string]string, out any) {
	w.t.Helper()
	if out == nil {
		out = &struct{}{}
	}
	rawOKJSON(w.t, w.raw(action, p), out)
}

// rawErr makes a raw call that must fail with status and code.
func (w webProt) rawErr(action string, p map[string]string, status int, code, inMessage string) {
	w.t.Helper()
	r := w.raw(action, p)
	var e struct{ Code, Message string }
	if err := json.Unmarshal(r.Body, &e); err != nil || r.Status != status || e.Code != code || !strings.Contains(e.Message, inMessage) {
		w.t.Errorf("%s %v: %d %s, want %d %s with %q", action, p, r.Status, r.Body, status, code, inMessage)
	}
}

// sdkErr asserts the v3 client's error: its status, code and a part of
// its message.
func sdkErr(t *testing.T, what string, err error, status int, code, inMessage string) {
	t.Helper()
	var se *tea.SDKError
	if !errors.As(err, &se) || tea.IntValue(se.StatusCode) != status || tea.StringValue(se.Code) != code || !strings.Contains(tea.StringValue(se.Message), inMessage) {
		t.Errorf("%s: %v, want HTTP %d %s with %q", what, err, status, code, inMessage)
	}
}

// ccRulesV2 is DescribeWebCCRulesV2's answer.
type ccRulesV2 struct {
	Domain     string
	TotalCount string
	WebCCRules []struct {
		Name       string
		Owner      string
		Expires    int64
		RuleDetail struct {
			Name      string
			Action    string
			Condition []struct{ Field, MatchMethod, Content, HeaderName string }
			RateLimit struct {
				Target, SubKey           string
				Interval, Threshold, Ttl int
			}
		}
	}
}

// switches is DescribeDomainCcProtectSwitch's answer.
type switches struct {
	ProtectSwitchList []struct {
		Domain                                                                string
		CcEnable, CcCustomRuleEnable, PreciseRuleEnable, BlackWhiteListEnable int
		CcTemplate, CcGlobalSwitch                                            string
	}
}

func (w webProt) switchV3() *ddoscoov3.DescribeWebCcProtectSwitchResponseBodyProtectSwitchList {
	w.t.Helper()
	r, err := w.c.DescribeWebCcProtectSwitch((&ddoscoov3.DescribeWebCcProtectSwitchRequest{}).SetDomains(tea.StringSlice([]string{w.domain})))
	if err != nil {
		w.t.Fatalf("DescribeWebCcProtectSwitch: %v", err)
	}
	if len(r.Body.ProtectSwitchList) != 1 || tea.StringValue(r.Body.ProtectSwitchList[0].Domain) != w.domain {
		w.t.Fatalf("DescribeWebCcProtectSwitch: %v", r.Body)
	}
	return r.Body.ProtectSwitchList[0]
}

func (w webProt) webRule() *ddoscoov3.DescribeWebRulesResponseBodyWebRules {
	w.t.Helper()
	r, err := w.c.DescribeWebRules((&ddoscoov3.DescribeWebRulesRequest{}).SetDomain(w.domain).SetQueryDomainPattern("exact").SetPageSize(10))
	if err != nil {
		w.t.Fatalf("DescribeWebRules: %v", err)
	}
	if len(r.Body.WebRules) != 1 {
		w.t.Fatalf("DescribeWebRules %s: %v", w.domain, r.Body)
	}
	return r.Body.WebRules[0]
}

func (w webProt) domainSwitch() (enable int, template, global string, custom, precise, lists int) {
	w.t.Helper()
	var sw switches
	w.rawOK("DescribeDomainCcProtectSwitch", map[string]string{"Domains.1": w.domain}, &sw)
	if len(sw.ProtectSwitchList) != 1 || sw.ProtectSwitchList[0].Domain != w.domain {
		w.t.Fatalf("DescribeDomainCcProtectSwitch: %+v", sw)
	}
	p := sw.ProtectSwitchList[0]
	return p.CcEnable, p.CcTemplate, p.CcGlobalSwitch, p.CcCustomRuleEnable, p.PreciseRuleEnable, p.BlackWhiteListEnable
}

// TestWebProtectionV3: each website-protection setting made through the
// generated v3 client (or a raw signed call where v2.0.0 lacks the
// action) reads back through its own Describe and through
// DescribeWebRules, DescribeWebCcProtectSwitch and
// DescribeDomainCcProtectSwitch; each change is a rule_modified event;
// bad values and unknown websites get their codes.
func TestWebProtectionV3(t *testing.T) {
	s := StartServer(t)
	a := createSingle(t, s, admin.InstancesRequest{})
	c := SDKv3(t, s, testKeyID, testKeySecret)
	w := webProt{t: t, s: s, c: c, hc: &http.Client{Timeout: time.Minute}, domain: "shop.example.com"}
	createSite(t, c, webSite{domain: w.domain, instances: []string{a.InstanceId}, origins: []string{"203.0.113.10"}, proxies: map[string][]int32{"http": {80}}})

	// A new website: CC on in its default mode, nothing else.
	sw := w.switchV3()
	if tea.Int32Value(sw.CcEnable) != 1 || tea.StringValue(sw.CcTemplate) != "default" ||
		tea.Int32Value(sw.CcCustomRuleEnable) != 0 || tea.Int32Value(sw.PreciseRuleEnable) != 0 || tea.Int32Value(sw.BlackWhiteListEnable) != 0 {
		t.Errorf("a new website's switches: %v", sw)
	}

	// The CC switch: ModifyWebCCGlobalSwitch (raw), DisableWebCC and
	// EnableWebCC (v3).
	w.rawOK("ModifyWebCCGlobalSwitch", map[string]string{"Domain": w.domain, "CcGlobalSwitch": "close"}, nil)
	if on, _, global, _, _, _ := w.domainSwitch(); on != 0 || global != "close" {
		t.Errorf("after close: CcEnable %d CcGlobalSwitch %s", on, global)
	}
	if r := w.webRule(); tea.BoolValue(r.CcEnabled) {
		t.Errorf("DescribeWebRules after close: CcEnabled true")
	}
	if _, err := c.EnableWebCC((&ddoscoov3.EnableWebCCRequest{}).SetDomain(w.domain)); err != nil {
		t.Fatal(err)
	}
	if sw := w.switchV3(); tea.Int32Value(sw.CcEnable) != 1 {
		t.Errorf("after EnableWebCC: %v", sw)
	}
	if _, err := c.DisableWebCC((&ddoscoov3.DisableWebCCRequest{}).SetDomain(w.domain)); err != nil {
		t.Fatal(err)
	}
	if sw := w.switchV3(); tea.Int32Value(sw.CcEnable) != 0 {
		t.Errorf("after DisableWebCC: %v", sw)
	}
	w.rawOK("ModifyWebCCGlobalSwitch", map[string]string{"Domain": w.domain, "CcGlobalSwitch": "open"}, nil)
	w.rawErr("ModifyWebCCGlobalSwitch", map[string]string{"Domain": w.domain, "CcGlobalSwitch": "on"}, 400, "InvalidParameter", "CcGlobalSwitch")

	// The mode.
	if _, err := c.ConfigWebCCTemplate((&ddoscoov3.ConfigWebCCTemplateRequest{}).SetDomain(w.domain).SetTemplate("gf_under_attack")); err != nil {
		t.Fatal(err)
	}
	_, err := c.ConfigWebCCTemplate((&ddoscoov3.ConfigWebCCTemplateRequest{}).SetDomain(w.domain).SetTemplate("strict"))
	sdkErr(t, "ConfigWebCCTemplate strict", err, 400, "InvalidParameter", "Template")
	if sw := w.switchV3(); tea.StringValue(sw.CcTemplate) != "gf_under_attack" {
		t.Errorf("mode: %v", sw)
	}
	if r := w.webRule(); tea.StringValue(r.CcTemplate) != "gf_under_attack" || !tea.BoolValue(r.CcEnabled) || tea.BoolValue(r.CcRuleEnabled) {
		t.Errorf("DescribeWebRules mode: %v", r)
	}

	// Custom frequency rules (raw: v2.0.0 has no V2 calls).
	rules := `[{"action":"block","name":"login","condition":[{"field":"uri","match_method":"prefix","content":"/login"}],` +
		`"ratelimit":{"target":"ip","interval":60,"threshold":100,"ttl":300}},` +
		`{"action":"watch","name":"api","condition":[{"field":"header","match_method":"equal","content":"1","header_name":"X-Api"}],` +
		`"ratelimit":{"target":"header","subkey":"X-Client","interval":10,"threshold":20,"ttl":60}}]`
	w.rawOK("ConfigWebCCRuleV2", map[string]string{"Domain": w.domain, "RuleList": rules, "Expires": "0"}, nil)
	// The same name again replaces the rule.
	w.rawOK("ConfigWebCCRuleV2", map[string]string{"Domain": w.domain, "RuleList": `[{"action":"challenge","name":"login","ratelimit":{"target":"ip","interval":30,"threshold":50,"ttl":600}}]`}, nil)
	var cr ccRulesV2
	w.rawOK("DescribeWebCCRulesV2", map[string]string{"Domain": w.domain, "PageSize": "20", "Offset": "0"}, &cr)
	if cr.TotalCount != "2" || len(cr.WebCCRules) != 2 || cr.Domain != w.domain {
		t.Fatalf("DescribeWebCCRulesV2: %+v", cr)
	}
	if r := cr.WebCCRules[0]; r.Name != "login" || r.Owner != "manual" || r.Expires != 0 || r.RuleDetail.Action != "challenge" || len(r.RuleDetail.Condition) != 0 ||
		r.RuleDetail.RateLimit.Interval != 30 || r.RuleDetail.RateLimit.Threshold != 50 || r.RuleDetail.RateLimit.Ttl != 600 || r.RuleDetail.RateLimit.Target != "ip" {
		t.Errorf("the replaced rule: %+v", r)
	}
	if r := cr.WebCCRules[1]; r.Name != "api" || r.RuleDetail.Action != "watch" || r.RuleDetail.RateLimit.SubKey != "X-Client" ||
		len(r.RuleDetail.Condition) != 1 || r.RuleDetail.Condition[0].HeaderName != "X-Api" || r.RuleDetail.Condition[0].MatchMethod != "equal" {
		t.Errorf("the header rule: %+v", r)
	}
	if r := w.webRule(); !tea.BoolValue(r.CcRuleEnabled) {
		t.Errorf("DescribeWebRules with CC rules: CcRuleEnabled false")
	}
	if _, _, _, custom, _, _ := w.domainSwitch(); custom != 1 {
		t.Errorf("CcCustomRuleEnable %d with rules", custom)
	}
	w.rawErr("ConfigWebCCRuleV2", map[string]string{"Domain": w.domain, "RuleList": `[{"action":"block","name":"x","ratelimit":{"target":"ip","interval":60,"threshold":1,"ttl":300}}]`},
		400, "InvalidParameter", "RuleList.ratelimit.threshold")
	w.rawErr("ConfigWebCCRuleV2", map[string]string{"Domain": w.domain, "RuleList": `{"name":"x"}`}, 400, "InvalidParameter.JSONError", "RuleList")
	w.rawOK("DeleteWebCCRuleV2", map[string]string{"Domain": w.domain, "RuleNames": `["login"]`}, nil)
	w.rawOK("DescribeWebCCRulesV2", map[string]string{"Domain": w.domain}, &cr)
	if cr.TotalCount != "1" || len(cr.WebCCRules) != 1 || cr.WebCCRules[0].Name != "api" {
		t.Errorf("after DeleteWebCCRuleV2: %+v", cr)
	}

	// The IP sets (v3), shown by DescribeWebRules and the switches.
	if _, err := c.ConfigWebIpSet((&ddoscoov3.ConfigWebIpSetRequest{}).SetDomain(w.domain).
		SetBlackList(tea.StringSlice([]string{"198.51.100.7", "198.51.100.0/24", "198.51.100.7"})).SetWhiteList(tea.StringSlice([]string{"192.0.2.1"}))); err != nil {
		t.Fatal(err)
	}
	r := w.webRule()
	if got := tea.StringSliceValue(r.BlackList); !slices.Equal(got, []string{"198.51.100.7", "198.51.100.0/24"}) {
		t.Errorf("BlackList %v", got)
	}
	if got := tea.StringSliceValue(r.WhiteList); !slices.Equal(got, []string{"192.0.2.1"}) {
		t.Errorf("WhiteList %v", got)
	}
	sites := describeSites(t, c, w.domain, "exact")
	if got := tea.StringSliceValue(sites.WebRules[0].BlackList); len(sites.WebRules) != 1 || !slices.Equal(got, []string{"198.51.100.7", "198.51.100.0/24"}) {
		t.Errorf("DescribeDomainResource BlackList %v", got)
	}
	if sw := w.switchV3(); tea.Int32Value(sw.BlackWhiteListEnable) != 1 {
		t.Errorf("BlackWhiteListEnable with lists: %v", sw)
	}
	_, err = c.ConfigWebIpSet((&ddoscoov3.ConfigWebIpSetRequest{}).SetDomain(w.domain).SetBlackList(tea.StringSlice([]string{"2001:db8::1"})))
	sdkErr(t, "ConfigWebIpSet IPv6", err, 400, "InvalidIp", "BlackList")

	// Precise access rules (v3).
	precise := `[{"action":"block","name":"admin","condition":[{"field":"uri","match_method":"contain","content":"/admin"}]},` +
		`{"action":"watch","name":"ua","condition":[{"field":"user-agent","match_method":"contain","content":"curl"},{"field":"http-method","match_method":"equal","content":"POST"}]}]`
	if _, err := c.ModifyWebPreciseAccessRule((&ddoscoov3.ModifyWebPreciseAccessRuleRequest{}).SetDomain(w.domain).SetRules(precise).SetExpires(3600)); err != nil {
		t.Fatal(err)
	}
	pr, err := c.DescribeWebPreciseAccessRule((&ddoscoov3.DescribeWebPreciseAccessRuleRequest{}).SetDomains(tea.StringSlice([]string{w.domain, "nobody.example.com"})))
	if err != nil {
		t.Fatal(err)
	}
	if len(pr.Body.PreciseAccessConfigList) != 1 || tea.StringValue(pr.Body.PreciseAccessConfigList[0].Domain) != w.domain || len(pr.Body.PreciseAccessConfigList[0].RuleList) != 2 {
		t.Fatalf("DescribeWebPreciseAccessRule: %v", pr.Body)
	}
	rl := pr.Body.PreciseAccessConfigList[0].RuleList
	if tea.StringValue(rl[0].Name) != "admin" || tea.StringValue(rl[0].Action) != "block" || tea.Int64Value(rl[0].Expires) != 3600 || tea.StringValue(rl[0].Owner) != "manual" ||
		len(rl[0].ConditionList) != 1 || tea.StringValue(rl[0].ConditionList[0].Field) != "uri" || tea.StringValue(rl[0].ConditionList[0].MatchMethod) != "contain" ||
		tea.StringValue(rl[0].ConditionList[0].Content) != "/admin" {
		t.Errorf("the block rule: %v", rl[0])
	}
	if tea.StringValue(rl[1].Name) != "ua" || tea.Int64Value(rl[1].Expires) != 0 || len(rl[1].ConditionList) != 2 {
		t.Errorf("the watch rule (a period applies to block rules only): %v", rl[1])
	}
	if _, _, _, _, p, _ := w.domainSwitch(); p != 1 {
		t.Errorf("PreciseRuleEnable %d with rules", p)
	}
	_, err = c.ModifyWebPreciseAccessRule((&ddoscoov3.ModifyWebPreciseAccessRuleRequest{}).SetDomain(w.domain).
		SetRules(`[{"action":"block","name":"bad","condition":[{"field":"ip","match_method":"contain","content":"1.2.3.4"}]}]`))
	sdkErr(t, "ModifyWebPreciseAccessRule ip contain", err, 400, "InvalidParameter", "Rules.condition.match_method")
	if _, err := c.DeleteWebPreciseAccessRule((&ddoscoov3.DeleteWebPreciseAccessRuleRequest{}).SetDomain(w.domain).SetRuleNames(tea.StringSlice([]string{"admin"}))); err != nil {
		t.Fatal(err)
	}
	pr, err = c.DescribeWebPreciseAccessRule((&ddoscoov3.DescribeWebPreciseAccessRuleRequest{}).SetDomains(tea.StringSlice([]string{w.domain})))
	if err != nil || len(pr.Body.PreciseAccessConfigList) != 1 || len(pr.Body.PreciseAccessConfigList[0].RuleList) != 1 ||
		tea.StringValue(pr.Body.PreciseAccessConfigList[0].RuleList[0].Name) != "ua" {
		t.Errorf("after DeleteWebPreciseAccessRule: %v, %v", pr, err)
	}

	// Everything together, as both switch calls show it.
	on, tmpl, global, custom, prec, lists := w.domainSwitch()
	if on != 1 || tmpl != "gf_under_attack" || global != "open" || custom != 1 || prec != 1 || lists != 1 {
		t.Errorf("DescribeDomainCcProtectSwitch: %d %s %s %d %d %d", on, tmpl, global, custom, prec, lists)
	}

	// Every accepted change is an event: the switch (4), the mode, the CC
	// rules (2 configs and a delete), the IP sets, the precise rules and
	// their delete.
	if ev := s.Events(t, a.InstanceId, "rule_modified"); len(ev) != 11 {
		t.Errorf("rule_modified events: %d, want 11: %+v", len(ev), ev)
	}

	// An unknown website is DomainNotExist for every call.
	const ghost = "ghost.example.com"
	_, err = c.EnableWebCC((&ddoscoov3.EnableWebCCRequest{}).SetDomain(ghost))
	sdkErr(t, "EnableWebCC unknown", err, 400, "DomainNotExist", ghost)
	_, err = c.ConfigWebIpSet((&ddoscoov3.ConfigWebIpSetRequest{}).SetDomain(ghost))
	sdkErr(t, "ConfigWebIpSet unknown", err, 400, "DomainNotExist", ghost)
	w.rawErr("DescribeWebCCRulesV2", map[string]string{"Domain": ghost}, 400, "DomainNotExist", ghost)
	w.rawErr("ModifyWebCCGlobalSwitch", map[string]string{"Domain": ghost, "CcGlobalSwitch": "open"}, 400, "DomainNotExist", ghost)
	sws, err := c.DescribeWebCcProtectSwitch((&ddoscoov3.DescribeWebCcProtectSwitchRequest{}).SetDomains(tea.StringSlice([]string{ghost})))
	if err != nil || sws.Body.ProtectSwitchList == nil || len(sws.Body.ProtectSwitchList) != 0 {
		t.Errorf("DescribeWebCcProtectSwitch of an unknown website: %v, %v; want an empty list", sws, err)
	}

	// Deleting the website deletes its protection: the same name again
	// starts fresh.
	if _, err := c.DeleteDomainResource((&ddoscoov3.DeleteDomainResourceRequest{}).SetDomain(w.domain)); err != nil {
		t.Fatal(err)
	}
	createSite(t, c, webSite{domain: w.domain, instances: []string{a.InstanceId}, origins: []string{"203.0.113.10"}, proxies: map[string][]int32{"http": {80}}})
	if on, tmpl, _, custom, prec, lists := w.domainSwitch(); on != 1 || tmpl != "default" || custom+prec+lists != 0 {
		t.Errorf("a new website of a deleted one's name: %d %s %d %d %d", on, tmpl, custom, prec, lists)
	}
	wantFreshSettings(t, "the new website", describeSites(t, c, w.domain, "exact").WebRules[0])
}
