package storetest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"moat/internal/moat"
)

func webSample(account, domain string, bkt int, node string, v int64) moat.WebTrafficSample {
	x := moat.WebTrafficSample{AccountID: account, Domain: domain, Bucket: bucket(bkt), Node: node,
		Requests: v, AttackRequests: v + 1, InBytes: v + 2, OutBytes: v + 3,
		Status2xx: v + 4, Status3xx: v + 5, Status4xx: v + 6, Status5xx: v + 7}
	for i := range x.Codes {
		x.Codes[i] = v + 8 + int64(i)
	}
	return x
}

func fmtWebSample(x moat.WebTrafficSample) string {
	return fmt.Sprintf("%s %s %d %s req=%d att=%d in=%d out=%d %d/%d/%d/%d %v", x.AccountID, x.Domain, x.Bucket.UnixMilli(), x.Node,
		x.Requests, x.AttackRequests, x.InBytes, x.OutBytes, x.Status2xx, x.Status3xx, x.Status4xx, x.Status5xx, x.Codes)
}

func wantWebTraffic(t *testing.T, s moat.Store, f moat.WebTrafficFilter, want ...moat.WebTrafficSample) {
	t.Helper()
	got, err := s.WebTraffic(t.Context(), f)
	if err != nil {
		t.Fatalf("WebTraffic(%+v): %v", f, err)
	}
	var g, w []string
	for _, x := range got {
		g = append(g, fmtWebSample(x))
	}
	for _, x := range want {
		w = append(w, fmtWebSample(x))
	}
	if !slices.Equal(g, w) {
		t.Errorf("WebTraffic(%+v) =\n\t%s\nwant\n\t%s", f, strings.Join(g, "\n\t"), strings.Join(w, "\n\t"))
	}
}

func testWebTrafficAccumulates(t *testing.T, s moat.Store) {
	ctx := t.Context()
	const d1, d2 = "www.example.com", "api.example.com"
	if err := s.AddWebTraffic(ctx, []moat.WebTrafficSample{webSample(acctA, d1, 0, "n1", 10), webSample(acctA, d1, 0, "n2", 1)}); err != nil {
		t.Fatalf("AddWebTraffic: %v", err)
	}
	// The same row twice in one call, and again in a second call: every
	// counter adds.
	if err := s.AddWebTraffic(ctx, []moat.WebTrafficSample{webSample(acctA, d1, 0, "n1", 100), webSample(acctA, d1, 0, "n1", 1000),
		webSample(acctA, d2, 1, "n1", 5), webSample(acctB, d1, 0, "n1", 7)}); err != nil {
		t.Fatalf("AddWebTraffic: %v", err)
	}
	// Each counter of webSample(v) is v+k: three samples add to 1110+3k.
	sum := webSample(acctA, d1, 0, "n1", 0)
	for _, p := range []*int64{&sum.Requests, &sum.AttackRequests, &sum.InBytes, &sum.OutBytes, &sum.Status2xx, &sum.Status3xx, &sum.Status4xx, &sum.Status5xx} {
		*p = 1110 + 3**p
	}
	for i := range sum.Codes {
		sum.Codes[i] = 1110 + 3*sum.Codes[i]
	}
	wantWebTraffic(t, s, moat.WebTrafficFilter{AccountID: acctA, From: bucket(0)},
		sum, webSample(acctA, d1, 0, "n2", 1), webSample(acctA, d2, 1, "n1", 5))
	// Domains and [From, To) narrow it; another account sees only its own.
	wantWebTraffic(t, s, moat.WebTrafficFilter{AccountID: acctA, Domains: []string{d2}, From: bucket(0)}, webSample(acctA, d2, 1, "n1", 5))
	wantWebTraffic(t, s, moat.WebTrafficFilter{AccountID: acctA, From: bucket(0), To: bucket(1)}, sum, webSample(acctA, d1, 0, "n2", 1))
	wantWebTraffic(t, s, moat.WebTrafficFilter{AccountID: acctA, From: bucket(1)}, webSample(acctA, d2, 1, "n1", 5))
	wantWebTraffic(t, s, moat.WebTrafficFilter{AccountID: acctB, From: bucket(0)}, webSample(acctB, d1, 0, "n1", 7))
}

func fmtWebEvent(e moat.WebAttackEvent) string {
	end := int64(0)
	if !e.End.IsZero() {
		end = e.End.UnixMilli()
	}
	return fmt.Sprintf("%s %s %s %s %s %d-%d peak=%d blocked=%d watched=%d", e.Node, e.AccountID, e.Domain, e.Source, e.Reason,
		e.Start.UnixMilli(), end, e.Peak, e.Blocked, e.Watched)
}

func testWebAttackEvents(t *testing.T, s moat.Store) {
	ctx := t.Context()
	ev := func(node, account, domain, source, reason string, start, end time.Time, peak, blocked int64) moat.WebAttackEvent {
		return moat.WebAttackEvent{Node: node, AccountID: account, Domain: domain, Source: source, Reason: reason, Start: start, End: end,
			Peak: peak, Blocked: blocked, Watched: blocked / 2}
	}
	open := ev("n1", acctA, "www.example.com", "10.0.0.1", "cc", bucket(0), time.Time{}, 10, 100)
	other := ev("n2", acctA, "www.example.com", "10.0.0.1", "cc", bucket(0), bucket(1), 3, 4) // another node: its own row
	later := ev("n1", acctA, "api.example.com", "10.0.0.2", "precise:p1", bucket(2), bucket(3), 1, 2)
	b := ev("n1", acctB, "www.example.com", "10.0.0.1", "cc", bucket(0), time.Time{}, 1, 1)
	if err := s.PutWebAttackEvents(ctx, []moat.WebAttackEvent{open, other, later, b}); err != nil {
		t.Fatalf("PutWebAttackEvents: %v", err)
	}
	// The same key again ends the event and replaces its figures.
	ended := open
	ended.End, ended.Peak, ended.Blocked, ended.Watched = bucket(2), 20, 300, 7
	if err := s.PutWebAttackEvents(ctx, []moat.WebAttackEvent{ended}); err != nil {
		t.Fatalf("PutWebAttackEvents: %v", err)
	}
	check := func(f moat.WebAttackFilter, want ...moat.WebAttackEvent) {
		t.Helper()
		got, err := s.WebAttackEvents(ctx, f)
		if err != nil {
			t.Fatalf("WebAttackEvents(%+v): %v", f, err)
		}
		var g, w []string
		for _, e := range got {
			g = append(g, fmtWebEvent(e))
		}
		for _, e := range want {
			w = append(w, fmtWebEvent(e))
		}
		if !slices.Equal(g, w) {
			t.Errorf("WebAttackEvents(%+v) =\n\t%s\nwant\n\t%s", f, strings.Join(g, "\n\t"), strings.Join(w, "\n\t"))
		}
	}
	check(moat.WebAttackFilter{AccountID: acctA}, later, ended, other)
	check(moat.WebAttackFilter{AccountID: acctA, Domain: "www.example.com"}, ended, other)
	check(moat.WebAttackFilter{AccountID: acctA, From: bucket(2), To: bucket(3)}, later, ended)
	check(moat.WebAttackFilter{AccountID: acctB}, b)
}

func testForwardingConfigWebs(t *testing.T, s moat.Store) {
	a := inst("ddoscoo-cn-fwdweb01", acctA, mainl, "100.64.1.1", at(time.Hour))
	b := inst("ddoscoo-cn-fwdweb02", acctA, mainl, "100.64.1.2", at(time.Hour)) // nothing bound to it
	insert(t, s, a, b)
	cert := moat.Cert{AccountID: acctA, Region: mainl, Name: "fwd", CertPEM: "-----BEGIN CERTIFICATE-----\nAAA\n-----END CERTIFICATE-----\n",
		KeyPEM: "sealed:key", Common: "www.example.com", Issuer: "CA", Created: base, NotBefore: base, NotAfter: at(time.Hour)}
	unused := cert
	unused.Name = "unused"
	w := webRule(acctA, "www.example.com", a.ID)
	update(t, s, func(tx moat.Tx) error {
		if err := tx.InsertCert(&cert); err != nil {
			return err
		}
		if err := tx.InsertCert(&unused); err != nil {
			return err
		}
		w.CertID = cert.ID
		return tx.InsertWebRule(&w)
	})
	cfg := forwarding(t, s)
	if len(cfg.Instances) != 1 || cfg.Instances[0].ID != a.ID {
		t.Errorf("Instances = %q, want [%s] (the one a website is bound to)", ids(cfg.Instances), a.ID)
	}
	if len(cfg.Webs) != 1 || diffWebRule(cfg.Webs[0], w) != "" {
		t.Errorf("Webs = %+v, want [%+v]", cfg.Webs, w)
	}
	if len(cfg.Certs) != 1 || cfg.Certs[0].ID != cert.ID || cfg.Certs[0].KeyPEM != cert.KeyPEM || cfg.Certs[0].CertPEM != cert.CertPEM {
		t.Errorf("Certs = %+v, want only the website's certificate %d, its key as stored", cfg.Certs, cert.ID)
	}
	// A website bound to no live instance is left out, with its certificate.
	update(t, s, func(tx moat.Tx) error {
		w.InstanceIDs = []string{"ddoscoo-cn-gone0001"}
		return tx.UpdateWebRule(&w)
	})
	cfg = forwarding(t, s)
	if len(cfg.Instances)+len(cfg.Webs)+len(cfg.Certs) != 0 {
		t.Errorf("with the website bound to no live instance: %d instances, webs %+v, certs %+v; want none", len(cfg.Instances), cfg.Webs, cfg.Certs)
	}
}
