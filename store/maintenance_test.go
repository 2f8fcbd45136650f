package store

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dgraph-io/badger/v4"
)

// rawUpdate opens the consent database directly through badger, bypassing
// the store API, and runs fn in a read-write transaction.
func rawUpdate(t *testing.T, dir string, fn func(txn *badger.Txn) error) {
	t.Helper()
	db, err := badger.Open(badger.DefaultOptions(filepath.Join(dir, consentSubdir)).WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(fn); err != nil {
		t.Fatal(err)
	}
}

func seedLedger(t *testing.T, dir string, n int) {
	t.Helper()
	c := newClock()
	s, err := OpenBadger(Options{Dir: dir, Clock: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := 0; i < n; i++ {
		ch := change(OrgScope("acme", num(i%4)), []EventType{EventConsentRequested, EventOptedIn, EventOptedOut}[i%3], c.Now())
		ch.Note = fmt.Sprintf("event number %d", i+1)
		ch.MO = &MO{Raw: []byte("STOP"), Text: "STOP"}
		mustApply(t, s, ch)
	}
}

func TestTamperedEventIsNamed(t *testing.T) {
	dir := t.TempDir()
	seedLedger(t, dir, 10)
	var size int
	rawUpdate(t, dir, func(txn *badger.Txn) error {
		item, err := txn.Get(eventKey(5))
		if err != nil {
			return err
		}
		size = int(item.ValueSize())
		return nil
	})
	// Version byte, seq, inside the previous hash, the organization, the
	// note, and the stored hash itself.
	for _, off := range []int{0, 1, 5, 36, size - 40, size - 1} {
		t.Run(fmt.Sprint("offset", off), func(t *testing.T) {
			flip := func() {
				rawUpdate(t, dir, func(txn *badger.Txn) error {
					item, err := txn.Get(eventKey(5))
					if err != nil {
						return err
					}
					v, err := item.ValueCopy(nil)
					if err != nil {
						return err
					}
					v[off] ^= 0x01
					return txn.Set(eventKey(5), v)
				})
			}
			flip()
			s := openT(t, Options{Dir: dir})
			_, err := s.Verify(ctx)
			var ce *ChainError
			if !errors.As(err, &ce) || ce.Seq != 5 || !errors.Is(err, ErrBrokenChain) {
				t.Fatalf("Verify = %v; want a ChainError naming event 5", err)
			}
			if !strings.Contains(err.Error(), "event 5") {
				t.Errorf("message does not name the event: %v", err)
			}
			if _, err := s.Event(ctx, 5); !errors.As(err, &ce) || ce.Seq != 5 {
				t.Errorf("Event(5) on a tampered event: %v", err)
			}
			s.Close()
			flip() // restore for the next offset
			s = openT(t, Options{Dir: dir})
			mustVerify(t, s)
			s.Close()
		})
	}
}

func TestVerifyFindsMissingAndRelinkedEvents(t *testing.T) {
	dir := t.TempDir()
	seedLedger(t, dir, 8)

	// Delete event 3: the gap is named.
	var saved []byte
	rawUpdate(t, dir, func(txn *badger.Txn) error {
		item, _ := txn.Get(eventKey(3))
		saved, _ = item.ValueCopy(nil)
		return txn.Delete(eventKey(3))
	})
	s := openT(t, Options{Dir: dir})
	var ce *ChainError
	if _, err := s.Verify(ctx); !errors.As(err, &ce) || ce.Seq != 3 {
		t.Fatalf("deleted event: %v", err)
	}
	s.Close()

	// Replace event 3 by a well-formed event with a correct hash of its own
	// but edited contents: event 4 no longer links to it.
	rawUpdate(t, dir, func(txn *badger.Txn) error {
		ev, sealed, err := decodeEvent(saved)
		if err != nil {
			return err
		}
		ev.Actor = "rewritten"
		return txn.Set(eventKey(3), encodeEvent(&ev, sealed))
	})
	s = openT(t, Options{Dir: dir})
	if _, err := s.Verify(ctx); !errors.As(err, &ce) || ce.Seq != 4 {
		t.Fatalf("rewritten event: %v", err)
	}
	s.Close()

	// Truncating the tail is caught by the chain head.
	rawUpdate(t, dir, func(txn *badger.Txn) error {
		if err := txn.Set(eventKey(3), saved); err != nil {
			return err
		}
		return txn.Delete(eventKey(8))
	})
	s = openT(t, Options{Dir: dir})
	if _, err := s.Verify(ctx); !errors.As(err, &ce) || ce.Seq != 8 {
		t.Fatalf("truncated tail: %v", err)
	}
}

func TestRebuildRepairsIndex(t *testing.T) {
	dir := t.TempDir()
	seedLedger(t, dir, 12) // scopes num(0..3)
	rawUpdate(t, dir, func(txn *badger.Txn) error {
		// num(0): wrong state; num(1): record lost; num(9): record the ledger never saw.
		sk0 := dirScopeKey(t, dir, OrgScope("acme", num(0)))
		item, err := txn.Get(consentKey(sk0))
		if err != nil {
			return err
		}
		v, _ := item.ValueCopy(nil)
		c, _ := decodeConsent(Scope{}, v)
		c.State = StateOptedIn
		if c.State == StateOptedIn {
			c.State = StatePending
		}
		if err := txn.Set(consentKey(sk0), encodeConsent(&c)); err != nil {
			return err
		}
		if err := txn.Delete(consentKey(dirScopeKey(t, dir, OrgScope("acme", num(1))))); err != nil {
			return err
		}
		extra := Consent{State: StateOptedIn}
		return txn.Set(consentKey(dirScopeKey(t, dir, OrgScope("acme", num(9)))), encodeConsent(&extra))
	})
	s := openT(t, Options{Dir: dir})
	rep, err := s.CheckIndex(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Agrees() || rep.Mismatched != 1 || rep.Missing != 1 || rep.Extra != 1 || rep.Events != 12 || rep.Scopes != 4 {
		t.Fatalf("CheckIndex = %+v", rep)
	}
	if rep.Rewritten || s.State(OrgScope("acme", num(9))) != StateOptedIn {
		t.Fatal("CheckIndex changed something")
	}
	rep, err = s.Rebuild(ctx)
	if err != nil || !rep.Rewritten {
		t.Fatalf("Rebuild = %+v, %v", rep, err)
	}
	mustAgree(t, s)
	if s.State(OrgScope("acme", num(9))) != StateUnknown {
		t.Error("extra record survived the rebuild")
	}
	// seedLedger applies type e%3 to num(e%4); the ledger decides.
	for i := 0; i < 4; i++ {
		var last EventType
		for e := 0; e < 12; e++ {
			if e%4 == i {
				last = []EventType{EventConsentRequested, EventOptedIn, EventOptedOut}[e%3]
			}
		}
		if got, want := s.State(OrgScope("acme", num(i))), last.target(0, 0); got != want {
			t.Errorf("num(%d) = %s, want %s", i, got, want)
		}
	}
	// Still right after reopening (the rewrite was persisted).
	s.Close()
	s = openT(t, Options{Dir: dir})
	mustAgree(t, s)
}

func TestStatsAndReports(t *testing.T) {
	s, c := memStore(t)
	seedConsents(t, s, c.Now())
	mustHold(t, s, heldMsg("h1", OrgScope("acme", num(0)), 1))
	st, err := s.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Events != 30 || st.Consents != 30 || st.ByState[StatePending] != 10 || st.Held != 1 || st.FormatVersion != formatVersion {
		t.Fatalf("stats = %+v", st)
	}
	// Gauges agree with Stats on what they share, without the disk.
	if g := s.Gauges(); g.Consents != st.Consents || g.ByState != st.ByState || g.LogDropped != st.LogDropped {
		t.Fatalf("gauges = %+v, stats = %+v", g, st)
	}
	var buf bytes.Buffer
	st.WriteText(&buf)
	for _, want := range []string{"events", "30", "pending", "held", "opted_out"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("stats text lacks %q:\n%s", want, buf.String())
		}
	}
	vr := mustVerify(t, s)
	buf.Reset()
	vr.WriteText(&buf)
	if !strings.Contains(buf.String(), "30 events") {
		t.Errorf("verify text: %s", buf.String())
	}
	rr := mustAgree(t, s)
	buf.Reset()
	rr.WriteText(&buf)
	if !strings.Contains(buf.String(), "agree with the ledger") {
		t.Errorf("rebuild text: %s", buf.String())
	}
	rr.Missing, rr.Diffs = 1, []IndexDiff{{Scope: OrgScope("acme", "+15551234567"), Kind: "missing", Want: StateOptedOut}}
	buf.Reset()
	rr.WriteText(&buf)
	if !strings.Contains(buf.String(), "+1555***4567") || strings.Contains(buf.String(), "+15551234567") {
		t.Errorf("rebuild text must name the scope with a masked number: %s", buf.String())
	}
}

// TestDamagedHoldDoesNotBlockOptOut: a queue entry whose message is gone
// must not stop the scope from opting out.
func TestDamagedHoldDoesNotBlockOptOut(t *testing.T) {
	dir := t.TempDir()
	sc := OrgScope("acme", num(1))
	s := openT(t, Options{Dir: dir})
	mustHold(t, s, heldMsg("gone", sc, 1))
	mustHold(t, s, heldMsg("kept", sc, 2))
	s.Close()
	rawUpdate(t, dir, func(txn *badger.Txn) error { return txn.Delete(holdMsgKey("gone")) })
	s = openT(t, Options{Dir: dir})
	ch := change(sc, EventOptedOut, newClock().Now())
	ch.Holds = DropHeld
	a := mustApply(t, s, ch)
	if fmt.Sprint(ids(a.Dropped)) != "[kept]" || s.State(sc) != StateOptedOut {
		t.Fatalf("dropped %v, state %s", ids(a.Dropped), s.State(sc))
	}
	if held, _ := s.Held(ctx, sc); len(held) != 0 {
		t.Fatalf("queue not emptied: %v", ids(held))
	}
}
