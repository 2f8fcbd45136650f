package smpp_test

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/optguard/optguard/smpp"
	"github.com/optguard/optguard/smpp/pdu"
	"github.com/optguard/optguard/testenv"
)

// scripted is a test Interceptor whose verdict depends on the message text.
type scripted struct {
	mt, mo func(c *smpp.Call, m *pdu.Message) smpp.Verdict

	mu    sync.Mutex
	calls []smpp.Call // copies, PDU included
}

func (s *scripted) record(c *smpp.Call) {
	cp := *c
	cp.PDU = bytes.Clone(c.PDU)
	s.mu.Lock()
	s.calls = append(s.calls, cp)
	s.mu.Unlock()
}

func (s *scripted) MT(c *smpp.Call, m *pdu.Message) smpp.Verdict {
	s.record(c)
	if s.mt == nil {
		return smpp.Verdict{}
	}
	return s.mt(c, m)
}

func (s *scripted) MO(c *smpp.Call, m *pdu.Message) smpp.Verdict {
	s.record(c)
	if s.mo == nil {
		return smpp.Verdict{}
	}
	return s.mo(c, m)
}

func (s *scripted) seen() []smpp.Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]smpp.Call(nil), s.calls...)
}

func TestInterceptorRejectAndHold(t *testing.T) {
	ic := &scripted{mt: func(c *smpp.Call, m *pdu.Message) smpp.Verdict {
		switch string(m.ShortMessage) {
		case "REJECT":
			return smpp.Reject(pdu.ESME_RINVDSTADR)
		case "HOLD":
			return smpp.Hold("og-0001")
		}
		if v, ok := m.TLVs.Find(pdu.TagMessagePayload); ok && string(v) == "HOLD" {
			return smpp.Hold("og-0002")
		}
		return smpp.ForwardVerdict()
	}}
	h := newHarness(t, smpp.Options{Interceptor: ic}, testenv.SMSCConfig{})
	e := h.bind(pdu.BindTransmitter, "acme", testenv.ESMEConfig{})

	r, err := e.Submit(h.ctx(), textSM("REJECT"))
	if err != nil || r.Header.Status != pdu.ESME_RINVDSTADR {
		t.Errorf("reject: %v %v", r.Header.Status, err)
	}
	r, err = e.Submit(h.ctx(), textSM("HOLD"))
	if err != nil || r.Header.Status != pdu.ESME_ROK || r.MessageID != "og-0001" {
		t.Errorf("hold: %v %q %v", r.Header.Status, r.MessageID, err)
	}
	dataSM := pdu.Begin(nil, pdu.DataSM, 0, 1)
	dataSM.CString("").Address(1, 1, "15550001111").Address(1, 1, "15552223333").Byte(0).Byte(0).Byte(0).TLV(pdu.TagMessagePayload, []byte("HOLD"))
	resp, err := e.Request(h.ctx(), dataSM.End())
	if id, _, _ := pdu.ParseMessageIDResp(resp); err != nil || pdu.ID(resp) != pdu.DataSMResp || string(id) != "og-0002" {
		t.Errorf("data_sm hold: %s %q %v", pdu.ID(resp), id, err)
	}
	if h.sim.Count(pdu.SubmitSM) != 0 || h.sim.Count(pdu.DataSM) != 0 {
		t.Error("a rejected or held message reached the SMSC")
	}
	raw := mustSM(t, 1, textSM("pass"))
	h.request(e, raw)
	calls := ic.seen()
	last := calls[len(calls)-1]
	if last.SystemID != "acme" || last.Bind != smpp.Transmitter || last.Session == 0 || last.Remote == "" || !sameExceptSeq(last.PDU, raw) {
		t.Errorf("Call = %+v", last)
	}
}

func TestInterceptorSeesReceiptsAndMO(t *testing.T) {
	var mu sync.Mutex
	var kinds []bool
	ic := &scripted{mo: func(c *smpp.Call, m *pdu.Message) smpp.Verdict {
		mu.Lock()
		kinds = append(kinds, m.IsReceipt())
		mu.Unlock()
		if string(m.ShortMessage) == "DROP" {
			return smpp.Hold("")
		}
		return smpp.Verdict{}
	}}
	h := newHarness(t, smpp.Options{Interceptor: ic}, testenv.SMSCConfig{})
	e := h.bind(pdu.BindReceiver, "acme", testenv.ESMEConfig{})
	if _, err := h.sim.SendMO(h.ctx(), "acme", testenv.MO{From: "15552223333", To: "15550001111", Text: "YES"}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.sim.SendReceipt(h.ctx(), "acme", testenv.ReceiptSpec{MessageID: "ab12", Stat: "DELIVRD"}); err != nil {
		t.Fatal(err)
	}
	sts, err := h.sim.SendMO(h.ctx(), "acme", testenv.MO{From: "15552223333", To: "15550001111", Text: "DROP"})
	if err != nil || sts[0] != pdu.ESME_ROK {
		t.Fatalf("held MO answered %v %v, want ESME_ROK", sts, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(kinds) != 3 || kinds[0] || !kinds[1] || kinds[2] {
		t.Errorf("receipt flags seen: %v, want [false true false]", kinds)
	}
	if n := esmeGot(e, pdu.DeliverSM); n != 2 {
		t.Errorf("ESME received %d deliver_sm, want 2 (the held one kept back)", n)
	}
	if calls := ic.seen(); calls[0].SystemID != "acme" || calls[0].Bind != smpp.Receiver {
		t.Errorf("MO Call = %+v", calls[0])
	}
}

func TestInjectionsFollowTheVerdict(t *testing.T) {
	type result struct {
		resp []byte
		err  error
	}
	results := make(chan result, 4)
	onResp := func(resp []byte, err error) { results <- result{bytes.Clone(resp), err} }
	confirm := mustSM(t, 0, &pdu.SM{Source: pdu.Addr{Addr: "15550001111"}, Dest: pdu.Addr{Addr: "15552223333"}, ShortMessage: []byte("You are opted out")})
	notice, _ := pdu.AppendDeliverSM(nil, 0, &pdu.SM{Source: pdu.Addr{Addr: "15552223333"}, Dest: pdu.Addr{Addr: "15550001111"}, ShortMessage: []byte("[Auto] Your contact opted out")})
	ic := &scripted{mo: func(c *smpp.Call, m *pdu.Message) smpp.Verdict {
		if string(m.ShortMessage) != "STOP" {
			return smpp.Verdict{}
		}
		return smpp.Verdict{Inject: []smpp.Injection{
			{Leg: smpp.Upstream, PDU: confirm, OnResponse: onResp},
			{Leg: smpp.Downstream, PDU: notice, OnResponse: onResp},
		}}
	}}
	h := newHarness(t, smpp.Options{Interceptor: ic}, testenv.SMSCConfig{})
	e := h.bind(pdu.BindTransceiver, "acme", testenv.ESMEConfig{})
	if _, err := h.sim.SendMO(h.ctx(), "acme", testenv.MO{From: "15552223333", To: "15550001111", Text: "STOP"}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		select {
		case r := <-results:
			if r.err != nil || pdu.StatusOf(r.resp) != pdu.ESME_ROK {
				t.Fatalf("injection response: %v %v", r.resp, r.err)
			}
		case <-time.After(3 * time.Second):
			t.Fatal("injection responses did not come")
		}
	}
	// The ESME got the MO first, then the notice, and never the SMSC's
	// submit_sm_resp for the injected submit_sm.
	first, _ := e.NextDeliver(h.ctx())
	second, _ := e.NextDeliver(h.ctx())
	if !bytes.Contains(first, []byte("STOP")) || !sameExceptSeq(second, notice) {
		t.Errorf("ESME order: %q then %q", first, second)
	}
	if esmeGot(e, pdu.SubmitSMResp) != 0 {
		t.Error("the response to an injected submit_sm reached the ESME")
	}
	got := h.simGot(pdu.SubmitSM)
	if !sameExceptSeq(got.Raw, confirm) {
		t.Errorf("injected submit_sm changed:\n% x\n% x", confirm, got.Raw)
	}
	// The ESME's deliver_sm_resp to the notice went to the callback above, not
	// to the SMSC, which got only the one answering its MO.
	if n := countIn(h.sim, pdu.DeliverSMResp); n != 1 {
		t.Errorf("SMSC got %d deliver_sm_resp, want 1 (its own MO's)", n)
	}
}

func countIn(sim *testenv.SMSC, id pdu.CommandID) int {
	n := 0
	for _, r := range sim.Received() {
		if r.Dir == testenv.In && r.Header.ID == id {
			n++
		}
	}
	return n
}

func TestServerInject(t *testing.T) {
	h := newHarness(t, smpp.Options{}, testenv.SMSCConfig{})
	h.bind(pdu.BindReceiver, "rxonly", testenv.ESMEConfig{})
	e := h.bind(pdu.BindTransmitter, "acme", testenv.ESMEConfig{})
	msg := mustSM(t, 0, textSM("consent request"))
	done := make(chan []byte, 1)
	err := h.srv.Inject(smpp.Injection{SystemID: "acme", Leg: smpp.Upstream, PDU: msg, OnResponse: func(resp []byte, err error) {
		done <- bytes.Clone(resp)
	}})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case resp := <-done:
		if pdu.ID(resp) != pdu.SubmitSMResp || pdu.StatusOf(resp) != pdu.ESME_ROK {
			t.Errorf("injected submit_sm answered %s %s", pdu.ID(resp), pdu.StatusOf(resp))
		}
	case <-time.After(3 * time.Second):
		t.Fatal("no response to the injected submit_sm")
	}
	for _, tc := range []struct {
		inj  smpp.Injection
		want error
	}{
		{smpp.Injection{SystemID: "nobody", Leg: smpp.Upstream, PDU: msg}, smpp.ErrNoRoute},
		{smpp.Injection{SystemID: "rxonly", Leg: smpp.Upstream, PDU: msg}, smpp.ErrNoRoute},
		{smpp.Injection{SystemID: "acme", Leg: smpp.Downstream, PDU: msg}, smpp.ErrNoRoute}, // a transmitter receives nothing
		{smpp.Injection{Leg: smpp.Upstream, PDU: msg}, smpp.ErrNoRoute},
		{smpp.Injection{SystemID: "acme", Leg: smpp.Upstream, PDU: pdu.AppendSubmitSMResp(nil, 0, 1, "x")}, smpp.ErrNotRequest},
		{smpp.Injection{SystemID: "acme", Leg: smpp.Upstream, PDU: msg[:20]}, pdu.ErrLengthMismatch},
	} {
		if err := h.srv.Inject(tc.inj); !errors.Is(err, tc.want) {
			t.Errorf("Inject(%s, %s) = %v, want %v", tc.inj.SystemID, tc.inj.Leg, err, tc.want)
		}
	}
	if esmeGot(e, pdu.SubmitSMResp) != 0 {
		t.Error("the ESME saw the response to an injected submit_sm")
	}
}

func TestReceiverCannotSubmit(t *testing.T) {
	ic := &scripted{}
	h := newHarness(t, smpp.Options{Interceptor: ic}, testenv.SMSCConfig{})
	e := h.bind(pdu.BindReceiver, "acme", testenv.ESMEConfig{})
	r, err := e.Submit(h.ctx(), textSM("from a receiver"))
	if err != nil || r.Header.Status != pdu.ESME_RINVBNDSTS {
		t.Errorf("submit on a receiver bind: %v %v, want ESME_RINVBNDSTS", r.Header.Status, err)
	}
	if len(ic.seen()) != 0 || h.sim.Count(pdu.SubmitSM) != 0 {
		t.Error("the submit_sm went past the proxy")
	}
}

func TestPanickingInterceptorClosesOnlyItsSession(t *testing.T) {
	ic := &scripted{mt: func(c *smpp.Call, m *pdu.Message) smpp.Verdict {
		if string(m.ShortMessage) == "PANIC" {
			panic("interceptor bug")
		}
		if string(m.ShortMessage) == "ODD" {
			return smpp.Verdict{Action: smpp.Action(42)}
		}
		return smpp.Verdict{}
	}}
	h := newHarness(t, smpp.Options{Interceptor: ic}, testenv.SMSCConfig{})
	bad := h.bind(pdu.BindTransceiver, "acme", testenv.ESMEConfig{})
	good := h.bind(pdu.BindTransceiver, "beta", testenv.ESMEConfig{})
	if r, err := good.Submit(h.ctx(), textSM("ODD")); err != nil || r.Header.Status != pdu.ESME_RSYSERR {
		t.Errorf("unknown action: %v %v, want ESME_RSYSERR (fail closed)", r.Header.Status, err)
	}
	if _, err := bad.Send(mustSM(t, 0, textSM("PANIC"))); err != nil {
		t.Fatal(err)
	}
	waitClosed(t, bad, 3*time.Second, "the session whose interceptor call panicked")
	testenv.Eventually(t, 3*time.Second, func() bool { return h.sim.Count(pdu.Unbind) == 1 }, "its SMSC leg was not unbound")
	if r, err := good.Submit(h.ctx(), textSM("fine")); err != nil || r.Header.Status != pdu.ESME_ROK {
		t.Fatalf("the other bind: %v %v", r.Header.Status, err)
	}
}

// quickScripted is a scripted Interceptor that is also a
// SessionInterceptor. Its SessionMTs record every call in one log and
// decide by the destination: 15552223333 is forwarded, 15556667777 refused
// with ESME_RX_P_APPN, anything else left to MT.
type quickScripted struct {
	scripted
	lmu sync.Mutex
	log []string // "session system_id", "prefetch DEST", "quick DEST", "mt DEST", "mo"
}

func (q *quickScripted) note(format string, args ...any) {
	q.lmu.Lock()
	q.log = append(q.log, fmt.Sprintf(format, args...))
	q.lmu.Unlock()
}

func (q *quickScripted) calls() string {
	q.lmu.Lock()
	defer q.lmu.Unlock()
	return strings.Join(q.log, ", ")
}

func (q *quickScripted) SessionMT(c *smpp.Call) smpp.SessionMT {
	q.note("session %s", c.SystemID)
	return quickSession{q}
}

func (q *quickScripted) MT(c *smpp.Call, m *pdu.Message) smpp.Verdict {
	q.note("mt %s", m.Dest.Addr)
	return q.scripted.MT(c, m)
}

func (q *quickScripted) MO(c *smpp.Call, m *pdu.Message) smpp.Verdict {
	q.note("mo")
	return q.scripted.MO(c, m)
}

type quickSession struct{ q *quickScripted }

func (s quickSession) PrefetchMT(m *pdu.Message) { s.q.note("prefetch %s", m.Dest.Addr) }

func (s quickSession) QuickMT(m *pdu.Message) (pdu.Status, bool) {
	s.q.note("quick %s", m.Dest.Addr)
	switch string(m.Dest.Addr) {
	case "15552223333":
		return pdu.ESME_ROK, true
	case "15556667777":
		return pdu.ESME_RX_P_APPN, true
	}
	return pdu.ESME_ROK, false
}

// TestSessionMTDecidesBeforeMT: an Interceptor that is a
// SessionInterceptor is asked once per bind that may transmit for its
// SessionMT, which is shown every submit_sm and data_sm once its addresses
// are scanned and asked for the verdict once it is scanned whole: what it
// forwards reaches the SMSC unchanged, what it refuses is answered with its
// status, and only what it leaves undecided goes to MT. submit_multi goes
// to MT alone, an MO never to the SessionMT, and an MT whose rest does not
// scan is prefetched and refused without a verdict.
func TestSessionMTDecidesBeforeMT(t *testing.T) {
	ic := &quickScripted{}
	h := newHarness(t, smpp.Options{Interceptor: ic}, testenv.SMSCConfig{})
	h.bind(pdu.BindReceiver, "acme", testenv.ESMEConfig{}) // no SessionMT: it cannot transmit
	e := h.bind(pdu.BindTransceiver, "acme", testenv.ESMEConfig{})
	fwd := textSM("one") // to 15552223333
	if r, err := e.Submit(h.ctx(), fwd); err != nil || r.Header.Status != pdu.ESME_ROK {
		t.Fatalf("submit_sm: %v %v", r.Header.Status, err)
	}
	got := h.simGot(pdu.SubmitSM)
	want, err := pdu.AppendSubmitSM(nil, got.Header.Seq, fwd)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Raw, want) {
		t.Errorf("the SMSC got % x, want % x", got.Raw, want)
	}
	refused := textSM("two")
	refused.Dest.Addr = "15556667777"
	if r, err := e.Submit(h.ctx(), refused); err != nil || r.Header.Status != pdu.ESME_RX_P_APPN {
		t.Fatalf("refused submit_sm answered %v, %v; want ESME_RX_P_APPN", r.Header.Status, err)
	}
	data := pdu.Begin(nil, pdu.DataSM, 0, 7)
	data.CString("").Address(1, 1, "15550001111").Address(1, 1, "15558889999").Byte(0).Byte(0).Byte(0).TLV(pdu.TagMessagePayload, []byte("three"))
	if resp, err := e.Request(h.ctx(), data.End()); err != nil || pdu.StatusOf(resp) != pdu.ESME_ROK {
		t.Fatalf("data_sm left to MT answered %v, %v", pdu.StatusOf(resp), err)
	}
	if resp, err := e.Request(h.ctx(), multiSM("15552223333")); err != nil || pdu.StatusOf(resp) != pdu.ESME_ROK {
		t.Fatalf("submit_multi answered %v, %v", pdu.StatusOf(resp), err)
	}
	// One whose addresses scan but whose schedule_delivery_time never ends.
	cut := pdu.Begin(nil, pdu.SubmitSM, 0, 11)
	cut.CString("").Address(1, 1, "15550001111").Address(1, 1, "15554445555").Byte(0).Byte(0).Byte(0).Octets(bytes.Repeat([]byte{'1'}, 30))
	if resp, err := e.Request(h.ctx(), cut.End()); err != nil || pdu.StatusOf(resp) == pdu.ESME_ROK {
		t.Fatalf("submit_sm with a bad schedule_delivery_time answered %v, %v; want a refusal", pdu.StatusOf(resp), err)
	}
	if _, err := h.sim.SendMO(h.ctx(), "acme", testenv.MO{From: "15552223333", To: "15550001111", Text: "YES"}); err != nil {
		t.Fatal(err)
	}
	wantCalls := "session acme, prefetch 15552223333, quick 15552223333, prefetch 15556667777, quick 15556667777, " +
		"prefetch 15558889999, quick 15558889999, mt 15558889999, mt , prefetch 15554445555, mo" // a submit_multi has no single Dest
	if got := ic.calls(); got != wantCalls {
		t.Fatalf("calls:\n %s\nwant\n %s", got, wantCalls)
	}
	if n := h.sim.Count(pdu.SubmitSM); n != 1 {
		t.Errorf("the SMSC got %d submit_sm, want 1 (the refused one is not relayed)", n)
	}
}
