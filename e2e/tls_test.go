package e2e

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ddoscoo"

	"moat/internal/admin"
)

var tlsReadyRE = regexp.MustCompile(`msg="moat ready" addr=\S+ tls_addr=(\S+)`)

// tlsAddr is the HTTPS address the current server process announced.
func tlsAddr(t testing.TB, s *Server) string {
	t.Helper()
	m := tlsReadyRE.FindAllStringSubmatch(s.Logs(), -1)
	if len(m) == 0 || m[len(m)-1][1] == `""` {
		t.Fatalf("no tls_addr in the ready line:\n%s", s.Logs())
	}
	return m[len(m)-1][1]
}

// certPool trusts the PEM certificate in file.
func certPool(t testing.TB, file string) (*x509.CertPool, []byte) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "CERTIFICATE" {
		t.Fatalf("%s holds no PEM certificate", file)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		t.Fatalf("%s: not a certificate", file)
	}
	return pool, block.Bytes
}

// servedCert connects to addr, verifying against pool, and returns the
// SHA-256 of the leaf certificate it serves.
func servedCert(t testing.TB, addr string, pool *x509.CertPool) [32]byte {
	t.Helper()
	c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatalf("TLS handshake with %s: %v", addr, err)
	}
	defer c.Close()
	return sha256.Sum256(c.ConnectionState().PeerCertificates[0].Raw)
}

// httpsV1 is sdk-go v1 over HTTPS to addr, trusting pool.
func httpsV1(t testing.TB, addr, keyID, secret string, pool *x509.CertPool) *ddoscoo.Client {
	t.Helper()
	c, err := ddoscoo.NewClientWithAccessKey("cn-hangzhou", keyID, secret)
	if err != nil {
		t.Fatal(err)
	}
	c.EndpointMap = map[string]string{"cn-hangzhou": addr}
	c.SetTransport(&http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}})
	return c
}

func httpsDescribe(c *ddoscoo.Client) (*ddoscoo.DescribeInstancesResponse, error) {
	req := describeRequestV1()
	req.Scheme = requests.HTTPS
	return c.DescribeInstances(req)
}

// writeTestCert makes a certificate for 127.0.0.1 in dir.
func writeTestCert(t testing.TB, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(4242),
		Subject:               pkix.Name{CommonName: "moat e2e test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// TestTLSCertFiles pins --tls-cert/--tls-key: the HTTPS listener serves
// exactly that certificate, sdk-go v1 calls over it, the admin API answers
// there too, and plain HTTP keeps working on --addr.
func TestTLSCertFiles(t *testing.T) {
	certFile, keyFile := writeTestCert(t, t.TempDir())
	s := StartServer(t, WithArgs("--tls-cert", certFile, "--tls-key", keyFile, "--tls-addr", "127.0.0.1:0"))
	createSingle(t, s, admin.InstancesRequest{})
	addr := tlsAddr(t, s)
	pool, der := certPool(t, certFile)
	if got := servedCert(t, addr, pool); got != sha256.Sum256(der) {
		t.Fatal("the HTTPS listener does not serve the --tls-cert certificate")
	}
	resp, err := httpsDescribe(httpsV1(t, addr, testKeyID, testKeySecret, pool))
	if err != nil || resp.TotalCount != 1 {
		t.Fatalf("DescribeInstances over HTTPS: %v", err)
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: 10 * time.Second}
	h, err := hc.Get("https://" + addr + "/_moat/health")
	if err != nil || h.StatusCode != 200 {
		t.Fatalf("health over HTTPS: %v", err)
	}
	h.Body.Close()
	ac := &admin.Client{Endpoint: "https://" + addr, Token: adminToken, HTTP: hc}
	if _, err := ac.Clock(t.Context()); err != nil {
		t.Fatalf("admin API over HTTPS: %v", err)
	}
	if resp := v1List(t, SDKv1(t, s, "cn-hangzhou", testKeyID, testKeySecret), nil); resp.TotalCount != 1 {
		t.Fatalf("HTTP beside HTTPS: TotalCount %d, want 1", resp.TotalCount)
	}

	r := runMoat(t, map[string]string{}, "serve", "--addr", "127.0.0.1:0", "--db", filepath.Join(t.TempDir(), "x.db"), "--tls-cert", certFile)
	cliWantExit(t, r, 2, "serve --tls-cert without --tls-key")
}

// TestTLSSelfSignedAndSecureTransport pins --tls-self-signed: it writes a
// certificate beside the database, serves it, and reuses it after a
// restart (same fingerprint); and acs:SecureTransport reflects the
// connection: a policy requiring it refuses a call over HTTP (even one
// whose SDK claims SecureTransport) and allows it over the TLS listener.
func TestTLSSelfSignedAndSecureTransport(t *testing.T) {
	s := StartServer(t, WithArgs("--tls-self-signed", "--tls-addr", "127.0.0.1:0"))
	ramAccount(t, s)
	createSingle(t, s, admin.InstancesRequest{AccountId: ramAcct})
	certFile := filepath.Join(s.Dir, "tls-cert.pem")
	pool, der := certPool(t, certFile)
	first := servedCert(t, tlsAddr(t, s), pool)
	if first != sha256.Sum256(der) {
		t.Fatal("the HTTPS listener does not serve the certificate written beside the database")
	}
	pemBefore, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}

	u := newRAMUser(t, s, ramAcct, "tls", map[string]string{"p": policyDoc(allowStmt("yundun-ddoscoo:Describe*", "*", `{"Bool": {"acs:SecureTransport": "true"}}`))})
	plain := SDKv1(t, s, "cn-hangzhou", u.KeyID, u.Secret)
	_, err = plain.DescribeInstances(describeRequestV1())
	refused := deniedDetail(ramDescribe, "SubUser", "tls", "ImplicitDeny", "AccountLevelIdentityBasedPolicy")
	wantDeniedV1(t, "over HTTP", err, refused)
	// sdk-go v1's proxy fields are the client's claim, not the connection.
	plain.SecureTransport, plain.SourceIp = "true", "127.0.0.1"
	_, err = plain.DescribeInstances(describeRequestV1())
	wantDeniedV1(t, "over HTTP claiming SecureTransport", err, refused)

	resp, err := httpsDescribe(httpsV1(t, tlsAddr(t, s), u.KeyID, u.Secret, pool))
	if err != nil || resp.TotalCount != 1 {
		t.Fatalf("over HTTPS: %v", err)
	}

	s.Stop()
	s.Restart()
	if got := servedCert(t, tlsAddr(t, s), pool); got != first {
		t.Fatal("after a restart the HTTPS listener serves another certificate")
	}
	pemAfter, err := os.ReadFile(certFile)
	if err != nil || !bytes.Equal(pemBefore, pemAfter) {
		t.Fatalf("the certificate file changed across the restart (%v)", err)
	}
	if _, err := httpsDescribe(httpsV1(t, tlsAddr(t, s), u.KeyID, u.Secret, pool)); err != nil {
		t.Fatalf("over HTTPS after a restart: %v", err)
	}
	if st, err := os.Stat(filepath.Join(s.Dir, "tls-key.pem")); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("tls-key.pem: %v, want mode 0600", err)
	}
}
