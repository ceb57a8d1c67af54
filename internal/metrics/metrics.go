// Package metrics is moat's Prometheus instrumentation: request counts and
// latencies by action, code and status, store operation latencies, the
// lifecycle engine's lag and throughput, the store's connection pool, the
// nonce store's size and the data plane's traffic counters. GET /metrics serves them in the Prometheus text
// format through the official client library.
package metrics

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics holds moat's collectors in a registry of its own (not the global
// one, so that tests and several servers in one process do not collide).
type Metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	store    *prometheus.HistogramVec
	storeErr *prometheus.CounterVec

	dataplaneOnce sync.Once
	dataplane     *DataplaneMetrics
}

// latencyBuckets span 0.5 ms to 10 s: a cached listing answers in well
// under a millisecond, a durable write in a few, a stalled store in
// seconds.
var latencyBuckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// New returns the collectors, registered together with the Go runtime and
// process collectors.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "moat_requests_total",
			Help: "RPC requests answered, by action (product:Action, or \"unknown\"), error code (\"OK\" on success) and HTTP status.",
		}, []string{"action", "code", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "moat_request_duration_seconds",
			Help:    "Time from reading a request to writing its answer, by action and HTTP status.",
			Buckets: latencyBuckets,
		}, []string{"action", "status"}),
		store: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "moat_store_operation_duration_seconds",
			Help:    "Store operations by kind: update (a write transaction), use_nonce, instance_page, instances, listing_version, access_key.",
			Buckets: latencyBuckets,
		}, []string{"op"}),
		storeErr: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "moat_store_errors_total",
			Help: "Store operations that failed for a reason other than the caller's (not found, conflict), by kind.",
		}, []string{"op"}),
	}
	m.reg.MustRegister(m.requests, m.duration, m.store, m.storeErr,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the registry in the Prometheus exposition format. A
// collector that fails is reported in the answer, not as a failed scrape.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// ObserveRequest counts one answered RPC request. action must come from a
// bounded set (the gateway passes "unknown" for an action it does not
// serve), so that a client cannot grow the label space.
func (m *Metrics) ObserveRequest(action, code string, status int, d time.Duration) {
	if code == "" {
		code = "OK"
	}
	st := strconv.Itoa(status)
	m.requests.WithLabelValues(action, code, st).Inc()
	m.duration.WithLabelValues(action, st).Observe(d.Seconds())
}

// storeOp is one kind of store operation's collectors, resolved once.
type storeOp struct {
	latency prometheus.Observer
	errors  prometheus.Counter
}

func (m *Metrics) storeOp(op string) storeOp {
	return storeOp{latency: m.store.WithLabelValues(op), errors: m.storeErr.WithLabelValues(op)}
}

func (o storeOp) observe(start time.Time, failed bool) {
	o.latency.Observe(time.Since(start).Seconds())
	if failed {
		o.errors.Inc()
	}
}

// Sources are the values the gauges read at scrape time. Any may be nil.
type Sources struct {
	// NextDue is the earliest due lifecycle transition (false: none).
	NextDue func(ctx context.Context) (time.Time, bool, error)
	// Now is server time (the clock the lifecycle runs on).
	Now func() time.Time
	// Applied is the number of transitions this process applied.
	Applied func() int64
	// Pool reports the store's connection pool.
	Pool func() (inUse, idle, maxOpen int)
	// Nonces counts the nonces the store remembers.
	Nonces func(ctx context.Context) (int64, error)
}

// scrapeTimeout bounds a gauge's store query, so that a slow store makes a
// scrape report stale values rather than hang.
const scrapeTimeout = 2 * time.Second

// Watch registers the gauges that read src.
func (m *Metrics) Watch(src Sources) {
	if src.NextDue != nil && src.Now != nil {
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "moat_lifecycle_lag_seconds",
			Help: "Server time minus the due time of the oldest transition not yet applied (0 when nothing is overdue; -1 when the store could not be read).",
		}, func() float64 {
			ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
			defer cancel()
			next, ok, err := src.NextDue(ctx)
			switch {
			case err != nil:
				return -1
			case !ok:
				return 0
			}
			return max(0, src.Now().Sub(next).Seconds())
		}))
	}
	if src.Applied != nil {
		m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "moat_lifecycle_transitions_applied_total",
			Help: "Lifecycle transitions (expiry, forwarding stop, auto-renewal, auto-release) this process applied.",
		}, func() float64 { return float64(src.Applied()) }))
	}
	if src.Pool != nil {
		for _, g := range []struct {
			name, help string
			pick       func(inUse, idle, maxOpen int) int
		}{
			{"moat_store_pool_in_use_connections", "Store connections in use.", func(u, _, _ int) int { return u }},
			{"moat_store_pool_idle_connections", "Idle store connections.", func(_, i, _ int) int { return i }},
			{"moat_store_pool_max_connections", "The store pool's size limit.", func(_, _, mx int) int { return mx }},
		} {
			m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: g.name, Help: g.help}, func() float64 {
				return float64(g.pick(src.Pool()))
			}))
		}
	}
	if src.Nonces != nil {
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "moat_nonces",
			Help: "Signature nonces the store remembers (each is kept 32 minutes; -1 when the store could not be read).",
		}, func() float64 {
			ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
			defer cancel()
			n, err := src.Nonces(ctx)
			if err != nil {
				return -1
			}
			return float64(n)
		}))
	}
}
