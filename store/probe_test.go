package store

import (
	"testing"
)

// TestProbe checks the MT path's two-step lookup against StateRef: the
// same answers, a change made between the two steps seen by the second, a
// table grown in between refused (the caller then asks StateRef), and no
// allocation.
func TestProbe(t *testing.T) {
	s, c := memStore(t)
	var p Probe
	none := s.ResolveOrg("acme")
	if _, ok := s.FastTable(&none); ok {
		t.Fatal("a fast table before any record of the organization")
	}
	if s.StartFast(FastTable{}, 15551230007, &p) {
		t.Fatal("StartFast with the zero FastTable started")
	}

	// Enough handsets that lookups probe past their home entry.
	const n = 2000
	changes := make([]Change, 0, n)
	for i := 0; i < n; i++ {
		typ := EventOptedOut
		if i%2 == 0 {
			typ = EventStateImported
		}
		changes = append(changes, change(OrgScope("acme", num(i)), typ, c.Now()))
	}
	if _, err := s.Import(ctx, changes); err != nil {
		t.Fatal(err)
	}
	r := s.ResolveOrg("acme")
	h, ok := s.FastTable(&r)
	if !ok {
		t.Fatal("no fast table after the organization's records")
	}
	for i := 0; i < n+100; i++ { // the last 100 have no record
		number := 15550000000 + uint64(i)
		wantSt, wantKnown := s.StateRef(&r, number)
		if !s.StartFast(h, number, &p) {
			t.Fatalf("StartFast(%d) did not start", number)
		}
		st, known, ok := p.Finish()
		if !ok || st != wantSt || known != wantKnown {
			t.Fatalf("probe of %d = %v, %v, %v; StateRef says %v, %v", number, st, known, ok, wantSt, wantKnown)
		}
	}

	// An opt-in applied between the two steps is what the second reads.
	number := uint64(15550000001) // opted out above
	if !s.StartFast(h, number, &p) {
		t.Fatal("StartFast did not start")
	}
	mustApply(t, s, change(OrgScope("acme", num(1)), EventOptedIn, c.Now()))
	if st, known, ok := p.Finish(); !ok || !known || st != StateOptedIn {
		t.Fatalf("probe across an opt-in = %v, %v, %v; want opted_in", st, known, ok)
	}

	// A table grown between the two steps: the entries moved, so the
	// second step refuses rather than read the old table.
	if !s.StartFast(h, number, &p) {
		t.Fatal("StartFast did not start")
	}
	grow := make([]Change, 0, 4*n)
	for i := n; i < 5*n; i++ {
		grow = append(grow, change(OrgScope("acme", num(i)), EventOptedOut, c.Now()))
	}
	if _, err := s.Import(ctx, grow); err != nil {
		t.Fatal(err)
	}
	if _, _, ok := p.Finish(); ok {
		t.Fatal("a probe across a grown table answered")
	}
	if st, ok := s.StateRef(&r, number); !ok || st != StateOptedIn {
		t.Fatalf("StateRef after the growth = %v, %v", st, ok)
	}

	if a := testing.AllocsPerRun(100, func() {
		s.StartFast(h, number, &p)
		p.Finish()
	}); a != 0 {
		t.Fatalf("a probe allocates %v times", a)
	}
}
