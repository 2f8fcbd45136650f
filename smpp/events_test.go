package smpp_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/optguard/optguard/smpp"
	"github.com/optguard/optguard/smpp/pdu"
	"github.com/optguard/optguard/testenv"
)

func nextEvent(t *testing.T, ch chan smpp.BindEvent) smpp.BindEvent {
	t.Helper()
	select {
	case ev := <-ch:
		return ev
	case <-time.After(5 * time.Second):
		t.Fatal("no bind event")
		return smpp.BindEvent{}
	}
}

// TestBindEventsAndBinds: OnBind hears of a bind once it is up, early enough
// to inject on it from the callback, and once it is gone; Binds lists it
// meanwhile with what is outstanding on each leg.
func TestBindEventsAndBinds(t *testing.T) {
	events := make(chan smpp.BindEvent, 16)
	var srv atomic.Pointer[smpp.Server]
	notice, _ := pdu.AppendDeliverSM(nil, 0, &pdu.SM{Source: pdu.Addr{Addr: "15552223333"}, Dest: pdu.Addr{Addr: "15550001111"}, ShortMessage: []byte("[Auto] waited for your bind")})
	injected := make(chan error, 1)
	onBind := func(ev smpp.BindEvent) {
		events <- ev
		if ev.Bound {
			// Calling back into the Server from the callback must not block.
			injected <- srv.Load().Inject(smpp.Injection{Leg: smpp.Downstream, SystemID: ev.SystemID, PDU: notice})
		}
	}
	h := newHarness(t, smpp.Options{OnBind: onBind, Window: 32}, testenv.SMSCConfig{})
	srv.Store(h.srv)
	start := time.Now()
	e := h.bind(pdu.BindTransceiver, "acme", testenv.ESMEConfig{})
	ev := nextEvent(t, events)
	if !ev.Bound || ev.SystemID != "acme" || ev.Bind != smpp.Transceiver || ev.Session == 0 || ev.Remote == "" || ev.Service {
		t.Errorf("bound event = %+v", ev)
	}
	if err := <-injected; err != nil {
		t.Fatalf("Inject from OnBind: %v", err)
	}
	got, err := e.NextDeliver(h.ctx())
	if err != nil || !sameExceptSeq(got, notice) {
		t.Errorf("the ESME got % x (%v), want the notice injected from OnBind", got, err)
	}
	if recs := e.Received(); len(recs) == 0 || recs[0].Header.ID != pdu.BindTransceiverResp {
		t.Error("the notice overtook the bind_resp")
	}

	h.sim.HoldResponses(true)
	if _, err := e.Send(mustSM(t, 0, textSM("outstanding"))); err != nil {
		t.Fatal(err)
	}
	h.simGot(pdu.SubmitSM)
	// The ESME's deliver_sm_resp to the notice may still be on its way.
	var binds []smpp.BindInfo
	testenv.Eventually(t, 3*time.Second, func() bool {
		binds = h.srv.Binds()
		return len(binds) == 1 && binds[0].DownstreamOutstanding == 0
	}, "Binds did not settle")
	b := binds[0]
	if b.SystemID != "acme" || b.Bind != smpp.Transceiver || b.Session != ev.Session || b.Remote != ev.Remote ||
		b.Route != "sim" || b.Since.Before(start) || b.Since.After(time.Now()) || b.Window != 32 ||
		b.UpstreamOutstanding != 1 || b.DownstreamOutstanding != 0 || b.Service {
		t.Errorf("Binds()[0] = %+v", b)
	}
	h.sim.HoldResponses(false) // the held response is dropped; the unbind answers it

	if err := e.Unbind(h.ctx()); err != nil {
		t.Fatal(err)
	}
	gone := nextEvent(t, events)
	if gone.Bound || gone.Session != ev.Session || gone.SystemID != "acme" || gone.Bind != smpp.Transceiver {
		t.Errorf("gone event = %+v", gone)
	}
	if binds := h.srv.Binds(); len(binds) != 0 {
		t.Errorf("Binds after unbind = %+v", binds)
	}
	select {
	case ev := <-events:
		t.Errorf("an extra event: %+v", ev)
	case <-time.After(50 * time.Millisecond):
	}
}

// TestBindEventPanicDoesNotStopEvents: a panicking OnBind is logged and the
// next event still comes.
func TestBindEventPanicDoesNotStopEvents(t *testing.T) {
	events := make(chan smpp.BindEvent, 4)
	var n atomic.Int32
	h := newHarness(t, smpp.Options{OnBind: func(ev smpp.BindEvent) {
		if n.Add(1) == 1 {
			panic("callback bug")
		}
		events <- ev
	}}, testenv.SMSCConfig{})
	e := h.bind(pdu.BindTransmitter, "acme", testenv.ESMEConfig{})
	if err := e.Unbind(h.ctx()); err != nil {
		t.Fatal(err)
	}
	if ev := nextEvent(t, events); ev.Bound || ev.SystemID != "acme" {
		t.Errorf("event after the panic = %+v", ev)
	}
	if r, err := h.bind(pdu.BindTransmitter, "beta", testenv.ESMEConfig{}).Submit(h.ctx(), textSM("still relaying")); err != nil || r.Header.Status != pdu.ESME_ROK {
		t.Errorf("after a panicking callback: %v %v", r.Header.Status, err)
	}
	if ev := nextEvent(t, events); !ev.Bound || ev.SystemID != "beta" {
		t.Errorf("next event = %+v", ev)
	}
}
