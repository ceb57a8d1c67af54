package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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
	"moat/internal/bench/l4"
	"moat/internal/bench/proc"
)

// ScenarioDataplane forwards TCP through moat's data plane and through
// HAProxy to the same origins, alternately in the same run: bulk
// throughput, short connections, echo latency, idle connections, and a
// flood from one source against a rule limited to Slimit Cps 100.
const ScenarioDataplane = "dataplane"

// The data-plane targets, each relative to HAProxy's figure in the same
// run except the absolute ones.
const (
	TargetDPThroughputRatio = 0.9
	TargetDPConnRateRatio   = 0.8
	TargetDPP99Ratio        = 1.5
	TargetDPIdleKiB         = 64.0
	TargetDPFloodPerSec     = 110.0
	TargetDPOthersRatio     = 0.8
	// DPFloodCps is the flood rule's Slimit Cps.
	DPFloodCps = 100
)

// The scenario's addresses: moat's instance comes from its own loopback
// pool; HAProxy listens on another loopback address; the flood comes from
// 127.0.0.2 and the other sources from 127.0.0.3-6.
const (
	dpPool       = "127.66.0.0/16"
	dpHAProxyIP  = "127.67.0.1"
	dpFloodSrc   = "127.0.0.2"
	dpOtherRate  = 20.0 // connections/s of each of the other sources
	dpEchoConns  = 16
	dpShortConns = 32
	// dpMaxBulk bounds each bulk connection's download (bytes).
	dpMaxBulk = 64 << 30
	// dpNoFile is the descriptor limit the scenario asks for: a proxy
	// holds two descriptors per idle connection.
	dpNoFile = 65536
	// dpMaxPipes is HAProxy's maxpipes.
	dpMaxPipes = 128
)

var dpOthers = []string{"127.0.0.3", "127.0.0.4", "127.0.0.5", "127.0.0.6"}

// dpPorts are the rules' front ports on both proxies.
var dpPorts = DataplanePorts{Bulk: 10001, Echo: 10002, Close: 10003, Flood: 10004}

// DataplaneResult is the dataplane scenario.
type DataplaneResult struct {
	Duration string
	// IdleConns is how many idle connections were asked of each proxy:
	// --dp-idle-conns, or fewer when the descriptor limit is lower.
	IdleConns int
	// NoFileLimit is the descriptor limit the children inherited.
	NoFileLimit uint64
	Origins     DataplaneOrigins
	// HAProxy is HAProxy's version, or why it was not measured.
	HAProxy     string
	HAProxyAddr string `json:",omitempty"`
	MoatAddr    string `json:",omitempty"` // the instance's IP
	Instance    string `json:",omitempty"`
	// Figures of each proxy; HAProxyFigures is nil without HAProxy.
	MoatFigures    *ProxyFigures `json:",omitempty"`
	HAProxyFigures *ProxyFigures `json:",omitempty"`
	// Ratios are moat's figures over HAProxy's (for the p99 and the
	// memory, lower is better).
	Ratios *DataplaneRatios `json:",omitempty"`
	// MoatError is why moat was not measured (HAProxy may have been).
	MoatError string `json:",omitempty"`
}

// ProxyFigures are one proxy's figures.
type ProxyFigures struct {
	Bulk1    *l4.BulkResult  `json:",omitempty"`
	Bulk32   *l4.BulkResult  `json:",omitempty"`
	ConnRate *l4.ShortResult `json:",omitempty"`
	Echo     *l4.EchoResult  `json:",omitempty"`
	Idle     *IdleResult     `json:",omitempty"`
	Flood    *FloodResult    `json:",omitempty"`
}

// IdleResult is the memory of a proxy holding idle connections.
type IdleResult struct {
	Requested  int
	Held       int
	Errors     int64
	FirstError string `json:",omitempty"`
	BeforeMB   float64
	AfterMB    float64
	// PerConnKiB is the VmRSS growth over the connections held.
	PerConnKiB float64
}

// FloodResult is one source flooding the Slimit rule while the others
// keep a modest fixed rate.
type FloodResult struct {
	// OthersAlone is the other sources without the flood; OthersDuring
	// with it; Flood the flooding source.
	OthersAlone  []*l4.ShortResult
	OthersDuring []*l4.ShortResult
	Flood        *l4.ShortResult
	// FloodPerSec is the flood's connections answered by the origin per
	// second; OthersRatio the other sources' answered connections during
	// the flood over those without it.
	FloodPerSec float64
	OthersRatio float64
}

// DataplaneRatios are moat's figures over HAProxy's.
type DataplaneRatios struct {
	Bulk1, Bulk32, ConnRate, EchoP99, IdlePerConn float64
	FloodPerSec, OthersRatio                      float64
}

// dpProxy is a proxy under test.
type dpProxy struct {
	name  string
	ip    string
	child *proc.Child
}

func (p dpProxy) addr(port int) string { return net.JoinHostPort(p.ip, strconv.Itoa(port)) }

func (r *runner) dataplane(ctx context.Context) error {
	c := r.cfg
	dr := &DataplaneResult{Duration: c.DPDuration.String(), IdleConns: c.DPIdleConns}
	r.res.Dataplane = dr
	nofile, err := proc.RaiseNoFile(dpNoFile)
	if err != nil {
		r.logf("dataplane: raise the descriptor limit: %v", err)
	}
	dr.NoFileLimit = nofile
	// A proxy holds two descriptors per idle connection.
	if fit := (int(nofile) - 2000) / 2; nofile > 0 && fit < dr.IdleConns {
		dr.IdleConns = max(1, fit)
		r.logf("dataplane: descriptor limit %d: holding %d idle connections instead of %d", nofile, dr.IdleConns, c.DPIdleConns)
	}
	dir, err := os.MkdirTemp("", "moat-bench-dp-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	origins, err := proc.StartChild(ctx, proc.ChildSpec{
		Name: "origins", Path: c.Exe, Env: proc.ChildEnv(),
		Args:  []string{"bench", "--origin-serve", "--addr", "127.0.0.1:0"},
		Ready: regexp.MustCompile(regexp.QuoteMeta(l4.OriginsReady) + ` bulk=(\S+) echo=(\S+) close=(\S+)`),
	})
	if err != nil {
		return err
	}
	defer origins.Stop(10 * time.Second)
	dr.Origins = DataplaneOrigins{Bulk: origins.Ready[1], Echo: origins.Ready[2], Close: origins.Ready[3]}

	var proxies []dpProxy
	if hp, err := r.startHAProxy(ctx, dir, dr); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		dr.HAProxy = err.Error()
		r.logf("dataplane: %v; measuring moat alone", err)
	} else {
		defer hp.child.Stop(10 * time.Second)
		proxies = append(proxies, hp)
	}
	mp, stop, err := r.startDataplaneMoat(ctx, dir, dr)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		dr.MoatError = err.Error()
		r.logf("dataplane: moat: %v", err)
	} else {
		defer stop()
		proxies = append(proxies, mp)
	}
	if len(proxies) == 0 {
		return fmt.Errorf("neither HAProxy nor moat forwards: %s", dr.MoatError)
	}
	figs := make([]*ProxyFigures, len(proxies))
	for i, p := range proxies {
		figs[i] = &ProxyFigures{}
		if p.name == "moat" {
			dr.MoatFigures = figs[i]
		} else {
			dr.HAProxyFigures = figs[i]
		}
	}
	// Each load runs against every proxy before the next load starts.
	loads := []struct {
		name string
		run  func(context.Context, dpProxy, *ProxyFigures) error
	}{
		{"bulk, 1 connection", func(ctx context.Context, p dpProxy, f *ProxyFigures) (err error) {
			f.Bulk1, err = l4.Bulk(ctx, p.addr(dpPorts.Bulk), 1, c.Warmup, c.DPDuration, dpMaxBulk)
			return err
		}},
		{"bulk, 32 connections", func(ctx context.Context, p dpProxy, f *ProxyFigures) (err error) {
			f.Bulk32, err = l4.Bulk(ctx, p.addr(dpPorts.Bulk), 32, c.Warmup, c.DPDuration, dpMaxBulk)
			return err
		}},
		{"short connections", func(ctx context.Context, p dpProxy, f *ProxyFigures) (err error) {
			f.ConnRate, err = l4.Short(ctx, l4.ShortSpec{Addr: p.addr(dpPorts.Close), Workers: dpShortConns, Warmup: c.Warmup, Duration: c.DPDuration, Max: 1000000})
			return err
		}},
		{"echo latency", func(ctx context.Context, p dpProxy, f *ProxyFigures) (err error) {
			f.Echo, err = l4.Echo(ctx, p.addr(dpPorts.Echo), dpEchoConns, c.Warmup, c.DPDuration, 10000000)
			return err
		}},
		{"idle connections", func(ctx context.Context, p dpProxy, f *ProxyFigures) (err error) {
			f.Idle, err = r.dpIdle(ctx, p)
			return err
		}},
		{"flood", func(ctx context.Context, p dpProxy, f *ProxyFigures) (err error) {
			f.Flood, err = r.dpFlood(ctx, p)
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
			r.logf("dataplane: %s through %s", l.name, p.name)
			if err := l.run(ctx, p, figs[i]); err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				errs = append(errs, fmt.Errorf("%s through %s: %w", l.name, p.name, err))
			}
		}
	}
	if dr.MoatError != "" {
		errs = append(errs, fmt.Errorf("moat: %s", dr.MoatError))
	}
	return errors.Join(errs...)
}

// startHAProxy writes the configuration and starts HAProxy in the
// foreground, then waits until every front port accepts.
func (r *runner) startHAProxy(ctx context.Context, dir string, dr *DataplaneResult) (dpProxy, error) {
	bin, err := exec.LookPath(r.cfg.HAProxy)
	if err != nil {
		return dpProxy{}, fmt.Errorf("haproxy is not installed (%v)", err)
	}
	if out, err := exec.CommandContext(ctx, bin, "-v").Output(); err == nil {
		dr.HAProxy, _, _ = strings.Cut(strings.TrimSpace(string(out)), "\n")
	}
	// HAProxy refuses to start when maxconn's descriptors (two per
	// connection, two per pipe) exceed its limit: the pipes are bounded
	// (the bulk load splices 32 connections) and maxconn fits the rest.
	maxConn := dr.IdleConns + 2000
	if lim := int(dr.NoFileLimit); lim > 0 {
		maxConn = min(maxConn, (lim-2*dpMaxPipes-200)/2)
	}
	hc := HAProxyConfig{Listen: dpHAProxyIP, Threads: runtime.NumCPU(), MaxConn: maxConn, MaxPipes: dpMaxPipes,
		Ports: dpPorts, Origins: dr.Origins, FloodCps: DPFloodCps}
	path := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(path, []byte(hc.Render()), 0o644); err != nil {
		return dpProxy{}, err
	}
	child, err := proc.StartChild(ctx, proc.ChildSpec{Name: "haproxy", Path: bin, Args: []string{"-f", path, "-db"}, Env: proc.ChildEnv()})
	if err != nil {
		return dpProxy{}, err
	}
	p := dpProxy{name: "HAProxy", ip: dpHAProxyIP, child: child}
	if err := waitForwards(ctx, p, child, 10*time.Second); err != nil {
		child.Stop(10 * time.Second)
		return dpProxy{}, fmt.Errorf("haproxy: %w", err)
	}
	dr.HAProxyAddr = dpHAProxyIP
	return p, nil
}

// startDataplaneMoat starts a moat serve of its own with the data plane
// on and a fresh store, creates an instance and its four port rules
// through the signed API, and waits until the instance forwards.
func (r *runner) startDataplaneMoat(ctx context.Context, dir string, dr *DataplaneResult) (dpProxy, func(), error) {
	c := r.cfg
	token := randomToken()
	child, err := proc.StartChild(ctx, proc.ChildSpec{
		Name: "moat serve --dataplane", Path: c.Exe, Ready: moatReadyRE,
		Env: proc.ChildEnv("MOAT_ACCESS_KEY_ID="+BootstrapKeyID, "MOAT_ACCESS_KEY_SECRET="+BootstrapSecret),
		Args: []string{"serve", "--addr", "127.0.0.1:0", "--db", filepath.Join(dir, "moat.db"), "--admin-token", token,
			"--log-level", c.ServerLogLevel, "--dataplane", "--ip-pool", SeedRegion + "=" + dpPool},
	})
	if err != nil {
		return dpProxy{}, nil, err
	}
	stop := func() {
		if err := child.Stop(60 * time.Second); err != nil {
			r.logf("dataplane: %v", err)
		}
	}
	fail := func(err error) (dpProxy, func(), error) {
		stop()
		return dpProxy{}, nil, err
	}
	ep := "http://" + child.Addr
	hc := &http.Client{Timeout: time.Minute}
	adm := &admin.Client{Endpoint: ep, Token: token, HTTP: hc}
	api := &acs.Client{Endpoint: ep, AccessKeyID: BootstrapKeyID, AccessKeySecret: BootstrapSecret, HTTP: hc}
	ins, err := adm.CreateInstances(ctx, admin.InstancesRequest{AccessKeyId: BootstrapKeyID, RegionId: SeedRegion, Count: 1, ExpireIn: "8760h", Remark: "bench dataplane"})
	if err != nil {
		return fail(fmt.Errorf("create the instance: %w", err))
	}
	if len(ins) != 1 || ins[0].Ip == "" {
		return fail(fmt.Errorf("create the instance: got %+v", ins))
	}
	id, ip := ins[0].InstanceId, ins[0].Ip
	dr.Instance, dr.MoatAddr = id, ip
	type rule struct {
		InstanceId   string
		Protocol     string
		FrontendPort int
		BackendPort  int
		RealServers  []string
	}
	var rules []rule
	for _, o := range []struct {
		port   int
		origin string
	}{{dpPorts.Bulk, dr.Origins.Bulk}, {dpPorts.Echo, dr.Origins.Echo}, {dpPorts.Close, dr.Origins.Close}, {dpPorts.Flood, dr.Origins.Close}} {
		host, port, err := net.SplitHostPort(o.origin)
		if err != nil {
			return fail(err)
		}
		bp, _ := strconv.Atoi(port)
		rules = append(rules, rule{InstanceId: id, Protocol: "tcp", FrontendPort: o.port, BackendPort: bp, RealServers: []string{host}})
	}
	js, err := json.Marshal(rules)
	if err != nil {
		return fail(err)
	}
	call := func(p map[string]string) error {
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
	if err := call(map[string]string{"Action": "CreateNetworkRules", "NetworkRules": string(js)}); err != nil {
		return fail(err)
	}
	if err := call(map[string]string{"Action": "ModifyNetworkRuleAttribute", "InstanceId": id, "ForwardProtocol": "tcp",
		"FrontendPort": strconv.Itoa(dpPorts.Flood), "Config": fmt.Sprintf(`{"Slimit":{"Cps":%d,"CpsEnable":1}}`, DPFloodCps)}); err != nil {
		return fail(err)
	}
	p := dpProxy{name: "moat", ip: ip, child: child}
	if err := waitForwards(ctx, p, child, 15*time.Second); err != nil {
		return fail(err)
	}
	return p, stop, nil
}

// waitForwards waits until a short connection through each of the
// proxy's ports reaches its origin.
func waitForwards(ctx context.Context, p dpProxy, child *proc.Child, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for _, port := range []int{dpPorts.Close, dpPorts.Flood, dpPorts.Echo, dpPorts.Bulk} {
		for {
			if port == dpPorts.Bulk {
				// The bulk origin answers the download request.
				res, err := l4.Bulk(ctx, p.addr(port), 1, 0, time.Second, 1)
				if err == nil && res.Bytes == 1 {
					break
				}
			} else if port == dpPorts.Echo {
				res, err := l4.Echo(ctx, p.addr(port), 1, 0, time.Second, 1)
				if err == nil && res.Pings == 1 {
					break
				}
			} else {
				res, err := l4.Short(ctx, l4.ShortSpec{Addr: p.addr(port), Workers: 1, Duration: time.Second, Max: 1})
				if err == nil && res.Answered == 1 {
					break
				}
			}
			select {
			case <-child.Exited():
				return fmt.Errorf("%s exited:\n%s", child.Name, child.Tail())
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(100 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%s does not forward port %d within %s", p.addr(port), port, limit)
			}
		}
	}
	return nil
}

// dpIdle holds the idle connections through the proxy's echo port and
// reads the proxy's memory before and after.
func (r *runner) dpIdle(ctx context.Context, p dpProxy) (*IdleResult, error) {
	n := r.res.Dataplane.IdleConns
	before, err := p.child.Mem()
	if err != nil {
		return nil, err
	}
	var srcs []netip.Addr
	for i := range 8 {
		srcs = append(srcs, netip.AddrFrom4([4]byte{127, 0, 1, byte(10 + i)}))
	}
	h, err := l4.Hold(ctx, p.addr(dpPorts.Echo), n, 32, srcs)
	if h != nil {
		defer h.Close()
	}
	if err != nil {
		return nil, err
	}
	after, err := p.child.Mem()
	if err != nil {
		return nil, err
	}
	res := &IdleResult{Requested: n, Held: len(h.Conns), Errors: h.Errors, FirstError: h.FirstError,
		BeforeMB: roundMB(before.RSSBytes), AfterMB: roundMB(after.RSSBytes)}
	if res.Held > 0 {
		res.PerConnKiB = float64(int64(float64(after.RSSBytes-before.RSSBytes)/1024/float64(res.Held)*10+0.5)) / 10
	}
	return res, nil
}

func roundMB(b int64) float64 { return float64(int64(float64(b)/(1<<20)*10+0.5)) / 10 }

// dpFlood measures the other sources alone, then with the flood.
func (r *runner) dpFlood(ctx context.Context, p dpProxy) (*FloodResult, error) {
	d := r.cfg.DPDuration
	addr := p.addr(dpPorts.Flood)
	others := func() ([]*l4.ShortResult, error) {
		res := make([]*l4.ShortResult, len(dpOthers))
		errc := make(chan error, len(dpOthers))
		for i, s := range dpOthers {
			go func() {
				var err error
				res[i], err = l4.Paced(ctx, l4.PacedSpec{Addr: addr, Source: netip.MustParseAddr(s), Rate: dpOtherRate, Duration: d})
				errc <- err
			}()
		}
		var errs []error
		for range dpOthers {
			errs = append(errs, <-errc)
		}
		return res, errors.Join(errs...)
	}
	fr := &FloodResult{}
	var err error
	if fr.OthersAlone, err = others(); err != nil {
		return fr, err
	}
	floodc := make(chan error, 1)
	go func() {
		var err error
		fr.Flood, err = l4.Short(ctx, l4.ShortSpec{Addr: addr, Source: netip.MustParseAddr(dpFloodSrc), Workers: 16, Duration: d, Max: 2000000})
		floodc <- err
	}()
	fr.OthersDuring, err = others()
	if ferr := <-floodc; ferr != nil {
		return fr, ferr
	}
	if err != nil {
		return fr, err
	}
	fr.FloodPerSec = fr.Flood.AnsweredPerSec
	var alone, during int64
	for i := range dpOthers {
		alone += fr.OthersAlone[i].Answered
		during += fr.OthersDuring[i].Answered
	}
	if alone > 0 {
		fr.OthersRatio = float64(int64(float64(during)/float64(alone)*1000+0.5)) / 1000
	}
	return fr, nil
}

// computeDataplaneRatios sets moat's figures over HAProxy's.
func computeDataplaneRatios(dr *DataplaneResult) {
	m, h := dr.MoatFigures, dr.HAProxyFigures
	if m == nil || h == nil {
		return
	}
	q := func(a, b float64) float64 {
		if b <= 0 {
			return 0
		}
		return float64(int64(a/b*1000+0.5)) / 1000
	}
	rt := &DataplaneRatios{}
	if m.Bulk1 != nil && h.Bulk1 != nil {
		rt.Bulk1 = q(m.Bulk1.MBPerSec, h.Bulk1.MBPerSec)
	}
	if m.Bulk32 != nil && h.Bulk32 != nil {
		rt.Bulk32 = q(m.Bulk32.MBPerSec, h.Bulk32.MBPerSec)
	}
	if m.ConnRate != nil && h.ConnRate != nil {
		rt.ConnRate = q(m.ConnRate.AnsweredPerSec, h.ConnRate.AnsweredPerSec)
	}
	if m.Echo != nil && h.Echo != nil {
		rt.EchoP99 = q(m.Echo.Latency.P99Ms, h.Echo.Latency.P99Ms)
	}
	if m.Idle != nil && h.Idle != nil {
		rt.IdlePerConn = q(m.Idle.PerConnKiB, h.Idle.PerConnKiB)
	}
	if m.Flood != nil && h.Flood != nil {
		rt.FloodPerSec = q(m.Flood.FloodPerSec, h.Flood.FloodPerSec)
		rt.OthersRatio = q(m.Flood.OthersRatio, h.Flood.OthersRatio)
	}
	dr.Ratios = rt
}
