package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"moat/internal/moat"
)

// DataplaneMetrics counts what the forwarder moves and refuses. Its
// methods are safe for concurrent use and cheap on the forwarding path
// (every label value is resolved once); a nil *DataplaneMetrics counts
// nothing.
type DataplaneMetrics struct {
	bytesIn, bytesOut     prometheus.Counter
	packetsIn, packetsOut prometheus.Counter
	conns                 prometheus.Counter
	open                  prometheus.Gauge
	listeners             prometheus.Gauge
	dropped               map[string]prometheus.Counter
	webRequests           map[string]prometheus.Counter
	webAttacks            prometheus.Counter
	webBlocked            map[string]prometheus.Counter
}

// Drop reasons besides the mitigation limits (moat.Limit*): traffic for
// an instance whose forwarding has stopped, traffic a rule's mitigation
// refused, and a connection or datagram no healthy origin could take. Any
// other reason is counted as "other", so the label set stays bounded.
const (
	DropStopped   = "stopped"
	DropMitigated = "mitigated"
	DropNoOrigin  = "no_origin"
	dropOther     = "other"
)

// The websites' answer classes and what refused a website request (the
// kind of rule; names are left out so the label sets stay bounded).
var (
	webClasses      = []string{"2xx", "3xx", "4xx", "5xx", webOther}
	webBlockReasons = []string{"blacklist", "cc", "cc_rule", "precise", webOther}
)

const webOther = "other"

var dropReasons = []string{
	moat.LimitBlacklist, moat.LimitSlimitCps, moat.LimitSlimitMaxconn, moat.LimitSlimitBps,
	moat.LimitSlimitPps, moat.LimitSlaCps, moat.LimitSlaMaxconn, moat.LimitNodata,
	moat.LimitPayloadLen, moat.LimitUDPReflect, DropStopped, DropMitigated, DropNoOrigin, dropOther,
}

// Dataplane returns the data plane's collectors, registered on first use.
func (m *Metrics) Dataplane() *DataplaneMetrics {
	m.dataplaneOnce.Do(func() {
		bytes := prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "moat_dataplane_bytes_total",
			Help: "Payload bytes forwarded, by direction: in (client to origin) or out (origin to client).",
		}, []string{"direction"})
		packets := prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "moat_dataplane_packets_total",
			Help: "Packets forwarded, by direction (TCP: the kernel's segment counts; UDP: datagrams).",
		}, []string{"direction"})
		conns := prometheus.NewCounter(prometheus.CounterOpts{
			Name: "moat_dataplane_connections_total",
			Help: "TCP connections and UDP sessions accepted for forwarding.",
		})
		dropped := prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "moat_dataplane_dropped_total",
			Help: "Connections and datagrams refused or dropped, by reason (a mitigation limit, stopped, no_origin or other).",
		}, []string{"reason"})
		open := prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "moat_dataplane_connections_open",
			Help: "TCP connections and UDP sessions open now.",
		})
		listeners := prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "moat_dataplane_listeners",
			Help: "Sockets the data plane listens on (one per instance IP, protocol and frontend port).",
		})
		webRequests := prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "moat_dataplane_web_requests_total",
			Help: "Website requests answered, by the class of the answer (2xx, 3xx, 4xx, 5xx, other); blocked ones included.",
		}, []string{"class"})
		webAttacks := prometheus.NewCounter(prometheus.CounterOpts{
			Name: "moat_dataplane_web_attack_requests_total",
			Help: "Website requests the website protection counted as attacks (refused or watched).",
		})
		webBlocked := prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "moat_dataplane_web_blocked_requests_total",
			Help: "Website requests the website protection refused, by what matched (blacklist, cc, cc_rule, precise, other).",
		}, []string{"reason"})
		m.reg.MustRegister(bytes, packets, conns, dropped, open, listeners, webRequests, webAttacks, webBlocked)
		d := &DataplaneMetrics{
			bytesIn: bytes.WithLabelValues("in"), bytesOut: bytes.WithLabelValues("out"),
			packetsIn: packets.WithLabelValues("in"), packetsOut: packets.WithLabelValues("out"),
			conns: conns, open: open, listeners: listeners,
			dropped:     make(map[string]prometheus.Counter, len(dropReasons)),
			webRequests: make(map[string]prometheus.Counter, len(webClasses)),
			webAttacks:  webAttacks,
			webBlocked:  make(map[string]prometheus.Counter, len(webBlockReasons)),
		}
		for _, r := range dropReasons {
			d.dropped[r] = dropped.WithLabelValues(r)
		}
		for _, c := range webClasses {
			d.webRequests[c] = webRequests.WithLabelValues(c)
		}
		for _, r := range webBlockReasons {
			d.webBlocked[r] = webBlocked.WithLabelValues(r)
		}
		m.dataplane = d
	})
	return m.dataplane
}

// AddBytes counts payload bytes forwarded in each direction.
func (d *DataplaneMetrics) AddBytes(in, out int64) {
	if d == nil {
		return
	}
	if in > 0 {
		d.bytesIn.Add(float64(in))
	}
	if out > 0 {
		d.bytesOut.Add(float64(out))
	}
}

// AddPackets counts packets forwarded in each direction.
func (d *DataplaneMetrics) AddPackets(in, out int64) {
	if d == nil {
		return
	}
	if in > 0 {
		d.packetsIn.Add(float64(in))
	}
	if out > 0 {
		d.packetsOut.Add(float64(out))
	}
}

// AddConns counts n accepted connections or sessions.
func (d *DataplaneMetrics) AddConns(n int64) {
	if d == nil || n <= 0 {
		return
	}
	d.conns.Add(float64(n))
}

// SetOpen reports how many connections and sessions are open now.
func (d *DataplaneMetrics) SetOpen(n int64) {
	if d == nil {
		return
	}
	d.open.Set(float64(n))
}

// Drop counts n connections or datagrams refused for reason (a moat.Limit*
// constant, DropStopped or DropNoOrigin).
func (d *DataplaneMetrics) Drop(reason string, n int64) {
	if d == nil || n <= 0 {
		return
	}
	c, ok := d.dropped[reason]
	if !ok {
		c = d.dropped[dropOther]
	}
	c.Add(float64(n))
}

// SetListeners reports how many sockets the data plane listens on.
func (d *DataplaneMetrics) SetListeners(n int) {
	if d == nil {
		return
	}
	d.listeners.Set(float64(n))
}

// AddWebRequests counts n website requests answered with a status of
// class ("2xx" … "5xx"; anything else is "other").
func (d *DataplaneMetrics) AddWebRequests(class string, n int64) {
	if d == nil || n <= 0 {
		return
	}
	c, ok := d.webRequests[class]
	if !ok {
		c = d.webRequests[webOther]
	}
	c.Add(float64(n))
}

// AddWebAttacks counts n website requests counted as attacks.
func (d *DataplaneMetrics) AddWebAttacks(n int64) {
	if d == nil || n <= 0 {
		return
	}
	d.webAttacks.Add(float64(n))
}

// WebBlock counts n website requests the protection refused for reason
// (blacklist, cc, cc_rule, precise; anything else is "other").
func (d *DataplaneMetrics) WebBlock(reason string, n int64) {
	if d == nil || n <= 0 {
		return
	}
	c, ok := d.webBlocked[reason]
	if !ok {
		c = d.webBlocked[webOther]
	}
	c.Add(float64(n))
}
