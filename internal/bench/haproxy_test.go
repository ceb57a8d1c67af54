package bench

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func testHAProxyConfig() HAProxyConfig {
	return HAProxyConfig{Listen: "127.67.0.1", Threads: 2, MaxConn: 25000, MaxPipes: 128, FloodCps: 100,
		Ports:   DataplanePorts{Bulk: 10001, Echo: 10002, Close: 10003, Flood: 10004},
		Origins: DataplaneOrigins{Bulk: "127.0.0.1:4001", Echo: "127.0.0.1:4002", Close: "127.0.0.1:4003"}}
}

func TestHAProxyConfigForwardsEachPortToItsOrigin(t *testing.T) {
	cfg := testHAProxyConfig().Render()
	for _, want := range []string{
		"nbthread 2", "maxconn 25000", "maxpipes 128", "mode tcp", "timeout client 1h",
		"listen bulk\n    bind 127.67.0.1:10001\n    server origin 127.0.0.1:4001\n",
		"listen echo\n    bind 127.67.0.1:10002\n    server origin 127.0.0.1:4002\n",
		"listen close\n    bind 127.67.0.1:10003\n    server origin 127.0.0.1:4003\n",
		"listen flood\n    bind 127.67.0.1:10004\n",
		"reject if { sc0_gpc0_rate ge 100 }",
	} {
		if !strings.Contains(cfg, want) {
			t.Errorf("config lacks %q:\n%s", want, cfg)
		}
	}
	// The flood port forwards to the accept-then-close origin.
	_, flood, _ := strings.Cut(cfg, "listen flood")
	if !strings.HasSuffix(flood, "server origin 127.0.0.1:4003\n") {
		t.Errorf("flood section:\n%s", flood)
	}
}

// HAProxy itself checks the file, where it is installed.
func TestHAProxyAcceptsTheConfig(t *testing.T) {
	bin, err := exec.LookPath("haproxy")
	if err != nil {
		t.Skip("haproxy is not installed")
	}
	path := filepath.Join(t.TempDir(), "haproxy.cfg")
	if err := os.WriteFile(path, []byte(testHAProxyConfig().Render()), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "-c", "-f", path).CombinedOutput()
	if err != nil {
		t.Fatalf("haproxy -c: %v\n%s", err, out)
	}
	if strings.Contains(string(out), "WARNING") {
		t.Errorf("haproxy -c warns:\n%s", out)
	}
}
