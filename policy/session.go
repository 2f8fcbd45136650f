package policy

import (
	"github.com/optguard/optguard/smpp/pdu"
	"github.com/optguard/optguard/store"
)

// Session is one bind session's road to the MT verdict from memory, the
// relay's hot path for every MT that is forwarded or refused without the
// disk. It is the proxy's smpp.SessionMT as it is: the proxy keeps one per
// bind session and calls it directly, from the session's reader only (a
// Session is not safe for concurrent use): PrefetchMT once the MT's
// addresses are scanned, then QuickMT once the rest is. Between the two the
// relay scans the rest of the PDU, so that the handset's index entry,
// which relay traffic evicts between two MTs to the same handset, arrives
// meanwhile: the wait for it was most of the verdict's cost under load
// (docs/BENCHMARKS.md).
//
// A Session keeps what the session's MTs share (the bind's claim under the
// current table, its account) so that an MT does not look them up, and
// makes one call to the store for each half of the lookup. Whatever it
// cannot decide from memory (a first contact, sender scopes, submit_multi,
// an opt-out in flight) it leaves to Engine.MT by answering ok false.
// An MT it decides costs the relay no smpp.Verdict and no call into the
// adapter: together they were 2–3 % of the proxy's throughput.
type Session struct {
	// What every MT reads first, within two cache lines: under relay load
	// each line the verdict touches is a likely miss (docs/BENCHMARKS.md).
	e *Engine

	// What the session's MTs share under table tab: the account of the
	// bind's claim when the claim lets MTs take the fast path, else nil;
	// forward, the states (bit state<<1 | known) that the account's MTs
	// are forwarded in without another question (0 when the account also
	// limits countries); fast, the account's fast table in the store.
	tab     *table
	acct    *account
	forward uint8

	// What PrefetchMT found for the session's MT under tab, until QuickMT
	// takes it: probing says that probe holds the lookup it started.
	probing bool
	fast    store.FastTable
	probe   store.Probe

	systemID string
	session  uint64
}

// Session returns a Session for the bind session b.
func (e *Engine) Session(b Bind) *Session {
	return &Session{e: e, systemID: b.SystemID, session: b.Session}
}

// current brings the Session's account up to the current table. It is
// small enough to be inlined: the table changes only on a reload.
func (s *Session) current() {
	if t := s.e.tab.Load(); t != s.tab {
		s.follow(t)
	}
}

// follow takes table t's claim for the session's system_id.
func (s *Session) follow(t *table) {
	s.tab, s.acct, s.forward, s.fast = t, nil, 0, store.FastTable{}
	if c := t.claimFor(s.systemID); c.fast {
		s.acct = c.acct
		s.forward = forwardStates(c.acct)
	}
	s.probing = false // made under the old table's dial plan
}

// forwardStates is Session.forward for account a: the states, as bit
// state<<1 | known, that mtDecide forwards in.
func forwardStates(a *account) uint8 {
	if a.allowed != nil {
		return 0
	}
	var f uint8
	for st := store.StateUnknown; st < store.StateOptedOut; st++ {
		for _, known := range []bool{false, true} {
			if a.modeForwards(st, known) {
				f |= 1 << stateBit(st, known)
			}
		}
	}
	return f
}

func stateBit(st store.State, known bool) uint8 {
	b := uint8(st) << 1
	if known {
		b |= 1
	}
	return b
}

// PrefetchMT starts the lookup QuickMT will make for m, an MT of which
// only the addresses are scanned yet; it decides nothing and does not wait.
// QuickMT uses the lookup only while the table whose dial plan read the
// destination is current.
func (s *Session) PrefetchMT(m *pdu.Message) {
	s.current()
	s.probing = false
	a := s.acct
	b := s.e.bst
	if a == nil || b == nil || m.ID == pdu.SubmitMulti {
		return // QuickMT, through mtFast, reads the destination itself
	}
	var buf digits
	d, ok := a.plan.dest(&buf, m.Dest.TON, m.Dest.Addr)
	if !ok {
		return
	}
	if s.probing = b.StartFast(s.fast, d, &s.probe); !s.probing {
		s.refetch(b, a, d)
	}
}

// refetch is PrefetchMT's start of the lookup when the Session's handle on
// the account's fast table is stale or missing (the first MT, a rebuilt
// index, an organization that had no table yet, a first record of any name
// since the handle of an organization without records was made).
func (s *Session) refetch(b *store.Badger, a *account, d []byte) {
	r := a.ref.Load()
	if r == nil {
		return
	}
	if t, ok := b.FastTable(r); ok {
		s.fast = t
		s.probing = b.StartFast(t, d, &s.probe)
	}
}

// QuickMT is Engine.MT's answer from memory when it is forward or reject,
// without building a Decision (a copy of a dozen words per MT), in the
// proxy's terms (smpp.SessionMT): ok false when the MT needs Engine.MT
// itself; with ok, st is ESME_ROK to forward (a refusal's status never is:
// withSpecDefaults replaces a zero Organization.RefusedStatus). PrefetchMT
// must have been called for the same MT, or for none since the last
// QuickMT.
func (s *Session) QuickMT(m *pdu.Message) (st pdu.Status, ok bool) {
	e := s.e
	if s.probing && e.tab.Load() == s.tab && e.ov.n.Load() == 0 && e.rev.n.Load() == 0 {
		// The lookup PrefetchMT started for this MT (so the account takes
		// the fast path and the MT is not a submit_multi): its entry has
		// had the rest of the scan to arrive.
		s.probing = false
		if st, known, ok := s.probe.Finish(); ok {
			if s.forward>>stateBit(st, known)&1 != 0 {
				return pdu.ESME_ROK, true
			}
			a, st := e.mtDecide(s.acct, s.session, m, st, known)
			return st, a != Defer
		}
	}
	s.probing = false
	if t := e.tab.Load(); t != s.tab {
		s.follow(t)
	}
	a := s.acct
	if a == nil || m.ID == pdu.SubmitMulti || e.ov.n.Load() != 0 || e.rev.n.Load() != 0 {
		return pdu.ESME_ROK, false
	}
	act, st := e.mtFast(a, s.session, m)
	return st, act != Defer
}
