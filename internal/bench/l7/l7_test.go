package l7

import (
	"bufio"
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func startOrigin(t *testing.T) *Origin {
	t.Helper()
	o, err := ListenOrigin("127.0.0.1", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	o.Start()
	t.Cleanup(o.Shutdown)
	return o
}

func TestOriginAnswersOverHTTPAndHTTPS(t *testing.T) {
	o := startOrigin(t)
	line := o.ReadyLine()
	if !strings.HasPrefix(line, OriginReady) || !strings.Contains(line, "http="+o.HTTP.Addr().String()) || !strings.Contains(line, "https="+o.HTTPS.Addr().String()) {
		t.Errorf("ready line %q", line)
	}
	ctx := context.Background()
	for _, tg := range []Target{{Addr: o.HTTP.Addr().String(), Host: "a.test"}, {Addr: o.HTTPS.Addr().String(), Host: "a.test", TLS: true}} {
		st, body, err := Check(ctx, tg, nil)
		if tg.TLS {
			// The origin's certificate is its own: not trusted.
			if err == nil {
				t.Errorf("Check over TLS trusted the origin's self-signed certificate")
			}
			continue
		}
		if err != nil || st != 200 || body != OriginBody {
			t.Errorf("Check %s: %d %q %v", tg.Addr, st, body, err)
		}
	}
}

// A certificate the CA issued is verified by Check against the CA's
// pool, and refused for another name.
func TestCheckVerifiesTheCertificate(t *testing.T) {
	ca, err := NewCA("test CA")
	if err != nil {
		t.Fatal(err)
	}
	cert, key, err := ca.Issue("www.bench.test")
	if err != nil {
		t.Fatal(err)
	}
	kp, err := tls.X509KeyPair([]byte(cert), []byte(key))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{kp}})
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("hi")) })}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	ctx := context.Background()
	st, body, err := Check(ctx, Target{Addr: ln.Addr().String(), Host: "www.bench.test", TLS: true}, ca.Pool())
	if err != nil || st != 200 || body != "hi" {
		t.Fatalf("Check: %d %q %v", st, body, err)
	}
	if _, _, err := Check(ctx, Target{Addr: ln.Addr().String(), Host: "other.bench.test", TLS: true}, ca.Pool()); err == nil {
		t.Error("Check accepted a certificate for another name")
	}
}

func TestKeepAliveCountsAnswers(t *testing.T) {
	o := startOrigin(t)
	ctx := context.Background()
	for _, tg := range []Target{{Addr: o.HTTP.Addr().String(), Host: "a.test"}, {Addr: o.HTTPS.Addr().String(), Host: "a.test", TLS: true}} {
		res, err := KeepAlive(ctx, Spec{Target: tg, Conns: 2, Duration: 200 * time.Millisecond, Max: 400})
		if err != nil {
			t.Fatal(err)
		}
		if res.OK == 0 || res.OK != res.Answered || res.Errors != 0 || res.Answered > 400 || res.Latency.P99Ms <= 0 {
			t.Errorf("%s: %+v", tg.Addr, res)
		}
	}
}

func TestHandshakesMakeOneConnectionPerRequest(t *testing.T) {
	o, err := ListenOrigin("127.0.0.1", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var conns atomic.Int64
	o.srv.ConnState = func(c net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	o.Start()
	t.Cleanup(o.Shutdown)
	res, err := Handshakes(context.Background(), Spec{Target: Target{Addr: o.HTTPS.Addr().String(), Host: "a.test", TLS: true}, Conns: 1, Duration: 5 * time.Second, Max: 20})
	if err != nil {
		t.Fatal(err)
	}
	if res.OK != 20 || res.Errors != 0 || conns.Load() != 20 {
		t.Errorf("20 requests: %+v over %d connections", res, conns.Load())
	}
}

func TestPacedKeepsTheRate(t *testing.T) {
	o := startOrigin(t)
	res, err := Paced(context.Background(), PacedSpec{Target: Target{Addr: o.HTTP.Addr().String(), Host: "a.test"}, Conns: 2, Rate: 200,
		Warmup: 100 * time.Millisecond, Duration: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	// 200/s for 0.5 s is 100 requests, on schedule whatever the speed.
	if res.OK != 100 || res.Errors != 0 || res.Rate != 200 {
		t.Errorf("paced: %+v, want 100 answered", res)
	}
}

func TestReadAnswerFraming(t *testing.T) {
	for _, c := range []struct {
		name, in   string
		status     int
		keep       bool
		restPrefix string
	}{
		{"length", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcNEXT", 200, true, "NEXT"},
		{"chunked", "HTTP/1.1 405 Not Allowed\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nNEXT", 405, true, "NEXT"},
		{"close", "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\naNEXT", 200, false, "NEXT"},
		{"to the end", "HTTP/1.1 200 OK\r\n\r\nabc", 200, false, ""},
		{"http/1.0", "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\nNEXT", 200, false, "NEXT"},
	} {
		br := bufio.NewReader(strings.NewReader(c.in))
		st, keep, err := readAnswer(br)
		if err != nil || st != c.status || keep != c.keep {
			t.Errorf("%s: %d %v %v, want %d %v", c.name, st, keep, err, c.status, c.keep)
			continue
		}
		rest, _ := br.Peek(br.Buffered())
		if !strings.HasPrefix(string(rest), c.restPrefix) {
			t.Errorf("%s: left %q", c.name, rest)
		}
	}
}
