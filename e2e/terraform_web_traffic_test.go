package e2e

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"testing"
	"time"

	"moat/internal/admin"
)

// tfCAIssued makes a test CA and, signed by it, an RSA certificate for
// domain with its PKCS #1 key, as PEM (what a Terraform user pastes into
// cert and key); the pool trusts the CA.
func tfCAIssued(t testing.TB, domain string) (pool *x509.CertPool, leaf *x509.Certificate, certPEM, keyPEM string) {
	t.Helper()
	caKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(9100), Subject: pkix.Name{CommonName: "moat terraform test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(9101), Subject: pkix.Name{CommonName: domain}, DNSNames: []string{domain},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err = x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(ca)
	return pool, leaf, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}))
}

// TestTerraformDomainResourceTraffic replays alicloud_ddoscoo_domain_resource's
// create with a certificate against `moat serve --dataplane`
// (CreateDomainResource, then AssociateWebCert with Domain, Key, Cert and
// CertName in the body, then the read), and then sends HTTPS through the
// website: a client that trusts only the test CA reaches the origin over
// HTTP/2 with the website's certificate, its address in X-Forwarded-For.
// The instance listens in 127.66.6.0/24; the origin is 127.66.7.1 and the
// client 127.66.7.11.
func TestTerraformDomainResourceTraffic(t *testing.T) {
	s := dataplaneServer(t, "127.66.6.0/24")
	const domain = "www.moat-tf-traffic.com"
	const originIP, clientIP, port = "127.66.7.1", "127.66.7.11", "8443"

	// The origin is reached over TLS on the port the request came in on.
	oc, ok := selfSigned(t, "origin.test")
	kp, err := tls.X509KeyPair([]byte(oc), []byte(ok))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", net.JoinHostPort(originIP, port), &tls.Config{Certificates: []tls.Certificate{kp}})
	if err != nil {
		t.Fatalf("origin: %v", err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "origin host=%s xff=%s proto=%s", r.Host, r.Header.Get("X-Forwarded-For"), r.Header.Get("X-Forwarded-Proto"))
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	in := createSingle(t, s, admin.InstancesRequest{ExpireIn: "720h"})
	conn := TeaRPC(t, s, testKeyID, testKeySecret)
	pool, leaf, certPEM, keyPEM := tfCAIssued(t, domain)
	c := tfWebConfig{
		Domain:      domain,
		InstanceIDs: []string{in.InstanceId},
		ProxyTypes:  []tfProxy{{Type: "https", Ports: []int{8443}}},
		RsType:      0,
		RealServers: []string{originIP},
		HttpsExt:    `{"Http2":1,"Http2https":0,"Https2http":0}`,
		Cert:        certPEM,
		Key:         keyPEM,
		CertName:    "tf-traffic-cert",
	}
	createID, st := tfWebCreate(t, conn, c)
	tfWantWeb(t, "after create", st, c)
	tfWantEvent(t, s, in.InstanceId, "rule_created", createID)
	if fmt.Sprint(st.WebRule["CertName"]) != c.CertName {
		t.Fatalf("DescribeWebRules WebRules[0].CertName = %v, want %s", st.WebRule["CertName"], c.CertName)
	}

	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(clientIP)}, Timeout: 2 * time.Second}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return d.DialContext(ctx, "tcp", net.JoinHostPort(in.Ip, port))
		},
		TLSClientConfig:   &tls.Config{RootCAs: pool},
		ForceAttemptHTTP2: true,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Timeout: 5 * time.Second, Transport: tr}
	var resp *http.Response
	var body string
	eventually(t, 3*time.Second, "HTTPS is served with the certificate Terraform sent", func() bool {
		r, err := client.Get("https://" + domain + ":" + port + "/")
		if err != nil {
			return false
		}
		defer r.Body.Close()
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return false
		}
		resp, body = r, string(b)
		return true
	})
	want := "origin host=" + domain + ":" + port + " xff=" + clientIP + " proto=https"
	if resp.StatusCode != 200 || body != want {
		t.Fatalf("HTTPS through the website: %d %q, want 200 %q", resp.StatusCode, body, want)
	}
	if resp.ProtoMajor != 2 {
		t.Errorf("protocol %s, want HTTP/2 (HttpsExt Http2 1)", resp.Proto)
	}
	if certs := resp.TLS.PeerCertificates; len(certs) == 0 || certs[0].SerialNumber.Cmp(leaf.SerialNumber) != 0 || certs[0].Subject.CommonName != domain {
		t.Errorf("the website served another certificate: %v", certs)
	}
}
