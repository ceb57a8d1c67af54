package moat

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"encoding/pem"
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

// ---- Certificates ----

// AssociateWebCert sets the certificate a website serves over HTTPS: one
// uploaded before (ID), or a new upload (Name, certificate and key PEM)
// whose key matches its certificate and whose names cover the domain. An
// upload under a name the account has is refused unless it is the same
// certificate.
func (s *RuleService) AssociateWebCert(ctx context.Context, c Caller, region Region, domain string, nc NewCert, requestID string) error {
	d, err := CheckDomain("Domain", domain)
	if err != nil {
		return err
	}
	var upload *Cert
	if nc.ID == 0 {
		if upload, err = parseCert(nc); err != nil {
			return err
		}
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
		var id int64
		if upload == nil {
			cert, err := tx.Cert(c.AccountID, nc.ID)
			if errors.Is(err, ErrNotFound) {
				return Errorf(CodeCertNotExist, "The certificate %d does not exist; upload one with CertName, Cert and Key.", nc.ID)
			}
			if err != nil {
				return err
			}
			if err := certCovers(cert.CertPEM, d); err != nil {
				return err
			}
			id = cert.ID
		} else {
			if err := certCovers(upload.CertPEM, d); err != nil {
				return err
			}
			old, err := tx.CertByName(c.AccountID, upload.Name)
			switch {
			case err == nil && old.CertPEM == upload.CertPEM:
				id = old.ID
			case err == nil:
				return Errorf(CodeCertNameRepeat, "A different certificate is already named %q; choose another CertName.", upload.Name)
			case !errors.Is(err, ErrNotFound):
				return err
			default:
				cert := *upload
				cert.AccountID, cert.Region, cert.Created = c.AccountID, region, now
				if s.sealer != nil {
					if cert.KeyPEM, err = s.sealer.Seal(cert.KeyPEM); err != nil {
						return Internal("seal certificate key", err)
					}
				}
				if err := tx.InsertCert(&cert); err != nil {
					if errors.Is(err, ErrConflict) {
						return Errorf(CodeCertNameRepeat, "A certificate is already named %q; choose another CertName.", upload.Name)
					}
					return err
				}
				id = cert.ID
			}
		}
		w.CertID, w.Updated = id, now
		if err := tx.UpdateWebRule(&w); err != nil {
			return err
		}
		for _, iid := range w.InstanceIDs {
			in, err := s.owned(tx, c, region, iid)
			if err != nil {
				return err
			}
			if err := s.event(tx, in, now, EventRuleModified, DomainSubject(d), requestID, "certificate"); err != nil {
				return err
			}
		}
		return nil
	})
}

// Certs lists the caller's certificates (DescribeCerts); DomainRelated
// marks the one domain serves.
func (s *RuleService) Certs(ctx context.Context, c Caller, region Region, domain string) ([]CertView, error) {
	var bound int64
	if domain != "" {
		d, err := CheckDomain("Domain", domain)
		if err != nil {
			return nil, err
		}
		rules, _, err := s.store.WebRulePage(ctx, WebRuleFilter{AccountID: c.AccountID, Region: region, Domain: d, Exact: true, Limit: 1})
		if err != nil {
			return nil, err
		}
		if len(rules) == 1 {
			bound = rules[0].CertID
		}
	}
	certs, err := s.store.Certs(ctx, c.AccountID)
	if err != nil {
		return nil, err
	}
	out := make([]CertView, 0, len(certs))
	for _, cert := range certs {
		v := certView(cert)
		v.DomainRelated = bound != 0 && cert.ID == bound
		out = append(out, v)
	}
	return out, nil
}

func (s *RuleService) certViews(ctx context.Context, accountID string) (map[int64]CertView, error) {
	certs, err := s.store.Certs(ctx, accountID)
	if err != nil {
		return nil, err
	}
	m := make(map[int64]CertView, len(certs))
	for _, c := range certs {
		m[c.ID] = certView(c)
	}
	return m, nil
}

func certView(c Cert) CertView {
	return CertView{ID: c.ID, Name: c.Name, Common: c.Common, Issuer: c.Issuer, NotBefore: c.NotBefore, NotAfter: c.NotAfter, Region: c.Region}
}

// MaxCertName is the longest certificate name.
const MaxCertName = 128

// parseCert checks an upload: a name, a PEM certificate (a chain: the
// leaf first) and a PEM private key that matches the leaf.
func parseCert(nc NewCert) (*Cert, error) {
	if nc.Name == "" {
		return nil, MissingParam("CertName")
	}
	if len(nc.Name) > MaxCertName {
		return nil, InvalidParam("CertName", fmt.Sprintf("a certificate name has at most %d characters", MaxCertName))
	}
	if nc.CertPEM == "" {
		return nil, MissingParam("Cert")
	}
	if nc.KeyPEM == "" {
		return nil, MissingParam("Key")
	}
	leaf, err := leafOf(nc.CertPEM)
	if err != nil {
		return nil, err
	}
	key, err := privateKeyOf(nc.KeyPEM)
	if err != nil {
		return nil, err
	}
	pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(leaf.PublicKey) {
		return nil, Errorf(CodeCertKeyNotMatch, "The private key (Key) does not belong to the certificate (Cert); give the key the certificate was issued for.")
	}
	issuer := leaf.Issuer.CommonName
	if issuer == "" && len(leaf.Issuer.Organization) > 0 {
		issuer = leaf.Issuer.Organization[0]
	}
	return &Cert{Name: nc.Name, CertPEM: nc.CertPEM, KeyPEM: nc.KeyPEM, Common: leaf.Subject.CommonName, Issuer: issuer,
		NotBefore: leaf.NotBefore, NotAfter: leaf.NotAfter}, nil
}

func leafOf(certPEM string) (*x509.Certificate, error) {
	rest := []byte(certPEM)
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return nil, Errorf(CodeCertFormatError, "The certificate (Cert) is not PEM: give the -----BEGIN CERTIFICATE----- block(s), the server's certificate first.")
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		leaf, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, Errorf(CodeCertFormatError, "The certificate (Cert) does not parse: %v.", err)
		}
		return leaf, nil
	}
}

func privateKeyOf(keyPEM string) (crypto.Signer, error) {
	rest := []byte(keyPEM)
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return nil, Errorf(CodeCertFormatError, "The private key (Key) is not PEM: give a -----BEGIN PRIVATE KEY----- (or RSA/EC PRIVATE KEY) block, unencrypted.")
		}
		var k any
		var err error
		switch b.Type {
		case "PRIVATE KEY":
			k, err = x509.ParsePKCS8PrivateKey(b.Bytes)
		case "RSA PRIVATE KEY":
			k, err = x509.ParsePKCS1PrivateKey(b.Bytes)
		case "EC PRIVATE KEY":
			k, err = x509.ParseECPrivateKey(b.Bytes)
		default:
			continue
		}
		if err != nil {
			return nil, Errorf(CodeCertFormatError, "The private key (Key) does not parse: %v.", err)
		}
		switch k := k.(type) {
		case *rsa.PrivateKey:
			return k, nil
		case *ecdsa.PrivateKey:
			return k, nil
		case ed25519.PrivateKey:
			return k, nil
		}
		return nil, Errorf(CodeCertFormatError, "The private key (Key) is of an unsupported type; use RSA, ECDSA or Ed25519.")
	}
}

// hostCovered checks that a certificate's names cover a website's domain
// (for a wildcard domain, the names its subdomains have).
func hostCovered(leaf *x509.Certificate, domain string) error {
	host := domain
	if strings.HasPrefix(host, "*.") {
		host = "wildcard-check" + host[1:]
	}
	if err := leaf.VerifyHostname(host); err != nil {
		return Errorf(CodeDomainDoesNotMatchCert, "The certificate's names (%s) do not cover the website %q.", strings.Join(leaf.DNSNames, ", "), domain)
	}
	return nil
}

func certCovers(certPEM, domain string) error {
	leaf, err := leafOf(certPEM)
	if err != nil {
		return err
	}
	return hostCovered(leaf, domain)
}
