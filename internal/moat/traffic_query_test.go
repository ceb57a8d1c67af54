package moat_test

import (
	"testing"
	"time"

	"moat/internal/moat"
)

// statsEnv is one instance of the caller's with TCP and UDP rules on port
// 80 and TCP 443, and one instance of another account.
func statsEnv(t *testing.T) (*env, moat.InstanceView, moat.InstanceView) {
	t.Helper()
	e := newEnv(t, moat.Config{})
	mine := e.create(t, moat.RegionMainland, 30*24*time.Hour, 1)[0]
	month := 30 * 24 * time.Hour
	theirs, err := e.svc.CreateInstances(e.ctx, moat.NewInstances{AccountID: e.other, Region: moat.RegionMainland, Count: 1, ExpireIn: &month})
	if err != nil {
		t.Fatal(err)
	}
	rules := []moat.PortRule{portRule(mine.ID, "tcp", 80), portRule(mine.ID, "udp", 80), portRule(mine.ID, "tcp", 443)}
	if err := e.svc.CreatePortRules(e.ctx, e.caller(e.acct), moat.RegionMainland, rules, "R1"); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.CreatePortRules(e.ctx, e.caller(e.other), moat.RegionMainland, []moat.PortRule{portRule(theirs[0].ID, "tcp", 80)}, "R2"); err != nil {
		t.Fatal(err)
	}
	return e, mine, theirs[0]
}

func sample(id, proto string, port int, minute int, node string) moat.TrafficSample {
	return moat.TrafficSample{PortKey: moat.PortKey{InstanceID: id, Protocol: proto, FrontendPort: port}, Bucket: t0.Add(time.Duration(minute) * time.Minute), Node: node}
}

// TestPortFlowSumsBucketsIntoIntervals pins DescribePortFlowList's domain
// side: samples of every rule and process are summed into the interval
// their bucket starts in, intervals without samples are zeros, intervals
// that have not begun are left out, and another account's traffic never
// counts.
func TestPortFlowSumsBucketsIntoIntervals(t *testing.T) {
	e, mine, theirs := statsEnv(t)
	s1 := sample(mine.ID, "tcp", 80, 0, "edge-1")
	s1.InBytes, s1.OutBytes, s1.InPackets, s1.OutPackets, s1.Dropped = 100, 1000, 2, 3, 1
	s2 := sample(mine.ID, "tcp", 80, 0, "edge-2")
	s2.InBytes = 50
	s3 := sample(mine.ID, "udp", 80, 1, "edge-1")
	s3.InBytes, s3.InPackets = 30, 1
	s4 := sample(mine.ID, "tcp", 443, 3, "edge-1")
	s4.OutBytes = 7
	s5 := sample(theirs.ID, "tcp", 80, 0, "edge-1")
	s5.InBytes = 1 << 40
	if err := e.svc.RecordTraffic(e.ctx, []moat.TrafficSample{s1, s2, s3, s4, s5}); err != nil {
		t.Fatal(err)
	}
	e.real.Add(5*time.Minute + 30*time.Second)
	q := moat.StatsQuery{InstanceIDs: []string{mine.ID}, Start: t0, End: t0.Add(10 * time.Minute), Interval: 2 * time.Minute}
	pts, err := e.svc.PortFlow(e.ctx, e.caller(e.acct), moat.RegionMainland, q)
	if err != nil {
		t.Fatal(err)
	}
	want := []moat.FlowPoint{
		{Index: 0, Time: t0, Seconds: 120, InBytes: 180, OutBytes: 1000, InPackets: 3, OutPackets: 3, Dropped: 1},
		{Index: 1, Time: t0.Add(2 * time.Minute), Seconds: 120, OutBytes: 7},
		{Index: 2, Time: t0.Add(4 * time.Minute), Seconds: 120},
	}
	if len(pts) != len(want) {
		t.Fatalf("points %+v, want %+v", pts, want)
	}
	for i := range want {
		if !pts[i].Time.Equal(want[i].Time) || pts[i].Index != want[i].Index || pts[i].Seconds != want[i].Seconds ||
			pts[i].InBytes != want[i].InBytes || pts[i].OutBytes != want[i].OutBytes || pts[i].InPackets != want[i].InPackets ||
			pts[i].OutPackets != want[i].OutPackets || pts[i].Dropped != want[i].Dropped {
			t.Errorf("point %d: %+v, want %+v", i, pts[i], want[i])
		}
	}

	// An interval that does not divide the span: the last point is cut
	// by End.
	q = moat.StatsQuery{InstanceIDs: []string{mine.ID}, Start: t0, End: t0.Add(5 * time.Minute), Interval: 3 * time.Minute}
	pts, err = e.svc.PortFlow(e.ctx, e.caller(e.acct), moat.RegionMainland, q)
	if err != nil || len(pts) != 2 || pts[1].Seconds != 120 || pts[0].InBytes != 180 || pts[1].OutBytes != 7 {
		t.Errorf("cut interval: %+v, %v", pts, err)
	}

	for _, ids := range [][]string{{theirs.ID}, {mine.ID, theirs.ID}, {"ddoscoo-cn-nonexistent"}} {
		_, err := e.svc.PortFlow(e.ctx, e.caller(e.acct), moat.RegionMainland, moat.StatsQuery{InstanceIDs: ids, Start: t0, End: t0.Add(time.Hour), Interval: time.Minute})
		wantCode(t, "foreign "+ids[len(ids)-1], err, moat.CodeInstanceNotFound)
	}
	_, err = e.svc.PortFlow(e.ctx, e.caller(e.acct), moat.RegionOverseas, moat.StatsQuery{InstanceIDs: []string{mine.ID}, Start: t0, End: t0.Add(time.Hour), Interval: time.Minute})
	wantCode(t, "other region", err, moat.CodeInstanceNotFound)
}

// TestStatsQueryChecks pins the refused spans and intervals.
func TestStatsQueryChecks(t *testing.T) {
	e, mine, _ := statsEnv(t)
	c := e.caller(e.acct)
	for _, tc := range []struct {
		what       string
		start, end time.Time
		interval   time.Duration
	}{
		{"interval under a bucket", t0, t0.Add(time.Hour), 30 * time.Second},
		{"interval over the span", t0, t0.Add(time.Hour), 2 * time.Hour},
		{"too many points", t0, t0.Add(30 * 24 * time.Hour), time.Minute},
		{"start not a whole minute", t0.Add(time.Second), t0.Add(time.Hour), time.Minute},
		{"end not a whole minute", t0, t0.Add(time.Hour + time.Second), time.Minute},
		{"end before start", t0.Add(time.Hour), t0, time.Minute},
		{"empty span", t0, t0, time.Minute},
		{"span over a year", t0, t0.Add(400 * 24 * time.Hour), 24 * time.Hour},
		{"negative start", time.Unix(-60, 0), t0, 24 * time.Hour},
	} {
		_, err := e.svc.PortFlow(e.ctx, c, moat.RegionMainland, moat.StatsQuery{InstanceIDs: []string{mine.ID}, Start: tc.start, End: tc.end, Interval: tc.interval})
		wantCode(t, tc.what, err, moat.CodeInvalidParameter)
	}
	// The documented example: 8 days at Interval 1000.
	_, err := e.svc.PortFlow(e.ctx, c, moat.RegionMainland, moat.StatsQuery{InstanceIDs: []string{mine.ID}, Start: t0, End: t0.Add(8 * 24 * time.Hour), Interval: 1000 * time.Second})
	if err != nil {
		t.Errorf("documented example: %v", err)
	}
	_, err = e.svc.PortConns(e.ctx, c, moat.RegionMainland, moat.StatsQuery{InstanceIDs: []string{mine.ID}, Start: t0, End: t0.Add(time.Hour), Interval: time.Minute, Port: 70000})
	wantCode(t, "port", err, moat.CodeInvalidParameter)
}

// TestPortConnsFigures pins the connection statistics: gauges summed
// across rules and processes bucket by bucket, their peak per interval
// and over the span, new connections summed, a port filter, and each
// port's busiest bucket.
func TestPortConnsFigures(t *testing.T) {
	e, mine, theirs := statsEnv(t)
	var ss []moat.TrafficSample
	add := func(proto string, port, minute int, node string, newConns, act, inact, maxc int64) {
		s := sample(mine.ID, proto, port, minute, node)
		s.NewConns, s.ActiveConns, s.InactiveConns, s.MaxConns = newConns, act, inact, maxc
		ss = append(ss, s)
	}
	add("tcp", 80, 0, "edge-1", 10, 4, 1, 6)
	add("tcp", 80, 0, "edge-2", 20, 3, 0, 4)
	add("udp", 80, 1, "edge-1", 5, 1, 1, 2)
	add("tcp", 443, 1, "edge-1", 100, 9, 0, 9)
	other := sample(theirs.ID, "tcp", 80, 0, "edge-1")
	other.NewConns, other.MaxConns = 1_000_000, 1_000_000
	ss = append(ss, other)
	if err := e.svc.RecordTraffic(e.ctx, ss); err != nil {
		t.Fatal(err)
	}
	e.real.Add(time.Hour)
	c := e.caller(e.acct)
	q := moat.StatsQuery{InstanceIDs: []string{mine.ID}, Start: t0, End: t0.Add(4 * time.Minute), Interval: 2 * time.Minute}
	pts, err := e.svc.PortConns(e.ctx, c, moat.RegionMainland, q)
	if err != nil || len(pts) != 2 {
		t.Fatalf("PortConns: %+v, %v", pts, err)
	}
	// Bucket 0 sums to active 7, inactive 1, max 10; bucket 1 to 10, 1, 11.
	if p := pts[0]; p.NewConns != 135 || p.ActiveConns != 10 || p.InactiveConns != 1 || p.MaxConns != 11 {
		t.Errorf("point 0: %+v", p)
	}
	if p := pts[1]; p.NewConns != 0 || p.ActiveConns != 0 || p.MaxConns != 0 {
		t.Errorf("point 1: %+v", p)
	}
	q.Port = 80
	pts, err = e.svc.PortConns(e.ctx, c, moat.RegionMainland, q)
	if err != nil || pts[0].NewConns != 35 || pts[0].ActiveConns != 7 || pts[0].MaxConns != 10 {
		t.Errorf("port 80: %+v, %v", pts, err)
	}

	sum, err := e.svc.PortConnsCount(e.ctx, c, moat.RegionMainland, moat.StatsQuery{InstanceIDs: []string{mine.ID}, Start: t0, End: t0.Add(time.Hour)})
	if want := (moat.ConnsSummary{ActiveConns: 10, InactiveConns: 1, MaxConns: 11, PeakBucketConn: 105}); err != nil || sum != want {
		t.Errorf("PortConnsCount: %+v, %v, want %+v", sum, err, want)
	}

	peaks, err := e.svc.PortMaxConns(e.ctx, c, moat.RegionMainland, moat.StatsQuery{InstanceIDs: []string{mine.ID}, Start: t0, End: t0.Add(time.Hour)})
	want := []moat.PortPeak{{InstanceID: mine.ID, IP: mine.IP, Port: 443, PeakBucketConn: 100}, {InstanceID: mine.ID, IP: mine.IP, Port: 80, PeakBucketConn: 30}}
	if err != nil || len(peaks) != 2 || peaks[0] != want[0] || peaks[1] != want[1] {
		t.Errorf("PortMaxConns: %+v, %v, want %+v", peaks, err, want)
	}
}

// TestAttackEvents pins the event listings: the caller's events only, the
// latest first, paged with a count, an ongoing event ending at server
// time, a listing of all instances or of one IP, and types moat never
// records giving nothing.
func TestAttackEvents(t *testing.T) {
	e, mine, theirs := statsEnv(t)
	ev := func(id string, port, minute int, src string, end bool) moat.MitigationEvent {
		m := moat.MitigationEvent{PortKey: moat.PortKey{InstanceID: id, Protocol: "tcp", FrontendPort: port}, Node: "edge-1", Source: src,
			Limit: moat.LimitSlimitCps, Start: t0.Add(time.Duration(minute) * time.Minute), Peak: 500, Dropped: 40}
		if end {
			m.End = m.Start.Add(30 * time.Second)
		}
		return m
	}
	evs := []moat.MitigationEvent{ev(mine.ID, 80, 1, "198.51.100.1", true), ev(mine.ID, 443, 2, "198.51.100.2", true), ev(mine.ID, 80, 3, "198.51.100.3", false), ev(theirs.ID, 80, 2, "198.51.100.9", true)}
	if err := e.svc.RecordMitigation(e.ctx, evs); err != nil {
		t.Fatal(err)
	}
	e.real.Add(10 * time.Minute)
	c := e.caller(e.acct)
	got, total, err := e.svc.AttackEvents(e.ctx, c, moat.RegionMainland, moat.EventQuery{InstanceIDs: []string{mine.ID}, Start: t0, PageNumber: 1, PageSize: 2})
	if err != nil || total != 3 || len(got) != 2 {
		t.Fatalf("page 1: %+v, %d, %v", got, total, err)
	}
	if !got[0].Ongoing || !got[0].End.Equal(t0.Add(10*time.Minute)) || got[0].Source != "198.51.100.3" || got[0].IP != mine.IP {
		t.Errorf("latest: %+v", got[0])
	}
	if got[1].Ongoing || got[1].Source != "198.51.100.2" {
		t.Errorf("second: %+v", got[1])
	}
	got, total, err = e.svc.AttackEvents(e.ctx, c, moat.RegionMainland, moat.EventQuery{InstanceIDs: []string{mine.ID}, Start: t0, PageNumber: 2, PageSize: 2})
	if err != nil || total != 3 || len(got) != 1 || got[0].Source != "198.51.100.1" {
		t.Errorf("page 2: %+v, %d, %v", got, total, err)
	}
	// A span that ends before the last two events began.
	_, total, err = e.svc.AttackEvents(e.ctx, c, moat.RegionMainland, moat.EventQuery{InstanceIDs: []string{mine.ID}, Start: t0, End: t0.Add(90 * time.Second), PageSize: 10})
	if err != nil || total != 1 {
		t.Errorf("narrow span: %d, %v", total, err)
	}

	_, _, err = e.svc.AttackEvents(e.ctx, c, moat.RegionMainland, moat.EventQuery{InstanceIDs: []string{theirs.ID}, Start: t0})
	wantCode(t, "another account's instance", err, moat.CodeInstanceNotFound)

	_, total, err = e.svc.AttackEvents(e.ctx, c, moat.RegionMainland, moat.EventQuery{Start: t0, End: t0.Add(time.Hour)})
	if err != nil || total != 3 {
		t.Errorf("all instances: %d, %v", total, err)
	}
	_, total, err = e.svc.AttackEvents(e.ctx, c, moat.RegionMainland, moat.EventQuery{IP: theirs.IP, Start: t0, End: t0.Add(time.Hour)})
	if err != nil || total != 0 {
		t.Errorf("another account's IP: %d, %v", total, err)
	}
	got, total, err = e.svc.AttackEvents(e.ctx, c, moat.RegionMainland, moat.EventQuery{Types: []string{"cc", "web-cc"}, Start: t0, End: t0.Add(time.Hour)})
	if err != nil || total != 0 || got == nil {
		t.Errorf("cc only: %+v, %d, %v", got, total, err)
	}
	_, _, err = e.svc.AttackEvents(e.ctx, c, moat.RegionMainland, moat.EventQuery{Types: []string{"flood"}, Start: t0, End: t0.Add(time.Hour)})
	wantCode(t, "unknown type", err, moat.CodeInvalidParameter)
	_, _, err = e.svc.AttackEvents(e.ctx, c, moat.RegionMainland, moat.EventQuery{Start: t0, End: t0.Add(time.Hour), PageSize: moat.MaxPageSize + 1})
	wantCode(t, "page size", err, moat.CodeInvalidParameter)
}
