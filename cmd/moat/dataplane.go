package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"moat/internal/coalesce"
	"moat/internal/dataplane"
	"moat/internal/dataplane/mitigate"
	"moat/internal/dataplane/webguard"
	"moat/internal/metrics"
	"moat/internal/moat"
)

// newPlane builds the data plane over svc: its guards are the mitigation
// package's, it follows the shared clock through sync, and it reports its
// origins' health to the rule service.
func newPlane(svc *moat.Service, sync func(context.Context), node string, met *metrics.Metrics, log *slog.Logger) *dataplane.Plane {
	p := dataplane.New(dataplane.Config{
		Source:    svc.TrafficService,
		SyncClock: sync,
		NewGuard:  func(s dataplane.GuardSettings) dataplane.Guard { return mitigate.New(s) },
		NewWebGuard: func(s dataplane.WebGuardSettings) dataplane.WebGuard {
			return webguard.New(s)
		},
		Node:     node,
		Freebind: true,
		Meter:    met.Dataplane(),
		Logger:   log,
	})
	svc.RuleService.SetHealthSource(p)
	return p
}

// EdgeConfig is `moat edge`'s configuration.
type EdgeConfig struct {
	DB          string
	Node        string
	MetricsAddr string
	LogFormat   string
	LogLevel    string
}

// runEdge runs the data plane alone over a store that API replicas serve:
// it forwards by the rules they write and records its traffic there.
func runEdge(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c := EdgeConfig{}
	fs := flag.NewFlagSet("moat edge", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.DB, "db", envOr("MOAT_DB", ""), "the store the API replicas serve: a postgres:// URL (or a SQLite file that one moat serve also opens) (env MOAT_DB)")
	fs.StringVar(&c.Node, "node", envOr("MOAT_NODE", ""), "this edge's name in traffic samples and mitigation events (default host:pid) (env MOAT_NODE)")
	fs.StringVar(&c.MetricsAddr, "metrics-addr", envOr("MOAT_METRICS_ADDR", ""), "serve Prometheus /metrics on this address; off when empty (env MOAT_METRICS_ADDR)")
	fs.StringVar(&c.LogFormat, "log-format", envOr("MOAT_LOG_FORMAT", "text"), "log format: text or json (env MOAT_LOG_FORMAT)")
	fs.StringVar(&c.LogLevel, "log-level", envOr("MOAT_LOG_LEVEL", "info"), "log level: debug, info, warn or error (env MOAT_LOG_LEVEL)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: moat edge takes no arguments, got %q", errUsage, fs.Args())
	}
	if c.DB == "" {
		return fmt.Errorf("%w: moat edge needs --db (the store the API replicas serve)", errUsage)
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return fmt.Errorf("%w: --log-format must be text or json", errUsage)
	}
	log, err := newLogger(Config{LogFormat: c.LogFormat, LogLevel: c.LogLevel}, stderr)
	if err != nil {
		return err
	}
	announce, _ := newLogger(Config{LogFormat: c.LogFormat, LogLevel: "info"}, stderr)
	// An edge never migrates: the API replicas own the schema.
	store, _, err := openStore(ctx, c.DB, true)
	if err != nil {
		return fmt.Errorf("open store %s: %w", redactDB(c.DB), err)
	}
	defer store.Close()
	clock := moat.NewServerClock(time.Now)
	var reloads moat.Gatherer
	if isPostgres(c.DB) {
		reloads = &coalesce.Group[struct{}, struct{}]{}
	}
	met := metrics.New()
	svc, err := moat.NewService(moat.Config{Store: store, Clock: clock, SharedClock: reloads})
	if err != nil {
		return err
	}
	defer svc.Close()
	if err := svc.LoadClock(ctx); err != nil {
		return fmt.Errorf("load clock: %w", err)
	}
	sync := svc.SyncClock
	if reloads == nil {
		// A SQLite store another process serves: reload its clock offset
		// on every tick all the same.
		sync = func(ctx context.Context) { _ = svc.LoadClock(ctx) }
	}
	plane := newPlane(svc, sync, c.Node, met, log)
	if c.MetricsAddr != "" {
		ln, err := net.Listen("tcp", c.MetricsAddr)
		if err != nil {
			return fmt.Errorf("listen on %s: %w", c.MetricsAddr, err)
		}
		mux := http.NewServeMux()
		mux.Handle("/metrics", met.Handler())
		srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		go srv.Serve(ln)
		defer srv.Close()
	}
	announce.Info("moat edge ready", "node", plane.Node(), "db", redactDB(c.DB), "pid", os.Getpid())
	err = plane.Run(ctx)
	announce.Info("moat edge stopped")
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

var _ dataplane.Meter = (*metrics.DataplaneMetrics)(nil)
