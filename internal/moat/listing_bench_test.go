package moat_test

import (
	"runtime"
	"testing"
	"time"

	"moat/internal/moat"
)

// BenchmarkPerInstanceListing measures a DescribeInstances page for a RAM
// user whose policy admits instances by tag, over 10,000 instances of
// which half are admitted: every match is read and judged, so the cost
// grows with the account; the peak heap (peak-MiB, sampled) stays at
// about one scan batch whatever the account's size.
//
//	go test -run '^$' -bench PerInstanceListing ./internal/moat
func BenchmarkPerInstanceListing(b *testing.B) {
	e, _ := newRAMEnv(b)
	hour := time.Hour
	for i := range 10 {
		team := "oncall"
		if i%2 == 1 {
			team = "payments"
		}
		if _, err := e.svc.CreateInstances(e.ctx, moat.NewInstances{AccountID: e.acct, Region: moat.RegionMainland, Count: 1000, ExpireIn: &hour,
			Tags: []moat.Tag{{Key: "team", Value: team}}}); err != nil {
			b.Fatal(err)
		}
	}
	cond := `{"StringEquals": {"acs:ResourceTag/team": "oncall"}}`
	u, _ := e.ramUser(b, e.acct, "oncall", map[string]string{"p": policyDoc(allow("yundun-ddoscoo:Describe*", "*", cond))})
	acc, err := e.svc.ListAccess(e.ctx, &u, actDescribe, moat.RegionMainland)
	if err != nil || acc == nil {
		b.Fatalf("ListAccess = %+v, %v; want a per-instance Access", acc, err)
	}
	u.Access = acc
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	var peak uint64
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		page, err := e.svc.DescribeInstances(e.ctx, u, moat.DescribeQuery{Region: moat.RegionMainland, PageNumber: 40, PageSize: 50})
		if err != nil || page.Total != 5000 || len(page.Instances) != 50 {
			b.Fatalf("page: %d of %d, %v", len(page.Instances), page.Total, err)
		}
		if i%16 == 0 {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
		}
	}
	b.ReportMetric(float64(peak-min(peak, base.HeapAlloc))/(1<<20), "peak-MiB")
}
