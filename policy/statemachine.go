package policy

import (
	"errors"
	"fmt"

	"github.com/optguard/optguard/store"
)

// The consent state machine of one scope:
//
//	unknown ──request──► pending ──YES──► opted_in
//	   │                    │                ▲ │
//	   └───────STOP─────────┴──STOP──► opted_out
//	                                     (lifted only by the channel rules below)
//
// An opt-out is always accepted, from any state and any channel, and takes
// effect before the next MT is read. Lifting one depends on how it was
// recorded (seed 003: "you cannot override this status"):
//   - by the handset (a keyword): only the handset lifts it, with an opt-in
//     keyword;
//   - through the customer's portal: the portal or the handset;
//   - by an agent, the API, an import or optguard itself: the handset, the
//     portal, or an agent or the API with proof of consent.
// A consent request to an opted-out handset is allowed only when the
// handset itself wrote (optguard answers its message, seed 000); an agent
// cannot send one. The store records what it is told; these rules are
// checked here, as a Guard inside the store's transaction, so that the
// state they judge is the one the event is appended to.

// Refusals of CheckChange; the operator API answers them with 409.
var (
	ErrHandsetOptedOut = errors.New("policy: the handset opted out by text; only the handset can opt back in (by replying with an opt-in keyword such as START)")
	ErrPortalOptedOut  = errors.New("policy: the customer opted out through the portal; only the portal or the handset can opt back in")
	ErrImportLifts     = errors.New("policy: an import cannot lift an opt-out")
	ErrRequestOptedOut = errors.New("policy: the number is opted out, and a consent request may not be texted to it; record consent with proof instead, or the handset texts an opt-in keyword")
)

// CheckChange says whether ch may be appended to a scope whose current
// record is cur.
func CheckChange(cur store.Consent, ch *store.Change) error {
	if cur.State != store.StateOptedOut {
		return nil
	}
	switch ch.Type {
	case store.EventOptedIn, store.EventPINSent, store.EventReset:
	case store.EventConsentRequested:
		if ch.Method == store.MethodSystem {
			return nil // the handset wrote: optguard answers it with a request
		}
	case store.EventStateImported:
		if ch.State == store.StateOptedOut {
			return nil
		}
		return fmt.Errorf("%w recorded by %s (%s to %s refused)", ErrImportLifts, cur.OptedOutMethod, ch.Type, ch.State)
	default:
		return nil // opt-outs and proof of texts sent are always recorded
	}
	if ch.Method == store.MethodSMSKeyword {
		return nil // the handset itself can always come back
	}
	switch cur.OptedOutMethod {
	case store.MethodSMSKeyword:
		return fmt.Errorf("%w (%s by %s refused)", ErrHandsetOptedOut, ch.Type, ch.Method)
	case store.MethodPortal:
		if ch.Method != store.MethodPortal {
			return fmt.Errorf("%w (%s by %s refused)", ErrPortalOptedOut, ch.Type, ch.Method)
		}
	}
	if ch.Type == store.EventConsentRequested {
		// Only the one confirmation may follow an opt-out: a request is an
		// answer to the handset's own message or nothing.
		return fmt.Errorf("%w (opted out by %s)", ErrRequestOptedOut, cur.OptedOutMethod)
	}
	return nil
}

// Guard returns a store.Change Guard that applies CheckChange to ch.
func Guard(ch *store.Change) func(store.Consent) error {
	return func(cur store.Consent) error { return CheckChange(cur, ch) }
}
