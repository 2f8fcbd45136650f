package policy

import (
	"sync"

	"github.com/optguard/optguard/smpp/pdu"
	"github.com/optguard/optguard/store"
)

// MT decides a submit_sm, data_sm or submit_multi from an ESME. It is the
// relay's hot path: the common answers (forward, refuse an opted-out
// handset) come from memory without allocating. What needs the disk (hold
// the first MT in consent mode, send the disclaimer before the first one in
// disclaimer mode) returns Defer with a task for Run.
func (e *Engine) MT(b Bind, m *pdu.Message, raw []byte) Decision {
	t := e.tab.Load()
	c := e.claimOf(t, b)
	if c.fast && m.ID != pdu.SubmitMulti && e.ov.n.Load() == 0 && e.rev.n.Load() == 0 {
		if a, st := e.mtFast(c.acct, b.Session, m); a != Defer {
			return Decision{Action: a, Status: st}
		}
	}
	return e.mtSlow(c, b, m, raw)
}

// mtFast decides the common MT from memory with the fewest steps: an
// account with organization scope and no sender prefixes (so neither the
// organization nor the scope depends on the sender), no opt-out in flight
// and no scope under review. The handset's digits are turned into its
// store.Handset and the store is asked with words only. When the answer
// needs more than memory (a first contact) it returns Defer, for mtSlow to
// take over.
func (e *Engine) mtFast(a *account, session uint64, m *pdu.Message) (Action, pdu.Status) {
	var buf digits
	d, ok := a.plan.dest(&buf, m.Dest.TON, m.Dest.Addr)
	if !ok {
		e.m.mt.add(session, mtNotNumber)
		return Forward, 0
	}
	state, known := e.state(a, d)
	return e.mtDecide(a, session, m, state, known)
}

// handset is the store's Handset of E.164 digits. Through the Store
// interface d would escape, and every MT's digit buffer with it, so that
// path copies them first.
func (e *Engine) handset(d []byte) store.Handset {
	if b := e.bst; b != nil {
		return b.Handset(d)
	}
	c := make([]byte, len(d))
	copy(c, d)
	return e.st.Handset(c)
}

// mtDecide is mtFast's verdict for m once its handset's state is known.
func (e *Engine) mtDecide(a *account, session uint64, m *pdu.Message, state store.State, known bool) (Action, pdu.Status) {
	switch {
	case state == store.StateOptedOut:
		e.m.mt.add(session, mtOptedOut)
		return Reject, a.main.spec.RefusedStatus
	case a.allowed != nil && !a.allowsDest(m):
		e.m.mt.add(session, mtCountry)
		return Reject, a.main.spec.RefusedStatus
	case !a.modeForwards(state, known):
		return Defer, 0
	}
	// Forwarded MTs are not counted here: the proxy counts every relayed
	// PDU (optguard_pdus_total), and one locked add per MT is a cost the
	// relay can feel.
	return Forward, 0
}

// modeForwards reports whether a's mode lets an MT through to a handset in
// state (known: the scope has a record) without a consent request or a
// disclaimer first; opt-outs and allowed countries are mtDecide's own.
func (a *account) modeForwards(state store.State, known bool) bool {
	switch a.mode {
	case ModeConsent:
		return state == store.StateOptedIn
	case ModeDisclaimer:
		return known
	}
	return true
}

// state asks the store about an organization scope of a and the handset
// whose E.164 digits are d, through the account's resolved organization
// when it has one. The handset's pseudonym is made only when the
// organization has records to look it up in.
func (e *Engine) state(a *account, d []byte) (store.State, bool) {
	r := a.ref.Load()
	if b := e.bst; b != nil && r != nil {
		// Direct calls: see Engine.bst.
		if b.Resolved(*r) {
			return b.StateRef(r, b.Handset(d))
		}
		if b.Unrecorded(*r) {
			return store.StateUnknown, false
		}
	}
	if r == nil || !e.st.Resolved(*r) {
		if r == nil || !e.st.Unrecorded(*r) {
			r = e.resolve(a)
		}
		if !e.st.Resolved(*r) {
			// The index has no record of the organization at all (a new
			// installation, or mode off before the first opt-out). An
			// opt-out on its way is in the overlay, which MT checked
			// first.
			return store.StateUnknown, false
		}
	}
	return e.st.StateRef(r, e.handset(d))
}

// resolve stores the account's organization as the store's index has it
// now, resolved or, when it has no record yet, Unrecorded until it may
// have one; apart from the MT path so that only a resolution allocates
// (once per name the index gets, while the organization has no record).
func (e *Engine) resolve(a *account) *store.OrgRef {
	p := new(store.OrgRef)
	*p = e.st.ResolveOrg(a.name)
	a.ref.Store(p)
	return p
}

// claimOf finds the bind's claim through a small cache by session: the
// system_id of a session never changes, so one map lookup per session
// serves every MT it sends, until the table is reloaded.
func (e *Engine) claimOf(t *table, b Bind) *claim {
	slot := &e.claims[b.Session%uint64(len(e.claims))]
	if ce := slot.Load(); ce != nil && ce.session == b.Session && ce.tab == t && ce.systemID == b.SystemID {
		return ce.claim
	}
	c := t.claimFor(b.SystemID)
	slot.Store(&claimEntry{session: b.Session, systemID: b.SystemID, tab: t, claim: c})
	return c
}

// claimEntry is one slot of Engine.claims. The system_id is compared too
// (a pointer compare for the session's own string), so that a caller that
// does not number its sessions cannot be given another bind's claim.
type claimEntry struct {
	session  uint64
	systemID string
	tab      *table
	claim    *claim
}

// mtSlow is MT for everything mtFast leaves: sender scopes, sender
// prefixes, submit_multi, opt-outs in flight, scopes under review, and
// first contacts that need the disk.
func (e *Engine) mtSlow(c *claim, b Bind, m *pdu.Message, raw []byte) Decision {
	a := c.acct
	sc := scratchPool.Get().(*mtScratch)
	defer scratchPool.Put(sc)
	sender, numeric := a.plan.e164(&sc.sender, m.Source.TON, m.Source.Addr)
	if !numeric {
		sender = m.Source.Addr
	}
	o := c.orgFor(sender)
	if m.ID == pdu.SubmitMulti {
		return e.mtMulti(o, b, m, raw, sender, &sc.handset)
	}
	num, ok := a.plan.e164(&sc.handset, m.Dest.TON, m.Dest.Addr)
	if !ok {
		// Not a phone number (an alphanumeric or empty destination): no
		// handset whose consent could be checked.
		e.m.mt.add(b.Session, mtNotNumber)
		return Decision{}
	}
	v := e.verdict(o, sender, num)
	switch v {
	case mtForward:
		return Decision{}
	case mtNeedsDisclaimer, mtNeedsConsent, mtUnderReview:
		e.m.mt.add(b.Session, v)
		return Decision{Action: Defer, task: e.mtTask(o, b, m, raw, sender, num, v)}
	}
	e.m.mt.add(b.Session, v)
	return Decision{Action: Reject, Status: o.acct.main.spec.RefusedStatus}
}

// mtScratch holds the E.164 digits of one MT's sender and handset. They
// are handed to the store through its interface, which makes the compiler
// put buffers declared in MT on the heap, once per MT; a pool keeps the hot
// path free of allocation.
type mtScratch struct{ sender, handset digits }

var scratchPool = sync.Pool{New: func() any { return new(mtScratch) }}

// mtVerdict is what memory says of one MT destination; the values index the
// MT metrics.
type mtVerdict uint8

const (
	mtForwarded mtVerdict = iota
	mtOptedOut
	mtCountry
	mtNoConsent // submit_multi in consent mode: refused, never held
	mtNeedsConsent
	mtNeedsDisclaimer
	mtNotNumber
	mtUnderReview // a possible opt-out waits for a person: held
	numMTVerdicts

	mtForward = mtForwarded
)

var mtVerdictNames = [...]string{"forwarded", "opted_out", "country", "no_consent", "held", "disclaimer", "not_a_number", "review"}

// verdict decides one destination from memory. sender is the sender's
// E.164 digits (or its raw address when it is not a number), num the
// handset's.
func (e *Engine) verdict(o *org, sender, num []byte) mtVerdict {
	a := o.acct
	var scopeSender []byte
	if a.main.spec.Scope == ScopeSender {
		scopeSender = sender
	}
	revokeAll := a.main.spec.RevokeAll && scopeSender != nil
	// The in-memory key is only built while an opt-out is in flight or a
	// scope is under review.
	var k ovKey
	if e.ov.n.Load() != 0 || e.rev.n.Load() != 0 {
		k = ovKey{acct: a.key}
		k.number, _ = packDigits(num)
		if scopeSender != nil {
			k.sender = senderKey(sender)
		}
		if e.ov.has(k, revokeAll) {
			return mtOptedOut
		}
	}
	cur, known := e.st.LookupBytes(a.name, scopeSender, num)
	if cur.State == store.StateOptedOut {
		return mtOptedOut
	}
	if k.acct != 0 && e.rev.has(k) {
		return mtUnderReview
	}
	if revokeAll && e.st.StateBytes(a.name, nil, num) == store.StateOptedOut {
		return mtOptedOut
	}
	if !a.allows(num) {
		return mtCountry
	}
	switch a.mode {
	case ModeConsent:
		if cur.State != store.StateOptedIn {
			return mtNeedsConsent
		}
	case ModeDisclaimer:
		if !known {
			return mtNeedsDisclaimer
		}
	}
	return mtForward
}

// mtTask copies what the lane needs of an MT whose decision needs the disk.
func (e *Engine) mtTask(o *org, b Bind, m *pdu.Message, raw, sender, num []byte, v mtVerdict) *task {
	t := &task{
		kind:    taskHoldMT,
		mt:      true,
		org:     o,
		bind:    b,
		at:      e.now(),
		scope:   e.scopeOf(o, sender, num),
		handset: addrOf(m.Dest),
		sender:  addrOf(m.Source),
		pdu:     append([]byte(nil), raw...),
		receipt: m.RegisteredDelivery&0x03 != 0,
	}
	switch v {
	case mtNeedsDisclaimer:
		t.kind = taskDisclaimer
	case mtUnderReview:
		t.review = true
	}
	return t
}

// scopeOf is the consent scope of a handset for an organization's account.
func (e *Engine) scopeOf(o *org, sender, num []byte) store.Scope {
	s := store.Scope{Org: o.acct.name, Number: "+" + string(num)}
	if o.acct.main.spec.Scope == ScopeSender {
		s.Sender = string(sender)
	}
	return s
}

func addrOf(a pdu.Address) pdu.Addr {
	return pdu.Addr{TON: a.TON, NPI: a.NPI, Addr: string(a.Addr)}
}

// mtMulti decides a submit_multi destination by destination (DESIGN step
// 5). Destinations that may receive are relayed and refused ones are taken
// out of the relayed PDU and listed in submit_multi_resp's unsuccess_sme.
// It never holds and never asks for consent: seed 000 says group messaging
// and consent mode exclude each other, so in consent mode a destination
// without consent is refused. A distribution list cannot be checked (the
// SMSC expands it), so it is refused in consent mode and relayed otherwise.
func (e *Engine) mtMulti(o *org, b Bind, m *pdu.Message, raw, sender []byte, hbuf *digits) Decision {
	a := o.acct
	var refused []pdu.UnsuccessSME
	needDisclaimer := false
	it := m.Dests()
	for {
		d, ok := it.Next()
		if !ok {
			break
		}
		if d.Flag != pdu.DestSME {
			if a.mode == ModeConsent {
				refused = append(refused, pdu.UnsuccessSME{Addr: string(d.DLName), Status: a.main.spec.RefusedStatus})
			}
			continue
		}
		num, ok := a.plan.e164(hbuf, d.Addr.TON, d.Addr.Addr)
		if !ok {
			continue
		}
		v := e.verdict(o, sender, num)
		if v == mtNeedsConsent {
			v = mtNoConsent
		}
		e.m.mt.add(b.Session, v)
		switch v {
		case mtForward:
		case mtNeedsDisclaimer:
			needDisclaimer = true
		default:
			refused = append(refused, pdu.UnsuccessSME{TON: d.Addr.TON, NPI: d.Addr.NPI, Addr: string(d.Addr.Addr), Status: a.main.spec.RefusedStatus})
		}
	}
	if len(refused) == 0 && !needDisclaimer {
		return Decision{}
	}
	if len(refused) == m.NumDests {
		return Decision{Action: Reject, Status: a.main.spec.RefusedStatus, Unsuccess: refused}
	}
	d := Decision{Unsuccess: refused}
	if len(refused) > 0 {
		out, kept, err := pdu.AppendSubmitMultiWithout(nil, raw, m, func(_ int, dst pdu.Dest) bool {
			return !isRefused(refused, dst)
		})
		if err != nil || kept == 0 {
			return Decision{Action: Reject, Status: a.main.spec.RefusedStatus, Unsuccess: refused}
		}
		d.Action, d.Replace = Replace, out
	}
	if needDisclaimer {
		t := &task{kind: taskDisclaimer, mt: true, org: o, bind: b, at: e.now(), sender: addrOf(m.Source), pdu: raw}
		if d.Replace != nil {
			t.pdu = d.Replace
		} else {
			t.pdu = append([]byte(nil), raw...)
		}
		t.multi = d.Unsuccess
		return Decision{Action: Defer, task: t}
	}
	return d
}

func isRefused(refused []pdu.UnsuccessSME, d pdu.Dest) bool {
	for _, r := range refused {
		if d.Flag == pdu.DestSME && r.TON == d.Addr.TON && r.NPI == d.Addr.NPI && r.Addr == string(d.Addr.Addr) {
			return true
		}
		if d.Flag == pdu.DestDistributionList && r.Addr == string(d.DLName) && r.TON == 0 && r.NPI == 0 {
			return true
		}
	}
	return false
}
