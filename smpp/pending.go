package smpp

import (
	"sync"

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

// request is an outstanding request on one leg.
type request struct {
	seq     uint32        // sequence number on this leg; 0 marks a free slot
	peerSeq uint32        // relayed: the sequence number on the other leg
	cmd     pdu.CommandID // the request's command id
	origin  origin
	sentAt  int64                        // monotonic nanoseconds (see now)
	done    func(resp []byte, err error) // injected and local: gets the response
}

// pending is the table of outstanding requests of one leg: a ring indexed by
// seq & mask. The leg assigns consecutive sequence numbers, so entries spread
// evenly; a slot still taken by a slow request is skipped (the number is not
// used), which keeps lookups a single index. The ring starts small, so that
// thousands of idle binds stay cheap, and doubles up to twice the window.
type pending struct {
	mu     sync.Mutex
	slots  []request // guarded by mu; len is a power of two
	count  int       // guarded by mu: taken slots
	last   uint32    // guarded by mu: last sequence number assigned
	window int       // outstanding requests allowed (local ones may exceed it)
	max    int       // largest len(slots)
}

const minPendingSlots = 16

func newPending(window int) *pending {
	max := minPendingSlots
	for max < 2*window+8 {
		max <<= 1
	}
	return &pending{slots: make([]request, minPendingSlots), window: window, max: max}
}

// add assigns the next sequence number to r and records it. It refuses
// (ok=false) when the window is full, unless force is set: hop-by-hop requests
// of the session itself must go out even then.
func (p *pending) add(r request, force bool) (seq uint32, ok bool) {
	p.mu.Lock()
	if p.count >= p.window && !force {
		p.mu.Unlock()
		return 0, false
	}
	if 2*(p.count+1) > len(p.slots) && len(p.slots) < p.max {
		p.growLocked()
	}
	if p.count >= len(p.slots) { // only reachable by forced adds on a full ring
		p.mu.Unlock()
		return 0, false
	}
	seq = p.nextFreeLocked()
	r.seq = seq
	p.slots[seq&uint32(len(p.slots)-1)] = r
	p.count++
	p.mu.Unlock()
	return seq, true
}

func (p *pending) growLocked() {
	old := p.slots
	p.slots = make([]request, 2*len(old))
	mask := uint32(len(p.slots) - 1)
	for _, r := range old {
		if r.seq != 0 {
			p.slots[r.seq&mask] = r
		}
	}
}

// next assigns a sequence number to a request that has no response
// (alert_notification): it skips numbers of outstanding requests like add but
// records nothing.
func (p *pending) next() uint32 {
	p.mu.Lock()
	seq := p.nextFreeLocked()
	p.mu.Unlock()
	return seq
}

// nextFreeLocked advances the sequence counter to the next number whose slot is
// free. There is always one: the ring has more slots than outstanding requests.
func (p *pending) nextFreeLocked() uint32 {
	mask := uint32(len(p.slots) - 1)
	seq := p.last
	for {
		seq = pdu.NextSeq(seq)
		if p.slots[seq&mask].seq == 0 {
			p.last = seq
			return seq
		}
	}
}

// take removes and returns the request with sequence number seq.
func (p *pending) take(seq uint32) (request, bool) {
	p.mu.Lock()
	i := seq & uint32(len(p.slots)-1)
	r := p.slots[i]
	if r.seq != seq || seq == 0 {
		p.mu.Unlock()
		return request{}, false
	}
	p.slots[i] = request{}
	p.count--
	p.mu.Unlock()
	return r, true
}

// expire removes the requests sent before deadline and appends them to dst. It
// also shrinks an empty ring back to its starting size, so a bind that was busy
// and is now idle gives the memory back.
func (p *pending) expire(deadline int64, dst []request) []request {
	p.mu.Lock()
	if p.count > 0 {
		for i := range p.slots {
			if r := p.slots[i]; r.seq != 0 && r.sentAt < deadline {
				dst = append(dst, r)
				p.slots[i] = request{}
				p.count--
			}
		}
	}
	if p.count == 0 && len(p.slots) > minPendingSlots {
		p.slots = make([]request, minPendingSlots)
	}
	p.mu.Unlock()
	return dst
}

// drain removes every request and returns them, oldest first.
func (p *pending) drain() []request {
	p.mu.Lock()
	var out []request
	for i := range p.slots {
		if p.slots[i].seq != 0 {
			out = append(out, p.slots[i])
			p.slots[i] = request{}
		}
	}
	p.count = 0
	p.mu.Unlock()
	sortBySentAt(out)
	return out
}

// len returns the number of outstanding requests.
func (p *pending) len() int {
	p.mu.Lock()
	n := p.count
	p.mu.Unlock()
	return n
}

// has reports whether a local request of command cmd is outstanding.
func (p *pending) hasLocal(cmd pdu.CommandID) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.count == 0 {
		return false
	}
	for i := range p.slots {
		if r := p.slots[i]; r.seq != 0 && r.origin == local && r.cmd == cmd {
			return true
		}
	}
	return false
}

func sortBySentAt(rs []request) {
	// Insertion sort: drained tables are small and this runs once per close.
	for i := 1; i < len(rs); i++ {
		for j := i; j > 0 && rs[j].sentAt < rs[j-1].sentAt; j-- {
			rs[j], rs[j-1] = rs[j-1], rs[j]
		}
	}
}
