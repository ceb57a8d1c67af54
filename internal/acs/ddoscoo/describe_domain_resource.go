package ddoscoo

import (
	"context"

	"moat/internal/acs"
	"moat/internal/moat"
)

// DescribeDomainResourceRequest is DescribeDomainResource's parameters.
type DescribeDomainResourceRequest struct {
	Domain      string   `acs:"Domain"`
	InstanceIds []string `acs:"InstanceIds,resource"`
	// QueryDomainPattern is fuzzy (the default: domains containing Domain)
	// or exact.
	QueryDomainPattern string `acs:"QueryDomainPattern"`
	PageNumber         *int   `acs:"PageNumber"`
	PageSize           *int   `acs:"PageSize"`
}

// ResourceIDs names the website an exact query asks for, so RAM judges
// it as domain/<name>.
func (r *DescribeDomainResourceRequest) ResourceIDs() []string {
	return exactDomainResource(r.Domain, r.QueryDomainPattern)
}

// DomainResourceWebRule is a website as DescribeDomainResource shows it:
// RealServers are plain strings (addresses or host names, as RsType says)
// and HttpsExt a JSON string. The frequency-control fields and lists are
// the website's protection and PolicyMode its origin policy; the TLS
// fields are those of a fresh website (see webProxyEnabled and the
// constants after it): moat does not model them.
type DomainResourceWebRule struct {
	Domain           string
	Cname            string
	InstanceIds      []string
	RealServers      []string
	RsType           int
	ProxyTypes       []WebProxyType
	HttpsExt         string
	Http2Enable      bool
	Http2HttpsEnable bool
	Https2HttpEnable bool
	CertName         string
	ProxyEnabled     bool
	PolicyMode       string
	PunishStatus     bool
	PunishReason     int
	CcEnabled        bool
	CcRuleEnabled    bool
	CcTemplate       string
	Ssl13Enabled     bool
	SslProtocols     string
	SslCiphers       string
	CustomCiphers    []string
	// OcspEnabled is not in the v2.0.0 client; the Terraform provider
	// reads it from here.
	OcspEnabled bool
	BlackList   []string
	WhiteList   []string
}

// DescribeDomainResourceResponse is DescribeDomainResource's body.
type DescribeDomainResourceResponse struct {
	acs.Response
	TotalCount int64
	WebRules   []DomainResourceWebRule
}

// DescribeDomainResource pages through the caller's websites, filtered by
// domain (a substring, or the exact name) and by instance.
func (h *handlers) DescribeDomainResource(ctx context.Context, call *acs.Call, req *DescribeDomainResourceRequest) (*DescribeDomainResourceResponse, error) {
	region, err := call.Region()
	if err != nil {
		return nil, err
	}
	q, err := webQueryOf(req.Domain, req.QueryDomainPattern, req.InstanceIds, req.PageNumber, req.PageSize)
	if err != nil {
		return nil, err
	}
	rules, total, err := h.svc.WebRules(ctx, call.Caller, region, q)
	if err != nil {
		return nil, err
	}
	resp := &DescribeDomainResourceResponse{TotalCount: total, WebRules: make([]DomainResourceWebRule, 0, len(rules))}
	for _, r := range rules {
		resp.WebRules = append(resp.WebRules, domainResourceOf(r))
	}
	return resp, nil
}

func domainResourceOf(r moat.WebRuleView) DomainResourceWebRule {
	return DomainResourceWebRule{
		Domain: r.Domain, Cname: r.Cname,
		InstanceIds: nonNil(r.InstanceIDs), RealServers: nonNil(r.RealServers), RsType: r.RsType,
		ProxyTypes: proxyTypesOf(r.ProxyTypes), HttpsExt: httpsExtString(r.HTTPSExt),
		Http2Enable: r.HTTPSExt.Http2 == 1, Http2HttpsEnable: r.HTTPSExt.Http2https == 1, Https2HttpEnable: r.HTTPSExt.Https2http == 1,
		CertName: certNameOf(r.Cert), ProxyEnabled: webProxyEnabled, PolicyMode: r.Protection.Policy.ModeOrDefault(),
		PunishStatus: webPunishStatus, PunishReason: webPunishReason,
		CcEnabled: r.Protection.CCEnabled, CcRuleEnabled: r.Protection.CCEnabled && len(r.Protection.CCRules) > 0, CcTemplate: ccTemplateOf(r.Protection),
		Ssl13Enabled: webSsl13Enabled, SslProtocols: webSslProtocols, SslCiphers: webSslCiphers, OcspEnabled: webOcspEnabled,
		CustomCiphers: []string{}, BlackList: nonNil(r.Protection.Blacklist), WhiteList: nonNil(r.Protection.Whitelist),
	}
}
