package postgres_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"moat/internal/moat"
	"moat/internal/store/postgres"
	"moat/internal/store/storetest"
)

// The benchmarks mirror internal/store/sqlite/bench_test.go, so the two
// stores' figures compare. Their fixtures are written with plain SQL
// (generate_series) rather than 100,000 store calls, then ANALYZEd as
// autovacuum would.

// BenchmarkUseNonce measures durable nonce recording under 64 concurrent
// callers (group commit), as every signed request does.
func BenchmarkUseNonce(b *testing.B) {
	s := open(b, freshDB(b, false), postgres.Options{})
	var n atomic.Int64
	exp := time.Now().Add(time.Hour)
	b.SetParallelism(32) // 2 cores x 32 = 64 goroutines
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.UseNonce(context.Background(), "LTAIbench", fmt.Sprintf("%032x", n.Add(1)*2654435761), exp); err != nil {
				b.Fatal(err)
			}
		}
	})
}

const benchTotal = 100000

// seedInstances inserts benchTotal instances of account "1" in the
// mainland, as the SQLite benchmark's loop of InsertInstance does, and
// when tagged gives each a team tag (blue on one in ten, red otherwise)
// and env=prod.
func seedInstances(b *testing.B, dsn string, tagged bool) {
	b.Helper()
	exec(b, dsn, `INSERT INTO instances (instance_id, account_id, region, ip, remark, edition, resource_group_id, create_ms, expire_ms, phase,
			product_type, spec, renewal_status, renew_period)
		SELECT 'ddoscoo-cn-' || lpad(k::text, 12, '0'), '1', 'cn-hangzhou', '1.' || (k >> 16) || '.' || ((k >> 8) & 255) || '.' || (k & 255),
			'bench', 9, '', 1000000000000, 2000000000000, 0, '', $1, '', 0
		FROM generate_series(0, $2 - 1) AS k ORDER BY k`, specJSON(), benchTotal)
	exec(b, dsn, `INSERT INTO instance_counts (account_id, region, shard, n, version) VALUES ('1', 'cn-hangzhou', 0, $1, 1)`, benchTotal)
	if tagged {
		exec(b, dsn, `INSERT INTO instance_tags (instance_id, key, value, account_id, region, seq)
			SELECT instance_id, 'team', CASE WHEN (seq - 1) % 10 = 0 THEN 'blue' ELSE 'red' END, account_id, region, seq FROM instances
			UNION ALL
			SELECT instance_id, 'env', 'prod', account_id, region, seq FROM instances`)
	}
	// As autovacuum would: statistics, and the visibility map that lets
	// counts be index-only scans.
	exec(b, dsn, `VACUUM ANALYZE`)
}

func specJSON() string {
	return `{"BaseBandwidth":0,"Bandwidth":0,"ServiceBandwidth":0,"PortCount":0,"DomainCount":0,"FunctionVersion":0,"NormalBandwidth":0,` +
		`"NormalQps":0,"ProductPlan":0,"BurstMode":0,"ServicePartner":"","EditionSale":"","AddressType":""}`
}

// BenchmarkInstancesPage measures InstancePage, one page of 10 instances of
// an account with 100000 instances and their count (DescribeInstances'
// read), on page 1 and on pages 1-100.
func BenchmarkInstancesPage(b *testing.B) {
	ctx := context.Background()
	dsn := freshDB(b, false)
	seedInstances(b, dsn, false)
	s := open(b, dsn, postgres.Options{})
	for _, pages := range []int{1, 100} {
		b.Run(fmt.Sprintf("pages=%d", pages), func(b *testing.B) {
			f := moat.InstanceFilter{AccountID: "1", Region: moat.RegionMainland, Limit: 10}
			i := 0
			for b.Loop() {
				f.Offset = (i % pages) * 10
				i++
				list, n, err := s.InstancePage(ctx, f)
				if err != nil || len(list) != 10 || n != benchTotal {
					b.Fatal(err, len(list), n)
				}
			}
		})
	}
}

// BenchmarkTagFilterPage measures InstancePage with a tag filter on an
// account with 100000 instances, one in ten carrying the tag (10000
// matches): DescribeInstances' Tag.N filter, uncached.
func BenchmarkTagFilterPage(b *testing.B) {
	ctx := context.Background()
	dsn := freshDB(b, false)
	seedInstances(b, dsn, true)
	s := open(b, dsn, postgres.Options{})
	for _, c := range []struct {
		name string
		tags []moat.TagFilter
		want int64
	}{
		{"key=value 10%", []moat.TagFilter{{Key: "team", Value: "blue", HasValue: true}}, benchTotal / 10},
		{"key only 100%", []moat.TagFilter{{Key: "team"}}, benchTotal},
		{"two tags 10%", []moat.TagFilter{{Key: "team", Value: "blue", HasValue: true}, {Key: "env", Value: "prod", HasValue: true}}, benchTotal / 10},
	} {
		b.Run(c.name, func(b *testing.B) {
			f := moat.InstanceFilter{AccountID: "1", Region: moat.RegionMainland, Tags: c.tags, Limit: 10}
			i := 0
			for b.Loop() {
				f.Offset = (i % 100) * 10
				i++
				list, n, err := s.InstancePage(ctx, f)
				if err != nil || len(list) != 10 || n != c.want {
					b.Fatal(err, len(list), n)
				}
			}
		})
	}
}

// BenchmarkTraffic measures the data plane's reads and writes (see
// storetest.BenchTraffic).
func BenchmarkTraffic(b *testing.B) {
	storetest.BenchTraffic(b, open(b, freshDB(b, false), postgres.Options{}))
}
