package main

import (
	"strings"
	"testing"
	"time"

	"github.com/optguard/optguard/smpp/pdu"
	"github.com/optguard/optguard/testenv"
)

// TestTwoPartSTOPFromUnknownHandsetInConsentMode: in consent mode a handset
// optguard has never heard from sends "unsubscribe me" in two parts. It is
// one opt-out: the handset gets the opt-out confirmation and nothing else
// (no consent request), and the ESME sees no "requested" notice and never
// half of the message alone.
func TestTwoPartSTOPFromUnknownHandsetInConsentMode(t *testing.T) {
	c := startConsent(t, consentOrg)
	e := c.esme("acme", pdu.BindTransceiver)
	num := handset(1)
	sendMO(t, c, "acme", testenv.MO{From: num, Text: "unsubscribe me", Parts: 2})
	c.waitSubmit("the opt-out confirmation", textHas("Opt out confirmed"))
	time.Sleep(200 * time.Millisecond)
	if n := len(c.submits(textHas("is trying to reach"))) + len(c.submits(textHas("You are trying to reach"))); n != 0 {
		t.Errorf("a handset that opted out got %d consent request parts", n)
	}
	var texts []string
	for {
		ctx := testenv.Context(t, 300*time.Millisecond)
		raw, err := e.NextDeliver(ctx)
		if err != nil {
			break
		}
		var m pdu.Message
		if err := pdu.Scan(raw, &m); err != nil {
			t.Fatal(err)
		}
		if noticeOf(&m) == "requested" {
			t.Errorf("the ESME got a requested notice for a handset that opted out")
		}
		if noticeOf(&m) == "" {
			texts = append(texts, decode(&m))
		}
	}
	if got := strings.Join(texts, ""); got != "unsubscribe me" && got != "" {
		t.Errorf("the ESME got %q of the two-part opt-out; want both parts or none", texts)
	}
}

// An ordinary two-part first message from an unknown handset in consent
// mode: both parts are held, the handset gets one consent request when the
// message is whole, and YES delivers both parts, in order, ahead of the YES.
func TestTwoPartFirstMOHeldWhole(t *testing.T) {
	c := startConsent(t, consentOrg)
	e := c.esme("acme", pdu.BindTransceiver)
	text := strings.Repeat("I wanted to ask about my account balance. ", 5)
	sendMO(t, c, "acme", testenv.MO{From: guest, To: employee, Text: text, Parts: 2})
	c.waitSubmit("the consent request", textHas("You are trying to reach"))
	if _, m := nextDeliver(t, c.ctx, e); noticeOf(m) != "requested" {
		t.Fatalf("the ESME got %q first; want the requested notice", decode(m))
	}
	c.mo("acme", "YES")
	var got []string
	for i := 0; i < 4; i++ {
		raw, err := e.NextDeliver(c.ctx)
		if err != nil {
			t.Fatal(err)
		}
		var m pdu.Message
		if err := pdu.Scan(raw, &m); err != nil {
			t.Fatal(err)
		}
		if noticeOf(&m) != "" {
			continue // the accepted notice, in parts
		}
		got = append(got, decode(&m))
		if decode(&m) == "YES" {
			break
		}
	}
	if len(got) != 3 || got[0]+got[1] != text || got[2] != "YES" {
		t.Fatalf("ESME got %q; want the two held parts in order, then YES", got)
	}
	time.Sleep(100 * time.Millisecond)
	if n := len(c.submits(textHas("You are trying to reach"))); n != 1 {
		t.Fatalf("%d consent request parts for one message; want 1", n)
	}
}

// A handset that opted out writes again in consent mode, an ordinary
// message in two parts (seed 000: "if you change your mind, reply with a
// new message"). The first part is acknowledged before the message is
// whole, so it must be kept: when the last part comes the handset gets the
// consent request, and YES delivers both parts, in order, ahead of the YES.
func TestTwoPartMOFromOptedOutHandsetKeepsEveryPart(t *testing.T) {
	c := startConsent(t, consentOrg)
	e := c.esme("acme", pdu.BindTransceiver)
	if st := c.mo("acme", "STOP"); st != pdu.ESME_ROK {
		t.Fatalf("STOP answered %v", st)
	}
	drainDelivers(t, e) // the STOP, relayed; its deliver_sm_resp came once it was recorded
	text := strings.Repeat("I changed my mind, please call me back. ", 5)
	sendMO(t, c, "acme", testenv.MO{From: guest, To: employee, Text: text, Parts: 2})
	c.waitSubmit("the consent request", textHas("You are trying to reach"))
	c.mo("acme", "YES")
	var got []string
	for len(got) < 3 {
		raw, err := e.NextDeliver(c.ctx)
		if err != nil {
			t.Fatalf("after %q: %v", got, err)
		}
		var m pdu.Message
		if err := pdu.Scan(raw, &m); err != nil {
			t.Fatal(err)
		}
		if noticeOf(&m) == "" {
			got = append(got, decode(&m))
		}
	}
	if got[0]+got[1] != text || got[2] != "YES" {
		t.Fatalf("ESME got %q; want both parts of the message in order, then YES", got)
	}
}

// drainDelivers reads what the ESME has been sent until nothing more comes
// for a moment.
func drainDelivers(t *testing.T, e *testenv.ESME) {
	t.Helper()
	for {
		if _, err := e.NextDeliver(testenv.Context(t, 300*time.Millisecond)); err != nil {
			return
		}
	}
}
