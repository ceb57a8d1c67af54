package storetest

import (
	"fmt"
	"testing"
	"time"

	"moat/internal/moat"
)

// BenchTraffic measures the data plane's reads and writes on a store
// holding 10,000 port rules on 5,000 instances (each with two blacklist
// entries), beside 5,000 instances without rules: ForwardingConfig (read
// whenever an event was recorded), LastEventSeq (polled 4 times a second
// by each data-plane process) and AddTraffic of 1,000 samples (one
// process's second with 1,000 active rules). s must be fresh.
func BenchTraffic(b *testing.B, s moat.Store) {
	const withRules, without = 5000, 5000
	ctx := b.Context()
	for batch := 0; batch < (withRules+without)/1000; batch++ {
		err := s.Update(ctx, func(tx moat.Tx) error {
			for i := range 1000 {
				k := batch*1000 + i
				in := inst(fmt.Sprintf("ddoscoo-cn-%08d", k), acctA, mainl, moat.IPString(uint32(k)+1<<24), at(time.Hour))
				if err := tx.InsertInstance(&in); err != nil {
					return err
				}
				if k >= withRules {
					continue
				}
				for _, p := range []string{"tcp", "udp"} {
					r := portRule(in.ID, p, 80)
					if err := tx.InsertPortRule(&r); err != nil {
						return err
					}
				}
				if err := tx.PutSourceEntries([]moat.SourceEntry{
					{InstanceID: in.ID, List: moat.Blacklist, IP: "192.0.2.1", Type: moat.SourceManual, Created: base},
					{InstanceID: in.ID, List: moat.Blacklist, IP: "192.0.2.2", Type: moat.SourceManual, Created: base},
				}); err != nil {
					return err
				}
			}
			ev := ruleEvent("ddoscoo-cn-00000000", moat.EventRuleCreated, "")
			return tx.AppendEvent(&ev)
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.Run("ForwardingConfig", func(b *testing.B) {
		for b.Loop() {
			cfg, err := s.ForwardingConfig(ctx)
			if err != nil || len(cfg.Instances) != withRules || len(cfg.Rules) != 2*withRules || len(cfg.Entries) != 2*withRules {
				b.Fatal(err, len(cfg.Instances), len(cfg.Rules), len(cfg.Entries))
			}
		}
	})
	b.Run("LastEventSeq", func(b *testing.B) {
		for b.Loop() {
			if n, err := s.LastEventSeq(ctx); err != nil || n == 0 {
				b.Fatal(n, err)
			}
		}
	})
	b.Run("AddTraffic/1000", func(b *testing.B) {
		xs := make([]moat.TrafficSample, 1000)
		for i := range xs {
			xs[i] = sample(fmt.Sprintf("ddoscoo-cn-%08d", i/2), []string{"tcp", "udp"}[i%2], 80, 0, "edge-1", 1)
		}
		for b.Loop() {
			if err := s.AddTraffic(ctx, xs); err != nil {
				b.Fatal(err)
			}
		}
	})
}
