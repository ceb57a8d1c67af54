package acs

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"sort"
	"strings"
)

// PercentEncode is the RFC 3986 encoding both signature versions use:
// A-Z a-z 0-9 - _ . ~ stay, everything else is %XY in upper-case hex, so a
// space is %20 and '*' is %2A (V2 RPC signature doc; openapi-util's
// GetEncodeParam does QueryEscape then fixes +, * and %7E the same way).
func PercentEncode(s string) string {
	var b strings.Builder
	b.Grow(len(s) + len(s)/4)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte("0123456789ABCDEF"[c>>4])
		b.WriteByte("0123456789ABCDEF"[c&15])
	}
	return b.String()
}

// StringToSignV1 builds the HMAC-SHA1 string to sign:
// METHOD&%2F&pct(k1=v1&k2=v2…) over every parameter but Signature, sorted
// by name, empty values kept (the v1 SDK signs an empty SignatureType).
func StringToSignV1(method string, params map[string]string) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		if k != "Signature" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var canon strings.Builder
	for i, k := range keys {
		if i > 0 {
			canon.WriteByte('&')
		}
		canon.WriteString(PercentEncode(k))
		canon.WriteByte('=')
		canon.WriteString(PercentEncode(params[k]))
	}
	return method + "&%2F&" + PercentEncode(canon.String())
}

// SignV1 is Base64(HMAC-SHA1(secret+"&", stringToSign)).
func SignV1(secret, stringToSign string) string {
	m := hmac.New(sha1.New, []byte(secret+"&"))
	m.Write([]byte(stringToSign))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// AlgorithmV3 is the only v3 algorithm moat accepts.
const AlgorithmV3 = "ACS3-HMAC-SHA256"

// V3Authorization is a parsed "Authorization: ACS3-HMAC-SHA256
// Credential=…,SignedHeaders=…,Signature=…" header.
type V3Authorization struct {
	Algorithm     string
	AccessKeyID   string
	SignedHeaders []string
	Signature     string
}

// ParseV3Authorization parses the header; ok is false when it is malformed.
func ParseV3Authorization(h string) (a V3Authorization, ok bool) {
	alg, rest, found := strings.Cut(strings.TrimSpace(h), " ")
	if !found {
		return a, false
	}
	a.Algorithm = alg
	seen := map[string]bool{}
	for _, part := range strings.Split(rest, ",") {
		k, v, found := strings.Cut(strings.TrimSpace(part), "=")
		if !found || seen[k] {
			return a, false
		}
		seen[k] = true
		switch k {
		case "Credential":
			a.AccessKeyID = v
		case "SignedHeaders":
			if v == "" {
				return a, false
			}
			a.SignedHeaders = strings.Split(v, ";")
		case "Signature":
			a.Signature = v
		default:
			return a, false
		}
	}
	return a, a.AccessKeyID != "" && a.Signature != "" && len(a.SignedHeaders) > 0
}

// CanonicalRequestV3 builds the v3 canonical request:
// METHOD \n /path \n canonical-query \n canonical-headers \n signed-headers \n hashed-payload.
// The canonical query sorts the query parameters by name and writes
// name=pct(value) (names are not encoded; empty values give "name=").
// Canonical headers are "name:trimmed-value\n" for each signed header in
// the order the client listed them, multiple values sorted and joined by
// ",". host is the Host the client sent, port included.
func CanonicalRequestV3(method, path string, query map[string]string, header http.Header, host string, signed []string, hashedPayload string) string {
	if path == "" {
		path = "/"
	}
	keys := make([]string, 0, len(query))
	for k := range query {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(method)
	b.WriteByte('\n')
	b.WriteString(path)
	b.WriteByte('\n')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(PercentEncode(query[k]))
	}
	b.WriteByte('\n')
	for _, h := range signed {
		b.WriteString(h)
		b.WriteByte(':')
		if h == "host" {
			b.WriteString(strings.TrimSpace(host))
		} else {
			vals := header.Values(h)
			trimmed := make([]string, len(vals))
			for i, v := range vals {
				trimmed[i] = strings.TrimSpace(v)
			}
			sort.Strings(trimmed)
			b.WriteString(strings.Join(trimmed, ","))
		}
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.WriteString(strings.Join(signed, ";"))
	b.WriteByte('\n')
	b.WriteString(hashedPayload)
	return b.String()
}

// StringToSignV3 is "ACS3-HMAC-SHA256\n" + hex(SHA256(canonicalRequest)).
func StringToSignV3(canonicalRequest string) string {
	sum := sha256.Sum256([]byte(canonicalRequest))
	return AlgorithmV3 + "\n" + hex.EncodeToString(sum[:])
}

// SignV3 is hex(HMAC-SHA256(secret, stringToSign)); no "&" is appended.
func SignV3(secret, stringToSign string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(stringToSign))
	return hex.EncodeToString(m.Sum(nil))
}

// HashPayload is the lower-case hex SHA-256 of a body.
func HashPayload(body []byte) string {
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:])
}

// equal compares two signatures in constant time.
func equal(a, b string) bool {
	return hmac.Equal([]byte(a), []byte(b))
}
