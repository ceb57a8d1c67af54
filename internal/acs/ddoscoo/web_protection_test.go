package ddoscoo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"moat/internal/acs"
	"moat/internal/moat"
)

// protCall is one call a protection handler made of the service.
type protCall struct {
	method  string
	region  moat.Region
	domain  string
	on      bool
	mode    string
	cc      []moat.CCRule
	precise []moat.PreciseRule
	period  int64
	names   []string
	black   []string
	white   []string
	domains []string
	reqID   string
}

// protFake records the website-protection calls and answers reads with
// prot (keyed by domain); any other method panics (nil embedded Service).
type protFake struct {
	Service
	err   error
	calls []protCall
	prot  map[string]moat.WebProtection
}

func (f *protFake) add(c protCall) error {
	f.calls = append(f.calls, c)
	return f.err
}

func (f *protFake) SetWebCC(_ context.Context, _ moat.Caller, r moat.Region, d string, on bool, rid string) error {
	return f.add(protCall{method: "SetWebCC", region: r, domain: d, on: on, reqID: rid})
}

func (f *protFake) SetWebCCMode(_ context.Context, _ moat.Caller, r moat.Region, d, mode, rid string) error {
	return f.add(protCall{method: "SetWebCCMode", region: r, domain: d, mode: mode, reqID: rid})
}

func (f *protFake) PutWebCCRules(_ context.Context, _ moat.Caller, r moat.Region, d string, rules []moat.CCRule, period int64, rid string) error {
	return f.add(protCall{method: "PutWebCCRules", region: r, domain: d, cc: rules, period: period, reqID: rid})
}

func (f *protFake) DeleteWebCCRules(_ context.Context, _ moat.Caller, r moat.Region, d string, names []string, rid string) error {
	return f.add(protCall{method: "DeleteWebCCRules", region: r, domain: d, names: names, reqID: rid})
}

func (f *protFake) SetWebIPSets(_ context.Context, _ moat.Caller, r moat.Region, d string, black, white []string, rid string) error {
	return f.add(protCall{method: "SetWebIPSets", region: r, domain: d, black: black, white: white, reqID: rid})
}

func (f *protFake) PutPreciseRules(_ context.Context, _ moat.Caller, r moat.Region, d string, rules []moat.PreciseRule, period int64, rid string) error {
	return f.add(protCall{method: "PutPreciseRules", region: r, domain: d, precise: rules, period: period, reqID: rid})
}

func (f *protFake) DeletePreciseRules(_ context.Context, _ moat.Caller, r moat.Region, d string, names []string, rid string) error {
	return f.add(protCall{method: "DeletePreciseRules", region: r, domain: d, names: names, reqID: rid})
}

func (f *protFake) WebProtection(_ context.Context, _ moat.Caller, r moat.Region, d string) (moat.WebProtection, error) {
	if err := f.add(protCall{method: "WebProtection", region: r, domain: d}); err != nil {
		return moat.WebProtection{}, err
	}
	p, ok := f.prot[d]
	if !ok {
		return moat.WebProtection{}, moat.Errorf(moat.CodeDomainNotExist, "The website %q does not exist.", d)
	}
	return p, nil
}

func (f *protFake) WebProtections(_ context.Context, _ moat.Caller, r moat.Region, ds []string) (map[string]moat.WebProtection, error) {
	if err := f.add(protCall{method: "WebProtections", region: r, domains: ds}); err != nil {
		return nil, err
	}
	out := map[string]moat.WebProtection{}
	for _, d := range ds {
		if p, ok := f.prot[d]; ok {
			out[d] = p
		}
	}
	return out, nil
}

// protCase is a call refused before the service is asked.
type protCase struct {
	kv   []string
	code moat.Code
	msg  string
}

// protAction builds the action of a fresh handler set on f.
func protAction(f *protFake, name string) acs.Action {
	h := &handlers{svc: f}
	return map[string]acs.Action{
		"ModifyWebCCGlobalSwitch":       acs.Handle(h.ModifyWebCCGlobalSwitch),
		"EnableWebCC":                   acs.Handle(h.EnableWebCC),
		"DisableWebCC":                  acs.Handle(h.DisableWebCC),
		"ConfigWebCCTemplate":           acs.Handle(h.ConfigWebCCTemplate),
		"ConfigWebCCRuleV2":             acs.Handle(h.ConfigWebCCRuleV2),
		"DescribeWebCCRulesV2":          acs.Handle(h.DescribeWebCCRulesV2),
		"DeleteWebCCRuleV2":             acs.Handle(h.DeleteWebCCRuleV2),
		"ConfigWebIpSet":                acs.Handle(h.ConfigWebIpSet),
		"ModifyWebPreciseAccessRule":    acs.Handle(h.ModifyWebPreciseAccessRule),
		"DescribeWebPreciseAccessRule":  acs.Handle(h.DescribeWebPreciseAccessRule),
		"DeleteWebPreciseAccessRule":    acs.Handle(h.DeleteWebPreciseAccessRule),
		"DescribeWebCcProtectSwitch":    acs.Handle(h.DescribeWebCcProtectSwitch),
		"DescribeDomainCcProtectSwitch": acs.Handle(h.DescribeDomainCcProtectSwitch),
	}[name]
}

// refusedBeforeService runs each case against a fresh fake and asserts
// the code, the message and that the service was not called.
func refusedBeforeService(t *testing.T, action string, base map[string]string, cases []protCase) {
	t.Helper()
	for _, c := range cases {
		f := &protFake{}
		_, _, err := webCall(t, protAction(f, action), withParams(base, c.kv...))
		wantCode(t, action+" "+strings.Join(c.kv, "="), err, c.code, c.msg)
		if len(f.calls) != 0 {
			t.Errorf("%s %v: the service was called: %+v", action, c.kv, f.calls)
		}
	}
}

// passesServiceError asserts that the service's error comes back as it
// is, with the parameter name the domain gave it.
func passesServiceError(t *testing.T, action string, params map[string]string, err error) {
	t.Helper()
	f := &protFake{err: err, prot: map[string]moat.WebProtection{}}
	_, _, got := webCall(t, protAction(f, action), params)
	if !errors.Is(got, err) || moat.AsError(got).Message != moat.AsError(err).Message {
		t.Errorf("%s: error %v, want the service's %v", action, got, err)
	}
}

// TestWebCCSwitchHandlers pins ModifyWebCCGlobalSwitch (open/close only),
// EnableWebCC and DisableWebCC: the domain as given, the region, the
// RequestId, the website judged as domain/<name>.
func TestWebCCSwitchHandlers(t *testing.T) {
	for _, c := range []struct {
		action string
		params map[string]string
		on     bool
	}{
		{"ModifyWebCCGlobalSwitch", map[string]string{"Domain": "WWW.example.com", "CcGlobalSwitch": "open"}, true},
		{"ModifyWebCCGlobalSwitch", map[string]string{"Domain": "WWW.example.com", "CcGlobalSwitch": "close"}, false},
		{"EnableWebCC", map[string]string{"Domain": "WWW.example.com"}, true},
		{"DisableWebCC", map[string]string{"Domain": "WWW.example.com", "RegionId": "ap-southeast-1"}, false},
	} {
		f := &protFake{}
		resp, call, err := webCall(t, protAction(f, c.action), c.params)
		if err != nil || resp == nil {
			t.Fatalf("%s %v: %v", c.action, c.params, err)
		}
		region := moat.RegionMainland
		if c.params["RegionId"] == "ap-southeast-1" {
			region = moat.RegionOverseas
		}
		want := []protCall{{method: "SetWebCC", region: region, domain: "WWW.example.com", on: c.on, reqID: "REQ-1"}}
		if !reflect.DeepEqual(f.calls, want) {
			t.Errorf("%s %v: service got %+v, want %+v", c.action, c.params, f.calls, want)
		}
		if !slices.Equal(call.Resources, []string{"domain/www.example.com"}) {
			t.Errorf("%s: resources %v", c.action, call.Resources)
		}
		passesServiceError(t, c.action, c.params, moat.Errorf(moat.CodeDomainNotExist, "The website %q does not exist.", "www.example.com"))
	}
	base := map[string]string{"Domain": "www.example.com", "CcGlobalSwitch": "open"}
	refusedBeforeService(t, "ModifyWebCCGlobalSwitch", base, []protCase{
		{[]string{"CcGlobalSwitch", "on"}, moat.CodeInvalidParameter, `CcGlobalSwitch value "on"`},
		{[]string{"CcGlobalSwitch", "Open"}, moat.CodeInvalidParameter, "open or close"},
		{[]string{"CcGlobalSwitch", "<absent>"}, "MissingCcGlobalSwitch", "CcGlobalSwitch is mandatory"},
		{[]string{"Domain", "<absent>"}, "MissingDomain", "Domain is mandatory"},
	})
	refusedBeforeService(t, "EnableWebCC", nil, []protCase{{nil, "MissingDomain", "Domain is mandatory"}})
	refusedBeforeService(t, "DisableWebCC", map[string]string{"Domain": "a.example.com", "RegionId": "mars-1"}, []protCase{{nil, moat.CodeInvalidRegionID, ""}})
}

// TestConfigWebCCTemplateHandler pins the mode passed through for the
// domain to check, and the domain's error about Template as it is.
func TestConfigWebCCTemplateHandler(t *testing.T) {
	f := &protFake{}
	params := map[string]string{"Domain": "www.example.com", "Template": "gf_under_attack"}
	_, call, err := webCall(t, protAction(f, "ConfigWebCCTemplate"), params)
	want := []protCall{{method: "SetWebCCMode", region: moat.RegionMainland, domain: "www.example.com", mode: "gf_under_attack", reqID: "REQ-1"}}
	if err != nil || !reflect.DeepEqual(f.calls, want) || !slices.Equal(call.Resources, []string{"domain/www.example.com"}) {
		t.Fatalf("ConfigWebCCTemplate: %v; service got %+v, resources %v", err, f.calls, call.Resources)
	}
	passesServiceError(t, "ConfigWebCCTemplate", params, moat.CheckCCMode("Template", "strict"))
	refusedBeforeService(t, "ConfigWebCCTemplate", params, []protCase{
		{[]string{"Template", "<absent>"}, "MissingTemplate", "Template is mandatory"},
	})
}

const ccRuleListJSON = `[{"action":"block","name":"login","condition":[{"field":"uri","match_method":"prefix","content":"/login"},` +
	`{"field":"header","match_method":"equal","content":"1","header_name":"X-Test"}],` +
	`"ratelimit":{"target":"header","subkey":"X-Client","interval":60,"threshold":100,"ttl":300}},` +
	`{"action":"watch","name":"any","ratelimit":{"target":"ip","interval":5,"threshold":2,"ttl":60}}]`

// TestConfigWebCCRuleV2Handler pins RuleList's lower snake JSON turned
// into the domain's rules (threshold is Count), Expires as the period,
// and the JSON errors.
func TestConfigWebCCRuleV2Handler(t *testing.T) {
	f := &protFake{}
	params := map[string]string{"Domain": "www.example.com", "RuleList": ccRuleListJSON, "Expires": "3600"}
	_, call, err := webCall(t, protAction(f, "ConfigWebCCRuleV2"), params)
	if err != nil {
		t.Fatal(err)
	}
	wantRules := []moat.CCRule{
		{Name: "login", Action: "block", Target: "header", SubKey: "X-Client", Interval: 60, Count: 100, TTL: 300, Conditions: []moat.PreciseCondition{
			{Field: "uri", Match: "prefix", Value: "/login"}, {Field: "header", Match: "equal", Value: "1", Header: "X-Test"}}},
		{Name: "any", Action: "watch", Target: "ip", Interval: 5, Count: 2, TTL: 60, Conditions: []moat.PreciseCondition{}},
	}
	want := []protCall{{method: "PutWebCCRules", region: moat.RegionMainland, domain: "www.example.com", cc: wantRules, period: 3600, reqID: "REQ-1"}}
	if !reflect.DeepEqual(f.calls, want) {
		t.Fatalf("service got\n%+v\nwant\n%+v", f.calls, want)
	}
	if !slices.Equal(call.Resources, []string{"domain/www.example.com"}) {
		t.Errorf("resources %v", call.Resources)
	}
	// Expires absent is for ever; "0" too (the Terraform provider's).
	for _, exp := range []string{"<absent>", "0"} {
		f := &protFake{}
		if _, _, err := webCall(t, protAction(f, "ConfigWebCCRuleV2"), withParams(params, "Expires", exp)); err != nil || len(f.calls) != 1 || f.calls[0].period != 0 {
			t.Errorf("Expires %s: %v, %+v", exp, err, f.calls)
		}
	}
	// The domain's checks name the JSON's keys; they come back unchanged.
	passesServiceError(t, "ConfigWebCCRuleV2", params, moat.InvalidParamValue("RuleList.ratelimit.threshold", "1", "2 to 2000 requests"))
	passesServiceError(t, "ConfigWebCCRuleV2", params, moat.MissingParam("RuleList.name"))
	refusedBeforeService(t, "ConfigWebCCRuleV2", params, []protCase{
		{[]string{"RuleList", "<absent>"}, "MissingRuleList", "RuleList is mandatory"},
		{[]string{"RuleList", `{"name":"a"}`}, moat.CodeJSONError, "RuleList must be a JSON array"},
		{[]string{"RuleList", `[{"name":"a"`}, moat.CodeJSONError, "RuleList must be a JSON array"},
		{[]string{"RuleList", `[{"name":7}]`}, moat.CodeJSONError, "RuleList must be a JSON array"},
		{[]string{"RuleList", `[{"name":"a","ratelimit":{"interval":"60"}}]`}, moat.CodeJSONError, "RuleList must be a JSON array"},
		{[]string{"RuleList", `[{"name":"a","condition":{"field":"uri"}}]`}, moat.CodeJSONError, "RuleList must be a JSON array"},
		{[]string{"RuleList", `null`}, moat.CodeJSONError, "RuleList must be a JSON array"},
		{[]string{"RuleList", `[{"action":"block","name":"a"}]`}, "MissingRuleList.ratelimit", "RuleList.ratelimit is mandatory"},
		{[]string{"Expires", "soon"}, moat.CodeInvalidParameter, "Expires"},
		{[]string{"Domain", "<absent>"}, "MissingDomain", "Domain is mandatory"},
	})
}

// TestDescribeWebCCRulesV2Handler pins the answer's PascalCase shape
// (TotalCount a string, Expires the period, Owner manual, the rate limit
// with Threshold and Ttl), paging by the string Offset and PageSize, and
// Owner clover (moat makes no rules itself) answering none.
func TestDescribeWebCCRulesV2Handler(t *testing.T) {
	var rules []moat.CCRule
	for i := range 25 {
		rules = append(rules, moat.CCRule{Name: fmt.Sprintf("r%02d", i), Action: "block", Target: "ip", Interval: 60, Count: 10 + i, TTL: 300, Period: 600, Expires: 1767225600,
			Conditions: []moat.PreciseCondition{{Field: "uri", Match: "prefix", Value: "/a"}}})
	}
	f := &protFake{prot: map[string]moat.WebProtection{"www.example.com": {CCEnabled: true, CCRules: rules}}}
	a := protAction(f, "DescribeWebCCRulesV2")
	resp, call, err := webCall(t, a, map[string]string{"Domain": "www.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	r := resp.(*DescribeWebCCRulesV2Response)
	if r.TotalCount != "25" || len(r.WebCCRules) != 20 || r.WebCCRules[0].Name != "r00" || r.Domain != "www.example.com" {
		t.Fatalf("first page: total %s, %d rules", r.TotalCount, len(r.WebCCRules))
	}
	if !slices.Equal(call.Resources, []string{"domain/www.example.com"}) {
		t.Errorf("resources %v", call.Resources)
	}
	b, err := json.Marshal(r.WebCCRules[1])
	if err != nil {
		t.Fatal(err)
	}
	wantJSON := `{"Name":"r01","Owner":"manual","Expires":600,"RuleDetail":{"Name":"r01","Action":"block",` +
		`"Condition":[{"Field":"uri","MatchMethod":"prefix","Content":"/a","ContentList":[],"HeaderName":""}],` +
		`"RateLimit":{"Target":"ip","SubKey":"","Interval":60,"Threshold":11,"Ttl":300}}}`
	if string(b) != wantJSON {
		t.Errorf("rule JSON\n got %s\nwant %s", b, wantJSON)
	}
	if b, _ := json.Marshal(resp); !strings.Contains(string(b), `"TotalCount":"25"`) {
		t.Errorf("TotalCount is not a string: %s", b)
	}
	resp, _, err = webCall(t, a, map[string]string{"Domain": "www.example.com", "Offset": "20", "PageSize": "10"})
	if r := resp.(*DescribeWebCCRulesV2Response); err != nil || len(r.WebCCRules) != 5 || r.WebCCRules[0].Name != "r20" {
		t.Fatalf("second page: %v, %+v", err, r)
	}
	resp, _, err = webCall(t, a, map[string]string{"Domain": "www.example.com", "Offset": "30"})
	if b, _ := json.Marshal(resp); err != nil || !strings.Contains(string(b), `"WebCCRules":[]`) {
		t.Fatalf("past the end: %v, %s", err, b)
	}
	resp, _, err = webCall(t, a, map[string]string{"Domain": "www.example.com", "Owner": "clover"})
	if b, _ := json.Marshal(resp); err != nil || !strings.Contains(string(b), `"TotalCount":"0","WebCCRules":[]`) {
		t.Fatalf("Owner clover: %v, %s", err, b)
	}
	passesServiceError(t, "DescribeWebCCRulesV2", map[string]string{"Domain": "gone.example.com"}, moat.Errorf(moat.CodeDomainNotExist, "The website %q does not exist.", "gone.example.com"))
	refusedBeforeService(t, "DescribeWebCCRulesV2", map[string]string{"Domain": "www.example.com"}, []protCase{
		{[]string{"PageSize", "21"}, moat.CodeInvalidParameter, `PageSize value "21"`},
		{[]string{"PageSize", "0"}, moat.CodeInvalidParameter, "PageSize"},
		{[]string{"PageSize", "ten"}, moat.CodeInvalidParameter, "PageSize"},
		{[]string{"Offset", "-1"}, moat.CodeInvalidParameter, "Offset"},
		{[]string{"Owner", "robot"}, moat.CodeInvalidParameter, "Owner"},
		{[]string{"Domain", "<absent>"}, "MissingDomain", "Domain is mandatory"},
	})
}

// TestDeleteWebCCRuleV2Handler pins RuleNames as a JSON array of names and
// Owner clover deleting nothing.
func TestDeleteWebCCRuleV2Handler(t *testing.T) {
	f := &protFake{}
	params := map[string]string{"Domain": "www.example.com", "RuleNames": `["a","b_2"]`}
	_, call, err := webCall(t, protAction(f, "DeleteWebCCRuleV2"), params)
	want := []protCall{{method: "DeleteWebCCRules", region: moat.RegionMainland, domain: "www.example.com", names: []string{"a", "b_2"}, reqID: "REQ-1"}}
	if err != nil || !reflect.DeepEqual(f.calls, want) || !slices.Equal(call.Resources, []string{"domain/www.example.com"}) {
		t.Fatalf("DeleteWebCCRuleV2: %v; service got %+v, resources %v", err, f.calls, call.Resources)
	}
	f = &protFake{}
	if _, _, err := webCall(t, protAction(f, "DeleteWebCCRuleV2"), withParams(params, "Owner", "clover")); err != nil || len(f.calls) != 0 {
		t.Errorf("Owner clover: %v, service got %+v", err, f.calls)
	}
	passesServiceError(t, "DeleteWebCCRuleV2", params, moat.Errorf(moat.CodeDomainNotExist, "The website %q does not exist.", "www.example.com"))
	refusedBeforeService(t, "DeleteWebCCRuleV2", params, []protCase{
		{[]string{"RuleNames", "a"}, moat.CodeJSONError, "RuleNames must be a JSON array"},
		{[]string{"RuleNames", `[1]`}, moat.CodeJSONError, "RuleNames must be a JSON array"},
		{[]string{"RuleNames", `{"a":1}`}, moat.CodeJSONError, "RuleNames must be a JSON array"},
		{[]string{"RuleNames", "<absent>"}, "MissingRuleNames", "RuleNames is mandatory"},
	})
}

// TestConfigWebIpSetHandler pins BlackList.N and WhiteList.N passed
// whole, an absent list as none.
func TestConfigWebIpSetHandler(t *testing.T) {
	f := &protFake{}
	params := map[string]string{"Domain": "www.example.com", "BlackList.1": "198.51.100.1", "BlackList.2": "198.51.100.0/24", "WhiteList.1": "192.0.2.7"}
	_, call, err := webCall(t, protAction(f, "ConfigWebIpSet"), params)
	want := []protCall{{method: "SetWebIPSets", region: moat.RegionMainland, domain: "www.example.com",
		black: []string{"198.51.100.1", "198.51.100.0/24"}, white: []string{"192.0.2.7"}, reqID: "REQ-1"}}
	if err != nil || !reflect.DeepEqual(f.calls, want) || !slices.Equal(call.Resources, []string{"domain/www.example.com"}) {
		t.Fatalf("ConfigWebIpSet: %v; service got %+v, resources %v", err, f.calls, call.Resources)
	}
	f = &protFake{}
	if _, _, err := webCall(t, protAction(f, "ConfigWebIpSet"), map[string]string{"Domain": "www.example.com"}); err != nil || len(f.calls) != 1 || len(f.calls[0].black)+len(f.calls[0].white) != 0 {
		t.Errorf("no lists: %v, %+v", err, f.calls)
	}
	passesServiceError(t, "ConfigWebIpSet", params, moat.Errorf(moat.CodeInvalidIP, "BlackList: %q is not an IPv4 address or CIDR block.", "x"))
	refusedBeforeService(t, "ConfigWebIpSet", params, []protCase{{[]string{"Domain", "<absent>"}, "MissingDomain", "Domain is mandatory"}})
}

// TestModifyWebPreciseAccessRuleHandler pins Rules' lower snake JSON
// turned into the domain's rules, Expires (absent: for ever) and the JSON
// errors.
func TestModifyWebPreciseAccessRuleHandler(t *testing.T) {
	f := &protFake{}
	rules := `[{"action":"block","name":"admin","condition":[{"field":"uri","match_method":"contain","content":"/admin"},` +
		`{"field":"header","match_method":"nexist","header_name":"X-Key"}]},{"action":"watch","name":"ua","condition":[{"field":"user-agent","match_method":"contain","content":"curl"}]}]`
	params := map[string]string{"Domain": "www.example.com", "Rules": rules, "Expires": "86400"}
	_, call, err := webCall(t, protAction(f, "ModifyWebPreciseAccessRule"), params)
	if err != nil {
		t.Fatal(err)
	}
	wantRules := []moat.PreciseRule{
		{Name: "admin", Action: "block", Conditions: []moat.PreciseCondition{{Field: "uri", Match: "contain", Value: "/admin"}, {Field: "header", Match: "nexist", Header: "X-Key"}}},
		{Name: "ua", Action: "watch", Conditions: []moat.PreciseCondition{{Field: "user-agent", Match: "contain", Value: "curl"}}},
	}
	want := []protCall{{method: "PutPreciseRules", region: moat.RegionMainland, domain: "www.example.com", precise: wantRules, period: 86400, reqID: "REQ-1"}}
	if !reflect.DeepEqual(f.calls, want) || !slices.Equal(call.Resources, []string{"domain/www.example.com"}) {
		t.Fatalf("service got\n%+v\nwant\n%+v\nresources %v", f.calls, want, call.Resources)
	}
	f = &protFake{}
	if _, _, err := webCall(t, protAction(f, "ModifyWebPreciseAccessRule"), withParams(params, "Expires", "<absent>")); err != nil || len(f.calls) != 1 || f.calls[0].period != 0 {
		t.Errorf("no Expires: %v, %+v", err, f.calls)
	}
	passesServiceError(t, "ModifyWebPreciseAccessRule", params, moat.InvalidParamValue("Rules.condition.match_method", "belong", "a method the field uri takes"))
	refusedBeforeService(t, "ModifyWebPreciseAccessRule", params, []protCase{
		{[]string{"Rules", "<absent>"}, "MissingRules", "Rules is mandatory"},
		{[]string{"Rules", `{"name":"a"}`}, moat.CodeJSONError, "Rules must be a JSON array"},
		{[]string{"Rules", `[{"name":"a","condition":"uri"}]`}, moat.CodeJSONError, "Rules must be a JSON array"},
		{[]string{"Rules", `[{"name":"a","condition":[{"content":5}]}]`}, moat.CodeJSONError, "Rules must be a JSON array"},
		{[]string{"Rules", `[`}, moat.CodeJSONError, "Rules must be a JSON array"},
		{[]string{"Expires", "1.5"}, moat.CodeInvalidParameter, "Expires"},
	})
}

// TestDescribeWebPreciseAccessRuleHandler pins Domains.N (checked, lower
// case, the caller's websites only, in order), the answer's shape
// (Expires and ExpirePeriod the period, Owner manual, ConditionList) and
// Owner clover answering each website with no rules.
func TestDescribeWebPreciseAccessRuleHandler(t *testing.T) {
	f := &protFake{prot: map[string]moat.WebProtection{
		"a.example.com": {Precise: []moat.PreciseRule{{Name: "p1", Action: "block", Period: 600, Expires: 1767225600,
			Conditions: []moat.PreciseCondition{{Field: "header", Match: "equal", Value: "v", Header: "X-H"}}}}},
		"b.example.com": {},
	}}
	a := protAction(f, "DescribeWebPreciseAccessRule")
	resp, call, err := webCall(t, a, map[string]string{"Domains.1": "b.example.com", "Domains.2": "A.Example.com", "Domains.3": "nobody.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(f.calls[0].domains, []string{"b.example.com", "a.example.com", "nobody.example.com"}) {
		t.Errorf("service asked about %v", f.calls[0].domains)
	}
	if want := []string{"domain/b.example.com", "domain/a.example.com", "domain/nobody.example.com"}; !slices.Equal(call.Resources, want) {
		t.Errorf("resources %v, want %v", call.Resources, want)
	}
	b, _ := json.Marshal(resp.(*DescribeWebPreciseAccessRuleResponse).PreciseAccessConfigList)
	want := `[{"Domain":"b.example.com","RuleList":[]},{"Domain":"a.example.com","RuleList":[{"Name":"p1","Action":"block","Owner":"manual",` +
		`"Expires":600,"ExpirePeriod":600,"ConditionList":[{"Field":"header","MatchMethod":"equal","Content":"v","ContentList":[],"HeaderName":"X-H"}]}]}]`
	if string(b) != want {
		t.Errorf("configs\n got %s\nwant %s", b, want)
	}
	resp, _, err = webCall(t, a, map[string]string{"Domains.1": "a.example.com", "Owner": "clover"})
	if b, _ := json.Marshal(resp); err != nil || !strings.Contains(string(b), `[{"Domain":"a.example.com","RuleList":[]}]`) {
		t.Errorf("Owner clover: %v, %s", err, b)
	}
	resp, _, err = webCall(t, a, map[string]string{"Domains.1": "nobody.example.com"})
	if b, _ := json.Marshal(resp); err != nil || !strings.Contains(string(b), `"PreciseAccessConfigList":[]`) {
		t.Errorf("no website: %v, %s", err, b)
	}
	many := map[string]string{}
	for i := 1; i <= maxSwitchDomains+1; i++ {
		many[fmt.Sprintf("Domains.%d", i)] = fmt.Sprintf("d%d.example.com", i)
	}
	refusedBeforeService(t, "DescribeWebPreciseAccessRule", map[string]string{"Domains.1": "a.example.com"}, []protCase{
		{[]string{"Domains.1", "<absent>"}, "MissingDomains", "Domains is mandatory"},
		{[]string{"Domains.2", "not a domain"}, moat.CodeInvalidDomain, ""},
		{[]string{"Owner", "robot"}, moat.CodeInvalidParameter, "Owner"},
	})
	_, _, err = webCall(t, a, many)
	wantCode(t, "51 domains", err, moat.CodeInvalidParameter, "at most 50")
}

// TestDeleteWebPreciseAccessRuleHandler pins RuleNames.N.
func TestDeleteWebPreciseAccessRuleHandler(t *testing.T) {
	f := &protFake{}
	params := map[string]string{"Domain": "www.example.com", "RuleNames.1": "a", "RuleNames.2": "b"}
	_, call, err := webCall(t, protAction(f, "DeleteWebPreciseAccessRule"), params)
	want := []protCall{{method: "DeletePreciseRules", region: moat.RegionMainland, domain: "www.example.com", names: []string{"a", "b"}, reqID: "REQ-1"}}
	if err != nil || !reflect.DeepEqual(f.calls, want) || !slices.Equal(call.Resources, []string{"domain/www.example.com"}) {
		t.Fatalf("DeleteWebPreciseAccessRule: %v; service got %+v, resources %v", err, f.calls, call.Resources)
	}
	passesServiceError(t, "DeleteWebPreciseAccessRule", params, moat.Errorf(moat.CodeDomainNotExist, "The website %q does not exist.", "www.example.com"))
	refusedBeforeService(t, "DeleteWebPreciseAccessRule", params, []protCase{
		{[]string{"RuleNames.1", "<absent>", "RuleNames.2", "<absent>"}, "MissingRuleNames", "RuleNames is mandatory"},
	})
}

// TestProtectSwitchHandlers pins DescribeWebCcProtectSwitch and
// DescribeDomainCcProtectSwitch: one entry per website of the caller in
// the order asked, CcEnable/CcGlobalSwitch from the switch, the custom
// rule, precise and list switches on when there are some, the mode.
func TestProtectSwitchHandlers(t *testing.T) {
	f := &protFake{prot: map[string]moat.WebProtection{
		"on.example.com":  {CCEnabled: true, CCMode: "gf_sos_verify", CCRules: []moat.CCRule{{Name: "a"}}, Precise: []moat.PreciseRule{{Name: "p"}}, Whitelist: []string{"192.0.2.1"}},
		"off.example.com": {CCEnabled: false, CCRules: []moat.CCRule{{Name: "a"}}},
	}}
	for _, action := range []string{"DescribeWebCcProtectSwitch", "DescribeDomainCcProtectSwitch"} {
		resp, call, err := webCall(t, protAction(f, action), map[string]string{"Domains.1": "off.example.com", "Domains.2": "On.example.com", "Domains.3": "nobody.example.com"})
		if err != nil {
			t.Fatalf("%s: %v", action, err)
		}
		if want := []string{"domain/off.example.com", "domain/on.example.com", "domain/nobody.example.com"}; !slices.Equal(call.Resources, want) {
			t.Errorf("%s: resources %v", action, call.Resources)
		}
		b, _ := json.Marshal(resp)
		want := `"ProtectSwitchList":[` +
			`{"Domain":"off.example.com","CcEnable":0,"CcTemplate":"default","CcGlobalSwitch":"close","CcCustomRuleEnable":0,"PreciseRuleEnable":0,"RegionBlockEnable":0,"BlackWhiteListEnable":0,"AiRuleEnable":0,"AiMode":"watch","AiTemplate":"level60"},` +
			`{"Domain":"on.example.com","CcEnable":1,"CcTemplate":"gf_sos_verify","CcGlobalSwitch":"open","CcCustomRuleEnable":1,"PreciseRuleEnable":1,"RegionBlockEnable":0,"BlackWhiteListEnable":1,"AiRuleEnable":0,"AiMode":"watch","AiTemplate":"level60"}]`
		if !strings.Contains(string(b), want) {
			t.Errorf("%s:\n got %s\nwant %s", action, b, want)
		}
		refusedBeforeService(t, action, map[string]string{"Domains.1": "a.example.com"}, []protCase{
			{[]string{"Domains.1", "<absent>"}, "MissingDomains", "Domains is mandatory"},
			{[]string{"Domains.1", "a_b..com"}, moat.CodeInvalidDomain, ""},
		})
	}
}
