package loadgen

import (
	"math"
	"time"
)

// The open-loop generator (--rate) sends requests on a fixed schedule,
// whatever the server's answers do: request k is due at Start + k/Rate. A
// request's latency is measured from the time it was due, not from the
// time it was sent, so a server that stalls is charged for the requests
// that queued up behind the stall (a closed loop would simply send fewer
// of them: "coordinated omission"). A request that starts more than
// LateAfter behind schedule is counted late; one that could not start
// within MaxLag of its time is dropped (not sent) and counted, so a
// generator or a server that cannot keep up shows as such instead of
// silently lowering the rate.

// Clock is the open-loop generator's time source; tests use a fake one.
type Clock interface {
	Now() time.Time
	// Sleep waits d, or until cancel is closed; it reports whether it
	// waited the whole time.
	Sleep(d time.Duration, cancel <-chan struct{}) bool
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) Sleep(d time.Duration, cancel <-chan struct{}) bool {
	if d <= 0 {
		select {
		case <-cancel:
			return false
		default:
			return true
		}
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-cancel:
		return false
	}
}

// Schedule is a fixed arrival rate: request k (0, 1, …) is due at
// Start + k/Rate. Limit (number of requests) and End (no request due at
// or after it) bound it; a zero value does not.
type Schedule struct {
	Start time.Time
	Rate  float64 // requests per second, > 0
	Limit int64
	End   time.Time
}

// Due is request k's due time.
func (s Schedule) Due(k int64) time.Time {
	return s.Start.Add(time.Duration(math.Round(float64(k) * float64(time.Second) / s.Rate)))
}

// has reports whether request k is part of the schedule.
func (s Schedule) has(k int64) bool {
	if s.Limit > 0 && k >= s.Limit {
		return false
	}
	return s.End.IsZero() || s.Due(k).Before(s.End)
}

// tick is one scheduled request.
type tick struct {
	k   int64
	due time.Time
}

// dispatchStats is what the dispatcher counted.
type dispatchStats struct {
	Scheduled int64 // requests that fell due (queued or dropped)
	QueueFull int64 // of them, dropped because the queue was full
}

// dispatch puts every request of s on queue when it falls due, until the
// schedule ends or cancel is closed, then closes queue. It never waits
// for a worker: when the queue is full (every worker busy and MaxLag's
// worth of requests waiting) the request is dropped and counted. After a
// late wake-up it queues every request that fell due meanwhile, each with
// its own due time, so the rate holds on average and the lateness shows
// in the latencies.
func dispatch(clk Clock, s Schedule, queue chan<- tick, cancel <-chan struct{}, st *dispatchStats) {
	defer close(queue)
	var k int64
	for {
		now := clk.Now()
		for ; s.has(k); k++ {
			due := s.Due(k)
			if due.After(now) {
				break
			}
			st.Scheduled++
			select {
			case queue <- tick{k: k, due: due}:
			default:
				st.QueueFull++
			}
		}
		if !s.has(k) {
			return
		}
		if !clk.Sleep(s.Due(k).Sub(now), cancel) {
			return
		}
	}
}

// lagPolicy judges a request by how far behind schedule it starts.
type lagPolicy struct {
	LateAfter time.Duration // later than this: sent, counted late
	MaxLag    time.Duration // later than this: dropped
}

// Defaults of the open loop.
const (
	defaultLateAfter = 10 * time.Millisecond
	defaultMaxLag    = time.Second
)

type verdict int

const (
	onTime verdict = iota
	late
	dropped
)

// admit judges a request due at due that could start at now.
func (p lagPolicy) admit(due, now time.Time) verdict {
	lag := now.Sub(due)
	switch {
	case lag > p.MaxLag:
		return dropped
	case lag > p.LateAfter:
		return late
	default:
		return onTime
	}
}

// queueCapacity is the dispatcher's queue: MaxLag's worth of requests at
// the rate (a request further back would be dropped anyway when taken),
// at least one per worker, at most 1<<20.
func queueCapacity(rate float64, maxLag time.Duration, workers int) int {
	n := int(math.Ceil(rate * maxLag.Seconds()))
	return min(max(n, workers, 1), 1<<20)
}
