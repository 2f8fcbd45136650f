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

	lastRead   atomic.Int64 // monotonic ns of the last bytes read
	flushClose atomic.Bool  // close once everything queued is written
	closeOnce  sync.Once
	done       chan struct{} // closed by close

	// Owned by the reader goroutine.
	msg  pdu.Message
	call Call

	// Owned by the writer goroutine.
	expired []request
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
	}
	s.setLogger(srv.log.With().Uint64("session", s.id).Str("leg", leg.String()).Str("remote", s.remote).Logger())
	s.lastRead.Store(now())
	return s
}

// log returns the session's logger.
func (s *Session) log() *zerolog.Logger { return s.logp.Load() }

func (s *Session) setLogger(l zerolog.Logger) { s.logp.Store(&l) }

// start launches the session's reader and writer. pre holds bytes already read
// from the connection (the rest of the read that carried the bind_resp).
func (s *Session) start(pre []byte) {
	s.srv.track(2)
	go s.writeLoop()
	go s.readLoop(pre)
}

// close closes the connection at once; the reader and writer end.
func (s *Session) close() {
	s.closeOnce.Do(func() {
		close(s.done)
		s.nc.Close()
		s.srv.sessionClosed(s)
	})
}

// closed reports whether close has run.
func (s *Session) closed() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

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

// read frames PDUs in place in the read buffer and handles each one, then wakes
// the writers of whatever the batch queued: one write per batch, not per PDU.
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
			n, err = s.nc.Read(buf[w:])
			if n > 0 {
				s.lastRead.Store(now())
			}
		}
		free := len(buf) - w
		w += n
		for r < w {
			l, ferr := pdu.Frame(buf[r:w], max)
			if ferr != nil {
				s.badFrame(buf[r:w], ferr)
				return
			}
			if l == 0 {
				break
			}
			s.handle(buf[r : r+l])
			r += l
		}
		s.wakeWriters()
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && !s.closed() {
				if errors.Is(err, os.ErrDeadlineExceeded) && s.pair.Load() == nil {
					s.log().Warn().Dur("bind_timeout", s.srv.opts.BindTimeout).Msg("no bind in time; closing")
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
	}
}

// wakeWriters signals the writers of this session and of its partner leg when
// they have bytes queued. Called after each read batch.
func (s *Session) wakeWriters() {
	if s.out.size() > 0 {
		s.out.signal()
	}
	if pr := s.pair.Load(); pr != nil {
		if o := pr.other(s); o.out.size() > 0 {
			o.out.signal()
		}
	}
}

// waitForRoom stops reading from a peer that does not read its own answers: the
// queue toward it may not grow without bound.
func (s *Session) waitForRoom() {
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
	s.log().Warn().Err(err).Msg("unframeable input; closing")
	o := s.out.begin()
	o = pdu.AppendGenericNack(o, pdu.ESME_RINVCMDLEN, seq)
	s.out.end(o)
	s.srv.metrics.count(s.leg, dirOut, pdu.GenericNack, pdu.ESME_RINVCMDLEN)
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

// tickEvery is how often the writer runs housekeeping.
func (s *Session) tickEvery() time.Duration {
	o := &s.srv.opts
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
	every := s.tickEvery()
	tick := time.NewTimer(every)
	defer tick.Stop()
	for {
		select {
		case <-s.out.kick:
		case <-tick.C:
			s.housekeep()
			tick.Reset(every)
		case <-s.done:
			return
		}
		b := s.out.take()
		if len(b) > 0 {
			s.nc.SetWriteDeadline(time.Now().Add(s.srv.opts.WriteTimeout))
			if _, err := s.nc.Write(b); err != nil {
				if !s.closed() {
					s.log().Debug().Err(err).Msg("write failed; closing")
				}
				s.close()
				return
			}
		}
		s.out.giveBack(b)
		if s.flushClose.Load() && s.out.size() == 0 {
			s.close()
			return
		}
	}
}

// housekeep answers requests whose response is overdue and probes idle links
// with enquire_link. It runs on the writer goroutine.
func (s *Session) housekeep() {
	o := &s.srv.opts
	t := now()
	s.expired = s.pend.expire(t-int64(o.ResponseTimeout), s.expired[:0])
	for i := range s.expired {
		s.timedOut(s.expired[i])
		s.expired[i] = request{}
	}
	if o.EnquireLinkInterval > 0 && s.pair.Load() != nil &&
		t-s.lastRead.Load() >= int64(o.EnquireLinkInterval) && !s.pend.hasLocal(pdu.EnquireLink) {
		s.sendLocal(pdu.EnquireLink, nil)
	}
}

// timedOut handles a request whose response did not come in time.
func (s *Session) timedOut(r request) {
	s.srv.metrics.timeouts.Add(1)
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

// answerResp queues the response to request cmd with the status (see
// pdu.AppendResp for its shape). The caller wakes the writer.
func (s *Session) answerResp(cmd pdu.CommandID, status pdu.Status, seq uint32) {
	b := s.out.begin()
	b = pdu.AppendResp(b, cmd, status, seq)
	s.out.end(b)
	s.srv.metrics.count(s.leg, dirOut, cmd.Resp(), status)
}

// answerNack queues a generic_nack with the status.
func (s *Session) answerNack(status pdu.Status, seq uint32) {
	b := s.out.begin()
	b = pdu.AppendGenericNack(b, status, seq)
	s.out.end(b)
	s.srv.metrics.count(s.leg, dirOut, pdu.GenericNack, status)
}

// relayTo queues a copy of PDU p with sequence number seq.
func (s *Session) relayTo(p []byte, seq uint32) {
	s.out.appendPDU(p, seq)
	s.srv.metrics.count(s.leg, dirOut, pdu.ID(p), pdu.StatusOf(p))
}

// epoch anchors now: time.Since keeps the monotonic clock.
var epoch = time.Now()

// now returns monotonic nanoseconds since the process started.
func now() int64 { return int64(time.Since(epoch)) }
