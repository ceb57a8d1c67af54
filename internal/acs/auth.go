package acs

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"moat/internal/moat"
)

// MaxClockSkew is how far a request's Timestamp (v1) or x-acs-date (v3) may
// be from the real clock, either way (the V3 signature doc and the older
// gateway table both say 15 minutes).
const MaxClockSkew = 15 * time.Minute

// MaxNonceLength bounds a SignatureNonce; SDK nonces are 32 hex characters
// and the docs suggest a UUID.
const MaxNonceLength = 128

// checkTimestamp refuses a Timestamp or x-acs-date that is not RFC 3339
// or is more than MaxClockSkew from the real clock.
func (g *Gateway) checkTimestamp(name, v string) error {
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return moat.Errorf(moat.CodeInvalidTimeStampFormat, "Specified time stamp or date value is not well formatted: %s must look like 2006-01-02T15:04:05Z (UTC).", name)
	}
	now := g.now()
	if d := now.Sub(t); d > MaxClockSkew || d < -MaxClockSkew {
		return moat.Errorf(moat.CodeInvalidTimeStampExpired, "Specified time stamp or date value is expired: %s %s is more than %d minutes from the server's time %s.", name, t.UTC().Format(time.RFC3339), int(MaxClockSkew/time.Minute), now.UTC().Format(time.RFC3339))
	}
	return nil
}

func checkNonce(n string) error {
	if len(n) > MaxNonceLength {
		return moat.InvalidParam("SignatureNonce", fmt.Sprintf("at most %d characters", MaxNonceLength))
	}
	return nil
}

func (g *Gateway) lookupKey(ctx context.Context, id string) (moat.AccessKey, error) {
	k, err := g.creds.AccessKey(ctx, id)
	if err != nil {
		return k, err
	}
	if !k.Active {
		return k, moat.Errorf(moat.CodeInvalidAccessKeyInactive, "Specified access key is disabled.")
	}
	return k, nil
}

const signatureMismatch = "Specified signature is not matched with our calculation. server string to sign is:"

// MaxEchoedStringToSign bounds the string to sign a SignatureDoesNotMatch
// message repeats. Clients debug with it (sdk-go v1 compares it with its
// own), and an SDK request's, even one naming 200 instances, is far
// shorter; but v1 encodes every value twice, so a '*' costs 5 bytes in it
// and a forged 1 MB request would otherwise get a 5 MB answer.
const MaxEchoedStringToSign = 32 << 10

// signatureMismatchError repeats sts exactly when it is at most
// MaxEchoedStringToSign bytes, else its beginning and a marker saying how
// long it is.
func signatureMismatchError(sts string) *moat.Error {
	if len(sts) > MaxEchoedStringToSign {
		sts = fmt.Sprintf("%s… [cut: the string to sign has %d bytes; the first %d are shown]", sts[:MaxEchoedStringToSign], len(sts), MaxEchoedStringToSign)
	}
	return moat.Errorf(moat.CodeSignatureDoesNotMatch, "%s", signatureMismatch+sts)
}

// authV1 verifies an HMAC-SHA1 signed request (V2 RPC signature doc).
func (g *Gateway) authV1(ctx context.Context, req *Request, o *outcome) (moat.Caller, error) {
	p := req.Params
	// Logged even when the request fails below, so an operator sees which
	// key sends malformed requests.
	o.keyID = printable(p["AccessKeyId"])
	for _, name := range []string{"AccessKeyId", "Signature", "SignatureMethod", "SignatureVersion", "SignatureNonce", "Timestamp"} {
		if p[name] == "" {
			return moat.Caller{}, moat.MissingParam(name)
		}
	}
	if p["SignatureMethod"] != "HMAC-SHA1" {
		return moat.Caller{}, moat.Errorf(moat.CodeIncompleteSignature, "SignatureMethod %q is not supported; use HMAC-SHA1.", printable(p["SignatureMethod"]))
	}
	if p["SignatureVersion"] != "1.0" {
		return moat.Caller{}, moat.Errorf(moat.CodeIncompleteSignature, "SignatureVersion %q is not supported; use 1.0.", printable(p["SignatureVersion"]))
	}
	if t := p["SignatureType"]; t != "" {
		return moat.Caller{}, moat.Errorf(moat.CodeIncompleteSignature, "SignatureType %q is not supported; omit it or leave it empty.", printable(t))
	}
	if err := checkNonce(p["SignatureNonce"]); err != nil {
		return moat.Caller{}, err
	}
	if err := g.checkTimestamp("Timestamp", p["Timestamp"]); err != nil {
		return moat.Caller{}, err
	}
	k, err := g.lookupKey(ctx, p["AccessKeyId"])
	if err != nil {
		return moat.Caller{}, err
	}
	sts := StringToSignV1(req.Method, p)
	if !equal(SignV1(k.Secret, sts), p["Signature"]) {
		return moat.Caller{}, signatureMismatchError(sts)
	}
	if err := g.creds.CheckSecurityToken(k, p["SecurityToken"]); err != nil {
		return moat.Caller{}, err
	}
	if err := g.creds.UseNonce(ctx, k.ID, p["SignatureNonce"]); err != nil {
		return moat.Caller{}, err
	}
	return moat.CallerOf(k, moat.Env{}), nil
}

// requiredV3 are the headers a v3 signature must cover: without them a
// captured request could be re-aimed (action), replayed (date, nonce) or
// given another body (content hash).
var requiredV3 = []string{"host", "x-acs-action", "x-acs-content-sha256", "x-acs-date", "x-acs-signature-nonce", "x-acs-version"}

// authV3 verifies an ACS3-HMAC-SHA256 signed request (V3 signature doc).
func (g *Gateway) authV3(ctx context.Context, req *Request, authz string, o *outcome) (moat.Caller, error) {
	a, ok := ParseV3Authorization(authz)
	if !ok {
		return moat.Caller{}, moat.Errorf(moat.CodeIncompleteSignature, "The Authorization header is malformed; expected \"ACS3-HMAC-SHA256 Credential=<AccessKeyId>,SignedHeaders=<h1;h2>,Signature=<hex>\".")
	}
	o.keyID = printable(a.AccessKeyID)
	if a.Algorithm != AlgorithmV3 {
		return moat.Caller{}, moat.Errorf(moat.CodeIncompleteSignature, "Signature algorithm %q is not supported; use %s.", printable(a.Algorithm), AlgorithmV3)
	}
	signed := map[string]bool{}
	for _, h := range a.SignedHeaders {
		if h != strings.ToLower(h) || h == "" {
			return moat.Caller{}, moat.Errorf(moat.CodeIncompleteSignature, "SignedHeaders must list lower-case header names.")
		}
		signed[h] = true
	}
	for _, h := range requiredV3 {
		if !signed[h] {
			return moat.Caller{}, moat.Errorf(moat.CodeIncompleteSignature, "SignedHeaders must include %s.", h)
		}
	}
	hd := req.Header
	// Content-Type decides whether the body is read as parameters, so an
	// unsigned one would let a captured request's body be dropped or
	// reinterpreted (the SDKs sign it whenever they send a body).
	if len(req.Body) > 0 && hd.Get("Content-Type") != "" && !signed["content-type"] {
		return moat.Caller{}, moat.Errorf(moat.CodeIncompleteSignature, "SignedHeaders must include content-type when the request has a body.")
	}
	if err := checkV3QueryNames(req.Query); err != nil {
		return moat.Caller{}, err
	}
	nonce, date := hd.Get("x-acs-signature-nonce"), hd.Get("x-acs-date")
	if nonce == "" {
		return moat.Caller{}, moat.MissingParam("SignatureNonce")
	}
	if date == "" {
		return moat.Caller{}, moat.MissingParam("Timestamp")
	}
	if err := checkNonce(nonce); err != nil {
		return moat.Caller{}, err
	}
	if err := g.checkTimestamp("x-acs-date", date); err != nil {
		return moat.Caller{}, err
	}
	k, err := g.lookupKey(ctx, a.AccessKeyID)
	if err != nil {
		return moat.Caller{}, err
	}
	hashed := hd.Get("x-acs-content-sha256")
	cr := CanonicalRequestV3(req.Method, "/", req.Query, hd, req.Host, a.SignedHeaders, hashed)
	sts := StringToSignV3(cr)
	if !equal(SignV3(k.Secret, sts), a.Signature) {
		return moat.Caller{}, signatureMismatchError(sts)
	}
	// The signature covers the declared hash; the body must match it.
	if !equal(hashed, HashPayload(req.Body)) {
		return moat.Caller{}, moat.Errorf(moat.CodeSignatureDoesNotMatch, "The x-acs-content-sha256 header does not match the SHA-256 of the request body.")
	}
	// An STS token travels in x-acs-security-token, which the SDKs sign.
	token := hd.Get("x-acs-security-token")
	if token != "" && !signed["x-acs-security-token"] {
		return moat.Caller{}, moat.Errorf(moat.CodeIncompleteSignature, "SignedHeaders must include x-acs-security-token when it is sent.")
	}
	if err := g.creds.CheckSecurityToken(k, token); err != nil {
		return moat.Caller{}, err
	}
	if err := g.creds.UseNonce(ctx, k.ID, nonce); err != nil {
		return moat.Caller{}, err
	}
	return moat.CallerOf(k, moat.Env{}), nil
}

// v3Headers are the headers a v3 request is routed and verified by.
var v3Headers = []string{"Authorization", "Content-Type", "x-acs-action", "x-acs-version", "x-acs-date",
	"x-acs-signature-nonce", "x-acs-content-sha256", "x-acs-security-token"}

// singleV3Headers refuses a v3 request that repeats one of v3Headers: the
// canonical request joins a header's values, but routing reads only the
// first, so a client that signed two values could see them reordered into
// another request (the same reason a repeated parameter is refused).
func singleV3Headers(h http.Header) error {
	for _, name := range v3Headers {
		if len(h.Values(name)) > 1 {
			return moat.Errorf(moat.CodeInvalidParameter, "The header %s appears more than once in the request; give it once.", name)
		}
	}
	return nil
}

// checkV3QueryNames refuses v3 query parameter names that percent-encoding
// would change. The v3 canonical query writes names unencoded (as the SDKs
// do), so a name holding '=' or '&' would make two different queries
// canonicalize, and verify, alike ("a=1&b=2" and a single name "a=1&b"
// with value "2"); the SDKs' names are letters, digits and dots.
func checkV3QueryNames(q map[string]string) error {
	for k := range q {
		if PercentEncode(k) != k {
			return moat.Errorf(moat.CodeInvalidParameter, "The query parameter name %s is not valid in a signature v3 request: use letters, digits, '-', '_', '.' and '~'.", printable(k))
		}
	}
	return nil
}
