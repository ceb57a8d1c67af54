package bench

import (
	"fmt"
	"net"
	"strconv"
	"strings"
)

// NginxConfig is what the web scenario's nginx serves: the same website
// as moat's, a reverse proxy for Domain on Listen at HTTPPort in clear
// and HTTPSPort over TLS with the same certificate, to the same origin on
// the port the request came in on (HTTPS over TLS, as moat does), with
// keep-alive connections to the origin.
type NginxConfig struct {
	Dir      string // prefix: pid file, logs, temporary files
	Workers  int
	Listen   string
	Domain   string
	CertFile string
	KeyFile  string
	// Origin is the origin's IP; HTTPPort and HTTPSPort are both the
	// front ports and the origin's.
	Origin              string
	HTTPPort, HTTPSPort int
}

// Render writes nginx.conf.
//
// The access log is off (moat writes none per request); the server keeps
// no TLS session cache and issues no tickets (the loads resume nothing
// either). Upstream connections are kept alive (keepalive with HTTP/1.1
// and an empty Connection header) and TLS sessions to the origin reused,
// as Go's transport does in moat. The headers to the origin are those
// moat sends: the client's Host, X-Forwarded-For, X-Forwarded-Proto and
// X-Real-IP.
func (n NginxConfig) Render() string {
	var b strings.Builder
	fmt.Fprintf(&b, "worker_processes %d;\ndaemon off;\npid %s/nginx.pid;\nerror_log %s/error.log warn;\nworker_rlimit_nofile 65536;\n\n",
		max(1, n.Workers), n.Dir, n.Dir)
	b.WriteString("events {\n    worker_connections 16384;\n}\n\nhttp {\n")
	for _, l := range []string{
		"access_log off;",
		fmt.Sprintf("client_body_temp_path %s/client_body;", n.Dir),
		fmt.Sprintf("proxy_temp_path %s/proxy;", n.Dir),
		fmt.Sprintf("fastcgi_temp_path %s/fastcgi;", n.Dir),
		fmt.Sprintf("uwsgi_temp_path %s/uwsgi;", n.Dir),
		fmt.Sprintf("scgi_temp_path %s/scgi;", n.Dir),
		"keepalive_timeout 75s;",
		"keepalive_requests 1000000;",
		"ssl_session_cache off;",
		"ssl_session_tickets off;",
		"ssl_protocols TLSv1.2 TLSv1.3;",
	} {
		fmt.Fprintf(&b, "    %s\n", l)
	}
	upstream := func(name string, port int) {
		fmt.Fprintf(&b, "\n    upstream %s {\n        server %s;\n        keepalive 64;\n    }\n", name, net.JoinHostPort(n.Origin, strconv.Itoa(port)))
	}
	upstream("origin_http", n.HTTPPort)
	upstream("origin_https", n.HTTPSPort)
	server := func(port int, tls bool) {
		listen, scheme, up := net.JoinHostPort(n.Listen, strconv.Itoa(port)), "http", "origin_http"
		if tls {
			listen += " ssl"
			scheme, up = "https", "origin_https"
		}
		fmt.Fprintf(&b, "\n    server {\n        listen %s;\n        server_name %s;\n", listen, n.Domain)
		if tls {
			fmt.Fprintf(&b, "        ssl_certificate %s;\n        ssl_certificate_key %s;\n", n.CertFile, n.KeyFile)
		}
		fmt.Fprintf(&b, "        location / {\n            proxy_pass %s://%s;\n", scheme, up)
		for _, l := range []string{
			"proxy_http_version 1.1;",
			`proxy_set_header Connection "";`,
			"proxy_set_header Host $host;",
			"proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
			"proxy_set_header X-Forwarded-Proto $scheme;",
			"proxy_set_header X-Real-IP $remote_addr;",
		} {
			fmt.Fprintf(&b, "            %s\n", l)
		}
		if tls {
			b.WriteString("            proxy_ssl_server_name on;\n            proxy_ssl_name $host;\n            proxy_ssl_session_reuse on;\n")
		}
		b.WriteString("        }\n    }\n")
	}
	server(n.HTTPPort, false)
	server(n.HTTPSPort, true)
	b.WriteString("}\n")
	return b.String()
}
