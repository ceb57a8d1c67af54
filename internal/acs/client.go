package acs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Client is a minimal signature-v1 RPC client, shaped like the aliyun CLI
// and sdk-go v1 (POST, every parameter in the query, empty body). `moat
// call` and `moat bench` use it; the end-to-end tests use the official
// SDKs instead.
type Client struct {
	Endpoint        string
	AccessKeyID     string
	AccessKeySecret string
	HTTP            *http.Client
	// Now is the clock for Timestamp; time.Now when nil.
	Now func() time.Time
}

// NewNonce returns 32 random hex characters, like the SDKs' nonces.
func NewNonce() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	return hex.EncodeToString(b[:])
}

// Sign adds the common parameters and the v1 signature to params.
func (c *Client) Sign(method string, params map[string]string) {
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	params["AccessKeyId"] = c.AccessKeyID
	params["SignatureMethod"] = "HMAC-SHA1"
	params["SignatureVersion"] = "1.0"
	params["SignatureNonce"] = NewNonce()
	params["Timestamp"] = now().UTC().Format("2006-01-02T15:04:05Z")
	params["Signature"] = SignV1(c.AccessKeySecret, StringToSignV1(method, params))
}

// EncodeQuery renders params as a query string with RFC 3986 encoding.
func EncodeQuery(params map[string]string) string {
	var b strings.Builder
	for k, v := range params {
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(PercentEncode(k))
		b.WriteByte('=')
		b.WriteString(PercentEncode(v))
	}
	return b.String()
}

// Call signs and sends params (which must include Action and Version) and
// returns the HTTP status and body.
func (c *Client) Call(ctx context.Context, params map[string]string) (int, []byte, error) {
	p := make(map[string]string, len(params)+6)
	for k, v := range params {
		p[k] = v
	}
	c.Sign(http.MethodPost, p)
	u := strings.TrimRight(c.Endpoint, "/") + "/?" + EncodeQuery(p)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, nil)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, nil, fmt.Errorf("read response: %w", err)
	}
	return resp.StatusCode, body, nil
}

// ParseEndpoint checks an endpoint URL.
func ParseEndpoint(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("endpoint %q must be an http:// or https:// URL", s)
	}
	return strings.TrimRight(s, "/"), nil
}
