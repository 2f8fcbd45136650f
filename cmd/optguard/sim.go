package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

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
	fs := flag.NewFlagSet("sim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:2776", "listen `address`")
	receipts := fs.Bool("receipts", true, "send a delivery receipt for each submit_sm that asks for one")
	delay := fs.Duration("receipt-delay", time.Second, "delay before a delivery receipt")
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
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: optguard sim [flags]\n\nAn SMSC simulator: it answers binds and submissions, sends receipts, and with\n-latency, -errors, -drop and -receipt-states answers like an SMSC under load.\n\nFlags:")
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
	rb, ok := map[string]pdu.CommandID{"any": 0, "rx": pdu.BindReceiver, "trx": pdu.BindTransceiver}[*receiptBind]
	if !ok {
		fmt.Fprintf(stderr, "sim: -receipt-bind %q: want rx, trx or any\n", *receiptBind)
		return 2
	}
	sim, err := testenv.StartSMSC(testenv.SMSCConfig{
		Addr: *listen, AutoReceipts: *receipts, ReceiptDelay: *delay, DecimalIDs: *decimal, Accounts: accounts, Load: load, ReceiptBind: rb,
	})
	if err != nil {
		fmt.Fprintf(stderr, "sim: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "SMSC simulator listening on %s\n", sim.Addr())
	if *adminAddr != "" {
		reg := prometheus.NewRegistry()
		reg.MustRegister(simCollector{sim})
		a, err := startAdmin(*adminAddr, reg, zerolog.Nop(), func() error { return nil })
		if err != nil {
			sim.Close()
			fmt.Fprintf(stderr, "sim: -admin: %v\n", err)
			return 1
		}
		defer a.shutdown(context.Background())
		fmt.Fprintf(stdout, "counters on http://%s/metrics\n", a.ln.Addr())
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	sim.Close()
	return 0
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
