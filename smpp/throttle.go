package smpp

import (
	"time"

	"github.com/optguard/optguard/smpp/pdu"
)

// The flood brake. A peer that keeps sending into a full window gets
// ESME_RTHROTTLED for each request at once (ESMEs rely on it), but answering
// as fast as it sends cost most of a core: 145 M throttles in a minute from
// one ESME. After throttleRun throttles without a relayed request between
// them, the reader stops reading that connection for a pause that doubles
// with each further throttled batch, up to throttlePauseMax; TCP
// back-pressure holds the peer meanwhile. The first relayed request ends
// the brake.
const (
	throttleRun      = 256
	throttlePauseMin = 10 * time.Millisecond
	throttlePauseMax = time.Second
)

// throttle answers a request that the other leg's window has no room for.
func (s *Session) throttle(id pdu.CommandID, seq uint32) {
	s.srv.metrics.throttled.Add(1)
	s.throttles++
	s.reply(id, pdu.ESME_RTHROTTLED, seq)
}

// brakeIfFlooding runs on the reader after each batch (its answers written):
// it counts the batch's throttles and relays and pauses reading when the
// peer floods a full window.
func (s *Session) brakeIfFlooding() {
	if s.relays > 0 {
		s.throttleStreak, s.pause = 0, 0
	} else {
		s.throttleStreak += s.throttles
	}
	s.relays, s.throttles = 0, 0
	if s.throttleStreak < throttleRun {
		return
	}
	if s.pause == 0 {
		if s.warnAllowed(warnFlooding) {
			s.log().Warn().Str("kind", warnFlooding).Int("throttled", s.throttleStreak).Msg("peer keeps sending into a full window; pausing its reads")
		}
		s.pause = throttlePauseMin
	} else if s.pause = 2 * s.pause; s.pause > throttlePauseMax {
		s.pause = throttlePauseMax
	}
	s.srv.metrics.floodPauses.Add(1)
	t := time.NewTimer(s.pause)
	defer t.Stop()
	select {
	case <-t.C:
	case <-s.done:
	}
}
