package smpp_test

import (
	"context"
	"errors"
	"io"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/optguard/optguard/smpp"
	"github.com/optguard/optguard/smpp/pdu"
)

// rawSMSC is a minimal SMSC for the relay benchmark: it answers binds,
// submit_sm (from a prebuilt response with the sequence number patched), and
// unbind, and allocates nothing per PDU, so that allocations measured during the
// benchmark are the proxy's.
type rawSMSC struct {
	ln   net.Listener
	done chan struct{}
}

func startRawSMSC(tb testing.TB) *rawSMSC {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	s := &rawSMSC{ln: ln, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(c)
		}
	}()
	return s
}

func (s *rawSMSC) close() { s.ln.Close(); <-s.done }

func (s *rawSMSC) serve(c net.Conn) {
	defer c.Close()
	resp := pdu.AppendSubmitSMResp(nil, pdu.ESME_ROK, 0, "5f3a9c01")
	buf := make([]byte, 64<<10)
	out := make([]byte, 0, 64<<10)
	r, w := 0, 0
	for {
		n, err := c.Read(buf[w:])
		if err != nil {
			return
		}
		w += n
		for {
			l, err := pdu.Frame(buf[r:w], pdu.DefaultMaxLen)
			if err != nil || l == 0 {
				break
			}
			p := buf[r : r+l]
			r += l
			switch id := pdu.ID(p); {
			case id == pdu.SubmitSM:
				off := len(out)
				out = append(out, resp...)
				pdu.SetSeq(out[off:], pdu.Seq(p))
			case id.IsBind():
				out = pdu.AppendBindResp(out, id, pdu.ESME_ROK, pdu.Seq(p), "raw", 0x34)
			case id == pdu.EnquireLink || id == pdu.Unbind:
				out = pdu.AppendResp(out, id, pdu.ESME_ROK, pdu.Seq(p))
			}
		}
		w = copy(buf, buf[r:w])
		r = 0
		if len(out) > 0 {
			if _, err := c.Write(out); err != nil {
				return
			}
			out = out[:0]
		}
	}
}

// rawESME is a bound client for the relay benchmark.
type rawESME struct {
	c   net.Conn
	buf []byte
}

func dialRawESME(tb testing.TB, addr string) *rawESME {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		tb.Fatal(err)
	}
	bind, _ := pdu.AppendBind(nil, 1, pdu.BindRequest{ID: pdu.BindTransceiver, SystemID: "bench", Password: "x", InterfaceVersion: 0x34})
	if _, err := c.Write(bind); err != nil {
		tb.Fatal(err)
	}
	e := &rawESME{c: c, buf: make([]byte, 64<<10)}
	hdr := e.buf[:pdu.HeaderLen]
	if _, err := io.ReadFull(c, hdr); err != nil {
		tb.Fatal(err)
	}
	h, _ := pdu.ParseHeader(hdr)
	if _, err := io.ReadFull(c, e.buf[:h.Length-pdu.HeaderLen]); err != nil || h.Status != pdu.ESME_ROK {
		tb.Fatalf("bind: %v %v", h.Status, err)
	}
	return e
}

// pump sends n submit_sm with at most window outstanding and reads every
// response. It allocates nothing per PDU.
func (e *rawESME) pump(tb testing.TB, n, window int) {
	const batch = 64
	sm, _ := pdu.AppendSubmitSM(nil, 0, &pdu.SM{
		Source: pdu.Addr{TON: 1, NPI: 1, Addr: "15550001111"}, Dest: pdu.Addr{TON: 1, NPI: 1, Addr: "15552223333"},
		RegisteredDelivery: 1, ShortMessage: []byte("A typical one-part text message of about eighty characters, as apps send them."),
		TLVs: []pdu.TLV{{Tag: pdu.TagUserMessageReference, Value: []byte{0, 1}}},
	})
	out := make([]byte, 0, batch*len(sm))
	tokens := make(chan struct{}, window)
	readErr := make(chan error, 1)
	go func() {
		got, r, w := 0, 0, 0
		for got < n {
			m, err := e.c.Read(e.buf[w:])
			if err != nil {
				readErr <- err
				return
			}
			w += m
			for {
				l, err := pdu.Frame(e.buf[r:w], pdu.DefaultMaxLen)
				if err != nil {
					readErr <- err
					return
				}
				if l == 0 {
					break
				}
				if pdu.StatusOf(e.buf[r:r+l]) != pdu.ESME_ROK {
					readErr <- errors.New(pdu.StatusOf(e.buf[r : r+l]).String())
					return
				}
				r += l
				got++
				<-tokens
			}
			w = copy(e.buf, e.buf[r:w])
			r = 0
		}
		readErr <- nil
	}()
	seq := uint32(0)
	for sent := 0; sent < n; {
		k := min(batch, n-sent)
		out = out[:0]
		for i := 0; i < k; i++ {
			tokens <- struct{}{}
			seq = pdu.NextSeq(seq)
			off := len(out)
			out = append(out, sm...)
			pdu.SetSeq(out[off:], seq)
		}
		if _, err := e.c.Write(out); err != nil {
			tb.Fatal(err)
		}
		sent += k
	}
	if err := <-readErr; err != nil {
		tb.Fatal(err)
	}
}

// startBenchRelay puts the proxy (forwarding everything, logging off) in front
// of a rawSMSC and binds a rawESME to it.
func startBenchRelay(tb testing.TB) (*rawESME, func()) {
	smsc := startRawSMSC(tb)
	srv := smpp.NewServer(smpp.Options{
		Logger: zerolog.Nop(),
		Router: func(string) smpp.Route { return smpp.Route{Address: smsc.ln.Addr().String()} },
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	go srv.Serve(ln)
	e := dialRawESME(tb, ln.Addr().String())
	return e, func() {
		e.c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		smsc.close()
	}
}

// BenchmarkRelaySubmitSM measures the whole relay path per submit_sm over
// loopback: read, frame, scan, interceptor, pending ring, sequence patch, write,
// and the submit_sm_resp back the same way.
func BenchmarkRelaySubmitSM(b *testing.B) {
	e, stop := startBenchRelay(b)
	defer stop()
	e.pump(b, 20000, 256) // warm up: buffers reach their working size
	b.ReportAllocs()
	b.ResetTimer()
	e.pump(b, b.N, 256)
}

// TestRelayPathDoesNotAllocate checks the benchmark's claim without timing:
// once warm, relaying submit_sm and their responses allocates (nearly) nothing.
func TestRelayPathDoesNotAllocate(t *testing.T) {
	if testing.Short() {
		t.Skip("relays 70,000 PDUs")
	}
	e, stop := startBenchRelay(t)
	defer stop()
	e.pump(t, 20000, 256)
	const n = 50000
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	e.pump(t, n, 256)
	runtime.ReadMemStats(&after)
	perPDU := float64(after.Mallocs-before.Mallocs) / n
	t.Logf("%.4f allocations per submit_sm relayed (with its response)", perPDU)
	if perPDU > 0.01 {
		t.Errorf("the relay path allocates %.4f times per submit_sm; want none", perPDU)
	}
}
