package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	ddoscoov3 "github.com/alibabacloud-go/ddoscoo-20200101/v2/client"
	"github.com/alibabacloud-go/tea/tea"

	"moat/internal/admin"
	"moat/internal/dataplane/webguard"
)

// Website protection through the data plane: the instance listens in
// 127.66.4.0/24, the origin is 127.66.5.1 and clients come from
// 127.66.5.11 and up.

// countingOrigin is an HTTP origin on addr that counts the requests it
// gets by path.
type countingOrigin struct {
	mu   sync.Mutex
	hits map[string]int
}

func startCountingOrigin(t *testing.T, addr string) *countingOrigin {
	t.Helper()
	o := &countingOrigin{hits: map[string]int{}}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("origin: %v", err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.mu.Lock()
		o.hits[r.URL.Path]++
		o.mu.Unlock()
		fmt.Fprintf(w, "origin %s", r.URL.Path)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return o
}

func (o *countingOrigin) count(path string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.hits[path]
}

func (o *countingOrigin) total() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := 0
	for _, v := range o.hits {
		n += v
	}
	return n
}

// webTally counts the answers a test's clients got.
type webTally struct {
	mu       sync.Mutex
	byStatus map[int]int
}

func (w *webTally) add(status int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.byStatus[status]++
}

func (w *webTally) get(status int) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.byStatus[status]
}

func (w *webTally) total() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, v := range w.byStatus {
		n += v
	}
	return n
}

// webSource is an HTTP client from one source address, dialling the
// instance whatever the name, one connection at a time.
type webSource struct {
	t     *testing.T
	c     *http.Client
	tally *webTally
}

func newWebSource(t *testing.T, src, instanceIP string, tally *webTally) webSource {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 2 * time.Second}
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		_, port, _ := net.SplitHostPort(addr)
		return d.DialContext(ctx, "tcp", net.JoinHostPort(instanceIP, port))
	}, MaxIdleConnsPerHost: 1}
	t.Cleanup(tr.CloseIdleConnections)
	return webSource{t: t, c: &http.Client{Timeout: 5 * time.Second, Transport: tr}, tally: tally}
}

// get fetches url and counts the answer; it fails the test on a
// connection error.
func (s webSource) get(url string) (int, string) {
	s.t.Helper()
	st, body, err := s.try(url)
	if err != nil {
		s.t.Fatalf("GET %s: %v", url, err)
	}
	return st, body
}

// try fetches url and counts the answer, if one came.
func (s webSource) try(url string) (int, string, error) {
	resp, err := s.c.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, "", err
	}
	s.tally.add(resp.StatusCode)
	return resp.StatusCode, string(b), nil
}

// TestWebProtectionTraffic: on a website served by `moat serve
// --dataplane`, a custom CC rule (ConfigWebCCRuleV2, 5 requests a minute
// on /api) cuts one source to 5 while another source passes; a precise
// rule (ModifyWebPreciseAccessRule) answers /admin with the block page
// and 405, the origin never seeing it; the domain's blacklist
// (ConfigWebIpSet) refuses its source. The statistics actions then show
// exactly the requests that were sent: DescribeDomainQPSList's count,
// total and attack QPS, DescribeDomainStatusCodeList's codes, the website
// in DescribeDomainTopAttackList and an attack in
// DescribeDomainAttackEvents. When the rules' lifetime ends, the CC and
// precise rules block nothing while the blacklist still refuses; after
// the instance expires nothing is blocked.
func TestWebProtectionTraffic(t *testing.T) {
	s := dataplaneServer(t, "127.66.4.0/24")
	const port = "8080"
	origin := startCountingOrigin(t, net.JoinHostPort("127.66.5.1", port))
	in := createSingle(t, s, admin.InstancesRequest{ExpireIn: "720h"})
	c := SDKv3(t, s, testKeyID, testKeySecret)
	w := webProt{t: t, s: s, c: c, hc: &http.Client{Timeout: time.Minute}, domain: "shop.web-prot-e2e.test"}
	createSite(t, c, webSite{domain: w.domain, instances: []string{in.InstanceId}, origins: []string{"127.66.5.1"}, proxies: map[string][]int32{"http": {8080}}})
	// Stats are read over the ten minutes from the one the traffic
	// starts in.
	from := time.Now().UTC().Truncate(time.Minute)
	url := "http://" + w.domain + ":" + port

	tally := &webTally{byStatus: map[int]int{}}
	flooder := newWebSource(t, "127.66.5.11", in.Ip, tally)
	calm := newWebSource(t, "127.66.5.12", in.Ip, tally)
	banned := newWebSource(t, "127.66.5.13", in.Ip, tally)
	eventually(t, 3*time.Second, "the website is served", func() bool {
		st, _, err := calm.try(url + "/")
		return err == nil && st == 200
	})

	// The rules last an hour; the blacklist, set last, shows when the
	// data plane has them all.
	w.rawOK("ConfigWebCCRuleV2", map[string]string{"Domain": w.domain, "Expires": "3600", "RuleList": `[{"action":"block","name":"api_limit",` +
		`"condition":[{"field":"uri","match_method":"prefix","content":"/api"}],"ratelimit":{"target":"ip","interval":60,"threshold":5,"ttl":600}}]`}, nil)
	if _, err := c.ModifyWebPreciseAccessRule((&ddoscoov3.ModifyWebPreciseAccessRuleRequest{}).SetDomain(w.domain).SetExpires(3600).
		SetRules(`[{"action":"block","name":"no_admin","condition":[{"field":"uri","match_method":"contain","content":"/admin"}]}]`)); err != nil {
		t.Fatalf("ModifyWebPreciseAccessRule: %v", err)
	}
	if _, err := c.ConfigWebIpSet((&ddoscoov3.ConfigWebIpSetRequest{}).SetDomain(w.domain).SetBlackList(tea.StringSlice([]string{"127.66.5.13"}))); err != nil {
		t.Fatalf("ConfigWebIpSet: %v", err)
	}
	eventually(t, 3*time.Second, "the blacklist refuses its source", func() bool {
		st, body := banned.get(url + "/")
		return st == webguard.BlockStatus && body == string(webguard.BlockPage)
	})

	// The CC rule: the flooding source gets its 5, then the block page;
	// the other source is untouched.
	apiBefore := origin.count("/api/items")
	for i := 1; i <= 12; i++ {
		st, body := flooder.get(url + "/api/items")
		if i <= 5 && st != 200 || i > 5 && (st != webguard.BlockStatus || body != string(webguard.BlockPage)) {
			t.Fatalf("flooding source, request %d to /api: %d %.60q", i, st, body)
		}
	}
	for i := 1; i <= 4; i++ {
		if st, _ := calm.get(url + "/api/items"); st != 200 {
			t.Fatalf("the other source, request %d to /api: %d, want 200", i, st)
		}
	}
	if got := origin.count("/api/items") - apiBefore; got != 9 {
		t.Errorf("the origin got %d requests for /api, want 5 + 4", got)
	}
	// The precise rule: the block page, the origin never asked.
	for range 3 {
		if st, body := calm.get(url + "/admin/login"); st != webguard.BlockStatus || body != string(webguard.BlockPage) {
			t.Fatalf("/admin: %d %.60q, want the block page", st, body)
		}
	}
	if st, _ := calm.get(url + "/shop"); st != 200 {
		t.Fatalf("another path: %d, want 200", st)
	}
	if n := origin.count("/admin/login"); n != 0 {
		t.Errorf("the origin got %d requests for /admin", n)
	}
	if origin.total() != tally.get(200) {
		t.Errorf("the origin got %d requests, the clients %d answers 200", origin.total(), tally.get(200))
	}

	// The statistics show exactly what was sent.
	total, blocked, ok := int64(tally.total()), int64(tally.get(405)), int64(tally.get(200))
	if total != blocked+ok {
		t.Fatalf("answers other than 200 and 405: %v", tally.byStatus)
	}
	span := func() (int64, int64) { return from.Unix(), from.Add(10 * time.Minute).Unix() }
	var qps *ddoscoov3.DescribeDomainQPSListResponseBodyDomainQPSList
	eventually(t, 5*time.Second, "DescribeDomainQPSList counts every request", func() bool {
		start, end := span()
		r, err := c.DescribeDomainQPSList((&ddoscoov3.DescribeDomainQPSListRequest{}).SetDomain(w.domain).SetStartTime(start).SetEndTime(end).SetInterval(600))
		if err != nil {
			t.Fatalf("DescribeDomainQPSList: %v", err)
		}
		if len(r.Body.DomainQPSList) != 1 {
			t.Fatalf("DescribeDomainQPSList: %d points, want 1", len(r.Body.DomainQPSList))
		}
		qps = r.Body.DomainQPSList[0]
		return tea.Int64Value(qps.TotalCount) == total
	})
	ceil := func(n, d int64) int64 { return (n + d - 1) / d }
	if tea.Int64Value(qps.Time) != from.Unix() || tea.Int64Value(qps.TotalQps) != ceil(total, 600) || tea.Int64Value(qps.AttackQps) != ceil(blocked, 600) ||
		tea.Int64Value(qps.MaxAttackQps) < 1 || tea.Int64Value(qps.MaxQps) < tea.Int64Value(qps.MaxAttackQps) || tea.Int64Value(qps.CacheHits) != 0 {
		t.Errorf("DescribeDomainQPSList: %v, want %d requests, %d attacks", qps, total, blocked)
	}
	start, end := span()
	codes, err := c.DescribeDomainStatusCodeList((&ddoscoov3.DescribeDomainStatusCodeListRequest{}).SetDomain(w.domain).SetQueryType("gf").
		SetStartTime(start).SetEndTime(end).SetInterval(600))
	if err != nil {
		t.Fatalf("DescribeDomainStatusCodeList: %v", err)
	}
	if len(codes.Body.StatusCodeList) != 1 {
		t.Fatalf("DescribeDomainStatusCodeList: %v", codes.Body.StatusCodeList)
	}
	sc := codes.Body.StatusCodeList[0]
	if tea.Int64Value(sc.Status2XX) != ok || tea.Int64Value(sc.Status200) != ok || tea.Int64Value(sc.Status4XX) != blocked ||
		tea.Int64Value(sc.Status405) != blocked || tea.Int64Value(sc.Status3XX) != 0 || tea.Int64Value(sc.Status5XX) != 0 || tea.Int64Value(sc.Status404) != 0 {
		t.Errorf("DescribeDomainStatusCodeList: %v, want %d × 200 and %d × 405", sc, ok, blocked)
	}
	top, err := c.DescribeDomainTopAttackList((&ddoscoov3.DescribeDomainTopAttackListRequest{}).SetStartTime(start).SetEndTime(end))
	if err != nil {
		t.Fatalf("DescribeDomainTopAttackList: %v", err)
	}
	if l := top.Body.AttackList; len(l) != 1 || tea.StringValue(l[0].Domain) != w.domain || tea.Int64Value(l[0].Attack) < 1 || tea.Int64Value(l[0].Count) < tea.Int64Value(l[0].Attack) {
		t.Errorf("DescribeDomainTopAttackList: %v", l)
	}
	eventually(t, 5*time.Second, "DescribeDomainAttackEvents shows the attack", func() bool {
		r, err := c.DescribeDomainAttackEvents((&ddoscoov3.DescribeDomainAttackEventsRequest{}).SetDomain(w.domain).
			SetStartTime(start).SetEndTime(end).SetPageNumber(1).SetPageSize(10))
		if err != nil {
			t.Fatalf("DescribeDomainAttackEvents: %v", err)
		}
		evs := r.Body.DomainAttackEvents
		return tea.Int64Value(r.Body.TotalCount) >= 1 && len(evs) >= 1 && tea.StringValue(evs[0].Domain) == w.domain &&
			tea.Int64Value(evs[0].StartTime) >= from.Unix() && tea.Int64Value(evs[0].MaxQps) >= 1
	})
	// Another account sees none of it.
	s.CreateAccount(t, "1000000000000766", "LTAIwebprotaccountB0766", "web-prot-account-b-secret-0766")
	_, err = SDKv3(t, s, "LTAIwebprotaccountB0766", "web-prot-account-b-secret-0766").DescribeDomainQPSList((&ddoscoov3.DescribeDomainQPSListRequest{}).SetDomain(w.domain).
		SetStartTime(start).SetEndTime(end).SetInterval(600))
	sdkErr(t, "another account's DescribeDomainQPSList", err, 400, "DomainNotExist", w.domain)

	// Two hours later the rules have ended: /api and /admin pass; the
	// blacklist has no lifetime.
	s.Advance(t, "2h")
	eventually(t, 3*time.Second, "the ended rules block nothing", func() bool {
		st1, _ := flooder.get(url + "/api/items")
		st2, _ := calm.get(url + "/admin/login")
		return st1 == 200 && st2 == 200
	})
	if st, _ := banned.get(url + "/"); st != webguard.BlockStatus {
		t.Errorf("the blacklist after the rules ended: %d, want %d", st, webguard.BlockStatus)
	}
	// Expired: nothing is blocked.
	s.Advance(t, "720h")
	eventually(t, 3*time.Second, "an expired instance blocks nothing", func() bool {
		st, body := banned.get(url + "/")
		return st == 200 && strings.HasPrefix(body, "origin")
	})
}
