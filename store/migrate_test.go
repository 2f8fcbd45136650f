package store

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/rs/zerolog"

	"github.com/optguard/optguard/testenv"
)

// testdata/format1.tar.gz is a data directory written by the last build of
// format 1 (its key file included): 12 handsets in three organizations
// asked, opted in (by YES in GSM-7 and in UCS2, by an agent with a note) or
// out (STOP, with its text), a sender scope, an import, held messages (one
// released to the outbox), message-log records, an id mapping and a learned
// value. HEAD.txt holds its chain head: "seq hash".
func extractFormat1(t testing.TB) (dir string, oldSeq uint64, oldHash string) {
	t.Helper()
	return extractDir(t, "testdata/format1.tar.gz")
}

// extractDir extracts a data directory kept as a tar.gz with its chain
// head in HEAD.txt ("seq hash"), and returns the head.
func extractDir(t testing.TB, name string) (dir string, oldSeq uint64, oldHash string) {
	t.Helper()
	dir = t.TempDir()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, h.Name)
		if h.Typeflag == tar.TypeDir {
			if err := os.MkdirAll(path, 0o700); err != nil {
				t.Fatal(err)
			}
			continue
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	head, err := os.ReadFile(filepath.Join(dir, "HEAD.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fmt.Sscanf(string(head), "%d %s", &oldSeq, &oldHash); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(dir, "HEAD.txt"))
	return dir, oldSeq, oldHash
}

// The numbers written into testdata/format1.tar.gz.
var format1Numbers = func() []string {
	var ns []string
	for i := 0; i < 12; i++ {
		ns = append(ns, fmt.Sprintf("+1555900%04d", i))
	}
	return append(ns, "+15559009999", "+15559008888", "+15559007777", "+15559006666", "+15559005555")
}()

func TestMigrateFormat1(t *testing.T) {
	dir, oldSeq, oldHash := extractFormat1(t)
	var logs testenv.LogBuffer // badger logs from its own goroutines
	s := openT(t, Options{Dir: dir, Logger: zerolog.New(&logs), uncompressed: true})

	// Both chains: the new one verifies, and its last event links the old
	// one by its length and head hash (which a backup of the old directory
	// still verifies against).
	rep := mustVerify(t, s)
	if rep.Events != oldSeq+1 {
		t.Fatalf("new chain has %d events; want the old %d and the link", rep.Events, oldSeq)
	}
	link, err := s.Event(ctx, oldSeq+1)
	if err != nil {
		t.Fatal(err)
	}
	if link.Type != EventChainLinked || !strings.Contains(link.Note, oldHash) || !strings.Contains(link.Note, fmt.Sprintf(" %d events", oldSeq)) || !link.Subject.IsZero() {
		t.Fatalf("link event = %+v", link)
	}
	if !strings.Contains(logs.String(), "migrated the data directory to format 2") {
		t.Fatalf("no log line of the migration:\n%s", logs.String())
	}
	mustAgree(t, s)

	// The events read as they were written, numbers and texts opened.
	stop, err := s.Event(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	if stop.Type != EventOptedOut || stop.Scope != OrgScope("acme", "+15559000000") || stop.MO == nil || stop.MO.Text != "STOP please" || stop.Erased || stop.Subject.IsZero() {
		t.Fatalf("event 2 = %+v", stop)
	}
	var agent Event
	if err := s.Events(ctx, EventFilter{Number: "+15559000002"}, func(ev Event) error {
		if ev.Method == MethodAgent {
			agent = ev
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if agent.Note != "consent on paper, ref 1234" || agent.Actor != "agent-7" {
		t.Fatalf("the agent's opt-in = %+v", agent)
	}
	for number, want := range map[string]State{"+15559000000": StateOptedOut, "+15559000001": StateOptedIn, "+15559000003": StatePending, "+15559000006": StateOptedIn} {
		org := []string{"acme", "globex", "initech"}[(int(number[len(number)-1])-'0')%3]
		if got := s.State(OrgScope(org, number)); got != want {
			t.Errorf("%s/%s = %v, want %v", org, number, got, want)
		}
	}
	if got := s.State(SenderScope("acme", "+15550000001", "+15559009999")); got != StateOptedOut {
		t.Errorf("the sender scope = %v", got)
	}

	// Holds, the outbox, the message log, the id map, learned values.
	held, err := s.Held(ctx, OrgScope("initech", "+15559007777"))
	if err != nil || len(held) != 2 || held[0].ID != "og-h1" || !bytes.Equal(held[0].PDU, pdu(0)) || !held[0].ReceiptRequested || held[1].ID != "og-h2" {
		t.Fatalf("held = %+v, %v", held, err)
	}
	out, err := s.Outbox(ctx, 0)
	if err != nil || len(out) != 1 || out[0].ID != "og-h4" || out[0].Disposition != DispositionReleased || out[0].Scope.Number != "+15559006666" {
		t.Fatalf("outbox = %+v, %v", out, err)
	}
	page, err := s.Messages(ctx, MessageFilter{Number: "+15559006666"})
	if err != nil || len(page.Items) != 1 || page.Items[0].ID != "og-h4" || len(page.Items[0].History) != 2 {
		t.Fatalf("messages of +15559006666 = %+v, %v", page, err)
	}
	if m, err := s.Message(ctx, "og-m9"); err != nil || m.Number != "+15559005555" {
		t.Fatalf("og-m9 = %+v, %v", m, err)
	}
	if id, ok := s.OptguardMessageIDBytes([]byte("smsc-44")); !ok || id != "og-h4" {
		t.Fatalf("id map: %q %v", id, ok)
	}
	if v, ok, err := s.LoadLearned("lang/acme"); err != nil || !ok || string(v) != "en" {
		t.Fatalf("learned = %q %v %v", v, ok, err)
	}
	st, err := s.Stats(ctx)
	if err != nil || st.FormatVersion != formatVersion {
		t.Fatalf("stats = %+v, %v", st, err)
	}

	// No number is left anywhere in the directory, in any form a scan of
	// the files would find (compression is off, so every written byte is
	// there to be seen: the organization names are, as a control).
	s.Close()
	for _, name := range []string{migrateTmp, migrateOld} {
		if _, err := os.Stat(filepath.Join(dir, name)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s left behind", name)
		}
	}
	found := scanDir(t, dir, "initech")
	if len(found) == 0 {
		t.Fatal("the control string is not in the files: the scan sees nothing")
	}
	for _, n := range format1Numbers {
		if f := scanDir(t, dir, strings.TrimPrefix(n, "+")); len(f) > 0 {
			t.Errorf("%s is still in %v", n, f)
		}
	}
	if f := scanDir(t, dir, "STOP please"); len(f) > 0 {
		t.Errorf("an MO text is still in %v", f)
	}
}

// scanDir returns the files under dir whose bytes contain s.
func scanDir(t testing.TB, dir, s string) []string {
	t.Helper()
	var found []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.Contains(b, []byte(s)) {
			found = append(found, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

// A format-1 chain that does not verify is not migrated: the open fails
// naming the event, and the directory is left in format 1.
func TestMigrateRefusesABrokenChain(t *testing.T) {
	dir, _, _ := extractFormat1(t)
	db, err := badger.Open(badger.DefaultOptions(filepath.Join(dir, consentSubdir)).WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(txn *badger.Txn) error {
		item, err := txn.Get(eventKey(5))
		if err != nil {
			return err
		}
		v, _ := item.ValueCopy(nil)
		v[len(v)/2] ^= 0x01
		return txn.Set(eventKey(5), v)
	}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	_, err = OpenBadger(Options{Dir: dir})
	var ce *ChainError
	if !errors.As(err, &ce) || ce.Seq != 5 || !errors.Is(err, ErrBrokenChain) {
		t.Fatalf("opening a broken format-1 chain: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, migrateTmp)); !errors.Is(err, fs.ErrNotExist) {
		t.Fatal("a failed migration left its directory")
	}
	db, err = badger.Open(badger.DefaultOptions(filepath.Join(dir, consentSubdir)).WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(keyFormat)
		if err != nil {
			return err
		}
		return item.Value(func(v []byte) error {
			if !errors.Is(checkVersion(v), errOldFormat{from: 1}) {
				return fmt.Errorf("format %x after a refused migration", v)
			}
			return nil
		})
	}); err != nil {
		t.Fatal(err)
	}
}

const migrateCrashEnv = "OPTGUARD_STORE_MIGRATE_DIR"

// TestMigrateCrashChild opens (so migrates) the directory it is given and
// says when it is done; it runs only under TestMigrateCrash.
func TestMigrateCrashChild(t *testing.T) {
	dir := os.Getenv(migrateCrashEnv)
	if dir == "" {
		t.Skip("runs only as the migration crash test's child")
	}
	s, err := OpenBadger(Options{Dir: dir})
	if err != nil {
		fmt.Printf("open-error %v\n", err)
		os.Exit(2)
	}
	s.Close()
	fmt.Println("migrated")
	os.Exit(0)
}

// TestMigrateCrash SIGKILLs a migrating process at moments spread over the
// migration, then opens the directory: whatever the moment, the directory
// was format 1 (and migrates now) or format 2, and reads the same.
func TestMigrateCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("kills processes")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// How long a whole migration takes here, to spread the kills over it.
	dir, oldSeq, _ := extractFormat1(t)
	start := time.Now()
	if out, err := childMigrate(exe, dir, 0); err != nil || !strings.Contains(out, "migrated") {
		t.Fatalf("child: %v\n%s", err, out)
	}
	whole := time.Since(start)
	for round := 0; round < 12; round++ {
		dir, _, _ := extractFormat1(t)
		after := whole * time.Duration(round) / 10
		childMigrate(exe, dir, after)
		s, err := OpenBadger(Options{Dir: dir})
		if err != nil {
			var files []string
			filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
				if info, err := d.Info(); err == nil {
					files = append(files, fmt.Sprintf("%s %d", p, info.Size()))
				}
				return nil
			})
			t.Fatalf("round %d (kill after %v): %v\n%s", round, after, err, strings.Join(files, "\n"))
		}
		rep := mustVerify(t, s)
		if rep.Events != oldSeq+1 {
			t.Fatalf("round %d (kill after %v): %d events", round, after, rep.Events)
		}
		if got := s.State(OrgScope("acme", "+15559000000")); got != StateOptedOut {
			t.Fatalf("round %d (kill after %v): the opt-out reads %v", round, after, got)
		}
		if held, err := s.Held(ctx, OrgScope("initech", "+15559007777")); err != nil || len(held) != 2 {
			t.Fatalf("round %d: held = %d, %v", round, len(held), err)
		}
		mustAgree(t, s)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// childMigrate runs TestMigrateCrashChild on dir and, when kill is not
// zero, SIGKILLs it after that long.
func childMigrate(exe, dir string, kill time.Duration) (string, error) {
	cmd := exec.Command(exe, "-test.run", "^TestMigrateCrashChild$")
	cmd.Env = append(os.Environ(), migrateCrashEnv+"="+dir)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return "", err
	}
	if kill > 0 {
		timer := time.AfterFunc(kill, func() { cmd.Process.Signal(syscall.SIGKILL) })
		defer timer.Stop()
	}
	err := cmd.Wait()
	return out.String(), err
}

// The switch a crash interrupted after the new databases were complete is
// finished by the next open; an incomplete one is thrown away.
func TestFinishMigration(t *testing.T) {
	dir := t.TempDir()
	for _, sub := range []string{consentSubdir, logSubdir} {
		os.MkdirAll(filepath.Join(dir, sub), 0o700)
		os.WriteFile(filepath.Join(dir, sub, "old"), nil, 0o600)
		os.MkdirAll(filepath.Join(dir, migrateTmp, sub), 0o700)
		os.WriteFile(filepath.Join(dir, migrateTmp, sub, "new"), nil, 0o600)
	}
	// Incomplete: no READY.
	if done, err := finishMigration(dir); err != nil || done || fileExists(filepath.Join(dir, migrateTmp)) || !fileExists(filepath.Join(dir, consentSubdir, "old")) {
		t.Fatalf("incomplete migration: %v %v", done, err)
	}
	// Complete, and the consent database already moved in before a crash.
	os.MkdirAll(filepath.Join(dir, migrateTmp, logSubdir), 0o700)
	os.WriteFile(filepath.Join(dir, migrateTmp, logSubdir, "new"), nil, 0o600)
	os.WriteFile(filepath.Join(dir, migrateTmp, migrateReady), nil, 0o600)
	os.RemoveAll(filepath.Join(dir, consentSubdir))
	os.MkdirAll(filepath.Join(dir, consentSubdir), 0o700)
	os.WriteFile(filepath.Join(dir, consentSubdir, "new"), nil, 0o600)
	if done, err := finishMigration(dir); err != nil || !done {
		t.Fatalf("finishing: %v %v", done, err)
	}
	for _, sub := range []string{consentSubdir, logSubdir} {
		if !fileExists(filepath.Join(dir, sub, "new")) || fileExists(filepath.Join(dir, sub, "old")) {
			t.Errorf("%s is not the new database", sub)
		}
	}
	if fileExists(filepath.Join(dir, migrateTmp)) || fileExists(filepath.Join(dir, migrateOld)) {
		t.Error("migration directories left")
	}
}

// The previous format migrates at start; an older one only with -migrate,
// and only along migrations the build has.
func TestMigrationAllowed(t *testing.T) {
	if err := migrationAllowed(formatVersion-1, false); err != nil {
		t.Fatalf("the previous format: %v", err)
	}
	if err := migrationAllowed(0, true); !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "no migration from format 0") {
		t.Fatalf("format 0: %v", err)
	}
	later := map[uint32]bool{1: true, 2: true, 3: true} // a build of format 4
	if err := checkMigration(later, 4, 3, false); err != nil {
		t.Fatalf("one format behind: %v", err)
	}
	if err := checkMigration(later, 4, 1, false); !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "-migrate") {
		t.Fatalf("three formats behind without -migrate: %v", err)
	}
	if err := checkMigration(later, 4, 1, true); err != nil {
		t.Fatalf("three formats behind with -migrate: %v", err)
	}
}

// A backup of format 1 (testdata/format1.backup, made by the last build of
// format 1 from the directory of format1.tar.gz) restores into an empty
// directory and is migrated there: restore verifies the new chain, whose
// link names the old head.
func TestRestoreDirMigratesAFormat1Backup(t *testing.T) {
	src, oldSeq, oldHash := extractFormat1(t)
	f, err := os.Open("testdata/format1.backup")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dir := filepath.Join(t.TempDir(), "data")
	res, err := RestoreDir(ctx, dir, f, false, Options{KeyFile: filepath.Join(src, KeyFileName)})
	if err != nil {
		t.Fatal(err)
	}
	if res.Verify.Events != oldSeq+1 || res.Stats.FormatVersion != formatVersion {
		t.Fatalf("restore = %+v", res)
	}
	s := openT(t, Options{Dir: dir, KeyFile: filepath.Join(src, KeyFileName)})
	link, err := s.Event(ctx, oldSeq+1)
	if err != nil || link.Type != EventChainLinked || !strings.Contains(link.Note, oldHash) {
		t.Fatalf("link event = %+v, %v", link, err)
	}
	if st := s.State(OrgScope("acme", "+15559000000")); st != StateOptedOut {
		t.Fatalf("the restored opt-out reads %v", st)
	}
	// A backup of the current format still refuses a format-1 one when
	// restored into a running store.
	f.Seek(0, io.SeekStart)
	empty := openT(t, Options{Dir: t.TempDir(), KeyFile: filepath.Join(src, KeyFileName)})
	if err := empty.Restore(ctx, f); !errors.Is(err, ErrFormat) {
		t.Fatalf("Restore of a format-1 backup into a running store: %v", err)
	}
}
