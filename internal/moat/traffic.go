package moat

import (
	"context"
	"sort"
	"time"
)

// The data plane's side of the domain: what it forwards by (a snapshot of
// every instance that has port rules, with the state the lifecycle gives it
// now), and what it reports back (traffic counters in time buckets and
// mitigation events). TrafficService holds the rules; internal/dataplane
// moves the packets.

// Traffic states of an instance, from its lifecycle (see Instance).
type TrafficState int

const (
	// TrafficMitigated: in service (Status 1): forwarded and mitigated.
	TrafficMitigated TrafficState = iota + 1
	// TrafficUnmitigated: expired, still forwarding (Status 2, Enabled 1):
	// forwarded with no mitigation at all.
	TrafficUnmitigated
	// TrafficStopped: forwarding stopped (Enabled 0): new TCP connections
	// refused, open ones closed, UDP dropped.
	TrafficStopped
)

func (s TrafficState) String() string {
	switch s {
	case TrafficMitigated:
		return "mitigated"
	case TrafficUnmitigated:
		return "unmitigated"
	case TrafficStopped:
		return "stopped"
	}
	return "unknown"
}

// StateAt is the instance's traffic state at now.
func (in *Instance) StateAt(now time.Time) TrafficState {
	switch {
	case in.Mitigating(now):
		return TrafficMitigated
	case in.Forwarding(now):
		return TrafficUnmitigated
	}
	return TrafficStopped
}

// ForwardingConfig is the store's raw view of what the data plane forwards
// by: every live instance with at least one port rule or website, its
// rules (with protection settings and health checks), the live entries of
// its source lists and its UDP reflection filter, the websites bound to
// those instances and their certificates (keys sealed). Seq is the last
// event recorded when it was read: every change to any of it records an
// event after it.
type ForwardingConfig struct {
	Seq        int64
	Instances  []Instance
	Rules      []PortRule
	Entries    []SourceEntry
	UDPReflect map[string][]int
	Webs       []WebRule
	Certs      []Cert
}

// Edge is one instance as the data plane serves it.
type Edge struct {
	Instance
	Rules      []PortRule
	Blacklist  []SourceEntry
	Whitelist  []SourceEntry
	UDPReflect []int
}

// Snapshot is what the data plane forwards by at one moment.
type Snapshot struct {
	// Seq is the event sequence number the snapshot reflects: a later
	// event means something may have changed.
	Seq int64
	// Edges are the instances with port rules or websites, by IP.
	Edges []Edge
	// Webs are the websites bound to those instances, by account and
	// domain.
	Webs []WebSite
}

// WebSite is one website as the data plane serves it: the rule and its
// certificate with the key opened (both empty without a certificate, or
// when the key cannot be opened).
type WebSite struct {
	WebRule
	CertPEM string
	KeyPEM  string
	// Protection is the website's protection settings (its defaults when
	// none were set).
	Protection WebProtection
}

// ---- Counters and events the data plane records ----

// StatsBucket is the width of the traffic buckets (the statistics APIs'
// times are minute-aligned UNIX seconds).
const StatsBucket = time.Minute

// TrafficSample is what one data-plane process counted for one port rule
// in one bucket. Counters (bytes, packets, new connections) add up across
// samples of the same bucket and across processes; the connection gauges
// are the process's latest values and MaxConns its peak in the bucket;
// processes add up.
type TrafficSample struct {
	PortKey
	Bucket        time.Time // the bucket's start (UTC, a multiple of StatsBucket)
	Node          string    // the data-plane process that counted
	InBytes       int64     // client to origin
	OutBytes      int64     // origin to client
	InPackets     int64
	OutPackets    int64
	NewConns      int64 // connections (TCP) or sessions (UDP) accepted
	ActiveConns   int64 // open connections that moved data in the last interval
	InactiveConns int64 // open connections that did not
	MaxConns      int64 // peak concurrent connections
	Dropped       int64 // connections or datagrams refused or dropped by mitigation or state
}

// TrafficFilter selects samples: rules of the given instances (a protocol
// and port when set), buckets in [From, To).
type TrafficFilter struct {
	InstanceIDs  []string
	Protocol     string
	FrontendPort int
	From, To     time.Time
}

// MitigationEvent is one source crossing one limit of one rule on one
// data-plane process: from its first refusal to its last (End zero while
// it lasts).
type MitigationEvent struct {
	PortKey
	Node    string
	Source  string // the client's address
	Limit   string // what was crossed: blacklist, slimit_cps, slimit_maxconn, slimit_bps, slimit_pps, sla_cps, sla_maxconn, nodata, payload_len, udp_reflect
	Start   time.Time
	End     time.Time
	Peak    int64 // the highest rate or count seen, in the limit's unit
	Dropped int64 // connections or datagrams refused
}

// Mitigation limits, as MitigationEvent.Limit names them.
const (
	LimitBlacklist     = "blacklist"
	LimitSlimitCps     = "slimit_cps"
	LimitSlimitMaxconn = "slimit_maxconn"
	LimitSlimitBps     = "slimit_bps"
	LimitSlimitPps     = "slimit_pps"
	LimitSlaCps        = "sla_cps"
	LimitSlaMaxconn    = "sla_maxconn"
	LimitNodata        = "nodata"
	LimitPayloadLen    = "payload_len"
	LimitUDPReflect    = "udp_reflect"
)

// MitigationFilter selects events of the given instances that overlap
// [From, To).
type MitigationFilter struct {
	InstanceIDs []string
	From, To    time.Time
	Offset      int
	Limit       int
}

// WebStatusCodes are the status codes counted one by one for the
// websites' statistics (DescribeDomainStatusCodeList's fields).
var WebStatusCodes = [...]int{200, 403, 404, 405, 410, 499, 501, 502, 503, 504}

// WebTrafficSample is what one data-plane process counted for one website
// in one bucket. Every field after Node is a counter: samples of the same
// (account, domain, bucket, node) add up, and so do processes.
type WebTrafficSample struct {
	AccountID string
	Domain    string
	Bucket    time.Time // the bucket's start (UTC, a multiple of StatsBucket)
	Node      string
	Requests  int64
	// AttackRequests are the requests the website's protection refused
	// or watched.
	AttackRequests int64
	InBytes        int64 // request line, headers and body, as received
	OutBytes       int64 // status line, headers and body, as sent
	// Status classes of the answers, and the codes of WebStatusCodes one
	// by one (Codes[i] counts WebStatusCodes[i]).
	Status2xx, Status3xx, Status4xx, Status5xx int64
	Codes                                      [len(WebStatusCodes)]int64
}

// WebTrafficFilter selects website samples of one account (of the given
// domains when set), buckets in [From, To).
type WebTrafficFilter struct {
	AccountID string
	Domains   []string
	From, To  time.Time
}

// WebAttackFilter selects website attack events of one account (of one
// domain when set) that overlap [From, To).
type WebAttackFilter struct {
	AccountID string
	Domain    string
	From, To  time.Time
}

// ---- The service ----

// TrafficService holds the data plane's rules: what it forwards by, and
// the traffic and mitigation figures it reports.
type TrafficService struct {
	*core
	sealer Sealer // opens the websites' certificate keys
}

// TrafficNow is server time (the clock the lifecycle states follow).
func (s *TrafficService) TrafficNow() time.Time { return s.clock.Now() }

// LastSeq is the last event sequence number: when it has not moved since
// a snapshot, nothing the snapshot holds has changed (time aside: states
// follow the clock, see Instance.StateAt).
func (s *TrafficService) LastSeq(ctx context.Context) (int64, error) {
	return s.store.LastEventSeq(ctx)
}

// Snapshot reads what the data plane forwards by. Blacklist entries that
// expired by now are left out.
func (s *TrafficService) Snapshot(ctx context.Context) (Snapshot, error) {
	cfg, err := s.store.ForwardingConfig(ctx)
	if err != nil {
		return Snapshot{}, err
	}
	now := s.clock.Now()
	byID := make(map[string]*Edge, len(cfg.Instances))
	edges := make([]Edge, len(cfg.Instances))
	for i, in := range cfg.Instances {
		edges[i] = Edge{Instance: in, UDPReflect: cfg.UDPReflect[in.ID]}
		byID[in.ID] = &edges[i]
	}
	for _, r := range cfg.Rules {
		if e := byID[r.InstanceID]; e != nil {
			e.Rules = append(e.Rules, r)
		}
	}
	for _, en := range cfg.Entries {
		e := byID[en.InstanceID]
		if e == nil || !en.Expires.IsZero() && !en.Expires.After(now) {
			continue
		}
		if en.List == Whitelist {
			e.Whitelist = append(e.Whitelist, en)
		} else {
			e.Blacklist = append(e.Blacklist, en)
		}
	}
	sort.Slice(edges, func(i, j int) bool { return edges[i].IP < edges[j].IP })
	webs := s.webSites(cfg)
	if len(webs) > 0 {
		prot, err := s.store.WebProtections(ctx)
		if err != nil {
			return Snapshot{}, err
		}
		for i := range webs {
			webs[i].Protection = WebProtectionOf(prot, webs[i].AccountID, webs[i].Domain)
		}
	}
	return Snapshot{Seq: cfg.Seq, Edges: edges, Webs: webs}, nil
}

// webSites pairs each website with its certificate, the key opened. A key
// that cannot be opened leaves the website without a certificate (its
// HTTPS handshakes fail) rather than failing the whole snapshot.
func (s *TrafficService) webSites(cfg ForwardingConfig) []WebSite {
	if len(cfg.Webs) == 0 {
		return nil
	}
	certs := make(map[int64]*Cert, len(cfg.Certs))
	for i := range cfg.Certs {
		certs[cfg.Certs[i].ID] = &cfg.Certs[i]
	}
	out := make([]WebSite, 0, len(cfg.Webs))
	for _, w := range cfg.Webs {
		site := WebSite{WebRule: w}
		if c := certs[w.CertID]; c != nil && w.CertID != 0 && c.AccountID == w.AccountID {
			key := c.KeyPEM
			var err error
			if s.sealer != nil {
				key, err = s.sealer.Open(key)
			}
			if err == nil {
				site.CertPEM, site.KeyPEM = c.CertPEM, key
			}
		}
		out = append(out, site)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].AccountID != out[j].AccountID {
			return out[i].AccountID < out[j].AccountID
		}
		return out[i].Domain < out[j].Domain
	})
	return out
}

// RecordTraffic stores what a data-plane process counted.
func (s *TrafficService) RecordTraffic(ctx context.Context, samples []TrafficSample) error {
	if len(samples) == 0 {
		return nil
	}
	return s.store.AddTraffic(ctx, samples)
}

// RecordMitigation stores mitigation events (new ones, and the progress or
// end of open ones: an event is keyed by node, rule, source, limit and
// start).
func (s *TrafficService) RecordMitigation(ctx context.Context, evs []MitigationEvent) error {
	if len(evs) == 0 {
		return nil
	}
	// The notices go to the outbox first: should recording the events
	// fail, the data plane reports them again and their notices keep
	// their IDs, so each webhook gets each attack once.
	if err := s.notifyAttacks(ctx, evs); err != nil {
		return err
	}
	return s.store.PutMitigationEvents(ctx, evs)
}

// RecordWebTraffic stores what a data-plane process counted for websites.
func (s *TrafficService) RecordWebTraffic(ctx context.Context, samples []WebTrafficSample) error {
	if len(samples) == 0 {
		return nil
	}
	return s.store.AddWebTraffic(ctx, samples)
}

// RecordWebAttacks stores website attack events (new ones, and the
// progress or end of open ones: an event is keyed by node, account,
// domain, source, reason and start).
func (s *TrafficService) RecordWebAttacks(ctx context.Context, evs []WebAttackEvent) error {
	if len(evs) == 0 {
		return nil
	}
	return s.store.PutWebAttackEvents(ctx, evs)
}
