package acs

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// ParseCIDRs reads a comma-separated list of addresses and CIDR blocks
// (a single address is its own /32 or /128).
func ParseCIDRs(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if p, err := netip.ParsePrefix(f); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, err
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

type secureKey struct{}

// TrustProxies lets load balancers in trusted tell who the client is: for
// a request whose peer address is in trusted, the client is the right-most
// X-Forwarded-For address that is not itself a trusted proxy, and
// "X-Forwarded-Proto: https" counts as a secure transport. RemoteAddr is
// rewritten, so the per-client limit, acs:SourceIp, the audit log and the
// request log all see the client. Headers from any other peer are
// ignored (a client cannot claim another address). With no trusted
// proxies h is returned as it is.
func TrustProxies(h http.Handler, trusted []netip.Prefix) http.Handler {
	if len(trusted) == 0 {
		return h
	}
	isTrusted := func(a netip.Addr) bool {
		a = a.Unmap()
		for _, p := range trusted {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		peer, err := netip.ParseAddrPort(r.RemoteAddr)
		if err != nil || !isTrusted(peer.Addr()) {
			h.ServeHTTP(w, r)
			return
		}
		client := peer.Addr()
		hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
		for i := len(hops) - 1; i >= 0; i-- {
			a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
			if err != nil {
				break // a malformed hop: trust nothing further left
			}
			client = a.Unmap()
			if !isTrusted(client) {
				break
			}
		}
		r2 := r.Clone(r.Context())
		r2.RemoteAddr = net.JoinHostPort(client.String(), "0")
		if strings.EqualFold(strings.TrimSpace(r.Header.Get("X-Forwarded-Proto")), "https") {
			r2 = r2.WithContext(context.WithValue(r2.Context(), secureKey{}, true))
		}
		h.ServeHTTP(w, r2)
	})
}

// forwardedSecure reports whether a trusted proxy said the client used
// HTTPS.
func forwardedSecure(r *http.Request) bool {
	v, _ := r.Context().Value(secureKey{}).(bool)
	return v
}
