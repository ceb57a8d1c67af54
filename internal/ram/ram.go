// Package ram parses and evaluates Alibaba Cloud RAM policy documents
// (policy language Version "1"), the identity policies that say what a RAM
// user or an STS session may do.
//
// Parse validates a document strictly and reports the first problem with its
// line, column and byte offset; it also precompiles every pattern, address and
// date so that Evaluate and Decide, which run on every request of a RAM user,
// match without regular expressions and without allocating.
//
// The language follows the RAM documentation ("Policy elements" and
// "Conditional operators", https://www.alibabacloud.com/help/en/ram/policy-elements
// and https://www.alibabacloud.com/help/en/ram/conditional-operator). Where
// RAM documents nothing, the package picks what AWS IAM does and says so:
//
//   - Keys of the document ("Version", "Statement", "Effect", ...) and
//     operator names are case-sensitive; a key that differs only in case is
//     reported with a hint. Duplicate keys in any JSON object are errors,
//     because a decoder that keeps the last one and a reader who sees the
//     first would disagree about what the policy says.
//   - Action patterns match case-insensitively (ASCII letters only, which is
//     every RAM action name); resource patterns match case-sensitively. In
//     both, * matches any run of characters, colons and slashes included, and
//     ? matches exactly one character; the pattern covers the whole string.
//   - A request whose Resource is "*" (an action that is not scoped to one
//     resource) is matched by a pattern only if the pattern matches the
//     string "*", so in practice only by Resource "*".
//   - Condition keys are case-insensitive, except the tag key after
//     acs:ResourceTag/, which is matched exactly. Keys moat does not know
//     (acs:MFAPresent, oss:Prefix, ...) parse but are never present in a
//     request.
//   - A key the request lacks makes a condition false, except under a negated
//     operator (StringNotEquals, StringNotEqualsIgnoreCase, StringNotLike,
//     NotIpAddress, DateNotEquals), which is then true: a negated operator is
//     exactly the negation of its positive form. With several values, a
//     positive operator holds if any value matches, a negated one if none
//     does. All conditions of a statement must hold.
//   - Operators are typed: the IP operators apply to acs:SourceIp, Bool to
//     acs:SecureTransport, the Date operators to acs:CurrentTime, the String
//     operators to acs:ResourceTag/<key>. Using an operator on a known key of
//     another type is a parse error rather than a condition that silently
//     never (or always) holds.
//   - Bool values are "true" or "false" in any ASCII case. Dates compare at
//     one-second precision (both sides are truncated to the second, toward
//     the past). An IPv4-mapped IPv6 address (the request's, or a value that
//     is a single address) compares as IPv4; an IPv4 block never contains an
//     IPv6 address.
package ram

import (
	"net/netip"
	"strconv"
	"time"
)

// Effect is a statement's effect.
type Effect string

// The two effects, spelled as in the document.
const (
	EffectAllow Effect = "Allow"
	EffectDeny  Effect = "Deny"
)

// Policy is a parsed policy document. A Policy is built by Parse and must not
// be changed afterwards: Evaluate uses the form Parse compiled, not the
// exported fields. A parsed Policy is safe for concurrent use.
type Policy struct {
	Version    string
	Statements []Statement

	compiled bool
	usesTags bool                // some condition reads acs:ResourceTag/<key>
	denies   []compiledStatement // the Deny statements, in document order
	allows   []compiledStatement // the Allow statements, in document order
}

// UsesResourceTags reports whether any condition of the policy reads
// acs:ResourceTag/<key>, so that a caller can skip loading a resource's tags
// for policies that cannot look at them.
func (p *Policy) UsesResourceTags() bool {
	return p != nil && p.usesTags
}

// Statement is one statement of a policy.
type Statement struct {
	Effect                  Effect   // EffectAllow or EffectDeny
	Actions, NotActions     []string // exactly one of the two is non-empty
	Resources, NotResources []string // exactly one of the two is non-empty
	Conditions              []Condition
}

// Condition is one operator applied to one key, as written in the document:
// {"Condition": {Operator: {Key: Values}}}.
type Condition struct {
	Operator string
	Key      string
	Values   []string // JSON numbers and booleans are kept as their literal text
}

// Request is what a caller asks to do, as a policy sees it.
type Request struct {
	Action          string            // "yundun-ddoscoo:ReleaseInstance", "bss:CreateInstance"
	Resource        string            // "acs:yundun-ddoscoo:cn-hangzhou:1234567890123456:instance/ddoscoo-cn-xxxx" or "*"
	SourceIP        netip.Addr        // invalid Addr = unknown (acs:SourceIp absent)
	SecureTransport bool              // acs:SecureTransport; always present
	CurrentTime     time.Time         // zero = unknown (acs:CurrentTime absent)
	ResourceTags    map[string]string // the resource's tags; nil when the resource has none or is not an instance
}

// Decision is the outcome of evaluating policies on a request.
type Decision uint8

const (
	// NoMatch is an implicit deny: no statement allows the request.
	NoMatch Decision = iota
	// Allow is an allow by at least one statement and no explicit deny.
	Allow
	// Deny is an explicit deny by a statement; it overrides every Allow.
	Deny
)

func (d Decision) String() string {
	switch d {
	case NoMatch:
		return "NoMatch"
	case Allow:
		return "Allow"
	case Deny:
		return "Deny"
	}
	return "Decision(" + strconv.Itoa(int(d)) + ")"
}

// Evaluate is one policy's decision on a request: Deny if any Deny statement
// applies, else Allow if any Allow statement applies, else NoMatch. A nil
// Policy decides NoMatch.
func (p *Policy) Evaluate(r Request) Decision {
	if p == nil {
		return NoMatch
	}
	p.mustBeCompiled()
	q := newEvalRequest(&r)
	if matchAny(p.denies, &q) {
		return Deny
	}
	if matchAny(p.allows, &q) {
		return Allow
	}
	return NoMatch
}

// Decide combines policies: an explicit Deny in any policy wins; otherwise
// Allow if any policy allows; otherwise implicit deny (NoMatch). It also
// returns which policy decided, for error details: the first policy (by
// index) with an applicable Deny statement, else the first with an applicable
// Allow statement, else -1. Nil policies are skipped.
func Decide(policies []*Policy, r Request) (Decision, int) {
	q := newEvalRequest(&r)
	for i, p := range policies {
		if p == nil {
			continue
		}
		p.mustBeCompiled()
		if matchAny(p.denies, &q) {
			return Deny, i
		}
	}
	for i, p := range policies {
		if p != nil && matchAny(p.allows, &q) {
			return Allow, i
		}
	}
	return NoMatch, -1
}

// mustBeCompiled panics on a Policy that did not come from Parse but has
// statements: evaluating it would silently ignore them, which for a Deny
// statement would grant what the author meant to refuse.
func (p *Policy) mustBeCompiled() {
	if !p.compiled && len(p.Statements) > 0 {
		panic("ram: Evaluate on a Policy that was not built by Parse")
	}
}

// evalRequest is a Request normalised once per evaluation.
type evalRequest struct {
	action   string
	resource string
	ip       netip.Addr // unmapped and without zone; invalid = unknown
	secure   bool
	haveTime bool
	unix     int64 // CurrentTime in whole seconds
	tags     map[string]string
}

func newEvalRequest(r *Request) evalRequest {
	q := evalRequest{
		action:   r.Action,
		resource: r.Resource,
		secure:   r.SecureTransport,
		tags:     r.ResourceTags,
	}
	if r.SourceIP.IsValid() {
		q.ip = r.SourceIP.Unmap().WithZone("")
	}
	if !r.CurrentTime.IsZero() {
		q.haveTime = true
		q.unix = r.CurrentTime.Unix()
	}
	return q
}

// compiledStatement is a Statement ready for matching.
type compiledStatement struct {
	notAction   bool
	actions     []pattern
	notResource bool
	resources   []pattern
	conditions  []compiledCondition
}

func matchAny(stmts []compiledStatement, q *evalRequest) bool {
	for i := range stmts {
		if stmts[i].applies(q) {
			return true
		}
	}
	return false
}

// applies reports whether the statement covers the request: its action and
// resource match and every condition holds.
func (s *compiledStatement) applies(q *evalRequest) bool {
	if anyMatch(s.actions, q.action) == s.notAction {
		return false
	}
	if anyMatch(s.resources, q.resource) == s.notResource {
		return false
	}
	for i := range s.conditions {
		if !s.conditions[i].holds(q) {
			return false
		}
	}
	return true
}

func anyMatch(ps []pattern, s string) bool {
	for i := range ps {
		if ps[i].match(s) {
			return true
		}
	}
	return false
}
