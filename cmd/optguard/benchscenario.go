package main

// `optguard bench -scenario NAME|FILE`: one run of a scenario file, against
// -target or against a simulator, proxy and policy started in this
// process; a live progress line, the figures, the checks the scenario
// implies (every request accounted for, shares reproduced, each handset
// group's consent verdict) and the reports. A check that fails makes the
// run fail: a wrong verdict under load is an error, not a number.

import (
	"context"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/optguard/optguard/config"
	"github.com/optguard/optguard/smpp/pdu"
	"github.com/optguard/optguard/store"
	"github.com/optguard/optguard/testenv"
)

// scenarioEnv is what a scenario runs against in-process: the simulator,
// and the proxy (with the policy when the scenario goes through it).
type scenarioEnv struct {
	sim    *testenv.SMSC
	pol    *policyProxy // through: policy
	close_ []func()
	addr   string
	// toOptedOut counts submissions the simulator got for an opted_out
	// handset: the proxy must never let one through once the run started
	// (before, optguard's own confirmations of the setup's STOPs go out).
	toOptedOut atomic.Uint64
	optedOut   []handsetRange
	nOptedOut  uint64
	settle     time.Duration // the simulator's slowest answer, and a margin
}

// handsetRange is a consecutive part of the population, as E.164 digits.
type handsetRange struct{ first, last uint64 }

func (e *scenarioEnv) close() {
	for i := len(e.close_) - 1; i >= 0; i-- {
		e.close_[i]()
	}
}

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

// releaseRun is the YES a held group's handsets sent at the end of a run.
type releaseRun struct {
	group string
	res   testenv.StormResult
	err   error
}

// release has every handset of the groups whose messages were held answer
// YES at the end of the run, while its binds are still up: the policy opts
// them in and sends their held MTs on, and the receipts of those come back
// with the ids the ESME was given (the run waits for them).
func (e *scenarioEnv) release(ctx context.Context, s *scenario) []releaseRun {
	var out []releaseRun
	systemID := ""
	for _, g := range s.Binds {
		if g.receives() {
			systemID = g.SystemID
			break
		}
	}
	h := s.loadHandsets()
	off := 0
	for _, g := range s.Handsets.Groups {
		first := h.First + uint64(off)
		off += g.Count
		if g.Expect != "held" {
			continue
		}
		res, err := e.sim.StormMO(ctx, testenv.StormConfig{SystemID: systemID, Count: g.Count, FirstHandset: first,
			Text: "YES", Window: 100, Drain: 10 * time.Second})
		out = append(out, releaseRun{group: g.Name, res: res, err: err})
	}
	return out
}

// releaseChecks: after the YES, each held MT that asked for a receipt got
// one, matched by the held id, but for the share the simulator refuses or
// drops.
func (s *scenario) releaseChecks(res *testenv.LoadResult, released []releaseRun) []reportCheck {
	var out []reportCheck
	loss := float64(s.Sim.Drop)
	if p, err := s.simProfile(); err == nil && p != nil {
		for _, e := range p.Errors {
			loss += e.Share
		}
	}
	for _, rel := range released {
		c := reportCheck{Name: "group " + rel.group + " released"}
		g := res.ByGroup[rel.group]
		switch {
		case rel.err != nil:
			c.Detail = fmt.Sprintf("the handsets' YES: %v", rel.err)
		case g == nil || g.ReceiptsAsked == 0:
			c.Detail = "no held message asked for a receipt"
		default:
			want := float64(g.ReceiptsAsked) * (1 - loss)
			tol := 4*math.Sqrt(float64(g.ReceiptsAsked)*loss*(1-loss)) + 1
			c.OK = rel.res.ByStatus[pdu.ESME_ROK] == uint64(rel.res.Sent) && float64(g.Receipts) >= want-tol && g.Receipts <= g.ReceiptsAsked
			c.Detail = fmt.Sprintf("after YES from %d handsets, %d of %d held messages that asked for a receipt got one with their held id (want ≥ %.0f)",
				rel.res.Sent, g.Receipts, g.ReceiptsAsked, want-tol)
		}
		out = append(out, c)
	}
	return out
}

// optOutsStored checks the STOPs the simulator sent against the opt-outs
// the store gained: each answered STOP from a handset not seen before is
// an opted_out record on disk (the policy answers after its synced write).
func optOutsStored(mo *moRun, gained int) reportCheck {
	stops := mo.res.ByText["STOP"]
	c := reportCheck{Name: "durable opt-outs"}
	if mo.res.Sent <= uint64(mo.cfg.Handsets) && mo.res.ByStatus[pdu.ESME_ROK] == mo.res.Responses {
		// Every MO came from a handset of its own, and all were accepted.
		c.OK = uint64(gained) == stops
		c.Detail = fmt.Sprintf("%d STOP answered, %d opted_out records gained", stops, gained)
		return c
	}
	c.OK = uint64(gained) <= stops
	c.Detail = fmt.Sprintf("%d opted_out records gained for %d STOP (some handsets wrote twice)", gained, stops)
	return c
}

// length is the scenario's planned run: the warmup and the phases.
func (s *scenario) length() time.Duration {
	d := time.Duration(s.Warmup)
	for _, p := range s.plan {
		d += p.Duration
	}
	return d
}

// heldID recognises optguard's held-message ids against the simulator's:
// the simulator counts (short ids), optguard's are 16 hex digits of a
// random number.
func heldID(id []byte) bool { return len(id) == 16 }

// startScenarioEnv starts the simulator with the scenario's profile and,
// unless it goes direct, the proxy (with the policy, its handset groups set
// up in the states the scenario names).
func startScenarioEnv(ctx context.Context, s *scenario, w io.Writer) (*scenarioEnv, error) {
	env := &scenarioEnv{}
	sc, err := s.smscConfig()
	if err != nil {
		return nil, err
	}
	h := s.loadHandsets()
	off := 0
	for _, g := range s.Handsets.Groups {
		if g.State == "opted_out" {
			env.optedOut = append(env.optedOut, handsetRange{h.First + uint64(off), h.First + uint64(off+g.Count-1)})
			env.nOptedOut += uint64(g.Count)
		}
		off += g.Count
	}
	if len(env.optedOut) > 0 {
		sc.Inspect = env.inspect
	}
	env.settle = 100 * time.Millisecond
	if sc.Load != nil {
		env.settle += sc.Load.Latency.Cap()
	}
	sim, err := testenv.StartSMSC(sc)
	if err != nil {
		return nil, err
	}
	env.sim, env.addr = sim, sim.Addr()
	env.close_ = append(env.close_, func() { sim.Close() })
	switch s.Through {
	case "direct":
	case "proxy":
		srv, ln, err := startBenchProxy(sim.Addr(), 0, nil)
		if err != nil {
			env.close()
			return nil, err
		}
		env.addr = ln.Addr().String()
		env.close_ = append(env.close_, func() {
			sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			srv.Shutdown(sctx)
		})
	case "policy":
		pol, err := startPolicyProxy(sim.Addr(), s.policyMode())
		if err != nil {
			env.close()
			return nil, err
		}
		env.pol, env.addr = pol, pol.p.addr()
		env.close_ = append(env.close_, pol.close)
		if err := env.setUpGroups(ctx, s, w); err != nil {
			env.close()
			return nil, err
		}
	}
	return env, nil
}

// inspect is the simulator's look at each submission: one to an
// opted_out handset is counted. It runs on the simulator's hot path, so
// it scans without allocating.
func (e *scenarioEnv) inspect(m *pdu.Message) {
	check := func(addr []byte) {
		v, ok := digitsValue(addr)
		if !ok {
			return
		}
		for _, r := range e.optedOut {
			if v >= r.first && v <= r.last {
				e.toOptedOut.Add(1)
			}
		}
	}
	if m.ID == pdu.SubmitMulti {
		it := m.Dests()
		for d, ok := it.Next(); ok; d, ok = it.Next() {
			check(d.Addr.Addr)
		}
		return
	}
	check(m.Dest.Addr)
}

// digitsValue reads an address of digits (after an optional '+') as a
// number, without allocating.
func digitsValue(addr []byte) (uint64, bool) {
	if len(addr) > 0 && addr[0] == '+' {
		addr = addr[1:]
	}
	if len(addr) == 0 || len(addr) > 19 {
		return 0, false
	}
	var v uint64
	for _, c := range addr {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
	}
	return v, true
}

// setUpGroups puts each handset group in the state the scenario names,
// through the policy as handsets would: STOP from the opted_out ones, START
// from the opted_in ones (unknown ones stay unknown), on a transceiver
// bound for the purpose; then it checks the store agrees.
func (e *scenarioEnv) setUpGroups(ctx context.Context, s *scenario, w io.Writer) error {
	systemID, password := "bench", "bench"
	for _, g := range s.Binds {
		if g.receives() || g.submits() {
			systemID, password = g.SystemID, g.Password
			break
		}
	}
	h := s.loadHandsets()
	type step struct {
		g          groupSpec
		first      uint64
		text       string
		want       store.State
		wantRecord bool
	}
	var steps []step
	off := 0
	for _, g := range s.Handsets.Groups {
		st := step{g: g, first: h.First + uint64(off)}
		switch g.State {
		case "opted_out":
			st.text, st.want, st.wantRecord = "STOP", store.StateOptedOut, true
		case "opted_in":
			st.text, st.want, st.wantRecord = "START", store.StateOptedIn, true
		}
		steps = append(steps, st)
		off += g.Count
	}
	if !slices.ContainsFunc(steps, func(st step) bool { return st.text != "" }) {
		return nil
	}
	esme, err := testenv.DialESME(ctx, e.addr, testenv.ESMEConfig{})
	if err != nil {
		return err
	}
	// A transceiver: the STOPs' confirmations go out on it during the
	// setup, not queued for the run's transmitters.
	if st, err := esme.Bind(ctx, pdu.BindTransceiver, systemID, password); err != nil || st != pdu.ESME_ROK {
		esme.Close()
		return fmt.Errorf("setting up the handset groups: binding a transceiver as %q through the proxy: status %s, %v", systemID, st, err)
	}
	defer func() {
		esme.Unbind(ctx)
		esme.Close()
		e.untilUnbound(systemID)
	}()
	if err := e.sim.WaitSessions(ctx, 1); err != nil {
		return err
	}
	start := time.Now()
	for _, st := range steps {
		if st.text == "" {
			continue
		}
		res, err := e.sim.StormMO(ctx, testenv.StormConfig{SystemID: systemID, Count: st.g.Count, FirstHandset: st.first,
			Text: st.text, Window: 100, Drain: 30 * time.Second})
		if err != nil {
			return fmt.Errorf("setting up group %s (%s from each handset): %w", st.g.Name, st.text, err)
		}
		if ok := res.ByStatus[pdu.ESME_ROK]; ok != uint64(st.g.Count) {
			return fmt.Errorf("setting up group %s: %d of %d %s answered ESME_ROK (%v)", st.g.Name, ok, st.g.Count, st.text, res.ByStatus)
		}
	}
	// The store is the proof: every handset of a group is in its state.
	for _, st := range steps {
		for i := range st.g.Count {
			num := "+" + strconv.FormatUint(st.first+uint64(i), 10)
			c, known := e.pol.p.store.Lookup(store.OrgScope(config.DefaultOrganization, num))
			if known != st.wantRecord || (known && c.State != st.want) {
				return fmt.Errorf("setting up group %s: %s is %s (known %v); want %s", st.g.Name, num, c.State, known, st.want)
			}
		}
	}
	// Each STOP is confirmed to its handset: those MTs are optguard's,
	// and the count of what reaches opted-out handsets starts after them.
	deadline := time.Now().Add(10 * time.Second)
	for e.toOptedOut.Load() < e.nOptedOut && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond) // bounded by the deadline
	}
	if n := e.toOptedOut.Swap(0); n != e.nOptedOut {
		return fmt.Errorf("setting up the handset groups: %d opt-out confirmations reached the simulator within 10 s, want %d", n, e.nOptedOut)
	}
	// Their answers come after the simulator's latency; closing the bind
	// before they are read would leave optguard resending confirmations
	// and the receipts of the first ones forwarded as strangers'.
	time.Sleep(e.settle) // bounded: the latency's cap and a margin
	fmt.Fprintf(w, "handset groups set up through the policy in %s: %s\n", time.Since(start).Round(time.Millisecond), groupSummary(s))
	return nil
}

// untilUnbound waits (at most 5 s) until the simulator has no receiving
// session of systemID left, so that the run's MO traffic starts on the
// run's own binds, not on the setup's closing one.
func (e *scenarioEnv) untilUnbound(systemID string) {
	deadline := time.Now().Add(5 * time.Second)
	for receiverBound(e.sim, systemID) && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond) // bounded by the deadline
	}
}

func groupSummary(s *scenario) string {
	var parts []string
	for _, g := range s.Handsets.Groups {
		parts = append(parts, fmt.Sprintf("%s %d (%s)", g.Name, g.Count, g.State))
	}
	return strings.Join(parts, ", ")
}

// moRun is the MO traffic the simulator sends beside a scenario's load.
type moRun struct {
	cfg    testenv.StormConfig
	wg     sync.WaitGroup
	res    testenv.StormResult
	err    error
	cancel context.CancelFunc
}

// start sends cfg's MOs from when a receiving session of the system_id is
// bound at the simulator (the load binds it) until stop.
func (m *moRun) start(ctx context.Context, sim *testenv.SMSC, cfg testenv.StormConfig) {
	m.cfg = cfg
	m.cfg.Drain = 2 * time.Second
	ctx, m.cancel = context.WithCancel(ctx)
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		for ctx.Err() == nil && !receiverBound(sim, cfg.SystemID) {
			time.Sleep(5 * time.Millisecond) // until the run's binds are up, or stop
		}
		if ctx.Err() != nil {
			return
		}
		m.res, m.err = sim.StormMO(ctx, m.cfg)
	}()
}

// stop ends the MOs and waits for the answers still due (the storm's
// drain); a second call only waits.
func (m *moRun) stop() {
	if m.cancel != nil {
		m.cancel()
	}
	m.wg.Wait()
}

func receiverBound(sim *testenv.SMSC, systemID string) bool {
	for _, s := range sim.Sessions() {
		if s.Bound && (systemID == "" || s.SystemID == systemID) && (s.Bind == pdu.BindReceiver || s.Bind == pdu.BindTransceiver) {
			return true
		}
	}
	return false
}

// checks are what the scenario implies of its figures.
func (s *scenario) checks(res *testenv.LoadResult, env *scenarioEnv, mo *moRun) []reportCheck {
	var out []reportCheck
	add := func(name string, ok bool, format string, args ...any) {
		out = append(out, reportCheck{Name: name, OK: ok, Detail: fmt.Sprintf(format, args...)})
	}
	add("binds", len(res.Errors) == 0, "%d errors%s", len(res.Errors), firstOf(res.Errors))
	add("every request accounted for", res.Sent == res.Responses+res.Unanswered,
		"%d sent = %d answered + %d unanswered", res.Sent, res.Responses, res.Unanswered)

	var messages uint64
	for _, n := range res.ByMessage {
		messages += n
	}
	for _, m := range s.Messages {
		name := m.Name
		if name == "" {
			name = m.defaultName()
		}
		got := ratio(res.ByMessage[name], messages)
		tol := shareTolerance(float64(m.Share), messages)
		add("share of "+name, math.Abs(got-float64(m.Share)) <= tol, "%.2f%% of %d messages, want %.2f%% ± %.2f", 100*got, messages, 100*float64(m.Share), 100*tol)
	}
	if s.Receipts > 0 {
		ok := res.ByStatus[pdu.ESME_ROK]
		asked := res.Receipts + res.ReceiptsDue
		got := ratio(asked, ok)
		tol := shareTolerance(float64(s.Receipts), ok)
		add("share asking for a receipt", math.Abs(got-float64(s.Receipts)) <= tol,
			"%.2f%% of %d accepted, want %.2f%% ± %.2f", 100*got, ok, 100*float64(s.Receipts), 100*tol)
		if env != nil && env.pol == nil {
			add("receipts received", res.ReceiptsDue == 0 && res.ReceiptsUnmatched == 0,
				"%d matched, %d still due at the end, %d unmatched", res.Receipts, res.ReceiptsDue, res.ReceiptsUnmatched)
		}
	}
	if env != nil && mo.cfg.Rate > 0 {
		if mo.err != nil {
			add("MOs", false, "ended early: %v", mo.err)
		}
		answered := mo.res.ByStatus[pdu.ESME_ROK]
		if env.pol == nil {
			add("MOs delivered", res.MOs == answered, "the simulator's %d answered MOs, the ESMEs got %d", answered, res.MOs)
		}
		// The rate reached is a figure (a slow proxy holds the storm's
		// window full), not a check; every deliver_sm answered is one.
		rate := 0.0
		if mo.res.Elapsed > 0 {
			rate = float64(mo.res.Sent) / mo.res.Elapsed.Seconds()
		}
		add("MOs answered", mo.res.Sent > 0 && mo.res.Responses == mo.res.Parts,
			"%d MOs (%d deliver_sm) sent at %.0f/s of %g/s asked, %d answered", mo.res.Sent, mo.res.Parts, rate, mo.cfg.Rate, mo.res.Responses)
	}
	if env != nil && env.pol != nil {
		refused := env.pol.refusedStatus()
		for _, g := range s.Handsets.Groups {
			r := res.ByGroup[g.Name]
			if r == nil || r.Responses == 0 {
				add("group "+g.Name, false, "no responses for the group")
				continue
			}
			ok := r.ByStatus[pdu.ESME_ROK]
			switch g.Expect {
			case "refused":
				add("group "+g.Name+" refused", r.ByStatus[refused] == r.Responses,
					"%d of %d answered %s (%s)", r.ByStatus[refused], r.Responses, refused, statusList(r.ByStatus))
			case "held":
				add("group "+g.Name+" held", ok == r.Held && r.ByStatus[refused] == 0 && ok > 0,
					"%d of %d ESME_ROK are held ids, %d refused", r.Held, ok, r.ByStatus[refused])
			default:
				add("group "+g.Name+" delivered", r.Held == 0 && r.ByStatus[refused] == 0 && ok > 0,
					"%d ESME_ROK, %d held, %d refused (%s)", ok, r.Held, r.ByStatus[refused], statusList(r.ByStatus))
			}
		}
		if len(env.optedOut) > 0 {
			n := env.toOptedOut.Load()
			add("no opted-out handset reached the SMSC", n == 0, "%d submissions to opted_out handsets reached the simulator", n)
		}
	}
	return out
}

// shareTolerance is how far a share measured over n draws may be from p:
// four standard deviations, and at least half a point.
func shareTolerance(p float64, n uint64) float64 {
	if n == 0 {
		return 1
	}
	return max(4*math.Sqrt(p*(1-p)/float64(n)), 0.005)
}

func ratio(a, b uint64) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func firstOf(errs []string) string {
	if len(errs) == 0 {
		return ""
	}
	return ": " + errs[0]
}

func statusList(m map[pdu.Status]uint64) string {
	var parts []string
	for _, st := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s %d", st, m[st]))
	}
	return strings.Join(parts, ", ")
}

// printChecks prints the checks.
func printChecks(w io.Writer, checks []reportCheck) {
	if len(checks) == 0 {
		return
	}
	fmt.Fprintln(w, "\nchecks:")
	for _, c := range checks {
		mark := "ok    "
		if !c.OK {
			mark = "FAILED"
		}
		fmt.Fprintf(w, "  %s %-40s %s\n", mark, c.Name, c.Detail)
	}
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
