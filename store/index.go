package store

import (
	"encoding/binary"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/optguard/optguard/store/seal"
)

// The in-memory consent index answers State on the MT hot path without
// touching badger. It is compact on purpose (1 M scopes must fit in a few
// tens of MiB next to badger) and built for one cache miss per lookup:
// organization and sender names are interned to uint32 ids, the handset is
// its pseudonym's two words (Handset: the index never holds a number), and
// state, mode and updated-at (to the second) share a word: a 32-byte slot
// without pointers (so the garbage collector never scans it, and two share
// a cache line) in an open-addressing table with linear probing, one table
// per shard. Go maps took 100 bytes an entry and two or three cache misses
// a lookup at 1 M entries.
//
// Only the committer goroutine writes the index, right after the badger
// transaction that changed the same records commits. Entries are never
// deleted (Rebuild builds a new index), which keeps the table simple.

const (
	indexShards = 256 // power of two
	maxLoadNum  = 3   // a shard's table grows beyond 3/4 full
	maxLoadDen  = 4
)

type idxKey struct {
	org    uint32
	sender uint32 // 0 for organization scope
	h      Handset
}

type idxVal struct {
	updated int64 // Unix ns of the latest event (kept to the second); 0 if none
	state   State
	mode    Mode
}

// slot is one table entry; hi 0 marks an empty slot, and is written last.
// Its words are read without a lock (see idxShard), so each is an atomic.
type slot struct {
	hi, lo atomic.Uint64 // the handset
	syms   atomic.Uint64 // org << 32 | sender
	packed atomic.Uint64 // updated-at Unix seconds (48 bits, signed) << 16 | mode << 8 | state
}

func (k idxKey) syms() uint64 { return uint64(k.org)<<32 | uint64(k.sender) }

// absent marks the packed value of a slot whose scope has no record any
// more (an erased subject's): slots are never deleted, since a probe
// passes over filled slots to find the next, and a new record of the same
// scope fills it again. It lies in the mode's byte, above every mode.
const absent = 1 << 15

func pack(v idxVal) uint64 {
	secs := v.updated / int64(time.Second)
	if v.updated < 0 && v.updated%int64(time.Second) != 0 {
		secs-- // floor, like time.Time.Unix
	}
	return uint64(secs)<<16 | uint64(v.mode)<<8 | uint64(v.state)
}

func unpack(p uint64) idxVal {
	return idxVal{updated: int64(p) >> 16 * int64(time.Second), state: State(p), mode: Mode(p >> 8)}
}

// same reports whether the index would hold v and w alike.
func (v idxVal) same(w idxVal) bool { return pack(v) == pack(w) }

// idxShard is one open-addressing table. Readers take no lock and write
// nothing (a read lock's counter would bounce between the cores of every
// MT): they read the shard's sequence number, probe, and read it again,
// retrying if a writer was in between (a seqlock). The one writer at a time
// holds mu and makes seq odd while it changes a slot in place or publishes
// a grown table.
//
// The table is kept as its first slot and its length, in the shard itself,
// rather than behind a pointer to a slice header: a lookup then touches the
// shard's cache line and the slot's, not a third line for the header (one
// miss fewer per MT once the index outgrows the caches). A table only ever
// grows, and the writer stores base before n while readers load n before
// base, so a reader between the two stores may probe with a length that is
// too small for the slots it reads (and retries, seq having changed), never
// past their end.
type idxShard struct {
	// What readers load comes first, within one cache line (see
	// TestShardLayout).
	seq  atomic.Uint64        // odd while a slot or a table is being changed
	n    atomic.Int64         // the table's length
	base atomic.Pointer[slot] // the table's first slot
	mu   sync.Mutex           // writers
	used int                  // guarded by mu: slots holding an entry
	_    [shardSize - 40]byte // one shard per cache line, none shared
}

const shardSize = 64

// table returns the shard's slots. Readers call it between their two loads
// of seq.
func (sh *idxShard) table() []slot {
	n := sh.n.Load()
	return unsafe.Slice(sh.base.Load(), n)
}

// publishLocked makes slots the shard's table.
func (sh *idxShard) publishLocked(slots []slot) {
	sh.seq.Add(1)
	sh.base.Store(&slots[0])
	sh.n.Store(int64(len(slots)))
	sh.seq.Add(1)
}

// symbols interns organization and sender names (id 0 is the empty
// string). Lookups must not write shared memory, or cores running State in
// parallel slow each other down; so, like sync.Map, an immutable map read
// through an atomic pointer answers almost every lookup, and names added
// since its last copy wait in a small locked map until enough lookups miss
// them to make a new copy worthwhile.
type symbols struct {
	read     atomic.Pointer[map[string]uint32] // immutable once stored
	dirtyLen atomic.Int32                      // len(dirty), readable without mu

	mu     sync.Mutex
	dirty  map[string]uint32 // guarded by mu: names not in read yet
	misses int               // guarded by mu: lookups that had to take mu
	next   uint32            // guarded by mu: last id handed out
	// handed is next, readable without mu: a name that was not interned
	// when handed read n is still not while handed reads n (ResolveOrg).
	handed atomic.Uint64 // a word, so that a Probe can take it for a seqlock
}

type index struct {
	syms   symbols
	orgs   [4]atomic.Pointer[orgEntry] // recent organizations' symbols (see orgSym)
	shards [indexShards]idxShard
	counts [numStates]atomic.Int64

	fast   [fastOrgs]atomic.Pointer[orgFast] // by organization symbol (index_fast.go)
	fastMu sync.Mutex                        // creates fast tables

	// keys gives the pseudonyms of numbers asked about by Scope.
	keys *seal.Keys
}

// orgEntry is one organization name with its symbol.
type orgEntry struct {
	name string
	id   uint32
}

// orgSym is lookupSym for the organization of an MT. An MT path asks for
// the same few organizations with the same strings over and over, so their
// symbols are kept in a few slots compared by string (the same string's
// bytes compare at once) before the map is asked. Only names that have a
// symbol are kept, and a symbol never changes within an index.
func (ix *index) orgSym(name string) (uint32, bool) {
	for i := range ix.orgs {
		if e := ix.orgs[i].Load(); e != nil && e.name == name {
			return e.id, true
		}
	}
	id, ok := lookupSym(&ix.syms, name)
	if ok && id != 0 {
		slot := &ix.orgs[len(name)%len(ix.orgs)]
		slot.Store(&orgEntry{name: name, id: id})
	}
	return id, ok
}

// newIndex returns an empty index for the pseudonyms of keys, sized for
// about sizeHint records, which saves the maps' incremental growth while
// 1 M records load.
func newIndex(keys *seal.Keys, sizeHint int) *index {
	ix := &index{keys: keys}
	per := sizeHint / indexShards
	for i := range ix.shards {
		slots := make([]slot, per*maxLoadDen/maxLoadNum+8)
		ix.shards[i].publishLocked(slots)
	}
	read := make(map[string]uint32)
	ix.syms.read.Store(&read)
	ix.syms.dirty = make(map[string]uint32)
	return ix
}

// hash mixes a key into 64 well-spread bits: the top 8 pick the shard, the
// low 32 the slot. The handset's words are a keyed hash already, so only
// the symbols need mixing in.
func (k idxKey) hash() uint64 {
	h := (uint64(k.org)<<32 | uint64(k.sender)) * 0xc2b2ae3d27d4eb4f
	return k.h.lo ^ h ^ h>>29
}

// shard is the shard of a key with hash h.
func (ix *index) shard(h uint64) *idxShard { return &ix.shards[h>>56&(indexShards-1)] }

// home is the first slot to probe in a table of n slots (n need not be a
// power of two).
func home(h uint64, n int) int { return int(uint64(uint32(h)) * uint64(n) >> 32) }

// find returns the slot of slots holding k, or the empty slot where it
// would go. The table is never full (growLocked keeps it under 3/4).
func find(slots []slot, k idxKey, h uint64) *slot {
	n := len(slots)
	ks := k.syms()
	for i := home(h, n); ; {
		s := &slots[i]
		hi := s.hi.Load()
		if hi == 0 || hi == k.h.hi && s.lo.Load() == k.h.lo && s.syms.Load() == ks {
			return s
		}
		if i++; i == n {
			i = 0
		}
	}
}

// get returns k's packed value without a lock.
func (sh *idxShard) get(k idxKey, h uint64) (packed uint64, found bool) {
	for {
		seq := sh.seq.Load()
		if seq&1 != 0 {
			continue // a writer is changing a slot; it takes nanoseconds
		}
		s := find(sh.table(), k, h)
		packed = s.packed.Load()
		found = s.hi.Load() != 0 && packed&absent == 0
		if sh.seq.Load() == seq {
			return packed, found
		}
	}
}

// putLocked inserts or replaces k's entry, growing the table first if it
// would pass 3/4 full. It returns the previous value, if any.
func (sh *idxShard) putLocked(k idxKey, h uint64, packed uint64) (old uint64, had bool) {
	if (sh.used+1)*maxLoadDen > int(sh.n.Load())*maxLoadNum {
		sh.growLocked()
	}
	s := find(sh.table(), k, h)
	sh.seq.Add(1)
	defer sh.seq.Add(1)
	if s.hi.Load() != 0 {
		old = s.packed.Load()
		s.packed.Store(packed)
		return old, old&absent == 0
	}
	s.lo.Store(k.h.lo)
	s.syms.Store(k.syms())
	s.packed.Store(packed)
	s.hi.Store(k.h.hi)
	sh.used++
	return 0, false
}

func (sh *idxShard) growLocked() {
	old := sh.table()
	slots := make([]slot, len(old)*3/2+16)
	for i := range old {
		s := &old[i]
		if hi := s.hi.Load(); hi != 0 {
			syms := s.syms.Load()
			k := idxKey{org: uint32(syms >> 32), sender: uint32(syms), h: Handset{hi: hi, lo: s.lo.Load()}}
			d := find(slots, k, k.hash())
			d.lo.Store(k.h.lo)
			d.syms.Store(syms)
			d.packed.Store(s.packed.Load())
			d.hi.Store(hi)
		}
	}
	sh.publishLocked(slots)
}

// lookup returns the id of name without interning it.
func (s *symbols) lookup(name string) (uint32, bool) { return lookupSym(s, name) }

// lookupSym is lookup for a name held as a string or as bytes (from a PDU);
// map lookups keyed by string(bytes) do not allocate.
func lookupSym[T string | []byte](s *symbols, name T) (uint32, bool) {
	if len(name) == 0 {
		return 0, true
	}
	read := s.read.Load()
	if id, ok := (*read)[string(name)]; ok {
		return id, true
	}
	if s.dirtyLen.Load() == 0 {
		// dirty may have been promoted between the two loads (missLocked
		// publishes the new read map, then empties dirty): look in the
		// map it published, or a name just interned would read as
		// unknown — an opt-out missed by the next MT.
		if now := s.read.Load(); now != read {
			id, ok := (*now)[string(name)]
			return id, ok
		}
		return 0, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if id, ok := (*s.read.Load())[string(name)]; ok {
		return id, true // promoted since the read above
	}
	id, ok := s.dirty[string(name)]
	s.missLocked()
	return id, ok
}

// missLocked counts a lookup that needed mu and, once they are as many as
// the names waiting in dirty, publishes a new read map holding them.
func (s *symbols) missLocked() {
	s.misses++
	if s.misses < len(s.dirty) {
		return
	}
	old := *s.read.Load()
	read := make(map[string]uint32, len(old)+len(s.dirty))
	for k, v := range old {
		read[k] = v
	}
	for k, v := range s.dirty {
		read[k] = v
	}
	s.read.Store(&read)
	clear(s.dirty)
	s.dirtyLen.Store(0)
	s.misses = 0
}

// intern returns the id of name, assigning one if needed.
func (s *symbols) intern(name string) uint32 {
	if id, ok := s.lookup(name); ok {
		return id
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if id, ok := (*s.read.Load())[name]; ok {
		return id
	}
	if id, ok := s.dirty[name]; ok {
		return id
	}
	s.next++
	s.dirty[name] = s.next
	s.dirtyLen.Store(int32(len(s.dirty)))
	s.handed.Store(uint64(s.next))
	return s.next
}

// internLoading is intern for an index that is not published yet (being
// loaded by one goroutine): names go straight into the read map, without
// locks, and without allocating for names already seen.
func (s *symbols) internLoading(name []byte) uint32 {
	if len(name) == 0 {
		return 0
	}
	read := *s.read.Load()
	if id, ok := read[string(name)]; ok {
		return id
	}
	s.next++
	read[string(name)] = s.next
	s.handed.Store(uint64(s.next))
	return s.next
}

type loadEntry struct {
	k idxKey
	v idxVal
}

// loadKey turns a stored scope key into an index key, interning names with
// internLoading. With insertLoaded it is the lock-free, allocation-free
// path by which OpenBadger loads an index that is not published yet.
func (ix *index) loadKey(sk []byte) (idxKey, error) {
	n, w := binary.Uvarint(sk)
	if w <= 0 || uint64(len(sk)-w) < n+16 {
		return idxKey{}, fmt.Errorf("scope key: bad organization length")
	}
	org, rest := sk[w:w+int(n)], sk[w+int(n):]
	var p seal.Pseudonym
	copy(p[:], rest)
	return idxKey{org: ix.syms.internLoading(org), sender: ix.syms.internLoading(rest[16:]), h: handsetOfPseudonym(p)}, nil
}

// insertLoaded adds entries (each scope at most once) to an index that is
// not published yet, without locks.
func (ix *index) insertLoaded(batch []loadEntry) {
	for _, e := range batch {
		h := e.k.hash()
		if e.k.fast() {
			ix.putFast(e.k, e.v.state)
		}
		if _, had := ix.shard(h).putLocked(e.k, h, pack(e.v)); !had {
			ix.counts[e.v.state].Add(1)
		}
	}
}

func (ix *index) get(s Scope) (idxVal, bool) { return indexGet(ix, s.Org, s.Sender, s.Number) }

// getParts looks up the scope of a stored scope key.
func (ix *index) getParts(sp scopeKeyParts) (idxVal, bool) {
	snd, ok := lookupSym(&ix.syms, sp.sender)
	if !ok {
		return idxVal{}, false
	}
	return indexGetHandset(ix, sp.org, snd, handsetOfPseudonym(sp.p))
}

// indexGet looks a scope up with its sender and number (E.164, with or
// without its '+') as strings or as bytes.
func indexGet[T string | []byte](ix *index, org string, sender, number T) (idxVal, bool) {
	h, ok := handsetOfNumber(ix.keys, number)
	if !ok {
		return idxVal{}, false
	}
	snd := uint32(0)
	if len(sender) > 0 {
		if snd, ok = lookupSym(&ix.syms, sender); !ok {
			return idxVal{}, false
		}
	}
	return indexGetHandset(ix, org, snd, h)
}

// indexGetHandset looks up a scope whose sender is already a symbol (0 for
// organization scope).
func indexGetHandset(ix *index, org string, snd uint32, h Handset) (idxVal, bool) {
	o, ok := ix.orgSym(org)
	if !ok || o == 0 {
		return idxVal{}, false
	}
	k := idxKey{org: o, sender: snd, h: h}
	hash := k.hash()
	packed, found := ix.shard(hash).get(k, hash)
	if !found {
		return idxVal{}, false
	}
	return unpack(packed), true
}

// set stores v for the scope of org, sender and handset h.
func (ix *index) set(org, sender string, h Handset, v idxVal) {
	k := idxKey{org: ix.syms.intern(org), sender: ix.syms.intern(sender), h: h}
	hash := k.hash()
	sh := ix.shard(hash)
	sh.mu.Lock()
	if k.fast() {
		ix.putFast(k, v.state) // before the wide slot, as readers of both expect
	}
	old, had := sh.putLocked(k, hash, pack(v))
	sh.mu.Unlock()
	if had {
		ix.counts[unpack(old).state].Add(-1)
	}
	ix.counts[v.state].Add(1)
}

// remove drops the record of the scope of org, sender and handset h,
// which then reads as never recorded.
func (ix *index) remove(org, sender string, h Handset) {
	o, ok := lookupSym(&ix.syms, org)
	snd, ok2 := lookupSym(&ix.syms, sender)
	if !ok || !ok2 || o == 0 {
		return
	}
	k := idxKey{org: o, sender: snd, h: h}
	hash := k.hash()
	sh := ix.shard(hash)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	s := find(sh.table(), k, hash)
	old := s.packed.Load()
	if s.hi.Load() == 0 || old&absent != 0 {
		return
	}
	if k.fast() {
		ix.removeFast(k)
	}
	sh.seq.Add(1)
	s.packed.Store(old | absent)
	sh.seq.Add(1)
	ix.counts[unpack(old).state].Add(-1)
}

func (ix *index) len() int {
	var n int64
	for i := range ix.counts {
		n += ix.counts[i].Load()
	}
	return int(n)
}

func (ix *index) countByState() [numStates]int {
	var c [numStates]int
	for i := range ix.counts {
		c[i] = int(ix.counts[i].Load())
	}
	return c
}

func (v idxVal) current() Current {
	c := Current{State: v.state, Mode: v.mode}
	if v.updated != 0 {
		c.UpdatedAt = time.Unix(0, v.updated).UTC()
	}
	return c
}

func idxValOf(c *Consent) idxVal {
	return idxVal{updated: unixNanoOrZero(c.UpdatedAt), state: c.State, mode: c.Mode}
}
