package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	ddoscoov3 "github.com/alibabacloud-go/ddoscoo-20200101/v2/client"
	"github.com/alibabacloud-go/tea/tea"

	"moat/internal/admin"
)

// srcList is a Blacklist/Whitelist parameter naming ips.
func srcList(ips ...string) string {
	items := make([]string, len(ips))
	for i, ip := range ips {
		items[i] = fmt.Sprintf(`{"src":%q}`, ip)
	}
	return "[" + strings.Join(items, ",") + "]"
}

// serverNow is the server's clock.
func serverNow(t testing.TB, s *Server) time.Time {
	t.Helper()
	c, err := s.Admin.Clock(context.Background())
	if err != nil {
		t.Fatalf("clock: %v", err)
	}
	now, err := time.Parse(time.RFC3339Nano, c.Now)
	if err != nil {
		t.Fatalf("clock %q: %v", c.Now, err)
	}
	return now
}

// teaMessage is an SDKError's message without the RequestId the SDK
// appends to it.
func teaMessage(se *tea.SDKError) string {
	msg, _, _ := strings.Cut(tea.StringValue(se.Message), " request id: ")
	return msg
}

// autoCcEntry is an entry of DescribeAutoCcBlacklist/Whitelist as a test
// compares it.
type autoCcEntry struct {
	SourceIp, DestIp, Type string
	EndTime                int64
}

// listsV3 drives the source-list actions of one instance through the
// generated v3 client.
type listsV3 struct {
	t  *testing.T
	c  *ddoscoov3.Client
	id string
}

func (l listsV3) addBlack(ips string, ttl int32) (string, error) {
	r, err := l.c.AddAutoCcBlacklist((&ddoscoov3.AddAutoCcBlacklistRequest{}).SetInstanceId(l.id).SetBlacklist(ips).SetExpireTime(ttl))
	if err != nil {
		return "", err
	}
	return tea.StringValue(r.Body.RequestId), nil
}

func (l listsV3) addWhite(ips string) (string, error) {
	r, err := l.c.AddAutoCcWhitelist((&ddoscoov3.AddAutoCcWhitelistRequest{}).SetInstanceId(l.id).SetWhitelist(ips).SetExpireTime(0))
	if err != nil {
		return "", err
	}
	return tea.StringValue(r.Body.RequestId), nil
}

// black lists a page of the blacklist, entries sorted by address.
func (l listsV3) black(page, size int32, keyWord string) (int64, []autoCcEntry, error) {
	req := (&ddoscoov3.DescribeAutoCcBlacklistRequest{}).SetInstanceId(l.id).SetPageNumber(page).SetPageSize(size)
	if keyWord != "" {
		req.SetKeyWord(keyWord)
	}
	r, err := l.c.DescribeAutoCcBlacklist(req)
	if err != nil {
		return 0, nil, err
	}
	var out []autoCcEntry
	for _, e := range r.Body.AutoCcBlacklist {
		out = append(out, autoCcEntry{tea.StringValue(e.SourceIp), tea.StringValue(e.DestIp), tea.StringValue(e.Type), tea.Int64Value(e.EndTime)})
	}
	slices.SortFunc(out, func(a, b autoCcEntry) int { return strings.Compare(a.SourceIp, b.SourceIp) })
	return tea.Int64Value(r.Body.TotalCount), out, nil
}

// white lists the first page of 50 of the whitelist, sorted by address.
func (l listsV3) white() (int64, []autoCcEntry, error) {
	r, err := l.c.DescribeAutoCcWhitelist((&ddoscoov3.DescribeAutoCcWhitelistRequest{}).SetInstanceId(l.id).SetPageNumber(1).SetPageSize(50))
	if err != nil {
		return 0, nil, err
	}
	var out []autoCcEntry
	for _, e := range r.Body.AutoCcWhitelist {
		out = append(out, autoCcEntry{tea.StringValue(e.SourceIp), tea.StringValue(e.DestIp), tea.StringValue(e.Type), tea.Int64Value(e.EndTime)})
	}
	slices.SortFunc(out, func(a, b autoCcEntry) int { return strings.Compare(a.SourceIp, b.SourceIp) })
	return tea.Int64Value(r.Body.TotalCount), out, nil
}

func (l listsV3) counts(queryType string) (int32, int32, error) {
	req := (&ddoscoov3.DescribeAutoCcListCountRequest{}).SetInstanceId(l.id)
	if queryType != "" {
		req.SetQueryType(queryType)
	}
	r, err := l.c.DescribeAutoCcListCount(req)
	if err != nil {
		return 0, 0, err
	}
	return tea.Int32Value(r.Body.BlackCount), tea.Int32Value(r.Body.WhiteCount), nil
}

func (l listsV3) wantCounts(what string, black, white int32) {
	l.t.Helper()
	b, w, err := l.counts("")
	if err != nil || b != black || w != white {
		l.t.Fatalf("%s: DescribeAutoCcListCount = %d, %d, %v; want %d, %d", what, b, w, err, black, white)
	}
}

func (l listsV3) udp() ([]string, error) {
	r, err := l.c.DescribeUdpReflect((&ddoscoov3.DescribeUdpReflectRequest{}).SetInstanceId(l.id))
	if err != nil {
		return nil, err
	}
	return tea.StringSliceValue(r.Body.UdpSports), nil
}

func (l listsV3) configUDP(config string) (string, error) {
	r, err := l.c.ConfigUdpReflect((&ddoscoov3.ConfigUdpReflectRequest{}).SetInstanceId(l.id).SetConfig(config))
	if err != nil {
		return "", err
	}
	return tea.StringValue(r.Body.RequestId), nil
}

// TestRulesListsSDKv3 pins the source lists through the generated v3
// client: AddAutoCcBlacklist entries carry the instance IP as DestIp,
// EndTime in UNIX seconds ExpireTime after the call and Type manual;
// whitelist entries never expire (EndTime 0); KeyWord and paging narrow
// the listing; DescribeAutoCcListCount counts both lists; moving the
// server clock past an entry's expiry removes it from listings and
// counts; Delete and Empty remove entries; every change is a
// list_changed event with its RequestId.
func TestRulesListsSDKv3(t *testing.T) {
	s := StartServer(t)
	in := createSingle(t, s, admin.InstancesRequest{ExpireIn: "720h"})
	l := listsV3{t: t, c: SDKv3(t, s, testKeyID, testKeySecret), id: in.InstanceId}
	// writes maps each change's RequestId to the list it changed.
	writes := map[string]string{}
	write := func(what string, rid string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		wantRequestID(t, what, rid)
		writes[rid] = "blacklist"
		if strings.Contains(what, "Whitelist") {
			writes[rid] = "whitelist"
		}
	}

	l.wantCounts("a new instance", 0, 0)
	if total, list, err := l.black(1, 10, ""); err != nil || total != 0 || len(list) != 0 {
		t.Fatalf("empty blacklist = %d %v, %v", total, list, err)
	}

	before := serverNow(t, s)
	rid, err := l.addBlack(srcList("198.51.100.7", "203.0.113.9"), 300)
	write("AddAutoCcBlacklist 300 s", rid, err)
	rid, err = l.addBlack(srcList("198.51.100.20"), 3600)
	write("AddAutoCcBlacklist 3600 s", rid, err)
	after := serverNow(t, s)
	rid, err = l.addWhite(srcList("192.0.2.1", "192.0.2.2"))
	write("AddAutoCcWhitelist", rid, err)

	total, list, err := l.black(1, 10, "")
	if err != nil || total != 3 || len(list) != 3 {
		t.Fatalf("DescribeAutoCcBlacklist = %d %v, %v; want 3 entries", total, list, err)
	}
	for _, e := range list {
		ttl := int64(300)
		if e.SourceIp == "198.51.100.20" {
			ttl = 3600
		}
		if !slices.Contains([]string{"198.51.100.7", "198.51.100.20", "203.0.113.9"}, e.SourceIp) || e.DestIp != in.Ip || e.Type != "manual" ||
			e.EndTime < before.Unix()+ttl || e.EndTime > after.Unix()+ttl {
			t.Errorf("blacklist entry %+v: want DestIp %s, Type manual, EndTime %d..%d (UNIX seconds)", e, in.Ip, before.Unix()+ttl, after.Unix()+ttl)
		}
	}
	if total, page, err := l.black(2, 2, ""); err != nil || total != 3 || len(page) != 1 {
		t.Errorf("page 2 of 2 = %d %v, %v; want TotalCount 3 and one entry", total, page, err)
	}
	if total, page, err := l.black(1, 10, "198.51"); err != nil || total != 2 || len(page) != 2 || page[0].SourceIp != "198.51.100.20" || page[1].SourceIp != "198.51.100.7" {
		t.Errorf("KeyWord 198.51 = %d %v, %v; want 198.51.100.20 and 198.51.100.7", total, page, err)
	}
	wantWhite := []autoCcEntry{{"192.0.2.1", in.Ip, "manual", 0}, {"192.0.2.2", in.Ip, "manual", 0}}
	if total, got, err := l.white(); err != nil || total != 2 || !slices.Equal(got, wantWhite) {
		t.Errorf("DescribeAutoCcWhitelist = %d %+v, %v; want %+v", total, got, err, wantWhite)
	}
	l.wantCounts("after the adds", 3, 2)
	if b, w, err := l.counts("auto"); err != nil || b != 0 || w != 0 {
		t.Errorf("QueryType auto = %d, %d, %v; want 0, 0", b, w, err)
	}
	if b, w, err := l.counts("manual"); err != nil || b != 3 || w != 2 {
		t.Errorf("QueryType manual = %d, %d, %v; want 3, 2", b, w, err)
	}

	// Adding a listed address again gives it the new expiry, not a twin.
	rid, err = l.addBlack(srcList("203.0.113.9"), 1800)
	write("AddAutoCcBlacklist again", rid, err)
	l.wantCounts("after re-adding", 3, 2)

	// Past 300 s only 198.51.100.7 expires: 203.0.113.9 now lasts 1800 s.
	s.Advance(t, "6m")
	total, list, err = l.black(1, 10, "")
	if err != nil || total != 2 || len(list) != 2 || list[0].SourceIp != "198.51.100.20" || list[1].SourceIp != "203.0.113.9" {
		t.Fatalf("after 6 minutes: %d %v, %v; want 198.51.100.20 and 203.0.113.9", total, list, err)
	}
	l.wantCounts("after 6 minutes", 2, 2)
	s.Advance(t, "2h")
	if total, list, err := l.black(1, 10, ""); err != nil || total != 0 || len(list) != 0 {
		t.Fatalf("after 2 more hours: %d %v, %v; want an empty blacklist", total, list, err)
	}
	if total, got, err := l.white(); err != nil || total != 2 || !slices.Equal(got, wantWhite) {
		t.Errorf("whitelist after 2 hours = %d %+v, %v; want it unchanged", total, got, err)
	}

	rid, err = l.addBlack(srcList("198.51.100.30", "198.51.100.31"), 600)
	write("AddAutoCcBlacklist after expiry", rid, err)
	r1, err := l.c.DeleteAutoCcBlacklist((&ddoscoov3.DeleteAutoCcBlacklistRequest{}).SetInstanceId(in.InstanceId).SetBlacklist(srcList("198.51.100.30", "198.51.100.99")))
	if err != nil {
		t.Fatalf("DeleteAutoCcBlacklist: %v", err)
	}
	write("DeleteAutoCcBlacklist", tea.StringValue(r1.Body.RequestId), nil)
	if total, list, err := l.black(1, 10, ""); err != nil || total != 1 || list[0].SourceIp != "198.51.100.31" {
		t.Fatalf("after DeleteAutoCcBlacklist: %d %v, %v; want only 198.51.100.31", total, list, err)
	}
	r2, err := l.c.DeleteAutoCcWhitelist((&ddoscoov3.DeleteAutoCcWhitelistRequest{}).SetInstanceId(in.InstanceId).SetWhitelist(srcList("192.0.2.1")))
	if err != nil {
		t.Fatalf("DeleteAutoCcWhitelist: %v", err)
	}
	write("DeleteAutoCcWhitelist", tea.StringValue(r2.Body.RequestId), nil)
	l.wantCounts("after the deletes", 1, 1)
	r3, err := l.c.EmptyAutoCcBlacklist((&ddoscoov3.EmptyAutoCcBlacklistRequest{}).SetInstanceId(in.InstanceId))
	if err != nil {
		t.Fatalf("EmptyAutoCcBlacklist: %v", err)
	}
	write("EmptyAutoCcBlacklist", tea.StringValue(r3.Body.RequestId), nil)
	l.wantCounts("after EmptyAutoCcBlacklist", 0, 1)
	r4, err := l.c.EmptyAutoCcWhitelist((&ddoscoov3.EmptyAutoCcWhitelistRequest{}).SetInstanceId(in.InstanceId))
	if err != nil {
		t.Fatalf("EmptyAutoCcWhitelist: %v", err)
	}
	write("EmptyAutoCcWhitelist", tea.StringValue(r4.Body.RequestId), nil)
	l.wantCounts("after EmptyAutoCcWhitelist", 0, 0)

	seen := map[string]string{}
	for _, e := range s.Events(t, in.InstanceId, "list_changed") {
		seen[e.RequestId] = e.Subject
	}
	if len(seen) != len(writes) {
		t.Errorf("list_changed events %v, want one for each change %v", seen, writes)
	}
	for rid, subject := range writes {
		if got, ok := seen[rid]; !ok || got != subject {
			t.Errorf("list_changed event of %s: Subject %q (found %v), want %q", rid, got, ok, subject)
		}
	}
}

// TestRulesListsUDPReflectSDKv3 pins ConfigUdpReflect and
// DescribeUdpReflect through the v3 client: ports set as integers come
// back as strings in ascending order without repeats, a new Config
// replaces the old one, an empty list turns the filter off, and each
// change is a list_changed event.
func TestRulesListsUDPReflectSDKv3(t *testing.T) {
	s := StartServer(t)
	in := createSingle(t, s, admin.InstancesRequest{ExpireIn: "720h"})
	l := listsV3{t: t, c: SDKv3(t, s, testKeyID, testKeySecret), id: in.InstanceId}

	if got, err := l.udp(); err != nil || len(got) != 0 {
		t.Fatalf("DescribeUdpReflect of a new instance = %q, %v; want none", got, err)
	}
	rid1, err := l.configUDP(`{"UdpSports":[123,17,19,17]}`)
	if err != nil {
		t.Fatalf("ConfigUdpReflect: %v", err)
	}
	wantRequestID(t, "ConfigUdpReflect", rid1)
	if got, err := l.udp(); err != nil || !slices.Equal(got, []string{"17", "19", "123"}) {
		t.Fatalf("DescribeUdpReflect = %q, %v; want [17 19 123]", got, err)
	}
	if _, err := l.configUDP(`{"UdpSports":[11211]}`); err != nil {
		t.Fatalf("ConfigUdpReflect again: %v", err)
	}
	if got, err := l.udp(); err != nil || !slices.Equal(got, []string{"11211"}) {
		t.Fatalf("after a second Config = %q, %v; want [11211]", got, err)
	}
	rid3, err := l.configUDP(`{"UdpSports":[]}`)
	if err != nil {
		t.Fatalf("ConfigUdpReflect off: %v", err)
	}
	if got, err := l.udp(); err != nil || len(got) != 0 {
		t.Fatalf("after turning the filter off = %q, %v; want none", got, err)
	}
	events := s.Events(t, in.InstanceId, "list_changed")
	if len(events) != 3 || events[0].RequestId != rid1 || events[2].RequestId != rid3 {
		t.Errorf("list_changed events %+v, want 3 from %s to %s", events, rid1, rid3)
	}
	for _, e := range events {
		if e.Subject != "udp_reflect" || e.AccountId == "" {
			t.Errorf("event %+v: want Subject udp_reflect and the owner's AccountId", e)
		}
	}

	for _, bad := range []struct{ config, code string }{
		{`{"UdpSports":[17`, "InvalidParameter.JSONError"},
		{`{"UdpSports":["17"]}`, "InvalidParameter.JSONError"},
		{`[17,19]`, "InvalidParameter.JSONError"},
		{`{"UdpSports":[0]}`, "InvalidParameter"},
		{`{"UdpSports":[65536]}`, "InvalidParameter"},
	} {
		_, err := l.configUDP(bad.config)
		teaError(t, err, 400, bad.code)
	}
	if got, err := l.udp(); err != nil || len(got) != 0 {
		t.Errorf("after refused Configs = %q, %v; want none", got, err)
	}
}

// TestRulesListsRefusals pins the refusals through the v3 client: a
// Blacklist that is not the documented JSON (400
// InvalidParameter.JSONError naming it), an address that is not IPv4 (400
// InvalidIp), an ExpireTime outside 300-604800 s (400 InvalidParameter),
// more than 2000 addresses in a call (400 InvalidParameter) or on a list
// (400 ExceedFuncSpec, the list unchanged; re-adding a listed address at
// the cap is fine), an instance that does not exist (404
// InstanceNotFound), and another account's instance exactly as one that
// never existed.
func TestRulesListsRefusals(t *testing.T) {
	s := StartServer(t)
	in := createSingle(t, s, admin.InstancesRequest{ExpireIn: "720h"})
	const acct, key, secret = "1000000000000061", "LTAIlistsaccountb0000061", "lists-account-b-secret-000061"
	s.CreateAccount(t, acct, key, secret)
	other := createSingle(t, s, admin.InstancesRequest{AccessKeyId: key, ExpireIn: "720h"})
	c := SDKv3(t, s, testKeyID, testKeySecret)
	l := listsV3{t: t, c: c, id: in.InstanceId}

	for _, bad := range []string{`198.51.100.7`, `{"src":"198.51.100.7"}`, `[{"src":198}]`, `[{"ip":"198.51.100.7"}]`, `[{"src":"198.51.100.7"}`} {
		_, err := l.addBlack(bad, 300)
		se := teaError(t, err, 400, "InvalidParameter.JSONError")
		if !strings.Contains(tea.StringValue(se.Message), "Blacklist must be a JSON array") {
			t.Errorf("Blacklist %q: message %q does not say what Blacklist must be", bad, tea.StringValue(se.Message))
		}
	}
	_, err := l.addWhite(`[1,2]`)
	teaError(t, err, 400, "InvalidParameter.JSONError")
	_, err = l.addBlack(srcList("198.51.100.300"), 300)
	teaError(t, err, 400, "InvalidIp")
	_, err = l.addWhite(srcList("2001:db8::1"))
	teaError(t, err, 400, "InvalidIp")
	_, err = l.addBlack(srcList("198.51.100.7"), 299)
	teaError(t, err, 400, "InvalidParameter")
	_, err = l.addBlack(srcList("198.51.100.7"), 604801)
	teaError(t, err, 400, "InvalidParameter")
	_, _, err = l.black(0, 10, "")
	teaError(t, err, 400, "InvalidParameter")
	_, err = c.DeleteAutoCcBlacklist((&ddoscoov3.DeleteAutoCcBlacklistRequest{}).SetInstanceId(in.InstanceId).SetBlacklist("[{]"))
	teaError(t, err, 400, "InvalidParameter.JSONError")
	l.wantCounts("after the refusals", 0, 0)

	addrs := func(from, n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("10.0.%d.%d", (from+i)/256, (from+i)%256)
		}
		return out
	}
	_, err = l.addBlack(srcList(addrs(0, 2001)...), 3600)
	teaError(t, err, 400, "InvalidParameter")
	if _, err := l.addBlack(srcList(addrs(0, 1999)...), 3600); err != nil {
		t.Fatalf("1999 addresses: %v", err)
	}
	_, err = l.addBlack(srcList(addrs(1999, 2)...), 3600)
	teaError(t, err, 400, "ExceedFuncSpec")
	l.wantCounts("after a refused 2001st address", 1999, 0)
	if _, err := l.addBlack(srcList(addrs(1998, 2)...), 3600); err != nil {
		t.Fatalf("the 2000th address with a listed one: %v", err)
	}
	if _, err := l.addBlack(srcList(addrs(0, 10)...), 7200); err != nil {
		t.Fatalf("re-adding listed addresses at the cap: %v", err)
	}
	_, err = l.addBlack(srcList("198.51.100.7"), 300)
	teaError(t, err, 400, "ExceedFuncSpec")
	if total, page, err := l.black(40, 50, ""); err != nil || total != 2000 || len(page) != 50 {
		t.Errorf("last page of a full blacklist = %d, %d entries, %v; want 2000 and 50", total, len(page), err)
	}
	l.wantCounts("a full blacklist", 2000, 0)
	if _, err := l.addWhite(srcList("198.51.100.7")); err != nil {
		t.Errorf("the whitelist has its own cap: %v", err)
	}

	// Another account's instance and one that never existed get the same
	// answer, for every action.
	ghost := ghostID(other.InstanceId)
	calls := map[string]func(id string) error{
		"AddAutoCcBlacklist": func(id string) error {
			_, err := listsV3{c: c, id: id}.addBlack(srcList("198.51.100.7"), 300)
			return err
		},
		"AddAutoCcWhitelist": func(id string) error { _, err := listsV3{c: c, id: id}.addWhite(srcList("198.51.100.7")); return err },
		"DeleteAutoCcBlacklist": func(id string) error {
			_, err := c.DeleteAutoCcBlacklist((&ddoscoov3.DeleteAutoCcBlacklistRequest{}).SetInstanceId(id).SetBlacklist(srcList("198.51.100.7")))
			return err
		},
		"DeleteAutoCcWhitelist": func(id string) error {
			_, err := c.DeleteAutoCcWhitelist((&ddoscoov3.DeleteAutoCcWhitelistRequest{}).SetInstanceId(id).SetWhitelist(srcList("198.51.100.7")))
			return err
		},
		"EmptyAutoCcBlacklist": func(id string) error {
			_, err := c.EmptyAutoCcBlacklist((&ddoscoov3.EmptyAutoCcBlacklistRequest{}).SetInstanceId(id))
			return err
		},
		"EmptyAutoCcWhitelist": func(id string) error {
			_, err := c.EmptyAutoCcWhitelist((&ddoscoov3.EmptyAutoCcWhitelistRequest{}).SetInstanceId(id))
			return err
		},
		"DescribeAutoCcBlacklist": func(id string) error { _, _, err := listsV3{c: c, id: id}.black(1, 10, ""); return err },
		"DescribeAutoCcWhitelist": func(id string) error { _, _, err := listsV3{c: c, id: id}.white(); return err },
		"DescribeAutoCcListCount": func(id string) error { _, _, err := listsV3{c: c, id: id}.counts(""); return err },
		"ConfigUdpReflect":        func(id string) error { _, err := listsV3{c: c, id: id}.configUDP(`{"UdpSports":[17]}`); return err },
		"DescribeUdpReflect":      func(id string) error { _, err := listsV3{c: c, id: id}.udp(); return err },
	}
	for name, call := range calls {
		ghostErr := teaError(t, call(ghost), 404, "InstanceNotFound")
		var got error = call(other.InstanceId)
		se := teaError(t, got, 404, "InstanceNotFound")
		if got, want := strings.ReplaceAll(teaMessage(se), other.InstanceId, ghost), teaMessage(ghostErr); got != want {
			t.Errorf("%s on another account's instance: %q; a never-existing ID gets %q", name, got, want)
		}
	}
	b := listsV3{t: t, c: SDKv3(t, s, key, secret), id: other.InstanceId}
	b.wantCounts("the other account's own instance", 0, 0)
	if got, err := b.udp(); err != nil || len(got) != 0 {
		t.Errorf("the other account's UDP filter = %q, %v; want none", got, err)
	}
}
