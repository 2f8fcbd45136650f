package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// TestBenchStormAtARate runs a short paced storm through the proxy: every
// STOP sent is answered ESME_ROK and stored, at the rate asked for.
func TestBenchStormAtARate(t *testing.T) {
	var out, errOut bytes.Buffer
	start := time.Now()
	code := run([]string{"bench", "-storm", "-rounds", "1", "-storm-count", "600", "-storm-rate", "2000", "-storm-window", "50"}, &out, &errOut)
	if code != 0 {
		t.Fatalf("bench -storm -storm-rate: exit %d\n%s\n%s", code, out.String(), errOut.String())
	}
	if !strings.Contains(out.String(), "600 MO STOP per round from distinct handsets at 2000/s") {
		t.Errorf("the header does not give the rate:\n%s", out.String())
	}
	var row []string
	for _, line := range strings.Split(out.String(), "\n") {
		if f := strings.Fields(line); len(f) >= 6 && f[0] == "1" {
			row = f
		}
	}
	if len(row) < 6 || row[1] != "600" || row[2] != "600" || row[3] != "0" || row[4] != "600" {
		t.Fatalf("round row %q, want 600 sent, 600 ESME_ROK, 0 others, 600 stored:\n%s", row, out.String())
	}
	if took := time.Since(start); took < 300*time.Millisecond {
		t.Errorf("600 STOPs at 2000/s took %v", took)
	}
	errOut.Reset()
	if code := run([]string{"bench", "-storm", "-storm-rate", "-5"}, &out, &errOut); code == 0 || !strings.Contains(errOut.String(), "-storm-rate") {
		t.Errorf("a negative rate: exit %d, %q", code, errOut.String())
	}
}
