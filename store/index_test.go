package store

import (
	"fmt"
	"sync"
	"testing"
	"time"
	"unsafe"
)

func TestSymbolsPromoteAndStayConsistent(t *testing.T) {
	ix := newIndex(testKeys, 0)
	s := &ix.syms
	ids := map[string]uint32{}
	for i := 0; i < 100; i++ {
		name := fmt.Sprint("org-", i)
		ids[name] = s.intern(name)
		if again := s.intern(name); again != ids[name] {
			t.Fatalf("intern(%s) = %d then %d", name, ids[name], again)
		}
	}
	// Lookups of names still in dirty take the lock and, after enough of
	// them, publish a new read map; every id stays the same.
	for round := 0; round < 3; round++ {
		for name, id := range ids {
			if got, ok := s.lookup(name); !ok || got != id {
				t.Fatalf("lookup(%s) = %d, %v; want %d", name, got, ok, id)
			}
		}
	}
	if n := s.dirtyLen.Load(); n != 0 {
		t.Fatalf("%d names never promoted to the read map", n)
	}
	if _, ok := s.lookup("nobody"); ok {
		t.Fatal("unknown name found")
	}
	if id, ok := s.lookup(""); !ok || id != 0 {
		t.Fatal("empty name is not id 0")
	}
}

// TestIndexConcurrentReadWrite runs readers against a writer interning new
// organizations and senders (meaningful under -race).
func TestIndexConcurrentReadWrite(t *testing.T) {
	ix := newIndex(testKeys, 0)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for r := 0; r < 4; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				sc := SenderScope(fmt.Sprint("org-", i%20), fmt.Sprint("s", i%30), num(i%500))
				if v, ok := ix.get(sc); ok && v.state != StateOptedIn {
					t.Errorf("read %v for %v", v.state, sc)
					return
				}
			}
		}()
	}
	for i := 0; i < 5000; i++ {
		ix.setScope(SenderScope(fmt.Sprint("org-", i%20), fmt.Sprint("s", i%30), num(i%500)), idxVal{state: StateOptedIn, updated: int64(i)})
	}
	close(stop)
	wg.Wait()
	if ix.len() == 0 || ix.countByState()[StateOptedIn] != ix.len() {
		t.Fatalf("counts: len %d by state %v", ix.len(), ix.countByState())
	}
}

func TestIndexTableGrowsAndUpdates(t *testing.T) {
	ix := newIndex(testKeys, 0) // tiny tables: every shard grows many times
	const n = 50000
	for i := 0; i < n; i++ {
		ix.setScope(OrgScope("acme", num(i)), idxVal{state: StatePending, updated: int64(i) * int64(time.Second)})
	}
	for i := 0; i < n; i += 2 {
		ix.setScope(OrgScope("acme", num(i)), idxVal{state: StateOptedOut, mode: ModeDisclaimer, updated: 7e9})
	}
	if ix.len() != n {
		t.Fatalf("len = %d, want %d", ix.len(), n)
	}
	if c := ix.countByState(); c[StatePending] != n/2 || c[StateOptedOut] != n/2 {
		t.Fatalf("counts = %v", c)
	}
	for i := 0; i < n; i++ {
		v, ok := ix.get(OrgScope("acme", num(i)))
		want := idxVal{state: StatePending, updated: int64(i) * int64(time.Second)}
		if i%2 == 0 {
			want = idxVal{state: StateOptedOut, mode: ModeDisclaimer, updated: 7e9}
		}
		if !ok || v != want {
			t.Fatalf("get(%d) = %+v %v, want %+v", i, v, ok, want)
		}
	}
	if _, ok := ix.get(OrgScope("acme", num(n))); ok {
		t.Fatal("found a scope never set")
	}
	for sh := range ix.shards {
		if s := &ix.shards[sh]; s.used*maxLoadDen > int(s.n.Load())*maxLoadNum {
			t.Fatalf("shard %d is %d/%d full", sh, s.used, int(s.n.Load()))
		}
	}
}

func TestPackKeepsSecondsStateAndMode(t *testing.T) {
	for _, tm := range []time.Time{
		{}, time.Unix(1, 0), time.Date(1969, 7, 20, 20, 17, 40, 500, time.UTC),
		time.Date(2026, 11, 23, 15, 0, 0, 999999999, time.UTC), time.Date(2199, 12, 31, 0, 0, 0, 0, time.UTC),
	} {
		v := idxVal{updated: unixNanoOrZero(tm), state: StateOptedOut, mode: ModeOff}
		got := unpack(pack(v))
		if got.state != v.state || got.mode != v.mode || got.current().UpdatedAt.Unix() != tm.Unix() && !tm.IsZero() {
			t.Errorf("%v: %+v → %+v", tm, v, got)
		}
		if !got.same(v) {
			t.Errorf("%v: unpacked value not the same", tm)
		}
	}
}

// Readers take no lock: while one writer inserts (growing the tables, fast
// and wide) and rewrites entries, concurrent lookups find either no entry yet or one the
// writer wrote whole, never a torn or misplaced one.
func TestIndexLockFreeReads(t *testing.T) {
	ix := newIndex(testKeys, 0)
	const n = 20000
	scope := func(i int) Scope { return OrgScope("acme", num(i)) }
	want := func(i int, round int) idxVal {
		return idxVal{state: State((i + round) % 3), mode: ModeConsent, updated: int64(i) * int64(time.Second)}
	}
	acme := ix.syms.intern("acme")
	numberOf := func(i int) Handset { h, _ := handsetOfNumber(testKeys, num(i)); return h }
	done := make(chan struct{})
	var wg sync.WaitGroup
	for r := 0; r < 2; r++ {
		wg.Add(1)
		go func(r int) {
			defer wg.Done()
			for j := r; ; j = (j + 7919) % n {
				select {
				case <-done:
					return
				default:
				}
				if st, ok := ix.orgState(acme, numberOf(j)); ok && st != want(j, 0).state && st != want(j, 1).state && st != want(j, 2).state {
					t.Errorf("scope %d read from the fast table as %v", j, st)
					return
				}
				v, ok := ix.get(scope(j))
				if !ok {
					continue
				}
				if v.mode != ModeConsent || v.updated != int64(j)*int64(time.Second) {
					t.Errorf("scope %d read as %+v", j, v)
					return
				}
			}
		}(r)
	}
	for round := 0; round < 3; round++ {
		for i := 0; i < n; i++ {
			ix.setScope(scope(i), want(i, round))
		}
	}
	close(done)
	wg.Wait()
	for i := 0; i < n; i++ {
		if v, ok := ix.get(scope(i)); !ok || !v.same(want(i, 2)) {
			t.Fatalf("scope %d = %+v, %v after the writes", i, v, ok)
		}
		if st, ok := ix.orgState(acme, numberOf(i)); !ok || st != want(i, 2).state {
			t.Fatalf("scope %d = %v, %v in the fast table after the writes", i, st, ok)
		}
	}
}

// A name interned while lookups promote the dirty names is never read as
// unknown once interned: lookups race the promotion of dirty into read.
func TestSymbolsNoFalseMissDuringPromotion(t *testing.T) {
	for round := 0; round < 50; round++ {
		var s symbols
		read := map[string]uint32{}
		s.read.Store(&read)
		s.dirty = map[string]uint32{}
		names := make([]string, 64)
		for i := range names {
			names[i] = fmt.Sprintf("org-%d-%d", round, i)
		}
		var wg sync.WaitGroup
		stop := make(chan struct{})
		// Misses of unknown names drive promotions.
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				s.lookup(fmt.Sprint("absent-", i%8))
			}
		}()
		for _, n := range names {
			s.intern(n)
			for j := 0; j < 20; j++ {
				if _, ok := s.lookup(n); !ok {
					t.Fatalf("%s read as unknown after it was interned", n)
				}
			}
		}
		close(stop)
		wg.Wait()
	}
}

// TestShardLayout holds what a lookup reads of a shard (seq, and the
// table's length and base) to one cache line, for every shard of the
// index, and an organization's fast table header to a line of its own.
func TestShardLayout(t *testing.T) {
	var ix index
	if size := unsafe.Sizeof(ix.shards[0]); size != shardSize {
		t.Fatalf("a shard is %d bytes, want %d", size, shardSize)
	}
	first := unsafe.Offsetof(ix.shards) + unsafe.Offsetof(ix.shards[0].seq)
	last := unsafe.Offsetof(ix.shards) + unsafe.Offsetof(ix.shards[0].base) + unsafe.Sizeof(ix.shards[0].base)
	if first/64 != (last-1)/64 {
		t.Fatalf("a shard's seq, n and base span bytes %d to %d of the index: two cache lines", first, last)
	}
	var f orgFast
	if size := unsafe.Sizeof(f); size != 64 {
		t.Fatalf("an organization's fast table header is %d bytes, want one cache line", size)
	}
	if end := unsafe.Offsetof(f.base) + unsafe.Sizeof(f.base); end > 64 || unsafe.Offsetof(f.seq) != 0 {
		t.Fatalf("seq, n and base of a fast table header end at byte %d", end)
	}
}

// The fast table answers orgState exactly as the wide table answers get:
// for an organization with a small symbol and for one with a large symbol
// (which only the wide table holds), next to sender scopes of the same
// numbers, through many growths of both tables and after every entry
// changed state.
func TestIndexFastTableAgreesWithWide(t *testing.T) {
	ix := newIndex(testKeys, 0)
	early := ix.syms.intern("early")
	// Sender names take symbols too: enough of them that "late" gets one
	// the fast table cannot hold.
	for i := 0; i < fastOrgs; i++ {
		ix.syms.intern(fmt.Sprintf("sender-%d", i))
	}
	late := ix.syms.intern("late")
	if !(idxKey{org: early, h: Handset{hi: 1}}).fast() || (idxKey{org: late, h: Handset{hi: 1}}).fast() {
		t.Fatalf("symbols %d and %d: want the first in the fast table, the second not", early, late)
	}
	const n = 30000
	for round := 0; round < 2; round++ {
		for i := 0; i < n; i++ {
			for j, sc := range []Scope{OrgScope("early", num(i)), OrgScope("late", num(i)), SenderScope("early", "sender-7", num(i))} {
				ix.setScope(sc, idxVal{state: State((i + j + round) % int(numStates)), updated: int64(i) * int64(time.Second)})
			}
		}
	}
	for i := 0; i < n+100; i++ {
		number, _ := handsetOfNumber(testKeys, num(i))
		for _, org := range []string{"early", "late"} {
			sym, _ := ix.syms.lookup(org)
			got, gotOK := ix.orgState(sym, number)
			v, ok := ix.get(OrgScope(org, num(i)))
			if got != v.state || gotOK != ok || ok != (i < n) {
				t.Fatalf("%s %s: orgState = %v %v, get = %v %v", org, num(i), got, gotOK, v.state, ok)
			}
		}
	}
	var entries int
	for org := range ix.fast {
		f := ix.fast[org].Load()
		if f == nil {
			continue
		}
		if f.used*maxLoadDen > int(f.n.Load())*maxLoadNum {
			t.Fatalf("organization %d's fast table is %d/%d full", org, f.used, f.n.Load())
		}
		if uint32(org) != early {
			t.Fatalf("organization %d has a fast table", org)
		}
		entries += f.used
	}
	if entries != n {
		t.Fatalf("%d fast entries, want %d (early's organization scopes only)", entries, n)
	}
}
