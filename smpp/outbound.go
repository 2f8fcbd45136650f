package smpp

import (
	"sync"

	"github.com/optguard/optguard/smpp/pdu"
)

// outbound is the queue of bytes waiting to be written to one connection. Any
// goroutine may append (the connection's own reader answering locally, the other
// leg's reader relaying, an injection); only the session's writer takes. The
// writer swaps buffers with the queue, so appending never waits for a write.
type outbound struct {
	mu    sync.Mutex
	buf   []byte // guarded by mu: bytes not yet taken by the writer
	spare []byte // guarded by mu: the writer's last buffer, kept for reuse

	// kick wakes the writer; senders never block (capacity 1).
	kick chan struct{}
	// wrote is signalled after every write, for readers waiting for room.
	wrote chan struct{}
}

func newOutbound() *outbound {
	return &outbound{kick: make(chan struct{}, 1), wrote: make(chan struct{}, 1)}
}

// appendPDU queues a copy of the whole PDU p with its sequence number set to seq.
func (o *outbound) appendPDU(p []byte, seq uint32) {
	o.mu.Lock()
	off := len(o.buf)
	o.buf = append(o.buf, p...)
	pdu.SetSeq(o.buf[off:], seq)
	o.mu.Unlock()
}

// begin locks the queue and returns its buffer for an Append* builder; end
// stores the grown buffer and unlocks. Together they queue a locally built PDU
// without allocating.
func (o *outbound) begin() []byte { o.mu.Lock(); return o.buf }
func (o *outbound) end(b []byte)  { o.buf = b; o.mu.Unlock() }

// signal wakes the writer.
func (o *outbound) signal() {
	select {
	case o.kick <- struct{}{}:
	default:
	}
}

// take hands the queued bytes to the writer and gives the queue the writer's
// previous buffer.
func (o *outbound) take() []byte {
	o.mu.Lock()
	b := o.buf
	o.buf, o.spare = o.spare[:0], nil
	o.mu.Unlock()
	return b
}

// maxSpare is the largest buffer kept between writes; a burst's bigger buffer is
// dropped once written so that an idle connection holds little memory.
const maxSpare = 256 << 10

// giveBack returns a written buffer for reuse.
func (o *outbound) giveBack(b []byte) {
	if cap(b) > maxSpare {
		return
	}
	o.mu.Lock()
	if o.spare == nil {
		o.spare = b[:0]
	}
	o.mu.Unlock()
	select {
	case o.wrote <- struct{}{}:
	default:
	}
}

// size returns the number of queued bytes.
func (o *outbound) size() int {
	o.mu.Lock()
	n := len(o.buf)
	o.mu.Unlock()
	return n
}
