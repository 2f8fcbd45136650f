package store

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

func heldMsg(id string, sc Scope, i int) HeldMessage {
	return HeldMessage{ID: id, Scope: sc, SystemID: "esme1", PDU: pdu(i), ReceiptRequested: i%2 == 0}
}

func mustHold(t testing.TB, s Store, m HeldMessage) HeldMessage {
	t.Helper()
	h, err := s.Hold(ctx, m)
	if err != nil {
		t.Fatalf("Hold(%s): %v", m.ID, err)
	}
	return h
}

func ids(ms []HeldMessage) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.ID)
	}
	return out
}

func TestHoldAndReleaseInOneChange(t *testing.T) {
	backends(t, func(t *testing.T, s *Badger, c *clock) {
		sc := OrgScope("acme", "+15551230001")
		mustApply(t, s, change(sc, EventConsentRequested, c.Now()))
		var want [][]byte
		for i := 0; i < 5; i++ {
			m := heldMsg(fmt.Sprintf("og-%d", i), sc, i)
			want = append(want, bytes.Clone(m.PDU))
			h := mustHold(t, s, m)
			m.PDU[20] ^= 0xff // the store must have its own copy
			if !h.HeldAt.Equal(c.Now()) || !h.ExpiresAt.Equal(c.Now().Add(defaultHoldTTL)) {
				t.Fatalf("times: %+v", h)
			}
			c.Advance(time.Second)
		}
		other := OrgScope("acme", "+15551230002")
		mustHold(t, s, heldMsg("og-other", other, 9))

		held, err := s.Held(ctx, sc)
		if err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprint(ids(held)); got != "[og-0 og-1 og-2 og-3 og-4]" {
			t.Fatalf("Held = %s", got)
		}

		ch := change(sc, EventOptedIn, c.Now())
		ch.Holds = ReleaseHeld
		a := mustApply(t, s, ch)
		if got := fmt.Sprint(ids(a.Released)); got != "[og-0 og-1 og-2 og-3 og-4]" {
			t.Fatalf("Released = %s", got)
		}
		for i, m := range a.Released {
			if !bytes.Equal(m.PDU, want[i]) || m.Disposition != DispositionReleased || m.SystemID != "esme1" ||
				m.ReceiptRequested != (i%2 == 0) || m.Scope != sc {
				t.Errorf("released[%d] = %+v", i, m)
			}
		}
		if held, _ := s.Held(ctx, sc); len(held) != 0 {
			t.Errorf("queue not empty after release: %v", ids(held))
		}
		if held, _ := s.Held(ctx, other); len(held) != 1 {
			t.Errorf("release touched another scope: %v", ids(held))
		}
		box, err := s.Outbox(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(box) != 5 || box[0].Disposition != DispositionReleased {
			t.Fatalf("outbox = %+v", box)
		}
		st, _ := s.Stats(ctx)
		if st.Held != 1 || st.Outbox != 5 {
			t.Errorf("stats held=%d outbox=%d", st.Held, st.Outbox)
		}
		n, err := s.Ack(ctx, "og-0", "og-1", "og-2", "og-3", "og-4", "og-other", "nope")
		if err != nil || n != 5 {
			t.Fatalf("Ack = %d, %v (queued and unknown ids must be skipped)", n, err)
		}
		if _, err := s.GetHeld(ctx, "og-0"); !errors.Is(err, ErrNotFound) {
			t.Errorf("acked message still there: %v", err)
		}
		if m, err := s.GetHeld(ctx, "og-other"); err != nil || m.Disposition != DispositionHeld {
			t.Errorf("queued message hurt by Ack: %+v %v", m, err)
		}
	})
}

func TestHoldRefusedWhenConsentSettled(t *testing.T) {
	s, c := memStore(t)
	in, out := OrgScope("acme", "+15551230001"), OrgScope("acme", "+15551230002")
	mustApply(t, s, change(in, EventOptedIn, c.Now()))
	mustApply(t, s, change(out, EventOptedOut, c.Now()))
	for _, sc := range []Scope{in, out} {
		_, err := s.Hold(ctx, heldMsg("x", sc, 1))
		var sce *StateChangedError
		if !errors.Is(err, ErrStateChanged) || !errors.As(err, &sce) || sce.State != s.State(sc) {
			t.Errorf("Hold on %s scope: %v", s.State(sc), err)
		}
	}
	// unknown and pending are holdable
	mustHold(t, s, heldMsg("a", OrgScope("acme", "+15551230003"), 1))
	mustApply(t, s, change(OrgScope("acme", "+15551230004"), EventConsentRequested, c.Now()))
	mustHold(t, s, heldMsg("b", OrgScope("acme", "+15551230004"), 1))
	// A part of an unfinished MO is held in an opted-out scope, and the
	// next consent change takes it with the rest: an opt-in releases it.
	part := heldMsg("part", out, 1)
	part.Part = true
	mustHold(t, s, part)
	if _, err := s.Hold(ctx, heldMsg("whole", out, 2)); !errors.Is(err, ErrStateChanged) {
		t.Errorf("Hold of a whole message in an opted-out scope: %v", err)
	}
	in2 := change(out, EventOptedIn, c.Now())
	in2.Holds = ReleaseHeld
	a := mustApply(t, s, in2)
	if len(a.Released) != 1 || a.Released[0].ID != "part" {
		t.Errorf("opt-in released %+v, want the held part", a.Released)
	}
}

func TestHoldBoundAndDuplicates(t *testing.T) {
	c := newClock()
	s := openT(t, Options{InMemory: true, Clock: c.Now, HoldMaxPerScope: 3})
	sc := OrgScope("acme", "+15551230001")
	for i := 0; i < 3; i++ {
		mustHold(t, s, heldMsg(fmt.Sprint("m", i), sc, i))
	}
	if _, err := s.Hold(ctx, heldMsg("m3", sc, 3)); !errors.Is(err, ErrHoldQueueFull) {
		t.Fatalf("4th hold: %v", err)
	}
	if _, err := s.Hold(ctx, heldMsg("m0", OrgScope("acme", "+15551230002"), 0)); !errors.Is(err, ErrDuplicateID) {
		t.Fatalf("duplicate id: %v", err)
	}
	mustHold(t, s, heldMsg("n0", OrgScope("acme", "+15551230002"), 0))
	for _, bad := range []HeldMessage{
		{ID: "", Scope: sc, PDU: pdu(1)},
		{ID: "z", Scope: OrgScope("acme", "555"), PDU: pdu(1)},
		{ID: "z", Scope: sc, PDU: []byte{1, 2}},
	} {
		if _, err := s.Hold(ctx, bad); err == nil {
			t.Errorf("Hold(%+v) accepted", bad)
		}
	}
	// Removing one makes room; the queue keeps its order.
	removed, err := s.RemoveHeld(ctx, "m1", "unknown")
	if err != nil || fmt.Sprint(ids(removed)) != "[m1]" {
		t.Fatalf("RemoveHeld = %v, %v", ids(removed), err)
	}
	mustHold(t, s, heldMsg("m3", sc, 3))
	held, _ := s.Held(ctx, sc)
	if fmt.Sprint(ids(held)) != "[m0 m2 m3]" {
		t.Fatalf("Held = %v", ids(held))
	}
	// Dropping on opt-out empties it; a reset scope can hold again.
	ch := change(sc, EventOptedOut, c.Now())
	ch.Holds = DropHeld
	a := mustApply(t, s, ch)
	if fmt.Sprint(ids(a.Dropped)) != "[m0 m2 m3]" || a.Dropped[0].Disposition != DispositionDropped {
		t.Fatalf("Dropped = %+v", a.Dropped)
	}
	reset := change(sc, EventReset, c.Now())
	reset.Method, reset.Actor = MethodAPI, "ops"
	mustApply(t, s, reset)
	for i := 4; i < 7; i++ {
		mustHold(t, s, heldMsg(fmt.Sprint("m", i), sc, i))
	}
	if _, err := s.Hold(ctx, heldMsg("m7", sc, 7)); !errors.Is(err, ErrHoldQueueFull) {
		t.Fatalf("bound after drop: %v", err)
	}
	if removed, _ := s.RemoveHeld(ctx, "m0"); len(removed) != 0 {
		t.Error("RemoveHeld removed an outbox message")
	}
}

func TestExpiry(t *testing.T) {
	backends(t, func(t *testing.T, s *Badger, c *clock) {
		sc := OrgScope("acme", "+15551230001")
		base := c.Now()
		for i, d := range []time.Duration{3 * time.Hour, time.Hour, 2 * time.Hour} {
			m := heldMsg(fmt.Sprint("e", i), sc, i)
			m.ExpiresAt = base.Add(d)
			mustHold(t, s, m)
		}
		mustHold(t, s, heldMsg("default", sc, 9)) // expires after HoldTTL (72h)

		exp, err := s.Expired(ctx, base.Add(2*time.Hour), 0)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(ids(exp)) != "[e1 e2]" {
			t.Fatalf("Expired = %v", ids(exp))
		}
		if exp, _ := s.Expired(ctx, base.Add(2*time.Hour), 1); len(exp) != 1 {
			t.Fatalf("limit ignored: %v", ids(exp))
		}
		// Peeking changed nothing.
		if held, _ := s.Held(ctx, sc); len(held) != 4 {
			t.Fatalf("Expired modified the queue: %v", ids(held))
		}
		c.Advance(time.Minute)
		got, err := s.ExpireHeld(ctx, base.Add(2*time.Hour), 0)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(ids(got)) != "[e1 e2]" || got[0].Disposition != DispositionExpired || !got[0].SettledAt.Equal(c.Now()) {
			t.Fatalf("ExpireHeld = %+v", got)
		}
		if held, _ := s.Held(ctx, sc); fmt.Sprint(ids(held)) != "[e0 default]" {
			t.Fatalf("after expiry Held = %v", ids(held))
		}
		if again, _ := s.ExpireHeld(ctx, base.Add(2*time.Hour), 0); len(again) != 0 {
			t.Fatalf("expired twice: %v", ids(again))
		}
		box, _ := s.Outbox(ctx, 0)
		if fmt.Sprint(ids(box)) != "[e1 e2]" {
			t.Fatalf("outbox = %v", ids(box))
		}
		if all, _ := s.Expired(ctx, base.Add(100*time.Hour), 0); fmt.Sprint(ids(all)) != "[e0 default]" {
			t.Fatalf("Expired(+100h) = %v", ids(all))
		}
	})
}

func TestHoldSurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	c := newClock()
	s, err := OpenBadger(Options{Dir: dir, Clock: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	sc := OrgScope("acme", "+15551230001")
	mustHold(t, s, heldMsg("a", sc, 1))
	mustHold(t, s, heldMsg("b", sc, 2))
	ch := change(OrgScope("acme", "+15551230009"), EventConsentRequested, c.Now())
	mustApply(t, s, ch)
	mustHold(t, s, heldMsg("c", ch.Scope, 3))
	ch.Type, ch.Holds = EventOptedIn, ReleaseHeld
	mustApply(t, s, ch)
	s.Close()

	s = openT(t, Options{Dir: dir, Clock: c.Now})
	held, _ := s.Held(ctx, sc)
	if fmt.Sprint(ids(held)) != "[a b]" || !bytes.Equal(held[1].PDU, pdu(2)) {
		t.Fatalf("after reopen Held = %v", ids(held))
	}
	box, _ := s.Outbox(ctx, 0)
	if fmt.Sprint(ids(box)) != "[c]" {
		t.Fatalf("after reopen outbox = %v", ids(box))
	}
}

// TestConcurrentHoldsRespectBound: many writers on one scope never exceed
// the bound and never lose an acknowledged hold.
func TestConcurrentHoldsRespectBound(t *testing.T) {
	c := newClock()
	s := openT(t, Options{Dir: t.TempDir(), Clock: c.Now, HoldMaxPerScope: 50})
	sc := OrgScope("acme", "+15551230001")
	var mu sync.Mutex
	var ok []string
	full := 0
	var wg sync.WaitGroup
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 5; i++ {
				id := fmt.Sprintf("g%d-%d", g, i)
				_, err := s.Hold(ctx, heldMsg(id, sc, i))
				mu.Lock()
				switch {
				case err == nil:
					ok = append(ok, id)
				case errors.Is(err, ErrHoldQueueFull):
					full++
				default:
					t.Errorf("Hold: %v", err)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(ok) != 50 || full != 30 {
		t.Fatalf("held %d, full %d; want 50, 30", len(ok), full)
	}
	held, _ := s.Held(ctx, sc)
	if len(held) != 50 {
		t.Fatalf("queue has %d", len(held))
	}
}

// TestHoldRacingRelease: holds racing an opt-in either end up released by
// it or are refused with ErrStateChanged; none stays stuck in the queue.
func TestHoldRacingRelease(t *testing.T) {
	for round := 0; round < 5; round++ {
		s, c := memStore(t)
		sc := OrgScope("acme", "+15551230001")
		mustApply(t, s, change(sc, EventConsentRequested, c.Now()))
		var mu sync.Mutex
		accepted := map[string]bool{}
		var wg sync.WaitGroup
		for g := 0; g < 8; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < 10; i++ {
					id := fmt.Sprintf("r%d-g%d-%d", round, g, i)
					_, err := s.Hold(ctx, heldMsg(id, sc, i))
					if err == nil {
						mu.Lock()
						accepted[id] = true
						mu.Unlock()
					} else if !errors.Is(err, ErrStateChanged) {
						t.Errorf("Hold: %v", err)
					}
				}
			}()
		}
		ch := change(sc, EventOptedIn, c.Now())
		ch.Holds = ReleaseHeld
		a := mustApply(t, s, ch)
		wg.Wait()
		if held, _ := s.Held(ctx, sc); len(held) != 0 {
			t.Fatalf("held messages stuck after opt-in: %v", ids(held))
		}
		if len(a.Released) != len(accepted) {
			t.Fatalf("released %d, accepted %d", len(a.Released), len(accepted))
		}
		for _, m := range a.Released {
			if !accepted[m.ID] {
				t.Fatalf("released %s that was never acknowledged", m.ID)
			}
		}
	}
}
