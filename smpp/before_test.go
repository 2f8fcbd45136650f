package smpp_test

import (
	"testing"
	"time"

	"github.com/optguard/optguard/smpp"
	"github.com/optguard/optguard/smpp/pdu"
	"github.com/optguard/optguard/testenv"
)

// TestInjectBeforeTheMT: a verdict's InjectBefore reaches the SMSC on the
// MT's own connection immediately ahead of the MT (a disclaimer), also when
// the verdict comes later through Finish; a verdict that cannot be carried
// out sends none.
func TestInjectBeforeTheMT(t *testing.T) {
	disclaimer := mustSM(t, 0, textSM("Msgs from Acme. Reply STOP to opt out."))
	before := []smpp.Injection{{Leg: smpp.Upstream, PDU: disclaimer}}
	ic := &scripted{mt: func(c *smpp.Call, m *pdu.Message) smpp.Verdict {
		switch string(m.ShortMessage) {
		case "deferred":
			d := c.Defer()
			go func() {
				time.Sleep(20 * time.Millisecond)
				d.Finish(smpp.Verdict{InjectBefore: before})
			}()
			return smpp.Verdict{Action: smpp.ActDefer}
		case "bad":
			return smpp.Verdict{Action: smpp.ActReplace, Replace: []byte{1, 2, 3}, InjectBefore: before}
		}
		return smpp.Verdict{InjectBefore: before}
	}}
	h := newHarness(t, smpp.Options{Interceptor: ic}, testenv.SMSCConfig{})
	h.bind(pdu.BindTransmitter, "acme", testenv.ESMEConfig{})
	e := h.bind(pdu.BindTransmitter, "acme", testenv.ESMEConfig{}) // two binds of acme: the disclaimer must take the MT's
	for _, text := range []string{"first contact", "deferred"} {
		r, err := e.Submit(h.ctx(), textSM(text))
		if err != nil || r.Header.Status != pdu.ESME_ROK {
			t.Fatalf("%s: %v %v", text, r.Header.Status, err)
		}
		mt := mustSM(t, 0, textSM(text))
		var seen []testenv.Record
		for _, rec := range h.sim.Received() {
			if rec.Dir == testenv.In && rec.Header.ID == pdu.SubmitSM {
				seen = append(seen, rec)
			}
		}
		if len(seen) < 2 {
			t.Fatalf("%s: the SMSC got %d submit_sm", text, len(seen))
		}
		d, m := seen[len(seen)-2], seen[len(seen)-1]
		if !sameExceptSeq(d.Raw, disclaimer) || !sameExceptSeq(m.Raw, mt) {
			t.Errorf("%s: the SMSC got % x then % x, want the disclaimer then the MT", text, d.Raw, m.Raw)
		}
		if d.Session != m.Session {
			t.Errorf("%s: disclaimer on SMSC session %d, MT on %d: want the same connection", text, d.Session, m.Session)
		}
	}
	n := h.sim.Count(pdu.SubmitSM)
	if r, err := e.Submit(h.ctx(), textSM("bad")); err != nil || r.Header.Status != pdu.ESME_RSYSERR {
		t.Fatalf("bad replace: %v %v", r.Header.Status, err)
	}
	time.Sleep(50 * time.Millisecond)
	if got := h.sim.Count(pdu.SubmitSM); got != n {
		t.Errorf("a refused verdict sent %d PDUs before it", got-n)
	}
}
