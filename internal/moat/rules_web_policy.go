package moat

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// ---- Website origin policy (ConfigL7RsPolicy, DescribeL7RsPolicy) ----

// Proxy modes: how a website's requests are spread over its origins.
// What each does is the data plane's (docs/DATAPLANE.md, "Websites").
const (
	ProxyModeIPHash    = "ip_hash"
	ProxyModeRR        = "rr"
	ProxyModeLeastTime = "least_time"
)

// Origin weights (the ConfigL7RsPolicy reference: 1 to 100, 100 unless
// given).
const (
	MinOriginWeight     = 1
	MaxOriginWeight     = 100
	DefaultOriginWeight = 100
)

// ModeOrDefault is the policy's mode: ip_hash unless another was set.
func (p WebPolicy) ModeOrDefault() string {
	if p.Mode == "" {
		return ProxyModeIPHash
	}
	return p.Mode
}

// Weight is an origin's weight under rr.
func (p WebPolicy) Weight(origin string) int {
	if w, ok := p.Weights[origin]; ok {
		return w
	}
	return DefaultOriginWeight
}

// OriginWeight is one origin's weight as ConfigL7RsPolicy gives it and
// DescribeL7RsPolicy shows it.
type OriginWeight struct {
	Origin string
	Weight int
}

// WebPolicyView is a website's origin policy with its origins.
type WebPolicyView struct {
	Mode    string
	RsType  int
	Origins []OriginWeight // the website's origins in its order
}

// CheckProxyMode checks a proxy mode.
func CheckProxyMode(param, mode string) error {
	switch mode {
	case ProxyModeIPHash, ProxyModeRR, ProxyModeLeastTime:
		return nil
	case "":
		return MissingParam(param)
	}
	return InvalidParamValue(param, mode, "ip_hash, rr or least_time")
}

// originKey is how a website names origin s: IP origins canonical,
// domain origins in lower case without a final dot.
func originKey(rsType int, s string) string {
	s = strings.TrimSpace(s)
	if rsType == RsTypeIP {
		if a, err := CheckOriginIP(s); err == nil {
			return a
		}
		return s
	}
	return strings.TrimSuffix(strings.ToLower(s), ".")
}

// SetWebPolicy sets how a website's requests are spread over its origins
// (ConfigL7RsPolicy): the mode, and weights of some of its origins (the
// others weigh DefaultOriginWeight). It replaces the previous policy.
func (s *RuleService) SetWebPolicy(ctx context.Context, c Caller, region Region, domain, mode string, weights []OriginWeight, requestID string) error {
	if err := CheckProxyMode("Policy.ProxyMode", mode); err != nil {
		return err
	}
	for i, w := range weights {
		if w.Weight < MinOriginWeight || w.Weight > MaxOriginWeight {
			return InvalidParamValue(fmt.Sprintf("Policy.Attributes.%d.Attribute.Weight", i+1), fmt.Sprint(w.Weight),
				fmt.Sprintf("an integer from %d to %d", MinOriginWeight, MaxOriginWeight))
		}
	}
	d, err := CheckDomain("Domain", domain)
	if err != nil {
		return err
	}
	// The origins named must be the website's. An origin removed between
	// this read and the write keeps a weight nothing uses.
	w, err := s.ownWebRule(ctx, c, region, d)
	if err != nil {
		return err
	}
	var m map[string]int
	for i, ow := range weights {
		k := originKey(w.RsType, ow.Origin)
		if k == "" {
			return MissingParam(fmt.Sprintf("Policy.Attributes.%d.RealServer", i+1))
		}
		found := false
		for _, o := range w.RealServers {
			found = found || o == k
		}
		if !found {
			return InvalidParamValue(fmt.Sprintf("Policy.Attributes.%d.RealServer", i+1), ow.Origin, "one of the website's origins ("+strings.Join(w.RealServers, ", ")+")")
		}
		if _, dup := m[k]; dup {
			return InvalidParamValue(fmt.Sprintf("Policy.Attributes.%d.RealServer", i+1), ow.Origin, "each origin once")
		}
		if m == nil {
			m = map[string]int{}
		}
		m[k] = ow.Weight
	}
	return s.changeWebProtection(ctx, c, region, d, requestID, "origin policy", func(p *WebProtection, _ time.Time) error {
		p.Policy = WebPolicy{Mode: mode, Weights: m}
		return nil
	})
}

// WebPolicy returns a website's origin policy (DescribeL7RsPolicy) with
// its origins; only is a subset of them to show (none: all), and an
// origin the website does not have is refused.
func (s *RuleService) WebPolicy(ctx context.Context, c Caller, region Region, domain string, only []string) (WebPolicyView, error) {
	d, err := CheckDomain("Domain", domain)
	if err != nil {
		return WebPolicyView{}, err
	}
	w, err := s.ownWebRule(ctx, c, region, d)
	if err != nil {
		return WebPolicyView{}, err
	}
	m, err := s.store.WebProtectionsOf(ctx, c.AccountID, []string{d})
	if err != nil {
		return WebPolicyView{}, err
	}
	p, ok := m[d]
	if !ok {
		p = DefaultWebProtection()
	}
	want := map[string]bool{}
	for i, o := range only {
		k := originKey(w.RsType, o)
		found := false
		for _, have := range w.RealServers {
			found = found || have == k
		}
		if !found {
			return WebPolicyView{}, InvalidParamValue(fmt.Sprintf("RealServers.%d", i+1), o, "one of the website's origins")
		}
		want[k] = true
	}
	v := WebPolicyView{Mode: p.Policy.ModeOrDefault(), RsType: w.RsType, Origins: []OriginWeight{}}
	for _, o := range w.RealServers {
		if len(want) == 0 || want[o] {
			v.Origins = append(v.Origins, OriginWeight{Origin: o, Weight: p.Policy.Weight(o)})
		}
	}
	return v, nil
}

// ownWebRule reads the caller's website d in region; DomainNotExist when
// there is none (another account's website included).
func (s *RuleService) ownWebRule(ctx context.Context, c Caller, region Region, d string) (WebRule, error) {
	rules, _, err := s.store.WebRulePage(ctx, WebRuleFilter{AccountID: c.AccountID, Region: region, Domain: d, Exact: true, Limit: 1})
	if err != nil {
		return WebRule{}, err
	}
	if len(rules) == 0 {
		return WebRule{}, domainNotExist(d)
	}
	return rules[0], nil
}
