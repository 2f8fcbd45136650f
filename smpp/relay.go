package smpp

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/optguard/optguard/smpp/pdu"
)

// pair is one bind: the ESME's session and the upstream session opened for it.
type pair struct {
	srv      *Server
	down, up *Session
	systemID string
	bind     BindType
	route    string    // the route's name
	since    time.Time // when the bind came up

	// closing is set when teardown starts: new requests are then refused with
	// ESME_RINVBNDSTS instead of being relayed.
	closing  atomic.Bool
	tearOnce sync.Once
}

// other returns the session on the other leg.
func (pr *pair) other(s *Session) *Session {
	if s == pr.down {
		return pr.up
	}
	return pr.down
}

// handle dispatches a framed PDU that arrived on s. It runs on s's reader.
func (s *Session) handle(p []byte) {
	pr := s.pair.Load()
	if pr == nil {
		s.handleUnbound(p)
		return
	}
	id := pdu.ID(p)
	if id.IsResponse() {
		pr.response(s, p)
		return
	}
	seq := pdu.Seq(p)
	switch id {
	case pdu.EnquireLink:
		s.reply(id, pdu.ESME_ROK, seq)
		return
	case pdu.Unbind:
		s.flushStaged()
		pr.teardown(s, true, seq)
		return
	case pdu.BindReceiver, pdu.BindTransmitter, pdu.BindTransceiver:
		if s.leg == Downstream {
			s.reply(id, pdu.ESME_RALYBND, seq)
		} else {
			s.replyNack(pdu.ESME_RINVCMDID, seq)
		}
		return
	case pdu.Outbind:
		s.replyNack(pdu.ESME_RINVCMDID, seq)
		return
	}
	if pr.closing.Load() {
		s.reply(id, pdu.ESME_RINVBNDSTS, seq)
		return
	}
	if !id.Known() && s.srv.opts.RefuseUnknownCommands {
		s.replyNack(pdu.ESME_RINVCMDID, seq)
		return
	}
	if s.leg == Downstream {
		switch id {
		case pdu.SubmitSM, pdu.DataSM, pdu.SubmitMulti:
			pr.intercept(s, p, true)
			return
		}
	} else if id == pdu.DeliverSM || id == pdu.DataSM {
		pr.intercept(s, p, false)
		return
	}
	pr.relayRequest(s, p, seq)
}

// intercept scans a message, asks the Interceptor and carries out its verdict.
// mt is true for a message from the ESME, false for one from the SMSC.
func (pr *pair) intercept(s *Session, p []byte, mt bool) {
	id, seq := pdu.ID(p), pdu.Seq(p)
	if mt && !pr.bind.CanTransmit() {
		s.reply(id, pdu.ESME_RINVBNDSTS, seq)
		return
	}
	m := &s.msg
	off, err := pdu.ScanAddrs(p, m)
	q := s.quick
	if !mt || id == pdu.SubmitMulti {
		q = nil
	}
	if err == nil && q != nil {
		q.PrefetchMT(m) // the index line loads while the rest is scanned
	}
	if err == nil {
		err = pdu.ScanRest(p, m, off)
	}
	if err != nil {
		st := statusOf(err)
		s.srv.metrics.scanErrors.Add(1)
		s.log().Debug().Err(err).Stringer("command", id).Msg("malformed message refused")
		s.reply(id, st, seq)
		return
	}
	if q != nil {
		if st, ok := q.QuickMT(m); ok {
			// Decided from memory: nothing to inject, nothing deferred.
			if st == pdu.ESME_ROK {
				pr.relayRequest(s, p, seq)
				s.rt.verdict(ActForward)
			} else {
				s.reply(id, st, seq)
				s.rt.verdict(ActReject)
			}
			return
		}
	}
	c := &s.call
	c.PDU = p
	var v Verdict
	if mt {
		v = s.srv.opts.Interceptor.MT(c, m)
	} else {
		v = s.srv.opts.Interceptor.MO(c, m)
	}
	c.PDU = nil
	d := c.def
	if d != nil {
		c.def = nil
		if v.Action != ActDefer {
			// Exactly one of the verdict and Finish answers the PDU: whichever
			// claims the deferral first.
			if d.void() {
				s.log().Error().Stringer("action", v.Action).Msg("interceptor deferred a message but returned another verdict; the verdict is carried out and Finish refused")
			} else {
				s.log().Error().Stringer("action", v.Action).Msg("interceptor finished a deferred message and returned another verdict; Finish's was carried out")
				v.Action = ActDefer
			}
		}
	}
	if len(v.InjectBefore) > 0 && s.canCarryOut(&v, id, d != nil) {
		s.flushStaged() // what the batch produced before this message goes first
		pr.injectAll(v.InjectBefore)
	}
	switch v.Action {
	case ActForward:
		if withUnsuccess(id, &v) {
			pr.relayMulti(s, p, seq, v.Unsuccess)
			break
		}
		pr.relayRequest(s, p, seq)
	case ActReject:
		st := rejectStatus(v.Status)
		if withUnsuccess(id, &v) {
			s.toSelf = pdu.AppendSubmitMultiResp(s.toSelf, st, seq, "", v.Unsuccess)
			s.rt.pdu(s.leg, dirOut, pdu.SubmitMultiResp, st)
			break
		}
		s.reply(id, st, seq)
	case ActHold:
		s.replyHeld(id, seq, v.MessageID, v.Unsuccess)
	case ActReplace:
		if err := s.checkReplace(v.Replace, id); err != nil {
			s.refuseVerdict(id, seq, v.Action, err)
			v.Action = ActReject
			break
		}
		if withUnsuccess(id, &v) {
			pr.relayMulti(s, v.Replace, seq, v.Unsuccess)
			break
		}
		pr.relayRequest(s, v.Replace, seq)
	case ActDefer:
		if d == nil {
			s.refuseVerdict(id, seq, v.Action, ErrNotDeferred)
			v.Action = ActReject
		}
	default:
		s.refuseVerdict(id, seq, v.Action, errUnknownAction)
		v.Action = ActReject
	}
	s.rt.verdict(v.Action)
	if len(v.Inject) > 0 {
		s.flushStaged() // the verdict's own answer or relay goes first
		pr.injectAll(v.Inject)
	}
}

// canCarryOut reports whether verdict v of a PDU of command id can be carried
// out, so that its InjectBefore may go; deferred says Defer was called.
func (s *Session) canCarryOut(v *Verdict, id pdu.CommandID, deferred bool) bool {
	switch v.Action {
	case ActForward, ActReject, ActHold:
		return true
	case ActReplace:
		return s.checkReplace(v.Replace, id) == nil
	case ActDefer:
		return deferred
	}
	return false
}

// injectAll originates the injections in order on pr's bind (or the account's
// others); one that cannot go tells its OnResponse why.
func (pr *pair) injectAll(list []Injection) {
	for _, inj := range list {
		if err := pr.srv.inject(pr, inj); err != nil && inj.OnResponse != nil {
			inj.OnResponse(nil, err)
		}
	}
}

// rejectStatus is the status a rejection answers: never ESME_ROK, which would
// read as success.
func rejectStatus(st pdu.Status) pdu.Status {
	if st == pdu.ESME_ROK {
		return pdu.ESME_RX_R_APPN
	}
	return st
}

// refuseVerdict answers a message whose verdict cannot be carried out with
// ESME_RSYSERR: a verdict the proxy does not understand, or replacement bytes
// that are not a PDU of the right command, must not let through a message that
// consent may forbid, nor put garbage on the wire.
func (s *Session) refuseVerdict(id pdu.CommandID, seq uint32, a Action, err error) {
	s.log().Error().Err(err).Stringer("action", a).Stringer("command", id).Msg("interceptor verdict cannot be carried out; refusing the message")
	s.reply(id, pdu.ESME_RSYSERR, seq)
}

// checkReplace validates the bytes an ActReplace verdict relays instead of a
// PDU of command id: one whole PDU of that command, within the size limit.
func (s *Session) checkReplace(b []byte, id pdu.CommandID) error {
	h, err := pdu.ParseHeader(b)
	switch {
	case err != nil:
		return fmt.Errorf("%w: %w", ErrBadReplace, err)
	case int64(h.Length) != int64(len(b)):
		return fmt.Errorf("%w: command_length %d, %d octets", ErrBadReplace, h.Length, len(b))
	case h.Length > s.srv.opts.MaxPDUSize:
		return fmt.Errorf("%w: command_length %d above the maximum %d", ErrBadReplace, h.Length, s.srv.opts.MaxPDUSize)
	case h.ID != id:
		return fmt.Errorf("%w: %s instead of %s", ErrBadReplace, h.ID, id)
	}
	return nil
}

// replyHeld answers a held message with ESME_ROK and, for an MT, the message_id
// optguard gave it (and, for a submit_multi, the destinations it refused).
func (s *Session) replyHeld(id pdu.CommandID, seq uint32, messageID string, unsuccess []pdu.UnsuccessSME) {
	s.toSelf = appendHeld(s.toSelf, id, seq, messageID, unsuccess)
	s.rt.pdu(s.leg, dirOut, id.Resp(), pdu.ESME_ROK)
}

// appendHeld appends the ESME_ROK response to a held message of command id.
func appendHeld(dst []byte, id pdu.CommandID, seq uint32, messageID string, unsuccess []pdu.UnsuccessSME) []byte {
	if id == pdu.SubmitMulti {
		return pdu.AppendSubmitMultiResp(dst, pdu.ESME_ROK, seq, messageID, unsuccess)
	}
	w := pdu.Begin(dst, id.Resp(), pdu.ESME_ROK, seq)
	switch id {
	case pdu.SubmitSM, pdu.DataSM:
		w.CString(messageID)
	default:
		w.CString("")
	}
	return w.End()
}

// relayRequest sends request p from s to the other leg, or answers it with
// ESME_RTHROTTLED when that leg's window is full. seq is the request's
// sequence number on from: p's own, or, for replacement bytes, the one of the
// PDU they replace.
func (pr *pair) relayRequest(from *Session, p []byte, seq uint32) {
	to := pr.other(from)
	id := pdu.ID(p)
	if id == pdu.AlertNotification {
		// It has no response: relay it with a sequence number of the other leg
		// but wait for nothing.
		from.forward(to, p, to.pend.next())
		return
	}
	if pr.closing.Load() {
		// A verdict that came after the teardown began: the other leg is
		// being unbound (or is gone), and what was pending on it answered.
		from.reply(id, pdu.ESME_RINVBNDSTS, seq)
		return
	}
	upSeq, ok := to.pend.add(request{peerSeq: seq, cmd: id, origin: relayed, sentAt: from.batchAt}, false)
	if !ok {
		from.throttle(id, seq)
		return
	}
	from.relays++
	from.forward(to, p, upSeq)
}

// response matches a response that arrived on s with the request it answers.
func (pr *pair) response(s *Session, p []byte) {
	r, ok := s.pend.take(pdu.Seq(p))
	if !ok {
		pr.srv.metrics.stray.Add(1)
		s.log().Debug().Stringer("command", pdu.ID(p)).Uint32("seq", pdu.Seq(p)).Msg("response to no outstanding request; dropped")
		return
	}
	switch r.origin {
	case relayed:
		to := pr.other(s)
		s.rt.latency(s.leg, s.batchAt-r.sentAt)
		if r.flags&hasUnsuccess != 0 {
			s.respondMulti(to, p, &r)
			return
		}
		if to.closed() {
			return
		}
		if pdu.ID(p) == pdu.GenericNack {
			// generic_nack is hop-by-hop: the requester gets the response it
			// expects, with the nack's status.
			s.forwardResp(to, r.cmd, pdu.StatusOf(p), r.peerSeq)
			return
		}
		s.forward(to, p, r.peerSeq)
	default:
		if r.done != nil {
			r.done(p, nil)
		}
	}
}

// teardown ends the bind in order. from is the session that ended it: by
// unbinding (alive, unbindSeq set), by being lost (not alive), or, at Shutdown,
// the ESME's session (alive, unbindSeq 0: it is unbound too). Requests waiting
// on a leg that goes away are answered on the other with the timeout status;
// the surviving leg is unbound before both connections close. Only the first
// call does the work; later ones answer a late unbind and return.
func (pr *pair) teardown(from *Session, alive bool, unbindSeq uint32) {
	first := false
	pr.tearOnce.Do(func() { first = true })
	if !first {
		switch {
		case !alive:
			// The running teardown may be waiting on this leg: it is gone.
			from.close()
		case unbindSeq != 0:
			from.answerResp(pdu.Unbind, pdu.ESME_ROK, unbindSeq)
			from.out.signal()
		}
		return
	}
	pr.closing.Store(true)
	other := pr.other(from)
	if !alive {
		from.close()
	}
	reason := "unbind"
	switch {
	case !alive:
		reason = from.leg.String() + " connection lost"
	case unbindSeq == 0:
		reason = "shutdown"
	}
	from.log().Info().Str("reason", reason).Msg("closing bind")

	pr.answerAll(from.pend.drain(), other)
	// The surviving leg's reader may be in a batch that relays into from
	// still: what it added is answered with the rest, before the unbind.
	other.unbindAfter(func() { pr.answerAll(from.pend.drain(), other) })
	pr.answerAll(other.pend.drain(), from)
	switch {
	case alive && unbindSeq != 0:
		from.answerResp(pdu.Unbind, pdu.ESME_ROK, unbindSeq)
	case alive:
		from.unbind()
		pr.answerAll(from.pend.drain(), other)
	}
	other.closeAfterFlush()
	from.closeAfterFlush()
	pr.waitClosed(other)
	pr.waitClosed(from)
	pr.srv.metrics.bound(pr.bind, -1)
	pr.srv.removePair(pr)
	pr.srv.bindEvent(BindEvent{SystemID: pr.systemID, Bind: pr.bind, Session: pr.down.id, Remote: pr.down.remote})
}

// answerAll answers on session to every relayed request in reqs with the timeout
// status, and tells injections and local requests that their session is gone.
func (pr *pair) answerAll(reqs []request, to *Session) {
	owner := pr.other(to)
	for i := range reqs {
		r := &reqs[i]
		owner.forgetUnsuccess(r)
		switch {
		case r.origin == relayed && !to.closed():
			to.answerResp(r.cmd, pr.srv.opts.TimeoutStatus, r.peerSeq)
		case r.origin != relayed && r.done != nil:
			r.done(nil, ErrSessionClosed)
		}
	}
	if len(reqs) > 0 {
		to.out.signal()
	}
}

// waitClosed waits until s's writer has flushed and closed it, bounded by the
// write timeout.
func (pr *pair) waitClosed(s *Session) { s.waitClosed() }

// unbind sends unbind on s and waits for unbind_resp, the connection's end or
// the unbind timeout, whichever comes first. The unbind goes out after the
// answers to every request s's reader has read (queueUnbindBetweenBatches).
func (s *Session) unbind() { s.unbindAfter(nil) }

// unbindAfter is unbind that first runs before, if not nil, between two of
// s's batches, with the unbind queued right after it.
func (s *Session) unbindAfter(before func()) {
	if s.closed() {
		if before != nil {
			before()
		}
		return
	}
	answered := make(chan struct{})
	var once sync.Once
	if !s.queueUnbindBetweenBatches(before, func([]byte, error) { once.Do(func() { close(answered) }) }) {
		return
	}
	t := time.NewTimer(s.srv.opts.UnbindTimeout)
	defer t.Stop()
	select {
	case <-answered:
	case <-s.done:
	case <-t.C:
		s.log().Debug().Msg("unbind not answered in time")
	}
}

// queueUnbindBetweenBatches runs before (if not nil) and queues an unbind on
// s once its reader is between batches: waiting in Read with everything it
// read handled and its answers (ESME_RINVBNDSTS, once the pair is closing)
// queued. Some ESMEs stop reading at unbind and would count answers after
// it as timeouts. A reader that does not get between batches within the
// unbind timeout (blocked on a peer that does not read) is not waited for
// longer.
func (s *Session) queueUnbindBetweenBatches(before func(), done func([]byte, error)) bool {
	deadline := time.Now().Add(s.srv.opts.UnbindTimeout)
	for !s.closed() && time.Now().Before(deadline) {
		if s.batchMu.TryLock() {
			if s.inRead.Load() {
				if before != nil {
					before()
				}
				ok := s.sendLocal(pdu.Unbind, done)
				s.batchMu.Unlock()
				return ok
			}
			s.batchMu.Unlock() // a read just returned: let its batch be handled
		}
		time.Sleep(time.Millisecond)
	}
	if before != nil {
		before()
	}
	return s.sendLocal(pdu.Unbind, done)
}

// waitClosed waits until s's writer has flushed and closed it, bounded by the
// write timeout.
func (s *Session) waitClosed() {
	t := time.NewTimer(s.srv.opts.WriteTimeout)
	defer t.Stop()
	select {
	case <-s.done:
	case <-t.C:
		s.close()
	}
}
