package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestBenchAPILoad runs a short -baseline with -api-load: the policy+api
// target is loaded beside the others, every lookup of a handset the load
// addresses is answered 200 at about the rate asked, and the text and the
// JSON report give policy+api's ratio to policy and the lookups' latency.
func TestBenchAPILoad(t *testing.T) {
	bin := buildOptguard(t) // the lookups' peer process is this executable
	report := filepath.Join(t.TempDir(), "r.json")
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "bench", "-baseline", "-api-load", "200", "-rounds", "1", "-duration", "1s", "-warmup", "200ms",
		"-binds", "1", "-window", "16", "-vary-dest=false", "-quiet", "-report", report)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	o := string(out)
	if err != nil {
		t.Fatalf("bench -api-load: %v\n%s", err, o)
	}
	if !regexp.MustCompile(`CPU per lookup: [0-9.]+µs in this process \(the server; its [0-9.]+ % of a core idle taken out\), [0-9.]+µs in the peer \(the client\)`).MatchString(o) {
		t.Errorf("no CPU per lookup:\n%s", o)
	}
	for _, want := range []string{"policy+api: the policy target with 200 number lookups a second", "policy+api/policy throughput: "} {
		if !strings.Contains(o, want) {
			t.Errorf("output lacks %q:\n%s", want, o)
		}
	}
	if m := regexp.MustCompile(`alone, with no SMPP load, .*, (\d+) of (\d+) answered 200`).FindStringSubmatch(o); m == nil || m[1] != m[2] || m[1] == "0" {
		t.Errorf("the lookups alone were not all answered 200: %q\n%s", m, o)
	}
	if !regexp.MustCompile(`(?m)^\s+1\s+policy\+api\s+\d+`).MatchString(o) {
		t.Errorf("no policy+api run:\n%s", o)
	}
	// round, asked/s, answered/s, p50, p99, p99.9, max, p99 from intended send, not 200
	m := regexp.MustCompile(`(?m)^\s+1\s+200\s+(\d+)\s+\S+\s+\S+\s+\S+\s+\S+\s+\S+\s+(\d+)$`).FindStringSubmatch(o)
	if m == nil {
		t.Fatalf("no lookups row for round 1:\n%s", o)
	}
	if answered, _ := strconv.Atoi(m[1]); answered < 150 || answered > 250 || m[2] != "0" {
		t.Errorf("lookups answered %s/s with %s not 200; want about 200/s, all 200", m[1], m[2])
	}

	b, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Baseline struct {
			APIPolicy       float64   `json:"api_policy"`
			APIPolicyRounds []float64 `json:"api_policy_rounds"`
			Lookups         []struct {
				Round, Rate int
				OK          uint64
				P99US       int64 `json:"p99_us"`
			} `json:"api_lookups"`
		}
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	bl := rep.Baseline
	if bl.APIPolicy <= 0 || len(bl.APIPolicyRounds) != 1 || len(bl.Lookups) != 1 || bl.Lookups[0].Rate != 200 || bl.Lookups[0].OK < 150 || bl.Lookups[0].P99US <= 0 {
		t.Errorf("report's baseline: %+v", bl)
	}
}

// TestBenchAPILoadFlags: -api-load goes with -baseline only.
func TestBenchAPILoadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"bench", "-target", "127.0.0.1:1", "-api-load", "100"},
		{"bench", "-baseline", "-api-load", "-1"},
		{"bench", "-import", "10", "-report", "x.json"},
	} {
		var out, errOut bytes.Buffer
		if code := run(args, &out, &errOut); code != 2 {
			t.Errorf("%v: exit %d, want 2; %s", args, code, errOut.String())
		}
	}
}
