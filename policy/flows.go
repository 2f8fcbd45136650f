package policy

import (
	"bytes"
	"context"
	"errors"
	"time"

	"github.com/optguard/optguard/policy/keywords"
	"github.com/optguard/optguard/smpp/pdu"
	"github.com/optguard/optguard/store"
)

// The flows run in a lane, one task at a time per handset: the durable
// write first, then the answer to the PDU (Finish), then what follows
// (messages released, receipts, confirmations, notices, proof events).

// holdMT holds a sender-first MT (consent mode, no consent yet) and asks
// the handset for consent.
func (e *Engine) holdMT(t *task) {
	a := t.org.acct
	cur, _ := e.st.Lookup(t.scope)
	if t.review && !e.rev.has(scopeKey(t.scope)) {
		// Decided while the MT waited in the lane: judge it as any MT.
		t.review = false
		if a.mode != ModeConsent && cur.State != store.StateOptedOut {
			_ = t.finish(Decision{})
			return
		}
	}
	switch {
	case cur.State == store.StateOptedIn && !t.review:
		_ = t.finish(Decision{})
		return
	case cur.State == store.StateOptedOut:
		_ = t.finish(Decision{Action: Reject, Status: a.main.spec.RefusedStatus})
		return
	}
	if n, err := e.st.HeldCount(e.ctx(), t.scope); err == nil && n >= a.main.spec.HoldMax {
		e.m.mt.add(t.bind.Session, mtHoldFull)
		_ = t.finish(Decision{Action: Reject, Status: a.main.spec.HoldFullStatus})
		return
	}
	id := e.heldID(a)
	_, err := e.st.Hold(e.ctx(), store.HeldMessage{
		ID: id, Scope: t.scope, SystemID: t.bind.SystemID, PDU: t.pdu,
		ReceiptRequested: t.receipt, ExpiresAt: t.at.Add(a.main.spec.HoldExpiry), Review: t.review,
	})
	var changed *store.StateChangedError
	switch {
	case errors.As(err, &changed):
		// A YES or STOP was written since memory was read: decide again.
		if changed.State == store.StateOptedIn {
			_ = t.finish(Decision{})
		} else {
			_ = t.finish(Decision{Action: Reject, Status: a.main.spec.RefusedStatus})
		}
		return
	case errors.Is(err, store.ErrHoldQueueFull):
		e.m.mt.add(t.bind.Session, mtHoldFull)
		_ = t.finish(Decision{Action: Reject, Status: a.main.spec.HoldFullStatus})
		return
	case errors.Is(err, store.ErrDiskFull):
		e.m.diskFull.Add(1)
		_ = t.finish(Decision{Action: Reject, Status: diskFullStatus(true)})
		return
	case err != nil:
		e.log.Error().Err(err).Stringer("scope", t.scope).Msg("holding an MT; answered with a temporary error")
		_ = t.finish(Decision{Action: Reject, Status: tempStatus(true)})
		return
	}
	_ = t.finish(Decision{Action: Hold, MessageID: id})
	e.st.Log(store.Record{ID: id, Org: t.scope.Org, Sender: t.sender.Addr, Number: t.scope.Number, At: t.at, Status: store.MsgHeld})
	if !t.review && e.requestDue(t, cur) {
		e.send(t, TplSenderFirstRequest, store.EventConsentRequested, time.Time{}, "")
		e.send(t, TplSenderFirstRequestedNotice, store.EventNoticeSent, time.Time{}, "")
	}
}

// requestDue says whether a consent request goes out now: none was sent
// yet, or the last one is older than the resend interval and fewer than the
// maximum were sent.
func (e *Engine) requestDue(t *task, cur store.Current) bool {
	spec := &t.org.acct.main.spec
	if cur.State != store.StatePending {
		return true
	}
	if e.now().Sub(cur.UpdatedAt) < spec.ResendInterval {
		return false
	}
	n := 0
	err := e.st.Events(e.ctx(), store.EventFilter{Number: t.scope.Number, Org: t.scope.Org, Types: []store.EventType{store.EventConsentRequested}},
		func(ev store.Event) error {
			if ev.Scope == t.scope {
				n++
			}
			return nil
		})
	return err == nil && n < spec.MaxRequests
}

// disclaimer sends the disclaimer before the first MT of a scope (or, for
// a submit_multi, before the MT to every destination met for the first
// time), once: the event is on disk before the MT is relayed.
func (e *Engine) disclaimer(t *task) {
	targets := []*task{t}
	if pdu.ID(t.pdu) == pdu.SubmitMulti {
		targets = e.multiTargets(t)
	}
	var before []Outgoing
	for _, d := range targets {
		if _, known := e.st.Lookup(d.scope); known {
			continue
		}
		msg, err := e.compose(d, TplDisclaimer, e.vars(d.org, d.sender.Addr, ""))
		if err != nil {
			e.log.Error().Err(err).Msg("composing the disclaimer")
			continue
		}
		e.record(d, store.Change{Type: store.EventDisclaimerSent, Template: TplDisclaimer, TemplateVersion: msg.tpl.Version, MessageID: msg.id})
		for _, p := range msg.parts {
			before = append(before, Outgoing{ToHandset: true, PDU: p, OnResponse: e.onAutoResponse(msg.id)})
		}
		e.m.auto(TplDisclaimer, autoSent)
	}
	d := Decision{InjectBefore: before, Unsuccess: t.multi}
	if pdu.ID(t.pdu) == pdu.SubmitMulti && t.multi != nil {
		d.Action, d.Replace = Replace, t.pdu
	}
	if err := t.finish(d); err != nil {
		e.log.Debug().Err(err).Msg("the MT's bind closed before its disclaimer went out")
	}
}

// multiTargets lists a submit_multi's SME destinations as tasks of their
// own scopes (for the disclaimer).
func (e *Engine) multiTargets(t *task) []*task {
	var m pdu.Message
	if err := pdu.Scan(t.pdu, &m); err != nil {
		return nil
	}
	a := t.org.acct
	var sbuf digits
	sender, ok := a.plan.e164(&sbuf, m.Source.TON, m.Source.Addr)
	if !ok {
		sender = m.Source.Addr
	}
	var out []*task
	it := m.Dests()
	for {
		d, ok := it.Next()
		if !ok {
			break
		}
		if d.Flag != pdu.DestSME {
			continue
		}
		var hbuf digits
		num, ok := a.plan.e164(&hbuf, d.Addr.TON, d.Addr.Addr)
		if !ok {
			continue
		}
		out = append(out, &task{kind: taskDisclaimer, mt: true, org: t.org, bind: t.bind, at: t.at,
			scope: e.scopeOf(t.org, sender, num), handset: addrOf(d.Addr), sender: t.sender})
	}
	return out
}

// holdMO holds a handset-first MO (consent mode) and asks the handset for
// consent, telling the sender that a contact tried to write.
func (e *Engine) holdMO(t *task) {
	a := t.org.acct
	cur, _ := e.st.Lookup(t.scope)
	if cur.State == store.StateOptedIn {
		_ = t.finish(Decision{})
		return
	}
	due := e.requestDue(t, cur)
	if t.incomplete {
		// A part of a longer message: what the message says (STOP, YES,
		// anything else) is known only with its last part, which decides;
		// until then the part is held without asking anything, in an
		// opted-out scope too (the part was acknowledged and must not be
		// lost): an ordinary message's last part asks the handset again,
		// and consent then releases every part in order.
		due = false
	}
	if !t.incomplete && (cur.State == store.StateOptedOut || cur.State == store.StateUnknown) {
		// A new message from a handset that opted out (seed 000: "if you
		// change your mind, reply with a new message") or that never
		// answered starts the request anew; the request moves the scope to
		// pending so that the MO can be held.
		if !due {
			_ = t.finish(Decision{Action: Hold}) // answered, not relayed: no consent
			return
		}
		e.send(t, TplHandsetFirstRequest, store.EventConsentRequested, time.Time{}, "")
		e.send(t, TplHandsetFirstRequestedNotice, store.EventNoticeSent, time.Time{}, "")
		due = false
	}
	_, err := e.st.Hold(e.ctx(), store.HeldMessage{
		ID: e.moHoldID(), Scope: t.scope, SystemID: t.bind.SystemID, PDU: t.pdu, ExpiresAt: t.at.Add(a.main.spec.HoldExpiry),
		Part: t.incomplete,
	})
	var changed *store.StateChangedError
	switch {
	case errors.As(err, &changed) && changed.State == store.StateOptedIn:
		_ = t.finish(Decision{})
		return
	case errors.Is(err, store.ErrHoldQueueFull) || errors.As(err, &changed):
		_ = t.finish(Decision{Action: Hold}) // not relayed; the handset has not consented
		return
	case err != nil:
		e.log.Error().Err(err).Stringer("scope", t.scope).Msg("holding an MO; answered with a temporary error so the SMSC sends it again")
		_ = t.finish(Decision{Action: Reject, Status: tempStatus(false)})
		return
	}
	_ = t.finish(Decision{Action: Hold})
	if due {
		e.send(t, TplHandsetFirstRequest, store.EventConsentRequested, time.Time{}, "resent")
	}
}

// keywordMO is the answer to the MO that carried a keyword: relayed to the
// ESME unless the organization turns that off.
func keywordMO(t *task) Decision {
	if t.org.acct.main.spec.RelayKeywordMO {
		return Decision{}
	}
	return Decision{Action: Hold}
}

// optOut records an opt-out and everything it causes.
func (e *Engine) optOut(t *task) {
	defer e.ov.done(t)
	a := t.org.acct
	note := keywordNote(t.class)
	applied, ok := e.keywordChange(t, store.EventOptedOut, store.DropHeld)
	if !ok {
		return
	}
	if a.main.spec.RevokeAll && t.scope.Sender != "" {
		// The FCC's revoke-all rule: an opt-out in one scope revokes every
		// scope of the account, kept as the account-wide scope that every
		// MT of the handset is checked against.
		acctScope := t.scope
		acctScope.Sender = ""
		if _, err := e.st.Apply(e.ctx(), store.Change{
			Scope: acctScope, Via: t.viaFor(acctScope), Type: store.EventOptedOut, Mode: a.storeMode(), OccurredAt: t.at,
			Method: store.MethodSMSKeyword, Actor: "handset", MO: t.mo, Holds: store.DropHeld, Note: note + "; revoke all",
		}); err != nil {
			e.log.Error().Err(err).Stringer("scope", acctScope).Msg("recording the account-wide opt-out")
		}
	}
	flow := e.settle(t, applied.Dropped, false)
	if applied.Event.PrevState == store.StateOptedOut {
		e.m.auto(TplOptOutConfirmation, autoSkippedRepeat)
		return // a second STOP gets no second confirmation
	}
	confirm, notice := TplOptOutConfirmation, TplSenderFirstRejectedNotice
	switch flow {
	case flowHandsetFirst:
		confirm, notice = TplHandsetFirstRejectedConfirmation, TplHandsetFirstRejectedNotice
	case flowSenderFirst:
		confirm = TplSenderFirstRejectedConfirmation
	}
	deadline := t.at.Add(e.tab.Load().settings.ConfirmationDeadline)
	if e.now().After(deadline) {
		e.m.auto(confirm, autoLate)
		e.record(t, store.Change{Type: store.EventMessageNotSent, Template: confirm, Note: "opt-out confirmation not sent: it could not leave within the confirmation deadline of the opt-out"})
	} else {
		e.send(t, confirm, store.EventConfirmationSent, deadline, "")
	}
	if a.mode != ModeOff {
		// In off mode optguard only relays (the ESME got the STOP itself);
		// elsewhere the sender is told that later messages will be refused.
		e.send(t, notice, store.EventNoticeSent, time.Time{}, "")
	}
}

// optIn records an opt-in, releases what the scope held, confirms and
// tells the sender.
func (e *Engine) optIn(t *task) {
	if e.pinOnYes(t) {
		return // a double opt-in: the YES gets a PIN, the agent enters it
	}
	applied, ok := e.keywordChange(t, store.EventOptedIn, store.ReleaseHeld)
	if !ok {
		return
	}
	e.confirmOptIn(t, applied)
}

// confirmOptIn sends what follows an opt-in: the scope's held messages on,
// then, unless it was in already, the confirmation of its flow to the
// handset and the "accepted" notice to the sender.
func (e *Engine) confirmOptIn(t *task, applied store.Applied) {
	flow := e.settle(t, applied.Released, true)
	if applied.Event.PrevState == store.StateOptedIn {
		return // already in: nothing to confirm
	}
	confirm, notice := TplOptInConfirmation, ""
	switch flow {
	case flowHandsetFirst:
		confirm, notice = TplHandsetFirstConfirmation, TplHandsetFirstAcceptedNotice
	case flowSenderFirst:
		confirm, notice = TplSenderFirstConfirmation, TplSenderFirstAcceptedNotice
	default:
		if applied.Event.PrevState == store.StatePending {
			confirm, notice = TplSenderFirstConfirmation, TplSenderFirstAcceptedNotice
		}
	}
	e.send(t, confirm, store.EventConfirmationSent, time.Time{}, "")
	if notice != "" {
		e.send(t, notice, store.EventNoticeSent, time.Time{}, "")
	}
}

// keywordChange records the consent change a handset's keyword asks for
// (with the MO as proof, the handset as actor, and what it does to the
// scope's held messages) and answers the MO: relayed (or consumed) once the
// change is on disk, or a temporary error when it could not be written, so
// that the SMSC sends it again. ok is false in the second case.
func (e *Engine) keywordChange(t *task, typ store.EventType, holds store.HoldAction) (store.Applied, bool) {
	a := t.org.acct
	ch := store.Change{
		Scope: t.scope, Via: t.viaFor(t.scope), Type: typ, Mode: a.storeMode(), OccurredAt: t.at,
		Method: store.MethodSMSKeyword, Actor: "handset", MO: t.mo, Holds: holds, Note: keywordNote(t.class),
	}
	ch.Guard = Guard(&ch)
	applied, err := e.st.Apply(e.ctx(), ch)
	if err != nil {
		e.log.Error().Err(err).Stringer("scope", t.scope).Stringer("event", typ).
			Msg("recording a consent change; the MO is answered with a temporary error so the SMSC sends it again")
		_ = t.finish(Decision{Action: Reject, Status: tempStatus(false)})
		return applied, false
	}
	d := keywordMO(t)
	var before []string
	for _, h := range applied.Released {
		// The handset's held messages reach the ESME ahead of the reply
		// that released them, on the same bind: the conversation in order.
		if isHeldMOID(h.ID) && e.outbox.take(h.ID) {
			d.InjectBefore = append(d.InjectBefore, Outgoing{PDU: h.PDU, OnResponse: e.ackWhenAnswered(h.ID)})
			before = append(before, h.ID)
		}
	}
	if t.reassembled && typ == store.EventOptedOut {
		for _, h := range applied.Dropped {
			if isHeldMOID(h.ID) {
				// The earlier parts of this very message were held and are
				// dropped: the ESME gets none of it rather than its tail.
				d = Decision{Action: Hold}
				break
			}
		}
	}
	if err := t.finish(d); err != nil {
		for _, id := range before {
			e.outbox.give(id) // they wait in the outbox for the next flush
		}
	}
	e.rev.remove(scopeKey(t.scope))
	e.m.change(a.name, typ.String(), store.MethodSMSKeyword)
	e.log.Info().Str("organization", a.name).Str("number", store.MaskNumber(t.scope.Number)).Str("sender", t.scope.Sender).
		Stringer("event", typ).Str("from", applied.Event.PrevState.String()).Str("rule", t.class.Rule.String()).Str("lang", t.class.Lang).
		Uint64("seq", applied.Event.Seq).Int("held", len(applied.Released)+len(applied.Dropped)).Msg("consent changed by the handset")
	return applied, true
}

// help answers a help keyword; the state does not change.
func (e *Engine) help(t *task) {
	_ = t.finish(keywordMO(t))
	e.send(t, TplHelp, store.EventHelpSent, time.Time{}, keywordNote(t.class))
}

// review records a possible opt-out for a person to decide; the MO is
// relayed as usual.
func (e *Engine) review(t *task) {
	if t.org.acct.main.spec.HoldOnPossibleOpt {
		// Marked before the MO is answered, so that no MT slips through
		// between the reply and the record.
		e.rev.add(scopeKey(t.scope))
	}
	e.record(t, store.Change{Type: store.EventPossibleOptOut, Method: store.MethodSMSKeyword, Actor: "handset",
		OccurredAt: t.at, MO: t.mo, Note: keywordNote(t.class)})
	_ = t.finish(Decision{})
	e.m.change(t.org.acct.name, store.EventPossibleOptOut.String(), store.MethodSMSKeyword)
}

func keywordNote(r keywords.Result) string {
	s := r.Rule.String()
	if r.Keyword != "" {
		s += " " + r.Keyword
	}
	if r.Lang != "" {
		s += " (" + r.Lang + ")"
	}
	return s
}

// flow is which consent flow a scope's held messages show it was in.
type flow uint8

const (
	flowNone flow = iota
	flowSenderFirst
	flowHandsetFirst
)

// settle acts on the held messages a consent change moved to the outbox:
// released ones are sent on (MTs to the SMSC in order, MOs to the ESME),
// dropped ones answered with a REJECTD receipt where one was asked for. It
// returns the flow they show.
func (e *Engine) settle(t *task, held []store.HeldMessage, release bool) flow {
	f := flowNone
	for _, h := range held {
		if isHeldMOID(h.ID) {
			f = flowHandsetFirst
		} else if f == flowNone {
			f = flowSenderFirst
		}
		if !e.outbox.take(h.ID) {
			continue // already on its way (released ahead of the reply)
		}
		if release {
			e.release(h)
		} else {
			e.drop(h, false)
		}
	}
	return f
}

// release sends a released message on and acknowledges it once it went.
func (e *Engine) release(h store.HeldMessage) {
	a := e.accountOf(h.Scope.Org)
	systemIDs := withFirst(h.SystemID, a.systemIDs)
	if isHeldMOID(h.ID) {
		err := e.tr.Send(Outgoing{SystemIDs: systemIDs, PDU: h.PDU, OnResponse: func(resp []byte, err error) {
			resp = bytes.Clone(resp) // valid only during the call
			e.async(func() { e.afterRelease(h, resp, err) })
		}})
		if err != nil {
			e.outbox.give(h.ID) // waits in the outbox for a receiving bind
		}
		return
	}
	err := e.tr.Send(Outgoing{ToHandset: true, SystemIDs: systemIDs, PDU: h.PDU, OnResponse: func(resp []byte, err error) {
		resp = bytes.Clone(resp) // valid only during the call
		if err == nil && pdu.StatusOf(resp) == pdu.ESME_ROK {
			if smsc, _, perr := pdu.ParseMessageIDResp(resp); perr == nil && len(smsc) > 0 {
				e.noteIDs(h.ID, string(smsc)) // before its receipt can come
			}
		}
		e.async(func() { e.afterRelease(h, resp, err) })
	}})
	if err != nil {
		e.outbox.give(h.ID)
	}
}

// afterRelease maps the SMSC's id of a released MT and acknowledges it; a
// failed send leaves it in the outbox for the next try.
func (e *Engine) afterRelease(h store.HeldMessage, resp []byte, err error) {
	if err != nil {
		e.log.Debug().Err(err).Str("message_id", h.ID).Msg("released message not sent; it stays in the outbox")
		e.outbox.give(h.ID)
		return
	}
	if !isHeldMOID(h.ID) {
		st := pdu.StatusOf(resp)
		if st == pdu.ESME_ROK {
			if smsc, _, perr := pdu.ParseMessageIDResp(resp); perr == nil && len(smsc) > 0 {
				e.mapIDs(h.ID, string(smsc))
			}
			e.st.LogStatus(h.ID, store.MsgSent, e.now())
		} else {
			e.st.LogStatus(h.ID, store.MsgFailed, e.now())
			e.log.Info().Str("message_id", h.ID).Stringer("status", st).Msg("the SMSC refused a released message")
		}
	}
	e.m.released.Add(1)
	e.ack(h.ID) // through settle: a flush that read it before must not send it twice
}

// drop answers a held message that will never be sent: a REJECTD (dropped)
// or EXPIRED receipt to the ESME for an MT that asked for one; then Ack.
func (e *Engine) drop(h store.HeldMessage, expired bool) {
	status := store.MsgRejected
	if expired {
		status = store.MsgExpired
	}
	if isHeldMOID(h.ID) || !h.ReceiptRequested {
		if !isHeldMOID(h.ID) {
			e.st.LogStatus(h.ID, status, e.now())
		}
		e.ack(h.ID)
		return
	}
	rc, err := e.receiptFor(h, expired, e.tab.Load().settings.NoticeTag, e.now())
	if err != nil {
		e.log.Error().Err(err).Str("message_id", h.ID).Msg("building the receipt of a dropped message")
		e.ack(h.ID)
		return
	}
	a := e.accountOf(h.Scope.Org)
	err = e.tr.Send(Outgoing{SystemIDs: withFirst(h.SystemID, a.systemIDs), PDU: rc, OnResponse: func(_ []byte, err error) {
		if err == nil {
			e.async(func() { e.st.LogStatus(h.ID, status, e.now()); e.ack(h.ID) })
			e.m.receipts[receiptSent].Add(1)
		} else {
			e.outbox.give(h.ID)
		}
	}})
	if err != nil {
		e.outbox.give(h.ID) // waits for a receiving bind
	}
}

// ackWhenAnswered acknowledges an outbox entry once the PDU that carried
// it was answered with ESME_ROK; otherwise it waits for the next flush.
func (e *Engine) ackWhenAnswered(id string) func([]byte, error) {
	return func(resp []byte, err error) {
		if err != nil || pdu.StatusOf(resp) != pdu.ESME_ROK {
			e.outbox.give(id)
			return
		}
		e.async(func() { e.ack(id) })
	}
}

func (e *Engine) ack(id string) {
	defer e.outbox.give(id)
	if _, err := e.st.Ack(context.Background(), id); err != nil {
		e.log.Warn().Err(err).Str("message_id", id).Msg("acknowledging an outbox entry; it may be sent again")
		return
	}
	e.outbox.settle(id) // before give: a flush that read it must not take it again
}

// accountOf finds an account by name in the running table (the default one
// if it is gone since a reload).
func (e *Engine) accountOf(name string) *account {
	t := e.tab.Load()
	if o := t.orgs[name]; o != nil {
		return o.acct
	}
	return t.def.acct
}
