package e2e

import (
	"encoding/json"
	"net/http"
	"testing"
)

// TestHardening_NonAPIPathsGetTheErrorEnvelope pins that a path other than
// "/" (also one http.ServeMux would clean: "//", "/./", "/a/..") and a
// method other than GET or POST get Alibaba's error envelope with the
// gateway's status, never a 307 to another path (which a client would
// follow, re-sending its signed request) nor the empty 200 net/http gives
// "OPTIONS *"; the health check, the metrics and the admin API keep
// working, and the admin API answers its own unclean paths with its own
// JSON error.
func TestHardening_NonAPIPathsGetTheErrorEnvelope(t *testing.T) {
	s := StartServer(t)
	host := "Host: " + s.Addr + "\r\n"
	gateway := []struct {
		name, request string
		status        int
		code          string
	}{
		{"GET //", "GET // HTTP/1.1\r\n" + host + "\r\n", 404, "InvalidApi.NotFound"},
		{"GET /./ with an Action", "GET /./?Action=DescribeInstances&Version=2020-01-01 HTTP/1.1\r\n" + host + "\r\n", 404, "InvalidApi.NotFound"},
		{"GET /a/..", "GET /a/.. HTTP/1.1\r\n" + host + "\r\n", 404, "InvalidApi.NotFound"},
		{"POST // with an Action", "POST //?Action=DescribeInstances&Version=2020-01-01 HTTP/1.1\r\n" + host + "Content-Length: 0\r\n\r\n", 404, "InvalidApi.NotFound"},
		{"POST /%2F", "POST /%2F HTTP/1.1\r\n" + host + "Content-Length: 0\r\n\r\n", 404, "InvalidApi.NotFound"},
		{"GET /metrics/", "GET /metrics/ HTTP/1.1\r\n" + host + "\r\n", 404, "InvalidApi.NotFound"},
		{"DELETE /metrics", "DELETE /metrics HTTP/1.1\r\n" + host + "\r\n", 404, "InvalidApi.NotFound"},
		{"GET /_moat", "GET /_moat HTTP/1.1\r\n" + host + "\r\n", 404, "InvalidApi.NotFound"},
		{"OPTIONS *", "OPTIONS * HTTP/1.1\r\n" + host + "\r\n", 404, "InvalidApi.NotFound"},
		{"CONNECT", "CONNECT 127.0.0.1:9 HTTP/1.1\r\n" + host + "\r\n", 404, "InvalidApi.NotFound"},
		{"OPTIONS /", "OPTIONS / HTTP/1.1\r\n" + host + "\r\n", 400, "UnsupportedHTTPMethod"},
		{"PUT /", "PUT / HTTP/1.1\r\n" + host + "Content-Length: 0\r\n\r\n", 400, "UnsupportedHTTPMethod"},
		{"DELETE /", "DELETE / HTTP/1.1\r\n" + host + "\r\n", 400, "UnsupportedHTTPMethod"},
	}
	for _, c := range gateway {
		t.Run(c.name, func(t *testing.T) {
			r := secRawHTTP(t, s.Addr, c.request)
			if loc := r.Header.Get("Location"); loc != "" {
				t.Errorf("Location %q: a non-API path must not redirect", loc)
			}
			secWant(t, r, c.status, c.code)
		})
	}

	auth := "Authorization: Bearer " + adminToken + "\r\n"
	admin := []struct{ name, request string }{
		{"admin //", "GET /_moat//v1/clock HTTP/1.1\r\n" + host + auth + "\r\n"},
		{"admin /./", "GET /_moat/./v1/clock HTTP/1.1\r\n" + host + auth + "\r\n"},
		{"admin trailing slash", "GET /_moat/v1/clock/ HTTP/1.1\r\n" + host + auth + "\r\n"},
		{"admin /a/..", "GET /_moat/v1/a/../clock HTTP/1.1\r\n" + host + auth + "\r\n"},
	}
	for _, c := range admin {
		t.Run(c.name, func(t *testing.T) {
			r := secRawHTTP(t, s.Addr, c.request)
			var body struct{ Code, Message string }
			if err := json.Unmarshal(r.Body, &body); err != nil {
				t.Fatalf("admin error body is not JSON: %v: %d %s", err, r.Status, r.Body)
			}
			if r.Status != http.StatusNotFound || body.Code != "NotFound" || r.Header.Get("Location") != "" {
				t.Fatalf("got %d %q (Location %q), want the admin API's 404 NotFound: %s", r.Status, body.Code, r.Header.Get("Location"), r.Body)
			}
		})
	}

	for _, ok := range []string{
		"GET /_moat/health HTTP/1.1\r\n" + host + "\r\n",
		"GET /metrics HTTP/1.1\r\n" + host + "\r\n",
		"GET /_moat/v1/clock HTTP/1.1\r\n" + host + auth + "\r\n",
	} {
		if r := secRawHTTP(t, s.Addr, ok); r.Status != http.StatusOK {
			t.Errorf("%q: %d, want 200: %s", ok, r.Status, r.Body)
		}
	}
}
