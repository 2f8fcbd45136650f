package store

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/optguard/optguard/testenv"
)

// The disk-space tests put the data directory on a tmpfs of a few MiB that
// they fill (testenv.SmallFS, FillTo), so that free space is real.

// smallOptions are store options sized for a small filesystem: a 4 MiB
// reserve (so a 2 MiB floor) and a monitor that reads every 20 ms.
func smallOptions(dir string) Options {
	return Options{Dir: dir, MinFreeBytes: 4 << 20, DiskCheckInterval: 20 * time.Millisecond,
		MemTableSize: 1 << 20, ValueLogFileSize: 1 << 20, GCInterval: -1}
}

// TestOpenRefusedOnFullDisk: with less free space than the reserve,
// OpenBadger refuses with a *DiskFullError naming the directory, the free
// and the needed bytes, before badger writes anything.
func TestOpenRefusedOnFullDisk(t *testing.T) {
	fs := testenv.SmallFS(t, 16<<20)
	dir := filepath.Join(fs, "data")
	free := testenv.FillTo(t, fs, 3<<20)
	_, err := OpenBadger(smallOptions(dir))
	var de *DiskFullError
	if !errors.As(err, &de) || !errors.Is(err, ErrDiskFull) {
		t.Fatalf("OpenBadger with %d bytes free and a 4 MiB reserve: %v; want a *DiskFullError", free, err)
	}
	if de.Dir != dir || de.Needed < 4<<20 || de.Free > de.Needed || de.Free < free-free/10 {
		t.Fatalf("DiskFullError %+v; want dir %s, about %d free, at least 4 MiB needed", de, dir, free)
	}
	for _, want := range []string{dir, fmt.Sprintf("%d bytes", de.Free), fmt.Sprintf("%d bytes", de.Needed), "opening the store needs"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message %q does not say %q", err, want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, consentSubdir)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the refused open created %s (%v)", consentSubdir, err)
	}
	testenv.Unfill(t, fs)
	s := openT(t, smallOptions(dir))
	if err := s.Accepting(); err != nil {
		t.Fatalf("Accepting after space was freed: %v", err)
	}
}

// TestDiskLowAndFull: below the reserve the store refuses new durable work
// (Accepting), drops the message log and the id map, but still commits;
// below the floor it writes nothing; once space is back it takes work again
// by itself, and the ledger verifies.
func TestDiskLowAndFull(t *testing.T) {
	fs := testenv.SmallFS(t, 24<<20)
	c := newClock()
	opts := smallOptions(filepath.Join(fs, "data"))
	opts.Clock = c.Now
	s := openT(t, opts)
	sc := OrgScope("acme", num(1))
	mustApply(t, s, change(sc, EventConsentRequested, c.Now()))
	if d := s.DiskSpace(); !d.Known || d.Reserve != 4<<20 || d.Floor != 2<<20 || d.Low() {
		t.Fatalf("DiskSpace with room: %+v; want known, reserve 4 MiB, floor 2 MiB, not low", d)
	}

	testenv.FillTo(t, fs, 3<<20) // under the reserve, above the floor
	testenv.Eventually(t, 10*time.Second, func() bool { return errors.Is(s.Accepting(), ErrDiskFull) }, "Accepting fails below the reserve")
	err := s.Accepting()
	if d := s.DiskSpace(); !d.Low() || d.Full() || !strings.Contains(err.Error(), "of its reserve") || !strings.Contains(err.Error(), opts.Dir) {
		t.Fatalf("below the reserve: %+v, Accepting %v", d, err)
	}
	// Work already under way finishes: a commit still goes through.
	mustApply(t, s, change(sc, EventOptedIn, c.Now()))
	if err := s.MapMessageID(ctx, "ours-1", "smsc-1"); !errors.Is(err, ErrDiskFull) {
		t.Errorf("MapMessageID below the reserve: %v; want ErrDiskFull", err)
	}
	before := s.Gauges().LogDropped
	s.Log(Record{ID: "m1", Org: "acme", Number: num(1), Status: MsgSent})
	testenv.Eventually(t, 10*time.Second, func() bool { return s.Gauges().LogDropped > before }, "the message log drops below the reserve")

	testenv.FillTo(t, fs, 1<<20) // under the floor
	testenv.Eventually(t, 10*time.Second, func() bool { return s.DiskSpace().Full() }, "the store is full below the floor")
	if _, err := s.Apply(ctx, change(sc, EventOptedOut, c.Now())); !errors.Is(err, ErrDiskFull) {
		t.Fatalf("Apply below the floor: %v; want ErrDiskFull", err)
	}
	held := HeldMessage{ID: "h1", Scope: OrgScope("acme", num(2)), SystemID: "acme", PDU: pdu(1)}
	if _, err := s.Hold(ctx, held); !errors.Is(err, ErrDiskFull) {
		t.Fatalf("Hold below the floor: %v; want ErrDiskFull", err)
	}
	if _, err := s.Ack(ctx, "h0"); !errors.Is(err, ErrDiskFull) {
		t.Fatalf("Ack below the floor: %v; want ErrDiskFull", err)
	}
	if st := s.State(sc); st != StateOptedIn {
		t.Fatalf("state after the refused opt-out: %v; want opted_in", st)
	}

	testenv.Unfill(t, fs)
	testenv.Eventually(t, 10*time.Second, func() bool { return s.Accepting() == nil }, "Accepting again once space is back")
	mustApply(t, s, change(sc, EventOptedOut, c.Now()))
	if _, err := s.Hold(ctx, held); err != nil {
		t.Fatalf("Hold once space is back: %v", err)
	}
	if err := s.MapMessageID(ctx, "ours-1", "smsc-1"); err != nil {
		t.Fatalf("MapMessageID once space is back: %v", err)
	}
	if rep := mustVerify(t, s); rep.Events != 3 {
		t.Fatalf("ledger has %d events; want 3 (the refused one was never written)", rep.Events)
	}
	mustAgree(t, s)
}

const (
	fullCloseDirEnv = "OPTGUARD_STORE_FULLCLOSE_DIR"
	fullCloseFSEnv  = "OPTGUARD_STORE_FULLCLOSE_FS"
	fullCloseEvents = 50
)

// TestFullDiskCloseChild is the child of TestCloseOnFullDisk: it commits,
// lets the disk fill up to the last byte, and closes.
func TestFullDiskCloseChild(t *testing.T) {
	dir := os.Getenv(fullCloseDirEnv)
	if dir == "" {
		t.Skip("runs only as TestCloseOnFullDisk's child")
	}
	s, err := OpenBadger(smallOptions(dir))
	if err != nil {
		fmt.Printf("open-error %v\n", err)
		os.Exit(2)
	}
	for i := 0; i < fullCloseEvents; i++ {
		if _, err := s.Apply(ctx, change(OrgScope("acme", num(i)), EventOptedOut, time.Now())); err != nil {
			fmt.Printf("apply-error %v\n", err)
			os.Exit(2)
		}
	}
	testenv.FillTo(t, os.Getenv(fullCloseFSEnv), 0)
	time.Sleep(100 * time.Millisecond) // the monitor sees it
	if _, err := s.Apply(ctx, change(OrgScope("acme", num(0)), EventOptedIn, time.Now())); err != nil {
		fmt.Printf("refused %v\n", err)
	}
	fmt.Printf("close %v\n", s.Close())
	os.Exit(3)
}

// TestCloseOnFullDisk: a store whose disk fills to the last byte refuses
// further writes and closes with a *DiskFullError instead of letting badger
// fault writing its memtables out; nothing committed is lost: a read-only
// open says the logs need replaying, and once space is back a read-write
// open has every event.
func TestCloseOnFullDisk(t *testing.T) {
	fs := testenv.SmallFS(t, 24<<20)
	dir := filepath.Join(fs, "data")
	cmd := exec.Command(os.Args[0], "-test.run=^TestFullDiskCloseChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), fullCloseDirEnv+"="+dir, fullCloseFSEnv+"="+fs)
	done := make(chan struct{})
	var out []byte
	var err error
	go func() { out, err = cmd.CombinedOutput(); close(done) }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("the child did not finish in 60 s:\n%s", out)
	}
	text := string(out)
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 || strings.Contains(text, "fatal error") || strings.Contains(text, "SIGBUS") {
		t.Fatalf("child: %v; want exit 3 and no fault:\n%s", err, text)
	}
	if !strings.Contains(text, "refused store: disk full: "+dir) {
		t.Errorf("the write on a full disk was not refused with the disk-full error:\n%s", text)
	}
	if !strings.Contains(text, "close store: disk full: "+dir) || !strings.Contains(text, "writing out the memtables at close needs") {
		t.Fatalf("Close on a full disk did not say why it left the databases:\n%s", text)
	}
	ro := smallOptions(dir)
	ro.ReadOnly = true
	if _, err := OpenBadger(ro); !errors.Is(err, ErrNeedsRecovery) {
		t.Fatalf("read-only open after the refused close: %v; want ErrNeedsRecovery", err)
	}
	if _, err := OpenBadger(smallOptions(dir)); !errors.Is(err, ErrDiskFull) {
		t.Fatalf("read-write open on the full disk: %v; want ErrDiskFull", err)
	}
	testenv.Unfill(t, fs)
	s := openT(t, smallOptions(dir))
	if rep := mustVerify(t, s); rep.Events != fullCloseEvents {
		t.Fatalf("ledger after reopening has %d events; want the %d committed", rep.Events, fullCloseEvents)
	}
	mustAgree(t, s)
}

// TestReadOnlyOnFullDisk: a store closed cleanly opens read-only on a disk
// with no byte free: verify, index check, stats and backup work, and every
// write fails with ErrReadOnly.
func TestReadOnlyOnFullDisk(t *testing.T) {
	fs := testenv.SmallFS(t, 24<<20)
	dir := filepath.Join(fs, "data")
	s, err := OpenBadger(smallOptions(dir))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		mustApply(t, s, change(OrgScope("acme", num(i)), EventOptedOut, time.Now()))
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	testenv.FillTo(t, fs, 0)
	opts := smallOptions(dir)
	opts.ReadOnly = true
	r := openT(t, opts)
	if rep := mustVerify(t, r); rep.Events != 20 {
		t.Fatalf("read-only verify: %d events; want 20", rep.Events)
	}
	mustAgree(t, r)
	if st, err := r.Stats(ctx); err != nil || st.Consents != 20 {
		t.Fatalf("read-only stats: %+v %v", st, err)
	}
	var sink strings.Builder
	if err := r.Backup(ctx, &sink); err != nil || sink.Len() == 0 {
		t.Fatalf("read-only backup: %d bytes, %v", sink.Len(), err)
	}
	if _, err := r.Apply(ctx, change(OrgScope("acme", num(1)), EventOptedIn, time.Now())); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("Apply on a read-only store: %v; want ErrReadOnly", err)
	}
	if _, err := r.Hold(ctx, HeldMessage{ID: "h1", Scope: OrgScope("acme", num(99)), SystemID: "acme", PDU: pdu(1)}); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("Hold on a read-only store: %v; want ErrReadOnly", err)
	}
	if _, err := r.Rebuild(ctx); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("Rebuild on a read-only store: %v; want ErrReadOnly", err)
	}
}
