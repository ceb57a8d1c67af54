package ddoscoo

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"moat/internal/acs"
	"moat/internal/moat"
)

// listCall is one source-list or UDP-reflection call a listFake received.
type listCall struct {
	method    string
	caller    moat.Caller
	region    moat.Region
	id        string
	list      moat.SourceListKind
	ips       []string
	ttl       time.Duration
	ports     []int
	typ       string
	q         moat.SourceQuery
	requestID string
}

// listFake records the source-list and UDP-reflection calls and answers
// them with its fields; any other method panics.
type listFake struct {
	Service
	calls     []listCall
	err       error
	entries   []moat.SourceEntry
	total     int64
	black     int
	white     int
	ports     []int
	views     []moat.InstanceView
	viewCalls [][]string
}

func (f *listFake) AddSourceEntries(_ context.Context, c moat.Caller, r moat.Region, id string, l moat.SourceListKind, ips []string, ttl time.Duration, rid string) error {
	f.calls = append(f.calls, listCall{method: "add", caller: c, region: r, id: id, list: l, ips: ips, ttl: ttl, requestID: rid})
	return f.err
}

func (f *listFake) DeleteSourceEntries(_ context.Context, c moat.Caller, r moat.Region, id string, l moat.SourceListKind, ips []string, rid string) error {
	f.calls = append(f.calls, listCall{method: "delete", caller: c, region: r, id: id, list: l, ips: ips, requestID: rid})
	return f.err
}

func (f *listFake) EmptySourceList(_ context.Context, c moat.Caller, r moat.Region, id string, l moat.SourceListKind, rid string) error {
	f.calls = append(f.calls, listCall{method: "empty", caller: c, region: r, id: id, list: l, requestID: rid})
	return f.err
}

func (f *listFake) SourceEntries(_ context.Context, c moat.Caller, r moat.Region, id string, l moat.SourceListKind, q moat.SourceQuery) ([]moat.SourceEntry, int64, error) {
	f.calls = append(f.calls, listCall{method: "entries", caller: c, region: r, id: id, list: l, q: q})
	return f.entries, f.total, f.err
}

func (f *listFake) SourceCounts(_ context.Context, c moat.Caller, r moat.Region, id, typ string) (int, int, error) {
	f.calls = append(f.calls, listCall{method: "counts", caller: c, region: r, id: id, typ: typ})
	return f.black, f.white, f.err
}

func (f *listFake) SetUDPReflect(_ context.Context, c moat.Caller, r moat.Region, id string, ports []int, rid string) error {
	f.calls = append(f.calls, listCall{method: "setudp", caller: c, region: r, id: id, ports: ports, requestID: rid})
	return f.err
}

func (f *listFake) UDPReflect(_ context.Context, c moat.Caller, r moat.Region, id string) ([]int, error) {
	f.calls = append(f.calls, listCall{method: "udp", caller: c, region: r, id: id})
	return f.ports, f.err
}

func (f *listFake) Instances(_ context.Context, _ moat.Caller, _ moat.Region, ids []string) ([]moat.InstanceView, error) {
	f.viewCalls = append(f.viewCalls, ids)
	return f.views, nil
}

var listCaller = moat.Caller{AccountID: "1000000000000001", AccessKeyID: "AK1"}

const listInstance = "ddoscoo-cn-lists01"

// invokeList runs one action of the product's table with params (plus
// RegionId ap-southeast-1 and InstanceId unless given) on f.
func invokeList(t *testing.T, f *listFake, action string, params map[string]string) (any, error) {
	t.Helper()
	a, ok := Product(f).Actions[action]
	if !ok {
		t.Fatalf("%s is not registered", action)
	}
	p := map[string]string{"RegionId": "ap-southeast-1", "InstanceId": listInstance}
	for k, v := range params {
		p[k] = v
	}
	call := &acs.Call{Action: action, Caller: listCaller, Params: p, RequestID: "REQ-" + action}
	return a.Invoke(context.Background(), call)
}

// srcJSON is a Blacklist/Whitelist value naming ips.
func srcJSON(ips ...string) string {
	items := make([]string, len(ips))
	for i, ip := range ips {
		items[i] = fmt.Sprintf(`{"src":%q}`, ip)
	}
	return "[" + strings.Join(items, ",") + "]"
}

// TestSourceListWritesPassThrough pins the write handlers against a fake:
// the list, the addresses in the order given, the expiry in seconds (the
// whitelist's deprecated ExpireTime ignored), the caller, the region and
// the call's RequestId reach the service unchanged.
func TestSourceListWritesPassThrough(t *testing.T) {
	base := listCall{caller: listCaller, region: moat.RegionOverseas, id: listInstance}
	with := func(c listCall, action string) listCall {
		c.caller, c.region, c.id, c.requestID = base.caller, base.region, base.id, "REQ-"+action
		return c
	}
	cases := []struct {
		action string
		params map[string]string
		want   listCall
	}{
		{"AddAutoCcBlacklist", map[string]string{"Blacklist": srcJSON("198.51.100.7", "203.0.113.9"), "ExpireTime": "300"},
			listCall{method: "add", list: moat.Blacklist, ips: []string{"198.51.100.7", "203.0.113.9"}, ttl: 300 * time.Second}},
		{"AddAutoCcBlacklist", map[string]string{"Blacklist": ` [ {"src":"198.51.100.7","note":"x"} ] `, "ExpireTime": "604800"},
			listCall{method: "add", list: moat.Blacklist, ips: []string{"198.51.100.7"}, ttl: 7 * 24 * time.Hour}},
		{"AddAutoCcWhitelist", map[string]string{"Whitelist": srcJSON("198.51.100.8"), "ExpireTime": "0"},
			listCall{method: "add", list: moat.Whitelist, ips: []string{"198.51.100.8"}}},
		{"AddAutoCcWhitelist", map[string]string{"Whitelist": srcJSON("198.51.100.8")},
			listCall{method: "add", list: moat.Whitelist, ips: []string{"198.51.100.8"}}},
		{"DeleteAutoCcBlacklist", map[string]string{"Blacklist": srcJSON("198.51.100.7")},
			listCall{method: "delete", list: moat.Blacklist, ips: []string{"198.51.100.7"}}},
		{"DeleteAutoCcWhitelist", map[string]string{"Whitelist": srcJSON("198.51.100.8")},
			listCall{method: "delete", list: moat.Whitelist, ips: []string{"198.51.100.8"}}},
		{"EmptyAutoCcBlacklist", nil, listCall{method: "empty", list: moat.Blacklist}},
		{"EmptyAutoCcWhitelist", nil, listCall{method: "empty", list: moat.Whitelist}},
		{"ConfigUdpReflect", map[string]string{"Config": `{"UdpSports":[17,19,123]}`}, listCall{method: "setudp", ports: []int{17, 19, 123}}},
		{"ConfigUdpReflect", map[string]string{"Config": `{"UdpSports":[]}`}, listCall{method: "setudp", ports: []int{}}},
	}
	for _, c := range cases {
		f := &listFake{}
		resp, err := invokeList(t, f, c.action, c.params)
		if err != nil || resp == nil {
			t.Errorf("%s %v = %v, %v; want a response", c.action, c.params, resp, err)
			continue
		}
		want := with(c.want, c.action)
		if len(f.calls) != 1 || !sameListCall(f.calls[0], want) {
			t.Errorf("%s %v: service calls %+v, want one %+v", c.action, c.params, f.calls, want)
		}
		if c.want.method == "setudp" && f.calls[0].ports == nil {
			t.Errorf("%s %v: ports nil, want an empty list (the filter off)", c.action, c.params)
		}
	}
}

func sameListCall(a, b listCall) bool {
	return a.method == b.method && a.caller == b.caller && a.region == b.region && a.id == b.id && a.list == b.list &&
		slices.Equal(a.ips, b.ips) && a.ttl == b.ttl && slices.Equal(a.ports, b.ports) && a.typ == b.typ && a.q == b.q && a.requestID == b.requestID
}

// TestSourceListRefusals pins what the handlers refuse before the service
// is asked: JSON that does not parse or has the wrong shape
// (InvalidParameter.JSONError naming the parameter and its shape), more
// addresses or ports than a list takes, an ExpireTime beyond int32, and
// missing parameters.
func TestSourceListRefusals(t *testing.T) {
	const blackShape = `Blacklist must be a JSON array of {"src":"<IPv4 address>"}, such as [{"src":"198.51.100.7"}].`
	const udpShape = `Config must be a JSON object {"UdpSports":[<source port>,…]} of integer ports, such as {"UdpSports":[17,19]}.`
	many := func(n int) string {
		ips := make([]string, n)
		for i := range ips {
			ips[i] = fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255)
		}
		return srcJSON(ips...)
	}
	ports := func(n int) string {
		ps := make([]string, n)
		for i := range ps {
			ps[i] = fmt.Sprint(i + 1)
		}
		return `{"UdpSports":[` + strings.Join(ps, ",") + `]}`
	}
	type refusal struct {
		action string
		params map[string]string
		code   moat.Code
		msg    string
	}
	var cases []refusal
	for _, bad := range []string{
		`not json`, ``, `null`, `{}`, `{"src":"198.51.100.7"}`, `"198.51.100.7"`, `[1]`, `["198.51.100.7"]`,
		`[{}]`, `[{"src":null}]`, `[{"src":5}]`, `[{"src":["198.51.100.7"]}]`, `[null]`,
		`[{"src":"198.51.100.7"}`, `[{"src":"198.51.100.7"}]]`, `[{"src":"198.51.100.7"}] []`,
		`[{"src":"198.51.100.7"} {"src":"198.51.100.8"}]`, `[{"src":"198.51.100.7"},]`, `[{"src":"198.51.100.7"`,
	} {
		cases = append(cases, refusal{"AddAutoCcBlacklist", map[string]string{"Blacklist": bad, "ExpireTime": "300"}, moat.CodeJSONError, blackShape})
		if bad == `` {
			cases[len(cases)-1].code, cases[len(cases)-1].msg = "MissingBlacklist", "Blacklist is mandatory for this action."
		}
	}
	cases = append(cases,
		refusal{"DeleteAutoCcBlacklist", map[string]string{"Blacklist": `[1]`}, moat.CodeJSONError, blackShape},
		refusal{"AddAutoCcWhitelist", map[string]string{"Whitelist": `[{"ip":"198.51.100.7"}]`}, moat.CodeJSONError, strings.ReplaceAll(blackShape, "Blacklist", "Whitelist")},
		refusal{"DeleteAutoCcWhitelist", map[string]string{"Whitelist": `{}`}, moat.CodeJSONError, strings.ReplaceAll(blackShape, "Blacklist", "Whitelist")},
		refusal{"AddAutoCcBlacklist", map[string]string{"Blacklist": many(2001), "ExpireTime": "300"}, moat.CodeInvalidParameter,
			"The specified parameter Blacklist value is not valid: a call names at most 2000 addresses."},
		refusal{"DeleteAutoCcWhitelist", map[string]string{"Whitelist": many(2001)}, moat.CodeInvalidParameter,
			"The specified parameter Whitelist value is not valid: a call names at most 2000 addresses."},
		refusal{"AddAutoCcBlacklist", map[string]string{"Blacklist": srcJSON("198.51.100.7"), "ExpireTime": "4294967596"}, moat.CodeInvalidParameter,
			`The specified parameter ExpireTime value "4294967596" is not valid: a blacklist entry lasts 300 to 604800 seconds.`},
		refusal{"AddAutoCcBlacklist", map[string]string{"Blacklist": srcJSON("198.51.100.7"), "ExpireTime": "5m"}, moat.CodeInvalidParameter,
			"The specified parameter ExpireTime value is not valid: it must be an integer."},
		refusal{"AddAutoCcBlacklist", map[string]string{"Blacklist": srcJSON("198.51.100.7")}, "MissingExpireTime", "ExpireTime is mandatory for this action."},
		refusal{"AddAutoCcWhitelist", map[string]string{}, "MissingWhitelist", "Whitelist is mandatory for this action."},
		refusal{"EmptyAutoCcBlacklist", map[string]string{"InstanceId": ""}, "MissingInstanceId", "InstanceId is mandatory for this action."},
		refusal{"DescribeAutoCcBlacklist", map[string]string{"PageSize": "10"}, "MissingPageNumber", "PageNumber is mandatory for this action."},
		refusal{"DescribeAutoCcWhitelist", map[string]string{"PageNumber": "1"}, "MissingPageSize", "PageSize is mandatory for this action."},
		refusal{"DescribeAutoCcWhitelist", map[string]string{"PageNumber": "0", "PageSize": "10"}, moat.CodeInvalidParameter,
			"The specified parameter PageNumber value is not valid: a positive integer."},
		refusal{"ConfigUdpReflect", map[string]string{}, "MissingConfig", "Config is mandatory for this action."},
		refusal{"ConfigUdpReflect", map[string]string{"Config": ports(101)}, moat.CodeInvalidParameter,
			"The specified parameter Config.UdpSports value is not valid: at most 100 source ports."},
	)
	for _, bad := range []string{
		`not json`, `null`, `[]`, `[17,19]`, `{}`, `{"UdpSports":null}`, `{"UdpSports":17}`, `{"UdpSports":["17"]}`,
		`{"UdpSports":[17.5]}`, `{"UdpSports":[1e2]}`, `{"UdpSports":[99999999999999999999]}`, `{"UdpSports":[17]} {}`,
		`{"UdpSports":[17}`, `{"UdpSports":[17,]}`,
	} {
		cases = append(cases, refusal{"ConfigUdpReflect", map[string]string{"Config": bad}, moat.CodeJSONError, udpShape})
	}
	for _, c := range cases {
		f := &listFake{}
		_, err := invokeList(t, f, c.action, c.params)
		if e := moat.AsError(err); e == nil || e.Code != c.code || e.Message != c.msg || e.Kind != moat.KindInvalid {
			t.Errorf("%s %.80q: %v, want %s %q", c.action, c.params, err, c.code, c.msg)
		}
		if len(f.calls) != 0 {
			t.Errorf("%s %.80q: the service was called: %+v", c.action, c.params, f.calls)
		}
	}

	// A list of exactly 2000 addresses and 100 ports reaches the service.
	f := &listFake{}
	if _, err := invokeList(t, f, "AddAutoCcBlacklist", map[string]string{"Blacklist": many(2000), "ExpireTime": "300"}); err != nil || len(f.calls) != 1 || len(f.calls[0].ips) != 2000 {
		t.Errorf("2000 addresses: %v, calls %d", err, len(f.calls))
	}
	if _, err := invokeList(t, f, "ConfigUdpReflect", map[string]string{"Config": ports(100)}); err != nil || len(f.calls) != 2 || len(f.calls[1].ports) != 100 {
		t.Errorf("100 ports: %v, calls %d", err, len(f.calls))
	}
}

// TestSourceListServiceErrors pins that a service error reaches the
// client as it is, for every action.
func TestSourceListServiceErrors(t *testing.T) {
	notFound := moat.Errorf(moat.CodeInstanceNotFound, "The specified instance %q is not found.", listInstance)
	params := map[string]map[string]string{
		"AddAutoCcBlacklist":      {"Blacklist": srcJSON("198.51.100.7"), "ExpireTime": "300"},
		"DeleteAutoCcBlacklist":   {"Blacklist": srcJSON("198.51.100.7")},
		"DescribeAutoCcBlacklist": {"PageNumber": "1", "PageSize": "10"},
		"EmptyAutoCcBlacklist":    {},
		"AddAutoCcWhitelist":      {"Whitelist": srcJSON("198.51.100.7")},
		"DeleteAutoCcWhitelist":   {"Whitelist": srcJSON("198.51.100.7")},
		"DescribeAutoCcWhitelist": {"PageNumber": "1", "PageSize": "10"},
		"EmptyAutoCcWhitelist":    {},
		"DescribeAutoCcListCount": {},
		"ConfigUdpReflect":        {"Config": `{"UdpSports":[17]}`},
		"DescribeUdpReflect":      {},
	}
	for action, p := range params {
		f := &listFake{err: notFound}
		if _, err := invokeList(t, f, action, p); !errors.Is(err, notFound) {
			t.Errorf("%s: %v, want the service's %v", action, err, notFound)
		}
		if len(f.calls) != 1 || len(f.viewCalls) != 0 {
			t.Errorf("%s: calls %+v, instance reads %v; want one call and no read", action, f.calls, f.viewCalls)
		}
	}
}

// TestDescribeSourceLists pins the listings' shape: the query passed on,
// each entry with the instance's IP as DestIp, EndTime in UNIX seconds
// (0 for an entry that never expires), Type, and TotalCount; an empty page
// reads no instance and is an empty list, not null.
func TestDescribeSourceLists(t *testing.T) {
	now := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	f := &listFake{
		entries: []moat.SourceEntry{
			{InstanceID: listInstance, List: moat.Blacklist, IP: "198.51.100.7", Type: moat.SourceManual, Expires: now.Add(300*time.Second + 400*time.Millisecond), Created: now},
			{InstanceID: listInstance, List: moat.Blacklist, IP: "198.51.100.9", Type: moat.SourceAuto, Created: now},
		},
		total: 12,
		views: []moat.InstanceView{{Instance: moat.Instance{ID: listInstance, IP: "203.0.113.50"}}},
	}
	resp, err := invokeList(t, f, "DescribeAutoCcBlacklist", map[string]string{"PageNumber": "2", "PageSize": "2", "KeyWord": "198.51", "QueryType": "manual"})
	if err != nil {
		t.Fatalf("DescribeAutoCcBlacklist: %v", err)
	}
	got := resp.(*DescribeAutoCcBlacklistResponse)
	want := []AutoCcEntry{
		{SourceIp: "198.51.100.7", DestIp: "203.0.113.50", EndTime: now.Unix() + 300, Type: "manual"},
		{SourceIp: "198.51.100.9", DestIp: "203.0.113.50", EndTime: 0, Type: "auto"},
	}
	if got.TotalCount != 12 || !slices.Equal(got.AutoCcBlacklist, want) {
		t.Errorf("DescribeAutoCcBlacklist = %d %+v, want 12 %+v", got.TotalCount, got.AutoCcBlacklist, want)
	}
	wantQ := moat.SourceQuery{KeyWord: "198.51", Type: "manual", PageNumber: 2, PageSize: 2}
	if len(f.calls) != 1 || f.calls[0].list != moat.Blacklist || f.calls[0].q != wantQ || f.calls[0].region != moat.RegionOverseas || f.calls[0].caller != listCaller {
		t.Errorf("service calls %+v, want one blacklist query %+v", f.calls, wantQ)
	}
	if len(f.viewCalls) != 1 || !slices.Equal(f.viewCalls[0], []string{listInstance}) {
		t.Errorf("instance reads %v, want one of [%s]", f.viewCalls, listInstance)
	}

	f = &listFake{total: 3}
	resp, err = invokeList(t, f, "DescribeAutoCcWhitelist", map[string]string{"PageNumber": "9", "PageSize": "50", "QueryType": "auto"})
	if err != nil {
		t.Fatalf("DescribeAutoCcWhitelist: %v", err)
	}
	white := resp.(*DescribeAutoCcWhitelistResponse)
	if white.TotalCount != 3 || white.AutoCcWhitelist == nil || len(white.AutoCcWhitelist) != 0 {
		t.Errorf("DescribeAutoCcWhitelist past the end = %d %#v, want 3 and an empty list", white.TotalCount, white.AutoCcWhitelist)
	}
	wantQ = moat.SourceQuery{PageNumber: 9, PageSize: 50}
	if len(f.calls) != 1 || f.calls[0].list != moat.Whitelist || f.calls[0].q != wantQ || len(f.viewCalls) != 0 {
		t.Errorf("service calls %+v, instance reads %v; want one whitelist query %+v and no read", f.calls, f.viewCalls, wantQ)
	}
}

// TestSourceCountsAndUDPReflect pins DescribeAutoCcListCount (QueryType
// passed on) and DescribeUdpReflect (ports as strings, none as []).
func TestSourceCountsAndUDPReflect(t *testing.T) {
	f := &listFake{black: 7, white: 2}
	resp, err := invokeList(t, f, "DescribeAutoCcListCount", map[string]string{"QueryType": "manual"})
	if err != nil {
		t.Fatalf("DescribeAutoCcListCount: %v", err)
	}
	if got := resp.(*DescribeAutoCcListCountResponse); got.BlackCount != 7 || got.WhiteCount != 2 {
		t.Errorf("DescribeAutoCcListCount = %+v, want 7 and 2", got)
	}
	if len(f.calls) != 1 || f.calls[0].typ != "manual" || f.calls[0].id != listInstance {
		t.Errorf("service calls %+v, want one count of manual entries", f.calls)
	}

	f = &listFake{ports: []int{17, 19, 11211}}
	resp, err = invokeList(t, f, "DescribeUdpReflect", nil)
	if err != nil {
		t.Fatalf("DescribeUdpReflect: %v", err)
	}
	if got := resp.(*DescribeUdpReflectResponse).UdpSports; !slices.Equal(got, []string{"17", "19", "11211"}) {
		t.Errorf("UdpSports = %q, want [17 19 11211] as strings", got)
	}
	f = &listFake{}
	resp, err = invokeList(t, f, "DescribeUdpReflect", nil)
	if got := resp.(*DescribeUdpReflectResponse).UdpSports; err != nil || got == nil || len(got) != 0 {
		t.Errorf("UdpSports with the filter off = %#v, %v; want []", got, err)
	}
}

// TestSourceListRegistry pins that every source-list and UDP-reflection
// action is judged by RAM on its InstanceId and is not a listing.
func TestSourceListRegistry(t *testing.T) {
	p := Product(nil)
	for _, name := range []string{
		"AddAutoCcBlacklist", "DeleteAutoCcBlacklist", "DescribeAutoCcBlacklist", "EmptyAutoCcBlacklist",
		"AddAutoCcWhitelist", "DeleteAutoCcWhitelist", "DescribeAutoCcWhitelist", "EmptyAutoCcWhitelist",
		"DescribeAutoCcListCount", "ConfigUdpReflect", "DescribeUdpReflect",
	} {
		a, ok := p.Actions[name]
		if !ok {
			t.Errorf("%s: not registered", name)
			continue
		}
		if !slices.Equal(a.ResourceParams(), []string{"InstanceId"}) || a.IsListing() {
			t.Errorf("%s: resources %v, listing %v; want [InstanceId], false", name, a.ResourceParams(), a.IsListing())
		}
	}
}
