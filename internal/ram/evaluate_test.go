package ram_test

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"moat/internal/ram"
)

const (
	instanceARN = "acs:yundun-ddoscoo:cn-hangzhou:1234567890123456:instance/ddoscoo-cn-abc"
	otherARN    = "acs:yundun-ddoscoo:cn-hangzhou:1234567890123456:instance/ddoscoo-cn-xyz"
)

// policy builds a document from statement objects.
func policy(statements ...string) string {
	return `{"Version": "1", "Statement": [` + strings.Join(statements, ", ") + `]}`
}

func mustParse(t testing.TB, doc string) *ram.Policy {
	t.Helper()
	p, err := ram.Parse([]byte(doc))
	if err != nil {
		t.Fatalf("Parse(%s): %v", doc, err)
	}
	return p
}

// TestActionMatching pins how Action patterns match: * and ? wildcards over
// the whole "service:Action" string, ASCII case-insensitively.
func TestActionMatching(t *testing.T) {
	tests := []struct {
		pattern, action string
		want            ram.Decision
	}{
		{"yundun-ddoscoo:Describe*", "yundun-ddoscoo:DescribeInstances", ram.Allow},
		{"yundun-ddoscoo:Describe*", "yundun-ddoscoo:ReleaseInstance", ram.NoMatch},
		{"yundun-ddoscoo:Describe*", "YUNDUN-DDOSCOO:describeinstances", ram.Allow},
		{"YUNDUN-ddoscoo:DESCRIBE*", "yundun-ddoscoo:DescribeInstances", ram.Allow},
		{"yundun-ddoscoo:Describe*", "bss:DescribeInstances", ram.NoMatch},
		{"yundun-ddoscoo:Describe", "yundun-ddoscoo:DescribeInstances", ram.NoMatch},
		{"yundun-ddoscoo:*", "yundun-ddoscoo:ReleaseInstance", ram.Allow},
		{"yundun-ddoscoo:*", "bss:CreateInstance", ram.NoMatch},
		{"*", "bss:CreateInstance", ram.Allow},
		{"*", "", ram.Allow},
		{"*:Describe*", "bss:DescribeOrders", ram.Allow},
		{"*:Describe*", "bss:CreateInstance", ram.NoMatch},
		{"yundun-ddoscoo:Describe?nstances", "yundun-ddoscoo:DescribeInstances", ram.Allow},
		{"yundun-ddoscoo:Describe?nstances", "yundun-ddoscoo:DescribeXXnstances", ram.NoMatch},
		{"yundun-ddoscoo:Describe*Instances", "yundun-ddoscoo:DescribeDomainInstances", ram.Allow},
		{"yundun-ddoscoo:Describe*Instances", "yundun-ddoscoo:DescribeInstancesX", ram.NoMatch},
		{"yundun-ddoscoo:*tag*", "yundun-ddoscoo:DescribeTagKeys", ram.Allow},
		{"bss:CreateInstance", "bss:CreateInstance", ram.Allow},
		{"bss:CreateInstance", "bss:createinstance", ram.Allow},
		{"bss:CreateInstance", "bss:CreateInstanceX", ram.NoMatch},
		{"bss:CreateInstance", "xbss:CreateInstance", ram.NoMatch},
	}
	for _, tt := range tests {
		p := mustParse(t, policy(`{"Effect": "Allow", "Action": "`+tt.pattern+`", "Resource": "*"}`))
		if got := p.Evaluate(ram.Request{Action: tt.action, Resource: "*"}); got != tt.want {
			t.Errorf("Action %q on %q = %v, want %v", tt.pattern, tt.action, got, tt.want)
		}
	}
}

// TestResourceMatching pins how Resource patterns match: wildcards anywhere,
// case-sensitively, and a request Resource of "*" (an action on no one
// resource) matched only by Resource "*".
func TestResourceMatching(t *testing.T) {
	tests := []struct {
		pattern, resource string
		want              ram.Decision
	}{
		{"*", instanceARN, ram.Allow},
		{"*", "*", ram.Allow},
		{"acs:yundun-ddoscoo:*:*:instance/*", instanceARN, ram.Allow},
		{"acs:yundun-ddoscoo:*:*:instance/*", "*", ram.NoMatch},
		{"acs:yundun-ddoscoo:*:*:instance/*", "acs:yundun-ddoscoo:cn-hangzhou:1234567890123456:domain/example.com", ram.NoMatch},
		{"acs:yundun-ddoscoo:*:*:*", instanceARN, ram.Allow},
		{instanceARN, instanceARN, ram.Allow},
		{instanceARN, otherARN, ram.NoMatch},
		{"acs:yundun-ddoscoo:cn-hangzhou:1234567890123456:instance/DDOSCOO-CN-ABC", instanceARN, ram.NoMatch},
		{"acs:yundun-ddoscoo:*:999:instance/*", instanceARN, ram.NoMatch},
		{"acs:yundun-ddoscoo:cn-?angzhou:*:instance/ddoscoo-cn-*", instanceARN, ram.Allow},
		{"acs:yundun-ddoscoo:ap-*:*:instance/*", instanceARN, ram.NoMatch},
		{"acs:yundun-ddoscoo:*:*:instance/ddoscoo-cn-ab?", instanceARN, ram.Allow},
		{"acs:yundun-ddoscoo:*:*:instance/ddoscoo-cn-a?", instanceARN, ram.NoMatch},
	}
	for _, tt := range tests {
		p := mustParse(t, policy(`{"Effect": "Allow", "Action": "*", "Resource": "`+tt.pattern+`"}`))
		if got := p.Evaluate(ram.Request{Action: "yundun-ddoscoo:ReleaseInstance", Resource: tt.resource}); got != tt.want {
			t.Errorf("Resource %q on %q = %v, want %v", tt.pattern, tt.resource, got, tt.want)
		}
	}
}

// TestNotActionNotResource pins the negated lists: the statement applies to
// every action (resource) that matches none of the entries.
func TestNotActionNotResource(t *testing.T) {
	tests := []struct {
		name             string
		doc              string
		action, resource string
		want             ram.Decision
	}{
		{"NotAction allows what is not listed", policy(`{"Effect": "Allow", "NotAction": ["yundun-ddoscoo:Release*", "bss:*"], "Resource": "*"}`), "yundun-ddoscoo:DescribeInstances", "*", ram.Allow},
		{"NotAction skips what is listed", policy(`{"Effect": "Allow", "NotAction": ["yundun-ddoscoo:Release*", "bss:*"], "Resource": "*"}`), "yundun-ddoscoo:releaseinstance", instanceARN, ram.NoMatch},
		{"NotAction skips the second entry", policy(`{"Effect": "Allow", "NotAction": ["yundun-ddoscoo:Release*", "bss:*"], "Resource": "*"}`), "bss:CreateInstance", "*", ram.NoMatch},
		{"NotResource allows what is not listed", policy(`{"Effect": "Allow", "Action": "*", "NotResource": "acs:yundun-ddoscoo:*:*:instance/ddoscoo-cn-x*"}`), "yundun-ddoscoo:ReleaseInstance", instanceARN, ram.Allow},
		{"NotResource skips what is listed", policy(`{"Effect": "Allow", "Action": "*", "NotResource": "acs:yundun-ddoscoo:*:*:instance/ddoscoo-cn-x*"}`), "yundun-ddoscoo:ReleaseInstance", otherARN, ram.NoMatch},
		{"NotResource covers the unscoped resource", policy(`{"Effect": "Allow", "Action": "*", "NotResource": "acs:yundun-ddoscoo:*:*:instance/*"}`), "bss:CreateInstance", "*", ram.Allow},
		{"Deny with NotAction denies what is not listed", policy(`{"Effect": "Allow", "Action": "*", "Resource": "*"}`, `{"Effect": "Deny", "NotAction": "yundun-ddoscoo:Describe*", "Resource": "*"}`), "yundun-ddoscoo:ReleaseInstance", instanceARN, ram.Deny},
		{"Deny with NotAction leaves the listed to Allow", policy(`{"Effect": "Allow", "Action": "*", "Resource": "*"}`, `{"Effect": "Deny", "NotAction": "yundun-ddoscoo:Describe*", "Resource": "*"}`), "yundun-ddoscoo:DescribeInstances", "*", ram.Allow},
		{"NotAction and NotResource together", policy(`{"Effect": "Deny", "NotAction": "yundun-ddoscoo:Describe*", "NotResource": "acs:yundun-ddoscoo:*:*:instance/ddoscoo-cn-x*"}`), "yundun-ddoscoo:ReleaseInstance", instanceARN, ram.Deny},
		{"NotAction and NotResource, resource listed", policy(`{"Effect": "Deny", "NotAction": "yundun-ddoscoo:Describe*", "NotResource": "acs:yundun-ddoscoo:*:*:instance/ddoscoo-cn-x*"}`), "yundun-ddoscoo:ReleaseInstance", otherARN, ram.NoMatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustParse(t, tt.doc)
			if got := p.Evaluate(ram.Request{Action: tt.action, Resource: tt.resource}); got != tt.want {
				t.Errorf("Evaluate(%s on %s) = %v, want %v", tt.action, tt.resource, got, tt.want)
			}
		})
	}
}

var (
	jan1   = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	secure = func(r *ram.Request) { r.SecureTransport = true }
)

func ip(s string) func(*ram.Request) {
	return func(r *ram.Request) { r.SourceIP = netip.MustParseAddr(s) }
}

func at(t time.Time) func(*ram.Request) {
	return func(r *ram.Request) { r.CurrentTime = t }
}

func tags(kv ...string) func(*ram.Request) {
	return func(r *ram.Request) {
		r.ResourceTags = map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			r.ResourceTags[kv[i]] = kv[i+1]
		}
	}
}

// TestConditionOperators is the truth table of every operator: a match, a
// miss, and the key absent from the request (false for a positive operator,
// true for a negated one), plus the value forms each operator accepts.
func TestConditionOperators(t *testing.T) {
	tests := []struct {
		name      string
		condition string // the value of "Condition"
		request   []func(*ram.Request)
		want      bool // whether the Allow statement applies
	}{
		{"StringEquals match", `{"StringEquals": {"acs:ResourceTag/team": "dev"}}`, []func(*ram.Request){tags("team", "dev")}, true},
		{"StringEquals miss", `{"StringEquals": {"acs:ResourceTag/team": "dev"}}`, []func(*ram.Request){tags("team", "ops")}, false},
		{"StringEquals is case-sensitive", `{"StringEquals": {"acs:ResourceTag/team": "dev"}}`, []func(*ram.Request){tags("team", "Dev")}, false},
		{"StringEquals tag absent", `{"StringEquals": {"acs:ResourceTag/team": "dev"}}`, []func(*ram.Request){tags("env", "dev")}, false},
		{"StringEquals no tags", `{"StringEquals": {"acs:ResourceTag/team": "dev"}}`, nil, false},
		{"StringEquals empty value matches empty tag", `{"StringEquals": {"acs:ResourceTag/team": ""}}`, []func(*ram.Request){tags("team", "")}, true},
		{"StringNotEquals match", `{"StringNotEquals": {"acs:ResourceTag/team": "dev"}}`, []func(*ram.Request){tags("team", "dev")}, false},
		{"StringNotEquals miss", `{"StringNotEquals": {"acs:ResourceTag/team": "dev"}}`, []func(*ram.Request){tags("team", "ops")}, true},
		{"StringNotEquals tag absent", `{"StringNotEquals": {"acs:ResourceTag/team": "dev"}}`, nil, true},
		{"StringEqualsIgnoreCase match", `{"StringEqualsIgnoreCase": {"acs:ResourceTag/team": "DEV"}}`, []func(*ram.Request){tags("team", "dev")}, true},
		{"StringEqualsIgnoreCase miss", `{"StringEqualsIgnoreCase": {"acs:ResourceTag/team": "DEV"}}`, []func(*ram.Request){tags("team", "ops")}, false},
		{"StringEqualsIgnoreCase tag absent", `{"StringEqualsIgnoreCase": {"acs:ResourceTag/team": "DEV"}}`, nil, false},
		{"StringNotEqualsIgnoreCase match", `{"StringNotEqualsIgnoreCase": {"acs:ResourceTag/team": "DEV"}}`, []func(*ram.Request){tags("team", "dev")}, false},
		{"StringNotEqualsIgnoreCase miss", `{"StringNotEqualsIgnoreCase": {"acs:ResourceTag/team": "DEV"}}`, []func(*ram.Request){tags("team", "ops")}, true},
		{"StringNotEqualsIgnoreCase tag absent", `{"StringNotEqualsIgnoreCase": {"acs:ResourceTag/team": "DEV"}}`, nil, true},
		{"StringLike star", `{"StringLike": {"acs:ResourceTag/team": "dev-*"}}`, []func(*ram.Request){tags("team", "dev-42")}, true},
		{"StringLike question mark", `{"StringLike": {"acs:ResourceTag/team": "d?v"}}`, []func(*ram.Request){tags("team", "dev")}, true},
		{"StringLike miss", `{"StringLike": {"acs:ResourceTag/team": "dev-*"}}`, []func(*ram.Request){tags("team", "ops")}, false},
		{"StringLike is case-sensitive", `{"StringLike": {"acs:ResourceTag/team": "DEV-*"}}`, []func(*ram.Request){tags("team", "dev-42")}, false},
		{"StringLike tag absent", `{"StringLike": {"acs:ResourceTag/team": "*"}}`, nil, false},
		{"StringNotLike match", `{"StringNotLike": {"acs:ResourceTag/team": "dev-*"}}`, []func(*ram.Request){tags("team", "dev-42")}, false},
		{"StringNotLike miss", `{"StringNotLike": {"acs:ResourceTag/team": "dev-*"}}`, []func(*ram.Request){tags("team", "ops")}, true},
		{"StringNotLike tag absent", `{"StringNotLike": {"acs:ResourceTag/team": "*"}}`, nil, true},

		{"IpAddress in a CIDR", `{"IpAddress": {"acs:SourceIp": "10.0.0.0/8"}}`, []func(*ram.Request){ip("10.1.2.3")}, true},
		{"IpAddress outside a CIDR", `{"IpAddress": {"acs:SourceIp": "10.0.0.0/8"}}`, []func(*ram.Request){ip("11.1.2.3")}, false},
		{"IpAddress single address", `{"IpAddress": {"acs:SourceIp": "192.0.2.7"}}`, []func(*ram.Request){ip("192.0.2.7")}, true},
		{"IpAddress single address miss", `{"IpAddress": {"acs:SourceIp": "192.0.2.7"}}`, []func(*ram.Request){ip("192.0.2.8")}, false},
		{"IpAddress host bits in the CIDR are ignored", `{"IpAddress": {"acs:SourceIp": "10.9.9.9/8"}}`, []func(*ram.Request){ip("10.1.2.3")}, true},
		{"IpAddress unknown source", `{"IpAddress": {"acs:SourceIp": "0.0.0.0/0"}}`, nil, false},
		{"IpAddress IPv6 CIDR", `{"IpAddress": {"acs:SourceIp": "2001:db8::/32"}}`, []func(*ram.Request){ip("2001:db8:1::5")}, true},
		{"IpAddress IPv6 CIDR miss", `{"IpAddress": {"acs:SourceIp": "2001:db8::/32"}}`, []func(*ram.Request){ip("2001:db9::5")}, false},
		{"IpAddress IPv6 /128", `{"IpAddress": {"acs:SourceIp": "2001:db8::1/128"}}`, []func(*ram.Request){ip("2001:db8::1")}, true},
		{"IpAddress IPv6 address with zone in the request", `{"IpAddress": {"acs:SourceIp": "fe80::/10"}}`, []func(*ram.Request){ip("fe80::1%eth0")}, true},
		{"IpAddress IPv4-mapped request matches IPv4", `{"IpAddress": {"acs:SourceIp": "10.0.0.0/8"}}`, []func(*ram.Request){ip("::ffff:10.1.2.3")}, true},
		{"IpAddress IPv4-mapped value matches IPv4", `{"IpAddress": {"acs:SourceIp": "::ffff:10.1.2.3"}}`, []func(*ram.Request){ip("10.1.2.3")}, true},
		{"IpAddress IPv4 CIDR does not match IPv6", `{"IpAddress": {"acs:SourceIp": "0.0.0.0/0"}}`, []func(*ram.Request){ip("2001:db8::1")}, false},
		{"IpAddress any of several values", `{"IpAddress": {"acs:SourceIp": ["10.0.0.0/8", "2001:db8::/32"]}}`, []func(*ram.Request){ip("2001:db8::9")}, true},
		{"NotIpAddress in a CIDR", `{"NotIpAddress": {"acs:SourceIp": "10.0.0.0/8"}}`, []func(*ram.Request){ip("10.1.2.3")}, false},
		{"NotIpAddress outside a CIDR", `{"NotIpAddress": {"acs:SourceIp": "10.0.0.0/8"}}`, []func(*ram.Request){ip("11.1.2.3")}, true},
		{"NotIpAddress outside every CIDR", `{"NotIpAddress": {"acs:SourceIp": ["10.0.0.0/8", "2001:db8::/32"]}}`, []func(*ram.Request){ip("2001:db9::1")}, true},
		{"NotIpAddress in the second CIDR", `{"NotIpAddress": {"acs:SourceIp": ["10.0.0.0/8", "2001:db8::/32"]}}`, []func(*ram.Request){ip("2001:db8::1")}, false},
		{"NotIpAddress unknown source", `{"NotIpAddress": {"acs:SourceIp": "10.0.0.0/8"}}`, nil, true},

		{"Bool true on HTTPS", `{"Bool": {"acs:SecureTransport": "true"}}`, []func(*ram.Request){secure}, true},
		{"Bool true on HTTP", `{"Bool": {"acs:SecureTransport": "true"}}`, nil, false},
		{"Bool false on HTTP", `{"Bool": {"acs:SecureTransport": "false"}}`, nil, true},
		{"Bool false on HTTPS", `{"Bool": {"acs:SecureTransport": "false"}}`, []func(*ram.Request){secure}, false},
		{"Bool JSON boolean", `{"Bool": {"acs:SecureTransport": true}}`, []func(*ram.Request){secure}, true},
		{"Bool value case-insensitive", `{"Bool": {"acs:SecureTransport": "TRUE"}}`, []func(*ram.Request){secure}, true},
		{"Bool both values", `{"Bool": {"acs:SecureTransport": ["true", "false"]}}`, nil, true},

		{"DateEquals same second", `{"DateEquals": {"acs:CurrentTime": "2026-01-01T00:00:00Z"}}`, []func(*ram.Request){at(jan1.Add(999 * time.Millisecond))}, true},
		{"DateEquals next second", `{"DateEquals": {"acs:CurrentTime": "2026-01-01T00:00:00Z"}}`, []func(*ram.Request){at(jan1.Add(time.Second))}, false},
		{"DateEquals time unknown", `{"DateEquals": {"acs:CurrentTime": "2026-01-01T00:00:00Z"}}`, nil, false},
		{"DateEquals with an offset", `{"DateEquals": {"acs:CurrentTime": "2026-01-01T08:00:00+08:00"}}`, []func(*ram.Request){at(jan1)}, true},
		{"DateEquals request in another zone", `{"DateEquals": {"acs:CurrentTime": "2026-01-01T00:00:00Z"}}`, []func(*ram.Request){at(jan1.In(time.FixedZone("X", -5*3600)))}, true},
		{"DateNotEquals same second", `{"DateNotEquals": {"acs:CurrentTime": "2026-01-01T00:00:00Z"}}`, []func(*ram.Request){at(jan1)}, false},
		{"DateNotEquals other second", `{"DateNotEquals": {"acs:CurrentTime": "2026-01-01T00:00:00Z"}}`, []func(*ram.Request){at(jan1.Add(-time.Second))}, true},
		{"DateNotEquals time unknown", `{"DateNotEquals": {"acs:CurrentTime": "2026-01-01T00:00:00Z"}}`, nil, true},
		{"DateLessThan before", `{"DateLessThan": {"acs:CurrentTime": "2026-01-01T00:00:00Z"}}`, []func(*ram.Request){at(jan1.Add(-time.Nanosecond))}, true},
		{"DateLessThan same second", `{"DateLessThan": {"acs:CurrentTime": "2026-01-01T00:00:00Z"}}`, []func(*ram.Request){at(jan1.Add(time.Millisecond))}, false},
		{"DateLessThan after", `{"DateLessThan": {"acs:CurrentTime": "2026-01-01T00:00:00Z"}}`, []func(*ram.Request){at(jan1.Add(time.Hour))}, false},
		{"DateLessThan time unknown", `{"DateLessThan": {"acs:CurrentTime": "2999-01-01T00:00:00Z"}}`, nil, false},
		{"DateLessThanEquals same second", `{"DateLessThanEquals": {"acs:CurrentTime": "2026-01-01T00:00:00Z"}}`, []func(*ram.Request){at(jan1.Add(time.Millisecond))}, true},
		{"DateLessThanEquals after", `{"DateLessThanEquals": {"acs:CurrentTime": "2026-01-01T00:00:00Z"}}`, []func(*ram.Request){at(jan1.Add(time.Second))}, false},
		{"DateLessThanEquals before", `{"DateLessThanEquals": {"acs:CurrentTime": "2026-01-01T00:00:00Z"}}`, []func(*ram.Request){at(jan1.Add(-time.Second))}, true},
		{"DateGreaterThan after", `{"DateGreaterThan": {"acs:CurrentTime": "2026-01-01T00:00:00Z"}}`, []func(*ram.Request){at(jan1.Add(time.Second))}, true},
		{"DateGreaterThan same second", `{"DateGreaterThan": {"acs:CurrentTime": "2026-01-01T00:00:00Z"}}`, []func(*ram.Request){at(jan1.Add(time.Millisecond))}, false},
		{"DateGreaterThan before", `{"DateGreaterThan": {"acs:CurrentTime": "2026-01-01T00:00:00Z"}}`, []func(*ram.Request){at(jan1.Add(-time.Second))}, false},
		{"DateGreaterThan time unknown", `{"DateGreaterThan": {"acs:CurrentTime": "1970-01-02T00:00:00Z"}}`, nil, false},
		{"DateGreaterThanEquals same second", `{"DateGreaterThanEquals": {"acs:CurrentTime": "2026-01-01T00:00:00Z"}}`, []func(*ram.Request){at(jan1)}, true},
		{"DateGreaterThanEquals before", `{"DateGreaterThanEquals": {"acs:CurrentTime": "2026-01-01T00:00:00Z"}}`, []func(*ram.Request){at(jan1.Add(-time.Nanosecond))}, false},
		{"DateGreaterThanEquals after", `{"DateGreaterThanEquals": {"acs:CurrentTime": "2026-01-01T00:00:00Z"}}`, []func(*ram.Request){at(jan1.Add(time.Hour))}, true},
		{"date-only value is midnight UTC", `{"DateGreaterThanEquals": {"acs:CurrentTime": "2026-01-01"}}`, []func(*ram.Request){at(jan1)}, true},
		{"date-only value is not a second earlier", `{"DateGreaterThanEquals": {"acs:CurrentTime": "2026-01-01"}}`, []func(*ram.Request){at(jan1.Add(-time.Second))}, false},
		{"date without seconds", `{"DateLessThan": {"acs:CurrentTime": "2026-01-01T00:01Z"}}`, []func(*ram.Request){at(jan1.Add(59 * time.Second))}, true},
		{"date fraction is dropped", `{"DateEquals": {"acs:CurrentTime": "2026-01-01T00:00:00.75Z"}}`, []func(*ram.Request){at(jan1)}, true},
		{"date before 1970 compares by the whole second below", `{"DateEquals": {"acs:CurrentTime": "1969-12-31T23:59:59Z"}}`, []func(*ram.Request){at(time.Unix(0, -500*int64(time.Millisecond)))}, true},
		{"date any of several values", `{"DateEquals": {"acs:CurrentTime": ["2025-06-01", "2026-01-01"]}}`, []func(*ram.Request){at(jan1)}, true},

		{"condition keys are case-insensitive", `{"IpAddress": {"ACS:SOURCEIP": "10.0.0.0/8"}}`, []func(*ram.Request){ip("10.1.2.3")}, true},
		{"ResourceTag prefix is case-insensitive", `{"StringEquals": {"ACS:resourcetag/team": "dev"}}`, []func(*ram.Request){tags("team", "dev")}, true},
		{"ResourceTag key is case-sensitive", `{"StringEquals": {"acs:ResourceTag/Team": "dev"}}`, []func(*ram.Request){tags("team", "dev")}, false},
		{"ResourceTag key may contain a slash", `{"StringEquals": {"acs:ResourceTag/k8s/app": "web"}}`, []func(*ram.Request){tags("k8s/app", "web")}, true},
		{"StringEquals any of several values", `{"StringEquals": {"acs:ResourceTag/team": ["ops", "dev"]}}`, []func(*ram.Request){tags("team", "dev")}, true},
		{"StringNotEquals none of several values", `{"StringNotEquals": {"acs:ResourceTag/team": ["ops", "dev"]}}`, []func(*ram.Request){tags("team", "dev")}, false},
		{"unknown key never matches", `{"Bool": {"acs:MFAPresent": "true"}}`, []func(*ram.Request){secure}, false},
		{"unknown key under a negated operator holds", `{"StringNotEquals": {"oss:Prefix": "x"}}`, nil, true},
		{"unknown key under StringLike star does not hold", `{"StringLike": {"oss:Prefix": "*"}}`, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustParse(t, policy(`{"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": `+tt.condition+`}`))
			r := ram.Request{Action: "yundun-ddoscoo:ReleaseInstance", Resource: instanceARN}
			for _, f := range tt.request {
				f(&r)
			}
			want := ram.NoMatch
			if tt.want {
				want = ram.Allow
			}
			if got := p.Evaluate(r); got != want {
				t.Errorf("Evaluate = %v, want %v (request %+v)", got, want, r)
			}
		})
	}
}

// TestConditionsAreANDed pins that every condition of a statement must hold:
// several keys under one operator, and several operators.
func TestConditionsAreANDed(t *testing.T) {
	cond := `{"IpAddress": {"acs:SourceIp": "10.0.0.0/8"}, "Bool": {"acs:SecureTransport": "true"},` +
		` "StringEquals": {"acs:ResourceTag/team": "dev", "acs:ResourceTag/env": "test"}}`
	p := mustParse(t, policy(`{"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": `+cond+`}`))
	all := []func(*ram.Request){ip("10.0.0.1"), secure, tags("team", "dev", "env", "test")}
	tests := []struct {
		name    string
		request []func(*ram.Request)
		want    ram.Decision
	}{
		{"all hold", all, ram.Allow},
		{"wrong address", []func(*ram.Request){ip("11.0.0.1"), secure, tags("team", "dev", "env", "test")}, ram.NoMatch},
		{"plain HTTP", []func(*ram.Request){ip("10.0.0.1"), tags("team", "dev", "env", "test")}, ram.NoMatch},
		{"first key of an operator fails", []func(*ram.Request){ip("10.0.0.1"), secure, tags("team", "ops", "env", "test")}, ram.NoMatch},
		{"second key of an operator fails", []func(*ram.Request){ip("10.0.0.1"), secure, tags("team", "dev", "env", "prod")}, ram.NoMatch},
	}
	for _, tt := range tests {
		r := ram.Request{Action: "a:b", Resource: "*"}
		for _, f := range tt.request {
			f(&r)
		}
		if got := p.Evaluate(r); got != tt.want {
			t.Errorf("%s: Evaluate = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestResourceTagConditions pins the scenario of the issue: an on-call
// engineer may release only instances tagged for it, and nothing else.
func TestResourceTagConditions(t *testing.T) {
	p := mustParse(t, policy(
		`{"Effect": "Allow", "Action": "yundun-ddoscoo:ReleaseInstance", "Resource": "acs:yundun-ddoscoo:*:1234567890123456:instance/*",`+
			` "Condition": {"StringEquals": {"acs:ResourceTag/oncall": "release-ok"}}}`,
		`{"Effect": "Deny", "Action": "yundun-ddoscoo:*", "Resource": "*", "Condition": {"StringEquals": {"acs:ResourceTag/protected": "true"}}}`,
	))
	tests := []struct {
		name     string
		action   string
		resource string
		tags     map[string]string
		want     ram.Decision
	}{
		{"tagged instance", "yundun-ddoscoo:ReleaseInstance", instanceARN, map[string]string{"oncall": "release-ok"}, ram.Allow},
		{"tag with another value", "yundun-ddoscoo:ReleaseInstance", instanceARN, map[string]string{"oncall": "no"}, ram.NoMatch},
		{"untagged instance", "yundun-ddoscoo:ReleaseInstance", instanceARN, nil, ram.NoMatch},
		{"tagged but protected", "yundun-ddoscoo:ReleaseInstance", instanceARN, map[string]string{"oncall": "release-ok", "protected": "true"}, ram.Deny},
		{"another account", "yundun-ddoscoo:ReleaseInstance", "acs:yundun-ddoscoo:cn-hangzhou:999:instance/x", map[string]string{"oncall": "release-ok"}, ram.NoMatch},
		{"another action", "yundun-ddoscoo:ModifyInstance", instanceARN, map[string]string{"oncall": "release-ok"}, ram.NoMatch},
	}
	for _, tt := range tests {
		got := p.Evaluate(ram.Request{Action: tt.action, Resource: tt.resource, ResourceTags: tt.tags})
		if got != tt.want {
			t.Errorf("%s: Evaluate = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestDecide pins how policies combine: an explicit Deny anywhere wins, else
// the first Allow, else implicit deny; and which policy is reported.
func TestDecide(t *testing.T) {
	allowAll := mustParse(t, policy(`{"Effect": "Allow", "Action": "*", "Resource": "*"}`))
	allowDescribe := mustParse(t, policy(`{"Effect": "Allow", "Action": "yundun-ddoscoo:Describe*", "Resource": "*"}`))
	denyRelease := mustParse(t, policy(`{"Effect": "Deny", "Action": "yundun-ddoscoo:ReleaseInstance", "Resource": "*"}`))
	denyOffsite := mustParse(t, policy(`{"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": {"NotIpAddress": {"acs:SourceIp": "10.0.0.0/8"}}}`))
	allowAndDeny := mustParse(t, policy(
		`{"Effect": "Allow", "Action": "*", "Resource": "*"}`,
		`{"Effect": "Deny", "Action": "yundun-ddoscoo:ReleaseInstance", "Resource": "*"}`,
	))
	release := ram.Request{Action: "yundun-ddoscoo:ReleaseInstance", Resource: instanceARN, SourceIP: netip.MustParseAddr("10.0.0.1")}
	describe := ram.Request{Action: "yundun-ddoscoo:DescribeInstances", Resource: "*", SourceIP: netip.MustParseAddr("10.0.0.1")}
	offsite := describe
	offsite.SourceIP = netip.MustParseAddr("203.0.113.9")
	tests := []struct {
		name     string
		policies []*ram.Policy
		request  ram.Request
		want     ram.Decision
		index    int
	}{
		{"no policies is implicit deny", nil, describe, ram.NoMatch, -1},
		{"no matching statement is implicit deny", []*ram.Policy{allowDescribe}, release, ram.NoMatch, -1},
		{"allow", []*ram.Policy{allowDescribe}, describe, ram.Allow, 0},
		{"first allowing policy is reported", []*ram.Policy{denyRelease, allowDescribe, allowAll}, describe, ram.Allow, 1},
		{"explicit deny wins over an earlier allow", []*ram.Policy{allowAll, denyRelease}, release, ram.Deny, 1},
		{"explicit deny wins over a later allow", []*ram.Policy{denyRelease, allowAll}, release, ram.Deny, 0},
		{"explicit deny wins within one policy", []*ram.Policy{allowAndDeny}, release, ram.Deny, 0},
		{"deny by condition", []*ram.Policy{allowAll, denyOffsite}, offsite, ram.Deny, 1},
		{"deny whose condition fails leaves the allow", []*ram.Policy{allowAll, denyOffsite}, describe, ram.Allow, 0},
		{"deny without an allow is still deny", []*ram.Policy{denyRelease}, release, ram.Deny, 0},
		{"nil policies are skipped", []*ram.Policy{nil, allowDescribe}, describe, ram.Allow, 1},
		{"first denying policy is reported", []*ram.Policy{allowAll, denyOffsite, denyRelease}, func() ram.Request { r := release; r.SourceIP = offsite.SourceIP; return r }(), ram.Deny, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, index := ram.Decide(tt.policies, tt.request)
			if got != tt.want || index != tt.index {
				t.Errorf("Decide = %v, %d; want %v, %d", got, index, tt.want, tt.index)
			}
		})
	}
}

// TestEvaluateNilAndHandBuilt pins the edges of Evaluate: a nil policy and an
// empty one decide NoMatch, and a hand-built policy with statements, which
// has no compiled form, panics instead of silently ignoring a Deny.
func TestEvaluateNilAndHandBuilt(t *testing.T) {
	var nilPolicy *ram.Policy
	if got := nilPolicy.Evaluate(ram.Request{Action: "a:b"}); got != ram.NoMatch {
		t.Errorf("nil.Evaluate = %v, want NoMatch", got)
	}
	if got := (&ram.Policy{}).Evaluate(ram.Request{Action: "a:b"}); got != ram.NoMatch {
		t.Errorf("empty Policy Evaluate = %v, want NoMatch", got)
	}
	handBuilt := &ram.Policy{Version: "1", Statements: []ram.Statement{{Effect: ram.EffectDeny, Actions: []string{"*"}, Resources: []string{"*"}}}}
	r := ram.Request{Action: "a:b", Resource: "*"}
	for name, call := range map[string]func(){
		"Evaluate": func() { handBuilt.Evaluate(r) },
		"Decide":   func() { ram.Decide([]*ram.Policy{handBuilt}, r) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s on a hand-built Policy did not panic", name)
				}
			}()
			call()
		}()
	}
}

// TestUsesResourceTags pins that a policy reports reading resource tags
// exactly when some condition, negated or not, names acs:ResourceTag/<key>.
func TestUsesResourceTags(t *testing.T) {
	tests := []struct {
		doc  string
		want bool
	}{
		{policy(`{"Effect": "Allow", "Action": "*", "Resource": "*"}`), false},
		{policy(`{"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"IpAddress": {"acs:SourceIp": "10.0.0.0/8"}, "StringEquals": {"oss:Prefix": "x"}}}`), false},
		{policy(`{"Effect": "Allow", "Action": "*", "Resource": "*"}`, `{"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": {"StringNotLike": {"ACS:ResourceTag/team": "x"}}}`), true},
	}
	for _, tt := range tests {
		if got := mustParse(t, tt.doc).UsesResourceTags(); got != tt.want {
			t.Errorf("UsesResourceTags() = %v, want %v for %s", got, tt.want, tt.doc)
		}
	}
	var nilPolicy *ram.Policy
	if nilPolicy.UsesResourceTags() {
		t.Error("nil Policy uses resource tags")
	}
}

// TestDecisionString pins the names used in logs and error details.
func TestDecisionString(t *testing.T) {
	for d, want := range map[ram.Decision]string{ram.NoMatch: "NoMatch", ram.Allow: "Allow", ram.Deny: "Deny", 9: "Decision(9)"} {
		if got := d.String(); got != want {
			t.Errorf("Decision(%d).String() = %q, want %q", uint8(d), got, want)
		}
	}
}

// benchPolicies is a policy set of 10 statements with wildcards, explicit
// denies and one IpAddress condition, shaped like what an operator would give
// an on-call engineer.
func benchPolicies(t testing.TB) []*ram.Policy {
	a := mustParse(t, policy(
		`{"Effect": "Allow", "Action": "yundun-ddoscoo:Describe*", "Resource": "*"}`,
		`{"Effect": "Allow", "Action": ["yundun-ddoscoo:ModifyInstanceRemark", "yundun-ddoscoo:*Tag*"], "Resource": "acs:yundun-ddoscoo:*:1234567890123456:instance/ddoscoo-cn-dev*"}`,
		`{"Effect": "Deny", "Action": "yundun-ddoscoo:Release*", "Resource": "acs:yundun-ddoscoo:*:*:instance/ddoscoo-cn-prod*"}`,
		`{"Effect": "Allow", "Action": "bss:Describe*", "Resource": "*"}`,
		`{"Effect": "Allow", "Action": ["yundun-ddoscoo:Create*", "yundun-ddoscoo:Modify*Rule*"], "Resource": "acs:yundun-ddoscoo:cn-hangzhou:1234567890123456:instance/*"}`,
		`{"Effect": "Deny", "NotAction": ["yundun-ddoscoo:*", "bss:*"], "Resource": "*"}`,
	))
	b := mustParse(t, policy(
		`{"Effect": "Deny", "Action": "yundun-ddoscoo:Delete*", "Resource": "acs:yundun-ddoscoo:*:*:instance/ddoscoo-cn-prod*"}`,
		`{"Effect": "Allow", "Action": "yundun-ddoscoo:Config*", "Resource": "acs:yundun-ddoscoo:*:1234567890123456:instance/*"}`,
		`{"Effect": "Allow", "Action": "yundun-ddoscoo:ReleaseInstance", "Resource": "acs:yundun-ddoscoo:*:1234567890123456:instance/*",`+
			` "Condition": {"IpAddress": {"acs:SourceIp": ["10.0.0.0/8", "2001:db8::/32"]}}}`,
		`{"Effect": "Allow", "Action": "yundun-ddoscoo:Switch*", "Resource": "acs:yundun-ddoscoo:*:1234567890123456:instance/*"}`,
	))
	return []*ram.Policy{a, b}
}

// benchRequest reaches the IpAddress condition: every Deny is checked and
// every Allow before the last-but-one.
var benchRequest = ram.Request{
	Action:          "yundun-ddoscoo:ReleaseInstance",
	Resource:        instanceARN,
	SourceIP:        netip.MustParseAddr("10.20.30.40"),
	SecureTransport: true,
	CurrentTime:     jan1,
}

// TestDecideDoesNotAllocate pins that evaluation allocates nothing, for
// allowed, denied and implicitly denied requests.
func TestDecideDoesNotAllocate(t *testing.T) {
	ps := benchPolicies(t)
	denied := benchRequest
	denied.Resource = "acs:yundun-ddoscoo:cn-hangzhou:1234567890123456:instance/ddoscoo-cn-prod1"
	none := benchRequest
	none.SourceIP = netip.MustParseAddr("::ffff:192.0.2.1")
	tagged := benchRequest
	tagged.ResourceTags = map[string]string{"team": "dev"}
	for _, r := range []ram.Request{benchRequest, denied, none, tagged} {
		var d ram.Decision
		allocs := testing.AllocsPerRun(100, func() { d, _ = ram.Decide(ps, r) })
		if allocs != 0 {
			t.Errorf("Decide(%s) = %v allocates %v times per run, want 0", r.Resource, d, allocs)
		}
	}
	if d, i := ram.Decide(ps, benchRequest); d != ram.Allow || i != 1 {
		t.Errorf("benchmark request decides %v by policy %d, want Allow by 1", d, i)
	}
	if d, i := ram.Decide(ps, denied); d != ram.Deny || i != 0 {
		t.Errorf("denied request decides %v by policy %d, want Deny by 0", d, i)
	}
	if d, i := ram.Decide(ps, none); d != ram.NoMatch || i != -1 {
		t.Errorf("off-network request decides %v by policy %d, want NoMatch, -1", d, i)
	}
}

// BenchmarkDecide10Statements measures one decision over a policy set of 10
// statements with wildcards and one IpAddress condition.
func BenchmarkDecide10Statements(b *testing.B) {
	ps := benchPolicies(b)
	b.ReportAllocs()
	for b.Loop() {
		ram.Decide(ps, benchRequest)
	}
}
