package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"strconv"
	"testing"
	"time"

	ddoscoov3 "github.com/alibabacloud-go/ddoscoo-20200101/v2/client"
	"github.com/alibabacloud-go/tea/tea"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ddoscoo"

	"moat/internal/admin"
)

// The layer-4 statistics read through the official clients after a known
// traffic pattern. Every figure is read through sdk-go v1 (its ddoscoo
// package; DescribeDDoSEvents, which it lacks, as a CommonRequest) and
// through the generated v3 client, and the two must agree.

// statsFigures is what the test reads of the six actions.
type statsFigures struct {
	// DescribePortFlowList over one 600 s point.
	InBps, OutBps, InPps, OutPps, AttackPps int64
	// DescribePortConnsCount of port 8081.
	Conns, ActConns, InActConns, Cps int64
	// DescribePortConnsList of port 8081 (Interval 60): the highest
	// Conns and InActConns of a point, and how many points.
	ListConns, ListInAct int64
	ListPoints           int
	// DescribePortMaxConns as "ip:port/cps".
	MaxConns []string
	// DescribeDDoSEvents and DescribeDDosAllEventList.
	Events    int64
	EventList []statsEvent
	AllEvents int64
	AllList   []statsEvent
}

type statsEvent struct {
	Ip, Port, EventType, Region string
	StartTime, EndTime          int64
	Bps, Pps                    int64 // Mbps for DescribeDDosAllEventList
}

// statsV3 reads the figures through the v3 client.
func statsV3(t *testing.T, c *ddoscoov3.Client, id string, from, to time.Time) statsFigures {
	t.Helper()
	ids := tea.StringSlice([]string{id})
	var f statsFigures
	flow, err := c.DescribePortFlowList((&ddoscoov3.DescribePortFlowListRequest{}).SetInstanceIds(ids).
		SetStartTime(from.Unix()).SetEndTime(to.Unix()).SetInterval(600))
	if err != nil {
		t.Fatalf("v3 DescribePortFlowList: %v", err)
	}
	for _, p := range flow.Body.PortFlowList {
		f.InBps += tea.Int64Value(p.InBps)
		f.OutBps += tea.Int64Value(p.OutBps)
		f.InPps += tea.Int64Value(p.InPps)
		f.OutPps += tea.Int64Value(p.OutPps)
		f.AttackPps += tea.Int64Value(p.AttackPps)
	}
	cc, err := c.DescribePortConnsCount((&ddoscoov3.DescribePortConnsCountRequest{}).SetInstanceIds(ids).
		SetStartTime(from.Unix()).SetEndTime(to.Unix()).SetPort("8081"))
	if err != nil {
		t.Fatalf("v3 DescribePortConnsCount: %v", err)
	}
	f.Conns, f.ActConns, f.InActConns, f.Cps = tea.Int64Value(cc.Body.Conns), tea.Int64Value(cc.Body.ActConns), tea.Int64Value(cc.Body.InActConns), tea.Int64Value(cc.Body.Cps)
	cl, err := c.DescribePortConnsList((&ddoscoov3.DescribePortConnsListRequest{}).SetInstanceIds(ids).
		SetStartTime(from.Unix()).SetEndTime(to.Unix()).SetInterval(60).SetPort("8081"))
	if err != nil {
		t.Fatalf("v3 DescribePortConnsList: %v", err)
	}
	f.ListPoints = len(cl.Body.ConnsList)
	for _, p := range cl.Body.ConnsList {
		f.ListConns = max(f.ListConns, tea.Int64Value(p.Conns))
		f.ListInAct = max(f.ListInAct, tea.Int64Value(p.InActConns))
	}
	mc, err := c.DescribePortMaxConns((&ddoscoov3.DescribePortMaxConnsRequest{}).SetInstanceIds(ids).
		SetStartTime(from.Unix()).SetEndTime(to.Unix()))
	if err != nil {
		t.Fatalf("v3 DescribePortMaxConns: %v", err)
	}
	for _, p := range mc.Body.PortMaxConns {
		f.MaxConns = append(f.MaxConns, tea.StringValue(p.Ip)+":"+tea.StringValue(p.Port)+"/"+strconv.FormatInt(tea.Int64Value(p.Cps), 10))
	}
	ev, err := c.DescribeDDoSEvents((&ddoscoov3.DescribeDDoSEventsRequest{}).SetInstanceIds(ids).
		SetStartTime(from.Unix()).SetEndTime(to.Unix()).SetPageNumber(1).SetPageSize(10))
	if err != nil {
		t.Fatalf("v3 DescribeDDoSEvents: %v", err)
	}
	f.Events = tea.Int64Value(ev.Body.Total)
	for _, e := range ev.Body.DDoSEvents {
		f.EventList = append(f.EventList, statsEvent{Ip: tea.StringValue(e.Ip), Port: tea.StringValue(e.Port), EventType: tea.StringValue(e.EventType),
			Region: tea.StringValue(e.Region), StartTime: tea.Int64Value(e.StartTime), EndTime: tea.Int64Value(e.EndTime),
			Bps: tea.Int64Value(e.Bps), Pps: tea.Int64Value(e.Pps)})
	}
	all, err := c.DescribeDDosAllEventList((&ddoscoov3.DescribeDDosAllEventListRequest{}).SetStartTime(from.Unix()).SetEndTime(to.Unix()).
		SetPageNumber(1).SetPageSize(10).SetEventType("defense"))
	if err != nil {
		t.Fatalf("v3 DescribeDDosAllEventList: %v", err)
	}
	f.AllEvents = tea.Int64Value(all.Body.Total)
	for _, e := range all.Body.AttackEvents {
		f.AllList = append(f.AllList, statsEvent{Ip: tea.StringValue(e.Ip), Port: tea.StringValue(e.Port), EventType: tea.StringValue(e.EventType),
			Region: tea.StringValue(e.Area), StartTime: tea.Int64Value(e.StartTime), EndTime: tea.Int64Value(e.EndTime),
			Bps: tea.Int64Value(e.Mbps), Pps: tea.Int64Value(e.Pps)})
	}
	return f
}

// statsV1 reads the same figures through sdk-go v1.
func statsV1(t *testing.T, c *ddoscoo.Client, id string, from, to time.Time) statsFigures {
	t.Helper()
	ids := &[]string{id}
	start, end := requests.NewInteger64(from.Unix()), requests.NewInteger64(to.Unix())
	var f statsFigures

	fr := ddoscoo.CreateDescribePortFlowListRequest()
	fr.InstanceIds, fr.StartTime, fr.EndTime, fr.Interval = ids, start, end, requests.NewInteger(600)
	flow, err := c.DescribePortFlowList(fr)
	if err != nil {
		t.Fatalf("v1 DescribePortFlowList: %v", err)
	}
	for _, p := range flow.PortFlowList {
		f.InBps += p.InBps
		f.OutBps += p.OutBps
		f.InPps += p.InPps
		f.OutPps += p.OutPps
		f.AttackPps += p.AttackPps
	}
	ccr := ddoscoo.CreateDescribePortConnsCountRequest()
	ccr.InstanceIds, ccr.StartTime, ccr.EndTime, ccr.Port = ids, start, end, "8081"
	cc, err := c.DescribePortConnsCount(ccr)
	if err != nil {
		t.Fatalf("v1 DescribePortConnsCount: %v", err)
	}
	f.Conns, f.ActConns, f.InActConns, f.Cps = cc.Conns, cc.ActConns, cc.InActConns, cc.Cps
	clr := ddoscoo.CreateDescribePortConnsListRequest()
	clr.InstanceIds, clr.StartTime, clr.EndTime, clr.Interval, clr.Port = ids, start, end, requests.NewInteger(60), "8081"
	cl, err := c.DescribePortConnsList(clr)
	if err != nil {
		t.Fatalf("v1 DescribePortConnsList: %v", err)
	}
	f.ListPoints = len(cl.ConnsList)
	for _, p := range cl.ConnsList {
		f.ListConns = max(f.ListConns, p.Conns)
		f.ListInAct = max(f.ListInAct, p.InActConns)
	}
	mcr := ddoscoo.CreateDescribePortMaxConnsRequest()
	mcr.InstanceIds, mcr.StartTime, mcr.EndTime = ids, start, end
	mc, err := c.DescribePortMaxConns(mcr)
	if err != nil {
		t.Fatalf("v1 DescribePortMaxConns: %v", err)
	}
	for _, p := range mc.PortMaxConns {
		f.MaxConns = append(f.MaxConns, p.Ip+":"+p.Port+"/"+strconv.FormatInt(p.Cps, 10))
	}

	// sdk-go v1 has no DescribeDDoSEvents: a CommonRequest, as the aliyun
	// CLI sends it.
	req := requests.NewCommonRequest()
	req.Method, req.Product, req.Version, req.ApiName = "POST", "ddoscoo", "2020-01-01", "DescribeDDoSEvents"
	req.QueryParams["InstanceIds.1"] = id
	req.QueryParams["StartTime"] = strconv.FormatInt(from.Unix(), 10)
	req.QueryParams["EndTime"] = strconv.FormatInt(to.Unix(), 10)
	req.QueryParams["PageNumber"], req.QueryParams["PageSize"] = "1", "10"
	resp, err := c.ProcessCommonRequest(req)
	if err != nil {
		t.Fatalf("v1 DescribeDDoSEvents: %v", err)
	}
	var ev struct {
		Total      int64
		DDoSEvents []statsEvent
	}
	if err := json.Unmarshal(resp.GetHttpContentBytes(), &ev); err != nil {
		t.Fatalf("v1 DescribeDDoSEvents: %v", err)
	}
	f.Events, f.EventList = ev.Total, ev.DDoSEvents

	ar := ddoscoo.CreateDescribeDDosAllEventListRequest()
	ar.StartTime, ar.EndTime, ar.PageNumber, ar.PageSize, ar.EventType = start, end, requests.NewInteger(1), requests.NewInteger(10), "defense"
	all, err := c.DescribeDDosAllEventList(ar)
	if err != nil {
		t.Fatalf("v1 DescribeDDosAllEventList: %v", err)
	}
	f.AllEvents = all.Total
	for _, e := range all.AttackEvents {
		f.AllList = append(f.AllList, statsEvent{Ip: e.Ip, Port: e.Port, EventType: e.EventType, Region: e.Area,
			StartTime: e.StartTime, EndTime: e.EndTime, Bps: e.Mbps, Pps: e.Pps})
	}
	return f
}

// statsEqual compares the two clients' readings (an empty list and none
// alike).
func statsEqual(a, b statsFigures) bool {
	for _, f := range []*statsFigures{&a, &b} {
		if len(f.MaxConns) == 0 {
			f.MaxConns = nil
		}
		if len(f.EventList) == 0 {
			f.EventList = nil
		}
		if len(f.AllList) == 0 {
			f.AllList = nil
		}
	}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return bytes.Equal(ja, jb)
}

// echoSized connects from src, sends n bytes, half-closes and reports
// whether the same bytes came back.
func echoSized(src, addr string, n int) bool {
	d := net.Dialer{Timeout: 2 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		return false
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	msg := bytes.Repeat([]byte{'m'}, n)
	if _, err := c.Write(msg); err != nil {
		return false
	}
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		return false
	}
	got, err := io.ReadAll(c)
	return err == nil && bytes.Equal(got, msg)
}

// TestDataplaneStatisticsClients: after 7,500 bytes echoed through port
// 8080 and four connections held open on port 8081 (75 bytes each way
// on each), both clients read InBps and OutBps of exactly 8 × 7,800 / 600
// over a 600 s point, four concurrent and four inactive connections on
// 8081, both ports in DescribePortMaxConns; then a flood from one source
// over Slimit Cps on 8080 shows as one defense event on the instance's
// address and port, and its refused connections as AttackPps.
func TestDataplaneStatisticsClients(t *testing.T) {
	s := dataplaneServer(t, "127.65.3.0/24")
	origin := tcpEcho(t)
	in := createSingle(t, s, admin.InstancesRequest{ExpireIn: "720h"})
	v3 := SDKv3(t, s, testKeyID, testKeySecret)
	v1 := SDKv1(t, s, "cn-hangzhou", testKeyID, testKeySecret)
	now := serverNow(t, s).Truncate(time.Minute)
	from, to := now.Add(-5*time.Minute), now.Add(5*time.Minute)
	for _, port := range []string{"8080", "8081"} {
		if _, err := v3.CreatePort((&ddoscoov3.CreatePortRequest{}).SetInstanceId(in.InstanceId).SetFrontendProtocol("tcp").SetFrontendPort(port).
			SetBackendPort(strconv.Itoa(origin.Port)).SetRealServers(tea.StringSlice([]string{"127.0.0.1"}))); err != nil {
			t.Fatalf("CreatePort %s: %v", port, err)
		}
	}
	front, held := net.JoinHostPort(in.Ip, "8080"), net.JoinHostPort(in.Ip, "8081")
	eventually(t, 3*time.Second, "port 8080 forwards", func() bool { return echoSized("127.0.0.2", front, 750) })
	for i := range 9 {
		if !echoSized("127.0.0.2", front, 750) {
			t.Fatalf("echo %d on 8080 failed", i)
		}
	}
	// Port 8081 is tried without bytes until it accepts, then holds four
	// connections; nothing else ever connects to it.
	eventually(t, 3*time.Second, "port 8081 listens", func() bool {
		c, err := net.DialTimeout("tcp", held, time.Second)
		if err != nil {
			return false
		}
		c.Close()
		return true
	})
	probe := 1
	for i := range 4 {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.7")}}
		c, err := d.Dial("tcp", held)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		msg := bytes.Repeat([]byte{byte('a' + i)}, 75)
		if _, err := c.Write(msg); err != nil {
			t.Fatal(err)
		}
		got := make([]byte, 75)
		if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("held connection %d: echo %q, %v", i, got, err)
		}
	}
	const bytesIn = 10*750 + 4*75 // 7,800: a multiple of 75, so 8 × bytes / 600 s is whole
	ip := in.Ip

	var f, g statsFigures
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("last read: v3 %+v\nv1 %+v", f, g)
		}
	})
	eventually(t, 10*time.Second, "both clients read the known traffic", func() bool {
		f = statsV3(t, v3, in.InstanceId, from, to)
		g = statsV1(t, v1, in.InstanceId, from, to)
		// The probe connection that found 8081 listening is one of the
		// five concurrent connections at most; it carried no bytes.
		return statsEqual(f, g) && f.InBps == 8*bytesIn/600 && f.OutBps == 8*bytesIn/600 && f.InActConns == 4 &&
			f.ListInAct == 4 && len(f.MaxConns) == 2
	})
	if f.InPps < 1 || f.OutPps < 1 {
		t.Fatalf("InPps %d OutPps %d, want packets counted both ways", f.InPps, f.OutPps)
	}
	if f.Conns < 4 || f.Conns > int64(4+probe) || f.ListConns != f.Conns {
		t.Fatalf("port 8081: Conns %d (ConnsList's highest %d), want the 4 held", f.Conns, f.ListConns)
	}
	// A bucket keeps the active and inactive counts of its last flush:
	// the held connections are active only in a minute whose last flush
	// followed their bytes.
	if f.ActConns > 4 || f.Cps != 1 {
		t.Fatalf("port 8081: ActConns %d Cps %d, want at most the 4 held and 1 (5 new connections in a minute, rounded up)", f.ActConns, f.Cps)
	}
	// One point per minute of the span that has begun: from the span's
	// start to the minute of the read (which may be a minute or two past
	// the one the span was cut at, the test's reads taking time).
	begun := int(serverNow(t, s).Sub(from)/time.Minute) + 1
	if f.ListPoints < 6 || f.ListPoints > begun {
		t.Fatalf("DescribePortConnsList has %d points, want the minutes that began in the span (6 to %d)", f.ListPoints, begun)
	}
	if want := []string{ip + ":8080/1", ip + ":8081/1"}; len(f.MaxConns) != 2 || f.MaxConns[0] != want[0] || f.MaxConns[1] != want[1] {
		t.Fatalf("DescribePortMaxConns %v, want %v (the busier port first)", f.MaxConns, want)
	}
	if f.Events != 0 || f.AllEvents != 0 || f.AttackPps != 0 {
		t.Fatalf("events %d/%d and AttackPps %d before any limit", f.Events, f.AllEvents, f.AttackPps)
	}

	// A flood from 127.0.0.9 over Slimit Cps 5 on 8080.
	if _, err := v3.ModifyNetworkRuleAttribute((&ddoscoov3.ModifyNetworkRuleAttributeRequest{}).SetInstanceId(in.InstanceId).
		SetForwardProtocol("tcp").SetFrontendPort(8080).SetConfig(`{"Slimit":{"Cps":5,"CpsEnable":1}}`)); err != nil {
		t.Fatalf("ModifyNetworkRuleAttribute: %v", err)
	}
	floodStart := serverNow(t, s).Unix()
	dropped := 0
	eventually(t, 5*time.Second, "a flood from 127.0.0.9 is cut to Slimit Cps", func() bool {
		n := echoBurst("127.0.0.9", front, 20)
		dropped += 20 - n
		return n >= 1 && n <= 8
	})
	floodEnd := serverNow(t, s).Unix()
	eventually(t, 10*time.Second, "both clients read the flood's event", func() bool {
		f = statsV3(t, v3, in.InstanceId, from, to)
		g = statsV1(t, v1, in.InstanceId, from, to)
		return statsEqual(f, g) && f.Events == 1 && f.AllEvents == 1 && f.AttackPps > 0
	})
	// Refused connections per second over the 600 s point, rounded up.
	if want := int64((dropped + 599) / 600); f.AttackPps != want {
		t.Fatalf("AttackPps %d, want %d for %d refused connections", f.AttackPps, want, dropped)
	}
	for name, e := range map[string]statsEvent{"DescribeDDoSEvents": f.EventList[0], "DescribeDDosAllEventList": f.AllList[0]} {
		if e.Ip != ip || e.Port != "8080" || e.EventType != "defense" || e.Region != "cn" {
			t.Fatalf("%s: %+v, want a defense event on %s:8080 in cn", name, e, ip)
		}
		if e.StartTime < floodStart-1 || e.StartTime > floodEnd || e.EndTime < e.StartTime {
			t.Fatalf("%s: event from %d to %d, want it to start during the flood (%d-%d)", name, e.StartTime, e.EndTime, floodStart, floodEnd)
		}
		// A connection-rate limit has no bit or packet rate to report.
		if e.Bps != 0 || e.Pps != 0 {
			t.Fatalf("%s: rates %d/%d of a connection-rate event, want 0", name, e.Bps, e.Pps)
		}
	}
}
