// Package bench is `moat bench`: it starts moat serve and a bare net/http
// handler as child processes, seeds the store through the admin API,
// drives both with the same closed-loop load generator, and reports
// throughput, exact latency percentiles, lifecycle catch-up time and
// resident memory against the targets of issue 2, as a table and as JSON.
// docs/BENCHMARKS.md explains the scenarios and how to read the figures.
package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"moat/internal/acs"
	"moat/internal/admin"
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
var AllScenarios = []string{ScenarioDescribe, ScenarioBaseline, ScenarioRelease, ScenarioCreate, ScenarioTags, ScenarioRAM, ScenarioLifecycle, ScenarioMemory}

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
	// describePages is how many pages of PageSize 10 the describe load
	// picks from at random.
	describePages = 100
)

// Config is what `moat bench` was asked to do.
type Config struct {
	Exe     string   // the moat binary to start as server and baseline
	Command []string // this command line, for the record
	Version string   // moat's version string

	DB     string // store path; empty: a fresh temporary file
	KeepDB bool   // keep the temporary store

	Instances            int
	Connections          int
	Warmup               time.Duration
	Duration             time.Duration
	ReleaseCount         int
	LifecycleCount       int
	LifecycleConnections int
	LifecycleAdvance     time.Duration
	CreateCount          int // BSS CreateInstance calls of the create scenario
	TagInstances         int // instances of the tags scenario's account
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
	moat *Child
	adm  *admin.Client
	boot *acs.Client // the bootstrap account: seeding and describe
	aux  *acs.Client // bench-aux: release
	ep   string
	log  io.Writer
	// account is the bootstrap account's ID (from moat's ready line).
	account string
}

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
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	r := &runner{cfg: cfg, log: cfg.Stderr, res: &Results{
		MoatVersion: cfg.Version,
		Started:     time.Now().UTC(),
		Command:     cfg.Command,
		Machine:     DescribeMachine(),
		Settings: Settings{
			Instances: cfg.Instances, Connections: cfg.Connections,
			Warmup: cfg.Warmup.String(), Duration: cfg.Duration.String(),
			ReleaseCount: cfg.ReleaseCount, LifecycleCount: cfg.LifecycleCount,
			LifecycleConnections: cfg.LifecycleConnections, LifecycleAdvance: cfg.LifecycleAdvance.String(), EventsPage: cfg.EventsPage,
			CreateCount: cfg.CreateCount, TagInstances: cfg.TagInstances,
			Scenarios: cfg.Scenarios, ServerLogLevel: cfg.ServerLogLevel,
		},
	}}
	runErr := r.run(ctx)
	res := r.res
	if ctx.Err() != nil {
		res.Interrupted = true
	}
	if runErr != nil && !errors.Is(runErr, context.Canceled) {
		res.Errors = append(res.Errors, runErr.Error())
	}
	res.Finished = time.Now().UTC()
	res.Seconds = round3(res.Finished.Sub(res.Started).Seconds())
	res.Machine.LoadAvgEnd = LoadAvg()
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

func (c *Config) validate() error {
	switch {
	case c.Exe == "":
		return errors.New("no moat executable to start")
	case c.Instances < 0:
		return errors.New("--instances must not be negative")
	case c.Connections < 1 || c.LifecycleConnections < 1:
		return errors.New("--connections and --lifecycle-connections must be at least 1")
	case c.Duration <= 0:
		return errors.New("--duration must be positive")
	case c.Warmup < 0:
		return errors.New("--warmup must not be negative")
	case c.ReleaseCount < 1 || c.LifecycleCount < 1:
		return errors.New("--release-count and --lifecycle-count must be at least 1")
	case c.CreateCount < 1 || c.TagInstances < 10:
		return errors.New("--create-count must be at least 1 and --tag-instances at least 10")
	case c.LifecycleAdvance <= time.Hour:
		return errors.New("--lifecycle-advance must be more than 1h (the lifecycle instances expire at +1h)")
	case c.EventsPage < 1 || c.EventsPage > 100000:
		return errors.New("--events-page must be between 1 and 100000 (the admin API's Limit)")
	case len(c.Scenarios) == 0:
		return errors.New("no scenario selected")
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
	needMoat := cfg.has(ScenarioDescribe) || cfg.has(ScenarioRelease) || cfg.has(ScenarioCreate) || cfg.has(ScenarioTags) || cfg.has(ScenarioRAM) ||
		cfg.has(ScenarioLifecycle) || cfg.has(ScenarioMemory)
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
			case <-r.moat.Exited():
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
	}{{ScenarioCreate, r.create}, {ScenarioTags, r.tags}, {ScenarioRAM, r.ramUser}} {
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
	if cfg.has(ScenarioMemory) && r.moat != nil {
		if m, err := r.moat.Mem(); err != nil {
			errs = append(errs, fmt.Errorf("memory: %w", err))
		} else {
			r.res.Memory.End = memFigures(m)
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

// startMoat starts moat serve and returns the function that stops it.
func (r *runner) startMoat(ctx context.Context) (func(), error) {
	cfg := r.cfg
	db := cfg.DB
	var tmpDir string
	if db == "" {
		dir, err := os.MkdirTemp("", "moat-bench-")
		if err != nil {
			return nil, err
		}
		tmpDir, db = dir, filepath.Join(dir, "moat.db")
	}
	_, statErr := os.Stat(db)
	reused := statErr == nil
	token := randomToken()
	spec := ChildSpec{
		Name: "moat serve",
		Path: cfg.Exe,
		Env:  ChildEnv("MOAT_ACCESS_KEY_ID="+BootstrapKeyID, "MOAT_ACCESS_KEY_SECRET="+BootstrapSecret),
	}
	// moat prints its ready line whatever the log level.
	spec.Ready = moatReadyRE
	spec.Args = []string{"serve", "--addr", "127.0.0.1:0", "--db", db, "--admin-token", token, "--log-level", cfg.ServerLogLevel}
	r.logf("starting moat serve (db %s%s, log level %s)", db, map[bool]string{true: ", reused", false: ""}[reused], cfg.ServerLogLevel)
	child, err := StartChild(ctx, spec)
	if err != nil {
		if tmpDir != "" && !cfg.KeepDB {
			os.RemoveAll(tmpDir)
		}
		return nil, err
	}
	r.moat = child
	r.ep = "http://" + child.Addr
	r.account = child.Ready[2]
	hc := &http.Client{Timeout: 10 * time.Minute, Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 4}}
	r.adm = &admin.Client{Endpoint: r.ep, Token: token, HTTP: hc}
	r.boot = &acs.Client{Endpoint: r.ep, AccessKeyID: BootstrapKeyID, AccessKeySecret: BootstrapSecret, HTTP: hc}
	r.aux = &acs.Client{Endpoint: r.ep, AccessKeyID: AuxKeyID, AccessKeySecret: AuxSecret, HTTP: hc}
	r.res.Server = &ServerInfo{Pid: child.Pid(), Addr: child.Addr, DB: db,
		DBFileSystem: FSType(filepath.Dir(db)), DBReused: reused, LogLevel: cfg.ServerLogLevel}
	return func() {
		r.logf("stopping moat serve (SIGTERM)")
		err := child.Stop(60 * time.Second)
		lines, firstErr := child.LogStats()
		r.res.Server.LogLines, r.res.Server.FirstError = lines, firstErr
		if err != nil {
			r.res.Server.StopError = err.Error()
			r.logf("%v", err)
		}
		if tmpDir != "" {
			if cfg.KeepDB {
				r.logf("kept the store at %s", db)
			} else {
				os.RemoveAll(tmpDir)
			}
		}
	}, nil
}
