package bench

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"moat/internal/bench/loadgen"
	"moat/internal/bench/proc"
)

// Results is everything one run measured; it is the JSON result file.
type Results struct {
	MoatVersion string
	Started     time.Time
	Finished    time.Time
	Seconds     float64
	Command     []string
	Machine     proc.Machine
	Settings    Settings
	Server      *ServerInfo         `json:",omitempty"`
	Seed        *SeedResult         `json:",omitempty"`
	Describe    *loadgen.LoadResult `json:",omitempty"`
	Baseline    *loadgen.LoadResult `json:",omitempty"`
	Release     *ReleaseResult      `json:",omitempty"`
	Create      *CreateResult       `json:",omitempty"`
	Tags        *TagsResult         `json:",omitempty"`
	RAM         *RAMResult          `json:",omitempty"`
	Rules       *RulesResult        `json:",omitempty"`
	Mixed       *MixedResult        `json:",omitempty"`
	Lifecycle   *LifecycleResult    `json:",omitempty"`
	Dataplane   *DataplaneResult    `json:",omitempty"`
	Web         *WebResult          `json:",omitempty"`
	Memory      *MemoryResult       `json:",omitempty"`
	Checks      []Check
	Errors      []string `json:",omitempty"`
	Interrupted bool     `json:",omitempty"`
}

// Settings are the run's parameters.
type Settings struct {
	Instances            int
	Connections          int
	Warmup               string
	Duration             string
	ReleaseCount         int
	LifecycleCount       int
	LifecycleConnections int
	LifecycleAdvance     string
	EventsPage           int
	CreateCount          int
	TagInstances         int
	RuleCreates          int `json:",omitempty"`
	Scenarios            []string
	ServerLogLevel       string
	Replicas             int
	Mix                  string  `json:",omitempty"`
	Count                int64   `json:",omitempty"` // the mixed scenario's; 0: Duration
	Rate                 float64 `json:",omitempty"` // the mixed scenario's; 0: flat out
	DPDuration           string  `json:",omitempty"` // the dataplane scenario's
	DPIdleConns          int     `json:",omitempty"`
}

// ServerInfo describes the moat process(es) measured.
type ServerInfo struct {
	Store string // sqlite or postgres
	Pid   int    // the first replica's
	Addr  string
	// Replicas is how many moat serve processes shared the store; Pids
	// and Addrs list them all, the first one first.
	Replicas     int
	Pids         []int    `json:",omitempty"`
	Addrs        []string `json:",omitempty"`
	DB           string   // the file, or the URL without its password
	DBFileSystem string   `json:",omitempty"`
	DBReused     bool
	// Postgres describes the database server of a PostgreSQL run.
	Postgres   *PostgresInfo `json:",omitempty"`
	LogLevel   string
	LogLines   int64  // lines moat wrote to stderr during the run (all replicas)
	FirstError string `json:",omitempty"` // first level=ERROR line
	StopError  string `json:",omitempty"`
}

// SeedResult is the seeding step.
type SeedResult struct {
	Requested int
	Existing  int64 // TotalCount before seeding
	Created   int
	Skipped   bool // the store already held exactly Requested
	Seconds   float64
	PerSec    float64
	Final     int64 // TotalCount after seeding
}

// ReleaseResult is the release scenario.
type ReleaseResult struct {
	Instances       int
	CreateSeconds   float64
	Load            *loadgen.LoadResult
	ReleasesPerSec  float64 // 200 answers per second
	RatioToBaseline float64 `json:",omitempty"`
}

// LifecycleResult is the lifecycle scenario.
type LifecycleResult struct {
	Instances     int
	Region        string
	Advance       string
	CreateSeconds float64
	// CatchUpSeconds is the time from the clock advance until every
	// instance's expiry was applied. With one replica it is the POST
	// /_moat/v1/clock call's duration (CatchUpMethod "clock call": the
	// call returns when the engine has applied everything due). With
	// several it is read from the events API (see watchExpiries):
	// "events API" when reading on showed every expiry, "lag 0, events
	// counted" when the advanced replica's moat_lifecycle_lag_seconds
	// read 0 and a re-read of the events then counted every expiry.
	CatchUpSeconds float64
	CatchUpMethod  string
	// ClockCallSeconds is the clock call's duration; with several
	// replicas it waits only for the one it was sent to.
	ClockCallSeconds float64 `json:",omitempty"`
	// EventPolls and EventRescans count the events API reads of a
	// multi-replica catch-up (a rescan re-reads from the start once the
	// lag gauge reads 0, for events that committed behind the cursor).
	EventPolls   int `json:",omitempty"`
	EventRescans int `json:",omitempty"`
	// AppliedByReplica is each replica's lifecycle transitions during the
	// catch-up (moat_lifecycle_transitions_applied_total).
	AppliedByReplica []int64 `json:",omitempty"`
	ExpiriesPerSec   float64
	// RatioToBaseline is ExpiriesPerSec over the baseline's requests/s.
	RatioToBaseline float64 `json:",omitempty"`
	// ExpiredEvents counts `expired` events recorded after the clock call
	// started; OfTheseInstances those of the instances this scenario made.
	ExpiredEvents    int64
	OfTheseInstances int64
	// DescribeBefore is the describe load at LifecycleConnections with
	// nothing due; DescribeDuring the same load while the engine catches up.
	DescribeBefore *loadgen.LoadResult
	DescribeDuring *loadgen.LoadResult
}

// MemoryResult is the memory scenario (MiB).
type MemoryResult struct {
	AfterSeed *MemFigures `json:",omitempty"`
	End       *MemFigures `json:",omitempty"`
	Baseline  *MemFigures `json:",omitempty"` // the bare handler after its load
	// Replicas are the other replicas' figures at the end (PostgreSQL,
	// --replicas above 1).
	Replicas []*MemFigures `json:",omitempty"`
	// Note says what the figures cover.
	Note string `json:",omitempty"`
	// Points are moat's figures after each step, to tell which step
	// raised the peak.
	Points []MemFigures `json:",omitempty"`
}

// MemFigures are VmRSS and VmHWM in MiB.
type MemFigures struct {
	After string `json:",omitempty"`
	RSSMB float64
	HWMMB float64
}

func memFigures(m proc.ProcMem) *MemFigures {
	return &MemFigures{RSSMB: loadgen.Round1(m.RSSMB()), HWMMB: loadgen.Round1(m.HWMMB())}
}

// computeRatios expresses every moat throughput as a multiple of the bare
// handler's successful requests/s measured in the same run.
func computeRatios(res *Results) {
	if res.Web != nil {
		computeWebRatios(res.Web)
	}
	if res.Dataplane != nil {
		computeDataplaneRatios(res.Dataplane)
	}
	if res.Baseline == nil || res.Baseline.OKPerSec <= 0 {
		return
	}
	base := res.Baseline.OKPerSec
	ratio := func(v float64) float64 { return loadgen.Round3(v / base) }
	res.Baseline.RatioToBaseline = 1
	if res.Describe != nil {
		res.Describe.RatioToBaseline = ratio(res.Describe.OKPerSec)
	}
	if rr := res.Release; rr != nil && rr.Load != nil {
		rr.Load.RatioToBaseline = ratio(rr.Load.OKPerSec)
		rr.RatioToBaseline = ratio(rr.ReleasesPerSec)
	}
	if cr := res.Create; cr != nil && cr.Load != nil {
		cr.Load.RatioToBaseline = ratio(cr.Load.OKPerSec)
		cr.RatioToBaseline = ratio(cr.CreatesPerSec)
	}
	if tr := res.Tags; tr != nil && tr.Load != nil {
		tr.Load.RatioToBaseline = ratio(tr.Load.OKPerSec)
	}
	if rr := res.Rules; rr != nil {
		for _, l := range []*loadgen.LoadResult{rr.DescribeNetworkRules, rr.DescribePort} {
			if l != nil {
				l.RatioToBaseline = ratio(l.OKPerSec)
			}
		}
		if rr.CreatePort != nil {
			rr.CreatePort.RatioToBaseline = ratio(rr.CreatePort.OKPerSec)
			rr.RatioToBaseline = ratio(rr.CreatesPerSec)
		}
	}
	if mr := res.Mixed; mr != nil && mr.Load != nil {
		mr.RatioToBaseline = ratio(mr.Load.Total.OKPerSec)
	}
	if lr := res.Lifecycle; lr != nil {
		if lr.ExpiriesPerSec > 0 {
			lr.RatioToBaseline = ratio(lr.ExpiriesPerSec)
		}
		for _, l := range []*loadgen.LoadResult{lr.DescribeBefore, lr.DescribeDuring} {
			if l != nil {
				l.RatioToBaseline = ratio(l.OKPerSec)
			}
		}
	}
}

// WriteJSON writes the results, creating the directory.
func WriteJSON(path string, res *Results) error {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("write results: %w", err)
		}
	}
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write results: %w", err)
	}
	return nil
}
