package main

import (
	"strings"
	"testing"
	"time"

	"github.com/optguard/optguard/smpp/pdu"
	"github.com/optguard/optguard/store"
	"github.com/optguard/optguard/testenv"
)

// Seed 000, sender first, declined: STOP drops the held MT with a REJECTD
// receipt to the ESME, confirms the opt-out to the handset once, tells the
// employee, and every later MT is refused without reaching the SMSC until
// the handset texts START.
func TestSenderFirstConsentSTOP(t *testing.T) {
	c := startConsent(t, consentOrg)
	e := c.esme("acme", pdu.BindTransceiver)
	r := submit(t, c.ctx, e, "Your statement is ready", 1)
	if r.Header.Status != pdu.ESME_ROK {
		t.Fatalf("held MT: %v", r.Header.Status)
	}
	c.waitSubmit("the consent request", textHas("is trying to reach you"))
	if _, m := nextDeliver(t, c.ctx, e); noticeOf(m) != "requested" {
		t.Fatalf("want the requested notice, got %q", decode(m))
	}
	if st := c.mo("acme", "STOP"); st != pdu.ESME_ROK {
		t.Fatalf("STOP answered %v", st)
	}
	c.waitSubmit("the opt-out confirmation", textHas("Opt out confirmed"))
	var rejectd, rejected, stop bool
	for i := 0; i < 3; i++ {
		_, m := nextDeliver(t, c.ctx, e)
		switch {
		case m.IsReceipt():
			id, _ := pdu.ReceiptID(m)
			stat, _, _ := pdu.ReceiptField(m.ShortMessage, "stat")
			if string(id) != r.MessageID || string(stat) != "REJECTD" {
				t.Errorf("receipt id %q stat %q; want %q REJECTD", id, stat, r.MessageID)
			}
			rejectd = true
		case noticeOf(m) == "rejected":
			rejected = true
		case decode(m) == "STOP":
			stop = true
		default:
			t.Errorf("unexpected deliver_sm %q", decode(m))
		}
	}
	if !rejectd || !rejected || !stop {
		t.Fatalf("REJECTD receipt %v, rejected notice %v, STOP relayed %v", rejectd, rejected, stop)
	}
	if n := len(c.submits(textHas("statement"))); n != 0 {
		t.Fatalf("the dropped MT reached the SMSC")
	}

	// Refused from now on, with a permanent status, never relayed.
	if r := submit(t, c.ctx, e, "are you there", 0); r.Header.Status != pdu.ESME_RX_P_APPN {
		t.Fatalf("MT to an opted-out handset: %v; want ESME_RX_P_APPN", r.Header.Status)
	}
	// A second STOP sends no second confirmation.
	c.mo("acme", "stop")
	if _, m := nextDeliver(t, c.ctx, e); decode(m) != "stop" {
		t.Fatalf("second STOP not relayed: %q", decode(m))
	}
	time.Sleep(200 * time.Millisecond)
	if n := len(c.submits(textHas("Opt out confirmed"))); n != 1 {
		t.Fatalf("%d opt-out confirmations; want exactly one", n)
	}
	if n := len(c.submits(textHas("are you there"))); n != 0 {
		t.Fatal("refused MT reached the SMSC")
	}

	// START brings the handset back.
	c.mo("acme", "START")
	c.waitSubmit("the opt-in confirmation", textHas("opted in"))
	if r := submit(t, c.ctx, e, "welcome back", 0); r.Header.Status != pdu.ESME_ROK {
		t.Fatalf("MT after START: %v", r.Header.Status)
	}
	c.waitSubmit("the MT after START", textHas("welcome back"))
}

// Seed 000, handset first: an unknown handset's MO is held and not
// relayed; it gets "You are trying to reach …", the employee "A contact has
// attempted …"; YES delivers the held MO to the ESME byte for byte.
func TestHandsetFirstConsentYES(t *testing.T) {
	c := startConsent(t, consentOrg)
	e := c.esme("acme", pdu.BindTransceiver)
	if st := c.mo("acme", "Hi, is my card blocked?"); st != pdu.ESME_ROK {
		t.Fatalf("first MO answered %v", st)
	}
	c.waitSubmit("the consent request", textHas("You are trying to reach Aaron Almaraz"))
	_, m := nextDeliver(t, c.ctx, e)
	if noticeOf(m) != "requested" || !strings.Contains(decode(m), "A contact has attempted to send you a message") {
		t.Fatalf("first deliver_sm: %q notice %q; want the requested notice", decode(m), noticeOf(m))
	}
	var heldMO []byte
	for _, r := range c.sim.Received() {
		if r.Dir == testenv.Out && r.Header.ID == pdu.DeliverSM {
			heldMO = r.Raw
			break
		}
	}

	c.mo("acme", "yes")
	var gotHeld, gotYES, accepted bool
	for i := 0; i < 3; i++ {
		raw, m := nextDeliver(t, c.ctx, e)
		switch {
		case noticeOf(m) == "accepted":
			accepted = true
		case decode(m) == "yes":
			if !gotHeld {
				t.Error("the YES reached the ESME before the message it released")
			}
			gotYES = true
		case decode(m) == "Hi, is my card blocked?":
			gotHeld = sameButSeq(raw, heldMO)
			if !gotHeld {
				t.Errorf("held MO changed:\n got % x\nwant % x", raw, heldMO)
			}
		default:
			t.Errorf("unexpected deliver_sm %q", decode(m))
		}
	}
	if !gotHeld || !gotYES || !accepted {
		t.Fatalf("held MO %v, YES %v, accepted notice %v", gotHeld, gotYES, accepted)
	}
	c.waitSubmit("the confirmation", textHas("opt in confirmed"))
}

// Seed 000, handset first, declined: STOP drops the held MO; nothing of it
// reaches the ESME.
func TestHandsetFirstConsentSTOP(t *testing.T) {
	c := startConsent(t, consentOrg)
	e := c.esme("acme", pdu.BindTransceiver)
	c.mo("acme", "secret question")
	c.waitSubmit("the consent request", textHas("You are trying to reach"))
	if _, m := nextDeliver(t, c.ctx, e); noticeOf(m) != "requested" {
		t.Fatalf("want the requested notice, got %q", decode(m))
	}
	c.mo("acme", "STOP")
	c.waitSubmit("the opt-out confirmation", textHas("Opt out confirmed"))
	for i := 0; i < 2; i++ {
		_, m := nextDeliver(t, c.ctx, e)
		if decode(m) == "secret question" {
			t.Fatal("the held MO reached the ESME after STOP")
		}
		if noticeOf(m) != "rejected" && decode(m) != "STOP" {
			t.Errorf("unexpected deliver_sm %q", decode(m))
		}
	}
	c.checkLedger(store.OrgScope("acme", "+"+guest), store.EventConsentRequested, store.EventNoticeSent, store.EventOptedOut, store.EventConfirmationSent, store.EventNoticeSent)
	c.checkVia(store.OrgScope("acme", "+"+guest), employee)
}

const disclaimerOrg = `
organizations:
  - name: shop
    display_name: Corner Shop
    system_ids: [shop]
    mode: disclaimer
`

// Disclaimer mode: the first MT of a scope is preceded by the disclaimer on
// the same SMSC connection, once; later MTs go alone.
func TestDisclaimerOnceBeforeFirstMT(t *testing.T) {
	c := startConsent(t, disclaimerOrg)
	e := c.esme("shop", pdu.BindTransmitter)
	for _, text := range []string{"first offer", "second offer"} {
		if r := submit(t, c.ctx, e, text, 0); r.Header.Status != pdu.ESME_ROK {
			t.Fatalf("MT %q: %v", text, r.Header.Status)
		}
	}
	c.waitSubmit("the second MT", textHas("second offer"))
	var order []string
	for _, r := range c.submits(func(*pdu.Message) bool { return true }) {
		var m pdu.Message
		pdu.Scan(r.Raw, &m)
		order = append(order, decode(&m))
	}
	if len(order) != 3 || !strings.Contains(order[0], "You are receiving messages from") || order[1] != "first offer" || order[2] != "second offer" {
		t.Fatalf("the SMSC got %q; want the disclaimer, then the two MTs", order)
	}
	c.checkLedger(store.OrgScope("shop", "+"+guest), store.EventDisclaimerSent)
	c.checkVia(store.OrgScope("shop", "+"+guest), employee)
}

// Off mode: everything is relayed, but STOP is still honoured; HELP gets
// the help reply without a state change.
func TestOffModeStillHonoursSTOPAndHELP(t *testing.T) {
	c := startConsent(t, "")
	e := c.esme("anyone", pdu.BindTransceiver)
	if r := submit(t, c.ctx, e, "hello", 0); r.Header.Status != pdu.ESME_ROK {
		t.Fatalf("MT: %v", r.Header.Status)
	}
	c.mo("anyone", "HELP")
	c.waitSubmit("the help reply", textHas("Help:"))
	if _, m := nextDeliver(t, c.ctx, e); decode(m) != "HELP" {
		t.Fatalf("HELP not relayed: %q", decode(m))
	}
	c.mo("anyone", "Stop texting me!")
	c.waitSubmit("the opt-out confirmation", textHas("opted out"))
	if r := submit(t, c.ctx, e, "one more", 0); r.Header.Status != pdu.ESME_RX_P_APPN {
		t.Fatalf("MT after STOP in off mode: %v; want ESME_RX_P_APPN", r.Header.Status)
	}
	if n := len(c.submits(textHas("one more"))); n != 0 {
		t.Fatal("refused MT reached the SMSC")
	}
	c.checkLedger(store.OrgScope("default", "+"+guest), store.EventHelpSent, store.EventOptedOut, store.EventConfirmationSent)
}
