package ram

import (
	"fmt"
	"strings"
)

// MaxDocumentSize is RAM's limit on a custom policy document, in bytes.
const MaxDocumentSize = 6144

// The keys a document may use, for error messages.
const (
	policyKeys    = "Version, Statement"
	statementKeys = "Effect, Action, NotAction, Resource, NotResource, Condition"
)

// Parse parses and validates a policy document and compiles it for Evaluate.
// On error it returns a *ParseError that locates the first problem in
// document order and says what is wrong.
//
// Beyond RFC 8259 it rejects duplicate keys, invalid UTF-8, lone surrogates
// in \u escapes, a byte order mark, and documents larger than
// MaxDocumentSize. Condition values may be JSON strings, numbers or
// booleans (a number or boolean is kept as its literal text, so
// {"Bool": {"acs:SecureTransport": true}} works as it does in AWS IAM).
func Parse(doc []byte) (*Policy, error) {
	if len(doc) > MaxDocumentSize {
		return nil, newParseError(doc, MaxDocumentSize, "the policy document is %d bytes; the limit is %d bytes", len(doc), MaxDocumentSize)
	}
	root, err := parseJSON(doc)
	if err != nil {
		return nil, err
	}
	c := compiler{doc: doc}
	return c.policy(root)
}

// compiler turns the JSON tree into a Policy and its compiled form, checking
// each value where it stands so that the first problem reported is the first
// in the document.
type compiler struct {
	doc []byte
}

func (c *compiler) fail(off int, format string, args ...any) error {
	return newParseError(c.doc, off, format, args...)
}

// show renders a JSON value for an error message.
func show(v *jsonValue) string {
	switch v.kind {
	case jsonString:
		return fmt.Sprintf("%q", v.text)
	case jsonNumber, jsonBool, jsonNull:
		return v.text
	}
	return v.kind.String()
}

// caseHint suggests the valid key that name misspells only in case.
func caseHint(name string, valid string) string {
	for _, v := range strings.Split(valid, ", ") {
		if v != name && strings.EqualFold(v, name) {
			return fmt.Sprintf("; keys are case-sensitive: did you mean %q?", v)
		}
	}
	return ""
}

func (c *compiler) policy(v *jsonValue) (*Policy, error) {
	if v.kind != jsonObject {
		return nil, c.fail(v.off, "the policy document must be a JSON object, not %s", v.kind)
	}
	var version, statement bool
	p := &Policy{compiled: true}
	for _, m := range v.members {
		switch m.key {
		case "Version":
			version = true
			if m.val.kind != jsonString || m.val.text != "1" {
				return nil, c.fail(m.val.off, `"Version" must be the string "1", not %s`, show(m.val))
			}
			p.Version = m.val.text
		case "Statement":
			statement = true
			if err := c.statements(p, m.val); err != nil {
				return nil, err
			}
		default:
			return nil, c.fail(m.off, "%q is not a policy key (%s)%s", m.key, policyKeys, caseHint(m.key, policyKeys))
		}
	}
	if !version {
		return nil, c.fail(v.off, `the policy has no "Version"; want "Version": "1"`)
	}
	if !statement {
		return nil, c.fail(v.off, `the policy has no "Statement"`)
	}
	return p, nil
}

func (c *compiler) statements(p *Policy, v *jsonValue) error {
	var elems []*jsonValue
	switch v.kind {
	case jsonArray:
		if len(v.elems) == 0 {
			return c.fail(v.off, `"Statement" is empty; a policy needs at least one statement`)
		}
		elems = v.elems
	case jsonObject:
		elems = []*jsonValue{v}
	default:
		return c.fail(v.off, `"Statement" must be an array of statements or one statement object, not %s`, show(v))
	}
	p.Statements = make([]Statement, 0, len(elems))
	for _, e := range elems {
		s, cs, err := c.statement(e)
		if err != nil {
			return err
		}
		p.Statements = append(p.Statements, s)
		for _, c := range cs.conditions {
			p.usesTags = p.usesTags || c.key == keyResourceTag
		}
		if s.Effect == EffectDeny {
			p.denies = append(p.denies, cs)
		} else {
			p.allows = append(p.allows, cs)
		}
	}
	return nil
}

func (c *compiler) statement(v *jsonValue) (Statement, compiledStatement, error) {
	var s Statement
	var cs compiledStatement
	if v.kind != jsonObject {
		return s, cs, c.fail(v.off, "a statement must be an object, not %s", show(v))
	}
	var effect bool
	var action, resource *jsonMember // the Action or NotAction member, the Resource or NotResource member
	for i := range v.members {
		m := &v.members[i]
		switch m.key {
		case "Effect":
			effect = true
			if m.val.kind != jsonString || m.val.text != string(EffectAllow) && m.val.text != string(EffectDeny) {
				return s, cs, c.fail(m.val.off, `"Effect" must be "Allow" or "Deny", not %s`, show(m.val))
			}
			s.Effect = Effect(m.val.text)
		case "Action", "NotAction":
			if action != nil {
				return s, cs, c.fail(m.off, "a statement has either Action or NotAction, not both (%s is at %s)", action.key, c.where(action.off))
			}
			action = m
			list, err := c.patterns(m, checkAction)
			if err != nil {
				return s, cs, err
			}
			cs.actions = make([]pattern, len(list))
			for i, a := range list {
				cs.actions[i] = compilePattern(a, true)
			}
			if m.key == "Action" {
				s.Actions = list
			} else {
				s.NotActions = list
				cs.notAction = true
			}
		case "Resource", "NotResource":
			if resource != nil {
				return s, cs, c.fail(m.off, "a statement has either Resource or NotResource, not both (%s is at %s)", resource.key, c.where(resource.off))
			}
			resource = m
			list, err := c.patterns(m, checkResource)
			if err != nil {
				return s, cs, err
			}
			cs.resources = make([]pattern, len(list))
			for i, r := range list {
				cs.resources[i] = compilePattern(r, false)
			}
			if m.key == "Resource" {
				s.Resources = list
			} else {
				s.NotResources = list
				cs.notResource = true
			}
		case "Condition":
			conds, compiled, err := c.conditions(m.val)
			if err != nil {
				return s, cs, err
			}
			s.Conditions, cs.conditions = conds, compiled
		default:
			return s, cs, c.fail(m.off, "%q is not a statement key (%s)%s", m.key, statementKeys, caseHint(m.key, statementKeys))
		}
	}
	switch {
	case !effect:
		return s, cs, c.fail(v.off, `the statement has no "Effect"; want "Allow" or "Deny"`)
	case action == nil:
		return s, cs, c.fail(v.off, `the statement has no "Action" or "NotAction"`)
	case resource == nil:
		return s, cs, c.fail(v.off, `the statement has no "Resource" or "NotResource"`)
	}
	return s, cs, nil
}

// where renders a position for a message that points at a second place.
func (c *compiler) where(off int) string {
	e := newParseError(c.doc, off, "")
	return fmt.Sprintf("line %d, column %d", e.Line, e.Column)
}

// patterns reads the string-or-array value of an Action, NotAction,
// Resource or NotResource member and checks each entry.
func (c *compiler) patterns(m *jsonMember, check func(string) string) ([]string, error) {
	var elems []*jsonValue
	switch m.val.kind {
	case jsonString:
		elems = []*jsonValue{m.val}
	case jsonArray:
		if len(m.val.elems) == 0 {
			return nil, c.fail(m.val.off, "%q is an empty array; it needs at least one entry", m.key)
		}
		elems = m.val.elems
	default:
		return nil, c.fail(m.val.off, "%q must be a string or an array of strings, not %s", m.key, show(m.val))
	}
	list := make([]string, len(elems))
	for i, e := range elems {
		if e.kind != jsonString {
			return nil, c.fail(e.off, "an entry of %q must be a string, not %s", m.key, show(e))
		}
		if problem := check(e.text); problem != "" {
			return nil, c.fail(e.off, "%s", problem)
		}
		list[i] = e.text
	}
	return list, nil
}

// checkAction accepts "*" and "<service>:<action>", each part non-empty and
// possibly with wildcards, and says what is wrong with anything else.
func checkAction(s string) string {
	if s == "*" {
		return ""
	}
	i := strings.IndexByte(s, ':')
	if i <= 0 || i == len(s)-1 || strings.IndexByte(s[i+1:], ':') >= 0 {
		return fmt.Sprintf(`%q is not an action; want "<service>:<action>" (wildcards * and ? allowed) or "*"`, s)
	}
	if strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return fmt.Sprintf("%q is not an action: it contains a space or a control character", s)
	}
	return ""
}

// checkResource accepts "*" and ARNs acs:<service>:<region>:<account>:<relative-id>
// (region and account may be empty, as in acs:ram::123:role/x; the relative
// ID may contain colons).
func checkResource(s string) string {
	if s == "*" {
		return ""
	}
	parts := strings.SplitN(s, ":", 5)
	if len(parts) != 5 || parts[0] != "acs" || parts[1] == "" || parts[4] == "" {
		return fmt.Sprintf(`%q is not a resource; want "*" or "acs:<service>:<region>:<account>:<relative-id>" (wildcards * and ? allowed)`, s)
	}
	if strings.ContainsFunc(s, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		return fmt.Sprintf("%q is not a resource: it contains a control character", s)
	}
	return ""
}

func (c *compiler) conditions(v *jsonValue) ([]Condition, []compiledCondition, error) {
	if v.kind != jsonObject {
		return nil, nil, c.fail(v.off, `"Condition" must be an object of operators, not %s`, show(v))
	}
	var conds []Condition
	var compiled []compiledCondition
	for _, om := range v.members {
		op, ok := lookupOperator(om.key)
		if !ok {
			return nil, nil, c.fail(om.off, "%q is not a condition operator (%s)%s", om.key, operatorNames, caseHint(om.key, operatorNames))
		}
		if om.val.kind != jsonObject {
			return nil, nil, c.fail(om.val.off, "the value of %s must be an object of condition keys, not %s", om.key, show(om.val))
		}
		if len(om.val.members) == 0 {
			return nil, nil, c.fail(om.val.off, "%s has no condition keys", om.key)
		}
		for _, km := range om.val.members {
			cond, cc, err := c.condition(om.key, op, km)
			if err != nil {
				return nil, nil, err
			}
			conds = append(conds, cond)
			compiled = append(compiled, cc)
		}
	}
	return conds, compiled, nil
}

func (c *compiler) condition(opName string, op operator, km jsonMember) (Condition, compiledCondition, error) {
	cond := Condition{Operator: opName, Key: km.key}
	kind, typ, tag := lookupKey(km.key)
	cc := compiledCondition{op: op.code, negate: op.negate, key: kind, tag: tag}
	switch {
	case km.key == "":
		return cond, cc, c.fail(km.off, "a condition key must not be empty")
	case kind == keyResourceTag && tag == "":
		return cond, cc, c.fail(km.off, "%q names no tag; want acs:ResourceTag/<tag key>", km.key)
	case typ != typeAny && typ != op.typ:
		return cond, cc, c.fail(km.off, "%s does not apply to %s, which is %s; use %s", opName, km.key, typ, operatorsFor(typ))
	}

	var elems []*jsonValue
	switch km.val.kind {
	case jsonString, jsonNumber, jsonBool:
		elems = []*jsonValue{km.val}
	case jsonArray:
		if len(km.val.elems) == 0 {
			return cond, cc, c.fail(km.val.off, "the values of %q are an empty array; it needs at least one value", km.key)
		}
		elems = km.val.elems
	default:
		return cond, cc, c.fail(km.val.off, "the value of %q must be a string or an array of strings, not %s", km.key, show(km.val))
	}
	cond.Values = make([]string, len(elems))
	for i, e := range elems {
		if e.kind != jsonString && e.kind != jsonNumber && e.kind != jsonBool {
			return cond, cc, c.fail(e.off, "a value of %q must be a string, not %s", km.key, show(e))
		}
		s := e.text
		cond.Values[i] = s
		switch op.typ {
		case typeString:
			if op.code == opStringLike {
				cc.globs = append(cc.globs, compilePattern(s, false))
			} else {
				cc.strs = append(cc.strs, s)
			}
		case typeIP:
			p, ok := parseIPValue(s)
			if !ok {
				return cond, cc, c.fail(e.off, "%q is not an IP address or CIDR block (IPv4 or IPv6, as in 192.168.0.0/16 or 2001:db8::/32)", s)
			}
			cc.prefixes = append(cc.prefixes, p)
		case typeBool:
			switch {
			case asciiEqualFold(s, "true"):
				cc.hasTrue = true
			case asciiEqualFold(s, "false"):
				cc.hasFalse = true
			default:
				return cond, cc, c.fail(e.off, `%s is not a boolean; want "true" or "false"`, show(e))
			}
		case typeDate:
			t, ok := parseDateValue(s)
			if !ok {
				return cond, cc, c.fail(e.off, `%s is not a date; want ISO 8601 with a zone, as in "2026-01-01T00:00:00Z", or a date as in "2026-01-01"`, show(e))
			}
			cc.times = append(cc.times, t)
		}
	}
	return cond, cc, nil
}
