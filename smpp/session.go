package smpp

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/optguard/optguard/smpp/pdu"
)

// Session is one SMPP connection: the ESME's (Downstream) or the one optguard
// opened to the SMSC for it (Upstream). It owns one reader and one writer
// goroutine, its sequence counter and its pending table.
type Session struct {
	id     uint64
	leg    Leg
	srv    *Server
	nc     net.Conn
	remote string
	logp   atomic.Pointer[zerolog.Logger] // replaced at bind to add the system_id

	out  *outbound
	pend *pending

	// pair is set once, by the downstream reader when the bind succeeds and
	// before the upstream session's goroutines start.
	pair atomic.Pointer[pair]
	// svc is the service bind this session is the connection of (set before
	// its goroutines start); nil for the legs of an ESME's bind.
	svc *serviceBind

	lastRead   atomic.Int64 // monotonic ns of the last bytes read
	enquiring  atomic.Bool  // an enquire_link of ours awaits its response
	flushClose atomic.Bool  // close once everything queued is written
	closeOnce  sync.Once
	done       chan struct{} // closed by close
	isClosed   atomic.Bool   // set by close: cheaper to test than done

	// wdl is the write deadline set on nc, in monotonic ns; guarded by
	// out.busy (only the goroutine that claimed the queue writes).
	wdl int64

	// batchMu is held by the reader from the moment a read returns until
	// what it read is handled and flushed, and inRead is set while it
	// waits in Read with nothing read left unhandled: a teardown queues its
	// unbind between two batches (queueUnbindBetweenBatches), so that every
	// request already read is answered before the unbind goes out.
	batchMu sync.Mutex
	inRead  atomic.Bool

	// Owned by the reader goroutine: the flood brake (throttle.go).
	relays, throttles int           // this batch's relayed and throttled requests
	throttleStreak    int           // throttles since the last relayed request
	pause             time.Duration // the last pause; 0 when not flooding

	// Owned by the session's housekeeping (housekeeping.go, silence.go).
	hkTaken     int64 // pend.taken at the last tick
	silentSince int64 // monotonic ns since which requests wait with no response; 0 if none

	// Owned by the reader goroutine.
	msg     pdu.Message
	call    Call
	quick   SessionMT // the Interceptor's road for this session's MTs; nil for none
	batchAt int64     // monotonic ns when the PDUs being handled were read
	rt      tally     // what the reader counted
	toSelf  []byte    // answers to this connection, staged during a batch
	toPeer  []byte    // PDUs for the other leg, staged during a batch

	// hkIndex is the session's place in its housekeeping shard; guarded by
	// that shard's mu (see housekeeping.go). -1 when not under housekeeping.
	hkIndex int

	// Refused destinations of submit_multi requests in flight on this leg.
	unsuccess unsuccessTable
}

// Read buffer sizing: start small so that idle binds are cheap, double when a
// read fills the buffer, halve after a run of small reads.
const (
	readBufMin      = 512
	readBufMax      = 64 << 10
	shrinkAfter     = 64      // consecutive reads using under a quarter of the buffer
	outboundHighMax = 1 << 20 // a reader stops reading while its own queue is above this
)

func (srv *Server) newSession(leg Leg, nc net.Conn) *Session {
	s := &Session{
		id:     srv.nextID.Add(1),
		leg:    leg,
		srv:    srv,
		nc:     nc,
		remote: nc.RemoteAddr().String(),
		out:    newOutbound(),
		pend:   newPending(srv.opts.Window),
		done:   make(chan struct{}),

		hkIndex: -1,
	}
	s.rt = newTally(srv.metrics)
	s.setLogger(srv.log.With().Uint64("session", s.id).Str("leg", leg.String()).Str("remote", s.remote).Logger())
	s.batchAt = now()
	s.lastRead.Store(s.batchAt)
	return s
}

// log returns the session's logger.
func (s *Session) log() *zerolog.Logger { return s.logp.Load() }

func (s *Session) setLogger(l zerolog.Logger) { s.logp.Store(&l) }

// start launches the session's reader and writer. pre holds bytes already read
// from the connection (the rest of the read that carried the bind_resp).
func (s *Session) start(pre []byte) {
	s.srv.track(2)
	s.srv.hk.add(s)
	go s.writeLoop()
	go s.readLoop(pre)
}

// close closes the connection at once; the reader and writer end.
func (s *Session) close() {
	s.closeOnce.Do(func() {
		s.isClosed.Store(true)
		close(s.done)
		s.nc.Close()
		s.srv.hk.remove(s)
		s.srv.sessionClosed(s)
	})
}

// closed reports whether close has run.
func (s *Session) closed() bool { return s.isClosed.Load() }

// closeAfterFlush closes the connection once the writer has written everything
// queued so far (an answer, an unbind_resp, a generic_nack).
func (s *Session) closeAfterFlush() {
	s.flushClose.Store(true)
	s.out.signal()
}

func (s *Session) readLoop(pre []byte) {
	defer s.srv.untrack()
	defer s.lost()
	defer s.recoverPanic("reader")
	s.read(pre)
}

// read frames PDUs in place in the read buffer and handles each one, then writes
// what the batch staged: one write per batch and connection, not per PDU.
func (s *Session) read(pre []byte) {
	max := s.srv.opts.MaxPDUSize
	size := readBufMin
	for size < len(pre) {
		size <<= 1
	}
	buf := make([]byte, size)
	w := copy(buf, pre)
	r := 0
	small := 0
	for {
		n, err := 0, error(nil)
		if len(pre) > 0 {
			pre = nil // handle what came with the bind_resp before reading more
		} else {
			s.inRead.Store(true)
			n, err = s.nc.Read(buf[w:])
			s.inRead.Store(false)
			if n > 0 {
				// One clock read per batch: every PDU in it arrived at once.
				s.batchAt = now()
				s.lastRead.Store(s.batchAt)
			}
		}
		free := len(buf) - w
		w += n
		s.batchMu.Lock()
		for r < w {
			l, ferr := pdu.Frame(buf[r:w], max)
			if ferr != nil {
				s.badFrame(buf[r:w], ferr)
				s.batchMu.Unlock()
				return
			}
			if l == 0 {
				break
			}
			p := buf[r : r+l]
			s.rt.pdu(s.leg, dirIn, pdu.ID(p), pdu.StatusOf(p))
			s.handle(p)
			r += l
		}
		s.flushStaged()
		s.rt.flush()
		s.batchMu.Unlock()
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && !s.closed() {
				if errors.Is(err, os.ErrDeadlineExceeded) && s.pair.Load() == nil {
					if s.warnAllowed(warnBindTimeout) {
						s.log().Warn().Str("kind", warnBindTimeout).Dur("bind_timeout", s.srv.opts.BindTimeout).Msg("no bind in time; closing")
					}
				} else {
					s.log().Debug().Err(err).Msg("read failed")
				}
			}
			return
		}
		// Make room: move a partial PDU to the front, grow when a read filled
		// the buffer or a PDU is bigger than it, shrink after many small reads.
		if r == w {
			r, w = 0, 0
		}
		need := 0
		if w-r >= 4 {
			need = int(binary.BigEndian.Uint32(buf[r:]))
		}
		switch {
		case n == free && len(buf) < readBufMax, need > len(buf):
			nb := 2 * len(buf)
			for nb < need {
				nb <<= 1
			}
			nbuf := make([]byte, nb)
			w = copy(nbuf, buf[r:w])
			r, buf, small = 0, nbuf, 0
		case n < len(buf)/4 && len(buf) > readBufMin && w == 0:
			if small++; small >= shrinkAfter {
				buf, small = make([]byte, len(buf)/2), 0
			}
		default:
			small = 0
			if w == len(buf) && r > 0 {
				w = copy(buf, buf[r:w])
				r = 0
			}
		}
		s.waitForRoom()
		s.brakeIfFlooding()
	}
}

// flushStaged writes what the batch staged for this connection and for the
// other leg, in place (see writeStaged). Reader code calls it at the end of each
// batch and before anything that queues directly (an injection, a teardown), so
// that the order in which the reader produced PDUs is kept.
func (s *Session) flushStaged() {
	if len(s.toSelf) > 0 {
		s.writeStaged(s.toSelf)
		s.toSelf = trimStage(s.toSelf)
	}
	if len(s.toPeer) > 0 {
		if pr := s.pair.Load(); pr != nil {
			pr.other(s).writeStaged(s.toPeer)
		}
		s.toPeer = trimStage(s.toPeer)
	}
}

// trimStage empties a staging buffer, dropping it when a burst made it large.
func trimStage(b []byte) []byte {
	if cap(b) > maxSpare {
		return nil
	}
	return b[:0]
}

// waitForRoom stops reading from a peer that does not read its own answers: the
// queue toward it may not grow without bound.
func (s *Session) waitForRoom() {
	if s.out.size() <= outboundHighMax {
		return
	}
	s.out.waiting.Store(true)
	defer s.out.waiting.Store(false)
	for s.out.size() > outboundHighMax {
		select {
		case <-s.out.wrote:
		case <-s.done:
			return
		}
	}
}

// badFrame answers a command_length out of range with generic_nack
// ESME_RINVCMDLEN and closes: the stream cannot be framed any further.
func (s *Session) badFrame(b []byte, err error) {
	var seq uint32
	if len(b) >= pdu.HeaderLen {
		seq = pdu.Seq(b)
	}
	s.srv.metrics.badFrames.Add(1)
	if s.warnAllowed(warnBadFrame) {
		s.log().Warn().Str("kind", warnBadFrame).Err(err).Msg("unframeable input; closing")
	}
	s.replyNack(pdu.ESME_RINVCMDLEN, seq)
	s.flushStaged()
	s.closeAfterFlush()
}

// lost runs when the reader ends: the connection is gone (or going). A last
// answer already queued (a generic_nack for unframeable input) is written first;
// then a bound session tears its pair down and an unbound one just closes.
func (s *Session) lost() {
	if s.flushClose.Load() {
		t := time.NewTimer(s.srv.opts.WriteTimeout)
		select {
		case <-s.done:
		case <-t.C:
		}
		t.Stop()
	}
	if pr := s.pair.Load(); pr != nil {
		pr.teardown(s, false, 0)
		return
	}
	s.close()
}

func (s *Session) recoverPanic(where string) {
	if r := recover(); r != nil {
		s.srv.metrics.panics.Add(1)
		s.log().Error().Interface("panic", r).Str("goroutine", where).Bytes("stack", debug.Stack()).Msg("session panicked; closing it")
		s.close()
	}
}

// tickEvery is how often housekeeping runs: often enough that a response
// timeout or an enquire_link interval is exact to a quarter of itself (and
// to a second at most).
func (o *Options) tickEvery() time.Duration {
	d := time.Second
	if q := o.ResponseTimeout / 4; q < d {
		d = q
	}
	if q := o.EnquireLinkInterval / 4; o.EnquireLinkInterval > 0 && q < d {
		d = q
	}
	if d < 5*time.Millisecond {
		d = 5 * time.Millisecond
	}
	return d
}

func (s *Session) writeLoop() {
	defer s.srv.untrack()
	defer s.recoverPanic("writer")
	for {
		select {
		case <-s.out.kick:
		case <-s.done:
			return
		}
		if !s.writeOut(false) {
			return
		}
		if s.flushClose.Load() && s.out.idle() {
			s.close()
			return
		}
	}
}

// housekeep answers requests whose response is overdue and probes idle links
// with enquire_link. It runs on the session's housekeeping goroutine
// (housekeeping.go), never twice at once for a session; expired is its
// scratch buffer, returned for reuse.
func (s *Session) housekeep(expired []request) []request {
	o := &s.srv.opts
	t := now()
	expired = s.pend.expire(t-int64(o.ResponseTimeout), expired)
	for i := range expired {
		s.timedOut(expired[i])
		expired[i] = request{}
	}
	if s.silentTooLong(t, len(expired)) {
		return expired
	}
	if o.EnquireLinkInterval > 0 && (s.pair.Load() != nil || s.svc != nil) &&
		t-s.lastRead.Load() >= int64(o.EnquireLinkInterval) && s.enquiring.CompareAndSwap(false, true) {
		if !s.sendLocal(pdu.EnquireLink, func([]byte, error) { s.enquiring.Store(false) }) {
			s.enquiring.Store(false)
		}
	}
	return expired
}

// timedOut handles a request whose response did not come in time.
func (s *Session) timedOut(r request) {
	s.srv.metrics.timeouts.Add(1)
	s.forgetUnsuccess(&r)
	switch r.origin {
	case relayed:
		if pr := s.pair.Load(); pr != nil {
			to := pr.other(s)
			to.answerResp(r.cmd, s.srv.opts.TimeoutStatus, r.peerSeq)
			to.out.signal()
		}
		s.log().Debug().Stringer("command", r.cmd).Msg("response timeout; answered with the timeout status")
	case injected:
		if r.done != nil {
			r.done(nil, ErrResponseTimeout)
		}
	case local:
		if r.done != nil {
			r.done(nil, ErrResponseTimeout)
		}
		if r.cmd == pdu.EnquireLink {
			s.log().Warn().Msg("enquire_link not answered; dropping the link")
			s.close()
		}
	}
}

// sendLocal sends a hop-by-hop request (enquire_link, unbind) of the session
// itself. done, if not nil, gets the response or the error.
func (s *Session) sendLocal(cmd pdu.CommandID, done func([]byte, error)) bool {
	seq, ok := s.pend.add(request{cmd: cmd, origin: local, sentAt: now(), done: done}, true)
	if !ok {
		return false
	}
	b := s.out.begin()
	b = pdu.AppendHeaderOnly(b, cmd, pdu.ESME_ROK, seq)
	s.out.end(b)
	s.srv.metrics.count(s.leg, dirOut, cmd, pdu.ESME_ROK)
	s.out.signal()
	return true
}

// Answers and relays staged by the reader: they go out at the end of the batch
// (flushStaged) and are counted in the reader's tally.

// reply stages the response to request cmd with the status (see pdu.AppendResp
// for its shape).
func (s *Session) reply(cmd pdu.CommandID, status pdu.Status, seq uint32) {
	s.toSelf = pdu.AppendResp(s.toSelf, cmd, status, seq)
	s.rt.pdu(s.leg, dirOut, cmd.Resp(), status)
}

// replyNack stages a generic_nack with the status.
func (s *Session) replyNack(status pdu.Status, seq uint32) {
	s.toSelf = pdu.AppendGenericNack(s.toSelf, status, seq)
	s.rt.pdu(s.leg, dirOut, pdu.GenericNack, status)
}

// forward stages a copy of PDU p, with sequence number seq, for the other leg.
func (s *Session) forward(to *Session, p []byte, seq uint32) {
	s.toPeer = appendWithSeq(s.toPeer, p, seq)
	s.rt.pdu(to.leg, dirOut, pdu.ID(p), pdu.StatusOf(p))
}

// forwardResp stages, for the other leg, the response to its request cmd with
// the status.
func (s *Session) forwardResp(to *Session, cmd pdu.CommandID, status pdu.Status, seq uint32) {
	s.toPeer = pdu.AppendResp(s.toPeer, cmd, status, seq)
	s.rt.pdu(to.leg, dirOut, cmd.Resp(), status)
}

// Answers and requests queued directly, from any goroutine (timeouts,
// teardown, injections). The caller wakes the writer.

// answerResp queues the response to request cmd with the status.
func (s *Session) answerResp(cmd pdu.CommandID, status pdu.Status, seq uint32) {
	b := s.out.begin()
	b = pdu.AppendResp(b, cmd, status, seq)
	s.out.end(b)
	s.srv.metrics.count(s.leg, dirOut, cmd.Resp(), status)
}

// relayTo queues a copy of PDU p with sequence number seq.
func (s *Session) relayTo(p []byte, seq uint32) {
	s.out.end(appendWithSeq(s.out.begin(), p, seq))
	s.srv.metrics.count(s.leg, dirOut, pdu.ID(p), pdu.StatusOf(p))
}

// appendWithSeq appends a copy of PDU p with its sequence number set to seq:
// the one change optguard makes to a relayed PDU.
func appendWithSeq(dst, p []byte, seq uint32) []byte {
	off := len(dst)
	dst = append(dst, p...)
	pdu.SetSeq(dst[off:], seq)
	return dst
}

// epoch anchors now: time.Since keeps the monotonic clock.
var epoch = time.Now()

// now returns monotonic nanoseconds since the process started.
func now() int64 { return int64(time.Since(epoch)) }
