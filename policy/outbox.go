package policy

import (
	"context"
	"errors"
	"slices"
	"sync"

	"github.com/optguard/optguard/smpp/pdu"
	"github.com/optguard/optguard/store"
)

// The store's outbox holds what left a hold queue and still needs sending
// or answering (released, dropped, expired), and auto-messages no bind
// could carry yet. Whatever is in it after a crash is sent at start; the
// rest is retried when a bind comes up and every few seconds. An entry is
// worked on by one goroutine at a time (outboxState), and acknowledged
// only once it went out: at worst a message is sent twice, never lost.

type outboxState struct {
	mu       sync.Mutex
	inFlight map[string]bool // guarded by mu
	// settled holds the entries acknowledged since the running flush read
	// the outbox (guarded by mu): the flush read them before they left, and
	// sending one again would deliver it twice.
	settled  map[string]bool
	flushing bool // guarded by mu
	again    bool // guarded by mu: a flush was asked for while one ran
}

// take marks id as being worked on; false if it already is, or if it was
// acknowledged since the running flush read it.
func (o *outboxState) take(id string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.inFlight == nil {
		o.inFlight = map[string]bool{}
	}
	if o.inFlight[id] || o.settled[id] {
		return false
	}
	o.inFlight[id] = true
	return true
}

// settle records that id was acknowledged (it has left the outbox), for a
// flush that may have read it before.
func (o *outboxState) settle(id string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.flushing {
		return // the next flush reads the outbox without it
	}
	if o.settled == nil {
		o.settled = map[string]bool{}
	}
	o.settled[id] = true
}

// startPass forgets what was settled before a flush pass reads the outbox.
func (o *outboxState) startPass() {
	o.mu.Lock()
	clear(o.settled)
	o.mu.Unlock()
}

// give releases id for the next flush.
func (o *outboxState) give(id string) {
	o.mu.Lock()
	delete(o.inFlight, id)
	o.mu.Unlock()
}

// BindChanged tells the policy a bind came up or went down; a new bind may
// carry what waits in the outbox.
func (e *Engine) BindChanged(systemID string, bound bool) {
	if bound {
		e.FlushOutbox()
	}
}

// FlushOutbox sends what the outbox holds, in the background.
func (e *Engine) FlushOutbox() {
	e.outbox.mu.Lock()
	if e.outbox.flushing {
		e.outbox.again = true
		e.outbox.mu.Unlock()
		return
	}
	e.outbox.flushing = true
	e.outbox.mu.Unlock()
	e.async(func() {
		for {
			e.flushOnce()
			e.outbox.mu.Lock()
			if !e.outbox.again {
				e.outbox.flushing = false
				clear(e.outbox.settled)
				e.outbox.mu.Unlock()
				return
			}
			e.outbox.again = false
			e.outbox.mu.Unlock()
		}
	})
}

const outboxBatch = 1000

// outboxMax bounds what one flush reads: entries stuck behind an account
// that never binds must not keep the rest from going out, and memory stays
// bounded.
const outboxMax = 100 * outboxBatch

func (e *Engine) flushOnce() {
	e.outbox.startPass()
	var items []store.HeldMessage
	after := ""
	for len(items) < outboxMax {
		page, err := e.st.OutboxAfter(context.Background(), after, outboxBatch)
		if err != nil {
			if !errors.Is(err, store.ErrClosed) {
				e.log.Warn().Err(err).Msg("reading the outbox")
			}
			return
		}
		items = append(items, page...)
		if len(page) < outboxBatch {
			break
		}
		after = page[len(page)-1].ID
	}
	// The store lists the outbox by id, and ids are random: work it in the
	// order the messages were held (or queued), so that a scope's released
	// MTs reach the SMSC in the order the ESME sent them.
	slices.SortStableFunc(items, func(a, b store.HeldMessage) int { return a.HeldAt.Compare(b.HeldAt) })
	for _, h := range items {
		if !e.outbox.take(h.ID) {
			continue
		}
		switch h.Disposition {
		case store.DispositionReleased:
			e.release(h)
		case store.DispositionDropped:
			e.drop(h, false)
		case store.DispositionExpired:
			e.drop(h, true)
		case store.DispositionOutgoing:
			e.sendQueued(h)
		default:
			e.outbox.give(h.ID)
		}
	}
}

// sendQueued sends an auto-message that waited for a bind, unless it is
// past its deadline (an opt-out confirmation that can no longer leave
// within 5 minutes is given up, and the ledger says so).
func (e *Engine) sendQueued(h store.HeldMessage) {
	if !h.ExpiresAt.IsZero() && e.now().After(h.ExpiresAt) {
		e.m.auto("queued", autoLate)
		_, sender, _ := addrsOf(h.PDU, pdu.ID(h.PDU) != pdu.SubmitSM) // a submit_sm to the handset, else a notice to the sender
		e.recordScope(h.Scope, sender, store.Change{Type: store.EventMessageNotSent, MessageID: h.ID,
			Note: "auto-message given up: no bind of the account could carry it before its deadline"})
		e.ack(h.ID)
		return
	}
	toHandset := pdu.ID(h.PDU) == pdu.SubmitSM
	a := e.accountOf(h.Scope.Org)
	systemIDs := a.systemIDs
	if h.SystemID != "" {
		systemIDs = withFirst(h.SystemID, systemIDs)
	}
	id := h.ID
	err := e.tr.Send(Outgoing{ToHandset: toHandset, SystemIDs: systemIDs, PDU: h.PDU, OnResponse: func(resp []byte, err error) {
		if err != nil {
			e.outbox.give(id)
			return
		}
		e.onAutoResponse(baseID(id))(resp, nil)
		e.async(func() { e.ack(id) })
	}})
	if err != nil {
		e.outbox.give(id)
	}
}

// baseID is the auto-message id of an outbox part id.
func baseID(id string) string {
	for i := len(autoPrefix); i < len(id); i++ {
		if id[i] == '.' {
			return id[:i]
		}
	}
	return id
}

// recordScope appends a system event for a scope outside a task, in the
// conversation with sender (as addressed in a PDU; zero when unknown).
func (e *Engine) recordScope(s store.Scope, sender pdu.Addr, ch store.Change) {
	a := e.accountOf(s.Org)
	e.record(&task{scope: s, org: a.main, sender: sender}, ch)
}

// expire moves held messages past their expiry to the outbox and answers
// them (EXPIRED receipts).
func (e *Engine) expire() {
	for {
		items, err := e.st.ExpireHeld(context.Background(), e.now(), outboxBatch)
		if err != nil {
			if !errors.Is(err, store.ErrClosed) {
				e.log.Warn().Err(err).Msg("expiring held messages")
			}
			return
		}
		for _, h := range items {
			if e.outbox.take(h.ID) {
				e.m.expired.Add(1)
				e.drop(h, true)
			}
		}
		if len(items) < outboxBatch {
			return
		}
	}
}
