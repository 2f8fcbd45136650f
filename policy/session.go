package policy

import (
	"github.com/optguard/optguard/smpp/pdu"
	"github.com/optguard/optguard/store"
)

// Session is one bind session's road to the MT verdict from memory, the
// relay's hot path for every MT that is forwarded or refused without the
// disk. The proxy keeps one per session and calls it from the session's
// reader only (a Session is not safe for concurrent use): Prefetch once the MT's
// addresses are scanned, then MT once the rest is. Between the two the
// relay scans the rest of the PDU, so that the handset's index entry,
// which relay traffic evicts between two MTs to the same handset, arrives
// meanwhile: the wait for it was most of the verdict's cost under load
// (docs/BENCHMARKS.md).
//
// A Session keeps what the session's MTs share (the bind's claim under the
// current table, its account) so that an MT does not look them up, and
// makes one call to the store for each half of the lookup. Whatever it
// cannot decide from memory (a first contact, sender scopes, submit_multi,
// an opt-out in flight) it leaves to Engine.MT by answering Defer.
type Session struct {
	e        *Engine
	systemID string
	session  uint64

	// What the session's MTs share under table tab: the account of the
	// bind's claim when the claim lets MTs take the fast path, else nil.
	tab  *table
	acct *account

	// What Prefetch found for the session's last MT under tab: hint is
	// what it returned (the destination's packed digits; 0 for none), and
	// probing says that probe holds the lookup it started.
	hint    uint64
	probing bool
	probe   store.Probe
}

// Session returns a Session for the bind session b.
func (e *Engine) Session(b Bind) *Session {
	return &Session{e: e, systemID: b.SystemID, session: b.Session}
}

// current returns the table and brings the Session's account up to it.
func (s *Session) current() *table {
	t := s.e.tab.Load()
	if t != s.tab {
		s.tab, s.acct = t, nil
		if c := t.claimFor(s.systemID); c.fast {
			s.acct = c.acct
		}
		s.hint, s.probing = 0, false // made under the old table's dial plan
	}
	return t
}

// Prefetch starts the lookup MT will make for m, an MT of which only the
// addresses are scanned yet, and returns a hint for MT (0 for none); it
// decides nothing and does not wait. The hint is the destination's packed
// digits, so that MT does not pack them again; MT uses it only while the
// table it was packed under is current.
func (s *Session) Prefetch(m *pdu.Message) uint64 {
	s.current()
	s.hint, s.probing = 0, false
	a := s.acct
	if a == nil || m.ID == pdu.SubmitMulti {
		return 0
	}
	num, ok := a.plan.pack(m.Dest.TON, m.Dest.Addr)
	if !ok {
		return 0
	}
	s.hint = num
	if b, r := s.e.bst, a.ref.Load(); b != nil && r != nil {
		s.probing = b.StartProbe(r, num, &s.probe)
	}
	return num
}

// MT is Engine.MT's answer from memory when it is forward or reject,
// without building a Decision (a copy of a dozen words per MT); Defer
// means the MT needs Engine.MT itself. hint is what Prefetch returned for
// the same MT, or 0.
func (s *Session) MT(m *pdu.Message, hint uint64) (Action, pdu.Status) {
	s.current()
	e := s.e
	a := s.acct
	if a == nil || m.ID == pdu.SubmitMulti || e.ov.n.Load() != 0 || e.rev.n.Load() != 0 {
		return Defer, 0
	}
	if hint == 0 || hint != s.hint {
		return e.mtFast(a, s.session, m, 0) // no hint, or one from before a reload
	}
	if s.probing {
		// The lookup Prefetch started for this MT: its entry has had the
		// rest of the scan to arrive.
		s.probing = false
		if st, known, ok := s.probe.Finish(); ok {
			return e.mtDecide(a, s.session, hint, st, known)
		}
	}
	return e.mtFast(a, s.session, m, hint)
}
