package smpp

import (
	"slices"
	"sync"

	"github.com/optguard/optguard/smpp/pdu"
)

// submit_multi is decided per destination: the Interceptor may refuse some
// (Verdict.Unsuccess) and relay the rest. The refusals must reach the ESME in
// the submit_multi_resp, merged after the SMSC's own, so they are kept from the
// relay until the response comes back: in a side table of the leg the request
// went out on, keyed by its sequence number there, with a flag in the pending
// slot saying to look. The table is touched only for such requests, so the
// relay path and the 32-byte slots stay as they are.

// unsuccessTable holds the refused destinations of submit_multi requests in
// flight on one leg.
type unsuccessTable struct {
	mu sync.Mutex
	m  map[uint32][]pdu.UnsuccessSME // guarded by mu; nil until first used
}

func (t *unsuccessTable) put(seq uint32, u []pdu.UnsuccessSME) {
	t.mu.Lock()
	if t.m == nil {
		t.m = make(map[uint32][]pdu.UnsuccessSME)
	}
	t.m[seq] = u
	t.mu.Unlock()
}

// take removes and returns the entries of seq.
func (t *unsuccessTable) take(seq uint32) []pdu.UnsuccessSME {
	t.mu.Lock()
	u := t.m[seq]
	delete(t.m, seq)
	t.mu.Unlock()
	return u
}

// len returns the number of requests with entries.
func (t *unsuccessTable) len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.m)
}

// forgetUnsuccess drops the entries of a request that will not be answered by
// its own response (it timed out, or its leg is gone).
func (s *Session) forgetUnsuccess(r *request) {
	if r.flags&hasUnsuccess != 0 {
		s.unsuccess.take(r.seq)
	}
}

// withUnsuccess reports whether a verdict's refused destinations apply: only
// to submit_multi.
func withUnsuccess(id pdu.CommandID, v *Verdict) bool {
	return id == pdu.SubmitMulti && len(v.Unsuccess) > 0
}

// relayMulti relays submit_multi p (the PDU or its replacement) from the ESME
// like relayRequest, keeping unsuccess for its response. It runs on from's
// reader.
func (pr *pair) relayMulti(from *Session, p []byte, seq uint32, unsuccess []pdu.UnsuccessSME) {
	to := pr.other(from)
	upSeq, ok := to.pend.add(request{peerSeq: seq, cmd: pdu.SubmitMulti, origin: relayed, flags: hasUnsuccess, sentAt: from.batchAt}, false)
	if !ok {
		from.throttle(pdu.SubmitMulti, seq)
		return
	}
	from.relays++
	// Before the bytes are staged: the response cannot come earlier.
	to.unsuccess.put(upSeq, slices.Clone(unsuccess))
	from.forward(to, p, upSeq)
}

// respondMulti relays the response p to a submit_multi relayed with refused
// destinations, merged with them, from s (the SMSC's leg) to the ESME's. It
// runs on s's reader.
func (s *Session) respondMulti(to *Session, p []byte, r *request) {
	extra := s.unsuccess.take(r.seq)
	if to.closed() {
		return
	}
	st := pdu.StatusOf(p)
	off := len(s.toPeer)
	switch pdu.ID(p) {
	case pdu.GenericNack:
		// The whole request failed: the ESME gets that status and why each
		// destination optguard refused was refused.
		s.toPeer = pdu.AppendSubmitMultiResp(s.toPeer, st, r.peerSeq, "", extra)
	case pdu.SubmitMultiResp:
		out, err := pdu.AppendMergedSubmitMultiResp(s.toPeer, p, extra)
		if err != nil {
			// An answer that cannot be read goes on as it came, like any
			// relayed PDU; only the refusals it cannot carry are lost.
			s.log().Warn().Err(err).Int("refused_destinations", len(extra)).Msg("submit_multi_resp cannot be merged with optguard's refusals; relayed as it came")
			s.forward(to, p, r.peerSeq)
			return
		}
		s.toPeer = out
		pdu.SetSeq(s.toPeer[off:], r.peerSeq)
	default:
		s.forward(to, p, r.peerSeq)
		return
	}
	s.rt.pdu(to.leg, dirOut, pdu.SubmitMultiResp, st)
}
