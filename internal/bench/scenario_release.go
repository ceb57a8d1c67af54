package bench

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"moat/internal/admin"
	"moat/internal/bench/loadgen"
)

// ensureAux creates the auxiliary account (idempotent).
func (r *runner) ensureAux(ctx context.Context) error {
	_, err := r.adm.CreateAccount(ctx, admin.AccountRequest{AccountId: AuxAccountID, AccessKeyId: AuxKeyID, AccessKeySecret: AuxSecret})
	return err
}

// createAux creates n instances of the auxiliary account and returns their
// IDs.
func (r *runner) createAux(ctx context.Context, n int, region, expireIn string) ([]string, error) {
	ids := make([]string, 0, n)
	prog := loadgen.NewCountProgress(r.log, "creating instances", n)
	for len(ids) < n {
		got, err := r.adm.CreateInstances(ctx, admin.InstancesRequest{AccessKeyId: AuxKeyID, RegionId: region, Count: min(r.batch(), n-len(ids)), ExpireIn: expireIn, Remark: "bench"})
		if err != nil {
			return nil, fmt.Errorf("create instances (%d of %d done): %w", len(ids), n, err)
		}
		for _, in := range got {
			ids = append(ids, in.InstanceId)
		}
		prog.Update(len(ids))
	}
	return ids, nil
}

func (r *runner) release(ctx context.Context) error {
	c := r.cfg
	if err := r.ensureAux(ctx); err != nil {
		return err
	}
	r.logf("release: creating %d expired instances", c.ReleaseCount)
	t0 := time.Now()
	ids, err := r.createAux(ctx, c.ReleaseCount, SeedRegion, "-1h")
	if err != nil {
		return err
	}
	rr := &ReleaseResult{Instances: len(ids), CreateSeconds: loadgen.Round3(time.Since(t0).Seconds())}
	r.res.Release = rr
	r.logf("release: releasing %d instances at %d connections", len(ids), c.Connections)
	var next atomic.Int64
	load := &loadgen.Load{Connections: c.Connections, Abort: r.exited, Progress: loadgen.NewProgress(r.log, "release"), Next: func(ctx context.Context, w *loadgen.Worker) (*http.Request, bool, error) {
		i := next.Add(1) - 1
		if i >= int64(len(ids)) {
			return nil, false, nil
		}
		p := w.Params
		p["Action"] = "ReleaseInstance"
		p["Version"] = apiVersion
		p["Format"] = "JSON"
		p["RegionId"] = SeedRegion
		p["InstanceId"] = ids[i]
		req, err := signedRequest(ctx, r.epFor(w.ID), r.aux, p)
		return req, true, err
	}}
	res, err := load.Run(ctx)
	if res != nil {
		rr.Load = res
		rr.ReleasesPerSec = loadgen.Round1(res.OKPerSec)
	}
	return err
}
