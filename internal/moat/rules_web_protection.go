package moat

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"strings"
	"time"
)

// ---- Website protection (layer 7) ----

// CC modes (CcTemplate). What each does in moat is the data plane's
// (internal/dataplane/webguard); docs/DATAPLANE.md describes them.
const (
	CCModeDefault     = "default"
	CCModeUnderAttack = "gf_under_attack"
	CCModeSOSVerify   = "gf_sos_verify"
	CCModeSOSEnhance  = "gf_sos_enhance"
)

// Actions of CC and precise rules.
const (
	WebActionBlock     = "block"
	WebActionChallenge = "challenge"
	WebActionWatch     = "watch"
	WebActionAccept    = "accept"
)

// Limits of a website's protection. The IP sets' bound is documented
// (ConfigWebIpSet: 200 each); the rule counts and the V1 ranges of a CC
// rule (CreateWebCCRule: Count 2-2000, Interval 5-10800 s, Ttl 60-86400 s)
// are moat's, since V2 documents none.
const (
	MaxWebIPSet       = 200
	MaxWebCCRules     = 50
	MaxPreciseRules   = 50
	MaxRuleConditions = 5
	MaxWebRuleName    = 128
	MaxConditionValue = 2048
	MinCCCount        = 2
	MaxCCCount        = 2000
	MinCCInterval     = 5
	MaxCCInterval     = 10800
	MinCCTTL          = 60
	MaxCCTTL          = 86400
)

// DefaultWebProtection is a website's protection until it is changed: CC
// protection on in its default mode, no rules, empty IP sets (the
// Describe calls show a new website so).
func DefaultWebProtection() WebProtection {
	return WebProtection{CCEnabled: true, CCMode: CCModeDefault}
}

// WebProtectionKey keys Reader.WebProtections: the account and the domain.
func WebProtectionKey(accountID, domain string) string { return accountID + "/" + domain }

// WebProtectionOf is a website's protection in a map read by
// Reader.WebProtections: the stored one, else the default.
func WebProtectionOf(m map[string]WebProtection, accountID, domain string) WebProtection {
	if p, ok := m[WebProtectionKey(accountID, domain)]; ok {
		return p
	}
	return DefaultWebProtection()
}

// Live returns p without the rules that ended at or before now.
func (p WebProtection) Live(now time.Time) WebProtection {
	sec := now.Unix()
	var cc []CCRule
	for _, r := range p.CCRules {
		if r.Expires == 0 || r.Expires > sec {
			cc = append(cc, r)
		}
	}
	var pr []PreciseRule
	for _, r := range p.Precise {
		if r.Expires == 0 || r.Expires > sec {
			pr = append(pr, r)
		}
	}
	p.CCRules, p.Precise = cc, pr
	return p
}

// CheckCCMode checks a CC mode (CcTemplate).
func CheckCCMode(param, mode string) error {
	switch mode {
	case CCModeDefault, CCModeUnderAttack, CCModeSOSVerify, CCModeSOSEnhance:
		return nil
	case "":
		return MissingParam(param)
	}
	return InvalidParamValue(param, mode, "default, gf_under_attack, gf_sos_verify or gf_sos_enhance")
}

var ruleNameRE = regexp.MustCompile(`^[A-Za-z0-9_]+$`)

func checkRuleName(param, name string) error {
	if name == "" {
		return MissingParam(param)
	}
	if len(name) > MaxWebRuleName || !ruleNameRE.MatchString(name) {
		return InvalidParamValue(param, name, fmt.Sprintf("letters, digits and underscores, at most %d", MaxWebRuleName))
	}
	return nil
}

// Fields of conditions and the match methods each takes (the precise
// access control reference's table; "prefix" is moat's, for CC rules).
var conditionMethods = func() map[string]map[string]bool {
	set := func(ms ...string) map[string]bool {
		m := map[string]bool{}
		for _, s := range ms {
			m[s] = true
		}
		return m
	}
	text := []string{"contain", "ncontain", "equal", "nequal", "prefix", "lless", "lequal", "lgreat", "regular"}
	withNexist := append(append([]string{}, text...), "nexist")
	return map[string]map[string]bool{
		"ip":              set("belong", "nbelong"),
		"uri":             set(text...),
		"url":             set(text...),
		"user-agent":      set(text...),
		"referer":         set(withNexist...),
		"params":          set("contain", "ncontain", "equal", "nequal", "lless", "lequal", "lgreat"),
		"cookie":          set(withNexist...),
		"header":          set(withNexist...),
		"x-forwarded-for": set(withNexist...),
		"content-type":    set(text...),
		"http-method":     set("equal", "nequal"),
		"content-length":  set("vless", "vequal", "vgreat"),
	}
}()

// checkConditions checks the conditions of a rule (1 to
// MaxRuleConditions) and returns them canonical.
func checkConditions(param string, cs []PreciseCondition, required bool) ([]PreciseCondition, error) {
	if len(cs) == 0 {
		if required {
			return nil, MissingParam(param)
		}
		return nil, nil
	}
	if len(cs) > MaxRuleConditions {
		return nil, InvalidParam(param, fmt.Sprintf("a rule has at most %d conditions, not %d", MaxRuleConditions, len(cs)))
	}
	out := make([]PreciseCondition, len(cs))
	for i, c := range cs {
		c.Field, c.Match = strings.ToLower(c.Field), strings.ToLower(c.Match)
		ms, ok := conditionMethods[c.Field]
		if !ok {
			return nil, InvalidParamValue(param+".field", c.Field, "ip, uri, url, referer, user-agent, params, cookie, header, http-method, content-type, x-forwarded-for or content-length")
		}
		if !ms[c.Match] {
			return nil, InvalidParamValue(param+".match_method", c.Match, "a method the field "+c.Field+" takes")
		}
		if c.Field == "header" {
			if c.Header == "" {
				return nil, MissingParam(param + ".header_name")
			}
		} else {
			c.Header = ""
		}
		if c.Value == "" && c.Match != "nexist" {
			return nil, MissingParam(param + ".content")
		}
		if len(c.Value) > MaxConditionValue {
			return nil, InvalidParam(param+".content", fmt.Sprintf("at most %d characters", MaxConditionValue))
		}
		switch c.Match {
		case "belong", "nbelong":
			if _, err := parseAddrOrPrefix(c.Value); err != nil {
				return nil, Errorf(CodeInvalidIP, "The condition's content %q is not an IPv4 address or CIDR block.", clip(c.Value))
			}
		case "regular":
			if _, err := regexp.Compile(c.Value); err != nil {
				return nil, InvalidParamValue(param+".content", clip(c.Value), "a regular expression")
			}
		case "lless", "lequal", "lgreat", "vless", "vequal", "vgreat":
			var n int
			if _, err := fmt.Sscan(c.Value, &n); err != nil || n < 0 || fmt.Sprint(n) != c.Value {
				return nil, InvalidParamValue(param+".content", clip(c.Value), "a length, a non-negative integer")
			}
		}
		out[i] = c
	}
	return out, nil
}

// parseAddrOrPrefix reads an IPv4 address or CIDR block as a prefix.
func parseAddrOrPrefix(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil || !p.Addr().Is4() {
			return netip.Prefix{}, errors.New("not an IPv4 CIDR block")
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is4() {
		return netip.Prefix{}, errors.New("not an IPv4 address")
	}
	return netip.PrefixFrom(a, 32), nil
}

// checkWebIPSet checks one of a website's IP sets (at most MaxWebIPSet
// addresses or CIDR blocks) and returns it canonical, without repeats.
func checkWebIPSet(param string, ips []string) ([]string, error) {
	if len(ips) > MaxWebIPSet {
		return nil, InvalidParam(param, fmt.Sprintf("a website's list holds at most %d addresses or blocks, not %d", MaxWebIPSet, len(ips)))
	}
	var out []string
	seen := map[string]bool{}
	for _, s := range ips {
		p, err := parseAddrOrPrefix(s)
		if err != nil {
			return nil, Errorf(CodeInvalidIP, "%s: %q is not an IPv4 address or CIDR block (such as 198.51.100.7 or 198.51.100.0/24).", param, clip(s))
		}
		v := p.String()
		if p.Bits() == 32 {
			v = p.Addr().String()
		}
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out, nil
}

// checkCCRule checks a custom frequency rule and returns it canonical.
func checkCCRule(r CCRule) (CCRule, error) {
	if err := checkRuleName("RuleList.name", r.Name); err != nil {
		return r, err
	}
	switch r.Action {
	case WebActionBlock, WebActionChallenge, WebActionWatch, WebActionAccept:
	case "":
		return r, MissingParam("RuleList.action")
	default:
		return r, InvalidParamValue("RuleList.action", r.Action, "block, challenge, watch or accept")
	}
	var err error
	if r.Conditions, err = checkConditions("RuleList.condition", r.Conditions, false); err != nil {
		return r, err
	}
	switch r.Match {
	case "", "prefix":
		r.Match = "prefix"
	case "exact":
	default:
		return r, InvalidParamValue("RuleList.mode", r.Match, "prefix or exact")
	}
	if r.URI != "" && !strings.HasPrefix(r.URI, "/") {
		return r, InvalidParamValue("RuleList.uri", clip(r.URI), "a path starting with /")
	}
	switch r.Target {
	case "", "ip":
		r.Target, r.SubKey = "ip", ""
	case "header":
		if r.SubKey == "" {
			return r, MissingParam("RuleList.ratelimit.subkey")
		}
	default:
		return r, InvalidParamValue("RuleList.ratelimit.target", r.Target, "ip or header")
	}
	if r.Count < MinCCCount || r.Count > MaxCCCount {
		return r, InvalidParamValue("RuleList.ratelimit.threshold", fmt.Sprint(r.Count), fmt.Sprintf("%d to %d requests", MinCCCount, MaxCCCount))
	}
	if r.Interval < MinCCInterval || r.Interval > MaxCCInterval {
		return r, InvalidParamValue("RuleList.ratelimit.interval", fmt.Sprint(r.Interval), fmt.Sprintf("%d to %d seconds", MinCCInterval, MaxCCInterval))
	}
	if r.TTL < MinCCTTL || r.TTL > MaxCCTTL {
		return r, InvalidParamValue("RuleList.ratelimit.ttl", fmt.Sprint(r.TTL), fmt.Sprintf("%d to %d seconds", MinCCTTL, MaxCCTTL))
	}
	return r, nil
}

// checkPreciseRule checks a precise access rule and returns it canonical.
func checkPreciseRule(r PreciseRule) (PreciseRule, error) {
	if err := checkRuleName("Rules.name", r.Name); err != nil {
		return r, err
	}
	switch r.Action {
	case WebActionBlock, WebActionChallenge, WebActionWatch, WebActionAccept:
	case "":
		return r, MissingParam("Rules.action")
	default:
		return r, InvalidParamValue("Rules.action", r.Action, "accept, block, challenge or watch")
	}
	var err error
	r.Conditions, err = checkConditions("Rules.condition", r.Conditions, true)
	return r, err
}

// changeWebProtection applies fn to the caller's website's protection and
// records it, with a rule_modified event (reason what) on each instance
// the website is bound to.
func (s *RuleService) changeWebProtection(ctx context.Context, c Caller, region Region, domain, requestID, what string, fn func(p *WebProtection, now time.Time) error) error {
	d, err := CheckDomain("Domain", domain)
	if err != nil {
		return err
	}
	return s.store.Update(ctx, func(tx Tx) error {
		now := s.clock.Now()
		w, err := tx.WebRule(c.AccountID, d)
		if errors.Is(err, ErrNotFound) || err == nil && w.Region != region {
			return domainNotExist(d)
		}
		if err != nil {
			return err
		}
		p, err := tx.WebProtection(c.AccountID, d)
		if errors.Is(err, ErrNotFound) {
			p = DefaultWebProtection()
		} else if err != nil {
			return err
		}
		p = p.Live(now)
		if err := fn(&p, now); err != nil {
			return err
		}
		if err := tx.PutWebProtection(c.AccountID, d, p, now); err != nil {
			return err
		}
		for _, id := range w.InstanceIDs {
			in, err := s.owned(tx, c, region, id)
			if err != nil {
				return err
			}
			if err := s.event(tx, in, now, EventRuleModified, DomainSubject(d), requestID, what); err != nil {
				return err
			}
		}
		return nil
	})
}

// SetWebCC turns a website's CC protection on or off
// (ModifyWebCCGlobalSwitch, EnableWebCC, DisableWebCC).
func (s *RuleService) SetWebCC(ctx context.Context, c Caller, region Region, domain string, on bool, requestID string) error {
	return s.changeWebProtection(ctx, c, region, domain, requestID, "cc switch", func(p *WebProtection, _ time.Time) error {
		p.CCEnabled = on
		return nil
	})
}

// SetWebCCMode sets a website's CC mode (ConfigWebCCTemplate).
func (s *RuleService) SetWebCCMode(ctx context.Context, c Caller, region Region, domain, mode, requestID string) error {
	if err := CheckCCMode("Template", mode); err != nil {
		return err
	}
	return s.changeWebProtection(ctx, c, region, domain, requestID, "cc mode", func(p *WebProtection, _ time.Time) error {
		p.CCMode = mode
		return nil
	})
}

// PutWebCCRules adds custom frequency rules to a website, replacing those
// of the same names (ConfigWebCCRuleV2); period is their lifetime in
// seconds (0 forever).
func (s *RuleService) PutWebCCRules(ctx context.Context, c Caller, region Region, domain string, rules []CCRule, period int64, requestID string) error {
	if len(rules) == 0 {
		return MissingParam("RuleList")
	}
	if period < 0 {
		return InvalidParam("Expires", "a lifetime in seconds, 0 for ever")
	}
	seen := map[string]bool{}
	for i := range rules {
		r, err := checkCCRule(rules[i])
		if err != nil {
			return err
		}
		if seen[r.Name] {
			return InvalidParamValue("RuleList.name", r.Name, "each rule's name once")
		}
		seen[r.Name] = true
		rules[i] = r
	}
	return s.changeWebProtection(ctx, c, region, domain, requestID, "cc rules", func(p *WebProtection, now time.Time) error {
		for _, r := range rules {
			r.Period, r.Expires = period, 0
			if period > 0 {
				r.Expires = now.Unix() + period
			}
			p.CCRules = replaceNamed(p.CCRules, r, func(x CCRule) string { return x.Name })
		}
		if len(p.CCRules) > MaxWebCCRules {
			return Errorf(CodeExceedWebRuleLimit, "A website has at most %d custom frequency rules; delete some first.", MaxWebCCRules)
		}
		return nil
	})
}

// DeleteWebCCRules deletes a website's custom frequency rules by name
// (DeleteWebCCRuleV2); names it does not have are ignored.
func (s *RuleService) DeleteWebCCRules(ctx context.Context, c Caller, region Region, domain string, names []string, requestID string) error {
	if len(names) == 0 {
		return MissingParam("RuleNames")
	}
	return s.changeWebProtection(ctx, c, region, domain, requestID, "cc rules", func(p *WebProtection, _ time.Time) error {
		p.CCRules = deleteNamed(p.CCRules, names, func(x CCRule) string { return x.Name })
		return nil
	})
}

// SetWebIPSets replaces a website's blacklist and whitelist
// (ConfigWebIpSet).
func (s *RuleService) SetWebIPSets(ctx context.Context, c Caller, region Region, domain string, black, white []string, requestID string) error {
	b, err := checkWebIPSet("BlackList", black)
	if err != nil {
		return err
	}
	w, err := checkWebIPSet("WhiteList", white)
	if err != nil {
		return err
	}
	return s.changeWebProtection(ctx, c, region, domain, requestID, "ip sets", func(p *WebProtection, _ time.Time) error {
		p.Blacklist, p.Whitelist = b, w
		return nil
	})
}

// PutPreciseRules adds precise access rules to a website, replacing those
// of the same names (ModifyWebPreciseAccessRule); period is the lifetime
// in seconds of its block rules (0 forever).
func (s *RuleService) PutPreciseRules(ctx context.Context, c Caller, region Region, domain string, rules []PreciseRule, period int64, requestID string) error {
	if len(rules) == 0 {
		return MissingParam("Rules")
	}
	if period < 0 {
		return InvalidParam("Expires", "a lifetime in seconds; omit it for ever")
	}
	seen := map[string]bool{}
	for i := range rules {
		r, err := checkPreciseRule(rules[i])
		if err != nil {
			return err
		}
		if seen[r.Name] {
			return InvalidParamValue("Rules.name", r.Name, "each rule's name once")
		}
		seen[r.Name] = true
		rules[i] = r
	}
	return s.changeWebProtection(ctx, c, region, domain, requestID, "precise rules", func(p *WebProtection, now time.Time) error {
		for _, r := range rules {
			r.Period, r.Expires = 0, 0
			if period > 0 && r.Action == WebActionBlock {
				r.Period, r.Expires = period, now.Unix()+period
			}
			p.Precise = replaceNamed(p.Precise, r, func(x PreciseRule) string { return x.Name })
		}
		if len(p.Precise) > MaxPreciseRules {
			return Errorf(CodeExceedWebRuleLimit, "A website has at most %d precise access rules; delete some first.", MaxPreciseRules)
		}
		return nil
	})
}

// DeletePreciseRules deletes a website's precise access rules by name
// (DeleteWebPreciseAccessRule); names it does not have are ignored.
func (s *RuleService) DeletePreciseRules(ctx context.Context, c Caller, region Region, domain string, names []string, requestID string) error {
	if len(names) == 0 {
		return MissingParam("RuleNames")
	}
	return s.changeWebProtection(ctx, c, region, domain, requestID, "precise rules", func(p *WebProtection, _ time.Time) error {
		p.Precise = deleteNamed(p.Precise, names, func(x PreciseRule) string { return x.Name })
		return nil
	})
}

// WebProtection returns the protection of the caller's website
// (DomainNotExist when it has none of that name), without ended rules.
func (s *RuleService) WebProtection(ctx context.Context, c Caller, region Region, domain string) (WebProtection, error) {
	d, err := CheckDomain("Domain", domain)
	if err != nil {
		return WebProtection{}, err
	}
	rules, _, err := s.store.WebRulePage(ctx, WebRuleFilter{AccountID: c.AccountID, Region: region, Domain: d, Exact: true, Limit: 1})
	if err != nil {
		return WebProtection{}, err
	}
	if len(rules) == 0 {
		return WebProtection{}, domainNotExist(d)
	}
	m, err := s.store.WebProtectionsOf(ctx, c.AccountID, []string{d})
	if err != nil {
		return WebProtection{}, err
	}
	p, ok := m[d]
	if !ok {
		p = DefaultWebProtection()
	}
	return p.Live(s.clock.Now()), nil
}

// WebProtections returns the protection of each of the caller's websites
// among domains, keyed by domain, without ended rules; domains the caller
// has no website of are left out.
func (s *RuleService) WebProtections(ctx context.Context, c Caller, region Region, domains []string) (map[string]WebProtection, error) {
	out := map[string]WebProtection{}
	var have []string
	for _, d := range domains {
		d = strings.ToLower(d)
		rules, _, err := s.store.WebRulePage(ctx, WebRuleFilter{AccountID: c.AccountID, Region: region, Domain: d, Exact: true, Limit: 1})
		if err != nil {
			return nil, err
		}
		if len(rules) == 1 {
			have = append(have, d)
		}
	}
	if len(have) == 0 {
		return out, nil
	}
	m, err := s.store.WebProtectionsOf(ctx, c.AccountID, have)
	if err != nil {
		return nil, err
	}
	now := s.clock.Now()
	for _, d := range have {
		p, ok := m[d]
		if !ok {
			p = DefaultWebProtection()
		}
		out[d] = p.Live(now)
	}
	return out, nil
}

func replaceNamed[T any](list []T, v T, name func(T) string) []T {
	for i := range list {
		if name(list[i]) == name(v) {
			list[i] = v
			return list
		}
	}
	return append(list, v)
}

func deleteNamed[T any](list []T, names []string, name func(T) string) []T {
	drop := map[string]bool{}
	for _, n := range names {
		drop[n] = true
	}
	out := list[:0]
	for _, v := range list {
		if !drop[name(v)] {
			out = append(out, v)
		}
	}
	return out
}
