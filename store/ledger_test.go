package store

import (
	"context"
	"errors"
	"maps"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestApplyAppendsChainedEvents(t *testing.T) {
	backends(t, func(t *testing.T, s *Badger, c *clock) {
		sc := OrgScope("acme", "+15551230001")
		at := c.Now().Add(-time.Second)

		a1 := mustApply(t, s, change(sc, EventConsentRequested, at))
		c.Advance(time.Minute)
		ch := change(sc, EventOptedIn, at.Add(time.Minute))
		ch.MO = &MO{Raw: []byte("YES"), DataCoding: 0, Text: "YES"}
		ch.Template, ch.TemplateVersion, ch.MessageID, ch.Note = "optin_confirm", 3, "og-1", "first contact"
		a2 := mustApply(t, s, ch)

		if a1.Event.Seq != 1 || a2.Event.Seq != 2 {
			t.Fatalf("seqs = %d, %d; want 1, 2", a1.Event.Seq, a2.Event.Seq)
		}
		if a1.Event.PrevHash != ([32]byte{}) || a2.Event.PrevHash != a1.Event.Hash {
			t.Fatal("events are not hash-chained")
		}
		if a1.Event.PrevState != StateUnknown || a1.Event.NewState != StatePending ||
			a2.Event.PrevState != StatePending || a2.Event.NewState != StateOptedIn {
			t.Fatalf("states: %s→%s, %s→%s", a1.Event.PrevState, a1.Event.NewState, a2.Event.PrevState, a2.Event.NewState)
		}
		if !a2.Event.RecordedAt.Equal(c.Now()) {
			t.Errorf("RecordedAt = %v, want the store clock %v", a2.Event.RecordedAt, c.Now())
		}
		got, err := s.Event(ctx, 2)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, a2.Event) {
			t.Errorf("stored event differs from returned one:\n got %+v\nwant %+v", got, a2.Event)
		}
		if got.MO == nil || string(got.MO.Raw) != "YES" || got.Note != "first contact" || got.TemplateVersion != 3 {
			t.Errorf("fields lost: %+v", got)
		}

		if st := s.State(sc); st != StateOptedIn {
			t.Errorf("State = %s, want opted_in", st)
		}
		if st := s.State(OrgScope("acme", "15551230001")); st != StateOptedIn {
			t.Errorf("State without '+' = %s, want opted_in", st)
		}
		if st := s.State(OrgScope("other", "+15551230001")); st != StateUnknown {
			t.Errorf("State of another org = %s, want unknown", st)
		}
		cur, ok := s.Lookup(sc)
		if !ok || cur.Mode != ModeConsent || !cur.UpdatedAt.Equal(at.Add(time.Minute)) {
			t.Errorf("Lookup = %+v, %v", cur, ok)
		}
		rec, err := s.Consent(ctx, sc)
		if err != nil {
			t.Fatal(err)
		}
		if rec.LastSeq != 2 || rec.LastEvent != EventOptedIn || !rec.CreatedAt.Equal(at) ||
			!rec.OptedInAt.Equal(at.Add(time.Minute)) || rec.OptedInMethod != MethodSMSKeyword {
			t.Errorf("consent record = %+v", rec)
		}
		if !reflect.DeepEqual(rec, a2.Consent) {
			t.Errorf("Applied.Consent = %+v, stored %+v", a2.Consent, rec)
		}
		if _, err := s.Consent(ctx, OrgScope("acme", "+15551230002")); !errors.Is(err, ErrNotFound) {
			t.Errorf("Consent of unknown scope: %v, want ErrNotFound", err)
		}
		mustVerify(t, s)
		mustAgree(t, s)
	})
}

func TestApplyKeepsStateForSentEventsAndTracksTransitions(t *testing.T) {
	s, c := memStore(t)
	sc := SenderScope("acme", "+15550000001", "+15551230001")
	at := c.Now()
	mustApply(t, s, change(sc, EventOptedIn, at))
	ch := change(sc, EventConfirmationSent, at.Add(time.Second))
	ch.Mode = ModeUnspecified
	ch.Method = MethodSystem
	ch.Actor = "system"
	a := mustApply(t, s, ch)
	if a.Event.NewState != StateOptedIn || a.Consent.Mode != ModeConsent {
		t.Fatalf("confirmation_sent changed state/mode: %+v", a.Consent)
	}
	if !a.Consent.OptedInAt.Equal(at) {
		t.Errorf("OptedInAt moved on a non-transition: %v", a.Consent.OptedInAt)
	}
	out := change(sc, EventOptedOut, at.Add(time.Hour))
	out.Method, out.Actor = MethodAgent, "agent-7"
	a = mustApply(t, s, out)
	if a.Consent.State != StateOptedOut || !a.Consent.OptedOutAt.Equal(at.Add(time.Hour)) || a.Consent.OptedOutMethod != MethodAgent {
		t.Errorf("after opt-out: %+v", a.Consent)
	}
	// A second STOP is recorded but is not a new transition.
	a = mustApply(t, s, change(sc, EventOptedOut, at.Add(2*time.Hour)))
	if !a.Consent.OptedOutAt.Equal(at.Add(time.Hour)) || a.Event.PrevState != StateOptedOut {
		t.Errorf("duplicate STOP: %+v / %+v", a.Consent, a.Event)
	}
	// Org scope and sender scope are different records.
	if s.State(OrgScope("acme", "+15551230001")) != StateUnknown {
		t.Error("sender-scope change leaked into the org scope")
	}
	mustAgree(t, s)
}

func TestApplyValidates(t *testing.T) {
	s, c := memStore(t)
	good := change(OrgScope("acme", "+15551230001"), EventOptedOut, c.Now())
	cases := []struct {
		name string
		edit func(*Change)
		want error
	}{
		{"number without plus", func(ch *Change) { ch.Scope.Number = "15551230001" }, ErrInvalidNumber},
		{"number with spaces", func(ch *Change) { ch.Scope.Number = "+1 555 123 0001" }, ErrInvalidNumber},
		{"number too short", func(ch *Change) { ch.Scope.Number = "+1555" }, ErrInvalidNumber},
		{"impossible number", func(ch *Change) { ch.Scope.Number = "+1555123000199" }, ErrInvalidNumber},
		{"no org", func(ch *Change) { ch.Scope.Org = "" }, ErrInvalid},
		{"control char in sender", func(ch *Change) { ch.Scope.Sender = "a\x00b" }, ErrInvalid},
		{"no type", func(ch *Change) { ch.Type = 0 }, ErrInvalid},
		{"state on non-import", func(ch *Change) { ch.State = StateOptedIn }, ErrInvalid},
		{"import without state", func(ch *Change) { ch.Type = EventStateImported }, ErrInvalid},
		{"no occurred-at", func(ch *Change) { ch.OccurredAt = time.Time{} }, ErrInvalid},
		{"no method", func(ch *Change) { ch.Method = 0 }, ErrInvalid},
		{"no actor", func(ch *Change) { ch.Actor = "" }, ErrInvalid},
		{"bad mode", func(ch *Change) { ch.Mode = 9 }, ErrInvalid},
		{"bad hold action", func(ch *Change) { ch.Holds = 7 }, ErrInvalid},
		{"control char in via", func(ch *Change) { ch.Via = "1555\n0001000" }, ErrInvalid},
		{"via too long", func(ch *Change) { ch.Via = strings.Repeat("5", maxSenderLen+1) }, ErrInvalid},
		{"via not UTF-8", func(ch *Change) { ch.Via = "\xff" }, ErrInvalid},
		{"via and a sender scope", func(ch *Change) { ch.Scope.Sender, ch.Via = "15550001000", "15550001000" }, ErrInvalid},
		{"via is the handset", func(ch *Change) { ch.Via = "15551230001" }, ErrInvalid},
		{"via is the handset with plus", func(ch *Change) { ch.Via = "+15551230001" }, ErrInvalid},
	}
	for _, tc := range cases {
		ch := good
		tc.edit(&ch)
		if _, err := s.Apply(ctx, ch); !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.want)
		}
	}
	if seq, _, _ := s.Head(ctx); seq != 0 {
		t.Fatalf("invalid changes appended %d events", seq)
	}
	mustApply(t, s, good)
	good.Via = "15550001000"
	if a := mustApply(t, s, good); a.Event.Via != "15550001000" {
		t.Fatalf("a valid via reads %q", a.Event.Via)
	}
}

func TestApplyGuardRefusesAtomically(t *testing.T) {
	s, c := memStore(t)
	sc := OrgScope("acme", "+15551230001")
	mustApply(t, s, change(sc, EventOptedOut, c.Now()))
	errHandsetOnly := errors.New("only the handset can lift its STOP")
	ch := change(sc, EventOptedIn, c.Now())
	ch.Method, ch.Actor = MethodAgent, "agent-1"
	var seen Consent
	ch.Guard = func(cur Consent) error {
		seen = cur
		if cur.State == StateOptedOut && cur.LastEvent == EventOptedOut {
			return errHandsetOnly
		}
		return nil
	}
	if _, err := s.Apply(ctx, ch); err != errHandsetOnly {
		t.Fatalf("err = %v, want the guard's error unchanged", err)
	}
	if seen.State != StateOptedOut || seen.LastSeq != 1 {
		t.Errorf("guard saw %+v", seen)
	}
	if seq, _, _ := s.Head(ctx); seq != 1 {
		t.Errorf("refused change appended: head %d", seq)
	}
	if s.State(sc) != StateOptedOut {
		t.Error("refused change changed the state")
	}
	mustVerify(t, s)
}

func TestImport(t *testing.T) {
	s, c := memStore(t)
	var changes []Change
	for i := 0; i < 2500; i++ {
		ch := change(OrgScope("acme", num(i)), EventStateImported, c.Now())
		if i%2 == 1 {
			ch.State = StateOptedOut
		}
		changes = append(changes, ch)
	}
	changes[7].Guard = func(Consent) error { return errors.New("skip") }
	rep, err := s.Import(ctx, changes)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Applied != 2499 || rep.Refused != 1 || rep.FirstSeq != 1 || rep.LastSeq != 2499 {
		t.Fatalf("report = %+v", rep)
	}
	if s.State(OrgScope("acme", num(1))) != StateOptedOut || s.State(OrgScope("acme", num(2))) != StateOptedIn ||
		s.State(OrgScope("acme", num(7))) != StateUnknown {
		t.Error("imported states wrong")
	}
	st, _ := s.Stats(ctx)
	if st.Consents != 2499 || st.ByState[StateOptedIn] != 1250 || st.ByState[StateOptedOut] != 1249 {
		t.Errorf("stats = %+v", st)
	}
	mustVerify(t, s)
	mustAgree(t, s)

	// One bad change rejects the whole import before anything is written.
	bad := []Change{change(OrgScope("acme", num(9000)), EventStateImported, c.Now()), {}}
	if _, err := s.Import(ctx, bad); !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrInvalidNumber) {
		t.Fatalf("bad import: %v", err)
	}
	if seq, _, _ := s.Head(ctx); seq != 2499 {
		t.Errorf("rejected import wrote events: head %d", seq)
	}
}

// An imported change carries out its Holds as Apply does, in the same
// transaction: an imported opt-in releases what the scope held, an
// imported opt-out drops it; both wait in the outbox and are counted.
func TestImportSettlesHeldMessages(t *testing.T) {
	s, c := memStore(t)
	in, out, other := OrgScope("acme", num(1)), OrgScope("acme", num(2)), OrgScope("acme", num(3))
	mustHold(t, s, heldMsg("in-1", in, 1))
	mustHold(t, s, heldMsg("in-2", in, 2))
	mustHold(t, s, heldMsg("out-1", out, 3))
	mustHold(t, s, heldMsg("other-1", other, 4))
	if n, err := s.HeldCount(ctx, in); n != 2 || err != nil {
		t.Fatalf("HeldCount before the import: %d, %v; want 2", n, err)
	}

	optIn := change(in, EventStateImported, c.Now())
	optIn.Holds = ReleaseHeld
	optOut := change(out, EventStateImported, c.Now())
	optOut.State, optOut.Holds = StateOptedOut, DropHeld
	rep, err := s.Import(ctx, []Change{optIn, optOut})
	if err != nil || rep.Applied != 2 || rep.Released != 2 || rep.Dropped != 1 {
		t.Fatalf("import: %+v, %v; want 2 applied, 2 released, 1 dropped", rep, err)
	}
	for _, sc := range []Scope{in, out} {
		h, err := s.Held(ctx, sc)
		n, nerr := s.HeldCount(ctx, sc)
		if err != nil || nerr != nil || len(h) != 0 || n != 0 {
			t.Errorf("%s still holds %d messages, counts %d (%v, %v)", sc, len(h), n, err, nerr)
		}
	}
	if n, err := s.HeldCount(ctx, other); err != nil || n != 1 {
		t.Errorf("a scope the import did not name lost its held message: %d (%v)", n, err)
	}
	box, err := s.Outbox(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Disposition{}
	for _, m := range box {
		got[m.ID] = m.Disposition
	}
	want := map[string]Disposition{"in-1": DispositionReleased, "in-2": DispositionReleased, "out-1": DispositionDropped}
	if !maps.Equal(got, want) {
		t.Fatalf("outbox %v; want %v", got, want)
	}
	mustVerify(t, s)
	mustAgree(t, s)
}

func TestReopenKeepsLedgerAndIndex(t *testing.T) {
	dir := t.TempDir()
	c := newClock()
	s, err := OpenBadger(Options{Dir: dir, Clock: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	sc := OrgScope("acme", "+447700900123")
	mustApply(t, s, change(sc, EventConsentRequested, c.Now()))
	a := mustApply(t, s, change(sc, EventOptedIn, c.Now()))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := s.Apply(ctx, change(sc, EventOptedOut, c.Now())); !errors.Is(err, ErrClosed) {
		t.Fatalf("Apply after Close: %v", err)
	}

	s = openT(t, Options{Dir: dir, Clock: c.Now})
	if s.State(sc) != StateOptedIn {
		t.Fatalf("state after reopen = %s", s.State(sc))
	}
	b := mustApply(t, s, change(sc, EventOptedOut, c.Now()))
	if b.Event.Seq != 3 || b.Event.PrevHash != a.Event.Hash {
		t.Fatalf("chain did not continue after reopen: %+v", b.Event)
	}
	mustVerify(t, s)
	mustAgree(t, s)
}

func TestApplyCancelledContext(t *testing.T) {
	s, c := memStore(t)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	// With the committer idle the send may still win the race; either
	// outcome must be consistent with the ledger.
	_, err := s.Apply(cctx, change(OrgScope("acme", num(1)), EventOptedOut, c.Now()))
	seq, _, _ := s.Head(ctx)
	if (err == nil) != (seq == 1) {
		t.Fatalf("err = %v but head = %d", err, seq)
	}
}

func TestEnumsRoundTrip(t *testing.T) {
	for s := State(0); s < numStates; s++ {
		if p, err := ParseState(s.String()); err != nil || p != s {
			t.Errorf("state %d: %v %v", s, p, err)
		}
	}
	for m := Mode(0); m < numModes; m++ {
		if p, err := ParseMode(m.String()); err != nil || p != m {
			t.Errorf("mode %d: %v %v", m, p, err)
		}
	}
	for e := EventType(1); e < numEventTypes; e++ {
		if p, err := ParseEventType(e.String()); err != nil || p != e {
			t.Errorf("event type %d: %v %v", e, p, err)
		}
	}
	for m := Method(1); m < numMethods; m++ {
		if p, err := ParseMethod(m.String()); err != nil || p != m {
			t.Errorf("method %d: %v %v", m, p, err)
		}
	}
	for m := MsgStatus(1); m < numMsgStatuses; m++ {
		if p, err := ParseMsgStatus(m.String()); err != nil || p != m {
			t.Errorf("status %d: %v %v", m, p, err)
		}
	}
	if _, err := ParseState("maybe"); !errors.Is(err, ErrInvalid) {
		t.Error("ParseState accepted junk")
	}
	// The on-disk values are a contract.
	if StateOptedOut != 3 || EventReset != 10 || MethodSystem != 6 || MsgFailed != 7 || ModeOff != 3 {
		t.Error("an on-disk enum value changed")
	}
}

func TestGuardPanicIsThatChangesError(t *testing.T) {
	s, c := memStore(t)
	ch := change(OrgScope("acme", num(1)), EventOptedOut, c.Now())
	ch.Guard = func(Consent) error { panic("bug") }
	if _, err := s.Apply(ctx, ch); err == nil || !strings.Contains(err.Error(), "panicked") {
		t.Fatalf("err = %v", err)
	}
	// The committer survived.
	mustApply(t, s, change(OrgScope("acme", num(1)), EventOptedOut, c.Now()))
}
