package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"

	"github.com/optguard/optguard/store"
)

const subjectUsage = `Usage:
  optguard subject export [-data DIR] [-key FILE] [-region CC] [-o FILE] NUMBER
        write everything the store holds about NUMBER as JSON (a person's
        subject access request): consent per scope, every event with its
        MO text, held messages and the message log; to stdout, or to FILE
  optguard subject erase  [-data DIR] [-key FILE] [-region CC] [-actor NAME] -confirm NUMBER NUMBER
        erase NUMBER (a person's erasure request): its key and its link go in
        one durable transaction, an erased event is appended per scope, and
        every event of it still verifies but says nothing readable; where it
        had opted out, a suppression entry keeps the opt-out enforced. The
        number must be given again with -confirm. It cannot be undone.

NUMBER is E.164 (+15551234567), or a national number with -region (US, GB…).
-key is the installation key file (data.key_file; default DIR/optguard.key):
both commands need it. The store must not be open by a running optguard serve.
`

// runSubject implements `optguard subject …`; it returns the exit code:
// 0 ok, 1 failure (nothing held, an error), 2 usage.
func runSubject(args []string, stdout, stderr io.Writer) int {
	cmd, fs, args, code, done := subcommand("subject", subjectUsage, args, stdout, stderr)
	if done {
		return code
	}
	dir := fs.String("data", "./data", "data directory")
	keyFile := fs.String("key", "", "installation key file (default: optguard.key in the data directory)")
	region := fs.String("region", "", "country (ISO 3166, e.g. US) of a NUMBER written without its country code")
	outFile := fs.String("o", "", "export: write the JSON to this file instead of stdout")
	actor := fs.String("actor", "operator", "erase: who asked, recorded in the erased events")
	confirm := fs.String("confirm", "", "erase: NUMBER again")
	pos, err := parseInterleaved(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		return 2
	}
	switch cmd {
	case "export", "erase":
	default:
		fmt.Fprintf(stderr, "optguard subject: unknown command %q\n\n%s", cmd, subjectUsage)
		return 2
	}
	if len(pos) != 1 || (cmd == "export" && *confirm != "") || (cmd == "erase" && *outFile != "") {
		fs.Usage()
		return 2
	}
	number, err := store.NormalizeNumber(pos[0], *region)
	if err != nil {
		fmt.Fprintf(stderr, "optguard subject %s: %v (write it as E.164, +15551234567, or give -region)\n", cmd, err)
		return 2
	}
	if cmd == "erase" {
		again, err := store.NormalizeNumber(*confirm, *region)
		if err != nil || again != number {
			fmt.Fprintf(stderr, "optguard subject erase: give the number again with -confirm %s to erase it\n", pos[0])
			return 2
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	opts := cliOptions(*dir, *keyFile, stderr)
	opts.MinFreeBytes = cliReserve
	s, ok := openDataDir("subject", opts, cmd == "export", stderr)
	if !ok {
		return 1
	}
	defer s.Close()
	if cmd == "export" {
		return subjectExport(ctx, s, number, *outFile, stdout, stderr)
	}
	rep, err := s.EraseNumber(ctx, number, store.MethodAPI, *actor)
	if err != nil {
		fmt.Fprintf(stderr, "optguard subject erase: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "erased %s (subject %s): %d scopes (%d kept opted out as suppression entries), %d held messages deleted, events %v appended\n",
		store.MaskNumber(number), rep.Subject, rep.Scopes, rep.Suppressed, rep.Held, rep.Events)
	return 0
}

func subjectExport(ctx context.Context, s *store.Badger, number, file string, stdout, stderr io.Writer) int {
	d, err := s.SubjectData(ctx, number)
	if err != nil {
		fmt.Fprintf(stderr, "optguard subject export: %v\n", err)
		return 1
	}
	w := stdout
	var f *os.File
	if file != "" {
		if f, err = os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600); err != nil {
			fmt.Fprintf(stderr, "optguard subject export: %v (it holds personal data: the file is made new, readable by its owner only)\n", err)
			return 1
		}
		w = f
	}
	bw := bufio.NewWriter(w)
	err = d.WriteJSON(bw)
	if err == nil {
		err = bw.Flush()
	}
	if f != nil {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "optguard subject export: %v\n", err)
		return 1
	}
	if f != nil {
		fmt.Fprintf(stderr, "wrote %s: %d consents, %d events, %d held messages, %d message log records\n", file, len(d.Consents), len(d.Events), len(d.Held), len(d.Messages))
	}
	return 0
}
