package policy

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/optguard/optguard/store"
)

// Double opt-in (seed 001's agent-initiated opt-in): an agent asks for
// consent with a PIN, the handset replies YES and is texted a PIN, and the
// agent enters the PIN the customer reads out. Each step is a ledger event
// (consent_requested, pin_sent with the YES as its MO, pin_rejected for a
// wrong PIN, opted_in once it matches); the scope stays pending until the
// PIN matches. What the steps need to go on — the phase, the PIN's salted
// hash, its expiry and the attempts left — is kept per scope in the
// store's Learning records, so that a restart between the YES and the PIN
// loses nothing. The record's key is derived from the handset's keyed
// pseudonym, never from the number, and holds no personal data.

// Refusals of VerifyPIN; the operator API answers them with 409, and a
// wrong PIN (a *PINError) with 422.
var (
	ErrNoPIN      = errors.New("policy: no double opt-in is waiting for a PIN for this number; request a double opt-in first")
	ErrPINNotSent = errors.New("policy: the handset has not replied YES to the double opt-in request yet, so it has no PIN")
	ErrPINExpired = errors.New("policy: the PIN has expired; request a double opt-in again")
	ErrPINLocked  = errors.New("policy: too many wrong PINs were entered; request a double opt-in again")
	ErrWrongPIN   = errors.New("policy: the PIN does not match")
)

// PINError is a wrong PIN, with the attempts left before it is void.
type PINError struct{ AttemptsLeft int }

func (e *PINError) Error() string {
	return fmt.Sprintf("%v; %d attempts left", ErrWrongPIN, e.AttemptsLeft)
}

func (e *PINError) Unwrap() error { return ErrWrongPIN }

type pinPhase uint8

const (
	pinNone       pinPhase = iota // no double opt-in, or it is over
	pinWaitingYes                 // the request went out; a YES gets a PIN
	pinSent                       // the PIN went out; the agent enters it
)

// pinRecord is one scope's double opt-in in progress.
type pinRecord struct {
	phase     pinPhase
	attempts  uint8     // wrong PINs still allowed
	requested time.Time // when the double opt-in was asked for
	expires   time.Time // when the PIN stops being good
	salt      [16]byte
	hash      [32]byte // SHA-256 over salt and PIN
	sender    string   // the scope's sender as texts to the handset carry it (≤ 32 bytes)
	reason    string   // the request's reason (≤ 32 bytes)
}

const pinRecordVersion = 1

func (r *pinRecord) encode() []byte {
	b := make([]byte, 0, 96+len(r.sender)+len(r.reason))
	b = append(b, pinRecordVersion, byte(r.phase), r.attempts)
	b = binary.BigEndian.AppendUint64(b, uint64(r.requested.UnixNano()))
	b = binary.BigEndian.AppendUint64(b, uint64(r.expires.UnixNano()))
	b = append(b, r.salt[:]...)
	b = append(b, r.hash[:]...)
	b = append(b, byte(len(r.sender)))
	b = append(b, r.sender...)
	b = append(b, byte(len(r.reason)))
	return append(b, r.reason...)
}

func (r *pinRecord) decode(b []byte) bool {
	const fixed = 3 + 8 + 8 + 16 + 32
	if len(b) < fixed+1 || b[0] != pinRecordVersion {
		return false
	}
	r.phase, r.attempts = pinPhase(b[1]), b[2]
	r.requested = time.Unix(0, int64(binary.BigEndian.Uint64(b[3:])))
	r.expires = time.Unix(0, int64(binary.BigEndian.Uint64(b[11:])))
	copy(r.salt[:], b[19:35])
	copy(r.hash[:], b[35:67])
	rest := b[fixed:]
	n := int(rest[0])
	if len(rest) < 1+n+1 {
		return false
	}
	r.sender = string(rest[1 : 1+n])
	rest = rest[1+n:]
	m := int(rest[0])
	if len(rest) < 1+m {
		return false
	}
	r.reason = string(rest[1 : 1+m])
	return true
}

// pinKey names a scope's record: a hash of the account, the sender and the
// handset's pseudonym.
func (e *Engine) pinKey(s store.Scope) string {
	h := sha256.New()
	h.Write([]byte(s.Org))
	h.Write([]byte{0})
	h.Write([]byte(s.Sender))
	h.Write([]byte{0})
	h.Write([]byte(e.st.Handset([]byte(s.Number[1:])).Key()))
	return "policy/pin/" + hex.EncodeToString(h.Sum(nil)[:16])
}

// loadPIN reads a scope's record; a missing or unreadable one is pinNone.
func (e *Engine) loadPIN(s store.Scope) (pinRecord, error) {
	var r pinRecord
	v, ok, err := e.st.LoadLearned(e.pinKey(s))
	if err != nil || !ok || !r.decode(v) {
		return pinRecord{}, err
	}
	return r, nil
}

func (e *Engine) savePIN(s store.Scope, r *pinRecord) error {
	return e.st.SaveLearned(e.ctx(), e.pinKey(s), r.encode())
}

// newPIN draws a PIN of n digits and sets r's salt and hash for it.
func (r *pinRecord) newPIN(n int) (string, error) {
	max := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(n)), nil)
	v, err := rand.Int(rand.Reader, max)
	if err != nil {
		return "", err
	}
	pin := fmt.Sprintf("%0*d", n, v)
	if _, err := rand.Read(r.salt[:]); err != nil {
		return "", err
	}
	r.hash = pinHash(r.salt, pin)
	return pin, nil
}

func pinHash(salt [16]byte, pin string) [32]byte {
	h := sha256.New()
	h.Write(salt[:])
	h.Write([]byte(pin))
	var out [32]byte
	h.Sum(out[:0])
	return out
}

func (r *pinRecord) matches(pin string) bool {
	got := pinHash(r.salt, pin)
	return subtle.ConstantTimeCompare(got[:], r.hash[:]) == 1
}

// pinOnYes answers a handset's YES to a double opt-in request with a PIN:
// it reports false (and does nothing) when the scope has no double opt-in
// waiting for its YES, so that the YES opts in as usual.
func (e *Engine) pinOnYes(t *task) bool {
	if cur, _ := e.st.Lookup(t.scope); cur.State != store.StatePending {
		return false
	}
	rec, err := e.loadPIN(t.scope)
	if err != nil || rec.phase != pinWaitingYes {
		return false
	}
	if c, err := e.st.Consent(e.ctx(), t.scope); err != nil || c.OptedOutAt.After(rec.requested) || c.OptedInAt.After(rec.requested) ||
		c.CreatedAt.After(rec.requested) {
		// The scope went out (or in) after the request and is pending
		// again by another request, or its record is newer than the
		// request (the number was erased, by the store alone too: optguard
		// subject erase, retention): this YES is not the PIN's.
		return false
	}
	s := e.tab.Load().settings
	pin, err := rec.newPIN(s.PINDigits)
	if err != nil {
		e.log.Error().Err(err).Msg("drawing a PIN; the YES is answered with a temporary error")
		_ = t.finish(Decision{Action: Reject, Status: tempStatus(false)})
		return true
	}
	rec.phase, rec.attempts, rec.expires = pinSent, uint8(s.PINAttempts), e.now().Add(s.PINExpiry)
	if err := e.savePIN(t.scope, &rec); err != nil {
		e.log.Error().Err(err).Stringer("scope", t.scope).Msg("saving a PIN; the YES is answered with a temporary error so that the SMSC sends it again")
		_ = t.finish(Decision{Action: Reject, Status: tempStatus(false)})
		return true
	}
	if rec.sender != "" && t.sender.Addr == "" {
		t.sender = senderAddr(rec.sender)
	}
	vars := e.vars(t.org, t.sender.Addr, t.class.Lang)
	vars.PIN = pin
	note := "double opt-in: the handset replied " + t.text + "; PIN good until " + rec.expires.UTC().Format(time.RFC3339)
	msg, note, ok := e.transmit(t, TplPIN, vars, rec.expires, note)
	ch := store.Change{
		Scope: t.scope, Via: t.viaFor(t.scope), Type: store.EventPINSent, Mode: t.org.acct.storeMode(), OccurredAt: t.at,
		Method: store.MethodSMSKeyword, Actor: "handset", MO: t.mo, Note: note,
	}
	if ok {
		ch.Template, ch.TemplateVersion, ch.MessageID = TplPIN, msg.tpl.Version, msg.id
	} else {
		ch.Note += "; the PIN could not be sent"
	}
	if _, err := e.st.Apply(e.ctx(), ch); err != nil {
		e.log.Error().Err(err).Stringer("scope", t.scope).Msg("recording the YES of a double opt-in; answered with a temporary error so that the SMSC sends it again")
		_ = t.finish(Decision{Action: Reject, Status: tempStatus(false)})
		return true
	}
	_ = t.finish(keywordMO(t))
	e.m.change(t.org.acct.name, store.EventPINSent.String(), store.MethodSMSKeyword)
	e.log.Info().Str("organization", t.org.acct.name).Str("number", store.MaskNumber(t.scope.Number)).
		Bool("pin_sent", ok).Msg("double opt-in: the handset replied YES and was texted a PIN")
	return true
}
