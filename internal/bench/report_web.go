package bench

import (
	"fmt"
	"slices"
	"strings"

	"moat/internal/bench/l7"
)

// webRows are the web scenario's lines: each figure of moat's beside
// nginx's, the ratio and the target. Without nginx the relative targets
// cannot be judged and carry no mark.
func webRows(wr *WebResult, add func(scn, fig, val, ratio string), check func(scn, fig, val, ratio string, v float64, target string, pass bool)) {
	scn := "web"
	m, n := wr.MoatFigures, wr.NginxFigures
	haveN := n != nil
	add(scn, "nginx", wr.Nginx, "")
	add(scn, "TLS", wr.TLS, "")
	if wr.MoatError != "" {
		add(scn, "moat", "not measured: "+firstLine(wr.MoatError), "")
	}
	if m == nil {
		m = &WebFigures{}
	}
	if n == nil {
		n = &WebFigures{}
	}
	rt := wr.Ratios
	if rt == nil {
		rt = &WebRatios{}
	}
	xn := func(v float64) string {
		if v == 0 {
			return ""
		}
		return fmt.Sprintf("%.3f x nginx", v)
	}
	both := func(mv, nv string) string {
		if haveN {
			return fmt.Sprintf("moat %s, nginx %s", mv, nv)
		}
		return "moat " + mv
	}
	perSec := func(r *l7.Result) string {
		if r == nil {
			return "-"
		}
		s := fmt.Sprintf("%.0f", r.OKPerSec)
		if bad := r.Answered - r.OK + r.Errors; bad > 0 {
			s += fmt.Sprintf(" (%d errors, %d not 200)", r.Errors, r.Answered-r.OK)
		}
		return s
	}
	relative := func(fig string, mr, nr *l7.Result, ratio, target float64) {
		if mr == nil && nr == nil {
			return
		}
		val := both(perSec(mr), perSec(nr))
		t := fmt.Sprintf(">= %.1f x nginx", target)
		if !haveN || mr == nil {
			add(scn, fig, val, "")
			add(scn, "  target", t+" (not judged: only one proxy measured)", "")
			return
		}
		clean := mr.Errors == 0 && mr.OK == mr.Answered
		check(scn, fig, val, xn(ratio), ratio, t, clean && ratio > 0 && ratio >= target)
	}
	relative(fmt.Sprintf("keep-alive HTTPS requests/s, %d connections", webKeepAlive), m.KeepAlive, n.KeepAlive, rt.KeepAlive, TargetWebKeepAliveRatio)
	relative(fmt.Sprintf("new TLS handshakes/s, %d workers", webHandshakes), m.Handshakes, n.Handshakes, rt.Handshakes, TargetWebHandshakeRatio)
	if d := wr.Direct; d != nil {
		add(scn, fmt.Sprintf("direct to the origin at %.0f req/s: p50 / p99", wr.Rate), fmt.Sprintf("%.3f / %.3f ms", d.Latency.P50Ms, d.Latency.P99Ms), "")
	}
	for _, p := range []struct {
		name string
		f    *WebFigures
	}{{"moat", m}, {"nginx", n}} {
		if p.f.Paced == nil {
			continue
		}
		l := p.f.Paced.Latency
		v := fmt.Sprintf("%.3f ms (p50 %+.3f; through it p50 / p99 %.3f / %.3f ms)", p.f.AddedP99Ms, p.f.AddedP50Ms, l.P50Ms, l.P99Ms)
		if e := p.f.Paced.Errors; e > 0 {
			v += fmt.Sprintf(", %d errors", e)
		}
		add(scn, fmt.Sprintf("p99 added latency (%s)", p.name), v, "")
	}
	if cc := wr.MoatCCOn; cc != nil {
		var codes []string
		for code, k := range cc.Statuses {
			codes = append(codes, fmt.Sprintf("%s: %d", code, k))
		}
		slices.Sort(codes)
		v := fmt.Sprintf("%.0f answered/s (200: %d", cc.PerSec, cc.OK)
		if len(codes) > 0 {
			v += ", " + strings.Join(codes, ", ")
		}
		v += fmt.Sprintf("; %d errors)", cc.Errors)
		add(scn, fmt.Sprintf("keep-alive requests/s, CC switch on (moat, %d connections from 8 sources)", cc.Connections), v, "")
	}
}
