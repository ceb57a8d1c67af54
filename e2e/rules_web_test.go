package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	ddoscoov3 "github.com/alibabacloud-go/ddoscoo-20200101/v2/client"
	"github.com/alibabacloud-go/tea/tea"

	"moat/internal/admin"
)

// webSite is a website as a test creates it through the v3 client.
type webSite struct {
	domain    string
	instances []string
	origins   []string
	rsType    int32
	// proxies maps a proxy type to its ports.
	proxies  map[string][]int32
	httpsExt string
}

func (w webSite) createRequest() *ddoscoov3.CreateDomainResourceRequest {
	req := (&ddoscoov3.CreateDomainResourceRequest{}).SetDomain(w.domain).SetRsType(w.rsType).
		SetInstanceIds(tea.StringSlice(w.instances)).SetRealServers(tea.StringSlice(w.origins))
	for _, typ := range sortedKeys(w.proxies) {
		req.ProxyTypes = append(req.ProxyTypes, &ddoscoov3.CreateDomainResourceRequestProxyTypes{
			ProxyType: tea.String(typ), ProxyPorts: tea.Int32Slice(w.proxies[typ])})
	}
	if w.httpsExt != "" {
		req.SetHttpsExt(w.httpsExt)
	}
	return req
}

func (w webSite) modifyRequest() *ddoscoov3.ModifyDomainResourceRequest {
	req := (&ddoscoov3.ModifyDomainResourceRequest{}).SetDomain(w.domain).SetRsType(w.rsType).
		SetInstanceIds(tea.StringSlice(w.instances)).SetRealServers(tea.StringSlice(w.origins))
	for _, typ := range sortedKeys(w.proxies) {
		req.ProxyTypes = append(req.ProxyTypes, &ddoscoov3.ModifyDomainResourceRequestProxyTypes{
			ProxyType: tea.String(typ), ProxyPorts: tea.Int32Slice(w.proxies[typ])})
	}
	if w.httpsExt != "" {
		req.SetHttpsExt(w.httpsExt)
	}
	return req
}

func sortedKeys(m map[string][]int32) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func createSite(t testing.TB, c *ddoscoov3.Client, w webSite) string {
	t.Helper()
	resp, err := c.CreateDomainResource(w.createRequest())
	if err != nil {
		t.Fatalf("CreateDomainResource(%s): %v", w.domain, err)
	}
	wantRequestID(t, "CreateDomainResource", tea.StringValue(resp.Body.RequestId))
	return tea.StringValue(resp.Body.RequestId)
}

// describeSites runs DescribeDomainResource.
func describeSites(t testing.TB, c *ddoscoov3.Client, domain, pattern string, ids ...string) *ddoscoov3.DescribeDomainResourceResponseBody {
	t.Helper()
	req := &ddoscoov3.DescribeDomainResourceRequest{}
	if domain != "" {
		req.SetDomain(domain)
	}
	if pattern != "" {
		req.SetQueryDomainPattern(pattern)
	}
	if ids != nil {
		req.SetInstanceIds(tea.StringSlice(ids))
	}
	resp, err := c.DescribeDomainResource(req)
	if err != nil {
		t.Fatalf("DescribeDomainResource(%q, %q): %v", domain, pattern, err)
	}
	wantRequestID(t, "DescribeDomainResource", tea.StringValue(resp.Body.RequestId))
	return resp.Body
}

func siteDomains(body *ddoscoov3.DescribeDomainResourceResponseBody) []string {
	var out []string
	for _, r := range body.WebRules {
		out = append(out, tea.StringValue(r.Domain))
	}
	slices.Sort(out)
	return out
}

func describeDomains(t testing.TB, c *ddoscoov3.Client, ids ...string) []string {
	t.Helper()
	req := &ddoscoov3.DescribeDomainsRequest{}
	if ids != nil {
		req.SetInstanceIds(tea.StringSlice(ids))
	}
	resp, err := c.DescribeDomains(req)
	if err != nil {
		t.Fatalf("DescribeDomains(%v): %v", ids, err)
	}
	out := tea.StringSliceValue(resp.Body.Domains)
	if out == nil {
		t.Fatalf("DescribeDomains(%v): Domains absent, want a list", ids)
	}
	slices.Sort(out)
	return out
}

var cnameRE = regexp.MustCompile(`^[a-z0-9]{16}\.aliyunddos[0-9]{4}\.com$`)

// wantFreshSettings checks the protection settings every moat website
// shows (those of a fresh website on the real service).
func wantFreshSettings(t testing.TB, label string, r *ddoscoov3.DescribeDomainResourceResponseBodyWebRules) {
	t.Helper()
	if !tea.BoolValue(r.CcEnabled) || tea.BoolValue(r.CcRuleEnabled) || tea.StringValue(r.CcTemplate) != "default" ||
		tea.StringValue(r.PolicyMode) != "ip_hash" || !tea.BoolValue(r.ProxyEnabled) || r.PunishStatus == nil || tea.BoolValue(r.PunishStatus) ||
		r.PunishReason == nil || tea.Int32Value(r.PunishReason) != 0 || r.Ssl13Enabled == nil || tea.BoolValue(r.Ssl13Enabled) ||
		tea.StringValue(r.SslProtocols) != "tls1.0" || tea.StringValue(r.SslCiphers) != "default" ||
		r.CustomCiphers == nil || len(r.CustomCiphers) != 0 || r.BlackList == nil || len(r.BlackList) != 0 || r.WhiteList == nil || len(r.WhiteList) != 0 {
		t.Errorf("%s: protection settings %v, want a fresh website's", label, r)
	}
}

// TestWebRulesV3CreateDescribeModifyDelete pins the website calls through
// the generated v3 client: the exact shape DescribeDomainResource and
// DescribeWebRules answer (ports as strings, origins as strings or
// objects, HttpsExt as a JSON string, a CNAME derived from the domain and
// kept across changes), exact and fuzzy queries, DescribeDomains by
// instance, ModifyDomainResource replacing instances and origins, and the
// errors: duplicate domain, bad JSON, bad port, bad domain, unknown
// instance, unknown website.
func TestWebRulesV3CreateDescribeModifyDelete(t *testing.T) {
	s := StartServer(t)
	a := createSingle(t, s, admin.InstancesRequest{})
	b := createSingle(t, s, admin.InstancesRequest{})
	c := SDKv3(t, s, testKeyID, testKeySecret)

	www := webSite{domain: "www.example.com", instances: []string{a.InstanceId}, origins: []string{"203.0.113.10", "203.0.113.11"},
		proxies: map[string][]int32{"http": {8080, 80}, "https": {443}}, httpsExt: `{"Http2":1,"Http2https":0,"Https2http":0}`}
	rid := createSite(t, c, www)
	createSite(t, c, webSite{domain: "example.com", instances: []string{a.InstanceId}, origins: []string{"198.51.100.7"},
		proxies: map[string][]int32{"http": {80}}})

	if ev := s.Events(t, a.InstanceId, "rule_created"); len(ev) != 2 || ev[0].RequestId != rid {
		t.Errorf("rule_created events of %s: %+v, want two, the first with RequestId %s", a.InstanceId, ev, rid)
	}

	exact := describeSites(t, c, "www.example.com", "exact")
	if tea.Int64Value(exact.TotalCount) != 1 || len(exact.WebRules) != 1 {
		t.Fatalf("exact www.example.com: TotalCount %d, %d rules", tea.Int64Value(exact.TotalCount), len(exact.WebRules))
	}
	r := exact.WebRules[0]
	cname := tea.StringValue(r.Cname)
	if tea.StringValue(r.Domain) != "www.example.com" || !cnameRE.MatchString(cname) ||
		!slices.Equal(tea.StringSliceValue(r.InstanceIds), []string{a.InstanceId}) ||
		!slices.Equal(tea.StringSliceValue(r.RealServers), []string{"203.0.113.10", "203.0.113.11"}) || r.RsType == nil || tea.Int32Value(r.RsType) != 0 ||
		tea.StringValue(r.HttpsExt) != `{"Http2":1,"Http2https":0,"Https2http":0}` ||
		!tea.BoolValue(r.Http2Enable) || r.Http2HttpsEnable == nil || tea.BoolValue(r.Http2HttpsEnable) || tea.BoolValue(r.Https2HttpEnable) ||
		r.CertName == nil || tea.StringValue(r.CertName) != "" || len(r.ProxyTypes) != 2 ||
		tea.StringValue(r.ProxyTypes[0].ProxyType) != "http" || !slices.Equal(tea.StringSliceValue(r.ProxyTypes[0].ProxyPorts), []string{"80", "8080"}) ||
		tea.StringValue(r.ProxyTypes[1].ProxyType) != "https" || !slices.Equal(tea.StringSliceValue(r.ProxyTypes[1].ProxyPorts), []string{"443"}) {
		t.Errorf("www.example.com = %v", r)
	}
	wantFreshSettings(t, "www.example.com", r)

	if got := siteDomains(describeSites(t, c, "example.com", "exact")); !slices.Equal(got, []string{"example.com"}) {
		t.Errorf("exact example.com: %v", got)
	}
	fuzzy := describeSites(t, c, "example.com", "")
	if got := siteDomains(fuzzy); !slices.Equal(got, []string{"example.com", "www.example.com"}) || tea.Int64Value(fuzzy.TotalCount) != 2 {
		t.Errorf("fuzzy example.com: %v (TotalCount %d)", got, tea.Int64Value(fuzzy.TotalCount))
	}
	if got := siteDomains(describeSites(t, c, "WWW.", "fuzzy")); !slices.Equal(got, []string{"www.example.com"}) {
		t.Errorf("fuzzy WWW.: %v", got)
	}
	none := describeSites(t, c, "www.example", "exact")
	if none.WebRules == nil || len(none.WebRules) != 0 || tea.Int64Value(none.TotalCount) != 0 {
		t.Errorf("exact www.example: %v, want an empty list", none)
	}
	if got := siteDomains(describeSites(t, c, "", "", b.InstanceId)); len(got) != 0 {
		t.Errorf("websites of %s: %v, want none", b.InstanceId, got)
	}

	wr, err := c.DescribeWebRules((&ddoscoov3.DescribeWebRulesRequest{}).SetDomain("www.example.com").SetQueryDomainPattern("exact"))
	if err != nil {
		t.Fatalf("DescribeWebRules: %v", err)
	}
	if tea.Int64Value(wr.Body.TotalCount) != 1 || len(wr.Body.WebRules) != 1 {
		t.Fatalf("DescribeWebRules: %v", wr.Body)
	}
	w := wr.Body.WebRules[0]
	if tea.StringValue(w.Domain) != "www.example.com" || tea.StringValue(w.Cname) != cname || len(w.RealServers) != 2 ||
		tea.StringValue(w.RealServers[0].RealServer) != "203.0.113.10" || w.RealServers[0].RsType == nil || tea.Int32Value(w.RealServers[0].RsType) != 0 ||
		tea.StringValue(w.RealServers[1].RealServer) != "203.0.113.11" || !tea.BoolValue(w.Http2Enable) || len(w.ProxyTypes) != 2 ||
		!slices.Equal(tea.StringSliceValue(w.ProxyTypes[0].ProxyPorts), []string{"80", "8080"}) ||
		w.GmCert == nil || tea.StringValue(w.GmCert.CertId) != "" || w.OcspEnabled == nil || tea.BoolValue(w.OcspEnabled) ||
		tea.StringValue(w.PolicyMode) != "ip_hash" || !tea.BoolValue(w.CcEnabled) {
		t.Errorf("DescribeWebRules www.example.com = %v", w)
	}

	if got := describeDomains(t, c); !slices.Equal(got, []string{"example.com", "www.example.com"}) {
		t.Errorf("DescribeDomains: %v", got)
	}
	if got := describeDomains(t, c, b.InstanceId); len(got) != 0 {
		t.Errorf("DescribeDomains(%s): %v, want []", b.InstanceId, got)
	}

	// Modify: both instances, origins by name, no HttpsExt (kept as created).
	mod := webSite{domain: "www.example.com", instances: []string{a.InstanceId, b.InstanceId}, origins: []string{"origin.example.net"},
		rsType: 1, proxies: map[string][]int32{"https": {443, 8443}}}
	mresp, err := c.ModifyDomainResource(mod.modifyRequest())
	if err != nil {
		t.Fatalf("ModifyDomainResource: %v", err)
	}
	wantRequestID(t, "ModifyDomainResource", tea.StringValue(mresp.Body.RequestId))
	r = describeSites(t, c, "www.example.com", "exact").WebRules[0]
	if tea.StringValue(r.Cname) != cname || !slices.Equal(sortedStrings(tea.StringSliceValue(r.InstanceIds)...), sortedStrings(a.InstanceId, b.InstanceId)) ||
		!slices.Equal(tea.StringSliceValue(r.RealServers), []string{"origin.example.net"}) || tea.Int32Value(r.RsType) != 1 ||
		tea.StringValue(r.HttpsExt) != `{"Http2":1,"Http2https":0,"Https2http":0}` || !tea.BoolValue(r.Http2Enable) || len(r.ProxyTypes) != 1 ||
		tea.StringValue(r.ProxyTypes[0].ProxyType) != "https" || !slices.Equal(tea.StringSliceValue(r.ProxyTypes[0].ProxyPorts), []string{"443", "8443"}) {
		t.Errorf("after ModifyDomainResource: %v", r)
	}
	if got := describeDomains(t, c, b.InstanceId); !slices.Equal(got, []string{"www.example.com"}) {
		t.Errorf("DescribeDomains(%s) after modify: %v", b.InstanceId, got)
	}
	if ev := s.Events(t, b.InstanceId, "rule_created"); len(ev) != 1 || ev[0].RequestId != tea.StringValue(mresp.Body.RequestId) {
		t.Errorf("rule_created events of %s: %+v", b.InstanceId, ev)
	}

	// Errors.
	_, err = c.CreateDomainResource(www.createRequest())
	teaError(t, err, 400, "DomainExist")
	_, err = c.CreateDomainResource(webSite{domain: "WWW.EXAMPLE.COM", instances: []string{b.InstanceId}, origins: []string{"203.0.113.1"},
		proxies: map[string][]int32{"http": {81}}}.createRequest())
	teaError(t, err, 400, "DomainExist")
	bad := webSite{domain: "new.example.com", instances: []string{a.InstanceId}, origins: []string{"203.0.113.1"}, proxies: map[string][]int32{"http": {80}}}
	for _, c2 := range []struct {
		label  string
		mutate func(*webSite)
		status int
		code   string
	}{
		{"HttpsExt not JSON", func(w *webSite) { w.httpsExt = `{"Http2":` }, 400, "InvalidParameter.JSONError"},
		{"HttpsExt wrong type", func(w *webSite) { w.httpsExt = `{"Http2":"on"}` }, 400, "InvalidParameter.JSONError"},
		{"HttpsExt out of range", func(w *webSite) { w.httpsExt = `{"Http2":2}` }, 400, "InvalidParameter"},
		{"port 0", func(w *webSite) { w.proxies = map[string][]int32{"http": {0}} }, 400, "InvalidParameter"},
		{"port 65536", func(w *webSite) { w.proxies = map[string][]int32{"http": {65536}} }, 400, "InvalidParameter"},
		{"proxy type", func(w *webSite) { w.proxies = map[string][]int32{"ftp": {21}} }, 400, "InvalidParameter"},
		{"port clear and TLS", func(w *webSite) { w.proxies = map[string][]int32{"http": {8000}, "https": {8000}} }, 400, "InvalidWebRule"},
		{"bad domain", func(w *webSite) { w.domain = "bad_domain.example.com" }, 400, "InvalidDomain"},
		{"bad origin", func(w *webSite) { w.origins = []string{"300.1.1.1"} }, 400, "InvalidIp"},
		{"RsType", func(w *webSite) { w.rsType = 2 }, 400, "InvalidParameter"},
		{"unknown instance", func(w *webSite) { w.instances = []string{ghostID(a.InstanceId)} }, 404, "InstanceNotFound"},
	} {
		w := bad
		c2.mutate(&w)
		_, err := c.CreateDomainResource(w.createRequest())
		se := teaError(t, err, c2.status, c2.code)
		if tea.StringValue(se.Message) == "" {
			t.Errorf("%s: no message", c2.label)
		}
	}
	if got := describeDomains(t, c); !slices.Equal(got, []string{"example.com", "www.example.com"}) {
		t.Errorf("after refused creations: %v", got)
	}
	_, err = c.ModifyDomainResource(webSite{domain: "nothere.example.com", instances: []string{a.InstanceId}, origins: []string{"203.0.113.1"},
		proxies: map[string][]int32{"http": {80}}}.modifyRequest())
	teaError(t, err, 400, "DomainNotExist")
	_, err = c.DescribeDomainResource((&ddoscoov3.DescribeDomainResourceRequest{}).SetQueryDomainPattern("regex"))
	teaError(t, err, 400, "InvalidParameter")

	// Delete.
	dresp, err := c.DeleteDomainResource((&ddoscoov3.DeleteDomainResourceRequest{}).SetDomain("www.example.com"))
	if err != nil {
		t.Fatalf("DeleteDomainResource: %v", err)
	}
	wantRequestID(t, "DeleteDomainResource", tea.StringValue(dresp.Body.RequestId))
	if got := describeSites(t, c, "www.example.com", "exact"); len(got.WebRules) != 0 || tea.Int64Value(got.TotalCount) != 0 {
		t.Errorf("after delete: %v", got)
	}
	if got := describeDomains(t, c); !slices.Equal(got, []string{"example.com"}) {
		t.Errorf("DescribeDomains after delete: %v", got)
	}
	_, err = c.DeleteDomainResource((&ddoscoov3.DeleteDomainResourceRequest{}).SetDomain("www.example.com"))
	teaError(t, err, 400, "DomainNotExist")
	_, err = c.DeleteDomainResource(&ddoscoov3.DeleteDomainResourceRequest{})
	teaError(t, err, 400, "MissingDomain")

	// Added back, the website gets the same CNAME.
	createSite(t, c, www)
	if got := tea.StringValue(describeSites(t, c, "www.example.com", "exact").WebRules[0].Cname); got != cname {
		t.Errorf("CNAME after delete and add: %q, want %q", got, cname)
	}
}

// TestWebRulesV3DomainCountLimit pins the DomainCount limit: an instance
// (DomainCount 50) takes 50 websites, the 51st is ExceedWebRuleLimit, and
// deleting one makes room again.
func TestWebRulesV3DomainCountLimit(t *testing.T) {
	s := StartServer(t)
	a := createSingle(t, s, admin.InstancesRequest{})
	c := SDKv3(t, s, testKeyID, testKeySecret)
	site := func(i int) webSite {
		return webSite{domain: fmt.Sprintf("site%02d.example.com", i), instances: []string{a.InstanceId},
			origins: []string{"203.0.113.5"}, proxies: map[string][]int32{"http": {80}}}
	}
	for i := 1; i <= 50; i++ {
		createSite(t, c, site(i))
	}
	_, err := c.CreateDomainResource(site(51).createRequest())
	teaError(t, err, 400, "ExceedWebRuleLimit")
	if got := describeDomains(t, c, a.InstanceId); len(got) != 50 {
		t.Fatalf("DescribeDomains: %d websites, want 50", len(got))
	}
	page := describeSites(t, c, "site", "", a.InstanceId)
	if tea.Int64Value(page.TotalCount) != 50 || len(page.WebRules) != 10 {
		t.Errorf("DescribeDomainResource default page: TotalCount %d, %d rules; want 50, 10", tea.Int64Value(page.TotalCount), len(page.WebRules))
	}
	if _, err := c.DeleteDomainResource((&ddoscoov3.DeleteDomainResourceRequest{}).SetDomain("site07.example.com")); err != nil {
		t.Fatalf("DeleteDomainResource: %v", err)
	}
	createSite(t, c, site(51))
	_, err = c.CreateDomainResource(site(52).createRequest())
	teaError(t, err, 400, "ExceedWebRuleLimit")
}

// selfSigned returns a PEM certificate for names (the first is its common
// name) and its PEM key, made in the test.
func selfSigned(t testing.TB, names ...string) (certPEM, keyPEM string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: names[0], Organization: []string{"moat e2e"}},
		DNSNames:     names,
		NotBefore:    time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC),
		NotAfter:     time.Date(2036, 1, 2, 0, 0, 0, 0, time.UTC),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}))
}

func associate(c *ddoscoov3.Client, domain, name, cert, key string) error {
	_, err := c.AssociateWebCert((&ddoscoov3.AssociateWebCertRequest{}).SetDomain(domain).SetCertName(name).SetCert(cert).SetKey(key))
	return err
}

func describeCerts(t testing.TB, c *ddoscoov3.Client, domain string) []*ddoscoov3.DescribeCertsResponseBodyCerts {
	t.Helper()
	req := &ddoscoov3.DescribeCertsRequest{}
	if domain != "" {
		req.SetDomain(domain)
	}
	resp, err := c.DescribeCerts(req)
	if err != nil {
		t.Fatalf("DescribeCerts(%q): %v", domain, err)
	}
	if resp.Body.Certs == nil {
		t.Fatalf("DescribeCerts(%q): Certs absent", domain)
	}
	return resp.Body.Certs
}

// TestWebCertsV3 pins AssociateWebCert and DescribeCerts with a real
// certificate made in the test: an upload binds it (DescribeCerts'
// fields, DomainRelated, the website's CertName), CertId binds it again,
// and the refusals: key of another certificate, not PEM, a certificate
// for other names, a name taken by another certificate, an unknown
// CertId, an unknown website.
func TestWebCertsV3(t *testing.T) {
	s := StartServer(t)
	a := createSingle(t, s, admin.InstancesRequest{})
	c := SDKv3(t, s, testKeyID, testKeySecret)
	createSite(t, c, webSite{domain: "www.example.com", instances: []string{a.InstanceId}, origins: []string{"203.0.113.10"},
		proxies: map[string][]int32{"https": {443}}})
	createSite(t, c, webSite{domain: "shop.example.com", instances: []string{a.InstanceId}, origins: []string{"203.0.113.10"},
		proxies: map[string][]int32{"https": {443}}})

	cert, key := selfSigned(t, "www.example.com")
	resp, err := c.AssociateWebCert((&ddoscoov3.AssociateWebCertRequest{}).SetDomain("www.example.com").SetCertName("www-cert").SetCert(cert).SetKey(key))
	if err != nil {
		t.Fatalf("AssociateWebCert upload: %v", err)
	}
	wantRequestID(t, "AssociateWebCert", tea.StringValue(resp.Body.RequestId))

	certs := describeCerts(t, c, "www.example.com")
	if len(certs) != 1 {
		t.Fatalf("DescribeCerts: %v, want one", certs)
	}
	ci := certs[0]
	id := tea.Int32Value(ci.Id)
	if id < 1 || tea.StringValue(ci.Name) != "www-cert" || tea.StringValue(ci.Common) != "www.example.com" ||
		tea.StringValue(ci.Issuer) != "www.example.com" || tea.StringValue(ci.StartDate) != "2026-01-02" ||
		tea.StringValue(ci.EndDate) != "2036-01-02" || !tea.BoolValue(ci.DomainRelated) {
		t.Errorf("DescribeCerts(www.example.com) = %v", ci)
	}
	if other := describeCerts(t, c, "shop.example.com"); len(other) != 1 || other[0].DomainRelated == nil || tea.BoolValue(other[0].DomainRelated) {
		t.Errorf("DescribeCerts(shop.example.com) = %v, want the certificate not related", other)
	}
	if r := describeSites(t, c, "www.example.com", "exact").WebRules[0]; tea.StringValue(r.CertName) != "www-cert" {
		t.Errorf("DescribeDomainResource CertName = %q", tea.StringValue(r.CertName))
	}
	wr, err := c.DescribeWebRules((&ddoscoov3.DescribeWebRulesRequest{}).SetDomain("www.example.com").SetQueryDomainPattern("exact"))
	if err != nil || len(wr.Body.WebRules) != 1 || tea.StringValue(wr.Body.WebRules[0].CertName) != "www-cert" {
		t.Errorf("DescribeWebRules after upload: %v, %v", wr, err)
	}
	// The same upload again reuses the certificate.
	if err := associate(c, "www.example.com", "www-cert", cert, key); err != nil {
		t.Errorf("same upload again: %v", err)
	}
	if all := describeCerts(t, c, ""); len(all) != 1 || tea.Int32Value(all[0].Id) != id || tea.BoolValue(all[0].DomainRelated) {
		t.Errorf("DescribeCerts without Domain = %v, want the one certificate, not related", all)
	}

	// A wildcard certificate bound by ID to a second website.
	wild, wkey := selfSigned(t, "*.example.com")
	if err := associate(c, "www.example.com", "wild", wild, wkey); err != nil {
		t.Fatalf("wildcard upload: %v", err)
	}
	var wildID int32
	for _, ci := range describeCerts(t, c, "") {
		if tea.StringValue(ci.Name) == "wild" {
			wildID = tea.Int32Value(ci.Id)
		}
	}
	if _, err := c.AssociateWebCert((&ddoscoov3.AssociateWebCertRequest{}).SetDomain("shop.example.com").SetCertId(wildID)); err != nil {
		t.Fatalf("AssociateWebCert by CertId: %v", err)
	}
	related := map[string]bool{}
	for _, ci := range describeCerts(t, c, "shop.example.com") {
		related[tea.StringValue(ci.Name)] = tea.BoolValue(ci.DomainRelated)
	}
	if !related["wild"] || related["www-cert"] || len(related) != 2 {
		t.Errorf("DescribeCerts(shop.example.com) related = %v, want only wild", related)
	}
	_, err = c.AssociateWebCert((&ddoscoov3.AssociateWebCertRequest{}).SetDomain("shop.example.com").SetCertId(id))
	teaError(t, err, 400, "DomainDoesNotMatchCert")

	// Refusals.
	_, otherKey := selfSigned(t, "www.example.com")
	teaError(t, associate(c, "www.example.com", "mismatch", cert, otherKey), 400, "CertKeyNotMatch")
	teaError(t, associate(c, "www.example.com", "garbage", "not a certificate", key), 400, "CertFormatError")
	teaError(t, associate(c, "www.example.com", "garbage", cert, "not a key"), 400, "CertFormatError")
	elsewhere, ekey := selfSigned(t, "www.example.org")
	teaError(t, associate(c, "www.example.com", "elsewhere", elsewhere, ekey), 400, "DomainDoesNotMatchCert")
	cert2, key2 := selfSigned(t, "www.example.com")
	teaError(t, associate(c, "www.example.com", "www-cert", cert2, key2), 400, "CAS.NameRepeat")
	teaError(t, associate(c, "www.example.com", "", cert2, key2), 400, "MissingCertName")
	_, err = c.AssociateWebCert((&ddoscoov3.AssociateWebCertRequest{}).SetDomain("www.example.com").SetCertId(id + 1000))
	teaError(t, err, 400, "CertNotExist")
	teaError(t, associate(c, "nothere.example.com", "x", wild, wkey), 400, "DomainNotExist")
	_, err = c.AssociateWebCert((&ddoscoov3.AssociateWebCertRequest{}).SetDomain("nothere.example.com").SetCertId(wildID))
	teaError(t, err, 400, "DomainNotExist")
	if n := len(describeCerts(t, c, "")); n != 2 {
		t.Errorf("certificates after refusals: %d, want 2", n)
	}
}

// teaSameAsGhost checks that err, from a call naming another account's
// instance realID, is the error of the same call naming ghost, an ID that
// never existed: status, Code, and Message once the ID is substituted.
func teaSameAsGhost(t testing.TB, label string, err, ghostErr error, realID, ghost string) {
	t.Helper()
	want := teaError(t, ghostErr, 404, "InstanceNotFound")
	got := teaError(t, err, 404, "InstanceNotFound")
	if msg := withoutRequestID(tea.StringValue(got.Message)); strings.ReplaceAll(msg, realID, ghost) != withoutRequestID(tea.StringValue(want.Message)) {
		t.Errorf("%s: message %q; a never-existing ID gets %q", label, tea.StringValue(got.Message), tea.StringValue(want.Message))
	}
}

// withoutRequestID is a tea error message without the request ID the SDK
// appends to it.
func withoutRequestID(msg string) string {
	before, _, _ := strings.Cut(msg, " request id: ")
	return before
}

// TestWebRulesV3OtherAccount pins tenancy: another account cannot bind
// its website to this account's instance (the error a never-existing
// instance gets), sees none of its websites or certificates, cannot
// change, delete or certify them (the error a never-existing website
// gets), and may protect a domain of the same name on its own instance.
func TestWebRulesV3OtherAccount(t *testing.T) {
	s := StartServer(t)
	x := createSingle(t, s, admin.InstancesRequest{})
	ca := SDKv3(t, s, testKeyID, testKeySecret)
	createSite(t, ca, webSite{domain: "www.example.com", instances: []string{x.InstanceId}, origins: []string{"203.0.113.10"},
		proxies: map[string][]int32{"https": {443}}})
	cert, key := selfSigned(t, "www.example.com")
	if err := associate(ca, "www.example.com", "a-cert", cert, key); err != nil {
		t.Fatal(err)
	}

	const acct, keyID, secret = "1000000000000051", "LTAIwebaccountb000000051", "web-account-b-secret-000051"
	s.CreateAccount(t, acct, keyID, secret)
	mine := createSingle(t, s, admin.InstancesRequest{AccessKeyId: keyID})
	cb := SDKv3(t, s, keyID, secret)
	ghost := ghostID(x.InstanceId)

	site := func(inst string) webSite {
		return webSite{domain: "b.example.com", instances: []string{mine.InstanceId, inst}, origins: []string{"203.0.113.20"},
			proxies: map[string][]int32{"http": {80}}}
	}
	_, errX := cb.CreateDomainResource(site(x.InstanceId).createRequest())
	_, errG := cb.CreateDomainResource(site(ghost).createRequest())
	teaSameAsGhost(t, "CreateDomainResource", errX, errG, x.InstanceId, ghost)

	if got := describeSites(t, cb, "", ""); len(got.WebRules) != 0 || tea.Int64Value(got.TotalCount) != 0 {
		t.Errorf("account B sees websites: %v", got)
	}
	if got := describeSites(t, cb, "", "", x.InstanceId); len(got.WebRules) != 0 {
		t.Errorf("account B sees websites of A's instance: %v", got)
	}
	if got := describeDomains(t, cb); len(got) != 0 {
		t.Errorf("account B's DescribeDomains: %v", got)
	}
	if got := describeCerts(t, cb, ""); len(got) != 0 {
		t.Errorf("account B's DescribeCerts: %v", got)
	}
	wr, err := cb.DescribeWebRules(&ddoscoov3.DescribeWebRulesRequest{})
	if err != nil || len(wr.Body.WebRules) != 0 || tea.Int64Value(wr.Body.TotalCount) != 0 {
		t.Errorf("account B's DescribeWebRules: %v, %v", wr, err)
	}

	// A's website is, to B, a website that does not exist.
	bwild, bkey := selfSigned(t, "*.example.com")
	for _, d := range []string{"www.example.com", "never.example.com"} {
		_, err := cb.DeleteDomainResource((&ddoscoov3.DeleteDomainResourceRequest{}).SetDomain(d))
		teaError(t, err, 400, "DomainNotExist")
		_, err = cb.ModifyDomainResource(webSite{domain: d, instances: []string{mine.InstanceId}, origins: []string{"203.0.113.20"},
			proxies: map[string][]int32{"http": {80}}}.modifyRequest())
		teaError(t, err, 400, "DomainNotExist")
		teaError(t, associate(cb, d, "b-cert", bwild, bkey), 400, "DomainNotExist")
	}

	// The same domain name on B's own instance is B's website.
	createSite(t, cb, webSite{domain: "www.example.com", instances: []string{mine.InstanceId}, origins: []string{"198.51.100.1"},
		proxies: map[string][]int32{"http": {80}}})
	rb := describeSites(t, cb, "www.example.com", "exact").WebRules
	ra := describeSites(t, ca, "www.example.com", "exact").WebRules
	if len(rb) != 1 || len(ra) != 1 || tea.StringValue(rb[0].Cname) == tea.StringValue(ra[0].Cname) ||
		!slices.Equal(tea.StringSliceValue(ra[0].RealServers), []string{"203.0.113.10"}) || tea.StringValue(ra[0].CertName) != "a-cert" ||
		tea.StringValue(rb[0].CertName) != "" {
		t.Errorf("same domain in two accounts: A %v, B %v", ra, rb)
	}
}
