package mitigate

import "time"

// bucket is a token bucket kept as the time it is full again (the generic
// cell rate algorithm), in exact integer arithmetic: tat is in unix
// nanoseconds and rem the fraction of a nanosecond beyond it, in units of
// 1/rate ns, so n tokens at rate r per second cost exactly n*1e9/r ns.
// A bucket of burst b tokens holds b/r seconds of credit (tol).
type bucket struct {
	tat int64
	rem int64
}

// maxDebt bounds how far ahead of now a bucket in debt may run, so a
// caller that ignores its waits cannot overflow the clock arithmetic.
const maxDebt = int64(time.Hour)

// maxTokens bounds one charge (n*1e9 must fit in an int64).
const maxTokens = 1 << 32

// from is the bucket's full-again time seen at now (never before now).
func (b *bucket) from(now int64) (int64, int64) {
	if b.tat < now {
		return now, 0
	}
	return b.tat, b.rem
}

// add is t (with remainder rem) plus the cost of n tokens at rate.
func add(t, rem, n, rate int64) (int64, int64) {
	n = min(max(n, 0), maxTokens)
	cost := n * int64(time.Second)
	t += cost / rate
	rem += cost % rate
	if rem >= rate {
		t += rem / rate
		rem %= rate
	}
	return t, rem
}

// take charges n tokens if they fit within tol of credit and says
// whether they did: the strict form, for counted events such as new
// connections (burst b = tol*rate tokens, exactly).
func (b *bucket) take(now, n, rate, tol int64) bool {
	t, rem := b.from(now)
	t, rem = add(t, rem, n, rate)
	if t-now > tol || t-now == tol && rem > 0 {
		return false
	}
	b.tat, b.rem = t, rem
	return true
}

// owe says how long to wait until the bucket has credit again (0 when it
// has some now), then charges n tokens in full, possibly into debt: the
// lenient form, for bytes and packets, so one large read or datagram can
// pass a low rate and is paid for afterwards.
func (b *bucket) owe(now, n, rate, tol int64) time.Duration {
	t, rem := b.from(now)
	wait := max(t-now-tol, 0)
	t, rem = add(t, rem, n, rate)
	if t-now > maxDebt {
		t, rem = now+maxDebt, 0
	}
	b.tat, b.rem = t, rem
	return time.Duration(wait)
}

// credit says whether the bucket has credit at now (what owe would wait
// 0 for).
func (b *bucket) credit(now, tol int64) bool {
	t, _ := b.from(now)
	return t-now <= tol
}
