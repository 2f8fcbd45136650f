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

// Open files of the idle bench, all in this one process: an idle bind is its
// client's connection, the proxy's two and the simulator's; so is a loaded one.
const (
	idleFilesPerBind = 4
	idleFilesSpare   = 64 // listeners, stdio, epoll, the runtime's own
	idleSystemID     = "idle"
)

// idleRound is one round: the loaded binds alone, then beside the idle ones.
type idleRound struct {
	round       int
	alone, with testenv.LoadResult
	up          int   // idle binds still bound when the loaded run ended
	lost        error // why the first idle bind that closed did
}

// idleFigures are what N idle binds cost, measured after a GC with no load.
type idleFigures struct {
	cpu        float64 // process CPU ÷ wall time (1 = one core)
	rss        int64   // resident set growth, bytes
	goroutines int     // growth
	files      int     // open descriptors with the binds up
	up         int     // binds still bound after the CPU measurement
}

// benchIdle measures what idle binds cost the proxy. It starts the simulator
// and the proxy that -baseline loads, in this process; first, with no load,
// it measures the process's CPU and resident memory with N idle binds through
// the proxy and with the same N bound directly to the simulator (the
// difference is the proxy's); then each round loads the proxy with the -binds
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
	need := uint64(n+f.load.Binds)*idleFilesPerBind + idleFilesSpare
	if soft < need {
		most := 0
		if soft > idleFilesSpare+uint64(f.load.Binds)*idleFilesPerBind {
			most = int((soft-idleFilesSpare)/idleFilesPerBind) - f.load.Binds
		}
		return fmt.Errorf("-idle-binds %d needs about %d open files in this process (%d per bind: the client's connection, the proxy's two and the simulator's; %d spare), "+
			"but the open-file limit is %d (hard limit %d): raise it before running (ulimit -n %d; above the hard limit only root can, or nofile in /etc/security/limits.conf) or give -idle-binds %d at most",
			n, need, idleFilesPerBind, idleFilesSpare, soft, hard, need, most)
	}
	if _, err := residentBytes(); err != nil {
		return fmt.Errorf("-idle-binds measures the resident set: %w", err)
	}
	if _, err := processCPU(); err != nil {
		return fmt.Errorf("-idle-binds measures the process's CPU: %w", err)
	}

	fmt.Fprintf(w, "optguard bench -idle-binds %d: %d loaded binds × window %d, %s per run after %s warmup, rate %s; %d rounds; idle CPU measured over %s\n",
		n, f.load.Binds, f.load.Window, f.load.Duration, f.load.Warmup, rateString(f.load.Rate), f.rounds, f.idle.measure)
	fmt.Fprintf(w, "machine: %d CPUs, %s %s/%s, load average %s; open-file limit %d (hard %d), %d needed\n\n",
		runtime.NumCPU(), runtime.Version(), runtime.GOOS, runtime.GOARCH, loadAverage(), soft, hard, need)

	sim, err := testenv.StartSMSC(testenv.SMSCConfig{})
	if err != nil {
		return err
	}
	defer sim.Close()
	srv, ln, err := startBenchProxy(sim.Addr(), n+f.load.Binds+idleFilesSpare)
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	proxyAddr := ln.Addr().String()
	b := idleBench{ctx: ctx, w: w, n: n, sim: sim, measure: f.idle.measure}

	// Costs first, in a process that has carried no load yet. Through the
	// proxy first: the runtime keeps the goroutine and poller structures the
	// first phase created and the second reuses them, so the simulator's
	// and the clients' figure comes out low, if anything, and the proxy's
	// share high.
	fmt.Fprintln(w, "idle costs, no load:")
	none, err := b.cpuShare()
	if err != nil {
		return err
	}
	proxied, err := b.costs("through the proxy", proxyAddr)
	if err != nil {
		return err
	}
	direct, err := b.costs("directly on the simulator", sim.Addr())
	if err != nil {
		return err
	}

	fmt.Fprintf(w, "\nrounds: %d loaded binds alone, then beside %d idle binds:\n", f.load.Binds, n)
	var rounds []idleRound
	for round := 1; round <= f.rounds; round++ {
		r := idleRound{round: round}
		cfg := f.load
		cfg.Addr = proxyAddr
		runtime.GC() // each run starts from a collected heap
		if r.alone, err = testenv.RunLoad(ctx, cfg); err != nil {
			return fmt.Errorf("round %d, alone: %w", round, err)
		}
		ib, err := b.bind(fmt.Sprintf("round %d", round), proxyAddr)
		if err != nil {
			return fmt.Errorf("round %d: %w", round, err)
		}
		runtime.GC()
		r.with, err = testenv.RunLoad(ctx, cfg)
		r.up, r.lost = ib.Alive(), ib.Err()
		if cerr := b.unbind(ib); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("round %d, with %d idle binds: %w", round, n, err)
		}
		rounds = append(rounds, r)
	}

	fmt.Fprintln(w)
	printIdleRounds(w, rounds, n)
	printIdleCosts(w, n, f.idle.measure, none, proxied, direct)
	fmt.Fprintf(w, "load average at the end: %s\n", loadAverage())
	return nil
}

// idleBench holds what the phases of benchIdle share.
type idleBench struct {
	ctx     context.Context
	w       io.Writer
	n       int
	sim     *testenv.SMSC
	measure time.Duration
}

// bind opens the N idle binds to addr, printing progress, and waits until
// the simulator has every one of them bound (through the proxy, each is an
// upstream bind of its own).
func (b idleBench) bind(label, addr string) (*testenv.IdleBinds, error) {
	start := time.Now()
	ib, err := testenv.BindIdle(b.ctx, testenv.IdleConfig{
		Addr:     addr,
		Binds:    b.n,
		SystemID: idleSystemID,
		Progress: func(bound int) {
			el := time.Since(start)
			if bound < b.n {
				fmt.Fprintf(b.w, "  %s: %d/%d idle binds bound after %s\n", label, bound, b.n, el.Round(time.Millisecond))
				return
			}
			fmt.Fprintf(b.w, "  %s: %d/%d idle binds bound in %s (%.0f binds/s)\n", label, bound, b.n, el.Round(time.Millisecond), float64(bound)/el.Seconds())
		},
	})
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		up := 0
		for _, s := range b.sim.Sessions() {
			if s.Bound && s.SystemID == idleSystemID {
				up++
			}
		}
		if up >= b.n {
			return ib, nil
		}
		if time.Now().After(deadline) || b.ctx.Err() != nil {
			ib.Close()
			return nil, fmt.Errorf("%d idle binds up, but the simulator has %d of them bound after 30s", b.n, up)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// unbind closes the idle binds and waits until the simulator has no session
// left, so that the next phase starts from nothing.
func (b idleBench) unbind(ib *testenv.IdleBinds) error {
	ib.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		left := len(b.sim.Sessions())
		if left == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d simulator sessions still open 30s after the idle binds closed", left)
		}
		select {
		case <-time.After(50 * time.Millisecond):
		case <-b.ctx.Done():
			return b.ctx.Err()
		}
	}
}

// costs binds the N idle binds to addr and measures, with no load, what they
// add to the process's resident set and goroutines (after a GC), its open
// files, and its CPU over the measurement.
func (b idleBench) costs(label, addr string) (idleFigures, error) {
	var fig idleFigures
	rss0, g0 := settle()
	ib, err := b.bind(label, addr)
	if err != nil {
		return fig, fmt.Errorf("%s: %w", label, err)
	}
	time.Sleep(500 * time.Millisecond) // the binds' own start-up work ends
	rss1, g1 := settle()
	fig.rss, fig.goroutines = rss1-rss0, g1-g0
	fig.files = openFiles()
	fig.cpu, err = b.cpuShare()
	fig.up = ib.Alive()
	if cerr := b.unbind(ib); err == nil {
		err = cerr
	}
	if err != nil {
		return fig, fmt.Errorf("%s: %w", label, err)
	}
	fmt.Fprintf(b.w, "  %s: %.2f %% of a core, %+.1f MiB resident, %+d goroutines, %d open files, %d/%d still bound after the measurement\n",
		label, 100*fig.cpu, float64(fig.rss)/(1<<20), fig.goroutines, fig.files, fig.up, b.n)
	return fig, nil
}

// cpuShare is the process's CPU time over b.measure as a share of one core.
func (b idleBench) cpuShare() (float64, error) {
	c0, err := processCPU()
	if err != nil {
		return 0, err
	}
	t0 := time.Now()
	t := time.NewTimer(b.measure)
	defer t.Stop()
	select {
	case <-t.C:
	case <-b.ctx.Done():
		return 0, b.ctx.Err()
	}
	c1, err := processCPU()
	if err != nil {
		return 0, err
	}
	return float64(c1-c0) / float64(time.Since(t0)), nil
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
	fmt.Fprintf(tw, "round\talone submit_sm/s\tp99\twith %d idle submit_sm/s\tp99\twith/alone\tnot ESME_ROK\tidle binds up\t\n", n)
	ratios := make([]float64, len(rounds))
	var alone, with []float64
	for i, r := range rounds {
		if r.alone.PerSecond > 0 {
			ratios[i] = r.with.PerSecond / r.alone.PerSecond
		}
		alone = append(alone, r.alone.PerSecond)
		with = append(with, r.with.PerSecond)
		fmt.Fprintf(tw, "%d\t%.0f\t%s\t%.0f\t%s\t%.2f\t%d\t%d/%d\t\n", r.round,
			r.alone.PerSecond, fmtDur(r.alone.Latency.Quantile(0.99)),
			r.with.PerSecond, fmtDur(r.with.Latency.Quantile(0.99)),
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
			fmt.Fprintf(w, "round %d: %d idle binds closed during the run; the first: %v\n", r.round, n-r.up, r.lost)
		}
	}
	fmt.Fprintf(w, "\nmedian submit_sm/s: alone %.0f, with %d idle binds %.0f\n", median(alone), n, median(with))
	fmt.Fprintf(w, "with/alone throughput: %.2f (median of per-round ratios %s)\n", median(ratios), fmtRatios(ratios))
}

func printIdleCosts(w io.Writer, n int, measure time.Duration, none float64, proxied, direct idleFigures) {
	perBind := func(v int64) float64 { return float64(v) / float64(n) / 1024 }
	fmt.Fprintf(w, "idle CPU over %s, no load: nothing bound %.2f %% of a core; %d idle binds through the proxy %.2f %%; "+
		"the same bound directly to the simulator (simulator and idle clients alone) %.2f %%; the proxy's share %.2f %% of a core\n",
		measure, 100*none, n, 100*proxied.cpu, 100*direct.cpu, 100*(proxied.cpu-direct.cpu))
	fmt.Fprintf(w, "resident memory per idle bind (after a GC): %.1f KiB through the proxy (proxy, simulator session and client; %.1f MiB for %d); "+
		"%.1f KiB directly on the simulator; the proxy's share %.1f KiB\n",
		perBind(proxied.rss), float64(proxied.rss)/(1<<20), n, perBind(direct.rss), perBind(proxied.rss-direct.rss))
	fmt.Fprintf(w, "goroutines per idle bind: %.1f through the proxy, %.1f directly on the simulator; the proxy's %.1f\n",
		float64(proxied.goroutines)/float64(n), float64(direct.goroutines)/float64(n), float64(proxied.goroutines-direct.goroutines)/float64(n))
}
