package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"moat/internal/acs"
	"moat/internal/acs/bss"
	"moat/internal/acs/ddoscoo"
	"moat/internal/admin"
	"moat/internal/coalesce"
	"moat/internal/console"
	"moat/internal/lifecycle"
	"moat/internal/metrics"
	"moat/internal/moat"
	"moat/internal/notify"
	"moat/internal/ram"
	"moat/internal/secrets"
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
	Dataplane        bool   // forwards traffic in this process
	Node             string // the data plane's name in samples and events
	Pools            map[moat.Region]moat.Pool

	NoMigrate bool
	// TrustedProxies are the load balancers whose forwarding headers
	// name the client.
	TrustedProxies []netip.Prefix
	MasterKey      string // MOAT_MASTER_KEY
	MasterKeyFile  string
	TLSCert        string
	TLSKey         string
	TLSSelfSigned  bool
	TLSAddr        string
	Throttle       map[string]float64
	// AuditRetention is how long audit records are kept; 0 keeps them.
	AuditRetention time.Duration
	// AuditMaxRecords is how many audit records are kept at most; 0 keeps
	// any number.
	AuditMaxRecords int
	// MaxClientRequests bounds one client address's requests in flight.
	MaxClientRequests int
	// MaxHeavyReads bounds one account's unpaged listings in flight.
	MaxHeavyReads int
	// ReadHeaderTimeout is how long a client may take to send its request
	// line and headers (slowloris connections are closed after it).
	ReadHeaderTimeout time.Duration
	// IdleTimeout closes a keep-alive connection with no request.
	IdleTimeout time.Duration
	// MaxHeaderBytes bounds a request line and its headers together; the
	// gateway refuses what passes its own, smaller limits with an error
	// envelope (acs.MaxHeaderBytes), net/http what passes this with 431.
	MaxHeaderBytes int
	// WebhookConcurrency bounds the webhook POSTs in flight (0: none are
	// sent by this process); WebhookTimeout bounds one.
	WebhookConcurrency int
	WebhookTimeout     time.Duration
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
	fs.StringVar(&c.DB, "db", envOr("MOAT_DB", "./moat-data/moat.db"), "store: a SQLite file path, or a postgres:// URL for a database several replicas share (env MOAT_DB)")
	fs.BoolVar(&c.NoMigrate, "no-migrate", os.Getenv("MOAT_NO_MIGRATE") == "true", "refuse to start unless the store's schema is current, instead of migrating it (run moat migrate first; env MOAT_NO_MIGRATE=true)")
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
	c.MasterKey = os.Getenv("MOAT_MASTER_KEY")
	fs.StringVar(&c.MasterKeyFile, "master-key-file", envOr("MOAT_MASTER_KEY_FILE", ""), "file holding the master key that seals AccessKey secrets, created on first start (default: master.key beside the database); MOAT_MASTER_KEY (64 hex characters or base64 of 32 bytes) takes precedence")
	fs.StringVar(&c.TLSCert, "tls-cert", envOr("MOAT_TLS_CERT", ""), "PEM certificate for HTTPS on --tls-addr (env MOAT_TLS_CERT)")
	fs.StringVar(&c.TLSKey, "tls-key", envOr("MOAT_TLS_KEY", ""), "PEM private key for --tls-cert (env MOAT_TLS_KEY)")
	fs.BoolVar(&c.TLSSelfSigned, "tls-self-signed", os.Getenv("MOAT_TLS_SELF_SIGNED") == "true", "serve HTTPS with a self-signed certificate made on first start and kept beside the database (env MOAT_TLS_SELF_SIGNED=true)")
	fs.StringVar(&c.TLSAddr, "tls-addr", envOr("MOAT_TLS_ADDR", "127.0.0.1:9443"), "HTTPS listen address when TLS is on; --addr keeps serving HTTP (env MOAT_TLS_ADDR)")
	throttle := envOr("MOAT_THROTTLE", "off")
	fs.StringVar(&throttle, "throttle", throttle, "rate limits per principal and action: off, real (10 calls/s per user and action, as documented for DescribeInstances), or Action=QPS[,…] with * for any other action (env MOAT_THROTTLE)")
	auditRetention := envOr("MOAT_AUDIT_RETENTION", "168h")
	fs.StringVar(&auditRetention, "audit-retention", auditRetention, "how long audit records are kept; 0 keeps them for ever (env MOAT_AUDIT_RETENTION)")
	auditMax := envOr("MOAT_AUDIT_MAX_RECORDS", "1000000")
	fs.StringVar(&auditMax, "audit-max-records", auditMax, "how many audit records are kept at most, the oldest forgotten first (each record is at most about 4 KB); 0 keeps any number (env MOAT_AUDIT_MAX_RECORDS)")
	trusted := envOr("MOAT_TRUSTED_PROXIES", "")
	fs.StringVar(&trusted, "trusted-proxies", trusted, "comma-separated addresses or CIDR blocks of load balancers whose X-Forwarded-For and X-Forwarded-Proto headers name the client (for acs:SourceIp, acs:SecureTransport, limits and audit); empty trusts none (env MOAT_TRUSTED_PROXIES)")
	fs.IntVar(&c.MaxClientRequests, "max-client-requests", 256, "requests one client address may have in flight; more are refused with Throttling")
	fs.IntVar(&c.MaxHeavyReads, "max-heavy-reads", moat.DefaultMaxHeavyReads, "listings longer than one batch of 1,000 instances (DescribeInstanceIds, listings judged instance by instance for a RAM user) one account may run at once; more are refused with Throttling.User")
	fs.DurationVar(&c.ReadHeaderTimeout, "read-header-timeout", 10*time.Second, "how long a client may take to send its request headers before the connection is closed (tests shorten it)")
	fs.DurationVar(&c.IdleTimeout, "idle-timeout", 60*time.Second, "how long a keep-alive connection may wait for its next request before it is closed (tests shorten it)")
	fs.IntVar(&c.MaxHeaderBytes, "max-header-bytes", 1<<20, "largest request line plus headers read; within it the gateway answers a too-long query or headers with 400 InvalidParameter, past it net/http answers 431")
	fs.IntVar(&c.WebhookConcurrency, "webhook-concurrency", 16, "webhook deliveries this process POSTs at once (0: it sends none, other replicas do; see docs/WEBHOOKS.md)")
	fs.DurationVar(&c.WebhookTimeout, "webhook-timeout", 10*time.Second, "how long one webhook POST may take, connection and answer included, before the attempt fails")
	fs.BoolVar(&c.Dataplane, "dataplane", os.Getenv("MOAT_DATAPLANE") == "true", "forward traffic by the port rules in this process: listen on each instance's IP at each rule's frontend port (see docs/DATAPLANE.md; env MOAT_DATAPLANE=true)")
	fs.StringVar(&c.Node, "node", envOr("MOAT_NODE", ""), "this process's name in the data plane's traffic samples and mitigation events (default host:pid) (env MOAT_NODE)")
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
	if c.Throttle, err = acs.ParseLimits(throttle); err != nil {
		return c, fmt.Errorf("%w: --throttle: %s", errUsage, moat.AsError(err).Message)
	}
	if c.AuditRetention, err = time.ParseDuration(auditRetention); err != nil || c.AuditRetention < 0 {
		return c, fmt.Errorf("%w: --audit-retention %q must be a non-negative Go duration such as 168h", errUsage, auditRetention)
	}
	if c.AuditMaxRecords, err = strconv.Atoi(auditMax); err != nil || c.AuditMaxRecords < 0 {
		return c, fmt.Errorf("%w: --audit-max-records %q must be a whole number, 0 or more", errUsage, auditMax)
	}
	if c.TrustedProxies, err = acs.ParseCIDRs(trusted); err != nil {
		return c, fmt.Errorf("%w: --trusted-proxies %q: %v", errUsage, trusted, err)
	}
	if c.MaxHeavyReads < 1 {
		return c, fmt.Errorf("%w: --max-heavy-reads %d must be at least 1", errUsage, c.MaxHeavyReads)
	}
	if c.MaxHeaderBytes < acs.MaxHeaderBytes {
		return c, fmt.Errorf("%w: --max-header-bytes must be at least %d (the headers' own limit)", errUsage, acs.MaxHeaderBytes)
	}
	if c.ReadHeaderTimeout <= 0 || c.IdleTimeout <= 0 {
		return c, fmt.Errorf("%w: --read-header-timeout and --idle-timeout must be positive durations such as 10s", errUsage)
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return c, fmt.Errorf("%w: give --tls-cert and --tls-key together", errUsage)
	}
	if c.TLSSelfSigned && c.TLSCert != "" {
		return c, fmt.Errorf("%w: --tls-self-signed and --tls-cert exclude each other", errUsage)
	}
	if c.MasterKeyFile == "" && c.MasterKey == "" && isPostgres(c.DB) {
		return c, fmt.Errorf("%w: with a PostgreSQL store every replica must seal and open AccessKey secrets with the same master key: set MOAT_MASTER_KEY (or --master-key-file) to one key for all of them", errUsage)
	}
	if c.MasterKeyFile == "" {
		c.MasterKeyFile = filepath.Join(dataDir(c.DB), "master.key")
	}
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

	store store
	debug *http.Server

	tlsListener net.Listener
	tlsServer   *http.Server
	svc         *moat.Service
	engine      *lifecycle.Engine
	listener    net.Listener
	server      *http.Server
	cancel      context.CancelFunc
	engineWG    sync.WaitGroup
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
	key, created, err := secrets.LoadKey(c.MasterKey, c.MasterKeyFile)
	if err != nil {
		return fmt.Errorf("master key: %w", err)
	}
	if created {
		m.Announce.Info("created the master key that seals AccessKey secrets; keep it with the database (a backup without it cannot authenticate anyone)", "file", c.MasterKeyFile)
	}
	sealer, err := secrets.New(key)
	if err != nil {
		return err
	}
	store, schema, err := openStore(ctx, c.DB, c.NoMigrate)
	if err != nil {
		return fmt.Errorf("open store %s: %w", redactDB(c.DB), err)
	}
	m.store = store
	clock := moat.NewServerClock(time.Now)
	met := metrics.New()
	var clockReloads moat.Gatherer
	if isPostgres(c.DB) {
		// Other processes may share the store and move its clock.
		clockReloads = &coalesce.Group[struct{}, struct{}]{}
	}
	svc, err := moat.NewService(moat.Config{Store: met.Store(store), Clock: clock, AutoReleaseAfter: c.AutoReleaseAfter, Pools: c.Pools,
		Sealer: sealer, Policies: ram.Compile, MaxHeavyReads: c.MaxHeavyReads, SharedClock: clockReloads})
	if err != nil {
		store.Close()
		return err
	}
	m.svc = svc
	if err := svc.LoadClock(ctx); err != nil {
		store.Close()
		return fmt.Errorf("load clock: %w", err)
	}
	if err := svc.CheckMasterKey(ctx); err != nil {
		store.Close()
		return err
	}
	boot, err := svc.EnsureBootstrap(ctx, c.AccessKeyID, c.AccessKeySecret)
	if err != nil {
		store.Close()
		return fmt.Errorf("bootstrap account: %w", err)
	}
	if boot.NotInstalled != "" {
		m.Log.Warn("the bootstrap AccessKey was revoked and is not installed again: "+boot.NotInstalled+
			"; set MOAT_ACCESS_KEY_ID/MOAT_ACCESS_KEY_SECRET to a new pair, or make a key through the admin API",
			"AccessKeyId", boot.AccessKeyID, "AccountId", boot.AccountID)
	}
	if boot.Generated {
		fmt.Fprintf(m.Stdout, `moat: created bootstrap account %s with a new AccessKey pair.
The secret is shown only this once; paste these lines to use it:

export MOAT_ACCESS_KEY_ID=%s
export MOAT_ACCESS_KEY_SECRET=%s

`, boot.AccountID, boot.AccessKeyID, boot.Secret)
	}

	svc.OnAuditError(func(err error) { m.Log.Error("audit log write failed", "err", err) })
	m.engine = lifecycle.New(svc.LifecycleService, clock, m.Log)
	m.engine.AuditRetention = c.AuditRetention
	m.engine.AuditMaxRecords = c.AuditMaxRecords
	met.Watch(metrics.Sources{NextDue: svc.NextDue, Now: clock.Now, Applied: func() int64 { return m.engine.Stats().Applied },
		Pool: store.PoolStats, Nonces: store.NonceCount})
	var limiter *acs.Limiter
	if c.Throttle != nil {
		limiter = acs.NewLimiter(c.Throttle, time.Now)
	}
	gw := acs.NewGateway(acs.Config{
		Products:    []*acs.Product{ddoscoo.Product(svc), bss.Product(svc.BillingService)},
		Credentials: svc,
		RealNow:     time.Now,
		ServerNow:   clock.Now,
		Logger:      m.Log,
		Limiter:     limiter,
		Observe:     met.ObserveRequest,
	})
	health := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"Status":"ok"}`)
	})
	mux := routes(health, met.Handler(), console.Handler(),
		syncClock(svc.SyncClock, admin.New(svc, m.engine, c.AdminToken, m.Log)),
		acs.TrustProxies(acs.PerClientLimit(syncClock(svc.SyncClock, gw), c.MaxClientRequests), c.TrustedProxies))

	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		store.Close()
		return fmt.Errorf("listen on %s: %w", c.Addr, err)
	}
	m.listener = limitListener(ln, maxConnections)
	m.server = m.newServer(mux)
	if c.TLSCert != "" || c.TLSSelfSigned {
		if err := m.listenTLS(mux); err != nil {
			ln.Close()
			store.Close()
			return err
		}
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
	if c.WebhookConcurrency > 0 {
		sender := notify.New(svc.WebhookService, m.Log)
		sender.Concurrency = c.WebhookConcurrency
		if c.WebhookTimeout > 0 {
			sender.Timeout = c.WebhookTimeout
		}
		m.engineWG.Add(1)
		go func() {
			defer m.engineWG.Done()
			sender.Run(ectx)
		}()
	}
	if c.Dataplane {
		plane := newPlane(svc, svc.SyncClock, c.Node, met, m.Log)
		m.engineWG.Add(1)
		go func() {
			defer m.engineWG.Done()
			if err := plane.Run(ectx); err != nil && !errors.Is(err, context.Canceled) {
				m.Log.Error("data plane stopped", "err", err)
			}
		}()
	}
	tlsAddr := ""
	if m.tlsListener != nil {
		tlsAddr = m.tlsListener.Addr().String()
	}
	m.Announce.Info("moat ready", "addr", ln.Addr().String(), "tls_addr", tlsAddr, "db", redactDB(c.DB), "admin", c.AdminToken != "",
		"account", boot.AccountID, "auto_release_after", c.AutoReleaseAfter.String(), "schema", schema, "dataplane", c.Dataplane)
	return nil
}

// Addr is the bound listen address.
func (m *Main) Addr() string { return m.listener.Addr().String() }

// maxConnections bounds open connections per listener: a flood of idle
// or slow connections costs at most this many file descriptors.
const maxConnections = 4096

// newServer applies the bounds every listener has: a client must send its
// headers within --read-header-timeout (10 s) and its whole request within
// 60 s; idle connections close after --idle-timeout (60 s). The request
// line and headers may take --max-header-bytes (1 MiB), more than the
// gateway's own limits, so that it is the gateway that refuses a long
// query or large headers, with Alibaba's error envelope; past it net/http
// answers 431 itself, and the lingering close (listener.go) lets the
// client read that answer.
func (m *Main) newServer(h http.Handler) *http.Server {
	rht, idle, mhb := m.Config.ReadHeaderTimeout, m.Config.IdleTimeout, m.Config.MaxHeaderBytes
	if rht <= 0 {
		rht = 10 * time.Second
	}
	if idle <= 0 {
		idle = 60 * time.Second
	}
	if mhb <= 0 {
		mhb = 1 << 20
	}
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: rht,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      120 * time.Second,
		IdleTimeout:       idle,
		MaxHeaderBytes:    mhb,
		// "OPTIONS *" goes to the gateway like any other request, which
		// answers it with the error envelope instead of an empty 200.
		DisableGeneralOptionsHandler: true,
		ErrorLog:                     slog.NewLogLogger(m.Log.Handler(), slog.LevelWarn),
	}
}

// listenTLS binds the HTTPS listener with the configured or a
// self-signed certificate.
func (m *Main) listenTLS(h http.Handler) error {
	c := m.Config
	certFile, keyFile := c.TLSCert, c.TLSKey
	if c.TLSSelfSigned {
		dir := dataDir(c.DB)
		certFile, keyFile = filepath.Join(dir, "tls-cert.pem"), filepath.Join(dir, "tls-key.pem")
		made, err := selfSigned(certFile, keyFile)
		if err != nil {
			return fmt.Errorf("self-signed certificate: %w", err)
		}
		if made {
			m.Announce.Info("created a self-signed TLS certificate for localhost", "cert", certFile)
		}
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return fmt.Errorf("load TLS certificate: %w", err)
	}
	ln, err := net.Listen("tcp", c.TLSAddr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", c.TLSAddr, err)
	}
	m.tlsListener = tls.NewListener(limitListener(ln, maxConnections), &tls.Config{
		Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12,
	})
	m.tlsServer = m.newServer(h)
	return nil
}

// Serve serves until Close.
func (m *Main) Serve() error {
	errs := make(chan error, 2)
	if m.tlsServer != nil {
		go func() { errs <- m.tlsServer.Serve(m.tlsListener) }()
	}
	err := m.server.Serve(m.listener)
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	if m.tlsServer != nil {
		if terr := <-errs; !errors.Is(terr, http.ErrServerClosed) && err == nil {
			err = terr
		}
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
		if m.tlsServer != nil {
			if err := m.tlsServer.Shutdown(ctx); err != nil {
				errs = append(errs, fmt.Errorf("drain TLS requests: %w", err))
			}
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
	if m.svc != nil {
		m.svc.Close() // flushes the audit log
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
