package acs

import (
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"moat/internal/moat"
)

func TestReadRequest(t *testing.T) {
	cases := []struct {
		name   string
		method string
		target string
		body   string
		ctype  string
		want   map[string]string
		code   moat.Code
	}{
		{name: "query only", method: "GET", target: "/?A=1&B=two", want: map[string]string{"A": "1", "B": "two"}},
		{name: "plus and %20 are spaces", method: "GET", target: "/?A=a+b&B=a%20b", want: map[string]string{"A": "a b", "B": "a b"}},
		{name: "empty value kept", method: "GET", target: "/?SignatureType=&A=1", want: map[string]string{"SignatureType": "", "A": "1"}},
		{name: "form body merged with query", method: "POST", target: "/?A=1", body: "B=2&C=x%2Ay", ctype: "application/x-www-form-urlencoded; charset=utf-8", want: map[string]string{"A": "1", "B": "2", "C": "x*y"}},
		{name: "non-form body ignored for params", method: "POST", target: "/?A=1", body: "B=2", ctype: "application/json", want: map[string]string{"A": "1"}},
		{name: "same name in query and body", method: "POST", target: "/?A=1", body: "A=2", ctype: "application/x-www-form-urlencoded", code: moat.CodeInvalidParameter},
		{name: "same name twice in query", method: "GET", target: "/?A=1&A=2", code: moat.CodeInvalidParameter},
		{name: "bad escape", method: "GET", target: "/?A=%zz", code: moat.CodeInvalidParameter},
		{name: "not UTF-8", method: "GET", target: "/?A=%ff%fe", code: moat.CodeInvalidParameter},
		{name: "NUL byte", method: "GET", target: "/?A=a%00b", code: moat.CodeInvalidParameter},
		{name: "empty name", method: "GET", target: "/?=1", code: moat.CodeInvalidParameter},
		{name: "value too long", method: "POST", target: "/", body: "A=" + strings.Repeat("x", MaxValueLength+1), ctype: "application/x-www-form-urlencoded", code: moat.CodeInvalidParameter},
		{name: "body too large", method: "POST", target: "/", body: strings.Repeat("x", MaxBodyBytes+1), ctype: "application/x-www-form-urlencoded", code: moat.CodeInvalidParameter},
		{name: "too many parameters", method: "POST", target: "/", body: manyParams(MaxParams + 1), ctype: "application/x-www-form-urlencoded", code: moat.CodeInvalidParameter},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest(c.method, c.target, strings.NewReader(c.body))
			if c.ctype != "" {
				r.Header.Set("Content-Type", c.ctype)
			}
			req, err := ReadRequest(r)
			if c.code != "" {
				if moat.ErrorCode(err) != c.code {
					t.Fatalf("ReadRequest error = %v, want %s", err, c.code)
				}
				return
			}
			if err != nil {
				t.Fatalf("ReadRequest: %v", err)
			}
			if len(req.Params) != len(c.want) {
				t.Fatalf("Params = %v, want %v", req.Params, c.want)
			}
			for k, v := range c.want {
				if req.Params[k] != v {
					t.Fatalf("Params[%q] = %q, want %q (all: %v)", k, req.Params[k], v, req.Params)
				}
			}
		})
	}
}

func manyParams(n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString("P" + strconv.Itoa(i) + "=1")
	}
	return b.String()
}

// TestReadRequestHeaderLimit pins MaxHeaderBytes: net/http reads up to
// --max-header-bytes, and the gateway refuses headers past its own limit
// with InvalidParameter (an answer the SDKs parse) rather than leaving it
// to net/http's plain 431.
func TestReadRequestHeaderLimit(t *testing.T) {
	for _, c := range []struct {
		name string
		pad  int // bytes of one header's value
		code moat.Code
	}{
		{"just under", MaxHeaderBytes - 1024, ""},
		{"one header over", MaxHeaderBytes + 1, moat.CodeInvalidParameter},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/?A=1", nil)
			r.Header.Set("X-Pad", strings.Repeat("p", c.pad))
			_, err := ReadRequest(r)
			if got := moat.AsError(err); (err == nil) != (c.code == "") || (err != nil && got.Code != c.code) {
				t.Fatalf("ReadRequest with a %d-byte header: %v, want code %q", c.pad, err, c.code)
			}
		})
	}
	r := httptest.NewRequest("GET", "/?A=1", nil)
	for i := range 10_000 {
		r.Header.Add("X-A", strconv.Itoa(i%10))
	}
	if _, err := ReadRequest(r); moat.AsError(err).Code != moat.CodeInvalidParameter {
		t.Fatalf("10,000 headers: %v, want InvalidParameter", err)
	}
}
