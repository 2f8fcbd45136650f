package store

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
