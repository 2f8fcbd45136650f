package store

import "hash/maphash"

// recordCache keeps the consent records the committer wrote last, encoded
// as written, by scope key: most changes to a scope come in pairs a moment
// apart (an opt-out and its confirmation, a disclaimer and the MT after),
// and the second then finds its record here instead of in badger's
// memtables. Only the committer writes consent records outside exclusive
// tasks, so a record here is the one on disk until a task runs, and the
// committer clears the cache after every task; it adds a record only once
// its commit is durable. Used by the committer goroutine alone, so it has
// no lock. Direct-mapped, a newer record taking an older one's slot.
type recordCache struct {
	seed  maphash.Seed
	slots []cachedRecord // allocated at the first add
}

type cachedRecord struct {
	sk  string
	val []byte
}

const recordCacheSize = 1 << 15 // a power of two

func newRecordCache() *recordCache { return &recordCache{seed: maphash.MakeSeed()} }

func (c *recordCache) slot(sk string) *cachedRecord {
	return &c.slots[maphash.String(c.seed, sk)&(recordCacheSize-1)]
}

// get returns scope key sk's record as last committed, if the cache has it.
func (c *recordCache) get(sk []byte) ([]byte, bool) {
	if c.slots == nil {
		return nil, false
	}
	e := c.slot(string(sk))
	if e.val == nil || e.sk != string(sk) {
		return nil, false
	}
	return e.val, true
}

// add keeps val as sk's record, once its commit is durable.
func (c *recordCache) add(sk string, val []byte) {
	if c.slots == nil {
		c.slots = make([]cachedRecord, recordCacheSize)
	}
	*c.slot(sk) = cachedRecord{sk: sk, val: val}
}

// clear forgets every record (an exclusive task may have rewritten any).
func (c *recordCache) clear() { c.slots = nil }
