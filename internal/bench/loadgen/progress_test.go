package loadgen

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestProgressLine(t *testing.T) {
	got := progressLine("mixed", 6*time.Second+400*time.Millisecond, 41234, 6851.4, 3, "2 late, 0 dropped")
	if want := "bench: mixed: 6s, 41234 done, 6851/s, 3 errors, 2 late, 0 dropped"; got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

// A nil Progress (no stderr) is a no-op.
func TestNilProgress(t *testing.T) {
	var p *Progress
	p.Start()
	p.Add(true)
	p.Stop()
}

// A batch step reports from 2 s on, at most every 2 s, and always at its
// end once it has reported; a quicker step prints nothing.
func TestCountProgress(t *testing.T) {
	var out bytes.Buffer
	now := t0
	c := &CountProgress{label: "seeding instances", w: &out, total: 100, start: t0, now: func() time.Time { return now }}
	for i, at := range []time.Duration{500 * time.Millisecond, 2100 * time.Millisecond, 3 * time.Second, 4200 * time.Millisecond, 4300 * time.Millisecond} {
		now = t0.Add(at)
		c.Update((i + 1) * 20)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "bench: seeding instances 40/100 (40%)") ||
		!strings.HasPrefix(lines[1], "bench: seeding instances 80/100") || !strings.HasPrefix(lines[2], "bench: seeding instances 100/100 (100%)") {
		t.Errorf("lines:\n%s", out.String())
	}

	out.Reset()
	quick := &CountProgress{label: "x", w: &out, total: 10, start: t0, now: func() time.Time { return t0.Add(time.Second) }}
	quick.Update(5)
	quick.Update(10)
	if out.Len() != 0 {
		t.Errorf("a 1 s step printed %q", out.String())
	}
}
