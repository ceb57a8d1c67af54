package acs

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"moat/internal/moat"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

type fakeCreds struct {
	mu     sync.Mutex
	keys   map[string]moat.AccessKey
	nonces map[string]bool
}

func newFakeCreds() *fakeCreds {
	return &fakeCreds{
		keys: map[string]moat.AccessKey{
			"AK1":      {ID: "AK1", Secret: "secret1", AccountID: "100", Active: true},
			"DISABLED": {ID: "DISABLED", Secret: "secret2", AccountID: "100", Active: false},
		},
		nonces: map[string]bool{},
	}
}

func (f *fakeCreds) AccessKey(_ context.Context, id string) (moat.AccessKey, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	k, ok := f.keys[id]
	if !ok {
		return k, moat.Errorf(moat.CodeInvalidAccessKeyNotFound, "Specified access key is not found.")
	}
	return k, nil
}

func (f *fakeCreds) CheckSecurityToken(k moat.AccessKey, token string) error {
	if token != "" {
		return moat.Errorf(moat.CodeInvalidSecurityTokenMalformed, "no tokens here")
	}
	return nil
}

func (f *fakeCreds) Authorize(context.Context, *moat.Caller, string, moat.Region, []string) error {
	return nil
}

func (f *fakeCreds) ListAccess(context.Context, *moat.Caller, string, moat.Region) (*moat.Access, error) {
	return nil, nil
}

func (f *fakeCreds) RecordAudit(moat.AuditRecord) {}

func (f *fakeCreds) UseNonce(_ context.Context, keyID, nonce string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.nonces[keyID+"/"+nonce] {
		return moat.Errorf(moat.CodeSignatureNonceUsed, "Specified signature nonce was used already.")
	}
	f.nonces[keyID+"/"+nonce] = true
	return nil
}

type listItem struct {
	Name  string
	Count int
}

type listResponse struct {
	Response
	TotalCount int64
	Items      []listItem
	Names      []string
}

type echoRequest struct {
	Word string `acs:"Word,required"`
}

type echoResponse struct {
	Response
	Word      string
	AccountId string
	Region    string
}

type testGateway struct {
	*Gateway
	creds *fakeCreds
	calls int
	log   bytes.Buffer
	now   time.Time
}

func newTestGateway(t *testing.T) *testGateway {
	tg := &testGateway{creds: newFakeCreds(), now: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}
	product := &Product{Name: "ddoscoo", Version: "2020-01-01", Actions: map[string]Action{
		"Echo": Handle(func(ctx context.Context, call *Call, req *echoRequest) (*echoResponse, error) {
			tg.calls++
			r, err := call.Region()
			if err != nil {
				return nil, err
			}
			return &echoResponse{Word: req.Word, AccountId: call.Caller.AccountID, Region: string(r)}, nil
		}),
		"List": Handle(func(ctx context.Context, call *Call, req *struct{}) (*listResponse, error) {
			tg.calls++
			return &listResponse{TotalCount: 2, Items: []listItem{{"a&b <c>", 1}, {"d", 2}}, Names: []string{"x", "y"}}, nil
		}),
		"Boom": Handle(func(ctx context.Context, call *Call, req *struct{}) (*listResponse, error) {
			tg.calls++
			panic("boom")
		}),
		"Fail": Handle(func(ctx context.Context, call *Call, req *struct{}) (*listResponse, error) {
			tg.calls++
			return nil, moat.Internal("fail", os.ErrPermission)
		}),
	}}
	tg.Gateway = NewGateway(Config{
		Products:    []*Product{product},
		Credentials: tg.creds,
		RealNow:     func() time.Time { return tg.now },
		Logger:      slog.New(slog.NewTextHandler(&tg.log, nil)),
	})
	return tg
}

// v1 builds a signed v1 request with params in the query.
func (tg *testGateway) v1(method, key, secret string, params map[string]string) *http.Request {
	p := map[string]string{
		"Version": "2020-01-01", "AccessKeyId": key, "SignatureMethod": "HMAC-SHA1",
		"SignatureVersion": "1.0", "SignatureNonce": NewNonce(), "Timestamp": tg.now.Format(time.RFC3339),
	}
	for k, v := range params {
		p[k] = v
	}
	p["Signature"] = SignV1(secret, StringToSignV1(method, p))
	return httptest.NewRequest(method, "http://moat.test/?"+EncodeQuery(p), nil)
}

func (tg *testGateway) do(r *http.Request) (*httptest.ResponseRecorder, map[string]any) {
	w := httptest.NewRecorder()
	tg.ServeHTTP(w, r)
	var body map[string]any
	json.Unmarshal(w.Body.Bytes(), &body)
	return w, body
}

var requestIDRE = regexp.MustCompile(`^[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$`)

func TestGatewayErrorsAreJSONWithStatus(t *testing.T) {
	tg := newTestGateway(t)
	cases := []struct {
		name   string
		req    *http.Request
		status int
		code   string
	}{
		{"unknown key", tg.v1("GET", "NOPE", "x", map[string]string{"Action": "Echo", "Word": "hi"}), 404, "InvalidAccessKeyId.NotFound"},
		{"disabled key", tg.v1("GET", "DISABLED", "secret2", map[string]string{"Action": "Echo", "Word": "hi"}), 400, "InvalidAccessKeyId.Inactive"},
		{"wrong secret", tg.v1("GET", "AK1", "wrong", map[string]string{"Action": "Echo", "Word": "hi"}), 400, "SignatureDoesNotMatch"},
		{"missing param of the action", tg.v1("GET", "AK1", "secret1", map[string]string{"Action": "Echo"}), 400, "MissingWord"},
		{"unknown action", tg.v1("GET", "AK1", "secret1", map[string]string{"Action": "Nope"}), 404, "InvalidAction.NotFound"},
		{"unknown version", tg.v1("GET", "AK1", "secret1", map[string]string{"Action": "Echo", "Version": "2019-01-01"}), 400, "InvalidVersion"},
		{"bad format", tg.v1("GET", "AK1", "secret1", map[string]string{"Action": "Echo", "Word": "x", "Format": "YAML"}), 400, "InvalidParameter.Format"},
		{"bad region", tg.v1("GET", "AK1", "secret1", map[string]string{"Action": "Echo", "Word": "x", "RegionId": "mars-1"}), 400, "InvalidRegionId"},
		{"internal error", tg.v1("GET", "AK1", "secret1", map[string]string{"Action": "Fail"}), 500, "InternalError"},
		{"panic", tg.v1("GET", "AK1", "secret1", map[string]string{"Action": "Boom"}), 500, "InternalError"},
		{"wrong path", httptest.NewRequest("GET", "/other", nil), 404, "InvalidApi.NotFound"},
		{"wrong method", httptest.NewRequest("DELETE", "/", nil), 400, "UnsupportedHTTPMethod"},
		{"no signature at all", httptest.NewRequest("GET", "/?Action=Echo&Version=2020-01-01", nil), 400, "MissingAccessKeyId"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w, body := tg.do(c.req)
			if w.Code != c.status || body["Code"] != c.code {
				t.Fatalf("got %d %v, want %d %s; body %s", w.Code, body["Code"], c.status, c.code, w.Body)
			}
			if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Fatalf("error Content-Type = %q, want JSON", ct)
			}
			for _, k := range []string{"RequestId", "HostId", "Code", "Message", "Recommend"} {
				if _, ok := body[k]; !ok {
					t.Fatalf("error body lacks %s: %s", k, w.Body)
				}
			}
			if len(body) != 5 {
				t.Fatalf("error body has extra keys: %s", w.Body)
			}
			if id, _ := body["RequestId"].(string); !requestIDRE.MatchString(id) || w.Header().Get("x-acs-request-id") != id {
				t.Fatalf("RequestId %q is not an upper-case UUID echoed in x-acs-request-id", id)
			}
		})
	}
	// The panic and the internal error were logged with their RequestId
	// and cause; the server kept serving.
	if !strings.Contains(tg.log.String(), "panic: boom") || !strings.Contains(tg.log.String(), "permission denied") {
		t.Fatalf("log lacks the causes:\n%s", tg.log.String())
	}
	w, body := tg.do(tg.v1("GET", "AK1", "secret1", map[string]string{"Action": "Echo", "Word": "ok", "Format": "JSON"}))
	if w.Code != 200 || body["Word"] != "ok" {
		t.Fatalf("after errors: %d %s", w.Code, w.Body)
	}
}

func TestSignatureMismatchCarriesStringToSign(t *testing.T) {
	tg := newTestGateway(t)
	r := tg.v1("POST", "AK1", "wrong", map[string]string{"Action": "Echo", "Word": "a b"})
	p, _ := ReadRequest(r.Clone(context.Background()))
	want := StringToSignV1("POST", p.Params)
	_, body := tg.do(r)
	msg, _ := body["Message"].(string)
	_, after, ok := strings.Cut(msg, "server string to sign is:")
	if !ok || after != want {
		t.Fatalf("Message %q does not end with the string to sign %q", msg, want)
	}
}

func TestNonceRecordedOnlyAfterValidSignatureAndBeforeAction(t *testing.T) {
	tg := newTestGateway(t)
	r := tg.v1("GET", "AK1", "secret1", map[string]string{"Action": "Echo", "Word": "x", "SignatureNonce": "n-1"})
	// A forged copy with the same nonce and a bad signature must not burn it.
	forged := tg.v1("GET", "AK1", "wrong", map[string]string{"Action": "Echo", "Word": "x", "SignatureNonce": "n-1"})
	if w, body := tg.do(forged); w.Code != 400 || body["Code"] != "SignatureDoesNotMatch" {
		t.Fatalf("forged: %d %s", w.Code, w.Body)
	}
	if w, _ := tg.do(r); w.Code != 200 {
		t.Fatalf("first use: %d %s", w.Code, w.Body)
	}
	calls := tg.calls
	replay := tg.v1("GET", "AK1", "secret1", map[string]string{"Action": "Echo", "Word": "x", "SignatureNonce": "n-1"})
	if w, body := tg.do(replay); w.Code != 400 || body["Code"] != "SignatureNonceUsed" {
		t.Fatalf("replay: %d %s", w.Code, w.Body)
	}
	if tg.calls != calls {
		t.Fatalf("the handler ran for a replayed request")
	}
}

func TestTimestampWindow(t *testing.T) {
	tg := newTestGateway(t)
	for _, c := range []struct {
		ts   string
		code string
	}{
		{tg.now.Add(-14 * time.Minute).Format(time.RFC3339), ""},
		{tg.now.Add(14 * time.Minute).Format(time.RFC3339), ""},
		{tg.now.Add(-16 * time.Minute).Format(time.RFC3339), "InvalidTimeStamp.Expired"},
		{tg.now.Add(16 * time.Minute).Format(time.RFC3339), "InvalidTimeStamp.Expired"},
		{"2024-01-01 00:00:00", "InvalidTimeStamp.Format"},
		{"yesterday", "InvalidTimeStamp.Format"},
	} {
		w, body := tg.do(tg.v1("GET", "AK1", "secret1", map[string]string{"Action": "Echo", "Word": "x", "Timestamp": c.ts, "Format": "JSON"}))
		if c.code == "" && w.Code != 200 || c.code != "" && body["Code"] != c.code {
			t.Errorf("Timestamp %s: %d %s, want %q", c.ts, w.Code, w.Body, c.code)
		}
	}
}

func TestV3Request(t *testing.T) {
	tg := newTestGateway(t)
	build := func(body string, hash string, date time.Time) *http.Request {
		r := httptest.NewRequest("POST", "http://ddoscoo.ap-southeast-1.aliyuncs.com/?Word=hi%20there", strings.NewReader(body))
		r.Host = "ddoscoo.ap-southeast-1.aliyuncs.com"
		r.Header.Set("x-acs-action", "Echo")
		r.Header.Set("x-acs-version", "2020-01-01")
		r.Header.Set("x-acs-date", date.Format(time.RFC3339))
		r.Header.Set("x-acs-signature-nonce", NewNonce())
		r.Header.Set("x-acs-content-sha256", hash)
		signed := []string{"host", "x-acs-action", "x-acs-content-sha256", "x-acs-date", "x-acs-signature-nonce", "x-acs-version"}
		cr := CanonicalRequestV3("POST", "/", map[string]string{"Word": "hi there"}, r.Header, r.Host, signed, hash)
		r.Header.Set("Authorization", "ACS3-HMAC-SHA256 Credential=AK1,SignedHeaders="+strings.Join(signed, ";")+",Signature="+SignV3("secret1", StringToSignV3(cr)))
		return r
	}
	w, body := tg.do(build("", HashPayload(nil), tg.now))
	if w.Code != 200 || body["Word"] != "hi there" || body["Region"] != "ap-southeast-1" || body["AccountId"] != "100" {
		t.Fatalf("v3: %d %s (want JSON, region from the endpoint host)", w.Code, w.Body)
	}
	// A body that does not match the signed hash is refused.
	w, body = tg.do(build("Word=evil", HashPayload(nil), tg.now))
	if w.Code != 400 || body["Code"] != "SignatureDoesNotMatch" {
		t.Fatalf("tampered body: %d %s", w.Code, w.Body)
	}
	w, body = tg.do(build("", HashPayload(nil), tg.now.Add(-20*time.Minute)))
	if body["Code"] != "InvalidTimeStamp.Expired" {
		t.Fatalf("old x-acs-date: %d %s", w.Code, w.Body)
	}
}

func TestResponseFormats(t *testing.T) {
	tg := newTestGateway(t)
	for _, c := range []struct {
		name, format, accept, golden string
	}{
		{"default is XML", "", "", "list.xml"},
		{"xml lower case", "xml", "", "list.xml"},
		{"JSON", "JSON", "", "list.json"},
		{"json lower case", "json", "", "list.json"},
		{"Accept header", "", "application/json", "list.json"},
	} {
		t.Run(c.name, func(t *testing.T) {
			params := map[string]string{"Action": "List"}
			if c.format != "" {
				params["Format"] = c.format
			}
			r := tg.v1("GET", "AK1", "secret1", params)
			if c.accept != "" {
				r.Header.Set("Accept", c.accept)
			}
			w, _ := tg.do(r)
			if w.Code != 200 {
				t.Fatalf("%d %s", w.Code, w.Body)
			}
			id := w.Header().Get("x-acs-request-id")
			got := strings.Replace(w.Body.String(), id, "REQUEST-ID", 1)
			golden(t, c.golden, got)
		})
	}
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Fatalf("body differs from %s:\ngot:  %s\nwant: %s", path, got, want)
	}
}

func TestCallRegion(t *testing.T) {
	for _, c := range []struct {
		param, host string
		want        moat.Region
		code        moat.Code
	}{
		{"", "127.0.0.1:9180", moat.RegionMainland, ""},
		{"ap-southeast-1", "127.0.0.1:9180", moat.RegionOverseas, ""},
		{"", "ddoscoo.ap-southeast-1.aliyuncs.com", moat.RegionOverseas, ""},
		{"", "ddoscoo.ap-southeast-1.aliyuncs.com:80", moat.RegionOverseas, ""},
		{"cn-hangzhou", "ddoscoo.ap-southeast-1.aliyuncs.com", moat.RegionMainland, ""},
		{"", "ddoscoo.us-east-1.aliyuncs.com", moat.RegionMainland, ""},
		{"us-east-1", "", "", moat.CodeInvalidRegionID},
	} {
		call := &Call{Params: map[string]string{}, Host: c.host}
		if c.param != "" {
			call.Params["RegionId"] = c.param
		}
		r, err := call.RequestedRegion()
		if moat.ErrorCode(err) != c.code || r != c.want {
			t.Errorf("Region(param %q, host %q) = %q, %v; want %q, %q", c.param, c.host, r, err, c.want, c.code)
		}
	}
}
