package smpp

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/optguard/optguard/smpp/pdu"
	"github.com/optguard/optguard/testenv"
)

// TestSequenceWrap runs submits and MOs across the 0x7FFFFFFF → 1 wrap of both
// legs' counters: every one is answered with the right sequence number.
func TestSequenceWrap(t *testing.T) {
	sim, err := testenv.StartSMSC(testenv.SMSCConfig{Record: true})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	srv := NewServer(Options{Logger: zerolog.Nop(), Router: func(string) Route { return Route{Address: sim.Addr()} }})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	}()
	ctx := testenv.Context(t, 10*time.Second)
	e, err := testenv.DialESME(ctx, ln.Addr().String(), testenv.ESMEConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if st, err := e.Bind(ctx, pdu.BindTransceiver, "acme", "x"); err != nil || st != pdu.ESME_ROK {
		t.Fatalf("bind: %v %v", st, err)
	}
	srv.mu.Lock()
	pr := srv.pairs["acme"][0]
	srv.mu.Unlock()
	for _, s := range []*Session{pr.up, pr.down} {
		s.pend.skipTo(pdu.MaxSeq - 5)
	}
	const n = 12
	for i := 0; i < n; i++ {
		r, err := e.Submit(ctx, &pdu.SM{Dest: pdu.Addr{Addr: "15552223333"}, ShortMessage: []byte("wrap")})
		if err != nil || r.Header.Status != pdu.ESME_ROK {
			t.Fatalf("submit %d across the wrap: %v %v", i, r.Header.Status, err)
		}
		sts, err := sim.SendMO(ctx, "acme", testenv.MO{From: "15552223333", To: "15550001111", Text: "wrap"})
		if err != nil || sts[0] != pdu.ESME_ROK {
			t.Fatalf("MO %d across the wrap: %v %v", i, sts, err)
		}
	}
	var upSeqs []uint32
	for _, r := range sim.Received() {
		if r.Dir == testenv.In && r.Header.ID == pdu.SubmitSM {
			upSeqs = append(upSeqs, r.Header.Seq)
		}
	}
	var downSeqs []uint32
	for _, r := range e.Received() {
		if r.Header.ID == pdu.DeliverSM {
			downSeqs = append(downSeqs, r.Header.Seq)
		}
	}
	for _, seqs := range [][]uint32{upSeqs, downSeqs} {
		if len(seqs) != n {
			t.Fatalf("saw %d sequence numbers, want %d", len(seqs), n)
		}
		want := uint32(pdu.MaxSeq - 4)
		for _, s := range seqs {
			if s != want {
				t.Fatalf("sequence numbers %v do not run MaxSeq-4 … MaxSeq, 1 …", seqs)
			}
			want = pdu.NextSeq(want)
		}
	}
}
