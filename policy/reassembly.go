package policy

import (
	"container/list"
	"sync"
	"time"

	"github.com/optguard/optguard/smpp/pdu"
)

// A keyword split over concatenated parts ("ST" + "OP", or a long "please
// stop texting me" in two UCS2 parts) must be seen whole, so the parts of
// an MO are put together here, for detection only: every part is still
// relayed (or held) as it arrived. The parts' user data is joined before
// it is decoded, not their texts, because a part may end inside a
// character that only the next part completes (handsets and SMSCs that cut
// UCS2 by octets split a character or an emoji's surrogate pair). Parts
// are keyed by account, handset, sender and reference; a message whose
// parts do not all come within the timeout is given up, and memory is
// bounded by the number of partial messages kept (the oldest is given up
// first).

type partKey struct {
	acct    *account
	handset uint64
	sender  uint64
	ref     uint16
	total   uint8
}

type partial struct {
	key   partKey
	since time.Time
	raw   [][]byte // user data by part, 0-based; nil until it arrives
	dc    []byte   // data_coding by part
	have  int
	elem  *list.Element
}

type reassembler struct {
	mu      sync.Mutex
	max     int                  // guarded by mu
	timeout time.Duration        // guarded by mu
	byKey   map[partKey]*partial // guarded by mu
	order   *list.List           // guarded by mu: oldest first
	dropped uint64               // guarded by mu: given up (timeout or bound)
}

func newReassembler(max int, timeout time.Duration) *reassembler {
	return &reassembler{max: max, timeout: timeout, byKey: map[partKey]*partial{}, order: list.New()}
}

func (r *reassembler) configure(max int, timeout time.Duration) {
	r.mu.Lock()
	r.max, r.timeout = max, timeout
	r.mu.Unlock()
}

// add files part (1-based) of the message k, its data_coding and user
// data. When it completes the message, it returns the whole text and user
// data and true; otherwise false. A part seen twice (an SMSC redelivery)
// replaces the first.
func (r *reassembler) add(k partKey, part uint8, dc byte, raw []byte, now time.Time) (text, ud []byte, complete bool) {
	if part == 0 || part > k.total {
		return nil, nil, false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.byKey[k]
	if p == nil {
		for r.order.Len() >= r.max {
			r.dropLocked(r.order.Front().Value.(*partial))
		}
		p = &partial{key: k, since: now, raw: make([][]byte, k.total), dc: make([]byte, k.total)}
		p.elem = r.order.PushBack(p)
		r.byKey[k] = p
	}
	i := int(part) - 1
	if p.raw[i] == nil {
		p.have++
	}
	p.raw[i] = append([]byte{}, raw...)
	p.dc[i] = dc
	if p.have < int(k.total) {
		return nil, nil, false
	}
	r.order.Remove(p.elem)
	delete(r.byKey, k)
	// A run of parts in one data_coding is decoded as one; a part in
	// another coding (a handset may choose the coding part by part) is
	// decoded on its own.
	for i := 0; i < len(p.raw); {
		start := len(ud)
		j := i
		for ; j < len(p.raw) && p.dc[j] == p.dc[i]; j++ {
			ud = append(ud, p.raw[j]...)
		}
		text, _ = pdu.AppendText(text, p.dc[i], ud[start:])
		i = j
	}
	return text, ud, true
}

func (r *reassembler) dropLocked(p *partial) {
	r.order.Remove(p.elem)
	delete(r.byKey, p.key)
	r.dropped++
}

// sweep gives up messages older than the timeout.
func (r *reassembler) sweep(now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for e := r.order.Front(); e != nil; {
		p := e.Value.(*partial)
		if now.Sub(p.since) < r.timeout {
			break
		}
		e = e.Next()
		r.dropLocked(p)
	}
}

// stats returns the partial messages kept and how many were given up.
func (r *reassembler) stats() (int, uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.order.Len(), r.dropped
}
