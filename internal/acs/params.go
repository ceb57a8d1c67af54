package acs

import (
	"bytes"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"moat/internal/moat"
)

// Limits on what a request may carry. They are far above anything an SDK
// sends (DescribeInstances allows 200 IDs and 200 tags) and keep a hostile
// request cheap to refuse.
const (
	MaxBodyBytes   = 1 << 20 // 1 MiB
	MaxParams      = 1000
	MaxKeyLength   = 256
	MaxValueLength = 64 << 10
	// MaxHeaderBytes bounds the headers (names and values), apart from
	// the request line, whose query the parameter limits bound.
	MaxHeaderBytes = 64 << 10
)

// Request is a decoded RPC request.
type Request struct {
	Method string
	Host   string
	Header http.Header
	// Query holds the URL query parameters, Form the form-body ones, and
	// Params both merged (a name may appear in only one of them).
	Query  map[string]string
	Form   map[string]string
	Params map[string]string
	Body   []byte
}

// ReadRequest decodes r. Parameters may arrive in the query, in an
// application/x-www-form-urlencoded body, or split between the two (the
// Terraform provider sends business parameters in the body, pop-core even
// Action and Signature). A name given twice is refused: the signature would
// cover one value and the handler might read the other.
func ReadRequest(r *http.Request) (*Request, error) {
	req := &Request{Method: r.Method, Host: r.Host, Header: r.Header}
	if err := checkHeaderSize(r.Header); err != nil {
		return nil, err
	}
	// A declared length past the limit is refused before any of the body
	// is read (a client that sent "Expect: 100-continue" then sends none).
	if r.ContentLength > MaxBodyBytes {
		return nil, moat.Errorf(moat.CodeInvalidParameter, "The request body is larger than %d bytes.", MaxBodyBytes)
	}
	if r.Body != nil {
		body, err := io.ReadAll(io.LimitReader(r.Body, MaxBodyBytes+1))
		if err != nil {
			return nil, moat.InvalidParam("body", "the request body could not be read")
		}
		if len(body) > MaxBodyBytes {
			return nil, moat.Errorf(moat.CodeInvalidParameter, "The request body is larger than %d bytes.", MaxBodyBytes)
		}
		req.Body = body
	}
	var err error
	if req.Query, err = parseParams(r.URL.RawQuery, "query string"); err != nil {
		return nil, err
	}
	req.Form = map[string]string{}
	if len(req.Body) > 0 && isForm(r.Header.Get("Content-Type")) {
		if req.Form, err = parseParams(string(req.Body), "form body"); err != nil {
			return nil, err
		}
	}
	if len(req.Query)+len(req.Form) > MaxParams {
		return nil, moat.Errorf(moat.CodeInvalidParameter, "The request has more than %d parameters.", MaxParams)
	}
	req.Params = make(map[string]string, len(req.Query)+len(req.Form))
	for k, v := range req.Query {
		req.Params[k] = v
	}
	for k, v := range req.Form {
		if _, dup := req.Params[k]; dup {
			return nil, moat.Errorf(moat.CodeInvalidParameter, "The parameter %s appears more than once in the request; give each parameter once.", printable(k))
		}
		req.Params[k] = v
	}
	if err := caseVariants(req.Params); err != nil {
		return nil, err
	}
	return req, nil
}

// checkHeaderSize refuses headers larger than MaxHeaderBytes, counting
// each name and value and the four bytes of ": " and CRLF around them.
func checkHeaderSize(h http.Header) error {
	n := 0
	for k, vs := range h {
		for _, v := range vs {
			if n += len(k) + len(v) + 4; n > MaxHeaderBytes {
				return moat.Errorf(moat.CodeInvalidParameter, "The request headers are larger than %d bytes.", MaxHeaderBytes)
			}
		}
	}
	return nil
}

// caseVariants refuses two names that differ only in case (Action and
// action, Signature and signature). moat reads names case-sensitively, as
// the SDKs send them, but a proxy or a log reader that folds case would
// see a different request than the handler: like a repeated name, the
// ambiguity is refused rather than resolved.
func caseVariants(params map[string]string) error {
	folded := make(map[string]string, len(params))
	for k := range params {
		lk := strings.ToLower(k)
		if other, dup := folded[lk]; dup {
			a, b := min(k, other), max(k, other)
			return moat.Errorf(moat.CodeInvalidParameter, "The parameters %s and %s differ only in case; give each parameter once, spelled as documented.", printable(a), printable(b))
		}
		folded[lk] = k
	}
	return nil
}

func isForm(ct string) bool {
	if ct == "" {
		return false
	}
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && mt == "application/x-www-form-urlencoded"
}

// parseParams decodes "a=1&b=2" strictly: bad escapes, non-UTF-8, NUL
// bytes, repeated names and oversized names or values are errors.
func parseParams(raw, where string) (map[string]string, error) {
	out := map[string]string{}
	if raw == "" {
		return out, nil
	}
	// Cut, not Split: a megabyte of "&" must not become a slice of a
	// million strings before the parameter count refuses it.
	for rest := raw; rest != ""; {
		var pair string
		pair, rest, _ = strings.Cut(rest, "&")
		if pair == "" {
			continue
		}
		if len(out) >= MaxParams {
			return nil, moat.Errorf(moat.CodeInvalidParameter, "The request has more than %d parameters.", MaxParams)
		}
		rk, rv, _ := strings.Cut(pair, "=")
		k, err := url.QueryUnescape(rk)
		if err != nil {
			return nil, moat.Errorf(moat.CodeInvalidParameter, "The %s is not valid URL encoding near %q.", where, printable(truncate(rk, 64)))
		}
		v, err := url.QueryUnescape(rv)
		if err != nil {
			return nil, moat.Errorf(moat.CodeInvalidParameter, "The %s is not valid URL encoding in parameter %s.", where, printable(truncate(k, 64)))
		}
		if k == "" {
			return nil, moat.Errorf(moat.CodeInvalidParameter, "The %s has a parameter with an empty name.", where)
		}
		if len(k) > MaxKeyLength {
			return nil, moat.Errorf(moat.CodeInvalidParameter, "A parameter name in the %s is longer than %d bytes.", where, MaxKeyLength)
		}
		if len(v) > MaxValueLength {
			return nil, moat.Errorf(moat.CodeInvalidParameter, "The value of parameter %s is longer than %d bytes.", printable(k), MaxValueLength)
		}
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			return nil, moat.Errorf(moat.CodeInvalidParameter, "Parameter %s is not valid UTF-8.", printable(k))
		}
		if strings.IndexByte(k, 0) >= 0 || strings.IndexByte(v, 0) >= 0 {
			return nil, moat.Errorf(moat.CodeInvalidParameter, "Parameter %s contains a NUL byte.", printable(k))
		}
		if _, dup := out[k]; dup {
			return nil, moat.Errorf(moat.CodeInvalidParameter, "The parameter %s appears more than once in the request; give each parameter once.", printable(k))
		}
		out[k] = v
	}
	return out, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// printable renders a caller-supplied name safely inside a message.
func printable(s string) string {
	if !utf8.ValidString(s) || strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		var b bytes.Buffer
		for i := 0; i < len(s) && i < 64; i++ {
			c := s[i]
			if c >= 0x20 && c < 0x7f {
				b.WriteByte(c)
			} else {
				b.WriteString("\\x")
				b.WriteByte("0123456789abcdef"[c>>4])
				b.WriteByte("0123456789abcdef"[c&15])
			}
		}
		return b.String()
	}
	return truncate(s, 128)
}
