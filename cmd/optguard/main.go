// Command optguard is the SMPP consent proxy: `optguard serve` puts it in line
// between ESMEs and an SMSC; `sim` runs the SMSC simulator alone; `bench`
// measures PDU throughput and latency; `store` checks and maintains the data
// directory; `subject` exports or erases what it holds about one number;
// `token` makes operator API tokens; `consent`, `dnc` and `report` call
// the operator API of a running optguard; `version` prints the build.
//
// This package wires the other packages together and holds no logic of its own.
package main

import (
	"fmt"
	"io"
	"os"
)

const usage = `optguard — SMPP v3.4 consent proxy

Usage:
  optguard serve   [-config FILE] [-listen HOST:PORT] [-upstream HOST:PORT] [-admin HOST:PORT] [-data DIR]
  optguard sim     [-listen HOST:PORT] [-receipts] [-receipt-delay D] [-account ID:PASSWORD ...]
  optguard bench   [-target HOST:PORT | -baseline | -storm | -idle-binds N] [-binds N] [-window W] [-duration D] [-rate R] ...
  optguard store   verify|rebuild|backup FILE|restore FILE|stats [-data DIR]
  optguard subject export|erase NUMBER [-data DIR]
  optguard token   create -name NAME -role auditor|agent|admin [-org ORG ...] [-json]
  optguard consent get|list|optin|optout|request|verify-pin|import|export ...   (operator API; token in OPTGUARD_TOKEN)
  optguard dnc     list|add|remove|daily ...
  optguard report  consent|disclaimer|status ...
  optguard version

Run "optguard COMMAND -h" for the flags of a command.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run dispatches to a subcommand and returns the process exit code.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "serve":
		return runServe(args[1:], stdout, stderr)
	case "sim":
		return runSim(args[1:], stdout, stderr)
	case "bench":
		return runBench(args[1:], stdout, stderr)
	case "store":
		return runStore(args[1:], stdout, stderr)
	case "subject":
		return runSubject(args[1:], stdout, stderr)
	case "token":
		return runToken(args[1:], stdout, stderr)
	case "consent":
		return runConsent(args[1:], stdout, stderr)
	case "dnc":
		return runDNC(args[1:], stdout, stderr)
	case "report":
		return runReports(args[1:], stdout, stderr)
	case "version", "-version", "--version":
		fmt.Fprintln(stdout, versionString())
		return 0
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "optguard: unknown command %q\n\n%s", args[0], usage)
	return 2
}
