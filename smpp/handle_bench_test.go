package smpp

import (
	"encoding/binary"
	"net"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/optguard/optguard/smpp/pdu"
)

// discardConn is a net.Conn that takes every write and never delivers a read:
// it lets a benchmark drive the relay path without sockets.
type discardConn struct{ net.Conn }

func (discardConn) Write(b []byte) (int, error)      { return len(b), nil }
func (discardConn) SetWriteDeadline(time.Time) error { return nil }
func (discardConn) Close() error                     { return nil }
func (discardConn) RemoteAddr() net.Addr             { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1} }

// BenchmarkHandleRoundTrip measures the proxy's own work per submit_sm round
// trip, without the kernel: a batch of 256 submit_sm from the ESME is handled
// (scan, interceptor, pending ring, staging, in-place write to a discarding
// connection), then the 256 submit_sm_resp from the SMSC. ns/op is per round
// trip.
func BenchmarkHandleRoundTrip(b *testing.B) {
	srv := NewServer(Options{Logger: zerolog.Nop(), Router: func(string) Route { return Route{} }})
	down := srv.newSession(Downstream, discardConn{})
	up := srv.newSession(Upstream, discardConn{})
	pr := &pair{srv: srv, down: down, up: up, systemID: "bench", bind: Transceiver}
	down.pair.Store(pr)
	up.pair.Store(pr)
	down.call = Call{SystemID: "bench", Bind: Transceiver}
	up.call = down.call

	const batch = 256
	sm, _ := pdu.AppendSubmitSM(nil, 0, &pdu.SM{
		Source: pdu.Addr{TON: 1, NPI: 1, Addr: "15550001111"}, Dest: pdu.Addr{TON: 1, NPI: 1, Addr: "15552223333"},
		RegisteredDelivery: 1, ShortMessage: []byte("A typical one-part text message of about eighty characters, as apps send them."),
		TLVs: []pdu.TLV{{Tag: pdu.TagUserMessageReference, Value: []byte{0, 1}}},
	})
	resp := pdu.AppendSubmitSMResp(nil, pdu.ESME_ROK, 0, "5f3a9c01")
	reqs := make([]byte, 0, batch*len(sm))
	for i := 0; i < batch; i++ {
		reqs = appendWithSeq(reqs, sm, uint32(i+1))
	}
	resps := make([]byte, 0, batch*len(resp))
	b.ReportAllocs()
	b.ResetTimer()
	for done := 0; done < b.N; done += batch {
		for off := 0; off < len(reqs); off += len(sm) {
			down.handle(reqs[off : off+len(sm)])
		}
		// The SMSC answers what it received, with the proxy's sequence numbers.
		resps = resps[:0]
		for off := 0; off < len(down.toPeer); {
			l := int(binary.BigEndian.Uint32(down.toPeer[off:]))
			resps = appendWithSeq(resps, resp, pdu.Seq(down.toPeer[off:]))
			off += l
		}
		down.flushStaged()
		down.rt.flush()
		for off := 0; off < len(resps); off += len(resp) {
			up.handle(resps[off : off+len(resp)])
		}
		up.flushStaged()
		up.rt.flush()
	}
}
