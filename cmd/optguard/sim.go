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
	decimal := fs.Bool("decimal-ids", false, "message ids as decimal numbers instead of hex")
	accounts := accountsFlag{}
	fs.Var(accounts, "account", "accepted `SYSTEM_ID:PASSWORD` (repeatable; none = accept any credentials)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	sim, err := testenv.StartSMSC(testenv.SMSCConfig{
		Addr: *listen, AutoReceipts: *receipts, ReceiptDelay: *delay, DecimalIDs: *decimal, Accounts: accounts,
	})
	if err != nil {
		fmt.Fprintf(stderr, "sim: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "SMSC simulator listening on %s\n", sim.Addr())
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	sim.Close()
	return 0
}
