package loadgen

import (
	"math/rand/v2"
	"testing"
	"time"
)

func seq(n int) Samples {
	s := make(Samples, n)
	for i := range s {
		s[i] = time.Duration(i+1) * time.Millisecond
	}
	return s
}

func TestPercentileNearestRank(t *testing.T) {
	tests := []struct {
		name string
		s    Samples
		p    float64
		want time.Duration
	}{
		{"empty", nil, 50, 0},
		{"one sample is every percentile", Samples{7}, 99, 7},
		{"p0 is the minimum", seq(100), 0, 1 * time.Millisecond},
		{"p100 is the maximum", seq(100), 100, 100 * time.Millisecond},
		{"p50 of 1..100", seq(100), 50, 50 * time.Millisecond},
		{"p90 of 1..100", seq(100), 90, 90 * time.Millisecond},
		{"p99 of 1..100", seq(100), 99, 99 * time.Millisecond},
		// Nearest rank: ceil(0.5*5)=3rd sample, not an average of two.
		{"p50 of 1..5", seq(5), 50, 3 * time.Millisecond},
		{"p50 of 1..4", seq(4), 50, 2 * time.Millisecond},
		// ceil(0.99*10)=10: with ten samples p99 is the maximum.
		{"p99 of 1..10", seq(10), 99, 10 * time.Millisecond},
		{"p90 of 1..10", seq(10), 90, 9 * time.Millisecond},
		// 99.9*1000/100 is 999.0000000000001 in floating point; the rank
		// must still be 999.
		{"p99.9 of 1..1000", seq(1000), 99.9, 999 * time.Millisecond},
		{"p1 of 1..1000", seq(1000), 1, 10 * time.Millisecond},
		{"tiny p rounds up to the first sample", seq(1000), 0.0001, 1 * time.Millisecond},
	}
	for _, tt := range tests {
		if got := tt.s.Percentile(tt.p); got != tt.want {
			t.Errorf("%s: Percentile(%v) = %v, want %v", tt.name, tt.p, got, tt.want)
		}
	}
}

func TestMergeSortsAcrossWorkers(t *testing.T) {
	// Three workers' samples, each in arrival (unsorted) order.
	all := seq(1000)
	rng := rand.New(rand.NewPCG(1, 2))
	shuffled := append(Samples(nil), all...)
	rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	m := Merge(shuffled[:300], shuffled[300:301], nil, shuffled[301:])
	if len(m) != 1000 {
		t.Fatalf("Merge kept %d samples, want 1000", len(m))
	}
	for i := range m {
		if m[i] != all[i] {
			t.Fatalf("merged[%d] = %v, want %v (not sorted)", i, m[i], all[i])
		}
	}
	if got := m.Percentile(99); got != 990*time.Millisecond {
		t.Errorf("p99 after merge = %v, want 990ms", got)
	}
	if got := m.Max(); got != 1000*time.Millisecond {
		t.Errorf("max = %v, want 1s", got)
	}
}

func TestSummaryInMilliseconds(t *testing.T) {
	s := Merge(Samples{1500 * time.Microsecond, 2500 * time.Microsecond, 20 * time.Millisecond, 1234567 * time.Nanosecond})
	got := s.Summary()
	want := Latency{P50Ms: 1.5, P90Ms: 20, P99Ms: 20, MaxMs: 20, MeanMs: 6.309}
	if got != want {
		t.Errorf("Summary = %+v, want %+v", got, want)
	}
	if (Samples{}).Summary() != (Latency{}) {
		t.Errorf("empty Summary is not zero")
	}
}
