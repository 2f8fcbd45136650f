package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/optguard/optguard/store"
)

func storeCmd(t *testing.T, args ...string) (code int, stdout, stderr string) {
	return cliCmd(runStore, args...)
}

// cliCmd runs the command run implements with args, and returns its exit
// code and output.
func cliCmd(run func(args []string, stdout, stderr io.Writer) int, args ...string) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	code = run(args, &o, &e)
	return code, o.String(), e.String()
}

// seedStore writes a few consent changes and a held message into dir;
// the second change names its conversation's sender (an event of body v3
// between two of v2).
func seedStore(t *testing.T, dir string) {
	t.Helper()
	s, err := store.OpenBadger(store.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	for i, typ := range []store.EventType{store.EventConsentRequested, store.EventOptedIn, store.EventOptedOut} {
		ch := store.Change{
			Scope: store.OrgScope("acme", "+1555123000"+string(rune('1'+i))), Type: typ, Mode: store.ModeConsent,
			OccurredAt: time.Now(), Method: store.MethodSMSKeyword, Actor: "handset",
		}
		if typ == store.EventOptedIn {
			ch.Via = "15550009999"
		}
		_, err := s.Apply(ctx, ch)
		if err != nil {
			t.Fatal(err)
		}
	}
	pdu := make([]byte, 32)
	if _, err := s.Hold(ctx, store.HeldMessage{ID: "og-1", Scope: store.OrgScope("acme", "+15551239999"), PDU: pdu}); err != nil {
		t.Fatal(err)
	}
}

func TestStoreCommands(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	seedStore(t, dir)

	code, out, errOut := storeCmd(t, "verify", "-data", dir)
	if code != 0 || !strings.Contains(out, "ledger ok: 3 events") || !strings.Contains(out, "agree") {
		t.Fatalf("verify = %d\n%s%s", code, out, errOut)
	}
	code, out, _ = storeCmd(t, "stats", "-data", dir)
	if code != 0 || !strings.Contains(out, "events             3") || !strings.Contains(out, "held               1") ||
		!strings.Contains(out, "(the key file matches)") {
		t.Fatalf("stats = %d\n%s", code, out)
	}
	code, out, _ = storeCmd(t, "rebuild", "-data", dir)
	if code != 0 || !strings.Contains(out, "folded 3 events into 3 scopes") {
		t.Fatalf("rebuild = %d\n%s", code, out)
	}

	backup := filepath.Join(t.TempDir(), "store.bak")
	code, out, errOut = storeCmd(t, "backup", backup, "-data", dir) // flags after the file work too
	if code != 0 || !strings.Contains(out, "backed up 3 events") || !strings.Contains(out, "restores only with that key file") {
		t.Fatalf("backup = %d\n%s%s", code, out, errOut)
	}
	// The backup reads only with its key file.
	other := filepath.Join(t.TempDir(), "restored")
	code, _, errOut = storeCmd(t, "restore", "-data", other, backup)
	if code != 1 || !strings.Contains(errOut, "wrong or missing key file") {
		t.Fatalf("restore without the key file = %d: %s", code, errOut)
	}
	key := filepath.Join(dir, store.KeyFileName)
	code, out, errOut = storeCmd(t, "restore", "-data", other, "-key", key, backup)
	if code != 0 || !strings.Contains(out, "restored 3 events, 3 consents, 1 held") {
		t.Fatalf("restore = %d\n%s%s", code, out, errOut)
	}
	if code, out, errOut = storeCmd(t, "rebuild", "-data", other); code != 1 || !strings.Contains(errOut, "restore that key file") {
		t.Fatalf("rebuild of the restored store without its key file = %d\n%s%s", code, out, errOut)
	}
	if err := os.Link(key, filepath.Join(other, store.KeyFileName)); err != nil {
		t.Fatal(err)
	}
	code, _, errOut = storeCmd(t, "restore", "-data", other, backup)
	if code != 1 || !strings.Contains(errOut, "-force") {
		t.Fatalf("restore over data without -force = %d: %s", code, errOut)
	}
	code, out, _ = storeCmd(t, "restore", "-data", other, "-force", backup)
	if code != 0 || !strings.Contains(out, "previous data moved to") {
		t.Fatalf("restore -force = %d\n%s", code, out)
	}
	if code, out, _ = storeCmd(t, "verify", "-data", other); code != 0 {
		t.Fatalf("verify restored = %d\n%s", code, out)
	}
}

func TestStoreVerifyNamesBrokenEvent(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	seedStore(t, dir)
	db, err := badger.Open(badger.DefaultOptions(filepath.Join(dir, "consent")).WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	key := append([]byte("e/"), 0, 0, 0, 0, 0, 0, 0, 2)
	err = db.Update(func(txn *badger.Txn) error {
		item, err := txn.Get(key)
		if err != nil {
			return err
		}
		v, _ := item.ValueCopy(nil)
		v[len(v)/2] ^= 0x20
		return txn.Set(key, v)
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	code, out, _ := storeCmd(t, "verify", "-data", dir)
	if code != 1 || !strings.Contains(out, "BROKEN at event 2") {
		t.Fatalf("verify of a tampered ledger = %d\n%s", code, out)
	}
}

func TestStoreUsage(t *testing.T) {
	for _, args := range [][]string{
		nil,
		{"frobnicate"},
		{"backup"},
		{"verify", "extra"},
		{"stats", "-force"},
		{"stats", "-nope"},
	} {
		if code, _, _ := storeCmd(t, args...); code != 2 {
			t.Errorf("store %v = %d, want 2", args, code)
		}
	}
	if code, out, _ := storeCmd(t, "help"); code != 0 || !strings.Contains(out, "restore") {
		t.Errorf("help = %d %q", code, out)
	}
	missing := filepath.Join(t.TempDir(), "none")
	if code, _, errOut := storeCmd(t, "stats", "-data", missing); code != 1 || !strings.Contains(errOut, "not a data directory") {
		t.Errorf("stats on a missing dir = %d %q", code, errOut)
	}
	if _, err := os.Stat(missing); err == nil {
		t.Error("stats created a data directory")
	}
}
