package store

import (
	"math/bits"
	"sync"
	"sync/atomic"
	"unsafe"
)

// The fast table is a second, smaller table per organization for the one
// question the MT path asks: the state of an organization-scope entry.
// Each entry is two words, the handset with the state in the low bits of
// its second word (no updated-at, no mode, no symbols), half the wide
// table's 32-byte slot, and the table's header (length, base, sequence) is
// the organization's, on one cache line that every MT of the organization
// reads and so keeps in the caches. A lookup's only line that relay
// traffic evicts is then the entry's, whose address the header gives at
// once: StartFast starts it loading before the relay scans the MT
// (docs/BENCHMARKS.md). Every organization-scope entry whose organization
// has a symbol below fastOrgs is in both tables, the fast one written
// first; the wide table stays the whole truth for everything else.
//
//	entry = hi, lo&^7 | absent<<2 | state    (hi 0: empty, and written last)
//
// absent marks an entry whose record went (an erased subject's). So the
// fast table tells handsets apart by 125 of their 128 bits: two numbers
// whose pseudonyms differ in the last three bits only (odds 2^-125 per
// pair) would share an entry. Symbols are shared with sender names, so
// an installation with thousands of sender scopes may give a later
// organization a symbol of fastOrgs or more: its MTs then read the wide
// table, slower but the same answer.
const (
	fastOrgs   = 1 << 12
	fastState  = 1<<2 - 1
	fastAbsent = 1 << 2
	fastLow    = 1<<3 - 1 // the bits of lo that are not the handset's
)

// fastEntry is one entry of a fast table.
type fastEntry struct {
	hi atomic.Uint64 // the handset's first word; 0 while empty
	lo atomic.Uint64 // its second word, absent and the state in the low three bits
}

// orgFast is one organization's fast table. Readers take no lock: entries
// are single words written in place, and a grown table, which moves them,
// is published under seq (a seqlock, as in idxShard). Writers hold mu,
// taken inside the shard's mu of the entry they write.
type orgFast struct {
	// What readers load, first and within one cache line.
	seq  atomic.Uint64             // odd while a grown table is published
	n    atomic.Int64              // the table's length
	base atomic.Pointer[fastEntry] // the table's first entry
	mu   sync.Mutex                // writers
	used int                       // guarded by mu: entries
	_    [64 - 40]byte             // a line of its own
}

// fast reports whether k has an entry in a fast table.
func (k idxKey) fast() bool { return k.sender == 0 && k.org != 0 && k.org < fastOrgs }

// orgState returns the state of the organization scope of org (a symbol)
// and handset h, from the fast table when it has the entry.
func (ix *index) orgState(org uint32, h Handset) (State, bool) {
	k := idxKey{org: org, h: h}
	if k.fast() {
		f := ix.fast[org].Load()
		if f == nil {
			return StateUnknown, false // no organization scope of org yet
		}
		var p Probe
		for {
			if f.start(h, &p) {
				if st, known, ok := p.Finish(); ok {
					return st, known
				}
			}
		}
	}
	hash := k.hash()
	packed, found := ix.shard(hash).get(k, hash)
	if !found {
		return StateUnknown, false
	}
	return unpack(packed).state, true
}

// Probe is one organization-scope lookup of the fast table in two steps
// (Badger.StartFast, Probe.Finish; orgState takes both at once). Its
// fields are what the first step found: the table as it was (entries,
// length, seqlock), the entry the lookup starts at, and the handset looked
// for.
type Probe struct {
	base *fastEntry     // the table's entries, n of them
	n, i int            // i: the home entry
	seqp *atomic.Uint64 // the table's seqlock, and its value then
	seq  uint64
	h    Handset
}

// start fills p for h from f's table as it is now; it is false while a
// grown table is being published.
func (f *orgFast) start(h Handset, p *Probe) bool {
	seq := f.seq.Load()
	if seq&1 != 0 {
		return false
	}
	n := int(f.n.Load()) // before base: see table
	base := f.base.Load()
	p.base, p.n, p.i = base, n, fastHome(h, n)
	p.seqp, p.seq, p.h = &f.seq, seq, h
	return true
}

// noEntry is the table of one empty entry that the Probe of an
// organization without records reads: Finish then answers "no record"
// unless a symbol was handed out since (the organization's first record
// hands out its symbol before its entry is written), which it checks as
// it checks a table's seqlock.
var noEntry fastEntry

// startUnrecorded fills p for a lookup in an organization that had no
// record while the index had handed out handed symbols (any handset: the
// one entry is empty); it is false when the index has handed out more
// since.
func (ix *index) startUnrecorded(handed uint64, p *Probe) bool {
	if ix.syms.handed.Load() != handed {
		return false
	}
	p.base, p.n, p.i = &noEntry, 1, 0
	p.seqp, p.seq = &ix.syms.handed, handed
	return true
}

// Finish returns the state and whether the scope has a record, as
// StateRef would have when Badger.StartFast filled p; ok is false when the
// table changed shape in between (it grew), and StateRef must be asked
// instead. It reads between two loads of the seqlock, the first in start.
// (A rebuilt index replaces the one StartFast read only as it would have
// replaced it a moment after a StateRef.) It is small enough to be inlined
// into the caller.
func (p *Probe) Finish() (st State, known, ok bool) {
	for i := p.i; ; {
		e := p.entry(i)
		hi := e.hi.Load()
		if hi == 0 {
			return StateUnknown, false, p.seqp.Load() == p.seq
		}
		if lo := e.lo.Load(); hi == p.h.hi && lo^p.h.lo <= fastLow {
			if lo&fastAbsent != 0 {
				return StateUnknown, false, p.seqp.Load() == p.seq
			}
			return State(lo & fastState), true, p.seqp.Load() == p.seq
		}
		if i++; i == p.n {
			i = 0
		}
	}
}

// entry is the table's entry i.
func (p *Probe) entry(i int) *fastEntry {
	return (*fastEntry)(unsafe.Add(unsafe.Pointer(p.base), uintptr(i)*unsafe.Sizeof(fastEntry{})))
}

// table returns f's entries. Like idxShard.table, it is read between two
// loads of seq: a grown table is published as base then length, and
// readers load the length first.
func (f *orgFast) table() []fastEntry {
	n := f.n.Load()
	return unsafe.Slice(f.base.Load(), n)
}

// fastHome is the entry a lookup of h starts at in a fast table of n
// entries: the handset's first word is a keyed hash already, so its
// product with n, taken in its upper half, is spread over the table by
// one multiply. The hash is on every MT's path.
func fastHome(h Handset, n int) int {
	i, _ := bits.Mul64(h.hi, uint64(n))
	return int(i)
}

// findFast returns the entry of t holding h, or the empty one where it
// would go. The table is never full (put keeps it under 3/4).
func findFast(t []fastEntry, h Handset) *fastEntry {
	n := len(t)
	for i := fastHome(h, n); ; {
		e := &t[i]
		if hi := e.hi.Load(); hi == 0 || hi == h.hi && e.lo.Load()^h.lo <= fastLow {
			return e
		}
		if i++; i == n {
			i = 0
		}
	}
}

// putFast sets the state of k's fast entry (k.fast() must hold), creating
// the organization's table at its first entry. The caller holds the
// entry's shard lock, or owns an index not yet published.
func (ix *index) putFast(k idxKey, st State) {
	f := ix.fast[k.org].Load()
	if f == nil {
		ix.fastMu.Lock()
		if f = ix.fast[k.org].Load(); f == nil {
			f = &orgFast{}
			f.publishLocked(make([]fastEntry, 16))
			ix.fast[k.org].Store(f)
		}
		ix.fastMu.Unlock()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	lo := k.h.lo&^fastLow | uint64(st)
	e := findFast(f.table(), k.h)
	if e.hi.Load() != 0 {
		e.lo.Store(lo)
		return
	}
	if (f.used+1)*maxLoadDen > int(f.n.Load())*maxLoadNum {
		f.growLocked()
		e = findFast(f.table(), k.h)
	}
	f.used++
	e.lo.Store(lo)
	e.hi.Store(k.h.hi) // last: readers take hi 0 for an empty entry
}

func (f *orgFast) publishLocked(t []fastEntry) {
	f.seq.Add(1)
	f.base.Store(&t[0])
	f.n.Store(int64(len(t)))
	f.seq.Add(1)
}

// growLocked doubles the table.
func (f *orgFast) growLocked() {
	old := f.table()
	t := make([]fastEntry, len(old)*2)
	for i := range old {
		if hi := old[i].hi.Load(); hi != 0 {
			lo := old[i].lo.Load()
			e := findFast(t, Handset{hi: hi, lo: lo})
			e.lo.Store(lo)
			e.hi.Store(hi)
		}
	}
	f.publishLocked(t)
}

// removeFast marks k's fast entry absent; the caller holds the entry's
// shard lock.
func (ix *index) removeFast(k idxKey) {
	f := ix.fast[k.org].Load()
	if f == nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if e := findFast(f.table(), k.h); e.hi.Load() != 0 {
		e.lo.Store(e.lo.Load() | fastAbsent)
	}
}
