package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/optguard/optguard/policy/keywords"
	"github.com/optguard/optguard/smpp/pdu"
	"github.com/optguard/optguard/store"
	"github.com/optguard/optguard/testenv"
)

// The other MO flows end to end: what an opt-out does to each kind of MT,
// binds of one account, numeric replies, HELP, bad input, and the
// configurations serve refuses.

// dataSMMT is a data_sm from the employee to dest, text in message_payload.
func dataSMMT(dest, text string) []byte {
	w := pdu.Begin(nil, pdu.DataSM, 0, 0)
	w.CString("").Address(1, 1, employee).Address(1, 1, dest).
		Byte(0).Byte(0).Byte(pdu.CodingDefault).TLV(pdu.TagMessagePayload, []byte(text))
	return w.End()
}

// submitMulti is a submit_multi from the employee to the SME addresses.
func submitMulti(text string, dests ...string) []byte {
	w := pdu.Begin(nil, pdu.SubmitMulti, 0, 0)
	w.CString("").Address(1, 1, employee).Byte(byte(len(dests)))
	for _, d := range dests {
		w.Byte(pdu.DestSME).Address(1, 1, d)
	}
	w.Byte(0).Byte(0).Byte(0).CString("").CString("").Byte(0).Byte(0).Byte(pdu.CodingDefault).Byte(0).
		Byte(byte(len(text))).Octets([]byte(text))
	return w.End()
}

// smscGot returns the scanned requests of kind id the SMSC received whose
// text is text.
func smscGot(c *consentEnv, id pdu.CommandID, text string) []*pdu.Message {
	var out []*pdu.Message
	for _, r := range c.sim.Received() {
		if r.Dir != testenv.In || r.Header.ID != id {
			continue
		}
		m := &pdu.Message{}
		if pdu.Scan(r.Raw, m) == nil && decode(m) == text {
			out = append(out, m)
		}
	}
	return out
}

func destsOf(m *pdu.Message) []string {
	var out []string
	for it := m.Dests(); ; {
		d, ok := it.Next()
		if !ok {
			return out
		}
		out = append(out, string(d.Addr.Addr))
	}
}

// TestOptOutRefusesEveryMT: after STOP, submit_sm and data_sm to the
// handset are refused and never reach the SMSC, and a submit_multi to it
// among others reaches the SMSC without it while submit_multi_resp lists it
// as unsuccessful with ESME_RX_P_APPN; after START all three are forwarded
// whole.
func TestOptOutRefusesEveryMT(t *testing.T) {
	c := startConsent(t, detectOrg)
	e := c.esme("acme", pdu.BindTransceiver)
	num, other1, other2 := handset(1), handset(2), handset(3)

	sendMO(t, c, "acme", testenv.MO{From: num, Text: "STOP"})
	expectRefused(t, c, e, num, "submit after STOP")

	resp, err := e.Request(c.ctx, dataSMMT(num, "data after STOP"))
	if err != nil {
		t.Fatal(err)
	}
	if pdu.ID(resp) != pdu.DataSMResp || pdu.StatusOf(resp) != pdu.ESME_RX_P_APPN {
		t.Errorf("data_sm to the opted-out handset: %s %v; want data_sm_resp ESME_RX_P_APPN", pdu.ID(resp), pdu.StatusOf(resp))
	}
	if n := len(smscGot(c, pdu.DataSM, "data after STOP")); n != 0 {
		t.Errorf("refused data_sm reached the SMSC %d times", n)
	}

	resp, err = e.Request(c.ctx, submitMulti("multi after STOP", other1, num, other2))
	if err != nil {
		t.Fatal(err)
	}
	if pdu.ID(resp) != pdu.SubmitMultiResp || pdu.StatusOf(resp) != pdu.ESME_ROK {
		t.Fatalf("submit_multi: %s %v; want submit_multi_resp ESME_ROK", pdu.ID(resp), pdu.StatusOf(resp))
	}
	id, unsuccess, err := pdu.ParseSubmitMultiResp(resp)
	if err != nil {
		t.Fatal(err)
	}
	want := []pdu.UnsuccessSME{{TON: 1, NPI: 1, Addr: num, Status: pdu.ESME_RX_P_APPN}}
	if len(id) == 0 || len(unsuccess) != 1 || unsuccess[0] != want[0] {
		t.Errorf("submit_multi_resp id %q unsuccess %+v; want the SMSC's id and %+v", id, unsuccess, want)
	}
	got := smscGot(c, pdu.SubmitMulti, "multi after STOP")
	if len(got) != 1 || got[0].NumDests != 2 || strings.Join(destsOf(got[0]), ",") != other1+","+other2 {
		var d [][]string
		for _, m := range got {
			d = append(d, destsOf(m))
		}
		t.Fatalf("the SMSC got submit_multi to %v; want one to %s and %s only", d, other1, other2)
	}

	// START: all three go through, the submit_multi whole.
	sendMO(t, c, "acme", testenv.MO{From: num, Text: "START"})
	expectState(t, c, "acme", num, store.StateOptedIn)
	expectForwarded(t, c, e, num, "submit after START")
	resp, err = e.Request(c.ctx, dataSMMT(num, "data after START"))
	if err != nil {
		t.Fatal(err)
	}
	if pdu.ID(resp) != pdu.DataSMResp || pdu.StatusOf(resp) != pdu.ESME_ROK {
		t.Errorf("data_sm after START: %s %v; want ESME_ROK", pdu.ID(resp), pdu.StatusOf(resp))
	}
	if n := len(smscGot(c, pdu.DataSM, "data after START")); n != 1 {
		t.Errorf("data_sm after START reached the SMSC %d times; want once", n)
	}
	sent := submitMulti("multi after START", other1, num, other2)
	resp, err = e.Request(c.ctx, sent)
	if err != nil {
		t.Fatal(err)
	}
	if _, unsuccess, err := pdu.ParseSubmitMultiResp(resp); err != nil || pdu.StatusOf(resp) != pdu.ESME_ROK || len(unsuccess) != 0 {
		t.Errorf("submit_multi after START: %v unsuccess %+v %v; want ESME_ROK and none", pdu.StatusOf(resp), unsuccess, err)
	}
	var relayed []byte
	for _, r := range c.sim.Received() {
		if r.Dir == testenv.In && r.Header.ID == pdu.SubmitMulti {
			relayed = r.Raw // the last one
		}
	}
	if !sameButSeq(relayed, sent) {
		t.Errorf("submit_multi after START reached the SMSC as % x; want % x", relayed, sent)
	}
}

// TestSTOPOnReceiverBind: an account bound as a separate receiver and
// transmitter; the STOP arrives on the receiver and the transmitter's next
// MT to that handset is refused. The confirmation leaves on the
// transmitter.
func TestSTOPOnReceiverBind(t *testing.T) {
	c := startConsent(t, detectOrg)
	rx := c.esme("acme", pdu.BindReceiver)
	tx := c.esme("acme", pdu.BindTransmitter)
	if err := c.sim.WaitSessions(c.ctx, 2); err != nil {
		t.Fatal(err)
	}
	num := handset(1)
	expectForwarded(t, c, tx, num, "before STOP")
	sendMO(t, c, "acme", testenv.MO{From: num, Text: "STOP"})
	if _, m := nextDeliver(t, c.ctx, rx); decode(m) != "STOP" || string(m.Source.Addr) != num {
		t.Fatalf("receiver got %q from %s; want the STOP", decode(m), m.Source.Addr)
	}
	expectRefused(t, c, tx, num, "after STOP")

	conf, err := c.sim.WaitFor(c.ctx, func(r testenv.Record) bool {
		var m pdu.Message
		return r.Dir == testenv.In && r.Header.ID == pdu.SubmitSM && pdu.Scan(r.Raw, &m) == nil &&
			string(m.Dest.Addr) == num && strings.Contains(decode(&m), "you are opted out")
	})
	if err != nil {
		t.Fatalf("no opt-out confirmation: %v", err)
	}
	for _, s := range c.sim.Sessions() {
		if s.ID == conf.Session && s.Bind != pdu.BindTransmitter {
			t.Errorf("the confirmation went out on a %s; want the account's transmitter", s.Bind)
		}
	}
	c.checkLedger(store.OrgScope("acme", "+"+num), store.EventOptedOut, store.EventConfirmationSent)
}

const numericOrgs = `
organizations:
  - name: numeric
    system_ids: [numeric]
    mode: "off"
    numeric_replies: true
  - name: plain
    system_ids: [plain]
    mode: "off"
`

// TestNumericReplies: with numeric_replies on, "2" opts out and "1" opts
// (back) in; without it "2" is an ordinary MO, relayed, and the MT after it
// is forwarded.
func TestNumericReplies(t *testing.T) {
	c := startConsent(t, numericOrgs)
	num := c.esme("numeric", pdu.BindTransceiver)
	plain := c.esme("plain", pdu.BindTransceiver)
	if err := c.sim.WaitSessions(c.ctx, 2); err != nil {
		t.Fatal(err)
	}

	a, b := handset(1), handset(2)
	sendMO(t, c, "numeric", testenv.MO{From: a, Text: "2"})
	expectState(t, c, "numeric", a, store.StateOptedOut)
	expectRefused(t, c, num, a, "after 2")
	sendMO(t, c, "numeric", testenv.MO{From: a, Text: "1"})
	expectState(t, c, "numeric", a, store.StateOptedIn)
	expectForwarded(t, c, num, a, "after 1")
	sendMO(t, c, "numeric", testenv.MO{From: b, Text: "1"})
	expectState(t, c, "numeric", b, store.StateOptedIn)
	for _, want := range []string{"2", "1", "1"} {
		if _, m := nextDeliver(t, c.ctx, num); decode(m) != want {
			t.Errorf("ESME of numeric got %q; want %q relayed", decode(m), want)
		}
	}

	p := handset(3)
	sendMO(t, c, "plain", testenv.MO{From: p, Text: "2"})
	if _, m := nextDeliver(t, c.ctx, plain); decode(m) != "2" {
		t.Errorf("ESME of plain got %q; want the 2 relayed", decode(m))
	}
	expectForwarded(t, c, plain, p, "after 2, numeric replies off")
	expectState(t, c, "plain", p, store.StateUnknown)
	c.checkLedger(store.OrgScope("numeric", "+"+a), store.EventOptedOut, store.EventConfirmationSent, store.EventOptedIn, store.EventConfirmationSent)
}

// TestHelpKeywords: every default help keyword gets the help reply, with
// the organization's help contact, from the employee's line to the handset;
// the state does not change and the MT after it is forwarded.
func TestHelpKeywords(t *testing.T) {
	var words []string
	for _, l := range keywords.Defaults() {
		words = append(words, l.Help...)
	}
	if len(words) < 4 {
		t.Fatalf("default help keywords %q; want HELP, INFO, AYUDA and AIDE at least", words)
	}
	c := startConsent(t, detectOrg)
	e := c.esme("acme", pdu.BindTransceiver)
	for i, w := range words {
		num := handset(i)
		t.Run(w, func(t *testing.T) {
			sendMO(t, c, "acme", testenv.MO{From: num, Text: w})
			if _, m := nextDeliver(t, c.ctx, e); decode(m) != w {
				t.Errorf("ESME got %q; want the %s relayed", decode(m), w)
			}
			r, err := c.sim.WaitFor(c.ctx, func(r testenv.Record) bool {
				var m pdu.Message
				return r.Dir == testenv.In && r.Header.ID == pdu.SubmitSM && pdu.Scan(r.Raw, &m) == nil && string(m.Dest.Addr) == num
			})
			if err != nil {
				t.Fatalf("no help reply: %v", err)
			}
			var m pdu.Message
			if err := pdu.Scan(r.Raw, &m); err != nil {
				t.Fatal(err)
			}
			if txt := decode(&m); !strings.Contains(txt, "help@acme.example") || !strings.Contains(txt, "ACME Bank") || string(m.Source.Addr) != employee {
				t.Errorf("help reply from %s: %q; want from the employee's line, naming ACME Bank and help@acme.example", m.Source.Addr, txt)
			}
			expectState(t, c, "acme", num, store.StateUnknown)
			expectForwarded(t, c, e, num, "after "+w)
			c.checkLedger(store.OrgScope("acme", "+"+num), store.EventHelpSent)
		})
	}
}

// TestBadMOText: MOs whose text cannot be decoded (odd-length UCS2, an
// unpaired surrogate, an escape GSM 03.38 does not define, a lone escape at
// the end, octets above 0x7F in GSM-7) are relayed byte for byte, and
// optguard goes on working: a STOP from the same handset opts it out.
func TestBadMOText(t *testing.T) {
	cases := []struct {
		name string
		dc   byte
		ud   []byte
	}{
		{"odd UCS2", pdu.CodingUCS2, []byte{0, 'h', 0, 'i', 0}},
		{"odd UCS2 STOP", pdu.CodingUCS2, []byte{0, 'S', 0, 'T', 0, 'O', 0, 'P', 0}},
		{"unpaired surrogate", pdu.CodingUCS2, []byte{0xD8, 0x3D, 0, 'h', 0, 'i'}},
		{"invalid GSM escape", pdu.CodingDefault, []byte{0x1B, 0x41, 'h', 'i'}},
		{"lone GSM escape", pdu.CodingDefault, []byte{'h', 'i', 0x1B}},
		{"octets above 0x7F", pdu.CodingDefault, []byte{0xFF, 0x80, 'h', 'i'}},
		{"only an escape", pdu.CodingDefault, []byte{0x1B}},
	}
	c := startConsent(t, detectOrg)
	e := c.esme("acme", pdu.BindTransceiver)
	for i, tc := range cases {
		num := handset(i)
		t.Run(tc.name, func(t *testing.T) {
			raw, err := pdu.AppendDeliverSM(nil, 0, &pdu.SM{
				Source: pdu.Addr{TON: 1, NPI: 1, Addr: num}, Dest: pdu.Addr{TON: 1, NPI: 1, Addr: employee},
				DataCoding: tc.dc, ShortMessage: tc.ud,
			})
			if err != nil {
				t.Fatal(err)
			}
			sendRaw(t, c, "acme", raw)
			got, err := e.NextDeliver(c.ctx)
			if err != nil {
				t.Fatal(err)
			}
			if !sameButSeq(got, raw) {
				t.Errorf("ESME got % x; want % x", got, raw)
			}
			sendMO(t, c, "acme", testenv.MO{From: num, Text: "STOP"})
			if _, m := nextDeliver(t, c.ctx, e); decode(m) != "STOP" {
				t.Errorf("ESME got %q; want the STOP relayed", decode(m))
			}
			expectState(t, c, "acme", num, store.StateOptedOut)
			expectRefused(t, c, e, num, "after STOP")
		})
	}
}

// TestServeRefusesBadOrganizations: serve refuses a configuration with an
// unknown template variable or an unknown organization key, exit 2, and
// says which file, line and key.
func TestServeRefusesBadOrganizations(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name, yaml string
		want       []string
	}{
		{
			name: "template-variable.yaml",
			yaml: "organizations:\n  - name: acme\n    system_ids: [acme]\n    templates:\n      help: \"Call {helpline} for help\"\n",
			want: []string{"template-variable.yaml:5", "organizations[0].templates.help", "{helpline}"},
		},
		{
			name: "org-key.yaml",
			yaml: "organizations:\n  - name: acme\n    system_ids: [acme]\n    moed: consent\n",
			want: []string{"org-key.yaml:4", `unknown key "organizations[0].moed"`},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, tc.name)
			if err := os.WriteFile(path, []byte(tc.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			var stdout, stderr bytes.Buffer
			if code := runServe([]string{"-config", path}, &stdout, &stderr); code != 2 {
				t.Errorf("exit %d; want 2 (stderr %q)", code, stderr.String())
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr %q lacks %q", stderr.String(), w)
				}
			}
		})
	}
}
