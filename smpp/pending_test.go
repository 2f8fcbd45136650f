package smpp

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"unsafe"

	"github.com/optguard/optguard/smpp/pdu"
)

func TestPendingWindowAndTake(t *testing.T) {
	p := newPending(4)
	var seqs []uint32
	for i := 0; i < 4; i++ {
		seq, ok := p.add(request{cmd: pdu.SubmitSM, peerSeq: uint32(100 + i), sentAt: int64(i)}, false)
		if !ok {
			t.Fatalf("add %d refused below the window", i)
		}
		seqs = append(seqs, seq)
	}
	if _, ok := p.add(request{cmd: pdu.SubmitSM}, false); ok {
		t.Fatal("add beyond the window accepted")
	}
	if _, ok := p.add(request{cmd: pdu.EnquireLink, origin: local}, true); !ok {
		t.Fatal("forced local add refused on a full window")
	}
	for i, seq := range seqs {
		r, ok := p.take(seq)
		if !ok || r.peerSeq != uint32(100+i) || r.seq != seq {
			t.Fatalf("take(%d) = %+v, %v", seq, r, ok)
		}
		if _, ok := p.take(seq); ok {
			t.Fatalf("take(%d) twice succeeded", seq)
		}
	}
	if _, ok := p.take(0); ok {
		t.Fatal("take(0) succeeded")
	}
	if got := p.len(); got != 1 {
		t.Fatalf("len = %d, want 1 (the forced enquire_link)", got)
	}
}

func TestPendingWrapsAndSkipsBusySlots(t *testing.T) {
	p := newPending(8)
	p.skipTo(pdu.MaxSeq - 2)
	slow, _ := p.add(request{cmd: pdu.SubmitSM}, false) // stays outstanding
	if slow != pdu.MaxSeq-1 {
		t.Fatalf("first seq = %d, want %d", slow, pdu.MaxSeq-1)
	}
	seen := map[uint32]bool{slow: true}
	for i := 0; i < 100; i++ {
		seq, ok := p.add(request{cmd: pdu.SubmitSM}, false)
		if !ok {
			t.Fatalf("add %d refused", i)
		}
		if seq == 0 || seq > pdu.MaxSeq {
			t.Fatalf("seq %d out of range", seq)
		}
		if seq == slow {
			t.Fatalf("seq %d of an outstanding request was reused", seq)
		}
		if _, ok := p.take(seq); !ok {
			t.Fatalf("take(%d) failed", seq)
		}
		seen[seq] = true
	}
	if !seen[pdu.MaxSeq] || !seen[1] {
		t.Fatalf("sequence did not wrap through MaxSeq to 1: %v", seen[pdu.MaxSeq])
	}
	if r, ok := p.take(slow); !ok || r.seq != slow {
		t.Fatal("the slow request was lost")
	}
}

func TestPendingGrowsAndShrinks(t *testing.T) {
	p := newPending(1000)
	var seqs []uint32
	for i := 0; i < 1000; i++ {
		seq, ok := p.add(request{cmd: pdu.SubmitSM, sentAt: int64(i)}, false)
		if !ok {
			t.Fatalf("add %d refused", i)
		}
		seqs = append(seqs, seq)
	}
	if n := len(p.ring.Load().slots); n < 2000 {
		t.Fatalf("ring has %d slots for 1000 outstanding, want ≥ 2000", n)
	}
	for _, seq := range seqs {
		if _, ok := p.take(seq); !ok {
			t.Fatalf("take(%d) after growth failed", seq)
		}
	}
	p.expire(0, nil)
	if n := len(p.ring.Load().slots); n != minPendingSlots {
		t.Fatalf("idle ring kept %d slots, want %d", n, minPendingSlots)
	}
}

func TestPendingExpireAndDrain(t *testing.T) {
	p := newPending(10)
	for i := int64(0); i < 6; i++ {
		p.add(request{cmd: pdu.SubmitSM, sentAt: 100 - i}, false)
	}
	old := p.expire(97, nil) // sentAt 96 and 95
	if len(old) != 2 {
		t.Fatalf("expired %d, want 2", len(old))
	}
	rest := p.drain()
	if len(rest) != 4 || p.len() != 0 {
		t.Fatalf("drained %d (left %d), want 4 (0)", len(rest), p.len())
	}
	for i := 1; i < len(rest); i++ {
		if rest[i].sentAt < rest[i-1].sentAt {
			t.Fatal("drain is not oldest first")
		}
	}
}

func BenchmarkPendingAddTake(b *testing.B) {
	p := newPending(1000)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		seq, _ := p.add(request{cmd: pdu.SubmitSM, sentAt: int64(i)}, false)
		p.take(seq)
	}
}

// TestPendingConcurrentProducerAndConsumers runs the relay's pattern under the
// race detector: one goroutine adds (growing the ring), another takes each
// response, a third expires and drains. Every request is removed exactly once.
func TestPendingConcurrentProducerAndConsumers(t *testing.T) {
	const total = 200000
	p := newPending(512)
	seqs := make(chan uint32, 1024)
	var removed atomic.Int64
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { // producer: the other leg's reader
		defer wg.Done()
		defer close(seqs)
		for i := 0; i < total; {
			seq, ok := p.add(request{cmd: pdu.SubmitSM, peerSeq: uint32(i) + 1, sentAt: int64(i)}, false)
			if !ok {
				runtime.Gosched()
				continue
			}
			seqs <- seq
			i++
		}
	}()
	go func() { // consumer: this leg's reader
		defer wg.Done()
		for seq := range seqs {
			if r, ok := p.take(seq); ok {
				if r.seq != seq {
					t.Errorf("take(%d) returned request %d", seq, r.seq)
					return
				}
				removed.Add(1)
			}
		}
	}()
	stop := make(chan struct{})
	scanned := make(chan struct{})
	go func() { // the writer's expiry scan, with a deadline that removes some
		defer close(scanned)
		var buf []request
		for {
			select {
			case <-stop:
				return
			default:
			}
			buf = p.expire(int64(removed.Load())-1000, buf[:0])
			removed.Add(int64(len(buf)))
		}
	}()
	wg.Wait()
	close(stop)
	<-scanned
	removed.Add(int64(len(p.drain())))
	if got := removed.Load(); got != total {
		t.Fatalf("removed %d requests, want each of %d exactly once", got, total)
	}
	if p.len() != 0 {
		t.Fatalf("%d requests left outstanding", p.len())
	}
}

// TestSlotSize keeps two slots to a cache line (see slot).
func TestSlotSize(t *testing.T) {
	if n := unsafe.Sizeof(slot{}); n != 32 {
		t.Fatalf("a pending slot is %d bytes, want 32", n)
	}
}
