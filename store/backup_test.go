package store

import (
	"bytes"
	"errors"
	"github.com/optguard/optguard/store/seal"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func populated(t *testing.T, s *Badger, c *clock) {
	t.Helper()
	seedConsents(t, s, c.Now())
	mustHold(t, s, heldMsg("h1", OrgScope("acme", num(0)), 1))
	mustHold(t, s, heldMsg("h2", OrgScope("acme", num(0)), 2))
	if err := s.MapMessageID(ctx, "og-9", "ff00"); err != nil {
		t.Fatal(err)
	}
	s.Log(Record{ID: "og-9", Org: "acme", Number: num(1), Status: MsgSent})
	flushLog(t, s, 1)
}

func TestBackupRestore(t *testing.T) {
	backends(t, func(t *testing.T, s *Badger, c *clock) {
		populated(t, s, c)
		var buf bytes.Buffer
		if err := s.Backup(ctx, &buf); err != nil {
			t.Fatal(err)
		}
		want, _ := s.Stats(ctx)
		wantVerify := mustVerify(t, s)

		// Only a store with the backup's key file reads it.
		stranger := openT(t, Options{InMemory: true})
		if err := stranger.Restore(ctx, bytes.NewReader(buf.Bytes())); !errors.Is(err, ErrKey) {
			t.Fatalf("restore under another key: %v, want ErrKey", err)
		}
		r := openT(t, Options{Dir: t.TempDir(), Clock: c.Now, KeyFile: s.opts.KeyFile})
		if err := r.Restore(ctx, bytes.NewReader(buf.Bytes())); err != nil {
			t.Fatal(err)
		}
		got, _ := r.Stats(ctx)
		if got.Events != want.Events || got.HeadHash != want.HeadHash || got.ByState != want.ByState ||
			got.Held != 2 || got.IDMappings != 1 || got.LogRecords != 1 {
			t.Fatalf("restored stats = %+v\nwant %+v", got, want)
		}
		if v := mustVerify(t, r); v.HeadHash != wantVerify.HeadHash {
			t.Fatal("restored chain head differs")
		}
		mustAgree(t, r)
		if r.State(OrgScope("acme", num(1))) != StateOptedIn {
			t.Error("restored index not loaded")
		}
		held, _ := r.Held(ctx, OrgScope("acme", num(0)))
		if len(held) != 2 || !bytes.Equal(held[1].PDU, pdu(2)) {
			t.Errorf("restored holds = %+v", held)
		}
		if id, _ := r.OptguardMessageID(ctx, "ff00"); id != "og-9" {
			t.Error("id map not restored")
		}
		// The restored store keeps appending to the same chain.
		a := mustApply(t, r, change(OrgScope("acme", num(50)), EventOptedOut, c.Now()))
		if a.Event.Seq != want.Events+1 || a.Event.PrevHash != want.HeadHash {
			t.Fatalf("append after restore: %+v", a.Event)
		}
		mustVerify(t, r)

		// Restoring into a store with data is refused.
		if err := r.Restore(ctx, bytes.NewReader(buf.Bytes())); !errors.Is(err, ErrNotEmpty) {
			t.Fatalf("restore into non-empty store: %v", err)
		}
	})
}

func TestRestoreRejectsGarbage(t *testing.T) {
	s, c := memStore(t)
	populated(t, s, c)
	var buf bytes.Buffer
	if err := s.Backup(ctx, &buf); err != nil {
		t.Fatal(err)
	}
	good := buf.Bytes()
	for name, data := range map[string][]byte{
		"empty":     nil,
		"magic":     append([]byte("NOTABAK\n"), good[8:]...),
		"truncated": good[:len(good)/2],
		"no end":    good[:len(good)-1],
	} {
		r, _ := memStore(t)
		err := r.Restore(ctx, bytes.NewReader(data))
		if !errors.Is(err, ErrBackupFormat) {
			t.Errorf("%s: %v, want ErrBackupFormat", name, err)
		}
	}
}

func TestRestoreDir(t *testing.T) {
	srcKey := filepath.Join(t.TempDir(), "source.key")
	c := newClock()
	s := openT(t, Options{InMemory: true, Clock: c.Now, KeyFile: srcKey})
	populated(t, s, c)
	var buf bytes.Buffer
	if err := s.Backup(ctx, &buf); err != nil {
		t.Fatal(err)
	}
	want, _ := s.Stats(ctx)
	leftNothing := func(dir string) {
		t.Helper()
		if m, _ := filepath.Glob(dir + ".*"); len(m) != 0 {
			t.Fatalf("left behind: %v", m)
		}
	}

	// The backup is ciphertext: without its key file it is refused.
	dir := filepath.Join(t.TempDir(), "data")
	if _, err := RestoreDir(ctx, dir, bytes.NewReader(buf.Bytes()), false, Options{}); !errors.Is(err, ErrKey) {
		t.Fatalf("restore without the key file: %v, want ErrKey", err)
	}
	leftNothing(dir)
	other := filepath.Join(t.TempDir(), "other.key")
	if _, err := seal.Create(other); err != nil {
		t.Fatal(err)
	}
	if _, err := RestoreDir(ctx, dir, bytes.NewReader(buf.Bytes()), false, Options{KeyFile: other}); !errors.Is(err, ErrKey) {
		t.Fatalf("restore with another installation's key file: %v, want ErrKey", err)
	}
	leftNothing(dir)

	// The key file put in the empty data directory first is kept there.
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := seal.Copy(srcKey, filepath.Join(dir, KeyFileName)); err != nil {
		t.Fatal(err)
	}
	res, err := RestoreDir(ctx, dir, bytes.NewReader(buf.Bytes()), false, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Stats.Events != want.Events || res.Verify.Events != want.Events || res.MovedAside != "" {
		t.Fatalf("result = %+v", res)
	}
	var out bytes.Buffer
	res.WriteText(&out)
	if !strings.Contains(out.String(), "restored 30 events") {
		t.Errorf("text: %s", out.String())
	}

	// Now dir has data: refused without force, nothing touched.
	if _, err := RestoreDir(ctx, dir, bytes.NewReader(buf.Bytes()), false, Options{}); !errors.Is(err, ErrNotEmpty) {
		t.Fatalf("restore over data without force: %v", err)
	}
	entries, _ := os.ReadDir(filepath.Dir(dir))
	if len(entries) != 1 {
		t.Fatalf("refused restore left files behind: %v", entries)
	}
	// With force the old data is moved aside, not deleted, and the key
	// file goes with the restored data too.
	res, err = RestoreDir(ctx, dir, bytes.NewReader(buf.Bytes()), true, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.MovedAside == "" {
		t.Fatal("force did not report where the old data went")
	}
	for _, p := range []string{consentSubdir, KeyFileName} {
		if _, err := os.Stat(filepath.Join(res.MovedAside, p)); err != nil {
			t.Fatalf("old data not kept: %v", err)
		}
	}
	r := openT(t, Options{Dir: dir})
	got, _ := r.Stats(ctx)
	if !reflect.DeepEqual(got.ByState, want.ByState) || got.Events != want.Events {
		t.Fatalf("restored dir stats = %+v", got)
	}

	// A key file kept elsewhere is used where it is.
	dir2 := filepath.Join(t.TempDir(), "data")
	if _, err := RestoreDir(ctx, dir2, bytes.NewReader(buf.Bytes()), false, Options{KeyFile: srcKey}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir2, KeyFileName)); err == nil {
		t.Fatal("a key file named by path was copied into the data directory")
	}
	openT(t, Options{Dir: dir2, KeyFile: srcKey})

	// A bad stream leaves no half-restored directory behind.
	bad := filepath.Join(t.TempDir(), "bad")
	if _, err := RestoreDir(ctx, bad, strings.NewReader("junk"), false, Options{}); err == nil {
		t.Fatal("junk restored")
	}
	if m, _ := filepath.Glob(bad + "*"); len(m) != 0 {
		t.Fatalf("left behind: %v", m)
	}
}
