package smpp_test

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/optguard/optguard/smpp"
	"github.com/optguard/optguard/smpp/pdu"
	"github.com/optguard/optguard/testenv"
)

// waitClosed fails unless e's connection closes within d.
func waitClosed(t *testing.T, e *testenv.ESME, d time.Duration, what string) {
	t.Helper()
	select {
	case <-e.Done():
	case <-time.After(d):
		t.Fatalf("%s: the connection was not closed within %s", what, d)
	}
}

// gotNack reports whether e received a generic_nack with the status.
func gotNack(e *testenv.ESME, st pdu.Status) bool {
	for _, r := range e.Received() {
		if r.Header.ID == pdu.GenericNack && r.Header.Status == st {
			return true
		}
	}
	return false
}

func TestBadCommandLengthNackedAndClosed(t *testing.T) {
	h := newHarness(t, smpp.Options{}, testenv.SMSCConfig{})
	other := h.bind(pdu.BindTransceiver, "beta", testenv.ESMEConfig{})
	for _, l := range []uint32{0, 15, 1 << 31, pdu.DefaultMaxLen + 1} {
		e := h.bind(pdu.BindTransceiver, "acme", testenv.ESMEConfig{})
		unbinds := h.sim.Count(pdu.Unbind)
		hdr := make([]byte, 16)
		binary.BigEndian.PutUint32(hdr[0:], l)
		binary.BigEndian.PutUint32(hdr[4:], uint32(pdu.SubmitSM))
		binary.BigEndian.PutUint32(hdr[12:], 77)
		if err := e.WriteRaw(hdr); err != nil {
			t.Fatal(err)
		}
		waitClosed(t, e, 3*time.Second, fmt.Sprintf("command_length %d", l))
		if !gotNack(e, pdu.ESME_RINVCMDLEN) {
			t.Errorf("command_length %d: no generic_nack ESME_RINVCMDLEN before the close", l)
		}
		// The SMSC leg of that bind is unbound in order.
		testenv.Eventually(t, 3*time.Second, func() bool { return h.sim.Count(pdu.Unbind) > unbinds }, "SMSC leg not unbound")
		// Other binds are untouched.
		if r, err := other.Submit(h.ctx(), textSM("still working")); err != nil || r.Header.Status != pdu.ESME_ROK {
			t.Fatalf("other bind after command_length %d: %v %v", l, r.Header.Status, err)
		}
	}
}

func TestTruncatedAndOverlongFieldsAnswered(t *testing.T) {
	h := newHarness(t, smpp.Options{}, testenv.SMSCConfig{})
	e := h.bind(pdu.BindTransceiver, "acme", testenv.ESMEConfig{})
	truncated := pdu.Begin(nil, pdu.SubmitSM, 0, 1)
	truncated.CString("CMT").Byte(1) // body ends inside source_addr_npi
	longSource := pdu.Begin(nil, pdu.SubmitSM, 0, 1)
	longSource.CString("").Address(1, 1, "1234567890123456789012345") // 25 digits > 20
	smPastEnd := pdu.Begin(nil, pdu.SubmitSM, 0, 1)
	smPastEnd.CString("").Address(1, 1, "1555").Address(1, 1, "1666").
		Byte(0).Byte(0).Byte(0).CString("").CString("").Byte(0).Byte(0).Byte(0).Byte(0).Byte(50).Octets([]byte("short"))
	badTLV := pdu.Begin(nil, pdu.DeliverSM, 0, 1)
	for _, tc := range []struct {
		raw  []byte
		want pdu.Status
	}{
		{truncated.End(), pdu.ESME_RINVCMDLEN},
		{longSource.End(), pdu.ESME_RINVSRCADR},
		{smPastEnd.End(), pdu.ESME_RINVMSGLEN},
	} {
		resp, err := e.Request(h.ctx(), tc.raw)
		if err != nil {
			t.Fatal(err)
		}
		if pdu.ID(resp) != pdu.SubmitSMResp || pdu.StatusOf(resp) != tc.want {
			t.Errorf("got %s %s, want submit_sm_resp %s", pdu.ID(resp), pdu.StatusOf(resp), tc.want)
		}
	}
	if n := h.sim.Count(pdu.SubmitSM); n != 0 {
		t.Errorf("%d malformed submit_sm reached the SMSC", n)
	}
	// A malformed MO from the SMSC is answered there and not relayed.
	badTLV.CString("").Address(1, 1, "1666").Address(1, 1, "1555").
		Byte(0).Byte(0).Byte(0).CString("").CString("").Byte(0).Byte(0).Byte(0).Byte(0).Byte(2).Octets([]byte("hi")).
		Octets([]byte{0x04, 0x24, 0x00, 0x10, 'x'}) // message_payload claims 16 octets, has 1
	resp, err := h.sim.SendPDU(h.ctx(), "acme", badTLV.End())
	if err != nil {
		t.Fatal(err)
	}
	if pdu.ID(resp) != pdu.DeliverSMResp || pdu.StatusOf(resp) != pdu.ESME_RINVPARLEN {
		t.Errorf("malformed deliver_sm answered %s %s, want deliver_sm_resp ESME_RINVPARLEN", pdu.ID(resp), pdu.StatusOf(resp))
	}
	// The bind still works.
	if r, err := e.Submit(h.ctx(), textSM("fine")); err != nil || r.Header.Status != pdu.ESME_ROK {
		t.Fatalf("submit after malformed ones: %v %v", r.Header.Status, err)
	}
	if esmeGot(e, pdu.DeliverSM) != 0 {
		t.Error("the malformed deliver_sm reached the ESME")
	}
}

func TestRandomBytesDoNotHurtOthers(t *testing.T) {
	h := newHarness(t, smpp.Options{}, testenv.SMSCConfig{})
	other := h.bind(pdu.BindTransceiver, "beta", testenv.ESMEConfig{})
	rng := rand.New(rand.NewPCG(1, 2))
	for round := 0; round < 20; round++ {
		e := h.bind(pdu.BindTransceiver, "acme", testenv.ESMEConfig{})
		junk := make([]byte, 64+rng.IntN(4096))
		for i := range junk {
			junk[i] = byte(rng.Uint32())
		}
		junk[0] |= 0x01 // a command_length of 16 MiB or more: never a valid frame
		if err := e.WriteRaw(junk); err != nil {
			t.Fatal(err)
		}
		waitClosed(t, e, 3*time.Second, "random bytes")
		if !gotNack(e, pdu.ESME_RINVCMDLEN) {
			t.Errorf("round %d: no generic_nack ESME_RINVCMDLEN", round)
		}
	}
	if r, err := other.Submit(h.ctx(), textSM("unharmed")); err != nil || r.Header.Status != pdu.ESME_ROK {
		t.Fatalf("other bind: %v %v", r.Header.Status, err)
	}
}
