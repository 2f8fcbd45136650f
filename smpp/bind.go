package smpp

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/optguard/optguard/smpp/pdu"
)

// handleUnbound handles a PDU on a session without a pair: a downstream
// connection that has not bound yet, or a service bind's connection.
func (s *Session) handleUnbound(p []byte) {
	if s.svc != nil {
		s.handleService(p)
		return
	}
	id, seq := pdu.ID(p), pdu.Seq(p)
	switch {
	case id.IsResponse():
		// Nothing was asked of an unbound ESME: ignore.
	case id.IsBind():
		s.bind(p)
	case id == pdu.EnquireLink:
		s.reply(id, pdu.ESME_ROK, seq)
	case id == pdu.Unbind:
		s.reply(id, pdu.ESME_ROK, seq)
		s.flushStaged()
		s.closeAfterFlush()
	case id == pdu.Outbind || !id.Known():
		s.replyNack(pdu.ESME_RINVBNDSTS, seq)
	default:
		s.reply(id, pdu.ESME_RINVBNDSTS, seq)
	}
}

// bind passes the ESME's bind through to the SMSC chosen for its system_id:
// the same PDU, credentials and all, with only the sequence number changed. The
// SMSC's bind_resp goes back to the ESME as it came. It runs on the downstream
// reader, which reads nothing else until the bind is settled.
func (s *Session) bind(p []byte) {
	id, seq := pdu.ID(p), pdu.Seq(p)
	b, err := pdu.ParseBind(p)
	if err != nil {
		s.refuseBind(id, seq, statusOf(err), err)
		return
	}
	systemID := string(b.SystemID)
	s.setLogger(s.log().With().Str("system_id", systemID).Logger())
	if !s.srv.reserveBind(systemID) {
		s.refuseBind(id, seq, pdu.ESME_RBINDFAIL, errors.New("bind limit for this system_id reached, or shutting down"))
		return
	}
	route := s.srv.opts.Router(systemID)
	if route.Address == "" {
		s.srv.releaseBind(systemID)
		s.refuseBind(id, seq, pdu.ESME_RBINDFAIL, errors.New("no SMSC route for this system_id"))
		return
	}
	up, pre, resp, err := s.srv.bindUpstream(s.srv.ctx, route, p)
	if err != nil {
		s.srv.releaseBind(systemID)
		s.srv.metrics.upstreamFailure(route.Name, err)
		s.refuseBind(id, seq, pdu.ESME_RBINDFAIL, fmt.Errorf("binding upstream %s (%s): %w", route.Name, route.Address, err))
		return
	}
	s.srv.metrics.upstreamConnect(route.Name)
	if st := pdu.StatusOf(resp); st != pdu.ESME_ROK {
		// The SMSC said no: its answer reaches the ESME unchanged.
		s.srv.releaseBind(systemID)
		up.Close()
		s.stageSelf(resp, seq)
		if s.warnAllowed(warnSMSCBindRefused) {
			s.log().Info().Str("kind", warnSMSCBindRefused).Stringer("status", st).Str("route", route.Name).Msg("bind refused by the SMSC")
		}
		return
	}
	pr := &pair{srv: s.srv, down: s, systemID: systemID, bind: bindTypeOf(id), route: route.Name, since: time.Now()}
	pr.up = s.srv.newSession(Upstream, up)
	pr.up.setLogger(pr.up.log().With().Str("system_id", systemID).Str("route", route.Name).Logger())
	pr.up.pend.skipTo(1) // the bind used sequence number 1 on this leg
	// Each reader has its own Call: MT calls are made on the ESME's reader, MO
	// calls on the SMSC's, and both describe the ESME side of the bind.
	s.call = Call{Session: s.id, SystemID: systemID, Bind: pr.bind, Remote: s.remote, sess: s}
	pr.up.call = s.call
	pr.up.call.sess = pr.up
	if !s.srv.addPair(pr) {
		s.srv.releaseBind(systemID)
		up.Close()
		s.refuseBind(id, seq, pdu.ESME_RBINDFAIL, ErrServerClosed)
		return
	}
	if si := s.srv.sessMT; si != nil && pr.bind.CanTransmit() {
		s.quick = si.SessionMT(&s.call)
	}
	s.srv.metrics.sessionOpened(Upstream)
	s.srv.metrics.bound(pr.bind, 1)
	s.nc.SetReadDeadline(time.Time{})
	// The bind_resp is written before the upstream reader starts, so nothing
	// the SMSC sends next can overtake it.
	s.stageSelf(resp, seq)
	s.flushStaged()
	pr.up.pair.Store(pr)
	s.pair.Store(pr)
	pr.up.start(pre)
	s.log().Info().Stringer("bind", pr.bind).Str("route", route.Name).Msg("bound")
	s.srv.bindEvent(BindEvent{SystemID: systemID, Bind: pr.bind, Session: s.id, Remote: s.remote, Bound: true})
}

// stageSelf stages a copy of PDU p, with sequence number seq, for this
// connection: the SMSC's bind_resp.
func (s *Session) stageSelf(p []byte, seq uint32) {
	s.toSelf = appendWithSeq(s.toSelf, p, seq)
	s.rt.pdu(s.leg, dirOut, pdu.ID(p), pdu.StatusOf(p))
}

// refuseBind answers a bind with an error status of optguard's own.
func (s *Session) refuseBind(id pdu.CommandID, seq uint32, st pdu.Status, err error) {
	s.toSelf = pdu.AppendBindResp(s.toSelf, id, st, seq, "optguard", 0)
	s.rt.pdu(s.leg, dirOut, id.Resp(), st)
	if s.warnAllowed(warnBindRefused) {
		s.log().Warn().Str("kind", warnBindRefused).Err(err).Stringer("status", st).Msg("bind refused")
	}
}

// statusOf returns the command_status an error should be answered with.
func statusOf(err error) pdu.Status {
	var se *pdu.StatusError
	if errors.As(err, &se) {
		return se.Status
	}
	return pdu.ESME_RSYSERR
}

// bindUpstream connects to the route, sends the bind PDU p (sequence number 1)
// and reads the answer; canceling parent aborts it. It returns the connection,
// any bytes read past the answer, and the answer: the bind_resp, or a
// bind_resp built from a generic_nack's status.
func (srv *Server) bindUpstream(parent context.Context, route Route, p []byte) (nc net.Conn, pre, resp []byte, err error) {
	ct := route.ConnectTimeout
	if ct <= 0 {
		ct = DefaultConnectTimeout
	}
	ctx, cancel := context.WithTimeout(parent, ct)
	defer cancel()
	d := net.Dialer{}
	nc, err = d.DialContext(ctx, "tcp", route.Address)
	if err != nil {
		return nil, nil, nil, err
	}
	if route.TLS != nil {
		cfg := route.TLS
		if cfg.ServerName == "" {
			cfg = cfg.Clone()
			cfg.ServerName, _, _ = net.SplitHostPort(route.Address)
		}
		tc := tls.Client(nc, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			nc.Close()
			return nil, nil, nil, fmt.Errorf("TLS handshake: %w", err)
		}
		nc = tc
	}
	pre, resp, err = srv.exchangeBind(parent, nc, p)
	if err != nil {
		nc.Close()
		return nil, nil, nil, err
	}
	return nc, pre, resp, nil
}

// exchangeBind writes the bind and reads until its answer, within the write and
// response timeouts; canceling ctx (Shutdown cancels the server's) interrupts
// the read.
func (srv *Server) exchangeBind(ctx context.Context, nc net.Conn, p []byte) (pre, resp []byte, err error) {
	req := append([]byte(nil), p...)
	pdu.SetSeq(req, 1)
	nc.SetWriteDeadline(time.Now().Add(srv.opts.WriteTimeout))
	if _, err := nc.Write(req); err != nil {
		return nil, nil, fmt.Errorf("writing bind: %w", err)
	}
	srv.metrics.count(Upstream, dirOut, pdu.ID(req), pdu.ESME_ROK)
	nc.SetWriteDeadline(time.Time{})
	deadline := time.Now().Add(srv.opts.ResponseTimeout)
	nc.SetReadDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { nc.SetReadDeadline(time.Now()) })
	defer stop()
	buf := make([]byte, 0, readBufMin)
	for {
		for {
			n, ferr := pdu.Frame(buf, srv.opts.MaxPDUSize)
			if ferr != nil {
				return nil, nil, fmt.Errorf("reading bind_resp: %w", ferr)
			}
			if n == 0 {
				break
			}
			got := buf[:n]
			buf = buf[n:]
			id := pdu.ID(got)
			srv.metrics.count(Upstream, dirIn, id, pdu.StatusOf(got))
			switch {
			case pdu.Seq(got) == 1 && id == pdu.ID(p).Resp():
				nc.SetReadDeadline(time.Time{})
				return append([]byte(nil), buf...), append([]byte(nil), got...), nil
			case pdu.Seq(got) == 1 && id == pdu.GenericNack:
				nc.SetReadDeadline(time.Time{})
				out := pdu.AppendBindResp(nil, pdu.ID(p), pdu.StatusOf(got), 1, "", 0)
				return append([]byte(nil), buf...), out, nil
			case id == pdu.EnquireLink:
				// Some SMSCs probe at once; answer rather than fail the bind.
				el := pdu.AppendEnquireLinkResp(nil, pdu.Seq(got))
				if _, err := nc.Write(el); err != nil {
					return nil, nil, fmt.Errorf("answering enquire_link: %w", err)
				}
				srv.metrics.count(Upstream, dirOut, pdu.EnquireLinkResp, pdu.ESME_ROK)
			default:
				return nil, nil, fmt.Errorf("%w: %s", ErrUnexpectedPDU, id)
			}
		}
		if len(buf) == cap(buf) {
			nb := make([]byte, len(buf), 2*cap(buf))
			copy(nb, buf)
			buf = nb
		}
		n, err := nc.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err != nil {
			if ctx.Err() != nil {
				return nil, nil, ErrServerClosed
			}
			return nil, nil, fmt.Errorf("reading bind_resp: %w", err)
		}
	}
}
