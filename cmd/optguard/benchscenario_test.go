package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/optguard/optguard/config"
	"github.com/optguard/optguard/smpp/pdu"
	"github.com/optguard/optguard/testenv"
)

// shortScenario loads a built-in scenario cut to a short run: a warmup of
// 200 ms and each phase at most 500 ms, at the rates the file gives.
func shortScenario(t *testing.T, name, through string) *scenario {
	t.Helper()
	s, err := loadScenario(name)
	if err != nil {
		t.Fatal(err)
	}
	s.Warmup = config.Duration(200 * time.Millisecond)
	for i := range s.plan {
		s.plan[i].Duration = min(s.plan[i].Duration, 500*time.Millisecond)
	}
	if through != "" {
		s.Through = through
	}
	return s
}

// runShort runs s in-process and returns its outcome and output.
func runShort(t *testing.T, ctx context.Context, s *scenario) (scenarioOutcome, string) {
	t.Helper()
	var out bytes.Buffer
	o, err := runScenario(ctx, s, "", true, &out, &out)
	if err != nil {
		t.Fatalf("%s: %v\n%s", s.Name, err, out.String())
	}
	return o, out.String()
}

// TestBuiltinScenariosPassTheirChecks runs every built-in scenario for a
// short time against the simulator, directly and through the proxy (the
// consent ones through the policy), and requires every check to hold:
// the shares reproduced, every request accounted for, each handset group's
// verdict, and no opted-out handset reaching the simulator.
func TestBuiltinScenariosPassTheirChecks(t *testing.T) {
	for _, c := range []struct {
		name, through string
		want          []string // checks that must be among them
	}{
		{"relay", "direct", []string{"every request accounted for", "share of submit_sm"}},
		{"relay", "proxy", []string{"every request accounted for"}},
		{"long-messages", "direct", []string{"share of submit_multi-3", "share of ucs2-sar-2"}},
		{"long-messages", "proxy", []string{"share of data_sm-payload"}},
		{"consent-mix", "", []string{"group opted_in delivered", "group opted_out refused", "group unknown held",
			"no opted-out handset reached the SMSC", "share asking for a receipt", "MOs answered", "durable opt-outs",
			"group unknown released"}},
		{"stop-storm", "", []string{"MOs answered", "durable opt-outs"}},
	} {
		t.Run(c.name+"/"+c.through, func(t *testing.T) {
			o, out := runShort(t, testenv.Context(t, 2*time.Minute), shortScenario(t, c.name, c.through))
			t.Logf("\n%s", out)
			if o.res.Sent == 0 || o.failed() > 0 {
				t.Fatalf("%d requests, %d checks failed", o.res.Sent, o.failed())
			}
			for _, name := range c.want {
				found := false
				for _, ch := range o.report.Checks {
					found = found || ch.Name == name
				}
				if !found {
					t.Errorf("no check %q", name)
				}
			}
		})
	}
}

// TestScenarioCheckFailsOnAWrongVerdict: a scenario that expects the
// opted-out handsets' messages to be delivered fails its check, with the
// statuses that crossed: a wrong verdict is an error, not a number.
func TestScenarioCheckFailsOnAWrongVerdict(t *testing.T) {
	s := shortScenario(t, "consent-mix", "")
	s.MO = nil
	for i := range s.Handsets.Groups {
		if s.Handsets.Groups[i].Name == "opted_out" {
			s.Handsets.Groups[i].Expect = "delivered"
		}
	}
	o, _ := runShort(t, testenv.Context(t, time.Minute), s)
	for _, c := range o.report.Checks {
		if c.Name == "group opted_out delivered" {
			if c.OK || !strings.Contains(c.Detail, "ESME_RX_P_APPN") {
				t.Fatalf("check %+v; want it failed, naming the refusals", c)
			}
			return
		}
	}
	t.Fatalf("no check of the opted_out group in %+v", o.report.Checks)
}

// TestScenarioInterrupted: a run ended early (Ctrl-C) still returns what
// it measured, says so, and runs no checks.
func TestScenarioInterrupted(t *testing.T) {
	s := shortScenario(t, "relay", "direct")
	s.plan[0].Duration = time.Minute
	ctx, cancel := context.WithTimeout(testenv.Context(t, time.Minute), 700*time.Millisecond)
	defer cancel()
	o, out := runShort(t, ctx, s)
	if !o.report.Interrupted || len(o.report.Checks) != 0 || o.res.Responses == 0 || !strings.Contains(out, "interrupted") {
		t.Fatalf("interrupted %v, %d checks, %d responses:\n%s", o.report.Interrupted, len(o.report.Checks), o.res.Responses, out)
	}
}

// TestBenchScenarioAgainstATarget: `bench -scenario FILE -target` loads any
// SMPP server with the scenario's binds and mix and writes the reports; a
// refused bind is reported by its status name.
func TestBenchScenarioAgainstATarget(t *testing.T) {
	sim, err := testenv.StartSMSC(testenv.SMSCConfig{Accounts: map[string]string{"loader": "secret"}})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	dir := t.TempDir()
	file := filepath.Join(dir, "mine.yaml")
	yaml := `name: mine
description: two transmitters of the loader account at 2,000/s
warmup: 100ms
binds:
  - count: 2
    bind: tx
    system_id: loader
    password: secret
    window: 16
phases:
  - duration: 500ms
    rate: 2000
messages:
  - name: hello
    share: 100%
    text: hello
handsets:
  first: 15550000000
  count: 100
`
	if err := os.WriteFile(file, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	report := filepath.Join(dir, "run.json")
	var stdout, stderr bytes.Buffer
	if code := runBench([]string{"-scenario", file, "-target", sim.Addr(), "-quiet", "-report", report}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
	var rep struct {
		Scenario string `json:"scenario"`
		Runs     []struct {
			Responses uint64            `json:"responses"`
			ByStatus  map[string]uint64 `json:"by_status"`
		} `json:"runs"`
		Checks []struct {
			Name string `json:"name"`
			OK   bool   `json:"ok"`
		} `json:"checks"`
	}
	data, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Scenario != "mine" || len(rep.Runs) != 1 || rep.Runs[0].Responses < 900 || rep.Runs[0].ByStatus["ESME_ROK"] != rep.Runs[0].Responses || len(rep.Checks) == 0 {
		t.Fatalf("report %s", data)
	}
	if got := sim.Stats().Received[pdu.SubmitSM]; got < 900 {
		t.Errorf("the target got %d submit_sm", got)
	}

	// A wrong password: the bind's status by name, and a failed run.
	bad := strings.Replace(yaml, "password: secret", "password: wrong", 1)
	if err := os.WriteFile(file, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout.Reset()
	stderr.Reset()
	if code := runBench([]string{"-scenario", file, "-target", sim.Addr(), "-quiet"}, &stdout, &stderr); code != 1 || !strings.Contains(stderr.String(), "ESME_RINVPASWD") {
		t.Fatalf("exit %d with a wrong password:\n%s%s", code, stdout.String(), stderr.String())
	}
}

// TestBenchScenarioFlags: the list, and bad names and report files.
func TestBenchScenarioFlags(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := runBench([]string{"-scenario", "list"}, &stdout, &stderr); code != 0 {
		t.Fatalf("list: exit %d: %s", code, stderr.String())
	}
	for _, name := range builtinScenarios {
		if !strings.Contains(stdout.String(), name) {
			t.Errorf("list lacks %s:\n%s", name, stdout.String())
		}
	}
	stderr.Reset()
	if code := runBench([]string{"-scenario", "relay", "-report", "out.txt"}, &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), ".json, .csv, .html") {
		t.Errorf("-report out.txt: exit %d: %s", code, stderr.String())
	}
	stderr.Reset()
	if code := runBench([]string{"-scenario", "relay", "-binds", "8", "-rate", "100"}, &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), "-binds, -rate: with -scenario") {
		t.Errorf("-scenario with -binds: exit %d: %s", code, stderr.String())
	}
	stderr.Reset()
	if code := runBench([]string{"-scenario", "no-such-scenario"}, &stdout, &stderr); code != 1 || !strings.Contains(stderr.String(), "no-such-scenario") {
		t.Errorf("unknown scenario: exit %d: %s", code, stderr.String())
	}
}
