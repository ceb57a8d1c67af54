package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"sync"
	"testing"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ddoscoo"

	"moat/internal/acs"
	"moat/internal/admin"
)

// unpagedIDs calls DescribeInstanceIds (JSON) with a raw signed GET and
// returns the answer, its IDs, and whether it came chunked.
func unpagedIDs(t *testing.T, s *Server, hc *http.Client, keyID, secret string) (status int, code string, ids []string, chunked bool) {
	params := map[string]string{"Action": "DescribeInstanceIds", "Version": "2020-01-01", "RegionId": "cn-hangzhou", "Format": "JSON"}
	(&acs.Client{AccessKeyID: keyID, AccessKeySecret: secret}).Sign("GET", params)
	resp, err := hc.Get("http://" + s.Host() + "/?" + acs.EncodeQuery(params))
	if err != nil {
		t.Errorf("DescribeInstanceIds: %v", err)
		return 0, "", nil, false
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Errorf("DescribeInstanceIds: reading the answer (%d): %v", resp.StatusCode, err)
		return resp.StatusCode, "", nil, false
	}
	var body struct {
		Code        string
		InstanceIds []struct{ InstanceId string }
	}
	if err := json.Unmarshal(b, &body); err != nil {
		t.Errorf("DescribeInstanceIds: %d %.200s: %v", resp.StatusCode, b, err)
	}
	for _, it := range body.InstanceIds {
		ids = append(ids, it.InstanceId)
	}
	return resp.StatusCode, body.Code, ids, resp.ContentLength == -1 && slices.Equal(resp.TransferEncoding, []string{"chunked"})
}

// TestHardening_UnpagedListingsDoNotStallOtherTenants pins the bounds of
// DescribeInstanceIds, which has no paging, on a big account: six
// concurrent unpaged listings of 3,000 instances each either stream the
// whole list (chunked, every ID in creation order) or are refused with
// Throttling.User once the account runs --max-heavy-reads (2) of them,
// and meanwhile another tenant's paged DescribeInstances keeps answering
// correctly. The official sdk-go v1 reads a streamed answer in both
// formats. (Timings are measured by hand with moat bench; see
// docs/OPERATIONS.md.)
func TestHardening_UnpagedListingsDoNotStallOtherTenants(t *testing.T) {
	s := StartServer(t, WithArgs("--max-heavy-reads", "2"))
	const big = 3000
	var want []string
	for _, in := range s.CreateInstances(t, admin.InstancesRequest{Count: big, ExpireIn: "720h"}) {
		want = append(want, in.InstanceId)
	}
	const acctB, keyB, secretB = "1000000000000042", "LTAIheavyreadsaccountb42", "heavy-reads-account-b-secret-42"
	s.CreateAccount(t, acctB, keyB, secretB)
	var wantB []string
	for _, in := range s.CreateInstances(t, admin.InstancesRequest{AccessKeyId: keyB, Count: 10, ExpireIn: "720h"}) {
		wantB = append(wantB, in.InstanceId)
	}
	b := SDKv1(t, s, "cn-hangzhou", keyB, secretB)

	const heavy = 6
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: heavy}}
	t.Cleanup(hc.CloseIdleConnections)
	type result struct {
		status  int
		code    string
		ids     []string
		chunked bool
	}
	results := make([]result, heavy)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range heavy {
		wg.Go(func() {
			<-start
			var r result
			r.status, r.code, r.ids, r.chunked = unpagedIDs(t, s, hc, testKeyID, testKeySecret)
			results[i] = r
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	close(start)

	// The other tenant's paged listing while they run (and once more after,
	// so it has answered at least once).
	answered := 0
	for running := true; running; answered++ {
		select {
		case <-done:
			running = false
		default:
		}
		page := v1List(t, b, func(r *ddoscoo.DescribeInstancesRequest) { r.PageSize = "10" })
		if got := instanceIDsOf(page.Instances); page.TotalCount != 10 || !slices.Equal(got, wantB) {
			t.Fatalf("tenant B's DescribeInstances during the unpaged listings: TotalCount %d %v, want %v", page.TotalCount, got, wantB)
		}
	}

	served := 0
	for i, r := range results {
		switch {
		case r.status == 200 && slices.Equal(r.ids, want) && r.chunked:
			served++
		case r.status == 400 && r.code == "Throttling.User" && r.ids == nil:
		default:
			t.Errorf("unpaged listing %d: %d %q, %d IDs (chunked %v); want the %d IDs streamed, or Throttling.User", i, r.status, r.code, len(r.ids), r.chunked, big)
		}
	}
	// The first two to need a second batch always hold the two slots.
	if served < 2 {
		t.Errorf("%d of %d unpaged listings served, want at least --max-heavy-reads (2)", served, heavy)
	}
	t.Logf("%d of %d unpaged listings served, the rest refused; tenant B answered %d times meanwhile", served, heavy, answered)

	a := SDKv1(t, s, "cn-hangzhou", testKeyID, testKeySecret)
	for _, format := range []string{"JSON", "XML"} {
		req := ddoscoo.CreateDescribeInstanceIdsRequest()
		req.AcceptFormat = format
		resp, err := a.DescribeInstanceIds(req)
		if err != nil {
			t.Fatalf("sdk-go v1 DescribeInstanceIds (%s): %v", format, err)
		}
		if got := instanceIDsOf(resp.InstanceIds); !slices.Equal(got, want) {
			t.Errorf("sdk-go v1 DescribeInstanceIds (%s): %d IDs, want %d in creation order", format, len(got), big)
		}
	}
}
