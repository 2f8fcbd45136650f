package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/optguard/optguard/smpp/pdu"
	"github.com/optguard/optguard/testenv"
)

// idleFlags are the parameters of `optguard bench -idle-binds`.
type idleFlags struct {
	binds   int
	measure time.Duration
}

func (i *idleFlags) register(fs *flag.FlagSet) {
	fs.IntVar(&i.binds, "idle-binds", 0, "idle binds: measure the CPU and memory `N` bound transceivers that send nothing cost the proxy, then load it each round with -binds binds alone and with the N idle binds beside them")
	fs.DurationVar(&i.measure, "idle-measure", 5*time.Second, "with -idle-binds: how long each idle CPU measurement lasts")
}

// Open files of the bench process: the proxy's two connections per bind, and
// for each loaded bind also the load generator's and the simulator's (the idle
// binds' clients and simulator are in the peer process, two per bind there).
const (
	idleFilesPerBind   = 2
	loadedFilesPerBind = 4
	idleFilesSpare     = 64 // listeners, stdio, epoll, the runtime's own
	idleSystemID       = "idle"
)

// idleRound is one round: the loaded binds alone, then beside the idle ones.
type idleRound struct {
	round       int
	alone, with testenv.LoadResult
	// The process's CPU time per submit_sm the simulator received, over the
	// whole run (binds, warm-up and drain included): load generator, proxy and
	// simulator together.
	aloneCPU, withCPU time.Duration
	up                int    // idle binds still bound when the loaded run ended
	lost              string // why the first idle bind that closed did
}

// idleCosts are what N idle binds cost with no load: the bench process (the
// proxy) and the peer process (the idle clients and their simulator) apart.
type idleCosts struct {
	cpuNone, cpuIdle         float64 // bench process CPU ÷ wall time (1 = one core), nothing bound and N bound
	peerCPUNone, peerCPUIdle float64
	rss, peerRSS             int64 // resident set growth after a GC, bytes
	goroutines               int   // bench process growth
	files                    int   // bench process open descriptors with the binds up
	up                       int   // binds still bound after the measurement
}

// benchIdle measures what idle binds cost the proxy. The proxy and the
// simulator of the loaded binds run in this process, as -baseline starts
// them; the idle binds' clients and the simulator their upstream binds go to
// run in a peer process (benchidlepeer.go), so that this process's CPU and
// memory are the proxy's. First, with no load, it measures both processes'
// CPU with nothing bound and with the N idle binds up, and their resident
// set growth per idle bind; then each round loads the proxy with the -binds
// loaded binds alone and with the N idle binds beside them, and reports the
// throughput of both and their ratio.
func benchIdle(ctx context.Context, f benchFlags, w io.Writer) error {
	n := f.idle.binds
	if f.idle.measure <= 0 {
		return fmt.Errorf("-idle-measure must be positive")
	}
	soft, hard, err := raiseFileLimit()
	if err != nil {
		return fmt.Errorf("-idle-binds: %w", err)
	}
	fixed := uint64(f.load.Binds)*loadedFilesPerBind + idleFilesSpare
	need := uint64(n)*idleFilesPerBind + fixed
	if soft < need {
		most := 0
		if soft > fixed {
			most = int((soft - fixed) / idleFilesPerBind)
		}
		return fmt.Errorf("-idle-binds %d needs about %d open files in this process and in its peer (the proxy holds %d per idle bind; the peer holds the client's and the simulator's), "+
			"but the open-file limit is %d (hard limit %d): raise it before running (ulimit -n %d; above the hard limit only root can, or nofile in /etc/security/limits.conf) or give -idle-binds %d at most",
			n, need, idleFilesPerBind, soft, hard, need, most)
	}
	if _, err := residentBytes(); err != nil {
		return fmt.Errorf("-idle-binds measures the resident set: %w", err)
	}
	if _, err := processCPU(); err != nil {
		return fmt.Errorf("-idle-binds measures the process's CPU: %w", err)
	}

	fmt.Fprintf(w, "optguard bench -idle-binds %d: %d loaded binds × window %d, %s per run after %s warmup, rate %s; %d rounds; idle CPU measured over %s\n",
		n, f.load.Binds, f.load.Window, f.load.Duration, f.load.Warmup, rateString(f.load.Rate), f.rounds, f.idle.measure)
	fmt.Fprintf(w, "machine: %d CPUs, %s %s/%s, load average %s; open-file limit %d (hard %d), %d needed\n",
		runtime.NumCPU(), runtime.Version(), runtime.GOOS, runtime.GOARCH, loadAverage(), soft, hard, need)
	fmt.Fprintf(w, "this process: the proxy, and the simulator and load generator of the loaded binds; the peer process: the idle clients and the simulator of their upstream binds\n\n")

	sim, err := testenv.StartSMSC(testenv.SMSCConfig{})
	if err != nil {
		return err
	}
	defer sim.Close()
	peer, err := startIdlePeer()
	if err != nil {
		return err
	}
	defer peer.close()
	srv, ln, err := startBenchProxy(sim.Addr(), n+f.load.Binds+idleFilesSpare, map[string]string{idleSystemID: peer.simAddr})
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	b := idleBench{ctx: ctx, w: w, n: n, sim: sim, peer: peer, proxyAddr: ln.Addr().String(), measure: f.idle.measure}

	// Costs first, in a process that has carried no load yet.
	fmt.Fprintln(w, "idle costs, no load:")
	costs, err := b.costs()
	if err != nil {
		return err
	}

	fmt.Fprintf(w, "\nrounds: %d loaded binds alone, then beside %d idle binds:\n", f.load.Binds, n)
	// The first load of a process runs colder than the rest (heap and
	// buffers grow): it would lower round 1's "alone" figure only.
	cfg := f.load
	cfg.Addr = b.proxyAddr
	warm, _, err := b.load(cfg)
	if err != nil {
		return fmt.Errorf("warm-up run: %w", err)
	}
	fmt.Fprintf(w, "  warm-up run, not counted: %.0f submit_sm/s\n", warm.PerSecond)
	var rounds []idleRound
	for round := 1; round <= f.rounds; round++ {
		r := idleRound{round: round}
		if r.alone, r.aloneCPU, err = b.load(cfg); err != nil {
			return fmt.Errorf("round %d, alone: %w", round, err)
		}
		if err := b.bind(fmt.Sprintf("round %d", round)); err != nil {
			return fmt.Errorf("round %d: %w", round, err)
		}
		if r.with, r.withCPU, err = b.load(cfg); err != nil {
			return fmt.Errorf("round %d, with %d idle binds: %w", round, n, err)
		}
		st, err := peer.stats(false)
		if err != nil {
			return err
		}
		r.up, r.lost = st.alive, st.lost
		if err := b.unbind(); err != nil {
			return fmt.Errorf("round %d: %w", round, err)
		}
		rounds = append(rounds, r)
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}

	fmt.Fprintln(w)
	printIdleRounds(w, rounds, n)
	printIdleCosts(w, n, f.idle.measure, costs)
	fmt.Fprintf(w, "load average at the end: %s\n", loadAverage())
	return nil
}

// idleBench holds what the phases of benchIdle share.
type idleBench struct {
	ctx       context.Context
	w         io.Writer
	n         int
	sim       *testenv.SMSC // the loaded binds'
	peer      *idlePeer
	proxyAddr string
	measure   time.Duration
}

// load runs one load of the proxy from a collected heap and returns its
// figures and the process's CPU time per submit_sm the simulator received.
func (b idleBench) load(cfg testenv.LoadConfig) (testenv.LoadResult, time.Duration, error) {
	runtime.GC()
	c0, err := processCPU()
	if err != nil {
		return testenv.LoadResult{}, 0, err
	}
	n0 := b.sim.Count(pdu.SubmitSM)
	res, err := testenv.RunLoad(b.ctx, cfg)
	c1, cerr := processCPU()
	if err == nil {
		err = cerr
	}
	var perMsg time.Duration
	if n := b.sim.Count(pdu.SubmitSM) - n0; n > 0 {
		perMsg = (c1 - c0) / time.Duration(n)
	}
	return res, perMsg, err
}

// bind has the peer open the N idle binds through the proxy, printing
// progress; it returns when the peer's simulator has all their upstream binds.
func (b idleBench) bind(label string) error {
	start := time.Now()
	_, err := b.peer.call(fmt.Sprintf("bind %d %s", b.n, b.proxyAddr), peerBindTimeout, func(bound int) {
		el := time.Since(start)
		if bound < b.n {
			fmt.Fprintf(b.w, "  %s: %d/%d idle binds bound after %s\n", label, bound, b.n, el.Round(time.Millisecond))
			return
		}
		fmt.Fprintf(b.w, "  %s: %d/%d idle binds bound in %s (%.0f binds/s)\n", label, bound, b.n, el.Round(time.Millisecond), float64(bound)/el.Seconds())
	})
	return err
}

// unbind has the peer close the idle binds and waits until its simulator has
// no session left, so that the next phase starts from nothing.
func (b idleBench) unbind() error {
	_, err := b.peer.call("close", peerWaitSessions+peerReplyTimeout, nil)
	return err
}

// costs measures, with no load, both processes' CPU over b.measure with
// nothing bound and with the N idle binds up, and what the binds add to their
// resident sets (after a GC), to this process's goroutines and open files.
func (b idleBench) costs() (idleCosts, error) {
	var c idleCosts
	var err error
	if c.cpuNone, c.peerCPUNone, _, err = b.cpuShares(); err != nil {
		return c, err
	}
	rss0, g0 := settle()
	p0, err := b.peer.stats(true)
	if err != nil {
		return c, err
	}
	if err := b.bind("through the proxy"); err != nil {
		return c, err
	}
	time.Sleep(500 * time.Millisecond) // the binds' own start-up work ends
	rss1, g1 := settle()
	p1, err := b.peer.stats(true)
	if err != nil {
		return c, err
	}
	c.rss, c.goroutines, c.peerRSS = rss1-rss0, g1-g0, p1.rss-p0.rss
	c.files = openFiles()
	var st peerStats
	if c.cpuIdle, c.peerCPUIdle, st, err = b.cpuShares(); err != nil {
		return c, err
	}
	c.up = st.alive
	if err := b.unbind(); err != nil {
		return c, err
	}
	fmt.Fprintf(b.w, "  this process (the proxy): %.2f %% of a core with nothing bound, %.2f %% with %d idle binds; %+.1f MiB resident, %+d goroutines, %d open files with them up\n",
		100*c.cpuNone, 100*c.cpuIdle, b.n, float64(c.rss)/(1<<20), c.goroutines, c.files)
	fmt.Fprintf(b.w, "  the peer (idle clients and their simulator): %.2f %% of a core with nothing bound, %.2f %% with %d idle binds; %+.1f MiB resident; %d/%d still bound after the measurement\n",
		100*c.peerCPUNone, 100*c.peerCPUIdle, b.n, float64(c.peerRSS)/(1<<20), c.up, b.n)
	if c.up < b.n {
		fmt.Fprintf(b.w, "  %d idle binds closed during the measurement; the first: %s\n", b.n-c.up, st.lost)
	}
	return c, nil
}

// cpuShares is this process's and the peer's CPU time over b.measure, each
// as a share of one core, and the peer's stats at the end.
func (b idleBench) cpuShares() (self, peer float64, last peerStats, err error) {
	first, err := b.peer.stats(false)
	if err != nil {
		return 0, 0, last, err
	}
	c0, err := processCPU()
	if err != nil {
		return 0, 0, last, err
	}
	t0 := time.Now()
	t := time.NewTimer(b.measure)
	defer t.Stop()
	select {
	case <-t.C:
	case <-b.ctx.Done():
		return 0, 0, last, b.ctx.Err()
	}
	c1, err := processCPU()
	if err != nil {
		return 0, 0, last, err
	}
	wall := time.Since(t0)
	if last, err = b.peer.stats(false); err != nil {
		return 0, 0, last, err
	}
	return float64(c1-c0) / float64(wall), float64(last.cpu-first.cpu) / float64(wall), last, nil
}

// settle collects garbage, returns the freed memory to the system and reports
// the resident set and the number of goroutines.
func settle() (rss int64, goroutines int) {
	runtime.GC()
	debug.FreeOSMemory()
	rss, _ = residentBytes() // benchIdle checked that it can be read
	return rss, runtime.NumGoroutine()
}

// residentBytes is the process's resident set, from /proc/self/statm.
func residentBytes() (int64, error) {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0, fmt.Errorf("reading the resident set from /proc (Linux only): %w", err)
	}
	fields := strings.Fields(string(b))
	if len(fields) < 2 {
		return 0, fmt.Errorf("/proc/self/statm: %q has no resident field", b)
	}
	pages, err := strconv.ParseInt(fields[1], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("/proc/self/statm: %w", err)
	}
	return pages * int64(os.Getpagesize()), nil
}

// openFiles counts the process's open descriptors (-1 where /proc is missing).
func openFiles() int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(ents) - 1 // the directory being read
}

// loadAverage is the first three fields of /proc/loadavg.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

func printIdleRounds(w io.Writer, rounds []idleRound, n int) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "round\talone submit_sm/s\tp99\tCPU/msg\twith %d idle submit_sm/s\tp99\tCPU/msg\twith/alone\tnot ESME_ROK\tidle binds up\t\n", n)
	ratios := make([]float64, len(rounds))
	var alone, with, aloneCPU, withCPU []float64
	for i, r := range rounds {
		if r.alone.PerSecond > 0 {
			ratios[i] = r.with.PerSecond / r.alone.PerSecond
		}
		alone = append(alone, r.alone.PerSecond)
		with = append(with, r.with.PerSecond)
		aloneCPU = append(aloneCPU, float64(r.aloneCPU))
		withCPU = append(withCPU, float64(r.withCPU))
		fmt.Fprintf(tw, "%d\t%.0f\t%s\t%s\t%.0f\t%s\t%s\t%.2f\t%d\t%d/%d\t\n", r.round,
			r.alone.PerSecond, fmtDur(r.alone.Latency.Quantile(0.99)), fmtNanos(r.aloneCPU),
			r.with.PerSecond, fmtDur(r.with.Latency.Quantile(0.99)), fmtNanos(r.withCPU),
			ratios[i], notOK(r.alone)+notOK(r.with), r.up, n)
	}
	tw.Flush()
	for _, r := range rounds {
		for _, e := range r.alone.Errors {
			fmt.Fprintf(w, "round %d alone: %s\n", r.round, e)
		}
		for _, e := range r.with.Errors {
			fmt.Fprintf(w, "round %d with idle binds: %s\n", r.round, e)
		}
		if r.up < n {
			fmt.Fprintf(w, "round %d: %d idle binds closed during the run; the first: %s\n", r.round, n-r.up, r.lost)
		}
	}
	fmt.Fprintf(w, "\nmedian submit_sm/s: alone %.0f, with %d idle binds %.0f\n", median(alone), n, median(with))
	fmt.Fprintf(w, "with/alone throughput: %.2f (median of per-round ratios %s)\n", median(ratios), fmtRatios(ratios))
	fmt.Fprintf(w, "median CPU per submit_sm (load generator, proxy and simulator, whole runs): alone %s, with %d idle binds %s\n",
		fmtNanos(time.Duration(median(aloneCPU))), n, fmtNanos(time.Duration(median(withCPU))))
}

// fmtNanos prints a per-message CPU time: nanoseconds under a microsecond,
// else microseconds with two decimals.
func fmtNanos(d time.Duration) string {
	if d < time.Microsecond {
		return fmt.Sprintf("%dns", d.Nanoseconds())
	}
	return fmt.Sprintf("%.2fµs", float64(d)/1e3)
}

func printIdleCosts(w io.Writer, n int, measure time.Duration, c idleCosts) {
	fmt.Fprintf(w, "idle CPU of the proxy's process over %s, no load: %.2f %% of a core with %d idle binds, %.2f %% with nothing bound: the idle binds cost %.2f %% of a core "+
		"(the idle clients and their simulator, in the peer process: %.2f %%)\n",
		measure, 100*c.cpuIdle, n, 100*c.cpuNone, 100*(c.cpuIdle-c.cpuNone), 100*(c.peerCPUIdle-c.peerCPUNone))
	fmt.Fprintf(w, "resident memory per idle bind (after a GC): %.1f KiB in the proxy's process (%+.1f MiB for %d); %.1f KiB in the peer\n",
		float64(c.rss)/float64(n)/1024, float64(c.rss)/(1<<20), n, float64(c.peerRSS)/float64(n)/1024)
	fmt.Fprintf(w, "goroutines per idle bind in the proxy: %.1f; open files with the idle binds up: %d\n", float64(c.goroutines)/float64(n), c.files)
}
