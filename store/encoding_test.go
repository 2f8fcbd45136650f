package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
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
	via := sampleEvent()
	via.Scope.Sender, via.Via, via.Subject = "", "15550001000", testSubjectID
	f.Add(encodeEvent(&via, sealEvent(testSubjectKey, &via)))
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
			if (b[0] == eventEncV3) != (ev.Via != "") {
				t.Fatalf("event of version %d decodes with via %q", b[0], ev.Via)
			}
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

// Events without a Via are written exactly as before event body v3: these
// are the bytes the build before it wrote for the same events, so the
// events of existing ledgers keep their encoding and their hashes.
func TestEventEncodingV2IsUnchanged(t *testing.T) {
	ev := sampleEvent()
	ev.Subject = SubjectID{9, 8, 7}
	link := Event{Seq: 3, Type: EventChainLinked, Actor: "system", Method: MethodSystem, Note: "continues",
		OccurredAt: time.Unix(5, 0).UTC(), PrevHash: [32]byte{4}}
	for _, c := range []struct {
		ev     Event
		sealed []byte
		want   string
	}{
		{ev, []byte("sealed"), "022a01020300000000000000000000000000000000000000000000000000000000000461636d650c2b3135353530303030303031090807000000000000000000000000000302030101018a80d0e2c6bfce972f0180a8a69ccebfce972f0768616e647365740e6f70746f75745f636f6e6669726d02046f672d31067365616c656400b3a5d762563c20de77bdb7039eb3dea34a78d3b28c28cee42dc8cc53a5755a4e"},
		{link, nil, "020304000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000f000000060180c8afa025000673797374656d0000000009636f6e74696e75657355028155769bf25130949e1506cade2fe66ee48dc138d83db79f5897aaeb0695"},
	} {
		got := encodeEvent(&c.ev, c.sealed)
		if hex.EncodeToString(got) != c.want {
			t.Fatalf("%s encodes as\n%x\nwant the v2 bytes\n%s", c.ev.Type, got, c.want)
		}
		back, sealed, err := decodeEvent(got)
		if err != nil || back.Via != "" || back.Seq != c.ev.Seq || back.Type != c.ev.Type || !bytes.Equal(sealed, c.sealed) || back.Hash != c.ev.Hash {
			t.Fatalf("decoding the v2 bytes: %+v %v", back, err)
		}
	}
}

// An event with a Via is written in v3, which carries it inside the hashed
// body: it reads back, a changed byte of it is caught, and the same event
// without it is another encoding with another hash. A v3 body with an
// empty via is refused (the event would be v2).
func TestEventEncodingV3(t *testing.T) {
	ev := sampleEvent()
	ev.Scope.Sender, ev.Subject = "", testSubjectID
	plain := ev
	ev.Via = "15550001000"
	sealed := sealEvent(testSubjectKey, &ev)
	b := encodeEvent(&ev, sealed)
	if b[0] != eventEncV3 {
		t.Fatalf("an event with a via is version %d", b[0])
	}
	got, gotSealed, err := decodeEvent(b)
	if err != nil || got.Via != "15550001000" || got.Scope.Sender != "" || got.Hash != ev.Hash || got.Type != ev.Type || got.Actor != ev.Actor {
		t.Fatalf("round trip: %+v %v", got, err)
	}
	if err := openEvent(testSubjectKey, &got, gotSealed); err != nil || got.Scope.Number != ev.Scope.Number || got.MO.Text != "STOP" {
		t.Fatalf("opening: %+v %v", got, err)
	}
	if !bytes.Equal(encodeEvent(&got, gotSealed), b) {
		t.Fatal("a decoded v3 event re-encodes differently")
	}
	if encodeEvent(&plain, sealed); plain.Hash == ev.Hash {
		t.Fatal("the hash does not cover the via")
	}
	at := bytes.Index(b, []byte("15550001000"))
	for i := at - 1; i < at+len("15550001000"); i++ {
		c := bytes.Clone(b)
		c[i] ^= 0x01
		if _, _, err := decodeEvent(c); err == nil {
			t.Fatalf("byte %d of the via changed and the event still decodes cleanly", i)
		}
	}
	// v2's body made version 3 with a via put in, hashed as it stands: an
	// empty via is refused; a control, "X", decodes.
	v2 := encodeEvent(&plain, sealed)
	body := v2[:len(v2)-sha256.Size]
	at = 1 + uvarintLen(plain.Seq) + 32 + 1 + len(plain.Scope.Org) + 1 // version seq prevhash org sender("")
	forge := func(via string) error {
		f := append([]byte{eventEncV3}, body[1:at]...)
		f = append(append(f, byte(len(via))), via...)
		f = append(f, body[at:]...)
		sum := sha256.Sum256(f)
		got, _, err := decodeEvent(append(f, sum[:]...))
		if err == nil && got.Via != via {
			t.Fatalf("forged via %q reads %q", via, got.Via)
		}
		return err
	}
	if err := forge(""); err == nil {
		t.Fatal("a v3 event with an empty via decodes")
	}
	if err := forge("X"); err != nil {
		t.Fatalf("the control v3 event: %v", err)
	}
}
