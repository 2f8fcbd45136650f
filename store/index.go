package store

import (
	"encoding/binary"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// The in-memory consent index answers State on the MT hot path without
// touching badger. It is compact on purpose (1 M scopes must fit in a few
// tens of MiB next to badger): organization and sender strings are interned
// to uint32 ids, the handset is packed into a uint64, and an entry is
// state + mode + updated-at. Keys and values hold no pointers, so the
// garbage collector never scans the maps.
//
// Only the committer goroutine writes the index, right after the badger
// transaction that changed the same records commits.

const indexShards = 256 // power of two

type idxKey struct {
	org    uint32
	sender uint32 // 0 for organization scope
	number uint64 // digits of the E.164 number
}

type idxVal struct {
	updated int64 // Unix ns of the latest event; 0 if none
	state   State
	mode    Mode
}

type idxShard struct {
	mu sync.RWMutex
	m  map[idxKey]idxVal // guarded by mu
	_  [96]byte          // 128 bytes a shard: readers on two cores do not share a line
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
}

type index struct {
	syms   symbols
	shards [indexShards]idxShard
	counts [numStates]atomic.Int64
}

// newIndex returns an empty index sized for about sizeHint records, which
// saves the maps' incremental growth while 1 M records load.
func newIndex(sizeHint int) *index {
	ix := &index{}
	for i := range ix.shards {
		ix.shards[i].m = make(map[idxKey]idxVal, sizeHint/indexShards)
	}
	read := make(map[string]uint32)
	ix.syms.read.Store(&read)
	ix.syms.dirty = make(map[string]uint32)
	return ix
}

// lookup returns the id of name without interning it.
func (s *symbols) lookup(name string) (uint32, bool) {
	if name == "" {
		return 0, true
	}
	if id, ok := (*s.read.Load())[name]; ok {
		return id, true
	}
	if s.dirtyLen.Load() == 0 {
		return 0, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.dirty[name]
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
	if w <= 0 || uint64(len(sk)-w) < n {
		return idxKey{}, fmt.Errorf("scope key: bad organization length")
	}
	org, rest := sk[w:w+int(n)], sk[w+int(n):]
	i := indexByte(rest, 0)
	if i < 0 {
		return idxKey{}, fmt.Errorf("scope key: no number terminator")
	}
	num, ok := numberKey(rest[:i])
	if !ok {
		return idxKey{}, fmt.Errorf("scope key: bad number %q", rest[:i])
	}
	return idxKey{org: ix.syms.internLoading(org), sender: ix.syms.internLoading(rest[i+1:]), number: num}, nil
}

// insertLoaded adds entries (each scope at most once) to an index that is
// not published yet.
func (ix *index) insertLoaded(batch []loadEntry) {
	for _, e := range batch {
		ix.shard(e.k).m[e.k] = e.v
		ix.counts[e.v.state].Add(1)
	}
}

func (ix *index) shard(k idxKey) *idxShard {
	return &ix.shards[(k.number^uint64(k.org)*0x9e3779b97f4a7c15)&(indexShards-1)]
}

// key builds the index key of s without interning; ok is false when s
// cannot be in the index (unknown org/sender, malformed number).
func (ix *index) key(s Scope) (idxKey, bool) {
	num, ok := numberKey(s.Number)
	if !ok {
		return idxKey{}, false
	}
	org, ok := ix.syms.lookup(s.Org)
	if !ok || org == 0 {
		return idxKey{}, false
	}
	sender, ok := ix.syms.lookup(s.Sender)
	if !ok {
		return idxKey{}, false
	}
	return idxKey{org: org, sender: sender, number: num}, true
}

func (ix *index) get(s Scope) (idxVal, bool) {
	k, ok := ix.key(s)
	if !ok {
		return idxVal{}, false
	}
	sh := ix.shard(k)
	sh.mu.RLock()
	v, ok := sh.m[k]
	sh.mu.RUnlock()
	return v, ok
}

// set stores v for s; s must be valid (it was checked before it was written).
func (ix *index) set(s Scope, v idxVal) {
	num, _ := numberKey(s.Number)
	k := idxKey{org: ix.syms.intern(s.Org), sender: ix.syms.intern(s.Sender), number: num}
	sh := ix.shard(k)
	sh.mu.Lock()
	old, had := sh.m[k]
	sh.m[k] = v
	sh.mu.Unlock()
	if had {
		ix.counts[old.state].Add(-1)
	}
	ix.counts[v.state].Add(1)
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
