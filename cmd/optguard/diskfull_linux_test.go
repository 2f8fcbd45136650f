package main

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/optguard/optguard/smpp/pdu"
	"github.com/optguard/optguard/store"
	"github.com/optguard/optguard/testenv"
)

// A full disk end to end: the data directory on a small tmpfs that the
// tests fill with a file, so that the free space is the kernel's. Mounting
// needs root (or CAP_SYS_ADMIN); elsewhere these tests skip and say so.

// diskOrg is consentOrg with a 16 MiB reserve, for a 64 MiB filesystem.
const diskOrg = consentOrg + `
store:
  min_free_bytes: 16MiB
`

const guest2 = "15551230002" // a handset that consented before the disk filled

// TestServeRefusedOnFullDisk: optguard does not start on a data directory
// with less free space than the reserve, and says where, how much is free
// and how much it needs.
func TestServeRefusedOnFullDisk(t *testing.T) {
	fs := testenv.SmallFS(t, 64<<20)
	dir := filepath.Join(fs, "data")
	sim := recordingSMSC(t)
	cfg := consentConfig(t, sim, diskOrg, dir)
	free := testenv.FillTo(t, fs, 8<<20)
	p, err := startWithOptions(cfg, newLogger(&syncBuffer{}, cfg.Log), startOptions{})
	if err == nil {
		p.stop()
		t.Fatalf("optguard started with %d bytes free and a 16 MiB reserve", free)
	}
	var de *store.DiskFullError
	if !errors.As(err, &de) {
		t.Fatalf("start: %v; want a disk-full error", err)
	}
	for _, want := range []string{
		"opening the store in data.dir " + dir,
		"store: disk full: " + dir + " has " + fmt.Sprint(de.Free) + " bytes",
		fmt.Sprintf("less than the %d bytes", de.Needed),
		"lower store.min_free_bytes (16MiB)",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("start error %q does not say %q", err, want)
		}
	}
	if de.Needed < 16<<20 || de.Free > free+free/10 || de.Free < free-free/10 {
		t.Errorf("needed %d, free %d; want at least 16 MiB needed and about %d free", de.Needed, de.Free, free)
	}
}

// TestDiskFullDegradesAndRecovers: with the disk below the reserve a running
// optguard keeps relaying what needs no write, answers an MO STOP with
// ESME_RX_T_APPN and a first MT (to hold) with ESME_RMSGQFUL, and says why
// on /healthz and /metrics. Once space is back it resumes by itself: the
// SMSC sends the STOP again, gets ESME_ROK, and the store has the opt-out.
func TestDiskFullDegradesAndRecovers(t *testing.T) {
	fs := testenv.SmallFS(t, 64<<20)
	dir := filepath.Join(fs, "data")
	sim := recordingSMSC(t)
	cfg := consentConfig(t, sim, diskOrg, dir)
	cfg.Admin.Address = "127.0.0.1:0"
	c := startWith(t, sim, cfg)
	admin := "http://" + c.p.admin.ln.Addr().String()
	e := c.esme("acme", pdu.BindTransceiver)
	if st, err := sim.SendMO(c.ctx, "acme", testenv.MO{From: guest2, To: employee, Text: "YES"}); err != nil || st[len(st)-1] != pdu.ESME_ROK {
		t.Fatalf("YES from %s with room on the disk: %v %v", guest2, st, err)
	}
	testenv.Eventually(t, 5*time.Second, func() bool {
		return c.p.store.State(store.OrgScope("acme", "+"+guest2)) == store.StateOptedIn
	}, "the opt-in is recorded")
	if body := get(t, admin+"/healthz", 200); body != "ok\n" {
		t.Fatalf("/healthz with room: %q", body)
	}

	testenv.FillTo(t, fs, 12<<20) // under the 16 MiB reserve, above its 8 MiB floor
	testenv.Eventually(t, 5*time.Second, func() bool { return c.p.store.Accepting() != nil }, "the store sees the disk below its reserve")

	if st := c.mo("acme", "STOP"); st != pdu.ESME_RX_T_APPN {
		t.Fatalf("STOP on a full disk answered %v; want ESME_RX_T_APPN so that the SMSC sends it again", st)
	}
	scope := store.OrgScope("acme", "+"+guest)
	if st := c.p.store.State(scope); st != store.StateUnknown {
		t.Fatalf("the refused STOP left the handset %v", st)
	}
	if r := submit(t, c.ctx, e, "first contact on a full disk", 0); r.Header.Status != pdu.ESME_RMSGQFUL {
		t.Fatalf("an MT to hold on a full disk answered %v; want ESME_RMSGQFUL", r.Header.Status)
	}
	if held, err := c.p.store.Held(c.ctx, scope); err != nil || len(held) != 0 {
		t.Fatalf("held on a full disk: %d %v; want none", len(held), err)
	}
	mt := mtOf("to the consenting handset", 0)
	mt.Dest.Addr = guest2
	if r := submitTo(t, c.ctx, e, mt); r.Header.Status != pdu.ESME_ROK {
		t.Fatalf("an MT that needs no write answered %v on a full disk; want it relayed", r.Header.Status)
	}
	c.waitSubmit("the MT to the consenting handset", textHas("to the consenting handset"))
	body := get(t, admin+"/healthz", 200)
	if !strings.HasPrefix(body, "degraded: store: disk full: "+dir+" has ") || !strings.Contains(body, "of its reserve") {
		t.Fatalf("/healthz on a full disk: %q", body)
	}
	metrics := get(t, admin+"/metrics", 200)
	for _, want := range []string{
		`optguard_store_degraded{reason="disk_full"} 1`,
		"optguard_store_disk_reserve_bytes 1.6777216e+07",
		"optguard_store_disk_free_bytes ",
		`optguard_policy_events_total{event="disk_full"} 2`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics on a full disk lacks %s", want)
		}
	}

	testenv.Unfill(t, fs)
	testenv.Eventually(t, 5*time.Second, func() bool { return c.p.store.Accepting() == nil }, "the store takes work again once space is back")
	if st := c.mo("acme", "STOP"); st != pdu.ESME_ROK {
		t.Fatalf("the STOP sent again once space is back answered %v; want ESME_ROK", st)
	}
	if st := c.p.store.State(scope); st != store.StateOptedOut {
		t.Fatalf("after the STOP was sent again the handset is %v; want opted_out", st)
	}
	c.checkLedger(scope, store.EventOptedOut, store.EventConfirmationSent, store.EventNoticeSent)
	if r := submit(t, c.ctx, e, "after the opt-out", 0); r.Header.Status != pdu.ESME_RX_P_APPN {
		t.Fatalf("an MT after the opt-out answered %v; want the refusal ESME_RX_P_APPN", r.Header.Status)
	}
	if body := get(t, admin+"/healthz", 200); body != "ok\n" {
		t.Fatalf("/healthz once space is back: %q", body)
	}
	if m := get(t, admin+"/metrics", 200); !strings.Contains(m, `optguard_store_degraded{reason="disk_full"} 0`) {
		t.Error(`/metrics once space is back lacks optguard_store_degraded{reason="disk_full"} 0`)
	}
}

// TestFullDiskShutdownAndVerify runs optguard serve as a process on a
// filesystem that fills to the last byte after an opt-out: SIGTERM ends
// with exit 1 and a message instead of a fault, `store verify` on the full
// disk says it needs space, a restart is refused with the reason, and once
// space is back verify finds the opt-out; a store closed cleanly verifies
// read-only on a full disk.
func TestFullDiskShutdownAndVerify(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	fs := testenv.SmallFS(t, 64<<20)
	dataDir := filepath.Join(fs, "data")
	bin := buildOptguard(t)
	sim := recordingSMSC(t)
	cfgPath := filepath.Join(t.TempDir(), "optguard.yaml")
	writeFile(t, cfgPath, orgFile(sim.Addr(), dataDir, "consent", "store:\n  min_free_bytes: 16MiB\n"))
	ctx := testenv.Context(t, 60*time.Second)

	p := startServeProc(t, bin, "-config", cfgPath)
	bindESME(t, ctx, sim, p.addr, "acme", pdu.BindTransceiver)
	if st := moFrom(t, ctx, sim, guest, "STOP"); st != pdu.ESME_ROK {
		t.Fatalf("STOP: %v", st)
	}
	// A second STOP is answered only once the first one's proof events
	// (confirmation, notice) are written; it sends nothing itself. The
	// pause lets the message log and id map writers (100 ms batches) finish
	// too: filling the disk under a write in progress is the race no
	// reserve can win, and not what this test is about.
	if st := moFrom(t, ctx, sim, guest, "STOP"); st != pdu.ESME_ROK {
		t.Fatalf("second STOP: %v", st)
	}
	time.Sleep(time.Second)
	testenv.FillTo(t, fs, 0)
	err := p.signal(syscall.SIGTERM, true)
	out := p.out.String()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || faulted(out) {
		t.Fatalf("SIGTERM on a full disk: %v; want exit 1 and no fault:\n%s", err, out)
	}
	if !strings.Contains(out, "closing the store") || !strings.Contains(out, "writing out the memtables at close needs") || !strings.Contains(out, dataDir) {
		t.Fatalf("the shutdown on a full disk did not say what happened:\n%s", out)
	}

	code, text := runBin(t, bin, "store", "verify", "-data", dataDir)
	t.Logf("store verify on the full disk: exit %d\n%s", code, text)
	if code != 1 || faulted(text) || !strings.Contains(text, "not closed cleanly") || !strings.Contains(text, "store: disk full: "+dataDir) || !strings.Contains(text, "free space there") {
		t.Fatalf("store verify on the full disk after the unclean stop: exit %d\n%s", code, text)
	}
	code, text = runBin(t, bin, "serve", "-config", cfgPath)
	t.Logf("serve on the full disk: exit %d\n%s", code, text)
	if code != 1 || faulted(text) || !strings.Contains(text, "store: disk full: "+dataDir+" has ") || !strings.Contains(text, "lower store.min_free_bytes") {
		t.Fatalf("serve on the full disk: exit %d\n%s", code, text)
	}

	testenv.Unfill(t, fs)
	code, text = runBin(t, bin, "store", "verify", "-data", dataDir)
	if code != 0 || !strings.Contains(text, "ledger ok: 4 events") || !strings.Contains(text, "agree") {
		t.Fatalf("store verify once space is back: exit %d; want both opt-outs, the confirmation and the notice\n%s", code, text)
	}
	code, text = runBin(t, bin, "store", "stats", "-data", dataDir)
	if code != 0 || !strings.Contains(text, "opted_out        1") {
		t.Fatalf("store stats once space is back: exit %d\n%s", code, text)
	}
	testenv.FillTo(t, fs, 0) // closed cleanly by verify: read-only needs no byte
	code, text = runBin(t, bin, "store", "verify", "-data", dataDir)
	if code != 0 || !strings.Contains(text, "ledger ok: 4 events") || strings.Contains(text, "not closed cleanly") {
		t.Fatalf("store verify on a full disk after a clean close: exit %d\n%s", code, text)
	}
}

// runBin runs bin with args for at most 30 s and returns its exit code and
// everything it wrote.
func runBin(t *testing.T, bin string, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, string(out)
	case errors.As(err, &ee) && ctx.Err() == nil:
		return ee.ExitCode(), string(out)
	}
	t.Fatalf("%s %v: %v\n%s", bin, args, err, out)
	return 0, ""
}

// faulted reports whether a process's output shows a Go fatal error.
func faulted(out string) bool {
	return strings.Contains(out, "fatal error") || strings.Contains(out, "SIGBUS") || strings.Contains(out, "goroutine ")
}
