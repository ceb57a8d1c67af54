package ram

import (
	"strings"

	"moat/internal/moat"
)

// Compile parses a policy document into the form moat's Service evaluates.
// It is the moat.PolicyCompiler that cmd/moat wires in; a document that does
// not parse is a MalformedPolicyDocument error with the problem's position.
func Compile(doc []byte) (moat.Policy, error) {
	p, err := Parse(doc)
	if err != nil {
		return nil, err
	}
	return compiled{p}, nil
}

// compiled adapts a Policy to moat.Policy.
type compiled struct{ p *Policy }

// The two Decision types number their outcomes alike.
var _ = [1]struct{}{}[int(moat.DecisionNoMatch)-int(NoMatch)+int(moat.DecisionAllow)-int(Allow)+int(moat.DecisionDeny)-int(Deny)]

func (c compiled) Evaluate(r moat.AccessRequest) moat.Decision {
	return moat.Decision(c.p.Evaluate(Request{
		Action:          r.Action,
		Resource:        r.Resource,
		SourceIP:        r.SourceIP,
		SecureTransport: r.SecureTransport,
		CurrentTime:     r.CurrentTime,
		ResourceTags:    r.ResourceTags,
	}))
}

func (c compiled) UsesResourceTags() bool { return c.p.UsesResourceTags() }

func (c compiled) Uniform(action, prefix string) bool { return c.p.Uniform(action, prefix) }

// Uniform reports whether the policy decides action the same way for every
// resource whose ARN starts with prefix: every statement that names the
// action either covers all of those resources or none of them, and none has
// a resource-tag condition. Then one evaluation on prefix+"*" stands for the
// whole set, which lets a listing skip per-instance checks. False is always
// safe (the caller then checks each resource).
func (p *Policy) Uniform(action, prefix string) bool {
	if p == nil {
		return true
	}
	p.mustBeCompiled()
	for _, list := range [][]compiledStatement{p.denies, p.allows} {
		for i := range list {
			if !list[i].uniform(action, prefix) {
				return false
			}
		}
	}
	return true
}

func (s *compiledStatement) uniform(action, prefix string) bool {
	if anyMatch(s.actions, action) == s.notAction {
		return true // the statement does not concern the action
	}
	for i := range s.conditions {
		if s.conditions[i].key == keyResourceTag {
			return false
		}
	}
	for i := range s.resources {
		if !s.resources[i].coversAll(prefix) && !s.resources[i].matchesNone(prefix) {
			return false
		}
	}
	return true
}

// coversAll reports whether the pattern matches every string that starts
// with prefix. It may answer false for a pattern that does (the caller then
// falls back to checking each resource), never true for one that does not.
func (p *pattern) coversAll(prefix string) bool {
	switch p.kind {
	case patternAny:
		return true
	case patternPrefix:
		return len(prefix) >= len(p.text) && equalFrom(p.text, prefix[:len(p.text)], p.fold)
	case patternGlob:
		// "…*": if the part before the final * matches some start of the
		// prefix, the * takes whatever follows that start.
		if !strings.HasSuffix(p.text, "*") {
			return false
		}
		head := compilePattern(p.text[:len(p.text)-1], p.fold)
		for k := len(prefix); k >= 0; k-- {
			if head.match(prefix[:k]) {
				return true
			}
		}
		return false
	}
	return false
}

// matchesNone reports whether the pattern matches no string that starts with
// prefix: its literal start disagrees with the prefix. Like coversAll it may
// answer false when unsure.
func (p *pattern) matchesNone(prefix string) bool {
	var lit string
	switch p.kind {
	case patternAny:
		return false
	case patternExact:
		return len(p.text) < len(prefix) || !equalFrom(p.text[:len(prefix)], prefix, p.fold)
	case patternPrefix:
		lit = p.text
	default:
		lit = p.head
	}
	n := min(len(lit), len(prefix))
	return !equalFrom(lit[:n], prefix[:n], p.fold)
}
