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
	"net/http/pprof"
	"os"
	"strings"
	"sync"
	"time"

	"moat/internal/acs"
	"moat/internal/acs/bss"
	"moat/internal/acs/ddoscoo"
	"moat/internal/admin"
	"moat/internal/lifecycle"
	"moat/internal/moat"
	"moat/internal/store/sqlite"
)

// Config is everything `moat serve` is configured with.
type Config struct {
	Addr             string
	DB               string
	AdminToken       string
	AccessKeyID      string
	AccessKeySecret  string
	AutoReleaseAfter time.Duration
	LogFormat        string // text or json
	LogLevel         string // debug, info, warn, error
	ShutdownTimeout  time.Duration
	DebugAddr        string // serves net/http/pprof when set
	Pools            map[moat.Region]moat.Pool
}

// poolFlags collects repeated --ip-pool REGION=CIDR flags.
type poolFlags map[moat.Region]moat.Pool

func (p poolFlags) String() string {
	var parts []string
	for r, pool := range p {
		parts = append(parts, string(r)+"="+pool.Key())
	}
	return strings.Join(parts, ",")
}

func (p poolFlags) Set(v string) error {
	for _, item := range strings.Split(v, ",") {
		region, cidr, ok := strings.Cut(strings.TrimSpace(item), "=")
		if !ok {
			return fmt.Errorf("want REGION=CIDR, e.g. cn-hangzhou=100.64.0.0/11, got %q", item)
		}
		r, err := moat.ParseRegion(region)
		if err != nil {
			return fmt.Errorf("%q: %s", region, moat.AsError(err).Message)
		}
		pool, err := moat.ParsePool(cidr)
		if err != nil {
			return err
		}
		p[r] = pool
	}
	return nil
}

// parseServeFlags reads flags, each defaulting to its environment variable.
func parseServeFlags(args []string, stderr io.Writer) (Config, error) {
	c := Config{AccessKeyID: os.Getenv("MOAT_ACCESS_KEY_ID"), AccessKeySecret: os.Getenv("MOAT_ACCESS_KEY_SECRET")}
	fs := flag.NewFlagSet("moat serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.Addr, "addr", envOr("MOAT_ADDR", "127.0.0.1:9180"), "listen address (env MOAT_ADDR)")
	fs.StringVar(&c.DB, "db", envOr("MOAT_DB", "./moat-data/moat.db"), "store: a SQLite file path (env MOAT_DB)")
	fs.StringVar(&c.AdminToken, "admin-token", envOr("MOAT_ADMIN_TOKEN", ""), "enables the admin API under /_moat/v1/ with this bearer token (env MOAT_ADMIN_TOKEN)")
	autoRelease := envOr("MOAT_AUTO_RELEASE_AFTER", "0")
	fs.StringVar(&autoRelease, "auto-release-after", autoRelease, "release instances this long after expiry, e.g. 720h; 0 is off (env MOAT_AUTO_RELEASE_AFTER)")
	fs.StringVar(&c.LogFormat, "log-format", envOr("MOAT_LOG_FORMAT", "text"), "log format: text or json (env MOAT_LOG_FORMAT)")
	fs.StringVar(&c.LogLevel, "log-level", envOr("MOAT_LOG_LEVEL", "info"), "log level: debug, info, warn or error (env MOAT_LOG_LEVEL)")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", 30*time.Second, "how long SIGTERM waits for in-flight requests")
	pools := poolFlags{}
	if v := os.Getenv("MOAT_IP_POOLS"); v != "" {
		if err := pools.Set(v); err != nil {
			return c, fmt.Errorf("%w: MOAT_IP_POOLS: %v", errUsage, err)
		}
	}
	fs.Var(pools, "ip-pool", "a region's IP pool as REGION=CIDR, repeatable (env MOAT_IP_POOLS, comma-separated); defaults: cn-hangzhou=100.64.0.0/11, ap-southeast-1=100.96.0.0/11")
	fs.StringVar(&c.DebugAddr, "debug-addr", envOr("MOAT_DEBUG_ADDR", ""), "serve Go profiling (net/http/pprof) on this separate address, e.g. 127.0.0.1:6060; off when empty (env MOAT_DEBUG_ADDR)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("%w: moat serve takes no arguments, got %q", errUsage, fs.Args())
	}
	d, err := time.ParseDuration(autoRelease)
	if err != nil || d < 0 {
		return c, fmt.Errorf("%w: --auto-release-after %q must be a non-negative Go duration such as 720h", errUsage, autoRelease)
	}
	c.AutoReleaseAfter = d
	c.Pools = pools
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return c, fmt.Errorf("%w: --log-format must be text or json", errUsage)
	}
	return c, nil
}

func newLogger(c Config, w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return nil, fmt.Errorf("%w: --log-level %q: use debug, info, warn or error", errUsage, c.LogLevel)
	}
	opts := &slog.HandlerOptions{Level: level}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return slog.New(slog.NewTextHandler(w, opts)), nil
}

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := parseServeFlags(args, stderr)
	if err != nil {
		return err
	}
	log, err := newLogger(c, stderr)
	if err != nil {
		return err
	}
	// The ready and stopped lines are always written, whatever the level:
	// scripts and test harnesses wait for "moat ready addr=…".
	announce, _ := newLogger(Config{LogFormat: c.LogFormat, LogLevel: "info"}, stderr)
	m := &Main{Config: c, Log: log, Announce: announce, Stdout: stdout}
	if err := m.Open(ctx); err != nil {
		return err
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- m.Serve() }()
	select {
	case <-ctx.Done():
		log.Info("shutting down", "Reason", "signal")
	case err := <-serveErr:
		if err != nil {
			m.Close()
			return err
		}
	}
	return m.Close()
}

// Main is a running server: `moat serve` uses it, and so do tests that want
// the real wiring in-process.
type Main struct {
	Config   Config
	Log      *slog.Logger
	Announce *slog.Logger // the ready/stopped lines; Log when nil
	Stdout   io.Writer

	store    *sqlite.Store
	debug    *http.Server
	svc      *moat.Service
	engine   *lifecycle.Engine
	listener net.Listener
	server   *http.Server
	cancel   context.CancelFunc
	engineWG sync.WaitGroup
}

// Open opens the store, bootstraps the account, starts the lifecycle engine
// and binds the listener.
func (m *Main) Open(ctx context.Context) error {
	if m.Log == nil {
		m.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if m.Announce == nil {
		m.Announce = m.Log
	}
	if m.Stdout == nil {
		m.Stdout = io.Discard
	}
	c := m.Config
	store, err := sqlite.Open(ctx, c.DB, sqlite.Options{})
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	m.store = store
	clock := moat.NewServerClock(time.Now)
	svc, err := moat.NewService(moat.Config{Store: store, Clock: clock, AutoReleaseAfter: c.AutoReleaseAfter, Pools: c.Pools})
	if err != nil {
		store.Close()
		return err
	}
	m.svc = svc
	if err := svc.LoadClock(ctx); err != nil {
		store.Close()
		return fmt.Errorf("load clock: %w", err)
	}
	boot, err := svc.EnsureBootstrap(ctx, c.AccessKeyID, c.AccessKeySecret)
	if err != nil {
		store.Close()
		return fmt.Errorf("bootstrap account: %w", err)
	}
	if boot.Generated {
		fmt.Fprintf(m.Stdout, `moat: created bootstrap account %s with a new AccessKey pair.
The secret is shown only this once; paste these lines to use it:

export MOAT_ACCESS_KEY_ID=%s
export MOAT_ACCESS_KEY_SECRET=%s

`, boot.AccountID, boot.AccessKeyID, boot.Secret)
	}

	m.engine = lifecycle.New(svc, clock, m.Log)
	gw := acs.NewGateway(acs.Config{
		Products:    []*acs.Product{ddoscoo.Product(svc), bss.Product(svc)},
		Credentials: svc,
		RealNow:     time.Now,
		Logger:      m.Log,
	})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /_moat/health", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"Status":"ok"}`)
	})
	mux.Handle("/_moat/", admin.New(svc, m.engine, c.AdminToken, m.Log))
	mux.Handle("/", gw)

	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		store.Close()
		return fmt.Errorf("listen on %s: %w", c.Addr, err)
	}
	m.listener = ln
	m.server = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      120 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(m.Log.Handler(), slog.LevelWarn),
	}
	if c.DebugAddr != "" {
		if err := m.startDebug(c.DebugAddr); err != nil {
			ln.Close()
			store.Close()
			return err
		}
	}
	ectx, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	m.engineWG.Add(1)
	go func() {
		defer m.engineWG.Done()
		m.engine.Run(ectx)
	}()
	m.Announce.Info("moat ready", "addr", ln.Addr().String(), "db", c.DB, "admin", c.AdminToken != "",
		"account", boot.AccountID, "auto_release_after", c.AutoReleaseAfter.String(), "schema", sqlite.SchemaVersion())
	return nil
}

// Addr is the bound listen address.
func (m *Main) Addr() string { return m.listener.Addr().String() }

// Service exposes the domain service (for tests).
func (m *Main) Service() *moat.Service { return m.svc }

// Serve serves until Close.
func (m *Main) Serve() error {
	err := m.server.Serve(m.listener)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Close drains in-flight requests, stops the engine and closes the store.
func (m *Main) Close() error {
	var errs []error
	if m.server != nil {
		timeout := m.Config.ShutdownTimeout
		if timeout <= 0 {
			timeout = 30 * time.Second
		}
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		if err := m.server.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("drain requests: %w", err))
		}
		cancel()
	}
	if m.debug != nil {
		m.debug.Close()
	}
	if m.cancel != nil {
		m.cancel()
		m.engineWG.Wait()
	}
	if m.store != nil {
		if err := m.store.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close store: %w", err))
		}
	}
	if len(errs) == 0 {
		m.Announce.Info("moat stopped")
	}
	return errors.Join(errs...)
}

// startDebug serves the profiler on its own listener, never on the API's.
func (m *Main) startDebug(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("debug listener on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	m.debug = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go m.debug.Serve(ln)
	m.Log.Info("debug listener", "addr", ln.Addr().String())
	return nil
}
