package acs

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"sort"
	"strings"
	"testing"
	"unicode/utf8"

	"moat/internal/moat"
)

// This file holds the security fuzz targets (docs/SECURITY.md): the
// request decoder, and the v1 and v3 verifiers checked against a reference
// signer written here from the protocol documents (signature v1 and v3),
// independent of sign.go: url.QueryEscape and the SDKs' three
// replacements instead of PercentEncode, and the canonical strings built
// again from scratch.

// refPct is the SDKs' encoding (openapi-util): QueryEscape, then "+" →
// "%20", "*" → "%2A", "%7E" → "~".
func refPct(s string) string {
	e := url.QueryEscape(s)
	e = strings.ReplaceAll(e, "+", "%20")
	e = strings.ReplaceAll(e, "*", "%2A")
	return strings.ReplaceAll(e, "%7E", "~")
}

// refSignV1 is HMAC-SHA1 over METHOD&%2F&pct(sorted k=v&…), key secret+"&".
func refSignV1(method, secret string, params map[string]string) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		if k != "Signature" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	pairs := make([]string, len(keys))
	for i, k := range keys {
		pairs[i] = refPct(k) + "=" + refPct(params[k])
	}
	m := hmac.New(sha1.New, []byte(secret+"&"))
	io.WriteString(m, method+"&"+refPct("/")+"&"+refPct(strings.Join(pairs, "&")))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// refEncode renders params for the wire, with spaces as "+" (Go clients)
// or "%20" (JS clients).
func refEncode(params map[string]string, plus bool) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('&')
		}
		v := refPct(params[k])
		if plus {
			v = strings.ReplaceAll(v, "%20", "+")
		}
		b.WriteString(refPct(k) + "=" + v)
	}
	return b.String()
}

// refCanonicalV3 is darabonba's canonical request: sorted query with
// QueryEscape'd values (replacements applied to the whole string), the
// signed headers sorted as "name:trimmed\n", a blank line, the names
// joined by ";", the payload hash.
func refCanonicalV3(method string, query map[string]string, headers map[string]string, hashed string) (canonical string, signed []string) {
	keys := make([]string, 0, len(query))
	for k := range query {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var q strings.Builder
	for _, k := range keys {
		q.WriteString("&" + k + "=" + url.QueryEscape(query[k]))
	}
	cq := strings.NewReplacer("+", "%20", "*", "%2A", "%7E", "~").Replace(strings.TrimPrefix(q.String(), "&"))
	for h := range headers {
		signed = append(signed, h)
	}
	sort.Strings(signed)
	var ch strings.Builder
	for _, h := range signed {
		ch.WriteString(h + ":" + strings.TrimSpace(headers[h]) + "\n")
	}
	return method + "\n/\n" + cq + "\n" + ch.String() + "\n" + strings.Join(signed, ";") + "\n" + hashed, signed
}

func refSignV3(secret, canonical string) string {
	sum := sha256.Sum256([]byte(canonical))
	m := hmac.New(sha256.New, []byte(secret))
	io.WriteString(m, "ACS3-HMAC-SHA256\n"+hex.EncodeToString(sum[:]))
	return hex.EncodeToString(m.Sum(nil))
}

// mutate changes s by one byte: op%3 picks replace, insert or delete at
// pos (mod the length). It reports false when the result equals s.
func mutate(s string, op uint8, pos uint, b byte) (string, bool) {
	switch op % 3 {
	case 0:
		if len(s) == 0 {
			return s, false
		}
		i := int(pos % uint(len(s)))
		out := s[:i] + string([]byte{b}) + s[i+1:]
		return out, out != s
	case 1:
		i := int(pos % uint(len(s)+1))
		return s[:i] + string([]byte{b}) + s[i:], true
	default:
		if len(s) == 0 {
			return s, false
		}
		i := int(pos % uint(len(s)))
		return s[:i] + s[i+1:], true
	}
}

// wireSafe reports whether the decoder accepts s as a parameter value.
func wireSafe(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsRune(s, 0) && len(s) <= MaxValueLength
}

func newRequest(method, rawQuery, host string, header http.Header, body string) *http.Request {
	r := &http.Request{
		Method: method, URL: &url.URL{Path: "/", RawQuery: rawQuery}, Host: host, Header: header,
		Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body)),
		RemoteAddr: "192.0.2.1:1234",
	}
	if r.Header == nil {
		r.Header = http.Header{}
	}
	return r
}

// decodeProbe has a field of every kind acs.Decode supports.
type decodeProbe struct {
	S   string    `acs:"S"`
	SP  *string   `acs:"SP"`
	I   int       `acs:"I"`
	IP  *int      `acs:"IP"`
	L   int64     `acs:"L"`
	LP  *int64    `acs:"LP"`
	B   *bool     `acs:"B"`
	SL  []string  `acs:"SL"`
	IL  []int     `acs:"IL"`
	Tag []tagItem `acs:"Tag"`
}

type tagItem struct {
	Key   string `acs:"Key,required"`
	Value string `acs:"Value"`
}

// FuzzReadRequest: the decoder (ReadRequest, then typed Decode) never
// panics; it is deterministic (the same bytes decode to the same
// parameters or the same error); what it accepts is within the documented
// bounds, valid UTF-8 without NUL, free of repeated and case-variant
// names, the exact merge of query and form; and every refusal is an
// InvalidParameter-family client error, never an internal one.
func FuzzReadRequest(f *testing.F) {
	f.Add("POST", "Action=Echo&Word=a+b", "application/x-www-form-urlencoded", "Extra=%2A&SL.1=x&SL.2=y")
	f.Add("GET", "A=1&a=2", "", "")
	f.Add("POST", "A=1", "application/x-www-form-urlencoded; charset=utf-8", "A=2")
	f.Add("POST", "Tag.1.Key=k&Tag.1.Value=v&Tag.3.Key=z", "application/x-www-form-urlencoded", "IL.1=%201&B=true&LP=-9")
	f.Add("POST", "", "application/json", "A=1&A=1")
	f.Add("GET", "S=%ff&SP=%00", "", "")
	f.Add("POST", "I=99999999999999999999&Tag.01.Key=x", "text/plain", "\x00\xff")
	f.Add("POST", "SL.1000=x&SL.1001=y", "Application/X-WWW-Form-Urlencoded", "Signature=x&signature=y")
	f.Fuzz(func(t *testing.T, method, rawQuery, ctype, body string) {
		read := func() (*Request, error) {
			h := http.Header{}
			if ctype != "" {
				h.Set("Content-Type", ctype)
			}
			return ReadRequest(newRequest(method, rawQuery, "moat.test", h, body))
		}
		req, err := read()
		again, err2 := read()
		if (err == nil) != (err2 == nil) || err != nil && err.Error() != err2.Error() {
			t.Fatalf("two decodings disagree: %v / %v", err, err2)
		}
		if err != nil {
			var me *moat.Error
			if !errors.As(err, &me) || me.Kind != moat.KindInvalid || !strings.HasPrefix(string(me.Code), "InvalidParameter") {
				t.Fatalf("refusal %v is not an InvalidParameter client error", err)
			}
			return
		}
		if !reflect.DeepEqual(req.Params, again.Params) || !reflect.DeepEqual(req.Query, again.Query) || !reflect.DeepEqual(req.Form, again.Form) {
			t.Fatalf("two decodings disagree: %v / %v", req.Params, again.Params)
		}
		if len(req.Params) > MaxParams || len(req.Params) != len(req.Query)+len(req.Form) || len(req.Body) > MaxBodyBytes {
			t.Fatalf("%d params (%d query + %d form), %d body bytes: beyond the bounds or not a merge", len(req.Params), len(req.Query), len(req.Form), len(req.Body))
		}
		folded := map[string]bool{}
		for k, v := range req.Params {
			if k == "" || len(k) > MaxKeyLength || !wireSafe(k) || !wireSafe(v) {
				t.Fatalf("accepted parameter %q=%q", k, v)
			}
			if folded[strings.ToLower(k)] {
				t.Fatalf("accepted two names that differ only in case: %q", k)
			}
			folded[strings.ToLower(k)] = true
			if qv, ok := req.Query[k]; ok && qv != v {
				t.Fatalf("Params[%q] = %q but the query has %q", k, v, qv)
			}
			if fv, ok := req.Form[k]; ok && fv != v {
				t.Fatalf("Params[%q] = %q but the form has %q", k, v, fv)
			}
		}
		var p1, p2 decodeProbe
		e1, e2 := Decode(req.Params, &p1), Decode(again.Params, &p2)
		if (e1 == nil) != (e2 == nil) || e1 != nil && e1.Error() != e2.Error() || !reflect.DeepEqual(p1, p2) {
			t.Fatalf("typed decoding is not deterministic: %v / %v", e1, e2)
		}
		if e1 != nil {
			if k := moat.ErrorKind(e1); k != moat.KindInvalid {
				t.Fatalf("typed decoding failed with kind %v: %v", k, e1)
			}
		}
	})
}

// FuzzVerifyV1: any parameters that the decoder accepts, signed by the
// reference signer and put in the query or the form body (spaces as "+" or
// "%20"), verify and reach the action unchanged; the same request with
// any single-byte change to one signed name or value, or to the
// Signature, is refused (and does not burn the nonce: the original still
// verifies afterwards). No answer is ever a 5xx.
func FuzzVerifyV1(f *testing.F) {
	f.Add("hello", "a b*~+/=&%", "Remark", "x", uint8(0), uint(3), byte('z'), uint8(0), "GET")
	f.Add("中文", "", "Tag.1.Key", "k", uint8(1), uint(0), byte(' '), uint8(3), "POST")
	f.Add("w", "\u00e9", "SignatureType", "", uint8(2), uint(7), byte(0), uint8(5), "POST")
	f.Add("x y", "%", "PageSize", "10", uint8(0), uint(100), byte('%'), uint8(6), "GET")
	f.Fuzz(func(t *testing.T, word, extra, name, value string, op uint8, pos uint, b byte, mode uint8, method string) {
		if method != "GET" {
			method = "POST"
		}
		if word == "" || !wireSafe(word) || !wireSafe(extra) || !wireSafe(value) || name == "" || !wireSafe(name) || len(name) > MaxKeyLength {
			return
		}
		tg := newTestGateway(t)
		params := map[string]string{
			"Action": "Echo", "Version": "2020-01-01", "Format": "JSON", "AccessKeyId": "AK1",
			"SignatureMethod": "HMAC-SHA1", "SignatureVersion": "1.0", "SignatureNonce": "nonce-1",
			"Timestamp": tg.now.Format("2006-01-02T15:04:05Z"), "Word": word, "Extra": extra,
		}
		for k := range params {
			if strings.EqualFold(k, name) || strings.EqualFold(name, "Signature") || strings.EqualFold(name, "SecurityToken") || strings.EqualFold(name, "RegionId") {
				return
			}
		}
		if name == "SignatureType" && value != "" {
			return
		}
		params[name] = value
		params["Signature"] = refSignV1(method, "secret1", params)
		plus := mode&1 != 0
		render := func(p map[string]string) *http.Request {
			q, form := map[string]string{}, map[string]string{}
			for k, v := range p {
				// Bits 1-2 of mode spread the parameters over query and body.
				if mode&2 != 0 && method == "POST" && (mode&4 != 0 || len(k)%2 == 0) {
					form[k] = v
				} else {
					q[k] = v
				}
			}
			h := http.Header{}
			body := ""
			if len(form) > 0 {
				h.Set("Content-Type", "application/x-www-form-urlencoded")
				body = refEncode(form, plus)
			}
			return newRequest(method, refEncode(q, plus), "moat.test", h, body)
		}

		// The mutant goes first: were it accepted, it would burn the nonce
		// or answer 200.
		keys := make([]string, 0, len(params))
		for k := range params {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		target := keys[int(pos)%len(keys)]
		mutant := make(map[string]string, len(params))
		for k, v := range params {
			mutant[k] = v
		}
		changed := false
		if mode&8 != 0 {
			nk, ok := mutate(target, op, pos/7, b)
			if _, clash := params[nk]; ok && !clash && nk != "" {
				delete(mutant, target)
				mutant[nk] = params[target]
				changed = true
			}
		} else if nv, ok := mutate(params[target], op, pos/7, b); ok {
			mutant[target] = nv
			changed = true
		}
		if changed {
			w, body := tg.do(render(mutant))
			if w.Code == 200 || w.Code >= 500 {
				t.Fatalf("mutant (%q changed) answered %d: %s\noriginal %v\nmutant   %v", target, w.Code, w.Body, params, mutant)
			}
			if body == nil || body["Code"] == nil {
				t.Fatalf("refusal is not the JSON envelope: %s", w.Body)
			}
		}
		w, _ := tg.do(render(params))
		var resp struct{ Word string }
		if w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &resp) != nil || resp.Word != word {
			t.Fatalf("signed request %v (plus %v, mode %d): %d %s", params, plus, mode, w.Code, w.Body)
		}
	})
}

// FuzzVerifyV3: the gateway's canonical request equals the reference one
// for any query and header values; a request signed by the reference
// signer with any query values, any extra x-acs- header and any body
// (opaque, or a form carrying a parameter) verifies and reaches the action
// unchanged; any single-byte change to a query name or value, a signed
// header, the body or the signature is refused without burning the nonce;
// and no answer is ever a 5xx.
func FuzzVerifyV3(f *testing.F) {
	f.Add("hello world", "PageSize", "10", "extra", []byte(""), uint8(0), uint(0), byte('x'), uint8(0))
	f.Add("*~", "Tag.1.Key", "", " padded ", []byte("opaque\x00\xff"), uint8(1), uint(5), byte('='), uint8(1))
	f.Add("a", "bad=name", "v", "", []byte("Remark=1"), uint8(2), uint(9), byte('&'), uint8(2))
	f.Add("中文", "Remark", "a b", "x", []byte{}, uint8(1), uint(31), byte('\n'), uint8(3))
	f.Fuzz(func(t *testing.T, word, qname, qvalue, extraHeader string, body []byte, op uint8, pos uint, b byte, mode uint8) {
		if word == "" || !wireSafe(word) || !wireSafe(qname) || !wireSafe(qvalue) || qname == "" || len(qname) > MaxKeyLength {
			return
		}
		if strings.EqualFold(qname, "Word") || strings.EqualFold(qname, "Format") || strings.EqualFold(qname, "RegionId") {
			return
		}
		if !printableASCII(extraHeader) {
			return
		}
		tg := newTestGateway(t)
		const host = "ddoscoo.cn-hangzhou.aliyuncs.com"
		query := map[string]string{"Word": word, qname: qvalue}
		ctype := ""
		if mode&1 != 0 {
			// The second parameter travels in a form body instead.
			delete(query, qname)
			body = []byte(refEncode(map[string]string{qname: qvalue}, mode&2 != 0))
			ctype = "application/x-www-form-urlencoded"
		} else if len(body) > 0 {
			ctype = "application/octet-stream"
		}
		sum := sha256.Sum256(body)
		headers := map[string]string{
			"host": host, "x-acs-action": "Echo", "x-acs-version": "2020-01-01",
			"x-acs-date": tg.now.Format("2006-01-02T15:04:05Z"), "x-acs-signature-nonce": "nonce-1",
			"x-acs-content-sha256": hex.EncodeToString(sum[:]), "x-acs-extra": extraHeader,
		}
		if ctype != "" {
			headers["content-type"] = ctype
		}
		canonical, signed := refCanonicalV3("POST", query, headers, headers["x-acs-content-sha256"])
		sig := refSignV3("secret1", canonical)

		// The gateway's own canonical request agrees with the reference.
		hh := http.Header{}
		for k, v := range headers {
			if k != "host" {
				hh.Set(k, v)
			}
		}
		if got := CanonicalRequestV3("POST", "/", query, hh, host, signed, headers["x-acs-content-sha256"]); got != canonical && PercentEncode(qname) == qname {
			t.Fatalf("canonical request differs from the reference:\n%q\n%q", got, canonical)
		}

		render := func(query, headers map[string]string, body []byte, signed []string, sig string) *http.Request {
			h := http.Header{}
			for k, v := range headers {
				if k != "host" {
					h.Set(k, v)
				}
			}
			h.Set("Authorization", "ACS3-HMAC-SHA256 Credential=AK1,SignedHeaders="+strings.Join(signed, ";")+",Signature="+sig)
			return newRequest("POST", refEncode(query, false), headers["host"], h, string(body))
		}
		// A name that percent-encoding would change is refused before the
		// signature is even looked at.
		if PercentEncode(qname) != qname && mode&1 == 0 {
			w, body := tg.do(render(query, headers, body, signed, sig))
			if w.Code != 400 || body["Code"] != "InvalidParameter" {
				t.Fatalf("query name %q: %d %s, want 400 InvalidParameter", qname, w.Code, w.Body)
			}
			return
		}

		// One mutation, chosen by mode>>2 and pos.
		mq := map[string]string{}
		for k, v := range query {
			mq[k] = v
		}
		mh := map[string]string{}
		for k, v := range headers {
			mh[k] = v
		}
		mbody, msig := body, sig
		changed := false
		switch (mode >> 2) % 5 {
		case 0: // a query value
			keys := sortedKeys(query)
			k := keys[int(pos)%len(keys)]
			if v, ok := mutate(query[k], op, pos/5, b); ok {
				mq[k], changed = v, true
			}
		case 1: // a query name
			keys := sortedKeys(query)
			k := keys[int(pos)%len(keys)]
			if nk, ok := mutate(k, op, pos/5, b); ok && nk != "" {
				if _, clash := query[nk]; !clash {
					delete(mq, k)
					mq[nk], changed = query[k], true
				}
			}
		case 2: // a signed header's value
			k := signed[int(pos)%len(signed)]
			if v, ok := mutate(headers[k], op, pos/5, b); ok && strings.TrimSpace(v) != strings.TrimSpace(headers[k]) && printableASCII(v) {
				mh[k], changed = v, true
			}
		case 3: // the body
			if v, ok := mutate(string(body), op, pos, b); ok {
				mbody, changed = []byte(v), true
			}
		case 4: // the signature
			// It ends the Authorization header, whose surrounding
			// whitespace is not part of the value (RFC 9110 5.5):
			// "<sig>\n" is the same header.
			if v, ok := mutate(sig, op, pos, b); ok && strings.TrimSpace(v) != sig {
				msig, changed = v, true
			}
		}
		if changed {
			w, resp := tg.do(render(mq, mh, mbody, signed, msig))
			if w.Code == 200 || w.Code >= 500 {
				t.Fatalf("mutant answered %d: %s\nquery %v -> %v\nheaders %v -> %v\nbody %q -> %q", w.Code, w.Body, query, mq, headers, mh, body, mbody)
			}
			if resp == nil || resp["Code"] == nil {
				t.Fatalf("refusal is not the JSON envelope: %s", w.Body)
			}
		}
		w, _ := tg.do(render(query, headers, body, signed, sig))
		var resp struct{ Word string }
		if w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &resp) != nil || resp.Word != word {
			t.Fatalf("signed v3 request (query %v, headers %v, body %q): %d %s", query, headers, body, w.Code, w.Body)
		}
	})
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// printableASCII reports whether s can travel as an HTTP header value
// unchanged: visible ASCII and inner spaces.
func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
