package policy

import (
	"context"
	"time"

	"github.com/optguard/optguard/smpp/pdu"
	"github.com/optguard/optguard/store"
)

// A held message is on disk before its PDU is answered, and the consent
// request that goes with it is sent right after. A crash between the two
// leaves a held message in a scope that never asked the handset: at start
// the policy finds such scopes and asks them now, in the scope's lane.

// recoverScan bounds the held messages read at start.
const recoverScan = 100000

// farFuture lists every held message through Expired (Unix nanoseconds end in 2262).
var farFuture = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)

// recoverRequests queues a consent request for every scope that holds
// messages but has no record yet (no request was ever sent).
func (e *Engine) recoverRequests(ctx context.Context) {
	held, err := e.st.Expired(ctx, farFuture, recoverScan)
	if err != nil {
		e.log.Warn().Err(err).Msg("reading held messages at start; scopes whose consent request a crash interrupted are asked at their next message")
		return
	}
	seen := map[store.Scope]bool{}
	for _, h := range held {
		if h.Review || seen[h.Scope] {
			continue
		}
		seen[h.Scope] = true
		if _, known := e.st.Lookup(h.Scope); known {
			continue
		}
		t := e.taskOfHeld(h)
		if t == nil {
			continue
		}
		select {
		case e.laneOf(t.scope.Org, t.scope.Number) <- t:
		case <-e.closing:
			return
		}
	}
}

// taskOfHeld rebuilds what the lane needs to ask for consent from a held
// message: its organization, sender and handset as addressed in the PDU.
func (e *Engine) taskOfHeld(h store.HeldMessage) *task {
	mo := isHeldMOID(h.ID)
	handset, from, ok := addrsOf(h.PDU, mo)
	if !ok {
		return nil
	}
	t := &task{kind: taskRecoverRequest, mt: !mo, bind: Bind{SystemID: h.SystemID}, at: h.HeldAt, scope: h.Scope,
		handset: handset, sender: from}
	c := e.tab.Load().claimFor(h.SystemID)
	var sbuf digits
	sender, ok := c.acct.plan.e164(&sbuf, t.sender.TON, []byte(t.sender.Addr))
	if !ok {
		sender = []byte(t.sender.Addr)
	}
	t.org = c.orgFor(sender)
	if t.org.acct.name != h.Scope.Org {
		t.org = e.accountOf(h.Scope.Org).main // the bind moved to another account since
	}
	return t
}

// addrsOf reads the handset's and the sender's addresses from a PDU
// optguard kept (a held MT or MO, a queued auto-message): fromHandset
// says it goes from the handset to the sender (an MO, a notice to the
// sender), else the other way.
func addrsOf(raw []byte, fromHandset bool) (handset, sender pdu.Addr, ok bool) {
	var m pdu.Message
	if pdu.Scan(raw, &m) != nil {
		return handset, sender, false
	}
	if fromHandset {
		return addrOf(m.Source), addrOf(m.Dest), true
	}
	return addrOf(m.Dest), addrOf(m.Source), true
}

// recoverRequest sends the consent request a crash interrupted, unless the
// scope moved on meanwhile.
func (e *Engine) recoverRequest(t *task) {
	if _, known := e.st.Lookup(t.scope); known {
		return
	}
	e.log.Info().Str("organization", t.scope.Org).Str("number", store.MaskNumber(t.scope.Number)).
		Msg("sending the consent request a restart interrupted")
	if t.mt {
		e.send(t, TplSenderFirstRequest, store.EventConsentRequested, time.Time{}, "after a restart")
		e.send(t, TplSenderFirstRequestedNotice, store.EventNoticeSent, time.Time{}, "")
		return
	}
	e.send(t, TplHandsetFirstRequest, store.EventConsentRequested, time.Time{}, "after a restart")
	e.send(t, TplHandsetFirstRequestedNotice, store.EventNoticeSent, time.Time{}, "")
}
