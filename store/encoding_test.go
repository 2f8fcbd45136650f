package store

import (
	"bytes"
	"testing"
	"time"

	"github.com/optguard/optguard/store/seal"
)

func sampleEvent() Event {
	return Event{
		Seq: 42, Scope: SenderScope("acme", "+15550000001", "+15551230001"), Type: EventOptedOut,
		PrevState: StateOptedIn, NewState: StateOptedOut, Mode: ModeConsent,
		OccurredAt: time.Unix(1700000000, 5).UTC(), RecordedAt: time.Unix(1700000001, 0).UTC(),
		Method: MethodSMSKeyword, Actor: "handset", MO: &MO{Raw: []byte("STOP"), DataCoding: 8, Text: "STOP"},
		Template: "optout_confirm", TemplateVersion: 2, MessageID: "og-1", Note: "n", PrevHash: [32]byte{1, 2, 3},
	}
}

// testSubjectKey seals the tests' sealed values.
var testSubjectID, testSubjectKey, _ = testKeys.NewSubject()

// FuzzDecoders feeds arbitrary bytes to every value decoder: Verify and
// Rebuild run them on whatever is on disk, tampered or not, so they must
// return errors, never panic; and what decodes must re-encode to itself.
func FuzzDecoders(f *testing.F) {
	ev := sampleEvent()
	ev.Subject = testSubjectID
	f.Add(encodeEvent(&ev, sealEvent(testSubjectKey, &ev)))
	link := Event{Seq: 3, Type: EventChainLinked, Actor: "system", Method: MethodSystem, Note: "continues", OccurredAt: time.Unix(5, 0)}
	f.Add(encodeEvent(&link, nil))
	c := Consent{State: StateOptedIn, Mode: ModeDisclaimer, UpdatedAt: time.Unix(5, 0), LastSeq: 9, OptedInAt: time.Unix(5, 0), OptedInMethod: MethodAPI}
	f.Add(encodeConsent(&c))
	f.Add(encodeSuppression(ModeConsent, MethodSMSKeyword))
	m := HeldMessage{ID: "og-1", Scope: OrgScope("acme", "+15551230001"), SystemID: "esme", PDU: pdu(1), HeldAt: time.Unix(7, 0), ExpiresAt: time.Unix(8, 0)}
	f.Add(encodeHeld(&m, testSubjectID, sealHeld(testSubjectKey, testSubjectID, &m), 3))
	r := Record{Org: "acme", Number: "+15551230001", At: time.Unix(9, 0)}
	f.Add(encodeMsg(&r, testSubjectID, []byte("sealed")))
	f.Add(encodeSubject([]byte("wrapped"), seal.Pseudonym{1}, []byte("sealed"), time.Unix(9, 0)))
	f.Add(scopeKey("acme", seal.Pseudonym{1, 2}, "s"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		if ev, sealed, err := decodeEvent(b); err == nil {
			if again := encodeEvent(&ev, sealed); !bytes.Equal(again, b) {
				t.Fatalf("event re-encodes differently:\n%x\n%x", b, again)
			}
			openEvent(testSubjectKey, &ev, sealed)
		}
		if c, err := decodeConsent(Scope{}, b); err == nil {
			again := encodeConsent(&c)
			if c.Erased {
				again = encodeSuppression(c.Mode, c.OptedOutMethod)
				if c.State != StateOptedOut {
					again = nil // a suppression entry is an opt-out; any other state re-encodes to nothing
				}
			}
			if again != nil && !bytes.Equal(again, b) {
				t.Fatalf("consent re-encodes differently:\n%x\n%x", b, again)
			}
		}
		decodeConsentHead(b)
		if m, subj, sealed, seq, err := decodeHeld(b); err == nil {
			if again := encodeHeld(&m, subj, sealed, seq); !bytes.Equal(again, b) {
				t.Fatalf("held message re-encodes differently:\n%x\n%x", b, again)
			}
			openHeld(testSubjectKey, subj, &m, sealed)
		}
		if m, subj, sealed, err := decodeMsg("x", b); err == nil {
			if again := encodeMsg(&Record{Org: m.Org, Sender: m.Sender, At: m.At}, subj, sealed); !bytes.Equal(again, b) {
				t.Fatalf("message record re-encodes differently:\n%x\n%x", b, again)
			}
		}
		if w, p, sealed, at, err := decodeSubject(b); err == nil {
			if again := encodeSubject(w, p, sealed, at); !bytes.Equal(again, b) {
				t.Fatalf("subject re-encodes differently:\n%x\n%x", b, again)
			}
		}
		if sp, err := parseScopeKey(b); err == nil {
			if again := scopeKey(sp.org, sp.p, sp.sender); !bytes.Equal(again, b) {
				t.Fatalf("scope key re-encodes differently:\n%x\n%x", b, again)
			}
		}
		decodeEventV1(b)
		decodeHeldV1(b)
		decodeMsgV1("x", b)
		parseScopeKeyV1(b)
		ix := newIndex(testKeys, 0)
		ix.loadKey(b)
	})
}

func TestEventEncodingIsStable(t *testing.T) {
	ev := sampleEvent()
	ev.Subject = testSubjectID
	sealed := sealEvent(testSubjectKey, &ev)
	a, b := encodeEvent(&ev, sealed), encodeEvent(&ev, sealed)
	if !bytes.Equal(a, b) {
		t.Fatal("encoding is not deterministic")
	}
	got, gotSealed, err := decodeEvent(a)
	if err != nil || got.Hash != ev.Hash || !got.Erased || got.Note != "" || got.Scope.Number != "" {
		t.Fatalf("round trip before opening: %+v %v", got, err)
	}
	if err := openEvent(testSubjectKey, &got, gotSealed); err != nil || got.Erased || got.Note != "n" || got.MO.DataCoding != 8 || got.Scope.Number != ev.Scope.Number {
		t.Fatalf("round trip: %+v %v", got, err)
	}
	// Any single changed byte is caught (by the hash or the decoder).
	for i := range a {
		c := bytes.Clone(a)
		c[i] ^= 0x40
		if _, _, err := decodeEvent(c); err == nil {
			t.Fatalf("byte %d changed and the event still decodes cleanly", i)
		}
	}
	// Sealed under another subject's key, or moved to another event, it
	// does not open.
	_, otherKey, _ := testKeys.NewSubject()
	if err := openEvent(otherKey, &got, gotSealed); err == nil {
		t.Fatal("an event opened under another subject's key")
	}
	moved := got
	moved.Seq++
	if err := openEvent(testSubjectKey, &moved, gotSealed); err == nil {
		t.Fatal("an event's sealed part opened as another event's")
	}
}
