package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"moat/internal/bench/loadgen"
)

// Summarize reads result files (of scripts/bench-matrix.sh) and writes
// the Markdown tables of docs/BENCHMARKS.md's matrix: one row per run,
// the mixed workload, the multi-replica lifecycle runs, and the shared-store
// targets, including the one that compares two runs (PostgreSQL's
// describe figure over SQLite's at the same store size).
func Summarize(w io.Writer, files []string) error {
	var runs []*Results
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		var res Results
		if err := json.Unmarshal(b, &res); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		runs = append(runs, &res)
	}
	slices.SortStableFunc(runs, func(a, b *Results) int {
		if c := strings.Compare(storeOf(a), storeOf(b)); c != 0 {
			return -c // sqlite first
		}
		if c := instancesOf(a) - instancesOf(b); c != 0 {
			return int(min(max(c, -1), 1))
		}
		return replicasOf(a) - replicasOf(b)
	})
	writeRunTable(w, runs)
	writeMixedTable(w, runs)
	writeReplicaTable(w, runs)
	writeTargetTable(w, runs)
	return nil
}

func storeOf(r *Results) string {
	if r.Server != nil && r.Server.Store != "" {
		return r.Server.Store
	}
	return "sqlite"
}

func instancesOf(r *Results) int64 {
	if r.Seed != nil {
		return r.Seed.Final
	}
	return int64(r.Settings.Instances)
}

func replicasOf(r *Results) int {
	if r.Server != nil && r.Server.Replicas > 1 {
		return r.Server.Replicas
	}
	return 1
}

func storeName(r *Results) string {
	if storeOf(r) == "postgres" {
		return "PostgreSQL"
	}
	return "SQLite"
}

func withRatio(v, ratio float64) string {
	if ratio == 0 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.0f (%.3f)", v, ratio)
}

func p50p99(l loadgen.Latency) string { return fmt.Sprintf("%.2f / %.2f", l.P50Ms, l.P99Ms) }

func commandOf(r *Results) string { return "`" + strings.Join(r.Command, " ") + "`" }

func writeRunTable(w io.Writer, runs []*Results) {
	fmt.Fprintln(w, "| store | instances | baseline req/s | DescribeInstances req/s (x baseline) | p50 / p99 ms | ReleaseInstance /s (x baseline) | p50 / p99 ms | CreateInstance /s (x baseline) | catch-up, 100,000 due expiries | moat RSS end / peak MiB | command |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|")
	for _, r := range runs {
		if r.Describe == nil || replicasOf(r) > 1 {
			continue
		}
		cell := func(ok bool, f func() string) string {
			if !ok {
				return "-"
			}
			return f()
		}
		row := []string{storeName(r), fmt.Sprintf("%d", instancesOf(r)),
			cell(r.Baseline != nil, func() string { return fmt.Sprintf("%.0f", r.Baseline.OKPerSec) }),
			withRatio(r.Describe.OKPerSec, r.Describe.RatioToBaseline), p50p99(r.Describe.Latency),
			cell(r.Release != nil && r.Release.Load != nil, func() string { return withRatio(r.Release.ReleasesPerSec, r.Release.RatioToBaseline) }),
			cell(r.Release != nil && r.Release.Load != nil, func() string { return p50p99(r.Release.Load.Latency) }),
			cell(r.Create != nil, func() string { return withRatio(r.Create.CreatesPerSec, r.Create.RatioToBaseline) }),
			cell(r.Lifecycle != nil && r.Lifecycle.CatchUpSeconds > 0, func() string {
				return fmt.Sprintf("%.2f s (%d)", r.Lifecycle.CatchUpSeconds, r.Lifecycle.Instances)
			}),
			cell(r.Memory != nil && r.Memory.End != nil, func() string { return fmt.Sprintf("%.1f / %.1f", r.Memory.End.RSSMB, r.Memory.End.HWMMB) }),
			commandOf(r),
		}
		fmt.Fprintf(w, "| %s |\n", strings.Join(row, " | "))
	}
	fmt.Fprintln(w)
}

func writeMixedTable(w io.Writer, runs []*Results) {
	var any bool
	for _, r := range runs {
		if r.Mixed != nil && r.Mixed.Load != nil {
			any = true
		}
	}
	if !any {
		return
	}
	fmt.Fprintf(w, "| store | instances | load | all req/s (x baseline) | %s | errors |\n", strings.Join(mapActions(func(a string) string { return a + " /s, p50 / p99 ms" }), " | "))
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|")
	for _, r := range runs {
		if r.Mixed == nil || r.Mixed.Load == nil {
			continue
		}
		l := r.Mixed.Load
		mode := fmt.Sprintf("flat out, %d conns", l.Connections)
		if o := l.Open; o != nil {
			mode = fmt.Sprintf("%g/s open loop (%d late, %d dropped)", o.Rate, o.Late, o.Dropped)
		}
		row := []string{storeName(r), fmt.Sprintf("%d", instancesOf(r)), mode, withRatio(l.Total.OKPerSec, r.Mixed.RatioToBaseline)}
		for _, a := range l.Actions {
			row = append(row, fmt.Sprintf("%.0f, %s", a.OKPerSec, p50p99(a.Latency)))
		}
		row = append(row, fmt.Sprintf("%d of %d", l.Total.Errors, l.Total.Requests))
		fmt.Fprintf(w, "| %s |\n", strings.Join(row, " | "))
	}
	fmt.Fprintln(w)
}

func mapActions(f func(string) string) []string {
	out := make([]string, len(MixActions))
	for i, a := range MixActions {
		out[i] = f(a)
	}
	return out
}

func writeReplicaTable(w io.Writer, runs []*Results) {
	var rows []*Results
	for _, r := range runs {
		if replicasOf(r) > 1 && r.Lifecycle != nil {
			rows = append(rows, r)
		}
	}
	if len(rows) == 0 {
		return
	}
	fmt.Fprintln(w, "| store | replicas | instances | catch-up | due expiries | applied by replica | describe during catch-up | moat RSS end, each replica MiB | command |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|")
	for _, r := range rows {
		lr := r.Lifecycle
		during := "none (no load)"
		if d := lr.DescribeDuring; d != nil {
			during = fmt.Sprintf("%.0f req/s, p99 %.2f ms, %d errors", d.OKPerSec, d.Latency.P99Ms, d.Errors)
		}
		rss := "-"
		if m := r.Memory; m != nil && m.End != nil {
			parts := []string{fmt.Sprintf("%.1f", m.End.RSSMB)}
			for _, x := range m.Replicas {
				parts = append(parts, fmt.Sprintf("%.1f", x.RSSMB))
			}
			rss = strings.Join(parts, " / ")
		}
		fmt.Fprintf(w, "| %s | %d | %d | %.2f s (%s) | %d | %s | %s | %s | %s |\n", storeName(r), replicasOf(r), instancesOf(r),
			lr.CatchUpSeconds, lr.CatchUpMethod, lr.Instances, joinInts(lr.AppliedByReplica, " / "), during, rss, commandOf(r))
	}
	fmt.Fprintln(w)
}

// writeTargetTable checks the shared-store targets over the runs.
func writeTargetTable(w io.Writer, runs []*Results) {
	fmt.Fprintln(w, "| PostgreSQL target | instances | value | |")
	fmt.Fprintln(w, "|---|---|---|---|")
	find := func(store string, n int64) *Results {
		for _, r := range runs {
			if storeOf(r) == store && instancesOf(r) == n && replicasOf(r) == 1 && r.Describe != nil {
				return r
			}
		}
		return nil
	}
	var sizes []int64
	for _, r := range runs {
		if n := instancesOf(r); storeOf(r) == "postgres" && !slices.Contains(sizes, n) {
			sizes = append(sizes, n)
		}
	}
	slices.Sort(sizes)
	for _, n := range sizes {
		pg, lite := find("postgres", n), find("sqlite", n)
		if pg != nil && lite != nil && lite.Describe.OKPerSec > 0 {
			v := pg.Describe.OKPerSec / lite.Describe.OKPerSec
			// The ratio of the two runs' multiples of their own baselines
			// cancels what the machine did differently between the runs.
			vb := ""
			if pg.Describe.RatioToBaseline > 0 && lite.Describe.RatioToBaseline > 0 {
				vb = fmt.Sprintf(" (of baseline multiples: %.2f)", pg.Describe.RatioToBaseline/lite.Describe.RatioToBaseline)
			}
			fmt.Fprintf(w, "| PostgreSQL DescribeInstances >= 0.5 x SQLite's | %d | %.0f / %.0f = %.2f%s | %s |\n", n,
				pg.Describe.OKPerSec, lite.Describe.OKPerSec, v, vb, mark(v >= TargetPGDescribeRatio))
		}
		if pg != nil && pg.Release != nil && pg.Release.Load != nil {
			fmt.Fprintf(w, "| PostgreSQL ReleaseInstance >= %.0f/s | %d | %.0f/s | %s |\n", TargetPGReleasesPerSec, n,
				pg.Release.ReleasesPerSec, mark(pg.Release.ReleasesPerSec >= TargetPGReleasesPerSec))
		}
	}
	for _, r := range runs {
		if lr := r.Lifecycle; lr != nil && replicasOf(r) > 1 && lr.CatchUpSeconds > 0 {
			ok := lr.Instances >= TargetCatchUpCount && lr.CatchUpSeconds < TargetReplicaCatchUpSecs && replicasOf(r) >= TargetCatchUpReplicas &&
				lr.OfTheseInstances == int64(lr.Instances)
			load := "no other load"
			if d := lr.DescribeDuring; d != nil {
				load = fmt.Sprintf("under a %d-connection describe load", d.Connections)
			}
			fmt.Fprintf(w, "| %d due expiries in < %.0f s across %d replicas | %d | %.2f s with %d replicas, %s | %s |\n", TargetCatchUpCount,
				TargetReplicaCatchUpSecs, TargetCatchUpReplicas, instancesOf(r), lr.CatchUpSeconds, replicasOf(r), load, mark(ok))
		}
	}
}
