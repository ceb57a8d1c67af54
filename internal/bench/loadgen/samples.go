package loadgen

import (
	"math"
	"slices"
	"time"
)

// Samples are request latencies. Each load worker appends to its own slice
// (no locks, no shared cache lines on the hot path) and Merge joins them at
// the end; the percentiles are then exact, not bucketed. A 10-second run at
// tens of thousands of requests per second is a few megabytes.
type Samples []time.Duration

// Merge concatenates per-worker samples into one sorted slice.
func Merge(parts ...Samples) Samples {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	out := make(Samples, 0, n)
	for _, p := range parts {
		out = append(out, p...)
	}
	slices.Sort(out)
	return out
}

// Percentile returns the p-th percentile (0 < p <= 100) of sorted samples
// by the nearest-rank method: the smallest sample such that at least p% of
// all samples are at or below it. It is always a latency that was actually
// observed, never an interpolation. p <= 0 gives the minimum; no samples
// give 0.
func (s Samples) Percentile(p float64) time.Duration {
	n := len(s)
	if n == 0 {
		return 0
	}
	if p <= 0 {
		return s[0]
	}
	if p >= 100 {
		return s[n-1]
	}
	// The epsilon absorbs float error in p*n/100 (99.9*1000 is not exactly
	// 99900), which would otherwise move the rank up by one.
	rank := int(math.Ceil(p*float64(n)/100 - 1e-9))
	if rank < 1 {
		rank = 1
	}
	if rank > n {
		rank = n
	}
	return s[rank-1]
}

// Max is the largest sample of sorted samples.
func (s Samples) Max() time.Duration {
	if len(s) == 0 {
		return 0
	}
	return s[len(s)-1]
}

// Mean is the arithmetic mean.
func (s Samples) Mean() time.Duration {
	if len(s) == 0 {
		return 0
	}
	var sum float64
	for _, d := range s {
		sum += float64(d)
	}
	return time.Duration(sum / float64(len(s)))
}

// Latency is the summary the report shows, in milliseconds.
type Latency struct {
	P50Ms  float64
	P90Ms  float64
	P99Ms  float64
	MaxMs  float64
	MeanMs float64
}

// Summary summarizes sorted samples.
func (s Samples) Summary() Latency {
	return Latency{
		P50Ms:  ms(s.Percentile(50)),
		P90Ms:  ms(s.Percentile(90)),
		P99Ms:  ms(s.Percentile(99)),
		MaxMs:  ms(s.Max()),
		MeanMs: ms(s.Mean()),
	}
}

// ms converts to milliseconds rounded to microseconds.
func ms(d time.Duration) float64 {
	return math.Round(float64(d)/1e3) / 1e3
}

// Round1 and Round3 round a reported figure to one and three decimals.
func Round1(v float64) float64 { return float64(int64(v*10+0.5)) / 10 }
func Round3(v float64) float64 { return float64(int64(v*1000+0.5)) / 1000 }
