package smpp

import (
	"github.com/optguard/optguard/smpp/pdu"
)

// Inject originates a request PDU on a bind of inj.SystemID (required here):
// Upstream to the SMSC on a transmitter or transceiver bind, Downstream to the
// ESME on a receiver or transceiver bind. Binds are used in turn. Upstream, an
// ESME's bind is preferred; when none of the system_id can transmit, its
// service bind (SetServiceBinds) carries the PDU. ErrNoRoute when neither is
// bound. Its response is consumed by optguard and handed to inj.OnResponse.
func (srv *Server) Inject(inj Injection) error {
	if inj.SystemID == "" {
		return ErrNoRoute
	}
	return srv.inject(nil, inj)
}

// inject sends inj on a bind: near's when inj.SystemID is empty or names near's
// system_id and near can carry it, else any bound pair of that system_id, else
// (Upstream) that system_id's service bind.
func (srv *Server) inject(near *pair, inj Injection) error {
	if h, err := pdu.ParseHeader(inj.PDU); err != nil || int64(h.Length) != int64(len(inj.PDU)) {
		return pdu.ErrLengthMismatch
	}
	id := pdu.ID(inj.PDU)
	if id.IsResponse() {
		return ErrNotRequest
	}
	var s *Session
	var closing func() bool
	if pr := srv.pickPair(near, inj); pr != nil {
		s = pr.down
		if inj.Leg == Upstream {
			s = pr.up
		}
		closing = func() bool { return pr.closing.Load() || s.closed() }
	} else if inj.Leg == Upstream {
		systemID := inj.SystemID
		if systemID == "" && near != nil {
			systemID = near.systemID
		}
		if s = srv.serviceSession(systemID); s != nil {
			sb := s.svc
			closing = func() bool { return sb.closing(s) }
		}
	}
	if s == nil {
		return ErrNoRoute
	}
	seq, ok := s.pend.add(request{cmd: id, origin: injected, sentAt: now(), done: inj.OnResponse}, false)
	if !ok {
		return ErrWindowFull
	}
	// A session that began closing since it was picked drains its table after
	// saying so: either this sees it and takes the request back before its
	// bytes are queued, or the drain has it and tells OnResponse.
	if closing() {
		if _, mine := s.pend.take(seq); mine {
			return ErrSessionClosed
		}
		return nil
	}
	s.relayTo(inj.PDU, seq)
	srv.metrics.injected.Add(1)
	s.out.signal()
	return nil
}

// pickPair chooses the bind an injection goes out on.
func (srv *Server) pickPair(near *pair, inj Injection) *pair {
	can := func(pr *pair) bool {
		if pr.closing.Load() {
			return false
		}
		if inj.Leg == Upstream {
			return pr.bind.CanTransmit()
		}
		return pr.bind.CanReceive()
	}
	systemID := inj.SystemID
	if near != nil {
		if systemID == "" {
			systemID = near.systemID
		}
		if systemID == near.systemID && can(near) {
			return near
		}
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	ps := srv.pairs[systemID]
	if len(ps) == 0 {
		return nil
	}
	start := int(srv.rr.Add(1) % uint64(len(ps)))
	for i := range ps {
		if pr := ps[(start+i)%len(ps)]; can(pr) {
			return pr
		}
	}
	return nil
}
