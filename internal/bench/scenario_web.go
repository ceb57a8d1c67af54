package bench

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"

	"moat/internal/acs"
	"moat/internal/admin"
	"moat/internal/bench/l7"
	"moat/internal/bench/proc"
)

// WebHTTPPort and WebHTTPSPort are the website's ports and the origin's
// (moat reaches the origin on the port the request came in on).
const (
	WebHTTPPort  = 8080
	WebHTTPSPort = 8443
)

// ScenarioWeb serves one website through moat's web proxy and through
// nginx configured as the same reverse proxy, to the same origin, in the
// same run: keep-alive HTTPS requests/s, new TLS handshakes/s, and the
// latency each adds at a modest fixed rate.
const ScenarioWeb = "web"

// The web targets, relative to nginx's figures in the same run.
const (
	TargetWebKeepAliveRatio = 0.6
	TargetWebHandshakeRatio = 0.8
)

// The scenario's addresses and shape: moat's instance comes from its own
// loopback pool, nginx and the origin listen on addresses of their own,
// the loads come from 127.0.4.1-8 and the CC probe from 127.0.5.1.
const (
	webPool         = "127.68.0.0/16"
	webNginxIP      = "127.69.0.1"
	webOriginIP     = "127.70.0.1"
	webDomain       = "www.bench-web.test"
	webCertName     = "bench-web"
	webKeepAlive    = 32 // connections of the keep-alive load
	webHandshakes   = 32 // workers of the handshake load
	webPacedConns   = 8  // connections of the paced load
	webMaxRequests  = 20000000
	webMaxHandshake = 2000000
	webTLS          = "TLS 1.3, X25519, ECDSA P-256 certificate, no session resumption"
)

var (
	webSources = func() []netip.Addr {
		var s []netip.Addr
		for i := range 8 {
			s = append(s, netip.AddrFrom4([4]byte{127, 0, 4, byte(1 + i)}))
		}
		return s
	}()
	webProbeSource = netip.MustParseAddr("127.0.5.1")
)

// WebResult is the web scenario.
type WebResult struct {
	Duration string
	// Rate is the paced load's requests/s.
	Rate   float64
	Domain string
	TLS    string
	Origin WebOrigin
	// Nginx is nginx's version, or why it was not measured.
	Nginx     string
	NginxAddr string `json:",omitempty"`
	MoatAddr  string `json:",omitempty"` // the instance's IP
	Instance  string `json:",omitempty"`
	// Direct is the paced load straight to the origin's HTTPS port: the
	// base of the added latency.
	Direct *l7.Result `json:",omitempty"`
	// Figures of each proxy; NginxFigures is nil without nginx.
	MoatFigures  *WebFigures `json:",omitempty"`
	NginxFigures *WebFigures `json:",omitempty"`
	// MoatCCOn is the keep-alive load through moat with the website's CC
	// switch on (default template): requests beyond its threshold are
	// answered 405 by moat itself.
	MoatCCOn *l7.Result `json:",omitempty"`
	// Ratios are moat's figures over nginx's.
	Ratios *WebRatios `json:",omitempty"`
	// MoatError is why moat was not measured (nginx may have been).
	MoatError string `json:",omitempty"`
}

// WebOrigin is the origin's two addresses.
type WebOrigin struct{ HTTP, HTTPS string }

// WebFigures are one proxy's figures.
type WebFigures struct {
	KeepAlive  *l7.Result `json:",omitempty"`
	Handshakes *l7.Result `json:",omitempty"`
	Paced      *l7.Result `json:",omitempty"`
	// AddedP50Ms and AddedP99Ms are the paced load's percentiles minus
	// the direct load's.
	AddedP50Ms float64
	AddedP99Ms float64
}

// WebRatios are moat's figures over nginx's.
type WebRatios struct{ KeepAlive, Handshakes float64 }

// webProxy is a proxy under test.
type webProxy struct {
	name  string
	ip    string
	child *proc.Child
}

func (p webProxy) target(tls bool) l7.Target {
	port := WebHTTPPort
	if tls {
		port = WebHTTPSPort
	}
	return l7.Target{Addr: net.JoinHostPort(p.ip, strconv.Itoa(port)), Host: webDomain, TLS: tls, Sources: webSources}
}

func (r *runner) web(ctx context.Context) error {
	c := r.cfg
	wr := &WebResult{Duration: c.WebDuration.String(), Rate: c.WebRate, Domain: webDomain, TLS: webTLS}
	r.res.Web = wr
	dir, err := os.MkdirTemp("", "moat-bench-web-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	origin, err := proc.StartChild(ctx, proc.ChildSpec{
		Name: "web origin", Path: c.Exe, Env: proc.ChildEnv(),
		Args:  []string{"bench", "--web-origin-serve", "--addr", webOriginIP + ":0"},
		Ready: regexp.MustCompile(regexp.QuoteMeta(l7.OriginReady) + ` http=(\S+) https=(\S+)`),
	})
	if err != nil {
		return err
	}
	defer origin.Stop(10 * time.Second)
	wr.Origin = WebOrigin{HTTP: origin.Ready[1], HTTPS: origin.Ready[2]}

	ca, err := l7.NewCA("moat bench web CA")
	if err != nil {
		return err
	}
	cert, key, err := ca.Issue(webDomain)
	if err != nil {
		return err
	}
	pool := ca.Pool()

	var proxies []webProxy
	if np, err := r.startNginx(ctx, dir, cert, key, pool, wr); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		wr.Nginx = err.Error()
		r.logf("web: %v; measuring moat alone", err)
	} else {
		defer np.child.Stop(10 * time.Second)
		proxies = append(proxies, np)
	}
	mp, api, stop, err := r.startWebMoat(ctx, dir, cert, key, pool, wr)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		wr.MoatError = err.Error()
		r.logf("web: moat: %v", err)
	} else {
		defer stop()
		proxies = append(proxies, mp)
	}
	if len(proxies) == 0 {
		return fmt.Errorf("neither nginx nor moat serves the website: %s", wr.MoatError)
	}
	figs := make([]*WebFigures, len(proxies))
	for i, p := range proxies {
		figs[i] = &WebFigures{}
		if p.name == "moat" {
			wr.MoatFigures = figs[i]
		} else {
			wr.NginxFigures = figs[i]
		}
	}
	direct := l7.Target{Addr: wr.Origin.HTTPS, Host: webDomain, TLS: true, Sources: webSources}
	paced := func(t l7.Target) (*l7.Result, error) {
		return l7.Paced(ctx, l7.PacedSpec{Target: t, Conns: webPacedConns, Rate: c.WebRate, Warmup: c.Warmup, Duration: c.WebDuration})
	}
	r.logf("web: paced latency straight to the origin")
	if wr.Direct, err = paced(direct); err != nil {
		return fmt.Errorf("paced load to the origin: %w", err)
	}
	// Each load runs against every proxy before the next load starts.
	loads := []struct {
		name string
		run  func(p webProxy, f *WebFigures) error
	}{
		{"keep-alive HTTPS requests", func(p webProxy, f *WebFigures) (err error) {
			f.KeepAlive, err = l7.KeepAlive(ctx, l7.Spec{Target: p.target(true), Conns: webKeepAlive, Warmup: c.Warmup, Duration: c.WebDuration, Max: webMaxRequests})
			return err
		}},
		{"new TLS handshakes", func(p webProxy, f *WebFigures) (err error) {
			f.Handshakes, err = l7.Handshakes(ctx, l7.Spec{Target: p.target(true), Conns: webHandshakes, Warmup: c.Warmup, Duration: c.WebDuration, Max: webMaxHandshake})
			return err
		}},
		{"paced latency", func(p webProxy, f *WebFigures) (err error) {
			f.Paced, err = paced(p.target(true))
			return err
		}},
	}
	var errs []error
	for _, l := range loads {
		for i, p := range proxies {
			select {
			case <-p.child.Exited():
				errs = append(errs, fmt.Errorf("%s exited:\n%s", p.child.Name, p.child.Tail()))
				continue
			default:
			}
			r.logf("web: %s through %s", l.name, p.name)
			if err := l.run(p, figs[i]); err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				errs = append(errs, fmt.Errorf("%s through %s: %w", l.name, p.name, err))
			}
		}
	}
	if wr.MoatFigures != nil && api != nil {
		r.logf("web: keep-alive HTTPS requests through moat with the CC switch on")
		if wr.MoatCCOn, err = r.webCCOn(ctx, mp, api); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			errs = append(errs, fmt.Errorf("CC switch on: %w", err))
		}
	}
	if wr.MoatError != "" {
		errs = append(errs, fmt.Errorf("moat: %s", wr.MoatError))
	}
	return errors.Join(errs...)
}

// startNginx writes the certificate and the configuration and starts
// nginx in the foreground, then waits until it serves the website.
func (r *runner) startNginx(ctx context.Context, dir, cert, key string, pool *x509.CertPool, wr *WebResult) (webProxy, error) {
	bin, err := exec.LookPath(r.cfg.Nginx)
	if err != nil {
		return webProxy{}, fmt.Errorf("nginx is not installed (%v)", err)
	}
	if out, err := exec.CommandContext(ctx, bin, "-v").CombinedOutput(); err == nil {
		wr.Nginx = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(string(out)), "nginx version:"))
	}
	nd := filepath.Join(dir, "nginx")
	if err := os.MkdirAll(nd, 0o755); err != nil {
		return webProxy{}, err
	}
	nc := NginxConfig{Dir: nd, Workers: runtime.NumCPU(), Listen: webNginxIP, Domain: webDomain,
		CertFile: filepath.Join(nd, "cert.pem"), KeyFile: filepath.Join(nd, "key.pem"),
		Origin: webOriginIP, HTTPPort: WebHTTPPort, HTTPSPort: WebHTTPSPort}
	for path, data := range map[string]string{nc.CertFile: cert, nc.KeyFile: key, filepath.Join(nd, "nginx.conf"): nc.Render()} {
		if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
			return webProxy{}, err
		}
	}
	child, err := proc.StartChild(ctx, proc.ChildSpec{Name: "nginx", Path: bin, Env: proc.ChildEnv(),
		Args: []string{"-p", nd, "-c", filepath.Join(nd, "nginx.conf"), "-e", filepath.Join(nd, "error.log")}})
	if err != nil {
		return webProxy{}, err
	}
	p := webProxy{name: "nginx", ip: webNginxIP, child: child}
	if err := waitServes(ctx, p, pool, 10*time.Second); err != nil {
		child.Stop(10 * time.Second)
		log, _ := os.ReadFile(filepath.Join(nd, "error.log"))
		return webProxy{}, fmt.Errorf("nginx: %w\n%s", err, strings.TrimSpace(string(log)))
	}
	wr.NginxAddr = webNginxIP
	return p, nil
}

// startWebMoat starts a moat serve of its own with the data plane on and
// a fresh store, creates an instance, the website with its certificate
// through the signed API, turns the CC switch off, and waits until the
// website is served.
func (r *runner) startWebMoat(ctx context.Context, dir, cert, key string, pool *x509.CertPool, wr *WebResult) (webProxy, *acs.Client, func(), error) {
	c := r.cfg
	token := randomToken()
	child, err := proc.StartChild(ctx, proc.ChildSpec{
		Name: "moat serve --dataplane", Path: c.Exe, Ready: moatReadyRE,
		Env: proc.ChildEnv("MOAT_ACCESS_KEY_ID="+BootstrapKeyID, "MOAT_ACCESS_KEY_SECRET="+BootstrapSecret),
		Args: []string{"serve", "--addr", "127.0.0.1:0", "--db", filepath.Join(dir, "moat.db"), "--admin-token", token,
			"--log-level", c.ServerLogLevel, "--dataplane", "--ip-pool", SeedRegion + "=" + webPool},
	})
	if err != nil {
		return webProxy{}, nil, nil, err
	}
	stop := func() {
		if err := child.Stop(60 * time.Second); err != nil {
			r.logf("web: %v", err)
		}
	}
	fail := func(err error) (webProxy, *acs.Client, func(), error) {
		stop()
		return webProxy{}, nil, nil, err
	}
	ep := "http://" + child.Addr
	hc := &http.Client{Timeout: time.Minute}
	adm := &admin.Client{Endpoint: ep, Token: token, HTTP: hc}
	api := &acs.Client{Endpoint: ep, AccessKeyID: BootstrapKeyID, AccessKeySecret: BootstrapSecret, HTTP: hc}
	ins, err := adm.CreateInstances(ctx, admin.InstancesRequest{AccessKeyId: BootstrapKeyID, RegionId: SeedRegion, Count: 1, ExpireIn: "8760h", Remark: "bench web"})
	if err != nil {
		return fail(fmt.Errorf("create the instance: %w", err))
	}
	if len(ins) != 1 || ins[0].Ip == "" {
		return fail(fmt.Errorf("create the instance: got %+v", ins))
	}
	wr.Instance, wr.MoatAddr = ins[0].InstanceId, ins[0].Ip
	calls := []map[string]string{
		{"Action": "CreateDomainResource", "Domain": webDomain, "InstanceIds.1": wr.Instance, "RealServers.1": webOriginIP, "RsType": "0",
			"ProxyTypes.1.ProxyType": "http", "ProxyTypes.1.ProxyPorts.1": strconv.Itoa(WebHTTPPort),
			"ProxyTypes.2.ProxyType": "https", "ProxyTypes.2.ProxyPorts.1": strconv.Itoa(WebHTTPSPort)},
		{"Action": "AssociateWebCert", "Domain": webDomain, "CertName": webCertName, "Cert": cert, "Key": key},
		{"Action": "ModifyWebCCGlobalSwitch", "Domain": webDomain, "CcGlobalSwitch": "close"},
	}
	for _, p := range calls {
		if err := apiCall(ctx, api, p); err != nil {
			return fail(err)
		}
	}
	p := webProxy{name: "moat", ip: wr.MoatAddr, child: child}
	if err := waitServes(ctx, p, pool, 15*time.Second); err != nil {
		return fail(err)
	}
	return p, api, stop, nil
}

// apiCall makes one signed call and wants 200.
func apiCall(ctx context.Context, api *acs.Client, p map[string]string) error {
	p["Version"], p["Format"], p["RegionId"] = apiVersion, "JSON", SeedRegion
	status, body, err := api.Call(ctx, p)
	if err != nil {
		return fmt.Errorf("%s: %w", p["Action"], err)
	}
	if status != http.StatusOK {
		return fmt.Errorf("%s: HTTP %d: %s", p["Action"], status, strings.TrimSpace(string(body)))
	}
	return nil
}

// waitServes waits until the proxy answers the website over HTTPS, with
// the certificate the test CA issued, and over HTTP, with the origin's
// body.
func waitServes(ctx context.Context, p webProxy, pool *x509.CertPool, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for _, tls := range []bool{true, false} {
		var last string
		for {
			st, body, err := l7.Check(ctx, p.target(tls), pool)
			if err == nil && st == http.StatusOK && body == l7.OriginBody {
				break
			}
			last = fmt.Sprintf("%d %q %v", st, body, err)
			select {
			case <-p.child.Exited():
				return fmt.Errorf("%s exited:\n%s", p.child.Name, p.child.Tail())
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(100 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%s does not serve %s (TLS %v) within %s; last: %s", p.name, webDomain, tls, limit, last)
			}
		}
	}
	return nil
}

// webCCOn turns the website's CC switch on, waits until moat's guard
// refuses a source over the default template's threshold (the probe
// source), then runs the keep-alive load.
func (r *runner) webCCOn(ctx context.Context, p webProxy, api *acs.Client) (*l7.Result, error) {
	if err := apiCall(ctx, api, map[string]string{"Action": "ModifyWebCCGlobalSwitch", "Domain": webDomain, "CcGlobalSwitch": "open"}); err != nil {
		return nil, err
	}
	probe := p.target(true)
	probe.Sources = []netip.Addr{webProbeSource}
	deadline := time.Now().Add(15 * time.Second)
	for {
		res, err := l7.KeepAlive(ctx, l7.Spec{Target: probe, Conns: 1, Duration: time.Second, Max: 3000})
		if err != nil {
			return nil, err
		}
		if res.Statuses[strconv.Itoa(http.StatusMethodNotAllowed)] > 0 {
			break
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("the guard refused nothing within 15 s of the switch (last probe: %+v)", res)
		}
	}
	c := r.cfg
	return l7.KeepAlive(ctx, l7.Spec{Target: p.target(true), Conns: webKeepAlive, Warmup: c.Warmup, Duration: c.WebDuration, Max: webMaxRequests})
}

// computeWebRatios sets moat's figures over nginx's and each proxy's
// added latency.
func computeWebRatios(wr *WebResult) {
	for _, f := range []*WebFigures{wr.MoatFigures, wr.NginxFigures} {
		if f == nil || f.Paced == nil || wr.Direct == nil {
			continue
		}
		f.AddedP50Ms = math.Round((f.Paced.Latency.P50Ms-wr.Direct.Latency.P50Ms)*1000) / 1000
		f.AddedP99Ms = math.Round((f.Paced.Latency.P99Ms-wr.Direct.Latency.P99Ms)*1000) / 1000
	}
	m, n := wr.MoatFigures, wr.NginxFigures
	if m == nil || n == nil {
		return
	}
	q := func(a, b float64) float64 {
		if b <= 0 {
			return 0
		}
		return float64(int64(a/b*1000+0.5)) / 1000
	}
	rt := &WebRatios{}
	if m.KeepAlive != nil && n.KeepAlive != nil {
		rt.KeepAlive = q(m.KeepAlive.OKPerSec, n.KeepAlive.OKPerSec)
	}
	if m.Handshakes != nil && n.Handshakes != nil {
		rt.Handshakes = q(m.Handshakes.OKPerSec, n.Handshakes.OKPerSec)
	}
	wr.Ratios = rt
}
