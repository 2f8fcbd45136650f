package testenv

import (
	"context"
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
	// unless Handsets is set.
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
}

// TextShare is a share of MOs with one text.
type TextShare struct {
	Text  string
	Share float64
}

// StormResult holds a storm's figures.
type StormResult struct {
	Sent, Responses uint64
	ByStatus        map[pdu.Status]uint64
	// Elapsed runs from the first deliver_sm written to the last response read.
	Elapsed time.Duration
	// OKPerSecond is the ESME_ROK responses per second of Elapsed.
	OKPerSecond float64
	Latency     Histogram // deliver_sm → deliver_sm_resp
	// Unmatched counts responses whose sequence number no outstanding
	// deliver_sm had (a duplicate answer, or a number the peer changed).
	Unmatched uint64
	// ByText counts the MOs sent by text.
	ByText map[string]uint64
}

// StormMO sends cfg.Count MO deliver_sm from distinct handsets (or from a
// population of cfg.Handsets) on one bound session as fast as the other
// side answers (or at cfg.Rate), keeping at most cfg.Window outstanding
// (responses may come in any order), and measures every response. Each
// text's PDU is encoded once; each MO patches its sequence number and the
// handset's digits. It returns when every MO was answered, the drain
// time passed after the last one was sent, the session closed or ctx ended
// (the figures so far are returned with the error).
func (s *SMSC) StormMO(ctx context.Context, cfg StormConfig) (StormResult, error) {
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
	if cfg.Drain <= 0 {
		cfg.Drain = 10 * time.Second
	}
	population := cfg.Count
	if cfg.Handsets > 0 {
		population = cfg.Handsets
	}
	first := strconv.FormatUint(cfg.FirstHandset, 10)
	last := strconv.FormatUint(cfg.FirstHandset+uint64(max(population, 1)-1), 10)
	if len(last) != len(first) || len(first) > 15 {
		return StormResult{}, fmt.Errorf("testenv: storm: handsets %s … %s do not keep one length of at most 15 digits", first, last)
	}
	mix := cfg.Mix
	if len(mix) == 0 {
		mix = []TextShare{{Text: cfg.Text, Share: 1}}
	}
	// One encoded deliver_sm per text; each MO patches the handset's
	// digits and the sequence number of its text's.
	// header, service_type (empty: its NUL), source TON/NPI, '+', digits.
	off := pdu.HeaderLen + 1 + 2 + 1
	tmpls := make([][]byte, len(mix))
	total := 0.0
	for i, m := range mix {
		pdus, err := s.buildMO(MO{From: "+" + first, To: cfg.To, Text: m.Text})
		if err != nil {
			return StormResult{}, err
		}
		if len(pdus) != 1 || m.Share < 0 {
			return StormResult{}, fmt.Errorf("testenv: storm: text %q with share %v: want a share ≥ 0 of a text of one SMS", m.Text, m.Share)
		}
		if string(pdus[0][off:off+len(first)]) != first {
			return StormResult{}, fmt.Errorf("testenv: storm: handset not found in the deliver_sm")
		}
		tmpls[i] = pdus[0]
		total += m.Share
	}
	if math.Abs(total-1) > 1e-9 {
		return StormResult{}, fmt.Errorf("testenv: storm: the texts' shares add up to %v, want 1", total)
	}
	draw := rand.New(rand.NewPCG(cfg.Seed, 0x5eed))
	pick := func() int {
		x := draw.Float64()
		for i, m := range mix {
			if x < m.Share {
				return i
			}
			x -= m.Share
		}
		return len(mix) - 1
	}
	ss, err := s.pickSession(ctx, cfg.SystemID, false)
	if err != nil {
		return StormResult{}, err
	}

	st := &storm{
		sentAt: make(map[uint32]int64, cfg.Window),
		tokens: make(chan struct{}, cfg.Window),
		resps:  make(chan []byte, cfg.Window+16),
		start:  time.Now(),
	}
	for range cfg.Window {
		st.tokens <- struct{}{}
	}
	res := StormResult{ByStatus: map[pdu.Status]uint64{}, ByText: map[string]uint64{}}
	collected, quit := make(chan struct{}), make(chan struct{})
	var lastResp atomic.Int64
	go func() {
		defer close(collected)
		for {
			var p []byte
			select {
			case p = <-st.resps:
			case <-quit:
				return
			}
			seq := pdu.Seq(p)
			st.mu.Lock()
			at, ok := st.sentAt[seq]
			delete(st.sentAt, seq)
			st.mu.Unlock()
			if !ok {
				res.Unmatched++
				continue
			}
			now := int64(time.Since(st.start))
			lastResp.Store(now)
			res.Responses++
			res.ByStatus[pdu.StatusOf(p)]++
			res.Latency.Record(time.Duration(now - at))
			st.tokens <- struct{}{}
		}
	}()

	sentByText := make([]uint64, len(mix))
	seqs := make([]uint32, 0, cfg.Window)
	var runErr error
	sent := 0
send:
	for sent < cfg.Count {
		// Take one token, waiting, then every other one free now.
		select {
		case <-st.tokens:
		case <-ctx.Done():
			runErr = ctx.Err()
			break send
		case <-ss.done:
			runErr = fmt.Errorf("testenv: storm: session %d: %w", ss.id, ErrClosed)
			break send
		}
		n := 1
		if cfg.Rate > 0 {
			// Wait for this MO's time; send the ones due by then together.
			due := st.start.Add(time.Duration(float64(sent) / cfg.Rate * float64(time.Second)))
			if d := time.Until(due); d > 0 {
				select {
				case <-time.After(d):
				case <-ctx.Done():
					st.tokens <- struct{}{}
					runErr = ctx.Err()
					break send
				}
			}
		}
		limit := cfg.Count - sent
		if cfg.Rate > 0 {
			limit = min(limit, int(time.Since(st.start).Seconds()*cfg.Rate)+1-sent)
		}
	more:
		for n < limit {
			select {
			case <-st.tokens:
				n++
			default:
				break more
			}
		}
		seqs = seqs[:0]
		ss.mu.Lock()
		if ss.closed {
			ss.mu.Unlock()
			runErr = fmt.Errorf("testenv: storm: session %d: %w", ss.id, ErrClosed)
			break
		}
		for range n {
			seq := ss.nextSeqLocked()
			ss.pending[seq] = st.resps
			seqs = append(seqs, seq)
		}
		ss.mu.Unlock()
		t := int64(time.Since(st.start))
		st.mu.Lock()
		for _, seq := range seqs {
			st.sentAt[seq] = t
		}
		st.mu.Unlock()
		o := ss.out
		o.mu.Lock()
		for _, seq := range seqs {
			ti := pick()
			p := tmpls[ti]
			setDecimal(p[off:off+len(first)], cfg.FirstHandset+handsetIndex(cfg, sent)%uint64(population))
			sent++
			sentByText[ti]++
			pdu.SetSeq(p, seq)
			if err = o.writeLocked(p); err != nil {
				break
			}
		}
		if err == nil {
			err = o.flushLocked()
		}
		o.mu.Unlock()
		if err != nil {
			runErr = fmt.Errorf("testenv: storm: %w", err)
			break
		}
	}
	res.Sent = uint64(sent)
	for i, n := range sentByText {
		if n > 0 {
			res.ByText[mix[i].Text] += n
		}
	}

	// Wait for the outstanding responses.
	drain := time.NewTimer(cfg.Drain)
wait:
	for len(st.tokens) < cfg.Window && runErr == nil {
		select {
		case <-drain.C:
			runErr = fmt.Errorf("testenv: storm: %d deliver_sm unanswered %s after the last was sent", cfg.Window-len(st.tokens), cfg.Drain)
			break wait
		case <-ss.done:
			runErr = fmt.Errorf("testenv: storm: session %d: %w", ss.id, ErrClosed)
			break wait
		case <-ctx.Done():
			runErr = ctx.Err()
			break wait
		case <-time.After(time.Millisecond):
		}
	}
	drain.Stop()
	// Forget what is still unanswered. resps is never closed: a late
	// response the reader already took may still be put in it, and its
	// buffer has room for every request of the window.
	ss.mu.Lock()
	for seq, ch := range ss.pending {
		if ch == st.resps {
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

// storm is the state one StormMO shares between its sender and collector.
type storm struct {
	// sentAt holds send times by sequence number. Not a ring as in the
	// load generator: responses come in any order, and one that waits on a
	// slow disk write may be overtaken by thousands of others.
	mu     sync.Mutex
	sentAt map[uint32]int64 // guarded by mu
	tokens chan struct{}    // window: one per deliver_sm that may be outstanding
	resps  chan []byte      // responses, handed over by the session's reader
	start  time.Time
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
