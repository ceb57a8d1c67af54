package e2e

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	ddoscoov3 "github.com/alibabacloud-go/ddoscoo-20200101/v2/client"
	"github.com/alibabacloud-go/tea/tea"

	"moat/internal/admin"
)

// webOrigins serves a plain HTTP origin on ip:80 and a TLS one on ip:443
// that answer with their name, the Host and X-Forwarded-For.
func webOrigins(t testing.TB, ip string) {
	t.Helper()
	cert, key := selfSigned(t, "origin.test")
	kp, err := tls.X509KeyPair([]byte(cert), []byte(key))
	if err != nil {
		t.Fatal(err)
	}
	for _, port := range []string{"80", "443"} {
		ln, err := net.Listen("tcp", net.JoinHostPort(ip, port))
		if err != nil {
			t.Fatalf("origin: %v", err)
		}
		name := "plain"
		if port == "443" {
			ln, name = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{kp}}), "tls"
		}
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "%s host=%s xff=%s", name, r.Host, r.Header.Get("X-Forwarded-For"))
		})}
		go srv.Serve(ln)
		t.Cleanup(func() { srv.Close() })
	}
}

// webGet fetches url from src, dialling ip whatever the name, trusting
// pool; ok is false when the connection fails.
func webGet(src, ip, url string, pool *x509.CertPool) (status int, body string, ok bool) {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 2 * time.Second}
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			_, port, _ := net.SplitHostPort(addr)
			return d.DialContext(ctx, "tcp", net.JoinHostPort(ip, port))
		},
		TLSClientConfig:   &tls.Config{RootCAs: pool},
		ForceAttemptHTTP2: true,
	}}
	resp, err := c.Get(url)
	if err != nil {
		return 0, "", false
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err == nil
}

// TestWebDataplaneStory: a website created through the API with its
// certificate is served on the instance's IP over HTTP and HTTPS (by SNI),
// the client's address reaching the origin in X-Forwarded-For; it keeps
// being served after expiry; seven days later connections are refused and
// an open one is closed; renewal serves it again; after release nothing
// listens.
func TestWebDataplaneStory(t *testing.T) {
	if !canBindLowPorts() {
		t.Skip("listening on ports 80 and 443 needs root or net.ipv4.ip_unprivileged_port_start=0")
	}
	s := dataplaneServer(t, "127.66.1.0/24")
	const originIP = "127.66.9.1"
	webOrigins(t, originIP)
	in := createSingle(t, s, admin.InstancesRequest{ExpireIn: "720h"})
	c := SDKv3(t, s, testKeyID, testKeySecret)
	bss := BSSv1(t, s, testKeyID, testKeySecret)
	const domain = "www.web-e2e.test"

	if _, err := c.CreateDomainResource((&ddoscoov3.CreateDomainResourceRequest{}).SetDomain(domain).
		SetInstanceIds(tea.StringSlice([]string{in.InstanceId})).SetRsType(0).SetRealServers(tea.StringSlice([]string{originIP})).
		SetHttpsExt(`{"Http2":1}`).SetProxyTypes([]*ddoscoov3.CreateDomainResourceRequestProxyTypes{
		{ProxyType: tea.String("http"), ProxyPorts: []*int32{tea.Int32(80)}},
		{ProxyType: tea.String("https"), ProxyPorts: []*int32{tea.Int32(443)}},
	})); err != nil {
		t.Fatalf("CreateDomainResource: %v", err)
	}
	cert, key := selfSigned(t, domain)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM([]byte(cert))
	if err := associate(c, domain, "e2e-web", cert, key); err != nil {
		t.Fatalf("AssociateWebCert: %v", err)
	}

	served := func(src string) bool {
		st, body, ok := webGet(src, in.Ip, "https://"+domain+"/", pool)
		return ok && st == 200 && body == "tls host="+domain+" xff="+src
	}
	eventually(t, 3*time.Second, "HTTPS is served with the website's certificate", func() bool { return served("127.0.0.2") })
	st, body, ok := webGet("127.0.0.3", in.Ip, "http://"+domain+"/", nil)
	if !ok || st != 200 || body != "plain host="+domain+" xff=127.0.0.3" {
		t.Fatalf("HTTP: %d %q %v", st, body, ok)
	}
	if st, _, ok := webGet("127.0.0.3", in.Ip, "http://other.web-e2e.test/", nil); !ok || st != http.StatusNotFound {
		t.Fatalf("an unknown Host: %d %v, want 404", st, ok)
	}

	// Expired: still served.
	s.Advance(t, "721h")
	eventually(t, 3*time.Second, "served after expiry", func() bool { return served("127.0.0.2") })

	// Seven days later: an open keep-alive connection is closed, new ones
	// refused.
	open, err := net.Dial("tcp", net.JoinHostPort(in.Ip, "80"))
	if err != nil {
		t.Fatal(err)
	}
	defer open.Close()
	fmt.Fprintf(open, "GET / HTTP/1.1\r\nHost: %s\r\n\r\n", domain)
	br := bufio.NewReader(open)
	open.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("keep-alive request: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	s.Advance(t, "168h")
	open.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := br.ReadByte(); err == nil || strings.Contains(err.Error(), "timeout") {
		t.Fatalf("the open connection was not closed when forwarding stopped: %v", err)
	}
	if served("127.0.0.2") {
		t.Fatal("a stopped instance served a new connection")
	}

	// Renewal: served again.
	if _, err := bssRenew(bss, in.InstanceId, 1, ""); err != nil {
		t.Fatalf("RenewInstance: %v", err)
	}
	eventually(t, 5*time.Second, "renewal serves the website again", func() bool { return served("127.0.0.2") })

	// Release: nothing listens.
	s.Advance(t, "1000h")
	if _, err := c.ReleaseInstance((&ddoscoov3.ReleaseInstanceRequest{}).SetInstanceId(in.InstanceId)); err != nil {
		t.Fatalf("ReleaseInstance: %v", err)
	}
	eventually(t, 3*time.Second, "nothing listens after release", func() bool {
		_, err := net.DialTimeout("tcp", net.JoinHostPort(in.Ip, "443"), time.Second)
		return err != nil
	})
}

// canBindLowPorts reports whether this process may listen on 80 and 443.
func canBindLowPorts() bool {
	if os.Geteuid() == 0 {
		return true
	}
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_unprivileged_port_start")
	return err == nil && strings.TrimSpace(string(b)) == "0"
}
