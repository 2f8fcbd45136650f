package policy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/optguard/optguard/smpp/pdu"
	"github.com/optguard/optguard/store"
)

// Operator actions: what an agent, a supervisor or a CRM does to a
// handset's consent outside the SMS channel (seed 001's agent, quick,
// payment-plan and supervisor opt-ins, double opt-in with a PIN, seed
// 002/003's consent with proof, the agent opt-out with its final text).
// Each runs as a task in the handset's lane, so that it is ordered with the
// handset's own replies; the state change is checked by CheckChange inside
// the store's transaction, and the texts it causes are the templates'.

// OptInReason is why an agent asks a handset for consent (seed 001).
type OptInReason string

// The OptInReason values.
const (
	ReasonAgent       OptInReason = "agent"        // an agent sends the request from the customer's record
	ReasonQuick       OptInReason = "quick"        // Quick Opt-In: the agent sets opt to in, a request goes out
	ReasonPaymentPlan OptInReason = "payment_plan" // a payment plan needs texting consent
	ReasonSupervisor  OptInReason = "supervisor"   // a supervisor linked a new number to the account
)

// OptInReasons are the reasons RequestOptIn takes.
var OptInReasons = []OptInReason{ReasonAgent, ReasonQuick, ReasonPaymentPlan, ReasonSupervisor}

// ConsentType is how consent recorded by a person was given (seed 002:
// Email, Phone, Paper; seed 003: the web portal; seed 002's SMS Response).
type ConsentType string

// The ConsentType values.
const (
	ConsentEmail       ConsentType = "email"
	ConsentPhone       ConsentType = "phone"
	ConsentPaper       ConsentType = "paper"
	ConsentWeb         ConsentType = "web"
	ConsentSMSResponse ConsentType = "sms_response"
)

// ConsentTypes are the types RecordConsent takes.
var ConsentTypes = []ConsentType{ConsentEmail, ConsentPhone, ConsentPaper, ConsentWeb, ConsentSMSResponse}

// FieldError is an operator request with a missing or bad field.
type FieldError struct {
	Field, Msg string
}

func (e *FieldError) Error() string { return "policy: " + e.Field + ": " + e.Msg }

// ErrClosing: the engine is shutting down and takes no more actions.
var ErrClosing = errors.New("policy: shutting down")

// maxOperatorText bounds reasons, proof references and notes.
const maxOperatorText = 1000

// AgentRequest is one operator action on a handset's consent. Org, Number
// and Actor are always needed; each action says which other fields it
// reads.
type AgentRequest struct {
	Org    string // a main or sub-organization
	Sender string // the employee's line the texts come from (see each action)
	Number string // the handset, in any common form (see Scope)
	// Actor is who acted: the API token's name, recorded in the ledger
	// (seed 002's "Changed By").
	Actor string
	// Method is the channel: MethodAgent or MethodAPI (the zero value).
	Method      store.Method
	Reason      OptInReason // RequestOptIn; default ReasonAgent
	Double      bool        // RequestOptIn: a PIN follows the YES
	PIN         string      // VerifyPIN
	ConsentType ConsentType // RecordConsent
	Proof       string      // RecordConsent: where the proof is (a reference, a recording)
	Note        string      // free text added to the event
}

// Outcome is what an action did.
type Outcome struct {
	Scope store.Scope
	// State is the scope's state after the action.
	State store.State
	// Event is the state event the action appended (Seq 0 if none).
	Event store.Event
	// Sent are the templates texted to the handset.
	Sent []string
	// PINExpiresAt and AttemptsLeft describe a double opt-in's PIN.
	PINExpiresAt time.Time
	AttemptsLeft int
	// Detail says in words what happened.
	Detail string
}

// RequestOptIn texts the handset a consent request from Sender (required:
// the YES must come back to a number of the account): the sender-first
// request template, recorded as consent_requested with the reason. With
// Double, the YES that answers it gets a PIN instead of opting in (see
// VerifyPIN). A number already opted in gets nothing (seed 001's payment
// plan: "if the phone number is not already opted in"); an opted-out one
// is refused by CheckChange.
func (e *Engine) RequestOptIn(ctx context.Context, r AgentRequest) (Outcome, error) {
	if r.Reason == "" {
		r.Reason = ReasonAgent
	}
	if !oneOf(r.Reason, OptInReasons) {
		return Outcome{}, &FieldError{"reason", fmt.Sprintf("%q is not one of %s", r.Reason, listOf(OptInReasons))}
	}
	if strings.TrimSpace(r.Sender) == "" {
		return Outcome{}, &FieldError{"sender", "is required: the request is texted from it, and the handset's YES comes back to it"}
	}
	return e.operate(ctx, &r, func(t *task) (Outcome, error) {
		cur, err := e.consentOf(t.scope)
		if err != nil {
			return Outcome{}, err
		}
		out := Outcome{Scope: t.scope, State: cur.State}
		if cur.State == store.StateOptedIn {
			out.Detail = "already opted in: no request sent"
			return out, nil
		}
		note := "reason: " + string(r.Reason)
		if r.Double {
			note += "; double opt-in: a PIN follows the YES"
		}
		ch := e.operatorChange(t, store.EventConsentRequested, joinNote(note, r.Note))
		if err := CheckChange(cur, &ch); err != nil {
			return out, err
		}
		rec, err := e.loadPIN(t.scope)
		if err != nil {
			return out, err
		}
		if r.Double {
			rec = pinRecord{phase: pinWaitingYes, requested: e.now(), sender: t.sender.Addr, reason: string(r.Reason)}
		} else {
			rec.phase = pinNone
		}
		if r.Double || rec.requested != (time.Time{}) {
			if err := e.savePIN(t.scope, &rec); err != nil {
				return out, err
			}
		}
		msg, note, ok := e.transmit(t, TplSenderFirstRequest, e.vars(t.org, t.sender.Addr, ""), time.Time{}, ch.Note)
		if !ok {
			return out, errors.New("policy: the consent request could not be composed or sent; see the log")
		}
		ch.Note, ch.Template, ch.TemplateVersion, ch.MessageID = note, TplSenderFirstRequest, msg.tpl.Version, msg.id
		applied, err := e.st.Apply(ctx, ch)
		if err != nil {
			return out, err
		}
		out.State, out.Event, out.Sent = applied.Consent.State, applied.Event, []string{TplSenderFirstRequest}
		out.Detail = "consent request sent"
		if r.Double {
			out.Detail += "; after the handset's YES it is texted a PIN, which the agent enters"
		}
		return out, nil
	})
}

// VerifyPIN checks the PIN an agent enters for a double opt-in: the right
// one opts the scope in (method and actor the agent's), releases what it
// held and confirms it to the handset; a wrong one is recorded as
// pin_rejected and answered with a *PINError, and once the attempts are
// used up or the PIN expired it is void.
func (e *Engine) VerifyPIN(ctx context.Context, r AgentRequest) (Outcome, error) {
	r.PIN = strings.TrimSpace(r.PIN)
	if n := e.tab.Load().settings.PINDigits; len(r.PIN) != n || strings.Trim(r.PIN, "0123456789") != "" {
		return Outcome{}, &FieldError{"pin", fmt.Sprintf("must be the %d digits texted to the handset", n)}
	}
	return e.operate(ctx, &r, func(t *task) (Outcome, error) {
		out := Outcome{Scope: t.scope}
		cur, err := e.consentOf(t.scope)
		if err != nil {
			return out, err
		}
		out.State = cur.State
		rec, err := e.loadPIN(t.scope)
		if err != nil {
			return out, err
		}
		switch {
		case rec.phase == pinNone:
			return out, ErrNoPIN
		case cur.State != store.StatePending:
			return out, fmt.Errorf("%w (the number is %s now)", ErrNoPIN, cur.State)
		case rec.phase == pinWaitingYes:
			return out, ErrPINNotSent
		case !e.now().Before(rec.expires):
			return out, ErrPINExpired
		case rec.attempts == 0:
			return out, ErrPINLocked
		}
		out.PINExpiresAt = rec.expires
		if rec.sender != "" {
			t.sender = senderAddr(rec.sender)
		}
		if !rec.matches(r.PIN) {
			rec.attempts--
			if err := e.savePIN(t.scope, &rec); err != nil {
				return out, err
			}
			out.AttemptsLeft = int(rec.attempts)
			ch := e.operatorChange(t, store.EventPINRejected, joinNote(fmt.Sprintf("wrong PIN entered; %d attempts left", rec.attempts), r.Note))
			if _, err := e.st.Apply(ctx, ch); err != nil {
				return out, err
			}
			if rec.attempts == 0 {
				return out, ErrPINLocked
			}
			return out, &PINError{AttemptsLeft: int(rec.attempts)}
		}
		ch := e.operatorChange(t, store.EventOptedIn, joinNote("double opt-in: PIN verified (reason: "+rec.reason+")", r.Note))
		ch.Holds = store.ReleaseHeld
		ch.Guard = Guard(&ch)
		applied, err := e.st.Apply(ctx, ch)
		if err != nil {
			return out, err
		}
		rec.phase = pinNone
		if err := e.savePIN(t.scope, &rec); err != nil {
			e.log.Warn().Err(err).Msg("closing a verified double opt-in; its PIN stays on record but the scope is opted in")
		}
		out.State, out.Event, out.Detail = applied.Consent.State, applied.Event, "PIN verified: opted in"
		out.Sent = e.confirmAgentOptIn(t, applied)
		return out, nil
	})
}

// RecordConsent records consent given outside SMS, with its type and proof
// (seed 002/003), releasing what the scope held; refused by CheckChange
// where the handset (or the portal) opted out itself (seed 003: "you
// cannot override this status"). With a Sender, the handset is texted the
// opt-in confirmation (seed 002: the customer gets a message whenever they
// are opted in or out).
func (e *Engine) RecordConsent(ctx context.Context, r AgentRequest) (Outcome, error) {
	if !oneOf(r.ConsentType, ConsentTypes) {
		return Outcome{}, &FieldError{"consent_type", fmt.Sprintf("%q is not one of %s", r.ConsentType, listOf(ConsentTypes))}
	}
	if strings.TrimSpace(r.Proof) == "" {
		return Outcome{}, &FieldError{"proof", "is required: say where the proof of consent is (a reference, a recording, a form); it must be produced on demand"}
	}
	if err := checkText("proof", r.Proof); err != nil {
		return Outcome{}, err
	}
	return e.operate(ctx, &r, func(t *task) (Outcome, error) {
		note := consentTypeNote + string(r.ConsentType) + "; proof: " + r.Proof
		ch := e.operatorChange(t, store.EventOptedIn, joinNote(note, r.Note))
		ch.Holds = store.ReleaseHeld
		ch.Guard = Guard(&ch)
		applied, err := e.st.Apply(ctx, ch)
		if err != nil {
			return Outcome{Scope: t.scope}, err
		}
		out := Outcome{Scope: t.scope, State: applied.Consent.State, Event: applied.Event, Detail: "consent recorded"}
		if t.sender.Addr != "" {
			out.Sent = e.confirmAgentOptIn(t, applied)
		} else if applied.Event.PrevState != store.StateOptedIn {
			out.Detail += "; no sender given, so no confirmation was texted"
		}
		return out, nil
	})
}

// OptOut opts the handset out on an agent's word (seed 001: the consumer
// receives a final text confirming it): the scope's held messages are
// dropped with REJECTD receipts, and, when a Sender is given, the agent
// opt-out template is texted from it within the confirmation deadline. An
// opt-out is always accepted; a second one sends no second text.
func (e *Engine) OptOut(ctx context.Context, r AgentRequest) (Outcome, error) {
	return e.operate(ctx, &r, func(t *task) (Outcome, error) {
		a := t.org.acct
		ch := e.operatorChange(t, store.EventOptedOut, r.Note)
		ch.Holds = store.DropHeld
		applied, err := e.st.Apply(ctx, ch)
		if err != nil {
			return Outcome{Scope: t.scope}, err
		}
		if a.main.spec.RevokeAll && t.scope.Sender != "" {
			acct := ch
			acct.Scope.Sender, acct.Note = "", joinNote(ch.Note, "revoke all")
			acct.Via = t.viaFor(acct.Scope)
			if _, err := e.st.Apply(ctx, acct); err != nil {
				return Outcome{Scope: t.scope}, fmt.Errorf("recording the account-wide opt-out: %w", err)
			}
		}
		e.rev.remove(scopeKey(t.scope))
		e.settle(t, applied.Dropped, false)
		out := Outcome{Scope: t.scope, State: applied.Consent.State, Event: applied.Event, Detail: "opted out"}
		switch {
		case applied.Event.PrevState == store.StateOptedOut:
			out.Detail = "already opted out: no second confirmation texted"
		case t.sender.Addr == "":
			out.Detail += "; no sender given, so no confirmation was texted"
		case e.sendNow(t, TplAgentOptOut, store.EventConfirmationSent, t.at.Add(e.tab.Load().settings.ConfirmationDeadline)):
			out.Sent = []string{TplAgentOptOut}
		}
		return out, nil
	})
}

// ErrNotOptedOut: RemoveOptOut was asked about a number that is not on the
// do-not-contact list.
var ErrNotOptedOut = errors.New("policy: the number is not opted out, so it is not on the do-not-contact list")

// RemoveOptOut takes a number off the do-not-contact list (seed 004:
// "visible and changeable"): its opt-out is reset to unknown, so that it
// needs consent again, where the override rules allow it (CheckChange: a
// handset's own STOP is lifted only by the handset). No text is sent.
func (e *Engine) RemoveOptOut(ctx context.Context, r AgentRequest) (Outcome, error) {
	return e.operate(ctx, &r, func(t *task) (Outcome, error) {
		cur, err := e.consentOf(t.scope)
		if err != nil {
			return Outcome{Scope: t.scope}, err
		}
		if cur.State != store.StateOptedOut {
			return Outcome{Scope: t.scope, State: cur.State}, fmt.Errorf("%w (it is %s)", ErrNotOptedOut, cur.State)
		}
		ch := e.operatorChange(t, store.EventReset, joinNote("removed from the do-not-contact list", r.Note))
		ch.Guard = Guard(&ch)
		applied, err := e.st.Apply(ctx, ch)
		if err != nil {
			return Outcome{Scope: t.scope, State: cur.State}, err
		}
		return Outcome{Scope: t.scope, State: applied.Consent.State, Event: applied.Event, Detail: "removed from the do-not-contact list: the number needs consent again"}, nil
	})
}

// operate checks what every action needs, then runs fn as a task in the
// scope's lane and waits for it. The proof events of the texts fn sent are
// written before operate returns, so that the caller reads them at once.
func (e *Engine) operate(ctx context.Context, r *AgentRequest, fn func(t *task) (Outcome, error)) (Outcome, error) {
	if strings.TrimSpace(r.Actor) == "" {
		return Outcome{}, &FieldError{"actor", "is required: the ledger records who acted"}
	}
	if r.Method == 0 {
		r.Method = store.MethodAPI
	}
	if r.Method != store.MethodAPI && r.Method != store.MethodAgent {
		return Outcome{}, &FieldError{"method", "must be api or agent"}
	}
	if err := checkText("note", r.Note); err != nil {
		return Outcome{}, err
	}
	scope, err := e.Scope(r.Org, r.Sender, r.Number)
	if err != nil {
		return Outcome{}, err
	}
	if err := e.st.Accepting(); err != nil {
		return Outcome{}, err
	}
	o := e.tab.Load().orgs[r.Org]
	t := &task{kind: taskOperator, org: o, at: e.now(), scope: scope, actor: r.Actor, method: r.Method,
		handset: pdu.Addr{TON: 1, NPI: 1, Addr: scope.Number[1:]}}
	if s := strings.TrimSpace(r.Sender); s != "" {
		digits, err := o.acct.sender(s)
		if err != nil {
			return Outcome{}, err
		}
		t.sender = senderAddr(digits)
	}
	var (
		out  Outcome
		oerr error
		done = make(chan struct{})
	)
	t.op = func(t *task) {
		defer close(done)
		out, oerr = fn(t)
		for _, ch := range t.proof {
			e.record(t, ch)
		}
		t.proof = nil
	}
	select {
	case <-e.closing:
		return Outcome{}, ErrClosing
	default:
	}
	select {
	case e.laneOf(scope.Org, scope.Number) <- t:
	case <-ctx.Done():
		return Outcome{}, ctx.Err()
	case <-e.closing:
		return Outcome{}, ErrClosing
	}
	select {
	case <-done:
	case <-ctx.Done():
		// The task still runs to its end in the lane; the caller reads
		// what it did from the ledger.
		return Outcome{}, ctx.Err()
	}
	if oerr == nil {
		if out.Event.Seq != 0 {
			e.m.change(o.acct.name, out.Event.Type.String(), r.Method)
		}
		e.log.Info().Str("organization", o.acct.name).Str("number", store.MaskNumber(scope.Number)).Str("actor", r.Actor).
			Stringer("method", r.Method).Str("detail", out.Detail).Uint64("seq", out.Event.Seq).Msg("operator action")
	}
	return out, oerr
}

// operatorChange is an event of t's scope by its actor, in the
// conversation with the sender the action named (if any).
func (e *Engine) operatorChange(t *task, typ store.EventType, note string) store.Change {
	return store.Change{Scope: t.scope, Via: t.viaFor(t.scope), Type: typ, Mode: t.org.acct.storeMode(), OccurredAt: t.at,
		Method: t.method, Actor: t.actor, Note: note}
}

// confirmAgentOptIn is confirmOptIn for an operator's opt-in, returning the
// templates texted to the handset.
func (e *Engine) confirmAgentOptIn(t *task, applied store.Applied) []string {
	e.settle(t, applied.Released, true)
	if applied.Event.PrevState == store.StateOptedIn {
		return nil
	}
	if e.sendNow(t, TplOptInConfirmation, store.EventConfirmationSent, time.Time{}) {
		return []string{TplOptInConfirmation}
	}
	return nil
}

// sendNow texts template name to the handset and keeps its proof for the
// task's end; it reports whether it went (or waits in the outbox).
func (e *Engine) sendNow(t *task, name string, ev store.EventType, deadline time.Time) bool {
	n := len(t.proof)
	e.send(t, name, ev, deadline, "")
	return len(t.proof) > n
}

// consentOf is the scope's record, the zero (unknown) one if it has none.
func (e *Engine) consentOf(s store.Scope) (store.Consent, error) {
	c, err := e.st.Consent(e.ctx(), s)
	if errors.Is(err, store.ErrNotFound) {
		return store.Consent{Scope: s}, nil
	}
	return c, err
}

// senderAddr is the address texts to the handset come from: a number
// (E.164 digits, international) or an alphanumeric name.
func senderAddr(s string) pdu.Addr {
	if s != "" && strings.Trim(s, "0123456789") == "" {
		return pdu.Addr{TON: 1, NPI: 1, Addr: s}
	}
	return pdu.Addr{TON: 5, NPI: 0, Addr: s}
}

// checkText refuses what a person may not put in a ledger note: more than
// maxOperatorText bytes, invalid UTF-8 or control characters.
func checkText(field, s string) error {
	switch {
	case len(s) > maxOperatorText:
		return &FieldError{field, fmt.Sprintf("is %d bytes; at most %d", len(s), maxOperatorText)}
	case !utf8.ValidString(s):
		return &FieldError{field, "is not valid UTF-8"}
	case strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return &FieldError{field, "contains a control character"}
	}
	return nil
}

func joinNote(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "; " + b
}

func oneOf[T comparable](v T, list []T) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func listOf[T ~string](list []T) string {
	s := make([]string, len(list))
	for i, v := range list {
		s[i] = string(v)
	}
	return strings.Join(s, ", ")
}
