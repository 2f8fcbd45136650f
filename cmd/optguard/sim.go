package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/optguard/optguard/config"
	"github.com/optguard/optguard/smpp/pdu"
	"github.com/optguard/optguard/testenv"
)

// accountsFlag collects repeated -account ID:PASSWORD flags.
type accountsFlag map[string]string

func (a accountsFlag) String() string { return fmt.Sprint(len(a), " accounts") }

func (a accountsFlag) Set(v string) error {
	id, pw, ok := strings.Cut(v, ":")
	if !ok || id == "" {
		return fmt.Errorf("want SYSTEM_ID:PASSWORD, got %q", v)
	}
	a[id] = pw
	return nil
}

// runSim is `optguard sim`: the SMSC simulator alone, for pointing optguard (or
// an ESME) at something that answers like an SMSC.
func runSim(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	return simMain(ctx, args, stdout, stderr)
}

// simMain is runSim until ctx ends, so that tests run it in-process.
func simMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:2776", "listen `address`")
	receipts := fs.Bool("receipts", true, "send a delivery receipt for each submit_sm that asks for one")
	delay := fs.String("receipt-delay", "1s", "time from a submit_sm_resp to its delivery receipt: a `DURATION` (1s), or a latency SPEC drawn per receipt: fixed:1s, uniform:1s-30s or lognormal:MEDIAN,SIGMA[,CAP]")
	receiptBind := fs.String("receipt-bind", "any", "the binds receipts go to: `rx` (receivers), trx (transceivers) or any")
	decimal := fs.Bool("decimal-ids", false, "message ids as decimal numbers instead of hex")
	accounts := accountsFlag{}
	fs.Var(accounts, "account", "accepted `SYSTEM_ID:PASSWORD` (repeatable; none = accept any credentials)")
	latency := fs.String("latency", "", "response latency of message submissions, a `SPEC`: fixed:5ms, uniform:1ms-20ms or lognormal:MEDIAN,SIGMA[,CAP] (none: at once)")
	errorShares := fs.String("errors", "", "refusals of message submissions by share, a `LIST` of STATUS=SHARE: e.g. ESME_RTHROTTLED=1%,ESME_RSUBMITFAIL=0.5%")
	drop := fs.String("drop", "0", "`SHARE` of message submissions never answered, e.g. 0.1%")
	receiptStates := fs.String("receipt-states", "", "receipts' final states by share, a `LIST` of STAT=SHARE adding up to 100%: e.g. DELIVRD=95%,UNDELIV=3%,EXPIRED=2% (none: all DELIVRD)")
	adminAddr := fs.String("admin", "", "serve the simulator's counters on `HOST:PORT`/metrics (Prometheus; none: no listener)")
	seed := fs.Uint64("seed", 0, "seed of the shares' random draws, for a run that can be repeated (0: random)")
	var mo moFlags
	fs.Float64Var(&mo.rate, "mo-rate", 0, "send MOs (handset replies) at `R` per second to a bound receiver or transceiver while it is bound (0: none)")
	fs.StringVar(&mo.mix, "mo-mix", "STOP=5%,START=3%,HELP=2%,ok thanks=90%", "the MOs' texts by share, a `LIST` of TEXT=SHARE adding up to 100% (texts cannot contain ',' or '=')")
	fs.StringVar(&mo.long, "mo-long", "0", "`SHARE` of MOs sent as a long text in two concatenated deliver_sm (8-bit UDH), e.g. 5%; the rest follow -mo-mix")
	fs.IntVar(&mo.handsets, "mo-handsets", 10000, "the `N` handsets MOs come from, in turn")
	fs.Uint64Var(&mo.first, "mo-first", 15560000000, "the first handset's E.164 `DIGITS`; the others count up from it")
	fs.StringVar(&mo.to, "mo-to", "+15550000001", "destination_addr of the MOs (the ESME's number), an `ADDR`")
	fs.StringVar(&mo.systemID, "mo-system-id", "", "send MOs only to binds of this `SYSTEM_ID` (none: any receiver or transceiver)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: optguard sim [flags]\n\nAn SMSC simulator: it answers binds and submissions, sends receipts, and with\n-latency, -errors, -drop, -receipt-states and -receipt-delay answers like an SMSC\nunder load. With -mo-rate it also sends MOs (STOP, START, HELP and ordinary\nreplies) to a bound receiver or transceiver, pausing while none is bound.\n\nFlags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	load, err := simLoadProfile(*latency, *errorShares, *drop, *receiptStates, *seed)
	if err != nil {
		fmt.Fprintf(stderr, "sim: %v\n", err)
		return 2
	}
	fixedDelay, delayDist, err := simReceiptDelay(*delay)
	if err != nil {
		fmt.Fprintf(stderr, "sim: -receipt-delay: %v\n", err)
		return 2
	}
	if delayDist.Kind != testenv.LatencyNone {
		if load == nil {
			load = &testenv.LoadProfile{Seed: *seed}
		}
		load.ReceiptDelay = delayDist
	}
	rb, ok := map[string]pdu.CommandID{"any": 0, "rx": pdu.BindReceiver, "trx": pdu.BindTransceiver}[*receiptBind]
	if !ok {
		fmt.Fprintf(stderr, "sim: -receipt-bind %q: want rx, trx or any\n", *receiptBind)
		return 2
	}
	stream, err := mo.storm(*seed)
	if err != nil {
		fmt.Fprintf(stderr, "sim: %v\n", err)
		return 2
	}
	sim, err := testenv.StartSMSC(testenv.SMSCConfig{
		Addr: *listen, AutoReceipts: *receipts, ReceiptDelay: fixedDelay, DecimalIDs: *decimal, Accounts: accounts, Load: load, ReceiptBind: rb,
	})
	if err != nil {
		fmt.Fprintf(stderr, "sim: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "SMSC simulator listening on %s\n", sim.Addr())
	if *adminAddr != "" {
		reg := prometheus.NewRegistry()
		reg.MustRegister(simCollector{sim})
		a, err := startAdmin(config.Admin{Address: *adminAddr}, reg, zerolog.Nop(), func() error { return nil })
		if err != nil {
			sim.Close()
			fmt.Fprintf(stderr, "sim: -admin: %v\n", err)
			return 1
		}
		a.profiles(func(h http.Handler) http.Handler { return h })
		defer a.shutdown(context.Background())
		fmt.Fprintf(stdout, "counters on http://%s/metrics\n", a.ln.Addr())
	}
	var streamed sync.WaitGroup
	if stream != nil {
		streamed.Go(func() { runMOStream(ctx, sim, *stream, stdout) })
	}
	<-ctx.Done()
	streamed.Wait() // it waits a moment for the responses still due
	sim.Close()
	return 0
}

// simReceiptDelay reads -receipt-delay: a duration for SMSCConfig, or a
// distribution for the load profile.
func simReceiptDelay(v string) (time.Duration, testenv.Latency, error) {
	if d, err := time.ParseDuration(v); err == nil {
		if d < 0 {
			return 0, testenv.Latency{}, fmt.Errorf("%v: want no negative delay", d)
		}
		return d, testenv.Latency{}, nil
	}
	l, err := testenv.ParseLatency(v)
	if err != nil {
		return 0, l, fmt.Errorf("%q: want a duration such as 1s or a latency spec: %w", v, err)
	}
	return 0, l, nil
}

// moFlags are sim's -mo-* flags.
type moFlags struct {
	rate         float64
	mix, long    string
	handsets     int
	first        uint64
	to, systemID string
}

// storm builds the MO stream the flags ask for (nil for none); it checks
// the flags even then, so that a typo does not wait for -mo-rate.
func (f moFlags) storm(seed uint64) (*testenv.StormConfig, error) {
	if f.rate < 0 {
		return nil, fmt.Errorf("-mo-rate %v: want MOs per second, 0 for none", f.rate)
	}
	texts, shares, err := testenv.ParseShares(f.mix)
	if err != nil {
		return nil, fmt.Errorf("-mo-mix: %w", err)
	}
	if len(texts) == 0 {
		return nil, fmt.Errorf("-mo-mix: no texts; want e.g. STOP=5%%,ok thanks=95%%")
	}
	cfg := testenv.StormConfig{
		SystemID: f.systemID, Rate: f.rate, Handsets: f.handsets, FirstHandset: f.first, To: f.to, Seed: seed,
		Drain: time.Second, // at Ctrl-C, for the responses still due
	}
	total := 0.0
	for i, text := range texts {
		cfg.Mix = append(cfg.Mix, testenv.TextShare{Text: text, Share: shares[i]})
		total += shares[i]
	}
	if math.Abs(total-1) > 1e-9 {
		return nil, fmt.Errorf("-mo-mix: the shares add up to %g%%, want 100%%", 100*total)
	}
	if cfg.LongShare, err = testenv.ParseShare(f.long); err != nil || cfg.LongShare > 1 {
		return nil, fmt.Errorf("-mo-long %q: want a share of at most 100%%, e.g. 5%%", f.long)
	}
	if f.handsets <= 0 || f.first == 0 {
		return nil, fmt.Errorf("-mo-handsets %d, -mo-first %d: want at least one handset and a first number", f.handsets, f.first)
	}
	if f.rate == 0 {
		return nil, nil
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("-mo-* flags: %w", err)
	}
	return &cfg, nil
}

// runMOStream sends the MO stream on a bound receiver or transceiver, and
// when that bind goes away waits for the next one, until ctx ends.
func runMOStream(ctx context.Context, sim *testenv.SMSC, cfg testenv.StormConfig, w io.Writer) {
	var on testenv.SessionInfo
	cfg.OnSession = func(si testenv.SessionInfo) {
		on = si
		fmt.Fprintf(w, "MO stream: %g/s on session %d (%s of %q from %s)\n", cfg.Rate, si.ID, si.Bind, si.SystemID, si.Remote)
	}
	for {
		on = testenv.SessionInfo{}
		res, err := sim.StormMO(ctx, cfg)
		if ctx.Err() != nil {
			return
		}
		if on.ID == 0 { // it never started: nothing to resume
			fmt.Fprintf(w, "MO stream stopped: %v\n", err)
			return
		}
		fmt.Fprintf(w, "MO stream paused after %d MOs on session %d (%v); waiting for a receiver or transceiver bind\n", res.Sent, on.ID, err)
	}
}

// simLoadProfile builds the simulator's load profile from sim's flags; nil
// when they ask for none.
func simLoadProfile(latency, errorShares, drop, receiptStates string, seed uint64) (*testenv.LoadProfile, error) {
	var p testenv.LoadProfile
	var err error
	if p.Latency, err = testenv.ParseLatency(latency); err != nil {
		return nil, fmt.Errorf("-latency: %w", err)
	}
	names, shares, err := testenv.ParseShares(errorShares)
	if err != nil {
		return nil, fmt.Errorf("-errors: %w", err)
	}
	for i, name := range names {
		st, ok := pdu.ParseStatus(name)
		if !ok {
			return nil, fmt.Errorf("-errors: %q is not a command_status name (such as ESME_RTHROTTLED)", name)
		}
		p.Errors = append(p.Errors, testenv.StatusShare{Status: st, Share: shares[i]})
	}
	if p.Drop, err = testenv.ParseShare(drop); err != nil {
		return nil, fmt.Errorf("-drop: %w", err)
	}
	names, shares, err = testenv.ParseShares(receiptStates)
	if err != nil {
		return nil, fmt.Errorf("-receipt-states: %w", err)
	}
	for i, name := range names {
		p.Receipts = append(p.Receipts, testenv.ReceiptShare{Stat: strings.ToUpper(name), Share: shares[i]})
	}
	p.Seed = seed
	if p.Latency == (testenv.Latency{}) && len(p.Errors) == 0 && p.Drop == 0 && len(p.Receipts) == 0 {
		return nil, nil
	}
	return &p, nil
}
