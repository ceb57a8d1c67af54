package metrics

import (
	"strings"
	"testing"

	"moat/internal/moat"
)

// TestDataplane pins the data plane's metric names, labels and values:
// counters add up, the open gauge follows opens and closes, an unknown
// drop reason is counted as "other", and a nil collector counts nothing.
func TestDataplane(t *testing.T) {
	m := New()
	if strings.Contains(scrape(t, m), "moat_dataplane_") {
		t.Error("data plane metrics are served before the data plane asked for them")
	}
	d := m.Dataplane()
	if m.Dataplane() != d {
		t.Fatal("Dataplane returned a second set of collectors")
	}
	d.AddBytes(1000, 250)
	d.AddBytes(24, 0)
	d.AddPackets(3, 2)
	d.AddConns(3)
	d.SetOpen(2)
	d.Drop(moat.LimitSlimitCps, 5)
	d.Drop(moat.LimitBlacklist, 1)
	d.Drop(DropStopped, 2)
	d.Drop("made-up", 7)
	d.Drop(moat.LimitSlimitCps, 0)
	d.SetListeners(4)
	d.AddWebRequests("2xx", 5)
	d.AddWebRequests("4xx", 2)
	d.AddWebRequests("1xx", 1)
	d.AddWebRequests("5xx", 0)
	d.AddWebAttacks(3)
	d.WebBlock("cc_rule", 2)
	d.WebBlock("precise", 1)
	d.WebBlock("made-up", 4)
	wantLines(t, scrape(t, m),
		`moat_dataplane_web_requests_total{class="2xx"} 5`,
		`moat_dataplane_web_requests_total{class="4xx"} 2`,
		`moat_dataplane_web_requests_total{class="5xx"} 0`,
		`moat_dataplane_web_requests_total{class="other"} 1`,
		`moat_dataplane_web_attack_requests_total 3`,
		`moat_dataplane_web_blocked_requests_total{reason="cc_rule"} 2`,
		`moat_dataplane_web_blocked_requests_total{reason="precise"} 1`,
		`moat_dataplane_web_blocked_requests_total{reason="blacklist"} 0`,
		`moat_dataplane_web_blocked_requests_total{reason="other"} 4`,
		`moat_dataplane_bytes_total{direction="in"} 1024`,
		`moat_dataplane_bytes_total{direction="out"} 250`,
		`moat_dataplane_packets_total{direction="in"} 3`,
		`moat_dataplane_packets_total{direction="out"} 2`,
		`moat_dataplane_connections_total 3`,
		`moat_dataplane_connections_open 2`,
		`moat_dataplane_dropped_total{reason="slimit_cps"} 5`,
		`moat_dataplane_dropped_total{reason="blacklist"} 1`,
		`moat_dataplane_dropped_total{reason="stopped"} 2`,
		`moat_dataplane_dropped_total{reason="other"} 7`,
		`moat_dataplane_dropped_total{reason="udp_reflect"} 0`,
		`moat_dataplane_listeners 4`,
	)

	var none *DataplaneMetrics
	none.AddBytes(1, 1)
	none.AddPackets(1, 1)
	none.AddConns(1)
	none.SetOpen(1)
	none.Drop(DropStopped, 1)
	none.SetListeners(1)
	none.AddWebRequests("2xx", 1)
	none.AddWebAttacks(1)
	none.WebBlock("cc", 1)
}
