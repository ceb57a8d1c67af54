package proc

import "syscall"

// childSysProcAttr puts a child in its own process group, so a ctrl-C at
// the terminal reaches only the benchmark, which then stops its children
// in order; and asks the kernel to SIGKILL the child when the benchmark
// dies without doing so (kill -9, a crash). Pdeathsig fires when the
// thread that forked exits; Go keeps its threads for the process's life
// unless a goroutine exits while locked to one, which this package never
// does.
func childSysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// FSType names the file system holding path (Linux statfs magic numbers of
// the common ones): a store on tmpfs never waits for a disk, which makes
// durable writes look far cheaper than they are.
func FSType(path string) string {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return ""
	}
	switch uint64(st.Type) {
	case 0xEF53:
		return "ext4"
	case 0x58465342:
		return "xfs"
	case 0x9123683E:
		return "btrfs"
	case 0x01021994:
		return "tmpfs"
	case 0x794C7630:
		return "overlayfs"
	case 0x2FC12FC1:
		return "zfs"
	case 0x6969:
		return "nfs"
	case 0x65735546:
		return "fuse"
	default:
		return "unknown"
	}
}

// RaiseNoFile raises this process's RLIMIT_NOFILE to at least want (the
// hard limit too, which root may raise up to fs.nr_open), so that the
// children started after it inherit the limit. When the hard limit
// cannot be raised, the soft limit goes up to the hard one. It returns
// the soft limit in force.
func RaiseNoFile(want uint64) (uint64, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, err
	}
	if lim.Cur >= want {
		return lim.Cur, nil
	}
	up := syscall.Rlimit{Cur: want, Max: max(lim.Max, want)}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &up); err == nil {
		return up.Cur, nil
	}
	up = syscall.Rlimit{Cur: lim.Max, Max: lim.Max}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &up); err != nil {
		return lim.Cur, err
	}
	return up.Cur, nil
}
