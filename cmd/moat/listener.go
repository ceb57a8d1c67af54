package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// limitListener accepts at most n connections at once; further ones wait
// in the kernel's backlog until one closes.
func limitListener(l net.Listener, n int) net.Listener {
	return &limited{Listener: l, sem: make(chan struct{}, n)}
}

type limited struct {
	net.Listener
	sem chan struct{}
}

func (l *limited) Accept() (net.Conn, error) {
	l.sem <- struct{}{}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.sem
		return nil, err
	}
	return &limitedConn{Conn: c, release: func() { <-l.sem }}, nil
}

type limitedConn struct {
	net.Conn
	once    sync.Once
	release func() // frees the connection's slot, once the socket is closed
}

// Close closes lingering, like Apache's lingering close (RFC 9112,
// section 9.6): it ends the sending side at once, so the client reads the
// whole answer and then end of file, and reads and discards what the
// client still sends, until the client closes, for at most lingerBytes or
// lingerTime, before it closes the socket. Closing a socket with unread
// data makes the kernel send a reset, and a client that is still writing a
// request the server refused (one past a size limit) then reads
// "connection reset by peer" instead of the answer, often with the
// answer's bytes discarded. The draining runs on its own goroutine, so
// Close returns at once and a server shutdown is not held up; the
// connection keeps its slot until the socket is closed.
func (c *limitedConn) Close() error {
	c.once.Do(func() { go c.linger() })
	return nil
}

// The lingering bounds: far more than the rest of any request a size limit
// refuses (request line and headers 1 MiB, body 1 MiB), and long enough
// for a slow client to send it.
const (
	lingerBytes = 16 << 20
	lingerTime  = 10 * time.Second
	// lingerIdle ends the draining of a client that sends nothing more
	// and does not close either.
	lingerIdle = 2 * time.Second
)

func (c *limitedConn) linger() {
	defer c.release()
	defer c.Conn.Close()
	cw, ok := c.Conn.(interface{ CloseWrite() error })
	if !ok || cw.CloseWrite() != nil {
		return
	}
	end := time.Now().Add(lingerTime)
	buf := make([]byte, 32<<10)
	for drained := 0; drained < lingerBytes; {
		deadline := time.Now().Add(lingerIdle)
		if deadline.After(end) {
			deadline = end
		}
		c.Conn.SetReadDeadline(deadline)
		n, err := c.Conn.Read(buf)
		drained += n
		if err != nil {
			return
		}
	}
}

// selfSigned makes a self-signed certificate for localhost, 127.0.0.1 and
// ::1 (ECDSA P-256, valid ten years) unless certFile and keyFile exist,
// and reports whether it made one.
func selfSigned(certFile, keyFile string) (bool, error) {
	_, cerr := os.Stat(certFile)
	_, kerr := os.Stat(keyFile)
	if cerr == nil && kerr == nil {
		return false, nil
	}
	// The directory beside the store need not exist yet (a PostgreSQL
	// store keeps nothing else there).
	if err := os.MkdirAll(filepath.Dir(certFile), 0o700); err != nil {
		return false, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return false, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return false, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "moat (self-signed)", Organization: []string{"moat"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.AddDate(10, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return false, err
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return false, err
	}
	if err := writePEM(keyFile, "EC PRIVATE KEY", kder, 0o600); err != nil {
		return false, err
	}
	return true, writePEM(certFile, "CERTIFICATE", der, 0o644)
}

func writePEM(path, typ string, der []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	werr := pem.Encode(f, &pem.Block{Type: typ, Bytes: der})
	return errors.Join(werr, f.Sync(), f.Close())
}
