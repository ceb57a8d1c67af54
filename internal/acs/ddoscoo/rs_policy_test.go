package ddoscoo

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"moat/internal/acs"
	"moat/internal/moat"
)

// policyCall is one origin-policy call a handler made of the service.
type policyCall struct {
	region  moat.Region
	domain  string
	mode    string
	weights []moat.OriginWeight
	only    []string
	reqID   string
}

// policyFake records the origin-policy calls and answers reads with
// view; any other method panics (nil embedded Service).
type policyFake struct {
	Service
	err   error
	calls []policyCall
	view  moat.WebPolicyView
}

func (f *policyFake) SetWebPolicy(_ context.Context, _ moat.Caller, r moat.Region, d, mode string, w []moat.OriginWeight, rid string) error {
	f.calls = append(f.calls, policyCall{region: r, domain: d, mode: mode, weights: w, reqID: rid})
	return f.err
}

func (f *policyFake) WebPolicy(_ context.Context, _ moat.Caller, r moat.Region, d string, only []string) (moat.WebPolicyView, error) {
	f.calls = append(f.calls, policyCall{region: r, domain: d, only: only})
	return f.view, f.err
}

func policyAction(f *policyFake, name string) acs.Action {
	h := &handlers{svc: f}
	return map[string]acs.Action{
		"ConfigL7RsPolicy":   acs.Handle(h.ConfigL7RsPolicy),
		"DescribeL7RsPolicy": acs.Handle(h.DescribeL7RsPolicy),
	}[name]
}

// TestConfigL7RsPolicyHandler pins the Policy JSON's conversion: the mode
// and each origin's weight (100 when the attribute leaves it out) passed
// through for the domain to check, the website judged as domain/<name>;
// a Policy that is not one JSON object, a field moat does not know, or an
// origin attribute it does not model is refused by name before the
// service is asked; the service's error comes back as it is.
func TestConfigL7RsPolicyHandler(t *testing.T) {
	f := &policyFake{}
	params := map[string]string{"Domain": "WWW.example.com", "Policy": `{"ProxyMode":"rr","Attributes":[{"RealServer":"192.0.2.1","Attribute":{"Weight":30}},{"RealServer":"192.0.2.2"},{"RealServer":"192.0.2.3","Attribute":{}}]}`}
	resp, call, err := webCall(t, policyAction(f, "ConfigL7RsPolicy"), params)
	if err != nil || resp == nil {
		t.Fatalf("ConfigL7RsPolicy: %v", err)
	}
	want := []policyCall{{region: moat.RegionMainland, domain: "WWW.example.com", mode: "rr", reqID: "REQ-1",
		weights: []moat.OriginWeight{{Origin: "192.0.2.1", Weight: 30}, {Origin: "192.0.2.2", Weight: 100}, {Origin: "192.0.2.3", Weight: 100}}}}
	if !reflect.DeepEqual(f.calls, want) {
		t.Errorf("service got %+v, want %+v", f.calls, want)
	}
	if !slices.Equal(call.Resources, []string{"domain/www.example.com"}) {
		t.Errorf("resources %v", call.Resources)
	}
	// A mode alone, and one the domain will judge, pass through as given.
	for _, mode := range []string{"least_time", "least_conn"} {
		f := &policyFake{}
		if _, _, err := webCall(t, policyAction(f, "ConfigL7RsPolicy"), withParams(params, "Policy", `{"ProxyMode":"`+mode+`"}`)); err != nil {
			t.Fatal(err)
		}
		if len(f.calls) != 1 || f.calls[0].mode != mode || len(f.calls[0].weights) != 0 {
			t.Errorf("mode %s: service got %+v", mode, f.calls)
		}
	}

	for _, c := range []struct {
		policy string
		code   moat.Code
		says   string
	}{
		{`rr`, moat.CodeJSONError, "Policy must be a JSON object"},
		{`[{"ProxyMode":"rr"}]`, moat.CodeJSONError, "Policy must be a JSON object"},
		{`{"ProxyMode":"rr"`, moat.CodeJSONError, "ends early"},
		{`{"ProxyMode" "rr"}`, moat.CodeJSONError, "malformed at byte"},
		{`{"ProxyMode":"rr"} {}`, moat.CodeJSONError, "one JSON object"},
		{`{"ProxyMode":1}`, moat.CodeJSONError, "ProxyMode is a JSON number"},
		{`{"ProxyMode":"rr","Retry":1}`, moat.CodeJSONError, `unknown field "Retry"`},
		{`{"Attributes":[]}`, "MissingPolicy.ProxyMode", "is mandatory"},
		{`{"ProxyMode":"rr","Attributes":[{"Attribute":{"Weight":5}}]}`, "MissingPolicy.Attributes.1.RealServer", "is mandatory"},
		{`{"ProxyMode":"rr","Attributes":[{"RealServer":"192.0.2.1","Attribute":{"Weight":"heavy"}}]}`, moat.CodeInvalidParameter, "Policy.Attributes.1.Attribute.Weight"},
		{`{"ProxyMode":"rr","Attributes":[{"RealServer":"192.0.2.1","Attribute":{"Weight":5,"ConnectTimeout":5}}]}`, moat.CodeInvalidParameter, "Policy.Attributes.1.Attribute.ConnectTimeout"},
		{`{"ProxyMode":"rr","Attributes":[{"RealServer":"192.0.2.1","Attribute":{"MaxFails":3}}]}`, moat.CodeInvalidParameter, "failure handling are fixed"},
		{`{"ProxyMode":"rr","Attributes":[{"RealServer":"192.0.2.1","Attribute":{"Backup":1}}]}`, moat.CodeInvalidParameter, "unknown origin attribute"},
	} {
		f := &policyFake{}
		_, _, err := webCall(t, policyAction(f, "ConfigL7RsPolicy"), withParams(params, "Policy", c.policy))
		wantCode(t, "Policy "+c.policy, err, c.code, c.says)
		if len(f.calls) != 0 {
			t.Errorf("Policy %s: the service was called: %+v", c.policy, f.calls)
		}
	}
	for _, c := range []struct {
		kv   []string
		code moat.Code
	}{{[]string{"Policy", "<absent>"}, "MissingPolicy"}, {[]string{"Domain", "<absent>"}, "MissingDomain"}} {
		f := &policyFake{}
		_, _, err := webCall(t, policyAction(f, "ConfigL7RsPolicy"), withParams(params, c.kv...))
		wantCode(t, strings.Join(c.kv, "="), err, c.code, "is mandatory")
	}

	fail := moat.Errorf(moat.CodeDomainNotExist, "The website %q does not exist.", "www.example.com")
	f = &policyFake{err: fail}
	if _, _, err := webCall(t, policyAction(f, "ConfigL7RsPolicy"), params); !errors.Is(err, fail) {
		t.Errorf("error %v, want the service's %v", err, fail)
	}
}

// TestDescribeL7RsPolicyHandler pins DescribeL7RsPolicy's answer: the
// mode, and each origin with its type and weight in the generated
// client's shape; RealServers passed on; the service's error as it is.
func TestDescribeL7RsPolicyHandler(t *testing.T) {
	f := &policyFake{view: moat.WebPolicyView{Mode: "rr", RsType: moat.RsTypeDomain,
		Origins: []moat.OriginWeight{{Origin: "a.origin.example", Weight: 100}, {Origin: "b.origin.example", Weight: 7}}}}
	params := map[string]string{"Domain": "www.example.com", "RealServers.1": "a.origin.example", "RealServers.2": "b.origin.example", "RegionId": "ap-southeast-1"}
	resp, call, err := webCall(t, policyAction(f, "DescribeL7RsPolicy"), params)
	if err != nil {
		t.Fatal(err)
	}
	want := []policyCall{{region: moat.RegionOverseas, domain: "www.example.com", only: []string{"a.origin.example", "b.origin.example"}}}
	if !reflect.DeepEqual(f.calls, want) {
		t.Errorf("service got %+v, want %+v", f.calls, want)
	}
	if !slices.Equal(call.Resources, []string{"domain/www.example.com"}) {
		t.Errorf("resources %v", call.Resources)
	}
	b, err := json.Marshal(resp)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		ProxyMode  string
		Attributes []map[string]any
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	wantAttrs := `[{"Attribute":{"Weight":100},"RealServer":"a.origin.example","RsType":1},{"Attribute":{"Weight":7},"RealServer":"b.origin.example","RsType":1}]`
	if attrs, _ := json.Marshal(got.Attributes); got.ProxyMode != "rr" || string(attrs) != wantAttrs {
		t.Errorf("answer %s, want ProxyMode rr and Attributes %s", b, wantAttrs)
	}

	fail := moat.Errorf(moat.CodeDomainNotExist, "The website %q does not exist.", "www.example.com")
	f = &policyFake{err: fail}
	if _, _, err := webCall(t, policyAction(f, "DescribeL7RsPolicy"), params); !errors.Is(err, fail) {
		t.Errorf("error %v, want the service's %v", err, fail)
	}
	_, _, err = webCall(t, policyAction(&policyFake{}, "DescribeL7RsPolicy"), map[string]string{})
	wantCode(t, "no Domain", err, "MissingDomain", "is mandatory")
}
