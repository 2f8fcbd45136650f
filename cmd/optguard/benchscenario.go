package main

// `optguard bench -scenario NAME|FILE`: one run of a scenario file, against
// -target or against a simulator, proxy and policy started in this
// process (benchscenario_env.go); a live progress line, the figures, the
// checks the scenario implies (benchscenario_checks.go) and the reports. A
// check that fails makes the run fail: a wrong verdict under load is an
// error, not a number.

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/optguard/optguard/smpp/pdu"
	"github.com/optguard/optguard/store"
	"github.com/optguard/optguard/testenv"
)

// benchScenario runs f.scenario and writes its reports.
func benchScenario(ctx context.Context, f benchFlags, stdout, stderr io.Writer) error {
	s, err := loadScenario(f.scenario)
	if err != nil {
		return err
	}
	out, err := runScenario(ctx, s, f.target, f.quiet, stdout, stderr)
	if err != nil {
		return err
	}
	if err := f.writeReports(stdout, out.report); err != nil {
		return err
	}
	if n := out.failed(); n > 0 {
		return fmt.Errorf("%d of %d checks failed", n, len(out.report.Checks))
	}
	return nil
}

// scenarioOutcome is what one run of a scenario gave.
type scenarioOutcome struct {
	res    testenv.LoadResult
	report reportInput // Checks: what the scenario implies of res
}

func (o *scenarioOutcome) failed() int {
	n := 0
	for _, c := range o.report.Checks {
		if !c.OK {
			n++
		}
	}
	return n
}

// runScenario runs s against target ("" = in-process, as s.Through says),
// prints the figures and the checks, and returns them. Interrupted by
// ctx, it returns what was measured, with no checks.
func runScenario(ctx context.Context, s *scenario, target string, quiet bool, stdout, stderr io.Writer) (scenarioOutcome, error) {
	started := time.Now()
	var env *scenarioEnv
	if target == "" {
		var err error
		if env, err = startScenarioEnv(ctx, s, stdout); err != nil {
			return scenarioOutcome{}, err
		}
		defer env.close()
		target = env.addr
	}
	cfg, err := s.loadConfig(target)
	if err != nil {
		return scenarioOutcome{}, err
	}
	where := target
	optedOutBefore := 0
	if env != nil {
		where = s.Through + " (in-process)"
		if env.pol != nil {
			cfg.Held = heldID
			optedOutBefore = env.pol.p.store.Gauges().ByState[store.StateOptedOut]
		}
	}
	fmt.Fprintf(stdout, "optguard bench -scenario %s: %s, through %s\n", s.Name, s.Description, where)
	m := currentMachine()
	fmt.Fprintf(stdout, "machine: %s, %d cores, %s %s/%s\n\n", m.CPU, m.Cores, m.Go, m.OS, m.Arch)

	prog := newProgress(stderr, s.Name, s.length())
	if !quiet {
		cfg.OnSecond = prog.second
	}
	var mo moRun
	if env != nil && s.MO != nil {
		mo.start(ctx, env.sim, *s.moStorm())
	}
	var released []releaseRun
	cfg.AtEnd = func() {
		mo.stop() // while the binds that receive the MOs are up
		if env != nil && env.pol != nil && ctx.Err() == nil {
			released = env.release(ctx, s)
		}
	}
	res, runErr := testenv.RunLoad(ctx, cfg)
	prog.done()
	mo.stop()
	interrupted := ctx.Err() != nil
	if runErr != nil && !interrupted {
		return scenarioOutcome{}, runErr
	}
	res.Format(stdout)
	if mo.cfg.Rate > 0 {
		fmt.Fprintf(stdout, "MOs: the simulator sent %d (%d answered ESME_ROK); the ESMEs got %d deliver_sm that are not receipts\n", mo.res.Sent, mo.res.ByStatus[pdu.ESME_ROK], res.MOs)
		if mo.err != nil {
			fmt.Fprintf(stdout, "MOs ended early: %v\n", mo.err)
		}
	}
	var checks []reportCheck
	if interrupted {
		// A run cut short does not have the figures its plan implies.
		fmt.Fprintln(stdout, "\ninterrupted: the figures so far; no checks")
	} else {
		checks = s.checks(&res, env, &mo)
		checks = append(checks, s.releaseChecks(&res, released)...)
		if env != nil && env.pol != nil && mo.cfg.Rate > 0 {
			checks = append(checks, optOutsStored(&mo, env.pol.p.store.Gauges().ByState[store.StateOptedOut]-optedOutBefore))
		}
	}
	printChecks(stdout, checks)
	params := append([][2]string{{"through", where}}, scenarioParams(s, cfg)...)
	return scenarioOutcome{res: res, report: reportInput{Command: os.Args, Scenario: s.Name, Params: params, Started: started,
		Runs: []reportRun{{Name: s.Name, Round: 1, Res: res}}, Checks: checks, Interrupted: interrupted}}, nil
}

// length is the scenario's planned run: the warmup and the phases.
func (s *scenario) length() time.Duration {
	d := time.Duration(s.Warmup)
	for _, p := range s.plan {
		d += p.Duration
	}
	return d
}

// scenarioParams are the report's parameters of a scenario run.
func scenarioParams(s *scenario, cfg testenv.LoadConfig) [][2]string {
	var binds []string
	for _, g := range s.Binds {
		b := fmt.Sprintf("%d %s as %s", g.Count, g.Bind, g.SystemID)
		if g.submits() {
			b += fmt.Sprintf(" (window %d)", g.Window)
		}
		binds = append(binds, b)
	}
	p := [][2]string{{"binds", strings.Join(binds, "; ")}}
	for _, kv := range reportLoadParams(cfg) {
		if kv[0] != "binds" && kv[0] != "window" {
			p = append(p, kv)
		}
	}
	if s.MO != nil {
		p = append(p, [2]string{"mo_rate", strconv.FormatFloat(s.MO.Rate, 'g', -1, 64) + "/s"})
	}
	for _, kv := range [][2]string{{"sim_latency", s.Sim.Latency}, {"sim_errors", s.Sim.Errors}, {"sim_receipt_delay", s.Sim.ReceiptDelay}} {
		if kv[1] != "" {
			p = append(p, kv)
		}
	}
	if s.Policy != nil {
		p = append(p, [2]string{"policy_mode", string(s.policyMode())})
	}
	return p
}
