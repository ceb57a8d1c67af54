package bench

import (
	"bytes"
	"strings"
	"testing"
)

func TestEvaluateMarksTargets(t *testing.T) {
	res := &Results{
		Describe: &LoadResult{Connections: 64, Requests: 120000, OK: 120000, RequestsPerSec: 12000, OKPerSec: 12000, Latency: Latency{P99Ms: 25}},
		Baseline: &LoadResult{Connections: 64, Requests: 400000, OK: 400000, RequestsPerSec: 40000, OKPerSec: 40000},
		Release:  &ReleaseResult{Instances: 100, ReleasesPerSec: 1500, Load: &LoadResult{Connections: 64, Requests: 100, OK: 99, Errors: 1, FirstError: "HTTP 500: boom"}},
		Lifecycle: &LifecycleResult{Instances: 100000, CatchUpSeconds: 1.5, ExpiriesPerSec: 66666.7,
			ExpiredEvents: 100000, OfTheseInstances: 100000,
			DescribeDuring: &LoadResult{Connections: 16, Requests: 10, OK: 10}},
		Memory: &MemoryResult{End: &MemFigures{RSSMB: 80, HWMMB: 151}},
	}
	computeRatios(res)
	rows := Evaluate(res)
	want := map[string]bool{
		"requests/s":                         true,  // 12000 >= 10000
		"p99":                                false, // 25 ms
		"errors":                             true,
		"releases/s":                         false, // 1500 < 2000
		"non-200 answers":                    false, // one 500
		"catch-up, 100000 due expiries":      true,
		"expired events recorded":            true,
		"describe 16 conns, during catch-up": true,
		"moat VmRSS at end":                  true,
		"moat VmHWM (peak RSS)":              false,
	}
	if len(res.Checks) != len(want) {
		t.Errorf("%d checks, want %d: %+v", len(res.Checks), len(want), res.Checks)
	}
	for _, c := range res.Checks {
		if w, ok := want[c.Figure]; !ok || w != c.Pass {
			t.Errorf("check %s/%s: pass=%v, want %v (known: %v)", c.Scenario, c.Figure, c.Pass, w, ok)
		}
	}
	if res.Describe.RatioToBaseline != 0.3 || res.Release.RatioToBaseline != 0.038 {
		t.Errorf("ratios: describe %v release %v", res.Describe.RatioToBaseline, res.Release.RatioToBaseline)
	}
	var out bytes.Buffer
	PrintTable(&out, res, rows)
	for _, s := range []string{"MISS", "PASS", "HTTP 500: boom", "6 PASS, 4 MISS"} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("table lacks %q:\n%s", s, out.String())
		}
	}
}

func TestEvaluateRAMRatio(t *testing.T) {
	for _, tc := range []struct {
		ratio float64
		pass  bool
	}{{0.95, true}, {0.90, true}, {0.899, false}} {
		res := &Results{RAM: &RAMResult{Statements: 10, Rounds: []RAMRound{{Root: &LoadResult{Connections: 64}, User: &LoadResult{Connections: 64}}},
			RootPerSec: 10000, UserPerSec: 10000 * tc.ratio, Ratio: tc.ratio, Requests: 10}}
		Evaluate(res)
		var got *Check
		for i := range res.Checks {
			if strings.HasPrefix(res.Checks[i].Figure, "RAM user (10 statements)") {
				got = &res.Checks[i]
			}
		}
		if got == nil || got.Pass != tc.pass || got.Value != tc.ratio {
			t.Errorf("ratio %v: check %+v, want pass=%v", tc.ratio, got, tc.pass)
		}
	}
}
