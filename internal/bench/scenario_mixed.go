package bench

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"moat/internal/admin"
	"moat/internal/bench/loadgen"
)

// ScenarioMixed is the signed mixed workload: every request is a
// DescribeInstances, ReleaseInstance, BSS CreateInstance or BSS
// RenewInstance, drawn by --mix's weights, for --duration or --count
// requests, flat out (closed loop, --connections) or at --rate requests/s
// (open loop).
const ScenarioMixed = "mixed"

// The actions of the mixed scenario.
const (
	ActionDescribe = "describe" // signed DescribeInstances, as the describe scenario
	ActionRelease  = "release"  // ReleaseInstance of an expired instance from a pool
	ActionCreate   = "create"   // BSS CreateInstance with a unique ClientToken
	ActionRenew    = "renew"    // BSS RenewInstance of an active instance from a pool
)

// MixActions are the mixed scenario's actions, in the order they are
// reported: the Actions of every loadgen.Mix ParseMix returns.
var MixActions = []string{ActionDescribe, ActionRelease, ActionCreate, ActionRenew}

// DefaultMix is --mix's default.
const DefaultMix = "describe=70,release=10,create=10,renew=10"

// ParseMix reads "describe=70,release=10,create=10,renew=10". An action
// left out weighs 0; an unknown or repeated action, a weight that is not a
// whole number from 0 to 1000000, or weights that are all 0 are errors.
func ParseMix(s string) (loadgen.Mix, error) {
	w := make([]int, len(MixActions))
	seen := make([]bool, len(MixActions))
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		name, val, ok := strings.Cut(item, "=")
		name, val = strings.TrimSpace(name), strings.TrimSpace(val)
		if !ok {
			return loadgen.Mix{}, fmt.Errorf("%q: want ACTION=WEIGHT, e.g. %s", item, DefaultMix)
		}
		i := slices.Index(MixActions, name)
		if i < 0 {
			return loadgen.Mix{}, fmt.Errorf("unknown action %q (choose from %s)", name, strings.Join(MixActions, ","))
		}
		if seen[i] {
			return loadgen.Mix{}, fmt.Errorf("action %q given twice", name)
		}
		seen[i] = true
		n, err := strconv.Atoi(val)
		if err != nil || n < 0 || n > loadgen.MaxWeight {
			return loadgen.Mix{}, fmt.Errorf("%s=%s: the weight must be a whole number from 0 to %d", name, val, loadgen.MaxWeight)
		}
		w[i] = n
	}
	return loadgen.NewMix(MixActions, w)
}

// poolSize is how many instances to prepare for an action expected to be
// drawn `expected` times: 10 % over, plus 100 for small counts, so that the
// binomial spread of the draws (a standard deviation of at most
// sqrt(expected)) practically never exhausts it. The mixed scenario also
// refills a pool that runs low.
func poolSize(expected float64) int {
	if expected <= 0 {
		return 0
	}
	return int(math.Ceil(expected*1.1)) + 100
}

// mixedGuessRPS is what a flat-out mixed load is assumed to reach when its
// pools are sized for a --duration (a guess on the high side; a pool that
// runs low is refilled).
const mixedGuessRPS = 15000

// maxRenewPool bounds the renew pool: renewals may repeat an instance
// (each adds a month), the pool only spreads them over rows.
const maxRenewPool = 2000

// MixedResult is the mixed scenario.
type MixedResult struct {
	Mix      string
	Count    int64  `json:",omitempty"` // measured requests asked for
	Duration string `json:",omitempty"` // measured window asked for
	// ReleasePool is how many expired instances were prepared for
	// release; RenewPool how many active ones renew draws from.
	ReleasePool int
	RenewPool   int
	// Refills counts release-pool refills during the load (admin
	// creations that ran beside it, RefillInstances in all).
	Refills         int `json:",omitempty"`
	RefillInstances int `json:",omitempty"`
	SetupSeconds    float64
	Load            *loadgen.MixLoadResult
	// RatioToBaseline is the successful requests/s over the bare
	// handler's.
	RatioToBaseline float64 `json:",omitempty"`
}

// idPool hands out instance IDs, each once.
type idPool struct {
	mu  sync.Mutex
	ids []string
}

func (p *idPool) pop() (string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.ids) == 0 {
		return "", false
	}
	id := p.ids[len(p.ids)-1]
	p.ids = p.ids[:len(p.ids)-1]
	return id, true
}

func (p *idPool) push(ids []string) {
	p.mu.Lock()
	p.ids = append(p.ids, ids...)
	p.mu.Unlock()
}

func (p *idPool) len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.ids)
}

// mixedExpected is how many requests (warm-up included) a mixed load is
// expected to send: exact for an open loop, a guess for a closed one.
func mixedExpected(c *Config) float64 {
	warm := c.Warmup.Seconds()
	rate := c.Rate
	if rate <= 0 {
		rate = mixedGuessRPS
	}
	if c.Count > 0 {
		return float64(c.Count) + warm*rate
	}
	return rate * (warm + c.Duration.Seconds())
}

// mixedPools sizes the release and renew pools.
func mixedPools(c *Config) (release, renew int) {
	n := mixedExpected(c)
	release = poolSize(n * c.Mix.Share(c.Mix.Index(ActionRelease)))
	renew = min(poolSize(n*c.Mix.Share(c.Mix.Index(ActionRenew))), maxRenewPool)
	return release, renew
}

func (r *runner) mixed(ctx context.Context) error {
	c := r.cfg
	if err := r.ensureAux(ctx); err != nil {
		return err
	}
	mr := &MixedResult{Mix: c.Mix.String()}
	if c.Count > 0 {
		mr.Count = c.Count
	} else {
		mr.Duration = c.Duration.String()
	}
	r.res.Mixed = mr
	releaseN, renewN := mixedPools(&c)
	mr.ReleasePool, mr.RenewPool = releaseN, renewN
	t0 := time.Now()
	release := &idPool{}
	var renew []string
	if releaseN > 0 {
		r.logf("mixed: creating %d expired instances to release", releaseN)
		ids, err := r.createAux(ctx, releaseN, SeedRegion, "-1h")
		if err != nil {
			return err
		}
		release.push(ids)
	}
	if renewN > 0 {
		r.logf("mixed: creating %d active instances to renew", renewN)
		ids, err := r.createAux(ctx, renewN, SeedRegion, "8760h")
		if err != nil {
			return err
		}
		renew = ids
	}
	// Let the engine apply the release pool's expiries now, not during
	// the load (a clock move of 0 returns after a lifecycle pass).
	if _, err := r.adm.MoveClock(ctx, admin.ClockRequest{Advance: "0s"}); err != nil {
		return fmt.Errorf("settle the lifecycle engine: %w", err)
	}
	mr.SetupSeconds = loadgen.Round3(time.Since(t0).Seconds())

	mode := "flat out, " + strconv.Itoa(c.Connections) + " connections"
	if c.Rate > 0 {
		mode = fmt.Sprintf("open loop at %g requests/s, at most %d in flight", c.Rate, c.Connections)
	}
	span := c.Duration.String()
	if c.Count > 0 {
		span = strconv.FormatInt(c.Count, 10) + " requests"
	}
	r.logf("mixed: %s, %s, %s warm-up + %s", c.Mix, mode, c.Warmup, span)

	// Refill the release pool in the background should it run low: a
	// safety net, for a flat-out load faster than mixedGuessRPS (the pool
	// is sized to end about 10 % full, below the 5 % mark only by
	// chance; the result counts each refill, which competes with the
	// load).
	loadDone := make(chan struct{})
	var refills, refilled atomic.Int64
	var refillWG sync.WaitGroup
	if releaseN > 0 {
		low, chunk := max(50, releaseN/20), min(CreateBatch, max(1000, releaseN/4))
		refillWG.Add(1)
		go func() {
			defer refillWG.Done()
			for {
				select {
				case <-loadDone:
					return
				case <-time.After(200 * time.Millisecond):
				}
				if release.len() >= low {
					continue
				}
				ids, err := r.createAux(ctx, chunk, SeedRegion, "-1h")
				if err != nil {
					return
				}
				release.push(ids)
				refills.Add(1)
				refilled.Add(int64(len(ids)))
			}
		}()
	}
	load := &loadgen.MixLoad{Connections: c.Connections, Warmup: c.Warmup, Count: c.Count, Duration: c.Duration, Rate: c.Rate, Mix: c.Mix,
		Abort: r.exited, Progress: loadgen.NewProgress(r.log, "mixed"), Build: r.mixedBuilder(release, renew)}
	res, err := load.Run(ctx)
	close(loadDone)
	refillWG.Wait()
	mr.Load = res
	mr.Refills, mr.RefillInstances = int(refills.Load()), int(refilled.Load())
	return err
}

// mixedBuilder builds the mixed load's requests. Each request is signed
// afresh (new nonce and timestamp); worker i talks to replica i mod N.
// Describe is the bootstrap account's, as in the describe scenario; the
// writes are bench-aux's, so the seeded account's listing stays as
// seeded.
func (r *runner) mixedBuilder(release *idPool, renew []string) loadgen.MixBuilder {
	token := "bench-" + randomToken()[:10] + "-"
	var seq atomic.Int64
	return func(ctx context.Context, w *loadgen.Worker, a int) (*http.Request, bool, error) {
		p := w.Params
		clear(p)
		client := r.aux
		switch MixActions[a] {
		case ActionDescribe:
			describeParams(p, w.Rand)
			client = r.boot
		case ActionRelease:
			id, ok := release.pop()
			if !ok {
				return nil, false, nil
			}
			p["Action"] = "ReleaseInstance"
			p["Version"] = apiVersion
			p["Format"] = "JSON"
			p["RegionId"] = SeedRegion
			p["InstanceId"] = id
		case ActionCreate:
			createParams(p)
			p["ClientToken"] = token + strconv.FormatInt(seq.Add(1), 36)
		case ActionRenew:
			if len(renew) == 0 {
				return nil, false, nil
			}
			// BSS RenewInstance: moat requires RenewPeriod in months
			// (internal/acs/bss).
			bssParams(p, "RenewInstance")
			p["InstanceId"] = renew[w.Rand.IntN(len(renew))]
			p["RenewPeriod"] = "1"
			p["ClientToken"] = token + strconv.FormatInt(seq.Add(1), 36)
		}
		req, err := signedRequest(ctx, r.epFor(w.ID), client, p)
		return req, true, err
	}
}
