package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"net"
	"os"
	"path/filepath"
	"testing"
)

// TestSelfSigned pins --tls-self-signed's certificate: made once in a
// directory that need not exist yet (a PostgreSQL store's ./moat-data),
// the key file private, valid for 127.0.0.1 and localhost, and kept as
// it is by later starts.
func TestSelfSigned(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "moat-data")
	certFile, keyFile := filepath.Join(dir, "tls-cert.pem"), filepath.Join(dir, "tls-key.pem")
	made, err := selfSigned(certFile, keyFile)
	if err != nil || !made {
		t.Fatalf("selfSigned in a new directory = %v, %v; want made", made, err)
	}
	if st, err := os.Stat(keyFile); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, want mode 0600", err)
	}
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := leaf.VerifyHostname("127.0.0.1"); err != nil {
		t.Error(err)
	}
	if err := leaf.VerifyHostname("localhost"); err != nil {
		t.Error(err)
	}
	if !leaf.IPAddresses[0].Equal(net.IPv4(127, 0, 0, 1)) {
		t.Errorf("IP SANs %v", leaf.IPAddresses)
	}
	before, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	made, err = selfSigned(certFile, keyFile)
	if err != nil || made {
		t.Fatalf("selfSigned again = %v, %v; want the existing pair kept", made, err)
	}
	after, err := os.ReadFile(certFile)
	if err != nil || !bytes.Equal(before, after) {
		t.Fatalf("the certificate changed on a second start (%v)", err)
	}
}
