//go:build linux

package main

import (
	"context"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestBenchIdle runs a short `optguard bench -idle-binds` as a process (it
// starts its peer process from its own executable) and checks that every
// figure is printed and that the idle binds stayed up through the loaded run.
func TestBenchIdle(t *testing.T) {
	bin := buildOptguard(t)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "bench", "-idle-binds", "40", "-rounds", "1", "-duration", "300ms", "-warmup", "100ms",
		"-binds", "2", "-window", "32", "-idle-measure", "200ms")
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	o := string(out)
	if err != nil {
		t.Fatalf("bench -idle-binds: %v\n%s", err, o)
	}
	for _, want := range []string{
		"machine: ", "load average ", "open-file limit ",
		"through the proxy: 40/40 idle binds bound in",
		"round 1: 40/40 idle binds bound in",
		"40/40 still bound after the measurement",
		"with/alone throughput: ",
		"idle CPU of the proxy's process over 200ms, no load: ",
		"resident memory per idle bind (after a GC): ",
		"load average at the end: ",
	} {
		if !strings.Contains(o, want) {
			t.Errorf("output lacks %q:\n%s", want, o)
		}
	}
	// The round's row ends with the idle binds still up.
	if !regexp.MustCompile(`(?m)^\s+1\s.*\s40/40$`).MatchString(o) {
		t.Errorf("round 1 does not end with 40/40 idle binds up:\n%s", o)
	}
	// The proxy's process holds two descriptors per idle bind (the ESME's
	// connection and the upstream one), its goroutines grow with them.
	m := regexp.MustCompile(`this process \(the proxy\): .* with 40 idle binds; [+-][0-9.]+ MiB resident, \+(\d+) goroutines, (\d+) open files`).FindStringSubmatch(o)
	if m == nil {
		t.Fatalf("no cost line for the proxy's process:\n%s", o)
	}
	if g, _ := strconv.Atoi(m[1]); g < 40 {
		t.Errorf("%d more goroutines with 40 idle binds up; want at least one per bind", g)
	}
	if files, _ := strconv.Atoi(m[2]); files < 80 {
		t.Errorf("%d open files with 40 idle binds up; want at least 80", files)
	}
}
