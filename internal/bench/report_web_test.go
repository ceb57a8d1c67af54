package bench

import (
	"strings"
	"testing"

	"moat/internal/bench/l7"
	"moat/internal/bench/loadgen"
)

func testCertPair(t *testing.T) (string, string) {
	t.Helper()
	ca, err := l7.NewCA("test")
	if err != nil {
		t.Fatal(err)
	}
	cert, key, err := ca.Issue("www.bench-web.test")
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

func webTestResult() *Results {
	ok := func(perSec float64, p50, p99 float64) *l7.Result {
		return &l7.Result{Seconds: 1, Answered: int64(perSec), OK: int64(perSec), PerSec: perSec, OKPerSec: perSec,
			Latency: loadgen.Latency{P50Ms: p50, P99Ms: p99}}
	}
	return &Results{Web: &WebResult{Rate: 500, Nginx: "nginx/1.22.1", TLS: webTLS,
		Direct:       ok(500, 0.05, 0.1),
		MoatFigures:  &WebFigures{KeepAlive: ok(12000, 1, 2), Handshakes: ok(1700, 5, 9), Paced: ok(500, 0.2, 0.4)},
		NginxFigures: &WebFigures{KeepAlive: ok(20000, 1, 2), Handshakes: ok(2000, 5, 9), Paced: ok(500, 0.1, 0.3)},
		MoatCCOn:     &l7.Result{Connections: 32, Answered: 900, OK: 100, PerSec: 900, Statuses: map[string]int64{"405": 800}},
	}}
}

// Moat at 0.6 of nginx's keep-alive figure passes, at 0.85 of its
// handshakes passes; the added latency is the paced p99 minus the
// direct one; the CC line shows the 405s.
func TestWebRowsMarkTheTargets(t *testing.T) {
	res := webTestResult()
	computeRatios(res)
	wr := res.Web
	if wr.Ratios.KeepAlive != 0.6 || wr.Ratios.Handshakes != 0.85 {
		t.Fatalf("ratios %+v", wr.Ratios)
	}
	if wr.MoatFigures.AddedP99Ms != 0.3 || wr.NginxFigures.AddedP99Ms != 0.2 {
		t.Errorf("added p99: moat %v, nginx %v", wr.MoatFigures.AddedP99Ms, wr.NginxFigures.AddedP99Ms)
	}
	rows := Evaluate(res)
	var pass, miss int
	var text strings.Builder
	for _, r := range rows {
		text.WriteString(r.Figure + " | " + r.Value + " | " + r.Result + "\n")
		switch r.Result {
		case "PASS":
			pass++
		case "MISS":
			miss++
		}
	}
	if pass != 2 || miss != 0 {
		t.Errorf("%d PASS, %d MISS, want 2 and 0:\n%s", pass, miss, text.String())
	}
	if !strings.Contains(text.String(), "405: 800") || !strings.Contains(text.String(), "0.300 ms") {
		t.Errorf("rows lack the CC line or the added latency:\n%s", text.String())
	}
	// Below the keep-alive target: a MISS.
	res = webTestResult()
	res.Web.MoatFigures.KeepAlive = &l7.Result{Seconds: 1, Answered: 11000, OK: 11000, OKPerSec: 11000}
	computeRatios(res)
	miss = 0
	for _, r := range Evaluate(res) {
		if r.Result == "MISS" {
			miss++
		}
	}
	if miss != 1 {
		t.Errorf("moat at 0.55 x nginx: %d MISS, want 1", miss)
	}
}

// Without nginx the relative targets carry no mark.
func TestWebRowsWithoutNginx(t *testing.T) {
	res := webTestResult()
	res.Web.NginxFigures, res.Web.Nginx = nil, "nginx is not installed"
	computeRatios(res)
	for _, r := range Evaluate(res) {
		if r.Result != "" {
			t.Errorf("row %q marked %s without nginx", r.Figure, r.Result)
		}
	}
}
