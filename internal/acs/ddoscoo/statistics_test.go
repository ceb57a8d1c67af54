package ddoscoo

import (
	"context"
	"testing"
	"time"

	"moat/internal/acs"
	"moat/internal/moat"
)

// statsFake answers the statistics calls with what the test set and
// records the query; other methods panic.
type statsFake struct {
	Service
	err    error
	calls  int
	region moat.Region
	q      moat.StatsQuery
	eq     moat.EventQuery

	flow    []moat.FlowPoint
	conns   []moat.ConnsPoint
	summary moat.ConnsSummary
	peaks   []moat.PortPeak
	events  []moat.EventView
	total   int64
}

func (f *statsFake) PortFlow(_ context.Context, _ moat.Caller, r moat.Region, q moat.StatsQuery) ([]moat.FlowPoint, error) {
	f.calls, f.region, f.q = f.calls+1, r, q
	return f.flow, f.err
}

func (f *statsFake) PortConns(_ context.Context, _ moat.Caller, r moat.Region, q moat.StatsQuery) ([]moat.ConnsPoint, error) {
	f.calls, f.region, f.q = f.calls+1, r, q
	return f.conns, f.err
}

func (f *statsFake) PortConnsCount(_ context.Context, _ moat.Caller, r moat.Region, q moat.StatsQuery) (moat.ConnsSummary, error) {
	f.calls, f.region, f.q = f.calls+1, r, q
	return f.summary, f.err
}

func (f *statsFake) PortMaxConns(_ context.Context, _ moat.Caller, r moat.Region, q moat.StatsQuery) ([]moat.PortPeak, error) {
	f.calls, f.region, f.q = f.calls+1, r, q
	return f.peaks, f.err
}

func (f *statsFake) AttackEvents(_ context.Context, _ moat.Caller, r moat.Region, q moat.EventQuery) ([]moat.EventView, int64, error) {
	f.calls, f.region, f.eq = f.calls+1, r, q
	return f.events, f.total, f.err
}

const (
	statsStart = 1582992000 // a whole minute
	statsEnd   = statsStart + 3600
)

var statsT0 = time.Unix(statsStart, 0).UTC()

// TestDescribePortFlowListHandler pins the conversion of DescribePortFlowList:
// seconds to times, totals to rates rounded up (bits for bytes), drops as
// AttackPps, the mainland Region code, and the instance IDs as the call's
// resources.
func TestDescribePortFlowListHandler(t *testing.T) {
	f := &statsFake{flow: []moat.FlowPoint{
		{Index: 0, Time: statsT0, Seconds: 600, InBytes: 750, OutBytes: 0, InPackets: 601, OutPackets: 600, Dropped: 1},
		{Index: 1, Time: statsT0.Add(600 * time.Second), Seconds: 600},
	}}
	a := acs.Handle((&handlers{svc: f}).DescribePortFlowList)
	params := map[string]string{"InstanceIds.1": "ddoscoo-cn-a", "InstanceIds.2": "ddoscoo-cn-b", "StartTime": "1582992000", "EndTime": "1582995600", "Interval": "600"}
	body, call, err := invoke(t, a, params)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"RequestId":"","PortFlowList":[` +
		`{"Index":0,"Time":1582992000,"InBps":10,"OutBps":0,"InPps":2,"OutPps":1,"AttackBps":0,"AttackPps":1,"Region":"cn"},` +
		`{"Index":1,"Time":1582992600,"InBps":0,"OutBps":0,"InPps":0,"OutPps":0,"AttackBps":0,"AttackPps":0,"Region":"cn"}]}`
	if body != want {
		t.Errorf("body\n%s\nwant\n%s", body, want)
	}
	wantQ := moat.StatsQuery{InstanceIDs: []string{"ddoscoo-cn-a", "ddoscoo-cn-b"}, Start: statsT0, End: statsT0.Add(time.Hour), Interval: 600 * time.Second}
	if !equalQuery(f.q, wantQ) || f.region != moat.RegionMainland {
		t.Errorf("query %+v in %s", f.q, f.region)
	}
	if len(call.Resources) != 2 {
		t.Errorf("resources %v", call.Resources)
	}

	f.flow = nil
	body, _, err = invoke(t, a, params)
	if err != nil || body != `{"RequestId":"","PortFlowList":[]}` {
		t.Errorf("no points: %s, %v", body, err)
	}

	f.calls = 0
	for _, bad := range []struct{ name, value string }{{"Interval", "0"}, {"Interval", "-60"}, {"Interval", "4294967296"}, {"StartTime", "soon"}} {
		_, _, err := invoke(t, a, maps(params, bad.name, bad.value))
		wantCode(t, bad.name+"="+bad.value, err, moat.CodeInvalidParameter, bad.name)
	}
	for _, missing := range []string{"InstanceIds.1", "StartTime", "EndTime", "Interval"} {
		p := maps(params, missing, "")
		delete(p, "InstanceIds.2")
		if _, _, err := invoke(t, a, p); moat.AsError(err) == nil || moat.AsError(err).Kind != moat.KindInvalid {
			t.Errorf("without %s: %v", missing, err)
		}
	}
	if f.calls != 0 {
		t.Errorf("the service was called %d times for bad input", f.calls)
	}
	f.err = moat.MissingParam("IDs.1")
	_, _, err = invoke(t, a, params)
	wantCode(t, "domain names the IDs", err, "MissingInstanceIds.1", "InstanceIds.1")
}

func equalQuery(a, b moat.StatsQuery) bool {
	if len(a.InstanceIDs) != len(b.InstanceIDs) {
		return false
	}
	for i := range a.InstanceIDs {
		if a.InstanceIDs[i] != b.InstanceIDs[i] {
			return false
		}
	}
	return a.Start.Equal(b.Start) && a.End.Equal(b.End) && a.Interval == b.Interval && a.Port == b.Port
}

// TestDescribePortConnsHandlers pins DescribePortConnsList, DescribePortConnsCount
// and DescribePortMaxConns: the Port string parsed (or refused), peaks
// passed through and new connections as a per-second rate rounded up.
func TestDescribePortConnsHandlers(t *testing.T) {
	f := &statsFake{
		conns:   []moat.ConnsPoint{{Index: 3, Seconds: 60, NewConns: 61, ActiveConns: 5, InactiveConns: 2, MaxConns: 9}},
		summary: moat.ConnsSummary{ActiveConns: 7, InactiveConns: 1, MaxConns: 12, PeakBucketConn: 6000},
		peaks:   []moat.PortPeak{{InstanceID: "ddoscoo-cn-a", IP: "203.0.113.5", Port: 443, PeakBucketConn: 59}},
	}
	h := &handlers{svc: f}
	params := map[string]string{"InstanceIds.1": "ddoscoo-cn-a", "StartTime": "1582992000", "EndTime": "1582995600", "Interval": "60", "Port": "443"}

	body, _, err := invoke(t, acs.Handle(h.DescribePortConnsList), params)
	if want := `{"RequestId":"","ConnsList":[{"Index":3,"ActConns":5,"InActConns":2,"Cps":2,"Conns":9}]}`; err != nil || body != want {
		t.Errorf("DescribePortConnsList: %s, %v", body, err)
	}
	if f.q.Port != 443 || f.q.Interval != time.Minute {
		t.Errorf("query %+v", f.q)
	}

	body, _, err = invoke(t, acs.Handle(h.DescribePortConnsCount), params)
	if want := `{"RequestId":"","Conns":12,"ActConns":7,"InActConns":1,"Cps":100}`; err != nil || body != want {
		t.Errorf("DescribePortConnsCount: %s, %v", body, err)
	}
	if f.q.Port != 443 || f.q.Interval != 0 {
		t.Errorf("count query %+v", f.q)
	}
	_, _, err = invoke(t, acs.Handle(h.DescribePortConnsCount), maps(params, "Port", ""))
	if err != nil || f.q.Port != 0 {
		t.Errorf("without Port: %v, %+v", err, f.q)
	}

	body, _, err = invoke(t, acs.Handle(h.DescribePortMaxConns), params)
	if want := `{"RequestId":"","PortMaxConns":[{"Ip":"203.0.113.5","Port":"443","Cps":1}]}`; err != nil || body != want {
		t.Errorf("DescribePortMaxConns: %s, %v", body, err)
	}

	f.calls = 0
	for _, port := range []string{"http", "0", "65536", "-1"} {
		_, _, err := invoke(t, acs.Handle(h.DescribePortConnsList), maps(params, "Port", port))
		wantCode(t, "Port="+port, err, moat.CodeInvalidParameter, "Port")
		_, _, err = invoke(t, acs.Handle(h.DescribePortConnsCount), maps(params, "Port", port))
		wantCode(t, "count Port="+port, err, moat.CodeInvalidParameter, "Port")
	}
	if f.calls != 0 {
		t.Errorf("the service was called %d times for bad ports", f.calls)
	}
}

// TestDescribeDDoSEventsHandlers pins both event listings: the event as
// "defense" with its instance IP, port, seconds and peak rates (bits for a
// byte limit, Mbit/s rounded up in the all-events list), the optional
// EndTime, EventType's comma list, and Premium's Region code.
func TestDescribeDDoSEventsHandlers(t *testing.T) {
	start := statsT0.Add(90 * time.Second)
	f := &statsFake{total: 7, events: []moat.EventView{
		{IP: "203.0.113.5", MitigationEvent: moat.MitigationEvent{PortKey: moat.PortKey{InstanceID: "ddoscoo-cn-a", Protocol: "tcp", FrontendPort: 80}, Limit: moat.LimitSlimitBps, Start: start, End: start.Add(time.Minute), Peak: 250_000}},
		{IP: "203.0.113.5", Ongoing: true, MitigationEvent: moat.MitigationEvent{PortKey: moat.PortKey{InstanceID: "ddoscoo-cn-a", Protocol: "udp", FrontendPort: 53}, Limit: moat.LimitSlimitPps, Start: start, End: start.Add(2 * time.Minute), Peak: 900}},
		{IP: "203.0.113.5", MitigationEvent: moat.MitigationEvent{PortKey: moat.PortKey{InstanceID: "ddoscoo-cn-a", Protocol: "tcp", FrontendPort: 80}, Limit: moat.LimitSlimitCps, Start: start, End: start.Add(time.Minute), Peak: 400}},
	}}
	h := &handlers{svc: f}
	params := map[string]string{"InstanceIds.1": "ddoscoo-cn-a", "StartTime": "1582992000", "PageNumber": "2", "PageSize": "3"}
	body, call, err := invoke(t, acs.Handle(h.DescribeDDoSEvents), params)
	want := `{"RequestId":"","Total":7,"DDoSEvents":[` +
		`{"Ip":"203.0.113.5","Port":"80","EventType":"defense","StartTime":1582992090,"EndTime":1582992150,"Bps":2000000,"Pps":0,"Region":"cn"},` +
		`{"Ip":"203.0.113.5","Port":"53","EventType":"defense","StartTime":1582992090,"EndTime":1582992210,"Bps":0,"Pps":900,"Region":"cn"},` +
		`{"Ip":"203.0.113.5","Port":"80","EventType":"defense","StartTime":1582992090,"EndTime":1582992150,"Bps":0,"Pps":0,"Region":"cn"}]}`
	if err != nil || body != want {
		t.Errorf("DescribeDDoSEvents: %v\n%s\nwant\n%s", err, body, want)
	}
	if !f.eq.End.IsZero() || !f.eq.Start.Equal(statsT0) || f.eq.PageNumber != 2 || f.eq.PageSize != 3 || len(call.Resources) != 1 {
		t.Errorf("query %+v, resources %v", f.eq, call.Resources)
	}
	if _, _, err := invoke(t, acs.Handle(h.DescribeDDoSEvents), maps(params, "EndTime", "1582995600")); err != nil || !f.eq.End.Equal(statsT0.Add(time.Hour)) {
		t.Errorf("EndTime: %v, %+v", err, f.eq)
	}

	all := map[string]string{"StartTime": "1582992000", "EndTime": "1582995600", "PageNumber": "1", "PageSize": "10", "EventType": "defense,cc", "Ip": "203.0.113.5"}
	call = &acs.Call{Action: "X", RequestID: "R", Caller: portCaller, Params: maps(all, "RegionId", "ap-southeast-1")}
	resp, err := acs.Handle(h.DescribeDDosAllEventList).Invoke(context.Background(), call)
	if err != nil {
		t.Fatal(err)
	}
	got := resp.(*DescribeDDosAllEventListResponse)
	if got.Total != 7 || len(got.AttackEvents) != 3 || got.AttackEvents[0] != (AttackEvent{EventType: "defense", Ip: "203.0.113.5", Port: "80", StartTime: 1582992090, EndTime: 1582992150, Mbps: 2, Area: "alb-ap-southeast-gf-x"}) || got.AttackEvents[1].Pps != 900 {
		t.Errorf("DescribeDDosAllEventList: %+v", got)
	}
	if f.region != moat.RegionOverseas || f.eq.IP != "203.0.113.5" || len(f.eq.Types) != 2 || f.eq.Types[1] != "cc" || f.eq.InstanceIDs != nil || len(call.Resources) != 0 {
		t.Errorf("query %+v in %s, resources %v", f.eq, f.region, call.Resources)
	}

	f.calls = 0
	_, _, err = invoke(t, acs.Handle(h.DescribeDDosAllEventList), maps(all, "EventType", "defense,,cc"))
	wantCode(t, "empty EventType item", err, moat.CodeInvalidParameter, "EventType")
	for _, bad := range []struct{ name, value string }{{"PageNumber", "0"}, {"PageSize", "-1"}} {
		_, _, err := invoke(t, acs.Handle(h.DescribeDDosAllEventList), maps(all, bad.name, bad.value))
		wantCode(t, bad.name+"="+bad.value, err, moat.CodeInvalidParameter, bad.name)
		_, _, err = invoke(t, acs.Handle(h.DescribeDDoSEvents), maps(params, bad.name, bad.value))
		wantCode(t, "events "+bad.name+"="+bad.value, err, moat.CodeInvalidParameter, bad.name)
	}
	if f.calls != 0 {
		t.Errorf("the service was called %d times for bad input", f.calls)
	}
}
