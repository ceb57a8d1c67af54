package moat

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Validation of forwarding configuration. Every check names the parameter
// as the domain knows it; handlers rename to their wire names (Rename).

// CheckProtocol checks a port rule's protocol (tcp or udp, any case) and
// returns it in lower case.
func CheckProtocol(param, p string) (string, error) {
	switch strings.ToLower(p) {
	case ProtocolTCP:
		return ProtocolTCP, nil
	case ProtocolUDP:
		return ProtocolUDP, nil
	case "":
		return "", MissingParam(param)
	}
	return "", InvalidParamValue(param, p, "it must be tcp or udp")
}

// CheckPort checks a port number (1-65535).
func CheckPort(param string, port int) error {
	if port < 1 || port > 65535 {
		return InvalidParamValue(param, strconv.Itoa(port), "a port is an integer from 1 to 65535")
	}
	return nil
}

// CheckOrigins checks a port rule's origin addresses: 1 to MaxRealServers
// distinct IPv4 addresses, each a unicast address (loopback included, so
// that origins on the same host work). It returns them in their canonical
// form.
func CheckOrigins(param string, ips []string) ([]string, error) {
	if len(ips) == 0 {
		return nil, MissingParam(param)
	}
	if len(ips) > MaxRealServers {
		return nil, InvalidParam(param, fmt.Sprintf("a rule has at most %d origin addresses, not %d", MaxRealServers, len(ips)))
	}
	out := make([]string, 0, len(ips))
	seen := make(map[string]bool, len(ips))
	for _, s := range ips {
		a, err := CheckOriginIP(s)
		if err != nil {
			return nil, err
		}
		if seen[a] {
			return nil, InvalidParamValue(param, s, "the address is given twice")
		}
		seen[a] = true
		out = append(out, a)
	}
	return out, nil
}

// CheckOriginIP checks one origin address.
func CheckOriginIP(s string) (string, error) {
	a, err := netip.ParseAddr(strings.TrimSpace(s))
	if err != nil || !a.Is4() {
		return "", Errorf(CodeInvalidIP, "The origin address %q is not an IPv4 address (such as 203.0.113.10).", clip(s))
	}
	if a.IsUnspecified() || a.IsMulticast() || a == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
		return "", Errorf(CodeInvalidIP, "The origin address %q cannot receive forwarded traffic: give a unicast IPv4 address.", s)
	}
	return a.String(), nil
}

// CheckSourceIP checks an address of a source list and returns it in its
// canonical form.
func CheckSourceIP(s string) (string, error) {
	a, err := netip.ParseAddr(strings.TrimSpace(s))
	if err != nil || !a.Is4() {
		return "", Errorf(CodeInvalidIP, "The source address %q is not an IPv4 address (such as 198.51.100.7).", clip(s))
	}
	return a.String(), nil
}

// clip shortens a value quoted in an error message.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

// CheckDomain checks a website's domain name: labels of letters, digits
// and hyphens (1-63 characters, not starting or ending with a hyphen), at
// least two of them, a top-level label that is not all digits, at most
// 253 characters, and optionally a leading "*." for a wildcard. It returns
// the name in lower case.
func CheckDomain(param, d string) (string, error) {
	if d == "" {
		return "", MissingParam(param)
	}
	name := strings.ToLower(d)
	bad := func(why string) (string, error) {
		return "", Errorf(CodeInvalidDomain, "The domain %q is not valid: %s.", clip(d), why)
	}
	if len(name) > 253 {
		return bad("a domain name has at most 253 characters")
	}
	rest := strings.TrimPrefix(name, "*.")
	labels := strings.Split(rest, ".")
	if len(labels) < 2 {
		return bad("give a full name such as www.example.com or *.example.com")
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 {
			return bad("each label between dots has 1 to 63 characters")
		}
		if l[0] == '-' || l[len(l)-1] == '-' {
			return bad("a label cannot start or end with a hyphen")
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return bad("only letters, digits, hyphens and dots are allowed (and a leading *. for a wildcard)")
			}
		}
	}
	tld := labels[len(labels)-1]
	if strings.Trim(tld, "0123456789") == "" {
		return bad("the top-level label cannot be all digits (websites are named, not addressed)")
	}
	return name, nil
}

// ---- Protection settings ----

// DefaultRuleConfig is the protection settings of a new port rule:
// session persistence off, the false-source and empty-connection checks
// off, destination and source limits off (the destination limits at their
// maxima, ready to be enabled), packets of any documented length.
func DefaultRuleConfig() RuleConfig {
	return RuleConfig{
		Synproxy: "off", NodataConn: "off",
		Sla:        SlaConfig{Cps: 100000, Maxconn: 1000000},
		Slimit:     SlimitConfig{CpsMode: 1},
		PayloadLen: PayloadLen{Min: 0, Max: 6000},
	}
}

// Apply merges a patch into c after checking every field it sets against
// the documented ranges. c is unchanged on error.
func (c *RuleConfig) Apply(p RuleConfigPatch) error {
	n := *c
	if v := p.PersistenceTimeout; v != nil {
		if *v != 0 && (*v < 30 || *v > 3600) {
			return InvalidParamValue("Config.PersistenceTimeout", strconv.Itoa(*v), "session persistence is 0 (off) or 30 to 3600 seconds")
		}
		n.PersistenceTimeout = *v
	}
	if err := onOff("Config.Synproxy", p.Synproxy, &n.Synproxy); err != nil {
		return err
	}
	if err := onOff("Config.NodataConn", p.NodataConn, &n.NodataConn); err != nil {
		return err
	}
	if s := p.Sla; s != nil {
		if err := setRange("Config.Sla.Cps", s.Cps, &n.Sla.Cps, 100, 100000, false); err != nil {
			return err
		}
		if err := setRange("Config.Sla.Maxconn", s.Maxconn, &n.Sla.Maxconn, 1000, 1000000, false); err != nil {
			return err
		}
		if err := setRange("Config.Sla.CpsEnable", s.CpsEnable, &n.Sla.CpsEnable, 0, 1, false); err != nil {
			return err
		}
		if err := setRange("Config.Sla.MaxconnEnable", s.MaxconnEnable, &n.Sla.MaxconnEnable, 0, 1, false); err != nil {
			return err
		}
	}
	if s := p.Slimit; s != nil {
		if err := setRange("Config.Slimit.Cps", s.Cps, &n.Slimit.Cps, 1, 500000, true); err != nil {
			return err
		}
		if err := setRange("Config.Slimit.Maxconn", s.Maxconn, &n.Slimit.Maxconn, 1, 500000, true); err != nil {
			return err
		}
		if err := setRange64("Config.Slimit.Bps", s.Bps, &n.Slimit.Bps, 1024, 268435456); err != nil {
			return err
		}
		if err := setRange64("Config.Slimit.Pps", s.Pps, &n.Slimit.Pps, 1, 100000); err != nil {
			return err
		}
		if err := setRange("Config.Slimit.CpsEnable", s.CpsEnable, &n.Slimit.CpsEnable, 0, 1, false); err != nil {
			return err
		}
		if err := setRange("Config.Slimit.MaxconnEnable", s.MaxconnEnable, &n.Slimit.MaxconnEnable, 0, 1, false); err != nil {
			return err
		}
		if err := setRange("Config.Slimit.CpsMode", s.CpsMode, &n.Slimit.CpsMode, 1, 2, false); err != nil {
			return err
		}
	}
	if s := p.PayloadLen; s != nil {
		if err := setRange("Config.PayloadLen.Min", s.Min, &n.PayloadLen.Min, 0, 6000, false); err != nil {
			return err
		}
		if err := setRange("Config.PayloadLen.Max", s.Max, &n.PayloadLen.Max, 0, 6000, false); err != nil {
			return err
		}
		if n.PayloadLen.Min > n.PayloadLen.Max {
			return InvalidParam("Config.PayloadLen", fmt.Sprintf("Min (%d) is above Max (%d)", n.PayloadLen.Min, n.PayloadLen.Max))
		}
	}
	*c = n
	return nil
}

func onOff(param string, v *string, dst *string) error {
	if v == nil {
		return nil
	}
	switch *v {
	case "on", "off":
		*dst = *v
		return nil
	}
	return InvalidParamValue(param, *v, "it must be on or off")
}

// setRange sets *dst to *v when v is given and within [lo, hi] (or 0 when
// zeroOK: the limit is unset).
func setRange(param string, v *int, dst *int, lo, hi int, zeroOK bool) error {
	if v == nil {
		return nil
	}
	if (*v < lo || *v > hi) && !(zeroOK && *v == 0) {
		why := fmt.Sprintf("it must be from %d to %d", lo, hi)
		if zeroOK {
			why += " (or 0: no limit)"
		}
		return InvalidParamValue(param, strconv.Itoa(*v), why)
	}
	*dst = *v
	return nil
}

func setRange64(param string, v *int64, dst *int64, lo, hi int64) error {
	if v == nil {
		return nil
	}
	if *v != 0 && (*v < lo || *v > hi) {
		return InvalidParamValue(param, strconv.FormatInt(*v, 10), fmt.Sprintf("it must be from %d to %d (or 0: no limit)", lo, hi))
	}
	*dst = *v
	return nil
}

// Health check defaults, for fields a configuration leaves out.
const (
	DefaultHealthInterval = 5
	DefaultHealthTimeout  = 3
	DefaultHealthUp       = 3
	DefaultHealthDown     = 3
)

// CheckHealthCheck checks a health check for a rule of protocol and fills
// in the defaults of the fields left at zero. Type "" turns checking off
// (the rest is ignored). Only TCP rules are checked: a TCP probe (tcp) or
// an HTTP request (http, with its URI, "/" by default).
func CheckHealthCheck(protocol string, h HealthCheck) (HealthCheck, error) {
	switch h.Type {
	case "":
		return HealthCheck{}, nil
	case "tcp", "http":
	default:
		return HealthCheck{}, InvalidParamValue("HealthCheck.Type", h.Type, "it must be tcp or http (or empty to turn health checking off)")
	}
	if protocol != ProtocolTCP {
		return HealthCheck{}, InvalidParam("HealthCheck", "health checks apply to TCP rules only; this rule is "+protocol)
	}
	if h.Port != 0 {
		if err := CheckPort("HealthCheck.Port", h.Port); err != nil {
			return HealthCheck{}, err
		}
	}
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&h.Interval, DefaultHealthInterval)
	def(&h.Timeout, DefaultHealthTimeout)
	def(&h.Up, DefaultHealthUp)
	def(&h.Down, DefaultHealthDown)
	for _, f := range []struct {
		name   string
		v      int
		lo, hi int
	}{{"HealthCheck.Interval", h.Interval, 1, 30}, {"HealthCheck.Timeout", h.Timeout, 1, 30}, {"HealthCheck.Up", h.Up, 1, 10}, {"HealthCheck.Down", h.Down, 1, 10}} {
		if f.v < f.lo || f.v > f.hi {
			return HealthCheck{}, InvalidParamValue(f.name, strconv.Itoa(f.v), fmt.Sprintf("it must be from %d to %d", f.lo, f.hi))
		}
	}
	if h.Type == "tcp" {
		h.Domain, h.URI = "", ""
		return h, nil
	}
	if h.URI == "" {
		h.URI = "/"
	}
	if h.URI[0] != '/' || len(h.URI) > 2048 || strings.ContainsAny(h.URI, " \r\n\t") {
		return HealthCheck{}, InvalidParamValue("HealthCheck.Uri", clip(h.URI), "a path starting with /, without spaces, at most 2048 characters")
	}
	if h.Domain != "" {
		d, err := CheckDomain("HealthCheck.Domain", h.Domain)
		if err != nil {
			return HealthCheck{}, err
		}
		h.Domain = d
	}
	return h, nil
}
