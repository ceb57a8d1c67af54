package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"moat/internal/moat"
	"moat/internal/store/postgres"
)

// The shared PostgreSQL server is never stopped by these tests: a store
// reaches it through a TCP proxy that the test takes down, black-holes
// and brings back.

// proxy forwards a local port to the database server. Its listener stays
// open for the whole test, so the port is never released and taken by
// another process in between: taking the database "down" makes the proxy
// reset every connection at once instead.
type proxy struct {
	t      *testing.T
	target string
	addr   string // 127.0.0.1:port, for the proxy's whole life

	mu        sync.Mutex
	ln        net.Listener
	conns     map[net.Conn]bool
	isDown    bool // reset every connection as it arrives
	blackhole bool // accept, then never answer
}

func startProxy(t *testing.T, target string) *proxy {
	t.Helper()
	p := &proxy{t: t, target: target, conns: map[net.Conn]bool{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.ln = ln
	p.addr = ln.Addr().String()
	go p.serve()
	t.Cleanup(func() {
		p.down()
		ln.Close()
	})
	return p
}

func (p *proxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		down, hole := p.isDown, p.blackhole
		if !down {
			p.conns[c] = true
		}
		p.mu.Unlock()
		switch {
		case down:
			reset(c)
		case hole:
			// held open, never answered, closed by down
		default:
			go p.forward(c)
		}
	}
}

// reset closes c with a TCP RST (SO_LINGER 0), as a host with nothing on
// the port would answer.
func reset(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	c.Close()
}

func (p *proxy) forward(c net.Conn) {
	s, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	p.conns[s] = true
	p.mu.Unlock()
	go func() { io.Copy(s, c); s.Close() }()
	io.Copy(c, s)
	c.Close()
}

// down resets every connection and every new one: the database looks gone.
func (p *proxy) down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.isDown = true
	for c := range p.conns {
		reset(c)
		delete(p.conns, c)
	}
}

// up serves again (black-holing new connections when asked).
func (p *proxy) up(blackhole bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.isDown, p.blackhole = false, blackhole
}

// viaAddr is dsn with its host and port replaced by addr.
func viaAddr(t *testing.T, dsn, addr string) string {
	t.Helper()
	host, port, _ := net.SplitHostPort(addr)
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			t.Fatal(err)
		}
		u.Host = addr
		return u.String()
	}
	return dsn + " host=" + host + " port=" + port
}

// serverAddr is the database server's host:port from a DSN.
func serverAddr(t *testing.T, dsn string) string {
	t.Helper()
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	return net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port)))
}

// The timeouts of the store TestDatabaseOutage opens through its proxy:
// the defaults of Options, which a healthy connection, even on a loaded
// 2-core machine running the whole suite, does not come near (with a
// 500 ms connect timeout the connection of the test's setup, before any
// outage, once timed out under load).
const (
	outageConnectTimeout = 2 * time.Second
	outageAcquireTimeout = 3 * time.Second
)

// maxWait is how long any call may take while the database is
// unreachable. The behaviour pinned is failing fast instead of hanging (no
// timeout: forever) or queueing batch after batch (200 calls through 4
// connections at the connect timeout: 100 s): a call ends within the
// longest timeout of the store (AcquireTimeout), and a refused Open within
// milliseconds. The bound is 10x that, so that a loaded machine cannot
// reach it; a tighter figure would be a performance goal, not a unit
// test's.
const maxWait = 10 * outageAcquireTimeout

// wantUnavailable runs each call and checks that it fails fast with an
// unavailable error.
func wantUnavailable(t *testing.T, s *postgres.Store, when string) {
	t.Helper()
	ctx := context.Background()
	calls := []struct {
		name string
		fn   func() error
	}{
		{"Update", func() error {
			return s.Update(ctx, func(tx moat.Tx) error { return tx.SetSetting("k", "during") })
		}},
		{"Instance", func() error { _, err := s.Instance(ctx, "ddoscoo-cn-any"); return err }},
		{"InstancePage", func() error {
			_, _, err := s.InstancePage(ctx, moat.InstanceFilter{AccountID: acct, Region: moat.RegionMainland, Limit: 10})
			return err
		}},
		{"Events", func() error { _, err := s.Events(ctx, moat.EventFilter{}); return err }},
		{"UseNonce", func() error { _, err := s.UseNonce(ctx, "LTAIk", "n-"+when, time.Now().Add(time.Hour)); return err }},
		{"Setting", func() error { _, err := s.Setting(ctx, "k"); return err }},
	}
	for _, c := range calls {
		start := time.Now()
		err := c.fn()
		took := time.Since(start)
		if err == nil {
			t.Errorf("%s: %s succeeded", when, c.name)
			continue
		}
		if k := moat.ErrorKind(err); k != moat.KindUnavailable {
			t.Errorf("%s: %s = %v (kind %v), want kind unavailable", when, c.name, err, k)
		}
		if took > maxWait {
			t.Errorf("%s: %s took %v, want at most %v", when, c.name, took, maxWait)
		}
	}
}

// TestOpenUnreachable: Open of a database nothing listens for fails fast,
// as unavailable.
func TestOpenUnreachable(t *testing.T) {
	addr := reservedPort(t)
	start := time.Now()
	s, err := postgres.Open(t.Context(), viaAddr(t, baseDSN(), addr), postgres.Options{})
	if err == nil {
		s.Close()
		t.Fatal("Open of an unreachable database succeeded")
	}
	if k := moat.ErrorKind(err); k != moat.KindUnavailable {
		t.Errorf("Open = %v (kind %v), want unavailable", err, k)
	}
	if took := time.Since(start); took > maxWait {
		t.Errorf("Open took %v", took)
	}
}

// reservedPort is a 127.0.0.1 address whose port is bound by a socket that
// never listens, for the whole test: connecting to it is refused, and no
// other process can start listening on it meanwhile (as it could on a
// port picked free and released).
func reservedPort(t *testing.T) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(sa.(*syscall.SockaddrInet4).Port))
}

// TestDatabaseOutage: while the database cannot be reached every call
// fails fast as unavailable; when it is back the same store works again
// by itself, with everything committed before the outage.
func TestDatabaseOutage(t *testing.T) {
	dsn := freshDB(t, false)
	p := startProxy(t, serverAddr(t, dsn))
	s := open(t, viaAddr(t, dsn, p.addr), postgres.Options{MaxConns: 4, ConnectTimeout: outageConnectTimeout, AcquireTimeout: outageAcquireTimeout})
	ctx := context.Background()
	in := moat.Instance{ID: "ddoscoo-cn-outage0001", AccountID: acct, Region: moat.RegionMainland, IP: "100.64.0.1",
		CreateTime: time.UnixMilli(1e12).UTC(), ExpireTime: time.UnixMilli(2e12).UTC()}
	if err := s.Update(ctx, func(tx moat.Tx) error { return tx.InsertInstance(&in) }); err != nil {
		t.Fatal(err)
	}
	if fresh, err := s.UseNonce(ctx, "LTAIk", "before", time.Now().Add(time.Hour)); err != nil || !fresh {
		t.Fatalf("UseNonce = %v, %v", fresh, err)
	}

	// Refused: the server is gone, and so is every pooled connection.
	p.down()
	wantUnavailable(t, s, "refused")

	// Lost in the middle of a transaction.
	p.up(false)
	err := s.Update(ctx, func(tx moat.Tx) error {
		if err := tx.SetSetting("k", "lost"); err != nil {
			return err
		}
		p.down()
		return tx.SetSetting("k2", "lost")
	})
	if moat.ErrorKind(err) != moat.KindUnavailable {
		t.Errorf("Update that lost its connection = %v, want unavailable", err)
	}

	// Black-holed: connections are accepted and never answered.
	p.up(true)
	wantUnavailable(t, s, "black-holed")
	// A burst of signed requests: every nonce call fails fast, not one
	// batch after another.
	var slow atomic.Int64
	var wrong atomic.Int64
	together(200, func(i int) {
		start := time.Now()
		_, err := s.UseNonce(ctx, "LTAIk", fmt.Sprint("burst-", i), time.Now().Add(time.Hour))
		if moat.ErrorKind(err) != moat.KindUnavailable {
			wrong.Add(1)
		}
		if time.Since(start) > maxWait {
			slow.Add(1)
		}
	})
	if slow.Load() > 0 || wrong.Load() > 0 {
		t.Errorf("burst of 200 UseNonce while black-holed: %d slower than %v, %d not unavailable", slow.Load(), maxWait, wrong.Load())
	}

	// Back: the pool dials anew; nothing committed was lost and nothing
	// uncommitted was kept.
	p.down()
	p.up(false)
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := s.Update(ctx, func(tx moat.Tx) error { return tx.SetSetting("k", "after") })
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the store did not recover: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got, err := s.Instance(ctx, in.ID); err != nil || got != in {
		t.Errorf("Instance after the outage = %+v, %v; want %+v", got, err, in)
	}
	if v, err := s.Setting(ctx, "k2"); !errors.Is(err, moat.ErrNotFound) {
		t.Errorf("Setting(k2) = %q, %v; the interrupted transaction was kept", v, err)
	}
	if fresh, err := s.UseNonce(ctx, "LTAIk", "before", time.Now().Add(time.Hour)); err != nil || fresh {
		t.Errorf("UseNonce of a nonce used before the outage = %v, %v; want used", fresh, err)
	}
	for i := range 20 { // every pooled connection works
		if _, err := s.Setting(ctx, "k"); err != nil {
			t.Fatalf("read %d after recovery: %v", i, err)
		}
	}
}
