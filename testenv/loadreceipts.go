package testenv

import (
	"sync"
	"sync/atomic"
)

// rcptTable maps the message ids of accepted requests that asked for a
// receipt to their send time, so that a receipt arriving on any bind of the
// run (a receiver, or another transceiver) finds its request. A receipt
// may be read before its request's response is (on another bind, from an
// SMSC that sends it at once): it then waits in the table as an early
// entry until the response comes. Keys are a 64-bit hash of the id, so
// that the hot path converts no id to a string; two ids of one run sharing
// a hash is vanishingly rare and costs one receipt matched to the wrong
// request's send time.
type rcptTable struct {
	shards  [rcptShards]rcptShard
	pending atomic.Int64 // requests waiting for their receipt
	early   atomic.Int64 // receipts waiting for their request's response
}

const rcptShards = 16

type rcptShard struct {
	mu sync.Mutex
	m  map[uint64]rcptEntry // guarded by mu
}

type rcptEntry struct {
	sent  int64 // ns since the run's start
	group int16 // handset group; -1: none
	phase int16 // result phase; -1: the warmup (not counted)
	// An early entry is a receipt, not a request: at is when it was read,
	// stat its final state's index.
	early bool
	stat  uint8
	at    int64
}

func newRcptTable() *rcptTable {
	t := &rcptTable{}
	for i := range t.shards {
		t.shards[i].m = make(map[uint64]rcptEntry, 4096)
	}
	return t
}

func hashID(id []byte) uint64 {
	h := uint64(14695981039346656037) // FNV-1a
	for _, c := range id {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h
}

// put records a request waiting for its receipt; when the receipt came
// first, it returns that early entry instead (and forgets both).
func (t *rcptTable) put(id []byte, e rcptEntry) (early rcptEntry, ok bool) {
	k := hashID(id)
	s := &t.shards[k%rcptShards]
	s.mu.Lock()
	defer s.mu.Unlock()
	old, found := s.m[k]
	switch {
	case found && old.early:
		delete(s.m, k)
		t.early.Add(-1)
		return old, true
	case !found:
		t.pending.Add(1)
	}
	s.m[k] = e
	return rcptEntry{}, false
}

// take returns and forgets the request of a receipt read at at. When the
// request's response has not been read yet, the receipt waits for it as
// an early entry (ok false, early true); a second receipt for an id is
// neither (ok and early false).
func (t *rcptTable) take(id []byte, at int64, stat uint8) (e rcptEntry, ok, early bool) {
	k := hashID(id)
	s := &t.shards[k%rcptShards]
	s.mu.Lock()
	defer s.mu.Unlock()
	e, found := s.m[k]
	switch {
	case found && !e.early:
		delete(s.m, k)
		t.pending.Add(-1)
		return e, true, false
	case !found:
		s.m[k] = rcptEntry{early: true, at: at, stat: stat}
		t.early.Add(1)
		return rcptEntry{}, false, true
	}
	return rcptEntry{}, false, false
}

// due counts the entries of measured requests still waiting for a receipt.
func (t *rcptTable) due() uint64 {
	var n uint64
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.Lock()
		for _, e := range s.m {
			if !e.early && e.phase >= 0 {
				n++
			}
		}
		s.mu.Unlock()
	}
	return n
}

// receiptStats are the final states counted without a map on the hot path;
// anything else counts as "other".
var receiptStats = [...]string{"DELIVRD", "UNDELIV", "EXPIRED", "REJECTD", "DELETED", "ACCEPTD", "UNKNOWN", "ENROUTE"}

func receiptStatIndex(stat []byte) int {
	for i, s := range receiptStats {
		if string(stat) == s {
			return i
		}
	}
	return len(receiptStats)
}
