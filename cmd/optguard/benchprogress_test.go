package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/optguard/optguard/testenv"
)

// TestProgressLines: away from a terminal each second is a plain line of
// its own, with the rate, the percentiles and the errors so far; on a
// terminal the line redraws in place and done ends it.
func TestProgressLines(t *testing.T) {
	var buf bytes.Buffer
	p := newProgress(&buf, "relay", 10*time.Second)
	p.second(testenv.LoadSecond{At: time.Second, Phase: "warmup", Answered: 1200, NotOK: 3, P50: 250 * time.Microsecond, P99: 4 * time.Millisecond})
	p.second(testenv.LoadSecond{At: 2 * time.Second, Phase: "steady", Answered: 1500, NotOK: 2, Receipts: 40})
	p.done()
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 2 || strings.ContainsAny(buf.String(), "\r\x1b") {
		t.Fatalf("%q", buf.String())
	}
	for _, want := range []string{"relay", "1s/10s", "warmup", "1200/s", "p50 250µs", "p99 4.00ms", "errors 3"} {
		if !strings.Contains(lines[0], want) {
			t.Errorf("first line %q lacks %q", lines[0], want)
		}
	}
	if !strings.Contains(lines[1], "errors 5 (2 this second)") || !strings.Contains(lines[1], "receipts 40/s") {
		t.Errorf("second line %q", lines[1])
	}

	buf.Reset()
	p = newProgress(&buf, "", 10*time.Second)
	p.tty = true
	p.second(testenv.LoadSecond{At: time.Second, Answered: 1})
	p.second(testenv.LoadSecond{At: 2 * time.Second, Answered: 2})
	p.done()
	if got := buf.String(); strings.Count(got, "\r") != 2 || strings.Count(got, "\x1b[K") != 2 || !strings.HasSuffix(got, "\n") || strings.Count(got, "\n") != 1 {
		t.Errorf("terminal output %q", got)
	}
}
