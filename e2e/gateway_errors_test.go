package e2e

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"moat/internal/admin"
)

// gwRequest is what a gateway error case sends.
type gwRequest struct {
	req rawRequest
	// sts, when set, is the string to sign the test's signer computed; a
	// SignatureDoesNotMatch message must end with it.
	sts string
	// sig is the signature value sent, which must never be logged.
	sig string
	// prime, when set, is sent first and must get 200: the case is a
	// replay.
	prime *rawRequest
}

// gwCase is one gateway error and the exact answer it must get.
type gwCase struct {
	name   string
	status int
	code   string
	build  func(t *testing.T, s *Server) gwRequest
	// action and key, when set, are the Action and AccessKeyId the
	// request's log line must name.
	action, key string
}

func rawSignedV1(method string, p map[string]string) gwRequest {
	rawSignV1(method, testKeySecret, p)
	return gwRequest{req: rawV1Request(method, p, nil, false), sig: p["Signature"]}
}

func rawDescribeParams(extra map[string]string) map[string]string {
	p := rawV1Params("DescribeInstances", map[string]string{"PageNumber": "1", "PageSize": "10", "Format": "JSON"})
	for k, v := range extra {
		p[k] = v
	}
	return p
}

// gwV1Without signs a DescribeInstances request and then drops a parameter.
func gwV1Without(name string) func(*testing.T, *Server) gwRequest {
	return func(*testing.T, *Server) gwRequest {
		p := rawDescribeParams(nil)
		rawSignV1("GET", testKeySecret, p)
		sig := p["Signature"]
		delete(p, name)
		return gwRequest{req: rawV1Request("GET", p, nil, false), sig: sig}
	}
}

// gwV1With signs a DescribeInstances request with some parameters changed.
func gwV1With(extra map[string]string) func(*testing.T, *Server) gwRequest {
	return func(*testing.T, *Server) gwRequest { return rawSignedV1("GET", rawDescribeParams(extra)) }
}

func gwV3Describe(s *Server) rawV3Request {
	return rawV3Request{Action: "DescribeInstances", Query: map[string]string{"PageNumber": "1", "PageSize": "10"}, Host: s.Addr}
}

func gwV3Signed(v rawV3Request) gwRequest {
	req, sts, sig := v.sign()
	return gwRequest{req: req, sts: sts, sig: sig}
}

// gatewayCases lists every gateway error of the RPC protocol (the common
// error codes of Alibaba's API gateway; docs/DESIGN.md, Errors) with its
// exact HTTP status and Code.
func gatewayCases() []gwCase {
	const describe = "DescribeInstances"
	return []gwCase{
		{name: "v1 Signature absent", status: 400, code: "MissingSignature", build: gwV1Without("Signature"), action: describe},
		{name: "v1 AccessKeyId absent", status: 400, code: "MissingAccessKeyId", build: gwV1Without("AccessKeyId"), action: describe},
		{name: "v1 SignatureNonce absent", status: 400, code: "MissingSignatureNonce", build: gwV1Without("SignatureNonce"), action: describe},
		{name: "v1 Timestamp absent", status: 400, code: "MissingTimestamp", build: gwV1Without("Timestamp"), action: describe},
		{name: "v1 SignatureMethod absent", status: 400, code: "MissingSignatureMethod", build: gwV1Without("SignatureMethod"), action: describe},
		{name: "v1 SignatureVersion absent", status: 400, code: "MissingSignatureVersion", build: gwV1Without("SignatureVersion"), action: describe},
		{name: "v1 SignatureMethod HMAC-SHA256", status: 400, code: "IncompleteSignature", build: gwV1With(map[string]string{"SignatureMethod": "HMAC-SHA256"}), action: describe, key: testKeyID},
		{name: "v1 SignatureVersion 2.0", status: 400, code: "IncompleteSignature", build: gwV1With(map[string]string{"SignatureVersion": "2.0"}), action: describe, key: testKeyID},
		{name: "v3 Authorization without SignedHeaders and Signature", status: 400, code: "IncompleteSignature", action: describe, build: func(t *testing.T, s *Server) gwRequest {
			g := gwV3Signed(gwV3Describe(s))
			g.req.Header.Set("Authorization", "ACS3-HMAC-SHA256 Credential="+testKeyID)
			return g
		}},
		{name: "v3 Authorization with only the algorithm", status: 400, code: "IncompleteSignature", action: describe, build: func(t *testing.T, s *Server) gwRequest {
			g := gwV3Signed(gwV3Describe(s))
			g.req.Header.Set("Authorization", "ACS3-HMAC-SHA256")
			return g
		}},
		{name: "v3 SignedHeaders lacking x-acs-date", status: 400, code: "IncompleteSignature", action: describe, key: testKeyID, build: func(t *testing.T, s *Server) gwRequest {
			v := gwV3Describe(s)
			v.Omit = []string{"x-acs-date"}
			g := gwV3Signed(v)
			if strings.Contains(g.req.Header.Get("Authorization"), "x-acs-date") {
				t.Fatalf("x-acs-date still signed: %s", g.req.Header.Get("Authorization"))
			}
			return g
		}},
		{name: "v1 wrong secret", status: 400, code: "SignatureDoesNotMatch", action: describe, key: testKeyID, build: func(t *testing.T, s *Server) gwRequest {
			p := rawDescribeParams(map[string]string{"Remark": "a b*~c", "SignatureType": ""})
			sts := rawSignV1("POST", "not-the-secret", p)
			return gwRequest{req: rawV1Request("POST", p, nil, false), sts: sts, sig: p["Signature"]}
		}},
		{name: "v1 signed for GET sent as POST", status: 400, code: "SignatureDoesNotMatch", action: describe, key: testKeyID, build: func(t *testing.T, s *Server) gwRequest {
			p := rawDescribeParams(nil)
			rawSignV1("GET", testKeySecret, p)
			return gwRequest{req: rawV1Request("POST", p, nil, false), sts: rawSTSV1("POST", p), sig: p["Signature"]}
		}},
		{name: "v3 wrong secret", status: 400, code: "SignatureDoesNotMatch", action: describe, key: testKeyID, build: func(t *testing.T, s *Server) gwRequest {
			v := gwV3Describe(s)
			v.Secret = "not-the-secret"
			return gwV3Signed(v)
		}},
		{name: "v1 unknown AccessKeyId", status: 404, code: "InvalidAccessKeyId.NotFound", action: describe, key: "LTAInosuchkey", build: gwV1With(map[string]string{"AccessKeyId": "LTAInosuchkey"})},
		{name: "v3 unknown AccessKeyId", status: 404, code: "InvalidAccessKeyId.NotFound", action: describe, key: "LTAInosuchkey", build: func(t *testing.T, s *Server) gwRequest {
			v := gwV3Describe(s)
			v.KeyID = "LTAInosuchkey"
			return gwV3Signed(v)
		}},
		{name: "v1 Timestamp with a space", status: 400, code: "InvalidTimeStamp.Format", action: describe, build: gwV1With(map[string]string{"Timestamp": "2024-01-01 00:00:00"})},
		{name: "v3 x-acs-date not a date", status: 400, code: "InvalidTimeStamp.Format", action: describe, build: func(t *testing.T, s *Server) gwRequest {
			v := gwV3Describe(s)
			v.Header = http.Header{"X-Acs-Date": {"yesterday"}}
			return gwV3Signed(v)
		}},
		{name: "v1 Timestamp 16 minutes ago", status: 400, code: "InvalidTimeStamp.Expired", action: describe, build: func(t *testing.T, s *Server) gwRequest {
			return gwV1With(map[string]string{"Timestamp": rawTimestamp(time.Now().Add(-16 * time.Minute))})(t, s)
		}},
		{name: "v1 Timestamp 16 minutes ahead", status: 400, code: "InvalidTimeStamp.Expired", action: describe, build: func(t *testing.T, s *Server) gwRequest {
			// Read as the case is sent: read when the table is made, it
			// would be less than 16 minutes ahead by then (the cases
			// before it take their time), and inside the window after a
			// minute.
			return gwV1With(map[string]string{"Timestamp": rawTimestamp(time.Now().Add(16 * time.Minute))})(t, s)
		}},
		{name: "v3 x-acs-date 16 minutes ago", status: 400, code: "InvalidTimeStamp.Expired", action: describe, build: func(t *testing.T, s *Server) gwRequest {
			v := gwV3Describe(s)
			v.Date = time.Now().Add(-16 * time.Minute)
			return gwV3Signed(v)
		}},
		{name: "v3 x-acs-date 16 minutes ahead", status: 400, code: "InvalidTimeStamp.Expired", action: describe, build: func(t *testing.T, s *Server) gwRequest {
			v := gwV3Describe(s)
			v.Date = time.Now().Add(16 * time.Minute)
			return gwV3Signed(v)
		}},
		{name: "v1 replayed request", status: 400, code: "SignatureNonceUsed", action: describe, key: testKeyID, build: func(t *testing.T, s *Server) gwRequest {
			g := rawSignedV1("GET", rawDescribeParams(nil))
			g.prime = &g.req
			return g
		}},
		{name: "v3 replayed request", status: 400, code: "SignatureNonceUsed", action: describe, key: testKeyID, build: func(t *testing.T, s *Server) gwRequest {
			g := gwV3Signed(gwV3Describe(s))
			g.prime = &g.req
			return g
		}},
		{name: "replayed ReleaseInstance of the instance it released", status: 400, code: "SignatureNonceUsed", action: "ReleaseInstance", key: testKeyID, build: func(t *testing.T, s *Server) gwRequest {
			id := s.CreateInstances(t, admin.InstancesRequest{ExpireIn: "-1h"})[0].InstanceId
			g := rawSignedV1("POST", rawV1Params("ReleaseInstance", map[string]string{"InstanceId": id, "Format": "JSON"}))
			g.prime = &g.req
			return g
		}},
		{name: "nonce reused with other parameters", status: 400, code: "SignatureNonceUsed", action: describe, key: testKeyID, build: func(t *testing.T, s *Server) gwRequest {
			p1 := rawDescribeParams(nil)
			first := rawSignedV1("GET", p1)
			g := rawSignedV1("GET", rawDescribeParams(map[string]string{"PageSize": "20", "SignatureNonce": p1["SignatureNonce"]}))
			g.prime = &first.req
			return g
		}},
		{name: "v3 body does not match x-acs-content-sha256", status: 400, code: "SignatureDoesNotMatch", action: describe, key: testKeyID, build: func(t *testing.T, s *Server) gwRequest {
			v := gwV3Describe(s)
			v.Body = []byte("Remark=a")
			v.Header = http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
			g := gwV3Signed(v)
			g.req.Body = "Remark=b"
			g.sts = ""
			return g
		}},
		{name: "unknown Action with Format=XML still answers JSON", status: 404, code: "InvalidAction.NotFound", action: "DescribeNothing", build: gwV1With(map[string]string{"Action": "DescribeNothing", "Format": "XML"})},
		{name: "unknown Action", status: 404, code: "InvalidAction.NotFound", action: "DescribeNothing", build: gwV1With(map[string]string{"Action": "DescribeNothing"})},
		{name: "v3 unknown x-acs-action", status: 404, code: "InvalidAction.NotFound", action: "DescribeNothing", build: func(t *testing.T, s *Server) gwRequest {
			v := gwV3Describe(s)
			v.Action = "DescribeNothing"
			return gwV3Signed(v)
		}},
		{name: "unknown Version", status: 400, code: "InvalidVersion", build: gwV1With(map[string]string{"Version": "2019-01-01"})},
		{name: "Version absent", status: 400, code: "MissingVersion", build: gwV1Without("Version")},
		{name: "Action absent", status: 400, code: "MissingAction", build: gwV1Without("Action")},
		{name: "Format=YAML", status: 400, code: "InvalidParameter.Format", build: gwV1With(map[string]string{"Format": "YAML"})},
		{name: "ReleaseInstance without InstanceId", status: 400, code: "MissingInstanceId", action: "ReleaseInstance", key: testKeyID, build: func(t *testing.T, s *Server) gwRequest {
			return rawSignedV1("GET", rawV1Params("ReleaseInstance", map[string]string{"Format": "JSON"}))
		}},
		{name: "PageSize in query and body", status: 400, code: "InvalidParameter", build: func(t *testing.T, s *Server) gwRequest {
			g := rawSignedV1("POST", rawDescribeParams(nil))
			g.req.Body = "PageSize=10"
			g.req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return g
		}},
		{name: "PageSize twice in the query", status: 400, code: "InvalidParameter", build: func(t *testing.T, s *Server) gwRequest {
			g := rawSignedV1("GET", rawDescribeParams(nil))
			g.req.RawQuery += "&PageSize=20"
			return g
		}},
		{name: "non-UTF-8 value", status: 400, code: "InvalidParameter", build: func(t *testing.T, s *Server) gwRequest {
			g := rawSignedV1("GET", rawDescribeParams(nil))
			g.req.RawQuery += "&Remark=%FF%FE"
			return g
		}},
		{name: "NUL byte in a value", status: 400, code: "InvalidParameter", build: func(t *testing.T, s *Server) gwRequest {
			g := rawSignedV1("GET", rawDescribeParams(nil))
			g.req.RawQuery += "&Remark=a%00b"
			return g
		}},
		{name: "RegionId us-east-1", status: 400, code: "InvalidRegionId", action: describe, key: testKeyID, build: gwV1With(map[string]string{"RegionId": "us-east-1"})},
		{name: "PUT", status: 400, code: "UnsupportedHTTPMethod", build: func(t *testing.T, s *Server) gwRequest {
			return rawSignedV1("PUT", rawDescribeParams(nil))
		}},
		{name: "DELETE", status: 400, code: "UnsupportedHTTPMethod", build: func(t *testing.T, s *Server) gwRequest {
			return rawSignedV1("DELETE", rawDescribeParams(nil))
		}},
		{name: "path /v1/instances", status: 404, code: "InvalidApi.NotFound", build: func(t *testing.T, s *Server) gwRequest {
			g := rawSignedV1("GET", rawDescribeParams(nil))
			g.req.Path = "/v1/instances"
			return g
		}},
	}
}

// logExpectation is what a request's log line must say.
type logExpectation struct {
	requestID, code, action, key string
	status                       int
}

// TestGatewayErrors pins the exact HTTP status and Code of every gateway
// error (gatewayCases; never a 5xx), the Missing{Param} message, the
// SignatureDoesNotMatch message ending in the exact string to sign, and the
// request log: one line per request with RequestId, AccessKeyId, Action,
// Code, Status and LatencyMs, never the secret or a Signature.
func TestGatewayErrors(t *testing.T) {
	s := StartServer(t)
	var expect []logExpectation
	var sigs []string
	for _, c := range gatewayCases() {
		t.Run(c.name, func(t *testing.T) {
			g := c.build(t, s)
			if g.sig != "" {
				sigs = append(sigs, g.sig)
			}
			if g.prime != nil {
				r := rawSend(t, s.Endpoint, *g.prime)
				if r.Status != http.StatusOK {
					t.Fatalf("first send: %d %s, want 200", r.Status, r.Body)
				}
				expect = append(expect, logExpectation{requestID: r.RequestID, status: 200, action: c.action, key: c.key})
			}
			r := rawSend(t, s.Endpoint, g.req)
			if r.Status >= 500 {
				t.Errorf("status %d: a gateway error is never a 5xx", r.Status)
			}
			e := rawCheckError(t, r)
			if r.Status != c.status || e.Code != c.code {
				t.Fatalf("got %d %s (%s), want %d %s", r.Status, e.Code, e.Message, c.status, c.code)
			}
			if param, ok := strings.CutPrefix(c.code, "Missing"); ok {
				if want := param + " is mandatory for this action."; e.Message != want {
					t.Errorf("Message = %q, want %q", e.Message, want)
				}
			}
			if c.code == "SignatureDoesNotMatch" && g.sts != "" {
				if want := "server string to sign is:" + g.sts; !strings.HasSuffix(e.Message, want) {
					t.Errorf("Message = %q\nwant it to end with %q", e.Message, want)
				}
			}
			if e.HostId == "" || e.Recommend == "" {
				t.Errorf("HostId %q, Recommend %q: want both set", e.HostId, e.Recommend)
			}
			expect = append(expect, logExpectation{requestID: r.RequestID, code: c.code, status: c.status, action: c.action, key: c.key})
		})
	}

	// The log is complete once the process has exited.
	s.Stop()
	logs := s.Logs()
	lines := map[string]map[string]string{}
	for _, line := range strings.Split(logs, "\n") {
		f := parseSlogLine(line)
		if f["msg"] == "request" {
			if _, dup := lines[f["RequestId"]]; dup {
				t.Errorf("two log lines for RequestId %s", f["RequestId"])
			}
			lines[f["RequestId"]] = f
		}
	}
	for _, x := range expect {
		f, ok := lines[x.requestID]
		if !ok {
			t.Errorf("no request log line with RequestId=%s", x.requestID)
			continue
		}
		for _, k := range []string{"RequestId", "AccessKeyId", "Action", "Code", "Status", "LatencyMs"} {
			if _, ok := f[k]; !ok {
				t.Errorf("log line %v lacks %s", f, k)
			}
		}
		if f["Code"] != x.code || f["Status"] != strconv.Itoa(x.status) {
			t.Errorf("log line %v: want Code=%q Status=%d", f, x.code, x.status)
		}
		if x.action != "" && f["Action"] != x.action {
			t.Errorf("log line %v: want Action=%s", f, x.action)
		}
		if x.key != "" && f["AccessKeyId"] != x.key {
			t.Errorf("log line %v: want AccessKeyId=%s", f, x.key)
		}
		if ms, err := strconv.ParseFloat(f["LatencyMs"], 64); err != nil || ms < 0 {
			t.Errorf("log line %v: LatencyMs is not a non-negative number", f)
		}
	}
	if strings.Contains(logs, testKeySecret) {
		t.Errorf("the log contains the AccessKeySecret")
	}
	for _, sig := range sigs {
		if strings.Contains(logs, sig) || strings.Contains(logs, rawPct(sig)) {
			t.Errorf("the log contains the Signature %s", sig)
		}
	}
}

// parseSlogLine splits a log/slog text line into its key=value fields.
func parseSlogLine(line string) map[string]string {
	out := map[string]string{}
	for {
		line = strings.TrimLeft(line, " ")
		eq := strings.IndexByte(line, '=')
		if eq <= 0 {
			return out
		}
		key := line[:eq]
		line = line[eq+1:]
		if strings.HasPrefix(line, `"`) {
			q, err := strconv.QuotedPrefix(line)
			if err != nil {
				return out
			}
			out[key], _ = strconv.Unquote(q)
			line = line[len(q):]
			continue
		}
		end := strings.IndexByte(line, ' ')
		if end < 0 {
			end = len(line)
		}
		out[key] = line[:end]
		line = line[end:]
	}
}

// TestNonceUsedAcrossRestart pins that a SignatureNonce stays used after a
// restart on the same database: a v1 and a v3 request answered before a
// SIGTERM are refused with SignatureNonceUsed when replayed to the new
// process (the v3 replay keeps its signed Host).
func TestNonceUsedAcrossRestart(t *testing.T) {
	s := StartServer(t)
	oldHost := s.Addr
	v1 := rawSignedV1("GET", rawDescribeParams(nil))
	v3, _, _ := gwV3Describe(s).sign()
	control, _, _ := gwV3Describe(s).sign()
	for _, req := range []rawRequest{v1.req, v3} {
		if r := rawSend(t, s.Endpoint, req); r.Status != http.StatusOK {
			t.Fatalf("first send: %d %s", r.Status, r.Body)
		}
	}
	s.Stop()
	s.Restart()
	if s.Addr == oldHost {
		t.Fatalf("restart kept address %s; the test needs a new one", s.Addr)
	}
	// A v3 request signed for the old Host, never sent, still verifies:
	// so a refused replay below is about the nonce, not the Host.
	if r := rawSend(t, s.Endpoint, control); r.Status != http.StatusOK {
		t.Fatalf("fresh v3 request with the old signed Host: %d %s, want 200", r.Status, r.Body)
	}
	for name, req := range map[string]rawRequest{"v1": v1.req, "v3": v3} {
		r := rawSend(t, s.Endpoint, req)
		if e := rawCheckError(t, r); r.Status != 400 || e.Code != "SignatureNonceUsed" {
			t.Errorf("%s replay after restart: %d %s, want 400 SignatureNonceUsed", name, r.Status, e.Code)
		}
	}
}

// TestTimestampWindow pins the 15-minute window around the real clock: a
// Timestamp (v1) or x-acs-date (v3) 14 minutes off either way is accepted,
// and after the admin API moves server time by 2h the window still
// follows the real clock (a timestamp at server time is expired).
func TestTimestampWindow(t *testing.T) {
	s := StartServer(t)
	check := func(name string, g gwRequest, status int, code string) {
		t.Helper()
		r := rawSend(t, s.Endpoint, g.req)
		got := ""
		if r.Status != http.StatusOK {
			got = rawCheckError(t, r).Code
		}
		if r.Status != status || got != code {
			t.Errorf("%s: %d %q, want %d %q", name, r.Status, got, status, code)
		}
	}
	v3At := func(at time.Time) gwRequest {
		v := gwV3Describe(s)
		v.Date = at
		return gwV3Signed(v)
	}
	v1At := func(at time.Time) gwRequest {
		return rawSignedV1("GET", rawDescribeParams(map[string]string{"Timestamp": rawTimestamp(at)}))
	}
	now := time.Now()
	for _, d := range []time.Duration{-14 * time.Minute, 14 * time.Minute} {
		check("v1 "+d.String(), v1At(now.Add(d)), 200, "")
		check("v3 "+d.String(), v3At(now.Add(d)), 200, "")
	}
	s.Advance(t, "2h")
	check("v1 real clock after +2h", v1At(time.Now()), 200, "")
	check("v3 real clock after +2h", v3At(time.Now()), 200, "")
	check("v1 server clock after +2h", v1At(time.Now().Add(2*time.Hour)), 400, "InvalidTimeStamp.Expired")
	check("v3 server clock after +2h", v3At(time.Now().Add(2*time.Hour)), 400, "InvalidTimeStamp.Expired")
}

// TestNonceIsPerAccessKey pins that a SignatureNonce is single-use per
// AccessKey: another key may use the same nonce once, and then not again.
func TestNonceIsPerAccessKey(t *testing.T) {
	s := StartServer(t)
	s.CreateAccount(t, "7770001", "LTAIsecondkey00000001", "second-secret-0123456789")
	nonce := rawNonce()
	first := rawSignedV1("GET", rawDescribeParams(map[string]string{"SignatureNonce": nonce}))
	if r := rawSend(t, s.Endpoint, first.req); r.Status != http.StatusOK {
		t.Fatalf("bootstrap key: %d %s", r.Status, r.Body)
	}
	p := rawDescribeParams(map[string]string{"SignatureNonce": nonce, "AccessKeyId": "LTAIsecondkey00000001"})
	rawSignV1("GET", "second-secret-0123456789", p)
	other := rawV1Request("GET", p, nil, false)
	if r := rawSend(t, s.Endpoint, other); r.Status != http.StatusOK {
		t.Fatalf("second key with the bootstrap key's nonce: %d %s, want 200", r.Status, r.Body)
	}
	r := rawSend(t, s.Endpoint, other)
	if e := rawCheckError(t, r); r.Status != 400 || e.Code != "SignatureNonceUsed" {
		t.Errorf("second key replayed: %d %s, want 400 SignatureNonceUsed", r.Status, e.Code)
	}
}
