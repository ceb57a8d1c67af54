package acs

import (
	"net/http"
	"strings"
	"testing"
)

// Golden vectors that both the official SDK helpers and an independent
// implementation produce.
func TestSignV1GoldenVector(t *testing.T) {
	params := map[string]string{
		"AccessKeyId": "testid", "Action": "DescribeInstances", "Format": "JSON",
		"InstanceIds.1": "ddoscoo-cn-x", "PageNumber": "1", "PageSize": "10",
		"RegionId": "cn-hangzhou", "Remark": "a b*~", "SignatureMethod": "HMAC-SHA1",
		"SignatureNonce": "nonce-1", "SignatureType": "", "SignatureVersion": "1.0",
		"Timestamp": "2024-01-01T00:00:00Z", "Version": "2020-01-01",
		"Signature": "ignored: never part of the string to sign",
	}
	sts := StringToSignV1("POST", params)
	if got, want := SignV1("testsecret", sts), "Mvzp/cAKDLlhF5XSJaMJT/BjLsg="; got != want {
		t.Fatalf("SignV1 = %s, want %s\nstring to sign: %s", got, want, sts)
	}
	// A space is %20 in the canonical string, so %2520 once encoded again;
	// '*' is %2A and '~' stays.
	const fragment = "Remark%3Da%2520b%252A~"
	if !strings.Contains(sts, fragment) {
		t.Fatalf("string to sign %q lacks %q", sts, fragment)
	}
	// The empty SignatureType is signed.
	if !strings.Contains(sts, "SignatureType%3D%26") {
		t.Fatalf("string to sign %q does not sign the empty SignatureType", sts)
	}
}

func TestSignV3GoldenVector(t *testing.T) {
	h := http.Header{}
	h.Set("x-acs-action", "DescribeInstances")
	h.Set("x-acs-version", "2020-01-01")
	h.Set("x-acs-date", "2024-01-01T00:00:00Z")
	h.Set("x-acs-signature-nonce", "nonce-1")
	h.Set("x-acs-content-sha256", HashPayload(nil))
	query := map[string]string{"InstanceIds.1": "ddoscoo-cn-x", "PageNumber": "1", "PageSize": "10"}
	signed := []string{"host", "x-acs-action", "x-acs-content-sha256", "x-acs-date", "x-acs-signature-nonce", "x-acs-version"}
	cr := CanonicalRequestV3("POST", "/", query, h, "ddoscoo.cn-hangzhou.aliyuncs.com", signed, h.Get("x-acs-content-sha256"))
	want := "713f63d2d67c334263aa7639af98df6e9069678008810a5ed0ae7bce8d96fdd9"
	if got := SignV3("testsecret", StringToSignV3(cr)); got != want {
		t.Fatalf("SignV3 = %s, want %s\ncanonical request:\n%s", got, want, cr)
	}
	if HashPayload(nil) != "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" {
		t.Fatalf("HashPayload(empty) = %s", HashPayload(nil))
	}
}

func TestPercentEncode(t *testing.T) {
	cases := map[string]string{
		"":            "",
		"abcXYZ019":   "abcXYZ019",
		"-_.~":        "-_.~",
		"a b":         "a%20b",
		"*":           "%2A",
		"+":           "%2B",
		"/":           "%2F",
		"=&":          "%3D%26",
		"中":           "%E4%B8%AD",
		"%":           "%25",
		"\x00\xff":    "%00%FF",
		"2024-01-01T": "2024-01-01T",
	}
	for in, want := range cases {
		if got := PercentEncode(in); got != want {
			t.Errorf("PercentEncode(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseV3Authorization(t *testing.T) {
	good := "ACS3-HMAC-SHA256 Credential=AK1,SignedHeaders=host;x-acs-date,Signature=abc"
	a, ok := ParseV3Authorization(good)
	if !ok || a.Algorithm != AlgorithmV3 || a.AccessKeyID != "AK1" || a.Signature != "abc" || len(a.SignedHeaders) != 2 || a.SignedHeaders[1] != "x-acs-date" {
		t.Fatalf("ParseV3Authorization(%q) = %+v, %v", good, a, ok)
	}
	for _, bad := range []string{
		"",
		"ACS3-HMAC-SHA256",
		"ACS3-HMAC-SHA256 Credential=AK1,Signature=abc",                                  // no SignedHeaders
		"ACS3-HMAC-SHA256 Credential=,SignedHeaders=host,Signature=abc",                  // empty key
		"ACS3-HMAC-SHA256 Credential=AK1,SignedHeaders=host,Signature=abc,Signature=def", // repeated
		"ACS3-HMAC-SHA256 Credential=AK1,SignedHeaders=host,Signature=abc,Extra=1",       // unknown
		"ACS3-HMAC-SHA256 Credential=AK1,SignedHeaders=,Signature=abc",
	} {
		if _, ok := ParseV3Authorization(bad); ok {
			t.Errorf("ParseV3Authorization(%q) accepted a malformed header", bad)
		}
	}
}
