package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"

	"moat/internal/bench/loadgen"
)

// ScenarioRules measures the port-rule calls: DescribeNetworkRules and
// DescribePort (PageSize 10, a random page) on an instance holding its
// full PortCount of rules, then CreatePort, durable, filling the PortCount
// of fresh instances one rule per request.
const ScenarioRules = "rules"

// RulesResult is the rules scenario.
type RulesResult struct {
	// Rules is how many port rules the described instance holds: its
	// PortCount.
	Rules                int
	DescribeNetworkRules *loadgen.LoadResult
	DescribePort         *loadgen.LoadResult
	// Creates is how many CreatePort calls were made, spread over
	// CreateInstances instances.
	Creates         int
	CreateInstances int
	CreatePort      *loadgen.LoadResult
	CreatesPerSec   float64 // 200 answers per second
	RatioToBaseline float64 `json:",omitempty"`
}

// rulesPageSize is the page the describe loads read.
const rulesPageSize = 10

// portLimit is the PortCount of the instances the admin API creates
// (moat.DefaultSpec).
const portLimit = 50

// rulesCall makes one signed call as the auxiliary account and checks
// it answered 200.
func (r *runner) rulesCall(ctx context.Context, p map[string]string) ([]byte, error) {
	p["Version"], p["Format"], p["RegionId"] = apiVersion, "JSON", SeedRegion
	status, body, err := r.aux.Call(ctx, p)
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK {
		return nil, fmt.Errorf("%s: HTTP %d: %s", p["Action"], status, loadgen.Truncate(string(body), 600))
	}
	return body, nil
}

func (r *runner) rules(ctx context.Context) error {
	c := r.cfg
	if err := r.ensureAux(ctx); err != nil {
		return err
	}
	rr := &RulesResult{Rules: portLimit}
	r.res.Rules = rr

	// The described instance, filled to its PortCount in one batch call.
	ids, err := r.createAux(ctx, 1, SeedRegion, "8760h")
	if err != nil {
		return err
	}
	full := ids[0]
	type rule struct {
		InstanceId   string
		Protocol     string
		FrontendPort int
		BackendPort  int
		RealServers  []string
	}
	batch := make([]rule, portLimit)
	for i := range batch {
		batch[i] = rule{InstanceId: full, Protocol: "tcp", FrontendPort: 10000 + i, BackendPort: 8080, RealServers: []string{"192.0.2.10", "192.0.2.11"}}
	}
	js, err := json.Marshal(batch)
	if err != nil {
		return err
	}
	if _, err := r.rulesCall(ctx, map[string]string{"Action": "CreateNetworkRules", "NetworkRules": string(js)}); err != nil {
		return err
	}
	body, err := r.rulesCall(ctx, map[string]string{"Action": "DescribeNetworkRules", "InstanceId": full, "PageNumber": "1", "PageSize": "1"})
	if err != nil {
		return err
	}
	var total struct{ TotalCount int }
	if err := json.Unmarshal(body, &total); err != nil {
		return err
	}
	if total.TotalCount != portLimit {
		return fmt.Errorf("the described instance holds %d rules, want %d", total.TotalCount, portLimit)
	}
	pages := portLimit / rulesPageSize
	describe := func(action string) loadgen.RequestFunc {
		return func(ctx context.Context, w *loadgen.Worker) (*http.Request, bool, error) {
			p := w.Params
			p["Action"] = action
			p["Version"] = apiVersion
			p["Format"] = "JSON"
			p["RegionId"] = SeedRegion
			p["InstanceId"] = full
			p["PageSize"] = strconv.Itoa(rulesPageSize)
			p["PageNumber"] = strconv.Itoa(1 + w.Rand.IntN(pages))
			req, err := signedRequest(ctx, r.epFor(w.ID), r.aux, p)
			return req, true, err
		}
	}
	for _, s := range []struct {
		action string
		dst    **loadgen.LoadResult
	}{{"DescribeNetworkRules", &rr.DescribeNetworkRules}, {"DescribePort", &rr.DescribePort}} {
		r.logf("rules: %s on an instance with %d rules, %d connections, %s warm-up + %s", s.action, portLimit, c.Connections, c.Warmup, c.Duration)
		res, err := (&loadgen.Load{Connections: c.Connections, Warmup: c.Warmup, Duration: c.Duration, Abort: r.exited, Next: describe(s.action),
			Progress: loadgen.NewProgress(r.log, s.action)}).Run(ctx)
		if res != nil {
			*s.dst = res
		}
		if err != nil {
			return err
		}
	}

	// CreatePort: fresh instances, each filled to its PortCount.
	n := (c.RuleCreates + portLimit - 1) / portLimit
	r.logf("rules: creating %d instances for %d CreatePort calls", n, c.RuleCreates)
	fresh, err := r.createAux(ctx, n, SeedRegion, "8760h")
	if err != nil {
		return err
	}
	rr.Creates, rr.CreateInstances = c.RuleCreates, n
	var next atomic.Int64
	r.logf("rules: CreatePort x %d at %d connections", c.RuleCreates, c.Connections)
	res, err := (&loadgen.Load{Connections: c.Connections, Abort: r.exited, Progress: loadgen.NewProgress(r.log, "CreatePort"),
		Next: func(ctx context.Context, w *loadgen.Worker) (*http.Request, bool, error) {
			i := int(next.Add(1) - 1)
			if i >= c.RuleCreates {
				return nil, false, nil
			}
			p := w.Params
			clear(p)
			p["Action"] = "CreatePort"
			p["Version"] = apiVersion
			p["Format"] = "JSON"
			p["RegionId"] = SeedRegion
			// Consecutive requests go to different instances, so that
			// concurrent creates do not queue on one instance's rows.
			p["InstanceId"] = fresh[i%n]
			p["FrontendProtocol"] = "tcp"
			p["FrontendPort"] = strconv.Itoa(20000 + i/n)
			p["BackendPort"] = "8080"
			p["RealServers.1"] = "192.0.2.10"
			p["RealServers.2"] = "192.0.2.11"
			req, err := signedRequest(ctx, r.epFor(w.ID), r.aux, p)
			return req, true, err
		}}).Run(ctx)
	if res != nil {
		rr.CreatePort = res
		rr.CreatesPerSec = loadgen.Round1(res.OKPerSec)
	}
	return err
}
