package e2e

import (
	"errors"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alibabacloud-go/tea/tea"
	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ddoscoo"

	"moat/internal/admin"
)

// burst sends n DescribeInstances at once through sdk-go v1 and returns
// how many succeeded and the Throttling.User errors; any other error
// fails the test.
func burst(t *testing.T, c *ddoscoo.Client, n int) (ok int, throttled []*sdkerrors.ServerError) {
	t.Helper()
	var mu sync.Mutex
	var wg sync.WaitGroup
	var other []error
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.DescribeInstances(describeRequestV1())
			mu.Lock()
			defer mu.Unlock()
			var se *sdkerrors.ServerError
			switch {
			case err == nil:
				ok++
			case errors.As(err, &se) && se.ErrorCode() == "Throttling.User" && se.HttpStatus() == 400:
				throttled = append(throttled, se)
			default:
				other = append(other, err)
			}
		}()
	}
	wg.Wait()
	if len(other) > 0 {
		t.Fatalf("burst of %d: %d unexpected errors, first: %v", n, len(other), other[0])
	}
	return ok, throttled
}

// TestThrottleOffByDefault pins that a server started without --throttle
// limits nothing: a burst of 50 DescribeInstances all succeed.
func TestThrottleOffByDefault(t *testing.T) {
	s := StartServer(t)
	ok, throttled := burst(t, SDKv1(t, s, "cn-hangzhou", testKeyID, testKeySecret), 50)
	if ok != 50 || len(throttled) != 0 {
		t.Fatalf("burst of 50 without --throttle: %d ok, %d throttled; want 50 ok", ok, len(throttled))
	}
}

var rateLimitHeaderRE = regexp.MustCompile(`^Remain:0,TimeLeft:[1-9][0-9]*$`)

// TestThrottleReal pins --throttle real: DescribeInstances is limited to
// 10 calls per second per user (a burst of 10 passes); beyond it the call
// is 400 Throttling.User with an x-ratelimit-user-api header; another user
// of the same account, another account and another action are not
// affected; a second later the user passes again. A bad --throttle value
// is a usage error.
func TestThrottleReal(t *testing.T) {
	s := StartServer(t, WithArgs("--throttle", "real"))
	ramAccount(t, s)
	read := map[string]string{"read": policyDoc(allowStmt("yundun-ddoscoo:Describe*", "*", ""))}
	ua := newRAMUser(t, s, ramAcct, "a", read)
	ub := newRAMUser(t, s, ramAcct, "b", read)
	ca := SDKv1(t, s, "cn-hangzhou", ua.KeyID, ua.Secret)

	// 40 calls at once: none would be refused only if they spread over
	// the 3 s that refill 30 tokens; they take 0.1-0.4 s on the 2-core
	// machine under load (a slower client refills the bucket as fast as
	// it sends more, so a bigger burst would not widen the margin; the
	// exact budget is pinned at a rate that cannot refill in
	// TestThrottleUserBudget and TestThrottlePerAction).
	ok, throttled := burst(t, ca, 40)
	if ok < 10 || len(throttled) == 0 || ok+len(throttled) != 40 {
		t.Fatalf("burst of 40 by one user: %d ok, %d throttled; want at least the 10 of the burst allowance ok and some throttled", ok, len(throttled))
	}
	for _, se := range throttled {
		var h string
		for k, v := range se.RespHeaders {
			if strings.EqualFold(k, "x-ratelimit-user-api") && len(v) == 1 {
				h = v[0]
			}
		}
		if !rateLimitHeaderRE.MatchString(h) {
			t.Fatalf("Throttling.User answer: x-ratelimit-user-api %q, want Remain:0,TimeLeft:<ms>; headers %v", h, se.RespHeaders)
		}
	}

	// Other principals and other actions have buckets of their own.
	if ok, thr := burst(t, SDKv1(t, s, "cn-hangzhou", ub.KeyID, ub.Secret), 5); ok != 5 {
		t.Fatalf("user b right after user a's burst: %d ok, %d throttled; want 5 ok", ok, len(thr))
	}
	if ok, thr := burst(t, SDKv1(t, s, "cn-hangzhou", testKeyID, testKeySecret), 5); ok != 5 {
		t.Fatalf("another account right after user a's burst: %d ok, %d throttled; want 5 ok", ok, len(thr))
	}
	if _, err := ca.DescribeInstanceIds(ddoscoo.CreateDescribeInstanceIdsRequest()); err != nil {
		t.Fatalf("user a, another action, right after the burst: %v", err)
	}

	// The v3 client's view of Throttling.User, and that an STS session
	// spends its user's budget, are TestThrottleUserBudget's: at 10 calls
	// per second a's budget refills within a second, while the v3 client
	// is made or the session issued.

	time.Sleep(1100 * time.Millisecond)
	if _, err := ca.DescribeInstances(describeRequestV1()); err != nil {
		t.Fatalf("user a a second after its burst: %v", err)
	}

	r := runMoat(t, map[string]string{}, "serve", "--addr", "127.0.0.1:0", "--db", t.TempDir()+"/x.db", "--throttle", "DescribeInstances=fast")
	cliWantExit(t, r, 2, "serve --throttle DescribeInstances=fast")
	if !strings.Contains(r.stderr, "--throttle") {
		t.Fatalf("usage error does not name --throttle: %s", r.stderr)
	}
}

// TestThrottleUserBudget pins that a user's budget is the user's,
// whatever the client and credentials: after user a's call, the v3 client
// of a is refused with Throttling.User (darabonba's throttling error), and
// so is an STS session issued for a (temporary credentials do not
// multiply the budget), while user b, whose budget is its own, passes.
// The rate is one call per 1000 s (a burst of one), so that no token
// comes back during the test, however slow the machine.
func TestThrottleUserBudget(t *testing.T) {
	s := StartServer(t, WithArgs("--throttle", "DescribeInstances=0.001"))
	ramAccount(t, s)
	read := map[string]string{"read": policyDoc(allowStmt("yundun-ddoscoo:Describe*", "*", ""))}
	ua := newRAMUser(t, s, ramAcct, "a", read)
	ub := newRAMUser(t, s, ramAcct, "b", read)
	sess := issueSTS(t, s, "a", admin.STSRequest{DurationSeconds: 900})
	if ok, thr := burst(t, SDKv1(t, s, "cn-hangzhou", ua.KeyID, ua.Secret), 1); ok != 1 {
		t.Fatalf("user a's first call: %d throttled; want it to pass", len(thr))
	}
	_, err := SDKv3(t, s, ua.KeyID, ua.Secret).DescribeInstances(v3DescribeRequest())
	if se := teaError(t, err, 400, "Throttling.User"); !strings.Contains(tea.StringValue(se.Message), "flow control") {
		t.Fatalf("v3 Throttling.User message = %q", tea.StringValue(se.Message))
	}
	if ok, thr := burst(t, stsV1(t, s, sess.AccessKeyId, sess.AccessKeySecret, sess.SecurityToken), 1); len(thr) != 1 {
		t.Fatalf("an STS session of user a after a's call: %d ok, none throttled; want it to share a's budget", ok)
	}
	if ok, thr := burst(t, SDKv1(t, s, "cn-hangzhou", ub.KeyID, ub.Secret), 1); ok != 1 {
		t.Fatalf("user b after a's budget was spent: %d throttled; want b's budget its own", len(thr))
	}
}

// TestThrottlePerAction pins an explicit --throttle table: the named
// action at its rate, other actions unlimited when no "*" is given.
func TestThrottlePerAction(t *testing.T) {
	s := StartServer(t, WithArgs("--throttle", "DescribeInstanceIds=2"))
	createSingle(t, s, admin.InstancesRequest{})
	c := SDKv1(t, s, "cn-hangzhou", testKeyID, testKeySecret)
	if ok, thr := burst(t, c, 30); ok != 30 {
		t.Fatalf("DescribeInstances is not in the table: %d ok, %d throttled; want 30 ok", ok, len(thr))
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	codes := map[string]int{}
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.DescribeInstanceIds(ddoscoo.CreateDescribeInstanceIdsRequest())
			code := "OK"
			var se *sdkerrors.ServerError
			if errors.As(err, &se) {
				code = se.ErrorCode()
			} else if err != nil {
				code = err.Error()
			}
			mu.Lock()
			codes[code]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if codes["OK"] < 2 || codes["Throttling.User"] == 0 || codes["OK"]+codes["Throttling.User"] != 10 {
		t.Fatalf("10 DescribeInstanceIds at 2/s: %v, want at least 2 OK and some Throttling.User", codes)
	}
}
