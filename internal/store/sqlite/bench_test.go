package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"moat/internal/moat"
	"moat/internal/store/sqlite"
	"moat/internal/store/storetest"
)

// BenchmarkUseNonce measures durable nonce recording under 64 concurrent
// callers (group commit), as every signed request does.
func BenchmarkUseNonce(b *testing.B) {
	s, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "m.db"), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
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

// BenchmarkInstancesPage measures InstancePage, one page of 10 instances of
// an account with 100000 instances and their count (DescribeInstances'
// read), on page 1 and on pages 1-100.
func BenchmarkInstancesPage(b *testing.B) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "m.db"), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	const total = 100000
	for batch := 0; batch < total/10000; batch++ {
		err := s.Update(ctx, func(tx moat.Tx) error {
			for i := 0; i < 10000; i++ {
				k := batch*10000 + i
				in := moat.Instance{ID: fmt.Sprintf("ddoscoo-cn-%012d", k), AccountID: "1", Region: moat.RegionMainland,
					IP: moat.IPString(uint32(k) + 1<<24), Remark: "bench", Edition: 9,
					CreateTime: time.UnixMilli(1e12), ExpireTime: time.UnixMilli(2e12)}
				if err := tx.InsertInstance(&in); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	for _, pages := range []int{1, 100} {
		b.Run(fmt.Sprintf("pages=%d", pages), func(b *testing.B) {
			f := moat.InstanceFilter{AccountID: "1", Region: moat.RegionMainland, Limit: 10}
			i := 0
			for b.Loop() {
				f.Offset = (i % pages) * 10
				i++
				list, n, err := s.InstancePage(ctx, f)
				if err != nil || len(list) != 10 || n != total {
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
	s, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "m.db"), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	const total = 100000
	for batch := 0; batch < total/10000; batch++ {
		err := s.Update(ctx, func(tx moat.Tx) error {
			for i := 0; i < 10000; i++ {
				k := batch*10000 + i
				in := moat.Instance{ID: fmt.Sprintf("ddoscoo-cn-%012d", k), AccountID: "1", Region: moat.RegionMainland,
					IP: moat.IPString(uint32(k) + 1<<24), Remark: "bench", Edition: 9,
					CreateTime: time.UnixMilli(1e12), ExpireTime: time.UnixMilli(2e12)}
				if err := tx.InsertInstance(&in); err != nil {
					return err
				}
				team := "red"
				if k%10 == 0 {
					team = "blue"
				}
				if err := tx.SetTags(in.ID, []moat.Tag{{Key: "team", Value: team}, {Key: "env", Value: "prod"}}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	for _, c := range []struct {
		name string
		tags []moat.TagFilter
		want int64
	}{
		{"key=value 10%", []moat.TagFilter{{Key: "team", Value: "blue", HasValue: true}}, total / 10},
		{"key only 100%", []moat.TagFilter{{Key: "team"}}, total},
		{"two tags 10%", []moat.TagFilter{{Key: "team", Value: "blue", HasValue: true}, {Key: "env", Value: "prod", HasValue: true}}, total / 10},
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
	s, err := sqlite.Open(b.Context(), filepath.Join(b.TempDir(), "m.db"), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	storetest.BenchTraffic(b, s)
}
