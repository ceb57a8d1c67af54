package ddoscoo

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"moat/internal/acs"
	"moat/internal/moat"
)

// webFake records the website calls a handler makes and answers them with
// what the test set; any other method panics (nil embedded Service).
type webFake struct {
	Service
	err error

	created, modified []moat.WebRule
	deleted           []string
	queries           []moat.WebQuery
	domainsOf         [][]string
	assoc             []moat.NewCert
	certDomains       []string
	requestIDs        []string
	regions           []moat.Region

	views   []moat.WebRuleView
	total   int64
	domains []string
	certs   []moat.CertView
}

func (f *webFake) CreateWebRule(_ context.Context, _ moat.Caller, r moat.Region, w moat.WebRule, rid string) error {
	f.created, f.regions, f.requestIDs = append(f.created, w), append(f.regions, r), append(f.requestIDs, rid)
	return f.err
}

func (f *webFake) ModifyWebRule(_ context.Context, _ moat.Caller, r moat.Region, w moat.WebRule, _ bool, rid string) error {
	f.modified, f.regions, f.requestIDs = append(f.modified, w), append(f.regions, r), append(f.requestIDs, rid)
	return f.err
}

func (f *webFake) DeleteWebRule(_ context.Context, _ moat.Caller, r moat.Region, d, rid string) error {
	f.deleted, f.regions, f.requestIDs = append(f.deleted, d), append(f.regions, r), append(f.requestIDs, rid)
	return f.err
}

func (f *webFake) WebRules(_ context.Context, _ moat.Caller, r moat.Region, q moat.WebQuery) ([]moat.WebRuleView, int64, error) {
	f.queries, f.regions = append(f.queries, q), append(f.regions, r)
	return f.views, f.total, f.err
}

func (f *webFake) Domains(_ context.Context, _ moat.Caller, r moat.Region, ids []string) ([]string, error) {
	f.domainsOf, f.regions = append(f.domainsOf, ids), append(f.regions, r)
	return f.domains, f.err
}

func (f *webFake) AssociateWebCert(_ context.Context, _ moat.Caller, r moat.Region, d string, nc moat.NewCert, rid string) error {
	f.assoc, f.certDomains, f.regions, f.requestIDs = append(f.assoc, nc), append(f.certDomains, d), append(f.regions, r), append(f.requestIDs, rid)
	return f.err
}

func (f *webFake) Certs(_ context.Context, _ moat.Caller, r moat.Region, d string) ([]moat.CertView, error) {
	f.certDomains, f.regions = append(f.certDomains, d), append(f.regions, r)
	return f.certs, f.err
}

// webCall runs action with params through acs.Handle's decoding, as the
// gateway does, and returns the call (with the resources RAM would judge).
func webCall(t *testing.T, a acs.Action, params map[string]string) (any, *acs.Call, error) {
	t.Helper()
	call := &acs.Call{RequestID: "REQ-1", Caller: moat.Caller{AccountID: "1000000000000001"}, Params: params}
	resp, err := a.Invoke(context.Background(), call)
	return resp, call, err
}

func withParams(base map[string]string, kv ...string) map[string]string {
	out := make(map[string]string, len(base)+len(kv)/2)
	for k, v := range base {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "<absent>" {
			delete(out, kv[i])
			continue
		}
		out[kv[i]] = kv[i+1]
	}
	return out
}

var webCreateParams = map[string]string{
	"RegionId":                  "cn-hangzhou",
	"Domain":                    "WWW.Example.com",
	"InstanceIds.1":             "ddoscoo-cn-aaa",
	"InstanceIds.2":             "ddoscoo-cn-bbb",
	"RealServers.1":             "203.0.113.10",
	"RsType":                    "0",
	"ProxyTypes.1.ProxyType":    "https",
	"ProxyTypes.1.ProxyPorts.1": "443",
	"ProxyTypes.1.ProxyPorts.2": "8443",
	"ProxyTypes.2.ProxyType":    "http",
	"ProxyTypes.2.ProxyPorts.1": "80",
	"HttpsExt":                  `{"Http2":1,"Http2https":0,"Https2http":1}`,
}

// TestCreateModifyDomainResourceHandlers pins the conversion of the
// website parameters (ProxyTypes.N.ProxyPorts.M, the HttpsExt JSON) to the
// domain's WebRule, the resources RAM judges (the domain as domain/<name>
// and the instances), and the RequestId passed for the events.
func TestCreateModifyDomainResourceHandlers(t *testing.T) {
	for _, name := range []string{"CreateDomainResource", "ModifyDomainResource"} {
		f := &webFake{}
		h := &handlers{svc: f}
		action := map[string]acs.Action{
			"CreateDomainResource": acs.Handle(h.CreateDomainResource),
			"ModifyDomainResource": acs.Handle(h.ModifyDomainResource),
		}[name]
		_, call, err := webCall(t, action, webCreateParams)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		want := moat.WebRule{
			Domain: "WWW.Example.com", InstanceIDs: []string{"ddoscoo-cn-aaa", "ddoscoo-cn-bbb"},
			RealServers: []string{"203.0.113.10"}, RsType: 0,
			ProxyTypes: []moat.ProxyType{{Type: "https", Ports: []int{443, 8443}}, {Type: "http", Ports: []int{80}}},
			HTTPSExt:   moat.HTTPSExt{Http2: 1, Https2http: 1},
		}
		got := append(f.created, f.modified...)
		if len(got) != 1 || !reflect.DeepEqual(got[0], want) {
			t.Fatalf("%s: service got %+v, want %+v", name, got, want)
		}
		if !slices.Equal(f.requestIDs, []string{"REQ-1"}) || !slices.Equal(f.regions, []moat.Region{moat.RegionMainland}) {
			t.Errorf("%s: request IDs %v regions %v", name, f.requestIDs, f.regions)
		}
		if wantRes := []string{"domain/www.example.com", "ddoscoo-cn-aaa", "ddoscoo-cn-bbb"}; !slices.Equal(call.Resources, wantRes) {
			t.Errorf("%s: resources %v, want %v", name, call.Resources, wantRes)
		}

		// HttpsExt absent is every option off.
		f.created, f.modified = nil, nil
		if _, _, err := webCall(t, action, withParams(webCreateParams, "HttpsExt", "<absent>")); err != nil {
			t.Fatalf("%s without HttpsExt: %v", name, err)
		}
		if got := append(f.created, f.modified...); len(got) != 1 || got[0].HTTPSExt != (moat.HTTPSExt{}) {
			t.Errorf("%s without HttpsExt: %+v", name, got)
		}

		// The service's error comes back as it is.
		f.err = moat.Errorf(moat.CodeDomainExist, "The website %q already exists.", "www.example.com")
		if _, _, err := webCall(t, action, webCreateParams); !errors.Is(err, f.err) {
			t.Errorf("%s: error %v, want the service's %v", name, err, f.err)
		}
		f.err = nil

		// Refused before the service is asked.
		f.created, f.modified = nil, nil
		bad := []struct {
			kv   []string
			code moat.Code
			msg  string
		}{
			{[]string{"HttpsExt", "{"}, moat.CodeJSONError, "HttpsExt must be a JSON object"},
			{[]string{"HttpsExt", "[1]"}, moat.CodeJSONError, "HttpsExt must be a JSON object"},
			{[]string{"HttpsExt", "null"}, moat.CodeJSONError, "HttpsExt must be a JSON object"},
			{[]string{"HttpsExt", `{"Http2":"1"}`}, moat.CodeJSONError, "HttpsExt must be a JSON object"},
			{[]string{"HttpsExt", `{"Http2":1.5}`}, moat.CodeJSONError, "HttpsExt must be a JSON object"},
			{[]string{"HttpsExt", `{"Http2":1}{}`}, moat.CodeJSONError, "HttpsExt must be a JSON object"},
			{[]string{"RsType", "<absent>"}, "MissingRsType", "RsType is mandatory"},
			{[]string{"RsType", "ip"}, moat.CodeInvalidParameter, "RsType"},
			{[]string{"Domain", "<absent>"}, "MissingDomain", "Domain is mandatory"},
			{[]string{"ProxyTypes.1.ProxyPorts.2", "https"}, moat.CodeInvalidParameter, "ProxyTypes.1.ProxyPorts.2"},
			{[]string{"ProxyTypes.1.ProxyPorts.1001", "1"}, moat.CodeInvalidParameter, "ProxyTypes.1.ProxyPorts"},
			{[]string{"InstanceIds.1", "<absent>", "InstanceIds.2", "<absent>"}, "MissingInstanceIds", "InstanceIds is mandatory"},
		}
		for _, b := range bad {
			_, _, err := webCall(t, action, withParams(webCreateParams, b.kv...))
			wantCode(t, name+" "+strings.Join(b.kv, "="), err, b.code, b.msg)
		}
		if n := len(f.created) + len(f.modified); n != 0 {
			t.Errorf("%s: the service was called %d times for refused calls", name, n)
		}
	}
}

// TestDeleteDomainResourceHandler pins the domain passed through and
// judged as domain/<name>.
func TestDeleteDomainResourceHandler(t *testing.T) {
	f := &webFake{}
	h := &handlers{svc: f}
	_, call, err := webCall(t, acs.Handle(h.DeleteDomainResource), map[string]string{"Domain": "a.example.com"})
	if err != nil || !slices.Equal(f.deleted, []string{"a.example.com"}) || !slices.Equal(f.requestIDs, []string{"REQ-1"}) {
		t.Fatalf("DeleteDomainResource: %v; deleted %v ids %v", err, f.deleted, f.requestIDs)
	}
	if !slices.Equal(call.Resources, []string{"domain/a.example.com"}) {
		t.Errorf("resources %v", call.Resources)
	}
	_, _, err = webCall(t, acs.Handle(h.DeleteDomainResource), map[string]string{})
	wantCode(t, "no Domain", err, "MissingDomain", "Domain is mandatory")
}

func testView() moat.WebRuleView {
	return moat.WebRuleView{
		WebRule: moat.WebRule{
			Domain: "www.example.com", Cname: "abc.aliyunddos1234.com", InstanceIDs: []string{"ddoscoo-cn-aaa"},
			RealServers: []string{"origin.example.net"}, RsType: 1,
			ProxyTypes: []moat.ProxyType{{Type: "http", Ports: []int{80, 8080}}, {Type: "https", Ports: []int{443}}},
			HTTPSExt:   moat.HTTPSExt{Http2https: 1},
		},
		Cert:       &moat.CertView{ID: 7, Name: "site", Region: moat.RegionMainland, DomainRelated: true},
		Protection: moat.DefaultWebProtection(),
	}
}

// TestDescribeDomainResourceHandler pins the query passed to the service
// (pattern, instances, page) and every field of the answer: ports as
// strings, RealServers as strings, HttpsExt as a JSON string, the fresh
// website's protection settings, and [] rather than null for empty lists.
func TestDescribeDomainResourceHandler(t *testing.T) {
	f := &webFake{views: []moat.WebRuleView{testView()}, total: 3}
	h := &handlers{svc: f}
	a := acs.Handle(h.DescribeDomainResource)
	resp, call, err := webCall(t, a, map[string]string{"Domain": "www.example.com", "QueryDomainPattern": "exact",
		"InstanceIds.1": "ddoscoo-cn-aaa", "PageNumber": "2", "PageSize": "5"})
	if err != nil {
		t.Fatal(err)
	}
	wantQ := moat.WebQuery{Domain: "www.example.com", Exact: true, InstanceIDs: []string{"ddoscoo-cn-aaa"}, PageNumber: 2, PageSize: 5}
	if len(f.queries) != 1 || !reflect.DeepEqual(f.queries[0], wantQ) {
		t.Errorf("query %+v, want %+v", f.queries, wantQ)
	}
	if want := []string{"ddoscoo-cn-aaa", "domain/www.example.com"}; !slices.Equal(call.Resources, want) {
		t.Errorf("exact query resources %v, want %v", call.Resources, want)
	}
	want := &DescribeDomainResourceResponse{TotalCount: 3, WebRules: []DomainResourceWebRule{{
		Domain: "www.example.com", Cname: "abc.aliyunddos1234.com", InstanceIds: []string{"ddoscoo-cn-aaa"},
		RealServers: []string{"origin.example.net"}, RsType: 1,
		ProxyTypes: []WebProxyType{{ProxyType: "http", ProxyPorts: []string{"80", "8080"}}, {ProxyType: "https", ProxyPorts: []string{"443"}}},
		HttpsExt:   `{"Http2":0,"Http2https":1,"Https2http":0}`, Http2HttpsEnable: true,
		CertName: "site", ProxyEnabled: true, PolicyMode: "ip_hash", CcEnabled: true, CcTemplate: "default",
		SslProtocols: "tls1.0", SslCiphers: "default", CustomCiphers: []string{}, BlackList: []string{}, WhiteList: []string{},
	}}}
	if !reflect.DeepEqual(resp, want) {
		t.Errorf("response\n got %+v\nwant %+v", resp, want)
	}
	b, err := json.Marshal(resp)
	if err != nil || !strings.Contains(string(b), `"BlackList":[]`) || !strings.Contains(string(b), `"ProxyPorts":["80","8080"]`) {
		t.Errorf("JSON %s, %v", b, err)
	}

	// Fuzzy (the default) names no website for RAM; an empty page is [].
	f.views, f.total, f.queries = nil, 0, nil
	resp, call, err = webCall(t, a, map[string]string{"Domain": "example"})
	if err != nil || len(call.Resources) != 0 || f.queries[0].Exact || f.queries[0].PageNumber != 0 {
		t.Fatalf("fuzzy: %v, resources %v, query %+v", err, call.Resources, f.queries)
	}
	if b, _ := json.Marshal(resp); !strings.Contains(string(b), `"WebRules":[]`) {
		t.Errorf("empty page JSON %s", b)
	}

	for _, c := range []struct {
		k, v string
		msg  string
	}{
		{"QueryDomainPattern", "prefix", `QueryDomainPattern value "prefix"`},
		{"PageSize", "0", "PageSize"},
		{"PageNumber", "-1", "PageNumber"},
		{"PageSize", "x", "PageSize"},
	} {
		_, _, err := webCall(t, a, map[string]string{c.k: c.v})
		wantCode(t, c.k+"="+c.v, err, moat.CodeInvalidParameter, c.msg)
	}
}

// TestDescribeWebRulesHandler pins DescribeWebRules' shape: origins as
// {RealServer, RsType} objects, the HTTPS options as booleans, the
// certificate's name and region; a Cname filter is refused.
func TestDescribeWebRulesHandler(t *testing.T) {
	f := &webFake{views: []moat.WebRuleView{testView()}, total: 1}
	h := &handlers{svc: f}
	a := acs.Handle(h.DescribeWebRules)
	resp, _, err := webCall(t, a, map[string]string{"RegionId": "ap-southeast-1", "InstanceIds.1": "ddoscoo-cn-aaa"})
	if err != nil {
		t.Fatal(err)
	}
	want := &DescribeWebRulesResponse{TotalCount: 1, WebRules: []WebRule{{
		Domain: "www.example.com", Cname: "abc.aliyunddos1234.com",
		RealServers:      []WebRealServer{{RealServer: "origin.example.net", RsType: 1}},
		ProxyTypes:       []WebProxyType{{ProxyType: "http", ProxyPorts: []string{"80", "8080"}}, {ProxyType: "https", ProxyPorts: []string{"443"}}},
		Http2HttpsEnable: true, CertName: "site", UserCertName: "site", CertRegion: "cn-hangzhou", Tls13CustomCiphers: []string{},
		ProxyEnabled: true, PolicyMode: "ip_hash", CcEnabled: true, CcTemplate: "default",
		SslProtocols: "tls1.0", SslCiphers: "default", CustomCiphers: []string{}, BlackList: []string{}, WhiteList: []string{},
	}}}
	if !reflect.DeepEqual(resp, want) {
		t.Errorf("response\n got %+v\nwant %+v", resp, want)
	}
	if !slices.Equal(f.regions, []moat.Region{moat.RegionOverseas}) {
		t.Errorf("regions %v", f.regions)
	}
	f.queries = nil
	_, _, err = webCall(t, a, map[string]string{"Cname": "abc.aliyunddos1234.com"})
	wantCode(t, "Cname", err, moat.CodeInvalidParameter, "Cname")
	if len(f.queries) != 0 {
		t.Errorf("the service was asked despite the Cname filter")
	}
}

// TestDescribeDomainsHandler pins the instance filter and [] for none.
func TestDescribeDomainsHandler(t *testing.T) {
	f := &webFake{}
	h := &handlers{svc: f}
	resp, call, err := webCall(t, acs.Handle(h.DescribeDomains), map[string]string{"InstanceIds.1": "ddoscoo-cn-aaa"})
	if err != nil || !reflect.DeepEqual(f.domainsOf, [][]string{{"ddoscoo-cn-aaa"}}) || !slices.Equal(call.Resources, []string{"ddoscoo-cn-aaa"}) {
		t.Fatalf("DescribeDomains: %v, service got %v, resources %v", err, f.domainsOf, call.Resources)
	}
	if b, _ := json.Marshal(resp); !strings.Contains(string(b), `"Domains":[]`) {
		t.Errorf("JSON %s", b)
	}
	f.domains = []string{"a.example.com", "b.example.com"}
	resp, _, _ = webCall(t, acs.Handle(h.DescribeDomains), map[string]string{})
	if got := resp.(*DescribeDomainsResponse).Domains; !slices.Equal(got, f.domains) {
		t.Errorf("Domains %v", got)
	}
}

// TestAssociateWebCertHandler pins how the certificate is named: CertId,
// CertIdentifier "<id>-<region>" (agreeing with CertId when both are
// given), else the upload's CertName, Cert and Key.
func TestAssociateWebCertHandler(t *testing.T) {
	base := map[string]string{"Domain": "www.example.com"}
	ok := []struct {
		kv   []string
		want moat.NewCert
	}{
		{[]string{"CertId", "42"}, moat.NewCert{ID: 42}},
		{[]string{"CertIdentifier", "42-cn-hangzhou"}, moat.NewCert{ID: 42}},
		{[]string{"CertIdentifier", "42-ap-southeast-1", "CertId", "42", "CertRegion", "ap-southeast-1"}, moat.NewCert{ID: 42}},
		{[]string{"CertName", "site", "Cert", "C", "Key", "K"}, moat.NewCert{Name: "site", CertPEM: "C", KeyPEM: "K"}},
		{nil, moat.NewCert{}},
	}
	for _, c := range ok {
		f := &webFake{}
		h := &handlers{svc: f}
		_, call, err := webCall(t, acs.Handle(h.AssociateWebCert), withParams(base, c.kv...))
		if err != nil || len(f.assoc) != 1 || f.assoc[0] != c.want || f.certDomains[0] != "www.example.com" || f.requestIDs[0] != "REQ-1" {
			t.Errorf("%v: %v; service got %+v for %v", c.kv, err, f.assoc, f.certDomains)
		}
		if !slices.Equal(call.Resources, []string{"domain/www.example.com"}) {
			t.Errorf("%v: resources %v", c.kv, call.Resources)
		}
	}
	bad := []struct {
		kv  []string
		msg string
	}{
		{[]string{"CertId", "0"}, "CertId"},
		{[]string{"CertId", "-3"}, "CertId"},
		{[]string{"CertId", "x"}, "CertId"},
		{[]string{"CertIdentifier", "42"}, "CertIdentifier"},
		{[]string{"CertIdentifier", "42-mars-1"}, "CertIdentifier"},
		{[]string{"CertIdentifier", "042-cn-hangzhou"}, "CertIdentifier"},
		{[]string{"CertIdentifier", "-cn-hangzhou"}, "CertIdentifier"},
		{[]string{"CertIdentifier", "99999999999999999999-cn-hangzhou"}, "CertIdentifier"},
		{[]string{"CertIdentifier", "41-cn-hangzhou", "CertId", "42"}, "another certificate"},
		{[]string{"CertId", "42", "CertRegion", "moon"}, "CertRegion"},
	}
	for _, c := range bad {
		f := &webFake{}
		h := &handlers{svc: f}
		_, _, err := webCall(t, acs.Handle(h.AssociateWebCert), withParams(base, c.kv...))
		wantCode(t, strings.Join(c.kv, "="), err, moat.CodeInvalidParameter, c.msg)
		if len(f.assoc) != 0 {
			t.Errorf("%v: the service was called", c.kv)
		}
	}
	f := &webFake{err: moat.Errorf(moat.CodeCertKeyNotMatch, "no")}
	h := &handlers{svc: f}
	if _, _, err := webCall(t, acs.Handle(h.AssociateWebCert), withParams(base, "CertId", "1")); !errors.Is(err, f.err) {
		t.Errorf("error %v, want the service's", err)
	}
	_, _, err := webCall(t, acs.Handle(h.AssociateWebCert), map[string]string{"CertId": "1"})
	wantCode(t, "no Domain", err, "MissingDomain", "Domain is mandatory")
}

// TestDescribeCertsHandler pins the certificate fields: dates as
// 2006-01-02 in UTC, CertIdentifier "<Id>-<region>".
func TestDescribeCertsHandler(t *testing.T) {
	nb := time.Date(2026, 1, 2, 23, 30, 0, 0, time.FixedZone("x", -3600))
	f := &webFake{certs: []moat.CertView{{ID: 9, Name: "site", Common: "www.example.com", Issuer: "Test CA",
		NotBefore: nb, NotAfter: time.Date(2027, 3, 4, 0, 0, 0, 0, time.UTC), Region: moat.RegionOverseas, DomainRelated: true}}}
	h := &handlers{svc: f}
	resp, call, err := webCall(t, acs.Handle(h.DescribeCerts), map[string]string{"Domain": "www.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	want := &DescribeCertsResponse{Certs: []CertItem{{Id: 9, Name: "site", Common: "www.example.com", Issuer: "Test CA",
		StartDate: "2026-01-03", EndDate: "2027-03-04", DomainRelated: true, CertIdentifier: "9-ap-southeast-1"}}}
	if !reflect.DeepEqual(resp, want) || !slices.Equal(f.certDomains, []string{"www.example.com"}) {
		t.Errorf("response %+v (service got %v), want %+v", resp, f.certDomains, want)
	}
	if !slices.Equal(call.Resources, []string{"domain/www.example.com"}) {
		t.Errorf("resources %v", call.Resources)
	}
	f.certs = nil
	resp, call, _ = webCall(t, acs.Handle(h.DescribeCerts), map[string]string{})
	if b, _ := json.Marshal(resp); !strings.Contains(string(b), `"Certs":[]`) || len(call.Resources) != 0 {
		t.Errorf("no certificates: %s, resources %v", b, call.Resources)
	}
}
