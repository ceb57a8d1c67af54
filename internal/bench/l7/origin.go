package l7

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strconv"
	"time"
)

// OriginReady is the prefix of the line the origin child prints when it
// listens; the two addresses follow as http=… https=….
const OriginReady = "moat bench web origin ready"

// OriginBody is what the origin answers to every request, with 200.
const OriginBody = "moat bench origin: ok\n"

// Origin is the origin server: the same handler in clear on one port and
// over TLS (a self-signed certificate of its own) on another.
type Origin struct {
	HTTP, HTTPS net.Listener
	srv         *http.Server
	done        chan struct{}
}

// ListenOrigin listens on host at httpPort and httpsPort (0: chosen by
// the kernel). A proxy that reaches the origin on the port the client
// came in on needs them fixed.
func ListenOrigin(host string, httpPort, httpsPort int) (*Origin, error) {
	ca, err := NewCA("moat bench origin")
	if err != nil {
		return nil, err
	}
	cert, key, err := ca.Issue("origin.bench.test")
	if err != nil {
		return nil, err
	}
	kp, err := tls.X509KeyPair([]byte(cert), []byte(key))
	if err != nil {
		return nil, err
	}
	hl, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(httpPort)))
	if err != nil {
		return nil, fmt.Errorf("origin: %w", err)
	}
	sl, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(httpsPort)))
	if err != nil {
		hl.Close()
		return nil, fmt.Errorf("origin: %w", err)
	}
	o := &Origin{HTTP: hl, done: make(chan struct{})}
	o.HTTPS = tls.NewListener(sl, &tls.Config{Certificates: []tls.Certificate{kp}})
	body := []byte(OriginBody)
	clen := strconv.Itoa(len(body))
	o.srv = &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			h := w.Header()
			h["Content-Type"] = []string{"text/plain"}
			h["Content-Length"] = []string{clen}
			w.Write(body)
		}),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       5 * time.Minute,
		// Handshakes the load generator abandons are not news.
		ErrorLog: log.New(io.Discard, "", 0),
	}
	return o, nil
}

// ReadyLine is the line announcing the addresses (without newline).
func (o *Origin) ReadyLine() string {
	return fmt.Sprintf("%s http=%s https=%s", OriginReady, o.HTTP.Addr(), o.HTTPS.Addr())
}

// Start serves both listeners until Shutdown.
func (o *Origin) Start() {
	errc := make(chan error, 2)
	for _, ln := range []net.Listener{o.HTTP, o.HTTPS} {
		go func() { errc <- o.srv.Serve(ln) }()
	}
	go func() {
		<-errc
		<-errc
		close(o.done)
	}()
}

// Shutdown closes the listeners and every connection.
func (o *Origin) Shutdown() {
	o.srv.Close()
	<-o.done
}

// ServeOrigin listens on host at the two ports, prints the ready line to
// w, and serves until ctx ends.
func ServeOrigin(ctx context.Context, host string, httpPort, httpsPort int, w io.Writer) error {
	o, err := ListenOrigin(host, httpPort, httpsPort)
	if err != nil {
		return err
	}
	o.Start()
	fmt.Fprintln(w, o.ReadyLine())
	<-ctx.Done()
	o.Shutdown()
	if errors.Is(ctx.Err(), context.Canceled) {
		return nil
	}
	return ctx.Err()
}
