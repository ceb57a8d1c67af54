package bench

import (
	"fmt"
	"net"
	"strconv"
	"strings"
)

// HAProxyConfig is what the dataplane scenario's HAProxy forwards: in
// mode tcp, from Listen at the front ports to the same origins as moat's
// port rules, with one thread per CPU, a connection limit high enough
// for the idle-connection load and timeouts longer than any load.
type HAProxyConfig struct {
	Listen  string // the loopback address HAProxy binds
	Threads int
	MaxConn int
	// MaxPipes bounds the pipes splice-auto keeps (HAProxy reserves two
	// descriptors for each, a quarter of MaxConn unless set); 0 leaves
	// HAProxy's default.
	MaxPipes int
	Ports    DataplanePorts
	Origins  DataplaneOrigins
	// FloodCps is the flood port's per-source limit of connections let
	// through per second (moat's Slimit Cps).
	FloodCps int
}

// DataplanePorts are the front ports of the four forwarding rules, the
// same on moat's instance address and on HAProxy's.
type DataplanePorts struct{ Bulk, Echo, Close, Flood int }

// DataplaneOrigins are the origin servers' addresses (host:port).
type DataplaneOrigins struct{ Bulk, Echo, Close string }

// Render writes the configuration file.
//
// splice-auto lets HAProxy move bulk data with splice(2), the zero-copy
// path moat's forwarder also takes where it can. The flood port keeps a
// per-source rate of the connections it let through (gpc0) and refuses
// a connection while that rate is at the limit: HAProxy's counterpart of
// Slimit Cps (a plain conn_rate would count the refused connections too,
// and refuse a steady flood entirely).
func (h HAProxyConfig) Render() string {
	var b strings.Builder
	fmt.Fprintf(&b, "global\n    nbthread %d\n    maxconn %d\n", max(1, h.Threads), h.MaxConn)
	if h.MaxPipes > 0 {
		fmt.Fprintf(&b, "    maxpipes %d\n", h.MaxPipes)
	}
	b.WriteString("\n")
	fmt.Fprintf(&b, "defaults\n    mode tcp\n    maxconn %d\n    timeout connect 5s\n    timeout client 1h\n    timeout server 1h\n    option splice-auto\n", h.MaxConn)
	listen := func(name string, port int, origin string, extra ...string) {
		fmt.Fprintf(&b, "\nlisten %s\n    bind %s\n", name, net.JoinHostPort(h.Listen, strconv.Itoa(port)))
		for _, l := range extra {
			fmt.Fprintf(&b, "    %s\n", l)
		}
		fmt.Fprintf(&b, "    server origin %s\n", origin)
	}
	listen("bulk", h.Ports.Bulk, h.Origins.Bulk)
	listen("echo", h.Ports.Echo, h.Origins.Echo)
	listen("close", h.Ports.Close, h.Origins.Close)
	listen("flood", h.Ports.Flood, h.Origins.Close,
		"stick-table type ip size 100k expire 30s store gpc0_rate(1s)",
		"tcp-request connection track-sc0 src",
		fmt.Sprintf("tcp-request connection reject if { sc0_gpc0_rate ge %d }", h.FloodCps),
		"tcp-request connection sc-inc-gpc0(0)")
	return b.String()
}
