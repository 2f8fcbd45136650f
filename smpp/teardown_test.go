package smpp_test

import (
	"sync"
	"testing"
	"time"

	"github.com/optguard/optguard/smpp"
	"github.com/optguard/optguard/smpp/pdu"
	"github.com/optguard/optguard/testenv"
)

// When the SMSC leg is lost while the ESME's reader is in the middle of a
// batch, every request of that batch is answered before optguard's unbind
// reaches the ESME: some ESMEs stop reading at unbind and would count the
// answers after it as timeouts.
func TestSMSCLostAnswersWhatWasReadBeforeUnbind(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	ic := &scripted{mt: func(c *smpp.Call, m *pdu.Message) smpp.Verdict {
		if string(m.ShortMessage) == "first" {
			once.Do(func() { close(entered) })
			<-release // the rest of the batch waits, read but not handled
		}
		return smpp.Verdict{}
	}}
	h := newHarness(t, smpp.Options{Interceptor: ic}, testenv.SMSCConfig{})
	e := h.bind(pdu.BindTransceiver, "acme", testenv.ESMEConfig{})

	// One write that fits the proxy's smallest read buffer: one batch.
	const n = 5
	var burst []byte
	for i := 0; i < n; i++ {
		text := "more"
		if i == 0 {
			text = "first"
		}
		burst = append(burst, mustSM(t, uint32(100+i), textSM(text))...)
	}
	if len(burst) > 512 {
		t.Fatalf("burst of %d bytes does not fit one read", len(burst))
	}
	if err := e.WriteRaw(burst); err != nil {
		t.Fatal(err)
	}
	select {
	case <-entered:
	case <-time.After(5 * time.Second):
		t.Fatal("the first submit_sm never reached the interceptor")
	}
	h.sim.DropConnections()
	// The teardown starts on the lost leg's reader; give it the time to
	// queue its unbind, were it not waiting for the batch.
	time.Sleep(300 * time.Millisecond)
	close(release)

	testenv.Eventually(t, 10*time.Second, func() bool { return esmeGot(e, pdu.Unbind) > 0 }, "no unbind after the SMSC leg was lost")
	answered := map[uint32]pdu.Status{}
	for _, r := range e.Received() {
		switch r.Header.ID {
		case pdu.SubmitSMResp:
			answered[r.Header.Seq] = r.Header.Status
		case pdu.Unbind:
			if len(answered) != n {
				t.Fatalf("unbind arrived after %d of the %d answers (%v)", len(answered), n, answered)
			}
			return
		}
	}
}
