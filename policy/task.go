package policy

import (
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/optguard/optguard/policy/keywords"
	"github.com/optguard/optguard/smpp/pdu"
	"github.com/optguard/optguard/store"
)

// taskKind is the durable work a deferred PDU needs.
type taskKind uint8

const (
	taskHoldMT         taskKind = iota // consent mode, no consent yet: hold the MT, ask the handset
	taskDisclaimer                     // disclaimer mode, first contact: record and send the disclaimer before the MT
	taskHoldMO                         // consent mode, the handset writes first: hold its MO, ask it
	taskOptOut                         // an opt-out keyword or phrase
	taskOptIn                          // an opt-in keyword
	taskHelp                           // a help keyword
	taskReview                         // a possible opt-out: record it for a person
	taskRecoverRequest                 // a held message whose consent request a crash interrupted (no PDU to answer)
	taskOperator                       // an operator's action (agent.go): no PDU, a caller waiting
)

var taskNames = [...]string{"hold_mt", "disclaimer", "hold_mo", "opt_out", "opt_in", "help", "review", "recover_request", "operator"}

func (k taskKind) String() string { return taskNames[k] }

// task is one deferred PDU with what was learned of it on the reader: a
// copy of the PDU and of every field the lane needs, since the read buffer
// is reused once the interceptor returns.
type task struct {
	kind taskKind
	mt   bool
	org  *org
	bind Bind
	at   time.Time // arrival

	scope   store.Scope // Org is the account; Number is E.164 with '+'
	handset pdu.Addr    // the handset as addressed in the PDU
	sender  pdu.Addr    // the sender (employee line) as addressed in the PDU
	pdu     []byte

	receipt bool               // the MT asked for a delivery receipt
	review  bool               // hold the MT for a person's review, not for consent
	multi   []pdu.UnsuccessSME // a submit_multi's refused destinations
	text    string
	mo      *store.MO
	class   keywords.Result

	// reassembled is set when the keyword was found in a concatenated MO
	// whose earlier parts were relayed (or held) on their own.
	reassembled bool
	// incomplete is set on a part of a concatenated MO whose other parts
	// have not all come: it carries no decision of its own.
	incomplete bool

	// actor and method are who acted and how, for an operator's task;
	// the events it records say so (zero: optguard itself).
	actor  string
	method store.Method
	// op is an operator task's work, run in the scope's lane.
	op func(t *task)

	resp     Responder
	finished bool
	// proof are the events recording texts the task sent, written in
	// order once the task is done.
	proof []store.Change
	ovKey ovKey
}

// viaFor is the Change.Via of an event of scope s in t's conversation:
// the sender's address as a scope would keep it (its E.164 digits, or the
// alphanumeric address), so that the ledger says which line the
// conversation was with; "" when s has a sender (it says so itself), no
// sender is known, or the sender is the handset itself (a phone texting
// its own number, a load test's source among its handsets): Via is kept
// in the clear, so it must never be the handset's number.
func (t *task) viaFor(s store.Scope) string {
	if s.Sender != "" || t.sender.Addr == "" || t.org == nil {
		return ""
	}
	via := t.sender.Addr
	var buf digits
	if d, ok := t.org.acct.plan.e164(&buf, t.sender.TON, []byte(t.sender.Addr)); ok {
		if len(s.Number) == len(d)+1 && s.Number[1:] == string(d) {
			return ""
		}
		via = string(d)
	}
	if via == s.Number || via == strings.TrimPrefix(s.Number, "+") {
		return ""
	}
	return via
}

func (t *task) finish(d Decision) error {
	t.finished = true
	if t.resp == nil {
		return nil // a task of optguard's own: no PDU waits for it
	}
	return t.resp.Finish(d)
}

// tempStatus is the answer to a PDU optguard cannot take now, chosen so that
// the peer sends it again: ESMEs retry ESME_RTHROTTLED (Kannel, for one,
// re-queues it), SMSCs redeliver after ESME_RX_T_APPN.
func tempStatus(mt bool) pdu.Status {
	if mt {
		return pdu.ESME_RTHROTTLED
	}
	return pdu.ESME_RX_T_APPN
}

// diskFullStatus is the answer to a PDU that needs a durable write while
// the store's disk is below its reserve. An MT gets ESME_RMSGQFUL: optguard
// cannot queue (hold) it, ESMEs resend it later rather than drop it, and,
// unlike ESME_RTHROTTLED, it does not ask them to slow down the MTs that
// need no write and still go through. An MO gets ESME_RX_T_APPN, SMPP
// 3.4's temporary error of the receiving application: the SMSC keeps the
// message and delivers it again on its retry schedule, so a STOP is
// recorded once there is room (ESME_RSYSERR would say the ESME is broken
// rather than that this message should come again).
func diskFullStatus(mt bool) pdu.Status {
	if mt {
		return pdu.ESME_RMSGQFUL
	}
	return pdu.ESME_RX_T_APPN
}

// The opt-out overlay makes an opt-out take effect before the next MT is
// read, although its durable write is still in a lane: MO marks the scope
// here on the SMSC's reader before it returns, MT refuses a marked scope,
// and the lane clears the mark once the store's index says opted_out (or
// the write failed and the SMSC will send the STOP again). The MT path
// pays one atomic load while no opt-out is in flight.
type overlay struct {
	n  atomic.Int64
	mu sync.RWMutex
	m  map[ovKey]int32 // guarded by mu: opt-outs in flight per scope
}

// ovKey names a scope in memory: the account, the sender's digits (0 for
// organization scope, or a hash of a non-numeric sender) and the handset.
type ovKey struct {
	acct   uint64 // account.key: a hash of its name, stable across reloads
	sender uint64
	number uint64
}

func (o *overlay) add(k ovKey) {
	o.mu.Lock()
	if o.m == nil {
		o.m = make(map[ovKey]int32)
	}
	o.m[k]++
	o.mu.Unlock()
	o.n.Add(1)
}

func (o *overlay) done(t *task) {
	if t.ovKey.acct == 0 {
		return
	}
	k := t.ovKey
	t.ovKey = ovKey{}
	o.mu.Lock()
	if o.m[k]--; o.m[k] <= 0 {
		delete(o.m, k)
	}
	o.mu.Unlock()
	o.n.Add(-1)
}

// has reports whether an opt-out of k (or, with revokeAll, of the whole
// account for the handset) is in flight.
func (o *overlay) has(k ovKey, revokeAll bool) bool {
	if o.n.Load() == 0 {
		return false
	}
	o.mu.RLock()
	_, hit := o.m[k]
	if !hit && revokeAll && k.sender != 0 {
		k.sender = 0
		_, hit = o.m[k]
	}
	o.mu.RUnlock()
	return hit
}

// senderKey packs a sender for ovKey: its digits when it is a number, else
// an FNV-1a hash with the top bit set (so it cannot equal a number).
func senderKey(s []byte) uint64 {
	if v, ok := packDigits(s); ok {
		return v
	}
	h := uint64(14695981039346656037)
	for _, c := range s {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h | 1<<63
}

// reviewSet is the scopes whose later MTs are held until a person decides
// on a possible opt-out (organizations with possible_opt_out: hold). Like
// the overlay, the MT path pays one atomic load while it is empty.
type reviewSet struct {
	n  atomic.Int64
	mu sync.RWMutex
	m  map[ovKey]struct{} // guarded by mu
}

func (r *reviewSet) add(k ovKey) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil {
		r.m = make(map[ovKey]struct{})
	}
	if _, ok := r.m[k]; !ok {
		r.m[k] = struct{}{}
		r.n.Add(1)
	}
}

func (r *reviewSet) remove(k ovKey) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.m[k]; ok {
		delete(r.m, k)
		r.n.Add(-1)
	}
}

func (r *reviewSet) has(k ovKey) bool {
	if r.n.Load() == 0 {
		return false
	}
	r.mu.RLock()
	_, ok := r.m[k]
	r.mu.RUnlock()
	return ok
}

// scopeKey is the in-memory key of a stored scope.
func scopeKey(s store.Scope) ovKey {
	k := ovKey{acct: nameKey(s.Org), number: 0}
	k.number, _ = packDigits([]byte(s.Number[min(1, len(s.Number)):]))
	if s.Sender != "" {
		k.sender = senderKey([]byte(s.Sender))
	}
	return k
}

// nameKey hashes an account name (FNV-1a; never 0).
func nameKey(name string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(name); i++ {
		h ^= uint64(name[i])
		h *= 1099511628211
	}
	return h | 1
}

// removeNumber takes every scope of the handset whose packed digits are
// number out of the set (an erasure: whatever was under review is gone).
func (r *reviewSet) removeNumber(number uint64) {
	if r.n.Load() == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for k := range r.m {
		if k.number == number {
			delete(r.m, k)
			r.n.Add(-1)
		}
	}
}
