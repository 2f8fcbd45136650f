package store

import (
	"hash/maphash"
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

const (
	indexShards  = 64 // power of two
	symbolShards = 16 // power of two
)

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
	_  [32]byte          // keep shards on separate cache lines
}

type symShard struct {
	mu sync.RWMutex
	m  map[string]uint32 // guarded by mu
	_  [32]byte
}

// symbols interns organization and sender names. Id 0 is the empty string.
type symbols struct {
	seed   maphash.Seed
	shards [symbolShards]symShard
	next   atomic.Uint32
}

type index struct {
	syms   symbols
	shards [indexShards]idxShard
	counts [numStates]atomic.Int64
}

func newIndex() *index {
	ix := &index{}
	ix.syms.seed = maphash.MakeSeed()
	for i := range ix.shards {
		ix.shards[i].m = make(map[idxKey]idxVal)
	}
	for i := range ix.syms.shards {
		ix.syms.shards[i].m = make(map[string]uint32)
	}
	return ix
}

func (s *symbols) shard(name string) *symShard {
	return &s.shards[maphash.String(s.seed, name)&(symbolShards-1)]
}

// lookup returns the id of name without interning it.
func (s *symbols) lookup(name string) (uint32, bool) {
	if name == "" {
		return 0, true
	}
	sh := s.shard(name)
	sh.mu.RLock()
	id, ok := sh.m[name]
	sh.mu.RUnlock()
	return id, ok
}

// intern returns the id of name, assigning one if needed.
func (s *symbols) intern(name string) uint32 {
	if name == "" {
		return 0
	}
	sh := s.shard(name)
	sh.mu.RLock()
	id, ok := sh.m[name]
	sh.mu.RUnlock()
	if ok {
		return id
	}
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if id, ok := sh.m[name]; ok {
		return id
	}
	id = s.next.Add(1)
	sh.m[name] = id
	return id
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
