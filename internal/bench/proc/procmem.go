package proc

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// ProcMem is a process's memory as /proc/<pid>/status reports it.
type ProcMem struct {
	// RSSBytes is VmRSS: resident memory now.
	RSSBytes int64
	// HWMBytes is VmHWM: the peak of VmRSS over the process's life.
	HWMBytes int64
}

// RSSMB and HWMMB are the figures in MiB, as the report prints them.
func (m ProcMem) RSSMB() float64 { return float64(m.RSSBytes) / (1 << 20) }
func (m ProcMem) HWMMB() float64 { return float64(m.HWMBytes) / (1 << 20) }

// ReadProcMem reads /proc/<pid>/status (Linux only).
func ReadProcMem(pid int) (ProcMem, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return ProcMem{}, fmt.Errorf("read memory of process %d: %w", pid, err)
	}
	m, err := ParseProcStatus(bytes.NewReader(b))
	if err != nil {
		return ProcMem{}, fmt.Errorf("process %d: %w", pid, err)
	}
	return m, nil
}

// ParseProcStatus extracts VmRSS and VmHWM from the text of
// /proc/<pid>/status, whose lines look like "VmRSS:\t   81234 kB"
// (proc(5): the unit is always kB, meaning KiB).
func ParseProcStatus(r io.Reader) (ProcMem, error) {
	var m ProcMem
	var haveRSS, haveHWM bool
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok || (name != "VmRSS" && name != "VmHWM") {
			continue
		}
		v, err := parseKB(rest)
		if err != nil {
			return ProcMem{}, fmt.Errorf("parse %s: %w", name, err)
		}
		if name == "VmRSS" {
			m.RSSBytes, haveRSS = v, true
		} else {
			m.HWMBytes, haveHWM = v, true
		}
	}
	if err := sc.Err(); err != nil {
		return ProcMem{}, err
	}
	if !haveRSS || !haveHWM {
		// Kernel threads and zombies have no Vm* lines.
		return ProcMem{}, fmt.Errorf("no VmRSS/VmHWM lines in status (is the process a zombie?)")
	}
	return m, nil
}

func parseKB(s string) (int64, error) {
	f := strings.Fields(s)
	if len(f) != 2 || f[1] != "kB" {
		return 0, fmt.Errorf("%q is not \"<n> kB\"", strings.TrimSpace(s))
	}
	n, err := strconv.ParseInt(f[0], 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%q is not a size in kB", strings.TrimSpace(s))
	}
	return n << 10, nil
}
