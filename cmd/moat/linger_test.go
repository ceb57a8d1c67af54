package main

import (
	"bytes"
	"io"
	"net"
	"testing"
	"time"
)

// TestHardening_LingeringCloseLetsTheClientReadTheAnswer pins the
// lingering close: a server that answers after reading 1 KiB of a 4 MiB
// request and closes must not reset the connection, so the client, still
// writing, finishes writing and reads the whole answer and then end of
// file; the connection's slot is freed once the client has closed.
func TestHardening_LingeringCloseLetsTheClientReadTheAnswer(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := limitListener(raw, 1)
	defer ln.Close()
	answer := []byte("HTTP/1.1 400 Bad Request\r\nContent-Length: 2\r\nConnection: close\r\n\r\nno")
	served := make(chan error, 2)
	go func() {
		for range 2 {
			c, err := ln.Accept()
			if err != nil {
				served <- err
				return
			}
			_, err = io.ReadFull(c, make([]byte, 1024))
			if err == nil {
				_, err = c.Write(answer)
			}
			c.Close()
			served <- err
		}
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(30 * time.Second))
	wrote := make(chan error, 1)
	go func() {
		_, err := c.Write(bytes.Repeat([]byte("x"), 4<<20))
		wrote <- err
	}()
	got, err := io.ReadAll(c)
	if err != nil || !bytes.Equal(got, answer) {
		t.Fatalf("read %q, %v; want the whole answer, then end of file", got, err)
	}
	if err := <-wrote; err != nil {
		t.Fatalf("writing the rest of the request: %v; want it read and discarded", err)
	}
	if err := <-served; err != nil {
		t.Fatalf("server: %v", err)
	}
	c.Close()
	// The listener takes one connection at a time: a second is accepted
	// only once the first's socket is closed.
	c2, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	c2.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := c2.Write(make([]byte, 1024)); err != nil {
		t.Fatal(err)
	}
	if got, err := io.ReadAll(c2); err != nil || !bytes.Equal(got, answer) {
		t.Fatalf("second connection read %q, %v", got, err)
	}
	if err := <-served; err != nil {
		t.Fatalf("server, second connection: %v", err)
	}
}
