//go:build linux

package main

import (
	"bytes"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestBenchIdle runs a short `optguard bench -idle-binds` and checks that every
// figure is printed and that the idle binds stayed up through the loaded run.
func TestBenchIdle(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run([]string{"bench", "-idle-binds", "40", "-rounds", "1", "-duration", "300ms", "-warmup", "100ms",
		"-binds", "2", "-window", "32", "-idle-measure", "200ms"}, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d: %s\n%s", code, errOut.String(), out.String())
	}
	o := out.String()
	for _, want := range []string{
		"machine: ", "load average ", "open-file limit ",
		"through the proxy: 40/40 idle binds bound in",
		"directly on the simulator: 40/40 idle binds bound in",
		"round 1: 40/40 idle binds bound in",
		"with/alone throughput: ",
		"idle CPU over 200ms, no load: nothing bound ",
		"resident memory per idle bind (after a GC): ",
		"load average at the end: ",
	} {
		if !strings.Contains(o, want) {
			t.Errorf("output lacks %q:\n%s", want, o)
		}
	}
	// The round's row ends with the idle binds still up: 40/40.
	if !regexp.MustCompile(`(?m)^\s+1\s.*\s40/40$`).MatchString(o) {
		t.Errorf("round 1 does not end with 40/40 idle binds up:\n%s", o)
	}
	// Both cost phases saw all 40 binds, and through the proxy each bind is
	// four open files (client, proxy ×2, simulator), directly two.
	for label, perBind := range map[string]int{"through the proxy": 4, "directly on the simulator": 2} {
		m := regexp.MustCompile(regexp.QuoteMeta(label) + `: [0-9.]+ % of a core, [+-][0-9.]+ MiB resident, \+(\d+) goroutines, (\d+) open files, 40/40 still bound`).FindStringSubmatch(o)
		if m == nil {
			t.Errorf("no cost line %q with 40/40 still bound:\n%s", label, o)
			continue
		}
		if files, _ := strconv.Atoi(m[2]); files < 40*perBind {
			t.Errorf("%s: %d open files with 40 idle binds up; want at least %d", label, files, 40*perBind)
		}
	}
	m := regexp.MustCompile(`goroutines per idle bind: ([0-9.]+) through the proxy, ([0-9.]+) directly on the simulator`).FindStringSubmatch(o)
	if m == nil {
		t.Fatalf("no goroutines line:\n%s", o)
	}
	proxied, _ := strconv.ParseFloat(m[1], 64)
	direct, _ := strconv.ParseFloat(m[2], 64)
	if direct < 2 || proxied <= direct {
		t.Errorf("goroutines per idle bind: %v through the proxy, %v directly; want at least 2 directly (client and simulator session) and more through the proxy", proxied, direct)
	}
}
