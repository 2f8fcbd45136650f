package smpp

import (
	"testing"

	"github.com/optguard/optguard/smpp/pdu"
)

// deferEvery defers every MO and hands the Deferred to the benchmark.
type deferEvery struct{ got **Deferred }

func (deferEvery) MT(*Call, *pdu.Message) Verdict { return Verdict{} }
func (d deferEvery) MO(c *Call, _ *pdu.Message) Verdict {
	*d.got = c.Defer()
	return Verdict{Action: ActDefer}
}

// BenchmarkDeferredMO measures the proxy's own work for one MO whose verdict
// comes later (the STOP-storm path): the SMSC's deliver_sm is scanned and
// deferred (a copy), Finish relays it to the ESME from the queue, and the
// ESME's deliver_sm_resp goes back to the SMSC. No sockets.
func BenchmarkDeferredMO(b *testing.B) {
	var d *Deferred
	down, up := socketlessPair(deferEvery{&d})
	mo, _ := pdu.AppendDeliverSM(nil, 0, &pdu.SM{
		Source: pdu.Addr{TON: 1, NPI: 1, Addr: "15552223333"}, Dest: pdu.Addr{TON: 1, NPI: 1, Addr: "15550001111"},
		ShortMessage: []byte("STOP"),
	})
	resp := pdu.AppendDeliverSMResp(nil, pdu.ESME_ROK, 0)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		pdu.SetSeq(mo, uint32(i%0x7fffffff)+1)
		up.handle(mo)
		if err := d.Finish(Verdict{}); err != nil {
			b.Fatal(err)
		}
		q := down.out.begin()
		seq := pdu.Seq(q[len(q)-len(mo):])
		down.out.end(q)
		down.writeOut(false)
		pdu.SetSeq(resp, seq)
		down.handle(resp)
		down.flushStaged()
		if i%256 == 255 {
			up.rt.flush()
			down.rt.flush()
		}
	}
}
