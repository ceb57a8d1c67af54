package acs

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestTrustProxies(t *testing.T) {
	trusted, err := ParseCIDRs("10.0.0.0/8, 192.0.2.7")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseCIDRs("10.0.0.0/8,not-an-ip"); err == nil {
		t.Error("ParseCIDRs accepted a bad entry")
	}
	var gotAddr string
	var gotSecure bool
	h := TrustProxies(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		env := envOf(r)
		gotAddr, gotSecure = env.SourceIP.String(), env.SecureTransport
	}), trusted)
	cases := []struct {
		name, peer, xff, proto string
		addr                   string
		secure                 bool
	}{
		{"direct client ignores headers", "203.0.113.9:5000", "198.51.100.1", "https", "203.0.113.9", false},
		{"trusted proxy names the client", "10.1.2.3:5000", "198.51.100.1", "https", "198.51.100.1", true},
		{"spoofed left-most hop is ignored", "10.1.2.3:5000", "1.2.3.4, 198.51.100.1", "http", "198.51.100.1", false},
		{"chain of trusted proxies", "10.1.2.3:5000", "198.51.100.1, 192.0.2.7, 10.9.9.9", "", "198.51.100.1", false},
		{"no header: the proxy itself", "10.1.2.3:5000", "", "", "10.1.2.3", false},
		{"malformed hop stops the walk", "10.1.2.3:5000", "198.51.100.1, junk", "", "10.1.2.3", false},
		{"ipv4-mapped peer", "[::ffff:10.1.2.3]:5000", "2001:db8::1", "HTTPS", "2001:db8::1", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tc.peer
			if tc.xff != "" {
				r.Header.Set("X-Forwarded-For", tc.xff)
			}
			if tc.proto != "" {
				r.Header.Set("X-Forwarded-Proto", tc.proto)
			}
			h.ServeHTTP(httptest.NewRecorder(), r)
			if gotAddr != tc.addr || gotSecure != tc.secure {
				t.Fatalf("client %s secure %v, want %s %v", gotAddr, gotSecure, tc.addr, tc.secure)
			}
		})
	}
}
