package main

import (
	"testing"
	"time"

	"github.com/optguard/optguard/smpp/pdu"
	"github.com/optguard/optguard/store"
)

// A crash between holding the first MT of a scope and sending its consent
// request leaves a held message in a scope that never asked the handset.
// At start optguard finds it and sends the request (and the sender's
// notice) then.
func TestConsentRequestAfterInterruptedHold(t *testing.T) {
	dir := t.TempDir()
	st, err := store.OpenBadger(store.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := pdu.AppendSubmitSM(nil, 7, mtOf("held before the crash", 0))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Hold(t.Context(), store.HeldMessage{ID: "00000000000000a1", Scope: store.OrgScope("acme", "+"+guest), SystemID: "acme", PDU: raw}); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	sim := recordingSMSC(t)
	c := startWith(t, sim, consentConfig(t, sim, consentOrg, dir))
	e := c.esme("acme", pdu.BindTransceiver)
	req := c.waitSubmit("the consent request", textHas("Aaron Almaraz is trying to reach you"))
	var m pdu.Message
	if err := pdu.Scan(req.Raw, &m); err != nil || string(m.Dest.Addr) != guest || string(m.Source.Addr) != employee {
		t.Fatalf("request %v from %s to %s", err, m.Source.Addr, m.Dest.Addr)
	}
	if _, n := nextDeliver(t, c.ctx, e); noticeOf(n) != "requested" {
		t.Fatalf("ESME got %q; want the requested notice", decode(n))
	}
	c.mo("acme", "YES")
	c.waitSubmit("the held MT", textHas("held before the crash"))
	time.Sleep(50 * time.Millisecond)
	if n := len(c.submits(textHas("is trying to reach you"))); n != 1 {
		t.Fatalf("%d consent requests; want one", n)
	}
	s := store.OrgScope("acme", "+"+guest)
	c.checkLedger(s, store.EventConsentRequested, store.EventNoticeSent, store.EventOptedIn, store.EventConfirmationSent, store.EventNoticeSent)
	c.checkVia(s, employee) // the held MT's sender, read from the PDU kept
}
