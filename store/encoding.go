package store

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/optguard/optguard/store/seal"
)

// Value encodings are hand-written, length-prefixed and versioned by their
// first byte. They are deterministic: the same event always encodes to the
// same bytes, which is what lets Verify recompute the hash chain.
//
// Primitive forms: uvarint for unsigned numbers, one byte for enums, bytes
// and strings as uvarint length + bytes, booleans as 0 or 1, times as a
// presence byte (0 = zero time) followed by a zigzag varint of Unix
// nanoseconds. Decoders accept only these canonical forms (shortest
// varints), so a value decodes only from the one encoding that made it.

const (
	eventEncV1   = 1 // format 1: number, MO and note in the clear
	eventEncV2   = 2 // the subject, and the rest sealed
	eventEncV3   = 3 // v2 + Via; written only for events with a Via
	consentEncV1 = 1
	consentEncV2 = 2 // a suppression entry (encodeSuppression)
	heldEncV1    = 1
	heldEncV2    = 2 // v1 + Review; written only for review holds, so v1 readers see the rest
	heldEncV3    = 3 // the subject, and the number and PDU sealed
	msgEncV1     = 1
	msgEncV2     = 2 // the subject, and the number sealed
)

var errShort = errors.New("truncated value")

type enc struct{ b []byte }

func (e *enc) byte(v byte)      { e.b = append(e.b, v) }
func (e *enc) uvarint(v uint64) { e.b = binary.AppendUvarint(e.b, v) }
func (e *enc) bytes(p []byte)   { e.uvarint(uint64(len(p))); e.b = append(e.b, p...) }
func (e *enc) str(s string)     { e.uvarint(uint64(len(s))); e.b = append(e.b, s...) }
func (e *enc) bool(v bool) {
	if v {
		e.byte(1)
	} else {
		e.byte(0)
	}
}
func (e *enc) time(t time.Time) {
	if t.IsZero() {
		e.byte(0)
		return
	}
	e.byte(1)
	e.b = binary.AppendVarint(e.b, t.UnixNano())
}

type dec struct {
	b   []byte
	err error
}

func (d *dec) fail() {
	if d.err == nil {
		d.err = errShort
	}
	d.b = nil
}

func (d *dec) byte() byte {
	if len(d.b) < 1 {
		d.fail()
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

// uvarint reads a uvarint in its shortest form only, so that every value
// has exactly one encoding.
func (d *dec) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 || n != uvarintLen(v) {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func uvarintLen(v uint64) int {
	n := 1
	for ; v >= 0x80; v >>= 7 {
		n++
	}
	return n
}

func (d *dec) bytes() []byte {
	n := d.uvarint()
	if d.err != nil || uint64(len(d.b)) < n {
		d.fail()
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

func (d *dec) str() string { return string(d.bytes()) }

func (d *dec) bool() bool {
	switch d.byte() {
	case 0:
		return false
	case 1:
		return true
	}
	d.fail()
	return false
}

func (d *dec) time() time.Time {
	switch d.byte() {
	case 0:
		return time.Time{}
	case 1:
		v, n := binary.Varint(d.b)
		if n <= 0 || n != uvarintLen(zigzag(v)) {
			d.fail()
			return time.Time{}
		}
		d.b = d.b[n:]
		return time.Unix(0, v).UTC()
	default:
		d.fail()
		return time.Time{}
	}
}

func zigzag(v int64) uint64 { return uint64(v<<1) ^ uint64(v>>63) }

func (d *dec) fixed(n int) []byte {
	if len(d.b) < n {
		d.fail()
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

// done reports a decoding error, or trailing bytes.
func (d *dec) done(what string) error {
	if d.err != nil {
		return fmt.Errorf("decoding %s: %w", what, d.err)
	}
	if len(d.b) != 0 {
		return fmt.Errorf("decoding %s: %d trailing bytes", what, len(d.b))
	}
	return nil
}

// encodeEvent returns the stored form of ev: the canonical body followed by
// the 32-byte SHA-256 of the body. The body holds every field of the event,
// PrevHash included, so the hash covers the chain link too; what identifies
// the person (number, MO, note) is in sealed (sealEventPayload), which the
// hash covers as stored. ev.Hash is set.
//
// Body v2: version(2) seq prevhash(32) org sender subject(16) type prev new
// mode method occurred recorded actor template templateversion messageid
// sealed note, where note is the note of an event without a subject (a
// chain link, a retention sweep: the store's own words) and empty for any
// other, whose note is sealed.
//
// Body v3: v2 with via after sender, for an event with a Via (and only
// for one: an event without is v2, as it always was, so that each event
// has one encoding and the events of ledgers written before v3 keep
// theirs and their hashes).
func encodeEvent(ev *Event, sealed []byte) []byte {
	e := enc{b: make([]byte, 0, 160+len(sealed)+len(ev.Actor)+len(ev.Via))}
	if ev.Via == "" {
		e.byte(eventEncV2)
	} else {
		e.byte(eventEncV3)
	}
	e.uvarint(ev.Seq)
	e.b = append(e.b, ev.PrevHash[:]...)
	e.str(ev.Scope.Org)
	e.str(ev.Scope.Sender)
	if ev.Via != "" {
		e.str(ev.Via)
	}
	e.b = append(e.b, ev.Subject[:]...)
	e.byte(byte(ev.Type))
	e.byte(byte(ev.PrevState))
	e.byte(byte(ev.NewState))
	e.byte(byte(ev.Mode))
	e.byte(byte(ev.Method))
	e.time(ev.OccurredAt)
	e.time(ev.RecordedAt)
	e.str(ev.Actor)
	e.str(ev.Template)
	e.uvarint(uint64(ev.TemplateVersion))
	e.str(ev.MessageID)
	e.bytes(sealed)
	if ev.Subject.IsZero() {
		e.str(ev.Note)
	} else {
		e.str("")
	}
	ev.Hash = sha256.Sum256(e.b)
	return append(e.b, ev.Hash[:]...)
}

// decodeEvent parses a stored event, returning its sealed part unopened
// (openEvent opens it; the event has Erased set until then). It checks the
// hash: a value whose stored hash does not match its body returns an error
// wrapping errHashMismatch along with the decoded event.
func decodeEvent(v []byte) (Event, []byte, error) {
	var ev Event
	if len(v) < 1+sha256.Size {
		return ev, nil, fmt.Errorf("decoding event: %w", errShort)
	}
	body, sum := v[:len(v)-sha256.Size], v[len(v)-sha256.Size:]
	d := dec{b: body}
	ver := d.byte()
	if ver != eventEncV2 && ver != eventEncV3 {
		return ev, nil, fmt.Errorf("decoding event: unknown encoding version %d", ver)
	}
	ev.Seq = d.uvarint()
	copy(ev.PrevHash[:], d.fixed(32))
	ev.Scope.Org = d.str()
	ev.Scope.Sender = d.str()
	if ver == eventEncV3 {
		// Only events with a Via are written in v3: one encoding per value.
		if ev.Via = d.str(); ev.Via == "" {
			d.fail()
		}
	}
	copy(ev.Subject[:], d.fixed(len(ev.Subject)))
	ev.Type = EventType(d.byte())
	ev.PrevState = State(d.byte())
	ev.NewState = State(d.byte())
	ev.Mode = Mode(d.byte())
	ev.Method = Method(d.byte())
	ev.OccurredAt = d.time()
	ev.RecordedAt = d.time()
	ev.Actor = d.str()
	ev.Template = d.str()
	ev.TemplateVersion = uint32(d.uvarint())
	ev.MessageID = d.str()
	sealed := d.bytes()
	note := d.str()
	if ev.Subject.IsZero() {
		ev.Note = note // the store's own event: nothing sealed
	} else {
		ev.Erased = true // until openEvent
		if note != "" {
			d.fail() // one encoding per value
		}
	}
	if err := d.done("event"); err != nil {
		return ev, nil, err
	}
	copy(ev.Hash[:], sum)
	if sha256.Sum256(body) != ev.Hash {
		return ev, sealed, errHashMismatch
	}
	return ev, sealed, nil
}

// Sealed part of an event v1: version(1) number hasMO [datacoding raw text]
// note, sealed under the subject's key and bound to the event's sequence
// number.
func sealEvent(key seal.SubjectKey, ev *Event) []byte {
	var buf [128]byte // most plaintexts: a number and a short MO
	e := enc{b: buf[:0]}
	e.byte(1)
	e.str(ev.Scope.Number)
	e.bool(ev.MO != nil)
	if ev.MO != nil {
		e.byte(ev.MO.DataCoding)
		e.bytes(ev.MO.Raw)
		e.str(ev.MO.Text)
	}
	e.str(ev.Note)
	var ab [48]byte
	out := key.Seal(sealBuf(ev), e.b, eventAAD(ab[:0], ev))
	clear(e.b)
	return out
}

// eventAAD appends what an event's sealed part is bound to: its subject
// and its sequence number.
func eventAAD(b []byte, ev *Event) []byte {
	return binary.BigEndian.AppendUint64(appendAAD(b, "event", ev.Subject, ""), ev.Seq)
}

// sealBuf is a buffer for sealEvent's output of ev.
func sealBuf(ev *Event) []byte {
	n := 64 + len(ev.Scope.Number) + len(ev.Note)
	if ev.MO != nil {
		n += len(ev.MO.Raw) + len(ev.MO.Text)
	}
	return make([]byte, 0, n)
}

// openEvent fills ev's number, MO and note from sealed under key, and
// clears Erased.
func openEvent(key seal.SubjectKey, ev *Event, sealed []byte) error {
	var ab [48]byte
	plain, err := key.Open(nil, sealed, eventAAD(ab[:0], ev))
	if err != nil {
		return fmt.Errorf("event %d: %w", ev.Seq, err)
	}
	d := dec{b: plain}
	if ver := d.byte(); ver != 1 {
		return fmt.Errorf("event %d: unknown sealed encoding %d", ev.Seq, ver)
	}
	ev.Scope.Number = d.str()
	if d.bool() {
		mo := &MO{DataCoding: d.byte()}
		mo.Raw = append([]byte(nil), d.bytes()...)
		mo.Text = d.str()
		ev.MO = mo
	}
	ev.Note = d.str()
	if err := d.done("sealed event"); err != nil {
		return fmt.Errorf("event %d: %w", ev.Seq, err)
	}
	ev.Erased = false
	return nil
}

// decodeEventV1 parses an event of format 1, which held the number, the MO
// and the note in the clear. Only the migration reads it.
func decodeEventV1(v []byte) (Event, error) {
	var ev Event
	if len(v) < 1+sha256.Size {
		return ev, fmt.Errorf("decoding event: %w", errShort)
	}
	body, sum := v[:len(v)-sha256.Size], v[len(v)-sha256.Size:]
	d := dec{b: body}
	if ver := d.byte(); ver != eventEncV1 {
		return ev, fmt.Errorf("decoding event: unknown encoding version %d", ver)
	}
	ev.Seq = d.uvarint()
	copy(ev.PrevHash[:], d.fixed(32))
	ev.Scope.Org = d.str()
	ev.Scope.Sender = d.str()
	ev.Scope.Number = d.str()
	ev.Type = EventType(d.byte())
	ev.PrevState = State(d.byte())
	ev.NewState = State(d.byte())
	ev.Mode = Mode(d.byte())
	ev.Method = Method(d.byte())
	ev.OccurredAt = d.time()
	ev.RecordedAt = d.time()
	ev.Actor = d.str()
	if d.bool() {
		mo := &MO{DataCoding: d.byte()}
		mo.Raw = append([]byte(nil), d.bytes()...)
		mo.Text = d.str()
		ev.MO = mo
	}
	ev.Template = d.str()
	ev.TemplateVersion = uint32(d.uvarint())
	ev.MessageID = d.str()
	ev.Note = d.str()
	if err := d.done("event"); err != nil {
		return ev, err
	}
	copy(ev.Hash[:], sum)
	if sha256.Sum256(body) != ev.Hash {
		return ev, errHashMismatch
	}
	return ev, nil
}

var errHashMismatch = errors.New("stored hash does not match the event's contents")

// Consent record v1: version state mode updated created lastseq lastevent
// optedin optedinmethod optedout optedoutmethod. State, mode and updated come
// first so that loading the in-memory index reads only a prefix.
func encodeConsent(c *Consent) []byte {
	e := enc{b: make([]byte, 0, 64)}
	e.byte(consentEncV1)
	e.byte(byte(c.State))
	e.byte(byte(c.Mode))
	e.time(c.UpdatedAt)
	e.time(c.CreatedAt)
	e.uvarint(c.LastSeq)
	e.byte(byte(c.LastEvent))
	e.time(c.OptedInAt)
	e.byte(byte(c.OptedInMethod))
	e.time(c.OptedOutAt)
	e.byte(byte(c.OptedOutMethod))
	return e.b
}

func decodeConsent(scope Scope, v []byte) (Consent, error) {
	c := Consent{Scope: scope}
	d := dec{b: v}
	if isSuppression(v) {
		d.byte()
		c.Erased, c.State, c.Mode, c.OptedOutMethod = true, State(d.byte()), Mode(d.byte()), Method(d.byte())
		c.Scope.Number = ""
		return c, d.done("suppression entry")
	}
	if ver := d.byte(); ver != consentEncV1 {
		return c, fmt.Errorf("decoding consent: unknown encoding version %d", ver)
	}
	c.State = State(d.byte())
	c.Mode = Mode(d.byte())
	c.UpdatedAt = d.time()
	c.CreatedAt = d.time()
	c.LastSeq = d.uvarint()
	c.LastEvent = EventType(d.byte())
	c.OptedInAt = d.time()
	c.OptedInMethod = Method(d.byte())
	c.OptedOutAt = d.time()
	c.OptedOutMethod = Method(d.byte())
	return c, d.done("consent")
}

// Suppression entry (consent record v2): version(2) state mode
// optedoutmethod, all that is kept of an erased subject's opted-out scope:
// how it opted out decides who may lift it (policy.CheckChange: an opt-out
// by text only by the handset).
func encodeSuppression(m Mode, out Method) []byte {
	return []byte{consentEncV2, byte(StateOptedOut), byte(m), byte(out)}
}

func isSuppression(v []byte) bool { return len(v) > 0 && v[0] == consentEncV2 }

// decodeConsentHead reads only what the in-memory index keeps.
func decodeConsentHead(v []byte) (State, Mode, int64, error) {
	d := dec{b: v}
	if isSuppression(v) {
		d.byte()
		st, m := State(d.byte()), Mode(d.byte())
		d.byte()
		return st, m, 0, d.done("suppression entry")
	}
	if ver := d.byte(); ver != consentEncV1 {
		return 0, 0, 0, fmt.Errorf("decoding consent: unknown encoding version %d", ver)
	}
	st, m := State(d.byte()), Mode(d.byte())
	t := d.time()
	if d.err != nil {
		return 0, 0, 0, fmt.Errorf("decoding consent: %w", d.err)
	}
	return st, m, unixNanoOrZero(t), nil
}

func unixNanoOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// Held message v3: version(3) id org sender subject(16) systemid sealed
// receipt heldat expiresat holdseq review, where sealed is the number and
// the PDU (sealed(number pdu) under the subject's key, bound to the id).
func encodeHeld(m *HeldMessage, subj SubjectID, sealed []byte, seq uint64) []byte {
	e := enc{b: make([]byte, 0, 64+len(sealed)+len(m.ID))}
	e.byte(heldEncV3)
	e.str(m.ID)
	e.str(m.Scope.Org)
	e.str(m.Scope.Sender)
	e.b = append(e.b, subj[:]...)
	e.str(m.SystemID)
	e.bytes(sealed)
	e.bool(m.ReceiptRequested)
	e.time(m.HeldAt)
	e.time(m.ExpiresAt)
	e.uvarint(seq)
	e.bool(m.Review)
	return e.b
}

// decodeHeld parses a held message, its number and PDU still sealed.
func decodeHeld(v []byte) (m HeldMessage, subj SubjectID, sealed []byte, seq uint64, err error) {
	d := dec{b: v}
	if ver := d.byte(); ver != heldEncV3 {
		return m, subj, nil, 0, fmt.Errorf("decoding held message: unknown encoding version %d", ver)
	}
	m.ID = d.str()
	m.Scope.Org = d.str()
	m.Scope.Sender = d.str()
	copy(subj[:], d.fixed(len(subj)))
	m.SystemID = d.str()
	sealed = d.bytes()
	m.ReceiptRequested = d.bool()
	m.HeldAt = d.time()
	m.ExpiresAt = d.time()
	seq = d.uvarint()
	m.Review = d.bool()
	return m, subj, sealed, seq, d.done("held message")
}

func sealHeld(key seal.SubjectKey, subj SubjectID, m *HeldMessage) []byte {
	e := enc{b: make([]byte, 0, 24+len(m.PDU))}
	e.str(m.Scope.Number)
	e.bytes(m.PDU)
	out := key.Seal(nil, e.b, aad("held", subj, m.ID))
	clear(e.b)
	return out
}

func openHeld(key seal.SubjectKey, subj SubjectID, m *HeldMessage, sealed []byte) error {
	plain, err := key.Open(nil, sealed, aad("held", subj, m.ID))
	if err != nil {
		return fmt.Errorf("held message %s: %w", m.ID, err)
	}
	d := dec{b: plain}
	m.Scope.Number = d.str()
	m.PDU = append([]byte(nil), d.bytes()...)
	return d.done("sealed held message")
}

// Held message v1 (format 1, the number and the PDU in the clear): version
// id org sender number systemid pdu receipt heldat expiresat holdseq; v2 is
// v1 and review. Only the migration and its tests use them.
func encodeHeldV1(m *HeldMessage, seq uint64) []byte {
	e := enc{b: make([]byte, 0, 64+len(m.PDU)+len(m.ID))}
	ver := byte(heldEncV1)
	if m.Review {
		ver = heldEncV2
	}
	e.byte(ver)
	e.str(m.ID)
	e.str(m.Scope.Org)
	e.str(m.Scope.Sender)
	e.str(m.Scope.Number)
	e.str(m.SystemID)
	e.bytes(m.PDU)
	e.bool(m.ReceiptRequested)
	e.time(m.HeldAt)
	e.time(m.ExpiresAt)
	e.uvarint(seq)
	if m.Review {
		e.bool(true)
	}
	return e.b
}

func decodeHeldV1(v []byte) (HeldMessage, uint64, error) {
	var m HeldMessage
	d := dec{b: v}
	ver := d.byte()
	if ver != heldEncV1 && ver != heldEncV2 {
		return m, 0, fmt.Errorf("decoding held message: unknown encoding version %d", ver)
	}
	m.ID = d.str()
	m.Scope.Org = d.str()
	m.Scope.Sender = d.str()
	m.Scope.Number = d.str()
	m.SystemID = d.str()
	m.PDU = append([]byte(nil), d.bytes()...)
	m.ReceiptRequested = d.bool()
	m.HeldAt = d.time()
	m.ExpiresAt = d.time()
	seq := d.uvarint()
	if ver == heldEncV2 {
		// Only review holds are written in v2, so the flag must say so:
		// one encoding per value.
		if m.Review = d.bool(); !m.Review {
			d.fail()
		}
	}
	return m, seq, d.done("held message")
}

// Message log header v2: version(2) org sender subject(16) sealed at, where
// sealed is the number under the subject's key, bound to the message id
// (empty, with the zero subject, when the number had no subject when the
// record was written).
func encodeMsg(r *Record, subj SubjectID, sealed []byte) []byte {
	e := enc{b: make([]byte, 0, 64+len(r.Org)+len(r.Sender)+len(sealed))}
	e.byte(msgEncV2)
	e.str(r.Org)
	e.str(r.Sender)
	e.b = append(e.b, subj[:]...)
	e.bytes(sealed)
	e.time(r.At)
	return e.b
}

func decodeMsg(id string, v []byte) (m Message, subj SubjectID, sealed []byte, err error) {
	m.ID = id
	d := dec{b: v}
	if ver := d.byte(); ver != msgEncV2 {
		return m, subj, nil, fmt.Errorf("decoding message record: unknown encoding version %d", ver)
	}
	m.Org = d.str()
	m.Sender = d.str()
	copy(subj[:], d.fixed(len(subj)))
	sealed = d.bytes()
	m.At = d.time()
	return m, subj, sealed, d.done("message record")
}

func msgAAD(subj SubjectID, id string) []byte { return aad("message", subj, id) }

// Message log header v1 (format 1): version org sender number at. Only the
// migration and its tests use it.
func encodeMsgV1(r *Record) []byte {
	e := enc{b: make([]byte, 0, 48+len(r.Org)+len(r.Sender))}
	e.byte(msgEncV1)
	e.str(r.Org)
	e.str(r.Sender)
	e.str(r.Number)
	e.time(r.At)
	return e.b
}

func decodeMsgV1(id string, v []byte) (Message, error) {
	m := Message{ID: id}
	d := dec{b: v}
	if ver := d.byte(); ver != msgEncV1 {
		return m, fmt.Errorf("decoding message record: unknown encoding version %d", ver)
	}
	m.Org = d.str()
	m.Sender = d.str()
	m.Number = d.str()
	m.At = d.time()
	return m, d.done("message record")
}
