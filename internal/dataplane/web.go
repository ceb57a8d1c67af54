package dataplane

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/netip"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"moat/internal/moat"
)

// Websites: one TCP listener per (instance IP, port) that any website
// serves, kept apart from the port rules' listeners (the API forbids a TCP
// port rule and a website on the same port of an instance). Each listener
// holds a routing table (host → website, and the instance's state) that
// the reconcile loop replaces atomically, so a change applies to the next
// request or handshake while the listener and its open connections stay.

// Limits and timeouts of the web proxy (docs/DATAPLANE.md, "Websites").
const (
	// WebReadHeaderTimeout: a client that has not sent a request's line
	// and headers within this long is disconnected.
	WebReadHeaderTimeout = 10 * time.Second
	// WebIdleTimeout: a keep-alive connection with no request for this
	// long is closed.
	WebIdleTimeout = 75 * time.Second
	// WebMaxHeaderBytes bounds a request's line and headers; over it the
	// answer is 431.
	WebMaxHeaderBytes = 64 << 10
	// WebOriginHeaderTimeout: an origin that has not begun its answer
	// this long after the request was sent gets 504.
	WebOriginHeaderTimeout = 120 * time.Second
	// WebTLSHandshakeTimeout bounds the TLS handshake with an HTTPS
	// origin.
	WebTLSHandshakeTimeout = 10 * time.Second
	// webOriginIdle: idle connections to origins are closed after this.
	webOriginIdle = 60 * time.Second
	// webOriginIdlePerHost: idle connections kept per origin.
	webOriginIdlePerHost = 64
	// https2httpPort is the origin port of HTTPS requests proxied as
	// plain HTTP (HttpsExt Https2http).
	https2httpPort = 80
)

// webKey names a website: a domain is unique in its account.
type webKey struct{ account, domain string }

// webAddr is where a website listener listens.
type webAddr struct {
	ip   netip.Addr
	port int
}

// webState is the plane's websites and their listeners.
type webState struct {
	mu        sync.Mutex
	sites     map[webKey]*webSite
	retired   []*webSite // removed websites whose last counters are not written yet
	listeners map[webAddr]*webListener

	// what the last reconcile applied (touched by the reconcile loop only)
	snap   *moat.Snapshot
	states map[string]moat.TrafficState

	proxy          http.Handler
	https2httpPort int
	dropped        atomic.Int64 // connections reset while stopped
}

func newWebState() webState {
	return webState{sites: map[webKey]*webSite{}, listeners: map[webAddr]*webListener{}, proxy: newWebProxy(), https2httpPort: https2httpPort}
}

// webSite is one website being served, whatever its listeners: its guard,
// the transport to its origins and its counters.
type webSite struct {
	key       webKey
	view      atomic.Pointer[webSiteView]
	guard     WebGuard // nil: every request allowed
	settings  WebGuardSettings
	transport *http.Transport
	stats     webCounters
}

// webSiteView is what a website is served by at one snapshot.
type webSiteView struct {
	site moat.WebSite
	// tls answers the website's handshakes; nil without a usable
	// certificate.
	tls *tls.Config
	// bal picks each request's origin.
	bal *webBalance
}

// webRoutes is one listener's routing table.
type webRoutes struct {
	state  moat.TrafficState
	secure bool
	exact  map[string]*webSite
	wild   map[string]*webSite // "*.example.com" under "example.com"
}

// lookup finds the website of host (a name without port): the exact
// domain first, then the closest wildcard (*.example.com matches
// a.example.com and a.b.example.com).
func (rt *webRoutes) lookup(host string) *webSite {
	if rt == nil || host == "" {
		return nil
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if s := rt.exact[host]; s != nil {
		return s
	}
	for {
		i := strings.IndexByte(host, '.')
		if i < 0 {
			return nil
		}
		host = host[i+1:]
		if s := rt.wild[host]; s != nil {
			return s
		}
	}
}

// webListener serves one (IP, port): its socket, HTTP server and open
// connections.
type webListener struct {
	p      *Plane
	addr   webAddr
	secure bool
	routes atomic.Pointer[webRoutes]
	srv    *http.Server
	tls    *tls.Config

	mu      sync.Mutex
	ln      *net.TCPListener
	conns   map[*webConn]struct{}
	removed bool
	lnErr   string
}

// reconcileWeb makes the websites and their listeners match snap at now;
// a nil snap removes them all.
func (p *Plane) reconcileWeb(ctx context.Context, snap *moat.Snapshot, now time.Time) {
	w := &p.web
	states := map[string]moat.TrafficState{}
	ips := map[string]netip.Addr{}
	if snap != nil {
		for i := range snap.Edges {
			e := &snap.Edges[i]
			ip, err := netip.ParseAddr(e.IP)
			if err != nil {
				continue
			}
			states[e.ID] = e.StateAt(now)
			ips[e.ID] = ip
		}
		if snap == w.snap && reflect.DeepEqual(states, w.states) && p.webListening() {
			return
		}
	}
	w.snap, w.states = snap, states

	// Websites: new ones, changed ones, and their guards.
	keep := map[webKey]bool{}
	var webs []moat.WebSite
	if snap != nil {
		webs = snap.Webs
	}
	for i := range webs {
		ws := &webs[i]
		k := webKey{ws.AccountID, ws.Domain}
		keep[k] = true
		mitigate := false
		for _, id := range ws.InstanceIDs {
			if states[id] == moat.TrafficMitigated {
				mitigate = true
			}
		}
		p.setSite(k, ws, mitigate)
	}

	// Listeners: the routing table of every (IP, port) some website
	// serves.
	want := map[webAddr]*webRoutes{}
	w.mu.Lock()
	sites := w.sites
	w.mu.Unlock()
	for i := range webs {
		ws := &webs[i]
		site := sites[webKey{ws.AccountID, ws.Domain}]
		for _, id := range ws.InstanceIDs {
			ip, ok := ips[id]
			if !ok {
				continue
			}
			for _, pt := range ws.ProxyTypes {
				secure := pt.Type == moat.ProxyHTTPS || pt.Type == moat.ProxyWebsockets
				for _, port := range pt.Ports {
					a := webAddr{ip, port}
					rt := want[a]
					if rt == nil {
						rt = &webRoutes{state: states[id], secure: secure, exact: map[string]*webSite{}, wild: map[string]*webSite{}}
						want[a] = rt
					}
					if rt.secure != secure {
						p.log.Warn("dataplane: website port served both in clear and over TLS; the website is left out of it",
							"domain", ws.Domain, "addr", listenAddr(ip, port))
						continue
					}
					if d, ok := strings.CutPrefix(ws.Domain, "*."); ok {
						rt.wild[d] = site
					} else {
						rt.exact[ws.Domain] = site
					}
				}
			}
		}
	}
	for a, rt := range want {
		p.setListener(ctx, a, rt)
	}

	// What is no longer wanted goes.
	var goneL []*webListener
	var goneS []*webSite
	w.mu.Lock()
	for a, l := range w.listeners {
		if want[a] == nil {
			goneL = append(goneL, l)
			delete(w.listeners, a)
		}
	}
	for k, s := range w.sites {
		if !keep[k] {
			goneS = append(goneS, s)
			delete(w.sites, k)
		}
	}
	w.retired = append(w.retired, goneS...)
	w.mu.Unlock()
	for _, l := range goneL {
		l.remove()
	}
	for _, s := range goneS {
		s.transport.CloseIdleConnections()
	}
}

// webListening reports whether every listener's socket is open (a failed
// bind is retried on the next tick).
func (p *Plane) webListening() bool {
	p.web.mu.Lock()
	defer p.web.mu.Unlock()
	for _, l := range p.web.listeners {
		l.mu.Lock()
		ok := l.ln != nil
		l.mu.Unlock()
		if !ok {
			return false
		}
	}
	return true
}

// setSite creates or updates a website.
func (p *Plane) setSite(k webKey, ws *moat.WebSite, mitigate bool) {
	w := &p.web
	w.mu.Lock()
	s := w.sites[k]
	w.mu.Unlock()
	// The guard is not told the origin policy: a change of policy leaves
	// it as it is.
	prot := ws.Protection
	prot.Policy = moat.WebPolicy{}
	gs := WebGuardSettings{AccountID: k.account, Domain: k.domain, Node: p.node, Mitigate: mitigate, Protection: prot}
	if s == nil {
		s = &webSite{key: k, settings: gs, transport: newOriginTransport(ws.Domain)}
		if p.cfg.NewWebGuard != nil {
			s.guard = p.cfg.NewWebGuard(gs)
		}
		w.mu.Lock()
		w.sites[k] = s
		w.mu.Unlock()
	} else if !reflect.DeepEqual(s.settings, gs) {
		s.settings = gs
		if s.guard != nil {
			s.guard.Update(gs)
		}
	}
	old := s.view.Load()
	if old != nil && reflect.DeepEqual(old.site, *ws) {
		return
	}
	v := &webSiteView{site: *ws}
	v.site.InstanceIDs = append([]string(nil), ws.InstanceIDs...)
	if old != nil && old.bal.sameAs(ws.Protection.Policy, ws.RealServers) {
		// The origins' turn and measured times carry over.
		v.bal = old.bal
	} else {
		v.bal = newWebBalance(ws.Protection.Policy, ws.RealServers)
	}
	if ws.CertPEM != "" {
		cert, err := tls.X509KeyPair([]byte(ws.CertPEM), []byte(ws.KeyPEM))
		if err != nil {
			// The error names neither the key nor the certificate's bytes.
			p.log.Warn("dataplane: website certificate unusable; its HTTPS handshakes fail", "domain", ws.Domain, "cert", ws.CertID, "err", err)
		} else {
			protos := []string{"http/1.1"}
			if ws.HTTPSExt.Http2 == 1 {
				protos = []string{"h2", "http/1.1"}
			}
			v.tls = &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: protos, MinVersion: tls.VersionTLS12}
		}
	}
	s.view.Store(v)
}

// newOriginTransport is a website's connections to its origins: HTTP/1.1
// (so upgrades pass through), the website's domain as the TLS server name
// (the client's name for a wildcard website is not known here, so none),
// and the origin's certificate not verified: origins are addressed by IP
// and often serve certificates of their own making.
// Compression is the client's business: the transport neither asks the
// origin for gzip on the client's behalf nor decompresses the answer, so
// the answer reaches the client as the origin sent it.
func newOriginTransport(domain string) *http.Transport {
	sni := domain
	if strings.HasPrefix(domain, "*.") {
		sni = ""
	}
	return &http.Transport{
		DialContext:           (&net.Dialer{Timeout: DialTimeout, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:       &tls.Config{ServerName: sni, InsecureSkipVerify: true},
		TLSHandshakeTimeout:   WebTLSHandshakeTimeout,
		ResponseHeaderTimeout: WebOriginHeaderTimeout,
		MaxIdleConnsPerHost:   webOriginIdlePerHost,
		IdleConnTimeout:       webOriginIdle,
		ExpectContinueTimeout: time.Second,
		DisableCompression:    true,
	}
}

// setListener applies a routing table to the listener at a, creating it
// (or recreating it when it changes between clear and TLS).
func (p *Plane) setListener(ctx context.Context, a webAddr, rt *webRoutes) {
	w := &p.web
	w.mu.Lock()
	l := w.listeners[a]
	w.mu.Unlock()
	if l != nil && l.secure != rt.secure {
		l.remove()
		l = nil
	}
	if l == nil {
		l = p.newWebListener(a, rt.secure)
		w.mu.Lock()
		w.listeners[a] = l
		w.mu.Unlock()
	}
	old := l.routes.Swap(rt)
	if old != nil && old.state != rt.state {
		p.log.Info("dataplane: website listener state", "addr", listenAddr(a.ip, a.port), "state", rt.state.String())
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if rt.state == moat.TrafficStopped {
		for c := range l.conns {
			c.abort()
		}
	}
	if l.ln == nil && !l.removed {
		l.listenLocked(ctx)
	}
}

func (p *Plane) newWebListener(a webAddr, secure bool) *webListener {
	l := &webListener{p: p, addr: a, secure: secure, conns: map[*webConn]struct{}{}}
	l.srv = &http.Server{
		Handler:           l,
		ReadHeaderTimeout: WebReadHeaderTimeout,
		IdleTimeout:       WebIdleTimeout,
		MaxHeaderBytes:    WebMaxHeaderBytes,
		// Failed handshakes and broken clients are the clients' business.
		ErrorLog: log.New(io.Discard, "", 0),
	}
	if secure {
		l.tls = &tls.Config{GetConfigForClient: l.configForClient}
	}
	return l
}

// errUnknownName fails the handshake of a name no website of the listener
// has a certificate for.
var errUnknownName = errors.New("no website with a certificate for this server name")

// configForClient picks the certificate by SNI: the website whose domain
// matches, exactly or by wildcard.
func (l *webListener) configForClient(hello *tls.ClientHelloInfo) (*tls.Config, error) {
	s := l.routes.Load().lookup(hello.ServerName)
	if s == nil {
		return nil, errUnknownName
	}
	if v := s.view.Load(); v != nil && v.tls != nil {
		return v.tls, nil
	}
	return nil, errUnknownName
}

// listenLocked opens the listener's socket; a failure is logged once
// (until it changes) and retried on the next tick.
func (l *webListener) listenLocked(ctx context.Context) {
	addr := listenAddr(l.addr.ip, l.addr.port)
	lns, err := listenTCP(ctx, addr, l.p.cfg.Freebind, 1)
	if err != nil {
		if msg := err.Error(); msg != l.lnErr {
			l.lnErr = msg
			l.p.log.Warn("dataplane: listen (websites)", "addr", addr, "err", err)
		}
		return
	}
	ln := lns[0]
	l.lnErr = ""
	l.ln = ln
	l.p.goHandler(func() { l.srv.Serve(webAccepter{l, ln}) })
}

// remove closes the socket and every connection.
func (l *webListener) remove() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.removed = true
	if l.ln != nil {
		l.ln.Close()
	}
	for c := range l.conns {
		c.abort()
	}
}

// webAccepter hands the HTTP server the connections the listener's state
// admits: while the instance's forwarding is stopped, new connections are
// reset at once.
type webAccepter struct {
	l  *webListener
	ln *net.TCPListener
}

func (a webAccepter) Accept() (net.Conn, error) {
	l := a.l
	for {
		c, err := a.ln.AcceptTCP()
		if err != nil {
			return nil, err
		}
		if l.routes.Load().state == moat.TrafficStopped {
			l.p.web.dropped.Add(1)
			refuse(c)
			continue
		}
		wc := &webConn{TCPConn: c, l: l}
		l.mu.Lock()
		if l.removed {
			l.mu.Unlock()
			refuse(c)
			continue
		}
		l.conns[wc] = struct{}{}
		l.mu.Unlock()
		// A change to stopped closes tracked connections; one tracked
		// after that sees the new state here.
		if l.routes.Load().state == moat.TrafficStopped {
			wc.abort()
			wc.Close()
			continue
		}
		if l.secure {
			return tls.Server(wc, l.tls), nil
		}
		return wc, nil
	}
}

func (a webAccepter) Close() error   { return a.ln.Close() }
func (a webAccepter) Addr() net.Addr { return a.ln.Addr() }

// webConn is an accepted connection, tracked until it closes (also once
// an upgrade has taken it from the HTTP server).
type webConn struct {
	*net.TCPConn
	l    *webListener
	once sync.Once
}

func (c *webConn) Close() error {
	err := c.TCPConn.Close()
	c.once.Do(func() {
		c.l.mu.Lock()
		delete(c.l.conns, c)
		c.l.mu.Unlock()
	})
	return err
}

// abort resets the connection (the listener's lock held: the connection
// is untracked by the caller's loop or later).
func (c *webConn) abort() {
	c.TCPConn.SetLinger(0)
	c.TCPConn.Close()
}
