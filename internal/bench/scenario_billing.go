package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"moat/internal/acs"
	"moat/internal/admin"
	"moat/internal/bench/loadgen"
)

// The billing scenarios.
const (
	// ScenarioCreate buys instances through BSS CreateInstance (durable,
	// with IP allocation) as fast as the server answers.
	ScenarioCreate = "create"
	// ScenarioTags reads DescribeInstances with a Tag filter on an account
	// of --tag-instances instances, one in ten carrying the tag.
	ScenarioTags = "tags"
)

const (
	bssVersion = "2017-12-14"
	// TagsAccountID owns the tags scenario's instances; they are created
	// once and kept, so a reused store is not re-tagged.
	TagsAccountID = "bench-tags"
	TagsKeyID     = "LTAIbenchtags0001"
	TagsSecret    = "bench-secret-tags-0123456789"
	// tagPages is how many pages of 10 the tag load picks from (the
	// tagged tenth of 100000 instances holds 1000 pages).
	tagPages = 100
)

// The billing targets.
const (
	TargetCreatesPerSec = 1000.0
	TargetTagP99Ms      = 20.0
	TargetTagInstances  = 100000
)

// CreateResult is the create scenario.
type CreateResult struct {
	Instances       int
	Load            *loadgen.LoadResult
	CreatesPerSec   float64 // 200 answers per second
	RatioToBaseline float64 `json:",omitempty"`
}

// TagsResult is the tags scenario.
type TagsResult struct {
	AccountInstances int64 // the tags account's TotalCount
	Tagged           int64 // TotalCount with the filter
	SetupSeconds     float64
	Load             *loadgen.LoadResult
}

// createLoad buys one Anti-DDoS Pro instance per request, shaped like the
// Terraform provider's purchase (the same Parameter items) but signed like
// sdk-go (everything in the query); worker i talks to eps[i mod len].
func createLoad(eps []string, c *acs.Client, limit int64) loadgen.RequestFunc {
	var n atomic.Int64
	return func(ctx context.Context, w *loadgen.Worker) (*http.Request, bool, error) {
		if n.Add(1) > limit {
			return nil, false, nil
		}
		p := w.Params
		clear(p)
		createParams(p)
		req, err := signedRequest(ctx, eps[w.ID%len(eps)], c, p)
		return req, true, err
	}
}

// bssParams sets what every BSS call of the bench carries. moat requires
// ProductType: it names the region (internal/acs/bss).
func bssParams(p map[string]string, action string) {
	p["Action"] = action
	p["Version"] = bssVersion
	p["Format"] = "JSON"
	p["RegionId"] = SeedRegion
	p["ProductCode"] = "ddos"
	p["ProductType"] = "ddoscoo"
}

// createParams sets BSS CreateInstance's parameters in p.
func createParams(p map[string]string) {
	bssParams(p, "CreateInstance")
	p["SubscriptionType"] = "Subscription"
	p["Period"] = "1"
	for i, kv := range [][2]string{
		{"ServicePartner", "coop-line-001"}, {"BaseBandwidth", "30"}, {"Bandwidth", "30"},
		{"ServiceBandwidth", "100"}, {"PortCount", "50"}, {"DomainCount", "50"}, {"Edition", "coop"},
	} {
		p["Parameter."+strconv.Itoa(i+1)+".Code"] = kv[0]
		p["Parameter."+strconv.Itoa(i+1)+".Value"] = kv[1]
	}
}

func (r *runner) create(ctx context.Context) error {
	c := r.cfg
	if err := r.ensureAux(ctx); err != nil {
		return err
	}
	cr := &CreateResult{Instances: c.CreateCount}
	r.res.Create = cr
	r.logf("create: buying %d instances through BSS CreateInstance at %d connections", c.CreateCount, c.Connections)
	res, err := (&loadgen.Load{Connections: c.Connections, Abort: r.exited, Next: createLoad(r.eps, r.aux, int64(c.CreateCount)),
		Progress: loadgen.NewProgress(r.log, "create")}).Run(ctx)
	if res != nil {
		cr.Load = res
		cr.CreatesPerSec = loadgen.Round1(res.OKPerSec)
	}
	return err
}

// tagTotal is DescribeInstances' TotalCount for the tags account, with the
// scenario's tag filter or without.
func (r *runner) tagTotal(ctx context.Context, c *acs.Client, filtered bool) (int64, error) {
	p := map[string]string{"Action": "DescribeInstances", "Version": apiVersion, "Format": "JSON",
		"RegionId": SeedRegion, "PageNumber": "1", "PageSize": "1"}
	if filtered {
		p["Tag.1.Key"], p["Tag.1.Value"] = "team", "blue"
	}
	status, body, err := c.Call(ctx, p)
	if err != nil {
		return 0, err
	}
	if status != http.StatusOK {
		return 0, fmt.Errorf("DescribeInstances: HTTP %d: %s", status, loadgen.Truncate(string(body), 600))
	}
	var out struct{ TotalCount int64 }
	return out.TotalCount, json.Unmarshal(body, &out)
}

func (r *runner) tags(ctx context.Context) error {
	c := r.cfg
	tc := &acs.Client{Endpoint: r.ep, AccessKeyID: TagsKeyID, AccessKeySecret: TagsSecret, HTTP: r.boot.HTTP}
	if _, err := r.adm.CreateAccount(ctx, admin.AccountRequest{AccountId: TagsAccountID, AccessKeyId: TagsKeyID, AccessKeySecret: TagsSecret}); err != nil {
		return err
	}
	tr := &TagsResult{}
	r.res.Tags = tr
	have, err := r.tagTotal(ctx, tc, false)
	if err != nil {
		return err
	}
	if have < int64(c.TagInstances) {
		r.logf("tags: creating %d instances for %s, one in ten tagged team=blue", int64(c.TagInstances)-have, TagsAccountID)
		t0 := time.Now()
		for done := int(have); done < c.TagInstances; {
			// Blocks of 10000 alternate so that the tagged tenth is spread
			// through the account's listing order (a batch never spans
			// two blocks: both batch sizes divide 10000).
			n := min(r.batch(), c.TagInstances-done)
			team := "red"
			if (done/CreateBatch)%10 == 0 {
				team = "blue"
			}
			req := admin.InstancesRequest{AccessKeyId: TagsKeyID, RegionId: SeedRegion, Count: n, ExpireIn: "8760h", Remark: "bench-tags",
				Tags: []admin.TagItem{{Key: "team", Value: team}, {Key: "env", Value: "bench"}}}
			if err := r.adm.SeedInstances(ctx, req); err != nil {
				return fmt.Errorf("create tagged instances (%d done): %w", done, err)
			}
			done += n
		}
		tr.SetupSeconds = loadgen.Round3(time.Since(t0).Seconds())
	}
	if tr.AccountInstances, err = r.tagTotal(ctx, tc, false); err != nil {
		return err
	}
	if tr.Tagged, err = r.tagTotal(ctx, tc, true); err != nil {
		return err
	}
	pages := int(min(int64(tagPages), (tr.Tagged+9)/10))
	if pages < 1 {
		return fmt.Errorf("no instance carries team=blue")
	}
	r.logf("tags: DescribeInstances Tag team=blue (%d of %d instances), %d connections, %s warm-up + %s", tr.Tagged, tr.AccountInstances, c.Connections, c.Warmup, c.Duration)
	res, err := (&loadgen.Load{Connections: c.Connections, Warmup: c.Warmup, Duration: c.Duration, Abort: r.exited, Progress: loadgen.NewProgress(r.log, "tags"),
		Next: func(ctx context.Context, w *loadgen.Worker) (*http.Request, bool, error) {
			p := w.Params
			p["Action"] = "DescribeInstances"
			p["Version"] = apiVersion
			p["Format"] = "JSON"
			p["RegionId"] = SeedRegion
			p["PageSize"] = "10"
			p["PageNumber"] = strconv.Itoa(1 + w.Rand.IntN(pages))
			p["Tag.1.Key"], p["Tag.1.Value"] = "team", "blue"
			req, err := signedRequest(ctx, r.ep, tc, p)
			return req, true, err
		}}).Run(ctx)
	if res != nil {
		tr.Load = res
	}
	return err
}
