// Package bench is `moat bench`: it starts moat serve and a bare net/http
// handler as child processes, seeds the store through the admin API,
// drives both with the same closed-loop load generator, and reports
// throughput, exact latency percentiles, lifecycle catch-up time and
// resident memory against the targets of docs/BENCHMARKS.md, as a table
// and as JSON.
// docs/BENCHMARKS.md explains the scenarios and how to read the figures.
//
// This package holds the scenarios (scenario_*.go), the run that strings
// them together (run.go) and what they report (results.go, report.go,
// summary.go). It builds on two packages that know nothing of moat's
// API: loadgen, which sends requests and measures the answers, and proc,
// which starts the server processes and measures them.
package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"moat/internal/acs"
	"moat/internal/admin"
	"moat/internal/bench/loadgen"
	"moat/internal/bench/proc"
	"moat/internal/store/postgres"
)

// Scenario names, in the order they run.
const (
	ScenarioDescribe  = "describe"
	ScenarioBaseline  = "baseline"
	ScenarioRelease   = "release"
	ScenarioLifecycle = "lifecycle"
	ScenarioMemory    = "memory"
)

// AllScenarios is the default selection, in run order.
var AllScenarios = []string{ScenarioDescribe, ScenarioBaseline, ScenarioRelease, ScenarioCreate, ScenarioTags, ScenarioRAM, ScenarioRules, ScenarioMixed, ScenarioLifecycle, ScenarioDataplane, ScenarioWeb, ScenarioMemory}

// Fixed credentials. The bootstrap account owns the seeded instances (so
// its TotalCount is exactly --instances and a seeded store can be reused);
// an auxiliary account owns the instances the release and lifecycle
// scenarios create and consume.
const (
	BootstrapKeyID  = "LTAIbenchbootstrap0001"
	BootstrapSecret = "bench-secret-bootstrap-0123456789"
	AuxAccountID    = "bench-aux"
	AuxKeyID        = "LTAIbenchaux0001"
	AuxSecret       = "bench-secret-aux-0123456789"
)

const (
	apiVersion = "2020-01-01"
	// SeedRegion holds the seeded and the released instances;
	// LifecycleRegion the lifecycle ones (its own IP pool, so reruns on a
	// reused store do not eat into the seeded region's pool).
	SeedRegion      = "cn-hangzhou"
	LifecycleRegion = "ap-southeast-1"
	// CreateBatch is the admin API's largest create call (one transaction).
	CreateBatch = 10000
	// PGCreateBatch is the bench's create call on a PostgreSQL store: one
	// admin call is one transaction, which moat's PostgreSQL store bounds
	// to 10 s, and a transaction creating instances there runs at about
	// 1,000-2,000 instances/s on a 2-core machine (more connections do not
	// help: IP allocation in a region is serialized).
	PGCreateBatch = 2000
	// describePages is how many pages of PageSize 10 the describe load
	// picks from at random.
	describePages = 100
)

// Config is what `moat bench` was asked to do.
type Config struct {
	Exe     string   // the moat binary to start as server and baseline
	Command []string // this command line, for the record
	Version string   // moat's version string

	// DB is the store: an SQLite file path (empty: a fresh temporary
	// file) or a postgres:// URL (see pgdb.go).
	DB     string
	KeepDB bool // keep the temporary store (file or database)
	// Replicas is how many moat serve processes share a PostgreSQL
	// store; the signed loads are spread over them.
	Replicas int

	Instances            int
	Connections          int
	Warmup               time.Duration
	Duration             time.Duration
	ReleaseCount         int
	LifecycleCount       int
	LifecycleConnections int
	LifecycleAdvance     time.Duration
	CreateCount          int // BSS CreateInstance calls of the create scenario
	// loadgen.Mix, Count and Rate are the mixed scenario's: the action weights,
	// the number of measured requests (0: --duration), and the open
	// loop's arrival rate (0: flat out, closed loop).
	Mix          loadgen.Mix
	Count        int64
	Rate         float64
	TagInstances int // instances of the tags scenario's account
	RuleCreates  int // CreatePort calls of the rules scenario
	// DPDuration is the measured time of each data-plane load,
	// DPIdleConns the idle connections held through each proxy, and
	// HAProxy the haproxy executable (a name looked up in PATH).
	DPDuration  time.Duration
	DPIdleConns int
	HAProxy     string
	// WebDuration is the measured time of each load of the web scenario,
	// WebRate its paced load's requests/s, and Nginx the nginx
	// executable (a name looked up in PATH).
	WebDuration time.Duration
	WebRate     float64
	Nginx       string
	// EventsPage is the Limit of each GET /_moat/v1/events page of the
	// lifecycle cross-check. The server materializes a whole page (and
	// its JSON) in memory, so a large page inflates the RSS measured
	// after it.
	EventsPage     int
	Scenarios      []string
	ServerLogLevel string
	Out            string // JSON result file

	Stdout, Stderr io.Writer
}

func (c *Config) has(s string) bool { return slices.Contains(c.Scenarios, s) }

// ParseScenarios checks a comma-separated selection; "all" or "" is every
// scenario.
func ParseScenarios(s string) ([]string, error) {
	if s == "" || s == "all" {
		return slices.Clone(AllScenarios), nil
	}
	var out []string
	for _, name := range strings.Split(s, ",") {
		name = strings.TrimSpace(name)
		if !slices.Contains(AllScenarios, name) {
			return nil, fmt.Errorf("unknown scenario %q (choose from %s)", name, strings.Join(AllScenarios, ","))
		}
		if !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	return out, nil
}

// memPoint records moat's memory after a step (memory scenario only).
func (r *runner) memPoint(step string) {
	if !r.cfg.has(ScenarioMemory) || r.moat == nil {
		return
	}
	m, err := r.moat.Mem()
	if err != nil {
		return
	}
	if r.res.Memory == nil {
		r.res.Memory = &MemoryResult{}
	}
	f := memFigures(m)
	f.After = step
	r.res.Memory.Points = append(r.res.Memory.Points, *f)
}

// runner holds a run's live state.
type runner struct {
	cfg  Config
	res  *Results
	moat *proc.Child // the first replica: admin calls go to it
	// moats are every replica (moat first), eps their endpoints; the
	// signed loads spread their workers over eps.
	moats []*proc.Child
	eps   []string
	// exited is closed when any replica exits.
	exited <-chan struct{}
	adm    *admin.Client
	boot   *acs.Client // the bootstrap account: seeding and describe
	aux    *acs.Client // bench-aux: release, create, mixed writes, lifecycle
	ep     string
	log    io.Writer
	// account is the bootstrap account's ID (from moat's ready line).
	account string
}

// batch is the size of the bench's admin create calls.
func (r *runner) batch() int {
	if postgres.IsURL(r.cfg.DB) {
		return PGCreateBatch
	}
	return CreateBatch
}

// epFor is the replica endpoint of load worker id.
func (r *runner) epFor(id int) string { return r.eps[id%len(r.eps)] }

// Run runs the selected scenarios, prints the table to cfg.Stdout and
// writes the JSON file, also when interrupted or when a scenario failed
// (with what was measured so far).
func Run(ctx context.Context, cfg Config) (*Results, error) {
	if cfg.Stdout == nil {
		cfg.Stdout = io.Discard
	}
	if cfg.Stderr == nil {
		cfg.Stderr = io.Discard
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	r := &runner{cfg: cfg, log: cfg.Stderr, res: &Results{
		MoatVersion: cfg.Version,
		Started:     time.Now().UTC(),
		Command:     cfg.Command,
		Machine:     proc.DescribeMachine(),
		Settings: Settings{
			Instances: cfg.Instances, Connections: cfg.Connections,
			Warmup: cfg.Warmup.String(), Duration: cfg.Duration.String(),
			ReleaseCount: cfg.ReleaseCount, LifecycleCount: cfg.LifecycleCount,
			LifecycleConnections: cfg.LifecycleConnections, LifecycleAdvance: cfg.LifecycleAdvance.String(), EventsPage: cfg.EventsPage,
			CreateCount: cfg.CreateCount, TagInstances: cfg.TagInstances, RuleCreates: cfg.RuleCreates,
			Scenarios: cfg.Scenarios, ServerLogLevel: cfg.ServerLogLevel,
			Replicas: cfg.Replicas, Count: cfg.Count, Rate: cfg.Rate,
		},
	}}
	if cfg.has(ScenarioDataplane) {
		r.res.Settings.DPDuration, r.res.Settings.DPIdleConns = cfg.DPDuration.String(), cfg.DPIdleConns
	}
	if cfg.has(ScenarioMixed) {
		r.res.Settings.Mix = cfg.Mix.String()
	}
	runErr := r.run(ctx)
	res := r.res
	if ctx.Err() != nil {
		res.Interrupted = true
	}
	if runErr != nil && !errors.Is(runErr, context.Canceled) {
		res.Errors = append(res.Errors, runErr.Error())
	}
	res.Finished = time.Now().UTC()
	res.Seconds = loadgen.Round3(res.Finished.Sub(res.Started).Seconds())
	res.Machine.LoadAvgEnd = proc.LoadAvg()
	computeRatios(res)
	rows := Evaluate(res)
	PrintTable(cfg.Stdout, res, rows)
	if cfg.Out != "" {
		if err := WriteJSON(cfg.Out, res); err != nil {
			return res, err
		}
		fmt.Fprintf(cfg.Stdout, "\nresults: %s\n", cfg.Out)
	}
	if res.Interrupted {
		return res, errors.New("interrupted; the figures above are partial")
	}
	if len(res.Errors) > 0 {
		return res, fmt.Errorf("%d scenario(s) failed: %s", len(res.Errors), strings.Join(res.Errors, "; "))
	}
	return res, nil
}

// Validate checks the settings; its errors are the user's to fix.
func (c *Config) Validate() error {
	switch {
	case c.Exe == "":
		return errors.New("no moat executable to start")
	case c.Instances < 0:
		return errors.New("--instances must not be negative")
	case c.Connections < 1:
		return errors.New("--connections must be at least 1")
	case c.LifecycleConnections < 0:
		return errors.New("--lifecycle-connections must not be negative (0: no describe load during the catch-up)")
	case c.Duration <= 0:
		return errors.New("--duration must be positive")
	case c.Warmup < 0:
		return errors.New("--warmup must not be negative")
	case c.ReleaseCount < 1 || c.LifecycleCount < 1:
		return errors.New("--release-count and --lifecycle-count must be at least 1")
	case c.CreateCount < 1 || c.TagInstances < 10:
		return errors.New("--create-count must be at least 1 and --tag-instances at least 10")
	case c.RuleCreates < 1:
		return errors.New("--rule-creates must be at least 1")
	case c.LifecycleAdvance <= time.Hour:
		return errors.New("--lifecycle-advance must be more than 1h (the lifecycle instances expire at +1h)")
	case c.EventsPage < 1 || c.EventsPage > 100000:
		return errors.New("--events-page must be between 1 and 100000 (the admin API's Limit)")
	case len(c.Scenarios) == 0:
		return errors.New("no scenario selected")
	case c.Replicas < 1:
		return errors.New("--replicas must be at least 1")
	case c.Replicas > 1 && !postgres.IsURL(c.DB):
		return errors.New("--replicas above 1 needs a PostgreSQL store (--db postgres://…): an SQLite file has one writer process")
	case c.Count < 0:
		return errors.New("--count must not be negative")
	case c.Rate < 0 || math.IsNaN(c.Rate) || math.IsInf(c.Rate, 0) || c.Rate > 1e6:
		return errors.New("--rate must be from 0 (flat out) to 1000000 requests/s")
	case c.has(ScenarioMixed) && c.Mix.IsZero():
		return errors.New("the mixed scenario needs --mix")
	case c.has(ScenarioDataplane) && (c.DPDuration <= 0 || c.DPIdleConns < 1):
		return errors.New("--dp-duration must be positive and --dp-idle-conns at least 1")
	case c.has(ScenarioWeb) && (c.WebDuration <= 0 || !(c.WebRate > 0 && c.WebRate <= 100000)):
		return errors.New("--web-duration must be positive and --web-rate from 1 to 100000 requests/s")
	}
	switch c.ServerLogLevel {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("--server-log-level %q: use debug, info, warn or error", c.ServerLogLevel)
	}
	return nil
}

func (r *runner) logf(format string, args ...any) {
	fmt.Fprintf(r.log, "bench: "+format+"\n", args...)
}

func (r *runner) run(ctx context.Context) error {
	cfg := r.cfg
	needMoat := cfg.has(ScenarioDescribe) || cfg.has(ScenarioRelease) || cfg.has(ScenarioCreate) || cfg.has(ScenarioTags) || cfg.has(ScenarioRAM) || cfg.has(ScenarioRules) ||
		cfg.has(ScenarioMixed) || cfg.has(ScenarioLifecycle) || cfg.has(ScenarioMemory)
	var errs []error
	fail := func(scenario string, err error) error {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		err = fmt.Errorf("%s: %w", scenario, err)
		r.logf("%v", err)
		errs = append(errs, err)
		if r.moat != nil {
			select {
			case <-r.exited:
				// Every later scenario would fail the same way.
				return errors.Join(errs...)
			default:
			}
		}
		return nil
	}
	if needMoat {
		stop, err := r.startMoat(ctx)
		if err != nil {
			return err
		}
		defer stop()
		if err := r.seed(ctx); err != nil {
			return fmt.Errorf("seed: %w", err)
		}
		if cfg.has(ScenarioMemory) {
			m, err := r.moat.Mem()
			if err != nil {
				return fmt.Errorf("memory: %w", err)
			}
			r.res.Memory = &MemoryResult{AfterSeed: memFigures(m)}
			if r.res.Server.Store == "postgres" {
				r.res.Memory.Note = "moat serve's own memory; PostgreSQL's is not counted"
			}
			r.memPoint("seed")
		}
	}
	if cfg.has(ScenarioDescribe) {
		if err := r.describe(ctx); err != nil {
			if err := fail(ScenarioDescribe, err); err != nil {
				return err
			}
		}
		r.memPoint(ScenarioDescribe)
	}
	if cfg.has(ScenarioBaseline) {
		if err := r.baseline(ctx); err != nil {
			if err := fail(ScenarioBaseline, err); err != nil {
				return err
			}
		}
	}
	if cfg.has(ScenarioRelease) {
		if err := r.release(ctx); err != nil {
			if err := fail(ScenarioRelease, err); err != nil {
				return err
			}
		}
		r.memPoint(ScenarioRelease)
	}
	for _, s := range []struct {
		name string
		run  func(context.Context) error
	}{{ScenarioCreate, r.create}, {ScenarioTags, r.tags}, {ScenarioRAM, r.ramUser}, {ScenarioRules, r.rules}, {ScenarioMixed, r.mixed}} {
		if !cfg.has(s.name) {
			continue
		}
		if err := s.run(ctx); err != nil {
			if err := fail(s.name, err); err != nil {
				return err
			}
		}
		r.memPoint(s.name)
	}
	if cfg.has(ScenarioLifecycle) {
		if err := r.lifecycle(ctx); err != nil {
			if err := fail(ScenarioLifecycle, err); err != nil {
				return err
			}
		}
	}
	if cfg.has(ScenarioDataplane) {
		// Its own moat serve, origins and HAProxy, apart from the others.
		if err := r.dataplane(ctx); err != nil {
			if err := fail(ScenarioDataplane, err); err != nil {
				return err
			}
		}
	}
	if cfg.has(ScenarioWeb) {
		// Its own moat serve, origin and nginx, apart from the others.
		if err := r.web(ctx); err != nil {
			if err := fail(ScenarioWeb, err); err != nil {
				return err
			}
		}
	}
	if cfg.has(ScenarioMemory) && r.moat != nil {
		if m, err := r.moat.Mem(); err != nil {
			errs = append(errs, fmt.Errorf("memory: %w", err))
		} else {
			r.res.Memory.End = memFigures(m)
		}
		for _, c := range r.moats[1:] {
			if m, err := c.Mem(); err == nil {
				r.res.Memory.Replicas = append(r.res.Memory.Replicas, memFigures(m))
			}
		}
	}
	return errors.Join(errs...)
}

func randomToken() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

var moatReadyRE = regexp.MustCompile(`msg="moat ready" addr=(\S+).* account=(\S+)`)

// startMoat starts moat serve (--replicas of them on a PostgreSQL store)
// and returns the function that stops them.
func (r *runner) startMoat(ctx context.Context) (func(), error) {
	cfg := r.cfg
	db := cfg.DB
	var tmpDir string
	var pg *pgPlan
	info := &ServerInfo{Store: "sqlite", LogLevel: cfg.ServerLogLevel, Replicas: cfg.Replicas}
	env := proc.ChildEnv("MOAT_ACCESS_KEY_ID="+BootstrapKeyID, "MOAT_ACCESS_KEY_SECRET="+BootstrapSecret)
	switch {
	case postgres.IsURL(db):
		plan, err := planPostgres(db, randomToken()[:12])
		if err != nil {
			return nil, err
		}
		pi, err := preparePostgres(ctx, plan)
		if err != nil {
			return nil, err
		}
		pg, db = &plan, plan.URL
		info.Store, info.Postgres, info.DBReused = "postgres", pi, !pi.Created
		info.DB = redactURL(db)
		// Every replica seals and opens AccessKey secrets with one key.
		env = append(env, "MOAT_MASTER_KEY="+BenchMasterKey)
	case db == "":
		dir, err := os.MkdirTemp("", "moat-bench-")
		if err != nil {
			return nil, err
		}
		tmpDir, db = dir, filepath.Join(dir, "moat.db")
		fallthrough
	default:
		_, statErr := os.Stat(db)
		info.DBReused = statErr == nil
		info.DB, info.DBFileSystem = db, proc.FSType(filepath.Dir(db))
	}
	// cleanup removes what this run created, unless asked to keep it.
	cleanup := func() {
		switch {
		case tmpDir != "" && cfg.KeepDB:
			r.logf("kept the store at %s", db)
		case tmpDir != "":
			os.RemoveAll(tmpDir)
		case pg != nil && !pg.Reuse && !cfg.KeepDB:
			if err := dropPostgres(context.WithoutCancel(ctx), *pg); err != nil {
				r.logf("%v", err)
			} else {
				r.logf("dropped database %s", pg.Name)
			}
		case pg != nil:
			info.Postgres.Kept = true
			r.logf("kept the database: --db %s", redactURL(pg.URL))
		}
	}
	token := randomToken()
	spec := proc.ChildSpec{
		Name: "moat serve",
		Path: cfg.Exe,
		Env:  env,
		// moat prints its ready line whatever the log level.
		Ready: moatReadyRE,
		Args:  []string{"serve", "--addr", "127.0.0.1:0", "--db", db, "--admin-token", token, "--log-level", cfg.ServerLogLevel},
	}
	r.res.Server = info
	stopAll := func() {
		var lines int64
		for i := len(r.moats) - 1; i >= 0; i-- {
			child := r.moats[i]
			r.logf("stopping %s (SIGTERM)", child.Name)
			err := child.Stop(60 * time.Second)
			n, firstErr := child.LogStats()
			lines += n
			if info.FirstError == "" {
				info.FirstError = firstErr
			}
			if err != nil && info.StopError == "" {
				info.StopError = err.Error()
				r.logf("%v", err)
			}
		}
		info.LogLines = lines
		cleanup()
	}
	what := map[bool]string{true: ", reused", false: ""}[info.DBReused]
	for i := range cfg.Replicas {
		if cfg.Replicas > 1 {
			spec.Name = fmt.Sprintf("moat serve #%d", i+1)
		}
		// The first replica migrates a fresh database; the others start
		// once it is ready.
		r.logf("starting %s (%s store %s%s, log level %s)", spec.Name, info.Store, info.DB, what, cfg.ServerLogLevel)
		child, err := proc.StartChild(ctx, spec)
		if err != nil {
			stopAll()
			return nil, err
		}
		r.moats = append(r.moats, child)
		r.eps = append(r.eps, "http://"+child.Addr)
		info.Pids = append(info.Pids, child.Pid())
		info.Addrs = append(info.Addrs, child.Addr)
	}
	child := r.moats[0]
	r.moat = child
	r.ep = r.eps[0]
	r.account = child.Ready[2]
	r.exited = anyExited(r.moats)
	info.Pid, info.Addr = child.Pid(), child.Addr
	hc := &http.Client{Timeout: 10 * time.Minute, Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 4}}
	r.adm = &admin.Client{Endpoint: r.ep, Token: token, HTTP: hc}
	r.boot = &acs.Client{Endpoint: r.ep, AccessKeyID: BootstrapKeyID, AccessKeySecret: BootstrapSecret, HTTP: hc}
	r.aux = &acs.Client{Endpoint: r.ep, AccessKeyID: AuxKeyID, AccessKeySecret: AuxSecret, HTTP: hc}
	return stopAll, nil
}

// anyExited is closed when one of the children exits.
func anyExited(children []*proc.Child) <-chan struct{} {
	if len(children) == 1 {
		return children[0].Exited()
	}
	out := make(chan struct{})
	var once sync.Once
	for _, c := range children {
		go func() {
			<-c.Exited()
			once.Do(func() { close(out) })
		}()
	}
	return out
}
