package bench

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestParseMix(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    []int  // nil: an error
		wantErr string // part of the error
	}{
		{in: DefaultMix, want: []int{70, 10, 10, 10}},
		{in: " renew = 1 , describe=3 ", want: []int{3, 0, 0, 1}},
		{in: "release=5", want: []int{0, 5, 0, 0}},
		{in: "describe=70,release=0,create=0,renew=0", want: []int{70, 0, 0, 0}},
		{in: "describe=1,", want: []int{1, 0, 0, 0}},
		{in: "describe=70,delete=10", wantErr: `unknown action "delete"`},
		{in: "describe=-1,release=10", wantErr: "whole number"},
		{in: "describe=1.5", wantErr: "whole number"},
		{in: "describe=x", wantErr: "whole number"},
		{in: "describe=1000001", wantErr: "whole number"},
		{in: "describe=1,describe=2", wantErr: "twice"},
		{in: "describe", wantErr: "ACTION=WEIGHT"},
		{in: "describe=0,release=0", wantErr: "every weight is 0"},
		{in: "", wantErr: "every weight is 0"},
	} {
		m, err := ParseMix(tc.in)
		if tc.want == nil {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("ParseMix(%q) = %v, %v; want an error with %q", tc.in, m.Weights, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseMix(%q): %v", tc.in, err)
			continue
		}
		for i := range tc.want {
			if m.Weights[i] != tc.want[i] {
				t.Errorf("ParseMix(%q) = %v, want %v", tc.in, m.Weights, tc.want)
				break
			}
		}
	}
}

func TestMixStringRoundTrips(t *testing.T) {
	m, err := ParseMix("renew=2,describe=5")
	if err != nil {
		t.Fatal(err)
	}
	if got := m.String(); got != "describe=5,release=0,create=0,renew=2" {
		t.Errorf("String() = %q", got)
	}
	again, err := ParseMix(m.String())
	if err != nil || again.String() != m.String() {
		t.Errorf("round trip: %v %v", again.String(), err)
	}
	if s := m.Share(m.Index(ActionRenew)); math.Abs(s-2.0/7) > 1e-12 {
		t.Errorf("share of renew = %v, want 2/7", s)
	}
}

// A pool holds the expected draws plus a margin that the binomial spread
// of the draws practically never exceeds (4 standard deviations).
func TestPoolSize(t *testing.T) {
	if poolSize(0) != 0 {
		t.Errorf("poolSize(0) = %d", poolSize(0))
	}
	if got := poolSize(1000); got != 1200 {
		t.Errorf("poolSize(1000) = %d, want 1200", got)
	}
	for _, n := range []float64{10, 100, 1000, 1e4, 1e5, 1e6} {
		for _, p := range []float64{0.01, 0.1, 0.5, 1} {
			mean := n * p
			if got, need := float64(poolSize(mean)), mean+4*math.Sqrt(n*p*(1-p)); got < need {
				t.Errorf("n=%v p=%v: pool %v < %v", n, p, got, need)
			}
		}
	}
}

func TestMixedPoolsFollowTheRun(t *testing.T) {
	mix, err := ParseMix(DefaultMix)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name           string
		cfg            Config
		release, renew int
		expected       float64
	}{
		// Open loop, count: the count plus the warm-up's requests; the renew
		// pool is capped.
		{"open count", Config{Mix: mix, Rate: 1000, Count: 20000, Warmup: 2 * time.Second}, poolSize(2200), maxRenewPool, 22000},
		// Open loop, duration: rate x (warm-up + duration).
		{"open duration", Config{Mix: mix, Rate: 500, Duration: 10 * time.Second, Warmup: 2 * time.Second}, poolSize(600), poolSize(600), 6000},
		// Closed loop: the guessed rate; the renew pool is capped.
		{"closed duration", Config{Mix: mix, Duration: 10 * time.Second, Warmup: 2 * time.Second}, poolSize(18000), maxRenewPool, 180000},
		{"closed count", Config{Mix: mix, Count: 1000}, poolSize(100), poolSize(100), 1000},
	} {
		if got := mixedExpected(&tc.cfg); math.Abs(got-tc.expected) > 1e-6 {
			t.Errorf("%s: expected %v requests, want %v", tc.name, got, tc.expected)
		}
		rel, ren := mixedPools(&tc.cfg)
		if rel != tc.release || ren != tc.renew {
			t.Errorf("%s: pools %d/%d, want %d/%d", tc.name, rel, ren, tc.release, tc.renew)
		}
	}
	describeOnly, _ := ParseMix("describe=1")
	if rel, ren := mixedPools(&Config{Mix: describeOnly, Count: 1000}); rel != 0 || ren != 0 {
		t.Errorf("describe only: pools %d/%d, want none", rel, ren)
	}
}
