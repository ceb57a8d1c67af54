package e2e

import (
	"errors"
	"sync"
	"testing"

	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ddoscoo"

	"moat/internal/admin"
)

// TestConcurrentReleaseInstance pins atomic release: twenty concurrent
// ReleaseInstance calls of one expired instance (sdk-go v1, each goroutine
// with its own request and client, released together) give exactly one
// success and nineteen 404 InstanceNotFound, never a 5xx or another error;
// exactly one "released" event is recorded, carrying the winner's
// RequestId. Three rounds, one instance each, widen the race window.
func TestConcurrentReleaseInstance(t *testing.T) {
	const callers, rounds = 20, 3
	s := StartServer(t)
	instances := s.CreateInstances(t, admin.InstancesRequest{Count: rounds, ExpireIn: "-1h"})
	if len(instances) != rounds {
		t.Fatalf("created %d instances, want %d", len(instances), rounds)
	}
	clients := make([]*ddoscoo.Client, callers)
	for i := range clients {
		clients[i] = SDKv1(t, s, "cn-hangzhou", testKeyID, testKeySecret)
	}

	for _, in := range instances {
		type result struct {
			requestID string
			err       error
		}
		results := make([]result, callers)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range callers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req := ddoscoo.CreateReleaseInstanceRequest()
				req.InstanceId = in.InstanceId
				<-start
				resp, err := clients[i].ReleaseInstance(req)
				if err == nil {
					results[i].requestID = resp.RequestId
				}
				results[i].err = err
			}()
		}
		close(start)
		wg.Wait()

		var winners []string
		notFound := 0
		for i, r := range results {
			if r.err == nil {
				winners = append(winners, r.requestID)
				continue
			}
			var se *sdkerrors.ServerError
			switch {
			case !errors.As(r.err, &se):
				t.Errorf("%s caller %d: %v (%T), want a ServerError", in.InstanceId, i, r.err, r.err)
			case se.HttpStatus() >= 500:
				t.Errorf("%s caller %d: HTTP %d %s: %s", in.InstanceId, i, se.HttpStatus(), se.ErrorCode(), se.Message())
			case se.HttpStatus() == 404 && se.ErrorCode() == "InstanceNotFound":
				notFound++
			default:
				t.Errorf("%s caller %d: HTTP %d %s (%s), want 404 InstanceNotFound", in.InstanceId, i, se.HttpStatus(), se.ErrorCode(), se.Message())
			}
		}
		if len(winners) != 1 || notFound != callers-1 {
			t.Fatalf("%s: %d successes and %d InstanceNotFound, want 1 and %d", in.InstanceId, len(winners), notFound, callers-1)
		}
		wantRequestID(t, "winning ReleaseInstance", winners[0])
		evs := eventsOfType(t, s, in.InstanceId, "released")
		if len(evs) != 1 || evs[0].RequestId != winners[0] {
			t.Fatalf("%s: released events %+v, want exactly one with the winner's RequestId %s", in.InstanceId, evs, winners[0])
		}
	}
	if resp := v1List(t, clients[0], nil); resp.TotalCount != 0 || len(resp.Instances) != 0 {
		t.Fatalf("after the races DescribeInstances still lists %v", instanceIDsOf(resp.Instances))
	}
}
