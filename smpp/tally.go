package smpp

import "github.com/optguard/optguard/smpp/pdu"

// newTally returns an empty tally publishing to m.
func newTally(m *metrics) tally {
	t := tally{m: m}
	for i := range t.last {
		t.last[i].idx = -1
	}
	return t
}

// tally counts on one goroutine (a session's reader) and publishes to
// the server's shared counters once per batch: the relay path then pays neither a
// contended atomic nor a histogram update per PDU, only an index lookup.
type tally struct {
	m     *metrics
	cells [16]struct {
		idx int32
		n   uint32
	}
	used int

	// The last PDU counted per leg and direction, and its cell and place in
	// cells: a run of PDUs of the same command and status (a reader counts each
	// relayed PDU in on one leg and out on the other, alternately) skips the
	// index computation and the search.
	last [4]struct {
		id   pdu.CommandID
		st   pdu.Status
		idx  int32 // -1 until the first PDU
		slot int   // where idx was in cells at the last count
	}

	verdicts [numActions]uint32 // by Action

	latLeg Leg
	lat    [numLatencyBuckets]uint32
	latN   uint32
	latSum int64
}

// pdu counts one PDU.
func (t *tally) pdu(leg Leg, dir int, id pdu.CommandID, st pdu.Status) {
	k := &t.last[int(leg)*2+dir]
	if k.idx < 0 || k.id != id || k.st != st {
		k.id, k.st, k.idx = id, st, cellIndex(leg, dir, id, st)
	} else if c := &t.cells[k.slot]; k.slot < t.used && c.idx == k.idx {
		c.n++
		return
	}
	for i := 0; i < t.used; i++ {
		if t.cells[i].idx == k.idx {
			t.cells[i].n++
			k.slot = i
			return
		}
	}
	if t.used == len(t.cells) {
		t.flush()
	}
	t.cells[t.used].idx, t.cells[t.used].n = k.idx, 1
	k.slot = t.used
	t.used++
}

// latency records the round trip of a request relayed on leg.
func (t *tally) latency(leg Leg, ns int64) {
	if t.latN > 0 && leg != t.latLeg {
		t.flush()
	}
	t.latLeg = leg
	t.lat[latencyBucket(ns)]++
	t.latN++
	t.latSum += ns
}

// verdict counts an Interceptor verdict.
func (t *tally) verdict(a Action) { t.verdicts[a]++ }

// flush publishes what was counted since the last flush.
func (t *tally) flush() {
	for a, n := range t.verdicts {
		if n > 0 {
			t.m.verdicts[a].Add(uint64(n))
			t.verdicts[a] = 0
		}
	}
	for i := 0; i < t.used; i++ {
		t.m.pdus[t.cells[i].idx].Add(uint64(t.cells[i].n))
	}
	t.used = 0
	if t.latN > 0 {
		h := &t.m.latency[t.latLeg]
		for i, n := range t.lat {
			if n > 0 {
				h.buckets[i].Add(uint64(n))
				t.lat[i] = 0
			}
		}
		h.sumNs.Add(t.latSum)
		t.latN, t.latSum = 0, 0
	}
}
