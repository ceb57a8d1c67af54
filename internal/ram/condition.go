package ram

import (
	"net/netip"
	"strings"
	"time"
)

// valueType is what a condition operator compares, and what a condition key
// holds.
type valueType uint8

const (
	typeAny valueType = iota // an unknown key: any operator may name it
	typeString
	typeIP
	typeBool
	typeDate
)

func (t valueType) String() string {
	switch t {
	case typeString:
		return "a string"
	case typeIP:
		return "an IP address"
	case typeBool:
		return "a boolean"
	case typeDate:
		return "a date"
	}
	return "any value"
}

// opCode is the positive form of an operator; negated operators share it.
type opCode uint8

const (
	opStringEquals opCode = iota
	opStringEqualsIgnoreCase
	opStringLike
	opIPAddress
	opBool
	opDateEquals
	opDateLessThan
	opDateLessThanEquals
	opDateGreaterThan
	opDateGreaterThanEquals
)

type operator struct {
	code   opCode
	negate bool
	typ    valueType
}

// operatorNames lists the supported operators, for error messages.
const operatorNames = "StringEquals, StringNotEquals, StringEqualsIgnoreCase, StringNotEqualsIgnoreCase, " +
	"StringLike, StringNotLike, IpAddress, NotIpAddress, Bool, DateEquals, DateNotEquals, " +
	"DateLessThan, DateLessThanEquals, DateGreaterThan, DateGreaterThanEquals"

// lookupOperator finds an operator by its case-sensitive name.
func lookupOperator(name string) (operator, bool) {
	switch name {
	case "StringEquals":
		return operator{opStringEquals, false, typeString}, true
	case "StringNotEquals":
		return operator{opStringEquals, true, typeString}, true
	case "StringEqualsIgnoreCase":
		return operator{opStringEqualsIgnoreCase, false, typeString}, true
	case "StringNotEqualsIgnoreCase":
		return operator{opStringEqualsIgnoreCase, true, typeString}, true
	case "StringLike":
		return operator{opStringLike, false, typeString}, true
	case "StringNotLike":
		return operator{opStringLike, true, typeString}, true
	case "IpAddress":
		return operator{opIPAddress, false, typeIP}, true
	case "NotIpAddress":
		return operator{opIPAddress, true, typeIP}, true
	case "Bool":
		return operator{opBool, false, typeBool}, true
	case "DateEquals":
		return operator{opDateEquals, false, typeDate}, true
	case "DateNotEquals":
		return operator{opDateEquals, true, typeDate}, true
	case "DateLessThan":
		return operator{opDateLessThan, false, typeDate}, true
	case "DateLessThanEquals":
		return operator{opDateLessThanEquals, false, typeDate}, true
	case "DateGreaterThan":
		return operator{opDateGreaterThan, false, typeDate}, true
	case "DateGreaterThanEquals":
		return operator{opDateGreaterThanEquals, false, typeDate}, true
	}
	return operator{}, false
}

// keyKind is a condition key moat can supply from a request.
type keyKind uint8

const (
	keyOther keyKind = iota // never present in a request
	keySourceIP
	keySecureTransport
	keyCurrentTime
	keyResourceTag
)

// The condition keys moat supplies. Matching is case-insensitive, except for
// the tag key that follows resourceTagPrefix.
const (
	keyNameSourceIP        = "acs:SourceIp"
	keyNameSecureTransport = "acs:SecureTransport"
	keyNameCurrentTime     = "acs:CurrentTime"
	resourceTagPrefix      = "acs:ResourceTag/"
)

// lookupKey classifies a condition key and returns the type it holds and,
// for acs:ResourceTag/<key>, the tag key.
func lookupKey(name string) (keyKind, valueType, string) {
	switch {
	case asciiEqualFold(name, keyNameSourceIP):
		return keySourceIP, typeIP, ""
	case asciiEqualFold(name, keyNameSecureTransport):
		return keySecureTransport, typeBool, ""
	case asciiEqualFold(name, keyNameCurrentTime):
		return keyCurrentTime, typeDate, ""
	case len(name) >= len(resourceTagPrefix) && asciiEqualFold(name[:len(resourceTagPrefix)], resourceTagPrefix):
		return keyResourceTag, typeString, name[len(resourceTagPrefix):]
	}
	return keyOther, typeAny, ""
}

// operatorsFor suggests the operators of a type, for error messages.
func operatorsFor(t valueType) string {
	switch t {
	case typeString:
		return "StringEquals, StringNotEquals, StringEqualsIgnoreCase, StringNotEqualsIgnoreCase, StringLike or StringNotLike"
	case typeIP:
		return "IpAddress or NotIpAddress"
	case typeBool:
		return "Bool"
	case typeDate:
		return "DateEquals, DateNotEquals, DateLessThan, DateLessThanEquals, DateGreaterThan or DateGreaterThanEquals"
	}
	return operatorNames
}

// compiledCondition is a Condition with its values parsed for its operator.
type compiledCondition struct {
	op       opCode
	negate   bool
	key      keyKind
	tag      string         // keyResourceTag: the tag key
	strs     []string       // opStringEquals, opStringEqualsIgnoreCase
	globs    []pattern      // opStringLike
	prefixes []netip.Prefix // opIPAddress; single addresses are full-length prefixes
	times    []int64        // date operators, in whole seconds since the Unix epoch
	hasTrue  bool           // opBool: some value is "true"
	hasFalse bool           // opBool: some value is "false"
}

// holds reports whether the condition is true for the request. A negated
// operator is the negation of its positive form, so it holds when the key is
// absent.
func (c *compiledCondition) holds(q *evalRequest) bool {
	return c.matches(q) != c.negate
}

// matches is the positive form: the key is present and some value matches.
// Parse guarantees that the operator fits the key's type, so each key kind
// only meets the operators of its type.
func (c *compiledCondition) matches(q *evalRequest) bool {
	switch c.key {
	case keySourceIP:
		if !q.ip.IsValid() {
			return false
		}
		for _, p := range c.prefixes {
			if p.Contains(q.ip) {
				return true
			}
		}
	case keySecureTransport:
		if q.secure {
			return c.hasTrue
		}
		return c.hasFalse
	case keyCurrentTime:
		if !q.haveTime {
			return false
		}
		for _, t := range c.times {
			if compareDate(c.op, q.unix, t) {
				return true
			}
		}
	case keyResourceTag:
		v, ok := q.tags[c.tag]
		if !ok {
			return false
		}
		switch c.op {
		case opStringEquals:
			for _, s := range c.strs {
				if v == s {
					return true
				}
			}
		case opStringEqualsIgnoreCase:
			for _, s := range c.strs {
				if strings.EqualFold(v, s) {
					return true
				}
			}
		case opStringLike:
			for i := range c.globs {
				if c.globs[i].match(v) {
					return true
				}
			}
		}
	}
	return false
}

func compareDate(op opCode, req, val int64) bool {
	switch op {
	case opDateEquals:
		return req == val
	case opDateLessThan:
		return req < val
	case opDateLessThanEquals:
		return req <= val
	case opDateGreaterThan:
		return req > val
	case opDateGreaterThanEquals:
		return req >= val
	}
	return false
}

// parseIPValue reads an IpAddress value: an IPv4 or IPv6 address or CIDR
// block. Host bits after the prefix length are ignored, as in 10.1.2.3/8; an
// IPv4-mapped IPv6 address is read as IPv4, like the request's address.
func parseIPValue(s string) (netip.Prefix, bool) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, false
		}
		return p.Masked(), true
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, false
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), true
}

// parseDateValue reads a date value as whole seconds since the Unix epoch
// (fractions are dropped, toward the past). It accepts RFC 3339 (with or
// without fractional seconds), the same without seconds, and a bare date,
// which is midnight UTC. A time needs a zone (Z or an offset): a policy has
// no local time zone to assume.
func parseDateValue(s string) (int64, bool) {
	for _, layout := range [...]string{time.RFC3339Nano, "2006-01-02T15:04Z07:00", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.Unix(), true
		}
	}
	return 0, false
}
