//go:build !linux

package proc

import "syscall"

// childSysProcAttr: without Linux's Pdeathsig, the children are stopped
// by the benchmark's own cleanup only.
func childSysProcAttr() *syscall.SysProcAttr { return nil }

// FSType is known on Linux only.
func FSType(path string) string { return "" }

// RaiseNoFile leaves the limit alone off Linux and reports 0 (unknown).
func RaiseNoFile(want uint64) (uint64, error) { return 0, nil }
