package proc

import (
	"os"
	"runtime"
	"strings"
	"testing"
)

// A real /proc/<pid>/status (Linux 6.x), trimmed in the middle.
const statusText = `Name:	moat
Umask:	0022
State:	S (sleeping)
Tgid:	4242
Pid:	4242
PPid:	4200
VmPeak:	 1950012 kB
VmSize:	 1884476 kB
VmLck:	       0 kB
VmPin:	       0 kB
VmHWM:	  131072 kB
VmRSS:	   81234 kB
RssAnon:	   60000 kB
RssFile:	   21234 kB
RssShmem:	       0 kB
VmData:	  200000 kB
Threads:	9
`

func TestParseProcStatus(t *testing.T) {
	m, err := ParseProcStatus(strings.NewReader(statusText))
	if err != nil {
		t.Fatal(err)
	}
	if m.RSSBytes != 81234*1024 || m.HWMBytes != 131072*1024 {
		t.Errorf("got RSS %d HWM %d bytes, want %d and %d", m.RSSBytes, m.HWMBytes, 81234*1024, 131072*1024)
	}
	if m.HWMMB() != 128 {
		t.Errorf("HWMMB = %v, want 128", m.HWMMB())
	}
}

func TestParseProcStatusRejectsBadInput(t *testing.T) {
	for name, text := range map[string]string{
		"zombie: no Vm lines": "Name:\tmoat\nState:\tZ (zombie)\n",
		"missing VmHWM":       "VmRSS:\t 10 kB\n",
		"unit is not kB":      "VmHWM:\t 10 MB\nVmRSS:\t 10 kB\n",
		"not a number":        "VmHWM:\t ten kB\nVmRSS:\t 10 kB\n",
		"negative":            "VmHWM:\t -1 kB\nVmRSS:\t 10 kB\n",
	} {
		if m, err := ParseProcStatus(strings.NewReader(text)); err == nil {
			t.Errorf("%s: got %+v, want an error", name, m)
		}
	}
}

func TestReadProcMemOfThisProcess(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("/proc is Linux's")
	}
	m, err := ReadProcMem(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if m.RSSBytes <= 0 || m.HWMBytes < m.RSSBytes {
		t.Errorf("implausible memory of the test process: %+v", m)
	}
}
