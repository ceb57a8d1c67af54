package bench

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"moat/internal/bench/loadgen"
)

// The summary has a row per run (SQLite first), the mixed loads, the
// multi-replica lifecycle, and the shared-store targets, one of which compares
// the PostgreSQL and SQLite runs of the same size.
func TestSummarize(t *testing.T) {
	dir := t.TempDir()
	run := func(name, store string, n int64, replicas int, describe, base float64) string {
		res := &Results{
			Command:  []string{"./moat", "bench", "--instances", "N"},
			Server:   &ServerInfo{Store: store, Replicas: replicas},
			Seed:     &SeedResult{Final: n},
			Baseline: &loadgen.LoadResult{OKPerSec: base},
			Memory:   &MemoryResult{End: &MemFigures{RSSMB: 80, HWMMB: 90}},
		}
		if replicas == 1 {
			res.Describe = &loadgen.LoadResult{OKPerSec: describe, Latency: loadgen.Latency{P50Ms: 1, P99Ms: 9}}
			res.Release = &ReleaseResult{ReleasesPerSec: 1600, Load: &loadgen.LoadResult{}}
			res.Create = &CreateResult{CreatesPerSec: 900, Load: &loadgen.LoadResult{}}
			res.Mixed = &MixedResult{Load: &loadgen.MixLoadResult{Connections: 64, Total: loadgen.ActionResult{OKPerSec: 3000},
				Actions: []loadgen.ActionResult{{Action: "describe"}, {Action: "release"}, {Action: "create"}, {Action: "renew"}}}}
		} else {
			res.Lifecycle = &LifecycleResult{Instances: 100000, OfTheseInstances: 100000, CatchUpSeconds: 9.5, CatchUpMethod: "events API",
				AppliedByReplica: []int64{1, 2, 3}}
		}
		res.Lifecycle = coalesce(res.Lifecycle, &LifecycleResult{Instances: 100000, CatchUpSeconds: 3})
		computeRatios(res)
		path := filepath.Join(dir, name+".json")
		if err := WriteJSON(path, res); err != nil {
			t.Fatal(err)
		}
		return path
	}
	files := []string{
		run("pg-1m", "postgres", 1000000, 1, 4000, 20000),
		run("lite-1m", "sqlite", 1000000, 1, 10000, 40000),
		run("pg-1m-3", "postgres", 1000000, 3, 0, 20000),
		run("pg-10k", "postgres", 10000, 1, 6000, 20000),
	}
	var out bytes.Buffer
	if err := Summarize(&out, files); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	for _, want := range []string{
		"| SQLite | 1000000 | 40000 | 10000 (0.250) |",
		"| PostgreSQL | 10000 |",
		"| PostgreSQL | 3 | 1000000 | 9.50 s (events API) | 100000 | 1 / 2 / 3 |",
		// 4000 / 10000 = 0.40 < 0.5, but of baseline multiples 0.2/0.25 = 0.80.
		"| PostgreSQL DescribeInstances >= 0.5 x SQLite's | 1000000 | 4000 / 10000 = 0.40 (of baseline multiples: 0.80) | MISS |",
		"| PostgreSQL ReleaseInstance >= 1500/s | 1000000 | 1600/s | PASS |",
		"| 100000 due expiries in < 10 s across 3 replicas | 1000000 | 9.50 s with 3 replicas, no other load | PASS |",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("summary lacks %q:\n%s", want, s)
		}
	}
	if strings.Index(s, "| SQLite | 1000000") > strings.Index(s, "| PostgreSQL | 10000") {
		t.Errorf("SQLite rows should come first:\n%s", s)
	}
	// No SQLite run at 10,000: no ratio row for that size.
	if strings.Contains(s, "SQLite's | 10000 |") {
		t.Errorf("a ratio without its SQLite run:\n%s", s)
	}
}

func coalesce[T any](a, b *T) *T {
	if a != nil {
		return a
	}
	return b
}
