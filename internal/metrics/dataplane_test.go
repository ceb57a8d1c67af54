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
	wantLines(t, scrape(t, m),
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
}
