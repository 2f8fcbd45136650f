package smpp_test

import (
	"context"
	"crypto/tls"
	"net"
	"testing"
	"time"

	"github.com/optguard/optguard/smpp"
	"github.com/optguard/optguard/smpp/pdu"
	"github.com/optguard/optguard/testenv"
)

// TestTLSOnBothLegs binds an ESME over TLS to the proxy's TLS listener, and the
// proxy to an SMSC that speaks only TLS, and relays a message end to end.
func TestTLSOnBothLegs(t *testing.T) {
	serverTLS, clientTLS := testenv.SelfSignedTLS(t)
	sim, err := testenv.StartSMSC(testenv.SMSCConfig{TLS: serverTLS, Record: true})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	srv := smpp.NewServer(smpp.Options{
		Logger: testLogger(t),
		Router: func(string) smpp.Route {
			return smpp.Route{Name: "tls", Address: sim.Addr(), ConnectTimeout: 2 * time.Second, TLS: clientTLS}
		},
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(tls.NewListener(ln, serverTLS))
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	}()
	ctx := testenv.Context(t, 5*time.Second)
	e, err := testenv.DialESME(ctx, ln.Addr().String(), testenv.ESMEConfig{TLS: clientTLS})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if st, err := e.Bind(ctx, pdu.BindTransceiver, "acme", "secret"); err != nil || st != pdu.ESME_ROK {
		t.Fatalf("bind over TLS: %v %v", st, err)
	}
	raw := mustSM(t, 1, textSM("over TLS both ways"))
	resp, err := e.Request(ctx, raw)
	if err != nil || pdu.StatusOf(resp) != pdu.ESME_ROK {
		t.Fatalf("submit over TLS: %v %v", resp, err)
	}
	got, err := sim.WaitFor(ctx, func(r testenv.Record) bool { return r.Dir == testenv.In && r.Header.ID == pdu.SubmitSM })
	if err != nil || !sameExceptSeq(got.Raw, raw) {
		t.Fatalf("SMSC got % x (%v), want % x", got.Raw, err, raw)
	}
	// A plain-TCP client cannot bind to the TLS listener.
	plain, err := testenv.DialESME(ctx, ln.Addr().String(), testenv.ESMEConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	if st, err := plain.Bind(testenv.Context(t, 2*time.Second), pdu.BindTransceiver, "acme", "secret"); err == nil && st == pdu.ESME_ROK {
		t.Error("a plain-TCP bind succeeded on the TLS listener")
	}
}
