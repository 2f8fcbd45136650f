package store

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"time"
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
	eventEncV1   = 1
	consentEncV1 = 1
	heldEncV1    = 1
	heldEncV2    = 2 // v1 + Review; written only for review holds, so v1 readers see the rest
	msgEncV1     = 1
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
// PrevHash included, so the hash covers the chain link too. ev.Hash is set.
//
// Body v1: version(1) seq prevhash(32) org sender number type prev new mode
// method occurred recorded actor hasMO [datacoding raw text] template
// templateversion messageid note.
func encodeEvent(ev *Event) []byte {
	e := enc{b: make([]byte, 0, 160+len(ev.Note)+len(ev.Actor))}
	e.byte(eventEncV1)
	e.uvarint(ev.Seq)
	e.b = append(e.b, ev.PrevHash[:]...)
	e.str(ev.Scope.Org)
	e.str(ev.Scope.Sender)
	e.str(ev.Scope.Number)
	e.byte(byte(ev.Type))
	e.byte(byte(ev.PrevState))
	e.byte(byte(ev.NewState))
	e.byte(byte(ev.Mode))
	e.byte(byte(ev.Method))
	e.time(ev.OccurredAt)
	e.time(ev.RecordedAt)
	e.str(ev.Actor)
	e.bool(ev.MO != nil)
	if ev.MO != nil {
		e.byte(ev.MO.DataCoding)
		e.bytes(ev.MO.Raw)
		e.str(ev.MO.Text)
	}
	e.str(ev.Template)
	e.uvarint(uint64(ev.TemplateVersion))
	e.str(ev.MessageID)
	e.str(ev.Note)
	ev.Hash = sha256.Sum256(e.b)
	return append(e.b, ev.Hash[:]...)
}

// decodeEvent parses a stored event. It checks the hash: a value whose
// stored hash does not match its body returns an error wrapping
// errHashMismatch along with the decoded event.
func decodeEvent(v []byte) (Event, error) {
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

// decodeConsentHead reads only what the in-memory index keeps.
func decodeConsentHead(v []byte) (State, Mode, int64, error) {
	d := dec{b: v}
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

// Held message v1: version id org sender number systemid pdu receipt heldat
// expiresat holdseq.
func encodeHeld(m *HeldMessage, seq uint64) []byte {
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

func decodeHeld(v []byte) (HeldMessage, uint64, error) {
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

// Message log header v1: version org sender number at.
func encodeMsg(r *Record) []byte {
	e := enc{b: make([]byte, 0, 48+len(r.Org)+len(r.Sender))}
	e.byte(msgEncV1)
	e.str(r.Org)
	e.str(r.Sender)
	e.str(r.Number)
	e.time(r.At)
	return e.b
}

func decodeMsg(id string, v []byte) (Message, error) {
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
