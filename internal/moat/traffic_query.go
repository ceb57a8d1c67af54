package moat

import (
	"context"
	"fmt"
	"sort"
	"time"
)

// The statistics the ddoscoo API reports, read from what the data plane
// recorded (TrafficSample buckets and MitigationEvents) and nothing else.
// A figure for an instance is the sum over its port rules and over every
// data-plane process that counted.

// Statistics query limits. The API documents recommended minimum
// intervals per span (60 s up to 1 h … 43200 s beyond 15 days) and says an
// interval must not exceed the span; moat refuses intervals under one
// bucket (nothing finer is measured) and series longer than
// MaxStatsPoints, which admits every recommended combination and the
// documented example (8 days at Interval 1000: 692 points).
const (
	MaxStatsPoints   = 1440
	MaxStatsSpan     = 366 * 24 * time.Hour
	MinStatsInterval = StatsBucket
	// maxStatsUnix is the last second of year 9999.
	maxStatsUnix = 253402300799
)

// StatsQuery selects the figures of some of the caller's instances over
// [Start, End).
type StatsQuery struct {
	InstanceIDs []string
	Start, End  time.Time
	// Interval is the width of a series' points (series only).
	Interval time.Duration
	// Port narrows the figures to one frontend port (0: every port).
	Port int
}

// FlowPoint is one interval of DescribePortFlowList: totals over the
// interval, which Seconds long (the last one may be cut by End).
type FlowPoint struct {
	Index      int64
	Time       time.Time
	Seconds    int64
	InBytes    int64
	OutBytes   int64
	InPackets  int64
	OutPackets int64
	Dropped    int64
}

// ConnsPoint is one interval of DescribePortConnsList: new connections
// accepted in the interval, and the peaks over its buckets of the summed
// connection gauges.
type ConnsPoint struct {
	Index         int64
	Time          time.Time
	Seconds       int64
	NewConns      int64
	ActiveConns   int64
	InactiveConns int64
	MaxConns      int64
}

// ConnsSummary is DescribePortConnsCount: over the whole span, the peaks
// of the summed connection gauges and the highest new-connection count of
// one bucket.
type ConnsSummary struct {
	ActiveConns    int64
	InactiveConns  int64
	MaxConns       int64
	PeakBucketConn int64 // new connections in the busiest bucket
}

// PortPeak is an item of DescribePortMaxConns: one frontend port of an
// instance (TCP and UDP together) and its busiest bucket's new
// connections.
type PortPeak struct {
	InstanceID     string
	IP             string
	Port           int
	PeakBucketConn int64
}

// EventQuery selects mitigation events that overlap [Start, End) on the
// given instances of the caller (none given: all of them in the region,
// or the one with IP). A zero End is server time.
type EventQuery struct {
	InstanceIDs []string
	IP          string
	// Types are the event types asked for (empty: all). moat's events
	// are all EventTypeDefense.
	Types                []string
	Start, End           time.Time
	PageNumber, PageSize int
}

// Event types of the statistics API. moat records only what its data
// plane mitigates: "defense" (scrubbing); it never blackholes, and website
// and CC events belong to the web side.
const (
	EventTypeDefense   = "defense"
	EventTypeBlackhole = "blackhole"
	EventTypeCC        = "cc"
	EventTypeWebCC     = "web-cc"
)

// EventView is a mitigation event as the API shows it: with its instance's
// IP, and End set to server time while it lasts (Ongoing).
type EventView struct {
	MitigationEvent
	IP      string
	Ongoing bool
}

// PortFlow is DescribePortFlowList: per interval, the bytes, packets and
// drops counted for the instances' rules. Every interval that has begun
// by server time is reported, with zeros where nothing was counted;
// intervals still in the future are left out.
func (s *TrafficService) PortFlow(ctx context.Context, c Caller, region Region, q StatsQuery) ([]FlowPoint, error) {
	sr, err := s.series(ctx, c, region, q)
	if err != nil {
		return nil, err
	}
	out := make([]FlowPoint, sr.n)
	for i := range out {
		out[i] = FlowPoint{Index: int64(i), Time: sr.start(i), Seconds: sr.seconds(i)}
	}
	for _, smp := range sr.samples {
		i, ok := sr.index(smp.Bucket)
		if !ok {
			continue
		}
		p := &out[i]
		p.InBytes += smp.InBytes
		p.OutBytes += smp.OutBytes
		p.InPackets += smp.InPackets
		p.OutPackets += smp.OutPackets
		p.Dropped += smp.Dropped
	}
	return out, nil
}

// PortConns is DescribePortConnsList: per interval, the new connections
// and the peaks of the connection gauges (summed across rules and
// processes bucket by bucket), optionally of one port.
func (s *TrafficService) PortConns(ctx context.Context, c Caller, region Region, q StatsQuery) ([]ConnsPoint, error) {
	sr, err := s.series(ctx, c, region, q)
	if err != nil {
		return nil, err
	}
	out := make([]ConnsPoint, sr.n)
	for i := range out {
		out[i] = ConnsPoint{Index: int64(i), Time: sr.start(i), Seconds: sr.seconds(i)}
	}
	for _, b := range sumBuckets(sr.samples) {
		i, ok := sr.index(b.Bucket)
		if !ok {
			continue
		}
		p := &out[i]
		p.NewConns += b.NewConns
		p.ActiveConns = max(p.ActiveConns, b.ActiveConns)
		p.InactiveConns = max(p.InactiveConns, b.InactiveConns)
		p.MaxConns = max(p.MaxConns, b.MaxConns)
	}
	return out, nil
}

// PortConnsCount is DescribePortConnsCount: the peaks over the span of
// the connection gauges and of new connections per bucket, optionally of
// one port.
func (s *TrafficService) PortConnsCount(ctx context.Context, c Caller, region Region, q StatsQuery) (ConnsSummary, error) {
	q.Interval = 0
	sr, err := s.series(ctx, c, region, q)
	if err != nil {
		return ConnsSummary{}, err
	}
	var sum ConnsSummary
	for _, b := range sumBuckets(sr.samples) {
		sum.ActiveConns = max(sum.ActiveConns, b.ActiveConns)
		sum.InactiveConns = max(sum.InactiveConns, b.InactiveConns)
		sum.MaxConns = max(sum.MaxConns, b.MaxConns)
		sum.PeakBucketConn = max(sum.PeakBucketConn, b.NewConns)
	}
	return sum, nil
}

// PortMaxConns is DescribePortMaxConns: every frontend port of the
// instances that counted traffic in the span, with its busiest bucket's
// new connections (summed across protocols and processes), the busiest
// first.
func (s *TrafficService) PortMaxConns(ctx context.Context, c Caller, region Region, q StatsQuery) ([]PortPeak, error) {
	q.Interval, q.Port = 0, 0
	sr, err := s.series(ctx, c, region, q)
	if err != nil {
		return nil, err
	}
	type portBucket struct {
		id     string
		port   int
		bucket int64
	}
	perBucket := map[portBucket]int64{}
	for _, smp := range sr.samples {
		perBucket[portBucket{smp.InstanceID, smp.FrontendPort, smp.Bucket.Unix()}] += smp.NewConns
	}
	type portOf struct {
		id   string
		port int
	}
	peaks := map[portOf]int64{}
	for k, n := range perBucket {
		p := portOf{k.id, k.port}
		peaks[p] = max(peaks[p], n)
	}
	out := make([]PortPeak, 0, len(peaks))
	for p, n := range peaks {
		out = append(out, PortPeak{InstanceID: p.id, IP: sr.instances[p.id].IP, Port: p.port, PeakBucketConn: n})
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.PeakBucketConn != b.PeakBucketConn {
			return a.PeakBucketConn > b.PeakBucketConn
		}
		if a.IP != b.IP {
			return a.IP < b.IP
		}
		return a.Port < b.Port
	})
	return out, nil
}

// AttackEvents is DescribeDDoSEvents and DescribeDDosAllEventList: a page of
// the mitigation events of the caller's instances that overlap the span,
// the latest first, and their count.
func (s *TrafficService) AttackEvents(ctx context.Context, c Caller, region Region, q EventQuery) ([]EventView, int64, error) {
	if err := checkEventTypes(q.Types); err != nil {
		return nil, 0, err
	}
	defaultEnd := q.End.IsZero()
	if defaultEnd {
		q.End = s.clock.Now().Truncate(time.Second)
	}
	if q.Start.Unix() < 0 || q.Start.Unix() > maxStatsUnix {
		return nil, 0, InvalidParam("StartTime", "a UNIX time in seconds")
	}
	if q.End.Unix() < 0 || q.End.Unix() > maxStatsUnix {
		return nil, 0, InvalidParam("EndTime", "a UNIX time in seconds")
	}
	if !q.End.After(q.Start) && !defaultEnd {
		return nil, 0, InvalidParam("EndTime", "later than StartTime")
	}
	number, size := q.PageNumber, q.PageSize
	if number == 0 {
		number = 1
	}
	if size == 0 {
		size = 10
	}
	if number < 1 {
		return nil, 0, InvalidParam("PageNumber", "a positive integer")
	}
	if size < 1 || size > MaxPageSize {
		return nil, 0, InvalidParam("PageSize", fmt.Sprintf("between 1 and %d", MaxPageSize))
	}
	var ins map[string]Instance
	var err error
	if len(q.InstanceIDs) > 0 {
		ins, err = s.ownInstances(ctx, c, region, q.InstanceIDs)
	} else {
		ins, err = s.allInstances(ctx, c, region, q.IP)
	}
	if err != nil {
		return nil, 0, err
	}
	if len(ins) == 0 || !wantsDefense(q.Types) || !q.End.After(q.Start) {
		return []EventView{}, 0, nil
	}
	f := MitigationFilter{InstanceIDs: sortedKeys(ins), From: q.Start, To: q.End, Limit: size}
	if number-1 > maxOffset/size {
		f.Offset = maxOffset + 1
	} else {
		f.Offset = (number - 1) * size
	}
	evs, total, err := s.store.MitigationEvents(ctx, f)
	if err != nil {
		return nil, 0, err
	}
	now := s.clock.Now()
	out := make([]EventView, 0, len(evs))
	for _, ev := range evs {
		v := EventView{MitigationEvent: ev, IP: ins[ev.InstanceID].IP}
		if ev.End.IsZero() {
			v.End, v.Ongoing = now, true
		}
		out = append(out, v)
	}
	return out, total, nil
}

// series is a checked statistics query and the samples it covers.
type series struct {
	from     time.Time
	to       time.Time
	interval time.Duration
	n        int // points reported

	instances map[string]Instance
	samples   []TrafficSample
}

func (sr *series) start(i int) time.Time { return sr.from.Add(time.Duration(i) * sr.interval) }

func (sr *series) seconds(i int) int64 {
	end := sr.start(i).Add(sr.interval)
	if end.After(sr.to) {
		end = sr.to
	}
	return int64(end.Sub(sr.start(i)) / time.Second)
}

// index is the point a bucket belongs to: the one its start falls in.
func (sr *series) index(bucket time.Time) (int, bool) {
	if bucket.Before(sr.from) {
		return 0, false
	}
	i := int(bucket.Sub(sr.from) / sr.interval)
	return i, i < sr.n
}

// series checks q, resolves its instances (each the caller's in the
// region, or InstanceNotFound) and reads their samples in the span. With
// no Interval the whole span is one point.
func (s *TrafficService) series(ctx context.Context, c Caller, region Region, q StatsQuery) (*series, error) {
	sr, err := s.frame(q.Start, q.End, q.Interval)
	if err != nil {
		return nil, err
	}
	if q.Port != 0 {
		if err := CheckPort("Port", q.Port); err != nil {
			return nil, err
		}
	}
	ins, err := s.ownInstances(ctx, c, region, q.InstanceIDs)
	if err != nil {
		return nil, err
	}
	sr.instances = ins
	if sr.n == 0 {
		return sr, nil
	}
	samples, err := s.store.Traffic(ctx, TrafficFilter{InstanceIDs: sortedKeys(ins), From: q.Start, To: q.End})
	if err != nil {
		return nil, err
	}
	kept := samples[:0]
	for _, smp := range samples {
		if _, mine := ins[smp.InstanceID]; !mine || q.Port != 0 && smp.FrontendPort != q.Port {
			continue
		}
		if smp.Bucket.Before(q.Start) || !smp.Bucket.Before(q.End) {
			continue
		}
		kept = append(kept, smp)
	}
	sr.samples = kept
	return sr, nil
}

// frame checks a series' span and interval (none: the whole span is one
// point) and counts its points: those that have begun by server time.
func (s *TrafficService) frame(start, end time.Time, interval time.Duration) (*series, error) {
	if err := checkSpan(start, end); err != nil {
		return nil, err
	}
	span := end.Sub(start)
	if interval == 0 {
		interval = span
	} else if interval < MinStatsInterval || interval > span || interval%time.Second != 0 {
		return nil, InvalidParam("Interval", fmt.Sprintf("in seconds, at least %d and at most the span EndTime - StartTime (%d)", int64(MinStatsInterval/time.Second), int64(span/time.Second)))
	}
	total := int64((span + interval - 1) / interval)
	if total > MaxStatsPoints {
		return nil, InvalidParam("Interval", fmt.Sprintf("at least %d for this span: at most %d points are returned", int64((span/MaxStatsPoints+time.Second-1)/time.Second), MaxStatsPoints))
	}
	// Intervals that have not begun by server time are not reported.
	now := s.clock.Now()
	n := total
	if !now.After(start) {
		n = 0
	} else if began := int64((now.Sub(start) + interval - 1) / interval); began < n {
		n = began
	}
	return &series{from: start, to: end, interval: interval, n: int(n)}, nil
}

// checkSpan checks StartTime and EndTime: whole minutes (as documented),
// EndTime later, the span at most MaxStatsSpan.
func checkSpan(start, end time.Time) error {
	for _, t := range []struct {
		name string
		at   time.Time
	}{{"StartTime", start}, {"EndTime", end}} {
		u := t.at.Unix()
		if u < 0 || u > maxStatsUnix || t.at.Nanosecond() != 0 {
			return InvalidParam(t.name, "a UNIX time in seconds")
		}
		if u%60 != 0 {
			return InvalidParam(t.name, "a whole minute (a multiple of 60 seconds)")
		}
	}
	if !end.After(start) {
		return InvalidParam("EndTime", "later than StartTime")
	}
	if end.Sub(start) > MaxStatsSpan {
		return InvalidParam("EndTime", fmt.Sprintf("at most %d days after StartTime", int(MaxStatsSpan/(24*time.Hour))))
	}
	return nil
}

// ownInstances loads the named instances, each the caller's in region, or
// InstanceNotFound naming the first that is not.
func (s *TrafficService) ownInstances(ctx context.Context, c Caller, region Region, ids []string) (map[string]Instance, error) {
	if len(ids) == 0 {
		return nil, MissingParam("IDs.1")
	}
	if len(ids) > MaxListIDs {
		return nil, InvalidParam("IDs", fmt.Sprintf("at most %d IDs", MaxListIDs))
	}
	list, err := s.store.Instances(ctx, InstanceFilter{AccountID: c.AccountID, Region: region, IDs: ids})
	if err != nil {
		return nil, err
	}
	out := make(map[string]Instance, len(list))
	for _, in := range list {
		if in.AccountID == c.AccountID && in.Region == region {
			out[in.ID] = in
		}
	}
	for _, id := range ids {
		if _, ok := out[id]; !ok {
			return nil, instanceNotFound(id)
		}
	}
	return out, nil
}

// allInstances loads every instance of the caller in region (the one
// with ip when ip is given).
func (s *TrafficService) allInstances(ctx context.Context, c Caller, region Region, ip string) (map[string]Instance, error) {
	list, err := s.store.Instances(ctx, InstanceFilter{AccountID: c.AccountID, Region: region, IP: ip})
	if err != nil {
		return nil, err
	}
	out := make(map[string]Instance, len(list))
	for _, in := range list {
		if in.AccountID == c.AccountID && in.Region == region {
			out[in.ID] = in
		}
	}
	return out, nil
}

// sumBuckets adds samples up bucket by bucket (across rules and
// processes), in bucket order.
func sumBuckets(samples []TrafficSample) []TrafficSample {
	byBucket := map[int64]*TrafficSample{}
	for _, smp := range samples {
		k := smp.Bucket.Unix()
		b := byBucket[k]
		if b == nil {
			b = &TrafficSample{Bucket: smp.Bucket}
			byBucket[k] = b
		}
		b.NewConns += smp.NewConns
		b.ActiveConns += smp.ActiveConns
		b.InactiveConns += smp.InactiveConns
		b.MaxConns += smp.MaxConns
	}
	out := make([]TrafficSample, 0, len(byBucket))
	for _, b := range byBucket {
		out = append(out, *b)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Bucket.Before(out[j].Bucket) })
	return out
}

func checkEventTypes(types []string) error {
	for _, t := range types {
		switch t {
		case EventTypeDefense, EventTypeBlackhole, EventTypeCC, EventTypeWebCC:
		default:
			return InvalidParamValue("EventType", t, "each of a comma-separated list must be defense, blackhole, cc or web-cc")
		}
	}
	return nil
}

func wantsDefense(types []string) bool {
	if len(types) == 0 {
		return true
	}
	for _, t := range types {
		if t == EventTypeDefense {
			return true
		}
	}
	return false
}

func sortedKeys(m map[string]Instance) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
