package e2e

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"io"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"moat/internal/admin"
)

// This file holds a signer written from Alibaba's signature documentation
// (the RPC style's signature v1 and the ACS3-HMAC-SHA256 signature v3),
// deliberately independent of internal/acs, so
// that every raw-HTTP test cross-checks the server's verifier against a
// second implementation, and the raw-HTTP tests of the wire format.

// rawPct is the RFC 3986 percent-encoding of signature v1, done the way
// the SDKs do it in Go: url.QueryEscape, then "+"→"%20", "*"→"%2A",
// "%7E"→"~".
func rawPct(s string) string {
	e := url.QueryEscape(s)
	e = strings.ReplaceAll(e, "+", "%20")
	e = strings.ReplaceAll(e, "*", "%2A")
	return strings.ReplaceAll(e, "%7E", "~")
}

// rawSTSV1 is the v1 string to sign: method, "/", and the sorted,
// encoded parameters.
func rawSTSV1(method string, params map[string]string) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		if k != "Signature" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	pairs := make([]string, len(keys))
	for i, k := range keys {
		pairs[i] = rawPct(k) + "=" + rawPct(params[k])
	}
	return method + "&" + rawPct("/") + "&" + rawPct(strings.Join(pairs, "&"))
}

// rawHMACV1 is v1's HMAC-SHA1 of the string to sign under secret+"&".
func rawHMACV1(secret, sts string) string {
	m := hmac.New(sha1.New, []byte(secret+"&"))
	m.Write([]byte(sts))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// rawNonce is a fresh SignatureNonce (32 hex characters, like the SDKs').
func rawNonce() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func rawTimestamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// rawV1Params returns the common parameters of a v1 request by the bootstrap
// key (no Format: callers add it when they want one) plus extra.
func rawV1Params(action string, extra map[string]string) map[string]string {
	p := map[string]string{
		"Action":           action,
		"Version":          "2020-01-01",
		"AccessKeyId":      testKeyID,
		"SignatureMethod":  "HMAC-SHA1",
		"SignatureVersion": "1.0",
		"SignatureNonce":   rawNonce(),
		"Timestamp":        rawTimestamp(time.Now()),
	}
	for k, v := range extra {
		p[k] = v
	}
	return p
}

// rawSignV1 sets Signature for method with secret and returns the string to
// sign.
func rawSignV1(method, secret string, p map[string]string) string {
	sts := rawSTSV1(method, p)
	p["Signature"] = rawHMACV1(secret, sts)
	return sts
}

// rawEncodeParams renders params sorted by name, percent-encoded; with plus,
// spaces become "+" as Go's url.Values does, otherwise "%20" as JS clients
// send them.
func rawEncodeParams(p map[string]string, plus bool) string {
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('&')
		}
		v := rawPct(p[k])
		if plus {
			v = strings.ReplaceAll(v, "%20", "+")
		}
		b.WriteString(rawPct(k) + "=" + v)
	}
	return b.String()
}

// rawRequest is one HTTP request, exactly as it goes on the wire.
type rawRequest struct {
	Method   string
	Path     string // "/" when empty
	RawQuery string
	Body     string
	Header   http.Header
	Host     string // overrides the Host header when set
}

// rawResponse is an answer and what identifies it.
type rawResponse struct {
	Status    int
	Header    http.Header
	Body      []byte
	RequestID string // from the x-acs-request-id header
}

// rawV1Request renders signed params for method: the ones inBody selects go
// in an application/x-www-form-urlencoded body, the rest in the query (all
// of them when inBody is nil).
func rawV1Request(method string, p map[string]string, inBody func(name string) bool, plus bool) rawRequest {
	q, f := map[string]string{}, map[string]string{}
	for k, v := range p {
		if inBody != nil && inBody(k) {
			f[k] = v
		} else {
			q[k] = v
		}
	}
	r := rawRequest{Method: method, RawQuery: rawEncodeParams(q, plus), Header: http.Header{}}
	if len(f) > 0 {
		r.Body = rawEncodeParams(f, plus)
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	return r
}

func rawAllInBody(string) bool { return true }

// rawV3Request is a signature v3 request before signing.
type rawV3Request struct {
	Method  string
	Action  string
	Query   map[string]string
	Body    []byte
	Header  http.Header // extra headers (x-acs-* ones are signed)
	Date    time.Time   // x-acs-date; now when zero
	Nonce   string      // x-acs-signature-nonce; fresh when empty
	KeyID   string      // testKeyID when empty
	Secret  string      // testKeySecret when empty
	Host    string      // the signed host
	Omit    []string    // signable headers to leave out of SignedHeaders
	Version string      // 2020-01-01 when empty
}

// rawCanonicalV3 is signature v3's CanonicalRequest for the given headers
// (lower-case names, already including host).
func rawCanonicalV3(method string, query map[string]string, headers map[string]string, signed []string, hashed string) string {
	keys := make([]string, 0, len(query))
	for k := range query {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	qs := make([]string, len(keys))
	for i, k := range keys {
		qs[i] = k + "=" + rawPct(query[k])
	}
	var ch strings.Builder
	for _, h := range signed {
		ch.WriteString(h + ":" + strings.TrimSpace(headers[h]) + "\n")
	}
	return method + "\n/\n" + strings.Join(qs, "&") + "\n" + ch.String() + "\n" + strings.Join(signed, ";") + "\n" + hashed
}

// rawSTSV3 is "ACS3-HMAC-SHA256\n" + hex(SHA256(canonical request)).
func rawSTSV3(canonical string) string {
	sum := sha256.Sum256([]byte(canonical))
	return "ACS3-HMAC-SHA256\n" + hex.EncodeToString(sum[:])
}

func rawHMACV3(secret, sts string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(sts))
	return hex.EncodeToString(m.Sum(nil))
}

// sign renders a signed v3 request and returns it with its string to sign
// and signature.
func (v rawV3Request) sign() (rawRequest, string, string) {
	if v.Method == "" {
		v.Method = http.MethodPost
	}
	if v.KeyID == "" {
		v.KeyID = testKeyID
	}
	if v.Secret == "" {
		v.Secret = testKeySecret
	}
	if v.Date.IsZero() {
		v.Date = time.Now()
	}
	if v.Nonce == "" {
		v.Nonce = rawNonce()
	}
	if v.Version == "" {
		v.Version = "2020-01-01"
	}
	sum := sha256.Sum256(v.Body)
	hashed := hex.EncodeToString(sum[:])
	headers := map[string]string{
		"host":                  v.Host,
		"x-acs-action":          v.Action,
		"x-acs-version":         v.Version,
		"x-acs-date":            rawTimestamp(v.Date),
		"x-acs-signature-nonce": v.Nonce,
		"x-acs-content-sha256":  hashed,
	}
	for k, vals := range v.Header {
		headers[strings.ToLower(k)] = vals[0]
	}
	var signed []string
	for h := range headers {
		if (h == "host" || h == "content-type" || strings.HasPrefix(h, "x-acs-")) && !slices.Contains(v.Omit, h) {
			signed = append(signed, h)
		}
	}
	sort.Strings(signed)
	sts := rawSTSV3(rawCanonicalV3(v.Method, v.Query, headers, signed, hashed))
	sig := rawHMACV3(v.Secret, sts)
	r := rawRequest{Method: v.Method, RawQuery: rawEncodeParams(v.Query, false), Body: string(v.Body), Header: http.Header{}, Host: v.Host}
	for h, val := range headers {
		if h != "host" {
			r.Header.Set(h, val)
		}
	}
	r.Header.Set("Accept", "application/json")
	r.Header.Set("Authorization", "ACS3-HMAC-SHA256 Credential="+v.KeyID+",SignedHeaders="+strings.Join(signed, ";")+",Signature="+sig)
	return r, sts, sig
}

var rawRequestIDRE = regexp.MustCompile(`^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$`)

// rawSeenRequestIDs remembers every RequestId seen in this test binary, so that
// rawSend can check each one is fresh.
var rawSeenRequestIDs sync.Map

// rawSend sends r to the server at endpoint and checks what every answer
// must have: a fresh upper-case UUID RequestId in the x-acs-request-id
// header, and for an error the exact JSON envelope carrying the same
// RequestId.
func rawSend(t testing.TB, endpoint string, r rawRequest) rawResponse {
	t.Helper()
	out := rawDo(t, endpoint, http.DefaultClient, r)
	if _, seen := rawSeenRequestIDs.LoadOrStore(out.RequestID, true); seen {
		t.Fatalf("RequestId %s was already used by an earlier answer", out.RequestID)
	}
	if out.Status >= 300 {
		rawCheckError(t, out)
	}
	return out
}

// rawDo sends r to the server at endpoint through hc, reads the answer,
// and checks that it carries an upper-case UUID RequestId in the
// x-acs-request-id header.
func rawDo(t testing.TB, endpoint string, hc *http.Client, r rawRequest) rawResponse {
	t.Helper()
	path := r.Path
	if path == "" {
		path = "/"
	}
	u := endpoint + path
	if r.RawQuery != "" {
		u += "?" + r.RawQuery
	}
	var body io.Reader
	if r.Body != "" {
		body = strings.NewReader(r.Body)
	}
	req, err := http.NewRequest(r.Method, u, body)
	if err != nil {
		t.Fatalf("build request: %v", err)
	}
	for k, v := range r.Header {
		req.Header[k] = v
	}
	if r.Host != "" {
		req.Host = r.Host
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", r.Method, u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read answer: %v", err)
	}
	out := rawResponse{Status: resp.StatusCode, Header: resp.Header, Body: b, RequestID: resp.Header.Get("x-acs-request-id")}
	if !rawRequestIDRE.MatchString(out.RequestID) {
		t.Fatalf("x-acs-request-id = %q, want an upper-case UUID; %d %s", out.RequestID, out.Status, b)
	}
	return out
}

// rawError is the error envelope.
type rawError struct {
	RequestId, HostId, Code, Message, Recommend string
}

// rawCheckError asserts an error body is JSON with exactly RequestId,
// HostId, Code, Message and Recommend, and the header's RequestId.
func rawCheckError(t testing.TB, r rawResponse) rawError {
	t.Helper()
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		t.Errorf("error Content-Type = %q, want application/json", r.Header.Get("Content-Type"))
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(r.Body, &fields); err != nil {
		t.Fatalf("error body is not a JSON object: %v: %s", err, r.Body)
	}
	keys := slices.Sorted(maps.Keys(fields))
	if want := []string{"Code", "HostId", "Message", "Recommend", "RequestId"}; !slices.Equal(keys, want) {
		t.Errorf("error body keys = %v, want exactly %v: %s", keys, want, r.Body)
	}
	var e rawError
	if err := json.Unmarshal(r.Body, &e); err != nil {
		t.Fatalf("error body fields are not strings: %v: %s", err, r.Body)
	}
	if e.RequestId != r.RequestID {
		t.Errorf("body RequestId %q != header x-acs-request-id %q", e.RequestId, r.RequestID)
	}
	return e
}

// rawDescribe is the part of a DescribeInstances JSON body the tests read.
type rawDescribe struct {
	RequestId  string
	TotalCount int64
	Instances  []struct {
		InstanceId string
		Remark     string
		Status     int
	}
}

// rawOKJSON asserts a 200 JSON answer and decodes it.
func rawOKJSON(t testing.TB, r rawResponse, out any) {
	t.Helper()
	if r.Status != http.StatusOK {
		t.Fatalf("status %d, want 200: %s", r.Status, r.Body)
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		t.Fatalf("Content-Type = %q, want application/json: %s", r.Header.Get("Content-Type"), r.Body)
	}
	if err := json.Unmarshal(r.Body, out); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
	var id struct{ RequestId string }
	json.Unmarshal(r.Body, &id)
	if id.RequestId != r.RequestID {
		t.Fatalf("body RequestId %q != header %q", id.RequestId, r.RequestID)
	}
}

func adminIDs(in []admin.Instance) []string {
	out := make([]string, len(in))
	for i, x := range in {
		out[i] = x.InstanceId
	}
	return out
}

func rawListedIDs(d rawDescribe) []string {
	out := make([]string, len(d.Instances))
	for i, x := range d.Instances {
		out[i] = x.InstanceId
	}
	return out
}

// TestRawSignerGoldenVectors pins the test's own signers to the golden
// vectors of internal/acs/sign_test.go, so that the raw-HTTP tests check the
// server against a signer known to agree with the official SDKs.
func TestRawSignerGoldenVectors(t *testing.T) {
	p := map[string]string{
		"AccessKeyId": "testid", "Action": "DescribeInstances", "Format": "JSON", "InstanceIds.1": "ddoscoo-cn-x",
		"PageNumber": "1", "PageSize": "10", "RegionId": "cn-hangzhou", "Remark": "a b*~",
		"SignatureMethod": "HMAC-SHA1", "SignatureNonce": "nonce-1", "SignatureType": "", "SignatureVersion": "1.0",
		"Timestamp": "2024-01-01T00:00:00Z", "Version": "2020-01-01",
	}
	if got := rawHMACV1("testsecret", rawSTSV1("POST", p)); got != "Mvzp/cAKDLlhF5XSJaMJT/BjLsg=" {
		t.Errorf("v1 signature = %s, want Mvzp/cAKDLlhF5XSJaMJT/BjLsg=", got)
	}
	if sts := rawSTSV1("POST", p); !strings.Contains(sts, "Remark%3Da%2520b%252A~") {
		t.Errorf("v1 string to sign %q does not encode the remark as a%%2520b%%252A~", sts)
	}
	_, _, sig := rawV3Request{
		Action: "DescribeInstances", Query: map[string]string{"InstanceIds.1": "ddoscoo-cn-x", "PageNumber": "1", "PageSize": "10"},
		Host: "ddoscoo.cn-hangzhou.aliyuncs.com", Date: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), Nonce: "nonce-1",
		KeyID: "testid", Secret: "testsecret",
	}.sign()
	if want := "713f63d2d67c334263aa7639af98df6e9069678008810a5ed0ae7bce8d96fdd9"; sig != want {
		t.Errorf("v3 signature = %s, want %s", sig, want)
	}
}

// rawXMLDescribe is DescribeInstances' XML body: the root is
// <DescribeInstancesResponse> and the list repeats <Instances> once per
// instance, with no wrapper element.
type rawXMLDescribe struct {
	XMLName    xml.Name
	RequestId  string
	TotalCount int64
	Instances  []struct {
		InstanceId string
		Status     int
	} `xml:"Instances"`
}

// TestRawXMLFormat pins the XML encoding: a v1 request without Format, and
// with Format=xml or Format=XML (which wins over "Accept:
// application/json"), gets text/xml whose root is
// <DescribeInstancesResponse> with one <Instances> element per instance.
func TestRawXMLFormat(t *testing.T) {
	s := StartServer(t)
	created := s.CreateInstances(t, admin.InstancesRequest{Count: 2, ExpireIn: "24h"})
	for _, c := range []struct{ format, accept string }{{"", ""}, {"xml", ""}, {"XML", ""}, {"XML", "application/json"}} {
		t.Run("Format="+c.format+" Accept="+c.accept, func(t *testing.T) {
			extra := map[string]string{"PageNumber": "1", "PageSize": "10"}
			if c.format != "" {
				extra["Format"] = c.format
			}
			p := rawV1Params("DescribeInstances", extra)
			rawSignV1("GET", testKeySecret, p)
			req := rawV1Request("GET", p, nil, false)
			if c.accept != "" {
				req.Header.Set("Accept", c.accept)
			}
			r := rawSend(t, s.Endpoint, req)
			if r.Status != http.StatusOK {
				t.Fatalf("status %d: %s", r.Status, r.Body)
			}
			mt, mp, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
			if err != nil || mt != "text/xml" || !strings.EqualFold(mp["charset"], "utf-8") {
				t.Errorf("Content-Type = %q, want text/xml;charset=utf-8", r.Header.Get("Content-Type"))
			}
			var d rawXMLDescribe
			if err := xml.Unmarshal(r.Body, &d); err != nil {
				t.Fatalf("not XML: %v: %s", err, r.Body)
			}
			if d.XMLName.Local != "DescribeInstancesResponse" {
				t.Errorf("root element <%s>, want <DescribeInstancesResponse>", d.XMLName.Local)
			}
			if d.RequestId != r.RequestID {
				t.Errorf("<RequestId> %q != header %q", d.RequestId, r.RequestID)
			}
			got := make([]string, len(d.Instances))
			for i, in := range d.Instances {
				got[i] = in.InstanceId
			}
			slices.Sort(got)
			want := slices.Sorted(slices.Values(adminIDs(created)))
			if d.TotalCount != 2 || !slices.Equal(got, want) {
				t.Errorf("TotalCount %d, <Instances> ids %v; want 2 and %v: %s", d.TotalCount, got, want, r.Body)
			}
			if n := bytes.Count(r.Body, []byte("<Instances>")); n != 2 {
				t.Errorf("%d <Instances> elements, want one per instance (2): %s", n, r.Body)
			}
		})
	}
}

// TestRawJSONFormat pins when the answer is JSON without a Format
// parameter: a v1 request with "Accept: application/json", and any v3
// request (the v3 SDKs send no Format and cannot read XML); and that
// Format=json in lower case is JSON too.
func TestRawJSONFormat(t *testing.T) {
	s := StartServer(t)
	created := s.CreateInstances(t, admin.InstancesRequest{ExpireIn: "24h"})
	page := map[string]string{"PageNumber": "1", "PageSize": "10"}
	check := func(t *testing.T, r rawResponse) {
		t.Helper()
		var d rawDescribe
		rawOKJSON(t, r, &d)
		if d.TotalCount != 1 || !slices.Equal(rawListedIDs(d), adminIDs(created)) {
			t.Errorf("DescribeInstances = %s, want the one instance %s", r.Body, created[0].InstanceId)
		}
	}
	t.Run("v1 Accept application/json", func(t *testing.T) {
		p := rawV1Params("DescribeInstances", page)
		rawSignV1("GET", testKeySecret, p)
		req := rawV1Request("GET", p, nil, false)
		req.Header.Set("Accept", "application/json")
		check(t, rawSend(t, s.Endpoint, req))
	})
	t.Run("v1 Format=json", func(t *testing.T) {
		p := rawV1Params("DescribeInstances", map[string]string{"PageNumber": "1", "PageSize": "10", "Format": "json"})
		rawSignV1("POST", testKeySecret, p)
		check(t, rawSend(t, s.Endpoint, rawV1Request("POST", p, nil, false)))
	})
	t.Run("v3 without Format", func(t *testing.T) {
		req, _, _ := rawV3Request{Action: "DescribeInstances", Query: page, Host: s.Addr}.sign()
		req.Header.Del("Accept") // the v3 signature alone selects JSON
		check(t, rawSend(t, s.Endpoint, req))
	})
}

// TestRawParameterPlacement pins where parameters may travel: everything
// in the query of a GET, everything (Signature included) in the form body
// of a POST, and split between query and body.
func TestRawParameterPlacement(t *testing.T) {
	s := StartServer(t)
	created := s.CreateInstances(t, admin.InstancesRequest{Count: 3, ExpireIn: "24h"})
	business := map[string]string{"PageNumber": "1", "PageSize": "10", "Format": "JSON", "InstanceIds.1": created[1].InstanceId}
	cases := []struct {
		name   string
		method string
		inBody func(string) bool
	}{
		{"GET all in query", "GET", nil},
		{"POST all in query", "POST", nil},
		{"POST all in body", "POST", rawAllInBody},
		{"POST business in body", "POST", func(k string) bool { _, ok := business[k]; return ok }},
		{"POST Signature and Action in body", "POST", func(k string) bool { return k == "Signature" || k == "Action" }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := rawV1Params("DescribeInstances", business)
			rawSignV1(c.method, testKeySecret, p)
			req := rawV1Request(c.method, p, c.inBody, false)
			form, _ := url.ParseQuery(req.Body)
			if c.inBody != nil && (req.Body == "" || form.Has("Signature") != c.inBody("Signature")) {
				t.Fatalf("request not split as intended: query %q body %q", req.RawQuery, req.Body)
			}
			var d rawDescribe
			rawOKJSON(t, rawSend(t, s.Endpoint, req), &d)
			if d.TotalCount != 1 || !slices.Equal(rawListedIDs(d), []string{created[1].InstanceId}) {
				t.Errorf("DescribeInstances InstanceIds.1=%s listed %v (TotalCount %d)", created[1].InstanceId, rawListedIDs(d), d.TotalCount)
			}
		})
	}
	t.Run("v3 business in a signed form body", func(t *testing.T) {
		req, _, _ := rawV3Request{
			Action: "DescribeInstances", Query: map[string]string{"PageNumber": "1", "PageSize": "10"}, Host: s.Addr,
			Body:   []byte("InstanceIds.1=" + created[1].InstanceId),
			Header: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}},
		}.sign()
		var d rawDescribe
		rawOKJSON(t, rawSend(t, s.Endpoint, req), &d)
		if d.TotalCount != 1 || !slices.Equal(rawListedIDs(d), []string{created[1].InstanceId}) {
			t.Errorf("DescribeInstances InstanceIds.1=%s in the body listed %v (TotalCount %d)", created[1].InstanceId, rawListedIDs(d), d.TotalCount)
		}
	})
}

// TestRawSpaceEncodings pins that a value with spaces verifies whether the
// spaces arrive as %20 (JS clients) or + (Go clients), in the query or in
// the body: the server decodes, then re-encodes as RFC 3986 to verify.
func TestRawSpaceEncodings(t *testing.T) {
	s := StartServer(t)
	id := s.CreateInstances(t, admin.InstancesRequest{ExpireIn: "24h"})[0].InstanceId
	for _, c := range []struct {
		name   string
		tag    string
		plus   bool
		inBody func(string) bool
	}{
		{"query %20", "q20", false, nil},
		{"query +", "qplus", true, nil},
		{"body %20", "b20", false, rawAllInBody},
		{"body +", "bplus", true, rawAllInBody},
	} {
		t.Run(c.name, func(t *testing.T) {
			remark := "moat remark " + c.tag + " a*b~c"
			p := rawV1Params("ModifyInstanceRemark", map[string]string{"InstanceId": id, "Remark": remark, "Format": "JSON"})
			rawSignV1("POST", testKeySecret, p)
			req := rawV1Request("POST", p, c.inBody, c.plus)
			wire := req.RawQuery + req.Body
			if c.plus != strings.Contains(wire, "Remark=moat+remark") || c.plus == strings.Contains(wire, "Remark=moat%20remark") {
				t.Fatalf("request does not carry the spaces as intended: %s", wire)
			}
			var ok struct{ RequestId string }
			rawOKJSON(t, rawSend(t, s.Endpoint, req), &ok)

			q := rawV1Params("DescribeInstances", map[string]string{"PageNumber": "1", "PageSize": "10", "Format": "JSON", "Remark": "remark " + c.tag})
			rawSignV1("GET", testKeySecret, q)
			var d rawDescribe
			rawOKJSON(t, rawSend(t, s.Endpoint, rawV1Request("GET", q, nil, c.plus)), &d)
			if len(d.Instances) != 1 || d.Instances[0].InstanceId != id || d.Instances[0].Remark != remark {
				t.Errorf("DescribeInstances Remark filter = %+v, want %s with Remark %q", d.Instances, id, remark)
			}
		})
	}
}

// TestRawRequestIDs pins that every answer, success or error, JSON or XML,
// carries a fresh upper-case UUID RequestId in both the body and the
// x-acs-request-id header, and that error bodies are the exact JSON
// envelope (rawSend and rawCheckError assert both on every answer).
func TestRawRequestIDs(t *testing.T) {
	s := StartServer(t)
	var seen []string
	for i := 0; i < 3; i++ {
		p := rawV1Params("DescribeInstances", map[string]string{"PageNumber": "1", "PageSize": "10", "Format": "JSON"})
		rawSignV1("GET", testKeySecret, p)
		var d rawDescribe
		r := rawSend(t, s.Endpoint, rawV1Request("GET", p, nil, false))
		rawOKJSON(t, r, &d)
		seen = append(seen, d.RequestId)

		p = rawV1Params("DescribeInstances", map[string]string{"PageNumber": "1", "PageSize": "10"})
		rawSignV1("GET", testKeySecret, p)
		r = rawSend(t, s.Endpoint, rawV1Request("GET", p, nil, false))
		var x rawXMLDescribe
		if err := xml.Unmarshal(r.Body, &x); err != nil || x.RequestId != r.RequestID {
			t.Fatalf("XML RequestId %q (err %v), header %q", x.RequestId, err, r.RequestID)
		}
		seen = append(seen, x.RequestId)

		p = rawV1Params("ReleaseInstance", map[string]string{"InstanceId": "ddoscoo-cn-nosuchthing"})
		rawSignV1("GET", testKeySecret, p)
		r = rawSend(t, s.Endpoint, rawV1Request("GET", p, nil, false))
		e := rawCheckError(t, r)
		if r.Status != http.StatusNotFound || e.Code != "InstanceNotFound" {
			t.Fatalf("ReleaseInstance of an unknown id: %d %s, want 404 InstanceNotFound", r.Status, e.Code)
		}
		seen = append(seen, e.RequestId)
	}
	for _, id := range seen {
		if !rawRequestIDRE.MatchString(id) {
			t.Errorf("RequestId %q is not an upper-case UUID", id)
		}
	}
	if len(slices.Compact(slices.Sorted(slices.Values(seen)))) != len(seen) {
		t.Errorf("RequestIds repeat: %v", seen)
	}
}
