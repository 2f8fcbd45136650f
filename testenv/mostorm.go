package testenv

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/optguard/optguard/smpp/pdu"
)

// StormConfig configures SMSC.StormMO.
type StormConfig struct {
	// SystemID picks the bound receiver or transceiver session the storm is
	// sent on ("" = any); every MO goes on that one session.
	SystemID string
	// Window is how many deliver_sm may wait for their response; default 1000.
	Window int
	// Count is how many MOs are sent, each from a different handset
	// unless Handsets is set. 0 with a Rate: a stream that runs until ctx
	// ends (Handsets must be set), as handsets reply during a load test.
	Count int
	// FirstHandset is the first handset's E.164 digits; handset i is
	// FirstHandset+i with the same number of digits. Default 15560000000.
	FirstHandset uint64
	// Spread sends the same handsets in a scattered order (the i-th MO
	// from FirstHandset + i×k mod Count, k a prime that does not divide
	// Count), as a real storm's arrive, instead of counting up: a store
	// keyed by number meets its keys in order otherwise.
	Spread bool
	// To is destination_addr (the ESME's number); default "+15550000001".
	To string
	// Text is the MO's text; default "STOP".
	Text string
	// Drain is how long the storm waits for the last responses; default 10s.
	Drain time.Duration

	// Rate, when above 0, paces the MOs at that many per second (open
	// loop, still within Window) instead of as fast as they are answered.
	Rate float64
	// Mix, when set, gives the texts of the MOs by share (adding up to 1;
	// each text one SMS) instead of Text alone: replies as a population
	// sends them, e.g. 5 % STOP, 2 % START, 1 % HELP, the rest ordinary.
	Mix []TextShare
	// Handsets, when above 0, is the population the MOs come from: MO i
	// comes from the (i mod Handsets)-th handset, so that handsets write
	// more than once. 0: Count distinct handsets.
	Handsets int
	// Seed seeds the draw of texts from Mix; 0: a fixed seed.
	Seed uint64
	// LongShare is the share of MOs sent as LongText in two deliver_sm
	// with an 8-bit concatenation UDH (esm_class UDHI), a reference of
	// their own each; Mix (or Text) gives the texts of the rest.
	LongShare float64
	// LongText is the long MOs' text: GSM 03.38, two SMS long (161 … 306
	// septets). Default an ordinary reply of about 250 characters.
	LongText string
	// OnSession, when set, is called with the session the storm was given
	// before its first MO is sent.
	OnSession func(SessionInfo)
}

// TextShare is a share of MOs with one text.
type TextShare struct {
	Text  string
	Share float64
}

// DefaultLongText is the text of long MOs when StormConfig.LongText is "".
const DefaultLongText = "Thanks for the message. I will be at the office around ten tomorrow morning, " +
	"so please call me then or leave a note with the front desk if that does not work for you. " +
	"Also the last delivery came two days late and one of the boxes was damaged."

// StormResult holds a storm's figures.
type StormResult struct {
	// Sent counts MOs (a long MO once); Responses counts the responses to
	// their deliver_sm (a long MO's two parts twice).
	Sent, Responses uint64
	// Parts counts the deliver_sm sent: one per MO, two per long MO.
	Parts    uint64
	ByStatus map[pdu.Status]uint64
	// Elapsed runs from the first deliver_sm written to the last response read.
	Elapsed time.Duration
	// OKPerSecond is the ESME_ROK responses per second of Elapsed.
	OKPerSecond float64
	Latency     Histogram // deliver_sm → deliver_sm_resp
	// Unmatched counts responses whose sequence number no outstanding
	// deliver_sm had (a duplicate answer, or a number the peer changed).
	Unmatched uint64
	// ByText counts the MOs sent by text (LongText once per long MO).
	ByText map[string]uint64
}

// StormMO sends cfg.Count MO deliver_sm from distinct handsets (or from a
// population of cfg.Handsets) on one bound session as fast as the other
// side answers (or at cfg.Rate), keeping at most cfg.Window outstanding
// (responses may come in any order), and measures every response. Each
// text's PDU is encoded once; each MO patches its sequence number and the
// handset's digits (and a long MO its concatenation reference). It returns
// when every MO was answered, the drain time passed after the last one was
// sent, the session closed or ctx ended (the figures so far are returned
// with the error).
//
// A stream (Count 0, Rate above 0) runs until ctx ends or the session
// closes. When ctx ends it, it waits up to Drain for the responses still
// due and returns the figures with a nil error.
func (s *SMSC) StormMO(ctx context.Context, cfg StormConfig) (StormResult, error) {
	st, err := newStorm(s, cfg)
	if err != nil {
		return StormResult{}, err
	}
	ss, err := s.pickSession(ctx, st.cfg.SystemID, false)
	if err != nil {
		return StormResult{}, err
	}
	if cfg.OnSession != nil {
		s.mu.Lock()
		info := SessionInfo{ID: ss.id, SystemID: ss.systemID, Bind: ss.bindID, Remote: ss.remote, Bound: ss.bound}
		s.mu.Unlock()
		cfg.OnSession(info)
	}
	return st.run(ctx, ss)
}

// Validate reports what StormMO would refuse in cfg, before any session.
func (cfg StormConfig) Validate() error {
	_, err := newStorm(&SMSC{}, cfg)
	return err
}

// storm is one StormMO: its templates and draws, owned by the sender, and
// the state the sender shares with the collector of responses.
type storm struct {
	s          *SMSC
	cfg        StormConfig
	mix        []TextShare
	tmpls      [][]byte // one deliver_sm per text of mix
	long       [][]byte // the parts of a long MO; nil without LongShare
	longRef    int      // offset of the concatenation reference in each part of long
	hOff, hLen int      // the handset's digits in every template
	population uint64
	draw       *rand.Rand
	start      time.Time

	// Sender-owned.
	sent       int      // MOs sent
	parts      uint64   // deliver_sm sent
	sentByText []uint64 // by index of mix; the last is the long MOs
	batch      []int    // the MOs of the next write, by text index
	seqs       []uint32 // their deliver_sm's sequence numbers

	// sentAt holds send times by sequence number. Not a ring as in the
	// load generator: responses come in any order, and one that waits on a
	// slow disk write may be overtaken by thousands of others.
	mu     sync.Mutex
	sentAt map[uint32]int64 // guarded by mu
	tokens chan struct{}    // window: one per deliver_sm that may be outstanding
	resps  chan stormResp   // responses, handed over by the session's reader
}

// stormResp is what a storm needs of a response: the reader hands it over
// without copying the PDU.
type stormResp struct {
	seq    uint32
	status pdu.Status
}

// newStorm checks cfg, fills in its defaults and encodes the templates.
func newStorm(s *SMSC, cfg StormConfig) (*storm, error) {
	if cfg.Window <= 0 {
		cfg.Window = 1000
	}
	if cfg.FirstHandset == 0 {
		cfg.FirstHandset = 15560000000
	}
	if cfg.To == "" {
		cfg.To = "+15550000001"
	}
	if cfg.Text == "" {
		cfg.Text = "STOP"
	}
	if cfg.LongText == "" {
		cfg.LongText = DefaultLongText
	}
	if cfg.Drain <= 0 {
		cfg.Drain = 10 * time.Second
	}
	switch {
	case cfg.Count < 0 || cfg.Rate < 0 || cfg.Handsets < 0:
		return nil, fmt.Errorf("testenv: storm: count %d, rate %v, handsets %d: want none below 0", cfg.Count, cfg.Rate, cfg.Handsets)
	case cfg.Count == 0 && (cfg.Rate == 0 || cfg.Handsets == 0):
		return nil, fmt.Errorf("testenv: storm: a stream (count 0) needs a rate and a population of handsets")
	case cfg.LongShare < 0 || cfg.LongShare > 1:
		return nil, fmt.Errorf("testenv: storm: long share %v: want 0 … 1", cfg.LongShare)
	case cfg.LongShare > 0 && cfg.Window < 2:
		return nil, fmt.Errorf("testenv: storm: window %d cannot hold the two parts of a long MO", cfg.Window)
	}
	population := cfg.Count
	if cfg.Handsets > 0 {
		population = cfg.Handsets
	}
	first := strconv.FormatUint(cfg.FirstHandset, 10)
	last := strconv.FormatUint(cfg.FirstHandset+uint64(max(population, 1)-1), 10)
	if len(last) != len(first) || len(first) > 15 {
		return nil, fmt.Errorf("testenv: storm: handsets %s … %s do not keep one length of at most 15 digits", first, last)
	}
	st := &storm{
		s:          s,
		cfg:        cfg,
		mix:        cfg.Mix,
		hOff:       pdu.HeaderLen + 1 + 2 + 1, // header, service_type (empty: its NUL), source TON/NPI, '+'
		hLen:       len(first),
		population: uint64(max(population, 1)),
		draw:       rand.New(rand.NewPCG(cfg.Seed, 0x5eed)),
		sentAt:     make(map[uint32]int64, cfg.Window),
		tokens:     make(chan struct{}, cfg.Window),
		resps:      make(chan stormResp, cfg.Window+16),
		batch:      make([]int, 0, cfg.Window),
		seqs:       make([]uint32, 0, cfg.Window),
	}
	if len(st.mix) == 0 {
		st.mix = []TextShare{{Text: cfg.Text, Share: 1}}
	}
	st.sentByText = make([]uint64, len(st.mix)+1)
	// One encoded deliver_sm per text; each MO patches the handset's
	// digits and the sequence number of its text's.
	hasHandset := func(p []byte) bool { return string(p[st.hOff:st.hOff+st.hLen]) == first }
	total := 0.0
	for _, m := range st.mix {
		pdus, err := s.buildMO(MO{From: "+" + first, To: cfg.To, Text: m.Text})
		if err != nil {
			return nil, err
		}
		if len(pdus) != 1 || m.Share < 0 {
			return nil, fmt.Errorf("testenv: storm: text %q with share %v: want a share ≥ 0 of a text of one SMS", m.Text, m.Share)
		}
		if !hasHandset(pdus[0]) {
			return nil, fmt.Errorf("testenv: storm: handset not found in the deliver_sm")
		}
		st.tmpls = append(st.tmpls, pdus[0])
		total += m.Share
	}
	if math.Abs(total-1) > 1e-9 {
		return nil, fmt.Errorf("testenv: storm: the texts' shares add up to %v, want 1", total)
	}
	if cfg.LongShare > 0 {
		if err := st.buildLong(first); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// buildLong encodes the parts of a long MO: UDH 05 00 03 ref 02 seq, whose
// reference each long MO patches.
func (st *storm) buildLong(first string) error {
	const udhRef = 3 // the reference's offset in the UDH
	dc, parts, err := pdu.SplitText(st.cfg.LongText, 0, false)
	if err != nil || dc != pdu.CodingDefault || len(parts) != 2 {
		return fmt.Errorf("testenv: storm: long text %q: want GSM 03.38 text of two SMS", st.cfg.LongText)
	}
	for _, ud := range parts {
		p, err := pdu.AppendDeliverSM(nil, 0, &pdu.SM{
			Source: addrOf("+" + first), Dest: addrOf(st.cfg.To),
			EsmClass: pdu.EsmClassUDHI, DataCoding: dc, ShortMessage: ud,
		})
		if err != nil {
			return fmt.Errorf("testenv: storm: long text: %w", err)
		}
		// No TLVs: the short_message ends the PDU.
		ref := len(p) - len(ud) + udhRef
		if string(p[st.hOff:st.hOff+st.hLen]) != first || string(p[ref-udhRef:ref]) != "\x05\x00\x03" || p[ref+1] != 2 {
			return fmt.Errorf("testenv: storm: handset or UDH not found in the long deliver_sm")
		}
		st.longRef = ref
		st.long = append(st.long, p)
	}
	return nil
}

// pick draws the text of the next MO: an index of mix, or len(mix) for a
// long MO.
func (st *storm) pick() int {
	if st.cfg.LongShare > 0 && st.draw.Float64() < st.cfg.LongShare {
		return len(st.mix)
	}
	x := st.draw.Float64()
	for i, m := range st.mix {
		if x < m.Share {
			return i
		}
		x -= m.Share
	}
	return len(st.mix) - 1
}

// partsOf is the number of deliver_sm of an MO with text index ti.
func (st *storm) partsOf(ti int) int {
	if ti == len(st.mix) {
		return len(st.long)
	}
	return 1
}

// run sends the storm on ss and collects its responses.
func (st *storm) run(ctx context.Context, ss *session) (StormResult, error) {
	res := StormResult{ByStatus: map[pdu.Status]uint64{}, ByText: map[string]uint64{}}
	st.start = time.Now()
	for range st.cfg.Window {
		st.tokens <- struct{}{}
	}
	collected, quit := make(chan struct{}), make(chan struct{})
	var lastResp atomic.Int64
	go func() {
		defer close(collected)
		for {
			select {
			case r := <-st.resps:
				if at, ok := st.collect(&res, r); ok {
					lastResp.Store(at)
				}
			case <-quit:
				return
			}
		}
	}()

	runErr := st.sendAll(ctx, ss)
	res.Sent, res.Parts = uint64(st.sent), st.parts
	for i, n := range st.sentByText {
		if n == 0 {
			continue
		}
		text := st.cfg.LongText
		if i < len(st.mix) {
			text = st.mix[i].Text
		}
		res.ByText[text] += n
	}

	// Wait for the outstanding responses; a stream that ctx ended, too.
	ctxDone := ctx.Done()
	if st.cfg.Count == 0 && runErr != nil && errors.Is(runErr, ctx.Err()) {
		runErr, ctxDone = nil, nil
	}
	drain := time.NewTimer(st.cfg.Drain)
	poll := time.NewTicker(time.Millisecond)
wait:
	for len(st.tokens) < st.cfg.Window && runErr == nil {
		select {
		case <-drain.C:
			runErr = fmt.Errorf("testenv: storm: %d deliver_sm unanswered %s after the last was sent", st.cfg.Window-len(st.tokens), st.cfg.Drain)
			break wait
		case <-ss.done:
			runErr = fmt.Errorf("testenv: storm: session %d: %w", ss.id, ErrClosed)
			break wait
		case <-ctxDone:
			runErr = ctx.Err()
			break wait
		case <-poll.C:
		}
	}
	drain.Stop()
	poll.Stop()
	// Forget what is still unanswered. resps is never closed: a late
	// response the reader already took may still be put in it, and its
	// buffer has room for every request of the window.
	ss.mu.Lock()
	for seq, w := range ss.pending {
		if w.storm == st.resps {
			delete(ss.pending, seq)
		}
	}
	ss.mu.Unlock()
	close(quit)
	<-collected
	if res.Unmatched > 0 && runErr != nil {
		runErr = fmt.Errorf("%w (%d responses matched no outstanding deliver_sm)", runErr, res.Unmatched)
	}
	res.Elapsed = time.Duration(lastResp.Load())
	if res.Elapsed > 0 {
		res.OKPerSecond = float64(res.ByStatus[pdu.ESME_ROK]) / res.Elapsed.Seconds()
	}
	return res, runErr
}

// sendAll sends the MOs in batches: those the rate has made due (or as
// many as the window allows), with one flush each.
func (st *storm) sendAll(ctx context.Context, ss *session) error {
	closed := func() error { return fmt.Errorf("testenv: storm: session %d: %w", ss.id, ErrClosed) }
	held, next := 0, -1 // tokens taken, and the MO drawn but not yet sent (-1: none)
	defer func() {
		for range held { // back, so that the drain counts right
			st.tokens <- struct{}{}
		}
	}()
	pace := time.NewTimer(time.Hour)
	defer pace.Stop()
	for st.cfg.Count == 0 || st.sent < st.cfg.Count {
		// Wait for the tokens of the next MO.
		if next < 0 {
			next = st.pick()
		}
		for held < st.partsOf(next) {
			select {
			case <-st.tokens:
				held++
			case <-ctx.Done():
				return ctx.Err()
			case <-ss.done:
				return closed()
			}
		}
		limit := st.cfg.Window
		if st.cfg.Count > 0 {
			limit = st.cfg.Count - st.sent
		}
		if st.cfg.Rate > 0 {
			// Wait for this MO's time; send the ones due by then together.
			due := st.start.Add(time.Duration(float64(st.sent) / st.cfg.Rate * float64(time.Second)))
			if d := time.Until(due); d > 0 {
				pace.Reset(d)
				select {
				case <-pace.C:
				case <-ctx.Done():
					return ctx.Err()
				case <-ss.done:
					return closed()
				}
			}
			limit = min(limit, max(int(time.Since(st.start).Seconds()*st.cfg.Rate)+1-st.sent, 1))
		}
		st.batch = st.batch[:0]
		for len(st.batch) < limit {
			if next < 0 {
				next = st.pick()
			}
			if !st.take(&held, st.partsOf(next)) {
				break
			}
			st.batch = append(st.batch, next)
			held -= st.partsOf(next)
			next = -1
		}
		if err := st.send(ss); err != nil {
			// The write error closed the connection: wait for the session to
			// end, so that a caller picking again does not get it back.
			select {
			case <-ss.done:
			case <-ctx.Done():
			}
			return err
		}
	}
	return nil
}

// take takes tokens that are free now until *held reaches need.
func (st *storm) take(held *int, need int) bool {
	for *held < need {
		select {
		case <-st.tokens:
			*held++
		default:
			return false
		}
	}
	return true
}

// send writes the MOs of st.batch, each from its handset, with consecutive
// sequence numbers and one flush. It allocates nothing.
func (st *storm) send(ss *session) error {
	n := 0
	for _, ti := range st.batch {
		n += st.partsOf(ti)
	}
	st.seqs = st.seqs[:0]
	ss.mu.Lock()
	if ss.closed {
		ss.mu.Unlock()
		return fmt.Errorf("testenv: storm: session %d: %w", ss.id, ErrClosed)
	}
	for range n {
		seq := ss.nextSeqLocked()
		ss.pending[seq] = waiter{storm: st.resps}
		st.seqs = append(st.seqs, seq)
	}
	ss.mu.Unlock()
	t := int64(time.Since(st.start))
	st.mu.Lock()
	for _, seq := range st.seqs {
		st.sentAt[seq] = t
	}
	st.mu.Unlock()

	o := ss.out
	var err error
	seqs := st.seqs
	mos, parts := 0, 0
	o.mu.Lock()
	for _, ti := range st.batch {
		h := st.cfg.FirstHandset + handsetIndex(st.cfg, st.sent+mos)%st.population
		if ti < len(st.tmpls) {
			err = st.write(o, st.tmpls[ti], h, seqs[parts])
			parts++
		} else {
			ref := byte(st.s.concatRef.Add(1))
			for _, p := range st.long {
				p[st.longRef] = ref
				if err = st.write(o, p, h, seqs[parts]); err != nil {
					break
				}
				parts++
			}
		}
		if err != nil {
			break
		}
		st.sentByText[ti]++
		mos++
	}
	if err == nil {
		err = o.flushLocked()
	}
	o.mu.Unlock()
	st.sent += mos
	st.parts += uint64(parts)
	st.s.moSent.Add(uint64(mos))
	st.s.moParts.Add(uint64(parts))
	if err != nil {
		return fmt.Errorf("testenv: storm: %w", err)
	}
	return nil
}

// write patches template p for handset h and sequence number seq and
// buffers it; the caller holds o.mu.
func (st *storm) write(o *outbuf, p []byte, h uint64, seq uint32) error {
	setDecimal(p[st.hOff:st.hOff+st.hLen], h)
	pdu.SetSeq(p, seq)
	return o.writeLocked(p)
}

// collect counts one response into res and gives its window token back. It
// returns when the response came (since the start), or false when no
// outstanding deliver_sm had its sequence number.
func (st *storm) collect(res *StormResult, r stormResp) (int64, bool) {
	st.mu.Lock()
	at, ok := st.sentAt[r.seq]
	delete(st.sentAt, r.seq)
	st.mu.Unlock()
	if !ok {
		res.Unmatched++
		return 0, false
	}
	now := int64(time.Since(st.start))
	res.Responses++
	res.ByStatus[r.status]++
	res.Latency.Record(time.Duration(now - at))
	st.s.moAnswers[r.status.Index()].Add(1)
	st.tokens <- struct{}{}
	return now, true
}

// setDecimal writes v into d as decimal digits, right-aligned.
func setDecimal(d []byte, v uint64) {
	for i := len(d) - 1; i >= 0; i-- {
		d[i] = byte('0' + v%10)
		v /= 10
	}
}

// handsetIndex is the offset from FirstHandset of the handset of the i-th MO.
func handsetIndex(cfg StormConfig, i int) uint64 {
	if !cfg.Spread || cfg.Count < 2 {
		return uint64(i)
	}
	k := uint64(1_000_003)
	for _, p := range []uint64{1_000_003, 999_983, 7_919} {
		if uint64(cfg.Count)%p != 0 {
			k = p
			break
		}
	}
	return uint64(i) * k % uint64(cfg.Count)
}
