package bench

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"moat/internal/bench/loadgen"
)

// The single-store targets (docs/BENCHMARKS.md), for 1,000,000 instances in the
// store and the load generator on the same machine.
const (
	TargetDescribeRPS    = 10000.0
	TargetDescribeP99Ms  = 20.0
	TargetReleasesPerSec = 2000.0
	TargetCatchUpSeconds = 5.0
	TargetCatchUpCount   = 100000
	TargetRSSMB          = 150.0
	TargetStoreSize      = 1000000
)

// The shared-store targets, for a PostgreSQL store on the same 2-core
// machine. TargetPGDescribeRatio compares two runs (PostgreSQL's describe
// requests/s over SQLite's at the same size), so the matrix summary
// checks it, not a single run.
const (
	TargetPGReleasesPerSec     = 1500.0
	TargetReplicaCatchUpSecs   = 10.0
	TargetCatchUpReplicas      = 3
	TargetPGDescribeRatio      = 0.5
	targetPGDescribeRatioLabel = ">= 0.5 x SQLite's (matrix)"
)

// Check is one figure compared with its target.
type Check struct {
	Scenario string
	Figure   string
	Value    float64
	Target   string
	Pass     bool
}

// Row is one line of the table.
type Row struct {
	Scenario, Figure, Value, Ratio, Target, Result string
}

// Evaluate compares the figures with the targets, records the checks in
// res.Checks and returns the table rows.
func Evaluate(res *Results) []Row {
	var rows []Row
	res.Checks = nil
	add := func(scn, fig, val, ratio string) {
		rows = append(rows, Row{Scenario: scn, Figure: fig, Value: val, Ratio: ratio})
	}
	check := func(scn, fig, val, ratio string, v float64, target string, pass bool) {
		res.Checks = append(res.Checks, Check{Scenario: scn, Figure: fig, Value: v, Target: target, Pass: pass})
		rows = append(rows, Row{Scenario: scn, Figure: fig, Value: val, Ratio: ratio, Target: target, Result: mark(pass)})
	}
	latency := func(scn string, l *loadgen.LoadResult) {
		add(scn, "latency p50/p90/p99/max", fmt.Sprintf("%.2f / %.2f / %.2f / %.1f ms", l.Latency.P50Ms, l.Latency.P90Ms, l.Latency.P99Ms, l.Latency.MaxMs), "")
	}

	if s := res.Seed; s != nil {
		v := fmt.Sprintf("%d", s.Final)
		switch {
		case s.Skipped:
			v += " (reused store, seeding skipped)"
		case s.Created > 0:
			v += fmt.Sprintf(" (seeded %d in %s, %.0f/s)", s.Created, dur(s.Seconds), s.PerSec)
		}
		target := ""
		if s.Final < TargetStoreSize {
			target = "targets assume 1000000"
		}
		rows = append(rows, Row{Scenario: "store", Figure: "instances", Value: v, Target: target})
	}
	pg := res.Server != nil && res.Server.Store == "postgres"
	replicas := 1
	if res.Server != nil && res.Server.Replicas > 1 {
		replicas = res.Server.Replicas
	}
	if d := res.Describe; d != nil {
		scn := fmt.Sprintf("describe (%d conns)", d.Connections)
		if pg {
			// PostgreSQL's describe target is relative to SQLite's.
			rows = append(rows, Row{Scenario: scn, Figure: "requests/s", Value: fmt.Sprintf("%.0f", d.OKPerSec), Ratio: ratio(d.RatioToBaseline), Target: targetPGDescribeRatioLabel})
			latency(scn, d)
		} else {
			check(scn, "requests/s", fmt.Sprintf("%.0f", d.OKPerSec), ratio(d.RatioToBaseline), d.OKPerSec, fmt.Sprintf(">= %.0f", TargetDescribeRPS), d.OKPerSec >= TargetDescribeRPS)
			latency(scn, d)
			check(scn, "p99", fmt.Sprintf("%.2f ms", d.Latency.P99Ms), "", d.Latency.P99Ms, fmt.Sprintf("< %.0f ms", TargetDescribeP99Ms), d.Requests > 0 && d.Latency.P99Ms < TargetDescribeP99Ms)
		}
		check(scn, "errors", fmt.Sprintf("%d of %d", d.Errors, d.Requests), "", float64(d.Errors), "0", d.Errors == 0)
	}
	if b := res.Baseline; b != nil {
		scn := fmt.Sprintf("baseline (%d conns)", b.Connections)
		add(scn, "requests/s", fmt.Sprintf("%.0f", b.OKPerSec), ratio(b.RatioToBaseline))
		latency(scn, b)
		add(scn, "errors", fmt.Sprintf("%d of %d", b.Errors, b.Requests), "")
	}
	if rr := res.Release; rr != nil && rr.Load != nil {
		l := rr.Load
		scn := fmt.Sprintf("release (%d conns)", l.Connections)
		target := TargetReleasesPerSec
		if pg {
			target = TargetPGReleasesPerSec
		}
		check(scn, "releases/s", fmt.Sprintf("%.0f", rr.ReleasesPerSec), ratio(rr.RatioToBaseline), rr.ReleasesPerSec, fmt.Sprintf(">= %.0f", target), rr.ReleasesPerSec >= target)
		latency(scn, l)
		check(scn, "non-200 answers", fmt.Sprintf("%d of %d", l.Errors, l.Requests), "", float64(l.Errors), "0", l.Errors == 0 && l.OK == int64(rr.Instances))
	}
	if cr := res.Create; cr != nil && cr.Load != nil {
		l := cr.Load
		scn := fmt.Sprintf("create (%d conns)", l.Connections)
		check(scn, "BSS CreateInstance/s", fmt.Sprintf("%.0f", cr.CreatesPerSec), ratio(cr.RatioToBaseline), cr.CreatesPerSec, fmt.Sprintf(">= %.0f", TargetCreatesPerSec), cr.CreatesPerSec >= TargetCreatesPerSec)
		latency(scn, l)
		check(scn, "non-200 answers", fmt.Sprintf("%d of %d", l.Errors, l.Requests), "", float64(l.Errors), "0", l.Errors == 0 && l.OK == int64(cr.Instances))
	}
	if tr := res.Tags; tr != nil {
		scn := "tags"
		if tr.Load != nil {
			scn = fmt.Sprintf("tags (%d conns)", tr.Load.Connections)
		}
		target := ""
		if tr.AccountInstances < TargetTagInstances {
			target = fmt.Sprintf("targets assume %d", TargetTagInstances)
		}
		add(scn, "account instances / tagged", fmt.Sprintf("%d / %d", tr.AccountInstances, tr.Tagged), "")
		if l := tr.Load; l != nil {
			add(scn, "requests/s", fmt.Sprintf("%.0f", l.OKPerSec), ratio(l.RatioToBaseline))
			latency(scn, l)
			check(scn, "p99", fmt.Sprintf("%.2f ms", l.Latency.P99Ms), "", l.Latency.P99Ms, strings.TrimSpace(fmt.Sprintf("< %.0f ms %s", TargetTagP99Ms, target)),
				l.Requests > 0 && l.Latency.P99Ms < TargetTagP99Ms && tr.AccountInstances >= TargetTagInstances)
			check(scn, "errors", fmt.Sprintf("%d of %d", l.Errors, l.Requests), "", float64(l.Errors), "0", l.Errors == 0)
		}
	}
	if rr := res.RAM; rr != nil && len(rr.Rounds) > 0 {
		scn := fmt.Sprintf("ram (%d conns)", rr.Rounds[0].Root.Connections)
		add(scn, "root account requests/s", fmt.Sprintf("%.0f, p99 %.2f ms", rr.RootPerSec, rr.RootP99Ms), "")
		check(scn, fmt.Sprintf("RAM user (%d statements) requests/s", rr.Statements), fmt.Sprintf("%.0f, p99 %.2f ms", rr.UserPerSec, rr.UserP99Ms),
			fmt.Sprintf("%.3f of root", rr.Ratio), rr.Ratio, fmt.Sprintf(">= %.2f of root", TargetRAMRatio), rr.Ratio >= TargetRAMRatio)
		check(scn, "errors", fmt.Sprintf("%d of %d", rr.Errors, rr.Requests), "", float64(rr.Errors), "0", rr.Errors == 0)
	}
	if rr := res.Rules; rr != nil {
		for _, s := range []struct {
			name string
			l    *loadgen.LoadResult
		}{{"DescribeNetworkRules", rr.DescribeNetworkRules}, {"DescribePort", rr.DescribePort}} {
			if s.l == nil {
				continue
			}
			scn := fmt.Sprintf("rules: %s (%d rules, %d conns)", s.name, rr.Rules, s.l.Connections)
			add(scn, "requests/s", fmt.Sprintf("%.0f", s.l.OKPerSec), ratio(s.l.RatioToBaseline))
			latency(scn, s.l)
			check(scn, "errors", fmt.Sprintf("%d of %d", s.l.Errors, s.l.Requests), "", float64(s.l.Errors), "0", s.l.Errors == 0)
		}
		if l := rr.CreatePort; l != nil {
			scn := fmt.Sprintf("rules: CreatePort (%d conns)", l.Connections)
			add(scn, "CreatePort/s", fmt.Sprintf("%.0f", rr.CreatesPerSec), ratio(rr.RatioToBaseline))
			latency(scn, l)
			check(scn, "non-200 answers", fmt.Sprintf("%d of %d", l.Errors, l.Requests), "", float64(l.Errors), "0", l.Errors == 0 && l.OK == int64(rr.Creates))
		}
	}
	if mr := res.Mixed; mr != nil && mr.Load != nil {
		mixedRows(mr, add, check)
	}
	if lr := res.Lifecycle; lr != nil {
		scn := "lifecycle"
		if replicas > 1 {
			scn = fmt.Sprintf("lifecycle (%d replicas)", replicas)
		}
		if lr.CatchUpSeconds > 0 {
			limit, note := TargetCatchUpSeconds, ""
			if pg {
				// The PostgreSQL target: across three replicas sharing the database.
				limit = TargetReplicaCatchUpSecs
				if replicas != TargetCatchUpReplicas {
					note = fmt.Sprintf(" with %d replicas", TargetCatchUpReplicas)
				}
			}
			target := fmt.Sprintf("< %.0f s%s", limit, note)
			if lr.Instances != TargetCatchUpCount {
				target += fmt.Sprintf(" (for %d)", TargetCatchUpCount)
			}
			check(scn, fmt.Sprintf("catch-up, %d due expiries", lr.Instances), fmt.Sprintf("%.3f s (%s)", lr.CatchUpSeconds, lr.CatchUpMethod), "", lr.CatchUpSeconds, target,
				lr.Instances >= TargetCatchUpCount && lr.CatchUpSeconds < limit)
			if replicas > 1 {
				add(scn, "clock call (its own replica's pass)", fmt.Sprintf("%.3f s", lr.ClockCallSeconds), "")
				add(scn, "events API reads / re-reads", fmt.Sprintf("%d / %d", lr.EventPolls, lr.EventRescans), "")
				if len(lr.AppliedByReplica) > 0 {
					add(scn, "transitions applied by replica", joinInts(lr.AppliedByReplica, " / "), "")
				}
			}
			add(scn, "expiries/s", fmt.Sprintf("%.0f", lr.ExpiriesPerSec), ratio(lr.RatioToBaseline))
			check(scn, "expired events recorded", fmt.Sprintf("%d (%d of these instances)", lr.ExpiredEvents, lr.OfTheseInstances), "", float64(lr.ExpiredEvents),
				fmt.Sprintf("= %d", lr.Instances), lr.ExpiredEvents == int64(lr.Instances) && lr.OfTheseInstances == int64(lr.Instances))
		}
		if b := lr.DescribeBefore; b != nil {
			fig := fmt.Sprintf("describe %d conns, nothing due", b.Connections)
			add(scn, fig, fmt.Sprintf("%.0f req/s, p99 %.2f ms, %d errors", b.OKPerSec, b.Latency.P99Ms, b.Errors), ratio(b.RatioToBaseline))
		}
		if d := lr.DescribeDuring; d != nil {
			fig := fmt.Sprintf("describe %d conns, during catch-up", d.Connections)
			check(scn, fig, fmt.Sprintf("%.0f req/s, p99 %.2f ms, max %.1f ms, %d errors", d.OKPerSec, d.Latency.P99Ms, d.Latency.MaxMs, d.Errors), ratio(d.RatioToBaseline),
				float64(d.Errors), "reads answered, 0 errors", d.Errors == 0 && d.OK > 0)
		}
	}
	if dr := res.Dataplane; dr != nil {
		dataplaneRows(dr, add, check)
	}
	if wr := res.Web; wr != nil {
		webRows(wr, add, check)
	}
	if m := res.Memory; m != nil {
		scn := "memory"
		if pg {
			scn = "memory (moat only)"
		}
		if m.AfterSeed != nil {
			fig := "moat VmRSS after seeding"
			if res.Seed != nil && res.Seed.Created == 0 {
				fig = "moat VmRSS after start (no seeding)"
			}
			add(scn, fig, fmt.Sprintf("%.1f MiB", m.AfterSeed.RSSMB), "")
		}
		if m.End != nil {
			check(scn, "moat VmRSS at end", fmt.Sprintf("%.1f MiB", m.End.RSSMB), "", m.End.RSSMB, fmt.Sprintf("< %.0f MB", TargetRSSMB), m.End.RSSMB < TargetRSSMB)
			check(scn, "moat VmHWM (peak RSS)", fmt.Sprintf("%.1f MiB", m.End.HWMMB), "", m.End.HWMMB, fmt.Sprintf("< %.0f MB", TargetRSSMB), m.End.HWMMB < TargetRSSMB)
		}
		for i, rm := range m.Replicas {
			add(scn, fmt.Sprintf("replica #%d VmRSS / VmHWM at end", i+2), fmt.Sprintf("%.1f / %.1f MiB", rm.RSSMB, rm.HWMMB), "")
		}
		if pg {
			add(scn, "PostgreSQL's own memory", "not counted", "")
		}
		if m.Baseline != nil {
			add(scn, "baseline VmRSS", fmt.Sprintf("%.1f MiB", m.Baseline.RSSMB), "")
		}
	}
	return rows
}

func mark(pass bool) string {
	if pass {
		return "PASS"
	}
	return "MISS"
}

func ratio(r float64) string {
	if r == 0 {
		return ""
	}
	return fmt.Sprintf("%.3f", r)
}

func dur(secs float64) string {
	return time.Duration(secs * float64(time.Second)).Round(100 * time.Millisecond).String()
}

// PrintTable writes the human-readable report.
func PrintTable(w io.Writer, res *Results, rows []Row) {
	m := res.Machine
	fmt.Fprintf(w, "\nmoat bench %s: %d CPUs (%s), %s %s/%s, load average %s -> %s\n",
		res.MoatVersion, m.NumCPU, orDash(m.CPUModel), m.GoVersion, m.GOOS, m.GOARCH, orDash(m.LoadAvgStart), orDash(m.LoadAvgEnd))
	if s := res.Server; s != nil {
		fmt.Fprintf(w, "server: %s\n", serverLine(s))
	}
	fmt.Fprintf(w, "command: %s\n\n", strings.Join(res.Command, " "))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SCENARIO\tFIGURE\tVALUE\tx BASELINE\tTARGET\tRESULT")
	last := ""
	for _, r := range rows {
		scn := r.Scenario
		if scn == last {
			scn = ""
		}
		last = r.Scenario
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", scn, r.Figure, r.Value, r.Ratio, r.Target, r.Result)
	}
	tw.Flush()

	var firsts []string
	add := func(name string, l *loadgen.LoadResult) {
		if l != nil && l.FirstError != "" {
			firsts = append(firsts, fmt.Sprintf("  %s: %s", name, l.FirstError))
		}
	}
	add("describe", res.Describe)
	add("baseline", res.Baseline)
	if res.Release != nil {
		add("release", res.Release.Load)
	}
	if res.Create != nil {
		add("create", res.Create.Load)
	}
	if mr := res.Mixed; mr != nil && mr.Load != nil {
		for _, a := range mr.Load.Actions {
			if a.FirstError != "" {
				firsts = append(firsts, fmt.Sprintf("  mixed %s: %s", a.Action, a.FirstError))
			}
		}
	}
	if res.Lifecycle != nil {
		add("lifecycle describe (nothing due)", res.Lifecycle.DescribeBefore)
		add("lifecycle describe (during catch-up)", res.Lifecycle.DescribeDuring)
	}
	if len(firsts) > 0 {
		fmt.Fprintf(w, "\nfirst errors:\n%s\n", strings.Join(firsts, "\n"))
	}
	if s := res.Server; s != nil && s.FirstError != "" {
		fmt.Fprintf(w, "\nserver logged an error: %s\n", s.FirstError)
	}
	if s := res.Server; s != nil && s.StopError != "" {
		fmt.Fprintf(w, "\nserver stop: %s\n", s.StopError)
	}
	for _, e := range res.Errors {
		fmt.Fprintf(w, "\nerror: %s\n", e)
	}
	if res.Interrupted {
		fmt.Fprintln(w, "\ninterrupted: the figures are partial")
	}
	pass, miss := 0, 0
	for _, c := range res.Checks {
		if c.Pass {
			pass++
		} else {
			miss++
		}
	}
	fmt.Fprintf(w, "\n%d PASS, %d MISS\n", pass, miss)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// serverLine describes the measured server(s) and store.
func serverLine(s *ServerInfo) string {
	procs := "moat serve"
	if s.Replicas > 1 {
		procs = fmt.Sprintf("%d x moat serve", s.Replicas)
	}
	line := fmt.Sprintf("%s --log-level %s, ", procs, s.LogLevel)
	if p := s.Postgres; p != nil {
		line += fmt.Sprintf("PostgreSQL %s store %s (synchronous_commit=%s, fsync=%s, shared_buffers=%s", p.Version, s.DB, p.SynchronousCommit, p.Fsync, p.SharedBuffers)
		if p.DataFileSystem != "" {
			line += ", data on " + p.DataFileSystem
		}
		return line + ")"
	}
	line += "SQLite store " + s.DB
	if s.DBFileSystem != "" {
		line += " on " + s.DBFileSystem
	}
	return line
}

func joinInts(v []int64, sep string) string {
	parts := make([]string, len(v))
	for i, n := range v {
		parts[i] = fmt.Sprintf("%d", n)
	}
	return strings.Join(parts, sep)
}

// mixedRows are the mixed scenario's lines: the whole load, then one line
// per action with its share, rate, latencies and errors by code.
func mixedRows(mr *MixedResult, add func(scn, fig, val, ratio string), check func(scn, fig, val, ratio string, v float64, target string, pass bool)) {
	l := mr.Load
	scn := fmt.Sprintf("mixed (%d conns, flat out)", l.Connections)
	if o := l.Open; o != nil {
		scn = fmt.Sprintf("mixed (%g/s open loop, <= %d in flight)", o.Rate, l.Connections)
	}
	add(scn, "mix", mr.Mix, "")
	t := l.Total
	add(scn, "all: requests/s (2xx)", fmt.Sprintf("%.0f in %.1f s", t.OKPerSec, l.Seconds), ratio(mr.RatioToBaseline))
	add(scn, "all: latency p50/p90/p99/max", fmt.Sprintf("%.2f / %.2f / %.2f / %.1f ms", t.Latency.P50Ms, t.Latency.P90Ms, t.Latency.P99Ms, t.Latency.MaxMs), "")
	for _, a := range l.Actions {
		if a.Requests == 0 {
			continue
		}
		v := fmt.Sprintf("%.0f/s, p50/p90/p99/max %.2f / %.2f / %.2f / %.1f ms, %d errors", a.OKPerSec, a.Latency.P50Ms, a.Latency.P90Ms, a.Latency.P99Ms, a.Latency.MaxMs, a.Errors)
		if len(a.ErrorCodes) > 0 {
			var codes []string
			for _, c := range loadgen.SortedCodes(a.ErrorCodes) {
				codes = append(codes, fmt.Sprintf("%s %d", c, a.ErrorCodes[c]))
			}
			v += " (" + strings.Join(codes, ", ") + ")"
		}
		add(scn, fmt.Sprintf("%s: %d requests", a.Action, a.Requests), v, "")
	}
	if o := l.Open; o != nil {
		add(scn, "start behind schedule", fmt.Sprintf("p50 %.2f ms, p99 %.2f ms, max %.1f ms", o.StartLag.P50Ms, o.StartLag.P99Ms, o.StartLag.MaxMs), "")
		check(scn, "scheduled / late / dropped", fmt.Sprintf("%d / %d / %d", o.Scheduled, o.Late, o.Dropped), "", float64(o.Dropped),
			fmt.Sprintf("0 dropped (late > %.0f ms, dropped > %.0f ms)", o.LateAfterMs, o.MaxLagMs), o.Dropped == 0)
	}
	add(scn, "pools: release / renew", fmt.Sprintf("%d / %d instances, %d refills (%d instances)", mr.ReleasePool, mr.RenewPool, mr.Refills, mr.RefillInstances), "")
	if l.Starved > 0 {
		check(scn, "draws with an empty pool", fmt.Sprintf("%d", l.Starved), "", float64(l.Starved), "0", false)
	}
	check(scn, "errors", fmt.Sprintf("%d of %d", t.Errors, t.Requests), "", float64(t.Errors), "0", t.Errors == 0)
}
