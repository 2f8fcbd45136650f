package smpp

import (
	"bytes"
	"fmt"
	"slices"
	"sync/atomic"

	"github.com/optguard/optguard/smpp/pdu"
)

// Deferred is a message whose verdict comes later: the Interceptor called
// Call.Defer and returned ActDefer, and gives the verdict with Finish once it
// can (a consent change on disk, a held message stored). It keeps a copy of the
// PDU and what answering it needs, so the connection's read buffer is free
// meanwhile and the reader goes on with the next PDU.
type Deferred struct {
	pr    *pair
	from  *Session      // the session the PDU arrived on; its answer goes there
	id    pdu.CommandID // the PDU's command id
	seq   uint32        // its sequence number on from
	p     []byte        // the copy
	state atomic.Uint32 // deferOpen until Finish or the verdict claims it
}

const (
	deferOpen uint32 = iota
	deferFinished
	deferVoid // the Interceptor returned another verdict, which was carried out
)

// Defer takes the message of this call over for a later verdict: it copies the
// PDU and what is needed to answer it, and returns the Deferred whose Finish
// gives the verdict. The Interceptor then returns Verdict{Action: ActDefer}.
// It may be called only during the Interceptor call (it returns nil outside
// one); calling it twice in a call returns the same Deferred. If the
// Interceptor returns another verdict after all, that verdict is carried out
// and Finish returns ErrDeferredDone.
func (c *Call) Defer() *Deferred {
	if c.def != nil {
		return c.def
	}
	if c.PDU == nil || c.sess == nil {
		return nil
	}
	pr := c.sess.pair.Load()
	if pr == nil {
		return nil
	}
	c.def = &Deferred{pr: pr, from: c.sess, id: pdu.ID(c.PDU), seq: pdu.Seq(c.PDU), p: bytes.Clone(c.PDU)}
	return c.def
}

// PDU returns the copy of the deferred PDU, sequence number as it arrived. It
// is the Deferred's own: the Interceptor may keep it (e.g. to hold it) and the
// proxy never changes it.
func (d *Deferred) PDU() []byte { return d.p }

// void claims d for a verdict the reader carries out itself.
func (d *Deferred) void() bool {
	if !d.state.CompareAndSwap(deferOpen, deferVoid) {
		return false
	}
	d.release()
	return true
}

// release lets go of the bind once d is answered (or never will be), so that
// an Interceptor keeping d, or only its PDU, does not keep the sessions. Only
// the claimer of d calls it; later calls look at the state alone.
func (d *Deferred) release() { d.pr, d.from = nil, nil }

// Finish carries out v for the deferred PDU as the reader would have done with
// it as the Interceptor's verdict: ActForward relays the copy, ActReplace
// relays v.Replace (copied before Finish returns), ActReject answers v.Status,
// ActHold answers ESME_ROK (and v.MessageID for an MT); v.InjectBefore goes
// out before that and v.Inject after it, each in order. It may be called from any
// goroutine, exactly once.
//
// Errors:
//   - ErrDeferredDone: Finish was called before, or the PDU was answered by a
//     verdict of its own; nothing is done.
//   - ErrSessionClosed: the bind is gone or being torn down; nothing is done
//     (the peer never got an answer, so an SMSC redelivers its MO and an ESME
//     resends its MT: nothing acknowledged is lost). v.Inject is not sent.
//   - ErrWindowFull: the leg the PDU is relayed on has no room; the PDU was
//     answered ESME_RTHROTTLED, as a relayed request is.
//   - ErrBadReplace, or an unknown action: the PDU was refused with
//     ESME_RSYSERR (never relay what cannot be checked).
//
// Each injection that cannot be sent gets its error through OnResponse, as
// with a verdict's Inject.
func (d *Deferred) Finish(v Verdict) error {
	if d == nil {
		return ErrNotDeferred
	}
	if !d.state.CompareAndSwap(deferOpen, deferFinished) {
		return ErrDeferredDone
	}
	pr, from := d.pr, d.from
	if pr.closing.Load() || from.closed() {
		d.release()
		return ErrSessionClosed
	}
	srv := pr.srv
	if len(v.InjectBefore) > 0 && from.canCarryOut(&v, d.id, false) {
		pr.injectAll(v.InjectBefore)
	}
	err := error(nil)
	switch v.Action {
	case ActForward:
		err = d.relay(d.p, &v)
	case ActReplace:
		if err = from.checkReplace(v.Replace, d.id); err != nil {
			d.refuse(v.Action, err)
			v.Action = ActReject
			break
		}
		err = d.relay(v.Replace, &v)
	case ActReject:
		st := rejectStatus(v.Status)
		if withUnsuccess(d.id, &v) {
			from.out.end(pdu.AppendSubmitMultiResp(from.out.begin(), st, d.seq, "", v.Unsuccess))
			srv.metrics.count(from.leg, dirOut, pdu.SubmitMultiResp, st)
			break
		}
		from.answerResp(d.id, st, d.seq)
	case ActHold:
		from.out.end(appendHeld(from.out.begin(), d.id, d.seq, v.MessageID, v.Unsuccess))
		srv.metrics.count(from.leg, dirOut, d.id.Resp(), pdu.ESME_ROK)
	default:
		err = fmt.Errorf("%w: %s", errUnknownAction, v.Action)
		d.refuse(v.Action, err)
		v.Action = ActReject
	}
	if err == ErrSessionClosed {
		d.release()
		return err
	}
	from.out.signal()
	srv.metrics.verdicts[v.Action].Add(1)
	pr.injectAll(v.Inject)
	d.release()
	return err
}

// relay sends p, the copy or its replacement, to the other leg with the
// deferred PDU's sequence number in the pending table, or answers
// ESME_RTHROTTLED when that leg's window is full.
func (d *Deferred) relay(p []byte, v *Verdict) error {
	pr, from := d.pr, d.from
	to := pr.other(from)
	r := request{peerSeq: d.seq, cmd: d.id, origin: relayed, sentAt: now()}
	multi := withUnsuccess(d.id, v)
	if multi {
		r.flags = hasUnsuccess
	}
	upSeq, ok := to.pend.add(r, false)
	if !ok {
		pr.srv.metrics.throttled.Add(1)
		from.answerResp(d.id, pdu.ESME_RTHROTTLED, d.seq)
		return ErrWindowFull
	}
	// A teardown that began since the check in Finish drains the table after
	// setting closing: either this sees closing and takes the entry back
	// before the bytes are queued, or the drain has it and answers it like any
	// request whose leg is lost (with the timeout status, never a success).
	if multi {
		to.unsuccess.put(upSeq, slices.Clone(v.Unsuccess))
	}
	if pr.closing.Load() || to.closed() {
		if r, mine := to.pend.take(upSeq); mine {
			to.forgetUnsuccess(&r)
		}
		return ErrSessionClosed
	}
	to.relayTo(p, upSeq)
	to.out.signal()
	return nil
}

// refuse answers the deferred PDU with ESME_RSYSERR: its verdict cannot be
// carried out.
func (d *Deferred) refuse(a Action, err error) {
	d.from.log().Error().Err(err).Stringer("action", a).Stringer("command", d.id).Msg("deferred verdict cannot be carried out; refusing the message")
	d.from.answerResp(d.id, pdu.ESME_RSYSERR, d.seq)
}
