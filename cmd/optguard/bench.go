package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/rs/zerolog"

	"github.com/optguard/optguard/config"
	"github.com/optguard/optguard/smpp"
	"github.com/optguard/optguard/smpp/pdu"
	"github.com/optguard/optguard/testenv"
)

// benchFlags are the load parameters shared by every mode of `optguard bench`.
type benchFlags struct {
	target   string
	baseline bool
	rounds   int
	load     testenv.LoadConfig
	cpuprof  string
	profDir  string // -cpuprofile-dir: a CPU profile per target and round
	storm    stormFlags
	idle     idleFlags
	imp      importFlags
	apiLoad  int // -api-load: lookups a second in -baseline's policy+api target
	scenario string
	reports  reportFlag
	quiet    bool
}

// reportFlag collects repeated -report FILE flags.
type reportFlag []string

func (r *reportFlag) String() string { return strings.Join(*r, ",") }

func (r *reportFlag) Set(v string) error {
	if err := checkReportPath(v); err != nil {
		return err
	}
	*r = append(*r, v)
	return nil
}

// runBench is `optguard bench`: drive submit_sm through a target and report
// throughput and latency; with -baseline, run the same load in-process against
// the simulator directly, through a plain io.Copy TCP relay, through the
// proxy and through the proxy with the consent policy on, and report the
// proxy's throughput as a ratio of the relay's and the policy's as a ratio of
// the proxy's; with -storm, send MO STOPs through the proxy with the policy
// and report durable opt-outs per second (benchstorm.go); with -idle-binds,
// load the proxy with and without thousands of idle binds beside the loaded
// ones and report what the idle binds cost (benchidle.go); with -import,
// import a generated consent list through the operator API of optguard
// serve as a child process and report its time and memory (benchimport.go).
func runBench(args []string, stdout, stderr io.Writer) int {
	if os.Getenv(idlePeerEnv) != "" {
		return runIdlePeer(os.Stdin, stdout)
	}
	if os.Getenv(lookupPeerEnv) != "" {
		return runLookupPeer(os.Stdin, stdout)
	}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f benchFlags
	fs.StringVar(&f.target, "target", "", "SMPP `address` to load (optguard, an SMSC, anything that answers submit_sm)")
	fs.BoolVar(&f.baseline, "baseline", false, "run simulator, proxy, proxy with policy and an io.Copy relay in-process and load each in turn")
	fs.IntVar(&f.rounds, "rounds", 3, "with -baseline, -storm or -idle-binds: rounds of runs (figures are medians)")
	fs.IntVar(&f.load.Binds, "binds", 4, "binds (connections)")
	fs.IntVar(&f.load.Window, "window", 256, "outstanding submit_sm per bind")
	fs.DurationVar(&f.load.Duration, "duration", 5*time.Second, "measured time of each run")
	fs.DurationVar(&f.load.Warmup, "warmup", time.Second, "time before measuring, excluded from the figures")
	fs.IntVar(&f.load.Rate, "rate", 0, "total submit_sm per `second` (0 = as fast as the windows allow)")
	fs.StringVar(&f.load.SystemID, "system-id", "bench", "bind system_id")
	fs.StringVar(&f.load.Password, "password", "bench", "bind password")
	fs.BoolVar(&f.load.VaryDest, "vary-dest", true, "cycle the destination through 10,000 numbers")
	fs.StringVar(&f.cpuprof, "cpuprofile", "", "write a CPU profile of the whole run to `file`")
	fs.StringVar(&f.profDir, "cpuprofile-dir", "", "with -baseline: write a CPU profile of each target's run in each round to `dir`/TARGET-ROUND.prof (go tool pprof dir/policy-*.prof merges a target's rounds); with -import: the child optguard serve's CPU during the import, dir/import-N.prof, and its heap at the end, dir/import-heap.prof")
	fs.IntVar(&f.apiLoad, "api-load", 0, "with -baseline: add the target "+apiTarget+", the policy target with `N` number lookups a second (GET /api/v1/numbers/{number}, open loop) on its operator API during each run; reports the lookups' p50 and p99 and "+apiTarget+"'s throughput as a ratio of policy's")
	fs.StringVar(&f.scenario, "scenario", "", "run a scenario: a built-in `NAME` (relay, consent-mix, stop-storm, long-messages) or a YAML file (docs/SCENARIOS.md); list shows the built-ins")
	fs.Var(&f.reports, "report", "write a report to `FILE`: .json (figures), .csv (per-second series) or .html (self-contained, with charts); repeatable")
	fs.BoolVar(&f.quiet, "quiet", false, "no live progress line")
	f.storm.register(fs)
	f.idle.register(fs)
	f.imp.register(fs)
	fs.Usage = func() {
		fmt.Fprintln(stderr, `usage: optguard bench -target HOST:PORT | -baseline [-api-load N] | -scenario NAME|FILE [-target HOST:PORT] | -storm | -idle-binds N | -import N [flags]

Drives SMPP load and reports throughput and latency: against any SMPP server
(-target), optguard against a plain relay and the simulator side by side
(-baseline; with -api-load, also with operator API lookups beside the
relay's load), a scenario file with phases, a message mix, handset groups
and MO traffic (-scenario; against -target or in-process), a STOP storm
through the policy (-storm), or thousands of idle binds beside the loaded
ones (-idle-binds). -import N times a consent list of N rows through the
operator API of optguard serve run as a child process, and reads its peak
memory. A line a second shows the progress (-quiet: none); Ctrl-C ends the
run early and still prints and writes what was measured.

Flags:`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if f.scenario == "list" {
		listScenarios(stdout)
		return 0
	}
	if f.idle.binds < 0 {
		fmt.Fprintln(stderr, "bench: -idle-binds must not be negative")
		return 2
	}
	if n := btoi(f.baseline) + btoi(f.target != "" || f.scenario != "") + btoi(f.storm.on) + btoi(f.idle.binds > 0) + btoi(f.imp.rows != 0); n != 1 {
		fmt.Fprintln(stderr, "bench: give one of -target HOST:PORT, -scenario NAME|FILE (with or without -target), -baseline, -storm, -idle-binds N or -import N")
		return 2
	}
	if f.apiLoad < 0 || (f.apiLoad > 0 && !f.baseline) {
		fmt.Fprintln(stderr, "bench: -api-load goes with -baseline and must be positive")
		return 2
	}
	if f.scenario != "" {
		var inFile []string
		fs.Visit(func(fl *flag.Flag) {
			switch fl.Name {
			case "binds", "window", "duration", "warmup", "rate", "system-id", "password", "vary-dest", "rounds":
				inFile = append(inFile, "-"+fl.Name)
			}
		})
		if len(inFile) > 0 {
			fmt.Fprintf(stderr, "bench: %s: with -scenario the binds, phases and handsets come from the scenario file (docs/SCENARIOS.md)\n", strings.Join(inFile, ", "))
			return 2
		}
	}
	if len(f.reports) > 0 && (f.storm.on || f.idle.binds > 0 || f.imp.rows != 0) {
		fmt.Fprintln(stderr, "bench: -report goes with -target, -scenario or -baseline")
		return 2
	}
	if f.load.Binds < 1 || f.load.Window < 1 || f.load.Duration <= 0 || f.rounds < 1 {
		fmt.Fprintln(stderr, "bench: -binds, -window, -duration and -rounds must be positive")
		return 2
	}
	if f.profDir != "" && ((!f.baseline && f.imp.rows == 0) || f.cpuprof != "") {
		fmt.Fprintln(stderr, "bench: -cpuprofile-dir goes with -baseline or -import, and not with -cpuprofile")
		return 2
	}
	if f.profDir != "" {
		if err := os.MkdirAll(f.profDir, 0o755); err != nil {
			fmt.Fprintf(stderr, "bench: -cpuprofile-dir: %v\n", err)
			return 1
		}
	}
	if f.cpuprof != "" {
		pf, err := os.Create(f.cpuprof)
		if err != nil {
			fmt.Fprintf(stderr, "bench: %v\n", err)
			return 1
		}
		defer pf.Close()
		pprof.StartCPUProfile(pf)
		defer pprof.StopCPUProfile()
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if f.scenario != "" {
		if err := benchScenario(ctx, f, stdout, stderr); err != nil {
			fmt.Fprintf(stderr, "bench: %v\n", err)
			return 1
		}
		return 0
	}
	if f.imp.rows != 0 {
		if err := benchImport(ctx, f, stdout, stderr); err != nil {
			fmt.Fprintf(stderr, "bench: %v\n", err)
			return 1
		}
		return 0
	}
	if f.storm.on || f.idle.binds > 0 {
		run := benchStorm
		if f.idle.binds > 0 {
			run = benchIdle
		}
		if err := run(ctx, f, stdout); err != nil {
			fmt.Fprintf(stderr, "bench: %v\n", err)
			return 1
		}
		return 0
	}
	fmt.Fprintf(stdout, "optguard bench: %d binds × window %d, %s per run after %s warmup, rate %s\n",
		f.load.Binds, f.load.Window, f.load.Duration, f.load.Warmup, rateString(f.load.Rate))
	fmt.Fprintf(stdout, "machine: %d CPUs, %s %s/%s\n\n", runtime.NumCPU(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	var err error
	if f.baseline {
		err = benchBaseline(ctx, f, stdout, stderr)
	} else {
		err = benchTarget(ctx, f, stdout, stderr)
	}
	if err != nil {
		fmt.Fprintf(stderr, "bench: %v\n", err)
		return 1
	}
	return 0
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func rateString(r int) string {
	if r == 0 {
		return "unlimited"
	}
	return fmt.Sprintf("%d submit_sm/s", r)
}

// benchTarget loads one target, prints the result and writes the reports;
// an interrupted run still does both with what it measured.
func benchTarget(ctx context.Context, f benchFlags, w, progressTo io.Writer) error {
	started := time.Now()
	cfg := f.load
	cfg.Addr = f.target
	prog := f.progress(progressTo, "", &cfg)
	res, err := testenv.RunLoad(ctx, cfg)
	prog.done()
	interrupted := ctx.Err() != nil
	if err != nil && !interrupted {
		return err
	}
	res.Format(w)
	return f.writeReports(w, reportInput{Command: os.Args, Params: reportLoadParams(cfg), Started: started,
		Runs: []reportRun{{Name: "target", Round: 1, Res: res}}, Interrupted: interrupted})
}

// progress starts the live progress line of one run of cfg (none with
// -quiet), labelled.
func (f *benchFlags) progress(w io.Writer, label string, cfg *testenv.LoadConfig) *progress {
	p := newProgress(w, label, cfg.Warmup+cfg.Duration)
	if !f.quiet {
		cfg.OnSecond = p.second
	}
	return p
}

// writeReports writes the report to every -report file.
func (f *benchFlags) writeReports(w io.Writer, in reportInput) error {
	if len(f.reports) == 0 {
		return nil
	}
	rep := buildReport(in, currentMachine())
	for _, path := range f.reports {
		if err := writeReportFile(path, &rep); err != nil {
			return err
		}
		fmt.Fprintf(w, "report written to %s\n", path)
	}
	return nil
}

// benchRun is one measured load of one target.
type benchRun struct {
	round   int
	target  string
	res     testenv.LoadResult
	lookups *lookupResult // the API lookups beside the load (policy+api only)
}

// benchBaseline starts the simulator, a plain TCP relay, the proxy and the
// proxy with the consent policy in this process and loads each in turn for
// f.rounds rounds, so that the four are compared on the same machine at the
// same time. With -api-load, a fifth target loads the policy proxy while
// number lookups run on its operator API.
func benchBaseline(ctx context.Context, f benchFlags, w, progressTo io.Writer) error {
	started := time.Now()
	sim, err := testenv.StartSMSC(testenv.SMSCConfig{})
	if err != nil {
		return err
	}
	defer sim.Close()
	relay, err := startTCPRelay(sim.Addr())
	if err != nil {
		return err
	}
	defer relay.close()
	srv, ln, err := startBenchProxy(sim.Addr(), 0, nil)
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	pol, err := startPolicyProxy(sim.Addr(), config.ModeDisclaimer, f.apiLoad > 0)
	if err != nil {
		return err
	}
	defer pol.close()
	if err := pol.firstContacts(ctx, f.load, w); err != nil {
		return err
	}
	targets := []struct{ name, addr string }{
		{"direct", sim.Addr()},
		{"relay", relay.addr()},
		{"proxy", ln.Addr().String()},
		{"policy", pol.p.addr()},
	}
	var peer *lookupPeer
	if f.apiLoad > 0 {
		targets = append(targets, struct{ name, addr string }{apiTarget, pol.p.addr()})
		if peer, err = startLookupPeer(pol.apiBase, pol.apiToken, f.load); err != nil {
			return err
		}
		defer peer.close()
		if err := lookupsAlone(ctx, w, peer, f); err != nil {
			return err
		}
	}
	var runs []benchRun
	report := func(interrupted bool) error {
		in := reportInput{Command: os.Args, Params: reportLoadParams(f.load), Started: started, Interrupted: interrupted}
		for _, r := range runs {
			in.Runs = append(in.Runs, reportRun{Name: r.target, Round: r.round, Res: r.res})
		}
		if !interrupted {
			in.Baseline = baselineRatios(runs, f.rounds)
		}
		return f.writeReports(w, in)
	}
	for round := 1; round <= f.rounds; round++ {
		// Every other round runs the targets in reverse, so that none
		// always runs right after the same one (whose load leaves the
		// caches, the heap and the scheduler in its own state).
		order := slices.Clone(targets)
		if round%2 == 0 {
			slices.Reverse(order)
		}
		for _, t := range order {
			cfg := f.load
			cfg.Addr = t.addr
			stopProfile, err := startTargetProfile(f.profDir, t.name, round)
			if err != nil {
				return err
			}
			prog := f.progress(progressTo, fmt.Sprintf("round %d %s", round, t.name), &cfg)
			var looked chan error
			run := benchRun{round: round, target: t.name}
			if t.name == apiTarget {
				looked = make(chan error, 1)
				go func() {
					var err error
					run.lookups, err = peer.run(f.apiLoad, cfg.Warmup, cfg.Duration)
					looked <- err
				}()
			}
			res, err := testenv.RunLoad(ctx, cfg)
			run.res = res
			if looked != nil {
				if lerr := <-looked; lerr != nil && ctx.Err() == nil {
					return fmt.Errorf("round %d, %s: the lookups: %w", round, t.name, lerr)
				}
			}
			prog.done()
			stopProfile()
			if ctx.Err() != nil {
				// Ctrl-C: what was measured is still printed and written.
				runs = append(runs, run)
				printRuns(w, runs)
				fmt.Fprintln(w, "\ninterrupted: no comparison")
				return report(true)
			}
			if err != nil {
				return fmt.Errorf("round %d, %s: %w", round, t.name, err)
			}
			runs = append(runs, run)
		}
	}
	printRuns(w, runs)
	printComparison(w, runs, f.rounds)
	return report(false)
}

// baselineRatios are -baseline's per-round ratios, for the report.
func baselineRatios(runs []benchRun, rounds int) *reportBaseline {
	b := &reportBaseline{}
	for round := 1; round <= rounds; round++ {
		tput := map[string]float64{}
		for _, r := range runs {
			if r.round == round {
				tput[r.target] = r.res.PerSecond
				if r.lookups != nil {
					b.Lookups = append(b.Lookups, reportLookups{Round: round, Res: r.lookups})
				}
			}
		}
		b.ProxyRelayRounds = append(b.ProxyRelayRounds, safeRatio(tput["proxy"], tput["relay"]))
		b.PolicyProxyRounds = append(b.PolicyProxyRounds, safeRatio(tput["policy"], tput["proxy"]))
		if _, ok := tput[apiTarget]; ok {
			b.APIPolicyRounds = append(b.APIPolicyRounds, safeRatio(tput[apiTarget], tput["policy"]))
		}
	}
	b.ProxyRelay, b.PolicyProxy, b.APIPolicy = median(b.ProxyRelayRounds), median(b.PolicyProxyRounds), median(b.APIPolicyRounds)
	return b
}

func safeRatio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// startTargetProfile starts a CPU profile of one target's run in dir (none
// when dir is ""); the returned func stops it. A profile of the whole
// -baseline run mixes the four targets, and what the policy adds to the
// proxy shows only when the two are profiled apart.
func startTargetProfile(dir, target string, round int) (stop func(), err error) {
	if dir == "" {
		return func() {}, nil
	}
	pf, err := os.Create(filepath.Join(dir, fmt.Sprintf("%s-%d.prof", target, round)))
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(pf); err != nil {
		pf.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		pf.Close()
	}, nil
}

// startBenchProxy starts optguard's proxy in front of the simulator, with
// logging off so that the figures measure the relay, not the logger.
// maxConnections bounds its ESME connections (0 = the proxy's default);
// binds go to simAddr, or to the address bySystemID names for their system_id.
func startBenchProxy(simAddr string, maxConnections int, bySystemID map[string]string) (*smpp.Server, net.Listener, error) {
	srv := smpp.NewServer(smpp.Options{
		Logger: zerolog.Nop(),
		Router: func(systemID string) smpp.Route {
			if addr, ok := bySystemID[systemID]; ok {
				return smpp.Route{Name: "bench-" + systemID, Address: addr}
			}
			return smpp.Route{Name: "bench", Address: simAddr}
		},
		MaxConnections: maxConnections,
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, smpp.ErrServerClosed) {
			fmt.Fprintf(os.Stderr, "bench: proxy: %v\n", err)
		}
	}()
	return srv, ln, nil
}

// policyProxy is optguard as serve starts it (store, consent engine,
// proxy), in disclaimer mode with a store in a temporary directory.
type policyProxy struct {
	p   *proxy
	dir string
	// The operator API's URL and a token for it; "" unless started with it.
	apiBase, apiToken string
}

// startPolicyProxy starts optguard with the policy on in front of the
// simulator, with logging off, the default organization in mode; with
// api, with its admin listener and an operator API token.
func startPolicyProxy(simAddr string, mode config.Mode, api bool) (*policyProxy, error) {
	dir, err := os.MkdirTemp("", "optguard-bench-")
	if err != nil {
		return nil, err
	}
	cfg := config.Default()
	cfg.Listen.Address = "127.0.0.1:0"
	cfg.Admin.Address = ""
	cfg.Upstream.Default.Address = simAddr
	cfg.Data.Dir = dir
	cfg.SetDefaultMode(mode)
	token := ""
	if api {
		token = benchAPIToken(cfg)
	}
	if err := cfg.Validate(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	p, err := start(cfg, zerolog.Nop())
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	pp := &policyProxy{p: p, dir: dir, apiToken: token}
	if api {
		pp.apiBase = "http://" + p.admin.ln.Addr().String()
	}
	return pp, nil
}

// refusedStatus is the command_status the default organization refuses
// MTs with.
func (pp *policyProxy) refusedStatus() pdu.Status {
	for _, o := range pp.p.cfg.ResolvedOrganizations() {
		if o.Name == config.DefaultOrganization {
			return pdu.Status(o.RefusedStatus)
		}
	}
	return pdu.ESME_RX_P_APPN
}

func (pp *policyProxy) close() {
	pp.p.stop()
	os.RemoveAll(pp.dir)
}

// benchHandsets is how many destinations -vary-dest cycles through.
const benchHandsets = 10000

// firstContacts loads the policy proxy until every handset the load
// addresses has had its first contact: in disclaimer mode the first MT to a
// handset is deferred until its disclaimer_sent event is on disk, and the
// disclaimer goes out before the MT. That is a one-off cost per handset, so
// it is paid here, through the real path, and the rounds measure the steady
// state (every handset known).
func (pp *policyProxy) firstContacts(ctx context.Context, load testenv.LoadConfig, w io.Writer) error {
	want := 1
	if load.VaryDest {
		want = benchHandsets
	}
	start := time.Now()
	var sent, ok uint64
	for pp.p.store.Gauges().Consents < want {
		if time.Since(start) > time.Minute {
			return fmt.Errorf("policy: only %d of %d handsets had their first contact within a minute", pp.p.store.Gauges().Consents, want)
		}
		cfg := load
		cfg.Addr = pp.p.addr()
		cfg.Warmup, cfg.Duration = 0, time.Second
		res, err := testenv.RunLoad(ctx, cfg)
		if err != nil {
			return fmt.Errorf("policy first contacts: %w", err)
		}
		sent += res.Sent
		ok += res.ByStatus[pdu.ESME_ROK]
	}
	fmt.Fprintf(w, "policy: disclaimer mode; first contact of %d handsets (a durable disclaimer_sent each, the disclaimer sent before the MT) took %s (%d submit_sm, %d ESME_ROK) before the rounds\n\n",
		pp.p.store.Gauges().Consents, time.Since(start).Round(time.Millisecond), sent, ok)
	return nil
}

func printRuns(w io.Writer, runs []benchRun) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "round\ttarget\tsubmit_sm/s\tp50\tp99\tp99.9\tmax\tnot ESME_ROK\t")
	for _, r := range runs {
		h := &r.res.Latency
		fmt.Fprintf(tw, "%d\t%s\t%.0f\t%s\t%s\t%s\t%s\t%d\t\n", r.round, r.target, r.res.PerSecond,
			fmtDur(h.Quantile(0.50)), fmtDur(h.Quantile(0.99)), fmtDur(h.Quantile(0.999)), fmtDur(h.Max()), notOK(r.res))
	}
	tw.Flush()
	for _, r := range runs {
		for _, e := range r.res.Errors {
			fmt.Fprintf(w, "round %d %s: %s\n", r.round, r.target, e)
		}
	}
}

// notOK counts responses with a status other than ESME_ROK.
func notOK(r testenv.LoadResult) uint64 {
	var n uint64
	for st, c := range r.ByStatus {
		if st != pdu.ESME_ROK {
			n += c
		}
	}
	return n
}

// printComparison prints the medians and the proxy's cost against the relay:
// throughput as the median of the per-round ratios (each round's runs were
// minutes apart at most, so they saw the same machine), latency as differences.
func printComparison(w io.Writer, runs []benchRun, rounds int) {
	by := func(target string) []benchRun {
		var out []benchRun
		for _, r := range runs {
			if r.target == target {
				out = append(out, r)
			}
		}
		return out
	}
	direct, relay, prox, pol := by("direct"), by("relay"), by("proxy"), by("policy")
	med := func(rs []benchRun, f func(benchRun) float64) float64 {
		v := make([]float64, len(rs))
		for i, r := range rs {
			v[i] = f(r)
		}
		return median(v)
	}
	tput := func(r benchRun) float64 { return r.res.PerSecond }
	p99 := func(r benchRun) float64 { return float64(r.res.Latency.Quantile(0.99)) }
	b := baselineRatios(runs, rounds)
	ratios, polRatios := b.ProxyRelayRounds, b.PolicyProxyRounds
	fmt.Fprintf(w, "\nmedian submit_sm/s: direct %.0f, relay %.0f, proxy %.0f, policy %.0f\n", med(direct, tput), med(relay, tput), med(prox, tput), med(pol, tput))
	fmt.Fprintf(w, "proxy/relay throughput: %.2f (median of per-round ratios %s)\n", median(ratios), fmtRatios(ratios))
	fmt.Fprintf(w, "policy/proxy throughput: %.2f (median of per-round ratios %s)\n", median(polRatios), fmtRatios(polRatios))
	fmt.Fprintf(w, "median p99: direct %s, relay %s, proxy %s, policy %s; added by the proxy: %s over the relay, %s over direct; by the policy: %s over the proxy\n",
		fmtDur(time.Duration(med(direct, p99))), fmtDur(time.Duration(med(relay, p99))), fmtDur(time.Duration(med(prox, p99))), fmtDur(time.Duration(med(pol, p99))),
		fmtDur(time.Duration(med(prox, p99)-med(relay, p99))), fmtDur(time.Duration(med(prox, p99)-med(direct, p99))),
		fmtDur(time.Duration(med(pol, p99)-med(prox, p99))))
	if len(b.Lookups) > 0 {
		withAPI := by(apiTarget)
		fmt.Fprintf(w, "\n%s: median %.0f submit_sm/s, p99 %s\n", apiTarget, med(withAPI, tput), fmtDur(time.Duration(med(withAPI, p99))))
		fmt.Fprintf(w, "%s/policy throughput: %.2f (median of per-round ratios %s)\n", apiTarget, b.APIPolicy, fmtRatios(b.APIPolicyRounds))
		printLookups(w, b.Lookups)
	}
}

// printLookups prints the API lookups of each policy+api run and their
// medians.
func printLookups(w io.Writer, ls []reportLookups) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "round\tlookups/s asked\tanswered/s\tp50\tp99\tp99.9\tmax\tp99 from intended send\tnot 200\t")
	var p50s, p99s []float64
	for _, l := range ls {
		r := l.Res
		fmt.Fprintf(tw, "%d\t%d\t%.0f\t%s\t%s\t%s\t%s\t%s\t%d\t\n", l.Round, r.Rate, r.PerSecond(),
			fmtDur(r.P50), fmtDur(r.P99), fmtDur(r.P999), fmtDur(r.Max), fmtDur(r.IntendedP99), r.Sent-r.OK)
		p50s, p99s = append(p50s, float64(r.P50)), append(p99s, float64(r.P99))
	}
	tw.Flush()
	for _, l := range ls {
		for _, e := range l.Res.Errors {
			fmt.Fprintf(w, "round %d lookups: %s\n", l.Round, e)
		}
	}
	fmt.Fprintf(w, "median lookup latency (from the request's start to the answer read): p50 %s, p99 %s\n",
		fmtDur(time.Duration(median(p50s))), fmtDur(time.Duration(median(p99s))))
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// fmtRatios lists per-round ratios, two decimals each.
func fmtRatios(v []float64) string { return joinFloats(v, "%.2f") }

// joinFloats writes each of v with format, separated by spaces.
func joinFloats(v []float64, format string) string {
	s := ""
	for i, r := range v {
		if i > 0 {
			s += " "
		}
		s += fmt.Sprintf(format, r)
	}
	return s
}

// fmtDur prints a latency with a unit that keeps three significant digits.
func fmtDur(d time.Duration) string {
	neg := ""
	if d < 0 {
		neg, d = "-", -d
	}
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%s%.0fµs", neg, float64(d)/1e3)
	case d < time.Second:
		return fmt.Sprintf("%s%.2fms", neg, float64(d)/1e6)
	}
	return fmt.Sprintf("%s%.2fs", neg, d.Seconds())
}
