package main

import (
	"net/http"
	"strings"
)

// routes dispatches on the exact request path, without http.ServeMux: the
// mux answers a path it would clean ("//", "/./", "/a/..") with a 307 and
// an HTML body, and a client that follows it re-sends a signed request.
// Here every path is answered where it was sent: the health check and the
// metrics on GET (and HEAD), the web console's pages on GET (and HEAD) of
// /console and /console/…, everything under /_moat/ by the admin API
// (which answers with its own JSON errors), and everything else, "OPTIONS
// *" and CONNECT included, by the RPC gateway, which answers a path other
// than "/" or a method other than GET and POST with Alibaba's error
// envelope (see docs/DESIGN.md, "Decisions where the documentation is
// silent").
func routes(health, metrics, console, admin, api http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		get := r.Method == http.MethodGet || r.Method == http.MethodHead
		switch p := r.URL.Path; {
		case p == "/_moat/health" && get:
			health.ServeHTTP(w, r)
		case p == "/metrics" && get:
			metrics.ServeHTTP(w, r)
		case (p == "/console" || strings.HasPrefix(p, "/console/")) && get:
			console.ServeHTTP(w, r)
		case strings.HasPrefix(p, "/_moat/"):
			admin.ServeHTTP(w, r)
		default:
			api.ServeHTTP(w, r)
		}
	})
}
