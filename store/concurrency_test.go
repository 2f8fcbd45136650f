package store

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

// TestConcurrentWriters: 16 goroutines change one shared scope and their
// own scopes at the same time (with holds being added and released on the
// shared scope). Afterwards the sequence numbers are exactly 1..N, the chain
// verifies, every event's previous state is the state the ledger left the
// scope in (no lost update), and the index agrees with the ledger.
func TestConcurrentWriters(t *testing.T) {
	for _, cfg := range []struct {
		name  string
		batch int
	}{{"group-commit", 0}, {"batch-1", 1}} {
		t.Run(cfg.name, func(t *testing.T) {
			c := newClock()
			s := openT(t, Options{Dir: t.TempDir(), Clock: c.Now, CommitBatch: cfg.batch})
			shared := OrgScope("acme", "+15551239999")
			const writers, perWriter = 16, 25
			types := []EventType{EventConsentRequested, EventOptedIn, EventOptedOut, EventHelpSent}
			var mu sync.Mutex
			var seqs []uint64
			perScope := map[Scope]int{}
			var wg sync.WaitGroup
			for g := 0; g < writers; g++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					own := OrgScope("acme", num(g))
					for i := 0; i < perWriter; i++ {
						sc := own
						if i%2 == 0 {
							sc = shared
						}
						ch := change(sc, types[(g+i)%len(types)], c.Now())
						if ch.Type == EventOptedIn {
							ch.Holds = ReleaseHeld
						}
						a, err := s.Apply(ctx, ch)
						if err != nil {
							t.Error(err)
							return
						}
						if sc == shared && i%3 == 0 {
							s.Hold(ctx, heldMsg(fmt.Sprintf("g%d-%d", g, i), sc, i)) // may be refused: state moves
						}
						mu.Lock()
						seqs = append(seqs, a.Event.Seq)
						perScope[sc]++
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
			if t.Failed() {
				return
			}
			slices.Sort(seqs)
			for i, seq := range seqs {
				if seq != uint64(i+1) {
					t.Fatalf("sequence numbers are not 1..%d: position %d holds %d", len(seqs), i, seq)
				}
			}
			if rep := mustVerify(t, s); rep.Events != writers*perWriter {
				t.Fatalf("ledger has %d events, want %d", rep.Events, writers*perWriter)
			}
			mustAgree(t, s)
			// Every acknowledged change to the shared scope is in the ledger.
			n := 0
			var last Event
			s.Events(ctx, EventFilter{Number: shared.Number}, func(ev Event) error { n++; last = ev; return nil })
			rec, _ := s.Consent(ctx, shared)
			if n != perScope[shared] || rec.LastSeq != last.Seq || rec.State != last.NewState || s.State(shared) != last.NewState {
				t.Fatalf("shared scope: %d events (want %d), record %+v, last event %d→%s", n, perScope[shared], rec, last.Seq, last.NewState)
			}
			// Nothing is left held in a scope that opted in.
			if s.State(shared) == StateOptedIn {
				if held, _ := s.Held(ctx, shared); len(held) != 0 {
					t.Fatalf("held messages left in an opted-in scope: %v", ids(held))
				}
			}
		})
	}
}

// TestGroupCommitBatches checks that concurrent changes share
// transactions. The committer reads the clock once per transaction, so with
// a clock that ticks on every reading the distinct recorded-at values count
// the transactions.
func TestGroupCommitBatches(t *testing.T) {
	var mu sync.Mutex
	tick := time.Now()
	ticking := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		tick = tick.Add(time.Microsecond)
		return tick
	}
	s := openT(t, Options{Dir: t.TempDir(), Clock: ticking})
	var wg sync.WaitGroup
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 10; i++ {
				mustApply(t, s, change(OrgScope("acme", num(g)), EventOptedIn, time.Now()))
			}
		}()
	}
	wg.Wait()
	txns := map[time.Time]bool{}
	s.Events(ctx, EventFilter{}, func(ev Event) error { txns[ev.RecordedAt] = true; return nil })
	t.Logf("160 changes from 16 writers committed in %d transactions", len(txns))
	if len(txns) >= 160 {
		t.Fatalf("no group commit: %d transactions for 160 concurrent changes", len(txns))
	}
}

// TestHoldRacesAnImportedOptIn: for numbers the store has never seen, a
// Hold and an import that opts the number in run at the same moment. The
// import skips looking for held messages of a number it makes the subject
// of, which is safe only because the two then conflict: whichever commits
// second sees the other. So each message is either refused by Hold (the
// number is opted in) or released by the import, never left held in an
// opted-in scope.
func TestHoldRacesAnImportedOptIn(t *testing.T) {
	c := newClock()
	s := openT(t, Options{Dir: t.TempDir(), Clock: c.Now})
	const numbers = 300
	refused, released := 0, 0
	for i := 0; i < numbers; i++ {
		sc := OrgScope("acme", num(7000+i))
		ch := change(sc, EventStateImported, c.Now())
		ch.Holds = ReleaseHeld
		var holdErr, importErr error
		var rep ImportReport
		var wg sync.WaitGroup
		wg.Add(2)
		go func() {
			defer wg.Done()
			_, holdErr = s.Hold(ctx, heldMsg(fmt.Sprintf("race-%d", i), sc, i))
		}()
		go func() {
			defer wg.Done()
			rep, importErr = s.Import(ctx, []Change{ch})
		}()
		wg.Wait()
		var changed *StateChangedError
		switch {
		case importErr != nil || rep.Applied != 1:
			t.Fatalf("number %d: import %+v, %v", i, rep, importErr)
		case errors.As(holdErr, &changed) && changed.State == StateOptedIn:
			refused++
		case holdErr != nil:
			t.Fatalf("number %d: hold: %v", i, holdErr)
		case rep.Released == 1:
			released++
		default:
			t.Fatalf("number %d: held, and the import released %d of it", i, rep.Released)
		}
		if n, err := s.HeldCount(ctx, sc); n != 0 || err != nil {
			t.Fatalf("number %d is opted in and still holds %d messages (%v)", i, n, err)
		}
	}
	t.Logf("%d holds refused after the import, %d released by it", refused, released)
	if refused+released != numbers {
		t.Fatalf("%d refused + %d released, want %d", refused, released, numbers)
	}
}
