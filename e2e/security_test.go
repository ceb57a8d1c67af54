package e2e

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"mime"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"moat/internal/admin"
)

// The security suite (docs/SECURITY.md): every attack docs/SECURITY.md lists, made
// against the real binary over real sockets, each with the exact HTTP
// status and Alibaba error code it must get. TestSecuritySuite runs them
// all and reports how many it ran. The groups live in security_*_test.go:
// replay, timestamps, credentials, smuggling and bad bytes here; sizes,
// slowloris, per-client and rate limits in security_limits_test.go;
// cross-tenant probes in security_tenant_test.go; RAM escalation in
// security_ram_test.go.

// secAttacks counts the attacks TestSecuritySuite made.
var secAttacks atomic.Int64

// secAttack is one attack and the exact answer it must get.
type secAttack struct {
	name   string
	status int
	code   string // "" for a body that is not Alibaba's envelope (net/http's own 4xx)
	send   func(t *testing.T) rawResponse
	// checked: send asserted the answer itself (the admin API's envelope).
	checked bool
}

// secRun runs attacks as subtests, counting each.
func secRun(t *testing.T, attacks []secAttack) {
	t.Helper()
	for _, a := range attacks {
		t.Run(a.name, func(t *testing.T) {
			secAttacks.Add(1)
			r := a.send(t)
			if !a.checked {
				secWant(t, r, a.status, a.code)
			}
		})
	}
}

// secWant asserts an answer's status and code; bad input never gets a 5xx.
func secWant(t *testing.T, r rawResponse, status int, code string) {
	t.Helper()
	if r.Status >= 500 {
		t.Fatalf("status %d: bad input must never get a 5xx: %s", r.Status, r.Body)
	}
	if status == http.StatusOK {
		if r.Status != http.StatusOK {
			t.Fatalf("status %d, want 200: %s", r.Status, r.Body)
		}
		return
	}
	got := ""
	if code != "" || r.RequestID != "" {
		got = secEnvelope(t, r).Code
	} else if !strings.HasPrefix(string(r.Body), fmt.Sprint(status)+" ") {
		// net/http's own refusal: "400 Bad Request…", "431 Request…".
		t.Errorf("body %q, want net/http's plain %d answer", r.Body, status)
	}
	if r.Status != status || got != code {
		t.Fatalf("got %d %q, want %d %q: %s", r.Status, got, status, code, r.Body)
	}
}

// TestSecuritySuite is the security suite's entry point: replays, timestamp
// skew, foreign secrets, parameter smuggling, bad bytes, oversized
// requests, slowloris, per-client and rate limits, cross-tenant probes
// and RAM escalation, each answered with its exact code, the server
// serving normal calls throughout. It ends with the number of attacks.
func TestSecuritySuite(t *testing.T) {
	secAttacks.Store(0)
	env := newSecEnv(t)
	t.Run("replay", func(t *testing.T) { secReplay(t, env) })
	t.Run("timestamps", func(t *testing.T) { secTimestamps(t, env) })
	t.Run("credentials", func(t *testing.T) { secCredentials(t, env) })
	t.Run("smuggling", func(t *testing.T) { secSmuggling(t, env) })
	t.Run("bad bytes", func(t *testing.T) { secBadBytes(t, env) })
	t.Run("sizes", func(t *testing.T) { secSizes(t, env) })
	t.Run("connections", func(t *testing.T) { secConnections(t) })
	t.Run("hostile JSON", func(t *testing.T) { secHostileJSON(t, env) })
	t.Run("cross-tenant", func(t *testing.T) { secCrossTenant(t, env) })
	t.Run("ram", func(t *testing.T) { secRAM(t, env) })
	t.Run("ram per instance and domain", func(t *testing.T) { secRulesRAM(t, env) })
	t.Run("replay after kill -9", secReplayAfterKill)
	// The server answered every attack and still serves; its log shows no
	// 5xx and no secret.
	env.healthy(t)
	t.Run("log: no 5xx, no secret", func(t *testing.T) { env.checkLog(t) })
	n := secAttacks.Load()
	if n == 0 {
		t.Fatal("no attack ran")
	}
	if t.Failed() {
		t.Logf("security suite: %d attacks, some not refused as expected (see above)", n)
		return
	}
	t.Logf("security suite: %d attacks, all refused as expected", n)
}

// Accounts of the suite: A owns the instances B probes.
const (
	secAcctA, secKeyA, secSecretA = "1000000000000101", "LTAIsecurityaccountA0101", "security-account-a-secret-0101"
	secAcctB, secKeyB, secSecretB = "1000000000000202", "LTAIsecurityaccountB0202", "security-account-b-secret-0202"
)

// secKey signs requests: a permanent key, or STS credentials with a token.
type secKey struct{ id, secret, token string }

var (
	keyA = secKey{id: secKeyA, secret: secSecretA}
	keyB = secKey{id: secKeyB, secret: secSecretB}
)

// secEnv is the suite's main server and what lives in it.
type secEnv struct {
	s *Server
	// A's instances: a Pro one (tagged, with a remark) and a Premium one,
	// plus an expired Pro one; B's own Pro instance.
	aPro, aPremium, aExpired, bPro admin.Instance
	// aRuleSecrets are what B must never see of A's rules (domains,
	// CNAMEs, origins, certificate name, source lists); aCertID is A's
	// certificate.
	aRuleSecrets []string
	aCertID      string
	// secrets are every secret and token the suite used on s.
	secrets []string
}

// checkLog stops the server (its log is complete once it has exited) and
// checks that no request got a 5xx and that no secret, token or
// signature of the suite's keys was logged.
func (e *secEnv) checkLog(t *testing.T) {
	e.s.Stop()
	logs := e.s.Logs()
	requests := 0
	for _, line := range strings.Split(logs, "\n") {
		f := parseSlogLine(line)
		if f["msg"] != "request" {
			continue
		}
		requests++
		if strings.HasPrefix(f["Status"], "5") {
			t.Errorf("a request got a 5xx: %s", line)
		}
	}
	for _, x := range []string{"panic", "goroutine ", "runtime error"} {
		if strings.Contains(logs, x) {
			t.Errorf("the log shows %q: a handler failed", x)
		}
	}
	if requests < 200 {
		t.Errorf("only %d request lines in the log", requests)
	}
	for _, x := range e.secrets {
		if x != "" && strings.Contains(logs, x) {
			t.Errorf("the log contains the secret or token %q", x)
		}
	}
}

const (
	secTagKey, secTagValue = "team-a-secret-key", "team-a-secret-value"
	secRemark              = "account-a-private-remark"
)

func newSecEnv(t *testing.T) *secEnv {
	s := StartServer(t)
	s.CreateAccount(t, secAcctA, secKeyA, secSecretA)
	s.CreateAccount(t, secAcctB, secKeyB, secSecretB)
	e := &secEnv{s: s, secrets: []string{secSecretA, secSecretB, testKeySecret}}
	e.aPro = s.CreateInstances(t, admin.InstancesRequest{AccessKeyId: secKeyA, ExpireIn: "720h", Remark: secRemark,
		Tags: []admin.TagItem{{Key: secTagKey, Value: secTagValue}}})[0]
	e.aPremium = s.CreateInstances(t, admin.InstancesRequest{AccessKeyId: secKeyA, RegionId: "ap-southeast-1", ExpireIn: "720h", Remark: secRemark,
		Tags: []admin.TagItem{{Key: secTagKey, Value: secTagValue}}})[0]
	e.aExpired = s.CreateInstances(t, admin.InstancesRequest{AccessKeyId: secKeyA, ExpireIn: "-1h", Remark: secRemark})[0]
	e.bPro = s.CreateInstances(t, admin.InstancesRequest{AccessKeyId: secKeyB, ExpireIn: "720h", Remark: "b-own"})[0]
	e.rules(t)
	return e
}

// secParams are a v1 request's common parameters for k, Format JSON, plus
// extra; version 2020-01-01 unless extra sets Version.
func secParams(k secKey, action string, extra map[string]string) map[string]string {
	p := rawV1Params(action, map[string]string{"AccessKeyId": k.id, "Format": "JSON"})
	if k.token != "" {
		p["SecurityToken"] = k.token
	}
	maps.Copy(p, extra)
	return p
}

// v1 signs a POST with every parameter in the query (the sdk-go v1 shape).
func (k secKey) v1(action string, extra map[string]string) rawRequest {
	p := secParams(k, action, extra)
	rawSignV1("POST", k.secret, p)
	return rawV1Request("POST", p, nil, false)
}

// v3 is a signature v3 request by k to the server (not yet signed).
func (k secKey) v3(s *Server, action string, query map[string]string) rawV3Request {
	v := rawV3Request{Action: action, Query: query, Host: s.Addr, KeyID: k.id, Secret: k.secret}
	if k.token != "" {
		v.Header = http.Header{"X-Acs-Security-Token": {k.token}}
	}
	return v
}

func bssParamsOf(extra map[string]string) map[string]string {
	p := map[string]string{"Version": "2017-12-14", "ProductCode": "ddos"}
	maps.Copy(p, extra)
	return p
}

// secSend sends r and checks what every gateway answer has: a RequestId
// header, and for an error the JSON envelope (secEnvelope).
func secSend(t *testing.T, s *Server, r rawRequest) rawResponse {
	t.Helper()
	return secSendTo(t, s.Endpoint, http.DefaultClient, r)
}

func secSendTo(t *testing.T, endpoint string, hc *http.Client, r rawRequest) rawResponse {
	t.Helper()
	out := rawDo(t, endpoint, hc, r)
	if out.Status >= 300 {
		secEnvelope(t, out)
	}
	return out
}

// secError is the error envelope, with Forbidden.RAM's AccessDeniedDetail.
type secError struct {
	RequestId, HostId, Code, Message, Recommend string
	AccessDeniedDetail                          *struct {
		AuthAction, AuthPrincipalType, NoPermissionType, PolicyType string
	}
}

// secEnvelope asserts an error is the JSON envelope with exactly
// RequestId, HostId, Code, Message and Recommend (and AccessDeniedDetail
// exactly when the code is Forbidden.RAM), carrying the header's RequestId.
func secEnvelope(t *testing.T, r rawResponse) secError {
	t.Helper()
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		t.Fatalf("error Content-Type = %q, want application/json: %s", r.Header.Get("Content-Type"), r.Body)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(r.Body, &fields); err != nil {
		t.Fatalf("error body is not a JSON object: %v: %s", err, r.Body)
	}
	var e secError
	if err := json.Unmarshal(r.Body, &e); err != nil {
		t.Fatalf("error body: %v: %s", err, r.Body)
	}
	want := []string{"Code", "HostId", "Message", "Recommend", "RequestId"}
	if e.Code == "Forbidden.RAM" {
		want = []string{"AccessDeniedDetail", "Code", "HostId", "Message", "Recommend", "RequestId"}
	}
	if keys := slices.Sorted(maps.Keys(fields)); !slices.Equal(keys, want) {
		t.Errorf("error body keys = %v, want exactly %v: %s", keys, want, r.Body)
	}
	if e.RequestId != r.RequestID {
		t.Errorf("body RequestId %q != header x-acs-request-id %q", e.RequestId, r.RequestID)
	}
	return e
}

// healthy asserts that a normal signed call is served.
func (e *secEnv) healthy(t *testing.T) {
	t.Helper()
	var d rawDescribe
	rawOKJSON(t, secSend(t, e.s, keyA.v1("DescribeInstances", map[string]string{"PageNumber": "1", "PageSize": "10"})), &d)
	if d.TotalCount != 2 {
		// A's Pro and expired instances in cn-hangzhou: no attack released one.
		t.Fatalf("healthy check: TotalCount %d, want A's 2 instances in cn-hangzhou", d.TotalCount)
	}
}

// describe is a signed DescribeInstances by A.
func (e *secEnv) describe(extra map[string]string) map[string]string {
	p := map[string]string{"PageNumber": "1", "PageSize": "10"}
	maps.Copy(p, extra)
	return secParams(keyA, "DescribeInstances", p)
}

// ---- replay ----

func secReplay(t *testing.T, e *secEnv) {
	s := e.s
	primed := func(r rawRequest) func(t *testing.T) rawResponse {
		return func(t *testing.T) rawResponse {
			secWant(t, secSend(t, s, r), 200, "")
			return secSend(t, s, r)
		}
	}
	v3 := func(action string, q map[string]string) rawRequest {
		r, _, _ := keyA.v3(s, action, q).sign()
		return r
	}
	secRun(t, []secAttack{
		{name: "v1 same request twice", status: 400, code: "SignatureNonceUsed", send: primed(keyA.v1("DescribeInstances", map[string]string{"PageNumber": "1", "PageSize": "10"}))},
		{name: "v3 same request twice", status: 400, code: "SignatureNonceUsed", send: primed(v3("DescribeInstances", map[string]string{"PageNumber": "1", "PageSize": "10"}))},
		{name: "v1 write replayed", status: 400, code: "SignatureNonceUsed", send: primed(keyA.v1("ModifyInstanceRemark", map[string]string{"InstanceId": e.aPro.InstanceId, "Remark": secRemark}))},
		{name: "v1 nonce reused with other parameters", status: 400, code: "SignatureNonceUsed", send: func(t *testing.T) rawResponse {
			first := keyA.v1("DescribeInstances", map[string]string{"PageNumber": "1", "PageSize": "10", "SignatureNonce": "replayed-nonce-v1"})
			secWant(t, secSend(t, s, first), 200, "")
			return secSend(t, s, keyA.v1("DescribeInstanceIds", map[string]string{"SignatureNonce": "replayed-nonce-v1"}))
		}},
		{name: "v3 nonce reused with another action", status: 400, code: "SignatureNonceUsed", send: func(t *testing.T) rawResponse {
			v := keyA.v3(s, "DescribeInstances", map[string]string{"PageNumber": "1", "PageSize": "10"})
			v.Nonce = "replayed-nonce-v3"
			r, _, _ := v.sign()
			secWant(t, secSend(t, s, r), 200, "")
			v = keyA.v3(s, "DescribeInstanceIds", nil)
			v.Nonce = "replayed-nonce-v3"
			r, _, _ = v.sign()
			return secSend(t, s, r)
		}},
		{name: "v1 nonce of a v3 request", status: 400, code: "SignatureNonceUsed", send: func(t *testing.T) rawResponse {
			v := keyA.v3(s, "DescribeInstanceIds", nil)
			v.Nonce = "nonce-shared-by-v1-and-v3"
			r, _, _ := v.sign()
			secWant(t, secSend(t, s, r), 200, "")
			return secSend(t, s, keyA.v1("DescribeInstanceIds", map[string]string{"SignatureNonce": "nonce-shared-by-v1-and-v3"}))
		}},
	})
}

// secReplayAfterKill pins that nonces are durable: requests answered
// before a kill -9 are refused when replayed to the restarted server.
func secReplayAfterKill(t *testing.T) {
	s := StartServer(t)
	s.CreateAccount(t, secAcctA, secKeyA, secSecretA)
	v1 := keyA.v1("DescribeInstanceIds", nil)
	v3, _, _ := keyA.v3(s, "DescribeInstanceIds", nil).sign()
	for _, r := range []rawRequest{v1, v3} {
		secWant(t, secSend(t, s, r), 200, "")
	}
	s.Kill()
	s.Restart()
	secRun(t, []secAttack{
		{name: "v1 replayed after kill -9 and restart", status: 400, code: "SignatureNonceUsed", send: func(t *testing.T) rawResponse { return secSend(t, s, v1) }},
		// The v3 request keeps the old signed host (the port changed), so
		// the replay goes to the new address with the old Host header.
		{name: "v3 replayed after kill -9 and restart", status: 400, code: "SignatureNonceUsed", send: func(t *testing.T) rawResponse { return secSend(t, s, v3) }},
	})
}

// ---- timestamps ----

func secTimestamps(t *testing.T, e *secEnv) {
	s := e.s
	v1At := func(ts string) func(t *testing.T) rawResponse {
		return func(t *testing.T) rawResponse {
			return secSend(t, s, keyA.v1("DescribeInstanceIds", map[string]string{"Timestamp": ts}))
		}
	}
	v3At := func(at time.Time, raw string) func(t *testing.T) rawResponse {
		return func(t *testing.T) rawResponse {
			v := keyA.v3(s, "DescribeInstanceIds", nil)
			v.Date = at
			if raw != "" {
				v.Header = http.Header{"X-Acs-Date": {raw}}
			}
			r, _, _ := v.sign()
			return secSend(t, s, r)
		}
	}
	now := time.Now()
	secRun(t, []secAttack{
		{name: "v1 Timestamp 16 minutes ahead", status: 400, code: "InvalidTimeStamp.Expired", send: v1At(rawTimestamp(now.Add(16 * time.Minute)))},
		{name: "v1 Timestamp 16 minutes behind", status: 400, code: "InvalidTimeStamp.Expired", send: v1At(rawTimestamp(now.Add(-16 * time.Minute)))},
		{name: "v1 Timestamp a day behind", status: 400, code: "InvalidTimeStamp.Expired", send: v1At(rawTimestamp(now.Add(-24 * time.Hour)))},
		{name: "v1 Timestamp in year 9999", status: 400, code: "InvalidTimeStamp.Expired", send: v1At("9999-12-31T23:59:59Z")},
		{name: "v1 Timestamp 16 minutes ahead in another zone", status: 400, code: "InvalidTimeStamp.Expired", send: v1At(now.Add(16 * time.Minute).In(time.FixedZone("", 8*3600)).Format(time.RFC3339))},
		{name: "v3 x-acs-date 16 minutes ahead", status: 400, code: "InvalidTimeStamp.Expired", send: v3At(now.Add(16*time.Minute), "")},
		{name: "v3 x-acs-date 16 minutes behind", status: 400, code: "InvalidTimeStamp.Expired", send: v3At(now.Add(-16*time.Minute), "")},
		{name: "v1 Timestamp with a space", status: 400, code: "InvalidTimeStamp.Format", send: v1At("2024-01-01 00:00:00")},
		{name: "v1 Timestamp as Unix seconds", status: 400, code: "InvalidTimeStamp.Format", send: v1At("1700000000")},
		{name: "v1 Timestamp without a zone", status: 400, code: "InvalidTimeStamp.Format", send: v1At(now.UTC().Format("2006-01-02T15:04:05"))},
		{name: "v1 Timestamp with month 13", status: 400, code: "InvalidTimeStamp.Format", send: v1At("2024-13-01T00:00:00Z")},
		{name: "v3 x-acs-date not a date", status: 400, code: "InvalidTimeStamp.Format", send: v3At(time.Time{}, "yesterday")},
		{name: "v3 x-acs-date in RFC 1123", status: 400, code: "InvalidTimeStamp.Format", send: v3At(time.Time{}, now.UTC().Format(http.TimeFormat))},
	})
}

// ---- credentials ----

func secCredentials(t *testing.T, e *secEnv) {
	s := e.s
	v3With := func(k secKey, tweak func(*rawV3Request)) func(t *testing.T) rawResponse {
		return func(t *testing.T) rawResponse {
			v := k.v3(s, "DescribeInstanceIds", nil)
			if tweak != nil {
				tweak(&v)
			}
			r, _, _ := v.sign()
			return secSend(t, s, r)
		}
	}
	v1With := func(k secKey, extra map[string]string) func(t *testing.T) rawResponse {
		return func(t *testing.T) rawResponse { return secSend(t, s, k.v1("DescribeInstanceIds", extra)) }
	}
	unknown := secKey{id: "LTAInosuchkey0000000000", secret: "whatever"}
	secRun(t, []secAttack{
		{name: "v1 signed with another secret", status: 400, code: "SignatureDoesNotMatch", send: v1With(secKey{id: secKeyA, secret: "guessed-secret"}, nil)},
		{name: "v1 A's key signed with B's secret", status: 400, code: "SignatureDoesNotMatch", send: v1With(secKey{id: secKeyA, secret: secSecretB}, nil)},
		{name: "v1 secret with the & already appended", status: 400, code: "SignatureDoesNotMatch", send: v1With(secKey{id: secKeyA, secret: secSecretA + "&"}, nil)},
		{name: "v3 signed with another secret", status: 400, code: "SignatureDoesNotMatch", send: v3With(secKey{id: secKeyA, secret: "guessed-secret"}, nil)},
		{name: "v3 A's key signed with B's secret", status: 400, code: "SignatureDoesNotMatch", send: v3With(secKey{id: secKeyA, secret: secSecretB}, nil)},
		{name: "v3 signed with the v1 key (secret&)", status: 400, code: "SignatureDoesNotMatch", send: v3With(secKey{id: secKeyA, secret: secSecretA + "&"}, nil)},
		{name: "v1 unknown AccessKeyId", status: 404, code: "InvalidAccessKeyId.NotFound", send: v1With(unknown, nil)},
		{name: "v3 unknown AccessKeyId", status: 404, code: "InvalidAccessKeyId.NotFound", send: v3With(unknown, nil)},
		{name: "v1 AccessKeyId in another case", status: 404, code: "InvalidAccessKeyId.NotFound", send: v1With(secKey{id: strings.ToLower(secKeyA), secret: secSecretA}, nil)},
		{name: "v1 empty Signature", status: 400, code: "MissingSignature", send: func(t *testing.T) rawResponse {
			p := secParams(keyA, "DescribeInstanceIds", nil)
			p["Signature"] = ""
			return secSend(t, s, rawV1Request("POST", p, nil, false))
		}},
		{name: "v1 SignatureType BEARERTOKEN", status: 400, code: "IncompleteSignature", send: v1With(keyA, map[string]string{"SignatureType": "BEARERTOKEN", "BearerToken": "x"})},
		{name: "v1 permanent key with a SecurityToken", status: 400, code: "InvalidSecurityToken.MalformedToken", send: v1With(secKey{id: secKeyA, secret: secSecretA, token: "CAISforged"}, nil)},
		{name: "v3 signature in upper-case hex", status: 400, code: "SignatureDoesNotMatch", send: func(t *testing.T) rawResponse {
			r, _, sig := keyA.v3(s, "DescribeInstanceIds", nil).sign()
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), sig, strings.ToUpper(sig), 1))
			return secSend(t, s, r)
		}},
		{name: "v3 algorithm ACS3-HMAC-SM3", status: 400, code: "IncompleteSignature", send: func(t *testing.T) rawResponse {
			r, _, _ := keyA.v3(s, "DescribeInstanceIds", nil).sign()
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "ACS3-HMAC-SHA256", "ACS3-HMAC-SM3", 1))
			return secSend(t, s, r)
		}},
	})
}

// ---- smuggling ----

func secSmuggling(t *testing.T, e *secEnv) {
	s := e.s
	form := func(r rawRequest, body string) rawRequest {
		r.Body = body
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return r
	}
	send := func(build func() rawRequest) func(t *testing.T) rawResponse {
		return func(t *testing.T) rawResponse { return secSend(t, s, build()) }
	}
	signedV1 := func(p map[string]string) rawRequest {
		rawSignV1("POST", secSecretA, p)
		return rawV1Request("POST", p, nil, false)
	}
	v3Signed := func(tweak func(*rawV3Request)) rawRequest {
		v := keyA.v3(s, "DescribeInstances", map[string]string{"PageNumber": "1", "PageSize": "10"})
		if tweak != nil {
			tweak(&v)
		}
		r, _, _ := v.sign()
		return r
	}
	release := e.aExpired.InstanceId // an expired instance: a smuggled release would succeed
	secRun(t, []secAttack{
		// The same name twice, in any of the places it can come from.
		{name: "PageSize in the query and the body", status: 400, code: "InvalidParameter", send: send(func() rawRequest {
			return form(signedV1(e.describe(nil)), "PageSize=50")
		})},
		{name: "Action in the query and ReleaseInstance in the body", status: 400, code: "InvalidParameter", send: send(func() rawRequest {
			return form(signedV1(e.describe(map[string]string{"InstanceId": release})), "Action=ReleaseInstance")
		})},
		{name: "PageSize twice in the query, same value", status: 400, code: "InvalidParameter", send: send(func() rawRequest {
			r := signedV1(e.describe(nil))
			r.RawQuery += "&PageSize=10"
			return r
		})},
		{name: "Action twice in the query, signed first", status: 400, code: "InvalidParameter", send: send(func() rawRequest {
			r := signedV1(e.describe(map[string]string{"InstanceId": release}))
			r.RawQuery += "&Action=ReleaseInstance"
			return r
		})},
		{name: "Action twice in the body", status: 400, code: "InvalidParameter", send: send(func() rawRequest {
			p := e.describe(map[string]string{"InstanceId": release})
			rawSignV1("POST", secSecretA, p)
			r := rawV1Request("POST", p, rawAllInBody, false)
			r.Body += "&Action=ReleaseInstance"
			return r
		})},
		// Names that differ only in case.
		{name: "action=ReleaseInstance beside Action, both signed", status: 400, code: "InvalidParameter", send: send(func() rawRequest {
			return signedV1(e.describe(map[string]string{"action": "ReleaseInstance", "InstanceId": release}))
		})},
		{name: "action=ReleaseInstance added after signing", status: 400, code: "InvalidParameter", send: send(func() rawRequest {
			r := signedV1(e.describe(map[string]string{"InstanceId": release}))
			r.RawQuery += "&action=ReleaseInstance"
			return r
		})},
		{name: "signature beside Signature", status: 400, code: "InvalidParameter", send: send(func() rawRequest {
			r := signedV1(e.describe(nil))
			r.RawQuery += "&signature=forged"
			return r
		})},
		{name: "signature alone, lower-case", status: 400, code: "MissingSignature", send: send(func() rawRequest {
			r := signedV1(e.describe(nil))
			r.RawQuery = strings.Replace(r.RawQuery, "Signature=", "signature=", 1)
			return r
		})},
		{name: "pagesize in the body beside PageSize in the query", status: 400, code: "InvalidParameter", send: send(func() rawRequest {
			return form(signedV1(e.describe(nil)), "pagesize=50")
		})},
		// Signature in the body.
		{name: "second Signature in the body", status: 400, code: "InvalidParameter", send: send(func() rawRequest {
			return form(signedV1(e.describe(nil)), "Signature=forged")
		})},
		{name: "forged Signature in the body, the rest signed in the query", status: 400, code: "SignatureDoesNotMatch", send: send(func() rawRequest {
			p := e.describe(nil)
			rawSignV1("POST", secSecretA, p)
			p["Signature"] = rawHMACV1("guessed", rawSTSV1("POST", p))
			return rawV1Request("POST", p, func(k string) bool { return k == "Signature" }, false)
		})},
		// Parameters added or changed after signing.
		{name: "InstanceIds.1 added to the query after signing", status: 400, code: "SignatureDoesNotMatch", send: send(func() rawRequest {
			r := signedV1(e.describe(nil))
			r.RawQuery += "&InstanceIds.1=" + e.aPro.InstanceId
			return r
		})},
		{name: "InstanceId added in the body after signing", status: 400, code: "SignatureDoesNotMatch", send: send(func() rawRequest {
			return form(signedV1(secParams(keyA, "ReleaseInstance", map[string]string{"InstanceId": e.aPro.InstanceId})), "RegionId=cn-hangzhou")
		})},
		{name: "Action changed after signing", status: 400, code: "SignatureDoesNotMatch", send: send(func() rawRequest {
			r := signedV1(e.describe(map[string]string{"InstanceId": release}))
			r.RawQuery = strings.Replace(r.RawQuery, "Action=DescribeInstances", "Action=ReleaseInstance", 1)
			return r
		})},
		{name: "Version changed to BSS after signing", status: 400, code: "SignatureDoesNotMatch", send: send(func() rawRequest {
			r := signedV1(secParams(keyA, "ModifyInstance", map[string]string{"InstanceId": e.aPro.InstanceId, "ModifyType": "Upgrade", "ProductType": "ddoscoo", "PortCount": "60"}))
			r.RawQuery = strings.Replace(r.RawQuery, "Version=2020-01-01", "Version=2017-12-14", 1)
			return r
		})},
		{name: "%2B turned into + (a space) after signing", status: 400, code: "SignatureDoesNotMatch", send: send(func() rawRequest {
			r := signedV1(secParams(keyA, "ModifyInstanceRemark", map[string]string{"InstanceId": e.aPro.InstanceId, "Remark": "a+b"}))
			r.RawQuery = strings.Replace(r.RawQuery, "a%2Bb", "a+b", 1)
			return r
		})},
		{name: "unsigned body of another Content-Type is not read", status: 400, code: "MissingInstanceId", send: send(func() rawRequest {
			r := signedV1(secParams(keyA, "ReleaseInstance", nil))
			r.Body = "InstanceId=" + release
			r.Header.Set("Content-Type", "text/plain")
			return r
		})},
		// Signature v3: every header that routes or authenticates is signed.
		{name: "v3 x-acs-action left out of SignedHeaders", status: 400, code: "IncompleteSignature", send: send(func() rawRequest {
			return v3Signed(func(v *rawV3Request) { v.Omit = []string{"x-acs-action"} })
		})},
		{name: "v3 x-acs-signature-nonce left out of SignedHeaders", status: 400, code: "IncompleteSignature", send: send(func() rawRequest {
			return v3Signed(func(v *rawV3Request) { v.Omit = []string{"x-acs-signature-nonce"} })
		})},
		{name: "v3 host left out of SignedHeaders", status: 400, code: "IncompleteSignature", send: send(func() rawRequest {
			return v3Signed(func(v *rawV3Request) { v.Omit = []string{"host"} })
		})},
		{name: "v3 x-acs-action changed after signing", status: 400, code: "SignatureDoesNotMatch", send: send(func() rawRequest {
			r := v3Signed(nil)
			r.Header.Set("x-acs-action", "DescribeInstanceIds")
			return r
		})},
		{name: "v3 second x-acs-action header", status: 400, code: "InvalidParameter", send: send(func() rawRequest {
			r := v3Signed(nil)
			r.Header.Add("x-acs-action", "ReleaseInstance")
			return r
		})},
		{name: "v3 second Authorization header", status: 400, code: "InvalidParameter", send: send(func() rawRequest {
			r := v3Signed(nil)
			r.Header.Add("Authorization", "ACS3-HMAC-SHA256 Credential="+secKeyB+",SignedHeaders=host,Signature=00")
			return r
		})},
		{name: "v3 body changed, hash kept", status: 400, code: "SignatureDoesNotMatch", send: send(func() rawRequest {
			r := v3Signed(func(v *rawV3Request) {
				v.Body = []byte("Remark=" + secRemark)
				v.Header = http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
			})
			r.Body = "Remark=other"
			return r
		})},
		{name: "v3 body changed, hash recomputed", status: 400, code: "SignatureDoesNotMatch", send: send(func() rawRequest {
			r := v3Signed(func(v *rawV3Request) {
				v.Body = []byte("Remark=" + secRemark)
				v.Header = http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
			})
			r.Body = "Remark=other"
			r.Header.Set("x-acs-content-sha256", secHash([]byte(r.Body)))
			return r
		})},
		{name: "v3 body added to a request signed without one", status: 400, code: "SignatureDoesNotMatch", send: send(func() rawRequest {
			r := v3Signed(nil)
			r.Body = "InstanceIds.1=" + e.aPro.InstanceId
			return r
		})},
		{name: "v3 form body with an unsigned Content-Type", status: 400, code: "IncompleteSignature", send: send(func() rawRequest {
			return v3Signed(func(v *rawV3Request) {
				v.Body = []byte("Remark=" + secRemark)
				v.Header = http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
				v.Omit = []string{"content-type"}
			})
		})},
		{name: "v3 query parameter added after signing", status: 400, code: "SignatureDoesNotMatch", send: send(func() rawRequest {
			r := v3Signed(nil)
			r.RawQuery += "&InstanceIds.1=" + e.aPro.InstanceId
			return r
		})},
		{name: "v3 two query parameters merged into one name", status: 400, code: "InvalidParameter", send: send(func() rawRequest {
			// Signed as PageNumber=1&PageSize=10; sent as the single name
			// "PageNumber=1&PageSize" with value 10: the same canonical
			// query, had names been allowed to hold '=' and '&'.
			r := v3Signed(nil)
			r.RawQuery = "PageNumber%3D1%26PageSize=10"
			return r
		})},
		{name: "v3 Host changed after signing", status: 400, code: "SignatureDoesNotMatch", send: send(func() rawRequest {
			r := v3Signed(nil)
			r.Host = "ddoscoo.ap-southeast-1.aliyuncs.com"
			return r
		})},
		{name: "v3 unsigned x-acs-security-token", status: 400, code: "IncompleteSignature", send: send(func() rawRequest {
			r := v3Signed(nil)
			r.Header.Set("x-acs-security-token", "CAISforged")
			return r
		})},
		{name: "v3 SignedHeaders in upper case", status: 400, code: "IncompleteSignature", send: send(func() rawRequest {
			r := v3Signed(nil)
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "x-acs-action", "X-Acs-Action", 1))
			return r
		})},
	})
	// The controls: what the smuggling cases bent is accepted when sent as
	// the clients send it, and A's expired instance was not released.
	t.Run("control: Signature in the body (pop-core)", func(t *testing.T) {
		p := e.describe(nil)
		rawSignV1("POST", secSecretA, p)
		secWant(t, secSend(t, s, rawV1Request("POST", p, func(k string) bool { return k == "Signature" }, false)), 200, "")
	})
	t.Run("control: the expired instance is still there", func(t *testing.T) {
		var d rawDescribe
		rawOKJSON(t, secSend(t, s, signedV1(e.describe(map[string]string{"InstanceIds.1": release}))), &d)
		if d.TotalCount != 1 {
			t.Fatalf("A's expired instance %s: TotalCount %d, want 1 (not released)", release, d.TotalCount)
		}
	})
}

// secHash is the lower-case hex SHA-256 of b (x-acs-content-sha256).
func secHash(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// ---- bad bytes ----

func secBadBytes(t *testing.T, e *secEnv) {
	s := e.s
	query := func(extra string) func(t *testing.T) rawResponse {
		return func(t *testing.T) rawResponse {
			p := e.describe(nil)
			rawSignV1("POST", secSecretA, p)
			r := rawV1Request("POST", p, nil, false)
			r.RawQuery += "&" + extra
			return secSend(t, s, r)
		}
	}
	body := func(extra string) func(t *testing.T) rawResponse {
		return func(t *testing.T) rawResponse {
			p := e.describe(nil)
			rawSignV1("POST", secSecretA, p)
			r := rawV1Request("POST", p, rawAllInBody, false)
			r.Body += "&" + extra
			return secSend(t, s, r)
		}
	}
	// Raw bytes the percent-encoding would hide, sent as they are.
	wire := func(target string, headers string) func(t *testing.T) rawResponse {
		return func(t *testing.T) rawResponse {
			return secRawHTTP(t, s.Addr, "POST "+target+" HTTP/1.1\r\nHost: "+s.Addr+"\r\nContent-Length: 0\r\n"+headers+"\r\n")
		}
	}
	secRun(t, []secAttack{
		{name: "non-UTF-8 value in the query", status: 400, code: "InvalidParameter", send: query("Remark=%FF%FE")},
		{name: "non-UTF-8 name in the query", status: 400, code: "InvalidParameter", send: query("%FF%FE=1")},
		{name: "NUL in a query value", status: 400, code: "InvalidParameter", send: query("Remark=a%00b")},
		{name: "NUL in a query name", status: 400, code: "InvalidParameter", send: query("Re%00mark=a")},
		{name: "overlong UTF-8 in the query", status: 400, code: "InvalidParameter", send: query("Remark=%C0%AF")},
		{name: "UTF-16 surrogate in the query", status: 400, code: "InvalidParameter", send: query("Remark=%ED%A0%80")},
		{name: "bad escape in the query", status: 400, code: "InvalidParameter", send: query("Remark=%zz")},
		{name: "truncated escape in the query", status: 400, code: "InvalidParameter", send: query("Remark=%E4%B8")},
		{name: "empty name in the query", status: 400, code: "InvalidParameter", send: query("=1")},
		{name: "non-UTF-8 value in the body", status: 400, code: "InvalidParameter", send: body("Remark=%FF%FE")},
		{name: "non-UTF-8 name in the body", status: 400, code: "InvalidParameter", send: body("%FF=1")},
		{name: "NUL in a body value", status: 400, code: "InvalidParameter", send: body("Remark=%00")},
		{name: "NUL in a body name", status: 400, code: "InvalidParameter", send: body("%00=1")},
		{name: "bad escape in the body", status: 400, code: "InvalidParameter", send: body("Remark=%G0")},
		{name: "raw 0xFF bytes in the request line", status: 400, code: "InvalidParameter", send: wire("/?Action=DescribeInstances&Remark=\xff\xfe", "")},
		// net/http refuses these before moat sees them: a plain-text 400.
		{name: "raw NUL in the request line", status: 400, code: "", send: wire("/?Remark=a\x00b", "")},
		{name: "raw NUL in a header value", status: 400, code: "", send: wire("/", "x-acs-date: 2024\x00\r\n")},
	})
	e.healthy(t)
}

// secRawHTTP writes a request exactly as given on a new connection and
// reads the answer.
func secRawHTTP(t *testing.T, addr, raw string) rawResponse {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	go io.WriteString(c, raw) // the server may answer before reading it all
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("read answer: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	out := rawResponse{Status: resp.StatusCode, Header: resp.Header, Body: b, RequestID: resp.Header.Get("x-acs-request-id")}
	if out.RequestID != "" && !rawRequestIDRE.MatchString(out.RequestID) {
		t.Fatalf("x-acs-request-id = %q", out.RequestID)
	}
	return out
}
