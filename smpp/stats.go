package smpp

import (
	"cmp"
	"slices"
	"time"

	"github.com/optguard/optguard/smpp/pdu"
)

// What the server counts, for callers that show it other than through
// Prometheus (the operator console's live view): the same counters the
// collector reads, read with atomic loads, so that asking costs the relay
// nothing.

// Received returns how many requests of command id optguard has received
// on leg since the server started: from the ESMEs on Downstream, from the
// SMSCs on Upstream. Sessions publish their counts once per read batch, so
// the number lags the wire by at most one batch per session.
func (srv *Server) Received(leg Leg, id pdu.CommandID) uint64 {
	if leg > Upstream || id.IsResponse() || !id.Known() {
		return 0
	}
	return srv.metrics.pdus[cellIndex(leg, dirIn, id, pdu.ESME_ROK)].Load()
}

// UpstreamStatus is what the server saw of one route's SMSC since it
// started: ESME binds and service binds alike.
type UpstreamStatus struct {
	Route    string
	Binds    uint64    // upstream binds the SMSC answered (with any status)
	Failures uint64    // connects or bind exchanges that failed
	LastBind time.Time // when the SMSC last answered a bind; zero if never
	LastFail time.Time // when one last failed; zero if never
	LastErr  string    // why it failed
}

// Upstreams lists the routes the server has tried to bind upstream on, by
// name. A route no bind has used yet is not in it.
func (srv *Server) Upstreams() []UpstreamStatus {
	m := srv.metrics
	m.mu.Lock()
	out := make([]UpstreamStatus, 0, len(m.ups))
	for r, u := range m.ups {
		out = append(out, UpstreamStatus{Route: r, Binds: u.binds, Failures: u.failures, LastBind: u.lastBind, LastFail: u.lastFail, LastErr: u.lastErr})
	}
	m.mu.Unlock()
	slices.SortFunc(out, func(a, b UpstreamStatus) int { return cmp.Compare(a.Route, b.Route) })
	return out
}
