package smpp

import (
	"errors"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// outbound is the queue of bytes waiting to be written to one connection. Any
// goroutine may add to it. Whoever claims it writes: usually the reader that just
// queued a batch (writing in place, as nats-server does, saves waking another
// goroutine per batch), otherwise the session's writer goroutine, which also
// finishes what a slow peer did not take within a reader's budget. Only one
// goroutine writes at a time.
type outbound struct {
	mu    sync.Mutex
	buf   []byte // guarded by mu: bytes not yet claimed
	spare []byte // guarded by mu: the last written buffer, kept for reuse
	busy  bool   // guarded by mu: a goroutine is writing

	// kick wakes the writer goroutine; senders never block (capacity 1).
	kick chan struct{}
	// wrote is signalled after a write when waiting is set: a reader is
	// waiting for room (waitForRoom).
	wrote   chan struct{}
	waiting atomic.Bool
}

func newOutbound() *outbound {
	return &outbound{kick: make(chan struct{}, 1), wrote: make(chan struct{}, 1)}
}

// add queues b (whole PDUs) as they are.
func (o *outbound) add(b []byte) {
	o.mu.Lock()
	o.buf = append(o.buf, b...)
	o.mu.Unlock()
}

// begin locks the queue and returns its buffer for an Append* builder; end
// stores the grown buffer and unlocks. Together they queue a locally built PDU
// without allocating.
func (o *outbound) begin() []byte { o.mu.Lock(); return o.buf }
func (o *outbound) end(b []byte)  { o.buf = b; o.mu.Unlock() }

// signal wakes the writer goroutine.
func (o *outbound) signal() {
	select {
	case o.kick <- struct{}{}:
	default:
	}
}

// claimEmpty makes the caller the writer when nothing is queued or being
// written, so that it can write bytes of its own without queuing them first.
func (o *outbound) claimEmpty() bool {
	o.mu.Lock()
	ok := !o.busy && len(o.buf) == 0
	if ok {
		o.busy = true
	}
	o.mu.Unlock()
	return ok
}

// claim takes the queued bytes for writing, or returns nil when there are none
// or another goroutine is writing (it will see these bytes when it is done).
func (o *outbound) claim() []byte {
	o.mu.Lock()
	if o.busy || len(o.buf) == 0 {
		o.mu.Unlock()
		return nil
	}
	b := o.buf
	o.buf, o.spare = o.spare[:0], nil
	o.busy = true
	o.mu.Unlock()
	return b
}

// maxSpare is the largest buffer kept between writes; a burst's bigger buffer is
// dropped once written so that an idle connection holds little memory.
const maxSpare = 256 << 10

// release ends a claim. rest is what the write did not take: it goes back to the
// front of the queue. b, if not nil, was the queue's buffer and is kept for
// reuse. It reports whether bytes are waiting.
func (o *outbound) release(b, rest []byte) (more bool) {
	o.mu.Lock()
	if len(rest) > 0 {
		// A slow peer: rare, so a copy is fine.
		o.buf = append(append(make([]byte, 0, len(rest)+len(o.buf)), rest...), o.buf...)
	}
	if b != nil && o.spare == nil && cap(b) <= maxSpare {
		o.spare = b[:0]
	}
	o.busy = false
	more = len(o.buf) > 0
	o.mu.Unlock()
	if o.waiting.Load() {
		select {
		case o.wrote <- struct{}{}:
		default:
		}
	}
	return more
}

// size returns the number of queued bytes.
func (o *outbound) size() int {
	o.mu.Lock()
	n := len(o.buf)
	o.mu.Unlock()
	return n
}

// idle reports whether nothing is queued or being written.
func (o *outbound) idle() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return !o.busy && len(o.buf) == 0
}

// inPlaceBudget bounds how long a reader writes to another connection: a peer
// that does not take the bytes by then is left to that session's writer. The
// deadline is re-armed only when the one set is closer than inPlaceMin or
// further than inPlaceBudget (the writer's long one): arming it reads the wall
// clock and updates a runtime timer, which per batch is measurable.
const (
	inPlaceBudget = 4 * time.Millisecond
	inPlaceMin    = time.Millisecond
)

// armInPlace sets t's write deadline for an in-place write unless the one set
// already allows between inPlaceMin and inPlaceBudget. The caller holds t.out
// busy, which guards wdl.
func (t *Session) armInPlace() {
	n := now()
	if left := t.wdl - n; left < int64(inPlaceMin) || left > int64(inPlaceBudget) {
		t.nc.SetWriteDeadline(time.Now().Add(inPlaceBudget))
		t.wdl = n + int64(inPlaceBudget)
	}
}

// armLong sets t's write deadline for the writer goroutine's write.
func (t *Session) armLong() {
	d := t.srv.opts.WriteTimeout
	t.nc.SetWriteDeadline(time.Now().Add(d))
	t.wdl = now() + int64(d)
}

// writeStaged writes b, a batch a reader staged for t, on the reader's
// goroutine. When nothing is queued for t or being written to it, b goes out
// as it is; otherwise it is queued behind what is there and written in place
// if no one else is writing.
func (t *Session) writeStaged(b []byte) {
	if !t.out.claimEmpty() {
		t.out.add(b)
		t.writeOut(true)
		return
	}
	t.armInPlace()
	n, err := t.nc.Write(b)
	more := t.out.release(nil, b[n:])
	t.afterInPlace(err, more)
}

// afterInPlace handles the end of an in-place write: a slow peer or a queue
// that grew meanwhile is left to t's writer goroutine (which also closes t if
// it was asked to once everything is written); a failed connection is closed.
func (t *Session) afterInPlace(err error, more bool) {
	switch {
	case err != nil && !errors.Is(err, os.ErrDeadlineExceeded):
		t.writeFailed(err)
	case err != nil || more || t.flushClose.Load():
		t.out.signal()
	}
}

// writeFailed closes t after a write error.
func (t *Session) writeFailed(err error) {
	if !t.closed() && !errors.Is(err, net.ErrClosed) {
		t.log().Debug().Err(err).Msg("write failed; closing")
	}
	t.close()
}

// writeOut writes what t has queued, on the calling goroutine, unless another
// goroutine is already writing to t. A reader writes in place (inPlace) with a
// short budget and then goes back to reading: what a slow peer did not take
// stays queued and t's writer goroutine is woken to finish it with the full
// write timeout, after which the peer is dropped. It returns false when the
// connection failed (t is then closed).
func (t *Session) writeOut(inPlace bool) bool {
	for {
		b := t.out.claim()
		if b == nil {
			return true
		}
		if inPlace {
			t.armInPlace()
		} else {
			t.armLong()
		}
		n, err := t.nc.Write(b)
		more := t.out.release(b, b[n:])
		if inPlace {
			t.afterInPlace(err, more)
			return !t.closed()
		}
		if err != nil {
			t.writeFailed(err)
			return false
		}
		if !more {
			return true
		}
	}
}
