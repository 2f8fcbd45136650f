package policy

import (
	"errors"
	"time"

	"github.com/optguard/optguard/smpp/pdu"
	"github.com/optguard/optguard/store"
)

// Auto-messages. To the handset: submit_sm from the sender's number (the
// address the handset wrote to, so its reply comes back to the same
// conversation) on a transmitting bind of the account, else its service
// bind; a receipt is asked for and consumed when it comes. To the sender:
// deliver_sm on a receiving bind of the account from the handset, carrying
// the notice TLV. Text is GSM-7 when every character fits, else UCS2, split
// with a concatenation UDH when long. A message no bind can carry now
// waits in the store's outbox. Each one sent is recorded in the ledger with
// its template and version.

// message is one auto-message, rendered and encoded.
type message struct {
	id        string
	tpl       *Template
	toHandset bool
	parts     [][]byte // whole PDUs
	notice    string   // the notice name on deliver_sm to the sender
}

// noticeNames are the values of the notice TLV.
var noticeNames = map[string]string{
	TplHandsetFirstRequestedNotice: "requested",
	TplSenderFirstRequestedNotice:  "requested",
	TplHandsetFirstAcceptedNotice:  "accepted",
	TplSenderFirstAcceptedNotice:   "accepted",
	TplHandsetFirstRejectedNotice:  "rejected",
	TplSenderFirstRejectedNotice:   "rejected",
}

// compose renders template name for a message between the task's sender
// and handset, and encodes it as PDUs.
func (e *Engine) compose(t *task, name string, vars Vars) (*message, error) {
	tpl := t.org.templates[name]
	if tpl == nil {
		return nil, errors.New("policy: no template " + name)
	}
	text := tpl.Render(&vars)
	msg := &message{id: e.autoID(), tpl: tpl, toHandset: noticeNames[name] == ""}
	msg.notice = noticeNames[name]
	dc, parts, err := splitAuto(text, uint16(e.ids.next()))
	if err != nil {
		return nil, err
	}
	tag := e.tab.Load().settings.NoticeTag
	for _, p := range parts {
		sm := pdu.SM{DataCoding: dc, ShortMessage: p}
		if len(parts) > 1 {
			sm.EsmClass = pdu.EsmClassUDHI
		}
		var b []byte
		if msg.toHandset {
			sm.Source, sm.Dest = t.sender, t.handset
			sm.RegisteredDelivery = 1
			b, err = pdu.AppendSubmitSM(nil, 0, &sm)
		} else {
			sm.Source, sm.Dest = t.handset, t.sender
			sm.TLVs = []pdu.TLV{{Tag: tag, Value: []byte(msg.notice)}}
			b, err = pdu.AppendDeliverSM(nil, 0, &sm)
		}
		if err != nil {
			return nil, err
		}
		msg.parts = append(msg.parts, b)
	}
	return msg, nil
}

// splitAuto encodes an auto-message's text as its short_messages: GSM-7
// when every character fits, else UCS2, with an 8-bit concatenation
// reference when it is long. The template preview counts its parts with
// it, so that what it shows is what is sent.
func splitAuto(text string, ref uint16) (dc byte, parts [][]byte, err error) {
	return pdu.SplitText(text, ref, false)
}

// send composes and sends template name, records it in the ledger with
// event type ev, and counts it. deadline, when not zero, is when the
// message is no longer worth sending (the opt-out confirmation).
func (e *Engine) send(t *task, name string, ev store.EventType, deadline time.Time, note string) {
	msg, note, ok := e.transmit(t, name, e.vars(t.org, t.sender.Addr, t.class.Lang), deadline, note)
	if !ok {
		return
	}
	ch := store.Change{Type: ev, Template: name, TemplateVersion: msg.tpl.Version, MessageID: msg.id, Note: note, OccurredAt: e.now()}
	if ev == store.EventConsentRequested {
		// It moves the scope to pending, which the lane's next task of
		// the scope must see.
		e.record(t, ch)
	} else {
		// Proof of a text sent changes no state: it is written after the
		// task, in order, off the lane (see work), so that the lane need
		// not wait for its fsync before the handset's next reply and a STOP
		// storm is not held to two synced writes per STOP.
		t.proof = append(t.proof, ch)
	}
}

// transmit composes template name with vars and sends it on a bind of the
// account (or queues it in the outbox when none can carry it now), counts
// it and logs it in the message log; recording it in the ledger is the
// caller's. ok is false when it could not be sent or queued; note is the
// event's note, with the queuing said.
func (e *Engine) transmit(t *task, name string, vars Vars, deadline time.Time, note string) (msg *message, _ string, ok bool) {
	msg, err := e.compose(t, name, vars)
	if err != nil {
		e.m.auto(name, autoFailed)
		e.log.Error().Err(err).Str("template", name).Msg("composing an auto-message")
		return nil, note, false
	}
	systemIDs := t.org.acct.systemIDs
	if t.bind.SystemID != "" {
		systemIDs = withFirst(t.bind.SystemID, systemIDs)
	}
	outcome, queued := autoSent, false
	for i, p := range msg.parts {
		err := e.tr.Send(Outgoing{ToHandset: msg.toHandset, SystemIDs: systemIDs, PDU: p, OnResponse: e.onAutoResponse(msg.id)})
		if errors.Is(err, ErrNoBind) {
			if _, qerr := e.st.Enqueue(e.ctx(), store.HeldMessage{
				ID: partID(msg.id, i), Scope: t.scope, SystemID: t.bind.SystemID, PDU: p, ExpiresAt: deadline,
			}); qerr != nil {
				e.log.Error().Err(qerr).Str("template", name).Msg("queuing an auto-message for when a bind can carry it; it is lost")
				outcome = autoFailed
				continue
			}
			queued = true
			continue
		}
		if err != nil {
			outcome = autoFailed
			e.log.Warn().Err(err).Str("template", name).Msg("sending an auto-message")
		}
	}
	if queued && outcome == autoSent {
		outcome = autoQueued
		if note != "" {
			note += "; "
		}
		note += "queued: no bind of the account could carry it yet"
	}
	e.m.auto(name, outcome)
	if outcome == autoFailed {
		return nil, note, false
	}
	e.st.Log(store.Record{ID: msg.id, Org: t.scope.Org, Sender: t.sender.Addr, Number: t.scope.Number, At: e.now(), Status: store.MsgSent})
	return msg, note, true
}

// partID names part i of an auto-message in the outbox.
func partID(id string, i int) string {
	if i == 0 {
		return id
	}
	return id + "." + string(rune('a'+i%26)) + itoa(i)
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b [20]byte
	n := len(b)
	for i > 0 {
		n--
		b[n] = byte('0' + i%10)
		i /= 10
	}
	return string(b[n:])
}

// onAutoResponse maps the SMSC's id of an auto-message to optguard's, so
// that its receipt is consumed rather than relayed.
func (e *Engine) onAutoResponse(id string) func([]byte, error) {
	return func(resp []byte, err error) {
		if err != nil || pdu.StatusOf(resp) != pdu.ESME_ROK || pdu.ID(resp) != pdu.SubmitSMResp {
			return
		}
		smsc, _, perr := pdu.ParseMessageIDResp(resp)
		if perr != nil || len(smsc) == 0 {
			return
		}
		s := string(smsc)
		e.noteIDs(id, s) // before its receipt can come
		e.async(func() { e.mapIDs(id, s) })
	}
}

// withFirst returns list with first moved (or added) to the front.
func withFirst(first string, list []string) []string {
	out := make([]string, 0, len(list)+1)
	out = append(out, first)
	for _, s := range list {
		if s != first {
			out = append(out, s)
		}
	}
	return out
}

// record appends a proof event for the task's scope, in its conversation.
func (e *Engine) record(t *task, ch store.Change) {
	ch.Scope = t.scope
	if ch.Via == "" {
		ch.Via = t.viaFor(ch.Scope)
	}
	if ch.Mode == store.ModeUnspecified {
		ch.Mode = t.org.acct.storeMode()
	}
	if ch.OccurredAt.IsZero() {
		ch.OccurredAt = e.now()
	}
	if ch.Method == 0 {
		ch.Method = store.MethodSystem
	}
	if ch.Actor == "" {
		ch.Actor = "system"
	}
	if _, err := e.st.Apply(e.ctx(), ch); err != nil {
		e.log.Error().Err(err).Stringer("scope", t.scope).Stringer("event", ch.Type).Msg("recording an event")
	}
}

// async runs fn off the session goroutine that called back (responses to
// injections arrive there and must not wait on the disk). Once Close has
// waited for the running work, fn is dropped: what it would have
// acknowledged stays in the outbox for the next start.
func (e *Engine) async(fn func()) { e.asyncOr(fn, nil) }

// asyncOr is async that calls dropped instead of fn once Close stopped
// taking work.
func (e *Engine) asyncOr(fn, dropped func()) {
	e.asyncMu.Lock()
	if e.stopped {
		e.asyncMu.Unlock()
		if dropped != nil {
			dropped()
		}
		return
	}
	e.running.Add(1)
	e.asyncMu.Unlock()
	go func() {
		defer e.running.Done()
		fn()
	}()
}
