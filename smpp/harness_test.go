package smpp_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"go.uber.org/goleak"

	"github.com/optguard/optguard/smpp"
	"github.com/optguard/optguard/smpp/pdu"
	"github.com/optguard/optguard/testenv"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, testenv.LeakOptions()...)
}

// harness is an SMSC simulator with optguard's proxy in front of it, both on
// loopback, torn down (and checked for leaks by TestMain) when the test ends.
type harness struct {
	t    *testing.T
	sim  *testenv.SMSC
	srv  *smpp.Server
	addr string
}

// testLogger writes the proxy's warnings to the test log (debug with -v and
// OPTGUARD_TEST_DEBUG=1).
func testLogger(t *testing.T) zerolog.Logger {
	level := zerolog.WarnLevel
	if os.Getenv("OPTGUARD_TEST_DEBUG") != "" {
		level = zerolog.DebugLevel
	}
	return zerolog.New(zerolog.NewTestWriter(t)).Level(level).With().Timestamp().Logger()
}

func newHarness(t *testing.T, opts smpp.Options, simCfg testenv.SMSCConfig) *harness {
	t.Helper()
	simCfg.Record = true
	sim, err := testenv.StartSMSC(simCfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	if opts.Router == nil {
		opts.Router = func(string) smpp.Route {
			return smpp.Route{Name: "sim", Address: sim.Addr(), ConnectTimeout: time.Second}
		}
	}
	opts.Logger = testLogger(t)
	srv := smpp.NewServer(opts)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-served; !errors.Is(err, smpp.ErrServerClosed) {
			t.Errorf("Serve returned %v, want ErrServerClosed", err)
		}
	})
	return &harness{t: t, sim: sim, srv: srv, addr: ln.Addr().String()}
}

// dial connects an ESME client to the proxy without binding.
func (h *harness) dial(cfg testenv.ESMEConfig) *testenv.ESME {
	h.t.Helper()
	e, err := testenv.DialESME(testenv.Context(h.t, 5*time.Second), h.addr, cfg)
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { e.Close() })
	return e
}

// bind connects and binds an ESME client, failing the test unless ESME_ROK.
func (h *harness) bind(id pdu.CommandID, systemID string, cfg testenv.ESMEConfig) *testenv.ESME {
	h.t.Helper()
	e := h.dial(cfg)
	st, err := e.Bind(testenv.Context(h.t, 5*time.Second), id, systemID, "secret")
	if err != nil || st != pdu.ESME_ROK {
		h.t.Fatalf("bind %s as %s: status %s, err %v", id, systemID, st, err)
	}
	return e
}

// ctx returns a context for one exchange.
func (h *harness) ctx() context.Context { return testenv.Context(h.t, 5*time.Second) }

// simGot waits for the first PDU of command id that the simulator received.
func (h *harness) simGot(id pdu.CommandID) testenv.Record {
	h.t.Helper()
	r, err := h.sim.WaitFor(h.ctx(), func(r testenv.Record) bool { return r.Dir == testenv.In && r.Header.ID == id })
	if err != nil {
		h.t.Fatalf("the SMSC never received %s: %v", id, err)
	}
	return r
}

// simSent returns the last PDU of command id that the simulator sent.
func (h *harness) simSent(id pdu.CommandID) testenv.Record {
	h.t.Helper()
	var last *testenv.Record
	for _, r := range h.sim.Received() {
		if r.Dir == testenv.Out && r.Header.ID == id {
			last = &r
		}
	}
	if last == nil {
		h.t.Fatalf("the SMSC sent no %s", id)
	}
	return *last
}

// esmeGot counts the PDUs of command id that e received.
func esmeGot(e *testenv.ESME, id pdu.CommandID) int {
	n := 0
	for _, r := range e.Received() {
		if r.Header.ID == id {
			n++
		}
	}
	return n
}

// sameExceptSeq reports whether two PDUs are byte-identical apart from the
// sequence number: what a transparent relay guarantees.
func sameExceptSeq(a, b []byte) bool {
	return len(a) == len(b) && len(a) >= pdu.HeaderLen &&
		bytes.Equal(a[:12], b[:12]) && bytes.Equal(a[16:], b[16:])
}

// mustSM encodes a submit_sm for the tests.
func mustSM(t *testing.T, seq uint32, m *pdu.SM) []byte {
	t.Helper()
	b, err := pdu.AppendSubmitSM(nil, seq, m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// textSM is a plain GSM7 message from a sender to a handset.
func textSM(text string) *pdu.SM {
	return &pdu.SM{
		Source:       pdu.Addr{TON: 1, NPI: 1, Addr: "15550001111"},
		Dest:         pdu.Addr{TON: 1, NPI: 1, Addr: "15552223333"},
		ShortMessage: []byte(text),
	}
}
