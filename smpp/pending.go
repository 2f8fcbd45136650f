package smpp

import (
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/optguard/optguard/smpp/pdu"
)

// origin says who sent a request that waits for its response.
type origin uint8

const (
	// relayed: a request from the other leg; its response goes back there.
	relayed origin = iota
	// injected: a PDU optguard originated for an Interceptor; its response is
	// handed to the injection's callback.
	injected
	// local: a hop-by-hop request of the session itself (enquire_link, unbind).
	local
)

// Request flags: rare state whose details live in a side table of the
// session, so that the slot stays 32 bytes.
const (
	// hasUnsuccess: a submit_multi relayed with destinations optguard refused;
	// the session's unsuccess table holds them until the response is merged.
	hasUnsuccess uint8 = 1 << iota
)

// request is an outstanding request on one leg.
type request struct {
	seq     uint32        // sequence number on this leg
	peerSeq uint32        // relayed: the sequence number on the other leg
	cmd     pdu.CommandID // the request's command id
	origin  origin
	flags   uint8
	sentAt  int64                        // monotonic nanoseconds (see now)
	done    func(resp []byte, err error) // injected and local: gets the response
}

// claimBit marks a slot that one goroutine is reading or moving. Sequence
// numbers never have it: they stop at 0x7FFFFFFF.
const claimBit = 0x80000000

// slot holds one outstanding request. seq is 0 when the slot is free, the
// request's sequence number when it is outstanding, and that number with
// claimBit while a goroutine that won it by compare-and-swap reads it. The
// other fields are written while seq is 0 by the producer and read by the
// claimer. A slot is 32 bytes, two to a cache line: consecutive sequence
// numbers share lines, which halves the cache misses of the producer and the
// consumer, who work on different cores.
type slot struct {
	seq     atomic.Uint32
	peerSeq uint32
	cmd     pdu.CommandID
	origin  origin
	flags   uint8 // in what was padding
	sentAt  int64
	done    func(resp []byte, err error)
}

// store writes r into a free slot (not seq: the caller publishes it).
func (sl *slot) store(r *request) {
	sl.peerSeq, sl.cmd, sl.origin, sl.flags, sl.sentAt, sl.done = r.peerSeq, r.cmd, r.origin, r.flags, r.sentAt, r.done
}

// load reads the request of a claimed slot whose sequence number is seq.
func (sl *slot) load(seq uint32) request {
	return request{seq: seq, peerSeq: sl.peerSeq, cmd: sl.cmd, origin: sl.origin, flags: sl.flags, sentAt: sl.sentAt, done: sl.done}
}

type ring struct {
	slots []slot
	mask  uint32
}

func newRing(n int) *ring { return &ring{slots: make([]slot, n), mask: uint32(n - 1)} }

// pending is the table of outstanding requests of one leg: a ring indexed by
// seq & mask. The leg assigns consecutive sequence numbers, so entries spread
// evenly; a slot still taken by a slow request is skipped (the number is not
// used), which keeps lookups a single index.
//
// The relay path is lock-free between the goroutine that adds requests (the
// other leg's reader) and the one that takes responses (this leg's reader):
// a take claims its slot with a compare-and-swap. Adding is serialized by mu,
// which only producers touch. The ring starts small, so that thousands of idle
// binds stay cheap, doubles up to twice the window under load, and goes back to
// its starting size when nothing is outstanding.
type pending struct {
	mu   sync.Mutex // serializes producers and ring replacement
	ring atomic.Pointer[ring]

	// Outstanding requests are added - taken. Each counter is written by one
	// side only, taken on its own cache line, so that counting does not bounce
	// a line between the producer's and the consumer's cores.
	added     int64 // guarded by mu
	takenSeen int64 // guarded by mu: taken as last read by a producer
	_         [48]byte
	taken     atomic.Int64
	_         [56]byte

	last   uint32 // guarded by mu: last sequence number assigned
	window int    // outstanding requests allowed (local ones may exceed it)
	max    int    // largest ring
}

const minPendingSlots = 16

func newPending(window int) *pending {
	max := minPendingSlots
	for max < 2*window+8 {
		max <<= 1
	}
	p := &pending{window: window, max: max}
	p.ring.Store(newRing(minPendingSlots))
	return p
}

// add assigns the next sequence number to r and records it. It refuses
// (ok=false) when the window is full, unless force is set: hop-by-hop requests
// of the session itself must go out even then.
func (p *pending) add(r request, force bool) (seq uint32, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	// added - takenSeen over-counts what is outstanding (takes since the last
	// read are missed): read taken again only when that estimate is too high.
	n := int(p.added - p.takenSeen)
	if 2*(n+1) > len(p.ring.Load().slots) || n >= p.window {
		p.takenSeen = p.taken.Load()
		n = int(p.added - p.takenSeen)
	}
	if n >= p.window && !force {
		return 0, false
	}
	rg := p.ring.Load()
	if 2*(n+1) > len(rg.slots) && len(rg.slots) < p.max {
		rg = p.growLocked(rg)
	}
	if n >= len(rg.slots) { // only reachable by forced adds on a full ring
		return 0, false
	}
	seq = p.nextFreeLocked(rg)
	sl := &rg.slots[seq&rg.mask]
	sl.store(&r)
	p.added++
	sl.seq.Store(seq) // publishes r
	return seq, true
}

// growLocked moves every outstanding request to a ring twice the size. Each
// slot is claimed before it is copied and stays claimed in the old ring, so a
// take that finds it there waits and looks again in the new ring.
func (p *pending) growLocked(old *ring) *ring {
	nr := newRing(2 * len(old.slots))
	for i := range old.slots {
		sl := &old.slots[i]
		for {
			s := sl.seq.Load()
			if s == 0 {
				break
			}
			if s&claimBit != 0 { // a take or an expiry scan is reading it
				runtime.Gosched()
				continue
			}
			if sl.seq.CompareAndSwap(s, s|claimBit) {
				r := sl.load(s)
				ns := &nr.slots[s&nr.mask]
				ns.store(&r)
				ns.seq.Store(s)
				break
			}
		}
	}
	p.ring.Store(nr)
	return nr
}

// nextFreeLocked advances the sequence counter to the next number whose slot is
// free. There is always one: the ring has more slots than outstanding requests.
func (p *pending) nextFreeLocked(rg *ring) uint32 {
	seq := p.last
	for {
		seq = pdu.NextSeq(seq)
		if rg.slots[seq&rg.mask].seq.Load() == 0 {
			p.last = seq
			return seq
		}
	}
}

// next assigns a sequence number to a request that has no response
// (alert_notification): it skips numbers of outstanding requests like add but
// records nothing.
func (p *pending) next() uint32 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.nextFreeLocked(p.ring.Load())
}

// take removes and returns the request with sequence number seq.
func (p *pending) take(seq uint32) (request, bool) {
	if seq == 0 || seq&claimBit != 0 {
		return request{}, false
	}
	for {
		rg := p.ring.Load()
		sl := &rg.slots[seq&rg.mask]
		switch sl.seq.Load() {
		case seq:
			if sl.seq.CompareAndSwap(seq, seq|claimBit) {
				return p.free(sl, seq), true
			}
		case seq | claimBit:
			// Being moved to a bigger ring or looked at by an expiry scan.
			runtime.Gosched()
		default:
			return request{}, false
		}
	}
}

// free empties a slot its caller claimed and returns the request it held.
func (p *pending) free(sl *slot, seq uint32) request {
	r := sl.load(seq)
	sl.done = nil // let go of the callback
	p.taken.Add(1)
	sl.seq.Store(0)
	return r
}

// expire removes the requests sent before deadline and appends them to dst. It
// also shrinks an empty ring back to its starting size, so a bind that was busy
// and is now idle gives the memory back.
func (p *pending) expire(deadline int64, dst []request) []request {
	rg := p.ring.Load()
	dst = p.removeOlder(rg, deadline, dst)
	if len(rg.slots) > minPendingSlots {
		p.mu.Lock()
		// With nothing outstanding and producers held off, no slot of the old
		// ring can be claimed or published any more.
		if p.lenLocked() == 0 && p.ring.Load() == rg {
			p.ring.Store(newRing(minPendingSlots))
		}
		p.mu.Unlock()
	}
	return dst
}

// removeOlder frees the slots of rg whose request was sent before deadline and
// appends their requests to dst. A slot claimed by someone else is left to them.
func (p *pending) removeOlder(rg *ring, deadline int64, dst []request) []request {
	for i := range rg.slots {
		sl := &rg.slots[i]
		s := sl.seq.Load()
		if s == 0 || s&claimBit != 0 || !sl.seq.CompareAndSwap(s, s|claimBit) {
			continue
		}
		if sl.sentAt < deadline {
			dst = append(dst, p.free(sl, s))
		} else {
			sl.seq.Store(s)
		}
	}
	return dst
}

// drain removes every request and returns them, oldest first. It holds off
// producers, so that no ring growth moves requests while it looks.
func (p *pending) drain() []request {
	const everything = int64(^uint64(0) >> 1)
	p.mu.Lock()
	out := p.removeOlder(p.ring.Load(), everything, nil)
	p.mu.Unlock()
	sortBySentAt(out)
	return out
}

// skipTo makes seq the last sequence number used: the bind exchange used 1
// before the session's table existed.
func (p *pending) skipTo(seq uint32) {
	p.mu.Lock()
	p.last = seq
	p.mu.Unlock()
}

// len returns the number of outstanding requests.
func (p *pending) len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lenLocked()
}

func (p *pending) lenLocked() int { return int(p.added - p.taken.Load()) }

func sortBySentAt(rs []request) {
	// Insertion sort: drained tables are small and this runs once per close.
	for i := 1; i < len(rs); i++ {
		for j := i; j > 0 && rs[j].sentAt < rs[j-1].sentAt; j-- {
			rs[j], rs[j-1] = rs[j-1], rs[j]
		}
	}
}
