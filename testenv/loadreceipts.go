package testenv

import (
	"sync"
	"sync/atomic"
)

// rcptTable maps the message ids of accepted requests that asked for a
// receipt to their send time, so that a receipt arriving on any bind of the
// run (a receiver, or another transceiver) finds its request. Keys are a
// 64-bit hash of the id, so that the hot path converts no id to a string;
// two ids of one run sharing a hash is vanishingly rare and costs one
// receipt matched to the wrong request's send time.
type rcptTable struct {
	shards  [rcptShards]rcptShard
	pending atomic.Int64 // entries in the table
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

func (t *rcptTable) put(id []byte, e rcptEntry) {
	k := hashID(id)
	s := &t.shards[k%rcptShards]
	s.mu.Lock()
	if _, dup := s.m[k]; !dup {
		t.pending.Add(1)
	}
	s.m[k] = e
	s.mu.Unlock()
}

// take removes and returns id's entry.
func (t *rcptTable) take(id []byte) (rcptEntry, bool) {
	k := hashID(id)
	s := &t.shards[k%rcptShards]
	s.mu.Lock()
	e, ok := s.m[k]
	if ok {
		delete(s.m, k)
		t.pending.Add(-1)
	}
	s.mu.Unlock()
	return e, ok
}

// due counts the entries of measured requests still waiting for a receipt.
func (t *rcptTable) due() uint64 {
	var n uint64
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.Lock()
		for _, e := range s.m {
			if e.phase >= 0 {
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
