package store

import (
	"sync/atomic"
	"unsafe"
)

// The fast table is a second, smaller table in each shard for the one
// question the MT path asks: the state of an organization-scope entry.
// Each entry is one word, the number, the organization's symbol and the
// state packed together (no updated-at, no mode), so a table takes a third
// of the wide one's memory and its cache lines: under relay load the wide
// table's 24-byte slots were evicted between MTs, and the miss was most of
// the verdict's cost (docs/BENCHMARKS.md). Every organization-scope entry
// whose organization has a symbol below fastOrgs is in both tables,
// written together under the shard's seqlock; the wide table stays the
// whole truth for everything else.
//
//	entry = number << 14 | org << 2 | state    (0: empty; numbers are never 0)
//
// A number has at most 15 digits (< 2^50), an organization symbol below
// fastOrgs 12 bits and a State 2. Symbols are shared with sender names, so
// an installation with thousands of sender scopes may give a later
// organization a symbol of fastOrgs or more: its MTs then read the wide
// table, slower but the same answer.
const (
	fastOrgs  = 1 << 12
	fastState = 1<<2 - 1
)

// fast reports whether k has an entry in the fast table.
func (k idxKey) fast() bool {
	return k.sender == 0 && k.org != 0 && k.org < fastOrgs && k.number < 1<<50
}

// fastKey is the entry of k without its state.
func (k idxKey) fastKey() uint64 { return k.number<<12 | uint64(k.org) }

// orgState returns the state of the organization scope of org (a symbol)
// and number, from the fast table when it has the entry.
func (ix *index) orgState(org uint32, number uint64) (State, bool) {
	k := idxKey{org: org, number: number}
	h := k.hash()
	sh := ix.shard(h)
	if k.fast() {
		return sh.getFast(k, h)
	}
	packed, found := sh.get(k, h)
	if !found {
		return StateUnknown, false
	}
	return unpack(packed).state, true
}

// fastTable returns the shard's fast entries. Like table, it is read between
// two loads of seq: a grown table is published as base then length, and
// readers load the length first.
func (sh *idxShard) fastTable() []atomic.Uint64 {
	n := sh.fastN.Load()
	return unsafe.Slice(sh.fastBase.Load(), n)
}

func (sh *idxShard) publishFastLocked(t []atomic.Uint64) {
	sh.seq.Add(1)
	sh.fastBase.Store(&t[0])
	sh.fastN.Store(int64(len(t)))
	sh.seq.Add(1)
}

// findFast returns the entry of t holding key (an entry without its state),
// or the empty one where it would go.
func findFast(t []atomic.Uint64, key, h uint64) *atomic.Uint64 {
	n := len(t)
	for i := home(h, n); ; {
		e := &t[i]
		if v := e.Load(); v == 0 || v>>2 == key {
			return e
		}
		if i++; i == n {
			i = 0
		}
	}
}

// getFast returns the state of organization-scope key k (k.fast() must
// hold) without a lock.
func (sh *idxShard) getFast(k idxKey, h uint64) (State, bool) {
	key := k.fastKey()
	for {
		seq := sh.seq.Load()
		if seq&1 != 0 {
			continue
		}
		v := findFast(sh.fastTable(), key, h).Load()
		if sh.seq.Load() == seq {
			return State(v & fastState), v != 0
		}
	}
}

// putFastLocked sets the state of k's fast entry, growing the table first
// if it would pass 3/4 full. An entry is one word written in place, so a
// reader sees it whole without seq changing; only a grown table, which
// moves entries, is published under seq.
func (sh *idxShard) putFastLocked(k idxKey, h uint64, st State) {
	t := sh.fastTable()
	key := k.fastKey()
	e := findFast(t, key, h)
	if e.Load() == 0 {
		if (sh.fastUsed+1)*maxLoadDen > len(t)*maxLoadNum {
			sh.growFastLocked()
			e = findFast(sh.fastTable(), key, h)
		}
		sh.fastUsed++
	}
	e.Store(key<<2 | uint64(st))
}

func (sh *idxShard) growFastLocked() {
	old := sh.fastTable()
	t := make([]atomic.Uint64, len(old)*2+16)
	for i := range old {
		if v := old[i].Load(); v != 0 {
			k := idxKey{org: uint32(v>>2) & (fastOrgs - 1), number: v >> 14}
			findFast(t, k.fastKey(), k.hash()).Store(v)
		}
	}
	sh.publishFastLocked(t)
}
