package e2e

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// wireExchange writes request on a fresh connection, quickly (one write)
// or slowly (16 KiB at a time, a millisecond apart), while it reads the
// answer, as an SDK does; it returns the answer, its whole body, and how
// the writing ended. A connection reset while reading fails the test: the
// client must always be able to read the refusal.
func wireExchange(t *testing.T, addr string, request []byte, slow bool) (*http.Response, []byte, error) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(60 * time.Second))
	wrote := make(chan error, 1)
	go func() {
		if !slow {
			_, err := c.Write(request)
			wrote <- err
			return
		}
		for rest := request; len(rest) > 0; {
			n := min(len(rest), 16<<10)
			if _, err := c.Write(rest[:n]); err != nil {
				wrote <- err
				return
			}
			rest = rest[n:]
			time.Sleep(time.Millisecond)
		}
		wrote <- nil
	}()
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("read the answer (%d-byte request): %v", len(request), err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read the answer's body: %v (got %d bytes)", err, len(body))
	}
	return resp, body, <-wrote
}

// TestHardening_HugeRequestsGetACompleteAnswer pins that a request past a
// size limit gets an answer the client can read in full, written fast or
// slowly, never a connection reset while it is still writing: up to the
// documented bounds (request line and headers 1 MiB, headers 64 KiB, body
// 1 MiB, 1000 parameters, names 256 bytes, values 64 KiB) Alibaba's envelope
// with 400 InvalidParameter; past the request-line bound, net/http's
// complete 431, the rest of the request read and discarded.
func TestHardening_HugeRequestsGetACompleteAnswer(t *testing.T) {
	s := StartServer(t)
	line := func(query string) string {
		return "POST /?Action=DescribeInstances&Version=2020-01-01&Format=JSON&" + query + " HTTP/1.1\r\nHost: " + s.Addr + "\r\n"
	}
	many := func(n int) string {
		var b strings.Builder
		for i := range n {
			if i > 0 {
				b.WriteByte('&')
			}
			b.WriteString("P" + strconv.Itoa(i) + "=1")
		}
		return b.String()
	}
	twoMiB := strings.Repeat("y", 2<<20)
	cases := []struct {
		name, request string
		status        int
		code          string // "" for net/http's own plain answer
	}{
		{"100 KB value in the query", line("Remark="+strings.Repeat("v", 100_000)) + "Content-Length: 0\r\n\r\n", 400, "InvalidParameter"},
		{"100 KB name in the query", line(strings.Repeat("N", 100_000)+"=1") + "Content-Length: 0\r\n\r\n", 400, "InvalidParameter"},
		{"10,000 parameters in the query", line(many(10_000)) + "Content-Length: 0\r\n\r\n", 400, "InvalidParameter"},
		{"100 KB header", line("PageSize=10") + "X-Padding: " + strings.Repeat("h", 100_000) + "\r\nContent-Length: 0\r\n\r\n", 400, "InvalidParameter"},
		{"10,000 headers", line("PageSize=10") + strings.Repeat("X-A: 1\r\n", 10_000) + "Content-Length: 0\r\n\r\n", 400, "InvalidParameter"},
		{"2 MiB form body", line("PageSize=10") + "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: " + strconv.Itoa(len(twoMiB)+7) + "\r\n\r\nRemark=" + twoMiB, 400, "InvalidParameter"},
		{"2 MiB request line, past the bound", line("Remark="+twoMiB) + "Content-Length: 0\r\n\r\n", 431, ""},
	}
	for _, c := range cases {
		for _, slow := range []bool{false, true} {
			name := c.name + ", written fast"
			if slow {
				name = c.name + ", written slowly"
			}
			t.Run(name, func(t *testing.T) {
				// Several rounds: a reset showed in about one
				// request of six.
				for range 6 {
					resp, body, werr := wireExchange(t, s.Addr, []byte(c.request), slow)
					if werr != nil {
						t.Fatalf("writing the request failed: %v: the server must read what it refuses, up to its bound", werr)
					}
					r := rawResponse{Status: resp.StatusCode, Header: resp.Header, Body: body, RequestID: resp.Header.Get("x-acs-request-id")}
					secWant(t, r, c.status, c.code)
				}
			})
		}
	}
	// A body declared past the limit is refused before it is sent: a
	// client waiting for "100 Continue" gets the refusal instead.
	t.Run("100 MB body announced with Expect: 100-continue", func(t *testing.T) {
		r := secRawHTTP(t, s.Addr, line("PageSize=10")+"Content-Type: application/x-www-form-urlencoded\r\nExpect: 100-continue\r\nContent-Length: 104857600\r\n\r\n")
		secWant(t, r, 400, "InvalidParameter")
	})
	// The server still serves a normal call afterwards.
	r := secRawHTTP(t, s.Addr, "GET /_moat/health HTTP/1.1\r\nHost: "+s.Addr+"\r\n\r\n")
	if r.Status != http.StatusOK {
		t.Fatalf("health after the huge requests: %d %s", r.Status, r.Body)
	}
}
