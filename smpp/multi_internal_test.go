package smpp

import (
	"bytes"
	"math"
	"testing"

	"github.com/rs/zerolog"

	"github.com/optguard/optguard/smpp/pdu"
)

// refuseOne refuses one destination of every submit_multi and relays the rest.
type refuseOne struct{ u []pdu.UnsuccessSME }

func (r refuseOne) MT(*Call, *pdu.Message) Verdict { return Verdict{Unsuccess: r.u} }
func (refuseOne) MO(*Call, *pdu.Message) Verdict   { return Verdict{} }

// socketlessPair is a bound pair over connections that discard what is written.
func socketlessPair(ic Interceptor) (down, up *Session) {
	srv := NewServer(Options{Logger: zerolog.Nop(), Router: func(string) Route { return Route{} }, Interceptor: ic})
	down = srv.newSession(Downstream, discardConn{})
	up = srv.newSession(Upstream, discardConn{})
	pr := &pair{srv: srv, down: down, up: up, systemID: "t", bind: Transceiver}
	down.pair.Store(pr)
	up.pair.Store(pr)
	down.call = Call{SystemID: "t", Bind: Transceiver, sess: down}
	up.call = Call{SystemID: "t", Bind: Transceiver, sess: up}
	return down, up
}

func testMulti() []byte {
	w := pdu.Begin(nil, pdu.SubmitMulti, 0, 5)
	w.CString("").Address(1, 1, "15550001111").Byte(2).
		Byte(pdu.DestSME).Address(1, 1, "15552223333").Byte(pdu.DestSME).Address(1, 1, "15554445555")
	w.Byte(0).Byte(0).Byte(0).CString("").CString("").Byte(0).Byte(0).Byte(0).Byte(0).Byte(2).Octets([]byte("hi"))
	return w.End()
}

// TestUnsuccessTableEmptiesOnEveryEnd: the refused destinations kept for a
// relayed submit_multi leave the side table however the request ends: its
// response (a generic_nack here, answered as submit_multi_resp with the list),
// a timeout, or the loss of the leg.
func TestUnsuccessTableEmptiesOnEveryEnd(t *testing.T) {
	refused := []pdu.UnsuccessSME{{TON: 1, NPI: 1, Addr: "15554445555", Status: pdu.ESME_RX_R_APPN}}
	relay := func(t *testing.T) (down, up *Session, upSeq uint32) {
		down, up = socketlessPair(refuseOne{refused})
		down.handle(testMulti())
		if len(down.toPeer) == 0 || pdu.ID(down.toPeer) != pdu.SubmitMulti {
			t.Fatalf("submit_multi not relayed: % x", down.toPeer)
		}
		upSeq = pdu.Seq(down.toPeer)
		down.flushStaged()
		if n := up.unsuccess.len(); n != 1 {
			t.Fatalf("%d entries kept, want 1", n)
		}
		return down, up, upSeq
	}
	t.Run("generic_nack", func(t *testing.T) {
		_, up, upSeq := relay(t)
		up.handle(pdu.AppendGenericNack(nil, pdu.ESME_RSYSERR, upSeq))
		want := pdu.AppendSubmitMultiResp(nil, pdu.ESME_RSYSERR, 5, "", refused)
		if !bytes.Equal(up.toPeer, want) {
			t.Errorf("ESME gets\n% x\nwant\n% x", up.toPeer, want)
		}
		if n := up.unsuccess.len(); n != 0 {
			t.Errorf("%d entries left", n)
		}
	})
	t.Run("merged", func(t *testing.T) {
		_, up, upSeq := relay(t)
		own := []pdu.UnsuccessSME{{TON: 1, NPI: 1, Addr: "15552223333", Status: pdu.ESME_RINVDSTADR}}
		up.handle(pdu.AppendSubmitMultiResp(nil, pdu.ESME_ROK, upSeq, "smsc-1", own))
		want := pdu.AppendSubmitMultiResp(nil, pdu.ESME_ROK, 5, "smsc-1", append(own, refused...))
		if !bytes.Equal(up.toPeer, want) {
			t.Errorf("ESME gets\n% x\nwant\n% x", up.toPeer, want)
		}
		if n := up.unsuccess.len(); n != 0 {
			t.Errorf("%d entries left", n)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		_, up, _ := relay(t)
		for _, r := range up.pend.expire(math.MaxInt64, nil) {
			up.timedOut(r)
		}
		if n := up.unsuccess.len(); n != 0 {
			t.Errorf("%d entries left", n)
		}
	})
	t.Run("leg lost", func(t *testing.T) {
		down, up, _ := relay(t)
		up.pair.Load().answerAll(up.pend.drain(), down)
		if n := up.unsuccess.len(); n != 0 {
			t.Errorf("%d entries left", n)
		}
	})
}
