package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	ddoscoov3 "github.com/alibabacloud-go/ddoscoo-20200101/v2/client"
	"github.com/alibabacloud-go/tea/tea"

	"moat/internal/admin"
)

// Origin policies through the data plane: the instance listens in
// 127.69.1.0/24, the origins are 127.69.5.1 to .3 and clients come from
// 127.69.9.1 and up.

// policyOrigin answers with its name, after its delay.
type policyOrigin struct {
	name  string
	delay atomic.Int64 // nanoseconds
}

func startPolicyOrigin(t *testing.T, addr, name string) *policyOrigin {
	t.Helper()
	o := &policyOrigin{name: name}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("origin %s: %v", addr, err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if d := time.Duration(o.delay.Load()); d > 0 {
			time.Sleep(d)
		}
		io.WriteString(w, o.name)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return o
}

// policyClient is an HTTP client from src that dials the instance for
// every name and keeps one connection.
func policyClient(t *testing.T, src, instanceIP string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 2 * time.Second}
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		_, port, _ := net.SplitHostPort(addr)
		return d.DialContext(ctx, "tcp", net.JoinHostPort(instanceIP, port))
	}, MaxIdleConnsPerHost: 1}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Timeout: 5 * time.Second, Transport: tr}
}

// TestWebOriginPolicyTraffic: a website of three origins on `moat serve
// --dataplane` spreads by ip_hash until ConfigL7RsPolicy says otherwise
// (one client keeps one origin, several clients reach several); rr gives
// one client's requests to the origins in turn, exactly, and by weight
// when weights are set; least_time turns away from an origin that
// answers after a delay. DescribeL7RsPolicy, DescribeDomainResource and
// DescribeWebRules report each mode as it is set.
func TestWebOriginPolicyTraffic(t *testing.T) {
	s := dataplaneServer(t, "127.69.1.0/24")
	const port = "8080"
	var origins []*policyOrigin
	var addrs []string
	for k := 1; k <= 3; k++ {
		ip := fmt.Sprintf("127.69.5.%d", k)
		origins = append(origins, startPolicyOrigin(t, net.JoinHostPort(ip, port), fmt.Sprintf("o%d", k)))
		addrs = append(addrs, ip)
	}
	in := createSingle(t, s, admin.InstancesRequest{ExpireIn: "720h"})
	c := SDKv3(t, s, testKeyID, testKeySecret)
	const domain = "lb.web-policy-e2e.test"
	createSite(t, c, webSite{domain: domain, instances: []string{in.InstanceId}, origins: addrs, proxies: map[string][]int32{"http": {8080}}})
	url := "http://" + domain + ":" + port + "/"

	get := func(cl *http.Client) string {
		t.Helper()
		resp, err := cl.Get(url)
		if err != nil {
			t.Fatalf("GET: %v", err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("GET: %d %q %v", resp.StatusCode, b, err)
		}
		return string(b)
	}
	tally := func(cl *http.Client, n int) map[string]int {
		t.Helper()
		out := map[string]int{}
		for range n {
			out[get(cl)]++
		}
		return out
	}
	reported := func(mode string, weights ...int32) {
		t.Helper()
		r, err := c.DescribeL7RsPolicy((&ddoscoov3.DescribeL7RsPolicyRequest{}).SetDomain(domain))
		if err != nil {
			t.Fatalf("DescribeL7RsPolicy: %v", err)
		}
		var got []string
		for _, a := range r.Body.Attributes {
			got = append(got, fmt.Sprintf("%s/%d/%d", tea.StringValue(a.RealServer), tea.Int32Value(a.RsType), tea.Int32Value(a.Attribute.Weight)))
		}
		var want []string
		for i, ip := range addrs {
			want = append(want, fmt.Sprintf("%s/0/%d", ip, weights[i]))
		}
		if tea.StringValue(r.Body.ProxyMode) != mode || strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("DescribeL7RsPolicy: %s %v, want %s %v", tea.StringValue(r.Body.ProxyMode), got, mode, want)
		}
		dr := describeSites(t, c, domain, "exact")
		wr, err := c.DescribeWebRules((&ddoscoov3.DescribeWebRulesRequest{}).SetDomain(domain).SetQueryDomainPattern("exact").SetPageNumber(1).SetPageSize(10))
		if err != nil {
			t.Fatalf("DescribeWebRules: %v", err)
		}
		if len(dr.WebRules) != 1 || tea.StringValue(dr.WebRules[0].PolicyMode) != mode || len(wr.Body.WebRules) != 1 || tea.StringValue(wr.Body.WebRules[0].PolicyMode) != mode {
			t.Errorf("PolicyMode in DescribeDomainResource %v, DescribeWebRules %v; want %s", dr.WebRules, wr.Body.WebRules, mode)
		}
	}
	config := func(policy string) {
		t.Helper()
		if _, err := c.ConfigL7RsPolicy((&ddoscoov3.ConfigL7RsPolicyRequest{}).SetDomain(domain).SetPolicy(policy)); err != nil {
			t.Fatalf("ConfigL7RsPolicy %s: %v", policy, err)
		}
	}

	// ip_hash: one client keeps its origin; eight clients reach several.
	reported("ip_hash", 100, 100, 100)
	first := policyClient(t, "127.69.9.1", in.Ip)
	eventually(t, 3*time.Second, "the website is served", func() bool {
		resp, err := first.Get(url)
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == 200
	})
	seen := map[string]bool{}
	for k := 1; k <= 8; k++ {
		got := tally(policyClient(t, fmt.Sprintf("127.69.9.%d", k), in.Ip), 5)
		if len(got) != 1 {
			t.Errorf("ip_hash, client %d: %v, want one origin", k, got)
		}
		for o := range got {
			seen[o] = true
		}
	}
	if len(seen) < 2 {
		t.Errorf("ip_hash, eight clients reached %v, want more than one origin", seen)
	}

	// rr: one client, the origins in turn.
	config(`{"ProxyMode":"rr"}`)
	reported("rr", 100, 100, 100)
	cl := policyClient(t, "127.69.9.20", in.Ip)
	eventually(t, 5*time.Second, "rr applies", func() bool { return len(tally(cl, 3)) == 3 })
	if got := tally(cl, 30); got["o1"] != 10 || got["o2"] != 10 || got["o3"] != 10 {
		t.Errorf("rr, 30 requests: %v, want 10 each", got)
	}
	// Weights 10, 20 and 30: every 60 requests give 10, 20 and 30.
	config(`{"ProxyMode":"rr","Attributes":[{"RealServer":"127.69.5.1","Attribute":{"Weight":10}},{"RealServer":"127.69.5.2","Attribute":{"Weight":20}},{"RealServer":"127.69.5.3","Attribute":{"Weight":30}}]}`)
	reported("rr", 10, 20, 30)
	eventually(t, 5*time.Second, "the weights apply", func() bool {
		got := tally(cl, 60)
		return got["o1"] == 10 && got["o2"] == 20 && got["o3"] == 30
	})
	if got := tally(cl, 120); got["o1"] != 20 || got["o2"] != 40 || got["o3"] != 60 {
		t.Errorf("rr, weights 10/20/30, 120 requests: %v, want 20/40/60", got)
	}

	// least_time: o3 answers after 300 ms and is left alone once measured.
	origins[2].delay.Store(int64(300 * time.Millisecond))
	config(`{"ProxyMode":"least_time"}`)
	reported("least_time", 100, 100, 100)
	eventually(t, 10*time.Second, "least_time applies: 15 requests in a row answered by the fast origins", func() bool {
		for range 15 {
			if get(cl) == "o3" {
				return false
			}
		}
		return true
	})
	if got := tally(cl, 30); got["o3"] != 0 || got["o1"]+got["o2"] != 30 {
		t.Errorf("least_time, 30 requests: %v, want none to the slow origin", got)
	}
	// Another client is served by the same measurements.
	if got := tally(policyClient(t, "127.69.9.21", in.Ip), 10); got["o3"] != 0 {
		t.Errorf("least_time, another client: %v, want none to the slow origin", got)
	}

	// An unknown origin in the policy is refused, and the mode stays.
	_, err := c.ConfigL7RsPolicy((&ddoscoov3.ConfigL7RsPolicyRequest{}).SetDomain(domain).SetPolicy(`{"ProxyMode":"rr","Attributes":[{"RealServer":"127.69.5.9","Attribute":{"Weight":5}}]}`))
	teaError(t, err, http.StatusBadRequest, "InvalidParameter")
	reported("least_time", 100, 100, 100)
}
