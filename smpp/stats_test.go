package smpp_test

import (
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/optguard/optguard/smpp"
	"github.com/optguard/optguard/smpp/pdu"
	"github.com/optguard/optguard/testenv"
)

// Received counts the requests that arrived on each leg, and Upstreams what
// each route's SMSC did: the numbers the live view shows, read without
// Prometheus.
func TestReceivedAndUpstreams(t *testing.T) {
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := closed.Addr().String()
	closed.Close()
	var simAddr atomic.Pointer[string] // known once the harness started the simulator
	h := newHarness(t, smpp.Options{Router: func(systemID string) smpp.Route {
		if systemID == "down" {
			return smpp.Route{Name: "broken", Address: closedAddr, ConnectTimeout: time.Second}
		}
		return smpp.Route{Name: "sim", Address: *simAddr.Load(), ConnectTimeout: time.Second}
	}}, testenv.SMSCConfig{})
	addr := h.sim.Addr()
	simAddr.Store(&addr)

	e := h.bind(pdu.BindTransceiver, "acme", testenv.ESMEConfig{})
	for range 3 {
		if _, err := e.Submit(h.ctx(), textSM("count me")); err != nil {
			t.Fatal(err)
		}
	}
	if st, err := h.dial(testenv.ESMEConfig{}).Bind(h.ctx(), pdu.BindTransmitter, "down", "x"); err != nil || st != pdu.ESME_RBINDFAIL {
		t.Fatalf("bind over the broken route: %s %v", st, err)
	}
	// A reader publishes its counts at the end of its batch.
	testenv.Eventually(t, 3*time.Second, func() bool { return h.srv.Received(smpp.Downstream, pdu.SubmitSM) == 3 },
		"the three submit_sm were not counted")
	if n := h.srv.Received(smpp.Upstream, pdu.SubmitSM); n != 0 {
		t.Errorf("submit_sm received from the SMSC: %d, want 0", n)
	}
	if n := h.srv.Received(smpp.Downstream, pdu.SubmitSMResp); n != 0 {
		t.Errorf("a response counted as a request: %d", n)
	}

	ups := h.srv.Upstreams()
	if len(ups) != 2 || ups[0].Route != "broken" || ups[1].Route != "sim" {
		t.Fatalf("upstreams: %+v", ups)
	}
	broken, sim := ups[0], ups[1]
	if broken.Binds != 0 || broken.Failures != 1 || broken.LastFail.IsZero() || !strings.Contains(broken.LastErr, closedAddr) {
		t.Errorf("the broken route: %+v", broken)
	}
	if sim.Binds != 1 || sim.Failures != 0 || sim.LastBind.IsZero() || sim.LastErr != "" {
		t.Errorf("the simulator's route: %+v", sim)
	}
}
