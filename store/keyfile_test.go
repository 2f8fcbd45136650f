package store

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dgraph-io/badger/v4"

	"github.com/optguard/optguard/store/seal"
)

// TestKeyFile: a new store makes its key file (mode 0600, in the data
// directory by default) and remembers its fingerprint; it then opens with
// that file only, read-only opens aside; a store from before key files
// gets one at its next open.
func TestKeyFile(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, Options{Dir: dir})
	path := filepath.Join(dir, KeyFileName)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatalf("no key file in the data directory: %v", err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %04o, want 0600", fi.Mode().Perm())
	}
	id := s.keys.ID()
	if got, _ := readKeyID(s.cdb); got != id {
		t.Fatalf("meta/key = %q, key file's id %q", got, id)
	}
	mustApply(t, s, change(OrgScope("acme", num(1)), EventOptedOut, s.clock()))
	s.Close()

	s = openT(t, Options{Dir: dir})
	if s.keys.ID() != id {
		t.Fatal("reopened with another key")
	}
	s.Close()

	// Another installation's key file.
	other := filepath.Join(t.TempDir(), "other.key")
	if _, err := seal.Create(other); err != nil {
		t.Fatal(err)
	}
	_, err = OpenBadger(Options{Dir: dir, KeyFile: other})
	if !errors.Is(err, ErrKey) || !strings.Contains(err.Error(), id) {
		t.Fatalf("open with another key file: %v", err)
	}
	// A key file others may read.
	if err := os.Chmod(path, 0o640); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenBadger(Options{Dir: dir}); !errors.Is(err, seal.ErrKeyFilePermissions) {
		t.Fatalf("open with a group-readable key file: %v", err)
	}
	os.Chmod(path, 0o600)

	// No key file: refused, and the message says what to do; a read-only
	// open still verifies the chain.
	saved := filepath.Join(t.TempDir(), "saved.key")
	if err := os.Rename(path, saved); err != nil {
		t.Fatal(err)
	}
	_, err = OpenBadger(Options{Dir: dir})
	if !errors.Is(err, ErrKey) || !strings.Contains(err.Error(), "restore that key file") {
		t.Fatalf("open without the key file: %v", err)
	}
	if _, err := os.Stat(path); err == nil {
		t.Fatal("a refused open created a key file")
	}
	ro := openT(t, Options{Dir: dir, ReadOnly: true})
	if ro.keys != nil {
		t.Fatal("read-only open without a key file has keys")
	}
	if v := mustVerify(t, ro); v.Events != 1 {
		t.Fatalf("verify without a key: %+v", v)
	}
	if st, err := ro.Stats(ctx); err != nil || st.KeyID != id || st.KeyFile {
		t.Fatalf("stats without the key file: %+v, %v; want key %s, not found", st, err, id)
	}
	ro.Close()
	if s = openT(t, Options{Dir: dir, KeyFile: saved}); s.keys.ID() != id {
		t.Fatal("the saved key file is not the store's")
	}

	// A store written before key files: the next open makes one.
	if err := s.cdb.Update(func(txn *badger.Txn) error { return txn.Delete(keyKeyID) }); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = openT(t, Options{Dir: dir})
	if s.keys.ID() == id || s.keys == nil {
		t.Fatal("no new key for a store without one")
	}
	if got, _ := readKeyID(s.cdb); got != s.keys.ID() {
		t.Fatalf("meta/key = %q after the first open with a key", got)
	}
}
