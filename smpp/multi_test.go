package smpp_test

import (
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"github.com/optguard/optguard/smpp"
	"github.com/optguard/optguard/smpp/pdu"
	"github.com/optguard/optguard/testenv"
)

// multiSM is a submit_multi to the destinations, all SME addresses.
func multiSM(dests ...string) []byte {
	w := pdu.Begin(nil, pdu.SubmitMulti, 0, 1)
	w.CString("").Address(1, 1, "15550001111").Byte(byte(len(dests)))
	for _, d := range dests {
		w.Byte(pdu.DestSME).Address(1, 1, d)
	}
	w.Byte(0).Byte(0).Byte(0).CString("").CString("").Byte(0).Byte(0).Byte(0).Byte(0).Byte(5).Octets([]byte("hello"))
	return w.End()
}

// TestSubmitMultiUnsuccess: the destinations optguard refused reach the ESME
// in submit_multi_resp: after the SMSC's answer for the ones relayed, or alone
// when the whole message is refused; deferred or not.
func TestSubmitMultiUnsuccess(t *testing.T) {
	refused := []pdu.UnsuccessSME{
		{TON: 1, NPI: 1, Addr: "15554445555", Status: pdu.ESME_RX_R_APPN},
		{TON: 1, NPI: 1, Addr: "15556667777", Status: pdu.ESME_RINVDSTADR},
	}
	full := multiSM("15552223333", "15554445555", "15556667777")
	kept := multiSM("15552223333")
	cases := []struct {
		name     string
		defer_   bool
		v        smpp.Verdict
		smscSt   pdu.Status
		status   pdu.Status
		smscGets []byte // nil = nothing relayed
		smscID   bool   // the SMSC's message_id comes back
	}{
		{name: "forward", v: smpp.Verdict{Unsuccess: refused}, status: pdu.ESME_ROK, smscGets: full, smscID: true},
		{name: "replace", v: smpp.Verdict{Action: smpp.ActReplace, Replace: kept, Unsuccess: refused}, status: pdu.ESME_ROK, smscGets: kept, smscID: true},
		{name: "replace, SMSC refuses", v: smpp.Verdict{Action: smpp.ActReplace, Replace: kept, Unsuccess: refused}, smscSt: pdu.ESME_RMSGQFUL, status: pdu.ESME_RMSGQFUL, smscGets: kept},
		{name: "reject", v: smpp.Verdict{Action: smpp.ActReject, Status: pdu.ESME_RX_R_APPN, Unsuccess: refused}, status: pdu.ESME_RX_R_APPN},
		{name: "deferred replace", defer_: true, v: smpp.Verdict{Action: smpp.ActReplace, Replace: kept, Unsuccess: refused}, status: pdu.ESME_ROK, smscGets: kept, smscID: true},
		{name: "deferred reject", defer_: true, v: smpp.Verdict{Action: smpp.ActReject, Status: pdu.ESME_RX_R_APPN, Unsuccess: refused}, status: pdu.ESME_RX_R_APPN},
	}
	type verdictCase struct {
		defer_ bool
		v      smpp.Verdict
	}
	var current atomic.Pointer[verdictCase] // set by the test, read by the session
	finish := make(chan error, 1)
	ic := &scripted{mt: func(c *smpp.Call, m *pdu.Message) smpp.Verdict {
		tc := current.Load()
		if !tc.defer_ {
			return tc.v
		}
		d := c.Defer()
		v := tc.v
		go func() {
			time.Sleep(20 * time.Millisecond)
			finish <- d.Finish(v)
		}()
		return smpp.Verdict{Action: smpp.ActDefer}
	}}
	h := newHarness(t, smpp.Options{Interceptor: ic}, testenv.SMSCConfig{})
	e := h.bind(pdu.BindTransmitter, "acme", testenv.ESMEConfig{})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			current.Store(&verdictCase{tc.defer_, tc.v})
			h.sim.SetSubmitStatus(tc.smscSt)
			before := h.sim.Count(pdu.SubmitMulti)
			resp, err := e.Request(h.ctx(), full)
			if err != nil {
				t.Fatal(err)
			}
			if tc.defer_ {
				if err := <-finish; err != nil {
					t.Fatalf("Finish: %v", err)
				}
			}
			if pdu.ID(resp) != pdu.SubmitMultiResp || pdu.StatusOf(resp) != tc.status {
				t.Fatalf("answered %s %s, want submit_multi_resp %s", pdu.ID(resp), pdu.StatusOf(resp), tc.status)
			}
			id, unsuccess, err := pdu.ParseSubmitMultiResp(resp)
			if err != nil {
				t.Fatalf("submit_multi_resp: %v", err)
			}
			if !reflect.DeepEqual(unsuccess, refused) {
				t.Errorf("unsuccess_sme = %+v, want %+v", unsuccess, refused)
			}
			if tc.smscID != (len(id) > 0) {
				t.Errorf("message_id %q; want the SMSC's: %v", id, tc.smscID)
			}
			got := h.sim.Count(pdu.SubmitMulti) - before
			if tc.smscGets == nil {
				if got != 0 {
					t.Fatalf("the SMSC got %d submit_multi, want none", got)
				}
				return
			}
			if got != 1 {
				t.Fatalf("the SMSC got %d submit_multi, want 1", got)
			}
			var last []byte
			for _, r := range h.sim.Received() {
				if r.Dir == testenv.In && r.Header.ID == pdu.SubmitMulti {
					last = r.Raw
				}
			}
			if !sameExceptSeq(last, tc.smscGets) {
				t.Errorf("the SMSC got\n% x\nwant\n% x", last, tc.smscGets)
			}
		})
	}
	h.sim.SetSubmitStatus(pdu.ESME_ROK)
}

// TestSubmitMultiUnsuccessTimeout: a submit_multi with refused destinations
// whose response never comes is answered with the timeout status, as any
// relayed request is.
func TestSubmitMultiUnsuccessTimeout(t *testing.T) {
	ic := &scripted{mt: func(c *smpp.Call, m *pdu.Message) smpp.Verdict {
		return smpp.Verdict{Unsuccess: []pdu.UnsuccessSME{{TON: 1, NPI: 1, Addr: "15554445555", Status: pdu.ESME_RX_R_APPN}}}
	}}
	h := newHarness(t, smpp.Options{Interceptor: ic, ResponseTimeout: 200 * time.Millisecond}, testenv.SMSCConfig{})
	e := h.bind(pdu.BindTransmitter, "acme", testenv.ESMEConfig{})
	h.sim.HoldResponses(true)
	resp, err := e.Request(h.ctx(), multiSM("15552223333", "15554445555"))
	if err != nil {
		t.Fatal(err)
	}
	if pdu.ID(resp) != pdu.SubmitMultiResp || pdu.StatusOf(resp) != pdu.ESME_RSYSERR || len(resp) != pdu.HeaderLen {
		t.Errorf("answered % x, want a submit_multi_resp ESME_RSYSERR header", resp)
	}
	h.sim.HoldResponses(false)
}
