package smpp

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/optguard/optguard/smpp/pdu"
)

// ServiceBind is a bind_transmitter optguard opens to the SMSC itself, so that
// its own messages to handsets (consent requests, confirmations) can go out
// when no ESME transmitter of the account is bound.
type ServiceBind struct {
	SystemID   string
	Password   string
	SystemType string
}

// Service bind reconnect backoff: the first retry after a second, doubling to
// half a minute; a bind that came up starts again from a second.
const (
	serviceRetryMin = time.Second
	serviceRetryMax = 30 * time.Second
)

// SetServiceBinds makes binds the set of service binds: it starts the new
// ones, stops (unbinds) the ones not listed any more, and keeps those that did
// not change; one per SystemID (a later entry replaces an earlier one). A
// changed one is stopped and started again, the new bind waiting until the old
// one is unbound. Call it at start and on config reload; it does not wait for
// binds to come up or go down. Each service bind is routed by Options.Router
// for its SystemID (asked again on every reconnect), kept up with reconnects
// and backoff, probed with enquire_link like other SMSC legs, and unbound by
// Shutdown. After Shutdown it does nothing.
func (srv *Server) SetServiceBinds(binds []ServiceBind) {
	want := make(map[string]ServiceBind, len(binds))
	for _, b := range binds {
		want[b.SystemID] = b
	}
	srv.mu.Lock()
	if srv.closing {
		srv.mu.Unlock()
		return
	}
	var stopped []*serviceBind
	prev := map[string]*serviceBind{}
	for id, sb := range srv.svc {
		if w, ok := want[id]; !ok || w != sb.cfg {
			stopped = append(stopped, sb)
			prev[id] = sb
			delete(srv.svc, id)
		}
	}
	for id, w := range want {
		if _, ok := srv.svc[id]; ok {
			continue
		}
		sb := srv.newServiceBind(w)
		srv.svc[id] = sb
		srv.wg.Add(1)
		go sb.run(prev[id])
	}
	srv.mu.Unlock()
	for _, sb := range stopped {
		sb.cancel()
	}
}

// serviceBind keeps one ServiceBind up.
type serviceBind struct {
	srv    *Server
	cfg    ServiceBind
	ctx    context.Context // canceled to stop it (and by Shutdown)
	cancel context.CancelFunc
	done   chan struct{} // closed when run returns

	mu       sync.Mutex
	sess     *Session  // guarded by mu: the bound session until it is closed; nil while down
	draining bool      // guarded by mu: sess is going away; injections pick it no more
	route    string    // guarded by mu: the route it is bound through
	since    time.Time // guarded by mu: when it came up
}

func (srv *Server) newServiceBind(cfg ServiceBind) *serviceBind {
	ctx, cancel := context.WithCancel(srv.ctx)
	return &serviceBind{srv: srv, cfg: cfg, ctx: ctx, cancel: cancel, done: make(chan struct{})}
}

// run binds, serves and rebinds until the service bind is stopped. prev, if
// not nil, is the bind it replaces: it must be unbound first.
func (sb *serviceBind) run(prev *serviceBind) {
	srv := sb.srv
	defer srv.untrack()
	defer close(sb.done)
	defer sb.cancel()
	log := srv.log.With().Str("system_id", sb.cfg.SystemID).Bool("service_bind", true).Logger()
	if prev != nil {
		select {
		case <-prev.done:
		case <-sb.ctx.Done():
			return
		}
	}
	wait := serviceRetryMin
	for attempt := 1; ; attempt++ {
		s, route, err := sb.connect()
		if err != nil {
			if sb.ctx.Err() != nil {
				return
			}
			log.Warn().Err(err).Int("attempt", attempt).Dur("retry_in", wait).Msg("service bind failed")
		} else {
			attempt, wait = 0, serviceRetryMin
			log.Info().Str("route", route).Uint64("session", s.id).Msg("service bind up")
			if !sb.serve(s, route) {
				return
			}
			log.Warn().Dur("retry_in", wait).Msg("service bind lost; reconnecting")
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-sb.ctx.Done():
			t.Stop()
			return
		}
		if wait *= 2; wait > serviceRetryMax {
			wait = serviceRetryMax
		}
	}
}

// connect dials the route of the service bind's system_id and binds as a
// transmitter; on success the session is running.
func (sb *serviceBind) connect() (*Session, string, error) {
	srv := sb.srv
	route := srv.opts.Router(sb.cfg.SystemID)
	if route.Address == "" {
		return nil, route.Name, errors.New("no SMSC route for this system_id")
	}
	p, err := pdu.AppendBind(nil, 1, pdu.BindRequest{
		ID: pdu.BindTransmitter, SystemID: sb.cfg.SystemID, Password: sb.cfg.Password,
		SystemType: sb.cfg.SystemType, InterfaceVersion: 0x34,
	})
	if err != nil {
		return nil, route.Name, fmt.Errorf("building bind_transmitter: %w", err)
	}
	nc, pre, resp, err := srv.bindUpstream(sb.ctx, route, p)
	if err != nil {
		srv.metrics.upstreamFailure(route.Name, err)
		return nil, route.Name, fmt.Errorf("binding upstream %s (%s): %w", route.Name, route.Address, err)
	}
	srv.metrics.upstreamConnect(route.Name)
	if st := pdu.StatusOf(resp); st != pdu.ESME_ROK {
		nc.Close()
		return nil, route.Name, fmt.Errorf("bind_transmitter refused by the SMSC (route %s): %s", route.Name, st)
	}
	s := srv.newSession(Upstream, nc)
	s.svc = sb
	s.setLogger(s.log().With().Str("system_id", sb.cfg.SystemID).Str("route", route.Name).Bool("service_bind", true).Logger())
	s.pend.skipTo(1) // the bind used sequence number 1
	srv.metrics.sessionOpened(Upstream)
	s.start(pre)
	return s, route.Name, nil
}

// serve publishes the bound session s until it is lost (true) or the service
// bind is stopped (false: s is then unbound).
func (sb *serviceBind) serve(s *Session, route string) bool {
	srv := sb.srv
	since := time.Now()
	sb.mu.Lock()
	sb.sess, sb.draining, sb.route, sb.since = s, false, route, since
	sb.mu.Unlock()
	ev := BindEvent{SystemID: sb.cfg.SystemID, Bind: Transmitter, Session: s.id, Remote: s.remote, Service: true}
	ev.Bound = true
	srv.bindEvent(ev)

	lost := true
	select {
	case <-s.done:
	case <-sb.ctx.Done():
		lost = false
	}
	// Injections pick the session no more; then it is unbound (when stopped)
	// and whatever still waits for a response is told it never will. An
	// injection that raced with this sees the session closing and takes its
	// request back (see Server.inject).
	sb.mu.Lock()
	sb.draining = true
	sb.mu.Unlock()
	if !lost {
		s.unbind()
		s.closeAfterFlush()
		s.waitClosed()
	}
	s.close()
	for _, r := range s.pend.drain() {
		if r.done != nil {
			r.done(nil, ErrSessionClosed)
		}
	}
	sb.mu.Lock()
	sb.sess = nil
	sb.mu.Unlock()
	ev.Bound = false
	srv.bindEvent(ev)
	return lost
}

// session returns the bound session, or nil.
func (sb *serviceBind) session() *Session {
	sb.mu.Lock()
	s := sb.sess
	if sb.draining {
		s = nil
	}
	sb.mu.Unlock()
	if s == nil || sb.closing(s) {
		return nil
	}
	return s
}

// closing reports whether s, the service bind's session, is going away.
func (sb *serviceBind) closing(s *Session) bool { return s.closed() || sb.ctx.Err() != nil }

// info describes the service bind for Binds, when it is up.
func (sb *serviceBind) info() (BindInfo, bool) {
	sb.mu.Lock()
	defer sb.mu.Unlock()
	if sb.sess == nil || sb.draining {
		return BindInfo{}, false
	}
	return BindInfo{
		SystemID: sb.cfg.SystemID, Bind: Transmitter, Session: sb.sess.id, Remote: sb.sess.remote,
		Since: sb.since, Route: sb.route, UpstreamOutstanding: sb.sess.pend.len(),
		Window: sb.srv.opts.Window, Service: true,
	}, true
}

// serviceSession returns the bound service bind session of systemID, or nil.
func (srv *Server) serviceSession(systemID string) *Session {
	srv.mu.Lock()
	sb := srv.svc[systemID]
	srv.mu.Unlock()
	if sb == nil {
		return nil
	}
	return sb.session()
}

// handleService handles a PDU the SMSC sent on a service bind. Responses go to
// the injections that wait for them; enquire_link and unbind are answered; a
// transmitter is sent nothing else, so any other request is refused with
// ESME_RINVBNDSTS (in its response, or a generic_nack when it has none).
func (s *Session) handleService(p []byte) {
	id, seq := pdu.ID(p), pdu.Seq(p)
	if id.IsResponse() {
		r, ok := s.pend.take(seq)
		if !ok {
			s.srv.metrics.stray.Add(1)
			s.log().Debug().Stringer("command", id).Uint32("seq", seq).Msg("response to no outstanding request; dropped")
			return
		}
		if r.done != nil {
			r.done(p, nil)
		}
		return
	}
	switch id {
	case pdu.EnquireLink:
		s.reply(id, pdu.ESME_ROK, seq)
		return
	case pdu.Unbind:
		s.reply(id, pdu.ESME_ROK, seq)
		s.flushStaged()
		s.closeAfterFlush()
		return
	case pdu.AlertNotification:
		// It has no response to refuse it with.
		s.log().Debug().Msg("alert_notification on a service bind; dropped")
		return
	}
	s.log().Debug().Stringer("command", id).Msg("request on a service bind (a transmitter); refused")
	if !id.Known() || id == pdu.Outbind {
		s.replyNack(pdu.ESME_RINVBNDSTS, seq)
		return
	}
	s.reply(id, pdu.ESME_RINVBNDSTS, seq)
}

// closeServiceBinds closes every service bind's connection at once (Shutdown
// out of time).
func (srv *Server) closeServiceBinds() {
	srv.mu.Lock()
	var all []*serviceBind
	for _, sb := range srv.svc {
		all = append(all, sb)
	}
	srv.mu.Unlock()
	for _, sb := range all {
		sb.mu.Lock()
		s := sb.sess
		sb.mu.Unlock()
		if s != nil {
			s.close()
		}
	}
}
