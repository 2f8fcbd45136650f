package smpp_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/optguard/optguard/smpp"
	"github.com/optguard/optguard/smpp/pdu"
	"github.com/optguard/optguard/testenv"
)

// simBound returns the simulator's bound sessions of systemID.
func simBound(sim *testenv.SMSC, systemID string) []testenv.SessionInfo {
	var out []testenv.SessionInfo
	for _, s := range sim.Sessions() {
		if s.Bound && s.SystemID == systemID {
			out = append(out, s)
		}
	}
	return out
}

// serviceUp waits until Binds lists the service bind of systemID and returns it.
func serviceUp(t *testing.T, srv *smpp.Server, systemID string, within time.Duration) smpp.BindInfo {
	t.Helper()
	var got smpp.BindInfo
	testenv.Eventually(t, within, func() bool {
		for _, b := range srv.Binds() {
			if b.Service && b.SystemID == systemID {
				got = b
				return true
			}
		}
		return false
	}, "service bind of "+systemID+" not up")
	return got
}

func injectVia(t *testing.T, h *harness, systemID string) (sessionAtSMSC uint64) {
	t.Helper()
	msg := mustSM(t, 0, textSM("consent request "+time.Now().String()))
	resp := make(chan []byte, 1)
	err := h.srv.Inject(smpp.Injection{Leg: smpp.Upstream, SystemID: systemID, PDU: msg, OnResponse: func(p []byte, err error) {
		resp <- bytes.Clone(p)
	}})
	if err != nil {
		t.Fatalf("Inject: %v", err)
	}
	select {
	case p := <-resp:
		if pdu.ID(p) != pdu.SubmitSMResp || pdu.StatusOf(p) != pdu.ESME_ROK {
			t.Fatalf("injection answered % x", p)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no response to the injection")
	}
	r, err := h.sim.WaitFor(h.ctx(), func(r testenv.Record) bool {
		return r.Dir == testenv.In && r.Header.ID == pdu.SubmitSM && sameExceptSeq(r.Raw, msg)
	})
	if err != nil {
		t.Fatal(err)
	}
	return r.Session
}

// TestServiceBind: a service bind binds with its credentials, carries
// injections when no ESME transmitter of the account is bound (and not when
// one is), reports itself, comes back after the SMSC drops it, and is unbound
// when removed.
func TestServiceBind(t *testing.T) {
	events := make(chan smpp.BindEvent, 16)
	h := newHarness(t, smpp.Options{OnBind: func(ev smpp.BindEvent) {
		if ev.Service {
			events <- ev
		}
	}}, testenv.SMSCConfig{Accounts: accounts})
	h.srv.SetServiceBinds([]smpp.ServiceBind{{SystemID: "acme", Password: "secret", SystemType: "OPTG"}})
	b := serviceUp(t, h.srv, "acme", 5*time.Second)
	if b.Bind != smpp.Transmitter || b.Route != "sim" || b.Remote != h.sim.Addr() {
		t.Errorf("service BindInfo = %+v", b)
	}
	if ev := nextEvent(t, events); !ev.Bound || ev.SystemID != "acme" || ev.Session != b.Session || !ev.Service {
		t.Errorf("service bind event = %+v", ev)
	}
	svcAtSMSC := simBound(h.sim, "acme")
	if len(svcAtSMSC) != 1 || svcAtSMSC[0].Bind != pdu.BindTransmitter {
		t.Fatalf("SMSC sessions of acme: %+v, want one transmitter", svcAtSMSC)
	}
	bind := h.simGot(pdu.BindTransmitter)
	parsed, err := pdu.ParseBind(bind.Raw)
	if err != nil || string(parsed.Password) != "secret" || string(parsed.SystemType) != "OPTG" || parsed.InterfaceVersion != 0x34 {
		t.Errorf("bind_transmitter sent: %+v %v", parsed, err)
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(h.srv.Collector())
	const gauge = "# HELP optguard_service_binds Service binds optguard keeps to the SMSC, by system_id: 1 bound, 0 down (reconnecting).\n# TYPE optguard_service_binds gauge\n"
	if err := testutil.GatherAndCompare(reg, strings.NewReader(gauge+"optguard_service_binds{system_id=\"acme\"} 1\n"), "optguard_service_binds"); err != nil {
		t.Error(err)
	}

	// No ESME of acme is bound: the service bind carries it. An ESME
	// receiver cannot transmit, so it does not change that.
	h.bind(pdu.BindReceiver, "acme", testenv.ESMEConfig{})
	if got := injectVia(t, h, "acme"); got != svcAtSMSC[0].ID {
		t.Errorf("injection went out on SMSC session %d, want the service bind's %d", got, svcAtSMSC[0].ID)
	}
	if err := h.srv.Inject(smpp.Injection{Leg: smpp.Upstream, SystemID: "beta", PDU: mustSM(t, 0, textSM("x"))}); !errors.Is(err, smpp.ErrNoRoute) {
		t.Errorf("Inject for an account with no bind at all = %v, want ErrNoRoute", err)
	}
	// An ESME transmitter of acme is preferred.
	esme := h.bind(pdu.BindTransmitter, "acme", testenv.ESMEConfig{})
	if got := injectVia(t, h, "acme"); got == svcAtSMSC[0].ID {
		t.Error("injection went out on the service bind while an ESME transmitter was bound")
	}
	esme.Unbind(h.ctx())

	// The SMSC drops every connection: the service bind comes back.
	h.sim.DropConnections()
	if ev := nextEvent(t, events); ev.Bound || ev.Session != b.Session {
		t.Errorf("service bind lost event = %+v", ev)
	}
	b2 := serviceUp(t, h.srv, "acme", 5*time.Second)
	if b2.Session == b.Session {
		t.Error("the service bind did not reconnect")
	}
	if ev := nextEvent(t, events); !ev.Bound || ev.Session != b2.Session {
		t.Errorf("service bind back event = %+v", ev)
	}
	testenv.Eventually(t, 3*time.Second, func() bool { return len(simBound(h.sim, "acme")) == 1 }, "the SMSC does not see the service bind again")
	svcAgain := simBound(h.sim, "acme")[0].ID
	if got := injectVia(t, h, "acme"); got != svcAgain {
		t.Errorf("after the reconnect the injection went out on SMSC session %d, want %d", got, svcAgain)
	}

	// Removing it unbinds it.
	unbinds := h.sim.Count(pdu.Unbind)
	h.srv.SetServiceBinds(nil)
	testenv.Eventually(t, 3*time.Second, func() bool { return h.sim.Count(pdu.Unbind) == unbinds+1 }, "the removed service bind was not unbound")
	testenv.Eventually(t, 3*time.Second, func() bool { return len(simBound(h.sim, "acme")) == 0 }, "the removed service bind is still connected")
	if ev := nextEvent(t, events); ev.Bound || ev.Session != b2.Session {
		t.Errorf("removed event = %+v", ev)
	}
	for _, b := range h.srv.Binds() {
		if b.Service {
			t.Errorf("Binds lists a removed service bind: %+v", b)
		}
	}
	if err := h.srv.Inject(smpp.Injection{Leg: smpp.Upstream, SystemID: "acme", PDU: mustSM(t, 0, textSM("x"))}); !errors.Is(err, smpp.ErrNoRoute) {
		t.Errorf("Inject after the service bind was removed = %v, want ErrNoRoute", err)
	}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(""), "optguard_service_binds"); err != nil {
		t.Error(err)
	}
}

// TestServiceBindReconcile: SetServiceBinds keeps an unchanged bind, restarts
// a changed one (the old one unbound before the new one binds) and keeps
// retrying one whose credentials the SMSC refuses.
func TestServiceBindReconcile(t *testing.T) {
	h := newHarness(t, smpp.Options{}, testenv.SMSCConfig{Accounts: accounts})
	h.srv.SetServiceBinds([]smpp.ServiceBind{{SystemID: "acme", Password: "secret"}, {SystemID: "beta", Password: "secret"}})
	a := serviceUp(t, h.srv, "acme", 5*time.Second)
	serviceUp(t, h.srv, "beta", 5*time.Second)
	binds := h.sim.Count(pdu.BindTransmitter)

	// beta's password changes to a wrong one; acme is listed again as it was.
	h.srv.SetServiceBinds([]smpp.ServiceBind{{SystemID: "acme", Password: "secret"}, {SystemID: "beta", Password: "wrong"}})
	testenv.Eventually(t, 3*time.Second, func() bool { return len(simBound(h.sim, "beta")) == 0 }, "the old beta bind was not unbound")
	testenv.Eventually(t, 3*time.Second, func() bool { return h.sim.Count(pdu.BindTransmitter) >= binds+2 }, "the refused bind is not retried")
	if got := serviceUp(t, h.srv, "acme", time.Second); got.Session != a.Session {
		t.Error("an unchanged service bind was restarted")
	}
	for _, b := range h.srv.Binds() {
		if b.SystemID == "beta" {
			t.Errorf("a refused service bind is listed: %+v", b)
		}
	}
	refused := 0
	for _, r := range h.sim.Received() {
		if r.Dir == testenv.Out && r.Header.ID == pdu.BindTransmitterResp && r.Header.Status == pdu.ESME_RINVPASWD {
			refused++
		}
	}
	if refused < 2 {
		t.Errorf("the SMSC refused %d binds, want at least 2 (a retry)", refused)
	}
	if err := h.srv.Inject(smpp.Injection{Leg: smpp.Upstream, SystemID: "beta", PDU: mustSM(t, 0, textSM("x"))}); !errors.Is(err, smpp.ErrNoRoute) {
		t.Errorf("Inject via a refused service bind = %v, want ErrNoRoute", err)
	}
}

// TestServiceBindShutdown: Shutdown unbinds the service bind, then later
// calls (and SetServiceBinds) do nothing.
func TestServiceBindShutdown(t *testing.T) {
	h := newHarness(t, smpp.Options{}, testenv.SMSCConfig{Accounts: accounts})
	h.srv.SetServiceBinds([]smpp.ServiceBind{{SystemID: "acme", Password: "secret"}})
	serviceUp(t, h.srv, "acme", 5*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := h.srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if n := h.sim.Count(pdu.Unbind); n != 1 {
		t.Errorf("the SMSC got %d unbind, want 1", n)
	}
	h.srv.SetServiceBinds([]smpp.ServiceBind{{SystemID: "acme", Password: "secret"}})
	time.Sleep(50 * time.Millisecond)
	if n := h.sim.Count(pdu.BindTransmitter); n != 1 {
		t.Errorf("the SMSC got %d bind_transmitter, want 1 (none after Shutdown)", n)
	}
	if err := h.srv.Shutdown(ctx); err != nil {
		t.Errorf("second Shutdown: %v", err)
	}
}

// TestServiceBindAnswersTheSMSC: enquire_link on a service bind is answered,
// and an injection still waiting when the bind goes is told so.
func TestServiceBindAnswersTheSMSC(t *testing.T) {
	h := newHarness(t, smpp.Options{}, testenv.SMSCConfig{Accounts: accounts})
	h.srv.SetServiceBinds([]smpp.ServiceBind{{SystemID: "acme", Password: "secret"}})
	serviceUp(t, h.srv, "acme", 5*time.Second)
	if err := h.sim.SendEnquireLink(h.ctx(), "acme"); err != nil {
		t.Errorf("enquire_link on the service bind: %v", err)
	}
	h.sim.HoldResponses(true)
	failed := make(chan error, 1)
	err := h.srv.Inject(smpp.Injection{Leg: smpp.Upstream, SystemID: "acme", PDU: mustSM(t, 0, textSM("x")), OnResponse: func(_ []byte, err error) { failed <- err }})
	if err != nil {
		t.Fatal(err)
	}
	h.simGot(pdu.SubmitSM)
	h.srv.SetServiceBinds(nil)
	select {
	case err := <-failed:
		if !errors.Is(err, smpp.ErrSessionClosed) {
			t.Errorf("OnResponse got %v, want ErrSessionClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the waiting injection was never told")
	}
}

// TestServiceBindHousekeeping: a service bind probes a silent SMSC with
// enquire_link and times out an injection whose response never comes, like
// the SMSC leg of an ESME's bind.
func TestServiceBindHousekeeping(t *testing.T) {
	h := newHarness(t, smpp.Options{EnquireLinkInterval: 100 * time.Millisecond, ResponseTimeout: 300 * time.Millisecond}, testenv.SMSCConfig{Accounts: accounts})
	h.srv.SetServiceBinds([]smpp.ServiceBind{{SystemID: "acme", Password: "secret"}})
	serviceUp(t, h.srv, "acme", 5*time.Second)
	h.simGot(pdu.EnquireLink)
	h.sim.HoldResponses(true)
	failed := make(chan error, 1)
	err := h.srv.Inject(smpp.Injection{Leg: smpp.Upstream, SystemID: "acme", PDU: mustSM(t, 0, textSM("x")), OnResponse: func(_ []byte, err error) { failed <- err }})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-failed:
		if !errors.Is(err, smpp.ErrResponseTimeout) {
			t.Errorf("OnResponse got %v, want ErrResponseTimeout", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the injection never timed out")
	}
	h.sim.HoldResponses(false)
}
