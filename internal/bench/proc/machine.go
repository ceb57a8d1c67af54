package proc

import (
	"bufio"
	"os"
	"runtime"
	"strings"
)

// Machine describes where a run happened, so figures from different runs
// can be compared honestly.
type Machine struct {
	NumCPU    int    // runtime.NumCPU: what nproc prints
	GoVersion string // of this binary, which is also the server's
	GOOS      string
	GOARCH    string
	CPUModel  string `json:",omitempty"` // /proc/cpuinfo "model name"
	Hostname  string `json:",omitempty"`
	// LoadAvg is /proc/loadavg at the start and the end: other jobs on a
	// shared machine show up here.
	LoadAvgStart string `json:",omitempty"`
	LoadAvgEnd   string `json:",omitempty"`
	MemTotal     string `json:",omitempty"`
}

// DescribeMachine reads what it can; missing /proc files leave fields
// empty.
func DescribeMachine() Machine {
	m := Machine{NumCPU: runtime.NumCPU(), GoVersion: runtime.Version(), GOOS: runtime.GOOS, GOARCH: runtime.GOARCH}
	m.Hostname, _ = os.Hostname()
	m.CPUModel = procField("/proc/cpuinfo", "model name")
	m.MemTotal = procField("/proc/meminfo", "MemTotal")
	m.LoadAvgStart = LoadAvg()
	return m
}

// LoadAvg is the first three fields of /proc/loadavg.
func LoadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

// procField returns the value of the first "name : value" line.
func procField(path, name string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == name {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
