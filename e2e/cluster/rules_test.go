package cluster

import (
	"fmt"
	"net/http"
	"sync"
	"testing"

	"moat/internal/admin"
	"moat/internal/moat"
)

// portRules is DescribeNetworkRules' body, as much as these tests read.
type portRules struct {
	TotalCount   int64
	NetworkRules []struct {
		InstanceId   string
		Protocol     string
		FrontendPort int
		BackendPort  int
		RealServers  []string
	}
}

// TestRulesAcrossReplicas: a rule written through one replica is read
// through the others at once (nothing cached), and concurrent creates of
// the same port on three replicas end with exactly one rule, the others
// told NetworkRuleExist; the PortCount limit holds across replicas.
func TestRulesAcrossReplicas(t *testing.T) {
	rs := startReplicas(t, newDatabase(t, baseDSN()), 3, 8)
	in := rs[0].createInstances(t, admin.InstancesRequest{RegionId: "cn-hangzhou", ExpireIn: "720h"})[0]

	describe := func(r *Replica) portRules {
		t.Helper()
		var out portRules
		ok(t, "DescribeNetworkRules on "+r.Name, r.mustCall(t, ddoscooParams("DescribeNetworkRules", "InstanceId", in.InstanceId, "PageNumber", "1", "PageSize", "100")), &out)
		return out
	}
	for i, w := range rs {
		port := fmt.Sprint(1000 + i)
		ok(t, "CreatePort on "+w.Name, w.mustCall(t, ddoscooParams("CreatePort", "InstanceId", in.InstanceId, "FrontendProtocol", "tcp",
			"FrontendPort", port, "BackendPort", "80", "RealServers.1", "192.0.2.1")), nil)
		for _, r := range rs {
			got := describe(r)
			if got.TotalCount != int64(i+1) || got.NetworkRules[i].FrontendPort != 1000+i {
				t.Fatalf("after the create on %s, %s reads %+v", w.Name, r.Name, got)
			}
		}
		ok(t, "ConfigNetworkRules on "+w.Name, w.mustCall(t, ddoscooParams("ConfigNetworkRules", "NetworkRules",
			fmt.Sprintf(`[{"InstanceId":%q,"Protocol":"tcp","FrontendPort":%s,"BackendPort":80,"RealServers":["192.0.2.2"]}]`, in.InstanceId, port))), nil)
		for _, r := range rs {
			if got := describe(r).NetworkRules[i].RealServers; len(got) != 1 || got[0] != "192.0.2.2" {
				t.Fatalf("after the change on %s, %s reads origins %v", w.Name, r.Name, got)
			}
		}
	}

	// One port, three replicas at once, twenty rounds: one rule each time.
	for round := range 20 {
		port := fmt.Sprint(2000 + round)
		answers := make([]Answer, len(rs))
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i, r := range rs {
			wg.Go(func() {
				<-start
				answers[i] = r.mustCall(t, ddoscooParams("CreatePort", "InstanceId", in.InstanceId, "FrontendProtocol", "udp",
					"FrontendPort", port, "BackendPort", "53", "RealServers.1", "192.0.2.3"))
			})
		}
		close(start)
		wg.Wait()
		created := 0
		for i, a := range answers {
			switch {
			case a.Status == http.StatusOK:
				created++
			case a.Status == http.StatusBadRequest && a.Code == string(moat.CodeNetworkRuleExist):
			default:
				t.Fatalf("round %d on %s: %v, want 200 or NetworkRuleExist", round, rs[i].Name, a)
			}
		}
		if created != 1 {
			t.Fatalf("round %d: %d creates succeeded, want 1", round, created)
		}
	}
	if got := describe(rs[2]).TotalCount; got != 23 {
		t.Fatalf("%d rules, want 23", got)
	}

	// The remaining room (PortCount 50) filled from three replicas at
	// once: never more than the limit.
	var wg sync.WaitGroup
	answers := make([]Answer, 60)
	for i := range answers {
		r := rs[i%len(rs)]
		wg.Go(func() {
			answers[i] = r.mustCall(t, ddoscooParams("CreatePort", "InstanceId", in.InstanceId, "FrontendProtocol", "tcp",
				"FrontendPort", fmt.Sprint(3000+i), "BackendPort", "80", "RealServers.1", "192.0.2.4"))
		})
	}
	wg.Wait()
	created := 0
	for i, a := range answers {
		switch {
		case a.Status == http.StatusOK:
			created++
		case a.Status == http.StatusBadRequest && a.Code == string(moat.CodeExceedNetworkRuleLimit):
		default:
			t.Fatalf("fill %d: %v, want 200 or ExceedNetworkRuleLimit", i, a)
		}
	}
	if created != 27 {
		t.Fatalf("%d creates succeeded, want the 27 that fit", created)
	}
	if got := describe(rs[1]).TotalCount; got != 50 {
		t.Fatalf("%d rules, want 50", got)
	}
}
