package cluster

import (
	"context"
	"encoding/json"
	stderrors "errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/bssopenapi"

	"moat/internal/acs"
	"moat/internal/admin"
	"moat/internal/moat"
)

// signedWithNonce is a v1 DescribeInstances request signed with a chosen
// SignatureNonce (acs.Client always draws a fresh one).
func signedWithNonce(r *Replica, nonce string, pageSize int) (Answer, error) {
	p := ddoscooParams("DescribeInstances", "PageNumber", "1", "PageSize", strconv.Itoa(pageSize))
	p["AccessKeyId"] = keyID
	p["SignatureMethod"] = "HMAC-SHA1"
	p["SignatureVersion"] = "1.0"
	p["SignatureNonce"] = nonce
	p["Timestamp"] = time.Now().UTC().Format("2006-01-02T15:04:05Z")
	p["Signature"] = acs.SignV1(keySecret, acs.StringToSignV1(http.MethodPost, p))
	req, err := http.NewRequest(http.MethodPost, r.Endpoint+"/?"+acs.EncodeQuery(p), nil)
	if err != nil {
		return Answer{}, err
	}
	start := time.Now()
	resp, err := rpcHTTP.Do(req)
	if err != nil {
		return Answer{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return Answer{}, err
	}
	a := Answer{Status: resp.StatusCode, Body: body, Latency: time.Since(start)}
	if a.Status != http.StatusOK {
		var env errorEnvelope
		if err := json.Unmarshal(a.Body, &env); err != nil {
			return a, fmt.Errorf("error body is not JSON: %v: %q", err, body)
		}
		a.Code, a.Message, a.RequestID = env.Code, env.Message, env.RequestId
	}
	return a, nil
}

// TestNonceAcrossReplicas pins that a SignatureNonce is single-use across
// the cluster: a request accepted by one replica, signed again with the
// same nonce, is refused by every replica (SignatureNonceUsed), also when
// the copies arrive at all three at the same moment.
func TestNonceAcrossReplicas(t *testing.T) {
	rs := startReplicas(t, newDatabase(t, baseDSN()), 3, 8)

	nonce := acs.NewNonce()
	a, err := signedWithNonce(rs[0], nonce, 10)
	if err != nil {
		t.Fatal(err)
	}
	if a.Status != http.StatusOK {
		t.Fatalf("first use of nonce on a = %v, want 200", a)
	}
	for _, r := range []*Replica{rs[1], rs[2], rs[0]} {
		// Re-signed: another PageSize, so another signature, same nonce.
		b, err := signedWithNonce(r, nonce, 20)
		if err != nil {
			t.Fatal(err)
		}
		wantError(t, "nonce reused on "+r.Name, b, http.StatusBadRequest, string(moat.CodeSignatureNonceUsed))
	}

	// The same fresh nonce sent to the three at once: exactly one wins.
	for round := range 20 {
		nonce := acs.NewNonce()
		answers := make([]Answer, len(rs))
		errs := make([]error, len(rs))
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i, r := range rs {
			wg.Go(func() {
				<-start
				answers[i], errs[i] = signedWithNonce(r, nonce, 10+i)
			})
		}
		close(start)
		wg.Wait()
		accepted := 0
		for i, a := range answers {
			if errs[i] != nil {
				t.Fatalf("round %d, %s: %v", round, rs[i].Name, errs[i])
			}
			switch {
			case a.Status == http.StatusOK:
				accepted++
			case a.Status == http.StatusBadRequest && a.Code == string(moat.CodeSignatureNonceUsed):
			default:
				t.Fatalf("round %d, %s: %v, want 200 or SignatureNonceUsed", round, rs[i].Name, a)
			}
		}
		if accepted != 1 {
			t.Fatalf("round %d: one nonce sent to 3 replicas at once was accepted %d times, want exactly once", round, accepted)
		}
	}
}

// TestSharedClock pins that the server clock is one clock: once an admin
// call on a returns, b reads the new time, and c answers from it, for
// reads (DescribeInstances Status) and writes (ReleaseInstance) alike.
func TestSharedClock(t *testing.T) {
	rs := startReplicas(t, newDatabase(t, baseDSN()), 3, 8)
	a, b, c := rs[0], rs[1], rs[2]
	id := a.createInstances(t, admin.InstancesRequest{ExpireIn: "1h"})[0].InstanceId
	if got := c.describe(t, []string{id})[id]; got.Status != moat.StatusNormal {
		t.Fatalf("before the advance, c shows Status %d, want 1", got.Status)
	}

	for round, d := range []string{"2h", "-2h", "2h"} {
		moved := a.advance(t, d)
		if got := b.clock(t); got.OffsetMs != moved.OffsetMs {
			t.Fatalf("round %d: after a advanced by %s (offset %s), b's clock has offset %s", round, d, moved.Offset, got.Offset)
		}
		want := moat.StatusExpired
		if strings.HasPrefix(d, "-") {
			want = moat.StatusNormal
		}
		if got := c.describe(t, []string{id})[id]; got.Status != want {
			t.Fatalf("round %d: after a advanced by %s, c's DescribeInstances shows Status %d, want %d", round, d, got.Status, want)
		}
	}
	// A write on c uses the shared time too: the instance is expired.
	ok(t, "ReleaseInstance on c", c.mustCall(t, ddoscooParams("ReleaseInstance", "InstanceId", id)), nil)
	if got, want := eventTypes(b.events(t, id, "")), []string{"created", "expired", "released"}; !slices.Equal(got, want) {
		t.Fatalf("events of %s on b = %v, want %v", id, got, want)
	}
}

// bssClient is sdk-go v1's bssopenapi client pointed at a replica.
func bssClient(t testing.TB, r *Replica) *bssopenapi.Client {
	t.Helper()
	c, err := bssopenapi.NewClientWithAccessKey("cn-hangzhou", keyID, keySecret)
	if err != nil {
		t.Fatalf("sdk-go v1 bssopenapi client: %v", err)
	}
	c.EndpointMap = map[string]string{"cn-hangzhou": r.Addr}
	return c
}

func sdkBuy(c *bssopenapi.Client, token string, period int) (*bssopenapi.CreateInstanceResponse, error) {
	req := bssopenapi.CreateCreateInstanceRequest()
	req.ProductCode, req.ProductType, req.SubscriptionType = "ddos", "ddoscoo", "Subscription"
	req.Period = requests.NewInteger(period)
	req.ClientToken = token
	req.Parameter = &[]bssopenapi.CreateInstanceParameter{{Code: "PortCount", Value: "60"}}
	return c.CreateInstance(req)
}

// TestClientTokenAcrossReplicas pins BSS CreateInstance idempotency across
// the cluster with the official sdk-go v1 client: one ClientToken sent to
// the three replicas at once buys one instance, and all three answers carry
// its InstanceId and OrderId; the same token with other parameters is
// IdempotentParameterMismatch on every replica.
func TestClientTokenAcrossReplicas(t *testing.T) {
	rs := startReplicas(t, newDatabase(t, baseDSN()), 3, 8)
	clients := make([]*bssopenapi.Client, len(rs))
	for i, r := range rs {
		clients[i] = bssClient(t, r)
	}
	const rounds = 15
	for round := range rounds {
		token := fmt.Sprintf("cluster-token-%d-%s", round, acs.NewNonce()[:8])
		resps := make([]*bssopenapi.CreateInstanceResponse, len(rs))
		errs := make([]error, len(rs))
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range rs {
			wg.Go(func() {
				<-start
				resps[i], errs[i] = sdkBuy(clients[i], token, 1)
			})
		}
		close(start)
		wg.Wait()
		for i := range rs {
			if errs[i] != nil {
				t.Fatalf("round %d: CreateInstance on %s: %v", round, rs[i].Name, errs[i])
			}
			if resps[i].Data.InstanceId == "" || resps[i].Data.InstanceId != resps[0].Data.InstanceId || resps[i].Data.OrderId != resps[0].Data.OrderId {
				t.Fatalf("round %d: token %s answered %s on a and %s on %s, want the same InstanceId and OrderId",
					round, token, resps[0].GetHttpContentString(), resps[i].GetHttpContentString(), rs[i].Name)
			}
		}
		id := resps[0].Data.InstanceId
		if evs := rs[round%3].events(t, id, "created"); len(evs) != 1 || !strings.Contains(evs[0].Reason, resps[0].Data.OrderId) {
			t.Fatalf("round %d: created events of %s = %+v, want one naming order %s", round, id, evs, resps[0].Data.OrderId)
		}
		// Another Period with the same token is refused everywhere.
		for i := range rs {
			_, err := sdkBuy(clients[i], token, 2)
			var se *sdkerrors.ServerError
			if !stderrors.As(err, &se) || se.ErrorCode() != string(moat.CodeIdempotentParameterMismatch) {
				t.Fatalf("round %d: token %s reused with Period 2 on %s: %v, want IdempotentParameterMismatch", round, token, rs[i].Name, err)
			}
		}
	}
	if n := rs[1].totalCount(t); n != rounds {
		t.Fatalf("TotalCount after %d tokens = %d, want %d", rounds, n, rounds)
	}
	if live := rs[2].liveIDs(t); len(live) != rounds {
		t.Fatalf("DescribeInstanceIds lists %d instances after %d tokens, want %d", len(live), rounds, rounds)
	}
	if got := rs[0].allEvents(t, "created", 1000); len(got) != rounds {
		t.Fatalf("%d created events after %d tokens, want %d", len(got), rounds, rounds)
	}
}

// TestRenewReleaseRace races BSS RenewInstance on one replica against
// ddoscoo ReleaseInstance on another for the same expired instance, many
// times. The domain's rules make the outcomes exclusive:
//
//   - a release needs the instance expired (InstanceNotExpire otherwise);
//     a renewal within the 7-day window extends the expiry by whole months
//     from the old expiry, so a renewed instance is no longer expired;
//   - a renewal needs the instance to exist (InstanceNotFound otherwise;
//     a released instance is gone, its ID kept by a tombstone).
//
// So "consistent" means exactly one of the two succeeds: either release
// wins (renew answers 404 InstanceNotFound; DescribeInstanceStatus 4; the
// events are created, expired, released with the release's RequestId), or
// renew wins (release answers 400 InstanceNotExpire; the instance is
// normal with ExpireTime one month after the old one; the events are
// created, expired, renewed with the renewal's RequestId). Both
// succeeding, both failing, or a state or history that disagrees with
// the winner is a failure.
func TestRenewReleaseRace(t *testing.T) {
	rs := startReplicas(t, newDatabase(t, baseDSN()), 3, 8)
	const rounds = 60
	insts := rs[0].createInstances(t, admin.InstancesRequest{Count: rounds, ExpireIn: "-1h"})
	var renewWins, releaseWins int
	for i, in := range insts {
		renewOn, releaseOn, judge := rs[i%3], rs[(i+1)%3], rs[(i+2)%3]
		var renew, release Answer
		var renewErr, releaseErr error
		var wg sync.WaitGroup
		start := make(chan struct{})
		wg.Go(func() {
			<-start
			renew, renewErr = renewOn.call(context.Background(), bssParams("RenewInstance",
				"ProductCode", "ddos", "ProductType", "ddoscoo", "InstanceId", in.InstanceId, "RenewPeriod", "1"))
		})
		wg.Go(func() {
			<-start
			release, releaseErr = releaseOn.call(context.Background(), ddoscooParams("ReleaseInstance", "InstanceId", in.InstanceId))
		})
		close(start)
		wg.Wait()
		if renewErr != nil || releaseErr != nil {
			t.Fatalf("round %d: renew: %v, release: %v", i, renewErr, releaseErr)
		}
		evs := judge.events(t, in.InstanceId, "")
		switch {
		case release.Status == http.StatusOK && renew.Status == http.StatusNotFound && renew.Code == string(moat.CodeInstanceNotFound):
			releaseWins++
			if st := judge.status(t, in.InstanceId); st != moat.StatusReleased {
				t.Fatalf("round %d: release won but DescribeInstanceStatus on %s = %d, want 4", i, judge.Name, st)
			}
			if got, want := eventTypes(evs), []string{"created", "expired", "released"}; !slices.Equal(got, want) || evs[2].RequestId != release.RequestID {
				t.Fatalf("round %d: release won (RequestId %s) but the events are %+v, want %v with its RequestId", i, release.RequestID, evs, want)
			}
		case renew.Status == http.StatusOK && release.Status == http.StatusBadRequest && release.Code == string(moat.CodeInstanceNotExpire):
			renewWins++
			got, found := judge.describe(t, []string{in.InstanceId})[in.InstanceId]
			wantExpire := moat.AddMonths(time.UnixMilli(in.ExpireTime), 1).UnixMilli()
			if !found || got.Status != moat.StatusNormal || got.ExpireTime != wantExpire {
				t.Fatalf("round %d: renew won but %s shows %+v (found %v), want Status 1 and ExpireTime %d", i, judge.Name, got, found, wantExpire)
			}
			if got, want := eventTypes(evs), []string{"created", "expired", "renewed"}; !slices.Equal(got, want) || evs[2].RequestId != renew.RequestID {
				t.Fatalf("round %d: renew won (RequestId %s) but the events are %+v, want %v with its RequestId", i, renew.RequestID, evs, want)
			}
			// The state is the winner's for later calls too.
			wantError(t, "ReleaseInstance after the renewal", judge.mustCall(t, ddoscooParams("ReleaseInstance", "InstanceId", in.InstanceId)),
				http.StatusBadRequest, string(moat.CodeInstanceNotExpire))
		default:
			t.Fatalf("round %d: renew on %s = %v; release on %s = %v; want exactly one to succeed (renew, and release InstanceNotExpire; or release, and renew InstanceNotFound)",
				i, renewOn.Name, renew, releaseOn.Name, release)
		}
	}
	t.Logf("renew vs release, %d rounds across replicas: renew won %d, release won %d", rounds, renewWins, releaseWins)
}
