package smpp_test

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/optguard/optguard/smpp"
	"github.com/optguard/optguard/smpp/pdu"
	"github.com/optguard/optguard/testenv"
)

// deferAll is an Interceptor that defers every message of one direction and
// hands the Deferred to the test.
func deferAll(mt bool) (*scripted, chan *smpp.Deferred) {
	ch := make(chan *smpp.Deferred, 256)
	f := func(c *smpp.Call, m *pdu.Message) smpp.Verdict {
		if m.IsReceipt() {
			return smpp.Verdict{}
		}
		d := c.Defer()
		if d == nil || c.Defer() != d {
			panic("Defer during the call must return one Deferred")
		}
		ch <- d
		return smpp.Verdict{Action: smpp.ActDefer}
	}
	if mt {
		return &scripted{mt: f}, ch
	}
	return &scripted{mo: f}, ch
}

func nextDeferred(t *testing.T, ch chan *smpp.Deferred) *smpp.Deferred {
	t.Helper()
	select {
	case d := <-ch:
		return d
	case <-time.After(5 * time.Second):
		t.Fatal("the interceptor deferred nothing")
		return nil
	}
}

// sendMO sends an MO from the simulator in the background; the returned
// channel gets its deliver_sm_resp status.
func sendMO(h *harness, text string) chan pdu.Status {
	got := make(chan pdu.Status, 1)
	go func() {
		sts, err := h.sim.SendMO(h.ctx(), "acme", testenv.MO{From: "15552223333", To: "15550001111", Text: text})
		if err != nil || len(sts) != 1 {
			got <- pdu.Status(0xffffffff)
			return
		}
		got <- sts[0]
	}()
	return got
}

// TestDeferredMOAnsweredAfterFinish: the SMSC's deliver_sm is answered only
// once Finish relays the MO from another goroutine and the ESME answers it.
func TestDeferredMOAnsweredAfterFinish(t *testing.T) {
	ic, deferred := deferAll(false)
	h := newHarness(t, smpp.Options{Interceptor: ic}, testenv.SMSCConfig{})
	e := h.bind(pdu.BindReceiver, "acme", testenv.ESMEConfig{})
	status := sendMO(h, "STOP")
	d := nextDeferred(t, deferred)
	sent := h.simSent(pdu.DeliverSM)
	if !bytes.Equal(d.PDU(), sent.Raw) {
		t.Errorf("Deferred.PDU is not the PDU that arrived:\n% x\n% x", d.PDU(), sent.Raw)
	}
	time.Sleep(150 * time.Millisecond) // the durable write the policy would do
	if n := countIn(h.sim, pdu.DeliverSMResp); n != 0 {
		t.Fatalf("the SMSC got %d deliver_sm_resp before Finish", n)
	}
	if n := esmeGot(e, pdu.DeliverSM); n != 0 {
		t.Fatalf("the ESME got %d deliver_sm before Finish", n)
	}
	finished := make(chan error, 1)
	go func() { finished <- d.Finish(smpp.ForwardVerdict()) }()
	if err := <-finished; err != nil {
		t.Fatalf("Finish: %v", err)
	}
	if st := <-status; st != pdu.ESME_ROK {
		t.Fatalf("deliver_sm answered %s", st)
	}
	got, err := e.NextDeliver(h.ctx())
	if err != nil || !sameExceptSeq(got, sent.Raw) {
		t.Errorf("ESME got % x (%v), want the MO as it arrived", got, err)
	}
	if resp := h.simGot(pdu.DeliverSMResp); resp.Header.Seq != sent.Header.Seq {
		t.Errorf("deliver_sm_resp seq %d, want %d", resp.Header.Seq, sent.Header.Seq)
	}
	if err := d.Finish(smpp.ForwardVerdict()); !errors.Is(err, smpp.ErrDeferredDone) {
		t.Errorf("second Finish = %v, want ErrDeferredDone", err)
	}
	time.Sleep(50 * time.Millisecond)
	if n := countIn(h.sim, pdu.DeliverSMResp); n != 1 {
		t.Errorf("the SMSC got %d deliver_sm_resp after a second Finish, want 1", n)
	}
	if n := esmeGot(e, pdu.DeliverSM); n != 1 {
		t.Errorf("the ESME got %d deliver_sm, want 1", n)
	}
}

// TestDeferredMOsFinishedOutOfOrder: many deferred MOs finished in an order of
// the test's choosing reach the ESME in that order, and each deliver_sm_resp
// the SMSC gets carries the sequence number of the MO it answers.
func TestDeferredMOsFinishedOutOfOrder(t *testing.T) {
	const n = 40
	ic, deferred := deferAll(false)
	h := newHarness(t, smpp.Options{Interceptor: ic}, testenv.SMSCConfig{})
	e := h.bind(pdu.BindTransceiver, "acme", testenv.ESMEConfig{})
	statuses := make([]chan pdu.Status, n)
	for i := range statuses {
		statuses[i] = sendMO(h, fmt.Sprintf("mo %02d", i))
	}
	ds := make([]*smpp.Deferred, n)
	for i := range ds {
		ds[i] = nextDeferred(t, deferred)
	}
	// Finish odd positions backwards, then even ones forwards, each from its
	// own goroutine in turn.
	var order []*smpp.Deferred
	for i := n - 1; i >= 0; i-- {
		if i%2 == 1 {
			order = append(order, ds[i])
		}
	}
	for i := 0; i < n; i += 2 {
		order = append(order, ds[i])
	}
	for _, d := range order {
		done := make(chan error)
		go func() { done <- d.Finish(smpp.ForwardVerdict()) }()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	for i, ch := range statuses {
		if st := <-ch; st != pdu.ESME_ROK {
			t.Fatalf("MO %d answered %s", i, st)
		}
	}
	for i, d := range order {
		got, err := e.NextDeliver(h.ctx())
		if err != nil || !sameExceptSeq(got, d.PDU()) {
			t.Fatalf("deliver_sm %d at the ESME is not the %dth finished", i, i)
		}
	}
	var respSeqs []uint32
	for _, r := range h.sim.Received() {
		if r.Dir == testenv.In && r.Header.ID == pdu.DeliverSMResp {
			respSeqs = append(respSeqs, r.Header.Seq)
		}
	}
	if len(respSeqs) != n {
		t.Fatalf("the SMSC got %d deliver_sm_resp, want %d", len(respSeqs), n)
	}
	for i, d := range order {
		if respSeqs[i] != pdu.Seq(d.PDU()) {
			t.Fatalf("deliver_sm_resp %d has seq %d, want %d (finish order)", i, respSeqs[i], pdu.Seq(d.PDU()))
		}
	}
}

// TestDeferredAfterTeardown: a deferred MO whose bind is gone is never
// answered, and Finish says so without blocking or panicking.
func TestDeferredAfterTeardown(t *testing.T) {
	ic, deferred := deferAll(false)
	h := newHarness(t, smpp.Options{Interceptor: ic}, testenv.SMSCConfig{})
	e := h.bind(pdu.BindReceiver, "acme", testenv.ESMEConfig{})
	status := sendMO(h, "STOP")
	d := nextDeferred(t, deferred)
	if err := e.Unbind(h.ctx()); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 3*time.Second, func() bool { return h.sim.Count(pdu.Unbind) == 1 }, "the SMSC leg was not unbound")
	if st := <-status; st == pdu.ESME_ROK {
		t.Error("the deferred MO was acknowledged on a bind that was torn down")
	}
	inj := make(chan error, 1)
	v := smpp.Verdict{Inject: []smpp.Injection{{Leg: smpp.Downstream, PDU: mustSM(t, 0, textSM("notice")), OnResponse: func(_ []byte, err error) { inj <- err }}}}
	if err := d.Finish(v); !errors.Is(err, smpp.ErrSessionClosed) {
		t.Errorf("Finish after teardown = %v, want ErrSessionClosed", err)
	}
	if err := d.Finish(v); !errors.Is(err, smpp.ErrDeferredDone) {
		t.Errorf("second Finish = %v, want ErrDeferredDone", err)
	}
	select {
	case err := <-inj:
		t.Errorf("an injection of a verdict that was not carried out was attempted: %v", err)
	default:
	}
	if n := countIn(h.sim, pdu.DeliverSMResp); n != 0 {
		t.Errorf("the SMSC got %d deliver_sm_resp", n)
	}
}

// TestDeferredMTVerdicts: every verdict Finish can give to a deferred MT, as
// the ESME and the SMSC see it.
func TestDeferredMTVerdicts(t *testing.T) {
	replacement := mustSM(t, 99, textSM("replaced"))
	cases := []struct {
		name       string
		v          smpp.Verdict
		err        error // want errors.Is(Finish's, err); nil = want nil unless failing
		failing    bool  // Finish must return an error
		status     pdu.Status
		id         string // message_id answered; "*" = the SMSC's
		smscGets   []byte // nil = nothing
		forwardsIt bool
	}{
		{name: "forward", v: smpp.ForwardVerdict(), status: pdu.ESME_ROK, id: "*", forwardsIt: true},
		{name: "replace", v: smpp.Verdict{Action: smpp.ActReplace, Replace: replacement}, status: pdu.ESME_ROK, id: "*", smscGets: replacement},
		{name: "reject", v: smpp.Reject(pdu.ESME_RINVDSTADR), status: pdu.ESME_RINVDSTADR},
		{name: "reject without status", v: smpp.Verdict{Action: smpp.ActReject}, status: pdu.ESME_RX_R_APPN},
		{name: "hold", v: smpp.Hold("og-0077"), status: pdu.ESME_ROK, id: "og-0077"},
		{name: "bad replace", v: smpp.Verdict{Action: smpp.ActReplace, Replace: replacement[:20]}, err: smpp.ErrBadReplace, failing: true, status: pdu.ESME_RSYSERR},
		{name: "defer again", v: smpp.Verdict{Action: smpp.ActDefer}, failing: true, status: pdu.ESME_RSYSERR},
		{name: "unknown action", v: smpp.Verdict{Action: smpp.Action(42)}, failing: true, status: pdu.ESME_RSYSERR},
	}
	ic, deferred := deferAll(true)
	h := newHarness(t, smpp.Options{Interceptor: ic}, testenv.SMSCConfig{})
	e := h.bind(pdu.BindTransmitter, "acme", testenv.ESMEConfig{})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := h.sim.Count(pdu.SubmitSM)
			raw := mustSM(t, 0, textSM(tc.name))
			seq, err := e.Send(raw)
			if err != nil {
				t.Fatal(err)
			}
			d := nextDeferred(t, deferred)
			select {
			case resp := <-e.Responses():
				t.Fatalf("answered before Finish: % x", resp)
			case <-time.After(50 * time.Millisecond):
			}
			err = d.Finish(tc.v)
			switch {
			case tc.failing && (err == nil || tc.err != nil && !errors.Is(err, tc.err)):
				t.Errorf("Finish = %v, want an error (%v)", err, tc.err)
			case !tc.failing && err != nil:
				t.Errorf("Finish = %v", err)
			}
			var resp []byte
			select {
			case resp = <-e.Responses():
			case <-time.After(5 * time.Second):
				t.Fatal("no submit_sm_resp after Finish")
			}
			if pdu.Seq(resp) != seq || pdu.StatusOf(resp) != tc.status {
				t.Fatalf("answered seq %d %s, want seq %d %s", pdu.Seq(resp), pdu.StatusOf(resp), seq, tc.status)
			}
			if tc.id != "" {
				id, _, err := pdu.ParseMessageIDResp(resp)
				if err != nil || tc.id != "*" && string(id) != tc.id || tc.id == "*" && len(id) == 0 {
					t.Errorf("message_id %q (%v), want %s", id, err, tc.id)
				}
			}
			after := h.sim.Count(pdu.SubmitSM)
			want := before
			if tc.forwardsIt || tc.smscGets != nil {
				want++
			}
			if after != want {
				t.Fatalf("the SMSC got %d submit_sm, want %d", after-before, want-before)
			}
			if want > before {
				var last []byte
				for _, r := range h.sim.Received() {
					if r.Dir == testenv.In && r.Header.ID == pdu.SubmitSM {
						last = r.Raw
					}
				}
				wantRaw := tc.smscGets
				if tc.forwardsIt {
					wantRaw = raw
				}
				if !sameExceptSeq(last, wantRaw) {
					t.Errorf("the SMSC got\n% x\nwant\n% x", last, wantRaw)
				}
			}
		})
	}
}

// TestDeferredInjectsAfterItsAnswer: Finish's injections go out after the
// verdict's own relay: the notice reaches the ESME after the MO.
func TestDeferredInjectsAfterItsAnswer(t *testing.T) {
	ic, deferred := deferAll(false)
	h := newHarness(t, smpp.Options{Interceptor: ic}, testenv.SMSCConfig{})
	e := h.bind(pdu.BindTransceiver, "acme", testenv.ESMEConfig{})
	status := sendMO(h, "STOP")
	d := nextDeferred(t, deferred)
	notice, _ := pdu.AppendDeliverSM(nil, 0, &pdu.SM{Source: pdu.Addr{Addr: "15552223333"}, Dest: pdu.Addr{Addr: "15550001111"}, ShortMessage: []byte("[Auto] opted out")})
	confirm := mustSM(t, 0, textSM("You are opted out"))
	var responses sync.WaitGroup
	responses.Add(2)
	var failed atomic.Int32
	onResp := func(resp []byte, err error) {
		if err != nil || pdu.StatusOf(resp) != pdu.ESME_ROK {
			failed.Add(1)
		}
		responses.Done()
	}
	err := d.Finish(smpp.Verdict{Inject: []smpp.Injection{
		{Leg: smpp.Downstream, PDU: notice, OnResponse: onResp},
		{Leg: smpp.Upstream, PDU: confirm, OnResponse: onResp},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if st := <-status; st != pdu.ESME_ROK {
		t.Fatalf("MO answered %s", st)
	}
	responses.Wait()
	if failed.Load() != 0 {
		t.Error("an injection failed")
	}
	first, _ := e.NextDeliver(h.ctx())
	second, _ := e.NextDeliver(h.ctx())
	if !sameExceptSeq(first, d.PDU()) || !sameExceptSeq(second, notice) {
		t.Errorf("ESME order: % x then % x", first, second)
	}
	if !sameExceptSeq(h.simGot(pdu.SubmitSM).Raw, confirm) {
		t.Error("the SMSC did not get the confirmation")
	}
}

// TestDeferMisuse: Defer outside a call, ActDefer without Defer, and a
// Deferred whose Interceptor returned another verdict after all.
func TestDeferMisuse(t *testing.T) {
	var kept atomic.Pointer[smpp.Deferred]
	ic := &scripted{mt: func(c *smpp.Call, m *pdu.Message) smpp.Verdict {
		switch string(m.ShortMessage) {
		case "defer without Defer":
			return smpp.Verdict{Action: smpp.ActDefer}
		case "Defer then forward":
			kept.Store(c.Defer())
			return smpp.ForwardVerdict()
		case "Finish inside, then hold":
			d := c.Defer()
			if err := d.Finish(smpp.Reject(pdu.ESME_RINVDSTADR)); err != nil {
				panic(err)
			}
			return smpp.Hold("og-1")
		}
		return smpp.Verdict{}
	}}
	h := newHarness(t, smpp.Options{Interceptor: ic}, testenv.SMSCConfig{})
	e := h.bind(pdu.BindTransmitter, "acme", testenv.ESMEConfig{})
	for _, tc := range []struct {
		text string
		want pdu.Status
	}{
		{"defer without Defer", pdu.ESME_RSYSERR},
		{"Defer then forward", pdu.ESME_ROK},
		{"Finish inside, then hold", pdu.ESME_RINVDSTADR}, // answered once, by Finish
	} {
		r, err := e.Submit(h.ctx(), textSM(tc.text))
		if err != nil || r.Header.Status != tc.want {
			t.Errorf("%s: answered %s %v, want %s", tc.text, r.Header.Status, err, tc.want)
		}
	}
	if h.sim.Count(pdu.SubmitSM) != 1 {
		t.Errorf("the SMSC got %d submit_sm, want 1", h.sim.Count(pdu.SubmitSM))
	}
	if err := kept.Load().Finish(smpp.Hold("x")); !errors.Is(err, smpp.ErrDeferredDone) {
		t.Errorf("Finish of a message its verdict answered = %v, want ErrDeferredDone", err)
	}
	if d := (&smpp.Call{}).Defer(); d != nil {
		t.Error("Defer outside an Interceptor call returned a Deferred")
	}
	var none *smpp.Deferred
	if err := none.Finish(smpp.ForwardVerdict()); !errors.Is(err, smpp.ErrNotDeferred) {
		t.Errorf("nil Finish = %v, want ErrNotDeferred", err)
	}
	time.Sleep(50 * time.Millisecond)
	if n := len(e.Received()); n != 4 { // bind_resp and three answers: nothing twice
		t.Errorf("ESME received %d PDUs, want 4", n)
	}
}

// TestDeferredWindowFull: a deferred message relayed when the other leg's
// window is full is answered ESME_RTHROTTLED, as a relayed request is.
func TestDeferredWindowFull(t *testing.T) {
	deferred := make(chan *smpp.Deferred, 1)
	ic := &scripted{mt: func(c *smpp.Call, m *pdu.Message) smpp.Verdict {
		if string(m.ShortMessage) != "defer" {
			return smpp.Verdict{}
		}
		deferred <- c.Defer()
		return smpp.Verdict{Action: smpp.ActDefer}
	}}
	h := newHarness(t, smpp.Options{Interceptor: ic, Window: 1}, testenv.SMSCConfig{})
	e := h.bind(pdu.BindTransmitter, "acme", testenv.ESMEConfig{})
	h.sim.HoldResponses(true)
	if _, err := e.Send(mustSM(t, 0, textSM("fills the window"))); err != nil {
		t.Fatal(err)
	}
	h.simGot(pdu.SubmitSM)
	seq, err := e.Send(mustSM(t, 0, textSM("defer")))
	if err != nil {
		t.Fatal(err)
	}
	d := nextDeferred(t, deferred)
	if err := d.Finish(smpp.ForwardVerdict()); !errors.Is(err, smpp.ErrWindowFull) {
		t.Errorf("Finish = %v, want ErrWindowFull", err)
	}
	select {
	case resp := <-e.Responses():
		if pdu.Seq(resp) != seq || pdu.StatusOf(resp) != pdu.ESME_RTHROTTLED {
			t.Errorf("answered seq %d %s, want seq %d ESME_RTHROTTLED", pdu.Seq(resp), pdu.StatusOf(resp), seq)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no answer")
	}
	if n := h.sim.Count(pdu.SubmitSM); n != 1 {
		t.Errorf("the SMSC got %d submit_sm, want 1", n)
	}
	h.sim.HoldResponses(false)
}
