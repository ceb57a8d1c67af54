package e2e

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// ---- sizes ----

// secSizes sends requests past every size bound: each gets the documented
// 400 InvalidParameter, or net/http's 431 when the request line and
// headers together pass --max-header-bytes (1 MiB); a normal call is
// served right after each.
func secSizes(t *testing.T, e *secEnv) {
	s := e.s
	signedQuery := func(extra map[string]string) rawRequest {
		p := e.describe(extra)
		rawSignV1("POST", secSecretA, p)
		return rawV1Request("POST", p, nil, false)
	}
	formBody := func(body string) func(t *testing.T) rawResponse {
		return func(t *testing.T) rawResponse {
			r := signedQuery(nil)
			r.Body = body
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return secSend(t, s, r)
		}
	}
	// raw sends a signed DescribeInstances with extra query text, headers
	// and body exactly as given, on its own connection.
	raw := func(query, headers, body string) func(t *testing.T) rawResponse {
		return func(t *testing.T) rawResponse {
			r := signedQuery(nil)
			if query != "" {
				r.RawQuery += "&" + query
			}
			return secRawHTTP(t, s.Addr, "POST /?"+r.RawQuery+" HTTP/1.1\r\nHost: "+s.Addr+"\r\n"+headers+"\r\n"+body)
		}
	}
	many := func(n int) string {
		var b strings.Builder
		for i := 0; i < n; i++ {
			if i > 0 {
				b.WriteByte('&')
			}
			b.WriteString("P" + strconv.Itoa(i) + "=1")
		}
		return b.String()
	}
	mb := strings.Repeat("x", 1_000_000)
	twoMiB := strings.Repeat("y", 2<<20)
	attacks := []secAttack{
		{name: "1 MB value in the form body", status: 400, code: "InvalidParameter", send: formBody("Remark=" + mb)},
		{name: "1 MB value in the query", status: 400, code: "InvalidParameter", send: raw("Remark="+mb, "Content-Length: 0\r\n", "")},
		{name: "64 KiB + 1 value in the query", status: 400, code: "InvalidParameter", send: raw("Remark="+strings.Repeat("v", 64<<10+1), "Content-Length: 0\r\n", "")},
		{name: "2 MiB form body", status: 400, code: "InvalidParameter", send: raw("", "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: "+strconv.Itoa(len(twoMiB)+7)+"\r\n", "Remark="+twoMiB)},
		{name: "2 MiB chunked form body", status: 400, code: "InvalidParameter", send: raw("", "Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n",
			fmt.Sprintf("%x\r\nRemark=%s\r\n0\r\n\r\n", len(twoMiB)+7, twoMiB))},
		{name: "2 MiB opaque body", status: 400, code: "InvalidParameter", send: raw("", "Content-Type: application/octet-stream\r\nContent-Length: "+strconv.Itoa(len(twoMiB))+"\r\n", twoMiB)},
		{name: "10,000 parameters in the form body", status: 400, code: "InvalidParameter", send: formBody(many(10_000))},
		{name: "1,001 parameters in the query", status: 400, code: "InvalidParameter", send: raw(many(1001), "Content-Length: 0\r\n", "")},
		{name: "10,000 parameters in the query", status: 400, code: "InvalidParameter", send: raw(many(10_000), "Content-Length: 0\r\n", "")},
		{name: "a 257-byte parameter name", status: 400, code: "InvalidParameter", send: raw(strings.Repeat("N", 257)+"=1", "Content-Length: 0\r\n", "")},
		{name: "a 129-character SignatureNonce", status: 400, code: "InvalidParameter", send: func(t *testing.T) rawResponse {
			return secSend(t, s, signedQuery(map[string]string{"SignatureNonce": strings.Repeat("n", 129)}))
		}},
		{name: "a 100 KB header", status: 400, code: "InvalidParameter", send: raw("", "X-Padding: "+strings.Repeat("h", 100_000)+"\r\nContent-Length: 0\r\n", "")},
		{name: "a 1 MB Authorization header", status: 400, code: "InvalidParameter", send: raw("", "Authorization: ACS3-HMAC-SHA256 "+mb+"\r\nContent-Length: 0\r\n", "")},
		{name: "10,000 headers", status: 400, code: "InvalidParameter", send: raw("", strings.Repeat("X-A: 1\r\n", 10_000)+"Content-Length: 0\r\n", "")},
		{name: "2 MiB value in the query, past --max-header-bytes", status: 431, send: raw("Remark="+twoMiB, "Content-Length: 0\r\n", "")},
	}
	for i := range attacks {
		send := attacks[i].send
		attacks[i].send = func(t *testing.T) rawResponse {
			r := send(t)
			e.healthy(t) // served right after
			return r
		}
	}
	secRun(t, attacks)
}

// ---- connections: slowloris, per-client in-flight limit, rate limit ----

// secConnections runs its own server with 1 s header and idle timeouts, at
// most 4 requests in flight per client address, and DescribeInstanceIds
// limited to one call per 1000 s per principal.
func secConnections(t *testing.T) {
	s := StartServer(t, WithArgs("--read-header-timeout", "1s", "--idle-timeout", "1s", "--max-client-requests", "4", "--throttle", "DescribeInstanceIds=0.001"))
	s.CreateAccount(t, secAcctA, secKeyA, secSecretA)
	s.CreateAccount(t, secAcctB, secKeyB, secSecretB)
	served := func(t *testing.T, hc *http.Client) {
		t.Helper()
		r := secSendTo(t, s.Endpoint, hc, keyA.v1("DescribeInstances", map[string]string{"PageNumber": "1", "PageSize": "10"}))
		secWant(t, r, 200, "")
	}
	t.Run("slowloris", func(t *testing.T) { secSlowloris(t, s, served) })
	t.Run("idle keep-alive", func(t *testing.T) { secIdle(t, s) })
	t.Run("in-flight per client", func(t *testing.T) { secInFlight(t, s, served) })
	// Each request on a connection of its own: with --idle-timeout 1s a
	// kept-alive connection of http.DefaultClient, idle since the
	// slowloris subtest for about that long, could be closed by the
	// server just as a POST (which net/http does not retry) is sent on it.
	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	secRun(t, []secAttack{{name: "flood past the rate limit", status: 400, code: "Throttling.User", send: func(t *testing.T) rawResponse {
		secWant(t, secSendTo(t, s.Endpoint, hc, keyA.v1("DescribeInstanceIds", nil)), 200, "")
		r := secSendTo(t, s.Endpoint, hc, keyA.v1("DescribeInstanceIds", nil))
		if h := r.Header.Get("x-ratelimit-user-api"); !strings.HasPrefix(h, "Remain:0,TimeLeft:") {
			t.Errorf("x-ratelimit-user-api = %q, want Remain:0,TimeLeft:<ms>", h)
		}
		// Another principal is not throttled by A's flood.
		secWant(t, secSendTo(t, s.Endpoint, hc, keyB.v1("DescribeInstanceIds", nil)), 200, "")
		return r
	}}})
}

// secSlowloris opens connections that send their headers a byte at a time
// and connections that send nothing; the server must close every one
// within 10× its 1 s header timeout, serving a normal client meanwhile.
func secSlowloris(t *testing.T, s *Server, served func(*testing.T, *http.Client)) {
	const dripping, silent = 40, 20
	const bound = 10 * time.Second // 10× --read-header-timeout
	type conn struct {
		c      net.Conn
		closed chan time.Duration
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	defer func() {
		close(stop)
		wg.Wait()
	}()
	start := time.Now()
	open := func(drip bool) conn {
		c, err := net.Dial("tcp", s.Addr)
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		x := conn{c: c, closed: make(chan time.Duration, 1)}
		t.Cleanup(func() { c.Close() })
		if drip {
			wg.Add(1)
			go func() {
				defer wg.Done()
				head := "POST / HTTP/1.1\r\nHost: " + s.Addr + "\r\nX-Slow: "
				for i := 0; ; i++ {
					b := byte('a')
					if i < len(head) {
						b = head[i]
					}
					if _, err := c.Write([]byte{b}); err != nil {
						return
					}
					select {
					case <-stop:
						return
					case <-time.After(50 * time.Millisecond):
					}
				}
			}()
		}
		go func() {
			c.SetReadDeadline(time.Now().Add(3 * bound))
			io.Copy(io.Discard, c) // returns when the server closes
			x.closed <- time.Since(start)
		}()
		return x
	}
	var conns []conn
	for i := 0; i < dripping+silent; i++ {
		conns = append(conns, open(i < dripping))
	}
	// A normal client is served while every slow connection is open.
	for i := 0; i < 3; i++ {
		served(t, &http.Client{Transport: &http.Transport{DisableKeepAlives: true}})
	}
	count := func(from, to int, what string) {
		secAttacks.Add(1)
		for i, x := range conns[from:to] {
			var d time.Duration
			select {
			case d = <-x.closed:
			case <-time.After(time.Until(start.Add(bound))):
				select {
				case d = <-x.closed:
				default:
					t.Fatalf("%s connection %d still open after %v", what, i, bound)
				}
			}
			if d > bound {
				t.Errorf("%s connection %d closed after %v, want within %v", what, i, d, bound)
			}
		}
	}
	t.Run(fmt.Sprintf("%d connections dripping their headers", dripping), func(t *testing.T) { count(0, dripping, "dripping") })
	t.Run(fmt.Sprintf("%d connections sending nothing", silent), func(t *testing.T) { count(dripping, dripping+silent, "silent") })
	served(t, http.DefaultClient)
}

// secIdle leaves keep-alive connections idle after a served request: the
// server must close each within 10× its 1 s idle timeout.
func secIdle(t *testing.T, s *Server) {
	const n, bound = 3, 10 * time.Second // n within --max-client-requests
	secAttacks.Add(1)
	done := make(chan error, n)
	for i := 0; i < n; i++ {
		c, err := net.Dial("tcp", s.Addr)
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		defer c.Close()
		r := keyA.v1("DescribeInstances", map[string]string{"PageNumber": "1", "PageSize": "10"})
		fmt.Fprintf(c, "POST /?%s HTTP/1.1\r\nHost: %s\r\nContent-Length: 0\r\n\r\n", r.RawQuery, s.Addr)
		go func() {
			br := bufio.NewReader(c)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				done <- fmt.Errorf("read answer: %v", err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || resp.Close {
				done <- fmt.Errorf("answer %d, Close %v: want 200 on a kept-alive connection", resp.StatusCode, resp.Close)
				return
			}
			served := time.Now()
			c.SetReadDeadline(served.Add(3 * bound))
			io.Copy(io.Discard, br) // returns when the server closes
			if d := time.Since(served); d > bound {
				done <- fmt.Errorf("idle connection closed after %v, want within %v", d, bound)
				return
			}
			done <- nil
		}()
	}
	for i := 0; i < n; i++ {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

// secInFlight holds --max-client-requests (4) requests in flight from
// 127.0.0.1 by sending their bodies slowly: a fifth from that address gets
// 400 Throttling, a client on 127.0.0.2 is served meanwhile, and
// 127.0.0.1 is served again once the slow requests end.
func secInFlight(t *testing.T, s *Server, served func(*testing.T, *http.Client)) {
	openSlow := func() net.Conn {
		c, err := net.Dial("tcp", s.Addr)
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		r := keyA.v1("DescribeInstanceIds", nil)
		// Headers and the first bytes of a 100-byte body, then nothing.
		fmt.Fprintf(c, "POST /?%s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nRemark=", r.RawQuery, s.Addr)
		return c
	}
	// pending: no answer yet (an answer means the request was refused,
	// e.g. by the limit, because a probe below held a slot meanwhile).
	pending := func(c net.Conn) bool {
		c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
		defer c.SetReadDeadline(time.Time{})
		n, err := c.Read(make([]byte, 1))
		var ne net.Error
		return n == 0 && errors.As(err, &ne) && ne.Timeout()
	}
	slow := make([]net.Conn, 4)
	for i := range slow {
		slow[i] = openSlow()
	}
	defer func() {
		for _, c := range slow {
			c.Close()
		}
	}()
	fresh := func() *http.Client { return &http.Client{Transport: &http.Transport{DisableKeepAlives: true}} }
	secRun(t, []secAttack{{name: "a 5th request in flight from one address", status: 400, code: "Throttling", send: func(t *testing.T) rawResponse {
		// The slow requests reach the handler in their own time: replace
		// any that was answered and ask until the limit answers.
		deadline := time.Now().Add(20 * time.Second)
		for {
			for i, c := range slow {
				if !pending(c) {
					c.Close()
					slow[i] = openSlow()
				}
			}
			r := secSendTo(t, s.Endpoint, fresh(), keyA.v1("DescribeInstances", map[string]string{"PageNumber": "1", "PageSize": "10"}))
			if r.Status != http.StatusOK || time.Now().After(deadline) {
				return r
			}
			time.Sleep(20 * time.Millisecond)
		}
	}}})
	t.Run("control: another address is served", func(t *testing.T) {
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}}
		served(t, &http.Client{Transport: &http.Transport{DisableKeepAlives: true, DialContext: d.DialContext}})
	})
	t.Run("control: served again once the slow requests end", func(t *testing.T) {
		for _, c := range slow {
			c.Close()
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		for {
			r := secSendTo(t, s.Endpoint, fresh(), keyA.v1("DescribeInstances", map[string]string{"PageNumber": "1", "PageSize": "10"}))
			if r.Status == http.StatusOK {
				return
			}
			if ctx.Err() != nil {
				t.Fatalf("still %d after the slow requests closed: %s", r.Status, r.Body)
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}
