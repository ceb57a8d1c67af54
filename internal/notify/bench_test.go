package notify_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"moat/internal/acs"
	"moat/internal/acs/bss"
	"moat/internal/acs/ddoscoo"
	"moat/internal/moat"
	"moat/internal/notify"
	"moat/internal/store/postgres"
	"moat/internal/store/sqlite"
)

// BenchmarkExpired100k: 100,000 instances of one account expire at one
// instant and every `expired` notice is delivered to a local receiver,
// while signed DescribeInstances calls run against the API over HTTP
// the whole time. It reports the time from the clock move to the last
// delivery, and the describe rate during the catch-up and during the
// deliveries as ratios to the rate measured just before the clock move
// (same process, same store, same load). Run it with
//
//	go test ./internal/notify -run XXX -bench Expired100k -benchtime 1x
//
// The postgres case uses MOAT_TEST_POSTGRES (default: the local server)
// and creates a database of its own.
func BenchmarkExpired100k(b *testing.B) {
	b.Run("store=sqlite", func(b *testing.B) {
		benchExpired(b, func(b *testing.B) moat.Store {
			st, err := sqlite.Open(b.Context(), filepath.Join(b.TempDir(), "moat.db"), sqlite.Options{})
			if err != nil {
				b.Fatal(err)
			}
			return st
		})
	})
	b.Run("store=postgres", func(b *testing.B) {
		benchExpired(b, openBenchPostgres)
	})
}

// Parameters of the benchmark.
const (
	benchInstances   = 100_000
	benchDescribers  = 4               // concurrent describe clients
	benchBaseline    = 5 * time.Second // describe load measured before the clock move
	benchConcurrency = 64              // POSTs in flight
)

// describeLoad runs signed DescribeInstances (PageSize 10, pages 1-100)
// from workers goroutines until stop is closed, counting each answered
// call in counts[phase] for the phase current when it was answered.
type describeLoad struct {
	phase  atomic.Int32
	counts [3]atomic.Int64
	errs   atomic.Int64
	stop   chan struct{}
	done   sync.WaitGroup
}

func startDescribes(endpoint string, workers int) *describeLoad {
	l := &describeLoad{stop: make(chan struct{})}
	hc := &http.Client{Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: workers}}
	for w := range workers {
		l.done.Add(1)
		go func() {
			defer l.done.Done()
			c := &acs.Client{Endpoint: endpoint, AccessKeyID: "AKWH1", AccessKeySecret: "s", HTTP: hc}
			for n := 0; ; n++ {
				select {
				case <-l.stop:
					return
				default:
				}
				status, _, err := c.Call(context.Background(), map[string]string{
					"Action": "DescribeInstances", "Version": "2020-01-01", "Format": "JSON", "RegionId": "cn-hangzhou",
					"PageSize": "10", "PageNumber": strconv.Itoa(1 + (w*37+n)%100)})
				if err != nil || status != http.StatusOK {
					l.errs.Add(1)
					continue
				}
				l.counts[l.phase.Load()].Add(1)
			}
		}()
	}
	return l
}

func benchExpired(b *testing.B, open func(*testing.B) moat.Store) {
	for range b.N {
		ctx := b.Context()
		st := open(b)
		svc, err := moat.NewService(moat.Config{Store: st, Clock: moat.NewServerClock(time.Now)})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := svc.PutAccount(ctx, "1001", "AKWH1", "s"); err != nil {
			b.Fatal(err)
		}
		var got sync.WaitGroup
		got.Add(benchInstances)
		var mu sync.Mutex
		seen := map[string]bool{}
		recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			id := r.Header.Get(notify.HeaderEventID)
			mu.Lock()
			first := !seen[id]
			seen[id] = true
			mu.Unlock()
			if first {
				got.Done()
			}
		}))
		if _, err := svc.CreateWebhook(ctx, "1001", moat.WebhookSpec{URL: recv.URL, Events: []string{"expired"}, Secret: "k"}); err != nil {
			b.Fatal(err)
		}
		in := 30 * moat.Day
		for range benchInstances / 10_000 {
			if _, err := svc.CreateInstances(ctx, moat.NewInstances{AccountID: "1001", Region: moat.RegionMainland, Count: 10_000, ExpireIn: &in}); err != nil {
				b.Fatal(err)
			}
		}
		// The API as moat serve mounts it, on its own listener.
		gw := acs.NewGateway(acs.Config{
			Products:    []*acs.Product{ddoscoo.Product(svc), bss.Product(svc.BillingService)},
			Credentials: svc,
			RealNow:     time.Now,
			ServerNow:   svc.Clock().Now,
			Logger:      slog.New(slog.NewTextHandler(io.Discard, nil)),
		})
		api := httptest.NewServer(gw)

		s := notify.New(svc.WebhookService, nil)
		s.Concurrency = benchConcurrency
		rctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); s.Run(rctx) }()

		// Phase 0: describe load alone.
		load := startDescribes(api.URL, benchDescribers)
		time.Sleep(benchBaseline) // the measurement window, not a wait for a condition
		load.phase.Store(1)
		b.ResetTimer()
		start := time.Now()
		// Phase 1: the lifecycle catch-up writes the notices (deliveries
		// start meanwhile).
		adv := 31 * moat.Day
		if _, _, err := svc.MoveClock(ctx, nil, &adv); err != nil {
			b.Fatal(err)
		}
		for {
			n, err := svc.ApplyDue(ctx, 0)
			if err != nil {
				b.Fatal(err)
			}
			if n < moat.DefaultDueBatch {
				break
			}
		}
		load.phase.Store(2)
		applied := time.Now()
		// Phase 2: the rest of the deliveries.
		got.Wait()
		end := time.Now()
		b.StopTimer()
		close(load.stop)
		load.done.Wait()

		base := float64(load.counts[0].Load()) / benchBaseline.Seconds()
		during := float64(load.counts[1].Load()+load.counts[2].Load()) / end.Sub(start).Seconds()
		catchUp := float64(load.counts[1].Load()) / applied.Sub(start).Seconds()
		delivering := float64(load.counts[2].Load()) / end.Sub(applied).Seconds()
		took := end.Sub(start)
		b.ReportMetric(took.Seconds(), "s/100k")
		b.ReportMetric(benchInstances/took.Seconds(), "deliveries/s")
		b.ReportMetric(base, "describes/s-before")
		b.ReportMetric(during/base, "describe-ratio")
		b.Logf("100,000 expired notices: catch-up %s, all delivered after %s (%.0f deliveries/s); "+
			"describes/s: %.0f before, %.0f during catch-up (%.2f), %.0f during the remaining deliveries (%.2f), %.0f overall (%.2f); %d failed calls",
			applied.Sub(start).Round(time.Millisecond), took.Round(time.Millisecond), benchInstances/took.Seconds(),
			base, catchUp, catchUp/base, delivering, delivering/base, during, during/base, load.errs.Load())
		if load.errs.Load() > 0 {
			b.Errorf("%d describe calls failed", load.errs.Load())
		}
		cancel()
		<-done
		api.Close()
		recv.Close()
		st.Close()
	}
}

// openBenchPostgres creates a database for one run on the server of
// MOAT_TEST_POSTGRES (default: the local one) and drops it afterwards.
func openBenchPostgres(b *testing.B) moat.Store {
	base := os.Getenv("MOAT_TEST_POSTGRES")
	if base == "" {
		base = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	}
	ctx := b.Context()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		b.Fatalf("PostgreSQL at MOAT_TEST_POSTGRES: %v", err)
	}
	defer conn.Close(context.Background())
	name := fmt.Sprintf("moat_bench_%d", time.Now().UnixNano())
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), base)
		if err == nil {
			c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			c.Close(context.Background())
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		b.Fatalf("MOAT_TEST_POSTGRES must be a postgres:// URL: %v", err)
	}
	u.Path = "/" + name
	st, err := postgres.Open(ctx, u.String(), postgres.Options{})
	if err != nil {
		b.Fatal(err)
	}
	return st
}
