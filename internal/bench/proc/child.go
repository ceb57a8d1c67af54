// Package proc starts and measures the processes a benchmark runs: a
// child server with its log drained and its readiness awaited, its
// resident memory (/proc/PID/status), a Prometheus counter it exports, and
// the machine it all runs on.
package proc

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Child is a server process the benchmark started: moat serve, or the bare
// baseline handler. Its stderr is drained continuously (moat logs a line
// per request at info level, and a full pipe would stall the server); the
// last lines are kept for error reports.
type Child struct {
	Name string
	Addr string // host:port it listens on
	// Ready is the ready line's match: Ready[1] is Addr, later groups
	// whatever else the spec's pattern captures.
	Ready []string

	cmd      *exec.Cmd
	exited   chan struct{}
	stopping bool // Stop was called (only from the runner's goroutine)

	mu        sync.Mutex
	tail      []string // ring of the last tailLines lines
	next      int
	lines     int64
	errorLine string // first line logged at level ERROR
}

const tailLines = 10

// ChildSpec describes a child to start.
type ChildSpec struct {
	Name string
	Path string
	Args []string
	Env  []string
	// Ready matches the line that announces the listen address in its
	// first group. Without it StartChild returns once the process has
	// started, and the caller finds out itself when it serves.
	Ready *regexp.Regexp
	// Timeout bounds the wait for readiness (default 2 minutes: opening a
	// large store may replay a WAL).
	Timeout time.Duration
}

// StartChild starts the process and waits until it is ready. The child
// gets SIGKILL if this process dies (Linux), so a crashed or killed
// benchmark leaves no orphan; Stop is the orderly way.
func StartChild(ctx context.Context, spec ChildSpec) (*Child, error) {
	cmd := exec.Command(spec.Path, spec.Args...)
	cmd.Env = spec.Env
	cmd.Stdout = io.Discard
	cmd.SysProcAttr = childSysProcAttr()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", spec.Name, err)
	}
	c := &Child{Name: spec.Name, cmd: cmd, exited: make(chan struct{}), tail: make([]string, tailLines)}
	ready := make(chan []string, 1)
	go func() {
		c.drain(stderr, spec.Ready, ready)
		cmd.Wait()
		close(c.exited)
	}()
	if spec.Ready == nil {
		return c, nil
	}
	timeout := spec.Timeout
	if timeout <= 0 {
		timeout = 2 * time.Minute
	}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	select {
	case m := <-ready:
		c.Addr, c.Ready = m[1], m
		return c, nil
	case <-c.exited:
		return nil, fmt.Errorf("%s exited before it was ready:\n%s", spec.Name, c.Tail())
	case <-deadline.C:
		c.Stop(5 * time.Second)
		return nil, fmt.Errorf("%s printed no ready line within %s:\n%s", spec.Name, timeout, c.Tail())
	case <-ctx.Done():
		c.Stop(30 * time.Second)
		return nil, ctx.Err()
	}
}

func (c *Child) drain(r io.Reader, readyRE *regexp.Regexp, ready chan<- []string) {
	br := bufio.NewReaderSize(r, 64<<10)
	announced := readyRE == nil
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			c.mu.Lock()
			c.lines++
			text := string(bytes.TrimRight(line, "\r\n"))
			c.tail[c.next] = text
			c.next = (c.next + 1) % len(c.tail)
			if c.errorLine == "" && strings.Contains(text, "level=ERROR") {
				c.errorLine = text
			}
			c.mu.Unlock()
			if !announced {
				if m := readyRE.FindStringSubmatch(text); m != nil {
					announced = true
					ready <- m
				}
			}
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return
		}
	}
}

// Pid is the child's process id.
func (c *Child) Pid() int { return c.cmd.Process.Pid }

// Mem reads the child's VmRSS and VmHWM.
func (c *Child) Mem() (ProcMem, error) { return ReadProcMem(c.Pid()) }

// Tail returns the last lines the child logged (at most 10).
func (c *Child) Tail() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var lines []string
	for i := range c.tail {
		if l := c.tail[(c.next+i)%len(c.tail)]; l != "" {
			lines = append(lines, "  | "+l+"\n")
		}
	}
	return strings.Join(lines[max(0, len(lines)-10):], "")
}

// LogStats reports how many lines the child logged, and the first ERROR
// line if any.
func (c *Child) LogStats() (lines int64, firstError string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lines, c.errorLine
}

// Exited is closed when the process has exited.
func (c *Child) Exited() <-chan struct{} { return c.exited }

// Stop sends SIGTERM (moat drains in-flight requests and closes its
// store), waits up to grace, then kills. It is safe to call twice.
func (c *Child) Stop(grace time.Duration) error {
	select {
	case <-c.exited:
		if st := c.cmd.ProcessState; st != nil && !st.Success() && !c.stopping {
			c.stopping = true
			return fmt.Errorf("%s had already exited (%s):\n%s", c.Name, st, c.Tail())
		}
		return nil
	default:
	}
	c.stopping = true
	c.cmd.Process.Signal(syscall.SIGTERM)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-c.exited:
		if st := c.cmd.ProcessState; st != nil && !st.Success() {
			return fmt.Errorf("%s exited with %s after SIGTERM:\n%s", c.Name, st, c.Tail())
		}
		return nil
	case <-t.C:
		c.cmd.Process.Kill()
		<-c.exited
		return fmt.Errorf("%s did not stop within %s of SIGTERM; killed it", c.Name, grace)
	}
}

// ChildEnv is this process's environment without any MOAT_ variable (so a
// developer's MOAT_LOG_FORMAT or MOAT_AUTO_RELEASE_AFTER cannot change
// what is measured), plus extra.
func ChildEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "MOAT_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}
