package smpp_test

import (
	"runtime"
	"testing"
	"time"

	"github.com/optguard/optguard/smpp"
	"github.com/optguard/optguard/smpp/pdu"
	"github.com/optguard/optguard/testenv"
)

// Housekeeping is shared by the sessions (housekeeping.go): with many idle
// binds every one of them is still probed with enquire_link on both legs, a
// request left unanswered on one of them is answered at its response
// timeout, to the tick, and once the binds are gone so are the housekeeping
// goroutines. What it saves, the CPU of idle binds, is measured by
// `optguard bench -idle-binds` (docs/BENCHMARKS.md).
func TestHousekeepingSharedAcrossBinds(t *testing.T) {
	const (
		binds    = 200
		interval = 150 * time.Millisecond
		timeout  = 400 * time.Millisecond
	)
	h := newHarness(t, smpp.Options{EnquireLinkInterval: interval, ResponseTimeout: timeout, TimeoutStatus: pdu.ESME_RMSGQFUL}, testenv.SMSCConfig{})
	before := runtime.NumGoroutine()
	esmes := make([]*testenv.ESME, binds)
	for i := range esmes {
		esmes[i] = h.bind(pdu.BindTransceiver, "acme", testenv.ESMEConfig{})
	}
	testenv.Eventually(t, 10*time.Second, func() bool {
		for _, e := range esmes {
			if esmeGot(e, pdu.EnquireLink) == 0 {
				return false
			}
		}
		return h.sim.Count(pdu.EnquireLink) >= binds
	}, "not every idle bind was probed with enquire_link on both legs")

	// One request left unanswered among the idle binds.
	h.sim.HoldResponses(true)
	start := time.Now()
	r, err := esmes[binds/2].Submit(h.ctx(), textSM("nobody answers"))
	took := time.Since(start)
	h.sim.HoldResponses(false)
	if err != nil || r.Header.Status != pdu.ESME_RMSGQFUL {
		t.Fatalf("got %v %v, want the timeout status", r.Header.Status, err)
	}
	// Housekeeping ticks at a quarter of the timeout; allow the machine
	// some slack beyond that.
	if took < timeout || took > timeout+timeout/4+500*time.Millisecond {
		t.Errorf("answered after %s, want %s to %s", took, timeout, timeout+timeout/4)
	}

	for _, e := range esmes {
		e.Close()
	}
	testenv.Eventually(t, 10*time.Second, func() bool { return runtime.NumGoroutine() <= before }, "goroutines of the closed binds (housekeeping included) did not end")
}
