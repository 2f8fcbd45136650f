package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/optguard/optguard/smpp/pdu"
	"github.com/optguard/optguard/store"
	"github.com/optguard/optguard/testenv"
)

// Crash, restart, expiry, outbox and reload: what must survive a kill -9,
// what time does to held messages, what waits for a bind, and what SIGHUP
// changes on a running process. The process tests run the real binary
// (`optguard serve -config FILE`) in front of a recording simulator that
// lives in the test, so that every assertion is on what crossed the wire.

const handsetB = "15551230002" // a second handset, one that writes first

// serveProc is `optguard serve` running as a process.
type serveProc struct {
	t      *testing.T
	cmd    *exec.Cmd
	out    *syncBuffer // stdout and stderr: JSON log lines
	addr   string      // its SMPP listener
	exited chan struct{}
	err    error // Wait's result, once exited is closed
}

// startServeProc runs bin serve with args and waits for its listener.
func startServeProc(t *testing.T, bin string, args ...string) *serveProc {
	t.Helper()
	p := &serveProc{t: t, out: &syncBuffer{}, exited: make(chan struct{})}
	p.cmd = exec.Command(bin, append([]string{"serve"}, args...)...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			p.cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() {
			t.Logf("optguard serve (pid %d) log:\n%s", p.cmd.Process.Pid, p.out.String())
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rec := p.waitLog(ctx, func(r logLine) bool { return r.Message == "accepting ESME connections" })
	p.addr = rec.Address
	return p
}

// logLine is the part of a JSON log line the tests read.
type logLine struct {
	Level, Message, Error, Address string
	Organization, Mode             string
	raw                            string
}

// logLines parses what the process logged so far; lines that are not JSON
// are kept with only raw set.
func (p *serveProc) logLines() []logLine {
	var out []logLine
	for _, s := range strings.Split(p.out.String(), "\n") {
		if s == "" {
			continue
		}
		var r logLine
		_ = json.Unmarshal([]byte(s), &r)
		r.raw = s
		out = append(out, r)
	}
	return out
}

// waitLog waits for the first log line match accepts.
func (p *serveProc) waitLog(ctx context.Context, match func(logLine) bool) logLine {
	p.t.Helper()
	for {
		for _, r := range p.logLines() {
			if match(r) {
				return r
			}
		}
		select {
		case <-ctx.Done():
			p.t.Fatalf("optguard serve never logged the line awaited: %v", ctx.Err())
		case <-p.exited:
			p.t.Fatalf("optguard serve exited (%v) before logging the line awaited", p.err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// signal sends sig and, when wait, waits for the process to exit.
func (p *serveProc) signal(sig syscall.Signal, wait bool) error {
	p.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatal(err)
	}
	if !wait {
		return nil
	}
	select {
	case <-p.exited:
		return p.err
	case <-time.After(20 * time.Second):
		p.t.Fatalf("optguard serve did not exit within 20 s of %v", sig)
	}
	return nil
}

// orgFile is a configuration file for the process tests: optguard in front
// of simAddr with its data in dataDir, and the acme organization of
// consentOrg in mode, plus extra lines under it.
func orgFile(simAddr, dataDir, mode, extra string) string {
	return fmt.Sprintf(`listen:
  address: 127.0.0.1:0
admin:
  address: ""
data:
  dir: %q
upstream:
  default:
    address: %q
log:
  format: json
  level: info
organizations:
  - name: acme
    display_name: ACME Bank
    system_ids: [acme]
    mode: %s
    help_contact: help@acme.example
    sender_names:
      "15550009999": Aaron Almaraz
%s`, dataDir, simAddr, mode, extra)
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

// recordingSMSC starts a simulator that keeps what crosses it.
func recordingSMSC(t *testing.T) *testenv.SMSC {
	t.Helper()
	sim, err := testenv.StartSMSC(testenv.SMSCConfig{Record: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	return sim
}

// bindESME binds systemID to optguard at addr and waits until the SMSC has
// the upstream bind.
func bindESME(t *testing.T, ctx context.Context, sim *testenv.SMSC, addr, systemID string, bind pdu.CommandID) *testenv.ESME {
	t.Helper()
	before := len(sim.Sessions())
	e := dialBound(t, ctx, addr, systemID, bind)
	if err := sim.WaitSessions(ctx, before+1); err != nil {
		t.Fatal(err)
	}
	return e
}

// dialBound dials addr and binds systemID (password "pw"); the ESME closes
// when the test ends.
func dialBound(t *testing.T, ctx context.Context, addr, systemID string, bind pdu.CommandID) *testenv.ESME {
	t.Helper()
	e, err := testenv.DialESME(ctx, addr, testenv.ESMEConfig{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	if st, err := e.Bind(ctx, bind, systemID, "pw"); err != nil || st != pdu.ESME_ROK {
		t.Fatalf("bind %s: %v %v", systemID, st, err)
	}
	return e
}

// heldMT is the submit_sm of mtOf, to handset dest.
func heldMT(dest, text string, receipt byte) *pdu.SM {
	m := mtOf(text, receipt)
	m.Dest.Addr = dest
	return m
}

func submitTo(t *testing.T, ctx context.Context, e *testenv.ESME, m *pdu.SM) testenv.Resp {
	t.Helper()
	r, err := e.Submit(ctx, m)
	if err != nil {
		t.Fatalf("submit %q: %v", m.ShortMessage, err)
	}
	return r
}

// moFrom sends an MO from handset to the employee and returns the status
// of its deliver_sm_resp.
func moFrom(t *testing.T, ctx context.Context, sim *testenv.SMSC, handset, text string) pdu.Status {
	t.Helper()
	st, err := sim.SendMO(ctx, "acme", testenv.MO{From: handset, To: employee, Text: text})
	if err != nil || len(st) == 0 {
		t.Fatalf("MO %q from %s: %v %v", text, handset, st, err)
	}
	return st[len(st)-1]
}

func isHeldID(r testenv.Resp) bool {
	if r.Header.Status != pdu.ESME_ROK || len(r.MessageID) != 16 {
		return false
	}
	for _, c := range r.MessageID {
		if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
			return false
		}
	}
	return true
}

// deliveredMO finds the deliver_sm the SMSC sent whose text is text.
func deliveredMO(sim *testenv.SMSC, text string) []byte {
	for _, r := range sim.Received() {
		var m pdu.Message
		if r.Dir == testenv.Out && r.Header.ID == pdu.DeliverSM && pdu.Scan(r.Raw, &m) == nil && decode(&m) == text {
			return r.Raw
		}
	}
	return nil
}

// delivers reads the ESME's next n deliver_sm.
func delivers(t *testing.T, ctx context.Context, e *testenv.ESME, n int) (raws [][]byte, ms []*pdu.Message) {
	t.Helper()
	for range n {
		raw, m := nextDeliver(t, ctx, e)
		raws, ms = append(raws, raw), append(ms, m)
	}
	return raws, ms
}

// TestKill9KeepsHeldMessages: optguard holds two MTs to handset A and an MO
// from handset B, is killed with SIGKILL, and starts again on the same data
// directory. After the ESME binds again, A's YES sends both MTs to the SMSC
// in order and byte for byte, B's YES delivers B's MO to the ESME, and
// `optguard store verify` passes on what is left.
func TestKill9KeepsHeldMessages(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin, sim, dataDir, cfgPath, c := procSetup(t, "consent")
	ctx := c.ctx

	p := startServeProc(t, bin, "-config", cfgPath)
	e := bindESME(t, ctx, sim, p.addr, "acme", pdu.BindTransceiver)
	mts := []*pdu.SM{heldMT(guest, "held one", 1), heldMT(guest, "held two", 0)}
	var ids []string
	for _, m := range mts {
		r := submitTo(t, ctx, e, m)
		if !isHeldID(r) {
			t.Fatalf("MT %q answered %v %q; want ESME_ROK and a held id", m.ShortMessage, r.Header.Status, r.MessageID)
		}
		ids = append(ids, r.MessageID)
	}
	if ids[0] == ids[1] {
		t.Fatalf("both held MTs got id %s", ids[0])
	}
	c.waitSubmit("A's consent request", textHas("Aaron Almaraz is trying to reach you"))
	if st := moFrom(t, ctx, sim, handsetB, "is my card blocked?"); st != pdu.ESME_ROK {
		t.Fatalf("B's first MO answered %v", st)
	}
	c.waitSubmit("B's consent request", textHas("You are trying to reach Aaron Almaraz"))
	// The ESME hears of both contacts, and of nothing else: B's MO is held.
	_, ms := delivers(t, ctx, e, 2)
	for _, m := range ms {
		if noticeOf(m) != "requested" {
			t.Fatalf("deliver_sm %q notice %q before consent; want only requested notices", decode(m), noticeOf(m))
		}
	}
	heldMO := deliveredMO(sim, "is my card blocked?")
	if heldMO == nil {
		t.Fatal("the simulator has no record of B's MO")
	}

	if err := p.signal(syscall.SIGKILL, true); err == nil {
		t.Fatal("optguard serve exited 0 after SIGKILL")
	}
	<-e.Done()
	for _, r := range e.Received() {
		var m pdu.Message
		if r.Header.ID == pdu.DeliverSM && pdu.Scan(r.Raw, &m) == nil && decode(&m) == "is my card blocked?" {
			t.Fatal("B's MO reached the ESME before B consented")
		}
	}
	for _, part := range []string{"held one", "held two"} {
		if n := len(c.submits(textHas(part))); n != 0 {
			t.Fatalf("%q reached the SMSC before consent", part)
		}
	}
	waitUnbound(t, sim)

	p = startServeProc(t, bin, "-config", cfgPath)
	e = bindESME(t, ctx, sim, p.addr, "acme", pdu.BindTransceiver)
	if st := moFrom(t, ctx, sim, guest, "YES"); st != pdu.ESME_ROK {
		t.Fatalf("A's YES answered %v", st)
	}
	c.waitSubmit("the second released MT", textHas("held two"))
	released := c.submits(textHas("held "))
	if len(released) != 2 {
		t.Fatalf("the SMSC got %d held MTs; want each of the two once", len(released))
	}
	for i, m := range mts {
		want, err := pdu.AppendSubmitSM(nil, 0, m)
		if err != nil {
			t.Fatal(err)
		}
		if !sameButSeq(released[i].Raw, want) {
			t.Errorf("released MT %d:\n got % x\nwant % x", i, released[i].Raw, want)
		}
	}
	c.waitSubmit("A's confirmation", textHas("opt in confirmed"))
	// A's YES and accepted notice reach the ESME, in some order.
	_, ms = delivers(t, ctx, e, 2)
	for _, m := range ms {
		if string(m.Source.Addr) != guest || (decode(m) != "YES" && noticeOf(m) != "accepted") {
			t.Fatalf("after A's YES the ESME got %q from %s (notice %q)", decode(m), m.Source.Addr, noticeOf(m))
		}
	}

	// The receipt of a released MT carries the id given before the crash.
	if _, err := sim.SendReceipt(ctx, "acme", testenv.ReceiptSpec{MessageID: c.smscIDOf(released[1]), From: guest, To: employee}); err != nil {
		t.Fatal(err)
	}
	if _, m := nextDeliver(t, ctx, e); !m.IsReceipt() {
		t.Fatalf("want the receipt of the second released MT, got %q", decode(m))
	} else if id, _ := pdu.ReceiptID(m); string(id) != ids[1] {
		t.Fatalf("receipt carries id %q; want the id the ESME was given before the crash, %q", id, ids[1])
	}

	if st := moFrom(t, ctx, sim, handsetB, "yes"); st != pdu.ESME_ROK {
		t.Fatalf("B's YES answered %v", st)
	}
	raws, ms := delivers(t, ctx, e, 3)
	var gotMO, gotYES, accepted bool
	for i, m := range ms {
		switch {
		case string(m.Source.Addr) != handsetB:
			t.Errorf("deliver_sm from %s after B's YES", m.Source.Addr)
		case noticeOf(m) == "accepted":
			accepted = true
		case decode(m) == "yes":
			gotYES = true
		case decode(m) == "is my card blocked?":
			gotMO = true
			if !sameButSeq(raws[i], heldMO) {
				t.Errorf("B's held MO changed:\n got % x\nwant % x", raws[i], heldMO)
			}
		default:
			t.Errorf("unexpected deliver_sm %q notice %q", decode(m), noticeOf(m))
		}
	}
	if !gotMO || !gotYES || !accepted {
		var got []string
		for _, m := range ms {
			got = append(got, fmt.Sprintf("%q from %s (notice %q)", decode(m), m.Source.Addr, noticeOf(m)))
		}
		t.Fatalf("after B's YES: held MO %v, YES %v, accepted notice %v; the ESME got %s", gotMO, gotYES, accepted, strings.Join(got, ", "))
	}

	if err := p.signal(syscall.SIGTERM, true); err != nil {
		t.Fatalf("optguard serve exited with %v after SIGTERM; want 0", err)
	}
	out, err := exec.Command(bin, "store", "verify", "-data", dataDir).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "ledger ok") {
		t.Fatalf("optguard store verify: %v\n%s", err, out)
	}
}

// waitUnbound waits until the SMSC has no bind of a killed optguard left.
func waitUnbound(t *testing.T, sim *testenv.SMSC) {
	t.Helper()
	testenv.Eventually(t, 10*time.Second, func() bool {
		for _, s := range sim.Sessions() {
			if s.Bound {
				return false
			}
		}
		return true
	}, "the SMSC still has binds of the killed optguard")
}

// procSetup is what the process tests share: the optguard binary, a
// recording simulator, a data directory, a config file for an organization
// in mode, and an environment for the harness's helpers (its p is unset:
// the proxy runs as a separate process).
func procSetup(t *testing.T, mode string) (bin string, sim *testenv.SMSC, dataDir, cfgPath string, c *consentEnv) {
	t.Helper()
	bin = buildOptguard(t)
	sim = recordingSMSC(t)
	dataDir = filepath.Join(t.TempDir(), "data")
	cfgPath = filepath.Join(t.TempDir(), "optguard.yaml")
	writeFile(t, cfgPath, orgFile(sim.Addr(), dataDir, mode, ""))
	return bin, sim, dataDir, cfgPath, &consentEnv{t: t, ctx: testenv.Context(t, 40*time.Second), sim: sim}
}

// startClocked is startConsent with the store and the policy on clock.
func startClocked(t *testing.T, orgYAML string, clock func() time.Time) *consentEnv {
	t.Helper()
	sim := recordingSMSC(t)
	return startWith(t, sim, consentConfig(t, sim, orgYAML, t.TempDir()), startOptions{clock: clock})
}

const expiringOrg = consentOrg + `    hold:
      expiry: 1m
policy:
  expiry_scan_interval: 1s
`

// TestHeldMTExpires: a held MT that outlives hold.expiry is given up: the
// ESME gets an EXPIRED receipt with the id it was given when it asked for
// one (and nothing when it did not), the SMSC never gets the MT, and a
// later YES releases nothing.
func TestHeldMTExpires(t *testing.T) {
	var ahead atomic.Int64
	c := startClocked(t, expiringOrg, func() time.Time { return time.Now().Add(time.Duration(ahead.Load())) })
	e := c.esme("acme", pdu.BindTransceiver)
	loud := submit(t, c.ctx, e, "expiring with a receipt", 1)
	quiet := submit(t, c.ctx, e, "expiring quietly", 0)
	if !isHeldID(loud) || !isHeldID(quiet) {
		t.Fatalf("held MTs answered %v %q and %v %q", loud.Header.Status, loud.MessageID, quiet.Header.Status, quiet.MessageID)
	}
	if _, m := nextDeliver(t, c.ctx, e); noticeOf(m) != "requested" {
		t.Fatalf("want the requested notice, got %q", decode(m))
	}
	scope := store.OrgScope("acme", "+"+guest)
	if held, err := c.p.store.Held(c.ctx, scope); err != nil || len(held) != 2 {
		t.Fatalf("held before expiry: %d %v; want 2", len(held), err)
	}

	ahead.Store(int64(61 * time.Second))
	_, m := nextDeliver(t, c.ctx, e)
	if !m.IsReceipt() {
		t.Fatalf("after expiry the ESME got %q; want a receipt", decode(m))
	}
	id, _ := pdu.ReceiptID(m)
	stat, _, _ := pdu.ReceiptField(m.ShortMessage, "stat")
	state, _ := m.TLVs.Find(pdu.TagMessageState)
	if string(id) != loud.MessageID || string(stat) != "EXPIRED" || len(state) != 1 || state[0] != 3 {
		t.Fatalf("receipt id %q stat %q message_state % x; want %q EXPIRED 03", id, stat, state, loud.MessageID)
	}
	testenv.Eventually(t, 5*time.Second, func() bool {
		held, herr := c.p.store.Held(c.ctx, scope)
		out, oerr := c.p.store.Outbox(c.ctx, 10)
		return herr == nil && oerr == nil && len(held) == 0 && len(out) == 0
	}, "both expired MTs settled")
	short, cancel := context.WithTimeout(c.ctx, 300*time.Millisecond)
	defer cancel()
	if p, err := e.NextDeliver(short); err == nil {
		var m pdu.Message
		pdu.Scan(p, &m)
		t.Fatalf("a second deliver_sm after expiry: %q; the MT without registered_delivery expires silently", decode(&m))
	}

	c.mo("acme", "YES")
	c.waitSubmit("the opt-in confirmation", textHas("opt in confirmed"))
	time.Sleep(200 * time.Millisecond)
	if n := len(c.submits(textHas("expiring"))); n != 0 {
		t.Fatalf("an expired MT reached the SMSC %d times", n)
	}
}

// TestOutboxWaitsForTransmitter: an ESME bound only as a receiver cannot
// carry the consent request a first MO calls for; it waits in the outbox
// and goes to the SMSC as soon as a transmitter of the account binds.
func TestOutboxWaitsForTransmitter(t *testing.T) {
	c := startConsent(t, consentOrg)
	rx := c.esme("acme", pdu.BindReceiver)
	if st := c.mo("acme", "hello, who is this?"); st != pdu.ESME_ROK {
		t.Fatalf("first MO answered %v", st)
	}
	if _, m := nextDeliver(t, c.ctx, rx); noticeOf(m) != "requested" || !strings.Contains(decode(m), "A contact has attempted") {
		t.Fatalf("first deliver_sm: %q notice %q; want the requested notice", decode(m), noticeOf(m))
	}
	testenv.Eventually(t, 5*time.Second, func() bool {
		out, err := c.p.store.Outbox(c.ctx, 10)
		if err != nil || len(out) == 0 {
			return false
		}
		for _, h := range out {
			if h.Disposition != store.DispositionOutgoing || pdu.ID(h.PDU) != pdu.SubmitSM {
				return false
			}
		}
		return true
	}, "the consent request (its parts) waits in the outbox")
	if n := len(c.submits(func(*pdu.Message) bool { return true })); n != 0 {
		t.Fatalf("the SMSC got %d submit_sm with only a receiver bound", n)
	}

	c.esme("acme", pdu.BindTransmitter)
	req := c.waitSubmit("the queued consent request", textHas("You are trying to reach Aaron Almaraz"))
	var rm pdu.Message
	if err := pdu.Scan(req.Raw, &rm); err != nil {
		t.Fatal(err)
	}
	if string(rm.Source.Addr) != employee || string(rm.Dest.Addr) != guest {
		t.Errorf("consent request from %s to %s; want from the employee's line to the handset", rm.Source.Addr, rm.Dest.Addr)
	}
	for _, s := range c.sim.Sessions() {
		if s.ID == req.Session && s.Bind != pdu.BindTransmitter {
			t.Errorf("the consent request went on a %v bind; want the new transmitter", s.Bind)
		}
	}
	testenv.Eventually(t, 5*time.Second, func() bool {
		out, err := c.p.store.Outbox(c.ctx, 10)
		return err == nil && len(out) == 0
	}, "the outbox is empty once the request went")
	if n := len(c.submits(textHas("You are trying to reach"))); n != 1 {
		t.Fatalf("the consent request went %d times; want once", n)
	}

	// The handset's YES on the receiver delivers its held MO there.
	c.mo("acme", "YES")
	var gotMO bool
	for range 3 {
		_, m := nextDeliver(t, c.ctx, rx)
		gotMO = gotMO || decode(m) == "hello, who is this?"
	}
	if !gotMO {
		t.Fatal("the held MO did not reach the receiver after YES")
	}
	c.waitSubmit("the confirmation, on the transmitter", textHas("opt in confirmed"))
}

// TestSIGHUPReload: SIGHUP switches a running optguard from off to consent
// mode without dropping the bind that is up, and a file with an unknown key
// is refused with its file, line and key while the consent policy stays.
func TestSIGHUPReload(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin, sim, dataDir, cfgPath, c := procSetup(t, "off")
	ctx := c.ctx

	p := startServeProc(t, bin, "-config", cfgPath)
	p.waitLog(ctx, func(r logLine) bool {
		return r.Message == "organization policy" && r.Organization == "acme" && r.Mode == "off"
	})
	e := bindESME(t, ctx, sim, p.addr, "acme", pdu.BindTransceiver)
	upstream := sim.Sessions()
	if r := submitTo(t, ctx, e, heldMT("15551230011", "off mode", 0)); r.Header.Status != pdu.ESME_ROK {
		t.Fatalf("MT in off mode: %v", r.Header.Status)
	}
	c.waitSubmit("the MT in off mode", textHas("off mode"))

	writeFile(t, cfgPath, orgFile(sim.Addr(), dataDir, "consent", ""))
	p.signal(syscall.SIGHUP, false)
	p.waitLog(ctx, func(r logLine) bool { return r.Message == "SIGHUP: organizations, keywords and templates reloaded" })
	p.waitLog(ctx, func(r logLine) bool {
		return r.Message == "organization policy" && r.Organization == "acme" && r.Mode == "consent"
	})
	r := submitTo(t, ctx, e, heldMT("15551230012", "consent mode", 0))
	if !isHeldID(r) {
		t.Fatalf("MT to an unknown handset after the reload: %v %q; want held", r.Header.Status, r.MessageID)
	}
	c.waitSubmit("the consent request", textHas("is trying to reach you"))

	bad := orgFile(sim.Addr(), dataDir, "consent", "    frobnicate: 1\n")
	line := strings.Count(bad[:strings.Index(bad, "frobnicate")], "\n") + 1
	writeFile(t, cfgPath, bad)
	p.signal(syscall.SIGHUP, false)
	refused := p.waitLog(ctx, func(r logLine) bool { return r.Message == "SIGHUP: configuration refused; the running policy stays" })
	if where := fmt.Sprintf("%s:%d", cfgPath, line); refused.Level != "error" || !strings.Contains(refused.Error, where) || !strings.Contains(refused.Error, "frobnicate") {
		t.Fatalf("refusal logged as %s; want an error line naming %s and the key frobnicate", refused.raw, where)
	}
	r = submitTo(t, ctx, e, heldMT("15551230013", "still consent", 0))
	if !isHeldID(r) {
		t.Fatalf("MT to an unknown handset after the refused reload: %v %q; want held", r.Header.Status, r.MessageID)
	}

	select {
	case <-e.Done():
		t.Fatalf("the ESME's bind was dropped: %v", e.Err())
	default:
	}
	if now := sim.Sessions(); len(now) != len(upstream) || now[0].ID != upstream[0].ID {
		t.Fatalf("upstream sessions %+v after the reloads; want the same %+v", now, upstream)
	}
	for _, part := range []string{"consent mode", "still consent"} {
		if n := len(c.submits(textHas(part))); n != 0 {
			t.Fatalf("held MT %q reached the SMSC", part)
		}
	}
	reloaded := 0
	for _, r := range p.logLines() {
		if r.Message == "SIGHUP: organizations, keywords and templates reloaded" {
			reloaded++
		}
	}
	if reloaded != 1 {
		t.Fatalf("%d successful reloads logged; want 1", reloaded)
	}
	if err := p.signal(syscall.SIGTERM, true); err != nil {
		t.Fatalf("optguard serve exited with %v after SIGTERM; want 0", err)
	}
}

// TestReleasedMTsWaitAcrossRestart: a YES that comes in on a receiver
// while no transmitter of the account is bound releases the held MTs into
// the outbox; optguard stops and starts again, and the MTs go to the SMSC
// in the order they were held, byte for byte, as soon as a transmitter
// binds. The receipt of a released MT carries the id the ESME was given.
func TestReleasedMTsWaitAcrossRestart(t *testing.T) {
	c := startConsent(t, consentOrg)
	tx := bindESME(t, c.ctx, c.sim, c.p.addr(), "acme", pdu.BindTransmitter)
	rx := bindESME(t, c.ctx, c.sim, c.p.addr(), "acme", pdu.BindReceiver)
	const n = 5 // ids are random: 5 held MTs come out in id order 1 time in 120
	ids := releaseIntoOutbox(t, c, tx, n, 1)
	if _, m := nextDeliver(t, c.ctx, rx); noticeOf(m) != "requested" {
		t.Fatalf("want the requested notice on the receiver, got %q", decode(m))
	}
	if k := len(c.submits(textHas("waiting"))); k != 0 {
		t.Fatal("a released MT reached the SMSC with no transmitter bound")
	}

	c.p.stop()
	rx.Close()
	c = startWith(t, c.sim, c.cfg)
	rx = bindESME(t, c.ctx, c.sim, c.p.addr(), "acme", pdu.BindReceiver)
	bindESME(t, c.ctx, c.sim, c.p.addr(), "acme", pdu.BindTransmitter)
	c.waitSubmit("the opt-in confirmation", textHas("opt in confirmed"))
	testenv.Eventually(t, 5*time.Second, func() bool {
		out, err := c.p.store.Outbox(c.ctx, 100)
		return err == nil && len(out) == 0
	}, "the outbox is empty")
	released := c.submits(textHas("waiting"))
	if len(released) != n {
		t.Fatalf("the SMSC got %d released MTs; want each of %d once", len(released), n)
	}
	for i, r := range released {
		want, err := pdu.AppendSubmitSM(nil, 0, mtOf(fmt.Sprintf("waiting %d", i), 1))
		if err != nil {
			t.Fatal(err)
		}
		if !sameButSeq(r.Raw, want) {
			var m pdu.Message
			pdu.Scan(r.Raw, &m)
			t.Errorf("released MT %d is %q; want %q byte for byte, in the order held", i, decode(&m), fmt.Sprintf("waiting %d", i))
		}
	}

	if _, err := c.sim.SendReceipt(c.ctx, "acme", testenv.ReceiptSpec{MessageID: c.smscIDOf(released[0]), From: guest, To: employee}); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		_, m := nextDeliver(t, c.ctx, rx)
		if !m.IsReceipt() {
			continue // the accepted notice, the relayed YES
		}
		var rm pdu.Message
		pdu.Scan(released[0].Raw, &rm)
		if id, _ := pdu.ReceiptID(m); string(id) != ids[0] {
			t.Fatalf("receipt of %q carries id %q; want the id the ESME was given, %q", decode(&rm), id, ids[0])
		}
		return
	}
	t.Fatal("no receipt for the released MT reached the receiver")
}

// TestQueuedOptOutConfirmationGivenUpAfterDeadline: the opt-out
// confirmation of a STOP that came in while no transmitter of the account
// was bound waits in the outbox only until its deadline (the FCC allows
// five minutes): a transmitter that binds later gets nothing to send, and
// the ledger says the confirmation was not sent.
func TestQueuedOptOutConfirmationGivenUpAfterDeadline(t *testing.T) {
	var ahead atomic.Int64
	c := startClocked(t, consentOrg, func() time.Time { return time.Now().Add(time.Duration(ahead.Load())) })
	rx := c.esme("acme", pdu.BindReceiver)
	if st := c.mo("acme", "STOP"); st != pdu.ESME_ROK {
		t.Fatalf("STOP answered %v", st)
	}
	// The receiver gets the STOP and the rejected notice, in some order.
	if _, ms := delivers(t, c.ctx, rx, 2); decode(ms[0]) != "STOP" && decode(ms[1]) != "STOP" {
		t.Fatalf("STOP not relayed: %q, %q", decode(ms[0]), decode(ms[1]))
	}
	testenv.Eventually(t, 5*time.Second, func() bool {
		out, err := c.p.store.Outbox(c.ctx, 10)
		return err == nil && len(out) == 1 && !out[0].ExpiresAt.IsZero()
	}, "the confirmation waits in the outbox with its deadline")
	// The proof of the notice is written once the receiver answered it;
	// in real time it is long on disk when the deadline passes.
	c.checkLedger(store.OrgScope("acme", "+"+guest), store.EventOptedOut, store.EventConfirmationSent, store.EventNoticeSent)

	ahead.Store(int64(6 * time.Minute))
	bindESME(t, c.ctx, c.sim, c.p.addr(), "acme", pdu.BindTransmitter)
	testenv.Eventually(t, 5*time.Second, func() bool {
		out, err := c.p.store.Outbox(c.ctx, 10)
		return err == nil && len(out) == 0
	}, "the late confirmation leaves the outbox")
	time.Sleep(200 * time.Millisecond)
	if n := len(c.submits(func(*pdu.Message) bool { return true })); n != 0 {
		t.Fatalf("the SMSC got %d submit_sm; the confirmation was past its deadline", n)
	}
	c.checkLedger(store.OrgScope("acme", "+"+guest), store.EventOptedOut, store.EventConfirmationSent, store.EventNoticeSent, store.EventMessageNotSent)
	c.checkVia(store.OrgScope("acme", "+"+guest), employee) // message_not_sent: the line of the queued text
}

// TestExpiredReceiptWaitsForReceiver: the EXPIRED receipt of a held MT
// whose ESME is bound only as a transmitter waits in the outbox and reaches
// the ESME's receiver when one binds.
func TestExpiredReceiptWaitsForReceiver(t *testing.T) {
	var ahead atomic.Int64
	c := startClocked(t, expiringOrg, func() time.Time { return time.Now().Add(time.Duration(ahead.Load())) })
	tx := bindESME(t, c.ctx, c.sim, c.p.addr(), "acme", pdu.BindTransmitter)
	held := submit(t, c.ctx, tx, "nobody to tell", 1)
	if !isHeldID(held) {
		t.Fatalf("MT answered %v %q; want held", held.Header.Status, held.MessageID)
	}
	ahead.Store(int64(2 * time.Minute))
	testenv.Eventually(t, 5*time.Second, func() bool {
		out, err := c.p.store.Outbox(c.ctx, 10)
		for _, h := range out {
			if h.ID == held.MessageID && h.Disposition == store.DispositionExpired {
				return err == nil
			}
		}
		return false
	}, "the expired MT waits in the outbox for a receiver")

	rx := bindESME(t, c.ctx, c.sim, c.p.addr(), "acme", pdu.BindReceiver)
	for range 3 { // the requested notice queued since the hold, then the receipt
		_, m := nextDeliver(t, c.ctx, rx)
		if !m.IsReceipt() {
			continue
		}
		id, _ := pdu.ReceiptID(m)
		stat, _, _ := pdu.ReceiptField(m.ShortMessage, "stat")
		if string(id) != held.MessageID || string(stat) != "EXPIRED" {
			t.Fatalf("receipt id %q stat %q; want %q EXPIRED", id, stat, held.MessageID)
		}
		testenv.Eventually(t, 5*time.Second, func() bool {
			out, err := c.p.store.Outbox(c.ctx, 10)
			return err == nil && len(out) == 0
		}, "the outbox is empty once the receipt went")
		return
	}
	t.Fatal("the EXPIRED receipt never reached the receiver")
}

// TestLearnedIDFormSurvivesRestart: a receipt teaches optguard that the
// account's SMSC writes decimal message ids; after a restart, before any
// new receipt, the ids held MTs are answered with are decimal too, so an
// ESME that parses its SMSC's ids as numbers keeps working.
func TestLearnedIDFormSurvivesRestart(t *testing.T) {
	sim := recordingSMSC(t)
	cfg := consentConfig(t, sim, consentOrg, t.TempDir())
	c := startWith(t, sim, cfg)
	e := c.esme("acme", pdu.BindTransceiver)
	if _, err := sim.SendReceipt(c.ctx, "acme", testenv.ReceiptSpec{MessageID: "7766554433", From: guest, To: employee}); err != nil {
		t.Fatal(err)
	}
	if _, m := nextDeliver(t, c.ctx, e); !m.IsReceipt() {
		t.Fatalf("the ESME got %q; want the receipt, relayed", decode(m))
	}
	e.Close()
	if err := c.p.stop(); err != nil {
		t.Fatal(err)
	}
	c = startWith(t, sim, cfg)
	e = c.esme("acme", pdu.BindTransceiver)
	short := false
	for i := 0; i < 3; i++ {
		r := submit(t, c.ctx, e, fmt.Sprint("held ", i), 1)
		if r.Header.Status != pdu.ESME_ROK || strings.Trim(r.MessageID, "0123456789") != "" {
			t.Fatalf("held MT answered %v with id %q; want a decimal id", r.Header.Status, r.MessageID)
		}
		short = short || len(r.MessageID) != 16 // hex ids are always 16 digits
	}
	if !short {
		t.Fatal("three held ids of 16 digits: the hex form, not decimal")
	}
}

// TestReleasedMTsSentOnceWhileBindsComeUp: MTs released while no
// transmitter was bound leave the outbox when one binds; more binds coming
// up at that moment start more flushes, and a flush that read the outbox
// before an MT went must not send it again once it was acknowledged.
func TestReleasedMTsSentOnceWhileBindsComeUp(t *testing.T) {
	c := startConsent(t, consentOrg)
	tx := bindESME(t, c.ctx, c.sim, c.p.addr(), "acme", pdu.BindTransmitter)
	// The receiver carries the YES.
	bindESME(t, c.ctx, c.sim, c.p.addr(), "acme", pdu.BindReceiver)
	const n = 100 // as many as one scope may hold
	releaseIntoOutbox(t, c, tx, n, 0)

	// Each bind starts a flush, or asks the running one for another pass.
	for range 8 {
		bindESME(t, c.ctx, c.sim, c.p.addr(), "acme", pdu.BindTransmitter)
	}
	testenv.Eventually(t, 10*time.Second, func() bool {
		out, err := c.p.store.Outbox(c.ctx, 2*n)
		return err == nil && len(out) == 0
	}, "the outbox is empty")
	time.Sleep(100 * time.Millisecond) // a second copy would be on its way
	seen := map[string]int{}
	for _, r := range c.submits(textHas("waiting")) {
		var m pdu.Message
		pdu.Scan(r.Raw, &m)
		seen[decode(&m)]++
	}
	for i := range n {
		if k := seen[fmt.Sprintf("waiting %d", i)]; k != 1 {
			t.Errorf("MT %d reached the SMSC %d times; want once", i, k)
		}
	}
}

// releaseIntoOutbox has tx (acme's only transmitter; a receiver stays
// bound to carry the reply) send n MTs "waiting 0" … that are held for
// consent, unbinds tx once the consent request went, has the handset
// answer YES and waits until the n released MTs wait in the outbox, no
// transmitter being bound to take them. It returns the held ids.
func releaseIntoOutbox(t *testing.T, c *consentEnv, tx *testenv.ESME, n int, registeredDelivery byte) []string {
	t.Helper()
	var ids []string
	for i := range n {
		r := submit(t, c.ctx, tx, fmt.Sprintf("waiting %d", i), registeredDelivery)
		if !isHeldID(r) {
			t.Fatalf("MT %d answered %v %q; want held", i, r.Header.Status, r.MessageID)
		}
		ids = append(ids, r.MessageID)
	}
	c.waitSubmit("the consent request", textHas("is trying to reach you"))
	if err := tx.Unbind(c.ctx); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 5*time.Second, func() bool { return len(c.p.srv.Binds()) == 1 }, "the transmitter is gone")
	if st := c.mo("acme", "YES"); st != pdu.ESME_ROK {
		t.Fatalf("YES answered %v", st)
	}
	testenv.Eventually(t, 5*time.Second, func() bool {
		out, err := c.p.store.Outbox(c.ctx, 2*n+10)
		released := 0
		for _, h := range out {
			if h.Disposition == store.DispositionReleased {
				released++
			}
		}
		return err == nil && released == n
	}, "the released MTs wait in the outbox")
	return ids
}
