package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"

	"github.com/rs/zerolog"

	"github.com/optguard/optguard/store"
)

const storeUsage = `Usage:
  optguard store verify  [-data DIR] [-key FILE]   check the ledger's hash chain and the consent index
  optguard store rebuild [-data DIR] [-key FILE]   recompute the consent index from the ledger
  optguard store backup  [-data DIR] [-key FILE] FILE
                                                   write a backup of both databases (- for stdout)
  optguard store restore [-data DIR] [-key FILE] [-force] FILE
                                                   restore a backup into an empty data directory;
                                                   -force moves existing data aside first
  optguard store stats   [-data DIR] [-key FILE]   print what the store holds

-key is the installation key file (data.key_file; default DIR/optguard.key).
A backup holds ciphertext only and is restored with the key file it was
written with: put that file in the empty data directory first, or name it
with -key (restore copies DIR/optguard.key into the restored directory).
verify, stats and backup need no key file.

The store must not be open by a running optguard serve. verify, stats and
backup open it read-only, so they work on a full disk; after an unclean stop
(kill -9, or a shutdown on a full disk) they first replay its write-ahead
logs, which needs free space (16 MiB and what the logs hold) and says so.
`

// runStore implements `optguard store …`; it returns the exit code: 0 ok,
// 1 failure (a broken chain, a refused restore, an error), 2 usage.
func runStore(args []string, stdout, stderr io.Writer) int {
	cmd, fs, args, code, done := subcommand("store", storeUsage, args, stdout, stderr)
	if done {
		return code
	}
	dir := fs.String("data", "./data", "data directory")
	keyFile := fs.String("key", "", "installation key file (default: optguard.key in the data directory)")
	force := fs.Bool("force", false, "restore: move existing data aside instead of refusing")
	pos, err := parseInterleaved(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		return 2
	}
	wantPos := 0
	if cmd == "backup" || cmd == "restore" {
		wantPos = 1
	}
	switch cmd {
	case "verify", "rebuild", "stats", "backup", "restore":
	default:
		fmt.Fprintf(stderr, "optguard store: unknown command %q\n\n%s", cmd, storeUsage)
		return 2
	}
	if len(pos) != wantPos || (*force && cmd != "restore") {
		fs.Usage()
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	opts := cliOptions(*dir, *keyFile, stderr)

	if cmd == "restore" {
		// A restore writes a whole backup: the store's default reserve.
		return storeRestore(ctx, pos[0], *dir, *force, opts, stdout, stderr)
	}
	// The other commands write at most what opening writes (the memtables
	// an unclean stop left) and, for rebuild, consent records: they need a
	// small reserve, not the one of a proxy that keeps writing.
	opts.MinFreeBytes = cliReserve
	s, ok := openDataDir("store", opts, cmd == "verify" || cmd == "stats" || cmd == "backup", stderr)
	if !ok {
		return 1
	}
	switch cmd {
	case "verify":
		code = storeVerify(ctx, s, stdout, stderr)
	case "rebuild":
		rep, err := s.Rebuild(ctx)
		if err != nil {
			fmt.Fprintf(stderr, "optguard store rebuild: %v\n", err)
			code = 1
		} else {
			rep.WriteText(stdout)
		}
	case "stats":
		st, err := s.Stats(ctx)
		if err != nil {
			fmt.Fprintf(stderr, "optguard store stats: %v\n", err)
			code = 1
		} else {
			st.WriteText(stdout)
		}
	case "backup":
		code = storeBackup(ctx, s, pos[0], stdout, stderr)
	}
	if err := s.Close(); err != nil {
		fmt.Fprintf(stderr, "optguard store: %v\n", err)
		return 1
	}
	return code
}

// subcommand splits `optguard NAME COMMAND [flags]` into its command and
// a flag set that prints usage; done says the caller returns code at once
// (no command: usage, 2; a request for help: usage on stdout, 0).
func subcommand(name, usage string, args []string, stdout, stderr io.Writer) (cmd string, fs *flag.FlagSet, rest []string, code int, done bool) {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return "", nil, nil, 2, true
	}
	cmd, rest = args[0], args[1:]
	if cmd == "help" || cmd == "-h" || cmd == "-help" || cmd == "--help" {
		fmt.Fprint(stdout, usage)
		return cmd, nil, nil, 0, true
	}
	fs = flag.NewFlagSet("optguard "+name+" "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage) }
	return cmd, fs, rest, 0, false
}

// cliOptions are the store options of the commands that work on a data
// directory: warnings and errors logged to stderr, no value-log GC.
func cliOptions(dir, keyFile string, stderr io.Writer) store.Options {
	logger := zerolog.New(zerolog.ConsoleWriter{Out: stderr, NoColor: true}).Level(zerolog.WarnLevel).With().Timestamp().Logger()
	return store.Options{Dir: dir, KeyFile: keyFile, Logger: logger, GCInterval: -1}
}

// openDataDir opens the store of an existing data directory for `optguard
// NAME`, saying on stderr why it cannot.
func openDataDir(name string, opts store.Options, readOnly bool, stderr io.Writer) (*store.Badger, bool) {
	if _, err := os.Stat(filepath.Join(opts.Dir, "consent")); err != nil {
		fmt.Fprintf(stderr, "optguard %s: %s is not a data directory: %v\n", name, opts.Dir, err)
		return nil, false
	}
	s, err := openStore(opts, readOnly, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "optguard %s: %v\n", name, err)
		return nil, false
	}
	return s, true
}

// cliReserve is the free space verify, rebuild, stats and backup keep.
const cliReserve = 16 << 20

// openStore opens the store for a command; readOnly opens it without
// writing (nothing to replay, no free space needed) and falls back to a
// read-write open when a previous run left write-ahead logs to replay.
func openStore(opts store.Options, readOnly bool, stderr io.Writer) (*store.Badger, error) {
	recovering := false
	if readOnly {
		ro := opts
		ro.ReadOnly = true
		s, err := store.OpenBadger(ro)
		if !errors.Is(err, store.ErrNeedsRecovery) {
			return s, err
		}
		recovering = true
	}
	s, err := store.OpenBadger(opts)
	switch {
	case errors.Is(err, store.ErrDiskFull) && recovering:
		return nil, fmt.Errorf("the store was not closed cleanly and replaying its write-ahead logs needs room: %w; free space there and run the command again", err)
	case errors.Is(err, store.ErrDiskFull):
		return nil, fmt.Errorf("%w; free space there and run the command again", err)
	case err == nil && recovering:
		fmt.Fprintln(stderr, "optguard store: the store was not closed cleanly; its write-ahead logs were replayed")
	}
	return s, err
}

// parseInterleaved parses flags that may come before or after the
// positional arguments, and returns the positional ones.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

func storeVerify(ctx context.Context, s *store.Badger, stdout, stderr io.Writer) int {
	rep, err := s.Verify(ctx)
	if err != nil {
		var ce *store.ChainError
		if errors.As(err, &ce) {
			fmt.Fprintf(stdout, "ledger BROKEN at event %d: %s\n", ce.Seq, ce.Reason)
		} else {
			fmt.Fprintf(stderr, "optguard store verify: %v\n", err)
		}
		return 1
	}
	rep.WriteText(stdout)
	idx, err := s.CheckIndex(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "optguard store verify: %v\n", err)
		return 1
	}
	idx.WriteText(stdout)
	if !idx.Agrees() {
		fmt.Fprintln(stdout, "run `optguard store rebuild` to rewrite the index from the ledger")
		return 1
	}
	return 0
}

func storeBackup(ctx context.Context, s *store.Badger, file string, stdout, stderr io.Writer) int {
	if file == "-" {
		if err := s.Backup(ctx, stdout); err != nil {
			fmt.Fprintf(stderr, "optguard store backup: %v\n", err)
			return 1
		}
		return 0
	}
	// Write beside the target and rename, so FILE is never half a backup.
	tmp, err := os.CreateTemp(filepath.Dir(file), filepath.Base(file)+".tmp-*")
	if err != nil {
		fmt.Fprintf(stderr, "optguard store backup: %v\n", err)
		return 1
	}
	err = s.Backup(ctx, tmp)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), file)
	}
	if err != nil {
		os.Remove(tmp.Name())
		fmt.Fprintf(stderr, "optguard store backup: %v\n", err)
		return 1
	}
	st, err := s.Stats(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "optguard store backup: %v\n", err)
		return 1
	}
	info, _ := os.Stat(file)
	fmt.Fprintf(stdout, "backed up %d events, %d consents, %d held messages to %s (%d bytes)\n",
		st.Events, st.Consents, st.Held+st.Outbox, file, info.Size())
	if st.KeyID != "" {
		fmt.Fprintf(stdout, "written with key %s: it restores only with that key file, which the backup does not hold\n", st.KeyID)
	}
	return 0
}

func storeRestore(ctx context.Context, file, dir string, force bool, opts store.Options, stdout, stderr io.Writer) int {
	var r io.Reader = os.Stdin
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			fmt.Fprintf(stderr, "optguard store restore: %v\n", err)
			return 1
		}
		defer f.Close()
		r = f
	}
	res, err := store.RestoreDir(ctx, dir, r, force, opts)
	if errors.Is(err, store.ErrNotEmpty) {
		fmt.Fprintf(stderr, "optguard store restore: %s already holds data; use -force to move it aside\n", dir)
		return 1
	}
	if err != nil {
		fmt.Fprintf(stderr, "optguard store restore: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "restored %s into %s\n", file, dir)
	res.WriteText(stdout)
	return 0
}
