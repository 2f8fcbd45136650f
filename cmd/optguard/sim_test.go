package main

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/optguard/optguard/smpp/pdu"
	"github.com/optguard/optguard/testenv"
)

// TestSimRefusesBadLoadFlags: a bad load flag is refused before anything
// listens, with the flag named.
func TestSimRefusesBadLoadFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-errors", "ESME_NOPE=1%"}, `-errors: "ESME_NOPE" is not a command_status name`},
		{[]string{"-errors", "ESME_RTHROTTLED"}, "-errors"},
		{[]string{"-latency", "gamma:1ms"}, "-latency"},
		{[]string{"-drop", "lots"}, "-drop"},
		{[]string{"-receipt-states", "DELIVRD"}, "-receipt-states"},
		{[]string{"-receipt-bind", "tx"}, "-receipt-bind"},
	} {
		var out, errOut bytes.Buffer
		if code := runSim(append([]string{"-listen", "127.0.0.1:0"}, tc.args...), &out, &errOut); code != 2 || !strings.Contains(errOut.String(), tc.want) {
			t.Errorf("sim %v: %d %q, want 2 and %q", tc.args, code, errOut.String(), tc.want)
		}
	}
}

// TestSimLoadFlagsOnTheWire: the profile sim builds from its flags is the
// one the simulator answers with.
func TestSimLoadFlagsOnTheWire(t *testing.T) {
	p, err := simLoadProfile("fixed:40ms", "ESME_RTHROTTLED=100%", "0", "", 1)
	if err != nil {
		t.Fatal(err)
	}
	if none, err := simLoadProfile("", "", "0", "", 0); err != nil || none != nil {
		t.Fatalf("no load flags: %+v, %v", none, err)
	}
	sim, err := testenv.StartSMSC(testenv.SMSCConfig{Load: p})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	e := bindESME(t, testenv.Context(t, 5*time.Second), sim, sim.Addr(), "acme", pdu.BindTransmitter)
	start := time.Now()
	r, err := e.Submit(testenv.Context(t, 5*time.Second), &pdu.SM{
		Source: pdu.Addr{TON: 1, NPI: 1, Addr: "+15550001111"}, Dest: pdu.Addr{TON: 1, NPI: 1, Addr: "+15550002222"}, ShortMessage: []byte("hi"),
	})
	if err != nil || r.Header.Status != pdu.ESME_RTHROTTLED || time.Since(start) < 40*time.Millisecond {
		t.Fatalf("submit: %s after %v, %v; want ESME_RTHROTTLED after 40ms", r.Header.Status, time.Since(start), err)
	}

	// sim -admin's /metrics counts it.
	reg := prometheus.NewRegistry()
	reg.MustRegister(simCollector{sim})
	a, err := startAdmin("127.0.0.1:0", reg, zerolog.Nop(), func() error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	defer a.shutdown(context.Background())
	body := get(t, "http://"+a.ln.Addr().String()+"/metrics", http.StatusOK)
	for _, want := range []string{
		`optguard_sim_pdus_received_total{command="submit_sm"} 1`,
		`optguard_sim_pdus_received_total{command="bind_transmitter"} 1`,
		`optguard_sim_submissions_answered_total{status="ESME_RTHROTTLED"} 1`,
		`optguard_sim_submissions_dropped_total 0`,
	} {
		if !strings.Contains(body, want+"\n") {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}
