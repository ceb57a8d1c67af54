package moat

import "time"

// The forwarding configuration of instances: port rules (layer 4) with
// their protection settings and health checks, website rules (layer 7)
// with their certificates, and the per-instance source lists and UDP
// reflection filter. RuleService (rules_*.go) holds their rules; the
// Store only keeps them.

// Protocols of port rules.
const (
	ProtocolTCP = "tcp"
	ProtocolUDP = "udp"
)

// PortKey names a port rule: a frontend port of one protocol on an
// instance.
type PortKey struct {
	InstanceID   string
	Protocol     string // ProtocolTCP or ProtocolUDP
	FrontendPort int
}

// PortRule forwards a frontend port of an instance's IP to origin servers.
type PortRule struct {
	PortKey
	BackendPort int
	RealServers []string // IPv4 addresses, 1 to MaxRealServers
	Config      RuleConfig
	// HealthCheck is the rule's health check; Type "" is off.
	HealthCheck HealthCheck
	Created     time.Time
	Updated     time.Time
}

// MaxRealServers is how many origin addresses a port rule may have.
const MaxRealServers = 20

// RuleConfig is a port rule's protection settings
// (ModifyNetworkRuleAttribute's Config).
type RuleConfig struct {
	PersistenceTimeout int    // seconds, 30-3600; 0 is off
	Synproxy           string // "on" | "off"
	NodataConn         string // "on" | "off"
	Sla                SlaConfig
	Slimit             SlimitConfig
	PayloadLen         PayloadLen
}

// SlaConfig limits connections to the destination.
type SlaConfig struct {
	Cps, Maxconn             int
	CpsEnable, MaxconnEnable int
}

// SlimitConfig limits connections and traffic from each source.
type SlimitConfig struct {
	Cps, Maxconn             int
	Bps, Pps                 int64
	CpsEnable, MaxconnEnable int
	CpsMode                  int
}

// PayloadLen bounds the payload length of packets, in bytes.
type PayloadLen struct{ Min, Max int }

// RuleConfigPatch changes some settings of a RuleConfig: nil fields keep
// their value.
type RuleConfigPatch struct {
	PersistenceTimeout *int
	Synproxy           *string
	NodataConn         *string
	Sla                *SlaPatch
	Slimit             *SlimitPatch
	PayloadLen         *PayloadLenPatch
}

// SlaPatch changes some fields of SlaConfig.
type SlaPatch struct {
	Cps, Maxconn             *int
	CpsEnable, MaxconnEnable *int
}

// SlimitPatch changes some fields of SlimitConfig.
type SlimitPatch struct {
	Cps, Maxconn             *int
	Bps, Pps                 *int64
	CpsEnable, MaxconnEnable *int
	CpsMode                  *int
}

// PayloadLenPatch changes some fields of PayloadLen.
type PayloadLenPatch struct{ Min, Max *int }

// HealthCheck probes a rule's origins. Type "" is no health check.
type HealthCheck struct {
	Type     string // "tcp" | "http" | ""
	Port     int    // 0: the rule's backend port
	Interval int    // seconds between probes, 1-30
	Timeout  int    // seconds, 1-30
	Up       int    // consecutive successes that mark an origin healthy, 1-10
	Down     int    // consecutive failures that mark it unhealthy, 1-10
	Domain   string // http only: the Host header
	URI      string // http only: the path probed
}

// HealthStatus is what DescribeHealthCheckStatus says of a rule.
type HealthStatus struct {
	PortKey
	Status      string // "normal" | "abnormal"
	RealServers []OriginStatus
}

// OriginStatus is one origin's health.
type OriginStatus struct {
	Address string
	Status  string // "normal" | "abnormal"
}

// Health states.
const (
	HealthNormal   = "normal"
	HealthAbnormal = "abnormal"
)

// PortQuery selects an instance's port rules (DescribePort,
// DescribeNetworkRules).
type PortQuery struct {
	InstanceID   string
	Protocol     string // "" any
	FrontendPort int    // 0 any
	PageNumber   int    // 0: 1
	PageSize     int    // 0: 10
}

// PortPage is a page of an instance's port rules, with how many match in
// all and whether the instance forwards traffic now (the rules' ProxyStatus).
type PortPage struct {
	Rules      []PortRule
	Total      int64
	Forwarding bool
}

// PortRuleFilter is a PortQuery as the store reads it.
type PortRuleFilter struct {
	InstanceID   string
	Protocol     string
	FrontendPort int
	Offset       int
	Limit        int
}

// ---- Website rules ----

// Website proxy types.
const (
	ProxyHTTP       = "http"
	ProxyHTTPS      = "https"
	ProxyWebsocket  = "websocket"
	ProxyWebsockets = "websockets"
)

// Origin types of website rules (RsType).
const (
	RsTypeIP     = 0
	RsTypeDomain = 1
)

// MaxWebInstances is how many instances a website may be bound to.
const MaxWebInstances = 8

// ProxyType is a protocol a website is served with and its ports.
type ProxyType struct {
	Type  string
	Ports []int
}

// HTTPSExt is a website's HTTPS options (HttpsExt); 0 off, 1 on.
type HTTPSExt struct {
	Http2      int
	Http2https int
	Https2http int
}

// WebRule protects a website: the domain, the instances whose IPs serve it
// and its origins. A domain is unique in its account.
type WebRule struct {
	AccountID   string
	Region      Region
	Domain      string
	Cname       string
	InstanceIDs []string
	RealServers []string
	RsType      int
	ProxyTypes  []ProxyType
	HTTPSExt    HTTPSExt
	// CertID is the certificate served for HTTPS; 0 none.
	CertID  int64
	Created time.Time
	Updated time.Time
}

// WebQuery selects websites (DescribeDomainResource, DescribeWebRules).
type WebQuery struct {
	Domain      string
	Exact       bool // QueryDomainPattern exact; else a substring match
	InstanceIDs []string
	PageNumber  int
	PageSize    int
}

// WebRuleFilter is a WebQuery as the store reads it.
type WebRuleFilter struct {
	AccountID   string
	Region      Region
	Domain      string
	Exact       bool
	InstanceIDs []string
	Offset      int
	Limit       int
}

// WebRuleView is a website with its certificate, as the Describe calls
// show it.
type WebRuleView struct {
	WebRule
	Cert *CertView
	// Protection is the website's protection, without ended rules.
	Protection WebProtection
}

// ---- Certificates ----

// Cert is an uploaded certificate and its key. KeyPEM is sealed at rest.
type Cert struct {
	ID        int64 // assigned by the store
	AccountID string
	Region    Region
	Name      string
	CertPEM   string
	KeyPEM    string
	Common    string // the subject's common name
	Issuer    string // the issuer's common name (else organisation)
	NotBefore time.Time
	NotAfter  time.Time
	Created   time.Time
}

// NewCert is AssociateWebCert's certificate: an uploaded one (Name, Cert,
// Key) or one uploaded before (ID).
type NewCert struct {
	ID      int64
	Name    string
	CertPEM string
	KeyPEM  string
}

// CertView is a certificate without its key.
type CertView struct {
	ID            int64
	Name          string
	Common        string
	Issuer        string
	NotBefore     time.Time
	NotAfter      time.Time
	Region        Region
	DomainRelated bool
}

// ---- Source lists ----

// SourceListKind names an instance's source lists.
type SourceListKind string

const (
	Blacklist SourceListKind = "black"
	Whitelist SourceListKind = "white"
)

// Entry types of source lists.
const (
	SourceManual = "manual"
	SourceAuto   = "auto"
)

// Source list limits.
const (
	MaxSourceEntries   = 2000              // manual entries per list
	MinBlacklistExpiry = 300 * time.Second // AddAutoCcBlacklist's ExpireTime
	MaxBlacklistExpiry = 7 * 24 * time.Hour
)

// SourceEntry is one address on an instance's blacklist or whitelist.
type SourceEntry struct {
	InstanceID string
	List       SourceListKind
	IP         string
	Type       string    // SourceManual | SourceAuto
	Expires    time.Time // zero: never
	Created    time.Time
}

// SourceQuery selects entries of a list (DescribeAutoCc*list).
type SourceQuery struct {
	KeyWord    string // an address prefix
	Type       string // "" any
	PageNumber int
	PageSize   int
}

// SourceFilter is a SourceQuery as the store reads it: entries that
// expire at or before Now are left out.
type SourceFilter struct {
	InstanceID string
	List       SourceListKind
	Prefix     string
	Type       string
	Now        time.Time
	Offset     int
	Limit      int
}

// RuleCount is how many port and website rules an instance holds. Sites
// counts its websites by primary domain (www.example.com and
// shop.example.com are one site); the store leaves it 0 and RuleUsage
// fills it in.
type RuleCount struct {
	Ports   int
	Domains int
	Sites   int
}
