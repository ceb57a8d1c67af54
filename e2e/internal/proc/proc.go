// Package proc stops the moat processes the end-to-end suites start.
package proc

import (
	"os/exec"
	"syscall"
	"time"
)

// Stop sends SIGTERM to cmd's process and waits until exited is closed
// (by whoever waits for the process). A process still running after
// grace is killed, and Stop reports false. A process that never started,
// or has exited, is left alone.
func Stop(cmd *exec.Cmd, exited <-chan struct{}, grace time.Duration) (clean bool) {
	if cmd == nil || cmd.Process == nil {
		return true
	}
	select {
	case <-exited:
		return true
	default:
	}
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
		return true
	case <-time.After(grace):
		cmd.Process.Kill()
		<-exited
		return false
	}
}

// Kill sends SIGKILL (kill -9) to cmd's process and waits until exited is
// closed.
func Kill(cmd *exec.Cmd, exited <-chan struct{}) {
	if cmd == nil || cmd.Process == nil {
		return
	}
	cmd.Process.Kill()
	<-exited
}

// DieWithParent makes cmd's process get SIGKILL when the test process
// that started it dies, so a test binary killed by its timeout or by a
// signal leaves no moat server running on (and writing to) a store.
func DieWithParent(cmd *exec.Cmd) *exec.Cmd {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	return cmd
}
