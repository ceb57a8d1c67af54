package ram_test

import (
	"encoding/json"
	"errors"
	"net/netip"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"moat/internal/moat"
	"moat/internal/ram"
)

// seedDocs are valid documents that between them use every element and
// operator; the fuzz targets start from them.
var seedDocs = []string{
	policy(`{"Effect": "Allow", "Action": "yundun-ddoscoo:Describe*", "Resource": "*"}`),
	policy(
		`{"Effect": "Allow", "Action": ["yundun-ddoscoo:*", "bss:CreateInstance"], "Resource": ["acs:yundun-ddoscoo:*:*:instance/*", "*"]}`,
		`{"Effect": "Deny", "Action": "yundun-ddoscoo:Release*", "Resource": "acs:yundun-ddoscoo:cn-?angzhou:123:instance/ddoscoo-cn-prod*"}`,
	),
	`{"Version": "1", "Statement": {"Effect": "Deny", "NotAction": ["yundun-ddoscoo:Describe*"], "NotResource": "acs:yundun-ddoscoo:*:*:instance/dev-*"}}`,
	policy(`{"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {` +
		`"IpAddress": {"acs:SourceIp": ["10.0.0.0/8", "2001:db8::/32", "192.0.2.1"]},` +
		`"NotIpAddress": {"acs:SourceIp": "10.9.0.0/16"},` +
		`"Bool": {"acs:SecureTransport": true}}}`),
	policy(`{"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": {` +
		`"DateLessThan": {"acs:CurrentTime": "2026-01-01T00:00:00Z"},` +
		`"DateGreaterThanEquals": {"acs:CurrentTime": ["2025-01-01", "2025-06-01T12:00+08:00"]},` +
		`"DateEquals": {"ACS:currentTime": "2025-03-01T00:00:00.5Z"},` +
		`"DateNotEquals": {"acs:CurrentTime": "2025-03-02T00:00:00Z"},` +
		`"DateLessThanEquals": {"acs:CurrentTime": "2030-01-01T00:00:00Z"},` +
		`"DateGreaterThan": {"acs:CurrentTime": "2000-01-01T00:00:00Z"}}}`),
	policy(`{"Effect": "Allow", "Action": "yundun-ddoscoo:*Instance*", "Resource": "*", "Condition": {`+
		`"StringEquals": {"acs:ResourceTag/team": ["dev", "ops"]},`+
		`"StringNotEquals": {"acs:ResourceTag/env": "prod"},`+
		`"StringEqualsIgnoreCase": {"acs:resourcetag/owner": "ALICE"},`+
		`"StringNotEqualsIgnoreCase": {"acs:ResourceTag/owner": "BOB"},`+
		`"StringLike": {"acs:ResourceTag/app": "web-*"},`+
		`"StringNotLike": {"acs:ResourceTag/app": "web-?-old", "oss:Prefix": "x*"}}}`,
		`{"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": {"Bool": {"acs:SecureTransport": "false", "acs:MFAPresent": "true"}}}`),
	"{\n  \"Version\": \"1\",\n  \"Statement\": [{\"Effect\": \"Allow\", \"Action\": \"a:\\u0042\", \"Resource\": \"acs:oss:*:*:caf\\u00e9/\\\"q\\\"<&>\"}]\n}\n",
}

// FuzzParse pins that Parse never panics, that every error is a positioned
// MalformedPolicyDocument error, that Parse accepts only valid JSON, and that
// a parsed policy re-encodes through MarshalJSON to a document that parses
// to an equal Policy (and re-encodes to the same bytes).
func FuzzParse(f *testing.F) {
	for _, d := range seedDocs {
		f.Add([]byte(d))
	}
	for _, d := range []string{"", "{", `{"Version":"1","Statement":[]}`, `{"Version":"1","Statement":[{"Effect":"Allow","Action":"a","Resource":"*"}]}`, "[[[[[[[[[[", `{"a":1e5,"b":[true,false,null],"c":"\ud83d\ude00"}`} {
		f.Add([]byte(d))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		p, err := ram.Parse(doc)
		if err != nil {
			var pe *ram.ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %T %v is not a *ram.ParseError", err, err)
			}
			if pe.Line < 1 || pe.Column < 1 || pe.Offset < 0 || pe.Offset > len(doc) || pe.Column > pe.Offset+1 || pe.Line > pe.Offset+1 || pe.Msg == "" {
				t.Fatalf("implausible position or message: %+v for %d bytes", pe, len(doc))
			}
			if moat.ErrorCode(err) != ram.CodeMalformedPolicyDocument {
				t.Fatalf("moat code %q", moat.ErrorCode(err))
			}
			return
		}
		if !json.Valid(doc) {
			t.Fatalf("Parse accepted invalid JSON %q", doc)
		}
		enc, err := p.MarshalJSON()
		if err != nil {
			t.Fatalf("MarshalJSON: %v", err)
		}
		if !json.Valid(enc) {
			t.Fatalf("MarshalJSON produced invalid JSON %q", enc)
		}
		q, err := ram.Parse(enc)
		if len(enc) > ram.MaxDocumentSize {
			if err == nil || !strings.Contains(err.Error(), "the limit is 6144 bytes") {
				t.Fatalf("re-encoding of %d bytes: Parse error %v, want the size limit", len(enc), err)
			}
			return
		}
		if err != nil {
			t.Fatalf("re-encoding %s does not parse: %v", enc, err)
		}
		if !reflect.DeepEqual(p, q) {
			t.Fatalf("re-parsed policy differs:\n%#v\nwant\n%#v\nencoding %s", q, p, enc)
		}
		enc2, err := q.MarshalJSON()
		if err != nil || string(enc2) != string(enc) {
			t.Fatalf("second encoding %s (%v) differs from the first %s", enc2, err, enc)
		}
	})
}

// FuzzDecide pins that evaluation never panics on arbitrary requests, and
// that Evaluate and Decide agree with a plain reference evaluator (regular
// expressions, netip and time parsing at evaluation time) over the seed
// policies.
func FuzzDecide(f *testing.F) {
	var policies []*ram.Policy
	for _, d := range seedDocs {
		policies = append(policies, mustParse(f, d))
	}
	f.Add("yundun-ddoscoo:DescribeInstances", "*", "10.1.2.3", true, int64(1767225600), int64(0), "team", "dev")
	f.Add("yundun-ddoscoo:ReleaseInstance", "acs:yundun-ddoscoo:cn-hangzhou:123:instance/ddoscoo-cn-prod1", "2001:db8::1", false, int64(1740787200), int64(500000000), "app", "web-1")
	f.Add("YUNDUN-DDOSCOO:releaseinstance", "acs:yundun-ddoscoo:cn-hangzhou:123:instance/dev-1", "::ffff:10.9.1.1", true, int64(0), int64(0), "", "")
	f.Add("bss:CreateInstance", "acs:yundun-ddoscoo:*:*:instance/x", "bad", true, int64(-62135596800), int64(1), "owner", "alice")
	f.Add("ecs:Describe\xff", "acs:oss:*:*:caf\u00e9/\"q\"<&>", "fe80::1%eth0", false, int64(1893456000), int64(999999999), "env", "prod")
	f.Fuzz(func(t *testing.T, action, resource, addr string, secure bool, sec, nsec int64, tagKey, tagValue string) {
		r := ram.Request{Action: action, Resource: resource, SecureTransport: secure}
		if a, err := netip.ParseAddr(addr); err == nil {
			r.SourceIP = a
		}
		if sec != 0 || nsec != 0 {
			r.CurrentTime = time.Unix(sec, nsec%int64(time.Second))
		}
		if tagKey != "" {
			r.ResourceTags = map[string]string{tagKey: tagValue}
		}
		d, i := ram.Decide(policies, r)
		evals := make([]ram.Decision, len(policies))
		for j, p := range policies {
			evals[j] = p.Evaluate(r)
		}
		wantD, wantI := ram.NoMatch, -1
		for j, e := range evals {
			if e == ram.Deny {
				wantD, wantI = ram.Deny, j
				break
			}
		}
		if wantD != ram.Deny {
			for j, e := range evals {
				if e == ram.Allow {
					wantD, wantI = ram.Allow, j
					break
				}
			}
		}
		if d != wantD || i != wantI {
			t.Fatalf("Decide = %v, %d but the policies evaluate to %v", d, i, evals)
		}
		if !utf8.ValidString(action) || !utf8.ValidString(resource) || !utf8.ValidString(tagValue) {
			return // the reference's regular expressions read invalid bytes as U+FFFD
		}
		for j, p := range policies {
			if want := referenceEvaluate(p, r); evals[j] != want {
				t.Fatalf("policy %d: Evaluate = %v, reference = %v, request %+v", j, evals[j], want, r)
			}
		}
	})
}

// referenceEvaluate decides one policy the slow, obvious way from its
// exported fields, independently of the compiled form.
func referenceEvaluate(p *ram.Policy, r ram.Request) ram.Decision {
	allowed := false
	for _, s := range p.Statements {
		if !referenceApplies(s, r) {
			continue
		}
		if s.Effect == ram.EffectDeny {
			return ram.Deny
		}
		allowed = true
	}
	if allowed {
		return ram.Allow
	}
	return ram.NoMatch
}

func referenceApplies(s ram.Statement, r ram.Request) bool {
	matchList := func(list []string, subject string, fold bool) bool {
		for _, p := range list {
			if referenceLike(p, subject, fold) {
				return true
			}
		}
		return false
	}
	if len(s.Actions) > 0 && !matchList(s.Actions, r.Action, true) || len(s.NotActions) > 0 && matchList(s.NotActions, r.Action, true) {
		return false
	}
	if len(s.Resources) > 0 && !matchList(s.Resources, r.Resource, false) || len(s.NotResources) > 0 && matchList(s.NotResources, r.Resource, false) {
		return false
	}
	for _, c := range s.Conditions {
		if !referenceCondition(c, r) {
			return false
		}
	}
	return true
}

func referenceCondition(c ram.Condition, r ram.Request) bool {
	op, negated := c.Operator, false
	if positive, ok := map[string]string{
		"StringNotEquals": "StringEquals", "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
		"StringNotLike": "StringLike", "NotIpAddress": "IpAddress", "DateNotEquals": "DateEquals",
	}[op]; ok {
		op, negated = positive, true
	}
	key := asciiLowerString(c.Key)
	matched := false
	for _, v := range c.Values {
		switch {
		case key == "acs:sourceip":
			if !r.SourceIP.IsValid() {
				break
			}
			a := r.SourceIP.Unmap().WithZone("")
			pfx, err := netip.ParsePrefix(v)
			if err != nil {
				va := netip.MustParseAddr(v).Unmap()
				pfx = netip.PrefixFrom(va, va.BitLen())
			}
			matched = matched || pfx.Masked().Contains(a)
		case key == "acs:securetransport":
			matched = matched || asciiLowerString(v) == map[bool]string{true: "true", false: "false"}[r.SecureTransport]
		case key == "acs:currenttime":
			if r.CurrentTime.IsZero() {
				break
			}
			var vt time.Time
			for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04Z07:00", "2006-01-02"} {
				if t, err := time.Parse(layout, v); err == nil {
					vt = t
					break
				}
			}
			cmp := r.CurrentTime.Truncate(time.Second).Compare(vt.Truncate(time.Second))
			matched = matched || map[string]bool{
				"DateEquals": cmp == 0, "DateLessThan": cmp < 0, "DateLessThanEquals": cmp <= 0,
				"DateGreaterThan": cmp > 0, "DateGreaterThanEquals": cmp >= 0,
			}[op]
		case strings.HasPrefix(key, "acs:resourcetag/"):
			tv, ok := r.ResourceTags[c.Key[len("acs:resourcetag/"):]]
			if !ok {
				break
			}
			switch op {
			case "StringEquals":
				matched = matched || tv == v
			case "StringEqualsIgnoreCase":
				matched = matched || strings.EqualFold(tv, v)
			case "StringLike":
				matched = matched || referenceLike(v, tv, false)
			}
		}
	}
	return matched != negated
}

func referenceLike(pattern, s string, fold bool) bool {
	if fold {
		pattern, s = asciiLowerString(pattern), asciiLowerString(s)
	}
	re := "^(?s)" + strings.NewReplacer(`\*`, ".*", `\?`, ".").Replace(regexp.QuoteMeta(pattern)) + "$"
	return regexp.MustCompile(re).MatchString(s)
}

func asciiLowerString(s string) string {
	return strings.Map(func(r rune) rune {
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}, s)
}

// TestMarshalJSON pins the encoding: compact, single entries as strings,
// conditions grouped by operator, numbers and booleans as strings, no HTML
// escaping; and that it parses back to an equal Policy.
func TestMarshalJSON(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want string
	}{
		{
			name: "strings and arrays",
			doc:  `{"Version": "1", "Statement": {"Effect": "Allow", "Action": ["a:b"], "Resource": ["*", "acs:x:*:*:<&>"]}}`,
			want: `{"Version":"1","Statement":[{"Effect":"Allow","Action":"a:b","Resource":["*","acs:x:*:*:<&>"]}]}`,
		},
		{
			name: "negated lists and conditions",
			doc: policy(`{"Effect": "Deny", "NotAction": ["a:b", "c:*"], "NotResource": "*", "Condition": {` +
				`"Bool": {"acs:SecureTransport": false}, "StringEquals": {"acs:ResourceTag/a": ["x", "y"], "acs:ResourceTag/b": 7}}}`),
			want: `{"Version":"1","Statement":[{"Effect":"Deny","NotAction":["a:b","c:*"],"NotResource":"*","Condition":{` +
				`"Bool":{"acs:SecureTransport":"false"},"StringEquals":{"acs:ResourceTag/a":["x","y"],"acs:ResourceTag/b":"7"}}}]}`,
		},
		{
			name: "escapes",
			doc:  `{"Version": "1", "Statement": {"Effect": "Allow", "Action": "a:b", "Resource": "*", "Condition": {"StringEquals": {"k\"\\": "\t\u0001\u00e9"}}}}`,
			want: `{"Version":"1","Statement":[{"Effect":"Allow","Action":"a:b","Resource":"*","Condition":{"StringEquals":{"k\"\\":"\t\u0001é"}}}]}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustParse(t, tt.doc)
			got, err := json.Marshal(*p) // through encoding/json, as callers will
			if err != nil {
				t.Fatalf("json.Marshal: %v", err)
			}
			raw, err := p.MarshalJSON()
			if err != nil {
				t.Fatalf("MarshalJSON: %v", err)
			}
			if string(raw) != tt.want {
				t.Errorf("MarshalJSON =\n%s\nwant\n%s", raw, tt.want)
			}
			var a, b any
			if json.Unmarshal(got, &a) != nil || json.Unmarshal(raw, &b) != nil || !reflect.DeepEqual(a, b) {
				t.Errorf("json.Marshal %s and MarshalJSON %s disagree", got, raw)
			}
			if q := mustParse(t, string(raw)); !reflect.DeepEqual(p, q) {
				t.Errorf("re-parsed %#v, want %#v", q, p)
			}
		})
	}
}

// TestMarshalJSONRejectsDuplicateCondition pins that a hand-built policy
// with the same operator and key twice, which JSON cannot express, is an
// error rather than a document with a duplicate key.
func TestMarshalJSONRejectsDuplicateCondition(t *testing.T) {
	p := ram.Policy{Version: "1", Statements: []ram.Statement{{
		Effect: ram.EffectAllow, Actions: []string{"*"}, Resources: []string{"*"},
		Conditions: []ram.Condition{
			{Operator: "Bool", Key: "acs:SecureTransport", Values: []string{"true"}},
			{Operator: "IpAddress", Key: "acs:SourceIp", Values: []string{"10.0.0.0/8"}},
			{Operator: "Bool", Key: "acs:SecureTransport", Values: []string{"false"}},
		},
	}}}
	if enc, err := p.MarshalJSON(); err == nil {
		t.Fatalf("MarshalJSON = %s, want an error", enc)
	}
	p.Statements[0].Conditions[2].Key = "acs:MFAPresent"
	enc, err := p.MarshalJSON()
	if err != nil {
		t.Fatalf("MarshalJSON: %v", err)
	}
	const want = `{"Version":"1","Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"Bool":{"acs:SecureTransport":"true","acs:MFAPresent":"false"},"IpAddress":{"acs:SourceIp":"10.0.0.0/8"}}}]}`
	if string(enc) != want {
		t.Errorf("MarshalJSON =\n%s\nwant\n%s", enc, want)
	}
}
