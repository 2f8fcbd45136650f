package smpp

// A peer that answers nothing. Requests of ours that go unanswered each get
// the timeout status after the response timeout, but a peer that reads
// nothing at all, while the kernel's buffers absorb what the window lets
// through, stays bound: its writes never block, so the write timeout never
// fires. Housekeeping therefore drops a session whose peer has let
// requests wait without a single response for the write timeout.

// silentTooLong updates the session's silence from this tick's figures
// (expired: requests the tick timed out) and closes the session, reporting
// true, once its peer has answered nothing for the write timeout since a
// request of ours began to wait. It runs on the session's housekeeping
// goroutine.
func (s *Session) silentTooLong(now int64, expired int) bool {
	taken := s.pend.taken.Load()
	responses := taken - s.hkTaken - int64(expired)
	s.hkTaken = taken
	switch {
	case responses > 0:
		s.silentSince = 0
	case s.silentSince == 0:
		// Silence starts with a request left waiting; a tick with none
		// waiting does not end it (a braked flood leaves gaps), only a
		// response does (an idle link's enquire_link gets one).
		if expired > 0 || s.pend.len() > 0 {
			s.silentSince = now
		}
	case now-s.silentSince >= int64(s.srv.opts.WriteTimeout):
		s.srv.metrics.silentPeers.Add(1)
		if s.warnAllowed(warnSilentPeer) {
			s.log().Warn().Str("kind", warnSilentPeer).Dur("write_timeout", s.srv.opts.WriteTimeout).Msg("peer answered nothing for the write timeout; dropping the link")
		}
		s.close()
		return true
	}
	return false
}
