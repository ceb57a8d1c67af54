package acs

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"moat/internal/moat"
)

// Limiter throttles calls per principal and action with token buckets
// (a burst of one second's worth, at least one call, refilled
// continuously). An action without a rate is not limited.
type Limiter struct {
	rates   map[string]float64 // action -> calls per second ("*": any action)
	mu      sync.Mutex
	buckets map[string]*bucket
	now     func() time.Time
}

type bucket struct {
	tokens float64
	last   time.Time
}

// RealLimits are the per-user limits the ddoscoo documentation states:
// DescribeInstances and DescribeInstanceSpecs 10 calls per second per
// account user; moat applies 10 per second to every other action too
// (the documentation's usual figure; a stated default).
func RealLimits() map[string]float64 {
	return map[string]float64{"*": 10}
}

// NewLimiter returns a limiter with per-action rates (calls per second).
func NewLimiter(rates map[string]float64, now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	return &Limiter{rates: rates, buckets: map[string]*bucket{}, now: now}
}

// ParseLimits reads "off", "real", or "Action=QPS,Action=QPS" ("*" for
// every other action).
func ParseLimits(s string) (map[string]float64, error) {
	switch s {
	case "", "off":
		return nil, nil
	case "real":
		return RealLimits(), nil
	}
	out := map[string]float64{}
	for _, item := range strings.Split(s, ",") {
		name, v, ok := strings.Cut(strings.TrimSpace(item), "=")
		qps, err := strconv.ParseFloat(v, 64)
		if !ok || name == "" || err != nil || qps <= 0 {
			return nil, moat.InvalidParam("throttle", `use off, real, or Action=QPS[,Action=QPS…] with "*" for any other action`)
		}
		out[name] = qps
	}
	return out, nil
}

// Allow takes a token for (principal, action), or returns Throttling.User
// with the time until one is available.
func (l *Limiter) Allow(principal, action string) error {
	rate, ok := l.rates[action]
	if !ok {
		if rate, ok = l.rates["*"]; !ok {
			return nil
		}
	}
	// The burst is one second's worth, but at least one call: a rate below
	// 1/s (Action=0.1, one call per 10 s) must still let a call through.
	burst := max(rate, 1)
	now := l.now()
	key := principal + "\x00" + action
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) > 1<<16 {
			l.buckets = map[string]*bucket{} // bound the memory a flood can take
		}
		b = &bucket{tokens: burst, last: now}
		l.buckets[key] = b
	}
	b.tokens = min(burst, b.tokens+now.Sub(b.last).Seconds()*rate)
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return nil
	}
	wait := time.Duration((1 - b.tokens) / rate * float64(time.Second))
	e := moat.Errorf(moat.CodeThrottlingUser, "Request was denied due to user flow control: %s is limited to %g calls per second.", action, rate)
	e.RetryAfter = wait
	return e
}

// setRateLimitHeader tells the SDKs when to retry: darabonba reads
// TimeLeft (milliseconds) from x-ratelimit-user-api.
func setRateLimitHeader(w http.ResponseWriter, wait time.Duration) {
	w.Header().Set("x-ratelimit-user-api", "Remain:0,TimeLeft:"+strconv.FormatInt(max(wait.Milliseconds(), 1), 10))
}
