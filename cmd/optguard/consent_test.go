package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/optguard/optguard/config"
	"github.com/optguard/optguard/policy"
	"github.com/optguard/optguard/smpp/pdu"
	"github.com/optguard/optguard/store"
	"github.com/optguard/optguard/testenv"
)

// The consent policy end to end: real optguard (what `serve` starts) between
// the testenv ESME client and SMSC simulator on loopback, with the real
// store in a temporary directory. Every assertion is on what crossed the
// wire.

const (
	employee = "15550009999" // the sender: an employee's line
	guest    = "15551230001" // the handset
)

type consentEnv struct {
	t    *testing.T
	ctx  context.Context
	sim  *testenv.SMSC
	p    *proxy
	logs *syncBuffer
	cfg  *config.Config
}

// startConsent runs optguard with the organizations of orgYAML in front of
// a recording simulator (no automatic receipts).
func startConsent(t *testing.T, orgYAML string) *consentEnv {
	t.Helper()
	sim := recordingSMSC(t)
	return startWith(t, sim, consentConfig(t, sim, orgYAML, t.TempDir()))
}

// consentConfig is the configuration of orgYAML on loopback in front of sim,
// with the store in dir and no admin listener.
func consentConfig(t *testing.T, sim *testenv.SMSC, orgYAML, dir string) *config.Config {
	t.Helper()
	cfg, err := config.Parse([]byte(orgYAML), "test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Listen.Address = "127.0.0.1:0"
	cfg.Admin.Address = ""
	cfg.Data.Dir = dir
	cfg.Upstream.Default.Address = sim.Addr()
	cfg.Log.Format = config.LogFormatJSON
	cfg.Log.Level = config.LogLevelInfo
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// startWith starts optguard with cfg (and, for tests that move time, opts)
// and stops it when the test ends, printing its log if the test failed.
func startWith(t *testing.T, sim *testenv.SMSC, cfg *config.Config, opts ...startOptions) *consentEnv {
	t.Helper()
	var o startOptions
	if len(opts) > 0 {
		o = opts[0]
	}
	logs := &syncBuffer{}
	p, err := startWithOptions(cfg, newLogger(logs, cfg.Log), o)
	if err != nil {
		t.Fatal(err)
	}
	env := &consentEnv{t: t, ctx: testenv.Context(t, 20*time.Second), sim: sim, p: p, logs: logs, cfg: cfg}
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			t.Logf("optguard log:\n%s", logs.String())
		}
	})
	return env
}

func (c *consentEnv) esme(systemID string, bind pdu.CommandID) *testenv.ESME {
	c.t.Helper()
	e, err := testenv.DialESME(c.ctx, c.p.addr(), testenv.ESMEConfig{})
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() { e.Close() })
	if st, err := e.Bind(c.ctx, bind, systemID, "pw"); err != nil || st != pdu.ESME_ROK {
		c.t.Fatalf("bind %s: %v %v", systemID, st, err)
	}
	if bind != pdu.BindTransmitter {
		// The policy must know of the receiving bind before a test sends to it.
		if err := c.sim.WaitSessions(c.ctx, 1); err != nil {
			c.t.Fatal(err)
		}
	}
	return e
}

// mtOf is the submit_sm the tests send: from the employee to the guest,
// with a vendor TLV that must survive every hold and release.
func mtOf(text string, receipt byte) *pdu.SM {
	return &pdu.SM{
		Source:             pdu.Addr{TON: 1, NPI: 1, Addr: employee},
		Dest:               pdu.Addr{TON: 1, NPI: 1, Addr: guest},
		RegisteredDelivery: receipt,
		ShortMessage:       []byte(text),
		TLVs:               []pdu.TLV{{Tag: 0x1400, Value: []byte("vendor")}},
	}
}

func submit(t *testing.T, ctx context.Context, e *testenv.ESME, text string, receipt byte) testenv.Resp {
	t.Helper()
	r, err := e.Submit(ctx, mtOf(text, receipt))
	if err != nil {
		t.Fatalf("submit %q: %v", text, err)
	}
	return r
}

func (c *consentEnv) mo(systemID, text string) pdu.Status {
	c.t.Helper()
	st, err := c.sim.SendMO(c.ctx, systemID, testenv.MO{From: guest, To: employee, Text: text})
	if err != nil || len(st) == 0 {
		c.t.Fatalf("MO %q: %v %v", text, st, err)
	}
	return st[len(st)-1]
}

// submitsTo returns the submit_sm the SMSC received whose text contains
// part (for auto-messages) in arrival order.
func (c *consentEnv) submits(match func(m *pdu.Message) bool) []testenv.Record {
	var out []testenv.Record
	for _, r := range c.sim.Received() {
		if r.Dir != testenv.In || r.Header.ID != pdu.SubmitSM {
			continue
		}
		var m pdu.Message
		if pdu.Scan(r.Raw, &m) == nil && match(&m) {
			out = append(out, r)
		}
	}
	return out
}

func textHas(part string) func(m *pdu.Message) bool {
	return func(m *pdu.Message) bool { return strings.Contains(decode(m), part) }
}

func decode(m *pdu.Message) string {
	if s, ok := joined[m]; ok {
		return s
	}
	ud := m.UserData()
	if m.HasUDH() {
		_, ud, _ = pdu.SplitUDH(ud)
	}
	s, _ := pdu.DecodeText(m.DataCoding, ud)
	return s
}

// waitSubmit waits until the SMSC received a submit_sm matching match.
func (c *consentEnv) waitSubmit(what string, match func(m *pdu.Message) bool) testenv.Record {
	c.t.Helper()
	r, err := c.sim.WaitFor(c.ctx, func(r testenv.Record) bool {
		if r.Dir != testenv.In || r.Header.ID != pdu.SubmitSM {
			return false
		}
		var m pdu.Message
		return pdu.Scan(r.Raw, &m) == nil && match(&m)
	})
	if err != nil {
		c.t.Fatalf("the SMSC never got %s: %v", what, err)
	}
	return r
}

// nextDeliver returns the ESME's next deliver_sm, scanned. A message in
// concatenated parts is read whole: m is its last part and decode(m) its
// whole text (see joined).
func nextDeliver(t *testing.T, ctx context.Context, e *testenv.ESME) ([]byte, *pdu.Message) {
	t.Helper()
	var text strings.Builder
	for {
		p, err := e.NextDeliver(ctx)
		if err != nil {
			t.Fatal(err)
		}
		m := &pdu.Message{}
		if err := pdu.Scan(p, m); err != nil {
			t.Fatalf("scan deliver_sm: %v", err)
		}
		c, multi := concatPart(m)
		if !multi {
			return p, m
		}
		text.WriteString(decode(m))
		if c.Part == c.Total {
			joined[m] = text.String()
			return p, m
		}
	}
}

// joined holds the whole text of messages nextDeliver read in parts.
var joined = map[*pdu.Message]string{}

func concatPart(m *pdu.Message) (pdu.Concat, bool) {
	if !m.HasUDH() {
		return pdu.Concat{}, false
	}
	udh, _, err := pdu.SplitUDH(m.UserData())
	if err != nil {
		return pdu.Concat{}, false
	}
	return pdu.ParseConcat(udh)
}

func noticeOf(m *pdu.Message) string {
	v, _ := m.TLVs.Find(policy.DefaultNoticeTag)
	return string(v)
}

// sameButSeq reports whether two PDUs differ at most in the sequence number.
func sameButSeq(a, b []byte) bool {
	return len(a) == len(b) && len(a) >= 16 && bytes.Equal(a[:12], b[:12]) && bytes.Equal(a[16:], b[16:])
}

// smscIDOf finds the message id the SMSC answered the submit_sm rec with.
func (c *consentEnv) smscIDOf(rec testenv.Record) string {
	c.t.Helper()
	for _, r := range c.sim.Received() {
		if r.Dir == testenv.Out && r.Header.ID == pdu.SubmitSMResp && r.Session == rec.Session && r.Header.Seq == rec.Header.Seq {
			id, _, err := pdu.ParseMessageIDResp(r.Raw)
			if err != nil {
				c.t.Fatal(err)
			}
			return string(id)
		}
	}
	c.t.Fatalf("no submit_sm_resp for seq %d", rec.Header.Seq)
	return ""
}

const consentOrg = `
organizations:
  - name: acme
    display_name: ACME Bank
    system_ids: [acme]
    mode: consent
    help_contact: help@acme.example
    sender_names:
      "15550009999": Aaron Almaraz
`

// Seed 000, sender first: the employee's first MT is held, the handset gets
// the consent request and the employee the "requested" notice; YES releases
// the MT byte for byte, confirms to the handset, tells the employee, and
// the receipt of the released MT carries the id the ESME was given.
func TestSenderFirstConsentYES(t *testing.T) {
	c := startConsent(t, consentOrg)
	e := c.esme("acme", pdu.BindTransceiver)

	r := submit(t, c.ctx, e, "Your statement is ready", 1)
	if r.Header.Status != pdu.ESME_ROK || len(r.MessageID) != 16 {
		t.Fatalf("held MT answered %v %q; want ESME_ROK and a 16-digit hex id", r.Header.Status, r.MessageID)
	}
	req := c.waitSubmit("the consent request", textHas("Aaron Almaraz is trying to reach you"))
	var rm pdu.Message
	if err := pdu.Scan(req.Raw, &rm); err != nil {
		t.Fatal(err)
	}
	if string(rm.Source.Addr) != employee || string(rm.Dest.Addr) != guest {
		t.Errorf("consent request from %s to %s; want from the employee's line to the handset", rm.Source.Addr, rm.Dest.Addr)
	}
	if n := len(c.submits(textHas("statement"))); n != 0 {
		t.Fatalf("the held MT reached the SMSC %d times before consent", n)
	}
	_, notice := nextDeliver(t, c.ctx, e)
	if noticeOf(notice) != "requested" || !strings.Contains(decode(notice), "sent a request to Opt-in") && !strings.Contains(decode(notice), "sent a request to opt in") {
		t.Fatalf("first deliver_sm to the ESME: notice %q text %q; want the requested notice", noticeOf(notice), decode(notice))
	}

	if st := c.mo("acme", "YES"); st != pdu.ESME_ROK {
		t.Fatalf("YES answered %v", st)
	}
	released := c.waitSubmit("the released MT", textHas("statement"))
	sent, err := pdu.AppendSubmitSM(nil, 0, mtOf("Your statement is ready", 1))
	if err != nil {
		t.Fatal(err)
	}
	if !sameButSeq(released.Raw, sent) {
		t.Errorf("released MT differs from what the ESME sent:\n got % x\nwant % x", released.Raw, sent)
	}
	c.waitSubmit("the opt-in confirmation", textHas("opt in confirmed"))

	// The ESME gets the YES itself and the accepted notice, in some order.
	var sawYES, sawAccepted bool
	for i := 0; i < 2; i++ {
		_, m := nextDeliver(t, c.ctx, e)
		switch {
		case noticeOf(m) == "accepted":
			sawAccepted = true
		case decode(m) == "YES" && noticeOf(m) == "":
			sawYES = true
		default:
			t.Errorf("unexpected deliver_sm %q notice %q", decode(m), noticeOf(m))
		}
	}
	if !sawYES || !sawAccepted {
		t.Fatalf("ESME saw YES %v, accepted notice %v", sawYES, sawAccepted)
	}

	// The receipt for the released MT is rewritten to the id the ESME has.
	smscID := c.smscIDOf(released)
	if _, err := c.sim.SendReceipt(c.ctx, "acme", testenv.ReceiptSpec{MessageID: strings.ToUpper(smscID), From: guest, To: employee}); err != nil {
		t.Fatal(err)
	}
	_, dlr := nextDeliver(t, c.ctx, e)
	if !dlr.IsReceipt() {
		t.Fatalf("not a receipt: %q", decode(dlr))
	}
	id, ok := pdu.ReceiptID(dlr)
	if !ok || string(id) != r.MessageID {
		t.Fatalf("receipt carries id %q; want the id the ESME was given, %q", id, r.MessageID)
	}
	if v, _, _ := pdu.ReceiptField(dlr.ShortMessage, "id"); string(v) != r.MessageID {
		t.Fatalf("receipt text id %q; want %q", v, r.MessageID)
	}

	// Opted in: the next MT goes straight through.
	if r2 := submit(t, c.ctx, e, "second message", 0); r2.Header.Status != pdu.ESME_ROK {
		t.Fatalf("MT after YES: %v", r2.Header.Status)
	}
	c.waitSubmit("the next MT", textHas("second message"))
	c.checkLedger(store.OrgScope("acme", "+"+guest), store.EventConsentRequested, store.EventNoticeSent, store.EventOptedIn, store.EventConfirmationSent, store.EventNoticeSent)
	c.checkVia(store.OrgScope("acme", "+"+guest), employee)
}

// checkLedger asserts the scope's events, in order, and that the chain
// verifies.
func (c *consentEnv) checkLedger(s store.Scope, want ...store.EventType) {
	c.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		var got []store.EventType
		err := c.p.store.Events(c.ctx, store.EventFilter{Number: s.Number}, func(ev store.Event) error {
			if ev.Scope == s {
				got = append(got, ev.Type)
			}
			return nil
		})
		if err != nil {
			c.t.Fatal(err)
		}
		if equalTypes(got, want) {
			break
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("ledger of %s: %v; want %v", s, got, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
	rep, err := c.p.store.Verify(c.ctx)
	if err != nil || rep.Events == 0 {
		c.t.Fatalf("verify: %+v %v", rep, err)
	}
}

// checkVia asserts that every event of scope s names via as the sender
// of its conversation (Event.Via; "" for a sender scope, whose own sender
// says it). An import's events are of no conversation and name none.
func (c *consentEnv) checkVia(s store.Scope, via string) {
	c.t.Helper()
	n := 0
	err := c.p.store.Events(c.ctx, store.EventFilter{Number: s.Number}, func(ev store.Event) error {
		if ev.Scope == s && ev.Method != store.MethodImport {
			n++
			if ev.Via != via {
				c.t.Errorf("event %d (%s) of %s has via %q; want %q", ev.Seq, ev.Type, s, ev.Via, via)
			}
		}
		return nil
	})
	if err != nil || n == 0 {
		c.t.Fatalf("%d events of %s: %v", n, s, err)
	}
}

func equalTypes(a, b []store.EventType) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// A handset texting its own number (or a load test whose source is one of
// its handsets) is a conversation like any other: the ledger records it,
// without the handset's number as its in-the-clear sender (via).
func TestMTToItsOwnSender(t *testing.T) {
	c := startConsent(t, consentOrg)
	e := c.esme("acme", pdu.BindTransceiver)
	r, err := e.Submit(c.ctx, &pdu.SM{Source: pdu.Addr{TON: 1, NPI: 1, Addr: guest}, Dest: pdu.Addr{TON: 1, NPI: 1, Addr: guest}, ShortMessage: []byte("note to self")})
	if err != nil || r.Header.Status != pdu.ESME_ROK {
		t.Fatalf("MT to itself: %v %v", r.Header.Status, err)
	}
	c.waitSubmit("the consent request", textHas("is trying to reach you"))
	c.checkLedger(store.OrgScope("acme", "+"+guest), store.EventConsentRequested, store.EventNoticeSent)
	_ = c.p.store.Events(c.ctx, store.EventFilter{Number: "+" + guest}, func(ev store.Event) error {
		if ev.Via != "" {
			t.Errorf("event %d %s records via %q, the handset's own number", ev.Seq, ev.Type, ev.Via)
		}
		return nil
	})
}
