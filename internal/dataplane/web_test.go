package dataplane

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"moat/internal/moat"
)

// Website tests use octets n from 60 up: the instance listens on
// 127.91.n.1 at the website's ports, origins on 127.92.n.k at the same
// ports, clients come from 127.93.n.k.

// needLowPorts skips a test that listens on 80 or 443 where this process
// may not.
func needLowPorts(t *testing.T) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_unprivileged_port_start"); err == nil && strings.TrimSpace(string(b)) == "0" {
		return
	}
	t.Skip("listening on ports 80 and 443 needs root or net.ipv4.ip_unprivileged_port_start=0")
}

// testCA issues certificates for the tests' websites.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "moat test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{cert: cert, key: key, pool: pool}
}

var serials atomic.Int64

// issue returns a certificate for names (its serial number tells issues
// apart) and its key, in PEM.
func (ca *testCA) issue(t *testing.T, names ...string) (certPEM, keyPEM string, serial int64) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial = 100 + serials.Add(1)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: names[0]}, DNSNames: names,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kd, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd})), serial
}

// webOrigin is an HTTP origin: it answers with its name, the Host and the
// forwarding headers it got, and echoes a websocket-style upgrade.
type webOrigin struct {
	name string
	hits atomic.Int64
}

func (o *webOrigin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	o.hits.Add(1)
	if r.Header.Get("Upgrade") == "websocket" {
		c, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer c.Close()
		brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
		brw.Flush()
		// Echo lines, prefixed with the origin's name.
		for {
			line, err := brw.ReadString('\n')
			if err != nil {
				return
			}
			brw.WriteString(o.name + ":" + line)
			brw.Flush()
		}
	}
	if r.URL.Path == "/slow-fail" {
		panic(http.ErrAbortHandler)
	}
	io.Copy(io.Discard, r.Body)
	tlsOn := "no"
	if r.TLS != nil {
		tlsOn = "yes"
	}
	fmt.Fprintf(w, "origin=%s host=%s path=%s xff=%s proto=%s realip=%s tls=%s", o.name, r.Host, r.URL.Path,
		r.Header.Get("X-Forwarded-For"), r.Header.Get("X-Forwarded-Proto"), r.Header.Get("X-Real-IP"), tlsOn)
}

// startWebOrigin serves o at addr, over TLS when cert is given.
func startWebOrigin(t *testing.T, addr, name string, cert *tls.Certificate) *webOrigin {
	t.Helper()
	ln, err := net.Listen("tcp4", addr)
	if err != nil {
		t.Fatalf("origin %s: %v", addr, err)
	}
	if cert != nil {
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{*cert}})
	}
	o := &webOrigin{name: name}
	srv := &http.Server{Handler: o, ErrorLog: nil}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return o
}

// webEdge is an instance with IP frontIP(n) expiring in 30 days.
func webEdge(f *fakeSource, n int) moat.Edge {
	return edge(f, n)
}

// website is a website of account "acct" bound to instance n.
func website(n int, domain string, types map[string][]int, origins ...int) moat.WebSite {
	w := moat.WebSite{WebRule: moat.WebRule{AccountID: "acct", Domain: domain, InstanceIDs: []string{fmt.Sprintf("ddoscoo-cn-test%08d", n)}}}
	for _, typ := range []string{moat.ProxyHTTP, moat.ProxyHTTPS, moat.ProxyWebsocket, moat.ProxyWebsockets} {
		if ports, ok := types[typ]; ok {
			w.ProxyTypes = append(w.ProxyTypes, moat.ProxyType{Type: typ, Ports: ports})
		}
	}
	for _, k := range origins {
		w.RealServers = append(w.RealServers, originIP(n, k))
	}
	return w
}

// setWeb replaces the snapshot with these edges and websites.
func (f *fakeSource) setWeb(edges []moat.Edge, webs ...moat.WebSite) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.snap = moat.Snapshot{Seq: f.snap.Seq + 1, Edges: slices.Clone(edges), Webs: slices.Clone(webs)}
}

// webTotals sums the website samples written for domain.
func (f *fakeSource) webTotals(domain string) moat.WebTrafficSample {
	f.mu.Lock()
	defer f.mu.Unlock()
	var t moat.WebTrafficSample
	for _, s := range f.webSamples {
		if s.Domain == domain {
			t = addWebSamples(t, s)
		}
	}
	return t
}

// webClient is an HTTP client from source 127.93.n.k that dials the
// instance for every name, trusting ca; each client has its own
// connections.
func webClient(n, k int, ca *testCA, h2 bool) *http.Client {
	d := &net.Dialer{LocalAddr: clientAddr(n, k), Timeout: time.Second}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			_, port, _ := net.SplitHostPort(addr)
			return d.DialContext(ctx, "tcp4", net.JoinHostPort(frontIP(n), port))
		},
		ForceAttemptHTTP2:  h2,
		DisableCompression: true,
	}
	if ca != nil {
		tr.TLSClientConfig = &tls.Config{RootCAs: ca.pool}
	}
	return &http.Client{Transport: tr, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// get fetches url until the plane serves it (the first answers may come
// before the listener is up), and returns the status and body.
func get(t *testing.T, c *http.Client, url string) (*http.Response, string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, err := c.Get(url)
		if err == nil {
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err == nil {
				return resp, string(b)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: %v", url, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestWebHTTPAndHTTPSBySNI(t *testing.T) {
	needLowPorts(t)
	const n = 60
	src := &fakeSource{}
	ca := newTestCA(t)
	certA, keyA, serialA := ca.issue(t, "a.example.test")
	certB, keyB, serialB := ca.issue(t, "*.b.example.test")
	// Origins of HTTPS requests are reached over TLS on 443.
	startWebOrigin(t, originIP(n, 1)+":443", "A-tls", mustCert(t, ca))
	startWebOrigin(t, originIP(n, 2)+":80", "B", nil)
	startWebOrigin(t, originIP(n, 2)+":443", "B-tls", mustCert(t, ca))

	a := website(n, "a.example.test", map[string][]int{moat.ProxyHTTPS: {443}}, 1)
	a.CertPEM, a.KeyPEM = certA, keyA
	a.HTTPSExt.Http2 = 1
	b := website(n, "*.b.example.test", map[string][]int{moat.ProxyHTTP: {80}, moat.ProxyHTTPS: {443}}, 2)
	b.CertPEM, b.KeyPEM = certB, keyB
	src.setWeb([]moat.Edge{webEdge(src, n)}, a, b)
	startPlane(t, src, nil)

	c := webClient(n, 7, ca, true)
	// HTTPS by SNI: each name gets its own certificate and website.
	resp, body := get(t, c, "https://a.example.test/x")
	if got := resp.TLS.PeerCertificates[0].SerialNumber.Int64(); got != serialA {
		t.Errorf("a.example.test served certificate %d, want %d", got, serialA)
	}
	if resp.ProtoMajor != 2 {
		t.Errorf("a.example.test (Http2 1) spoke %s, want HTTP/2", resp.Proto)
	}
	want := fmt.Sprintf("origin=A-tls host=a.example.test path=/x xff=%s proto=https realip=%s tls=yes", clientIP(n, 7), clientIP(n, 7))
	if body != want {
		t.Errorf("a.example.test over HTTPS: %q, want %q", body, want)
	}
	resp, body = get(t, c, "https://www.b.example.test/y")
	if got := resp.TLS.PeerCertificates[0].SerialNumber.Int64(); got != serialB {
		t.Errorf("www.b.example.test served certificate %d, want %d (the wildcard's)", got, serialB)
	}
	if resp.ProtoMajor != 1 {
		t.Errorf("www.b.example.test (Http2 0) spoke %s, want HTTP/1.1", resp.Proto)
	}
	if !strings.HasPrefix(body, "origin=B-tls host=www.b.example.test path=/y") || !strings.Contains(body, "proto=https") {
		t.Errorf("www.b.example.test over HTTPS: %q", body)
	}
	// Plain HTTP by Host; a client's X-Forwarded-For is kept, the client
	// appended.
	req, _ := http.NewRequest("GET", "http://deep.www.b.example.test/z", nil)
	req.Header.Set("X-Forwarded-For", "203.0.113.9")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	bb, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	want = fmt.Sprintf("origin=B host=deep.www.b.example.test path=/z xff=203.0.113.9, %s proto=http realip=%s tls=no", clientIP(n, 7), clientIP(n, 7))
	if string(bb) != want {
		t.Errorf("HTTP with X-Forwarded-For: %q, want %q", bb, want)
	}
	// An unknown Host gets 404; an unknown SNI fails the handshake.
	resp, _ = get(t, c, "http://unknown.example.test/")
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown Host: %d, want 404", resp.StatusCode)
	}
	if _, err := c.Get("https://unknown.example.test/"); err == nil {
		t.Errorf("unknown SNI: the handshake succeeded, want it to fail")
	}

	// Counters: requests by website and status.
	waitFor(t, "website samples", func() bool {
		ta, tb := src.webTotals("a.example.test"), src.webTotals("*.b.example.test")
		return ta.Requests == 1 && tb.Requests == 2 && ta.Status2xx == 1 && tb.Codes[0] == 2 && ta.InBytes > 0 && tb.OutBytes > 0
	})
}

func TestWebRedirectAndHTTPSToHTTP(t *testing.T) {
	needLowPorts(t)
	const n = 61
	src := &fakeSource{}
	ca := newTestCA(t)
	cert, key, _ := ca.issue(t, "r.example.test")
	o80 := startWebOrigin(t, originIP(n, 1)+":80", "plain80", nil)
	w := website(n, "r.example.test", map[string][]int{moat.ProxyHTTP: {80}, moat.ProxyHTTPS: {443}}, 1)
	w.CertPEM, w.KeyPEM = cert, key
	w.HTTPSExt = moat.HTTPSExt{Http2https: 1, Https2http: 1}
	src.setWeb([]moat.Edge{webEdge(src, n)}, w)
	startPlane(t, src, nil)
	c := webClient(n, 1, ca, false)

	resp, _ := get(t, c, "http://r.example.test/a/b?q=1")
	if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != "https://r.example.test/a/b?q=1" {
		t.Errorf("HTTP with Http2https: %d Location %q, want 301 https://r.example.test/a/b?q=1", resp.StatusCode, resp.Header.Get("Location"))
	}
	if o80.hits.Load() != 0 {
		t.Errorf("the redirect reached the origin")
	}
	_, body := get(t, c, "https://r.example.test/c")
	if !strings.HasPrefix(body, "origin=plain80 host=r.example.test path=/c") || !strings.Contains(body, "proto=https") ||
		!strings.HasSuffix(body, "tls=no") {
		t.Errorf("HTTPS with Https2http: %q, want origin plain80 reached in clear on port 80 with proto=https", body)
	}
}

func TestWebWebsocketUpgrade(t *testing.T) {
	const n = 62
	const port = 8081
	src := &fakeSource{}
	startWebOrigin(t, net.JoinHostPort(originIP(n, 1), strconv.Itoa(port)), "ws", nil)
	w := website(n, "ws.example.test", map[string][]int{moat.ProxyWebsocket: {port}}, 1)
	src.setWeb([]moat.Edge{webEdge(src, n)}, w)
	startPlane(t, src, nil)

	c := dialWeb(t, n, 1, port)
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(c, "GET /chat HTTP/1.1\r\nHost: ws.example.test:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", port)
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("upgrade: %v", err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: %d, want 101", resp.StatusCode)
	}
	for _, msg := range []string{"hello\n", "again\n"} {
		io.WriteString(c, msg)
		line, err := br.ReadString('\n')
		if err != nil || line != "ws:"+msg {
			t.Fatalf("through the upgraded connection: %q, %v; want %q", line, err, "ws:"+msg)
		}
	}
}

// dialWeb connects to the instance's port from source k, retrying until
// the plane listens.
func dialWeb(t *testing.T, n, k, port int) net.Conn {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	d := net.Dialer{LocalAddr: clientAddr(n, k), Timeout: time.Second}
	for {
		c, err := d.Dial("tcp4", net.JoinHostPort(frontIP(n), strconv.Itoa(port)))
		if err == nil {
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("dial: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestWebIPHashSticksAndFailingOrigin(t *testing.T) {
	const n = 63
	const port = 8082
	src := &fakeSource{}
	startWebOrigin(t, net.JoinHostPort(originIP(n, 1), strconv.Itoa(port)), "one", nil)
	startWebOrigin(t, net.JoinHostPort(originIP(n, 2), strconv.Itoa(port)), "two", nil)
	w := website(n, "h.example.test", map[string][]int{moat.ProxyHTTP: {port}}, 1, 2)
	down := website(n, "down.example.test", map[string][]int{moat.ProxyHTTP: {port}}, 9) // nothing listens there
	src.setWeb([]moat.Edge{webEdge(src, n)}, w, down)
	startPlane(t, src, nil)

	seen := map[string]bool{}
	for k := 1; k <= 8; k++ {
		c := webClient(n, k, nil, false)
		var first string
		for i := 0; i < 4; i++ {
			_, body := get(t, c, fmt.Sprintf("http://h.example.test:%d/", port))
			o, _, _ := strings.Cut(body, " ")
			if i == 0 {
				first = o
			} else if o != first {
				t.Errorf("client %d: request %d went to %s, the first to %s", k, i, o, first)
			}
		}
		seen[first] = true
	}
	if !seen["origin=one"] || !seen["origin=two"] {
		t.Errorf("eight clients reached %v, want both origins", seen)
	}

	resp, body := get(t, webClient(n, 1, nil, false), fmt.Sprintf("http://down.example.test:%d/", port))
	if resp.StatusCode != http.StatusBadGateway {
		t.Errorf("failing origin: %d %q, want 502", resp.StatusCode, body)
	}
	waitFor(t, "the 502 counted", func() bool {
		s := src.webTotals("down.example.test")
		return s.Requests == 1 && s.Status5xx == 1 && s.Codes[slices.Index(moat.WebStatusCodes[:], 502)] == 1
	})
}

// blockGuard refuses requests for /blocked (405) and counts what it saw.
type blockGuard struct {
	mu       sync.Mutex
	settings []WebGuardSettings
	seen     atomic.Int64
}

func (g *blockGuard) Update(s WebGuardSettings) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.settings = append(g.settings, s)
}

func (g *blockGuard) Request(src netip.Addr, r *http.Request, now time.Time) WebVerdict {
	g.seen.Add(1)
	if r.URL.Path == "/blocked" {
		return WebVerdict{Status: 405, Body: []byte("blocked\n"), Attack: true, Reason: "precise:p"}
	}
	return WebVerdict{Allow: true}
}

func (g *blockGuard) Events(now time.Time) []moat.WebAttackEvent { return nil }

func TestWebLifecycle(t *testing.T) {
	const n = 64
	const port = 8083
	src := &fakeSource{}
	o := startWebOrigin(t, net.JoinHostPort(originIP(n, 1), strconv.Itoa(port)), "life", nil)
	w := website(n, "l.example.test", map[string][]int{moat.ProxyHTTP: {port}}, 1)
	e := webEdge(src, n)
	src.setWeb([]moat.Edge{e}, w)
	g := &blockGuard{}
	var made []WebGuardSettings
	startPlane(t, src, func(c *Config) {
		c.NewWebGuard = func(s WebGuardSettings) WebGuard { made = append(made, s); return g }
	})
	c := webClient(n, 1, nil, false)
	url := fmt.Sprintf("http://l.example.test:%d", port)

	// In service: the guard refuses /blocked, which never reaches the
	// origin.
	resp, body := get(t, c, url+"/blocked")
	if resp.StatusCode != 405 || body != "blocked\n" || o.hits.Load() != 0 {
		t.Fatalf("in service, /blocked: %d %q (origin hits %d), want 405 from the guard", resp.StatusCode, body, o.hits.Load())
	}
	if len(made) != 1 || !made[0].Mitigate || made[0].Domain != "l.example.test" || made[0].AccountID != "acct" {
		t.Errorf("guard made with %+v, want one, mitigating, for acct/l.example.test", made)
	}
	waitFor(t, "the attack counted", func() bool { s := src.webTotals("l.example.test"); return s.AttackRequests == 1 && s.Status4xx == 1 })

	// Expired: proxied, unprotected.
	src.move(30*24*time.Hour + time.Hour)
	waitFor(t, "the guard told of the expiry", func() bool {
		g.mu.Lock()
		defer g.mu.Unlock()
		return len(g.settings) > 0 && !g.settings[len(g.settings)-1].Mitigate
	})
	seen := g.seen.Load()
	_, body = get(t, c, url+"/blocked")
	if !strings.HasPrefix(body, "origin=life") || g.seen.Load() != seen {
		t.Errorf("expired, /blocked: %q (guard consulted %d times more), want the origin's answer, the guard not consulted", body, g.seen.Load()-seen)
	}

	// Forwarding stopped: an open keep-alive connection is closed, new
	// ones are reset.
	keep := dialWeb(t, n, 2, port)
	defer keep.Close()
	fmt.Fprintf(keep, "GET /k HTTP/1.1\r\nHost: l.example.test\r\n\r\n")
	br := bufio.NewReader(keep)
	if resp, err := http.ReadResponse(br, nil); err != nil || resp.StatusCode != 200 {
		t.Fatalf("keep-alive request: %v", err)
	} else {
		io.Copy(io.Discard, resp.Body)
	}
	src.move(7 * 24 * time.Hour)
	keep.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := br.ReadByte(); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("stopped: the open connection read %v, want it closed", err)
	}
	waitFor(t, "new connections refused", func() bool {
		d := net.Dialer{LocalAddr: clientAddr(n, 3), Timeout: time.Second}
		cc, err := d.Dial("tcp4", net.JoinHostPort(frontIP(n), strconv.Itoa(port)))
		if err != nil {
			return true
		}
		defer cc.Close()
		fmt.Fprintf(cc, "GET / HTTP/1.1\r\nHost: l.example.test\r\n\r\n")
		cc.SetReadDeadline(time.Now().Add(2 * time.Second))
		_, err = http.ReadResponse(bufio.NewReader(cc), nil)
		return err != nil
	})

	// Renewed: back, and protected.
	src.move(-(37*24*time.Hour + time.Hour))
	waitFor(t, "served and protected again", func() bool {
		resp, err := webClient(n, 4, nil, false).Get(url + "/blocked")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 405
	})
}

func TestWebCertificateChangeKeepsConnections(t *testing.T) {
	needLowPorts(t)
	const n = 65
	src := &fakeSource{}
	ca := newTestCA(t)
	cert1, key1, serial1 := ca.issue(t, "c.example.test")
	cert2, key2, serial2 := ca.issue(t, "c.example.test")
	startWebOrigin(t, originIP(n, 1)+":443", "c", mustCert(t, ca))
	w := website(n, "c.example.test", map[string][]int{moat.ProxyHTTPS: {443}}, 1)
	w.CertPEM, w.KeyPEM = cert1, key1
	edges := []moat.Edge{webEdge(src, n)}
	src.setWeb(edges, w)
	startPlane(t, src, nil)

	c := webClient(n, 1, ca, false)
	resp, _ := get(t, c, "https://c.example.test/1")
	if got := resp.TLS.PeerCertificates[0].SerialNumber.Int64(); got != serial1 {
		t.Fatalf("first certificate %d, want %d", got, serial1)
	}
	w.CertPEM, w.KeyPEM = cert2, key2
	src.setWeb(edges, w)
	// A new connection sees the new certificate within a second…
	start := time.Now()
	waitFor(t, "the new certificate", func() bool {
		resp, err := webClient(n, 2, ca, false).Get("https://c.example.test/2")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.TLS.PeerCertificates[0].SerialNumber.Int64() == serial2
	})
	if d := time.Since(start); d > time.Second {
		t.Errorf("the new certificate took %v, want within 1 s", d)
	}
	// …while the open keep-alive connection goes on serving.
	var reused bool
	req, _ := http.NewRequest("GET", "https://c.example.test/3", nil)
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
		GotConn: func(i httptrace.GotConnInfo) { reused = i.Reused },
	}))
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("on the open connection: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if !reused || resp.StatusCode != 200 || resp.TLS.PeerCertificates[0].SerialNumber.Int64() != serial1 {
		t.Errorf("after the change: reused %v, status %d, certificate %d; want the open connection (certificate %d) still serving",
			reused, resp.StatusCode, resp.TLS.PeerCertificates[0].SerialNumber.Int64(), serial1)
	}
}

func mustCert(t *testing.T, ca *testCA) *tls.Certificate {
	t.Helper()
	c, k, _ := ca.issue(t, "origin")
	cert, err := tls.X509KeyPair([]byte(c), []byte(k))
	if err != nil {
		t.Fatal(err)
	}
	return &cert
}

// The proxy leaves compression to the client: a request without
// Accept-Encoding reaches the origin without one, and a gzip answer to a
// client that asked for it arrives still compressed, as sent.
func TestWebPassesCompressionThrough(t *testing.T) {
	needLowPorts(t)
	const n = 66
	gz := []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff, 1, 0, 0, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0}
	var seen atomic.Value
	ln, err := net.Listen("tcp4", originIP(n, 1)+":80")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ae := r.Header.Get("Accept-Encoding")
		seen.Store(ae)
		if ae == "gzip" {
			w.Header().Set("Content-Encoding", "gzip")
			w.Write(gz)
			return
		}
		io.WriteString(w, "plain")
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	src := &fakeSource{}
	src.setWeb([]moat.Edge{webEdge(src, n)}, website(n, "gz.example.test", map[string][]int{moat.ProxyHTTP: {80}}, 1))
	startPlane(t, src, nil)

	c := webClient(n, 1, nil, false)
	if _, body := get(t, c, "http://gz.example.test/"); body != "plain" || seen.Load() != "" {
		t.Errorf("without Accept-Encoding: body %q, the origin saw Accept-Encoding %q, want none", body, seen.Load())
	}
	req, _ := http.NewRequest("GET", "http://gz.example.test/", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.Header.Get("Content-Encoding") != "gzip" || !bytes.Equal(b, gz) {
		t.Errorf("gzip answer: Content-Encoding %q, body %x, want gzip and %x", resp.Header.Get("Content-Encoding"), b, gz)
	}
}
