package testenv

import (
	"cmp"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/optguard/optguard/smpp/pdu"
)

// SMSCConfig configures the SMSC simulator.
type SMSCConfig struct {
	Addr     string            // listen address; "" = "127.0.0.1:0"
	SystemID string            // system_id in bind_resp; "" = "testsmsc"
	Accounts map[string]string // system_id → password; nil/empty = accept any credentials

	// AutoReceipts sends a delivery receipt (deliver_sm, esm_class 0x04) for
	// each accepted submit_sm whose registered_delivery&0x03 != 0, on a bound
	// receiver or transceiver session of the same system_id, ReceiptDelay after
	// the submit_sm_resp was sent.
	AutoReceipts bool
	ReceiptDelay time.Duration
	// ReceiptBind picks the sessions receipts go to: BindReceiver for
	// receivers only, BindTransceiver for transceivers only; 0, either.
	ReceiptBind pdu.CommandID

	DecimalIDs bool // message ids as decimal strings instead of hex

	// Record keeps a copy of every PDU received and sent (Received, WaitFor).
	// Tests turn it on; benchmarks leave it off.
	Record bool

	// MaxPDU is the largest command_length accepted; 0 = pdu.DefaultMaxLen.
	MaxPDU uint32

	// TLS, if not nil, makes the simulator accept TLS connections only.
	TLS *tls.Config

	// Load, if not nil, shapes the answers to message submissions for load
	// tests: latency, refusals, unanswered requests, receipt states.
	Load *LoadProfile

	// Inspect, when set, is shown every message submission (submit_sm,
	// data_sm, submit_multi) as it arrives, scanned: a load test's check of
	// what reached the SMSC (e.g. that no opted-out handset did) without
	// recording every PDU. It runs on the session's reader, must be quick
	// and must not keep m, which is reused.
	Inspect func(m *pdu.Message)

	Logf func(format string, args ...any) // optional
}

// SessionInfo describes one connection to the simulator.
type SessionInfo struct {
	ID       uint64
	SystemID string        // "" before bind
	Bind     pdu.CommandID // the bind command the session bound with; 0 before bind
	Remote   string
	Bound    bool
}

// SMSC is an SMSC simulator listening on TCP. It answers binds, submit_sm,
// data_sm, submit_multi, query_sm, cancel_sm, replace_sm, enquire_link and
// unbind; sends receipts, MO messages and arbitrary requests toward the ESME
// side; and can hold, delay or drop to exercise the proxy's fault handling.
//
// Hold and delay apply to the answers of message requests (submit_sm, data_sm,
// submit_multi, query_sm, cancel_sm, replace_sm and unknown commands). Session
// management (bind_*, enquire_link, generic_nack before bind) is only delayed,
// never held; unbind_resp and the generic_nack that closes a connection after a
// framing error are always sent at once.
type SMSC struct {
	cfg    SMSCConfig
	ln     net.Listener
	maxLen uint32

	submitStatus atomic.Uint32 // pdu.Status answered to message submissions
	hold         atomic.Bool
	delay        atomic.Int64 // time.Duration
	startSeq     atomic.Uint32
	msgID        atomic.Uint64
	concatRef    atomic.Uint32
	sessionIDs   atomic.Uint64
	// What storms sent: MOs, their deliver_sm, and the responses to
	// those by status (Stats).
	moSent, moParts atomic.Uint64
	moAnswers       [pdu.NumStatusIndexes]atomic.Uint64

	mu             sync.Mutex
	sessions       map[uint64]*session           // guarded by mu
	changed        chan struct{}                 // guarded by mu; closed when sessions change; nil when nobody waits
	retired        [pdu.NumCommandIndexes]uint64 // guarded by mu: counts of closed sessions
	retiredAnswers [pdu.NumStatusIndexes]uint64  // guarded by mu: answers of closed sessions
	retiredDropped uint64                        // guarded by mu
	receipts       map[string]uint64             // guarded by mu: receipts queued, by final state
	unknown        map[pdu.CommandID]uint64      // guarded by mu: counts of command ids pdu does not know
	closed         bool                          // guarded by mu

	rec recorder

	schedMu   sync.Mutex
	jobs      jobHeap // guarded by schedMu
	jobN      uint64  // guarded by schedMu: FIFO order among equal due times
	schedWake chan struct{}

	done      chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup
}

// maxJobs bounds delayed responses and pending receipts.
const maxJobs = 1 << 20

// StartSMSC listens and serves until Close.
func StartSMSC(cfg SMSCConfig) (*SMSC, error) {
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	if cfg.SystemID == "" {
		cfg.SystemID = "testsmsc"
	}
	switch cfg.ReceiptBind {
	case 0, pdu.BindReceiver, pdu.BindTransceiver:
	default:
		return nil, fmt.Errorf("testenv: smsc: receipts go to receiver or transceiver binds, not %s", cfg.ReceiptBind)
	}
	if cfg.Load != nil {
		if err := cfg.Load.validate(); err != nil {
			return nil, fmt.Errorf("testenv: smsc load profile: %w", err)
		}
		// A copy, with the receipt states upper case as receipts spell
		// them, so that a receipt's text needs no conversion.
		p := *cfg.Load
		p.Receipts = slices.Clone(p.Receipts)
		for i := range p.Receipts {
			p.Receipts[i].Stat = strings.ToUpper(p.Receipts[i].Stat)
		}
		cfg.Load = &p
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("testenv: smsc listen: %w", err)
	}
	if cfg.TLS != nil {
		ln = tls.NewListener(ln, cfg.TLS)
	}
	s := &SMSC{
		cfg:       cfg,
		ln:        ln,
		maxLen:    cfg.MaxPDU,
		sessions:  make(map[uint64]*session),
		unknown:   make(map[pdu.CommandID]uint64),
		schedWake: make(chan struct{}, 1),
		done:      make(chan struct{}),
	}
	if s.maxLen == 0 {
		s.maxLen = pdu.DefaultMaxLen
	}
	s.startSeq.Store(1)
	s.msgID.Store(0xA0000) // hex ids then contain letters: "a0001", …
	s.wg.Add(2)
	go s.acceptLoop()
	go s.scheduleLoop()
	return s, nil
}

// Addr returns the address the simulator listens on.
func (s *SMSC) Addr() string { return s.ln.Addr().String() }

// Close stops listening, closes every session and waits for every goroutine of
// the simulator. It is idempotent; every call waits.
func (s *SMSC) Close() error {
	s.closeOnce.Do(func() {
		close(s.done)
		s.ln.Close()
		s.mu.Lock()
		s.closed = true
		for _, ss := range s.sessions {
			ss.conn.Close()
		}
		s.mu.Unlock()
	})
	s.wg.Wait()
	return nil
}

func (s *SMSC) logf(format string, args ...any) {
	if s.cfg.Logf != nil {
		s.cfg.Logf(format, args...)
	}
}

func (s *SMSC) acceptLoop() {
	defer s.wg.Done()
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			select {
			case <-s.done:
				return
			case <-time.After(5 * time.Millisecond):
				// E.g. out of file descriptors: try again, as net/http does.
				s.logf("testenv: smsc accept: %v", err)
				continue
			}
		}
		ss := newSession(s, s.sessionIDs.Add(1), conn)
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			conn.Close()
			return
		}
		s.sessions[ss.id] = ss
		s.wg.Add(1)
		s.notifyLocked()
		s.mu.Unlock()
		go ss.run()
	}
}

// SetSubmitStatus sets the command_status answered to every later submit_sm,
// data_sm and submit_multi (default ESME_ROK). A non-zero status answers with
// no message id and sends no receipt.
func (s *SMSC) SetSubmitStatus(st pdu.Status) { s.submitStatus.Store(uint32(st)) }

// HoldResponses makes the simulator record but not answer message requests
// while on. Requests held are never answered, even after it is turned off.
func (s *SMSC) HoldResponses(on bool) { s.hold.Store(on) }

// SetResponseDelay delays every later response by d (0 = answer at once). The
// responses are sent from the simulator's scheduler goroutine: the session's
// reader goes on reading meanwhile.
func (s *SMSC) SetResponseDelay(d time.Duration) { s.delay.Store(int64(d)) }

// DropConnections closes every session's TCP connection at once, without unbind.
func (s *SMSC) DropConnections() {
	s.mu.Lock()
	for _, ss := range s.sessions {
		ss.conn.Close()
	}
	s.mu.Unlock()
}

// Sessions lists the open sessions in the order they connected.
func (s *SMSC) Sessions() []SessionInfo {
	s.mu.Lock()
	out := make([]SessionInfo, 0, len(s.sessions))
	for _, ss := range s.sessions {
		out = append(out, SessionInfo{ID: ss.id, SystemID: ss.systemID, Bind: ss.bindID, Remote: ss.remote, Bound: ss.bound})
	}
	s.mu.Unlock()
	slices.SortFunc(out, func(a, b SessionInfo) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// WaitSessions waits until at least n sessions are bound.
func (s *SMSC) WaitSessions(ctx context.Context, n int) error {
	for {
		s.mu.Lock()
		bound := 0
		for _, ss := range s.sessions {
			if ss.bound {
				bound++
			}
		}
		ch := s.changedLocked()
		s.mu.Unlock()
		if bound >= n {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("testenv: waiting for %d bound sessions (have %d): %w", n, bound, ctx.Err())
		case <-s.done:
			return fmt.Errorf("testenv: waiting for %d bound sessions (have %d): %w", n, bound, ErrClosed)
		}
	}
}

// changedLocked returns a channel closed at the next change of the sessions.
func (s *SMSC) changedLocked() chan struct{} {
	if s.changed == nil {
		s.changed = make(chan struct{})
	}
	return s.changed
}

func (s *SMSC) notifyLocked() {
	if s.changed != nil {
		close(s.changed)
		s.changed = nil
	}
}

// pickSession waits for a bound session of systemID ("" = any) that can receive
// requests from the SMSC (a receiver or transceiver, or any bound session when
// anyBind is set) and returns the oldest.
func (s *SMSC) pickSession(ctx context.Context, systemID string, anyBind bool) (*session, error) {
	for {
		s.mu.Lock()
		ss := s.findLocked(systemID, anyBind)
		ch := s.changedLocked()
		s.mu.Unlock()
		if ss != nil {
			return ss, nil
		}
		kind := "receiver/transceiver"
		if anyBind {
			kind = "bound"
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, fmt.Errorf("%w: no %s session for system_id %q: %w", ErrNoSession, kind, systemID, ctx.Err())
		case <-s.done:
			return nil, ErrClosed
		}
	}
}

func (s *SMSC) findLocked(systemID string, anyBind bool) *session {
	if anyBind {
		return s.findBoundLocked(systemID, func(pdu.CommandID) bool { return true })
	}
	return s.findReceiverLocked(systemID, 0)
}

// findReceiverLocked is the oldest session of systemID ("" = any) bound
// as bind (0: a receiver or a transceiver).
func (s *SMSC) findReceiverLocked(systemID string, bind pdu.CommandID) *session {
	return s.findBoundLocked(systemID, func(b pdu.CommandID) bool {
		return b == bind || bind == 0 && b != pdu.BindTransmitter
	})
}

func (s *SMSC) findBoundLocked(systemID string, bindOK func(pdu.CommandID) bool) *session {
	var best *session
	for _, ss := range s.sessions {
		if !ss.bound || (systemID != "" && ss.systemID != systemID) || !bindOK(ss.bindID) {
			continue
		}
		if best == nil || ss.id < best.id {
			best = ss
		}
	}
	return best
}

// Received returns a copy of the records kept so far (SMSCConfig.Record must be on).
func (s *SMSC) Received() []Record { return s.rec.all() }

// WaitFor returns the first record, already kept or still to come, that match
// accepts. SMSCConfig.Record must be on.
func (s *SMSC) WaitFor(ctx context.Context, match func(Record) bool) (Record, error) {
	if !s.cfg.Record {
		return Record{}, fmt.Errorf("testenv: WaitFor needs SMSCConfig.Record")
	}
	return s.rec.waitFor(ctx, s.done, match)
}

// SimStats are the simulator's counts since it started, over every session,
// open or closed.
type SimStats struct {
	Received map[pdu.CommandID]uint64 // PDUs received, by command (known commands)
	Answered map[pdu.Status]uint64    // answers to message submissions, by command_status
	Dropped  uint64                   // message submissions the load profile left unanswered
	Receipts map[string]uint64        // receipts queued, by final state

	// MOs sent by StormMO (a long MO once), their deliver_sm (two per long
	// MO), and the responses to those deliver_sm by command_status.
	MOSent, MOParts uint64
	MOAnswered      map[pdu.Status]uint64
}

// Stats returns the simulator's counts so far.
func (s *SMSC) Stats() SimStats {
	st := SimStats{Received: map[pdu.CommandID]uint64{}, Answered: map[pdu.Status]uint64{}, Receipts: map[string]uint64{},
		MOSent: s.moSent.Load(), MOParts: s.moParts.Load(), MOAnswered: map[pdu.Status]uint64{}}
	for i := range s.moAnswers {
		if n := s.moAnswers[i].Load(); n > 0 {
			if code, ok := pdu.StatusAt(i); ok {
				st.MOAnswered[code] = n
			}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	recv := s.retired
	answers := s.retiredAnswers
	st.Dropped = s.retiredDropped
	for _, ss := range s.sessions {
		for i := range ss.counts {
			recv[i] += ss.counts[i].Load()
		}
		for i := range ss.answers {
			answers[i] += ss.answers[i].Load()
		}
		st.Dropped += ss.dropped.Load()
	}
	for i, id := range pdu.KnownCommands {
		if n := recv[i]; n > 0 {
			st.Received[id] = n
		}
	}
	for i, n := range answers {
		if n > 0 {
			if code, ok := pdu.StatusAt(i); ok {
				st.Answered[code] = n
			}
		}
	}
	for k, n := range s.receipts {
		st.Receipts[k] = n
	}
	return st
}

// Count returns how many PDUs with command id id the simulator has received on
// all sessions, open or closed. It counts whether Record is on or not.
func (s *SMSC) Count(id pdu.CommandID) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !id.Known() {
		return int(s.unknown[id])
	}
	i := id.Index()
	n := s.retired[i]
	for _, ss := range s.sessions {
		n += ss.counts[i].Load()
	}
	return int(n)
}

// appendMessageID appends the next message id, hex or decimal.
func (s *SMSC) appendMessageID(dst []byte) []byte {
	n := s.msgID.Add(1)
	if s.cfg.DecimalIDs {
		return appendUint(dst, n, 10)
	}
	return appendUint(dst, n, 16)
}

func appendUint(dst []byte, n uint64, base uint64) []byte {
	var tmp [20]byte
	i := len(tmp)
	for {
		i--
		tmp[i] = "0123456789abcdef"[n%base]
		n /= base
		if n == 0 {
			break
		}
	}
	return append(dst, tmp[i:]...)
}

// A job is a delayed response or a pending receipt.
type job struct {
	due time.Time
	n   uint64
	raw []byte
	buf *[]byte // raw's buffer, from respBufs, when it goes back there once sent
	// A response goes to sess; a receipt to a receiving session of systemID
	// chosen when it is due.
	sess     *session
	systemID string
}

// jobHeap is a binary min-heap by due time, then order of scheduling. It
// is written out rather than container/heap's, whose interface would box
// every job pushed: a delayed response per submission under a latency
// profile must not allocate.
type jobHeap []job

func (h jobHeap) less(i, j int) bool {
	if !h[i].due.Equal(h[j].due) {
		return h[i].due.Before(h[j].due)
	}
	return h[i].n < h[j].n
}

func (h *jobHeap) push(j job) {
	*h = append(*h, j)
	q := *h
	for i := len(q) - 1; i > 0; {
		up := (i - 1) / 2
		if !q.less(i, up) {
			break
		}
		q[i], q[up] = q[up], q[i]
		i = up
	}
}

func (h *jobHeap) pop() job {
	q := *h
	top := q[0]
	last := len(q) - 1
	q[0] = q[last]
	q[last] = job{}
	q = q[:last]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < len(q) && q.less(l, m) {
			m = l
		}
		if r < len(q) && q.less(r, m) {
			m = r
		}
		if m == i {
			break
		}
		q[i], q[m] = q[m], q[i]
		i = m
	}
	*h = q
	return top
}

// respBufs keeps the buffers of delayed responses and receipts for reuse;
// each is large enough for a receipt, which would otherwise grow it twice.
var respBufs = sync.Pool{New: func() any { b := make([]byte, 0, 320); return &b }}

// delayedCopy copies p into a buffer from respBufs, for a job.
func delayedCopy(p []byte) (raw []byte, buf *[]byte) {
	buf = respBufs.Get().(*[]byte)
	raw = append((*buf)[:0], p...)
	return raw, buf
}

// sent returns a sent job's buffer to respBufs.
func (j *job) sent() {
	if j.buf != nil {
		*j.buf = j.raw[:0]
		respBufs.Put(j.buf)
	}
	*j = job{}
}

// schedule queues a job; it returns false when the queue is full.
func (s *SMSC) schedule(j job) bool {
	s.schedMu.Lock()
	if len(s.jobs) >= maxJobs {
		s.schedMu.Unlock()
		s.logf("testenv: smsc: %d delayed PDUs queued; dropping one", maxJobs)
		return false
	}
	j.n = s.jobN
	s.jobN++
	s.jobs.push(j)
	first := s.jobs[0].n == j.n
	s.schedMu.Unlock()
	if first {
		select {
		case s.schedWake <- struct{}{}:
		default:
		}
	}
	return true
}

// scheduleLoop sends delayed responses and receipts when they are due, then
// flushes the sessions it wrote to.
func (s *SMSC) scheduleLoop() {
	defer s.wg.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var due []job
	touched := make(map[*session]struct{})
	for {
		now := time.Now()
		next := time.Hour
		s.schedMu.Lock()
		for len(s.jobs) > 0 && !s.jobs[0].due.After(now) {
			due = append(due, s.jobs.pop())
		}
		if len(s.jobs) > 0 {
			next = s.jobs[0].due.Sub(now)
		}
		s.schedMu.Unlock()

		for i := range due {
			j := &due[i]
			ss := j.sess
			if ss == nil {
				s.mu.Lock()
				ss = s.findReceiverLocked(j.systemID, s.cfg.ReceiptBind)
				s.mu.Unlock()
				if ss == nil {
					s.logf("testenv: smsc: no receiver session of %q for a receipt; dropped", j.systemID)
					j.sent()
					continue
				}
				pdu.SetSeq(j.raw, ss.nextSeq())
			}
			ss.sendNow(j.raw)
			touched[ss] = struct{}{}
			j.sent()
		}
		due = due[:0]
		for ss := range touched {
			ss.out.flush()
			delete(touched, ss)
		}

		timer.Reset(next)
		select {
		case <-timer.C:
		case <-s.schedWake:
		case <-s.done:
			return
		}
	}
}
