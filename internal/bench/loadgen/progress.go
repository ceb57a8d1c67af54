package loadgen

import (
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// progressEvery is how often a running load reports on stderr.
const progressEvery = 2 * time.Second

// Progress reports a running load on stderr every 2 s: elapsed time,
// answers so far, the rate over the last interval and the errors; on a
// terminal it rewrites one line (\r), elsewhere it prints a line each
// time. A load shorter than 2 s prints nothing. The load's workers count
// with Add; every method is safe on a nil *Progress, which reports
// nothing.
type Progress struct {
	Label string
	W     io.Writer
	TTY   bool
	// Extra, when set, is appended to each line (e.g. late and dropped
	// requests of an open loop).
	Extra func() string

	done, errs atomic.Int64
	stop       chan struct{}
	wg         sync.WaitGroup
	printed    bool
}

// NewProgress returns a Progress writing to w, or nil when w is nil.
func NewProgress(w io.Writer, label string) *Progress {
	if w == nil {
		return nil
	}
	return &Progress{Label: label, W: w, TTY: isTerminal(w)}
}

// Add counts one answer.
func (p *Progress) Add(ok bool) {
	if p == nil {
		return
	}
	p.done.Add(1)
	if !ok {
		p.errs.Add(1)
	}
}

// Start begins reporting.
func (p *Progress) Start() {
	if p == nil {
		return
	}
	p.stop = make(chan struct{})
	start := time.Now()
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(progressEvery)
		defer t.Stop()
		last, lastAt := int64(0), start
		for {
			select {
			case <-p.stop:
				return
			case now := <-t.C:
				done := p.done.Load()
				extra := ""
				if p.Extra != nil {
					extra = p.Extra()
				}
				line := progressLine(p.Label, now.Sub(start), done, float64(done-last)/now.Sub(lastAt).Seconds(), p.errs.Load(), extra)
				last, lastAt = done, now
				p.write(line)
			}
		}
	}()
}

func (p *Progress) write(line string) {
	p.printed = true
	if p.TTY {
		fmt.Fprintf(p.W, "\r%-110s", line)
	} else {
		fmt.Fprintln(p.W, line)
	}
}

// Stop ends reporting (ending the terminal line, if one was written).
func (p *Progress) Stop() {
	if p == nil || p.stop == nil {
		return
	}
	close(p.stop)
	p.wg.Wait()
	p.stop = nil
	if p.printed && p.TTY {
		fmt.Fprintln(p.W)
	}
}

// progressLine is one report: "bench: mixed: 6s, 41234 done, 6851/s, 0 errors".
func progressLine(label string, elapsed time.Duration, done int64, rate float64, errs int64, extra string) string {
	s := fmt.Sprintf("bench: %s: %s, %d done, %.0f/s, %d errors", label, elapsed.Round(time.Second), done, rate, errs)
	if extra != "" {
		s += ", " + extra
	}
	return s
}

// CountProgress reports a step that proceeds in batches (seeding,
// creating instances): count, rate, ETA, at most every 2 s.
type CountProgress struct {
	label     string
	w         io.Writer
	tty       bool
	total     int
	start     time.Time
	lastPrint time.Time
	printed   bool
	now       func() time.Time
}

func NewCountProgress(w io.Writer, label string, total int) *CountProgress {
	return &CountProgress{label: label, w: w, tty: isTerminal(w), total: total, start: time.Now(), now: time.Now}
}

// Update reports done of total: from 2 s after the start, at most every
// 2 s, and always at the end of a step that took that long; a quicker step
// stays silent.
func (c *CountProgress) Update(done int) {
	now := c.now()
	final := done >= c.total
	switch {
	case final && !c.printed && now.Sub(c.start) < progressEvery:
		return // a quick step stays silent
	case !final && (now.Sub(c.start) < progressEvery || now.Sub(c.lastPrint) < progressEvery):
		return
	}
	c.lastPrint = now
	c.printed = true
	el := now.Sub(c.start)
	rate := float64(done) / el.Seconds()
	eta := time.Duration(0)
	if rate > 0 {
		eta = time.Duration(float64(c.total-done) / rate * float64(time.Second))
	}
	line := fmt.Sprintf("bench: %s %d/%d (%.0f%%), %.0f/s, elapsed %s, ETA %s",
		c.label, done, c.total, 100*float64(done)/float64(max(c.total, 1)), rate, el.Round(time.Second), eta.Round(time.Second))
	if c.tty {
		fmt.Fprintf(c.w, "\r%-110s", line)
		if final {
			fmt.Fprintln(c.w)
		}
	} else {
		fmt.Fprintln(c.w, line)
	}
}

// isTerminal reports whether w is a terminal, where a report rewrites
// its line.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
