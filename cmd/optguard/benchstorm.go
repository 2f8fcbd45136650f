package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"text/tabwriter"
	"time"

	"github.com/rs/zerolog"

	"github.com/optguard/optguard/config"
	"github.com/optguard/optguard/smpp/pdu"
	"github.com/optguard/optguard/store"
	"github.com/optguard/optguard/testenv"
)

// stormFlags are the parameters of `optguard bench -storm`.
type stormFlags struct {
	on     bool
	count  int
	window int
	mode   string
	spread bool
	rate   float64
}

func (s *stormFlags) register(fs *flag.FlagSet) {
	fs.BoolVar(&s.on, "storm", false, "STOP storm: the simulator sends MO STOP from distinct handsets on one SMSC bind through the proxy with the policy; reports durable opt-outs per second")
	fs.IntVar(&s.count, "storm-count", 50000, "with -storm: MO STOPs (distinct handsets) per round")
	fs.IntVar(&s.window, "storm-window", 100, "with -storm: deliver_sm outstanding on the SMSC bind (an SMSC window; latency grows with it: about window ÷ throughput)")
	fs.StringVar(&s.mode, "storm-mode", "off", "with -storm: the default organization's `mode` (off, disclaimer or consent; opt-outs count in every mode)")
	fs.BoolVar(&s.spread, "storm-spread", false, "with -storm: send the handsets in a scattered order, as a real storm's arrive, instead of counting up")
	fs.Float64Var(&s.rate, "storm-rate", 0, "with -storm: send the STOPs at this many `per second` (still within -storm-window) instead of as fast as they are answered, to read the latency at a given load")
}

// stormRun is one round of a storm.
type stormRun struct {
	round    int
	res      testenv.StormResult
	optedOut int // opted_out records the store gained in the round
}

// benchStorm runs the STOP storm: the simulator, optguard as serve starts it
// (durable store in a temporary directory) and one transceiver ESME that
// answers every deliver_sm at once. Each round the simulator sends
// -storm-count STOPs from handsets never seen before on the ESME's one
// upstream bind, keeping -storm-window outstanding; a deliver_sm_resp
// ESME_ROK means the opt-out is on disk (the policy answers only after its
// synced write), which the round checks against the store's opted_out count.
func benchStorm(ctx context.Context, f benchFlags, w io.Writer) error {
	sf := f.storm
	mode := config.Mode(sf.mode)
	if mode != config.ModeOff && mode != config.ModeDisclaimer && mode != config.ModeConsent {
		return fmt.Errorf("-storm-mode %q: write off, disclaimer or consent", sf.mode)
	}
	if sf.count < 1 || sf.window < 1 || sf.rate < 0 {
		return fmt.Errorf("-storm-count and -storm-window must be positive, and -storm-rate not negative")
	}
	sim, err := testenv.StartSMSC(testenv.SMSCConfig{})
	if err != nil {
		return err
	}
	defer sim.Close()
	dir, err := os.MkdirTemp("", "optguard-storm-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cfg := config.Default()
	cfg.Listen.Address = "127.0.0.1:0"
	cfg.Admin.Address = ""
	cfg.Upstream.Default.Address = sim.Addr()
	cfg.Data.Dir = dir
	cfg.SetDefaultMode(mode)
	if err := cfg.Validate(); err != nil {
		return err
	}
	p, err := start(cfg, zerolog.Nop())
	if err != nil {
		return err
	}
	defer p.stop()

	esme, err := testenv.DialESME(ctx, p.addr(), testenv.ESMEConfig{})
	if err != nil {
		return err
	}
	defer esme.Close()
	const systemID = "storm"
	if st, err := esme.Bind(ctx, pdu.BindTransceiver, systemID, "storm"); err != nil || st != pdu.ESME_ROK {
		return fmt.Errorf("binding the ESME through the proxy: status %s, %v", st, err)
	}
	if err := sim.WaitSessions(ctx, 1); err != nil {
		return err
	}
	pace := "as fast as answered"
	if sf.rate > 0 {
		pace = fmt.Sprintf("at %g/s", sf.rate)
	}
	fmt.Fprintf(w, "optguard bench -storm: %d MO STOP per round from distinct handsets %s, window %d, on one SMSC bind; policy mode %s; store in %s (synced)\n",
		sf.count, pace, sf.window, mode, dir)
	fmt.Fprintf(w, "machine: %d CPUs, %s %s/%s\n\n", runtime.NumCPU(), runtime.Version(), runtime.GOOS, runtime.GOARCH)

	var runs []stormRun
	for round := 1; round <= f.rounds; round++ {
		before := p.store.Gauges().ByState[store.StateOptedOut]
		res, err := sim.StormMO(ctx, testenv.StormConfig{
			SystemID:     systemID,
			Window:       sf.window,
			Count:        sf.count,
			FirstHandset: 15560000000 + uint64(round-1)*uint64(sf.count),
			Spread:       sf.spread,
			Rate:         sf.rate,
			Drain:        40 * time.Second,
		})
		runs = append(runs, stormRun{round: round, res: res, optedOut: p.store.Gauges().ByState[store.StateOptedOut] - before})
		if err != nil {
			printStorm(w, runs)
			return fmt.Errorf("round %d: %w", round, err)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	printStorm(w, runs)
	for _, r := range runs {
		if ok := int(r.res.ByStatus[pdu.ESME_ROK]); ok != r.optedOut {
			return fmt.Errorf("round %d: %d deliver_sm_resp ESME_ROK but the store gained %d opted_out records", r.round, ok, r.optedOut)
		}
	}
	return nil
}

func printStorm(w io.Writer, runs []stormRun) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "round\tMO sent\tESME_ROK\tnot ESME_ROK\topted_out stored\topt-outs/s\tp50\tp99\tmax\t")
	var tput, p99s []float64
	for _, r := range runs {
		h := &r.res.Latency
		ok := r.res.ByStatus[pdu.ESME_ROK]
		fmt.Fprintf(tw, "%d\t%d\t%d\t%d\t%d\t%.0f\t%s\t%s\t%s\t\n", r.round, r.res.Sent, ok, r.res.Responses-ok, r.optedOut,
			r.res.OKPerSecond, fmtDur(h.Quantile(0.50)), fmtDur(h.Quantile(0.99)), fmtDur(h.Max()))
		tput = append(tput, r.res.OKPerSecond)
		p99s = append(p99s, float64(h.Quantile(0.99)))
	}
	tw.Flush()
	for _, r := range runs {
		for st, n := range r.res.ByStatus {
			if st != pdu.ESME_ROK {
				fmt.Fprintf(w, "round %d: %d answered %s\n", r.round, n, st)
			}
		}
	}
	fmt.Fprintf(w, "\nmedian durable opt-outs/s: %.0f (rounds %s); median deliver_sm_resp p99: %s\n",
		median(tput), fmtRates(tput), fmtDur(time.Duration(median(p99s))))
}

// fmtRates lists per-round rates, whole numbers.
func fmtRates(v []float64) string { return joinFloats(v, "%.0f") }
