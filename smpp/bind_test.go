package smpp_test

import (
	"crypto/tls"
	"net"
	"testing"
	"time"

	"github.com/optguard/optguard/smpp"
	"github.com/optguard/optguard/smpp/pdu"
	"github.com/optguard/optguard/testenv"
)

var accounts = map[string]string{"acme": "secret", "beta": "secret"}

func TestBindPassThrough(t *testing.T) {
	h := newHarness(t, smpp.Options{}, testenv.SMSCConfig{Accounts: accounts, SystemID: "carrier-1"})
	for _, id := range []pdu.CommandID{pdu.BindTransmitter, pdu.BindReceiver, pdu.BindTransceiver} {
		t.Run(id.String(), func(t *testing.T) {
			e := h.dial(testenv.ESMEConfig{})
			st, err := e.Bind(h.ctx(), id, "acme", "secret")
			if err != nil || st != pdu.ESME_ROK {
				t.Fatalf("bind: %s, %v", st, err)
			}
			// The SMSC got the ESME's own credentials.
			var got pdu.Bind
			testenv.Eventually(t, 2*time.Second, func() bool {
				for _, r := range h.sim.Received() {
					if r.Dir == testenv.In && r.Header.ID == id {
						got, err = pdu.ParseBind(r.Raw)
						return err == nil
					}
				}
				return false
			}, "SMSC received no %s", id)
			if string(got.SystemID) != "acme" || string(got.Password) != "secret" || got.InterfaceVersion != 0x34 {
				t.Errorf("SMSC saw system_id %q password %q version %#x", got.SystemID, got.Password, got.InterfaceVersion)
			}
			// Its bind_resp came back byte for byte (system_id and TLV included).
			if sent := h.simSent(id.Resp()); !sameExceptSeq(sent.Raw, e.BindResp()) {
				t.Errorf("bind_resp changed on the way:\nSMSC sent % x\nESME got  % x", sent.Raw, e.BindResp())
			}
		})
	}
}

func TestBindRefusedBySMSCReachesESME(t *testing.T) {
	h := newHarness(t, smpp.Options{}, testenv.SMSCConfig{Accounts: accounts})
	for _, tc := range []struct {
		systemID, password string
		want               pdu.Status
	}{
		{"acme", "wrong", pdu.ESME_RINVPASWD},
		{"nobody", "secret", pdu.ESME_RINVSYSID},
	} {
		e := h.dial(testenv.ESMEConfig{})
		st, err := e.Bind(h.ctx(), pdu.BindTransceiver, tc.systemID, tc.password)
		if err != nil || st != tc.want {
			t.Errorf("bind %s/%s: status %s (err %v), want %s", tc.systemID, tc.password, st, err, tc.want)
		}
		// The connection stays open in the open state: a correct bind works.
		if st, err := e.Bind(h.ctx(), pdu.BindTransceiver, "acme", "secret"); err != nil || st != pdu.ESME_ROK {
			t.Errorf("retry after a refused bind: %s, %v", st, err)
		}
	}
}

func TestBindUnreachableSMSC(t *testing.T) {
	closedAddr := refusedAddr(t)
	// A listener that accepts and never speaks: a TLS handshake to it hangs
	// until the connect timeout.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	const connectTimeout = 300 * time.Millisecond
	h := newHarness(t, smpp.Options{Router: func(systemID string) smpp.Route {
		if systemID == "refused" {
			return smpp.Route{Name: "closed", Address: closedAddr, ConnectTimeout: connectTimeout}
		}
		return smpp.Route{Name: "silent", Address: silent.Addr().String(), ConnectTimeout: connectTimeout,
			TLS: &tls.Config{InsecureSkipVerify: true}}
	}}, testenv.SMSCConfig{})
	for _, systemID := range []string{"refused", "silent"} {
		e := h.dial(testenv.ESMEConfig{})
		start := time.Now()
		st, err := e.Bind(h.ctx(), pdu.BindTransmitter, systemID, "x")
		took := time.Since(start)
		if err != nil || st != pdu.ESME_RBINDFAIL {
			t.Errorf("%s: bind status %s, err %v; want ESME_RBINDFAIL", systemID, st, err)
		}
		if took > connectTimeout+time.Second {
			t.Errorf("%s: bind failed after %s, want within the %s connect timeout", systemID, took, connectTimeout)
		}
		if systemID == "silent" && took < connectTimeout-50*time.Millisecond {
			t.Errorf("silent: failed after %s, before the connect timeout", took)
		}
	}
}

func TestBindTimeout(t *testing.T) {
	h := newHarness(t, smpp.Options{BindTimeout: 200 * time.Millisecond}, testenv.SMSCConfig{})
	e := h.dial(testenv.ESMEConfig{})
	select {
	case <-e.Done():
	case <-time.After(3 * time.Second):
		t.Fatal("a connection that never bound was not closed")
	}
	if n := h.sim.Count(pdu.BindTransmitter) + h.sim.Count(pdu.BindTransceiver); n != 0 {
		t.Errorf("SMSC saw %d binds", n)
	}
}

func TestBindLimits(t *testing.T) {
	h := newHarness(t, smpp.Options{MaxBindsPerSystemID: 1}, testenv.SMSCConfig{})
	first := h.bind(pdu.BindTransceiver, "acme", testenv.ESMEConfig{})
	second := h.dial(testenv.ESMEConfig{})
	if st, _ := second.Bind(h.ctx(), pdu.BindTransceiver, "acme", "secret"); st != pdu.ESME_RBINDFAIL {
		t.Errorf("second bind of acme: %s, want ESME_RBINDFAIL", st)
	}
	h.bind(pdu.BindTransceiver, "beta", testenv.ESMEConfig{}) // other system_ids are not limited by acme's
	if err := first.Unbind(h.ctx()); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 3*time.Second, func() bool {
		st, err := second.Bind(h.ctx(), pdu.BindTransceiver, "acme", "secret")
		return err == nil && st == pdu.ESME_ROK
	}, "acme could not bind again after the first bind unbound")
}

func TestMaxConnections(t *testing.T) {
	h := newHarness(t, smpp.Options{MaxConnections: 1}, testenv.SMSCConfig{})
	h.bind(pdu.BindTransceiver, "acme", testenv.ESMEConfig{})
	over := h.dial(testenv.ESMEConfig{})
	select {
	case <-over.Done():
	case <-time.After(3 * time.Second):
		t.Fatal("a connection beyond MaxConnections was not closed")
	}
}

func TestRequestsOutsideBoundState(t *testing.T) {
	h := newHarness(t, smpp.Options{}, testenv.SMSCConfig{})
	e := h.dial(testenv.ESMEConfig{})
	resp, err := e.Request(h.ctx(), mustSM(t, 1, textSM("too early")))
	if err != nil {
		t.Fatal(err)
	}
	if pdu.ID(resp) != pdu.SubmitSMResp || pdu.StatusOf(resp) != pdu.ESME_RINVBNDSTS {
		t.Errorf("submit_sm before bind: %s %s, want submit_sm_resp ESME_RINVBNDSTS", pdu.ID(resp), pdu.StatusOf(resp))
	}
	if err := e.EnquireLink(h.ctx()); err != nil {
		t.Errorf("enquire_link before bind: %v", err)
	}
	if st, _ := e.Bind(h.ctx(), pdu.BindTransmitter, "acme", "secret"); st != pdu.ESME_ROK {
		t.Fatalf("bind: %s", st)
	}
	if st, _ := e.Bind(h.ctx(), pdu.BindTransmitter, "acme", "secret"); st != pdu.ESME_RALYBND {
		t.Errorf("second bind on a bound connection: %s, want ESME_RALYBND", st)
	}
	if h.sim.Count(pdu.SubmitSM) != 0 {
		t.Error("the SMSC received the submit_sm sent before bind")
	}
}
