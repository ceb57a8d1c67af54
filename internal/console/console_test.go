package console

import (
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestHandler pins the console's paths: the page, its files with their
// types and security headers, a redirect from /console, 404 for any other
// name and 405 for other methods.
func TestHandler(t *testing.T) {
	h := Handler()
	for _, c := range []struct {
		method, path string
		status       int
		ctype        string
	}{
		{"GET", "/console/", 200, "text/html; charset=utf-8"},
		{"HEAD", "/console/", 200, "text/html; charset=utf-8"},
		{"GET", "/console/app.js", 200, "text/javascript; charset=utf-8"},
		{"GET", "/console/sign.js", 200, "text/javascript; charset=utf-8"},
		{"GET", "/console/app.css", 200, "text/css; charset=utf-8"},
		{"GET", "/console", 301, ""},
		{"GET", "/console/index.htm", 404, ""},
		{"GET", "/console/../go.mod", 404, ""},
		{"GET", "/console/static/app.js", 404, ""},
		{"POST", "/console/", 405, ""},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(c.method, "http://moat"+c.path, nil))
		if rec.Code != c.status {
			t.Errorf("%s %s: status %d, want %d", c.method, c.path, rec.Code, c.status)
			continue
		}
		if c.status != 200 {
			continue
		}
		if got := rec.Header().Get("Content-Type"); got != c.ctype {
			t.Errorf("%s %s: Content-Type %q, want %q", c.method, c.path, got, c.ctype)
		}
		if csp := rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("%s %s: Content-Security-Policy %q", c.method, c.path, csp)
		}
		if rec.Header().Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s %s: no X-Content-Type-Options: nosniff", c.method, c.path)
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "http://moat/console", nil))
	if loc := rec.Header().Get("Location"); loc != Prefix {
		t.Errorf("GET /console redirects to %q, want %q", loc, Prefix)
	}
}

// TestPageHasNoRemoteAssets pins that the page works offline: no file
// refers to another host.
func TestPageHasNoRemoteAssets(t *testing.T) {
	for _, name := range []string{"index.html", "app.js", "app.css", "sign.js"} {
		b, err := static.ReadFile("static/" + name)
		if err != nil {
			t.Fatal(err)
		}
		// The SVG namespace is a name, not an address that is loaded.
		text := strings.ReplaceAll(string(b), "'http://www.w3.org/2000/svg'", "")
		for _, bad := range []string{"http://", "https://", "//cdn", "@import"} {
			if strings.Contains(text, bad) {
				t.Errorf("%s contains %q: the console must not load anything from elsewhere", name, bad)
			}
		}
	}
}

// TestSignerGoldenVector runs the console's signer (static/sign.js) in
// Node.js against the signature v3 golden vector that internal/acs pins
// (TestSignV3GoldenVector): the browser signs exactly as the SDKs do.
func TestSignerGoldenVector(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is not installed: %v (the console's signer is tested in Node.js; README.md lists it)", err)
	}
	abs, err := filepath.Abs("static/sign.js")
	if err != nil {
		t.Fatal(err)
	}
	script := `
const s = await import(process.argv[1]);
const headers = {
  host: 'ddoscoo.cn-hangzhou.aliyuncs.com',
  'x-acs-action': 'DescribeInstances',
  'x-acs-version': '2020-01-01',
  'x-acs-date': '2024-01-01T00:00:00Z',
  'x-acs-signature-nonce': 'nonce-1',
  'x-acs-content-sha256': await s.sha256Hex(''),
};
const auth = await s.signV3({ method: 'POST', query: { 'PageSize': '10', 'InstanceIds.1': 'ddoscoo-cn-x', 'PageNumber': '1' },
  headers, hashedPayload: headers['x-acs-content-sha256'], accessKeyId: 'testid', secret: 'testsecret' });
console.log(auth);
console.log(s.percentEncode("a b*~!'()中"));
console.log(s.isoSeconds(Date.UTC(2024, 0, 2, 3, 4, 5, 678)));
`
	out, err := exec.Command(node, "--input-type=module", "-e", script, "file://"+filepath.ToSlash(abs)).CombinedOutput()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	want := []string{
		"ACS3-HMAC-SHA256 Credential=testid,SignedHeaders=host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version,Signature=713f63d2d67c334263aa7639af98df6e9069678008810a5ed0ae7bce8d96fdd9",
		"a%20b%2A~%21%27%28%29%E4%B8%AD",
		"2024-01-02T03:04:05Z",
	}
	if len(lines) != len(want) {
		t.Fatalf("node printed %q, want %d lines", out, len(want))
	}
	for i := range want {
		if lines[i] != want[i] {
			t.Errorf("line %d: got %q, want %q", i+1, lines[i], want[i])
		}
	}
}
