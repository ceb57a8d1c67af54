package bench

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func testNginxConfig(dir string) NginxConfig {
	return NginxConfig{Dir: dir, Workers: 2, Listen: "127.69.0.1", Domain: "www.bench-web.test",
		CertFile: filepath.Join(dir, "cert.pem"), KeyFile: filepath.Join(dir, "key.pem"),
		Origin: "127.70.0.1", HTTPPort: 8080, HTTPSPort: 8443}
}

func TestNginxConfigIsTheSameReverseProxy(t *testing.T) {
	cfg := testNginxConfig("/tmp/x").Render()
	for _, want := range []string{
		"worker_processes 2;", "daemon off;", "access_log off;", "ssl_session_tickets off;",
		"upstream origin_http {\n        server 127.70.0.1:8080;\n        keepalive 64;",
		"upstream origin_https {\n        server 127.70.0.1:8443;\n        keepalive 64;",
		"listen 127.69.0.1:8080;", "listen 127.69.0.1:8443 ssl;",
		"ssl_certificate /tmp/x/cert.pem;", "proxy_pass http://origin_http;", "proxy_pass https://origin_https;",
		"proxy_http_version 1.1;", `proxy_set_header Connection "";`, "proxy_set_header Host $host;",
		"proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;", "proxy_ssl_name $host;",
	} {
		if !strings.Contains(cfg, want) {
			t.Errorf("config lacks %q:\n%s", want, cfg)
		}
	}
	// TLS only on the HTTPS server.
	if strings.Count(cfg, "ssl_certificate ") != 1 {
		t.Errorf("ssl_certificate outside the HTTPS server:\n%s", cfg)
	}
}

// nginx itself checks the file, where it is installed.
func TestNginxAcceptsTheConfig(t *testing.T) {
	bin, err := exec.LookPath("nginx")
	if err != nil {
		t.Skip("nginx is not installed")
	}
	dir := t.TempDir()
	nc := testNginxConfig(dir)
	// Any certificate will do for the syntax check.
	cert, key := testCertPair(t)
	for path, data := range map[string]string{nc.CertFile: cert, nc.KeyFile: key, filepath.Join(dir, "nginx.conf"): nc.Render()} {
		if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	out, err := exec.Command(bin, "-t", "-p", dir, "-c", filepath.Join(dir, "nginx.conf"), "-e", filepath.Join(dir, "error.log")).CombinedOutput()
	if err != nil {
		t.Fatalf("nginx -t: %v\n%s", err, out)
	}
	if strings.Contains(string(out), "[warn]") {
		t.Errorf("nginx -t warns:\n%s", out)
	}
}
