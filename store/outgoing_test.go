package store

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"time"
)

// An outgoing message waits in the outbox, survives a reopen, is listed
// with the settled held messages and leaves with Ack.
func TestEnqueueOutgoing(t *testing.T) {
	dir := t.TempDir()
	c := newClock()
	s := openT(t, Options{Dir: dir, Clock: c.Now})
	sc := OrgScope("acme", num(1))
	exp := c.Now().Add(5 * time.Minute)
	m, err := s.Enqueue(ctx, HeldMessage{ID: "auto-1", Scope: sc, SystemID: "acme", PDU: pdu(1), ExpiresAt: exp})
	if err != nil {
		t.Fatal(err)
	}
	if m.Disposition != DispositionOutgoing || !m.ExpiresAt.Equal(exp) {
		t.Fatalf("Enqueue returned %+v", m)
	}
	if _, err := s.Enqueue(ctx, HeldMessage{ID: "auto-1", Scope: sc, PDU: pdu(2)}); !errors.Is(err, ErrDuplicateID) {
		t.Fatalf("second Enqueue with the same id: %v, want ErrDuplicateID", err)
	}
	// It takes no place in the scope's hold queue.
	if held, err := s.Held(ctx, sc); err != nil || len(held) != 0 {
		t.Fatalf("Held = %v, %v; want none", held, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openT(t, Options{Dir: dir, Clock: c.Now})
	out, err := s.Outbox(ctx, 0)
	if err != nil || len(out) != 1 {
		t.Fatalf("Outbox after reopen = %v, %v", out, err)
	}
	if got := out[0]; got.ID != "auto-1" || got.Disposition != DispositionOutgoing || !bytes.Equal(got.PDU, pdu(1)) || got.SystemID != "acme" {
		t.Fatalf("outbox entry = %+v", got)
	}
	if n, err := s.Ack(ctx, "auto-1"); n != 1 || err != nil {
		t.Fatalf("Ack = %d, %v", n, err)
	}
	if out, _ := s.Outbox(ctx, 0); len(out) != 0 {
		t.Fatalf("Outbox after Ack = %v", out)
	}
}

func TestLookupBytesAndIDMapBytes(t *testing.T) {
	s, c := memStore(t)
	sc := SenderScope("acme", "15550001111", num(7))
	mustApply(t, s, change(sc, EventDisclaimerSent, c.Now()))
	cur, ok := s.LookupBytes("acme", []byte("15550001111"), []byte(num(7)[1:]))
	if !ok || cur.State != StateUnknown || cur.Mode != ModeConsent {
		t.Fatalf("LookupBytes = %+v, %v; want a record in state unknown", cur, ok)
	}
	if _, ok := s.LookupBytes("acme", nil, []byte(num(7))); ok {
		t.Fatal("LookupBytes found an organization scope that has no record")
	}
	if err := s.MapMessageID(ctx, "og1", "ABC123"); err != nil {
		t.Fatal(err)
	}
	if id, ok := s.OptguardMessageIDBytes([]byte("ABC123")); !ok || id != "og1" {
		t.Fatalf("OptguardMessageIDBytes = %q, %v", id, ok)
	}
	smsc := []byte("ABC123")
	var found bool
	if n := testing.AllocsPerRun(100, func() { _, found = s.OptguardMessageIDBytes(smsc) }); n != 0 || !found {
		t.Fatalf("OptguardMessageIDBytes: %v allocs, found %v", n, found)
	}
	num7 := []byte(num(7))
	if n := testing.AllocsPerRun(100, func() { _, found = s.LookupBytes("acme", smsc[:0], num7) }); n != 0 {
		t.Fatalf("LookupBytes: %v allocs", n)
	}
}

// A review hold is allowed in an opted-in scope, survives a reopen with its
// flag, and goes with the scope's other holds; an ordinary hold there is
// refused.
func TestReviewHold(t *testing.T) {
	dir := t.TempDir()
	c := newClock()
	s := openT(t, Options{Dir: dir, Clock: c.Now})
	sc := OrgScope("acme", num(3))
	mustApply(t, s, change(sc, EventOptedIn, c.Now()))
	var changed *StateChangedError
	if _, err := s.Hold(ctx, HeldMessage{ID: "h1", Scope: sc, PDU: pdu(1)}); !errors.As(err, &changed) {
		t.Fatalf("ordinary hold in an opted-in scope: %v; want StateChangedError", err)
	}
	if _, err := s.Hold(ctx, HeldMessage{ID: "r1", Scope: sc, PDU: pdu(2), Review: true}); err != nil {
		t.Fatalf("review hold: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openT(t, Options{Dir: dir, Clock: c.Now})
	held, err := s.Held(ctx, sc)
	if err != nil || len(held) != 1 || !held[0].Review || held[0].ID != "r1" {
		t.Fatalf("Held after reopen = %+v, %v", held, err)
	}
	ch := change(sc, EventReviewDismissed, c.Now())
	ch.Holds = ReleaseHeld
	a := mustApply(t, s, ch)
	if len(a.Released) != 1 || !a.Released[0].Review || a.Consent.State != StateOptedIn {
		t.Fatalf("dismissing the review released %+v, state %v", a.Released, a.Consent.State)
	}
	optedOut := OrgScope("acme", num(4))
	mustApply(t, s, change(optedOut, EventOptedOut, c.Now()))
	if _, err := s.Hold(ctx, HeldMessage{ID: "r2", Scope: optedOut, PDU: pdu(3), Review: true}); !errors.As(err, &changed) {
		t.Fatalf("review hold in an opted-out scope: %v; want StateChangedError", err)
	}
}

func TestOutboxPages(t *testing.T) {
	s, c := memStore(t)
	var want []string
	for i := 0; i < 25; i++ {
		id := fmt.Sprintf("auto-%02d", i)
		want = append(want, id)
		if _, err := s.Enqueue(ctx, HeldMessage{ID: id, Scope: OrgScope("acme", num(i)), PDU: pdu(i), ExpiresAt: c.Now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	after := ""
	for {
		page, err := s.OutboxAfter(ctx, after, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		for _, m := range page {
			got = append(got, m.ID)
		}
		after = page[len(page)-1].ID
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("paged outbox = %v; want %v", got, want)
	}
}

func TestNoteMessageID(t *testing.T) {
	s, _ := memStore(t)
	s.NoteMessageID("og1", "smsc-9")
	if id, ok := s.OptguardMessageIDBytes([]byte("smsc-9")); !ok || id != "og1" {
		t.Fatalf("noted mapping not visible: %q %v", id, ok)
	}
	if _, err := s.SMSCMessageID(ctx, "og1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("NoteMessageID wrote to disk: %v", err)
	}
}

func TestStateHandset(t *testing.T) {
	s, c := memStore(t)
	mustApply(t, s, change(OrgScope("acme", "+15551230007"), EventOptedOut, c.Now()))
	if st, ok := s.StateHandset("acme", handsetNum(s, 15551230007)); !ok || st != StateOptedOut {
		t.Fatalf("StateHandset = %v, %v", st, ok)
	}
	if _, ok := s.StateHandset("acme", handsetNum(s, 15551230008)); ok {
		t.Fatal("StateHandset found a scope without a record")
	}
	if _, ok := s.StateHandset("other", handsetNum(s, 15551230007)); ok {
		t.Fatal("StateHandset found the scope under another organization")
	}
	digits := []byte("15551230007") // as a destination_addr carries them
	if n := testing.AllocsPerRun(100, func() { s.StateHandset("acme", s.Handset(digits)) }); n != 0 {
		t.Fatalf("Handset and StateHandset allocate %v times", n)
	}
	if s.Handset(nil) != (Handset{}) || !s.Handset(nil).IsZero() {
		t.Fatal("no digits do not give the zero Handset")
	}
	if _, ok := s.StateHandset("acme", Handset{}); ok {
		t.Fatal("the zero Handset has a record")
	}
}

func TestMapMessageIDs(t *testing.T) {
	s, _ := memStore(t)
	if err := s.MapMessageIDs(ctx, "og7", "1a2b", "6699"); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"1a2b", "6699"} {
		if got, ok := s.OptguardMessageIDBytes([]byte(id)); !ok || got != "og7" {
			t.Errorf("%s → %q, %v", id, got, ok)
		}
	}
	if got, err := s.SMSCMessageID(ctx, "og7"); err != nil || got != "6699" {
		t.Errorf("SMSCMessageID = %q, %v; want the last form", got, err)
	}
	if err := s.MapMessageIDs(ctx, "og8"); err == nil {
		t.Error("MapMessageIDs without an SMSC id succeeded")
	}
}

func TestStateRef(t *testing.T) {
	s, c := memStore(t)
	none := s.ResolveOrg("acme")
	if s.Resolved(none) {
		t.Fatal("an organization without records resolved")
	}
	if st, ok := s.StateRef(&none, handsetNum(s, 15551230007)); ok || st != StateUnknown {
		t.Fatalf("StateRef before any record = %v, %v", st, ok)
	}
	if !s.Unrecorded(none) {
		t.Fatal("an organization without records is not Unrecorded")
	}
	// Another name's first record: acme may have had one too, so the
	// reference no longer vouches; resolved again, it does.
	mustApply(t, s, change(OrgScope("globex", "+15551230007"), EventOptedOut, c.Now()))
	if s.Unrecorded(none) {
		t.Fatal("Unrecorded after another name's first record")
	}
	if none = s.ResolveOrg("acme"); s.Resolved(none) || !s.Unrecorded(none) {
		t.Fatal("acme, still without records, resolved again is not Unrecorded")
	}
	mustApply(t, s, change(OrgScope("acme", "+15551230007"), EventOptedOut, c.Now()))
	if s.Unrecorded(none) {
		t.Fatal("Unrecorded after the organization's first record")
	}
	r := s.ResolveOrg("acme")
	if !s.Resolved(r) || s.Unrecorded(r) {
		t.Fatal("ResolveOrg after a record did not resolve")
	}
	if st, ok := s.StateRef(&r, handsetNum(s, 15551230007)); !ok || st != StateOptedOut {
		t.Fatalf("StateRef = %v, %v", st, ok)
	}
	h := handsetNum(s, 15551230007)
	if n := testing.AllocsPerRun(100, func() { s.StateRef(&r, h) }); n != 0 {
		t.Fatalf("StateRef allocates %v times", n)
	}
	// A reference to an index that was replaced still answers, by name.
	stale := r
	stale.ix = newIndex(s.idx.Load().keys, 0)
	if s.Resolved(stale) {
		t.Fatal("a reference to another index resolved")
	}
	if st, ok := s.StateRef(&stale, handsetNum(s, 15551230007)); !ok || st != StateOptedOut {
		t.Fatalf("StateRef through a stale reference = %v, %v", st, ok)
	}
}
