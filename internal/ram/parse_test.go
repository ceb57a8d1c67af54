package ram_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"moat/internal/moat"
	"moat/internal/ram"
)

// lines joins document lines, so that test documents read as they are laid
// out and line numbers in expectations are easy to check.
func lines(l ...string) string { return strings.Join(l, "\n") }

// TestParseAccepts pins what valid documents parse into: string-or-array
// forms, a single statement object, NotAction/NotResource, conditions with
// string, array, number and boolean values, escapes, and unknown condition
// keys.
func TestParseAccepts(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want []ram.Statement
	}{
		{
			name: "strings",
			doc:  `{"Version":"1","Statement":[{"Effect":"Allow","Action":"yundun-ddoscoo:Describe*","Resource":"*"}]}`,
			want: []ram.Statement{{Effect: ram.EffectAllow, Actions: []string{"yundun-ddoscoo:Describe*"}, Resources: []string{"*"}}},
		},
		{
			name: "arrays",
			doc: lines(
				`{`,
				`  "Version": "1",`,
				`  "Statement": [`,
				`    {`,
				`      "Effect": "Deny",`,
				`      "Action": ["yundun-ddoscoo:ReleaseInstance", "bss:*"],`,
				`      "Resource": ["acs:yundun-ddoscoo:*:*:instance/*", "acs:ram::123:role/x"]`,
				`    }`,
				`  ]`,
				`}`,
			),
			want: []ram.Statement{{
				Effect:    ram.EffectDeny,
				Actions:   []string{"yundun-ddoscoo:ReleaseInstance", "bss:*"},
				Resources: []string{"acs:yundun-ddoscoo:*:*:instance/*", "acs:ram::123:role/x"},
			}},
		},
		{
			name: "single statement object",
			doc:  `{"Statement":{"Resource":"*","Action":"*","Effect":"Allow"},"Version":"1"}`,
			want: []ram.Statement{{Effect: ram.EffectAllow, Actions: []string{"*"}, Resources: []string{"*"}}},
		},
		{
			name: "NotAction and NotResource",
			doc:  `{"Version":"1","Statement":[{"Effect":"Allow","NotAction":["ram:*","sts:*"],"NotResource":"acs:yundun-ddoscoo:*:*:instance/prod-*"}]}`,
			want: []ram.Statement{{
				Effect:       ram.EffectAllow,
				NotActions:   []string{"ram:*", "sts:*"},
				NotResources: []string{"acs:yundun-ddoscoo:*:*:instance/prod-*"},
			}},
		},
		{
			name: "several statements keep their order",
			doc:  `{"Version":"1","Statement":[{"Effect":"Deny","Action":"a:b","Resource":"*"},{"Effect":"Allow","Action":"c:d","Resource":"*"}]}`,
			want: []ram.Statement{
				{Effect: ram.EffectDeny, Actions: []string{"a:b"}, Resources: []string{"*"}},
				{Effect: ram.EffectAllow, Actions: []string{"c:d"}, Resources: []string{"*"}},
			},
		},
		{
			name: "conditions in document order with every value form",
			doc: lines(
				`{"Version": "1", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*",`,
				`  "Condition": {`,
				`    "IpAddress": {"acs:SourceIp": ["10.0.0.0/8", "2001:db8::/32", "192.0.2.1"]},`,
				`    "Bool": {"acs:SecureTransport": true},`,
				`    "DateLessThan": {"ACS:CurrentTime": "2026-01-01T00:00:00Z"},`,
				`    "DateGreaterThan": {"acs:CurrentTime": ["2025-01-01", "2025-01-01T08:00+08:00"]},`,
				`    "StringEquals": {"acs:ResourceTag/team": "dev", "acs:ResourceTag/env": ["a", "b"]},`,
				`    "StringLike": {"oss:Prefix": 12}`,
				`  }}]}`,
			),
			want: []ram.Statement{{
				Effect: ram.EffectAllow, Actions: []string{"*"}, Resources: []string{"*"},
				Conditions: []ram.Condition{
					{Operator: "IpAddress", Key: "acs:SourceIp", Values: []string{"10.0.0.0/8", "2001:db8::/32", "192.0.2.1"}},
					{Operator: "Bool", Key: "acs:SecureTransport", Values: []string{"true"}},
					{Operator: "DateLessThan", Key: "ACS:CurrentTime", Values: []string{"2026-01-01T00:00:00Z"}},
					{Operator: "DateGreaterThan", Key: "acs:CurrentTime", Values: []string{"2025-01-01", "2025-01-01T08:00+08:00"}},
					{Operator: "StringEquals", Key: "acs:ResourceTag/team", Values: []string{"dev"}},
					{Operator: "StringEquals", Key: "acs:ResourceTag/env", Values: []string{"a", "b"}},
					{Operator: "StringLike", Key: "oss:Prefix", Values: []string{"12"}},
				},
			}},
		},
		{
			name: "empty Condition object",
			doc:  `{"Version":"1","Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{}}]}`,
			want: []ram.Statement{{Effect: ram.EffectAllow, Actions: []string{"*"}, Resources: []string{"*"}}},
		},
		{
			name: "escapes decode",
			doc:  `{"Version":"1","Statement":[{"Effect":"Allow","Action":"bss:\u0043reate\u002A","Resource":"acs:oss:*:*:a\/b \"q\" \ud83d\ude00"}]}`,
			want: []ram.Statement{{Effect: ram.EffectAllow, Actions: []string{"bss:Create*"}, Resources: []string{"acs:oss:*:*:a/b \"q\" \U0001F600"}}},
		},
		{
			name: "whitespace everywhere",
			doc:  " \t\r\n{ \"Version\" : \"1\" , \"Statement\" : [ { \"Effect\" : \"Allow\" , \"Action\" : [ \"*\" ] , \"Resource\" : \"*\" } ] } \n",
			want: []ram.Statement{{Effect: ram.EffectAllow, Actions: []string{"*"}, Resources: []string{"*"}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ram.Parse([]byte(tt.doc))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if p.Version != "1" {
				t.Errorf("Version = %q, want \"1\"", p.Version)
			}
			if !reflect.DeepEqual(p.Statements, tt.want) {
				t.Errorf("Statements =\n%#v\nwant\n%#v", p.Statements, tt.want)
			}
		})
	}
}

// TestParseAcceptsMaxSize pins that a document of exactly MaxDocumentSize
// bytes is within the limit.
func TestParseAcceptsMaxSize(t *testing.T) {
	doc := `{"Version":"1","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`
	doc += strings.Repeat(" ", ram.MaxDocumentSize-len(doc))
	if _, err := ram.Parse([]byte(doc)); err != nil {
		t.Fatalf("Parse of %d bytes: %v", len(doc), err)
	}
}

// stmt wraps a statement body in a one-line document. The body starts at
// column 43 (byte offset 42) of line 1.
func stmt(body string) string {
	return `{"Version": "1", "Statement": [{"Effect": ` + body + `}]}`
}

// TestParseRejects pins every rejection: the message says what is wrong, and
// the position (line, column, byte offset) points at the offending key or
// value, at the object that lacks a required key, or at the first byte that
// is not JSON.
func TestParseRejects(t *testing.T) {
	const allow = `"Allow", `
	bigPrefix := `{"Version":"1","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`
	big := bigPrefix + "\n" + strings.Repeat(" ", ram.MaxDocumentSize+1-len(bigPrefix)-1)
	tests := []struct {
		name         string
		doc          string
		line, column int
		offset       int
		msg          string
	}{
		// Size, encoding and JSON syntax.
		{"too large", big, 2, ram.MaxDocumentSize - len(bigPrefix), ram.MaxDocumentSize, "the policy document is 6145 bytes; the limit is 6144 bytes"},
		{"empty", "", 1, 1, 0, "the document is empty"},
		{"only whitespace", " \n  ", 2, 3, 4, "the document is empty"},
		{"byte order mark", "\xEF\xBB\xBF{}", 1, 1, 0, "byte order mark"},
		{"not JSON", `Version: 1`, 1, 1, 0, `unexpected character 'V'; want a value`},
		{"invalid UTF-8 outside a string", "{\xff}", 1, 2, 1, "unexpected byte 0xFF (invalid UTF-8); want a key"},
		{"key without quotes", `{Version: "1"}`, 1, 2, 1, `unexpected character 'V'; want a key in double quotes`},
		{"unterminated string", lines(`{`, `  "Version": "1`), 2, 14, 15, "the string that starts here is not terminated"},
		{"control character in a string", "{\"Ver\tsion\": \"1\"}", 1, 6, 5, "control character U+0009 in a string"},
		{"invalid escape", `{"Version": "\x"}`, 1, 14, 13, `invalid escape \x`},
		{"short unicode escape", `{"Version": "\u12G4"}`, 1, 14, 13, `invalid \u escape`},
		{"escape cut off", `{"Version": "\`, 1, 14, 13, "the escape sequence is cut off"},
		{"lone low surrogate", `{"Version": "\uDC00"}`, 1, 14, 13, `\uDC00 is a lone low surrogate`},
		{"high surrogate alone", `{"Version": "\uD800x"}`, 1, 14, 13, `\uD800 is a high surrogate without a low surrogate`},
		{"invalid UTF-8 in a string", "{\"Version\": \"\xff\"}", 1, 14, 13, "byte 0xFF in a string is not valid UTF-8"},
		{"column counts characters", "{\"Effect\": \"é\",\n \"é\u00e9\": \"\xff\"}", 2, 9, 27, "not valid UTF-8"},
		{"minus without digits", `{"Version": -}`, 1, 13, 12, `invalid number "-}"`},
		{"fraction without digits", `{"Version": 1.}`, 1, 13, 12, `invalid number "1.}"`},
		{"exponent without digits", `{"Version": 1e+}`, 1, 13, 12, `invalid number "1e+}"`},
		{"misspelt literal", `{"Version": tru}`, 1, 13, 12, `unexpected "tru"; want a value`},
		{"missing colon", `{"Version" "1"}`, 1, 12, 11, `unexpected character '"'; want ':' after the key "Version"`},
		{"missing comma in an object", `{"Version": "1" "Statement": []}`, 1, 17, 16, `want ',' or '}' after the value of "Version"`},
		{"trailing comma in an object", lines(`{`, `  "Version": "1",`, `}`), 3, 1, 20, "remove the trailing comma"},
		{"trailing comma in an array", `{"Statement": ["a",]}`, 1, 20, 19, "remove the trailing comma"},
		{"missing comma in an array", `{"Statement": [{} {}]}`, 1, 19, 18, `want ',' or ']' after an array element`},
		{"end inside an object", `{"Version": "1"`, 1, 16, 15, `unexpected end of document; want ',' or '}'`},
		{"end after a colon", `{"Version":`, 1, 12, 11, "unexpected end of document; want a value"},
		{"duplicate key", lines(`{"Version": "1", "Statement": [{`, `  "Effect": "Allow",`, `  "Effect": "Deny"}]}`), 3, 3, 56, `duplicate key "Effect" (first at line 2, column 3)`},
		{"trailing data", `{"Version":"1","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}} x`, 1, 76, 75, "unexpected character 'x' after the end of the document"},
		{"two documents", `{} {}`, 1, 4, 3, "after the end of the document"},
		{"too deep", strings.Repeat("[", 40), 1, 33, 32, "nests deeper than 32 levels"},

		// The document.
		{"not an object", `["Version", "1"]`, 1, 1, 0, "the policy document must be a JSON object, not an array"},
		{"unknown policy key", lines(`{`, `  "Version": "1",`, `  "Id": "x"}`), 3, 3, 22, `"Id" is not a policy key (Version, Statement)`},
		{"policy key in the wrong case", `{"version": "1"}`, 1, 2, 1, `"version" is not a policy key (Version, Statement); keys are case-sensitive: did you mean "Version"?`},
		{"no Version", `{"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}}`, 1, 1, 0, `the policy has no "Version"`},
		{"Version 2", `{"Version": "2"}`, 1, 13, 12, `"Version" must be the string "1", not "2"`},
		{"Version as a number", `{"Version": 1}`, 1, 13, 12, `"Version" must be the string "1", not 1`},
		{"no Statement", ` {"Version": "1"}`, 1, 2, 1, `the policy has no "Statement"`},
		{"empty Statement", `{"Version": "1", "Statement": []}`, 1, 31, 30, `"Statement" is empty`},
		{"Statement as a string", `{"Version": "1", "Statement": "x"}`, 1, 31, 30, `"Statement" must be an array of statements or one statement object, not "x"`},
		{"statement not an object", `{"Version": "1", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}, null]}`, 1, 85, 84, "a statement must be an object, not null"},

		// Statements.
		{"unknown statement key", lines(`{"Version": "1",`, ` "Statement": [{`, `   "Efect": "Allow"}]}`), 3, 4, 37, `"Efect" is not a statement key (Effect, Action, NotAction, Resource, NotResource, Condition)`},
		{"statement key in the wrong case", stmt(allow + `"action": "*"`), 1, 52, 51, `did you mean "Action"?`},
		{"Principal is not for identity policies", stmt(allow + `"Principal": "*"`), 1, 52, 51, `"Principal" is not a statement key`},
		{"no Effect", `{"Version": "1", "Statement": [{"Action": "*", "Resource": "*"}]}`, 1, 32, 31, `the statement has no "Effect"`},
		{"Effect in the wrong case", stmt(`"allow"`), 1, 43, 42, `"Effect" must be "Allow" or "Deny", not "allow"`},
		{"Effect as a boolean", stmt(`true`), 1, 43, 42, `"Effect" must be "Allow" or "Deny", not true`},
		{"Action and NotAction", stmt(allow + `"Action": "*", "NotAction": "a:b"`), 1, 67, 66, "a statement has either Action or NotAction, not both (Action is at line 1, column 52)"},
		{"no Action", stmt(allow + `"Resource": "*"`), 1, 32, 31, `the statement has no "Action" or "NotAction"`},
		{"Action as a number", stmt(allow + `"Action": 7`), 1, 62, 61, `"Action" must be a string or an array of strings, not 7`},
		{"Action empty", stmt(allow + `"Action": []`), 1, 62, 61, `"Action" is an empty array`},
		{"Action entry not a string", stmt(allow + `"Action": ["a:b", {}]`), 1, 70, 69, `an entry of "Action" must be a string, not an object`},
		{"Action without a colon", stmt(allow + `"Action": "DescribeInstances"`), 1, 62, 61, `"DescribeInstances" is not an action; want "<service>:<action>"`},
		{"Action with an empty service", stmt(allow + `"NotAction": [":Describe*"]`), 1, 66, 65, `":Describe*" is not an action`},
		{"Action with an empty name", stmt(allow + `"Action": "ecs:"`), 1, 62, 61, `"ecs:" is not an action`},
		{"Action with two colons", stmt(allow + `"Action": "a:b:c"`), 1, 62, 61, `"a:b:c" is not an action`},
		{"Action with a space", stmt(allow + `"Action": "ecs:Describe Instances"`), 1, 62, 61, "contains a space or a control character"},
		{"Resource and NotResource", stmt(allow + `"Action": "*", "NotResource": "*", "Resource": "*"`), 1, 87, 86, "a statement has either Resource or NotResource, not both (NotResource is at line 1, column 67)"},
		{"no Resource", stmt(allow + `"Action": "*"`), 1, 32, 31, `the statement has no "Resource" or "NotResource"`},
		{"Resource as null", stmt(allow + `"Action": "*", "Resource": null`), 1, 79, 78, `"Resource" must be a string or an array of strings, not null`},
		{"Resource empty", stmt(allow + `"Action": "*", "NotResource": []`), 1, 82, 81, `"NotResource" is an empty array`},
		{"Resource with four parts", stmt(allow + `"Action": "*", "Resource": ["*", "acs:ecs:*:instance/x"]`), 1, 85, 84, `"acs:ecs:*:instance/x" is not a resource; want "*" or "acs:<service>:<region>:<account>:<relative-id>"`},
		{"Resource not acs", stmt(allow + `"Action": "*", "Resource": "arn:ecs:*:*:x"`), 1, 79, 78, `"arn:ecs:*:*:x" is not a resource`},
		{"Resource without a service", stmt(allow + `"Action": "*", "Resource": "acs::*:*:x"`), 1, 79, 78, `"acs::*:*:x" is not a resource`},
		{"Resource without a relative ID", stmt(allow + `"Action": "*", "Resource": "acs:ecs:*:*:"`), 1, 79, 78, `"acs:ecs:*:*:" is not a resource`},
		{"Resource with a control character", stmt(allow + `"Action": "*", "Resource": "acs:ecs:*:*:a\u0001"`), 1, 79, 78, "contains a control character"},

		// Conditions. The Condition value starts at column 97.
		{"Condition not an object", stmt(allow + `"Action": "*", "Resource": "*", "Condition": []`), 1, 97, 96, `"Condition" must be an object of operators, not an array`},
		{"unknown operator", stmt(allow + `"Action": "*", "Resource": "*", "Condition": {"StringEqual": {"a": "b"}}`), 1, 98, 97, `"StringEqual" is not a condition operator (StringEquals, StringNotEquals,`},
		{"operator in the wrong case", stmt(allow + `"Action": "*", "Resource": "*", "Condition": {"bool": {"a": "b"}}`), 1, 98, 97, `did you mean "Bool"?`},
		{"Numeric operators are not supported", stmt(allow + `"Action": "*", "Resource": "*", "Condition": {"NumericEquals": {"a": "1"}}`), 1, 98, 97, `"NumericEquals" is not a condition operator`},
		{"IfExists operators are not supported", stmt(allow + `"Action": "*", "Resource": "*", "Condition": {"StringEqualsIfExists": {"a": "1"}}`), 1, 98, 97, `"StringEqualsIfExists" is not a condition operator`},
		{"operator value not an object", stmt(allow + `"Action": "*", "Resource": "*", "Condition": {"Bool": "true"}`), 1, 106, 105, `the value of Bool must be an object of condition keys, not "true"`},
		{"operator without keys", stmt(allow + `"Action": "*", "Resource": "*", "Condition": {"Bool": {}}`), 1, 106, 105, "Bool has no condition keys"},
		{"empty condition key", stmt(allow + `"Action": "*", "Resource": "*", "Condition": {"Bool": {"": "true"}}`), 1, 107, 106, "a condition key must not be empty"},
		{"ResourceTag without a tag key", stmt(allow + `"Action": "*", "Resource": "*", "Condition": {"StringEquals": {"acs:ResourceTag/": "x"}}`), 1, 115, 114, `"acs:ResourceTag/" names no tag`},
		{"string operator on SourceIp", stmt(allow + `"Action": "*", "Resource": "*", "Condition": {"StringEquals": {"acs:SourceIp": "1.2.3.4"}}`), 1, 115, 114, "StringEquals does not apply to acs:SourceIp, which is an IP address; use IpAddress or NotIpAddress"},
		{"IP operator on CurrentTime", stmt(allow + `"Action": "*", "Resource": "*", "Condition": {"IpAddress": {"acs:currenttime": "1.2.3.4"}}`), 1, 112, 111, "IpAddress does not apply to acs:currenttime, which is a date; use DateEquals,"},
		{"Bool on a ResourceTag", stmt(allow + `"Action": "*", "Resource": "*", "Condition": {"Bool": {"acs:ResourceTag/x": "true"}}`), 1, 107, 106, "Bool does not apply to acs:ResourceTag/x, which is a string; use StringEquals,"},
		{"Date operator on SecureTransport", stmt(allow + `"Action": "*", "Resource": "*", "Condition": {"DateLessThan": {"acs:SecureTransport": "2026-01-01"}}`), 1, 115, 114, "DateLessThan does not apply to acs:SecureTransport, which is a boolean; use Bool"},
		{"condition value null", stmt(allow + `"Action": "*", "Resource": "*", "Condition": {"Bool": {"a": null}}`), 1, 112, 111, `the value of "a" must be a string or an array of strings, not null`},
		{"condition value an object", stmt(allow + `"Action": "*", "Resource": "*", "Condition": {"Bool": {"a": {}}}`), 1, 112, 111, `the value of "a" must be a string or an array of strings, not an object`},
		{"condition values empty", stmt(allow + `"Action": "*", "Resource": "*", "Condition": {"Bool": {"a": []}}`), 1, 112, 111, `the values of "a" are an empty array`},
		{"condition value nested array", stmt(allow + `"Action": "*", "Resource": "*", "Condition": {"Bool": {"a": ["true", []]}}`), 1, 121, 120, `a value of "a" must be a string, not an array`},
		{"IP out of range", stmt(allow + `"Action": "*", "Resource": "*", "Condition": {"IpAddress": {"acs:SourceIp": ["10.0.0.0/8", "10.0.0.256"]}}`), 1, 143, 142, `"10.0.0.256" is not an IP address or CIDR block`},
		{"IPv4 prefix too long", stmt(allow + `"Action": "*", "Resource": "*", "Condition": {"NotIpAddress": {"acs:SourceIp": "10.0.0.0/33"}}`), 1, 131, 130, `"10.0.0.0/33" is not an IP address`},
		{"IPv6 prefix too long", stmt(allow + `"Action": "*", "Resource": "*", "Condition": {"IpAddress": {"acs:SourceIp": "2001:db8::/129"}}`), 1, 128, 127, `"2001:db8::/129" is not an IP address`},
		{"IPv6 zone", stmt(allow + `"Action": "*", "Resource": "*", "Condition": {"IpAddress": {"acs:SourceIp": "fe80::1%eth0"}}`), 1, 128, 127, `"fe80::1%eth0" is not an IP address`},
		{"IP as a number", stmt(allow + `"Action": "*", "Resource": "*", "Condition": {"IpAddress": {"acs:SourceIp": 10}}`), 1, 128, 127, `"10" is not an IP address`},
		{"Bool not a boolean", stmt(allow + `"Action": "*", "Resource": "*", "Condition": {"Bool": {"acs:SecureTransport": "yes"}}`), 1, 130, 129, `"yes" is not a boolean; want "true" or "false"`},
		{"Bool as a number", stmt(allow + `"Action": "*", "Resource": "*", "Condition": {"Bool": {"acs:SecureTransport": 1}}`), 1, 130, 129, `1 is not a boolean`},
		{"date out of range", stmt(allow + `"Action": "*", "Resource": "*", "Condition": {"DateLessThan": {"acs:CurrentTime": "2026-13-01T00:00:00Z"}}`), 1, 134, 133, `"2026-13-01T00:00:00Z" is not a date; want ISO 8601 with a zone`},
		{"date without a zone", stmt(allow + `"Action": "*", "Resource": "*", "Condition": {"DateEquals": {"acs:CurrentTime": "2026-01-01T00:00:00"}}`), 1, 132, 131, `"2026-01-01T00:00:00" is not a date`},
		{"date in words", stmt(allow + `"Action": "*", "Resource": "*", "Condition": {"DateNotEquals": {"oss:Whatever": "yesterday"}}`), 1, 132, 131, `"yesterday" is not a date`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ram.Parse([]byte(tt.doc))
			if err == nil {
				t.Fatalf("Parse accepted the document: %+v", p)
			}
			var pe *ram.ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %T %v is not a *ram.ParseError", err, err)
			}
			if pe.Line != tt.line || pe.Column != tt.column || pe.Offset != tt.offset {
				t.Errorf("position = line %d, column %d, offset %d; want line %d, column %d, offset %d (%s)",
					pe.Line, pe.Column, pe.Offset, tt.line, tt.column, tt.offset, pe.Msg)
			}
			if !strings.Contains(pe.Msg, tt.msg) {
				t.Errorf("message %q does not contain %q", pe.Msg, tt.msg)
			}
		})
	}
}

// TestParseErrorIsMalformedPolicyDocument pins the moat error contract: a
// parse error is a KindInvalid moat.Error with Code MalformedPolicyDocument
// whose message carries the position, and its own text leads with the
// position.
func TestParseErrorIsMalformedPolicyDocument(t *testing.T) {
	_, err := ram.Parse([]byte(lines(`{"Version": "1",`, `  "Statment": []}`)))
	if err == nil {
		t.Fatal("Parse accepted a misspelt Statement")
	}
	const where = "line 2, column 3 (byte offset 19): "
	if !strings.HasPrefix(err.Error(), where) {
		t.Errorf("Error() = %q, want it to start with %q", err.Error(), where)
	}
	me := moat.AsError(err)
	if ram.CodeMalformedPolicyDocument != "MalformedPolicyDocument" {
		t.Errorf("CodeMalformedPolicyDocument = %q", ram.CodeMalformedPolicyDocument)
	}
	if me.Code != ram.CodeMalformedPolicyDocument {
		t.Errorf("moat.AsError(err).Code = %q, want MalformedPolicyDocument", me.Code)
	}
	if me.Kind != moat.KindInvalid {
		t.Errorf("moat.AsError(err).Kind = %v, want %v", me.Kind, moat.KindInvalid)
	}
	if !strings.Contains(me.Message, where+`"Statment" is not a policy key`) {
		t.Errorf("moat message %q does not carry the position and the problem", me.Message)
	}
	if got := moat.ErrorCode(err); got != "MalformedPolicyDocument" {
		t.Errorf("moat.ErrorCode(err) = %q", got)
	}
}
