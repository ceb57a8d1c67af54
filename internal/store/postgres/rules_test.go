package postgres_test

import (
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"moat/internal/moat"
)

// TestSharedRules: a rule written through one store is read through the
// other at once, and of concurrent inserts of one key exactly one wins.
func TestSharedRules(t *testing.T) {
	a, b, _ := twoStores(t)
	ctx := t.Context()
	now := time.UnixMilli(1_900_000_000_000).UTC()
	const id = "ddoscoo-cn-shared01"
	in := moat.Instance{ID: id, AccountID: acct, Region: moat.RegionMainland, IP: "100.64.0.1", CreateTime: now, ExpireTime: now.Add(time.Hour),
		ProductType: moat.DefaultProductType(moat.RegionMainland), Spec: moat.DefaultSpec(moat.DefaultProductType(moat.RegionMainland)),
		RenewalStatus: moat.RenewalManual, RenewPeriod: 1}
	if err := a.Update(ctx, func(tx moat.Tx) error { return tx.InsertInstance(&in) }); err != nil {
		t.Fatal(err)
	}
	key := moat.PortKey{InstanceID: id, Protocol: moat.ProtocolTCP, FrontendPort: 80}
	rule := moat.PortRule{PortKey: key, BackendPort: 8080, RealServers: []string{"192.0.2.1"}, Created: now, Updated: now}
	if err := a.Update(ctx, func(tx moat.Tx) error { return tx.InsertPortRule(&rule) }); err != nil {
		t.Fatal(err)
	}
	if got, err := b.PortRulesByKey(ctx, []moat.PortKey{key}); err != nil || len(got) != 1 || got[0].BackendPort != 8080 {
		t.Fatalf("the other store's PortRulesByKey = %+v, %v; want the rule", got, err)
	}
	rule.BackendPort = 9090
	if err := b.Update(ctx, func(tx moat.Tx) error { return tx.UpdatePortRule(&rule) }); err != nil {
		t.Fatal(err)
	}
	if got, n, err := a.PortRulePage(ctx, moat.PortRuleFilter{InstanceID: id}); err != nil || n != 1 || got[0].BackendPort != 9090 {
		t.Fatalf("PortRulePage after the other store's update = %+v, %d, %v", got, n, err)
	}
	web := moat.WebRule{AccountID: acct, Region: moat.RegionMainland, Domain: "shared.example.com", InstanceIDs: []string{id}, Created: now, Updated: now}
	if err := b.Update(ctx, func(tx moat.Tx) error { return tx.InsertWebRule(&web) }); err != nil {
		t.Fatal(err)
	}
	if got, _, err := a.WebRulePage(ctx, moat.WebRuleFilter{AccountID: acct, InstanceIDs: []string{id}}); err != nil || len(got) != 1 {
		t.Fatalf("WebRulePage after the other store's insert = %+v, %v", got, err)
	}

	// Concurrent inserts of one port key, one domain and one certificate
	// name: one of each wins, the others are ErrConflict.
	var won, lost atomic.Int32
	together(8, func(i int) {
		s := a
		if i%2 == 1 {
			s = b
		}
		err := s.Update(ctx, func(tx moat.Tx) error {
			r := moat.PortRule{PortKey: moat.PortKey{InstanceID: id, Protocol: moat.ProtocolUDP, FrontendPort: 53}, RealServers: []string{"192.0.2.2"}, Created: now, Updated: now}
			w := moat.WebRule{AccountID: acct, Region: moat.RegionMainland, Domain: "race.example.com", InstanceIDs: []string{id}, Created: now, Updated: now}
			c := moat.Cert{AccountID: acct, Region: moat.RegionMainland, Name: "race", Created: now, NotBefore: now, NotAfter: now}
			return errors.Join(tx.InsertPortRule(&r), tx.InsertWebRule(&w), tx.InsertCert(&c))
		})
		switch {
		case err == nil:
			won.Add(1)
		case errors.Is(err, moat.ErrConflict):
			lost.Add(1)
		default:
			t.Errorf("concurrent insert: %v", err)
		}
	})
	if won.Load() != 1 || lost.Load() != 7 {
		t.Errorf("concurrent inserts: %d won, %d lost; want 1 and 7", won.Load(), lost.Load())
	}
	counts, err := b.RuleCounts(ctx, []string{id})
	if want := (moat.RuleCount{Ports: 2, Domains: 2}); err != nil || counts[id] != want {
		t.Errorf("RuleCounts = %+v, %v; want %+v", counts, err, want)
	}
	certs, err := a.Certs(ctx, acct)
	if err != nil || len(certs) != 1 || !slices.ContainsFunc(certs, func(c moat.Cert) bool { return c.Name == "race" }) {
		t.Errorf("Certs = %+v, %v; want the one certificate", certs, err)
	}
}
