package ddoscoo

import (
	"context"

	"moat/internal/acs"
	"moat/internal/moat"
)

// DescribeWebRulesRequest is DescribeWebRules' parameters.
type DescribeWebRulesRequest struct {
	Domain      string   `acs:"Domain"`
	InstanceIds []string `acs:"InstanceIds,resource"`
	// QueryDomainPattern is fuzzy (the default) or exact.
	QueryDomainPattern string `acs:"QueryDomainPattern"`
	// Cname would select the website with that CNAME; moat answers the
	// same website by its Domain, so a Cname filter is refused rather
	// than ignored.
	Cname      string `acs:"Cname"`
	PageNumber *int   `acs:"PageNumber"`
	PageSize   *int   `acs:"PageSize"`
	// ResourceGroupId is accepted: websites belong to no resource group.
	ResourceGroupId string `acs:"ResourceGroupId"`
}

// ResourceIDs names the website an exact query asks for, so RAM judges
// it as domain/<name>.
func (r *DescribeWebRulesRequest) ResourceIDs() []string {
	return exactDomainResource(r.Domain, r.QueryDomainPattern)
}

// WebRealServer is an origin as DescribeWebRules shows it.
type WebRealServer struct {
	RealServer string
	RsType     int
}

// WebGmCert is a website's SM (GM) certificate settings: none in moat.
type WebGmCert struct {
	CertId   string
	GmEnable int64
	GmOnly   int64
}

// WebRule is a website as DescribeWebRules shows it: RealServers are
// objects, the HTTPS options booleans. The frequency-control fields and
// lists are the website's protection and PolicyMode its origin policy; the
// TLS fields are those of a fresh website (see webProxyEnabled and the
// constants after it).
type WebRule struct {
	Domain           string
	Cname            string
	RealServers      []WebRealServer
	ProxyTypes       []WebProxyType
	Http2Enable      bool
	Http2HttpsEnable bool
	Https2HttpEnable bool
	CertName         string
	// UserCertName is CertName again: the Terraform provider reads its
	// cert_name from it (newer API references list it; v2.0.0 does not).
	UserCertName string
	// CertRegion is the region of the certificate's store, "" without
	// one (the DescribeWebRules API reference).
	CertRegion    string
	GmCert        WebGmCert
	ProxyEnabled  bool
	PolicyMode    string
	PunishStatus  bool
	PunishReason  int
	CcEnabled     bool
	CcRuleEnabled bool
	CcTemplate    string
	Ssl13Enabled  bool
	SslProtocols  string
	SslCiphers    string
	OcspEnabled   bool
	CustomCiphers []string
	// Tls13CustomCiphers are the TLS 1.3 suites chosen; none by default
	// (read by the Terraform provider; not in v2.0.0).
	Tls13CustomCiphers []string
	BlackList          []string
	WhiteList          []string
}

// DescribeWebRulesResponse is DescribeWebRules' body.
type DescribeWebRulesResponse struct {
	acs.Response
	TotalCount int64
	WebRules   []WebRule
}

// DescribeWebRules pages through the caller's websites with their
// protection settings.
func (h *handlers) DescribeWebRules(ctx context.Context, call *acs.Call, req *DescribeWebRulesRequest) (*DescribeWebRulesResponse, error) {
	region, err := call.Region()
	if err != nil {
		return nil, err
	}
	if req.Cname != "" {
		return nil, moat.InvalidParam("Cname", "filtering by CNAME is not supported; filter by Domain (QueryDomainPattern exact)")
	}
	q, err := webQueryOf(req.Domain, req.QueryDomainPattern, req.InstanceIds, req.PageNumber, req.PageSize)
	if err != nil {
		return nil, err
	}
	rules, total, err := h.svc.WebRules(ctx, call.Caller, region, q)
	if err != nil {
		return nil, err
	}
	resp := &DescribeWebRulesResponse{TotalCount: total, WebRules: make([]WebRule, 0, len(rules))}
	for _, r := range rules {
		resp.WebRules = append(resp.WebRules, webRuleOfView(r))
	}
	return resp, nil
}

func webRuleOfView(r moat.WebRuleView) WebRule {
	rs := make([]WebRealServer, 0, len(r.RealServers))
	for _, s := range r.RealServers {
		rs = append(rs, WebRealServer{RealServer: s, RsType: r.RsType})
	}
	w := WebRule{
		Domain: r.Domain, Cname: r.Cname, RealServers: rs, ProxyTypes: proxyTypesOf(r.ProxyTypes),
		Http2Enable: r.HTTPSExt.Http2 == 1, Http2HttpsEnable: r.HTTPSExt.Http2https == 1, Https2HttpEnable: r.HTTPSExt.Https2http == 1,
		CertName: certNameOf(r.Cert), UserCertName: certNameOf(r.Cert), ProxyEnabled: webProxyEnabled, PolicyMode: r.Protection.Policy.ModeOrDefault(),
		PunishStatus: webPunishStatus, PunishReason: webPunishReason,
		CcEnabled: r.Protection.CCEnabled, CcRuleEnabled: r.Protection.CCEnabled && len(r.Protection.CCRules) > 0, CcTemplate: ccTemplateOf(r.Protection),
		Ssl13Enabled: webSsl13Enabled, SslProtocols: webSslProtocols, SslCiphers: webSslCiphers, OcspEnabled: webOcspEnabled,
		CustomCiphers: []string{}, Tls13CustomCiphers: []string{}, BlackList: nonNil(r.Protection.Blacklist), WhiteList: nonNil(r.Protection.Whitelist),
	}
	if r.Cert != nil {
		w.CertRegion = string(r.Cert.Region)
	}
	return w
}
