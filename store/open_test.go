package store

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/rs/zerolog"
)

func TestBadgerLogsGoThroughZerolog(t *testing.T) {
	var debug, info bytes.Buffer
	s := openT(t, Options{Dir: t.TempDir(), Logger: zerolog.New(&debug).Level(zerolog.DebugLevel)})
	s.Close()
	if !strings.Contains(debug.String(), `"component":"badger"`) || !strings.Contains(debug.String(), `"level":"debug"`) {
		t.Fatalf("badger's INFO lines did not arrive at debug:\n%s", debug.String())
	}
	for _, line := range strings.Split(debug.String(), "\n") {
		if strings.Contains(line, `"component":"badger"`) && strings.Contains(line, `"level":"info"`) {
			t.Fatalf("badger chatter logged at info:\n%s", line)
		}
	}
	// At info a new store says one thing: that it made its key file.
	s = openT(t, Options{Dir: t.TempDir(), Logger: zerolog.New(&info).Level(zerolog.InfoLevel)})
	s.Close()
	lines := strings.Split(strings.TrimSpace(info.String()), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], "created the installation key file") {
		t.Fatalf("logged at info level:\n%s", info.String())
	}
}

func TestOpenChecksFormatAndOptions(t *testing.T) {
	if _, err := OpenBadger(Options{}); !errors.Is(err, ErrInvalid) {
		t.Errorf("no dir: %v", err)
	}
	if _, err := OpenBadger(Options{InMemory: true, MessageLog: MessageLogOptions{SampleRate: 2}}); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad sample rate: %v", err)
	}
	dir := t.TempDir()
	s := openT(t, Options{Dir: dir})
	s.Close()
	for _, sub := range []string{consentSubdir, logSubdir} {
		if _, err := os.Stat(filepath.Join(dir, sub)); err != nil {
			t.Fatalf("layout: %v", err)
		}
	}
	// A data directory from a future version is refused, not misread.
	rawUpdate(t, dir, func(txn *badger.Txn) error { return txn.Set(keyFormat, []byte{0, 0, 0, 9}) })
	if _, err := OpenBadger(Options{Dir: dir}); !errors.Is(err, ErrFormat) {
		t.Fatalf("format 9: %v", err)
	}
}

// TestOpenFilesCountsWhatTheStoreHoldsOpen compares OpenFiles with the
// descriptors an open store holds into its data directory (Linux's
// /proc/self/fd), after writing enough to flush tables.
func TestOpenFilesCountsWhatTheStoreHoldsOpen(t *testing.T) {
	if _, err := os.Stat("/proc/self/fd"); err != nil {
		t.Skip("needs /proc/self/fd")
	}
	if n := OpenFiles(""); n != 0 {
		t.Errorf("OpenFiles(\"\") = %d; want 0", n)
	}
	dir := t.TempDir()
	if n := OpenFiles(dir); n != 0 {
		t.Errorf("OpenFiles of an empty dir = %d; want 0", n)
	}
	s := openT(t, Options{Dir: dir, MemTableSize: 1 << 20})
	const n = 20_000
	changes := make([]Change, 0, n)
	for i := range n {
		changes = append(changes, Change{Scope: millionScope(i), Type: EventStateImported, State: StateOptedIn,
			Mode: ModeConsent, OccurredAt: time.Now().Add(-time.Duration(n-i) * time.Second), Method: MethodImport, Actor: "import"})
	}
	if _, err := s.Import(ctx, changes); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = openT(t, Options{Dir: dir, MemTableSize: 1 << 20})
	defer s.Close()

	held := 0
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	for _, fd := range fds {
		target, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name()))
		if err == nil && strings.HasPrefix(target, dir+string(filepath.Separator)) {
			held++
		}
	}
	got := OpenFiles(dir)
	tables, _ := filepath.Glob(filepath.Join(dir, consentSubdir, "*.sst"))
	t.Logf("OpenFiles %d, descriptors into the data dir %d, consent tables %d", got, held, len(tables))
	if len(tables) < 2 {
		t.Fatalf("%d consent tables: the test wrote too little to flush any", len(tables))
	}
	if got < held || got > held+4 {
		t.Errorf("OpenFiles = %d with %d descriptors held into %s: want at least as many, at most 4 more", got, held, dir)
	}
}
