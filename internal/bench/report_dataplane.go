package bench

import (
	"fmt"
	"strings"

	"moat/internal/bench/l4"
)

// dataplaneRows are the dataplane scenario's lines: each figure of moat's
// beside HAProxy's, the ratio, and the target. Without HAProxy the
// relative targets cannot be judged and carry no mark.
func dataplaneRows(dr *DataplaneResult, add func(scn, fig, val, ratio string), check func(scn, fig, val, ratio string, v float64, target string, pass bool)) {
	scn := "dataplane"
	m, h := dr.MoatFigures, dr.HAProxyFigures
	haveH := h != nil
	add(scn, "HAProxy", dr.HAProxy, "")
	if dr.MoatError != "" {
		add(scn, "moat", "not measured: "+firstLine(dr.MoatError), "")
	}
	if m == nil && h != nil {
		haproxyRows(scn, h, add)
	}
	if m == nil {
		m = &ProxyFigures{}
	}
	if h == nil {
		h = &ProxyFigures{}
	}
	rt := dr.Ratios
	if rt == nil {
		rt = &DataplaneRatios{}
	}
	xh := func(v float64) string {
		if v == 0 {
			return ""
		}
		return fmt.Sprintf("%.3f x HAProxy", v)
	}
	// relative records a check against HAProxy's figure when there is
	// one; moat must have been measured for a PASS.
	relative := func(fig, val string, ratio float64, target string, pass bool, measured bool) {
		if !haveH {
			add(scn, fig, val, "")
			add(scn, "  target", target+" (no HAProxy)", "")
			return
		}
		check(scn, fig, val, xh(ratio), ratio, target, measured && ratio > 0 && pass)
	}
	both := func(mv, hv, unit string) string {
		if haveH {
			return strings.TrimSpace(fmt.Sprintf("moat %s, HAProxy %s %s", mv, hv, unit))
		}
		return strings.TrimSpace(fmt.Sprintf("moat %s %s", mv, unit))
	}
	f1 := func(v float64) string { return fmt.Sprintf("%.1f", v) }

	for _, b := range []struct {
		fig    string
		mb, hb *l4.BulkResult
		ratio  float64
	}{{"bulk MiB/s, 1 connection", m.Bulk1, h.Bulk1, rt.Bulk1}, {"bulk MiB/s, 32 connections", m.Bulk32, h.Bulk32, rt.Bulk32}} {
		if b.mb == nil {
			continue
		}
		hv := 0.0
		if b.hb != nil {
			hv = b.hb.MBPerSec
		}
		relative(b.fig, both(f1(b.mb.MBPerSec), f1(hv), ""), b.ratio, fmt.Sprintf(">= %.1f x HAProxy", TargetDPThroughputRatio), b.ratio >= TargetDPThroughputRatio, b.mb.Errors == 0)
	}
	if l := m.ConnRate; l != nil {
		hv := 0.0
		if h.ConnRate != nil {
			hv = h.ConnRate.AnsweredPerSec
		}
		relative(fmt.Sprintf("short connections/s, %d workers", l.Workers), both(fmt.Sprintf("%.0f", l.AnsweredPerSec), fmt.Sprintf("%.0f", hv), ""), rt.ConnRate,
			fmt.Sprintf(">= %.1f x HAProxy", TargetDPConnRateRatio), rt.ConnRate >= TargetDPConnRateRatio, true)
		check(scn, "short connections: refused / errors (moat)", fmt.Sprintf("%d / %d of %d", l.Refused, l.Errors, l.Attempts), "", float64(l.Refused+l.Errors), "0", l.Refused+l.Errors == 0)
	}
	if l := m.Echo; l != nil {
		hv := 0.0
		if h.Echo != nil {
			hv = h.Echo.Latency.P99Ms
			add(scn, "echo p50 (HAProxy)", fmt.Sprintf("%.3f ms", h.Echo.Latency.P50Ms), "")
		}
		add(scn, "echo p50 (moat)", fmt.Sprintf("%.3f ms", l.Latency.P50Ms), "")
		relative(fmt.Sprintf("echo p99, %d connections", l.Connections), both(fmt.Sprintf("%.3f", l.Latency.P99Ms), fmt.Sprintf("%.3f", hv), "ms"), rt.EchoP99,
			fmt.Sprintf("<= %.1f x HAProxy", TargetDPP99Ratio), rt.EchoP99 <= TargetDPP99Ratio, l.Errors == 0)
	}
	if l := m.Idle; l != nil {
		v := fmt.Sprintf("moat %.1f KiB (%d held, VmRSS %.1f -> %.1f MiB)", l.PerConnKiB, l.Held, l.BeforeMB, l.AfterMB)
		if hl := h.Idle; hl != nil {
			v += fmt.Sprintf(", HAProxy %.1f KiB", hl.PerConnKiB)
		}
		check(scn, fmt.Sprintf("memory per idle connection, %d", l.Requested), v, xh(rt.IdlePerConn), l.PerConnKiB,
			fmt.Sprintf("<= %.0f KiB", TargetDPIdleKiB), l.Held == l.Requested && l.PerConnKiB <= TargetDPIdleKiB)
	}
	if f := m.Flood; f != nil && f.Flood != nil {
		v := fmt.Sprintf("moat %.1f/s (%d attempts/s)", f.FloodPerSec, int64(f.Flood.AttemptsPerSec))
		if hf := h.Flood; hf != nil && hf.Flood != nil {
			v += fmt.Sprintf(", HAProxy %.1f/s", hf.FloodPerSec)
		}
		check(scn, fmt.Sprintf("flood from one source, Slimit Cps %d: answered", DPFloodCps), v, xh(rt.FloodPerSec), f.FloodPerSec,
			fmt.Sprintf("<= %.0f/s", TargetDPFloodPerSec), f.FloodPerSec <= TargetDPFloodPerSec)
		v = fmt.Sprintf("moat %.3f", f.OthersRatio)
		if hf := h.Flood; hf != nil {
			v += fmt.Sprintf(", HAProxy %.3f", hf.OthersRatio)
		}
		check(scn, fmt.Sprintf("other sources (%d x %.0f/s) during / without the flood", len(dpOthers), dpOtherRate), v, xh(rt.OthersRatio), f.OthersRatio,
			fmt.Sprintf(">= %.1f", TargetDPOthersRatio), f.OthersRatio >= TargetDPOthersRatio)
	}
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

// haproxyRows show HAProxy's figures when moat was not measured.
func haproxyRows(scn string, h *ProxyFigures, add func(scn, fig, val, ratio string)) {
	if b := h.Bulk1; b != nil {
		add(scn, "HAProxy bulk MiB/s, 1 connection", fmt.Sprintf("%.1f", b.MBPerSec), "")
	}
	if b := h.Bulk32; b != nil {
		add(scn, "HAProxy bulk MiB/s, 32 connections", fmt.Sprintf("%.1f", b.MBPerSec), "")
	}
	if l := h.ConnRate; l != nil {
		add(scn, "HAProxy short connections/s", fmt.Sprintf("%.0f", l.AnsweredPerSec), "")
	}
	if l := h.Echo; l != nil {
		add(scn, "HAProxy echo p50 / p99", fmt.Sprintf("%.3f / %.3f ms", l.Latency.P50Ms, l.Latency.P99Ms), "")
	}
	if l := h.Idle; l != nil {
		add(scn, "HAProxy memory per idle connection", fmt.Sprintf("%.1f KiB (%d held)", l.PerConnKiB, l.Held), "")
	}
	if f := h.Flood; f != nil {
		add(scn, "HAProxy flood answered / others' ratio", fmt.Sprintf("%.1f/s / %.3f", f.FloodPerSec, f.OthersRatio), "")
	}
}
