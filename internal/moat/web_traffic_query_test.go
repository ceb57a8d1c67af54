package moat_test

import (
	"testing"
	"time"

	"moat/internal/moat"
)

// webStatsEnv is two websites of the caller and one of another account
// (the same domain as the caller's first).
func webStatsEnv(t *testing.T) *env {
	t.Helper()
	e := newEnv(t, moat.Config{})
	mine := e.create(t, moat.RegionMainland, 30*24*time.Hour, 1)[0]
	e.webSite(t, "a.example.com", mine.ID)
	e.webSite(t, "b.example.com", mine.ID)
	month := 30 * 24 * time.Hour
	theirs, err := e.svc.CreateInstances(e.ctx, moat.NewInstances{AccountID: e.other, Region: moat.RegionMainland, Count: 1, ExpireIn: &month})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.CreateWebRule(e.ctx, e.caller(e.other), moat.RegionMainland, website("a.example.com", theirs[0].ID), "R-theirs"); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.CreateWebRule(e.ctx, e.caller(e.other), moat.RegionMainland, website("c.example.com", theirs[0].ID), "R-theirs2"); err != nil {
		t.Fatal(err)
	}
	return e
}

func webSample(account, domain string, minute int, node string, requests, attacks int64) moat.WebTrafficSample {
	return moat.WebTrafficSample{AccountID: account, Domain: domain, Bucket: t0.Add(time.Duration(minute) * time.Minute), Node: node,
		Requests: requests, AttackRequests: attacks}
}

// TestDomainQPS pins DescribeDomainQPSList's domain side: every process's
// samples of a website summed into the interval their bucket starts in,
// the busiest bucket's counts as peaks, zeros where nothing was counted,
// intervals not begun left out; without Domain every website of the
// caller, never another account's; another account's domain or an
// unknown one is DomainNotExist.
func TestDomainQPS(t *testing.T) {
	e := webStatsEnv(t)
	samples := []moat.WebTrafficSample{
		webSample(e.acct, "a.example.com", 0, "edge-1", 10, 4),
		webSample(e.acct, "a.example.com", 0, "edge-2", 5, 0),
		webSample(e.acct, "a.example.com", 1, "edge-1", 20, 1),
		webSample(e.acct, "b.example.com", 1, "edge-1", 7, 7),
		webSample(e.other, "a.example.com", 0, "edge-1", 1000, 1000),
		webSample(e.other, "c.example.com", 0, "edge-1", 1000, 1000),
	}
	if err := e.svc.RecordWebTraffic(e.ctx, samples); err != nil {
		t.Fatal(err)
	}
	e.real.Add(3*time.Minute + 30*time.Second)
	me := e.caller(e.acct)
	q := moat.WebStatsQuery{Domain: "a.example.com", Start: t0, End: t0.Add(10 * time.Minute), Interval: 2 * time.Minute}
	pts, err := e.svc.DomainQPS(e.ctx, me, moat.RegionMainland, q)
	if err != nil {
		t.Fatal(err)
	}
	want := []moat.WebQPSPoint{
		{Index: 0, Time: t0, Seconds: 120, Requests: 35, AttackRequests: 5, PeakRequests: 20, PeakAttacks: 4, PeakNormal: 19},
		{Index: 1, Time: t0.Add(2 * time.Minute), Seconds: 120},
	}
	wantQPS(t, "a.example.com", pts, want)

	q.Domain = ""
	pts, err = e.svc.DomainQPS(e.ctx, me, moat.RegionMainland, q)
	if err != nil {
		t.Fatal(err)
	}
	want[0] = moat.WebQPSPoint{Index: 0, Time: t0, Seconds: 120, Requests: 42, AttackRequests: 12, PeakRequests: 27, PeakAttacks: 8, PeakNormal: 19}
	wantQPS(t, "every website", pts, want)

	for _, d := range []string{"c.example.com", "never.example.com"} {
		q.Domain = d
		_, err := e.svc.DomainQPS(e.ctx, me, moat.RegionMainland, q)
		if moat.AsError(err) == nil || moat.AsError(err).Code != moat.CodeDomainNotExist {
			t.Errorf("%s: %v, want DomainNotExist", d, err)
		}
	}
	q.Domain = "a.example.com"
	if _, err := e.svc.DomainQPS(e.ctx, me, moat.RegionOverseas, q); moat.AsError(err) == nil || moat.AsError(err).Code != moat.CodeDomainNotExist {
		t.Errorf("another region: %v, want DomainNotExist", err)
	}
	// The layer-4 rules of span and interval.
	for _, bad := range []moat.WebStatsQuery{
		{Start: t0.Add(time.Second), End: t0.Add(time.Hour), Interval: time.Minute},
		{Start: t0, End: t0, Interval: time.Minute},
		{Start: t0, End: t0.Add(time.Hour), Interval: 30 * time.Second},
		{Start: t0, End: t0.Add(time.Hour), Interval: 2 * time.Hour},
	} {
		if _, err := e.svc.DomainQPS(e.ctx, me, moat.RegionMainland, bad); moat.AsError(err) == nil || moat.AsError(err).Code != moat.CodeInvalidParameter {
			t.Errorf("%+v: %v, want InvalidParameter", bad, err)
		}
	}
}

func wantQPS(t *testing.T, label string, got, want []moat.WebQPSPoint) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: points %+v, want %+v", label, got, want)
	}
	for i := range want {
		g, w := got[i], want[i]
		if !g.Time.Equal(w.Time) || g.Index != w.Index || g.Seconds != w.Seconds || g.Requests != w.Requests || g.AttackRequests != w.AttackRequests ||
			g.PeakRequests != w.PeakRequests || g.PeakAttacks != w.PeakAttacks || g.PeakNormal != w.PeakNormal {
			t.Errorf("%s: point %d: %+v, want %+v", label, i, g, w)
		}
	}
}

// TestDomainStatusCodes pins DescribeDomainStatusCodeList's domain side:
// classes and codes summed per interval; without End the span ends with
// the bucket server time is in.
func TestDomainStatusCodes(t *testing.T) {
	e := webStatsEnv(t)
	s1 := webSample(e.acct, "a.example.com", 0, "edge-1", 3, 0)
	s1.Status2xx, s1.Status4xx, s1.Codes[0], s1.Codes[3] = 2, 1, 2, 1 // 200 twice, 405 once
	s2 := webSample(e.acct, "a.example.com", 2, "edge-2", 1, 0)
	s2.Status5xx, s2.Codes[7] = 1, 1 // 502
	s3 := webSample(e.other, "a.example.com", 0, "edge-1", 9, 0)
	s3.Status2xx, s3.Codes[0] = 9, 9
	if err := e.svc.RecordWebTraffic(e.ctx, []moat.WebTrafficSample{s1, s2, s3}); err != nil {
		t.Fatal(err)
	}
	e.real.Add(2*time.Minute + 10*time.Second)
	pts, err := e.svc.DomainStatusCodes(e.ctx, e.caller(e.acct), moat.RegionMainland, moat.WebStatsQuery{Domain: "a.example.com", Start: t0, Interval: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if len(pts) != 3 {
		t.Fatalf("points %+v, want 3 (the span ends with the current minute)", pts)
	}
	if p := pts[0]; p.Status2xx != 2 || p.Status4xx != 1 || p.Code(200) != 2 || p.Code(405) != 1 || p.Code(502) != 0 {
		t.Errorf("minute 0: %+v", p)
	}
	if p := pts[1]; p.Status2xx+p.Status3xx+p.Status4xx+p.Status5xx != 0 {
		t.Errorf("minute 1: %+v, want zeros", p)
	}
	if p := pts[2]; p.Status5xx != 1 || p.Code(502) != 1 || p.Code(410) != 0 || !p.Time.Equal(t0.Add(2*time.Minute)) {
		t.Errorf("minute 2: %+v", p)
	}
}

// TestDomainTopAttacks pins DescribeDomainTopAttackList's domain side:
// the caller's attacked websites only, by their busiest bucket's attack
// requests, then requests, then name.
func TestDomainTopAttacks(t *testing.T) {
	e := webStatsEnv(t)
	e.webSite(t, "quiet.example.com", e.create(t, moat.RegionMainland, 30*24*time.Hour, 1)[0].ID)
	samples := []moat.WebTrafficSample{
		webSample(e.acct, "a.example.com", 0, "edge-1", 10, 3),
		webSample(e.acct, "a.example.com", 0, "edge-2", 10, 3),
		webSample(e.acct, "a.example.com", 1, "edge-1", 50, 5),
		webSample(e.acct, "b.example.com", 1, "edge-1", 90, 90),
		webSample(e.acct, "quiet.example.com", 1, "edge-1", 500, 0),
		webSample(e.other, "c.example.com", 0, "edge-1", 1000, 1000),
	}
	if err := e.svc.RecordWebTraffic(e.ctx, samples); err != nil {
		t.Fatal(err)
	}
	e.real.Add(time.Hour)
	tops, err := e.svc.DomainTopAttacks(e.ctx, e.caller(e.acct), moat.RegionMainland, t0, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	want := []moat.WebAttackTop{{Domain: "b.example.com", PeakAttacks: 90, PeakRequests: 90}, {Domain: "a.example.com", PeakAttacks: 6, PeakRequests: 50}}
	if len(tops) != len(want) || tops[0] != want[0] || tops[1] != want[1] {
		t.Errorf("tops %+v, want %+v", tops, want)
	}
}

// TestDomainAttackEvents pins DescribeDomainAttackEvents' domain side: a
// website's events that overlap in time are one attack (the highest peak,
// an open one ending at server time), the latest first, paged, another
// account's never shown.
func TestDomainAttackEvents(t *testing.T) {
	e := webStatsEnv(t)
	at := func(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }
	ev := func(account, domain, src, reason string, from, to int, peak int64) moat.WebAttackEvent {
		x := moat.WebAttackEvent{AccountID: account, Domain: domain, Node: "edge-1", Source: src, Reason: reason, Start: at(from), Peak: peak, Blocked: 1}
		if to >= 0 {
			x.End = at(to)
		}
		return x
	}
	evs := []moat.WebAttackEvent{
		ev(e.acct, "a.example.com", "192.0.2.1", "cc_rule:login", 1, 5, 10),
		ev(e.acct, "a.example.com", "192.0.2.2", "blacklist", 3, 8, 30),
		ev(e.acct, "a.example.com", "192.0.2.1", "precise:admin", 20, 21, 2),
		ev(e.acct, "b.example.com", "192.0.2.9", "blacklist", 30, -1, 7),
		ev(e.other, "a.example.com", "192.0.2.1", "blacklist", 2, 40, 999),
	}
	if err := e.svc.RecordWebAttacks(e.ctx, evs); err != nil {
		t.Fatal(err)
	}
	e.real.Add(50 * time.Minute)
	now := e.svc.TrafficNow()
	me := e.caller(e.acct)
	q := moat.WebEventQuery{Start: t0, End: t0.Add(time.Hour), PageNumber: 1, PageSize: 10}
	got, total, err := e.svc.DomainAttackEvents(e.ctx, me, moat.RegionMainland, q)
	if err != nil {
		t.Fatal(err)
	}
	want := []moat.WebAttackView{
		{Domain: "b.example.com", Start: at(30), End: now, PeakQPS: 7, Ongoing: true},
		{Domain: "a.example.com", Start: at(20), End: at(21), PeakQPS: 2},
		{Domain: "a.example.com", Start: at(1), End: at(8), PeakQPS: 30},
	}
	if total != 3 || len(got) != 3 {
		t.Fatalf("%d events %+v, want %+v", total, got, want)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Domain != w.Domain || !g.Start.Equal(w.Start) || !g.End.Equal(w.End) || g.PeakQPS != w.PeakQPS || g.Ongoing != w.Ongoing {
			t.Errorf("event %d: %+v, want %+v", i, g, w)
		}
	}
	q.Domain, q.PageNumber, q.PageSize = "a.example.com", 2, 1
	got, total, err = e.svc.DomainAttackEvents(e.ctx, me, moat.RegionMainland, q)
	if err != nil || total != 2 || len(got) != 1 || !got[0].Start.Equal(at(1)) {
		t.Errorf("a.example.com page 2 of 1: %+v (%d) %v", got, total, err)
	}
	q.PageNumber = 3
	if got, total, err = e.svc.DomainAttackEvents(e.ctx, me, moat.RegionMainland, q); err != nil || total != 2 || len(got) != 0 {
		t.Errorf("past the last page: %+v (%d) %v", got, total, err)
	}
	q.Domain = "c.example.com"
	if _, _, err := e.svc.DomainAttackEvents(e.ctx, me, moat.RegionMainland, q); moat.AsError(err) == nil || moat.AsError(err).Code != moat.CodeDomainNotExist {
		t.Errorf("another account's domain: %v, want DomainNotExist", err)
	}
}
