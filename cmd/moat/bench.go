package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"time"

	"moat/internal/bench"
	"moat/internal/bench/l4"
	"moat/internal/bench/l7"
)

const benchUsage = `Usage: moat bench [flags]
       moat bench --summarize RESULT.json ...

Reproduces docs/BENCHMARKS.md in one run: starts moat serve (this binary)
and a bare net/http handler as child processes, seeds the store through the
admin API, runs the scenarios with the same load generator, prints a table
with the targets and writes the figures as JSON.

Stores (--db): an SQLite file (default: a fresh temporary one), or a
PostgreSQL server as postgres://user@host:port/db: the run creates a fresh
database moat_bench_<random> there and drops it at the end (--keep-db keeps
it); a URL naming a moat_bench_* database uses that one (created if
missing) and keeps it. --replicas N starts N moat serve processes on one
PostgreSQL database and spreads the signed loads over them.

Scenarios (--scenarios, comma-separated, default all):
  describe    signed DescribeInstances PageSize=10, random PageNumber 1..100
  baseline    the same requests against a bare handler (the ratio's base)
  release     ReleaseInstance of --release-count expired instances
  create      BSS CreateInstance of --create-count instances (durable, with IPs)
  tags        DescribeInstances with a Tag filter on an account of
              --tag-instances instances, one in ten tagged
  ram         the describe load as the root account, then as a RAM user
              with a 10-statement policy (the cost of policy evaluation)
  rules       DescribeNetworkRules and DescribePort (PageSize 10) on an
              instance holding its full PortCount (50) of rules, then
              --rule-creates durable CreatePort calls
  mixed       signed describe/release/create/renew drawn by --mix weights,
              for --duration or --count requests, flat out at
              --connections or at a fixed --rate (open loop)
  lifecycle   --lifecycle-count instances fall due at once (clock advance)
              while a describe load runs
  dataplane   TCP through moat serve --dataplane (its own process and store)
              and through HAProxy to the same origins, alternately: bulk
              MiB/s on 1 and 32 connections, short connections/s, echo
              p50/p99, memory per idle connection (--dp-idle-conns), and
              one source flooding a Slimit Cps 100 rule while four others
              keep 20 connections/s; each load --dp-duration after
              --warmup. Without haproxy in PATH, moat alone (no ratios)
  web         one website (HTTP 8080, HTTPS 8443, a test CA's certificate
              via AssociateWebCert, CC switch off) served by moat serve
              --dataplane (its own process and store) and by nginx as the
              same reverse proxy to the same origin, alternately:
              keep-alive HTTPS requests/s (32 connections), new TLS 1.3
              handshakes/s (32 workers, no resumption), and the p99 each
              adds to the origin's at --web-rate; then moat's keep-alive
              figure with the CC switch on. Each load --web-duration after
              --warmup. Without nginx in PATH, moat alone (no ratios)
  memory      moat's VmRSS/VmHWM after seeding and at the end

Flags:
`

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("moat bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	// --baseline-serve and --addr are the runner's own way of starting the
	// bare handler; they stay out of the help.
	hidden := map[string]bool{"baseline-serve": true, "origin-serve": true, "web-origin-serve": true, "addr": true}
	fs.Usage = func() {
		fmt.Fprint(stderr, benchUsage)
		visible := flag.NewFlagSet("moat bench", flag.ContinueOnError)
		visible.SetOutput(stderr)
		fs.VisitAll(func(f *flag.Flag) {
			if !hidden[f.Name] {
				visible.Var(f.Value, f.Name, f.Usage)
			}
		})
		visible.PrintDefaults()
	}
	var (
		cfg       bench.Config
		scenarios string
		mix       string
		summarize bool
		baseline  bool
		origins   bool
		webOrigin bool
		addr      string
	)
	fs.IntVar(&cfg.Instances, "instances", 1000000, "instances in the store (seeded through the admin API, 10000 per call; 2000 on PostgreSQL)")
	fs.IntVar(&cfg.Connections, "connections", 64, "concurrent connections of the describe, baseline, release, create, tags, ram and mixed loads (with --rate: the most requests in flight)")
	fs.DurationVar(&cfg.Duration, "duration", 10*time.Second, "measured time of the describe, baseline, tags and mixed loads")
	fs.DurationVar(&cfg.Warmup, "warmup", 2*time.Second, "unrecorded warm-up before each timed load")
	fs.IntVar(&cfg.ReleaseCount, "release-count", 20000, "expired instances created, then released as fast as possible")
	fs.IntVar(&cfg.LifecycleCount, "lifecycle-count", 100000, "instances that fall due at once in the lifecycle scenario")
	fs.IntVar(&cfg.LifecycleConnections, "lifecycle-connections", 16, "connections of the describe load during the lifecycle catch-up; 0 runs the catch-up with no other load")
	fs.DurationVar(&cfg.LifecycleAdvance, "lifecycle-advance", 2*time.Hour, "clock advance of the lifecycle scenario (instances expire at +1h)")
	fs.IntVar(&cfg.CreateCount, "create-count", 10000, "instances bought through BSS CreateInstance in the create scenario")
	fs.IntVar(&cfg.TagInstances, "tag-instances", 100000, "instances of the tags scenario's account (created once, kept in a reused store)")
	fs.IntVar(&cfg.RuleCreates, "rule-creates", 5000, "CreatePort calls of the rules scenario (spread over instances of 50 rules each)")
	fs.IntVar(&cfg.EventsPage, "events-page", 10000, "Limit of each GET /_moat/v1/events page in the lifecycle cross-check (max 100000; large pages inflate moat's RSS)")
	fs.StringVar(&mix, "mix", bench.DefaultMix, "the mixed scenario's action weights (describe, release, create, renew; a missing action weighs 0)")
	fs.Int64Var(&cfg.Count, "count", 0, "the mixed scenario measures this many requests instead of --duration")
	fs.Float64Var(&cfg.Rate, "rate", 0, "the mixed scenario's fixed arrival rate in requests/s (open loop, latency from the scheduled time, at most --connections in flight); 0 is flat out")
	fs.IntVar(&cfg.Replicas, "replicas", 1, "moat serve processes sharing the store (PostgreSQL only); the signed loads are spread over them")
	fs.DurationVar(&cfg.DPDuration, "dp-duration", 5*time.Second, "measured time of each load of the dataplane scenario (after --warmup)")
	fs.IntVar(&cfg.DPIdleConns, "dp-idle-conns", 10000, "idle connections the dataplane scenario holds through each proxy")
	fs.StringVar(&cfg.HAProxy, "haproxy", "haproxy", "the HAProxy executable the dataplane scenario compares with (looked up in PATH)")
	fs.DurationVar(&cfg.WebDuration, "web-duration", 5*time.Second, "measured time of each load of the web scenario (after --warmup)")
	fs.Float64Var(&cfg.WebRate, "web-rate", 500, "requests/s of the web scenario's paced latency load (8 keep-alive connections)")
	fs.StringVar(&cfg.Nginx, "nginx", "nginx", "the nginx executable the web scenario compares with (looked up in PATH)")
	fs.StringVar(&scenarios, "scenarios", "all", "comma-separated subset of describe,baseline,release,create,tags,ram,rules,mixed,lifecycle,dataplane,web,memory")
	fs.StringVar(&cfg.DB, "db", "", "SQLite store path, reused if it exists (default: a fresh temporary file, removed at the end); or postgres://user@host:port/db: a fresh moat_bench_<random> database on that server, dropped at the end (a URL naming a moat_bench_* database uses and keeps it)")
	fs.BoolVar(&cfg.KeepDB, "keep-db", false, "keep the temporary store or database (reuse it later with --db)")
	fs.StringVar(&cfg.ServerLogLevel, "server-log-level", "info", "moat serve --log-level; info logs a line per request, as deployed")
	fs.StringVar(&cfg.Out, "out", "", "JSON result file (default bench-results/bench-<timestamp>.json)")
	fs.BoolVar(&summarize, "summarize", false, "print the Markdown tables of docs/BENCHMARKS.md from the result files given as arguments (e.g. bench-results/matrix-*/*.json), and run nothing")
	fs.BoolVar(&baseline, "baseline-serve", false, "internal: serve the bare baseline handler on --addr")
	fs.BoolVar(&origins, "origin-serve", false, "internal: serve the dataplane scenario's origins on --addr's host")
	fs.BoolVar(&webOrigin, "web-origin-serve", false, "internal: serve the web scenario's origin on --addr's host")
	fs.StringVar(&addr, "addr", "127.0.0.1:0", "internal: listen address of --baseline-serve")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if summarize {
		if fs.NArg() == 0 {
			return fmt.Errorf("%w: moat bench --summarize needs result files", errUsage)
		}
		return bench.Summarize(stdout, fs.Args())
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: moat bench takes no arguments, got %q", errUsage, fs.Args())
	}
	if baseline {
		return bench.ServeBaseline(ctx, addr, stderr)
	}
	if webOrigin {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return fmt.Errorf("%w: --addr: %v", errUsage, err)
		}
		return l7.ServeOrigin(ctx, host, bench.WebHTTPPort, bench.WebHTTPSPort, stderr)
	}
	if origins {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return fmt.Errorf("%w: --addr: %v", errUsage, err)
		}
		return l4.Serve(ctx, host, stderr)
	}
	var err error
	if cfg.Scenarios, err = bench.ParseScenarios(scenarios); err != nil {
		return fmt.Errorf("%w: --scenarios: %v", errUsage, err)
	}
	if cfg.Mix, err = bench.ParseMix(mix); err != nil {
		return fmt.Errorf("%w: --mix: %v", errUsage, err)
	}
	if cfg.Exe, err = os.Executable(); err != nil {
		return fmt.Errorf("find the moat executable: %w", err)
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if cfg.Out == "" {
		cfg.Out = filepath.Join("bench-results", "bench-"+time.Now().Format("20060102-150405")+".json")
	}
	cfg.Command = bench.RedactArgs(os.Args)
	cfg.Version = Version
	cfg.Stdout, cfg.Stderr = stdout, stderr
	_, err = bench.Run(ctx, cfg)
	return err
}
