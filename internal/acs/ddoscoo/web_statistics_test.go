package ddoscoo

import (
	"context"
	"testing"
	"time"

	"moat/internal/acs"
	"moat/internal/moat"
)

// webStatsFake answers the website statistics calls with what the test
// set and records the query; other methods panic.
type webStatsFake struct {
	Service
	err    error
	calls  int
	region moat.Region
	q      moat.WebStatsQuery
	eq     moat.WebEventQuery

	qps    []moat.WebQPSPoint
	codes  []moat.WebStatusPoint
	tops   []moat.WebAttackTop
	events []moat.WebAttackView
	total  int64
}

func (f *webStatsFake) DomainQPS(_ context.Context, _ moat.Caller, r moat.Region, q moat.WebStatsQuery) ([]moat.WebQPSPoint, error) {
	f.calls, f.region, f.q = f.calls+1, r, q
	return f.qps, f.err
}

func (f *webStatsFake) DomainStatusCodes(_ context.Context, _ moat.Caller, r moat.Region, q moat.WebStatsQuery) ([]moat.WebStatusPoint, error) {
	f.calls, f.region, f.q = f.calls+1, r, q
	return f.codes, f.err
}

func (f *webStatsFake) DomainTopAttacks(_ context.Context, _ moat.Caller, r moat.Region, start, end time.Time) ([]moat.WebAttackTop, error) {
	f.calls, f.region, f.q = f.calls+1, r, moat.WebStatsQuery{Start: start, End: end}
	return f.tops, f.err
}

func (f *webStatsFake) DomainAttackEvents(_ context.Context, _ moat.Caller, r moat.Region, q moat.WebEventQuery) ([]moat.WebAttackView, int64, error) {
	f.calls, f.region, f.eq = f.calls+1, r, q
	return f.events, f.total, f.err
}

// TestDescribeDomainQPSListHandler pins DescribeDomainQPSList: counts to
// per-second averages over the point and peaks over a minute (rounded
// up), TotalCount exact, CacheHits 0, the domain as the call's resource,
// and the checks of Interval before the service is called.
func TestDescribeDomainQPSListHandler(t *testing.T) {
	f := &webStatsFake{qps: []moat.WebQPSPoint{
		{Index: 0, Time: statsT0, Seconds: 600, Requests: 1201, AttackRequests: 600, PeakRequests: 121, PeakAttacks: 60, PeakNormal: 61},
		{Index: 1, Time: statsT0.Add(600 * time.Second), Seconds: 600},
	}}
	a := acs.Handle((&handlers{svc: f}).DescribeDomainQPSList)
	params := map[string]string{"Domain": "www.example.com", "StartTime": "1582992000", "EndTime": "1582995600", "Interval": "600"}
	body, call, err := invoke(t, a, params)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"RequestId":"","DomainQPSList":[` +
		`{"Index":0,"Time":1582992000,"TotalQps":3,"AttackQps":1,"MaxQps":3,"MaxNormalQps":2,"MaxAttackQps":1,"TotalCount":1201,"CacheHits":0},` +
		`{"Index":1,"Time":1582992600,"TotalQps":0,"AttackQps":0,"MaxQps":0,"MaxNormalQps":0,"MaxAttackQps":0,"TotalCount":0,"CacheHits":0}]}`
	if body != want {
		t.Errorf("body\n%s\nwant\n%s", body, want)
	}
	wantQ := moat.WebStatsQuery{Domain: "www.example.com", Start: statsT0, End: statsT0.Add(time.Hour), Interval: 600 * time.Second}
	if f.q != wantQ || f.region != moat.RegionMainland {
		t.Errorf("query %+v in %s", f.q, f.region)
	}
	if len(call.Resources) != 1 || call.Resources[0] != moat.DomainResource("www.example.com") {
		t.Errorf("resources %v", call.Resources)
	}

	// Without Domain: every website, and no resource.
	_, call, err = invoke(t, a, maps(params, "Domain", ""))
	if err != nil || f.q.Domain != "" || len(call.Resources) != 0 {
		t.Errorf("without Domain: %v, query %+v, resources %v", err, f.q, call.Resources)
	}

	f.calls = 0
	for _, bad := range []struct{ name, value string }{{"Interval", "0"}, {"Interval", "-60"}, {"Interval", "99999999999"}, {"StartTime", "soon"}} {
		_, _, err := invoke(t, a, maps(params, bad.name, bad.value))
		wantCode(t, bad.name+"="+bad.value, err, moat.CodeInvalidParameter, bad.name)
	}
	for _, missing := range []string{"StartTime", "EndTime", "Interval"} {
		if _, _, err := invoke(t, a, maps(params, missing, "")); moat.AsError(err) == nil || moat.AsError(err).Kind != moat.KindInvalid {
			t.Errorf("without %s: %v", missing, err)
		}
	}
	if f.calls != 0 {
		t.Errorf("the service was called %d times for bad input", f.calls)
	}
	f.err = moat.Errorf(moat.CodeDomainNotExist, "The website %q does not exist.", "www.example.com")
	_, _, err = invoke(t, a, params)
	wantCode(t, "the service's error", err, moat.CodeDomainNotExist, "www.example.com")
}

// TestDescribeDomainStatusCodeListHandler pins DescribeDomainStatusCodeList:
// the classes and the listed codes as counted, Index an int32, EndTime
// optional (a zero End to the service), QueryType gf or upstrem only.
func TestDescribeDomainStatusCodeListHandler(t *testing.T) {
	p := moat.WebStatusPoint{Index: 0, Time: statsT0, Seconds: 60, Status2xx: 7, Status3xx: 1, Status4xx: 5, Status5xx: 2}
	for i, code := range moat.WebStatusCodes {
		p.Codes[i] = int64(code)
	}
	f := &webStatsFake{codes: []moat.WebStatusPoint{p}}
	a := acs.Handle((&handlers{svc: f}).DescribeDomainStatusCodeList)
	params := map[string]string{"Domain": "www.example.com", "StartTime": "1582992000", "EndTime": "1582992060", "Interval": "60", "QueryType": "gf"}
	body, _, err := invoke(t, a, params)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"RequestId":"","StatusCodeList":[{"Index":0,"Time":1582992000,"Status2XX":7,"Status200":200,"Status3XX":1,"Status4XX":5,` +
		`"Status403":403,"Status404":404,"Status405":405,"Status410":410,"Status499":499,"Status5XX":2,"Status501":501,"Status502":502,"Status503":503,"Status504":504}]}`
	if body != want {
		t.Errorf("body\n%s\nwant\n%s", body, want)
	}
	if !f.q.End.Equal(statsT0.Add(time.Minute)) || f.q.Interval != time.Minute {
		t.Errorf("query %+v", f.q)
	}
	if _, _, err := invoke(t, a, maps(maps(params, "EndTime", ""), "QueryType", "upstrem")); err != nil || !f.q.End.IsZero() {
		t.Errorf("upstrem without EndTime: %v, query %+v", err, f.q)
	}
	f.calls = 0
	_, _, err = invoke(t, a, maps(params, "QueryType", "origin"))
	wantCode(t, "QueryType origin", err, moat.CodeInvalidParameter, "QueryType")
	for _, missing := range []string{"StartTime", "Interval", "QueryType"} {
		if _, _, err := invoke(t, a, maps(params, missing, "")); moat.AsError(err) == nil || moat.AsError(err).Kind != moat.KindInvalid {
			t.Errorf("without %s: %v", missing, err)
		}
	}
	if f.calls != 0 {
		t.Errorf("the service was called %d times for bad input", f.calls)
	}
}

// TestDescribeDomainTopAttackListHandler pins DescribeDomainTopAttackList:
// the busiest minutes as requests per second, rounded up, in the
// service's order.
func TestDescribeDomainTopAttackListHandler(t *testing.T) {
	f := &webStatsFake{tops: []moat.WebAttackTop{{Domain: "b.example.com", PeakAttacks: 121, PeakRequests: 600}, {Domain: "a.example.com", PeakAttacks: 1, PeakRequests: 1}}}
	a := acs.Handle((&handlers{svc: f}).DescribeDomainTopAttackList)
	params := map[string]string{"StartTime": "1582992000", "EndTime": "1582995600"}
	body, call, err := invoke(t, a, params)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"RequestId":"","AttackList":[{"Domain":"b.example.com","Attack":3,"Count":10},{"Domain":"a.example.com","Attack":1,"Count":1}]}`
	if body != want {
		t.Errorf("body\n%s\nwant\n%s", body, want)
	}
	if !f.q.Start.Equal(statsT0) || !f.q.End.Equal(statsT0.Add(time.Hour)) || len(call.Resources) != 0 {
		t.Errorf("span %v-%v, resources %v", f.q.Start, f.q.End, call.Resources)
	}
	f.tops = nil
	if body, _, err := invoke(t, a, params); err != nil || body != `{"RequestId":"","AttackList":[]}` {
		t.Errorf("none: %s %v", body, err)
	}
	for _, missing := range []string{"StartTime", "EndTime"} {
		if _, _, err := invoke(t, a, maps(params, missing, "")); moat.AsError(err) == nil || moat.AsError(err).Kind != moat.KindInvalid {
			t.Errorf("without %s: %v", missing, err)
		}
	}
}

// TestDescribeDomainAttackEventsHandler pins DescribeDomainAttackEvents:
// times in seconds, the page passed on, TotalCount from the service, and
// a page of 0 refused before the service is called.
func TestDescribeDomainAttackEventsHandler(t *testing.T) {
	f := &webStatsFake{total: 3, events: []moat.WebAttackView{
		{Domain: "www.example.com", Start: statsT0.Add(90 * time.Second), End: statsT0.Add(200 * time.Second), PeakQPS: 42},
	}}
	a := acs.Handle((&handlers{svc: f}).DescribeDomainAttackEvents)
	params := map[string]string{"Domain": "www.example.com", "StartTime": "1582992000", "EndTime": "1582995600", "PageNumber": "3", "PageSize": "1"}
	body, call, err := invoke(t, a, params)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"RequestId":"","TotalCount":3,"DomainAttackEvents":[{"Domain":"www.example.com","StartTime":1582992090,"EndTime":1582992200,"MaxQps":42}]}`
	if body != want {
		t.Errorf("body\n%s\nwant\n%s", body, want)
	}
	wantQ := moat.WebEventQuery{Domain: "www.example.com", Start: statsT0, End: statsT0.Add(time.Hour), PageNumber: 3, PageSize: 1}
	if f.eq != wantQ || len(call.Resources) != 1 {
		t.Errorf("query %+v, resources %v", f.eq, call.Resources)
	}
	f.calls = 0
	for _, bad := range []string{"PageNumber", "PageSize"} {
		_, _, err := invoke(t, a, maps(params, bad, "-1"))
		wantCode(t, bad+"=-1", err, moat.CodeInvalidParameter, bad)
		if _, _, err := invoke(t, a, maps(params, bad, "")); moat.AsError(err) == nil || moat.AsError(err).Kind != moat.KindInvalid {
			t.Errorf("without %s: %v", bad, err)
		}
	}
	if f.calls != 0 {
		t.Errorf("the service was called %d times for bad input", f.calls)
	}
}
