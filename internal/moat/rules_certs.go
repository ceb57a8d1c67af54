package moat

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
)

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
