package acs

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParseParams: the decoder never panics, and whatever it accepts is
// valid UTF-8 without NUL bytes and survives an encode/decode round trip.
func FuzzParseParams(f *testing.F) {
	for _, s := range []string{
		"", "a=1", "a=1&b=2", "a=a+b&b=a%20b", "SignatureType=&x=1", "=1", "a=%zz", "a=%ff",
		"Tag.1.Key=k&Tag.1.Value=v", "a=1&a=2", "a&b", "%00=1", "a=%E4%B8%AD", "&&&", "a==b",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		got, err := parseParams(raw, "query string")
		if err != nil {
			return
		}
		for k, v := range got {
			if !utf8.ValidString(k) || !utf8.ValidString(v) || strings.ContainsRune(k+v, 0) || k == "" {
				t.Fatalf("accepted bad parameter %q=%q from %q", k, v, raw)
			}
		}
		again, err := parseParams(EncodeQuery(got), "query string")
		if err != nil {
			t.Fatalf("re-encoded parameters of %q do not parse: %v", raw, err)
		}
		if len(again) != len(got) {
			t.Fatalf("round trip of %q changed the parameters: %v vs %v", raw, got, again)
		}
		for k, v := range got {
			if again[k] != v {
				t.Fatalf("round trip of %q changed %q: %q vs %q", raw, k, v, again[k])
			}
		}
	})
}

// FuzzGatewayV1: any request gets a well-formed answer that is never a
// 5xx; and any values at all, signed the way the SDKs sign them, verify.
func FuzzGatewayV1(f *testing.F) {
	f.Add("hello", "a b*~+/=&%", "GET", "")
	f.Add("中文", "", "POST", "Word=x")
	f.Add("x", "\xff", "POST", "Action=Echo")
	f.Add("", "1", "GET", "a=%zz")
	f.Fuzz(func(t *testing.T, word, extra, method, body string) {
		tg := newTestGateway(t)
		if method != "GET" && method != "POST" {
			method = "POST"
		}
		// 1. Arbitrary body added to a signed request: never a 5xx.
		r := tg.v1(method, "AK1", "secret1", map[string]string{"Action": "Echo", "Word": word, "Extra": extra})
		if body != "" {
			r = httptest.NewRequest(method, r.URL.String(), strings.NewReader(body))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		w, parsed := tg.do(r)
		if w.Code >= 500 {
			t.Fatalf("status %d for word %q extra %q body %q: %s", w.Code, word, extra, body, w.Body)
		}
		if w.Code != 200 && (parsed == nil || parsed["Code"] == nil) {
			t.Fatalf("error answer is not the JSON envelope: %s", w.Body)
		}
		// 2. Properly signed, valid UTF-8 values without NUL verify and
		// come back unchanged.
		if !utf8.ValidString(word) || !utf8.ValidString(extra) || strings.ContainsRune(word+extra, 0) || word == "" {
			return
		}
		r = tg.v1(method, "AK1", "secret1", map[string]string{"Action": "Echo", "Word": word, "Extra": extra, "Format": "JSON"})
		w = httptest.NewRecorder()
		tg.ServeHTTP(w, r)
		var resp struct{ Word string }
		if w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &resp) != nil || resp.Word != word {
			t.Fatalf("signed request with Word %q Extra %q: %d %s", word, extra, w.Code, w.Body)
		}
	})
}

// FuzzGatewayV3: arbitrary Authorization and x-acs-* headers never cause a
// 5xx or a success without a valid signature.
func FuzzGatewayV3(f *testing.F) {
	f.Add("ACS3-HMAC-SHA256 Credential=AK1,SignedHeaders=host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version,Signature=00", "2024-01-01T00:00:00Z", "n1", "Echo")
	f.Add("ACS3-HMAC-SHA256 Credential=AK1,SignedHeaders=host,Signature=00", "x", "", "")
	f.Add("ACS3-", "", "", "List")
	f.Add("ACS3-HMAC-SHA256 Credential=AK1,SignedHeaders=HOST;;,Signature=", "2024-01-01T00:00:00Z", "n", "Boom")
	f.Fuzz(func(t *testing.T, authz, date, nonce, action string) {
		tg := newTestGateway(t)
		r := httptest.NewRequest("POST", "/?Word=x", nil)
		r.Header.Set("Authorization", authz)
		r.Header.Set("x-acs-date", date)
		r.Header.Set("x-acs-signature-nonce", nonce)
		r.Header.Set("x-acs-action", action)
		r.Header.Set("x-acs-version", "2020-01-01")
		r.Header.Set("x-acs-content-sha256", HashPayload(nil))
		w, parsed := tg.do(r)
		if w.Code >= 500 || w.Code == 200 {
			t.Fatalf("status %d for Authorization %q: %s", w.Code, authz, w.Body)
		}
		if parsed == nil || parsed["Code"] == nil {
			t.Fatalf("error answer is not the JSON envelope: %s", w.Body)
		}
	})
}
