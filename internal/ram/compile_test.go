package ram

import (
	"errors"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"moat/internal/moat"
)

const arnPrefix = "acs:yundun-ddoscoo:cn-hangzhou:1234567890123456:instance/"

func policyWith(t *testing.T, statements string) *Policy {
	t.Helper()
	p, err := Parse([]byte(`{"Version":"1","Statement":[` + statements + `]}`))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return p
}

func TestUniform(t *testing.T) {
	const describe = "yundun-ddoscoo:DescribeInstances"
	cases := []struct {
		name       string
		statements string
		want       bool
	}{
		{"resource star", `{"Effect":"Allow","Action":"yundun-ddoscoo:Describe*","Resource":"*"}`, true},
		{"every instance of the product", `{"Effect":"Allow","Action":"yundun-ddoscoo:*","Resource":"acs:yundun-ddoscoo:*:*:instance/*"}`, true},
		{"the account's instances", `{"Effect":"Allow","Action":"*","Resource":"acs:yundun-ddoscoo:cn-hangzhou:1234567890123456:*"}`, true},
		{"another region only", `{"Effect":"Deny","Action":"*","Resource":"acs:yundun-ddoscoo:ap-southeast-1:*:*"}`, true},
		{"another account, exact", `{"Effect":"Allow","Action":"*","Resource":"acs:yundun-ddoscoo:cn-hangzhou:999:instance/ddoscoo-cn-a"}`, true},
		{"one instance", `{"Effect":"Allow","Action":"*","Resource":"acs:yundun-ddoscoo:cn-hangzhou:1234567890123456:instance/ddoscoo-cn-a"}`, false},
		{"some instances", `{"Effect":"Allow","Action":"*","Resource":"acs:yundun-ddoscoo:cn-hangzhou:1234567890123456:instance/ddoscoo-cn-a*"}`, false},
		{"glob inside the id", `{"Effect":"Allow","Action":"*","Resource":"acs:yundun-ddoscoo:*:*:instance/*-a"}`, false},
		{"tag condition", `{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"acs:ResourceTag/team":"a"}}}`, false},
		{"tag condition on another action", `{"Effect":"Allow","Action":"yundun-ddoscoo:ReleaseInstance","Resource":"*","Condition":{"StringEquals":{"acs:ResourceTag/team":"a"}}},
			{"Effect":"Allow","Action":"yundun-ddoscoo:DescribeInstances","Resource":"*"}`, true},
		{"request conditions only", `{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"IpAddress":{"acs:SourceIp":"10.0.0.0/8"},"Bool":{"acs:SecureTransport":"true"}}}`, true},
		{"not resource some", `{"Effect":"Deny","Action":"*","NotResource":"acs:yundun-ddoscoo:cn-hangzhou:1234567890123456:instance/x*"}`, false},
		{"not resource all", `{"Effect":"Deny","Action":"*","NotResource":"acs:yundun-ddoscoo:*:*:*"}`, true},
		{"not action excludes describe", `{"Effect":"Allow","NotAction":"yundun-ddoscoo:Describe*","Resource":"acs:yundun-ddoscoo:cn-hangzhou:1234567890123456:instance/a"}`, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := policyWith(t, tc.statements)
			if got := p.Uniform(describe, arnPrefix); got != tc.want {
				t.Fatalf("Uniform = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestUniformAgreesWithEvaluate checks the promise Uniform makes: when it
// says yes, one evaluation on prefix+"*" decides like an evaluation on each
// resource under the prefix.
func TestUniformAgreesWithEvaluate(t *testing.T) {
	resources := []string{"*", "acs:yundun-ddoscoo:*:*:*", "acs:yundun-ddoscoo:*:*:instance/*",
		"acs:yundun-ddoscoo:cn-hangzhou:*:*", "acs:yundun-ddoscoo:cn-hangzhou:1234567890123456:instance/*",
		"acs:yundun-ddoscoo:cn-hangzhou:1234567890123456:instance/ddoscoo-cn-a", "acs:yundun-ddoscoo:cn-hangzhou:1234567890123456:instance/ddoscoo-cn-a*",
		"acs:yundun-ddoscoo:cn-hangzhou:1234567890123456:instance/ddoscoo-cn-?", "acs:yundun-ddoscoo:ap-southeast-1:*:*",
		"acs:yundun-ddoscoo:cn-hangzhou:1234567890123456:instance", "acs:yundun-ddoscoo:cn-hangzhou:1234567890123456:instance/*a",
		"acs:yundun-ddoscoo:cn-hangzhou:1234567890123456:instance/ddoscoo-cn-a/*", "acs:Yundun-ddoscoo:*:*:*"}
	ids := []string{"ddoscoo-cn-a", "ddoscoo-cn-b", "ddoscoo-cn-ab", "x", "ddoscoo-cn-a/b", ""}
	checked := 0
	for _, effect := range []string{"Allow", "Deny"} {
		for _, key := range []string{"Resource", "NotResource"} {
			for _, r1 := range resources {
				for _, r2 := range resources {
					p := policyWith(t, fmt.Sprintf(`{"Effect":%q,"Action":"*",%q:[%q,%q]},{"Effect":"Allow","Action":"*","Resource":"acs:yundun-ddoscoo:*:*:instance/*"}`, effect, key, r1, r2))
					if !p.Uniform("yundun-ddoscoo:DescribeInstances", arnPrefix) {
						continue
					}
					want := p.Evaluate(Request{Action: "yundun-ddoscoo:DescribeInstances", Resource: arnPrefix + "*"})
					for _, id := range ids {
						if got := p.Evaluate(Request{Action: "yundun-ddoscoo:DescribeInstances", Resource: arnPrefix + id}); got != want {
							t.Fatalf("%s %s [%s %s]: uniform, but %q decides %v and the prefix %v", effect, key, r1, r2, id, got, want)
						}
						checked++
					}
				}
			}
		}
	}
	if checked == 0 {
		t.Fatal("no policy was uniform")
	}
}

func TestCompile(t *testing.T) {
	pol, err := Compile([]byte(`{"Version":"1","Statement":[
		{"Effect":"Allow","Action":"yundun-ddoscoo:*","Resource":"*","Condition":{"IpAddress":{"acs:SourceIp":"10.0.0.0/8"}}},
		{"Effect":"Deny","Action":"yundun-ddoscoo:ReleaseInstance","Resource":"*","Condition":{"StringEquals":{"acs:ResourceTag/env":"prod"}}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if !pol.UsesResourceTags() {
		t.Error("UsesResourceTags = false")
	}
	req := moat.AccessRequest{Action: "yundun-ddoscoo:ReleaseInstance", Resource: arnPrefix + "a",
		SourceIP: netip.MustParseAddr("10.1.2.3"), CurrentTime: time.Now()}
	if got := pol.Evaluate(req); got != moat.DecisionAllow {
		t.Errorf("untagged release = %v, want allow", got)
	}
	req.ResourceTags = map[string]string{"env": "prod"}
	if got := pol.Evaluate(req); got != moat.DecisionDeny {
		t.Errorf("prod release = %v, want deny", got)
	}
	req.SourceIP = netip.MustParseAddr("192.0.2.1")
	req.ResourceTags = nil
	if got := pol.Evaluate(req); got != moat.DecisionNoMatch {
		t.Errorf("release from outside = %v, want no match", got)
	}

	_, err = Compile([]byte("{\"Version\":\"1\",\n \"Statement\":[{\"Efect\":\"Allow\"}]}"))
	e := moat.AsError(err)
	if err == nil || e.Code != moat.CodeMalformedPolicyDocument || e.Kind != moat.KindInvalid {
		t.Fatalf("Compile(bad) = %v, want MalformedPolicyDocument", err)
	}
	var pe *ParseError
	if !errors.As(err, &pe) || pe.Line != 2 {
		t.Fatalf("Compile(bad) position = %+v, want line 2", pe)
	}
}
