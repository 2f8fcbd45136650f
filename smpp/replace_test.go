package smpp_test

import (
	"bytes"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/optguard/optguard/smpp"
	"github.com/optguard/optguard/smpp/pdu"
	"github.com/optguard/optguard/testenv"
)

// TestReplaceRelaysOtherBytes: with ActReplace the SMSC gets the replacement,
// with the proxy's sequence number, and the ESME the SMSC's answer. The
// interceptor builds every replacement in one scratch buffer, which the proxy
// must have copied before the next call overwrites it.
func TestReplaceRelaysOtherBytes(t *testing.T) {
	var scratch []byte
	ic := &scripted{mt: func(c *smpp.Call, m *pdu.Message) smpp.Verdict {
		sm := textSM("rewritten " + string(m.ShortMessage))
		var err error
		scratch, err = pdu.AppendSubmitSM(scratch[:0], 0xdead, sm)
		if err != nil {
			panic(err)
		}
		return smpp.Verdict{Action: smpp.ActReplace, Replace: scratch}
	}}
	h := newHarness(t, smpp.Options{Interceptor: ic}, testenv.SMSCConfig{})
	c := dialRaw(t, h.addr, pdu.BindTransmitter, "acme")

	// Two in one write: both are handled in one batch, before anything is
	// flushed, so a missing copy would relay the second replacement twice.
	one, two := mustSM(t, 7, textSM("one")), mustSM(t, 8, textSM("two"))
	if _, err := c.Write(append(bytes.Clone(one), two...)); err != nil {
		t.Fatal(err)
	}
	for _, want := range []uint32{7, 8} {
		resp := readPDU(t, c)
		if pdu.ID(resp) != pdu.SubmitSMResp || pdu.StatusOf(resp) != pdu.ESME_ROK || pdu.Seq(resp) != want {
			t.Fatalf("response %s %s seq %d, want submit_sm_resp ESME_ROK seq %d", pdu.ID(resp), pdu.StatusOf(resp), pdu.Seq(resp), want)
		}
	}
	var got [][]byte
	for _, r := range h.sim.Received() {
		if r.Dir == testenv.In && r.Header.ID == pdu.SubmitSM {
			got = append(got, r.Raw)
		}
	}
	if len(got) != 2 {
		t.Fatalf("SMSC got %d submit_sm, want 2", len(got))
	}
	for i, text := range []string{"one", "two"} {
		want := mustSM(t, 0, textSM("rewritten "+text))
		if !sameExceptSeq(got[i], want) {
			t.Errorf("submit_sm %d at the SMSC:\n got % x\nwant % x", i, got[i], want)
		}
		if pdu.Seq(got[i]) == 0xdead {
			t.Errorf("submit_sm %d kept the replacement's sequence number", i)
		}
	}
}

// TestReplaceReceipt: the MO direction, a receipt whose id is rewritten reaches
// the ESME as the replacement, and the ESME's deliver_sm_resp the SMSC.
func TestReplaceReceipt(t *testing.T) {
	want, err := pdu.AppendDeliverSM(nil, 0, &pdu.SM{
		Source: pdu.Addr{TON: 1, NPI: 1, Addr: "15552223333"}, Dest: pdu.Addr{TON: 1, NPI: 1, Addr: "15550001111"},
		EsmClass: 0x04, ShortMessage: []byte("id:og0001 sub:001 dlvrd:001 stat:DELIVRD err:000 text:"),
	})
	if err != nil {
		t.Fatal(err)
	}
	ic := &scripted{mo: func(c *smpp.Call, m *pdu.Message) smpp.Verdict {
		if !m.IsReceipt() {
			return smpp.Verdict{}
		}
		return smpp.Verdict{Action: smpp.ActReplace, Replace: want}
	}}
	h := newHarness(t, smpp.Options{Interceptor: ic}, testenv.SMSCConfig{})
	e := h.bind(pdu.BindReceiver, "acme", testenv.ESMEConfig{})
	st, err := h.sim.SendReceipt(h.ctx(), "acme", testenv.ReceiptSpec{MessageID: "a0001", From: "15552223333", To: "15550001111"})
	if err != nil || st != pdu.ESME_ROK {
		t.Fatalf("receipt answered %s %v", st, err)
	}
	got, err := e.NextDeliver(h.ctx())
	if err != nil {
		t.Fatal(err)
	}
	if !sameExceptSeq(got, want) {
		t.Errorf("ESME got\n% x\nwant\n% x", got, want)
	}
}

// TestReplaceGarbageRefused: replacement bytes that are not one whole PDU of
// the same command are never relayed; the message is refused ESME_RSYSERR.
func TestReplaceGarbageRefused(t *testing.T) {
	good := mustSM(t, 1, textSM("replacement"))
	long := bytes.Clone(good)
	long = append(long, 0, 0)
	dsm := pdu.Begin(nil, pdu.DataSM, 0, 1)
	dsm.CString("").Address(1, 1, "1").Address(1, 1, "2").Byte(0).Byte(0).Byte(0)
	huge := make([]byte, pdu.DefaultMaxLen+16)
	copy(huge, good)
	huge[0], huge[1], huge[2], huge[3] = byte(len(huge)>>24), byte(len(huge)>>16), byte(len(huge)>>8), byte(len(huge))
	cases := map[string][]byte{
		"nil":            nil,
		"short header":   good[:10],
		"truncated":      good[:len(good)-1],
		"trailing bytes": long,
		"other command":  dsm.End(),
		"above maximum":  huge,
	}
	var replace atomic.Pointer[[]byte] // set by the test, read by the session
	ic := &scripted{mt: func(c *smpp.Call, m *pdu.Message) smpp.Verdict {
		return smpp.Verdict{Action: smpp.ActReplace, Replace: *replace.Load()}
	}}
	h := newHarness(t, smpp.Options{Interceptor: ic}, testenv.SMSCConfig{})
	e := h.bind(pdu.BindTransmitter, "acme", testenv.ESMEConfig{})
	for name, b := range cases {
		replace.Store(&b)
		r, err := e.Submit(h.ctx(), textSM("original"))
		if err != nil || r.Header.Status != pdu.ESME_RSYSERR {
			t.Errorf("%s: answered %s %v, want ESME_RSYSERR", name, r.Header.Status, err)
		}
	}
	if n := h.sim.Count(pdu.SubmitSM) + h.sim.Count(pdu.DataSM); n != 0 {
		t.Errorf("the SMSC got %d messages from garbage replacements", n)
	}
	replace.Store(&good)
	if r, err := e.Submit(h.ctx(), textSM("original")); err != nil || r.Header.Status != pdu.ESME_ROK {
		t.Errorf("a good replacement after the bad ones: %s %v", r.Header.Status, err)
	}
	if !sameExceptSeq(h.simGot(pdu.SubmitSM).Raw, good) {
		t.Error("the SMSC did not get the good replacement")
	}
}

// dialRaw connects a bare TCP client and binds it: for tests that need PDUs to
// arrive in one read.
func dialRaw(t *testing.T, addr string, id pdu.CommandID, systemID string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	bind, _ := pdu.AppendBind(nil, 1, pdu.BindRequest{ID: id, SystemID: systemID, Password: "x", InterfaceVersion: 0x34})
	if _, err := c.Write(bind); err != nil {
		t.Fatal(err)
	}
	if resp := readPDU(t, c); pdu.StatusOf(resp) != pdu.ESME_ROK {
		t.Fatalf("bind: %s", pdu.StatusOf(resp))
	}
	return c
}

// readPDU reads one PDU from c within 5 seconds.
func readPDU(t *testing.T, c net.Conn) []byte {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	hdr := make([]byte, pdu.HeaderLen)
	if _, err := io.ReadFull(c, hdr); err != nil {
		t.Fatalf("reading a PDU: %v", err)
	}
	h, _ := pdu.ParseHeader(hdr)
	p := make([]byte, h.Length)
	copy(p, hdr)
	if _, err := io.ReadFull(c, p[pdu.HeaderLen:]); err != nil {
		t.Fatalf("reading a PDU: %v", err)
	}
	return p
}
