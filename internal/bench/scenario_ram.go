package bench

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"moat/internal/acs"
	"moat/internal/admin"
	"moat/internal/bench/loadgen"
)

// ScenarioRAM measures what RAM policy evaluation costs: the describe load
// as the bootstrap account, then the same load as a RAM user of that
// account whose policy has ten statements, back to back in one run.
const ScenarioRAM = "ram"

// TargetRAMRatio is the RAM bound: policy evaluation may cost at most 10%
// of DescribeInstances throughput.
const TargetRAMRatio = 0.90

// RAMUserName is the scenario's RAM user in the bootstrap account.
const RAMUserName = "bench-ram"

// ramPolicy has ten statements shaped like a real CI user's: the Describe
// family allowed from loopback and private networks until a date, a few
// explicit denies, and allows that concern other actions or other regions
// (all of which the evaluator must still look at on every request).
const ramPolicy = `{"Version": "1", "Statement": [
 {"Effect": "Allow", "Action": ["yundun-ddoscoo:Describe*", "yundun-ddoscoo:List*"], "Resource": "*",
  "Condition": {"IpAddress": {"acs:SourceIp": ["127.0.0.0/8", "10.0.0.0/8", "192.168.0.0/16"]},
                "DateLessThan": {"acs:CurrentTime": "2099-01-01T00:00:00Z"}}},
 {"Effect": "Deny", "Action": "yundun-ddoscoo:ReleaseInstance", "Resource": "*"},
 {"Effect": "Deny", "Action": ["bss:CreateInstance", "bss:ModifyInstance"], "Resource": "*"},
 {"Effect": "Deny", "Action": "yundun-ddoscoo:*", "Resource": "acs:yundun-ddoscoo:ap-southeast-1:*:*"},
 {"Effect": "Allow", "Action": "yundun-ddoscoo:ModifyInstance", "Resource": "acs:yundun-ddoscoo:*:*:instance/*",
  "Condition": {"StringEquals": {"acs:ResourceTag/team": "ci"}}},
 {"Effect": "Allow", "Action": "yundun-ddoscoo:TagResources", "Resource": "acs:yundun-ddoscoo:cn-hangzhou:*:instance/*"},
 {"Effect": "Allow", "Action": "yundun-ddoscoo:UntagResources", "Resource": "acs:yundun-ddoscoo:cn-hangzhou:*:instance/*"},
 {"Effect": "Allow", "Action": "bss:Query*", "Resource": "*"},
 {"Effect": "Deny", "NotAction": ["yundun-ddoscoo:*", "bss:*"], "Resource": "*"},
 {"Effect": "Allow", "Action": "yundun-ddoscoo:DescribeInstanceStatistics", "Resource": "*",
  "Condition": {"Bool": {"acs:SecureTransport": "false"}}}
]}`

// ramRounds is how many times the scenario alternates root and user load,
// so that a drift of the machine (another process, a checkpoint) lands on
// both sides alike.
const ramRounds = 3

// RAMResult is the ram scenario.
type RAMResult struct {
	Statements int
	// Rounds alternate the bootstrap account's own key and the RAM user,
	// each for --duration/3 (at least 2 s).
	Rounds []RAMRound
	// RootPerSec and UserPerSec are the answered requests per second over
	// all rounds; Ratio is UserPerSec / RootPerSec.
	RootPerSec, UserPerSec float64
	// RootP99Ms and UserP99Ms are the worst p99 of any round.
	RootP99Ms, UserP99Ms float64
	Errors               int64
	Requests             int64
	Ratio                float64
}

// RAMRound is one root load followed by one user load.
type RAMRound struct{ Root, User *loadgen.LoadResult }

func (r *runner) ramUser(ctx context.Context) error {
	c := r.cfg
	if _, err := r.adm.CreateUser(ctx, r.account, RAMUserName); err != nil {
		var ae *admin.Error
		if !errors.As(err, &ae) || ae.Code != "UserAlreadyExists" {
			return fmt.Errorf("create RAM user: %w", err)
		}
	}
	if err := r.adm.PutPolicy(ctx, r.account, RAMUserName, "bench", ramPolicy); err != nil {
		return fmt.Errorf("attach policy: %w", err)
	}
	key, err := r.adm.CreateUserKey(ctx, r.account, RAMUserName)
	if err != nil {
		return fmt.Errorf("create the user's AccessKey: %w", err)
	}
	defer r.adm.DeleteKey(context.WithoutCancel(ctx), key.AccessKeyId)
	user := &acs.Client{Endpoint: r.ep, AccessKeyID: key.AccessKeyId, AccessKeySecret: key.AccessKeySecret, HTTP: r.boot.HTTP}

	rr := &RAMResult{Statements: strings.Count(ramPolicy, `"Effect"`)}
	r.res.RAM = rr
	// The user must see what the root sees, or the comparison is void.
	rootTotal, err := r.describeTotal(ctx)
	if err != nil {
		return err
	}
	status, body, err := user.Call(ctx, map[string]string{"Action": "DescribeInstances", "Version": apiVersion, "Format": "JSON",
		"RegionId": SeedRegion, "PageNumber": "1", "PageSize": "1"})
	if err != nil {
		return err
	}
	if status != http.StatusOK || !strings.Contains(string(body), fmt.Sprintf(`"TotalCount":%d`, rootTotal)) {
		return fmt.Errorf("the RAM user's DescribeInstances: HTTP %d: %s (root TotalCount %d)", status, loadgen.Truncate(string(body), 600), rootTotal)
	}
	d := max(c.Duration/ramRounds, 2*time.Second)
	var rootOK, userOK int64
	var rootSecs, userSecs float64
	for i := range ramRounds {
		var round RAMRound
		for _, who := range []struct {
			name string
			cl   *acs.Client
			out  **loadgen.LoadResult
		}{{"root account", r.boot, &round.Root}, {fmt.Sprintf("RAM user (%d statements)", rr.Statements), user, &round.User}} {
			r.logf("ram: round %d/%d: describe as the %s, %d connections, %s warm-up + %s", i+1, ramRounds, who.name, c.Connections, c.Warmup, d)
			res, err := (&loadgen.Load{Connections: c.Connections, Warmup: c.Warmup, Duration: d, Abort: r.exited, Next: describeLoad([]string{r.ep}, who.cl),
				Progress: loadgen.NewProgress(r.log, "ram")}).Run(ctx)
			if err != nil {
				return err
			}
			*who.out = res
		}
		rr.Rounds = append(rr.Rounds, round)
		rootOK, rootSecs = rootOK+round.Root.OK, rootSecs+round.Root.Seconds
		userOK, userSecs = userOK+round.User.OK, userSecs+round.User.Seconds
		rr.RootP99Ms = max(rr.RootP99Ms, round.Root.Latency.P99Ms)
		rr.UserP99Ms = max(rr.UserP99Ms, round.User.Latency.P99Ms)
		rr.Errors += round.Root.Errors + round.User.Errors
		rr.Requests += round.Root.Requests + round.User.Requests
	}
	rr.RootPerSec = loadgen.Round1(float64(rootOK) / rootSecs)
	rr.UserPerSec = loadgen.Round1(float64(userOK) / userSecs)
	if rr.RootPerSec > 0 {
		rr.Ratio = loadgen.Round3(rr.UserPerSec / rr.RootPerSec)
	}
	return nil
}
