package dataplane

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"moat/internal/moat"
)

// The request path of a website listener: route by Host, consult the
// website's guard while the instance is in service, redirect to HTTPS
// when asked, and proxy to the origin the website's policy picks
// (webbalance.go).

// webTarget is where one request goes, handed to the proxy through the
// request's context.
type webTarget struct {
	site   *webSite
	bal    *webBalance
	origin int    // the origin's index in bal
	scheme string // http or https, to the origin
	host   string // origin:port
	proto  string // http or https, from the client
	client string // the client's address
}

type webTargetKey struct{}

// newWebProxy is the reverse proxy every website listener shares: it
// reads the target from the request's context.
func newWebProxy() http.Handler {
	return &httputil.ReverseProxy{
		Rewrite:      rewriteWeb,
		Transport:    webTransport{},
		BufferPool:   webBuffers{},
		ErrorHandler: webProxyError,
	}
}

// rewriteWeb addresses the request to the origin, keeping the client's
// Host, and tells the origin about the client: X-Forwarded-For gets the
// client's address appended, X-Forwarded-Proto the scheme the client
// used, X-Real-IP the client's address.
func rewriteWeb(pr *httputil.ProxyRequest) {
	t := pr.In.Context().Value(webTargetKey{}).(*webTarget)
	pr.Out.URL.Scheme = t.scheme
	pr.Out.URL.Host = t.host
	pr.Out.Host = pr.In.Host
	xff := t.client
	if prior := pr.In.Header["X-Forwarded-For"]; len(prior) > 0 {
		xff = strings.Join(prior, ", ") + ", " + xff
	}
	pr.Out.Header.Set("X-Forwarded-For", xff)
	pr.Out.Header.Set("X-Forwarded-Proto", t.proto)
	pr.Out.Header.Set("X-Real-IP", t.client)
}

// webTransport sends a request through its website's transport.
type webTransport struct{}

func (webTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	t := r.Context().Value(webTargetKey{}).(*webTarget)
	if t.bal.times == nil {
		return t.site.transport.RoundTrip(r)
	}
	start := time.Now()
	resp, err := t.site.transport.RoundTrip(r)
	if r.Context().Err() == nil {
		// A request its client gave up on says nothing of the origin.
		t.bal.observe(t.origin, time.Since(start), err != nil)
	}
	return resp, err
}

var webBufferPool = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// webBuffers lends the proxy its copy buffers.
type webBuffers struct{}

func (webBuffers) Get() []byte  { return *webBufferPool.Get().(*[]byte) }
func (webBuffers) Put(b []byte) { webBufferPool.Put(&b) }

// webProxyError answers a request the origin did not: 504 when it did not
// answer in time, 502 otherwise, and 499 (recorded only; nobody reads it)
// when the client went away first.
func webProxyError(w http.ResponseWriter, r *http.Request, err error) {
	var ne net.Error
	switch {
	case errors.Is(r.Context().Err(), context.Canceled):
		w.WriteHeader(statusClientClosed)
	case errors.As(err, &ne) && ne.Timeout() && !strings.Contains(err.Error(), "dial"):
		webPage(w, http.StatusGatewayTimeout, "The origin server did not answer in time.")
	default:
		webPage(w, http.StatusBadGateway, "The origin server could not be reached.")
	}
}

// statusClientClosed is the status counted for a request whose client
// closed its connection before the answer (nginx's 499).
const statusClientClosed = 499

// webPage answers with a short HTML page of the status.
func webPage(w http.ResponseWriter, status int, msg string) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	body := "<html><head><title>" + strconv.Itoa(status) + " " + http.StatusText(status) + "</title></head><body><h1>" +
		strconv.Itoa(status) + " " + http.StatusText(status) + "</h1><p>" + msg + "</p></body></html>\n"
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	io.WriteString(w, body)
}

// ServeHTTP serves one request of the listener.
func (l *webListener) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rt := l.routes.Load()
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	site := rt.lookup(host)
	if site == nil {
		// No website of this address serves the name.
		webPage(w, http.StatusNotFound, "No website is served for this host name here.")
		return
	}
	v := site.view.Load()
	ww := &webWriter{ResponseWriter: w}
	body := &webBody{ReadCloser: r.Body}
	if r.Body != nil && r.Body != http.NoBody {
		r.Body = body
	}
	st := &site.stats
	defer func() { st.record(requestSize(r)+body.n, ww) }()

	src := remoteAddr(r)
	if rt.state == moat.TrafficMitigated && site.guard != nil {
		verdict := site.guard.Request(src, r, l.p.src.TrafficNow())
		if verdict.Attack {
			st.attacks.Add(1)
		}
		if !verdict.Allow {
			st.blocked[webBlockKind(verdict.Reason)].Add(1)
			ww.Header().Set("Content-Type", "text/html; charset=utf-8")
			ww.Header().Set("Content-Length", strconv.Itoa(len(verdict.Body)))
			ww.WriteHeader(verdict.Status)
			ww.Write(verdict.Body)
			return
		}
	}
	if !l.secure && v.site.HTTPSExt.Http2https == 1 {
		// HTTP goes to HTTPS on 443, the port of the URL's scheme.
		ww.Header().Set("Location", "https://"+bracketHost(host)+r.URL.RequestURI())
		ww.WriteHeader(http.StatusMovedPermanently)
		return
	}
	t := &webTarget{site: site, scheme: "http", proto: "http", client: src.String()}
	port := l.addr.port
	if l.secure {
		t.proto = "https"
		if v.site.HTTPSExt.Https2http == 1 {
			port = l.p.web.https2httpPort
		} else {
			t.scheme = "https"
		}
	}
	origin, i := v.bal.pick(src)
	t.bal, t.origin = v.bal, i
	// The proxy panics with http.ErrAbortHandler when an answer is cut.
	defer v.bal.done(i)
	t.host = net.JoinHostPort(origin, strconv.Itoa(port))
	l.p.web.proxy.ServeHTTP(ww, r.WithContext(context.WithValue(r.Context(), webTargetKey{}, t)))
}

func remoteAddr(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

func bracketHost(h string) string {
	if strings.Contains(h, ":") {
		return "[" + h + "]"
	}
	return h
}

// requestSize is the size of a request's line and headers as received
// (HTTP/1.1 framing; an HTTP/2 request is counted the same way).
func requestSize(r *http.Request) int64 {
	n := len(r.Method) + len(r.RequestURI) + len(r.Proto) + 4 + len("Host: ") + len(r.Host) + 2 + 2
	for k, vs := range r.Header {
		for _, v := range vs {
			n += len(k) + len(v) + 4
		}
	}
	return int64(n)
}

// webBody counts the bytes of a request's body as the proxy reads them.
type webBody struct {
	io.ReadCloser
	n int64
}

func (b *webBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n += int64(n)
	return n, err
}

// webWriter records an answer's status and size.
type webWriter struct {
	http.ResponseWriter
	status int
	n      int64
}

func (w *webWriter) WriteHeader(code int) {
	if w.status == 0 && (code >= 200 || code == http.StatusSwitchingProtocols) {
		w.status = code
		n := len("HTTP/1.1 000 ") + len(http.StatusText(code)) + 2 + 2
		for k, vs := range w.Header() {
			for _, v := range vs {
				n += len(k) + len(v) + 4
			}
		}
		w.n += int64(n)
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *webWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	n, err := w.ResponseWriter.Write(b)
	w.n += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the connection (flushes, and
// the hijack of an upgrade).
func (w *webWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
