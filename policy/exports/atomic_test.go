package exports_test

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/optguard/optguard/policy/exports"
	"github.com/optguard/optguard/store"
)

// files lists dir's entries by name.
func files(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// old is a complete file of 1 December that a failed write must leave.
const old = "opted_out_at,number\n2026-12-01T10:00:00Z,+15551230201\n"

func writeOld(t *testing.T, dir string) {
	t.Helper()
	if _, err := exports.WriteAtomic(dir, "optouts-2026-12-01.csv", func(w io.Writer) error {
		_, err := io.WriteString(w, old)
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

// The day's file lands under its name, complete, readable by owner and
// group only; written again, it is replaced whole.
func TestWriteOptOutFile(t *testing.T) {
	st := openStore(t)
	dir := t.TempDir()
	apply(t, st, change{at: "2026-12-01T10:00:00Z", scope: store.OrgScope("acme", "+15551230201"), typ: store.EventOptedOut, method: store.MethodSMSKeyword, actor: "handset", mo: "STOP"})
	d := day(t, "2026-12-01", time.UTC)
	path, rows, err := exports.WriteOptOutFile(context.Background(), st, dir, d)
	if err != nil || rows != 1 || path != filepath.Join(dir, "optouts-2026-12-01.csv") {
		t.Fatalf("%s, %d rows, %v", path, rows, err)
	}
	if got := readCSV(t, []byte(readFile(t, path))); len(got) != 2 || got[1][1] != "+15551230201" {
		t.Fatalf("file:\n%v", got)
	}
	if info, err := os.Stat(path); err != nil || info.Mode().Perm() != 0o640 {
		t.Fatalf("mode %v, %v; want 0640", info.Mode(), err)
	}
	apply(t, st, change{at: "2026-12-01T11:00:00Z", scope: store.OrgScope("acme", "+15551230202"), typ: store.EventOptedOut, method: store.MethodSMSKeyword, actor: "handset", mo: "STOP"})
	if _, rows, err = exports.WriteOptOutFile(context.Background(), st, dir, d); err != nil || rows != 2 {
		t.Fatalf("again: %d rows, %v", rows, err)
	}
	if got := readCSV(t, []byte(readFile(t, path))); len(got) != 3 {
		t.Fatalf("replaced file:\n%v", got)
	}
	if names := files(t, dir); len(names) != 1 {
		t.Fatalf("the directory has %v", names)
	}
}

// A write that fails half way leaves no file under the final name, the
// previous complete file as it was, and no temporary file.
func TestWriteAtomicFailureKeepsTheOldFile(t *testing.T) {
	dir := t.TempDir()
	writeOld(t, dir)
	cut := errors.New("the server cut the download")
	_, err := exports.WriteAtomic(dir, "optouts-2026-12-01.csv", func(w io.Writer) error {
		// More than the write buffer, so that part of it reached the disk.
		io.WriteString(w, strings.Repeat("2026-12-01T11:00:00Z,+15551230202\n", 10000))
		return cut
	})
	if !errors.Is(err, cut) {
		t.Fatalf("error %v, want the writer's", err)
	}
	if got := readFile(t, filepath.Join(dir, "optouts-2026-12-01.csv")); got != old {
		t.Fatalf("the old file changed:\n%.200s", got)
	}
	// A day never written stays unwritten.
	if _, err := exports.WriteAtomic(dir, "optouts-2026-12-02.csv", func(w io.Writer) error {
		io.WriteString(w, "opted_out_at,number\n")
		return cut
	}); !errors.Is(err, cut) {
		t.Fatal(err)
	}
	if names := files(t, dir); len(names) != 1 || names[0] != "optouts-2026-12-01.csv" {
		t.Fatalf("the directory has %v", names)
	}

	// From the store: a context that ends mid-way is such a failure too.
	st := openStore(t)
	apply(t, st, change{at: "2026-12-01T12:00:00Z", scope: store.OrgScope("acme", "+15551230203"), typ: store.EventOptedOut, method: store.MethodSMSKeyword, actor: "handset", mo: "STOP"})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := exports.WriteOptOutFile(ctx, st, dir, day(t, "2026-12-01", time.UTC)); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
	if got := readFile(t, filepath.Join(dir, "optouts-2026-12-01.csv")); got != old {
		t.Fatalf("the old file changed:\n%.200s", got)
	}
	for _, bad := range []string{"", "../optouts.csv", "sub/optouts.csv", ".optouts.csv"} {
		if _, err := exports.WriteAtomic(dir, bad, func(io.Writer) error { return nil }); err == nil {
			t.Errorf("WriteAtomic took the name %q", bad)
		}
	}
}

// crashEnv makes TestWriteAtomicSurvivesACrash's child process write
// into that directory and die in the middle.
const crashEnv = "OPTGUARD_EXPORTS_CRASH_DIR"

// A process that dies while it writes (here: exits in the middle, running
// no deferred cleanup, as a kill -9 would) leaves the previous complete
// file under the final name and only a temporary file besides; the next
// run removes that once it is stale.
func TestWriteAtomicSurvivesACrash(t *testing.T) {
	if dir := os.Getenv(crashEnv); dir != "" {
		exports.WriteAtomic(dir, "optouts-2026-12-01.csv", func(w io.Writer) error {
			io.WriteString(w, strings.Repeat("2026-12-01T11:00:00Z,+15551230202\n", 10000))
			os.Exit(3)
			return nil
		})
		return
	}
	dir := t.TempDir()
	writeOld(t, dir)
	cmd := exec.Command(os.Args[0], "-test.run=^TestWriteAtomicSurvivesACrash$")
	cmd.Env = append(os.Environ(), crashEnv+"="+dir)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 3 {
		t.Fatalf("the writer did not die mid-write: %v\n%s", err, out)
	}
	if got := readFile(t, filepath.Join(dir, "optouts-2026-12-01.csv")); got != old {
		t.Fatalf("after the crash the file is not the old one:\n%.200s", got)
	}
	var leftover string
	for _, n := range files(t, dir) {
		if n != "optouts-2026-12-01.csv" {
			leftover = n
		}
	}
	if !strings.HasPrefix(leftover, ".") || len(files(t, dir)) != 2 {
		t.Fatalf("after the crash the directory has %v, want the file and a hidden temporary one", files(t, dir))
	}
	if info, err := os.Stat(filepath.Join(dir, leftover)); err != nil || info.Size() == 0 {
		t.Fatalf("the temporary file has nothing of the crashed write: %v %v", info, err)
	}

	// A run soon after leaves it (its writer might still be at work);
	// a run an hour on removes it.
	write := func() {
		t.Helper()
		if _, err := exports.WriteAtomic(dir, "optouts-2026-12-02.csv", func(w io.Writer) error {
			_, err := io.WriteString(w, "opted_out_at,number\n")
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	write()
	if len(files(t, dir)) != 3 {
		t.Fatalf("a run right after the crash: %v", files(t, dir))
	}
	hourAgo := time.Now().Add(-61 * time.Minute)
	if err := os.Chtimes(filepath.Join(dir, leftover), hourAgo, hourAgo); err != nil {
		t.Fatal(err)
	}
	write()
	if names := files(t, dir); len(names) != 2 || names[0] != "optouts-2026-12-01.csv" || names[1] != "optouts-2026-12-02.csv" {
		t.Fatalf("the stale temporary file is still there: %v", names)
	}
}
