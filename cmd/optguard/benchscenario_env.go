package main

// What a scenario runs against in-process: the simulator with the
// scenario's profile, the proxy or the policy, the handset groups set up in
// their consent states through it, the MO traffic beside the load and the
// YES that releases the held groups at the end.

import (
	"context"
	"fmt"
	"io"
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
	sim     *testenv.SMSC
	pol     *policyProxy // through: policy
	closers []func()     // run in reverse by close
	addr    string
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
	for i := len(e.closers) - 1; i >= 0; i-- {
		e.closers[i]()
	}
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
	env.closers = append(env.closers, func() { sim.Close() })
	switch s.Through {
	case "direct":
	case "proxy":
		srv, ln, err := startBenchProxy(sim.Addr(), 0, nil)
		if err != nil {
			env.close()
			return nil, err
		}
		env.addr = ln.Addr().String()
		env.closers = append(env.closers, func() {
			sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			srv.Shutdown(sctx)
		})
	case "policy":
		pol, err := startPolicyProxy(sim.Addr(), s.policyMode(), false)
		if err != nil {
			env.close()
			return nil, err
		}
		env.pol, env.addr = pol, pol.p.addr()
		env.closers = append(env.closers, pol.close)
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
