package moat

import "time"

// The protection of websites (layer 7): the CC switch and mode, custom
// frequency rules, the domain's IP lists and precise access rules. The
// data plane enforces them (internal/dataplane's WebGuard) while the
// website's instances are in service.

// WebProtection is one website's protection settings.
type WebProtection struct {
	// CCEnabled is the global CC switch (ModifyWebCCGlobalSwitch); CCMode
	// the mode (DescribeWebCCProtectSwitch's CcTemplate: default,
	// gf_under_attack, gf_sos_verify, gf_sos_enhance).
	CCEnabled bool
	CCMode    string
	// CCRules are the custom frequency rules (ConfigWebCCRuleV2).
	CCRules []CCRule
	// Blacklist and Whitelist are the domain's IP sets (ConfigWebIpSet):
	// addresses or CIDR blocks.
	Blacklist []string
	Whitelist []string
	// Precise are the precise access rules (ModifyWebPreciseAccessRule).
	Precise []PreciseRule
	// Policy spreads the website's requests over its origins
	// (ConfigL7RsPolicy). Unlike the rest it applies whatever the
	// instances' state.
	Policy WebPolicy
}

// WebPolicy is how a website's requests are spread over its origins.
type WebPolicy struct {
	// Mode is ip_hash (also when empty), rr or least_time.
	Mode string
	// Weights are rr's weights by origin (as the website names it); an
	// origin absent weighs DefaultOriginWeight.
	Weights map[string]int
}

// CCRule limits how often one source may request matching URIs.
type CCRule struct {
	Name     string
	URI      string // the path matched; "" any
	Match    string // "prefix" or "exact"
	Interval int    // seconds the requests are counted over
	Count    int    // requests allowed per source per Interval
	Action   string // "block" or "challenge" (refused for TTL seconds), "watch" (count only)
	TTL      int    // seconds a blocked source stays blocked
	// Conditions must all match too (ConfigWebCCRuleV2's condition).
	Conditions []PreciseCondition
	// Target is what a source is: "ip" (the client address) or "header"
	// (the value of the header SubKey).
	Target string
	SubKey string
	// Period is the rule's lifetime in seconds as given (0 forever) and
	// Expires when it ends (UNIX seconds; 0 never).
	Period  int64
	Expires int64
}

// PreciseRule matches requests and blocks or watches them.
type PreciseRule struct {
	Name       string
	Conditions []PreciseCondition // all must match
	Action     string             // "block", "challenge" (refused), "watch" or "accept"
	Expires    int64              // UNIX seconds; 0 never
	// Period is the lifetime in seconds as given (0 forever).
	Period int64
}

// PreciseCondition is one condition of a precise rule, in the API's
// words (field and match_method).
type PreciseCondition struct {
	// Field: ip, uri, url, referer, user-agent, params, cookie, header,
	// http-method, content-type, x-forwarded-for, content-length.
	Field string
	// Match: belong, nbelong (ip); contain, ncontain, equal, nequal,
	// prefix, lless, lequal, lgreat, regular, nexist (the others).
	Match string
	Value string
	// Header names the header when Field is "header".
	Header string
}

// WebAttackEvent is one source's requests matching one protection of one
// website on one data-plane process: from the first to the last (End zero
// while it lasts).
type WebAttackEvent struct {
	AccountID string
	Domain    string
	Node      string
	Source    string
	Reason    string // blacklist, cc, cc_rule:<name>, precise:<name>
	Start     time.Time
	End       time.Time
	Peak      int64 // the highest requests per second seen
	Blocked   int64
	Watched   int64
}
