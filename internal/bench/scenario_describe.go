package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"regexp"
	"strconv"
	"time"

	"moat/internal/acs"
	"moat/internal/admin"
	"moat/internal/bench/loadgen"
	"moat/internal/bench/proc"
)

// ---- requests ----

// signedRequest signs params (v1) into worker-owned p and builds a POST
// with everything in the query, the shape of sdk-go v1 and the aliyun CLI.
func signedRequest(ctx context.Context, endpoint string, c *acs.Client, p map[string]string) (*http.Request, error) {
	c.Sign(http.MethodPost, p)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint+"/?"+acs.EncodeQuery(p), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	return req, nil
}

// describeLoad is signed DescribeInstances PageSize=10 at a random
// PageNumber 1..100, as c's account; worker i talks to eps[i mod len].
func describeLoad(eps []string, c *acs.Client) loadgen.RequestFunc {
	return func(ctx context.Context, w *loadgen.Worker) (*http.Request, bool, error) {
		describeParams(w.Params, w.Rand)
		req, err := signedRequest(ctx, eps[w.ID%len(eps)], c, w.Params)
		return req, true, err
	}
}

// describeParams sets the describe load's parameters in p.
func describeParams(p map[string]string, rnd *rand.Rand) {
	p["Action"] = "DescribeInstances"
	p["Version"] = apiVersion
	p["Format"] = "JSON"
	p["RegionId"] = SeedRegion
	p["PageSize"] = "10"
	p["PageNumber"] = strconv.Itoa(1 + rnd.IntN(describePages))
}

// describeTotal asks the server for the bootstrap account's TotalCount.
func (r *runner) describeTotal(ctx context.Context) (int64, error) {
	status, body, err := r.boot.Call(ctx, map[string]string{
		"Action": "DescribeInstances", "Version": apiVersion, "Format": "JSON",
		"RegionId": SeedRegion, "PageNumber": "1", "PageSize": "1",
	})
	if err != nil {
		return 0, err
	}
	if status != http.StatusOK {
		return 0, fmt.Errorf("DescribeInstances: HTTP %d: %s", status, loadgen.Truncate(string(body), 600))
	}
	var out struct{ TotalCount int64 }
	if err := json.Unmarshal(body, &out); err != nil {
		return 0, fmt.Errorf("DescribeInstances: %w", err)
	}
	return out.TotalCount, nil
}

// ---- seeding ----

func (r *runner) seed(ctx context.Context) error {
	want := r.cfg.Instances
	have, err := r.describeTotal(ctx)
	if err != nil {
		return err
	}
	s := &SeedResult{Requested: want, Existing: have, Final: have}
	r.res.Seed = s
	switch {
	case have == int64(want):
		s.Skipped = true
		r.logf("store already holds %d instances: seeding skipped", have)
		return nil
	case have > int64(want):
		r.logf("warning: store holds %d instances, more than --instances %d; measuring it as it is", have, want)
		return nil
	case have > 0:
		r.logf("store holds %d instances; adding %d", have, int64(want)-have)
	}
	missing := want - int(have)
	start := time.Now()
	prog := loadgen.NewCountProgress(r.log, "seeding instances", missing)
	r.logf("seeding %d instances through the admin API, %d per call", missing, r.batch())
	done := 0
	for done < missing {
		n := min(r.batch(), missing-done)
		req := admin.InstancesRequest{AccessKeyId: BootstrapKeyID, RegionId: SeedRegion, Count: n, ExpireIn: "8760h", Remark: "bench"}
		if err := r.adm.SeedInstances(ctx, req); err != nil {
			return fmt.Errorf("create instances (%d of %d done): %w", done, missing, err)
		}
		done += n
		prog.Update(done)
	}
	s.Created = done
	s.Seconds = loadgen.Round3(time.Since(start).Seconds())
	s.PerSec = loadgen.Round1(float64(done) / time.Since(start).Seconds())
	final, err := r.describeTotal(ctx)
	if err != nil {
		return err
	}
	s.Final = final
	if final != int64(want) {
		return fmt.Errorf("after seeding TotalCount is %d, want %d", final, want)
	}
	return nil
}

// ---- scenarios ----

func (r *runner) describe(ctx context.Context) error {
	c := r.cfg
	r.logf("describe: %d connections, %s warm-up + %s", c.Connections, c.Warmup, c.Duration)
	res, err := (&loadgen.Load{Connections: c.Connections, Warmup: c.Warmup, Duration: c.Duration, Abort: r.exited, Next: describeLoad(r.eps, r.boot),
		Progress: loadgen.NewProgress(r.log, "describe")}).Run(ctx)
	if res != nil {
		r.res.Describe = res
	}
	return err
}

func (r *runner) baseline(ctx context.Context) error {
	c := r.cfg
	child, err := proc.StartChild(ctx, proc.ChildSpec{
		Name:  "baseline",
		Path:  c.Exe,
		Args:  []string{"bench", "--baseline-serve", "--addr", "127.0.0.1:0"},
		Env:   proc.ChildEnv(),
		Ready: regexp.MustCompile(regexp.QuoteMeta(BaselineReady) + `(\S+)`),
	})
	if err != nil {
		return err
	}
	defer child.Stop(10 * time.Second)
	r.logf("baseline: bare net/http handler, %d connections, %s warm-up + %s", c.Connections, c.Warmup, c.Duration)
	// The very same signed requests: signing is client-side work, so it
	// cancels out of the ratio.
	cl := &acs.Client{AccessKeyID: BootstrapKeyID, AccessKeySecret: BootstrapSecret}
	res, err := (&loadgen.Load{Connections: c.Connections, Warmup: c.Warmup, Duration: c.Duration, Abort: child.Exited(), Next: describeLoad([]string{"http://" + child.Addr}, cl),
		Progress: loadgen.NewProgress(r.log, "baseline")}).Run(ctx)
	if res != nil {
		r.res.Baseline = res
	}
	if m, merr := child.Mem(); merr == nil {
		if r.res.Memory == nil {
			r.res.Memory = &MemoryResult{}
		}
		r.res.Memory.Baseline = memFigures(m)
	}
	return err
}
