package ddoscoo

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"moat/internal/acs"
	"moat/internal/moat"
)

// portFake records the rule calls a handler makes and answers them with
// what the test set; any other method panics (the embedded interface is
// nil).
type portFake struct {
	Service
	err error

	caller    moat.Caller
	region    moat.Region
	requestID string
	calls     int

	created []moat.PortRule
	changed []moat.PortChange
	deleted []moat.PortKey
	query   moat.PortQuery
	stopped bool // PortRules reports the instance not forwarding
	keys    []moat.PortKey
	key     moat.PortKey
	patch   moat.RuleConfigPatch
	health  moat.HealthCheck
	usageOf []string

	rules    []moat.PortRule
	total    int64
	statuses []moat.HealthStatus
	views    []moat.InstanceView
	usage    map[string]moat.RuleCount
}

func (f *portFake) note(c moat.Caller, region moat.Region, requestID string) error {
	f.calls++
	f.caller, f.region, f.requestID = c, region, requestID
	return f.err
}

func (f *portFake) CreatePortRules(_ context.Context, c moat.Caller, region moat.Region, rules []moat.PortRule, requestID string) error {
	f.created = rules
	return f.note(c, region, requestID)
}

func (f *portFake) ModifyPortRules(_ context.Context, c moat.Caller, region moat.Region, changes []moat.PortChange, requestID string) error {
	f.changed = changes
	return f.note(c, region, requestID)
}

func (f *portFake) DeletePortRules(_ context.Context, c moat.Caller, region moat.Region, keys []moat.PortKey, requestID string) error {
	f.deleted = keys
	return f.note(c, region, requestID)
}

func (f *portFake) PortRules(_ context.Context, c moat.Caller, region moat.Region, q moat.PortQuery) (moat.PortPage, error) {
	f.query = q
	return moat.PortPage{Rules: f.rules, Total: f.total, Forwarding: !f.stopped}, f.note(c, region, "")
}

func (f *portFake) LookupPortRules(_ context.Context, c moat.Caller, region moat.Region, keys []moat.PortKey) ([]moat.PortRule, error) {
	f.keys = keys
	return f.rules, f.note(c, region, "")
}

func (f *portFake) ModifyRuleConfig(_ context.Context, c moat.Caller, region moat.Region, k moat.PortKey, p moat.RuleConfigPatch, requestID string) error {
	f.key, f.patch = k, p
	return f.note(c, region, requestID)
}

func (f *portFake) ModifyHealthCheck(_ context.Context, c moat.Caller, region moat.Region, k moat.PortKey, h moat.HealthCheck, requestID string) error {
	f.key, f.health = k, h
	return f.note(c, region, requestID)
}

func (f *portFake) HealthStatuses(_ context.Context, c moat.Caller, region moat.Region, keys []moat.PortKey) ([]moat.HealthStatus, error) {
	f.keys = keys
	return f.statuses, f.note(c, region, "")
}

func (f *portFake) Instances(_ context.Context, c moat.Caller, region moat.Region, ids []string) ([]moat.InstanceView, error) {
	return f.views, nil
}

func (f *portFake) RuleUsage(_ context.Context, c moat.Caller, region moat.Region, ids []string) (map[string]moat.RuleCount, error) {
	f.usageOf = ids
	return f.usage, f.note(c, region, "")
}

var portCaller = moat.Caller{AccountID: "1000000000000001", AccessKeyID: "AK1"}

// invoke drives action with params (RegionId cn-hangzhou added) as the
// gateway does after RAM, and returns the response encoded as JSON.
func invoke(t *testing.T, action acs.Action, params map[string]string) (string, *acs.Call, error) {
	t.Helper()
	p := map[string]string{"RegionId": "cn-hangzhou"}
	for k, v := range params {
		p[k] = v
	}
	call := &acs.Call{Action: "X", RequestID: "REQ-1", Caller: portCaller, Params: p}
	resp, err := action.Invoke(context.Background(), call)
	if err != nil {
		return "", call, err
	}
	b, jerr := json.Marshal(resp)
	if jerr != nil {
		t.Fatalf("encode %T: %v", resp, jerr)
	}
	return string(b), call, nil
}

func wantCode(t *testing.T, what string, err error, code moat.Code, inMessage string) {
	t.Helper()
	e := moat.AsError(err)
	if err == nil || e.Code != code || !strings.Contains(e.Message, inMessage) {
		t.Errorf("%s: error %v, want %s with %q in its message", what, err, code, inMessage)
	}
}

// TestCreatePortHandler pins CreatePort's conversion: string ports parsed,
// BackendPort defaulting to the frontend port, the caller, region and
// RequestId passed on, and the domain's Protocol reported as
// FrontendProtocol.
func TestCreatePortHandler(t *testing.T) {
	f := &portFake{}
	h := &handlers{svc: f}
	a := acs.Handle(h.CreatePort)
	params := map[string]string{"InstanceId": "ddoscoo-cn-a", "FrontendProtocol": "tcp", "FrontendPort": "80", "RealServers.1": "192.0.2.1", "RealServers.2": "192.0.2.2"}
	body, call, err := invoke(t, a, params)
	if err != nil {
		t.Fatalf("CreatePort: %v", err)
	}
	if body != `{"RequestId":""}` {
		t.Errorf("body %s", body)
	}
	want := []moat.PortRule{{PortKey: moat.PortKey{InstanceID: "ddoscoo-cn-a", Protocol: "tcp", FrontendPort: 80}, BackendPort: 80, RealServers: []string{"192.0.2.1", "192.0.2.2"}}}
	if !reflect.DeepEqual(f.created, want) || f.caller != portCaller || f.region != moat.RegionMainland || f.requestID != "REQ-1" {
		t.Errorf("service got %+v %+v %s %q", f.created, f.caller, f.region, f.requestID)
	}
	if !slices.Equal(call.Resources, []string{"ddoscoo-cn-a"}) {
		t.Errorf("resources %v", call.Resources)
	}

	params["BackendPort"] = "8080"
	if _, _, err := invoke(t, a, params); err != nil || f.created[0].BackendPort != 8080 {
		t.Errorf("BackendPort 8080: %v, %+v", err, f.created)
	}

	f.calls = 0
	for _, bad := range []struct{ name, value string }{
		{"FrontendPort", "http"}, {"FrontendPort", "0"}, {"FrontendPort", "65536"}, {"FrontendPort", "99999999999999999999"},
		{"BackendPort", "-1"}, {"BackendPort", "8o"},
	} {
		p := maps(params, bad.name, bad.value)
		_, _, err := invoke(t, a, p)
		wantCode(t, bad.name+"="+bad.value, err, moat.CodeInvalidParameter, "parameter "+bad.name+" value")
	}
	for _, missing := range []string{"InstanceId", "FrontendProtocol", "FrontendPort", "RealServers.1"} {
		p := maps(params, missing, "")
		delete(p, "RealServers.2")
		_, _, err := invoke(t, a, p)
		if e := moat.AsError(err); err == nil || !strings.HasPrefix(string(e.Code), "Missing") {
			t.Errorf("without %s: %v, want Missing…", missing, err)
		}
	}
	if f.calls != 0 {
		t.Errorf("the service was called %d times for bad input", f.calls)
	}

	f.err = moat.InvalidParamValue("Protocol", "icmp", "it must be tcp or udp")
	_, _, err = invoke(t, a, params)
	wantCode(t, "domain protocol error", err, moat.CodeInvalidParameter, "parameter FrontendProtocol value \"icmp\"")
	f.err = moat.Errorf(moat.CodeExceedNetworkRuleLimit, "full")
	_, _, err = invoke(t, a, params)
	wantCode(t, "limit", err, moat.CodeExceedNetworkRuleLimit, "full")
}

// maps copies m with name set to value ("" removes it).
func maps(m map[string]string, name, value string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = v
	}
	if value == "" {
		delete(out, name)
	} else {
		out[name] = value
	}
	return out
}

// TestModifyAndDeletePortHandlers pins the other two calls of the port
// family: ModifyPort keeps the backend port when it is absent, DeletePort
// names the rule by its key alone.
func TestModifyAndDeletePortHandlers(t *testing.T) {
	f := &portFake{}
	h := &handlers{svc: f}
	params := map[string]string{"InstanceId": "ddoscoo-cn-a", "FrontendProtocol": "UDP", "FrontendPort": "53", "RealServers.1": "192.0.2.9"}
	if _, _, err := invoke(t, acs.Handle(h.ModifyPort), params); err != nil {
		t.Fatalf("ModifyPort: %v", err)
	}
	want := []moat.PortChange{{PortKey: moat.PortKey{InstanceID: "ddoscoo-cn-a", Protocol: "UDP", FrontendPort: 53}, RealServers: []string{"192.0.2.9"}}}
	if !reflect.DeepEqual(f.changed, want) || f.requestID != "REQ-1" {
		t.Errorf("ModifyPort sent %+v %q", f.changed, f.requestID)
	}
	if _, _, err := invoke(t, acs.Handle(h.ModifyPort), maps(params, "BackendPort", "5353")); err != nil || f.changed[0].BackendPort != 5353 {
		t.Errorf("ModifyPort BackendPort: %v %+v", err, f.changed)
	}
	// Terraform sends BackendPort="" when the rule has none set: the
	// backend port is kept.
	p := maps(params, "x", "")
	p["BackendPort"] = ""
	if _, _, err := invoke(t, acs.Handle(h.ModifyPort), p); err != nil || f.changed[0].BackendPort != 0 {
		t.Errorf("ModifyPort BackendPort \"\": %v %+v", err, f.changed)
	}
	_, _, err := invoke(t, acs.Handle(h.ModifyPort), maps(params, "RealServers.1", ""))
	wantCode(t, "ModifyPort without origins", err, "MissingRealServers", "RealServers")

	params["BackendPort"] = "53"
	if _, _, err := invoke(t, acs.Handle(h.DeletePort), params); err != nil {
		t.Fatalf("DeletePort: %v", err)
	}
	if want := []moat.PortKey{{InstanceID: "ddoscoo-cn-a", Protocol: "UDP", FrontendPort: 53}}; !reflect.DeepEqual(f.deleted, want) {
		t.Errorf("DeletePort sent %+v", f.deleted)
	}
	f.err = moat.Errorf(moat.CodeNetworkRuleNotExist, "gone")
	_, _, err = invoke(t, acs.Handle(h.DeletePort), params)
	wantCode(t, "DeletePort of nothing", err, moat.CodeNetworkRuleNotExist, "gone")
}

// TestDescribePortHandlers pins DescribePort's and DescribeNetworkRules'
// shapes and queries.
func TestDescribePortHandlers(t *testing.T) {
	f := &portFake{total: 7, rules: []moat.PortRule{
		{PortKey: moat.PortKey{InstanceID: "ddoscoo-cn-a", Protocol: "tcp", FrontendPort: 80}, BackendPort: 8080, RealServers: []string{"192.0.2.1", "192.0.2.2"}},
	}}
	h := &handlers{svc: f}
	body, _, err := invoke(t, acs.Handle(h.DescribePort), map[string]string{"InstanceId": "ddoscoo-cn-a", "FrontendProtocol": "tcp", "FrontendPort": "80", "PageNumber": "2", "PageSize": "5"})
	if err != nil {
		t.Fatalf("DescribePort: %v", err)
	}
	if want := `{"RequestId":"","TotalCount":7,"NetworkRules":[{"InstanceId":"ddoscoo-cn-a","FrontendProtocol":"tcp","FrontendPort":80,"BackendPort":8080,"RealServers":["192.0.2.1","192.0.2.2"],"IsAutoCreate":false}]}`; body != want {
		t.Errorf("DescribePort body\n%s\nwant\n%s", body, want)
	}
	if want := (moat.PortQuery{InstanceID: "ddoscoo-cn-a", Protocol: "tcp", FrontendPort: 80, PageNumber: 2, PageSize: 5}); f.query != want {
		t.Errorf("query %+v", f.query)
	}

	body, _, err = invoke(t, acs.Handle(h.DescribeNetworkRules), map[string]string{"InstanceId": "ddoscoo-cn-a", "PageNumber": "1", "PageSize": "10"})
	if err != nil {
		t.Fatalf("DescribeNetworkRules: %v", err)
	}
	if want := `{"RequestId":"","TotalCount":7,"NetworkRules":[{"InstanceId":"ddoscoo-cn-a","Protocol":"tcp","FrontendPort":80,"BackendPort":8080,"RealServers":["192.0.2.1","192.0.2.2"],"IsAutoCreate":false,"Remark":"","ProxyEnable":0,"ProxyStatus":"on","PayloadRuleEnable":0}]}`; body != want {
		t.Errorf("DescribeNetworkRules body\n%s\nwant\n%s", body, want)
	}
	if want := (moat.PortQuery{InstanceID: "ddoscoo-cn-a", PageNumber: 1, PageSize: 10}); f.query != want {
		t.Errorf("query %+v", f.query)
	}
	// An instance whose forwarding stopped: its rules show ProxyStatus off.
	f.stopped = true
	body, _, err = invoke(t, acs.Handle(h.DescribeNetworkRules), map[string]string{"InstanceId": "ddoscoo-cn-a", "PageNumber": "1", "PageSize": "10"})
	if err != nil || !strings.Contains(body, `"ProxyStatus":"off"`) {
		t.Errorf("DescribeNetworkRules of a stopped instance: %s, %v", body, err)
	}
	f.stopped = false

	f.rules, f.total, f.calls = nil, 0, 0
	body, _, err = invoke(t, acs.Handle(h.DescribeNetworkRules), map[string]string{"InstanceId": "ddoscoo-cn-a", "PageNumber": "1", "PageSize": "10"})
	if err != nil || body != `{"RequestId":"","TotalCount":0,"NetworkRules":[]}` {
		t.Errorf("empty listing: %s, %v", body, err)
	}
	_, _, err = invoke(t, acs.Handle(h.DescribeNetworkRules), map[string]string{"InstanceId": "ddoscoo-cn-a", "PageSize": "10"})
	wantCode(t, "no PageNumber", err, "MissingPageNumber", "PageNumber")
	_, _, err = invoke(t, acs.Handle(h.DescribePort), map[string]string{"InstanceId": "ddoscoo-cn-a", "FrontendPort": "0"})
	wantCode(t, "FrontendPort 0", err, moat.CodeInvalidParameter, "FrontendPort")
	_, _, err = invoke(t, acs.Handle(h.DescribePort), map[string]string{"InstanceId": "ddoscoo-cn-a", "PageSize": "0"})
	wantCode(t, "PageSize 0", err, moat.CodeInvalidParameter, "PageSize")
	if f.calls != 1 {
		t.Errorf("service calls %d, want 1 (bad queries are refused before it)", f.calls)
	}
	f.err = moat.InvalidParamValue("Protocol", "sctp", "it must be tcp or udp")
	_, _, err = invoke(t, acs.Handle(h.DescribeNetworkRules), map[string]string{"InstanceId": "ddoscoo-cn-a", "ForwardProtocol": "sctp", "PageNumber": "1", "PageSize": "10"})
	wantCode(t, "ForwardProtocol", err, moat.CodeInvalidParameter, "parameter ForwardProtocol value")
	_, _, err = invoke(t, acs.Handle(h.DescribePort), map[string]string{"InstanceId": "ddoscoo-cn-a", "FrontendProtocol": "sctp"})
	wantCode(t, "FrontendProtocol", err, moat.CodeInvalidParameter, "parameter FrontendProtocol value")
}

// TestNetworkRulesJSON pins the NetworkRules and NetworkRule JSON
// parameters: their items reach the domain as they are, their instances
// are what RAM judges, and a value that is not the documented array is
// InvalidParameter.JSONError naming the parameter and the shape.
func TestNetworkRulesJSON(t *testing.T) {
	f := &portFake{}
	h := &handlers{svc: f}
	rules := `[{"InstanceId":"ddoscoo-cn-a","Protocol":"tcp","FrontendPort":80,"BackendPort":8080,"RealServers":["192.0.2.1"]},` +
		`{"InstanceId":"ddoscoo-cn-b","Protocol":"udp","FrontendPort":53,"BackendPort":53,"RealServers":["192.0.2.2","192.0.2.3"]},` +
		`{"InstanceId":"ddoscoo-cn-a","Protocol":"udp","FrontendPort":80,"BackendPort":80,"RealServers":["192.0.2.1"]}]`
	_, call, err := invoke(t, acs.Handle(h.CreateNetworkRules), map[string]string{"NetworkRules": rules})
	if err != nil {
		t.Fatalf("CreateNetworkRules: %v", err)
	}
	want := []moat.PortRule{
		{PortKey: moat.PortKey{InstanceID: "ddoscoo-cn-a", Protocol: "tcp", FrontendPort: 80}, BackendPort: 8080, RealServers: []string{"192.0.2.1"}},
		{PortKey: moat.PortKey{InstanceID: "ddoscoo-cn-b", Protocol: "udp", FrontendPort: 53}, BackendPort: 53, RealServers: []string{"192.0.2.2", "192.0.2.3"}},
		{PortKey: moat.PortKey{InstanceID: "ddoscoo-cn-a", Protocol: "udp", FrontendPort: 80}, BackendPort: 80, RealServers: []string{"192.0.2.1"}},
	}
	if !reflect.DeepEqual(f.created, want) || f.requestID != "REQ-1" {
		t.Errorf("created %+v (%q)", f.created, f.requestID)
	}
	if !slices.Equal(call.Resources, []string{"ddoscoo-cn-a", "ddoscoo-cn-b"}) {
		t.Errorf("resources %v, want each instance once", call.Resources)
	}

	if _, _, err := invoke(t, acs.Handle(h.ConfigNetworkRules), map[string]string{"NetworkRules": `[{"InstanceId":"ddoscoo-cn-a","Protocol":"tcp","FrontendPort":80,"RealServers":["192.0.2.7"]}]`}); err != nil {
		t.Fatalf("ConfigNetworkRules: %v", err)
	}
	if want := []moat.PortChange{{PortKey: moat.PortKey{InstanceID: "ddoscoo-cn-a", Protocol: "tcp", FrontendPort: 80}, RealServers: []string{"192.0.2.7"}}}; !reflect.DeepEqual(f.changed, want) {
		t.Errorf("changed %+v", f.changed)
	}
	if _, _, err := invoke(t, acs.Handle(h.DeleteNetworkRule), map[string]string{"NetworkRule": `[{"InstanceId":"ddoscoo-cn-a","Protocol":"tcp","FrontendPort":80}]`}); err != nil {
		t.Fatalf("DeleteNetworkRule: %v", err)
	}
	if want := []moat.PortKey{{InstanceID: "ddoscoo-cn-a", Protocol: "tcp", FrontendPort: 80}}; !reflect.DeepEqual(f.deleted, want) {
		t.Errorf("deleted %+v", f.deleted)
	}

	f.calls = 0
	big := "[" + strings.Repeat(`{"InstanceId":"ddoscoo-cn-a"},`, maxRuleBatch) + `{}]`
	for _, c := range []struct{ value, inMessage string }{
		{`not json`, `NetworkRules must be a JSON array of {"InstanceId","Protocol","FrontendPort","BackendPort","RealServers"}`},
		{`{"InstanceId":"ddoscoo-cn-a"}`, "must be a JSON array"},
		{`null`, "must be a JSON array"},
		{`[1]`, "item 1 is not an object"},
		{`[{"InstanceId":"ddoscoo-cn-a"}, null]`, "item 2 is not an object"},
		{`[{"InstanceId":"ddoscoo-cn-a","FrontendPort":"80"}]`, "item 1's FrontendPort is a JSON string, where an integer is expected"},
		{`[{"InstanceId":"ddoscoo-cn-a","FrontendPort":80.5}]`, "item 1's FrontendPort is a JSON number 80.5, where an integer is expected"},
		{`[{"InstanceId":"ddoscoo-cn-a","RealServers":"192.0.2.1"}]`, "item 1's RealServers is a JSON string, where an array is expected"},
		{`[{"InstanceId":"ddoscoo-cn-a","RealServers":[1]}]`, "item 1's RealServers is a JSON number, where a string is expected"},
		{`[{"InstanceId":7}]`, "item 1's InstanceId is a JSON number, where a string is expected"},
		{`[{"InstanceId":"ddoscoo-cn-a","FrontendPort":99999999999999999999}]`, "item 1's FrontendPort"},
		{big, fmt.Sprintf("NetworkRules holds %d rules; one call takes at most %d", maxRuleBatch+1, maxRuleBatch)},
	} {
		_, _, err := invoke(t, acs.Handle(h.CreateNetworkRules), map[string]string{"NetworkRules": c.value})
		wantCode(t, "NetworkRules "+clipTest(c.value), err, moat.CodeJSONError, c.inMessage)
	}
	_, _, err = invoke(t, acs.Handle(h.DeleteNetworkRule), map[string]string{"NetworkRule": `[{"FrontendPort":[80]}]`})
	wantCode(t, "NetworkRule", err, moat.CodeJSONError, `NetworkRule must be a JSON array of {"InstanceId","Protocol","FrontendPort"}: item 1's FrontendPort is a JSON array`)
	if f.calls != 0 {
		t.Errorf("the service was called %d times for bad JSON", f.calls)
	}
}

func clipTest(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// TestRuleInstancesLenient pins what RAM judges for a JSON parameter that
// does not parse, or parses in part: the instances it can read, each once,
// and nothing for a value that is not an array.
func TestRuleInstancesLenient(t *testing.T) {
	for _, c := range []struct {
		raw  string
		want []string
	}{
		{`garbage`, nil},
		{`{"InstanceId":"ddoscoo-cn-a"}`, nil},
		{`[{"InstanceId":"ddoscoo-cn-a"},{"InstanceId":5},7,{"InstanceId":"ddoscoo-cn-b"},{"InstanceId":"ddoscoo-cn-a"},{}]`, []string{"ddoscoo-cn-a", "ddoscoo-cn-b"}},
		{"[" + strings.Repeat(`{"InstanceId":"x"},`, maxRuleBatch) + `{}]`, nil},
	} {
		if got := ruleInstances(c.raw); !slices.Equal(got, c.want) {
			t.Errorf("ruleInstances(%s) = %v, want %v", clipTest(c.raw), got, c.want)
		}
	}
}

// TestRuleAttributesHandlers pins the protection settings calls: Config is
// a partial JSON object that reaches the domain as a patch of exactly the
// fields given, and the settings come back as an object with every field.
func TestRuleAttributesHandlers(t *testing.T) {
	f := &portFake{}
	h := &handlers{svc: f}
	a := acs.Handle(h.ModifyNetworkRuleAttribute)
	params := map[string]string{"InstanceId": "ddoscoo-cn-a", "ForwardProtocol": "tcp", "FrontendPort": "80",
		"Config": `{"PersistenceTimeout":120,"Sla":{"CpsEnable":1},"Slimit":{"Bps":2048,"CpsMode":2},"PayloadLen":{"Max":1500}}`}
	if _, _, err := invoke(t, a, params); err != nil {
		t.Fatalf("ModifyNetworkRuleAttribute: %v", err)
	}
	if want := (moat.PortKey{InstanceID: "ddoscoo-cn-a", Protocol: "tcp", FrontendPort: 80}); f.key != want || f.requestID != "REQ-1" {
		t.Errorf("key %+v %q", f.key, f.requestID)
	}
	p := f.patch
	if p.PersistenceTimeout == nil || *p.PersistenceTimeout != 120 || p.Synproxy != nil || p.NodataConn != nil ||
		p.Sla == nil || p.Sla.CpsEnable == nil || *p.Sla.CpsEnable != 1 || p.Sla.Cps != nil || p.Sla.Maxconn != nil || p.Sla.MaxconnEnable != nil ||
		p.Slimit == nil || p.Slimit.Bps == nil || *p.Slimit.Bps != 2048 || p.Slimit.CpsMode == nil || *p.Slimit.CpsMode != 2 || p.Slimit.Cps != nil || p.Slimit.Pps != nil ||
		p.PayloadLen == nil || p.PayloadLen.Max == nil || *p.PayloadLen.Max != 1500 || p.PayloadLen.Min != nil {
		t.Errorf("patch %s", patchString(p))
	}
	if _, _, err := invoke(t, a, maps(params, "Config", `{"Synproxy":"on"}`)); err != nil || f.patch.Synproxy == nil || *f.patch.Synproxy != "on" || f.patch.Sla != nil || f.patch.PersistenceTimeout != nil {
		t.Errorf("Synproxy alone: %v %s", err, patchString(f.patch))
	}

	f.calls = 0
	for _, c := range []struct{ value, inMessage string }{
		{`[]`, "Config must be a JSON object with some of {\"PersistenceTimeout\""},
		{`nope`, "Config must be a JSON object"},
		{`{"PersistenceTimeout":"120"}`, "Config.PersistenceTimeout is a JSON string, where an integer is expected"},
		{`{"Sla":{"Cps":"100"}}`, "Config.Sla.Cps is a JSON string, where an integer is expected"},
		{`{"Sla":[1]}`, "Config.Sla is a JSON array, where an object is expected"},
		{`{"Synproxy":true}`, "Config.Synproxy is a JSON bool, where a string is expected"},
		{`{"Slimit":{"Pps":1e30}}`, "Config.Slimit.Pps"},
	} {
		_, _, err := invoke(t, a, maps(params, "Config", c.value))
		wantCode(t, "Config "+c.value, err, moat.CodeJSONError, c.inMessage)
	}
	_, _, err := invoke(t, a, maps(params, "FrontendPort", "x"))
	wantCode(t, "FrontendPort x", err, moat.CodeInvalidParameter, "FrontendPort")
	if f.calls != 0 {
		t.Errorf("the service was called %d times for bad input", f.calls)
	}
	f.err = moat.InvalidParamValue("Config.Sla.Cps", "5", "it must be from 100 to 100000")
	_, _, err = invoke(t, a, params)
	wantCode(t, "domain range", err, moat.CodeInvalidParameter, `parameter Config.Sla.Cps value "5"`)
	f.err = moat.MissingParam("Protocol")
	_, _, err = invoke(t, a, params)
	wantCode(t, "domain protocol", err, "MissingForwardProtocol", "ForwardProtocol")

	f.err = nil
	cfg := moat.DefaultRuleConfig()
	cfg.PersistenceTimeout = 120
	f.rules = []moat.PortRule{{PortKey: moat.PortKey{InstanceID: "ddoscoo-cn-a", Protocol: "tcp", FrontendPort: 80}, Config: cfg}}
	body, call, err := invoke(t, acs.Handle(h.DescribeNetworkRuleAttributes), map[string]string{"NetworkRules": `[{"InstanceId":"ddoscoo-cn-a","Protocol":"tcp","FrontendPort":80},{"InstanceId":"ddoscoo-cn-z","Protocol":"udp","FrontendPort":1}]`})
	if err != nil {
		t.Fatalf("DescribeNetworkRuleAttributes: %v", err)
	}
	want := `{"RequestId":"","NetworkRuleAttributes":[{"InstanceId":"ddoscoo-cn-a","Protocol":"tcp","FrontendPort":80,"Config":{"PersistenceTimeout":120,"Synproxy":"off","NodataConn":"off",` +
		`"Sla":{"Cps":100000,"Maxconn":1000000,"CpsEnable":0,"MaxconnEnable":0},"Slimit":{"Cps":0,"Maxconn":0,"Bps":0,"Pps":0,"CpsEnable":0,"MaxconnEnable":0,"CpsMode":1},` +
		`"PayloadLen":{"Min":0,"Max":6000},"Cc":{"Sblack":[]}}}]}`
	if body != want {
		t.Errorf("body\n%s\nwant\n%s", body, want)
	}
	if wantKeys := []moat.PortKey{{InstanceID: "ddoscoo-cn-a", Protocol: "tcp", FrontendPort: 80}, {InstanceID: "ddoscoo-cn-z", Protocol: "udp", FrontendPort: 1}}; !reflect.DeepEqual(f.keys, wantKeys) {
		t.Errorf("keys %+v", f.keys)
	}
	if !slices.Equal(call.Resources, []string{"ddoscoo-cn-a", "ddoscoo-cn-z"}) {
		t.Errorf("resources %v", call.Resources)
	}
	_, _, err = invoke(t, acs.Handle(h.DescribeNetworkRuleAttributes), map[string]string{"NetworkRules": `[{"FrontendPort":"80"}]`})
	wantCode(t, "attributes JSON", err, moat.CodeJSONError, `NetworkRules must be a JSON array of {"InstanceId","Protocol","FrontendPort"}`)
}

func patchString(p moat.RuleConfigPatch) string {
	b, _ := json.Marshal(p)
	return string(b)
}

// TestHealthCheckHandlers pins the health check calls: the HealthCheck
// JSON reaches the domain field for field, the list and status answers
// have the client's shapes.
func TestHealthCheckHandlers(t *testing.T) {
	f := &portFake{}
	h := &handlers{svc: f}
	a := acs.Handle(h.ModifyHealthCheckConfig)
	params := map[string]string{"InstanceId": "ddoscoo-cn-a", "ForwardProtocol": "tcp", "FrontendPort": "80",
		"HealthCheck": `{"Type":"http","Domain":"www.example.com","Uri":"/health","Port":8080,"Interval":10,"Timeout":5,"Up":2,"Down":4}`}
	if _, _, err := invoke(t, a, params); err != nil {
		t.Fatalf("ModifyHealthCheckConfig: %v", err)
	}
	if want := (moat.HealthCheck{Type: "http", Domain: "www.example.com", URI: "/health", Port: 8080, Interval: 10, Timeout: 5, Up: 2, Down: 4}); f.health != want || f.requestID != "REQ-1" {
		t.Errorf("health %+v", f.health)
	}
	if _, _, err := invoke(t, a, maps(params, "HealthCheck", `{}`)); err != nil || f.health != (moat.HealthCheck{}) {
		t.Errorf("{} (off): %v %+v", err, f.health)
	}
	f.calls = 0
	for _, c := range []struct{ value, inMessage string }{
		{`"tcp"`, `HealthCheck must be a JSON object {"Type","Domain","Uri","Port","Interval","Timeout","Up","Down"}`},
		{`{"Type":"tcp","Interval":"5"}`, "HealthCheck.Interval is a JSON string, where an integer is expected"},
		{`{"Type":["tcp"]}`, "HealthCheck.Type is a JSON array, where a string is expected"},
		{`{"Type":"tcp"`, "HealthCheck must be a JSON object"},
	} {
		_, _, err := invoke(t, a, maps(params, "HealthCheck", c.value))
		wantCode(t, "HealthCheck "+c.value, err, moat.CodeJSONError, c.inMessage)
	}
	if f.calls != 0 {
		t.Errorf("the service was called %d times for bad JSON", f.calls)
	}
	f.err = moat.InvalidParamValue("Protocol", "x", "it must be tcp or udp")
	_, _, err := invoke(t, a, params)
	wantCode(t, "domain protocol", err, moat.CodeInvalidParameter, "parameter ForwardProtocol value")

	f.err = nil
	f.rules = []moat.PortRule{
		{PortKey: moat.PortKey{InstanceID: "ddoscoo-cn-a", Protocol: "tcp", FrontendPort: 80}, HealthCheck: moat.HealthCheck{Type: "tcp", Interval: 5, Timeout: 3, Up: 3, Down: 3}},
		{PortKey: moat.PortKey{InstanceID: "ddoscoo-cn-a", Protocol: "udp", FrontendPort: 53}},
	}
	keys := `[{"InstanceId":"ddoscoo-cn-a","Protocol":"tcp","FrontendPort":80},{"InstanceId":"ddoscoo-cn-a","Protocol":"udp","FrontendPort":53}]`
	body, _, err := invoke(t, acs.Handle(h.DescribeHealthCheckList), map[string]string{"NetworkRules": keys})
	if err != nil {
		t.Fatalf("DescribeHealthCheckList: %v", err)
	}
	want := `{"RequestId":"","HealthCheckList":[` +
		`{"InstanceId":"ddoscoo-cn-a","Protocol":"tcp","FrontendPort":80,"HealthCheck":{"Type":"tcp","Domain":"","Uri":"","Port":0,"Interval":5,"Timeout":3,"Up":3,"Down":3}},` +
		`{"InstanceId":"ddoscoo-cn-a","Protocol":"udp","FrontendPort":53,"HealthCheck":{"Type":"","Domain":"","Uri":"","Port":0,"Interval":0,"Timeout":0,"Up":0,"Down":0}}]}`
	if body != want {
		t.Errorf("list body\n%s\nwant\n%s", body, want)
	}

	f.statuses = []moat.HealthStatus{{PortKey: moat.PortKey{InstanceID: "ddoscoo-cn-a", Protocol: "tcp", FrontendPort: 80}, Status: "abnormal",
		RealServers: []moat.OriginStatus{{Address: "192.0.2.1", Status: "normal"}, {Address: "192.0.2.2", Status: "abnormal"}}}}
	body, _, err = invoke(t, acs.Handle(h.DescribeHealthCheckStatus), map[string]string{"NetworkRules": keys})
	if err != nil {
		t.Fatalf("DescribeHealthCheckStatus: %v", err)
	}
	want = `{"RequestId":"","HealthCheckStatus":[{"InstanceId":"ddoscoo-cn-a","Protocol":"tcp","FrontendPort":80,"Status":"abnormal",` +
		`"RealServerStatusList":[{"Address":"192.0.2.1","Status":"normal"},{"Address":"192.0.2.2","Status":"abnormal"}]}]}`
	if body != want {
		t.Errorf("status body\n%s\nwant\n%s", body, want)
	}
	if len(f.keys) != 2 {
		t.Errorf("keys %+v", f.keys)
	}
}

// TestInstanceStatisticsCountsRules pins DescribeInstanceStatistics' usage
// fields: the domain's counts of each instance, SiteUsage equal to
// DomainUsage, 0 for an instance without rules.
func TestInstanceStatisticsCountsRules(t *testing.T) {
	f := &portFake{
		views: []moat.InstanceView{{Instance: moat.Instance{ID: "ddoscoo-cn-a", Region: moat.RegionMainland}}, {Instance: moat.Instance{ID: "ddoscoo-cn-b", Region: moat.RegionMainland}}},
		usage: map[string]moat.RuleCount{"ddoscoo-cn-a": {Ports: 3, Domains: 2, Sites: 1}},
	}
	h := &handlers{svc: f}
	body, _, err := invoke(t, acs.Handle(h.DescribeInstanceStatistics), map[string]string{"InstanceIds.1": "ddoscoo-cn-a", "InstanceIds.2": "ddoscoo-cn-b"})
	if err != nil {
		t.Fatalf("DescribeInstanceStatistics: %v", err)
	}
	want := `{"RequestId":"","InstanceStatistics":[{"InstanceId":"ddoscoo-cn-a","PortUsage":3,"DomainUsage":2,"SiteUsage":1},{"InstanceId":"ddoscoo-cn-b","PortUsage":0,"DomainUsage":0,"SiteUsage":0}]}`
	if body != want {
		t.Errorf("body\n%s\nwant\n%s", body, want)
	}
	if !slices.Equal(f.usageOf, []string{"ddoscoo-cn-a", "ddoscoo-cn-b"}) {
		t.Errorf("usage asked of %v", f.usageOf)
	}
}

// TestPortHandlersNeverPanic drives every port rule action with odd
// values in each of its parameters; each must answer (an error or a
// response), never panic.
func TestPortHandlersNeverPanic(t *testing.T) {
	f := &portFake{err: moat.Errorf(moat.CodeNetworkRuleNotExist, "no")}
	h := &handlers{svc: f}
	actions := map[string]acs.Action{
		"CreatePort": acs.Handle(h.CreatePort), "ModifyPort": acs.Handle(h.ModifyPort), "DeletePort": acs.Handle(h.DeletePort),
		"DescribePort": acs.Handle(h.DescribePort), "CreateNetworkRules": acs.Handle(h.CreateNetworkRules),
		"ConfigNetworkRules": acs.Handle(h.ConfigNetworkRules), "DeleteNetworkRule": acs.Handle(h.DeleteNetworkRule),
		"DescribeNetworkRules": acs.Handle(h.DescribeNetworkRules), "DescribeNetworkRuleAttributes": acs.Handle(h.DescribeNetworkRuleAttributes),
		"ModifyNetworkRuleAttribute": acs.Handle(h.ModifyNetworkRuleAttribute), "DescribeHealthCheckList": acs.Handle(h.DescribeHealthCheckList),
		"ModifyHealthCheckConfig": acs.Handle(h.ModifyHealthCheckConfig), "DescribeHealthCheckStatus": acs.Handle(h.DescribeHealthCheckStatus),
	}
	names := []string{"InstanceId", "FrontendProtocol", "ForwardProtocol", "FrontendPort", "BackendPort", "RealServers.1", "PageNumber", "PageSize", "NetworkRules", "NetworkRule", "Config", "HealthCheck"}
	odd := []string{"", " ", "-1", "0", "65536", "9223372036854775808", "[", "[]", "{}", "null", "[null]", "[[]]", `[{"RealServers":null}]`, `{"Sla":null,"Slimit":{},"PayloadLen":{"Min":null}}`, "\x00", strings.Repeat("[", 5000)}
	base := map[string]string{"InstanceId": "ddoscoo-cn-a", "FrontendProtocol": "tcp", "ForwardProtocol": "tcp", "FrontendPort": "80", "BackendPort": "80",
		"RealServers.1": "192.0.2.1", "PageNumber": "1", "PageSize": "10", "NetworkRules": `[]`, "NetworkRule": `[]`, "Config": `{}`, "HealthCheck": `{}`}
	for an, a := range actions {
		for _, n := range names {
			for _, v := range odd {
				p := maps(base, n, "x")
				p[n] = v
				func() {
					defer func() {
						if r := recover(); r != nil {
							t.Errorf("%s with %s=%q panicked: %v", an, n, clipTest(v), r)
						}
					}()
					invoke(t, a, p)
				}()
			}
		}
	}
}
