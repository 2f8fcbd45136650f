package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/optguard/optguard/policy/keywords"
	"github.com/optguard/optguard/smpp/pdu"
	"github.com/optguard/optguard/store"
	"github.com/optguard/optguard/testenv"
)

// Detection end to end: what the handset writes, in every encoding and
// every way an SMSC can carry it, decides whether the next MT to that
// handset is refused (and never reaches the SMSC) or forwarded. Rows of a
// table share one optguard and use a handset of their own, so that they
// do not interact.

// detectOrg is an organization in off mode: MTs are forwarded unless the
// handset opted out, so each MT shows the handset's state.
const detectOrg = `
organizations:
  - name: acme
    display_name: ACME Bank
    system_ids: [acme]
    mode: "off"
    help_contact: help@acme.example
`

// handset is the number of table row i: 1555123 and four digits.
func handset(i int) string { return fmt.Sprintf("1555123%04d", i) }

// sendMO has the SMSC deliver mo (To defaults to the employee's line) and
// fails unless every part is answered ESME_ROK.
func sendMO(t *testing.T, c *consentEnv, systemID string, mo testenv.MO) {
	t.Helper()
	if mo.To == "" {
		mo.To = employee
	}
	st, err := c.sim.SendMO(c.ctx, systemID, mo)
	if err != nil {
		t.Fatalf("MO %q from %s: %v %v", mo.Text, mo.From, st, err)
	}
	for i, s := range st {
		if s != pdu.ESME_ROK {
			t.Fatalf("MO %q from %s: part %d answered %v", mo.Text, mo.From, i+1, s)
		}
	}
}

// sendRaw has the SMSC send one hand-built request and fails unless it is
// answered with its response and ESME_ROK.
func sendRaw(t *testing.T, c *consentEnv, systemID string, raw []byte) {
	t.Helper()
	resp, err := c.sim.SendPDU(c.ctx, systemID, raw)
	if err != nil {
		t.Fatalf("%s: %v", pdu.ID(raw), err)
	}
	if pdu.ID(resp) != pdu.ID(raw).Resp() || pdu.StatusOf(resp) != pdu.ESME_ROK {
		t.Fatalf("%s answered %s %v", pdu.ID(raw), pdu.ID(resp), pdu.StatusOf(resp))
	}
}

// mtTo is mtOf to dest instead of the guest.
func mtTo(dest, text string) *pdu.SM {
	sm := mtOf(text, 0)
	sm.Dest.Addr = dest
	return sm
}

// sentTo matches an MT to dest with exactly that text.
func sentTo(dest, text string) func(m *pdu.Message) bool {
	return func(m *pdu.Message) bool { return string(m.Dest.Addr) == dest && decode(m) == text }
}

// expectRefused submits text to dest and fails unless optguard refuses it
// with ESME_RX_P_APPN without relaying it to the SMSC.
func expectRefused(t *testing.T, c *consentEnv, e *testenv.ESME, dest, text string) {
	t.Helper()
	r, err := e.Submit(c.ctx, mtTo(dest, text))
	if err != nil {
		t.Fatalf("submit to %s: %v", dest, err)
	}
	if r.Header.Status != pdu.ESME_RX_P_APPN {
		t.Errorf("MT to %s answered %v; want ESME_RX_P_APPN (opted out)", dest, r.Header.Status)
	}
	if n := len(c.submits(sentTo(dest, text))); n != 0 {
		t.Errorf("MT to opted-out %s reached the SMSC %d times", dest, n)
	}
}

// expectForwarded submits text to dest and fails unless it is accepted and
// the SMSC got it.
func expectForwarded(t *testing.T, c *consentEnv, e *testenv.ESME, dest, text string) {
	t.Helper()
	r, err := e.Submit(c.ctx, mtTo(dest, text))
	if err != nil {
		t.Fatalf("submit to %s: %v", dest, err)
	}
	if r.Header.Status != pdu.ESME_ROK {
		t.Fatalf("MT to %s answered %v; want ESME_ROK (forwarded)", dest, r.Header.Status)
	}
	// The SMSC answers what it got, so it has it by now.
	if n := len(c.submits(sentTo(dest, text))); n != 1 {
		t.Fatalf("MT to %s reached the SMSC %d times; want once", dest, n)
	}
}

// expectState fails unless the scope's durable state is want. optguard
// writes a consent change before it answers the deliver_sm, so there is
// nothing to wait for.
func expectState(t *testing.T, c *consentEnv, org, number string, want store.State) {
	t.Helper()
	cur, _ := c.p.store.Lookup(store.OrgScope(org, "+"+number))
	if cur.State != want {
		t.Errorf("state of %s: %v; want %v", number, cur.State, want)
	}
}

// TestEveryDefaultOptOutKeyword: each default opt-out keyword of every
// language, the FCC words and each default emoji, sent in every alphabet
// that has its characters (emoji: UCS2 only), opt the handset out: the
// next MT is refused and never reaches the SMSC.
func TestEveryDefaultOptOutKeyword(t *testing.T) {
	type row struct {
		name, text string
		dc         byte
	}
	var rows []row
	seen := map[string]bool{}
	add := func(lang, w string) {
		if seen[strings.ToUpper(w)] {
			return
		}
		seen[strings.ToUpper(w)] = true
		for _, enc := range []struct {
			name string
			dc   byte
		}{{"gsm7", pdu.CodingDefault}, {"latin1", pdu.CodingLatin1}, {"ucs2", pdu.CodingUCS2}} {
			if _, err := pdu.EncodeText(enc.dc, w); err != nil {
				continue // the alphabet lacks a character of w
			}
			rows = append(rows, row{name: lang + "/" + w + "/" + enc.name, text: w, dc: enc.dc})
		}
	}
	langs := map[string]bool{}
	for _, l := range keywords.Defaults() {
		langs[l.Lang] = true
		for _, w := range l.OptOut {
			add(l.Lang, w)
		}
	}
	for _, w := range keywords.AlwaysOptOut() {
		add("fcc", w)
	}
	for _, lang := range []string{"en", "es", "fr"} {
		if !langs[lang] {
			t.Fatalf("keywords.Defaults() has no %q list", lang)
		}
	}
	emoji := keywords.DefaultEmoji()
	if len(emoji) < 7 {
		t.Fatalf("only %d default emoji: %q", len(emoji), emoji)
	}
	for _, em := range emoji {
		rows = append(rows, row{name: "emoji/" + em, text: em, dc: pdu.CodingUCS2})
	}
	// The GSM-7 and Latin-1 rows must exist, or the table proves less than
	// it says.
	var gsm, latin int
	for _, r := range rows {
		switch r.dc {
		case pdu.CodingDefault:
			gsm++
		case pdu.CodingLatin1:
			latin++
		}
	}
	if gsm < 40 || latin < 50 {
		t.Fatalf("only %d GSM-7 and %d Latin-1 rows", gsm, latin)
	}

	c := startConsent(t, detectOrg)
	c.ctx = testenv.Context(t, 60*time.Second)
	e := c.esme("acme", pdu.BindTransceiver)
	for i, r := range rows {
		num := handset(i)
		t.Run(r.name, func(t *testing.T) {
			dc := r.dc
			sendMO(t, c, "acme", testenv.MO{From: num, Text: r.text, DataCoding: &dc})
			expectState(t, c, "acme", num, store.StateOptedOut)
			expectRefused(t, c, e, num, "offer for "+num)
		})
	}
	t.Logf("%d rows", len(rows))
}

// TestTwoPartSTOP: a STOP split over two concatenated parts, with an 8-bit
// UDH reference, a 16-bit one, or SAR TLVs, opts the handset out, and both
// parts reach the ESME as they arrived, also when a UCS2 character is cut
// over the two parts. No part alone is an opt-out (the
// test checks), so only the whole message can have opted the handset out.
func TestTwoPartSTOP(t *testing.T) {
	matcher, err := keywords.Compile(keywords.Options{Lists: keywords.Defaults(), Emoji: keywords.DefaultEmoji()})
	if err != nil {
		t.Fatal(err)
	}
	c := startConsent(t, detectOrg)
	e := c.esme("acme", pdu.BindTransceiver)

	// Parts built here: testenv.MO sends 8-bit references only, and cuts
	// text only between characters.
	built := func(dc byte, ref uint16, ref16 bool, chunks ...[]byte) func(from string) [][]byte {
		return func(from string) [][]byte {
			var out [][]byte
			for i, chunk := range chunks {
				ud := pdu.AppendConcatUDH(nil, pdu.Concat{Ref: ref, Total: uint8(len(chunks)), Part: uint8(i + 1)}, ref16)
				p, err := pdu.AppendDeliverSM(nil, 0, &pdu.SM{
					Source: pdu.Addr{TON: 1, NPI: 1, Addr: from}, Dest: pdu.Addr{TON: 1, NPI: 1, Addr: employee},
					EsmClass: pdu.EsmClassUDHI, DataCoding: dc, ShortMessage: append(ud, chunk...),
				})
				if err != nil {
					t.Fatal(err)
				}
				out = append(out, p)
			}
			return out
		}
	}
	ucs2, latin1 := pdu.CodingUCS2, pdu.CodingLatin1
	cases := []struct {
		name string
		mo   testenv.MO // sent when raw is nil
		raw  func(from string) [][]byte
	}{
		{name: "8-bit UDH, GSM-7", mo: testenv.MO{Text: "STOP", Parts: 2}},
		{name: "8-bit UDH, UCS2", mo: testenv.MO{Text: "REVOKE", Parts: 2, DataCoding: &ucs2}},
		{name: "8-bit UDH, Latin-1 intent", mo: testenv.MO{Text: "unsubscribe me", Parts: 2, DataCoding: &latin1}},
		// The reference is above 255 so that a reader of only its low
		// octet would not find it.
		{name: "16-bit UDH", raw: built(pdu.CodingDefault, 0x1234, true, []byte("ST"), []byte("OP"))},
		// Handsets and SMSCs that cut UCS2 by octets split a character,
		// or an emoji's surrogate pair, over two parts: only the joined
		// user data decodes.
		{name: "UCS2 emoji split inside its surrogate pair", raw: built(pdu.CodingUCS2, 0x21, false, []byte{0xD8, 0x3D}, []byte{0xDE, 0xD1})},
		{name: "UCS2 split at an odd octet", raw: built(pdu.CodingUCS2, 0x22, false, []byte{0, 'S', 0, 'T', 0}, []byte{'O', 0, 'P'})},
		// A handset may choose the coding part by part.
		{name: "GSM-7 part and UCS2 part", raw: func(from string) [][]byte {
			st, op := []byte("ST"), []byte{0, 'O', 0, 'P'}
			return [][]byte{
				built(pdu.CodingDefault, 0x23, false, st, op)(from)[0],
				built(pdu.CodingUCS2, 0x23, false, st, op)(from)[1],
			}
		}},
		{name: "SAR", mo: testenv.MO{Text: "STOP", Parts: 2, UseSAR: true}},
		{name: "SAR in message_payload", mo: testenv.MO{Text: "unsubscribe me", Parts: 2, UseSAR: true, Payload: true}},
	}
	for i, tc := range cases {
		num := handset(i)
		t.Run(tc.name, func(t *testing.T) {
			before := len(c.sim.Received())
			if tc.raw != nil {
				for _, p := range tc.raw(num) {
					sendRaw(t, c, "acme", p)
				}
			} else {
				mo := tc.mo
				mo.From = num
				sendMO(t, c, "acme", mo)
			}
			var sent [][]byte
			for _, r := range c.sim.Received()[before:] {
				if r.Dir == testenv.Out && r.Header.ID == pdu.DeliverSM {
					sent = append(sent, r.Raw)
				}
			}
			if len(sent) != 2 {
				t.Fatalf("the SMSC sent %d deliver_sm; want 2 parts", len(sent))
			}
			for k := range sent {
				var part pdu.Message
				if err := pdu.Scan(sent[k], &part); err != nil {
					t.Fatal(err)
				}
				if r := matcher.ClassifyString(decode(&part)); r.Class == keywords.OptOut {
					t.Fatalf("part %d alone, %q, is an opt-out: the case proves nothing of reassembly", k+1, decode(&part))
				}
				got, err := e.NextDeliver(c.ctx)
				if err != nil {
					t.Fatal(err)
				}
				if !sameButSeq(got, sent[k]) {
					t.Errorf("part %d reached the ESME changed:\n got % x\nwant % x", k+1, got, sent[k])
				}
			}
			expectState(t, c, "acme", num, store.StateOptedOut)
			expectRefused(t, c, e, num, "offer")
		})
	}
}

// dataSMMO is a data_sm from the handset with text in message_payload, as
// SMSCs send MOs over data_sm.
func dataSMMO(from, text string) []byte {
	w := pdu.Begin(nil, pdu.DataSM, 0, 0)
	w.CString("").Address(1, 1, from).Address(1, 1, employee).
		Byte(0).Byte(0).Byte(pdu.CodingDefault).TLV(pdu.TagMessagePayload, []byte(text))
	return w.End()
}

// TestSTOPInPayloadAndDataSM: STOP carried in message_payload (empty
// short_message) of a deliver_sm, and STOP in a data_sm MO, opt out; the
// MO reaches the ESME unchanged.
func TestSTOPInPayloadAndDataSM(t *testing.T) {
	c := startConsent(t, detectOrg)
	e := c.esme("acme", pdu.BindTransceiver)

	payload := handset(1)
	sendMO(t, c, "acme", testenv.MO{From: payload, Text: "STOP", Payload: true})
	raw, m := nextDeliver(t, c.ctx, e)
	if pdu.ID(raw) != pdu.DeliverSM || len(m.ShortMessage) != 0 || decode(m) != "STOP" {
		t.Errorf("ESME got %s short_message %q text %q; want the deliver_sm with STOP in message_payload", pdu.ID(raw), m.ShortMessage, decode(m))
	}
	expectState(t, c, "acme", payload, store.StateOptedOut)
	expectRefused(t, c, e, payload, "offer")

	data := handset(2)
	sent := dataSMMO(data, "Stop")
	sendRaw(t, c, "acme", sent)
	raw, _ = nextDeliver(t, c.ctx, e)
	if pdu.ID(raw) != pdu.DataSM || !sameButSeq(raw, sent) {
		t.Errorf("ESME got % x; want the data_sm % x", raw, sent)
	}
	expectState(t, c, "acme", data, store.StateOptedOut)
	expectRefused(t, c, e, data, "offer")
}

// TestIntentPhrases: the replies of issue 7 that a reasonable person reads
// as revocation opt out; the sentences that only contain an opt-out word
// do not, and the MT after them is forwarded.
func TestIntentPhrases(t *testing.T) {
	cases := []struct {
		text   string
		optOut bool
	}{
		{"Please stop", true},
		{"stop texting me", true},
		{"Stop please", true},
		{"STOP!!!", true},
		{"unsubscribe me", true},
		{"remove me from your list", true},
		{"no more texts", true},
		{"no más mensajes", true},
		{"arrêtez svp", true},
		{"don't stop", false},
		{"STOP by the store later", false},
		{"I can't stop laughing", false},
		{"non-stop flights?", false},
	}
	c := startConsent(t, detectOrg)
	e := c.esme("acme", pdu.BindTransceiver)
	for i, tc := range cases {
		num := handset(i)
		t.Run(tc.text, func(t *testing.T) {
			sendMO(t, c, "acme", testenv.MO{From: num, Text: tc.text})
			if _, m := nextDeliver(t, c.ctx, e); decode(m) != tc.text {
				t.Errorf("ESME got %q; want the MO relayed", decode(m))
			}
			if tc.optOut {
				expectState(t, c, "acme", num, store.StateOptedOut)
				expectRefused(t, c, e, num, "offer")
				return
			}
			expectForwarded(t, c, e, num, "offer")
			expectState(t, c, "acme", num, store.StateUnknown)
		})
	}
}

// TestPossibleOptOut: an MO with an opt-out word that matches no keyword,
// intent or negative pattern is relayed, changes nothing (the MT after it
// is forwarded) and is recorded in the ledger for a person to review.
func TestPossibleOptOut(t *testing.T) {
	const text = "Should I stop here?"
	m, err := keywords.Compile(keywords.Options{Lists: keywords.Defaults(), Emoji: keywords.DefaultEmoji()})
	if err != nil {
		t.Fatal(err)
	}
	if r := m.ClassifyString(text); r.Class != keywords.PossibleOptOut {
		t.Fatalf("the defaults classify %q as %v; pick a possible_opt_out message", text, r.Class)
	}
	c := startConsent(t, detectOrg)
	e := c.esme("acme", pdu.BindTransceiver)
	num := handset(1)
	sendMO(t, c, "acme", testenv.MO{From: num, Text: text})
	if _, m := nextDeliver(t, c.ctx, e); decode(m) != text || noticeOf(m) != "" {
		t.Fatalf("ESME got %q notice %q; want the MO relayed", decode(m), noticeOf(m))
	}
	expectForwarded(t, c, e, num, "offer")
	c.checkLedger(store.OrgScope("acme", "+"+num), store.EventPossibleOptOut)
	expectState(t, c, "acme", num, store.StateUnknown)
}
