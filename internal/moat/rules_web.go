package moat

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

// ---- Websites ----

// checkWebRule checks a website's fields (Create/ModifyDomainResource)
// and returns it canonical.
func checkWebRule(w WebRule) (WebRule, error) {
	var err error
	if w.Domain, err = CheckDomain("Domain", w.Domain); err != nil {
		return w, err
	}
	if len(w.InstanceIDs) == 0 {
		return w, MissingParam("InstanceIds")
	}
	if len(w.InstanceIDs) > MaxWebInstances {
		return w, InvalidParam("InstanceIds", fmt.Sprintf("a website is bound to at most %d instances, not %d", MaxWebInstances, len(w.InstanceIDs)))
	}
	seen := map[string]bool{}
	for _, id := range w.InstanceIDs {
		if seen[id] {
			return w, InvalidParamValue("InstanceIds", id, "the instance is given twice")
		}
		seen[id] = true
	}
	switch w.RsType {
	case RsTypeIP:
		if w.RealServers, err = CheckOrigins("RealServers", w.RealServers); err != nil {
			return w, err
		}
	case RsTypeDomain:
		if len(w.RealServers) == 0 {
			return w, MissingParam("RealServers")
		}
		if len(w.RealServers) > MaxRealServers {
			return w, InvalidParam("RealServers", fmt.Sprintf("a website has at most %d origins, not %d", MaxRealServers, len(w.RealServers)))
		}
		for i, d := range w.RealServers {
			if strings.HasPrefix(d, "*") {
				return w, Errorf(CodeInvalidDomain, "The origin %q is a wildcard; origins are host names.", d)
			}
			if w.RealServers[i], err = CheckDomain("RealServers", d); err != nil {
				return w, err
			}
		}
	default:
		return w, InvalidParamValue("RsType", fmt.Sprint(w.RsType), "0 (origins are IP addresses) or 1 (origins are domain names)")
	}
	if len(w.ProxyTypes) == 0 {
		return w, MissingParam("ProxyTypes")
	}
	// A port is served either in clear (http, websocket) or over TLS
	// (https, websockets), never both.
	tls := map[int]bool{}
	typeSeen := map[string]bool{}
	for i, p := range w.ProxyTypes {
		secure := false
		switch p.Type {
		case ProxyHTTP, ProxyWebsocket:
		case ProxyHTTPS, ProxyWebsockets:
			secure = true
		case "":
			return w, MissingParam(fmt.Sprintf("ProxyTypes.%d.ProxyType", i+1))
		default:
			return w, InvalidParamValue(fmt.Sprintf("ProxyTypes.%d.ProxyType", i+1), p.Type, "http, https, websocket or websockets")
		}
		if typeSeen[p.Type] {
			return w, Errorf(CodeInvalidWebRule, "The proxy type %s is given twice; list all its ports under one entry.", p.Type)
		}
		typeSeen[p.Type] = true
		if len(p.Ports) == 0 {
			return w, MissingParam(fmt.Sprintf("ProxyTypes.%d.ProxyPorts", i+1))
		}
		ports := slices.Clone(p.Ports)
		sort.Ints(ports)
		for j, port := range ports {
			if err := CheckPort(fmt.Sprintf("ProxyTypes.%d.ProxyPorts", i+1), port); err != nil {
				return w, err
			}
			if j > 0 && ports[j-1] == port {
				return w, Errorf(CodeInvalidWebRule, "Port %d is given twice for %s.", port, p.Type)
			}
			if was, ok := tls[port]; ok && was != secure {
				return w, Errorf(CodeInvalidWebRule, "Port %d is given both for HTTP and for HTTPS; a port is served either in clear or over TLS.", port)
			}
			tls[port] = secure
		}
		w.ProxyTypes[i].Ports = ports
	}
	sort.Slice(w.ProxyTypes, func(i, j int) bool { return w.ProxyTypes[i].Type < w.ProxyTypes[j].Type })
	for _, f := range []struct {
		name string
		v    int
	}{{"HttpsExt.Http2", w.HTTPSExt.Http2}, {"HttpsExt.Http2https", w.HTTPSExt.Http2https}, {"HttpsExt.Https2http", w.HTTPSExt.Https2http}} {
		if f.v != 0 && f.v != 1 {
			return w, InvalidParamValue(f.name, fmt.Sprint(f.v), "0 (off) or 1 (on)")
		}
	}
	return w, nil
}

// webPorts are the ports a website listens on.
func webPorts(w *WebRule) []int {
	var out []int
	for _, p := range w.ProxyTypes {
		out = append(out, p.Ports...)
	}
	return out
}

// CnameOf is a website's CNAME target: a name derived from its account and
// domain, so it is stable for the website's life (and the same again if
// the website is deleted and added back).
func CnameOf(accountID, domain string) string {
	sum := sha256.Sum256([]byte(accountID + "\x00" + domain))
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	var b strings.Builder
	for i := 0; i < 16; i++ {
		b.WriteByte(alphabet[int(sum[i])%len(alphabet)])
	}
	n := 1000 + binary.BigEndian.Uint16(sum[16:18])%9000
	return fmt.Sprintf("%s.aliyunddos%04d.com", b.String(), n)
}

func domainNotExist(domain string) error {
	return Errorf(CodeDomainNotExist, "The website %q does not exist.", domain)
}

// bindWebsite checks that the website w may be bound to the caller's
// instance id: the instance is changeable, has room for one more website
// (unless already bound) and no TCP port rule on a port the website
// listens on.
func (s *RuleService) bindWebsite(tx Tx, c Caller, region Region, id string, w *WebRule, already bool, now time.Time) (Instance, error) {
	in, err := s.changeable(tx, c, region, id, now)
	if err != nil {
		return Instance{}, err
	}
	if !already {
		n, err := tx.RuleCount(id)
		if err != nil {
			return Instance{}, err
		}
		if n.Domains+1 > in.Spec.DomainCount {
			return Instance{}, Errorf(CodeExceedWebRuleLimit, "The instance %q has all %d websites its specification allows; delete a website or raise DomainCount.", id, in.Spec.DomainCount)
		}
	}
	for _, port := range webPorts(w) {
		if _, err := tx.PortRule(PortKey{InstanceID: id, Protocol: ProtocolTCP, FrontendPort: port}); err == nil {
			return Instance{}, Errorf(CodeNetworkRuleConflict, "Port %d of instance %q has a TCP port rule; a website cannot listen on it too.", port, id)
		} else if !errors.Is(err, ErrNotFound) {
			return Instance{}, err
		}
	}
	return in, nil
}

// CreateWebRule adds a website (CreateDomainResource). The domain is
// unique in the account; each instance keeps within its DomainCount.
func (s *RuleService) CreateWebRule(ctx context.Context, c Caller, region Region, w WebRule, requestID string) error {
	w, err := checkWebRule(w)
	if err != nil {
		return err
	}
	return s.store.Update(ctx, func(tx Tx) error {
		now := s.clock.Now()
		if _, err := tx.WebRule(c.AccountID, w.Domain); err == nil {
			return Errorf(CodeDomainExist, "The website %q already exists; modify it (ModifyDomainResource) or delete it first.", w.Domain)
		} else if !errors.Is(err, ErrNotFound) {
			return err
		}
		ins := make([]Instance, 0, len(w.InstanceIDs))
		for _, id := range w.InstanceIDs {
			in, err := s.bindWebsite(tx, c, region, id, &w, false, now)
			if err != nil {
				return err
			}
			ins = append(ins, in)
		}
		w.AccountID, w.Region = c.AccountID, region
		w.Cname = CnameOf(c.AccountID, w.Domain)
		w.CertID = 0
		w.Created, w.Updated = now, now
		if err := tx.InsertWebRule(&w); err != nil {
			if errors.Is(err, ErrConflict) {
				return Errorf(CodeDomainExist, "The website %q already exists.", w.Domain)
			}
			return err
		}
		for _, in := range ins {
			if err := s.event(tx, in, now, EventRuleCreated, DomainSubject(w.Domain), requestID, ""); err != nil {
				return err
			}
		}
		return nil
	})
}

// ModifyWebRule replaces a website's instances, origins, proxy types and
// HTTPS options (ModifyDomainResource); its CNAME and certificate stay, and
// so do its HTTPS options when keepHTTPSExt (the call gave none: Terraform
// sends HttpsExt only when it changed).
func (s *RuleService) ModifyWebRule(ctx context.Context, c Caller, region Region, w WebRule, keepHTTPSExt bool, requestID string) error {
	w, err := checkWebRule(w)
	if err != nil {
		return err
	}
	return s.store.Update(ctx, func(tx Tx) error {
		now := s.clock.Now()
		old, err := tx.WebRule(c.AccountID, w.Domain)
		if errors.Is(err, ErrNotFound) || err == nil && old.Region != region {
			return domainNotExist(w.Domain)
		}
		if err != nil {
			return err
		}
		was := map[string]bool{}
		for _, id := range old.InstanceIDs {
			was[id] = true
		}
		type change struct {
			in  Instance
			typ EventType
		}
		var changes []change
		now2 := now
		for _, id := range w.InstanceIDs {
			in, err := s.bindWebsite(tx, c, region, id, &w, was[id], now2)
			if err != nil {
				return err
			}
			typ := EventRuleCreated
			if was[id] {
				typ = EventRuleModified
				delete(was, id)
			}
			changes = append(changes, change{in, typ})
		}
		for _, id := range old.InstanceIDs {
			if !was[id] {
				continue
			}
			in, err := s.owned(tx, c, region, id)
			if err != nil {
				return err
			}
			changes = append(changes, change{in, EventRuleDeleted})
		}
		old.InstanceIDs, old.RealServers, old.RsType = w.InstanceIDs, w.RealServers, w.RsType
		old.ProxyTypes, old.Updated = w.ProxyTypes, now
		if !keepHTTPSExt {
			old.HTTPSExt = w.HTTPSExt
		}
		if err := tx.UpdateWebRule(&old); err != nil {
			return err
		}
		for _, ch := range changes {
			if err := s.event(tx, ch.in, now, ch.typ, DomainSubject(w.Domain), requestID, ""); err != nil {
				return err
			}
		}
		return nil
	})
}

// DeleteWebRule deletes a website (DeleteDomainResource), whatever the
// state of its instances.
func (s *RuleService) DeleteWebRule(ctx context.Context, c Caller, region Region, domain, requestID string) error {
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
		if err := tx.DeleteWebRule(c.AccountID, d); err != nil {
			return err
		}
		for _, id := range w.InstanceIDs {
			in, err := s.owned(tx, c, region, id)
			if err != nil {
				return err
			}
			if err := s.event(tx, in, now, EventRuleDeleted, DomainSubject(d), requestID, ""); err != nil {
				return err
			}
		}
		return nil
	})
}

// WebRules pages through the caller's websites in region
// (DescribeDomainResource, DescribeWebRules), with their certificates.
func (s *RuleService) WebRules(ctx context.Context, c Caller, region Region, q WebQuery) ([]WebRuleView, int64, error) {
	offset, limit, err := rulePage(q.PageNumber, q.PageSize)
	if err != nil {
		return nil, 0, err
	}
	f := WebRuleFilter{AccountID: c.AccountID, Region: region, Domain: strings.ToLower(q.Domain), Exact: q.Exact, InstanceIDs: q.InstanceIDs, Offset: offset, Limit: limit}
	rules, total, err := s.store.WebRulePage(ctx, f)
	if err != nil || len(rules) == 0 {
		return nil, total, err
	}
	certs, err := s.certViews(ctx, c.AccountID)
	if err != nil {
		return nil, 0, err
	}
	domains := make([]string, len(rules))
	for i, w := range rules {
		domains[i] = w.Domain
	}
	prot, err := s.store.WebProtectionsOf(ctx, c.AccountID, domains)
	if err != nil {
		return nil, 0, err
	}
	now := s.clock.Now()
	out := make([]WebRuleView, len(rules))
	for i, w := range rules {
		out[i].WebRule = w
		if p, ok := prot[w.Domain]; ok {
			out[i].Protection = p.Live(now)
		} else {
			out[i].Protection = DefaultWebProtection()
		}
		if cv, ok := certs[w.CertID]; ok && w.CertID != 0 {
			cv.DomainRelated = true
			out[i].Cert = &cv
		}
	}
	return out, total, nil
}

// Domains lists the caller's website domains in region, bound to any of
// instanceIDs when given (DescribeDomains).
func (s *RuleService) Domains(ctx context.Context, c Caller, region Region, instanceIDs []string) ([]string, error) {
	var out []string
	const batch = 1000
	for offset := 0; ; offset += batch {
		rules, _, err := s.store.WebRulePage(ctx, WebRuleFilter{AccountID: c.AccountID, Region: region, InstanceIDs: instanceIDs, Offset: offset, Limit: batch})
		if err != nil {
			return nil, err
		}
		for _, w := range rules {
			out = append(out, w.Domain)
		}
		if len(rules) < batch {
			return out, nil
		}
	}
}
