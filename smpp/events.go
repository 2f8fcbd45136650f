package smpp

import (
	"cmp"
	"slices"
	"time"
)

// BindEvent tells Options.OnBind that a bind came up or went away.
type BindEvent struct {
	SystemID string
	Bind     BindType
	// Session is the ESME-side session id (Call.Session); for a service bind,
	// the id of optguard's own session to the SMSC.
	Session uint64
	// Remote is the ESME's address; for a service bind, the SMSC's.
	Remote string
	// Bound is true when the bind came up (the ESME has its bind_resp
	// ESME_ROK, so an injection can go out on it) and false when it is gone.
	Bound bool
	// Service is true for a service bind (SetServiceBinds).
	Service bool
}

// bindEvent queues ev for Options.OnBind. Events are delivered in order on one
// goroutine of the server, started when there are events and ending when
// there are none, so that the callback never runs on a session's goroutine
// and may call back into the Server (Inject, Binds) at once. Callers run on a
// tracked goroutine, so Shutdown waits for the delivery too.
func (srv *Server) bindEvent(ev BindEvent) {
	if srv.opts.OnBind == nil {
		return
	}
	srv.evMu.Lock()
	srv.events = append(srv.events, ev)
	start := !srv.evRunning
	srv.evRunning = true
	srv.evMu.Unlock()
	if start {
		srv.track(1)
		go srv.deliverEvents()
	}
}

func (srv *Server) deliverEvents() {
	defer srv.untrack()
	for {
		srv.evMu.Lock()
		if len(srv.events) == 0 {
			srv.events = nil
			srv.evRunning = false
			srv.evMu.Unlock()
			return
		}
		ev := srv.events[0]
		srv.events = srv.events[1:]
		srv.evMu.Unlock()
		srv.callOnBind(ev)
	}
}

// callOnBind runs the callback; a panic in it is logged and the next event
// still delivered.
func (srv *Server) callOnBind(ev BindEvent) {
	defer func() {
		if r := recover(); r != nil {
			srv.metrics.panics.Add(1)
			srv.log.Error().Interface("panic", r).Str("system_id", ev.SystemID).Bool("bound", ev.Bound).Msg("OnBind panicked")
		}
	}()
	srv.opts.OnBind(ev)
}

// BindInfo describes one bind for Server.Binds.
type BindInfo struct {
	SystemID string
	Bind     BindType
	Session  uint64    // as in BindEvent
	Remote   string    // as in BindEvent
	Since    time.Time // when it came up
	Route    string    // the route's name
	// Requests waiting for their response on each leg: Downstream toward the
	// ESME, Upstream toward the SMSC.
	DownstreamOutstanding int
	UpstreamOutstanding   int
	Window                int // outstanding requests allowed per leg
	Service               bool
}

// Binds lists the binds that are up, ESME binds and service binds, oldest
// first.
func (srv *Server) Binds() []BindInfo {
	srv.mu.Lock()
	var out []BindInfo
	for _, ps := range srv.pairs {
		for _, pr := range ps {
			out = append(out, BindInfo{
				SystemID: pr.systemID, Bind: pr.bind, Session: pr.down.id, Remote: pr.down.remote,
				Since: pr.since, Route: pr.route,
				DownstreamOutstanding: pr.down.pend.len(), UpstreamOutstanding: pr.up.pend.len(),
				Window: srv.opts.Window,
			})
		}
	}
	svcs := make([]*serviceBind, 0, len(srv.svc))
	for _, sb := range srv.svc {
		svcs = append(svcs, sb)
	}
	srv.mu.Unlock()
	for _, sb := range svcs {
		if bi, ok := sb.info(); ok {
			out = append(out, bi)
		}
	}
	slices.SortFunc(out, func(a, b BindInfo) int {
		if c := a.Since.Compare(b.Since); c != 0 {
			return c
		}
		return cmp.Compare(a.Session, b.Session)
	})
	return out
}
