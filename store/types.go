package store

import (
	"fmt"
	"time"
)

// The numeric values of every enum in this file are written to disk (in
// events, consent records, held messages and the message log). Never reorder
// or reuse them; append new values at the end.

// State is the consent state of one scope.
type State uint8

const (
	// StateUnknown: no consent event yet (or a reset). The zero value.
	StateUnknown State = 0
	// StatePending: a consent request was sent and no answer came yet.
	StatePending State = 1
	// StateOptedIn: the handset (or an operator with proof) gave consent.
	StateOptedIn State = 2
	// StateOptedOut: consent was refused or revoked; nothing but the one
	// confirmation may be sent.
	StateOptedOut State = 3

	numStates = 4
)

var stateNames = [...]string{"unknown", "pending", "opted_in", "opted_out"}

func (s State) String() string { return enumName(stateNames[:], s, "state") }

// Valid reports whether s is one of the defined states.
func (s State) Valid() bool { return s < numStates }

// ParseState is the inverse of State.String.
func ParseState(s string) (State, error) {
	return parseEnum[State](stateNames[:], 0, s, "state")
}

// Mode is an organization's consent mode, recorded with every event so that
// reports can separate "with consent" from "with disclaimer".
type Mode uint8

const (
	// ModeUnspecified: the event does not say; the consent record keeps the
	// mode it had.
	ModeUnspecified Mode = 0
	// ModeConsent: first contact needs a YES; messages are held until then.
	ModeConsent Mode = 1
	// ModeDisclaimer: first contact gets a disclaimer, no consent needed.
	ModeDisclaimer Mode = 2
	// ModeOff: relay only; opt-outs are still honored and recorded.
	ModeOff Mode = 3

	numModes = 4
)

var modeNames = [...]string{"unspecified", "consent", "disclaimer", "off"}

func (m Mode) String() string { return enumName(modeNames[:], m, "mode") }

// Valid reports whether m is one of the defined modes.
func (m Mode) Valid() bool { return m < numModes }

// ParseMode is the inverse of Mode.String.
func ParseMode(s string) (Mode, error) {
	return parseEnum[Mode](modeNames[:], 0, s, "mode")
}

// EventType says what happened. Each type either moves the scope to a fixed
// state, keeps the state (the "_sent" types record proof of what was sent),
// or, for EventStateImported, takes the state from the change.
type EventType uint8

const (
	eventInvalid EventType = 0
	// EventConsentRequested: a consent request was sent to the handset → pending.
	EventConsentRequested EventType = 1
	// EventOptedIn: the handset replied YES, or an agent/API/portal user
	// recorded consent with proof → opted_in.
	EventOptedIn EventType = 2
	// EventOptedOut: STOP-like reply, agent, API or portal → opted_out.
	EventOptedOut EventType = 3
	// EventDisclaimerSent: disclaimer mode's first-contact text; state kept.
	EventDisclaimerSent EventType = 4
	// EventConfirmationSent: the single opt-in/opt-out confirmation; state kept.
	EventConfirmationSent EventType = 5
	// EventHelpSent: reply to a HELP keyword; state kept.
	EventHelpSent EventType = 6
	// EventStateImported: a consent list import or migration; the state comes
	// from Change.State (pending, opted_in or opted_out).
	EventStateImported EventType = 7
	// EventNoticeSent: a notice to the sender/employee (requested, accepted,
	// rejected); state kept.
	EventNoticeSent EventType = 8
	// EventPINSent: a consent PIN (authorization code) texted to the handset;
	// state kept.
	EventPINSent EventType = 9
	// EventReset: the scope goes back to unknown (an unanswered request that
	// timed out, or an operator correction) → unknown. Never lifts an
	// opt-out by itself in policy; the store records what it is told.
	EventReset EventType = 10
	// EventPossibleOptOut: an MO that contains an opt-out word but matched
	// neither a keyword nor a phrase: a review item for a person; state kept.
	EventPossibleOptOut EventType = 11
	// EventMessageNotSent: an auto-message that could not leave in time
	// (an opt-out confirmation that no bind could carry within 5 minutes)
	// and was given up; Note says why; state kept.
	EventMessageNotSent EventType = 12
	// EventReviewDismissed: a person decided that a possible opt-out was not
	// one; state kept (with ReleaseHeld, the MTs held for the review go).
	EventReviewDismissed EventType = 13
	// EventErased: the subject was erased (on request, or by the retention
	// sweep): its key and its number → subject link are gone, so its
	// events say nothing readable any more; an opted-out scope stays
	// opted out (a suppression entry), any other goes back to unknown.
	// The store writes it (Badger.EraseNumber); it is no Change's type.
	EventErased EventType = 14
	// EventChainLinked: the first event of a chain that continues an older
	// one (a format migration): the note gives the older chain's length
	// and head hash, so that a backup of it stays checkable. No subject.
	EventChainLinked EventType = 15
	// EventRetentionSwept: a retention sweep erased subjects past their
	// organizations' retention; the note gives the counts, no numbers. No
	// subject.
	EventRetentionSwept EventType = 16
	// EventOptOutKept: the first event of a new subject on a scope that an
	// erased subject had opted out of: it restates the opt-out that the
	// suppression entry kept (its mode and method; the time it happened
	// went with the erased subject), so that the scope's record follows
	// from the chain again. The store writes it before the change that
	// met the suppression entry; it is no Change's type.
	EventOptOutKept EventType = 17
	// EventPINRejected: an agent entered a wrong consent PIN for the
	// scope (double opt-in); the note says how many attempts are left;
	// state kept.
	EventPINRejected EventType = 18

	numEventTypes = 19
)

// IsChange reports whether t is a type a Change may have: every type but
// those only the store writes (erasure, chain links, sweeps, kept opt-outs).
func (t EventType) IsChange() bool {
	return t.Valid() && (t < EventErased || t == EventPINRejected)
}

var eventTypeNames = [...]string{
	"invalid", "consent_requested", "opted_in", "opted_out", "disclaimer_sent",
	"confirmation_sent", "help_sent", "state_imported", "notice_sent", "pin_sent", "reset",
	"possible_opt_out", "message_not_sent", "review_dismissed", "erased",
	"chain_linked", "retention_swept", "opt_out_kept", "pin_rejected",
}

func (t EventType) String() string { return enumName(eventTypeNames[:], t, "event") }

// Valid reports whether t is a defined event type.
func (t EventType) Valid() bool { return t > eventInvalid && t < numEventTypes }

// ParseEventType is the inverse of EventType.String.
func ParseEventType(s string) (EventType, error) {
	return parseEnum[EventType](eventTypeNames[:], 1, s, "event type")
}

// target returns the state an event of type t leads to from prev; imported
// is Change.State and only matters for EventStateImported.
func (t EventType) target(prev, imported State) State {
	switch t {
	case EventConsentRequested:
		return StatePending
	case EventOptedIn:
		return StateOptedIn
	case EventOptedOut, EventOptOutKept:
		return StateOptedOut
	case EventStateImported:
		return imported
	case EventReset:
		return StateUnknown
	default:
		return prev
	}
}

// Method is the channel through which a consent event arrived.
type Method uint8

const (
	methodInvalid Method = 0
	// MethodSMSKeyword: the handset texted a keyword (STOP, YES, 1, 🛑 …).
	MethodSMSKeyword Method = 1
	// MethodAgent: an employee/agent acted for the customer (with proof).
	MethodAgent Method = 2
	// MethodAPI: the operator HTTP API.
	MethodAPI Method = 3
	// MethodImport: a bulk import of an existing consent list.
	MethodImport Method = 4
	// MethodPortal: the customer's own self-service portal.
	MethodPortal Method = 5
	// MethodSystem: optguard itself (auto-messages, timeouts).
	MethodSystem Method = 6

	numMethods = 7
)

var methodNames = [...]string{"invalid", "sms_keyword", "agent", "api", "import", "portal", "system"}

func (m Method) String() string { return enumName(methodNames[:], m, "method") }

// Valid reports whether m is a defined method.
func (m Method) Valid() bool { return m > methodInvalid && m < numMethods }

// ParseMethod is the inverse of Method.String.
func ParseMethod(s string) (Method, error) {
	return parseEnum[Method](methodNames[:], 1, s, "method")
}

// MsgStatus is one step in a message's life, as kept by the message log.
type MsgStatus uint8

const (
	msgStatusInvalid MsgStatus = 0
	// MsgHeld: optguard held the MT waiting for consent.
	MsgHeld MsgStatus = 1
	// MsgSent: forwarded to the SMSC and accepted by it.
	MsgSent MsgStatus = 2
	// MsgDelivered: the receipt said DELIVRD.
	MsgDelivered MsgStatus = 3
	// MsgUndeliverable: the receipt said UNDELIV.
	MsgUndeliverable MsgStatus = 4
	// MsgRejected: refused by policy (opted out) or by the SMSC.
	MsgRejected MsgStatus = 5
	// MsgExpired: held too long, or the receipt said EXPIRED.
	MsgExpired MsgStatus = 6
	// MsgFailed: any other failure (SMSC error, receipt UNKNOWN/DELETED).
	MsgFailed MsgStatus = 7

	numMsgStatuses = 8
)

var msgStatusNames = [...]string{"invalid", "held", "sent", "delivered", "undeliverable", "rejected", "expired", "failed"}

func (s MsgStatus) String() string { return enumName(msgStatusNames[:], s, "status") }

// Valid reports whether s is a defined status.
func (s MsgStatus) Valid() bool { return s > msgStatusInvalid && s < numMsgStatuses }

// ParseMsgStatus is the inverse of MsgStatus.String.
func ParseMsgStatus(s string) (MsgStatus, error) {
	return parseEnum[MsgStatus](msgStatusNames[:], 1, s, "message status")
}

// HoldAction says what a consent change does with the scope's held messages.
// It is carried out in the same transaction as the change.
type HoldAction uint8

const (
	// KeepHeld leaves the hold queue alone (the zero value).
	KeepHeld HoldAction = iota
	// ReleaseHeld moves every held message of the scope to the outbox with
	// DispositionReleased, for the caller to forward to the SMSC.
	ReleaseHeld
	// DropHeld moves every held message of the scope to the outbox with
	// DispositionDropped, for the caller to answer with a REJECTD receipt
	// where one was requested.
	DropHeld
)

var holdActionNames = [...]string{"keep", "release", "drop"}

func (a HoldAction) String() string { return enumName(holdActionNames[:], a, "hold_action") }

// Disposition is where a held message is in its life.
type Disposition uint8

const (
	// DispositionHeld: in the hold queue, waiting for consent.
	DispositionHeld Disposition = 0
	// DispositionReleased: consent came; forward it, then Ack.
	DispositionReleased Disposition = 1
	// DispositionDropped: the scope opted out; send a REJECTD receipt if
	// requested, then Ack.
	DispositionDropped Disposition = 2
	// DispositionExpired: it waited too long; send an EXPIRED receipt if
	// requested, then Ack.
	DispositionExpired Disposition = 3
	// DispositionOutgoing: a message optguard originates (an auto-message)
	// that waits for a bind able to carry it; never in a hold queue. Send
	// it, then Ack. See Enqueue.
	DispositionOutgoing Disposition = 4

	numDispositions = 5
)

var dispositionNames = [...]string{"held", "released", "dropped", "expired", "outgoing"}

func (d Disposition) String() string { return enumName(dispositionNames[:], d, "disposition") }

// MO is the mobile-originated message that caused an event, as received.
type MO struct {
	// Raw is short_message (or message_payload) exactly as received, after
	// reassembly of concatenated parts.
	Raw []byte
	// DataCoding is the PDU's data_coding byte, needed to decode Raw.
	DataCoding uint8
	// Text is Raw decoded to UTF-8 by policy, for people reading reports.
	Text string
}

// Change is one consent event to append, as the caller describes it. The
// store fills in what only it may know (sequence number, previous state,
// recorded-at, hashes), so none of those can be set here.
type Change struct {
	Scope Scope
	// Via is the sender address of the conversation the event is part of
	// (E.164 digits without '+', or an alphanumeric address), where the
	// scope holds none: the MT that started a consent request, the number
	// a handset's YES or STOP was sent to, the line an agent texted from.
	// It must be empty when Scope.Sender is set (the scope says it then)
	// and for events of no conversation (an import). It is the
	// organization's address, never the handset's, and is stored in the
	// clear.
	Via  string
	Type EventType
	// State is the new state for EventStateImported and must be zero for
	// every other type (their target state is fixed by the type).
	State State
	// Mode is the organization's mode when the event happened; zero keeps
	// the mode already on the consent record.
	Mode Mode
	// OccurredAt is when it happened (the MO's arrival, the API call); required.
	OccurredAt time.Time
	Method     Method
	// Actor is who did it: "handset", "system", an API or portal user name,
	// an agent id. Required.
	Actor string
	// MO is the message that caused the event, if any.
	MO *MO
	// Template and TemplateVersion identify the text optguard sent, if any.
	Template        string
	TemplateVersion uint32
	// MessageID is optguard's message id of the text sent, if any.
	MessageID string
	// Note is free text (e.g. "consent on paper, ref 1234").
	Note string

	// Holds says what happens to the scope's held messages, atomically
	// with the event.
	Holds HoldAction
	// Guard, if set, is called inside the transaction with the scope's
	// current record (State is StateUnknown and Seq 0 if there is none). A
	// non-nil error aborts this change (and only this one) and is returned
	// by Apply unchanged. It may be called more than once (on retries) and
	// must not call the store.
	Guard func(current Consent) error
}

// Event is one stored ledger entry. Events are never updated or deleted.
//
// The number (Scope.Number), the MO and the note are stored sealed under
// the subject's key; Subject and Via (the organization's address, see
// Change.Via) are stored as they are. An event of an erased subject, or
// one read without the key file, has Erased set and the sealed fields
// empty: it still verifies, but says nothing about whom.
type Event struct {
	Seq             uint64
	Scope           Scope
	Via             string
	Subject         SubjectID
	Erased          bool
	Type            EventType
	PrevState       State
	NewState        State
	Mode            Mode
	OccurredAt      time.Time
	RecordedAt      time.Time
	Method          Method
	Actor           string
	MO              *MO
	Template        string
	TemplateVersion uint32
	MessageID       string
	Note            string
	// PrevHash is the Hash of event Seq-1 (all zero for Seq 1).
	PrevHash [32]byte
	// Hash is SHA-256 over the event's canonical encoding, which includes
	// PrevHash.
	Hash [32]byte
}

// Consent is the current record of one scope, derived from the ledger.
//
// The record of an erased subject that had opted out stays as a
// suppression entry: Erased, StateOptedOut, its Mode and OptedOutMethod
// (who may lift it depends on how it was made), Scope.Number empty and
// nothing else kept, so that the opt-out is still enforced (the data
// minimum a suppression list may keep: the number's pseudonym).
type Consent struct {
	Scope     Scope
	Erased    bool
	State     State
	Mode      Mode
	CreatedAt time.Time // occurred-at of the scope's first event
	UpdatedAt time.Time // occurred-at of its latest event
	LastSeq   uint64
	LastEvent EventType
	// OptedInAt/OptedInMethod and OptedOutAt/OptedOutMethod are the latest
	// opt-in and opt-out, kept for reports even after the state moved on.
	OptedInAt      time.Time
	OptedInMethod  Method
	OptedOutAt     time.Time
	OptedOutMethod Method
}

// Current is the in-memory view of a scope returned by the hot path.
type Current struct {
	State     State
	Mode      Mode
	UpdatedAt time.Time
}

// Applied is the result of a successful Apply.
type Applied struct {
	Event   Event
	Consent Consent
	// Released and Dropped are the held messages the change moved to the
	// outbox; forward (or answer) them, then Ack their ids.
	Released []HeldMessage
	Dropped  []HeldMessage
}

// HeldMessage is an MT held by optguard until consent is settled.
type HeldMessage struct {
	// ID is the optguard message_id answered to the ESME in submit_sm_resp.
	ID    string
	Scope Scope
	// SystemID is the system_id of the bind the MT came on.
	SystemID string
	// PDU is the exact bytes received, header included.
	PDU []byte
	// ReceiptRequested is true when registered_delivery asked for a receipt.
	ReceiptRequested bool
	// Review is true for an MT held while a possible opt-out of its scope
	// waits for a person: such a hold is allowed in an opted-in scope too.
	Review bool
	// Part is true for a part of a concatenated MO whose last part has not
	// come: what the message says is known only then, so the part is held
	// in an opted-out scope too. Hold reads it; it is not stored.
	Part bool
	// HeldAt is set by the store from its clock.
	HeldAt time.Time
	// ExpiresAt is when the message gives up waiting; zero means HeldAt +
	// Options.HoldTTL.
	ExpiresAt time.Time
	// Disposition and SettledAt are set once the message left the queue.
	Disposition Disposition
	SettledAt   time.Time
}

// Record is one MT seen by optguard, for the message log.
type Record struct {
	ID     string // optguard message id (or the SMSC's, for unheld MTs)
	Org    string
	Sender string
	Number string
	At     time.Time
	Status MsgStatus // first status, e.g. MsgHeld or MsgSent
}

// StatusChange is one entry of a message's status history.
type StatusChange struct {
	Status MsgStatus
	At     time.Time
}

// Message is a message log record with its status history, oldest first.
type Message struct {
	ID      string
	Org     string
	Sender  string
	Number  string
	At      time.Time
	History []StatusChange
}

// enumName returns names[v], or kind(v) for a value that has no name.
func enumName[T ~uint8](names []string, v T, kind string) string {
	if int(v) < len(names) {
		return names[v]
	}
	return fmt.Sprintf("%s(%d)", kind, uint8(v))
}

// parseEnum finds s among names[first:]: first is 1 for enums whose zero
// value is invalid and must not parse. what names the enum in the error.
func parseEnum[T ~uint8](names []string, first int, s, what string) (T, error) {
	for i := first; i < len(names); i++ {
		if names[i] == s {
			return T(i), nil
		}
	}
	return 0, fmt.Errorf("%w: %s %q", ErrInvalid, what, s)
}
