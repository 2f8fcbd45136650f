package testenv

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/optguard/optguard/smpp/pdu"
)

// session is one connection to the simulator. Its reader goroutine (run) frames
// and answers PDUs; other goroutines (SendMO, the scheduler) write to its
// outbuf and flush themselves.
type session struct {
	s      *SMSC
	id     uint64
	conn   net.Conn
	remote string
	out    *outbuf
	fr     *frameReader
	counts [pdu.NumCommandIndexes]atomic.Uint64
	// Answers to message submissions by status, and submissions the load
	// profile left unanswered (SMSC.Stats).
	answers [pdu.NumStatusIndexes]atomic.Uint64
	dropped atomic.Uint64

	// Bind state, guarded by s.mu (the SMSC's lock): read by Sessions and
	// pickSession, written by the reader.
	bound    bool
	bindID   pdu.CommandID
	systemID string

	// Reader-owned: copies of the bind state, so that the hot path takes no
	// lock shared between sessions.
	rBound    bool
	rBindID   pdu.CommandID
	rSystemID string
	scratch   []byte
	idb       [24]byte
	rtext     []byte // a receipt's original text, decoded
	rbody     []byte // a receipt's text
	msg       pdu.Message
	insp      pdu.Message // the submission Inspect is shown
	closing   bool        // after unbind
	rng       *rand.Rand  // draws the load profile's fates (SMSCConfig.Load)

	mu      sync.Mutex
	seq     uint32            // guarded by mu: next sequence number the simulator originates
	pending map[uint32]waiter // guarded by mu: requests the simulator sent, by seq
	closed  bool              // guarded by mu
	done    chan struct{}
}

func newSession(s *SMSC, id uint64, conn net.Conn) *session {
	ss := &session{
		s:       s,
		id:      id,
		conn:    conn,
		remote:  conn.RemoteAddr().String(),
		out:     newOutbuf(conn),
		scratch: make([]byte, 0, 512),
		seq:     s.startSeq.Load(),
		pending: make(map[uint32]waiter),
		done:    make(chan struct{}),
	}
	if ss.seq == 0 || ss.seq > pdu.MaxSeq {
		ss.seq = 1
	}
	if p := s.cfg.Load; p != nil {
		seed := p.Seed
		if seed == 0 {
			seed = rand.Uint64()
		}
		ss.rng = rand.New(rand.NewPCG(seed, id))
	}
	ss.fr = newFrameReader(conn, s.maxLen, ss.drained)
	return ss
}

func (ss *session) drained() { ss.out.flush() }

// nextSeq returns the next sequence number the simulator originates on this
// session: 1 … 0x7FFFFFFF, then 1 again.
func (ss *session) nextSeq() uint32 {
	ss.mu.Lock()
	seq := ss.nextSeqLocked()
	ss.mu.Unlock()
	return seq
}

func (ss *session) nextSeqLocked() uint32 {
	seq := ss.seq
	ss.seq = pdu.NextSeq(seq)
	return seq
}

func (ss *session) run() {
	var err error
	defer ss.s.wg.Done()
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("testenv: smsc session %d panicked: %v", ss.id, r)
			ss.s.logf("%v\n%s", err, debug.Stack())
		}
		ss.shutdown(err)
	}()
	for !ss.closing {
		var p []byte
		p, err = ss.fr.next()
		if err != nil {
			var se *pdu.StatusError
			if errors.As(err, &se) {
				// Framing error: the stream cannot be read further.
				var seq uint32
				if rest := ss.fr.buf[ss.fr.r:ss.fr.w]; len(rest) >= pdu.HeaderLen {
					seq = pdu.Seq(rest)
				}
				ss.s.logf("testenv: smsc session %d: %v", ss.id, err)
				ss.sendNow(pdu.AppendGenericNack(ss.scratch[:0], se.Status, seq))
				ss.out.flush()
			}
			return
		}
		ss.handle(p)
	}
	ss.out.flush()
}

// shutdown closes the connection, fails the requests waiting for a response
// and removes the session from the simulator.
func (ss *session) shutdown(err error) {
	ss.conn.Close()
	// Out of the simulator before done closes: whoever saw done and picks
	// a session again (a resumed MO stream) must not get this one back.
	s := ss.s
	s.mu.Lock()
	delete(s.sessions, ss.id)
	for i := range ss.counts {
		s.retired[i] += ss.counts[i].Load()
	}
	for i := range ss.answers {
		s.retiredAnswers[i] += ss.answers[i].Load()
	}
	s.retiredDropped += ss.dropped.Load()
	s.notifyLocked()
	s.mu.Unlock()

	ss.mu.Lock()
	ss.closed = true
	ss.pending = nil
	ss.mu.Unlock()
	close(ss.done)
	if err != nil && !errors.Is(err, net.ErrClosed) {
		s.logf("testenv: smsc session %d (%s) closed: %v", ss.id, ss.remote, err)
	}
}

// respKind says which faults apply to a response.
type respKind uint8

const (
	msgResp respKind = iota // held by HoldResponses, delayed by SetResponseDelay
	ctlResp                 // delayed only
	nowResp                 // neither
)

// emit sends a response built in the reader's scratch buffer, now or later.
// It returns false when the response is held.
func (ss *session) emit(p []byte, kind respKind) bool { return ss.emitAfter(p, kind, 0) }

// emitAfter is emit with a latency of the load profile's added to the
// response delay.
func (ss *session) emitAfter(p []byte, kind respKind, latency time.Duration) bool {
	s := ss.s
	if kind == msgResp && s.hold.Load() {
		return false
	}
	if kind != nowResp {
		if d := time.Duration(s.delay.Load()) + latency; d > 0 {
			raw, buf := delayedCopy(p)
			j := job{due: time.Now().Add(d), raw: raw, buf: buf, sess: ss}
			if !s.schedule(j) {
				j.sent()
				return false
			}
			return true
		}
	}
	ss.sendNow(p)
	return true
}

// outcome is the status and the latency of the answer to the next message
// submission (SetSubmitStatus, then the load profile's draw), or drop when
// the load profile leaves it unanswered (counted here).
func (ss *session) outcome() (st pdu.Status, latency time.Duration, drop bool) {
	var f submitFate
	if p := ss.s.cfg.Load; p != nil {
		f = p.fate(ss.rng)
	}
	if f.drop {
		ss.dropped.Add(1)
		return 0, 0, true
	}
	st = ss.submitStatus()
	if st == pdu.ESME_ROK {
		st = f.status
	}
	return st, f.delay, false
}

// sendNow records p and buffers it. The reader flushes on drain; other
// goroutines flush themselves.
func (ss *session) sendNow(p []byte) {
	ss.recordOut(p)
	ss.out.write(p)
}

func (ss *session) recordOut(p []byte) {
	if !ss.s.cfg.Record {
		return
	}
	ss.s.mu.Lock()
	sys := ss.systemID
	ss.s.mu.Unlock()
	ss.s.rec.add(newRecord(ss.id, sys, Out, p))
}

func (ss *session) count(id pdu.CommandID) {
	if id.Known() {
		ss.counts[id.Index()].Add(1)
		return
	}
	ss.s.mu.Lock()
	ss.s.unknown[id]++
	ss.s.mu.Unlock()
}

// handle processes one PDU received from the ESME side.
func (ss *session) handle(p []byte) {
	s := ss.s
	h, _ := pdu.ParseHeader(p)
	ss.count(h.ID)
	if s.cfg.Record {
		s.rec.add(newRecord(ss.id, ss.rSystemID, In, p))
	}
	if h.ID.IsResponse() {
		ss.resolve(h.Seq, p)
		return
	}
	b := ss.scratch[:0]
	if !ss.rBound && !h.ID.IsBind() {
		ss.emit(pdu.AppendGenericNack(b, pdu.ESME_RINVBNDSTS, h.Seq), ctlResp)
		return
	}
	if s.cfg.Inspect != nil && (h.ID == pdu.SubmitSM || h.ID == pdu.DataSM || h.ID == pdu.SubmitMulti) {
		if pdu.Scan(p, &ss.insp) == nil {
			s.cfg.Inspect(&ss.insp)
		}
	}
	switch h.ID {
	case pdu.BindTransmitter, pdu.BindReceiver, pdu.BindTransceiver:
		ss.handleBind(p, h)
	case pdu.SubmitSM, pdu.DataSM:
		ss.handleSubmit(p, h)
	case pdu.SubmitMulti:
		st, latency, drop := ss.outcome()
		if drop {
			return
		}
		w := pdu.Begin(b, pdu.SubmitMultiResp, st, h.Seq)
		if st == pdu.ESME_ROK {
			w.Octets(s.appendMessageID(ss.idBuf())).Byte(0).Byte(0) // message_id, no_unsuccess 0
		}
		ss.answers[st.Index()].Add(1)
		ss.emitAfter(w.End(), msgResp, latency)
	case pdu.QuerySM:
		id, _, ok := cstringAt(p, pdu.HeaderLen, 65)
		if !ok {
			ss.emit(pdu.AppendHeaderOnly(b, pdu.QuerySMResp, pdu.ESME_RINVMSGID, h.Seq), msgResp)
			return
		}
		w := pdu.Begin(b, pdu.QuerySMResp, pdu.ESME_ROK, h.Seq)
		// message_id, final_date (NUL), message_state DELIVERED, error_code 0.
		w.Octets(id).Byte(0).Byte(0).Byte(stateDelivered).Byte(0)
		ss.emit(w.End(), msgResp)
	case pdu.CancelSM, pdu.ReplaceSM:
		ss.emit(pdu.AppendHeaderOnly(b, h.ID.Resp(), pdu.ESME_ROK, h.Seq), msgResp)
	case pdu.EnquireLink:
		ss.emit(pdu.AppendEnquireLinkResp(b, h.Seq), ctlResp)
	case pdu.Unbind:
		ss.emit(pdu.AppendUnbindResp(b, pdu.ESME_ROK, h.Seq), nowResp)
		ss.closing = true
	default:
		ss.emit(pdu.AppendGenericNack(b, pdu.ESME_RINVCMDID, h.Seq), msgResp)
	}
}

// idBuf is room for a message id, apart from the scratch buffer.
func (ss *session) idBuf() []byte { return ss.idb[:0] }

func (ss *session) submitStatus() pdu.Status { return pdu.Status(ss.s.submitStatus.Load()) }

func (ss *session) handleBind(p []byte, h pdu.Header) {
	s := ss.s
	st := pdu.ESME_ROK
	b, err := pdu.ParseBind(p)
	var se *pdu.StatusError
	switch {
	case errors.As(err, &se):
		st = se.Status
	case err != nil:
		st = pdu.ESME_RSYSERR
	case ss.rBound:
		st = pdu.ESME_RALYBND
	case len(s.cfg.Accounts) > 0:
		pw, ok := s.cfg.Accounts[string(b.SystemID)]
		if !ok {
			st = pdu.ESME_RINVSYSID
		} else if pw != string(b.Password) {
			st = pdu.ESME_RINVPASWD
		}
	}
	if st == pdu.ESME_ROK {
		ss.rBound, ss.rBindID, ss.rSystemID = true, h.ID, string(b.SystemID)
		s.mu.Lock()
		ss.bound, ss.bindID, ss.systemID = true, h.ID, ss.rSystemID
		s.notifyLocked()
		s.mu.Unlock()
		ss.emit(pdu.AppendBindResp(ss.scratch[:0], h.ID, st, h.Seq, s.cfg.SystemID, 0x34), ctlResp)
		return
	}
	s.logf("testenv: smsc session %d: %s of %q refused: %s", ss.id, h.ID, b.SystemID, st)
	ss.emit(pdu.AppendBindResp(ss.scratch[:0], h.ID, st, h.Seq, s.cfg.SystemID, 0), ctlResp)
}

// handleSubmit answers a submit_sm or data_sm and queues its receipt.
func (ss *session) handleSubmit(p []byte, h pdu.Header) {
	s := ss.s
	st, latency, drop := ss.outcome()
	if drop {
		return // an SMSC that lost the request: the ESME's window and timers must cope
	}
	if ss.rBindID == pdu.BindReceiver {
		st = pdu.ESME_RINVBNDSTS
	}
	wantReceipt := false
	if st == pdu.ESME_ROK && h.ID == pdu.SubmitSM && s.cfg.AutoReceipts {
		if err := pdu.Scan(p, &ss.msg); err != nil {
			var se *pdu.StatusError
			st = pdu.ESME_RSYSERR
			if errors.As(err, &se) {
				st = se.Status
			}
		} else {
			wantReceipt = ss.msg.RegisteredDelivery&0x03 != 0
		}
	}
	w := pdu.Begin(ss.scratch[:0], h.ID.Resp(), st, h.Seq)
	var id []byte
	if st == pdu.ESME_ROK {
		id = s.appendMessageID(ss.idBuf())
		w.Octets(id).Byte(0)
	}
	ss.answers[st.Index()].Add(1)
	sent := ss.emitAfter(w.End(), msgResp, latency)
	if sent && wantReceipt {
		ss.queueReceipt(id, latency)
	}
}

// queueReceipt builds the receipt of the message just scanned into ss.msg,
// whose id is in ss.idb, and schedules it after its response (sent after
// latency) by SMSCConfig.ReceiptDelay or the load profile's draw. It builds
// into a buffer of respBufs from octets, not strings: under load every
// submission may ask for a receipt, so this allocates nothing once warm.
func (ss *session) queueReceipt(id []byte, latency time.Duration) {
	s := ss.s
	m := &ss.msg
	ud := m.UserData()
	if m.HasUDH() {
		if _, rest, err := pdu.SplitUDH(ud); err == nil {
			ud = rest
		}
	}
	ss.rtext = ss.rtext[:0]
	if pdu.IsText(m.DataCoding) {
		ss.rtext, _ = pdu.AppendText(ss.rtext, m.DataCoding, ud) // what decodes, as DecodeText
	}
	now := time.Now()
	stat := ss.receiptStat()
	ss.rbody = appendReceiptText(ss.rbody[:0], id, stat, now, ss.rtext)
	buf := respBufs.Get().(*[]byte)
	raw := appendAutoReceipt((*buf)[:0], m, id, stat, ss.rbody)
	j := job{due: now.Add(time.Duration(s.delay.Load()) + latency + ss.receiptDelay()), raw: raw, buf: buf, systemID: ss.rSystemID}
	if !s.schedule(j) {
		j.sent()
		return
	}
	s.mu.Lock()
	if s.receipts == nil {
		s.receipts = make(map[string]uint64)
	}
	s.receipts[stat]++
	s.mu.Unlock()
}

// receiptDelay is how long the next receipt waits after its response.
func (ss *session) receiptDelay() time.Duration {
	if p := ss.s.cfg.Load; p != nil && p.ReceiptDelay.Kind != LatencyNone {
		return p.ReceiptDelay.draw(ss.rng)
	}
	return ss.s.cfg.ReceiptDelay
}

// receiptStat is the final state of the next receipt.
func (ss *session) receiptStat() string {
	if p := ss.s.cfg.Load; p != nil {
		return p.receiptStat(ss.rng)
	}
	return "DELIVRD"
}

// waiter is who waits for the response to a request the simulator sent: a
// synchronous request, which gets a copy of the response on ch, or a storm,
// which gets its sequence number and status on storm, so that the reader
// copies nothing.
type waiter struct {
	ch    chan []byte
	storm chan stormResp
}

// resolve hands a response to the request of the simulator waiting for it.
func (ss *session) resolve(seq uint32, p []byte) {
	ss.mu.Lock()
	w, ok := ss.pending[seq]
	if ok {
		delete(ss.pending, seq)
	}
	ss.mu.Unlock()
	switch {
	case !ok:
	case w.storm != nil:
		w.storm <- stormResp{seq: seq, status: pdu.StatusOf(p)} // buffered: room for the storm's window
	default:
		w.ch <- append([]byte(nil), p...) // buffered, one response per request
	}
}
