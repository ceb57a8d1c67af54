package dataplane

import (
	"io"
	"net"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// relayBufSize is the size of a relay's buffer; a read that fills it
// marks the direction as bulk.
const relayBufSize = 32 << 10

var relayBufs = sync.Pool{New: func() any {
	b := make([]byte, relayBufSize)
	return &b
}}

// relay copies src to dst until src's end and returns the bytes written.
// While src is idle it holds no buffer and no pipe: it waits for src to
// become readable, then reads into a pooled buffer, writes it and gives
// the buffer back. Once a read fills the whole buffer the direction is
// bulk and, unless paced, the rest goes through io.Copy (splice(2)
// between TCP sockets). pace, when not nil, is called with each read's
// size before it is written. firstBy, when not zero, is the deadline of
// src's first bytes; a miss returns os.ErrDeadlineExceeded with nothing
// written.
func relay(dst, src *net.TCPConn, pace func(n int) error, firstBy time.Time) (int64, error) {
	rc, err := src.SyscallConn()
	if err != nil {
		return 0, err
	}
	// ready peeks at one byte without taking it: data, the end of the
	// stream or an error all make src readable. It must look each time:
	// RawConn.Read forgets the poller's earlier readiness before the
	// first call.
	var peek [1]byte
	ready := func(fd uintptr) bool {
		for {
			_, _, err := unix.Recvfrom(int(fd), peek[:], unix.MSG_PEEK|unix.MSG_DONTWAIT)
			if err != unix.EINTR {
				return err != unix.EAGAIN
			}
		}
	}
	if !firstBy.IsZero() {
		src.SetReadDeadline(firstBy)
	}
	var total int64
	for {
		if err := rc.Read(ready); err != nil {
			return total, err
		}
		if !firstBy.IsZero() {
			src.SetReadDeadline(time.Time{})
			firstBy = time.Time{}
		}
		bp := relayBufs.Get().(*[]byte)
		buf := *bp
		n, rerr := src.Read(buf)
		if n > 0 {
			if pace != nil {
				if err := pace(n); err != nil {
					relayBufs.Put(bp)
					return total, err
				}
			}
			w, werr := dst.Write(buf[:n])
			total += int64(w)
			if werr != nil {
				relayBufs.Put(bp)
				return total, werr
			}
		}
		relayBufs.Put(bp)
		if rerr == io.EOF {
			return total, nil
		}
		if rerr != nil {
			return total, rerr
		}
		if n == len(buf) && pace == nil {
			m, err := io.Copy(dst, src)
			return total + m, err
		}
	}
}
