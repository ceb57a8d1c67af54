package dataplane

import (
	"io"
	"net"
	"os"
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
// While src is idle it holds no buffer and no pipe: the poller's
// readiness callback reads straight into a pooled buffer and gives it
// back when nothing was there, so each wake-up costs one read(2). The
// buffer goes back to the pool once its bytes are written. Once a read
// fills the whole buffer the direction is bulk and, unless paced, the
// rest goes through io.Copy (splice(2) between TCP sockets). pace, when
// not nil, is called with each read's size before it is written.
// firstBy, when not zero, is the deadline of src's first bytes; a miss
// returns os.ErrDeadlineExceeded with nothing written.
func relay(dst, src *net.TCPConn, pace func(n int) error, firstBy time.Time) (int64, error) {
	rc, err := src.SyscallConn()
	if err != nil {
		return 0, err
	}
	var (
		bp   *[]byte
		n    int
		rerr error
	)
	// read is called by rc.Read until it reports done: at once, then on
	// each readiness. Data, the end of the stream (n 0) and errors are
	// all done; EAGAIN hands the buffer back and waits.
	read := func(fd uintptr) bool {
		if bp == nil {
			bp = relayBufs.Get().(*[]byte)
		}
		for {
			k, err := unix.Read(int(fd), *bp)
			switch err {
			case unix.EINTR:
				continue
			case unix.EAGAIN:
				relayBufs.Put(bp)
				bp = nil
				return false
			case nil:
				n, rerr = k, nil
			default:
				n, rerr = 0, os.NewSyscallError("read", err)
			}
			return true
		}
	}
	putBuf := func() {
		if bp != nil {
			relayBufs.Put(bp)
			bp = nil
		}
	}
	if !firstBy.IsZero() {
		src.SetReadDeadline(firstBy)
	}
	var total int64
	for {
		if err := rc.Read(read); err != nil {
			putBuf()
			return total, err
		}
		if !firstBy.IsZero() {
			src.SetReadDeadline(time.Time{})
			firstBy = time.Time{}
		}
		if rerr != nil {
			putBuf()
			return total, rerr
		}
		if n == 0 {
			putBuf()
			return total, nil
		}
		buf := *bp
		if pace != nil {
			if err := pace(n); err != nil {
				putBuf()
				return total, err
			}
		}
		w, werr := dst.Write(buf[:n])
		total += int64(w)
		putBuf()
		if werr != nil {
			return total, werr
		}
		if n == len(buf) && pace == nil {
			m, err := io.Copy(dst, src)
			return total + m, err
		}
	}
}
