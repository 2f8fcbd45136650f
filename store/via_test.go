package store

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// storedVersion is the encoding version of event seq as it is on disk.
func storedVersion(t *testing.T, s *Badger, seq uint64) byte {
	t.Helper()
	var v byte
	if err := s.cdb.View(func(txn *badger.Txn) error {
		item, err := txn.Get(eventKey(seq))
		if err != nil {
			return err
		}
		return item.Value(func(b []byte) error { v = b[0]; return nil })
	}); err != nil {
		t.Fatal(err)
	}
	return v
}

// An event's Via is written with it (body v3), read back by every reader
// of events (Event, Events, the view) and kept across a restart; events
// without one are written in v2 as before.
func TestViaRoundTrip(t *testing.T) {
	dir := t.TempDir()
	c := newClock()
	opts := Options{Dir: dir, Clock: c.Now}
	s := openT(t, opts)
	const a = "+15551230001"
	yes := change(OrgScope("acme", a), EventOptedIn, c.Now())
	yes.Via, yes.MO = "15550001000", &MO{Raw: []byte("YES"), Text: "YES"}
	in := mustApply(t, s, yes)
	alpha := change(OrgScope("acme", a), EventHelpSent, c.Now())
	alpha.Via = "AcmeBank"
	help := mustApply(t, s, alpha)
	imp := mustApply(t, s, change(OrgScope("acme", "+15551230002"), EventStateImported, c.Now()))
	scoped := mustApply(t, s, change(SenderScope("acme", "15550001000", a), EventOptedIn, c.Now()))
	if in.Event.Via != "15550001000" || help.Event.Via != "AcmeBank" || imp.Event.Via != "" || scoped.Event.Via != "" {
		t.Fatalf("applied vias %q %q %q %q", in.Event.Via, help.Event.Via, imp.Event.Via, scoped.Event.Via)
	}
	for seq, want := range map[uint64]byte{in.Event.Seq: eventEncV3, help.Event.Seq: eventEncV3, imp.Event.Seq: eventEncV2, scoped.Event.Seq: eventEncV2} {
		if got := storedVersion(t, s, seq); got != want {
			t.Errorf("event %d is stored in v%d, want v%d", seq, got, want)
		}
	}

	check := func() {
		t.Helper()
		ev, err := s.Event(ctx, in.Event.Seq)
		if err != nil || ev.Via != "15550001000" || ev.Scope != OrgScope("acme", a) || ev.MO == nil || ev.MO.Text != "YES" || ev.Hash != in.Event.Hash {
			t.Fatalf("event %d reads %+v, %v", in.Event.Seq, ev, err)
		}
		var vias []string
		if err := s.Events(ctx, EventFilter{Number: a}, func(ev Event) error { vias = append(vias, ev.Via); return nil }); err != nil {
			t.Fatal(err)
		}
		if strings.Join(vias, ",") != "15550001000,AcmeBank," {
			t.Fatalf("the handset's events have vias %q", vias)
		}
		b, _ := json.Marshal(ViewEvent(ev))
		if !strings.Contains(string(b), `"via":"15550001000"`) {
			t.Fatalf("the view: %s", b)
		}
		if b, _ := json.Marshal(ViewEvent(imp.Event)); strings.Contains(string(b), `"via"`) {
			t.Fatalf("an event without a via shows one: %s", b)
		}
		mustVerify(t, s)
		mustAgree(t, s)
	}
	check()
	s.Close()
	s = openT(t, opts)
	check()
}

// testdata/eventv2.tar.gz is a data directory written by the last build
// before event body v3 (its key file included): a consent request and a
// YES of one handset, a YES in a sender scope, a STOP, an import, a
// disclaimer, and an erased subject's opt-out, 8 events. This build opens
// it as it is (no migration), verifies its chain to the head it had, reads
// its events as they were, appends events with a Via after them (v3),
// and verifies the chain across the boundary, after a restart and after
// erasing a handset with events of both versions; the erasure leaves the
// Via (the organization's number) and nothing of the handset.
func TestEventV2Ledger(t *testing.T) {
	dir, oldSeq, oldHash := extractDir(t, "testdata/eventv2.tar.gz")
	c := &clock{t: time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)}
	opts := Options{Dir: dir, Clock: c.Now, uncompressed: true}
	s := openT(t, opts)
	rep := mustVerify(t, s)
	if rep.Events != oldSeq || hex.EncodeToString(rep.HeadHash[:]) != oldHash {
		t.Fatalf("the old chain verifies as %d events, head %x; it had %d, %s", rep.Events, rep.HeadHash, oldSeq, oldHash)
	}
	mustAgree(t, s)
	for seq := uint64(1); seq <= oldSeq; seq++ {
		if v := storedVersion(t, s, seq); v != eventEncV2 {
			t.Fatalf("old event %d is in v%d", seq, v)
		}
		ev, err := s.Event(ctx, seq)
		if err != nil || ev.Via != "" {
			t.Fatalf("old event %d reads %+v, %v", seq, ev, err)
		}
	}
	const a, b = "+15559100001", "+15559100006"
	yes, err := s.Event(ctx, 2)
	if err != nil || yes.Type != EventOptedIn || yes.Scope != OrgScope("acme", a) || yes.MO == nil || yes.MO.Text != "YES" ||
		yes.Note != "keyword YES (en)" || yes.Erased {
		t.Fatalf("old event 2 = %+v, %v", yes, err)
	}
	if ev, err := s.Event(ctx, 3); err != nil || ev.Scope != SenderScope("acme", "15550001000", "+15559100002") {
		t.Fatalf("old event 3 = %+v, %v", ev, err)
	}
	if ev, err := s.Event(ctx, oldSeq); err != nil || ev.Type != EventErased || ev.Scope.Number != "" {
		t.Fatalf("old event %d = %+v, %v", oldSeq, ev, err)
	}

	// New events: with a Via (v3), and without (v2 still), interleaved.
	const via = "15557770000"
	at := func() time.Time { c.Advance(time.Second); return c.Now() }
	stop := change(OrgScope("acme", a), EventOptedOut, at())
	stop.Via, stop.MO = via, &MO{Raw: []byte("STOP"), Text: "STOP"}
	first := mustApply(t, s, stop)
	req := change(OrgScope("acme", b), EventConsentRequested, at())
	req.Via, req.Method, req.Actor = via, MethodSystem, "system"
	mustApply(t, s, req)
	mustApply(t, s, change(OrgScope("globex", b), EventStateImported, at()))
	in := change(OrgScope("acme", b), EventOptedIn, at())
	in.Via = via
	last := mustApply(t, s, in)
	if first.Event.Seq != oldSeq+1 || hex.EncodeToString(first.Event.PrevHash[:]) != oldHash {
		t.Fatalf("the first new event is %d, linked to %x", first.Event.Seq, first.Event.PrevHash)
	}
	for seq, want := range map[uint64]byte{oldSeq + 1: eventEncV3, oldSeq + 2: eventEncV3, oldSeq + 3: eventEncV2, oldSeq + 4: eventEncV3} {
		if got := storedVersion(t, s, seq); got != want {
			t.Errorf("new event %d is in v%d, want v%d", seq, got, want)
		}
	}
	if rep := mustVerify(t, s); rep.Events != oldSeq+4 || rep.HeadHash != last.Event.Hash {
		t.Fatalf("after the new events: %+v", rep)
	}
	s.Close()
	s = openT(t, opts)
	if rep := mustVerify(t, s); rep.Events != oldSeq+4 {
		t.Fatalf("after a restart: %+v", rep)
	}
	mustAgree(t, s)

	// Erase a: its old v2 events and its new v3 one say nothing of it,
	// the v3 one keeps its Via, and everything verifies.
	er, err := s.EraseNumber(ctx, a, MethodAPI, "admin")
	if err != nil || er.Scopes != 1 || er.Suppressed != 1 {
		t.Fatalf("erasure = %+v, %v", er, err)
	}
	mustVerify(t, s)
	mustAgree(t, s)
	for _, seq := range []uint64{1, 2, first.Event.Seq} {
		ev, err := s.Event(ctx, seq)
		if err != nil || !ev.Erased || ev.Scope.Number != "" || ev.MO != nil || ev.Note != "" {
			t.Fatalf("erased event %d reads %+v, %v", seq, ev, err)
		}
		if seq == first.Event.Seq && ev.Via != via {
			t.Fatalf("the erased v3 event lost its via: %+v", ev)
		}
	}
	if ev, err := s.Event(ctx, last.Event.Seq); err != nil || ev.Erased || ev.Scope.Number != b || ev.Via != via {
		t.Fatalf("the other handset's event = %+v, %v", ev, err)
	}
	s.Close()
	// Compression is off: the via is in the files (the scan's control),
	// the erased handset's number is in none.
	if len(scanDir(t, dir, via)) == 0 {
		t.Fatal("the control string is not in the files: the scan sees nothing")
	}
	if f := scanDir(t, dir, strings.TrimPrefix(a, "+")); len(f) > 0 {
		t.Errorf("the erased number is still in %v", f)
	}

	// The hash covers the via: another via in a stored v3 event, its
	// stored hash kept, is named by Verify; so is one rewritten with a
	// hash of its own, by the event after it.
	seq := oldSeq + 2
	var saved []byte
	rawUpdate(t, dir, func(txn *badger.Txn) error {
		item, err := txn.Get(eventKey(seq))
		if err != nil {
			return err
		}
		saved, _ = item.ValueCopy(nil)
		return txn.Set(eventKey(seq), []byte(strings.Replace(string(saved), via, "15557770001", 1)))
	})
	s = openT(t, opts)
	var ce *ChainError
	if _, err := s.Verify(ctx); !errors.As(err, &ce) || ce.Seq != seq {
		t.Fatalf("an edited via: %v", err)
	}
	s.Close()
	rawUpdate(t, dir, func(txn *badger.Txn) error {
		ev, sealed, err := decodeEvent(saved)
		if err != nil {
			return err
		}
		ev.Via = "15557770001"
		return txn.Set(eventKey(seq), encodeEvent(&ev, sealed))
	})
	s = openT(t, opts)
	if _, err := s.Verify(ctx); !errors.As(err, &ce) || ce.Seq != seq+1 {
		t.Fatalf("a via rewritten with its hash: %v", err)
	}
}
