package main

import (
	"bytes"
	"context"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/optguard/optguard/config"
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
		{[]string{"-receipt-delay", "gamma:1ms"}, "-receipt-delay"},
		{[]string{"-receipt-delay", "-1s"}, "-receipt-delay"},
		{[]string{"-mo-rate", "10", "-mo-mix", "STOP=5%,ok thanks=90%"}, "-mo-mix: the shares add up to 95%, want 100%"},
		{[]string{"-mo-mix", "STOP=lots,ok=50%"}, "-mo-mix"},
		{[]string{"-mo-mix", "STOP"}, "-mo-mix"},
		{[]string{"-mo-mix", ""}, "-mo-mix"},
		{[]string{"-mo-long", "150%"}, "-mo-long"},
		{[]string{"-mo-rate", "-1"}, "-mo-rate"},
		{[]string{"-mo-handsets", "0"}, "-mo-handsets"},
		{[]string{"-mo-rate", "10", "-mo-first", "99999999999", "-mo-handsets", "10"}, "-mo-* flags"},
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
	a, err := startAdmin(config.Admin{Address: "127.0.0.1:0"}, reg, zerolog.Nop(), func() error { return nil })
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

// simRun is an in-process `optguard sim`: its addresses, its output, and
// stop, which ends it and returns its exit code.
type simRun struct {
	addr, admin string
	out         *syncBuffer
	stop        func() int
}

func startSim(t *testing.T, args ...string) simRun {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out, errOut := &syncBuffer{}, &syncBuffer{}
	code := make(chan int, 1)
	go func() {
		code <- simMain(ctx, append([]string{"-listen", "127.0.0.1:0", "-admin", "127.0.0.1:0"}, args...), out, errOut)
	}()
	var r simRun
	listening := regexp.MustCompile(`listening on (\S+)\n`)
	counters := regexp.MustCompile(`counters on http://(\S+)/metrics\n`)
	testenv.Eventually(t, 5*time.Second, func() bool {
		l, c := listening.FindStringSubmatch(out.String()), counters.FindStringSubmatch(out.String())
		if l == nil || c == nil {
			return false
		}
		r.addr, r.admin = l[1], c[1]
		return true
	}, "sim did not start: %s", errOut.String())
	stopped := false
	r.out = out
	r.stop = func() int {
		if stopped {
			return 0
		}
		stopped = true
		cancel()
		select {
		case c := <-code:
			return c
		case <-time.After(10 * time.Second):
			t.Fatal("sim did not stop")
		}
		return -1
	}
	t.Cleanup(func() { r.stop() })
	return r
}

// dialSim binds to an in-process sim.
func dialSim(t *testing.T, addr string, bind pdu.CommandID, systemID string) *testenv.ESME {
	t.Helper()
	return dialBound(t, testenv.Context(t, 5*time.Second), addr, systemID, bind)
}

// simMetric reads one sample's value from a /metrics body; -1 when absent.
func simMetric(body, sample string) float64 {
	for _, line := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(line, sample+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err == nil {
				return f
			}
		}
	}
	return -1
}

// TestSimReceiptDelaySpec: `optguard sim -receipt-delay` takes a latency
// spec, and receipts then arrive spread over its range after their
// submit_sm_resp.
func TestSimReceiptDelaySpec(t *testing.T) {
	for in, want := range map[string]time.Duration{"1s": time.Second, "0": 0, "250ms": 250 * time.Millisecond} {
		if d, l, err := simReceiptDelay(in); err != nil || d != want || l != (testenv.Latency{}) {
			t.Errorf("-receipt-delay %s: %v %+v %v", in, d, l, err)
		}
	}
	const n, lo, hi = 100, 20 * time.Millisecond, 120 * time.Millisecond
	sim := startSim(t, "-receipt-delay", "uniform:20ms-120ms", "-seed", "5")
	e := dialSim(t, sim.addr, pdu.BindTransceiver, "acme")
	m := &pdu.SM{Source: pdu.Addr{TON: 1, NPI: 1, Addr: "+15550001111"}, Dest: pdu.Addr{TON: 1, NPI: 1, Addr: "+15550002222"},
		RegisteredDelivery: 1, ShortMessage: []byte("receipt please")}
	ctx := testenv.Context(t, 10*time.Second)
	for range n { // one at a time, so that no response waits in a batch
		if r, err := e.Submit(ctx, m); err != nil || r.Header.Status != pdu.ESME_ROK {
			t.Fatalf("submit: %+v %v", r, err)
		}
	}
	for i := range n {
		if _, err := e.NextDeliver(ctx); err != nil {
			t.Fatalf("receipt %d of %d: %v", i+1, n, err)
		}
	}
	respAt := map[string]time.Time{}
	var delays []time.Duration
	for _, r := range e.Received() {
		var dm pdu.Message
		switch r.Header.ID {
		case pdu.SubmitSMResp:
			id, _, _ := pdu.ParseMessageIDResp(r.Raw)
			respAt[string(id)] = r.At
		case pdu.DeliverSM:
			if err := pdu.Scan(r.Raw, &dm); err != nil {
				t.Fatal(err)
			}
			id, _ := pdu.ReceiptID(&dm)
			at, ok := respAt[string(id)]
			if !ok {
				t.Fatalf("a receipt for %q before its response", id)
			}
			delays = append(delays, r.At.Sub(at))
		}
	}
	slices.Sort(delays)
	if len(delays) != n || delays[0] < lo-5*time.Millisecond || delays[n-1] > hi+30*time.Millisecond || delays[n-1]-delays[0] < (hi-lo)/2 {
		t.Errorf("%d receipts after %v … %v, want %d spread over %v … %v", len(delays), delays[0], delays[n-1], n, lo, hi)
	}
}

// TestSimMOStream: `optguard sim -mo-rate` sends MOs from the mix (and long
// ones) to a bound receiver of -mo-system-id, pauses when it unbinds,
// resumes on the next bind, and counts them on /metrics.
func TestSimMOStream(t *testing.T) {
	mix := map[string]bool{"STOP": true, "START": true, "HELP": true, "see you soon": true}
	sim := startSim(t, "-mo-rate", "300", "-mo-mix", "STOP=20%, START=10%, HELP=10%, see you soon=60%", "-mo-long", "10%",
		"-mo-system-id", "acme", "-mo-handsets", "20")
	other := dialSim(t, sim.addr, pdu.BindReceiver, "other")
	// delivered counts the MOs an ESME got: singles from the mix, and long
	// ones by their first part (the second is checked to follow).
	delivered := func(e *testenv.ESME) (singles, long int) {
		for _, r := range e.Received() {
			if r.Header.ID != pdu.DeliverSM {
				continue
			}
			var m pdu.Message
			if err := pdu.Scan(r.Raw, &m); err != nil {
				t.Fatal(err)
			}
			if !m.HasUDH() {
				if !mix[string(m.ShortMessage)] || string(m.Dest.Addr) != "+15550000001" {
					t.Fatalf("an MO %q to %q", m.ShortMessage, m.Dest.Addr)
				}
				singles++
				continue
			}
			udh, _, err := pdu.SplitUDH(m.ShortMessage)
			c, ok := pdu.ParseConcat(udh)
			if err != nil || !ok || c.Total != 2 {
				t.Fatalf("a long MO's UDH % x: %+v %v", udh, c, err)
			}
			if c.Part == 1 {
				long++
			}
		}
		return singles, long
	}
	rx := dialSim(t, sim.addr, pdu.BindReceiver, "acme")
	testenv.Eventually(t, 5*time.Second, func() bool { s, l := delivered(rx); return s >= 100 && l >= 5 }, "MOs to the acme receiver")
	if !strings.Contains(sim.out.String(), "MO stream: 300/s on session 2 (bind_receiver of \"acme\"") {
		t.Errorf("no line says the stream started on the acme bind:\n%s", sim.out.String())
	}
	rx.Close()
	testenv.Eventually(t, 5*time.Second, func() bool { return strings.Contains(sim.out.String(), "MO stream paused") }, "no pause line")
	rx2 := dialSim(t, sim.addr, pdu.BindReceiver, "acme")
	testenv.Eventually(t, 5*time.Second, func() bool { s, _ := delivered(rx2); return s >= 20 }, "MOs after the stream resumed")
	if got := strings.Count(sim.out.String(), "MO stream: 300/s on session"); got != 2 {
		t.Errorf("%d start lines, want 2:\n%s", got, sim.out.String())
	}
	if s, l := delivered(other); s+l > 0 {
		t.Errorf("the other system_id got %d MOs", s+l)
	}

	body := get(t, "http://"+sim.admin+"/metrics", http.StatusOK)
	sent, parts := simMetric(body, "optguard_sim_mo_sent_total"), simMetric(body, "optguard_sim_mo_parts_sent_total")
	ok := simMetric(body, `optguard_sim_mo_answered_total{status="ESME_ROK"}`)
	s1, l1 := delivered(rx)
	if sent < float64(s1+l1) || parts <= sent || ok < float64(s1) || ok > parts {
		t.Errorf("/metrics: %v MOs sent in %v parts, %v answered ESME_ROK; the first bind alone got %d", sent, parts, ok, s1+l1)
	}
	if code := sim.stop(); code != 0 {
		t.Errorf("sim exited %d", code)
	}
}
