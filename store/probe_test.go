package store

import (
	"testing"
)

// TestProbeUnrecorded: an organization without records has a handle whose
// probes answer "no record" without a table, until any name gets its first
// record: a probe started before that is refused at Finish, and the handle
// starts no more (the caller resolves the organization again).
func TestProbeUnrecorded(t *testing.T) {
	s, c := memStore(t)
	var p Probe
	none := s.ResolveOrg("acme")
	h, ok := s.FastTable(&none)
	if !ok {
		t.Fatal("no handle for an organization without records")
	}
	if !s.StartFast(h, digitsNum(15551230007), &p) {
		t.Fatal("StartFast of an organization without records did not start")
	}
	if st, known, ok := p.Finish(); !ok || known || st != StateUnknown {
		t.Fatalf("probe without records = %v, %v, %v; want unknown, no record", st, known, ok)
	}
	hs := digitsNum(15551230007)
	if a := testing.AllocsPerRun(100, func() {
		s.StartFast(h, hs, &p)
		p.Finish()
	}); a != 0 {
		t.Fatalf("a probe allocates %v times", a)
	}

	// Another organization's first record, between the two steps.
	if !s.StartFast(h, digitsNum(15551230007), &p) {
		t.Fatal("StartFast did not start")
	}
	mustApply(t, s, change(OrgScope("other", num(7)), EventOptedOut, c.Now()))
	if _, _, ok := p.Finish(); ok {
		t.Fatal("a probe across a first record answered")
	}
	if s.StartFast(h, digitsNum(15551230007), &p) {
		t.Fatal("a stale handle of an organization without records started")
	}
	if _, ok := s.FastTable(&none); ok {
		t.Fatal("a handle from a stale OrgRef")
	}

	// acme's own first record: its handle is a table now.
	mustApply(t, s, change(OrgScope("acme", num(7)), EventOptedOut, c.Now()))
	r := s.ResolveOrg("acme")
	if h, ok = s.FastTable(&r); !ok || !s.StartFast(h, digitsNum(15550000007), &p) {
		t.Fatal("no probe of acme after its first record")
	}
	if st, known, ok := p.Finish(); !ok || !known || st != StateOptedOut {
		t.Fatalf("probe of acme's opt-out = %v, %v, %v", st, known, ok)
	}
}

// TestProbe checks the MT path's two-step lookup against StateRef: the
// same answers, a change made between the two steps seen by the second, a
// table grown in between refused (the caller then asks StateRef), and no
// allocation.
func TestProbe(t *testing.T) {
	s, c := memStore(t)
	var p Probe
	if s.StartFast(FastTable{}, digitsNum(15551230007), &p) {
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
		number := digitsNum(15550000000 + uint64(i))
		wantSt, wantKnown := s.StateRef(&r, s.Handset(number))
		if !s.StartFast(h, number, &p) {
			t.Fatalf("StartFast(%d) did not start", 15550000000+i)
		}
		st, known, ok := p.Finish()
		if !ok || st != wantSt || known != wantKnown {
			t.Fatalf("probe of %d = %v, %v, %v; StateRef says %v, %v", 15550000000+i, st, known, ok, wantSt, wantKnown)
		}
	}

	// An opt-in applied between the two steps is what the second reads.
	number := digitsNum(15550000001) // opted out above
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
	if st, ok := s.StateRef(&r, s.Handset(number)); !ok || st != StateOptedIn {
		t.Fatalf("StateRef after the growth = %v, %v", st, ok)
	}

	if a := testing.AllocsPerRun(100, func() {
		s.StartFast(h, number, &p)
		p.Finish()
	}); a != 0 {
		t.Fatalf("a probe allocates %v times", a)
	}
}
