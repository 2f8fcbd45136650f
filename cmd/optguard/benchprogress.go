package main

// The live progress of a bench run: one line a second with the elapsed and
// total time, the phase, the rate, the second's p50 and p99 and the
// errors. On a terminal the line redraws in place; anywhere else (a pipe,
// a CI log) each second is a line of its own.

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/optguard/optguard/testenv"
)

// progress prints a run's seconds as they come (testenv.LoadConfig.OnSecond).
type progress struct {
	mu     sync.Mutex
	w      io.Writer
	tty    bool
	label  string        // the run's name, "" for none
	total  time.Duration // the planned length of the run
	errors uint64        // responses other than ESME_ROK so far
	drawn  bool          // a line is on screen without its newline
}

// newProgress writes to w, redrawing in place when w is a terminal.
func newProgress(w io.Writer, label string, total time.Duration) *progress {
	return &progress{w: w, tty: isTerminal(w), label: label, total: total}
}

// second is the run's OnSecond.
func (p *progress) second(s testenv.LoadSecond) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.errors += s.NotOK
	p.showLocked(p.line(s))
}

// show prints a progress line of the caller's own (bench -import's).
func (p *progress) show(line string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.showLocked(line)
}

func (p *progress) showLocked(line string) {
	if p.tty {
		fmt.Fprintf(p.w, "\r%s\x1b[K", line)
		p.drawn = true
		return
	}
	fmt.Fprintln(p.w, line)
}

func (p *progress) line(s testenv.LoadSecond) string {
	label := ""
	if p.label != "" {
		label = p.label + " "
	}
	extra := ""
	if s.Receipts > 0 {
		extra += fmt.Sprintf("  receipts %d/s", s.Receipts)
	}
	if s.MOs > 0 {
		extra += fmt.Sprintf("  MOs %d/s", s.MOs)
	}
	if s.Stalls > 0 {
		extra += fmt.Sprintf("  stalls %d", s.Stalls)
	}
	return fmt.Sprintf("%s%5.0fs/%.0fs  %-10s %8d/s  p50 %-8s p99 %-8s errors %d (%d this second)%s",
		label, s.At.Seconds(), p.total.Seconds(), s.Phase, s.Answered, fmtDur(s.P50), fmtDur(s.P99), p.errors, s.NotOK, extra)
}

// done ends the redrawn line, so that what follows starts on a line of
// its own.
func (p *progress) done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.drawn {
		fmt.Fprintln(p.w)
		p.drawn = false
	}
}
