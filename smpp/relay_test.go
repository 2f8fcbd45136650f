package smpp_test

import (
	"testing"
	"time"

	"github.com/optguard/optguard/smpp"
	"github.com/optguard/optguard/smpp/pdu"
	"github.com/optguard/optguard/testenv"
)

// request sends raw from the ESME through the proxy and checks that the SMSC
// received it byte-identical apart from the sequence number, and that the
// ESME's response is the SMSC's, byte-identical apart from the sequence number
// (or, for a generic_nack, the matching response carrying its status).
func (h *harness) request(e *testenv.ESME, raw []byte) (resp []byte) {
	h.t.Helper()
	id := pdu.ID(raw)
	resp, err := e.Request(h.ctx(), raw)
	if err != nil {
		h.t.Fatalf("%s: %v", id, err)
	}
	var in, out testenv.Record
	for _, r := range h.sim.Received() {
		switch {
		case r.Dir == testenv.In && r.Header.ID == id:
			in = r
		case r.Dir == testenv.Out && in.Raw != nil && r.Header.Seq == in.Header.Seq && r.Header.ID.IsResponse():
			out = r
		}
	}
	if !sameExceptSeq(in.Raw, raw) {
		h.t.Fatalf("%s changed on the way:\nESME sent    % x\nSMSC got     % x", id, raw, in.Raw)
	}
	if out.Header.ID == pdu.GenericNack {
		if pdu.ID(resp) != id.Resp() || pdu.StatusOf(resp) != out.Header.Status {
			h.t.Fatalf("%s: SMSC answered generic_nack %s, ESME got %s %s", id, out.Header.Status, pdu.ID(resp), pdu.StatusOf(resp))
		}
	} else if !sameExceptSeq(out.Raw, resp) {
		h.t.Fatalf("%s response changed on the way:\nSMSC sent % x\nESME got  % x", id, out.Raw, resp)
	}
	return resp
}

func TestSubmitSMRelayedByteIdentical(t *testing.T) {
	h := newHarness(t, smpp.Options{}, testenv.SMSCConfig{})
	e := h.bind(pdu.BindTransmitter, "acme", testenv.ESMEConfig{})
	udh := pdu.AppendConcatUDH(nil, pdu.Concat{Ref: 0x42, Total: 2, Part: 1}, false)
	sm := &pdu.SM{
		ServiceType:        "CMT",
		Source:             pdu.Addr{TON: 5, NPI: 0, Addr: "ACME"},
		Dest:               pdu.Addr{TON: 1, NPI: 1, Addr: "15552223333"},
		EsmClass:           pdu.EsmClassUDHI,
		ProtocolID:         0x7F,
		PriorityFlag:       1,
		ValidityPeriod:     "000001000000000R",
		RegisteredDelivery: 1,
		DataCoding:         pdu.CodingBinary2,
		ShortMessage:       append(udh, 0x00, 0xFF, 0x1B, 0x0A, 0x7F, 0x80, 0x00),
		TLVs: []pdu.TLV{
			{Tag: pdu.TagUserMessageReference, Value: []byte{0x12, 0x34}},
			{Tag: 0x1400, Value: []byte("vendor\x00data")}, // vendor-specific TLV
			{Tag: pdu.TagSourcePort, Value: []byte{0x0B, 0x84}},
		},
	}
	raw := mustSM(t, 7, sm)
	resp := h.request(e, raw)
	if pdu.StatusOf(resp) != pdu.ESME_ROK {
		t.Fatalf("submit_sm_resp status %s", pdu.StatusOf(resp))
	}
	id, _, err := pdu.ParseMessageIDResp(resp)
	if err != nil || len(id) == 0 {
		t.Fatalf("message_id %q, %v", id, err)
	}
}

func TestMOAndReceiptsRelayedByteIdentical(t *testing.T) {
	h := newHarness(t, smpp.Options{}, testenv.SMSCConfig{})
	e := h.bind(pdu.BindTransceiver, "acme", testenv.ESMEConfig{})
	ucs2 := pdu.CodingUCS2
	mos := []testenv.MO{
		{From: "15552223333", To: "15550001111", Text: "STOP"},
		{From: "15552223333", To: "15550001111", Text: "Arrêtez 🛑", DataCoding: &ucs2},
		{From: "15552223333", To: "15550001111", Text: "a long reply that the handset split into three parts for the trip", Parts: 3},
		{From: "15552223333", To: "15550001111", Text: "sar parts", Parts: 2, UseSAR: true},
		{From: "15552223333", To: "15550001111", Text: "payload", Payload: true},
	}
	check := func(what string, parts int) {
		t.Helper()
		var sent [][]byte
		for _, r := range h.sim.Received() {
			if r.Dir == testenv.Out && r.Header.ID == pdu.DeliverSM {
				sent = append(sent, r.Raw)
			}
		}
		sent = sent[len(sent)-parts:]
		for i := 0; i < parts; i++ {
			got, err := e.NextDeliver(h.ctx())
			if err != nil {
				t.Fatalf("%s part %d: %v", what, i+1, err)
			}
			if !sameExceptSeq(sent[i], got) {
				t.Fatalf("%s part %d changed on the way:\nSMSC sent % x\nESME got  % x", what, i+1, sent[i], got)
			}
		}
	}
	for _, mo := range mos {
		sts, err := h.sim.SendMO(h.ctx(), "acme", mo)
		if err != nil {
			t.Fatalf("SendMO %q: %v", mo.Text, err)
		}
		for _, st := range sts {
			if st != pdu.ESME_ROK {
				t.Fatalf("SendMO %q: deliver_sm_resp %s", mo.Text, st)
			}
		}
		check(mo.Text, len(sts))
	}
	st, err := h.sim.SendReceipt(h.ctx(), "acme", testenv.ReceiptSpec{MessageID: "a1b2c3", From: "15552223333", To: "15550001111", Stat: "DELIVRD"})
	if err != nil || st != pdu.ESME_ROK {
		t.Fatalf("SendReceipt: %s, %v", st, err)
	}
	check("receipt", 1)
}

func TestDeliverRespStatusReachesSMSC(t *testing.T) {
	h := newHarness(t, smpp.Options{}, testenv.SMSCConfig{})
	h.bind(pdu.BindReceiver, "acme", testenv.ESMEConfig{DeliverStatus: pdu.ESME_RX_T_APPN})
	sts, err := h.sim.SendMO(h.ctx(), "acme", testenv.MO{From: "15552223333", To: "15550001111", Text: "hi"})
	if err != nil || len(sts) != 1 || sts[0] != pdu.ESME_RX_T_APPN {
		t.Fatalf("SMSC got %v, %v; want the ESME's ESME_RX_T_APPN", sts, err)
	}
}

func TestOtherCommandsRelayed(t *testing.T) {
	h := newHarness(t, smpp.Options{}, testenv.SMSCConfig{})
	e := h.bind(pdu.BindTransceiver, "acme", testenv.ESMEConfig{})

	dataSM := pdu.Begin(nil, pdu.DataSM, 0, 1)
	dataSM.CString("WAP").Address(1, 1, "15550001111").Address(1, 1, "15552223333").
		Byte(0).Byte(1).Byte(pdu.CodingUCS2).TLV(pdu.TagMessagePayload, []byte{0, 'h', 0, 'i'})
	querySM := pdu.Begin(nil, pdu.QuerySM, 0, 1)
	querySM.CString("1a2b").Address(1, 1, "15550001111")
	cancelSM := pdu.Begin(nil, pdu.CancelSM, 0, 1)
	cancelSM.CString("").CString("1a2b").Address(1, 1, "15550001111").Address(1, 1, "15552223333")
	replaceSM := pdu.Begin(nil, pdu.ReplaceSM, 0, 1)
	replaceSM.CString("1a2b").Address(1, 1, "15550001111").CString("").CString("").Byte(1).Byte(0).Byte(3).Octets([]byte("new"))
	submitMulti := pdu.Begin(nil, pdu.SubmitMulti, 0, 1)
	submitMulti.CString("").Address(1, 1, "15550001111").Byte(2).
		Byte(pdu.DestSME).Address(1, 1, "15552223333").Byte(pdu.DestDistributionList).CString("team").
		Byte(0).Byte(0).Byte(0).CString("").CString("").Byte(0).Byte(0).Byte(0).Byte(0).Byte(5).Octets([]byte("hello"))
	vendor := pdu.Begin(nil, pdu.CommandID(0x00010200), 0, 1)
	vendor.Octets([]byte{0xDE, 0xAD, 0xBE, 0xEF})

	for _, raw := range [][]byte{dataSM.End(), querySM.End(), cancelSM.End(), replaceSM.End(), submitMulti.End(), vendor.End()} {
		t.Run(pdu.ID(raw).String(), func(t *testing.T) {
			resp := h.request(e, raw)
			if pdu.ID(resp) != pdu.ID(raw).Resp() {
				t.Errorf("response %s to %s", pdu.ID(resp), pdu.ID(raw))
			}
		})
	}

	// From the SMSC toward the ESME: data_sm, an unknown vendor command and
	// alert_notification (which has no response).
	alert := pdu.Begin(nil, pdu.AlertNotification, 0, 1)
	alert.Address(1, 1, "15552223333").Address(1, 1, "15550001111").TLV(pdu.TagMsAvailabilityStatus, []byte{0})
	for _, raw := range [][]byte{dataSM.End(), vendor.End()} {
		// Each reader finishes before the next PDU is sent: the client answers
		// data_sm itself, so SendPDU can return before this reader has taken it,
		// and the next reader would then take it instead of its own PDU.
		read := make(chan struct{})
		go func() {
			defer close(read)
			p, err := e.NextDeliver(h.ctx())
			if err != nil {
				t.Error(err)
				return
			}
			if !sameExceptSeq(p, raw) {
				t.Errorf("%s from the SMSC changed on the way:\nSMSC sent % x\nESME got  % x", pdu.ID(raw), raw, p)
			}
			// The client answers data_sm itself; answer the vendor command here.
			if pdu.ID(p) != pdu.DataSM {
				e.Respond(pdu.AppendHeaderOnly(nil, pdu.ID(p).Resp(), pdu.ESME_ROK, pdu.Seq(p)))
			}
		}()
		resp, err := h.sim.SendPDU(h.ctx(), "acme", raw)
		if err != nil {
			t.Fatalf("SendPDU %s: %v", pdu.ID(raw), err)
		}
		if pdu.ID(resp) != pdu.ID(raw).Resp() || pdu.StatusOf(resp) != pdu.ESME_ROK {
			t.Errorf("SMSC got %s %s for its %s", pdu.ID(resp), pdu.StatusOf(resp), pdu.ID(raw))
		}
		<-read
	}
	h.srvSendsAlert(e, alert.End())
}

// srvSendsAlert has the SMSC send alert_notification and checks the ESME gets
// it unchanged; nothing answers it.
func (h *harness) srvSendsAlert(e *testenv.ESME, raw []byte) {
	h.t.Helper()
	ctx := testenv.Context(h.t, 300*time.Millisecond)
	go h.sim.SendPDU(ctx, "acme", raw) // returns at ctx's end: no response exists
	p, err := e.NextDeliver(h.ctx())
	if err != nil {
		h.t.Fatal(err)
	}
	if !sameExceptSeq(p, raw) {
		h.t.Fatalf("alert_notification changed on the way:\nSMSC sent % x\nESME got  % x", raw, p)
	}
}

func TestEnquireLinkAnsweredOnEachLeg(t *testing.T) {
	h := newHarness(t, smpp.Options{}, testenv.SMSCConfig{})
	e := h.bind(pdu.BindTransceiver, "acme", testenv.ESMEConfig{})
	for i := 0; i < 3; i++ {
		if err := e.EnquireLink(h.ctx()); err != nil {
			t.Fatalf("ESME enquire_link: %v", err)
		}
		if err := h.sim.SendEnquireLink(h.ctx(), "acme"); err != nil {
			t.Fatalf("SMSC enquire_link: %v", err)
		}
	}
	if n := h.sim.Count(pdu.EnquireLink); n != 0 {
		t.Errorf("the ESME's enquire_link reached the SMSC %d times", n)
	}
	if esmeGot(e, pdu.EnquireLink) != 0 {
		t.Error("the SMSC's enquire_link reached the ESME")
	}
}

func TestIdleLinksProbed(t *testing.T) {
	h := newHarness(t, smpp.Options{EnquireLinkInterval: 100 * time.Millisecond}, testenv.SMSCConfig{})
	e := h.bind(pdu.BindTransceiver, "acme", testenv.ESMEConfig{})
	testenv.Eventually(t, 3*time.Second, func() bool { return h.sim.Count(pdu.EnquireLink) > 0 }, "no enquire_link to the idle SMSC leg")
	testenv.Eventually(t, 3*time.Second, func() bool { return esmeGot(e, pdu.EnquireLink) > 0 }, "no enquire_link to the idle ESME leg")
	// Both answered: the bind is still up.
	if _, err := e.Submit(h.ctx(), textSM("still here")); err != nil {
		t.Fatal(err)
	}
}

func TestUnknownCommandsRefusedWhenConfigured(t *testing.T) {
	h := newHarness(t, smpp.Options{RefuseUnknownCommands: true}, testenv.SMSCConfig{})
	e := h.bind(pdu.BindTransceiver, "acme", testenv.ESMEConfig{})
	vendor := pdu.Begin(nil, pdu.CommandID(0x00010200), 0, 1)
	resp, err := e.Request(h.ctx(), vendor.End())
	if err != nil {
		t.Fatal(err)
	}
	if pdu.ID(resp) != pdu.GenericNack || pdu.StatusOf(resp) != pdu.ESME_RINVCMDID {
		t.Errorf("got %s %s, want generic_nack ESME_RINVCMDID", pdu.ID(resp), pdu.StatusOf(resp))
	}
	if h.sim.Count(pdu.CommandID(0x00010200)) != 0 {
		t.Error("the refused command reached the SMSC")
	}
}
