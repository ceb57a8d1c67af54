package ddoscoo

import (
	"bytes"
	"encoding/json"
	"moat/internal/moat"
	"strconv"
)

// ProxyTypeParam is one ProxyTypes.N item of the website calls: a protocol
// and the ports it is served on (ProxyTypes.N.ProxyPorts.M).
type ProxyTypeParam struct {
	ProxyType  string `acs:"ProxyType"`
	ProxyPorts []int  `acs:"ProxyPorts"`
}

// WebProxyType is a website's protocol and ports as the Describe calls
// show them: the ports are strings there.
type WebProxyType struct {
	ProxyType  string
	ProxyPorts []string
}

// webRuleParams are the parameters CreateDomainResource and
// ModifyDomainResource share.
type webRuleParams struct {
	Domain      string
	InstanceIds []string
	RealServers []string
	RsType      int
	ProxyTypes  []ProxyTypeParam
	HttpsExt    string
}

// webRuleOf converts the website parameters to the domain's WebRule.
func webRuleOf(p webRuleParams) (moat.WebRule, error) {
	ext, err := parseHTTPSExt(p.HttpsExt)
	if err != nil {
		return moat.WebRule{}, err
	}
	w := moat.WebRule{
		Domain: p.Domain, InstanceIDs: p.InstanceIds, RealServers: p.RealServers,
		RsType: p.RsType, HTTPSExt: ext, ProxyTypes: make([]moat.ProxyType, 0, len(p.ProxyTypes)),
	}
	for _, pt := range p.ProxyTypes {
		w.ProxyTypes = append(w.ProxyTypes, moat.ProxyType{Type: pt.ProxyType, Ports: pt.ProxyPorts})
	}
	return w, nil
}

// httpsExtJSON is HttpsExt's JSON object; absent keys are 0 (off).
type httpsExtJSON struct {
	Http2      int `json:"Http2"`
	Http2https int `json:"Http2https"`
	Https2http int `json:"Https2http"`
}

// parseHTTPSExt reads HttpsExt: empty is every option off; otherwise a
// JSON object whose Http2, Http2https and Https2http are integers (the
// domain checks that they are 0 or 1). Other keys are ignored.
func parseHTTPSExt(s string) (moat.HTTPSExt, error) {
	if s == "" {
		return moat.HTTPSExt{}, nil
	}
	var v httpsExtJSON
	if b := bytes.TrimSpace([]byte(s)); len(b) == 0 || b[0] != '{' || json.Unmarshal(b, &v) != nil {
		return moat.HTTPSExt{}, moat.Errorf(moat.CodeJSONError,
			`HttpsExt must be a JSON object such as {"Http2":1,"Http2https":0,"Https2http":0}, each value 0 (off) or 1 (on).`)
	}
	return moat.HTTPSExt{Http2: v.Http2, Http2https: v.Http2https, Https2http: v.Https2http}, nil
}

// httpsExtString is HttpsExt as the Describe calls return it: a JSON
// string holding all three options.
func httpsExtString(e moat.HTTPSExt) string {
	b, err := json.Marshal(httpsExtJSON{Http2: e.Http2, Http2https: e.Http2https, Https2http: e.Https2http})
	if err != nil {
		return "{}"
	}
	return string(b)
}

// proxyTypesOf converts a website's protocols to the wire, ports as
// strings.
func proxyTypesOf(pts []moat.ProxyType) []WebProxyType {
	out := make([]WebProxyType, 0, len(pts))
	for _, p := range pts {
		ports := make([]string, 0, len(p.Ports))
		for _, port := range p.Ports {
			ports = append(ports, strconv.Itoa(port))
		}
		out = append(out, WebProxyType{ProxyType: p.Type, ProxyPorts: ports})
	}
	return out
}

// Query patterns of DescribeDomainResource and DescribeWebRules.
const (
	patternFuzzy = "fuzzy"
	patternExact = "exact"
)

// webQueryOf checks the shared filter parameters of DescribeDomainResource
// and DescribeWebRules.
func webQueryOf(domain, pattern string, ids []string, number, size *int) (moat.WebQuery, error) {
	n, s, err := pageArgs(number, size)
	if err != nil {
		return moat.WebQuery{}, err
	}
	q := moat.WebQuery{Domain: domain, InstanceIDs: ids, PageNumber: n, PageSize: s}
	switch pattern {
	case "", patternFuzzy:
	case patternExact:
		q.Exact = true
	default:
		return moat.WebQuery{}, moat.InvalidParamValue("QueryDomainPattern", pattern, "fuzzy (the default: domains containing Domain) or exact")
	}
	return q, nil
}

// exactDomainResource is the website RAM judges a Describe call on: the
// Domain it names exactly; a fuzzy pattern names no one website.
func exactDomainResource(domain, pattern string) []string {
	if domain == "" || pattern != patternExact {
		return nil
	}
	return []string{moat.DomainResource(domain)}
}

// Website settings the real service gives a new website and moat does not
// model; the Describe calls show them as a fresh website has them (the
// DescribeDomainResource and DescribeWebRules API references): forwarding
// on, not punished, TLS 1.0 and later with the default cipher suites and
// no TLS 1.3 or OCSP stapling.
const (
	webProxyEnabled = true
	webPunishStatus = false
	webPunishReason = 0
	webSsl13Enabled = false
	webSslProtocols = "tls1.0"
	webSslCiphers   = "default"
	webOcspEnabled  = false
)

// certNameOf is the name of a website's certificate, "" without one.
func certNameOf(c *moat.CertView) string {
	if c == nil {
		return ""
	}
	return c.Name
}

// ccTemplateOf is a website's CC mode as the Describe calls show it.
func ccTemplateOf(p moat.WebProtection) string {
	if p.CCMode == "" {
		return moat.CCModeDefault
	}
	return p.CCMode
}
