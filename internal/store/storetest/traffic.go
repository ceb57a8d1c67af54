package storetest

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"moat/internal/moat"
)

// ---- The data plane: traffic samples, mitigation events, forwarding ----

// b0 is the suite's first traffic bucket.
var b0 = base.Truncate(moat.StatsBucket)

func bucket(n int) time.Time { return b0.Add(time.Duration(n) * moat.StatsBucket) }

func sample(id, protocol string, port, bkt int, node string, v int64) moat.TrafficSample {
	return moat.TrafficSample{
		PortKey: moat.PortKey{InstanceID: id, Protocol: protocol, FrontendPort: port},
		Bucket:  bucket(bkt).In(east), Node: node,
		InBytes: 1000 * v, OutBytes: 2000 * v, InPackets: 10 * v, OutPackets: 20 * v, NewConns: v,
		ActiveConns: 3 * v, InactiveConns: 4 * v, MaxConns: 5 * v, Dropped: 6 * v,
	}
}

// fmtSample renders a sample with its bucket in milliseconds, so samples
// compare as strings; a bucket not in UTC is marked.
func fmtSample(x moat.TrafficSample) string {
	zone := ""
	if x.Bucket.Location() != time.UTC {
		zone = " (not UTC)"
	}
	return fmt.Sprintf("%s/%s/%d@%d%s/%s in=%d/%d out=%d/%d new=%d act=%d inact=%d max=%d drop=%d", x.InstanceID, x.Protocol, x.FrontendPort,
		x.Bucket.UnixMilli(), zone, x.Node, x.InBytes, x.InPackets, x.OutBytes, x.OutPackets, x.NewConns, x.ActiveConns, x.InactiveConns,
		x.MaxConns, x.Dropped)
}

func fmtSamples(xs []moat.TrafficSample) []string {
	out := []string{}
	for _, x := range xs {
		out = append(out, fmtSample(x))
	}
	return out
}

func addTraffic(t *testing.T, s moat.Store, xs ...moat.TrafficSample) {
	t.Helper()
	if err := s.AddTraffic(t.Context(), xs); err != nil {
		t.Fatalf("AddTraffic: %v", err)
	}
}

func traffic(t *testing.T, s moat.Store, f moat.TrafficFilter) []moat.TrafficSample {
	t.Helper()
	got, err := s.Traffic(t.Context(), f)
	if err != nil {
		t.Fatalf("Traffic(%+v): %v", f, err)
	}
	return got
}

func wantTraffic(t *testing.T, s moat.Store, f moat.TrafficFilter, want ...moat.TrafficSample) {
	t.Helper()
	got, w := fmtSamples(traffic(t, s, f)), fmtSamples(want)
	if !slices.Equal(got, w) {
		t.Errorf("Traffic(%+v) =\n\t%s\nwant\n\t%s", f, strings.Join(got, "\n\t"), strings.Join(w, "\n\t"))
	}
}

func testTrafficAccumulates(t *testing.T, s moat.Store) {
	a := "ddoscoo-cn-traf0001"
	insert(t, s, inst(a, acctA, mainl, "100.64.0.1", at(time.Hour)))
	f := moat.TrafficFilter{InstanceIDs: []string{a}}
	wantTraffic(t, s, f)

	addTraffic(t, s, sample(a, "tcp", 80, 0, "edge-1", 1), sample(a, "tcp", 80, 0, "edge-2", 7))
	// The same row again: counters add, gauges replace, the peak stays.
	second := sample(a, "tcp", 80, 0, "edge-1", 2)
	second.MaxConns = 1
	addTraffic(t, s, second)
	want := moat.TrafficSample{PortKey: second.PortKey, Bucket: bucket(0), Node: "edge-1",
		InBytes: 3000, OutBytes: 6000, InPackets: 30, OutPackets: 60, NewConns: 3, ActiveConns: 6, InactiveConns: 8, MaxConns: 5, Dropped: 18}
	other := sample(a, "tcp", 80, 0, "edge-2", 7)
	other.Bucket = bucket(0)
	wantTraffic(t, s, f, want, other)

	// A higher peak is kept; gauges may fall to zero; the same row twice in
	// one call adds twice.
	third := sample(a, "tcp", 80, 0, "edge-1", 1)
	third.MaxConns, third.ActiveConns, third.InactiveConns = 50, 0, 0
	addTraffic(t, s, third, third)
	want.InBytes, want.OutBytes, want.InPackets, want.OutPackets, want.NewConns, want.Dropped = 5000, 10000, 50, 100, 5, 30
	want.ActiveConns, want.InactiveConns, want.MaxConns = 0, 0, 50
	wantTraffic(t, s, f, want, other)

	// Another bucket of the same rule and node is a row of its own.
	next := sample(a, "tcp", 80, 1, "edge-1", 4)
	addTraffic(t, s, next)
	next.Bucket = bucket(1)
	wantTraffic(t, s, f, want, other, next)

	// An empty call is fine.
	if err := s.AddTraffic(t.Context(), nil); err != nil {
		t.Errorf("AddTraffic(nil): %v", err)
	}
}

func testTrafficFilters(t *testing.T, s moat.Store) {
	a, b, c := "ddoscoo-cn-trfilt01", "ddoscoo-cn-trfilt02", "ddoscoo-cn-trfilt03"
	insert(t, s, inst(a, acctA, mainl, "100.64.0.1", at(time.Hour)), inst(b, acctA, mainl, "100.64.0.2", at(time.Hour)),
		inst(c, acctB, mainl, "100.64.0.3", at(time.Hour)))
	var all []moat.TrafficSample
	for bkt := range 3 {
		for _, x := range []moat.TrafficSample{
			sample(c, "tcp", 80, bkt, "n", int64(bkt+1)),
			sample(a, "udp", 80, bkt, "n", int64(bkt+2)),
			sample(a, "tcp", 443, bkt, "n", int64(bkt+3)),
			sample(a, "tcp", 80, bkt, "n", int64(bkt+4)),
			sample(b, "tcp", 80, bkt, "n", int64(bkt+5)),
		} {
			all = append(all, x)
		}
	}
	// Written in several calls, in no particular order.
	addTraffic(t, s, all[8:]...)
	addTraffic(t, s, all[:8]...)
	for i := range all {
		all[i].Bucket = all[i].Bucket.UTC()
	}
	slices.SortFunc(all, func(x, y moat.TrafficSample) int {
		return cmp.Or(x.Bucket.Compare(y.Bucket), strings.Compare(x.InstanceID, y.InstanceID), strings.Compare(x.Protocol, y.Protocol),
			cmp.Compare(x.FrontendPort, y.FrontendPort))
	})
	match := func(keep func(x moat.TrafficSample) bool) []moat.TrafficSample {
		var out []moat.TrafficSample
		for _, x := range all {
			if keep(x) {
				out = append(out, x)
			}
		}
		return out
	}
	of := func(ids ...string) func(x moat.TrafficSample) bool {
		return func(x moat.TrafficSample) bool { return slices.Contains(ids, x.InstanceID) }
	}
	for _, c := range []struct {
		f    moat.TrafficFilter
		keep func(x moat.TrafficSample) bool
	}{
		{moat.TrafficFilter{InstanceIDs: []string{a}}, of(a)},
		{moat.TrafficFilter{InstanceIDs: []string{a, b}}, of(a, b)},
		{moat.TrafficFilter{InstanceIDs: []string{a, b}, Protocol: "tcp"}, func(x moat.TrafficSample) bool { return of(a, b)(x) && x.Protocol == "tcp" }},
		{moat.TrafficFilter{InstanceIDs: []string{a}, FrontendPort: 80}, func(x moat.TrafficSample) bool { return of(a)(x) && x.FrontendPort == 80 }},
		{moat.TrafficFilter{InstanceIDs: []string{a}, Protocol: "tcp", FrontendPort: 80}, func(x moat.TrafficSample) bool {
			return of(a)(x) && x.Protocol == "tcp" && x.FrontendPort == 80
		}},
		// From is inclusive, To exclusive.
		{moat.TrafficFilter{InstanceIDs: []string{a, b, c}, From: bucket(1), To: bucket(2)}, func(x moat.TrafficSample) bool { return x.Bucket.Equal(bucket(1)) }},
		{moat.TrafficFilter{InstanceIDs: []string{a, b, c}, From: bucket(1).Add(time.Millisecond), To: bucket(3)}, func(x moat.TrafficSample) bool {
			return x.Bucket.Equal(bucket(2))
		}},
		{moat.TrafficFilter{InstanceIDs: []string{c}, From: bucket(0).In(east), To: bucket(2).Add(time.Millisecond).In(east)}, of(c)},
		{moat.TrafficFilter{InstanceIDs: []string{b}, From: bucket(3)}, of()},
		{moat.TrafficFilter{InstanceIDs: []string{"ddoscoo-cn-none"}}, of()},
		{moat.TrafficFilter{InstanceIDs: []string{}}, of()},
	} {
		wantTraffic(t, s, c.f, match(c.keep)...)
	}
}

// ---- Mitigation events ----

func mitigation(id string, port int, node, source, limit string, start time.Time, end time.Time, peak, dropped int64) moat.MitigationEvent {
	return moat.MitigationEvent{PortKey: moat.PortKey{InstanceID: id, Protocol: "tcp", FrontendPort: port}, Node: node, Source: source,
		Limit: limit, Start: start, End: end, Peak: peak, Dropped: dropped}
}

func fmtEvent(e moat.MitigationEvent) string {
	zone := ""
	if e.Start.Location() != time.UTC || !e.End.IsZero() && e.End.Location() != time.UTC {
		zone = " (not UTC)"
	}
	end := int64(0)
	if !e.End.IsZero() {
		end = e.End.UnixMilli()
	}
	return fmt.Sprintf("%s/%s/%d %s %s %s [%d, %d]%s peak=%d drop=%d", e.InstanceID, e.Protocol, e.FrontendPort, e.Node, e.Source, e.Limit,
		e.Start.UnixMilli(), end, zone, e.Peak, e.Dropped)
}

func putEvents(t *testing.T, s moat.Store, evs ...moat.MitigationEvent) {
	t.Helper()
	if err := s.PutMitigationEvents(t.Context(), evs); err != nil {
		t.Fatalf("PutMitigationEvents: %v", err)
	}
}

func wantEvents(t *testing.T, s moat.Store, f moat.MitigationFilter, total int64, want ...moat.MitigationEvent) {
	t.Helper()
	got, n, err := s.MitigationEvents(t.Context(), f)
	if err != nil {
		t.Fatalf("MitigationEvents(%+v): %v", f, err)
	}
	g, w := []string{}, []string{}
	for _, e := range got {
		g = append(g, fmtEvent(e))
	}
	for _, e := range want {
		w = append(w, fmtEvent(e))
	}
	if n != total || !slices.Equal(g, w) {
		t.Errorf("MitigationEvents(%+v) = %d,\n\t%s\nwant %d,\n\t%s", f, n, strings.Join(g, "\n\t"), total, strings.Join(w, "\n\t"))
	}
}

func testMitigationPut(t *testing.T, s moat.Store) {
	a := "ddoscoo-cn-mitig001"
	insert(t, s, inst(a, acctA, mainl, "100.64.0.1", at(time.Hour)))
	f := moat.MitigationFilter{InstanceIDs: []string{a}}
	wantEvents(t, s, f, 0)

	open := mitigation(a, 80, "edge-1", "127.0.0.2", moat.LimitSlimitCps, at(-time.Minute).In(east), time.Time{}, 150, 40)
	putEvents(t, s, open)
	open.Start = open.Start.UTC()
	wantEvents(t, s, f, 1, open)

	// The same key again: End, Peak and Dropped are replaced.
	ended := open
	ended.End, ended.Peak, ended.Dropped = at(time.Second).In(east), 90, 75
	// Another start, another node, another limit or source: other events.
	later := open
	later.Start = at(time.Minute)
	node := open
	node.Node = "edge-2"
	limit := open
	limit.Limit = moat.LimitSlimitMaxconn
	src := open
	src.Source = "127.0.0.3"
	putEvents(t, s, ended, later, node, limit, src)
	ended.End = ended.End.UTC()
	got, n, err := s.MitigationEvents(t.Context(), f)
	if err != nil || n != 5 || len(got) != 5 {
		t.Fatalf("MitigationEvents = %d events, %d, %v; want 5, 5", len(got), n, err)
	}
	if g, w := fmtEvent(got[0]), fmtEvent(later); g != w {
		t.Errorf("latest event = %s, want %s", g, w)
	}
	var have []string
	for _, e := range got[1:] {
		have = append(have, fmtEvent(e))
	}
	for _, e := range []moat.MitigationEvent{ended, node, limit, src} {
		if !slices.Contains(have, fmtEvent(e)) {
			t.Errorf("event %s missing from %q", fmtEvent(e), have)
		}
	}

	// The same key twice in one call: the last one stands.
	again, last := ended, ended
	again.Peak, last.Peak = 1, 2
	putEvents(t, s, again, last)
	if got, _, err := s.MitigationEvents(t.Context(), moat.MitigationFilter{InstanceIDs: []string{a}, To: open.Start.Add(time.Millisecond)}); err != nil {
		t.Fatal(err)
	} else {
		peaks := map[string]int64{}
		for _, e := range got {
			peaks[e.Node+" "+e.Source+" "+e.Limit] = e.Peak
		}
		if peaks["edge-1 127.0.0.2 "+moat.LimitSlimitCps] != 2 {
			t.Errorf("peak after two puts of one key in one call = %v, want 2", peaks)
		}
	}
	if err := s.PutMitigationEvents(t.Context(), nil); err != nil {
		t.Errorf("PutMitigationEvents(nil): %v", err)
	}
}

func testMitigationList(t *testing.T, s moat.Store) {
	a, b, c := "ddoscoo-cn-miglist1", "ddoscoo-cn-miglist2", "ddoscoo-cn-miglist3"
	insert(t, s, inst(a, acctA, mainl, "100.64.0.1", at(time.Hour)), inst(b, acctA, mainl, "100.64.0.2", at(time.Hour)),
		inst(c, acctA, mainl, "100.64.0.3", at(time.Hour)))
	m := func(id string, start, end time.Duration) moat.MitigationEvent {
		e := mitigation(id, 80, "n", "127.0.0.9", moat.LimitBlacklist, at(start), time.Time{}, 1, 1)
		if end != 0 {
			e.End = at(end)
		}
		return e
	}
	// Starts all different, so "latest Start first" is one order.
	e1 := m(a, -10*time.Minute, -9*time.Minute) // ended long before
	e2 := m(b, -5*time.Minute, -time.Minute)    // ends exactly at From below
	e3 := m(a, -4*time.Minute, 0)               // still open
	e4 := m(b, -3*time.Minute, 2*time.Minute)   // spans [From, To)
	e5 := m(a, time.Minute, 90*time.Second)     // within
	e6 := m(b, 2*time.Minute, 3*time.Minute)    // starts exactly at To
	e7 := m(c, 0, time.Second)                  // another instance
	putEvents(t, s, e5, e1, e7, e3, e6, e2, e4)
	ab := []string{a, b}
	wantEvents(t, s, moat.MitigationFilter{InstanceIDs: ab}, 6, e6, e5, e4, e3, e2, e1)
	wantEvents(t, s, moat.MitigationFilter{InstanceIDs: ab, Limit: 2}, 6, e6, e5)
	wantEvents(t, s, moat.MitigationFilter{InstanceIDs: ab, Offset: 2, Limit: 3}, 6, e4, e3, e2)
	wantEvents(t, s, moat.MitigationFilter{InstanceIDs: ab, Offset: 5, Limit: 3}, 6, e1)
	wantEvents(t, s, moat.MitigationFilter{InstanceIDs: ab, Offset: 6, Limit: 3}, 6)
	wantEvents(t, s, moat.MitigationFilter{InstanceIDs: []string{a}}, 3, e5, e3, e1)
	wantEvents(t, s, moat.MitigationFilter{InstanceIDs: []string{a, b, c}}, 7, e6, e5, e7, e4, e3, e2, e1)
	// Overlap with [From, To): an event that ended before From or starts at
	// To or later is out; an open one lasts.
	from, to := at(-time.Minute), at(2*time.Minute)
	wantEvents(t, s, moat.MitigationFilter{InstanceIDs: ab, From: from, To: to}, 4, e5, e4, e3, e2)
	wantEvents(t, s, moat.MitigationFilter{InstanceIDs: ab, From: from.Add(time.Millisecond).In(east), To: to.In(east)}, 3, e5, e4, e3)
	wantEvents(t, s, moat.MitigationFilter{InstanceIDs: ab, From: from, To: to, Offset: 1, Limit: 2}, 4, e4, e3)
	wantEvents(t, s, moat.MitigationFilter{InstanceIDs: ab, From: at(time.Hour), To: at(2 * time.Hour)}, 1, e3)
	wantEvents(t, s, moat.MitigationFilter{InstanceIDs: []string{}}, 0)
}

// ---- Purge ----

func testPurgeTraffic(t *testing.T, s moat.Store) {
	a := "ddoscoo-cn-purge001"
	insert(t, s, inst(a, acctA, mainl, "100.64.0.1", at(time.Hour)))
	addTraffic(t, s, sample(a, "tcp", 80, 0, "n", 1), sample(a, "tcp", 80, 1, "n", 1), sample(a, "tcp", 80, 2, "n", 1), sample(a, "udp", 53, 3, "n", 1))
	oldEnded := mitigation(a, 80, "n", "127.0.0.2", moat.LimitNodata, bucket(0), bucket(0).Add(10*time.Second), 1, 1)
	oldOpen := mitigation(a, 80, "n", "127.0.0.3", moat.LimitNodata, bucket(0), time.Time{}, 1, 1)
	endsLater := mitigation(a, 80, "n", "127.0.0.4", moat.LimitNodata, bucket(1), bucket(2).Add(5*time.Second), 1, 1)
	endsAt := mitigation(a, 80, "n", "127.0.0.5", moat.LimitNodata, bucket(1), bucket(2), 1, 1)
	putEvents(t, s, oldEnded, oldOpen, endsLater, endsAt)

	// Older than bucket 2: two samples and one event; at most max a call.
	purge := func(max, want int) {
		t.Helper()
		n, err := s.PurgeTraffic(t.Context(), bucket(2), max)
		if err != nil || n != want {
			t.Fatalf("PurgeTraffic(bucket 2, %d) = %d, %v; want %d", max, n, err, want)
		}
	}
	purge(1, 1)
	purge(1, 1)
	purge(5, 1)
	purge(5, 0)
	purge(0, 0)
	for i := range 2 {
		addTraffic(t, s, sample(a, "tcp", 80, i, "n", 1)) // again, for the unbounded purge
	}
	purge(0, 2)

	left := []moat.TrafficSample{sample(a, "tcp", 80, 2, "n", 1), sample(a, "udp", 53, 3, "n", 1)}
	for i := range left {
		left[i].Bucket = left[i].Bucket.UTC()
	}
	wantTraffic(t, s, moat.TrafficFilter{InstanceIDs: []string{a}}, left...)
	got, n, err := s.MitigationEvents(t.Context(), moat.MitigationFilter{InstanceIDs: []string{a}})
	if err != nil || n != 3 {
		t.Fatalf("MitigationEvents after purge = %d, %v; want 3 (open, ending at and after the cut)", n, err)
	}
	var sources []string
	for _, e := range got {
		sources = append(sources, e.Source)
	}
	slices.Sort(sources)
	if want := []string{"127.0.0.3", "127.0.0.4", "127.0.0.5"}; !slices.Equal(sources, want) {
		t.Errorf("events left after purge from %q, want %q", sources, want)
	}
}

// ---- LastEventSeq and ForwardingConfig ----

func lastSeq(t *testing.T, s moat.Store) int64 {
	t.Helper()
	n, err := s.LastEventSeq(t.Context())
	if err != nil {
		t.Fatalf("LastEventSeq: %v", err)
	}
	return n
}

func ruleEvent(id string, typ moat.EventType, subject string) moat.Event {
	return moat.Event{Time: base, RecordedAt: base, InstanceID: id, AccountID: acctA, Region: mainl, Type: typ, Subject: subject}
}

func testLastEventSeq(t *testing.T, s moat.Store) {
	if n := lastSeq(t, s); n != 0 {
		t.Fatalf("LastEventSeq of an empty store = %d, want 0", n)
	}
	a := inst("ddoscoo-cn-lastseq1", acctA, mainl, "100.64.0.1", at(time.Hour))
	insert(t, s, a)
	if n := lastSeq(t, s); n != 0 {
		t.Errorf("LastEventSeq after a write with no event = %d, want 0", n)
	}
	e1, e2, e3 := ruleEvent(a.ID, moat.EventRuleCreated, "tcp:80"), ruleEvent(a.ID, moat.EventRuleModified, "tcp:80"), ruleEvent(a.ID, moat.EventListChanged, "")
	update(t, s, func(tx moat.Tx) error { return tx.AppendEvent(&e1) })
	if n := lastSeq(t, s); n != e1.Seq {
		t.Errorf("LastEventSeq = %d, want the event's %d", n, e1.Seq)
	}
	update(t, s, func(tx moat.Tx) error {
		if err := tx.AppendEvent(&e2); err != nil {
			return err
		}
		return tx.AppendEvent(&e3)
	})
	if n := lastSeq(t, s); n != e3.Seq || e3.Seq <= e1.Seq {
		t.Errorf("LastEventSeq = %d, want the last event's %d (after %d)", n, e3.Seq, e1.Seq)
	}
	// The data plane's own records leave it.
	addTraffic(t, s, sample(a.ID, "tcp", 80, 0, "n", 1))
	putEvents(t, s, mitigation(a.ID, 80, "n", "127.0.0.2", moat.LimitBlacklist, base, time.Time{}, 1, 1))
	if n := lastSeq(t, s); n != e3.Seq {
		t.Errorf("LastEventSeq after traffic records = %d, want %d", n, e3.Seq)
	}
	// A failed Update leaves it.
	e4 := ruleEvent(a.ID, moat.EventRuleDeleted, "tcp:80")
	if err := s.Update(t.Context(), func(tx moat.Tx) error {
		if err := tx.AppendEvent(&e4); err != nil {
			return err
		}
		return fmt.Errorf("no")
	}); err == nil {
		t.Fatal("a failing Update succeeded")
	}
	if n := lastSeq(t, s); n != e3.Seq {
		t.Errorf("LastEventSeq after a failed Update = %d, want %d", n, e3.Seq)
	}
}

func forwarding(t *testing.T, s moat.Store) moat.ForwardingConfig {
	t.Helper()
	cfg, err := s.ForwardingConfig(t.Context())
	if err != nil {
		t.Fatalf("ForwardingConfig: %v", err)
	}
	return cfg
}

func testForwardingConfig(t *testing.T, s moat.Store) {
	cfg := forwarding(t, s)
	if cfg.Seq != 0 || len(cfg.Instances)+len(cfg.Rules)+len(cfg.Entries)+len(cfg.UDPReflect) != 0 {
		t.Fatalf("ForwardingConfig of an empty store = %+v, want nothing", cfg)
	}
	a := inst("ddoscoo-cn-fwd00001", acctA, mainl, "100.64.0.1", at(time.Hour))
	b := inst("ddoscoo-cn-fwd00002", acctA, mainl, "100.64.0.2", at(-time.Hour)) // no rules
	c := inst("ddoscoo-cn-fwd00003", acctB, overs, "100.64.0.3", at(-8*24*time.Hour))
	c.Phase = moat.PhaseStopped
	insert(t, s, a, b, c)
	ra1, ra2, rc := portRule(a.ID, "tcp", 80), portRule(a.ID, "udp", 53), portRule(c.ID, "tcp", 8080)
	rc.Config = moat.RuleConfig{}
	entry := func(id string, l moat.SourceListKind, ip string, exp time.Duration) moat.SourceEntry {
		e := moat.SourceEntry{InstanceID: id, List: l, IP: ip, Type: moat.SourceManual, Created: at(-time.Hour)}
		if exp != 0 {
			e.Expires = at(exp)
		}
		return e
	}
	entries := []moat.SourceEntry{
		entry(a.ID, moat.Blacklist, "10.0.0.1", 0),
		entry(a.ID, moat.Blacklist, "10.0.0.2", -time.Minute), // expired: may be given
		entry(a.ID, moat.Whitelist, "10.0.0.3", 0),
		entry(b.ID, moat.Blacklist, "10.0.0.4", 0), // b has no rules
	}
	ev := ruleEvent(a.ID, moat.EventRuleCreated, "tcp:80")
	update(t, s, func(tx moat.Tx) error {
		for _, r := range []*moat.PortRule{&ra1, &ra2, &rc} {
			if err := tx.InsertPortRule(r); err != nil {
				return err
			}
		}
		if err := tx.PutSourceEntries(entries); err != nil {
			return err
		}
		if err := tx.SetUDPReflect(a.ID, []int{19, 123}); err != nil {
			return err
		}
		if err := tx.SetUDPReflect(b.ID, []int{53}); err != nil {
			return err
		}
		return tx.AppendEvent(&ev)
	})

	cfg = forwarding(t, s)
	if cfg.Seq != ev.Seq {
		t.Errorf("Seq = %d, want the last event's %d", cfg.Seq, ev.Seq)
	}
	slices.SortFunc(cfg.Instances, func(x, y moat.Instance) int { return strings.Compare(x.ID, y.ID) })
	if len(cfg.Instances) != 2 {
		t.Fatalf("Instances = %q, want %s and %s (those with port rules)", ids(cfg.Instances), a.ID, c.ID)
	}
	for i, want := range []moat.Instance{a, c} {
		if d := diffInstance(cfg.Instances[i], want); d != "" {
			t.Errorf("instance %s: %s", want.ID, d)
		}
	}
	slices.SortFunc(cfg.Rules, func(x, y moat.PortRule) int {
		return cmp.Or(strings.Compare(x.InstanceID, y.InstanceID), strings.Compare(x.Protocol, y.Protocol), cmp.Compare(x.FrontendPort, y.FrontendPort))
	})
	if len(cfg.Rules) != 3 {
		t.Fatalf("Rules = %+v, want 3", keysOf(cfg.Rules))
	}
	for i, want := range []moat.PortRule{ra1, ra2, rc} {
		if d := diffPortRule(cfg.Rules[i], want); d != "" {
			t.Errorf("rule %v (with its settings and health check): %s", want.PortKey, d)
		}
	}
	var got []string
	for _, e := range cfg.Entries {
		exp := int64(0)
		if !e.Expires.IsZero() {
			exp = e.Expires.UnixMilli()
		}
		got = append(got, fmt.Sprintf("%s %s %s %s %d %d", e.InstanceID, e.List, e.IP, e.Type, exp, e.Created.UnixMilli()))
	}
	slices.Sort(got)
	var want []string
	for _, e := range entries[:3] {
		exp := int64(0)
		if !e.Expires.IsZero() {
			exp = e.Expires.UnixMilli()
		}
		want = append(want, fmt.Sprintf("%s %s %s %s %d %d", e.InstanceID, e.List, e.IP, e.Type, exp, e.Created.UnixMilli()))
	}
	// 10.0.0.2 expired: a store may leave it out.
	unexpired := slices.DeleteFunc(slices.Clone(want), func(e string) bool { return strings.Contains(e, " 10.0.0.2 ") })
	if !slices.Equal(got, want) && !slices.Equal(got, unexpired) {
		t.Errorf("Entries =\n\t%s\nwant\n\t%s", strings.Join(got, "\n\t"), strings.Join(want, "\n\t"))
	}
	if len(cfg.UDPReflect) != 1 || !slices.Equal(cfg.UDPReflect[a.ID], []int{19, 123}) {
		t.Errorf("UDPReflect = %v, want only %s: [19 123]", cfg.UDPReflect, a.ID)
	}

	// Deleting c's only rule drops c, and moves Seq.
	ev2 := ruleEvent(c.ID, moat.EventRuleDeleted, "tcp:8080")
	update(t, s, func(tx moat.Tx) error {
		if err := tx.DeletePortRule(rc.PortKey); err != nil {
			return err
		}
		return tx.AppendEvent(&ev2)
	})
	cfg = forwarding(t, s)
	if cfg.Seq != ev2.Seq || len(cfg.Instances) != 1 || cfg.Instances[0].ID != a.ID || len(cfg.Rules) != 2 {
		t.Errorf("after deleting %s's rule: Seq %d, instances %q, %d rules; want %d, [%s], 2", c.ID, cfg.Seq, ids(cfg.Instances), len(cfg.Rules),
			ev2.Seq, a.ID)
	}
}

// testForwardingConfigSeq: every change recorded at or before a config's
// Seq is in it, while writers record changes concurrently.
func testForwardingConfigSeq(t *testing.T, s moat.Store) {
	a := inst("ddoscoo-cn-fwdseq01", acctA, mainl, "100.64.0.1", at(time.Hour))
	insert(t, s, a)
	const writers, perWriter = 3, 12
	var mu sync.Mutex
	seqOf := map[int]int64{} // frontend port -> Seq of the event recording its rule
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWriter {
				port := 1 + w*perWriter + i
				r := portRule(a.ID, "tcp", port)
				ev := ruleEvent(a.ID, moat.EventRuleCreated, fmt.Sprintf("tcp:%d", port))
				if err := s.Update(t.Context(), func(tx moat.Tx) error {
					if err := tx.InsertPortRule(&r); err != nil {
						return err
					}
					return tx.AppendEvent(&ev)
				}); err != nil {
					errs <- err
					return
				}
				mu.Lock()
				seqOf[port] = ev.Seq
				mu.Unlock()
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	type seen struct {
		seq   int64
		ports map[int]bool
	}
	var reads []seen
	deadline := time.Now().Add(30 * time.Second)
	for finished := false; !finished && time.Now().Before(deadline); {
		select {
		case <-done:
			finished = true // one last read after every write
		default:
		}
		cfg := forwarding(t, s)
		r := seen{seq: cfg.Seq, ports: map[int]bool{}}
		for _, x := range cfg.Rules {
			r.ports[x.FrontendPort] = true
		}
		reads = append(reads, r)
	}
	<-done
	close(errs)
	for err := range errs {
		t.Fatalf("Update: %v", err)
	}
	if len(seqOf) != writers*perWriter {
		t.Fatalf("%d rules recorded, want %d", len(seqOf), writers*perWriter)
	}
	for _, r := range reads {
		for port, seq := range seqOf {
			if seq <= r.seq && !r.ports[port] {
				t.Fatalf("a config of Seq %d lacks the rule of port %d, recorded by event %d", r.seq, port, seq)
			}
		}
	}
	if last := reads[len(reads)-1]; len(last.ports) != writers*perWriter {
		t.Errorf("the last config has %d rules, want %d", len(last.ports), writers*perWriter)
	}
}

// ---- DeleteInstance ----

func testDeleteInstanceTraffic(t *testing.T, s moat.Store) {
	a, b := "ddoscoo-cn-deltraf1", "ddoscoo-cn-deltraf2"
	insert(t, s, inst(a, acctA, mainl, "100.64.0.1", at(time.Hour)), inst(b, acctA, mainl, "100.64.0.2", at(time.Hour)))
	addTraffic(t, s, sample(a, "tcp", 80, 0, "n", 1), sample(b, "tcp", 80, 0, "n", 1))
	putEvents(t, s, mitigation(a, 80, "n", "127.0.0.2", moat.LimitBlacklist, base, time.Time{}, 1, 1),
		mitigation(b, 80, "n", "127.0.0.2", moat.LimitBlacklist, base, time.Time{}, 1, 1))
	deleteInstance(t, s, a)
	if got := traffic(t, s, moat.TrafficFilter{InstanceIDs: []string{a}}); len(got) != 0 {
		t.Errorf("samples of the deleted instance: %q", fmtSamples(got))
	}
	if _, n, err := s.MitigationEvents(t.Context(), moat.MitigationFilter{InstanceIDs: []string{a}}); err != nil || n != 0 {
		t.Errorf("mitigation events of the deleted instance: %d, %v", n, err)
	}
	if got := traffic(t, s, moat.TrafficFilter{InstanceIDs: []string{b}}); len(got) != 1 {
		t.Errorf("samples of the other instance: %q, want 1", fmtSamples(got))
	}
	if _, n, err := s.MitigationEvents(t.Context(), moat.MitigationFilter{InstanceIDs: []string{b}}); err != nil || n != 1 {
		t.Errorf("mitigation events of the other instance: %d, %v; want 1", n, err)
	}
}
