package smpp_test

import (
	"context"
	"testing"
	"time"

	"github.com/optguard/optguard/smpp"
	"github.com/optguard/optguard/smpp/pdu"
	"github.com/optguard/optguard/testenv"
)

// collect reads n responses from e, failing after d.
func collect(t *testing.T, e *testenv.ESME, n int, d time.Duration) []([]byte) {
	t.Helper()
	var out [][]byte
	timeout := time.After(d)
	for len(out) < n {
		select {
		case p := <-e.Responses():
			out = append(out, p)
		case <-timeout:
			t.Fatalf("got %d of %d responses within %s", len(out), n, d)
		}
	}
	return out
}

func TestSMSCLostWithRequestsInFlight(t *testing.T) {
	const inFlight = 100
	h := newHarness(t, smpp.Options{ResponseTimeout: 5 * time.Second}, testenv.SMSCConfig{})
	e := h.bind(pdu.BindTransceiver, "acme", testenv.ESMEConfig{})
	h.sim.HoldResponses(true)
	sent := map[uint32]bool{}
	for i := 0; i < inFlight; i++ {
		seq, err := e.Send(mustSM(t, 0, textSM("in flight")))
		if err != nil {
			t.Fatal(err)
		}
		sent[seq] = true
	}
	testenv.Eventually(t, 3*time.Second, func() bool { return h.sim.Count(pdu.SubmitSM) == inFlight }, "SMSC did not receive them all")
	start := time.Now()
	h.sim.DropConnections()
	for _, p := range collect(t, e, inFlight, 5*time.Second) {
		if pdu.ID(p) != pdu.SubmitSMResp || pdu.StatusOf(p) != pdu.ESME_RSYSERR || !sent[pdu.Seq(p)] {
			t.Fatalf("got %s %s seq %d, want submit_sm_resp ESME_RSYSERR for a sent seq", pdu.ID(p), pdu.StatusOf(p), pdu.Seq(p))
		}
		delete(sent, pdu.Seq(p))
	}
	if len(sent) != 0 {
		t.Fatalf("%d requests never answered", len(sent))
	}
	// Then the ESME is unbound and closed.
	waitClosed(t, e, 5*time.Second, "ESME after the SMSC was lost")
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("answering and closing took %s", took)
	}
	if esmeGot(e, pdu.Unbind) == 0 {
		t.Error("the ESME was closed without an unbind")
	}
}

func TestResponseTimeoutAnswered(t *testing.T) {
	const timeout = 300 * time.Millisecond
	h := newHarness(t, smpp.Options{ResponseTimeout: timeout, TimeoutStatus: pdu.ESME_RMSGQFUL}, testenv.SMSCConfig{})
	e := h.bind(pdu.BindTransceiver, "acme", testenv.ESMEConfig{ManualDeliverResp: true})
	h.sim.HoldResponses(true)
	start := time.Now()
	r, err := e.Submit(h.ctx(), textSM("nobody answers"))
	took := time.Since(start)
	if err != nil || r.Header.Status != pdu.ESME_RMSGQFUL {
		t.Fatalf("got %v %v, want the configured timeout status ESME_RMSGQFUL", r.Header.Status, err)
	}
	if took < timeout || took > timeout+time.Second {
		t.Errorf("answered after %s, want about %s", took, timeout)
	}
	// The SMSC's deliver_sm the ESME never answers is answered too.
	sts, err := h.sim.SendMO(h.ctx(), "acme", testenv.MO{From: "15552223333", To: "15550001111", Text: "hello?"})
	if err != nil || len(sts) != 1 || sts[0] != pdu.ESME_RMSGQFUL {
		t.Fatalf("SMSC got %v %v for an unanswered deliver_sm", sts, err)
	}
	// A late response is dropped, not relayed twice.
	h.sim.HoldResponses(false)
	if r, err := e.Submit(h.ctx(), textSM("answered")); err != nil || r.Header.Status != pdu.ESME_ROK {
		t.Fatalf("after the timeout: %v %v", r.Header.Status, err)
	}
}

func TestWindowFullThrottles(t *testing.T) {
	const window = 4
	h := newHarness(t, smpp.Options{Window: window, ResponseTimeout: 10 * time.Second}, testenv.SMSCConfig{})
	e := h.bind(pdu.BindTransceiver, "acme", testenv.ESMEConfig{})
	h.sim.HoldResponses(true)
	for i := 0; i < 10; i++ {
		if _, err := e.Send(mustSM(t, 0, textSM("burst"))); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range collect(t, e, 10-window, 2*time.Second) {
		if pdu.StatusOf(p) != pdu.ESME_RTHROTTLED {
			t.Fatalf("got %s, want ESME_RTHROTTLED", pdu.StatusOf(p))
		}
	}
	testenv.Eventually(t, 2*time.Second, func() bool { return h.sim.Count(pdu.SubmitSM) == window },
		"SMSC did not receive the window of %d", window)
	time.Sleep(50 * time.Millisecond) // and no more than the window
	if n := h.sim.Count(pdu.SubmitSM); n != window {
		t.Errorf("SMSC received %d, want the window of %d", n, window)
	}
	h.sim.HoldResponses(false)
	h.sim.DropConnections() // the held ones are answered with the timeout status
	for _, p := range collect(t, e, window, 5*time.Second) {
		if pdu.StatusOf(p) != pdu.ESME_RSYSERR {
			t.Fatalf("held request answered %s", pdu.StatusOf(p))
		}
	}
}

func TestESMEDisappears(t *testing.T) {
	h := newHarness(t, smpp.Options{}, testenv.SMSCConfig{})
	e := h.bind(pdu.BindTransceiver, "acme", testenv.ESMEConfig{})
	if err := h.sim.WaitSessions(h.ctx(), 1); err != nil {
		t.Fatal(err)
	}
	e.Close()
	testenv.Eventually(t, 3*time.Second, func() bool { return h.sim.Count(pdu.Unbind) == 1 }, "the SMSC leg was not unbound")
	testenv.Eventually(t, 3*time.Second, func() bool { return len(h.sim.Sessions()) == 0 }, "the SMSC leg was not closed")
}

func TestOrderlyUnbindFromEachSide(t *testing.T) {
	h := newHarness(t, smpp.Options{}, testenv.SMSCConfig{})
	e := h.bind(pdu.BindTransceiver, "acme", testenv.ESMEConfig{})
	if err := e.Unbind(h.ctx()); err != nil {
		t.Fatalf("ESME unbind: %v", err)
	}
	if n := h.sim.Count(pdu.Unbind); n != 1 {
		t.Errorf("SMSC got %d unbinds before the ESME's unbind_resp, want 1", n)
	}
	testenv.Eventually(t, 3*time.Second, func() bool { return len(h.sim.Sessions()) == 0 }, "SMSC leg still open")

	e2 := h.bind(pdu.BindTransceiver, "acme", testenv.ESMEConfig{})
	resp, err := h.sim.SendPDU(h.ctx(), "acme", pdu.AppendUnbind(nil, 1))
	if err != nil || pdu.ID(resp) != pdu.UnbindResp {
		t.Fatalf("SMSC unbind: %v %v", resp, err)
	}
	waitClosed(t, e2, 3*time.Second, "ESME after the SMSC unbound")
	if esmeGot(e2, pdu.Unbind) == 0 {
		t.Error("the ESME was not unbound before the close")
	}
}

func TestShutdownUnbindsEverySession(t *testing.T) {
	h := newHarness(t, smpp.Options{}, testenv.SMSCConfig{})
	var es []*testenv.ESME
	for _, id := range []string{"acme", "beta", "acme"} {
		es = append(es, h.bind(pdu.BindTransceiver, id, testenv.ESMEConfig{}))
	}
	unbound := h.dial(testenv.ESMEConfig{})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := h.srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	for i, e := range es {
		waitClosed(t, e, time.Second, "bound ESME after Shutdown")
		if esmeGot(e, pdu.Unbind) == 0 {
			t.Errorf("ESME %d closed without an unbind", i)
		}
	}
	waitClosed(t, unbound, time.Second, "unbound ESME after Shutdown")
	if n := h.sim.Count(pdu.Unbind); n != 3 {
		t.Errorf("SMSC got %d unbinds, want 3", n)
	}
	// Shutdown is idempotent (the harness calls it again) and the server
	// refuses new connections.
	if err := h.srv.Shutdown(ctx); err != nil {
		t.Errorf("second Shutdown: %v", err)
	}
	if e, err := testenv.DialESME(h.ctx(), h.addr, testenv.ESMEConfig{}); err == nil {
		e.Close()
		t.Error("dialing after Shutdown succeeded")
	}
}
