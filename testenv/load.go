package testenv

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/optguard/optguard/smpp/pdu"
)

// LoadConfig configures RunLoad.
type LoadConfig struct {
	Addr string

	// Binds connections (each a bind of kind BindID: bind_transmitter by
	// default, or bind_transceiver) keep up to Window submit_sm outstanding.
	Binds, Window int

	// Duration is the measured period, after Warmup (total run: Warmup +
	// Duration). 0 = 10 s.
	Duration time.Duration

	// Rate is the total submit_sm per second across binds; 0 = as fast as the
	// windows allow.
	Rate int

	SystemID, Password string
	BindID             pdu.CommandID

	// Message is the submit_sm sent; nil = a 160-character GSM 03.38 text from
	// "+15550000001" to "+15550000002". It is encoded once; only the sequence
	// number (and with VaryDest the destination) is patched per message.
	Message *pdu.SM

	// VaryDest makes the destination differ per message: its last four
	// characters cycle through 0000 … 9999.
	VaryDest bool

	// Warmup runs load first without counting it in the figures.
	Warmup time.Duration

	MaxPDU uint32 // largest response accepted; 0 = pdu.DefaultMaxLen

	// Phases, when set, replace Duration and Rate: the measured period
	// goes through them in order (the warmup runs at the first one's pace).
	Phases []LoadPhase
	// Mix, when set, replaces Message: each message is drawn from it by
	// share.
	Mix []LoadMessage
	// Handsets, when set, is the population messages go to (it replaces
	// Message's destination and VaryDest).
	Handsets *LoadHandsets
	// ReceiptShare is the share of messages sent with registered_delivery
	// 1 (a receipt asked for); the rest have 0. Mix and Handsets only; a
	// plain Message keeps its own registered_delivery.
	ReceiptShare float64
	// ReceiptWait is how long the run waits after the last response for
	// the receipts still due; 0 = 5 s when receipts are asked for.
	ReceiptWait time.Duration
	// HeldPrefix marks the message ids of held messages (LoadGroupResult.Held).
	HeldPrefix string
	// Seed seeds the draws from Mix, ReceiptShare and a random population;
	// 0 = a fixed seed, so that runs repeat.
	Seed uint64
	// OnSecond, when set, is called once a second of the run (warmup
	// included), from a goroutine of its own, with that second's figures:
	// for a live progress line. It must return quickly.
	OnSecond func(LoadSecond)
}

// LoadResult holds the figures of the measured period: requests sent after the
// warmup and the responses to those requests (including the ones that arrived
// after the period, while the binds drained).
type LoadResult struct {
	Sent, Responses uint64
	ByStatus        map[pdu.Status]uint64
	Errors          []string // bind failures, connection losses, … (at most 20)

	Elapsed   time.Duration // the measured period as run
	PerSecond float64       // Responses / Elapsed
	Latency   Histogram     // submit_sm → response

	// Intended is latency from the intended send time, over the open-loop
	// phases (Rate above 0): corrected for coordinated omission.
	Intended Histogram
	Phases   []LoadPhaseResult // one per phase (one for a run without Phases)
	Series   []LoadSecond      // every second of the run, warmup included

	SentByCommand map[pdu.CommandID]uint64 // requests written in the measured period
	ByMessage     map[string]uint64        // messages sent by mix entry name
	ByGroup       map[string]*LoadGroupResult
	Stalls        uint64 // times a writer found its window full
	// Unanswered counts requests of the measured period that had no
	// response when the run ended.
	Unanswered uint64

	// Receipts counts receipts matched to a request of the measured
	// period (by message_id), with ReceiptLatency from the request;
	// ReceiptStats counts them by the stat: of their text.
	Receipts          uint64
	ReceiptLatency    Histogram
	ReceiptStats      map[string]uint64
	ReceiptsUnmatched uint64 // receipts whose message_id no request had
	// ReceiptsDue counts requests that asked for a receipt, were accepted
	// and got none before the run ended.
	ReceiptsDue uint64
	MOs         uint64 // deliver_sm that were not receipts (MO messages)
}

const (
	maxLoadErrors   = 20
	loadBindTimeout = 10 * time.Second
	loadDrain       = 2 * time.Second // waiting for outstanding responses at the end
	loadUnbindWait  = time.Second
	rateSlot        = time.Millisecond       // the rate limiter releases tokens in batches of at least this period
	rateBurst       = 250 * time.Millisecond // … and keeps at most this much unused
)

// defaultLoadText is 160 characters of GSM 03.38.
var defaultLoadText = func() string {
	s := strings.Repeat("optguard load test message 0123456789. ", 5)
	return s[:160]
}()

func defaultLoadMessage() *pdu.SM {
	return &pdu.SM{
		Source:       pdu.Addr{TON: 1, NPI: 1, Addr: "+15550000001"},
		Dest:         pdu.Addr{TON: 1, NPI: 1, Addr: "+15550000002"},
		DataCoding:   pdu.CodingDefault,
		ShortMessage: []byte(defaultLoadText),
	}
}

// RunLoad binds cfg.Binds connections to cfg.Addr, sends submit_sm on each with
// at most cfg.Window outstanding (and at most cfg.Rate per second in total) for
// cfg.Warmup + cfg.Duration, waits a little for the last responses, unbinds and
// returns the figures. Per bind there is one writer goroutine, which writes
// batches of pre-encoded submit_sm and flushes once per batch, and one reader
// goroutine, which matches responses to send times through a ring indexed by
// sequence number. The error is non-nil when no bind succeeded or ctx ended the
// run early (the figures so far are returned with it).
func RunLoad(ctx context.Context, cfg LoadConfig) (LoadResult, error) {
	if cfg.Binds <= 0 {
		cfg.Binds = 1
	}
	if cfg.Window <= 0 {
		cfg.Window = 1
	}
	if cfg.Duration <= 0 {
		cfg.Duration = 10 * time.Second
	}
	if cfg.BindID == 0 {
		cfg.BindID = pdu.BindTransmitter
	}
	if cfg.BindID != pdu.BindTransmitter && cfg.BindID != pdu.BindTransceiver {
		return LoadResult{}, fmt.Errorf("testenv: load: %s cannot submit", cfg.BindID)
	}
	msg := cfg.Message
	if msg == nil {
		msg = defaultLoadMessage()
	}
	tmpl, err := pdu.AppendSubmitSM(nil, 0, msg)
	if err != nil {
		return LoadResult{}, fmt.Errorf("testenv: load message: %w", err)
	}
	destOff := -1
	if cfg.VaryDest {
		if len(msg.Dest.Addr) < 4 {
			return LoadResult{}, fmt.Errorf("testenv: load: VaryDest needs a destination of at least 4 characters")
		}
		// header, service_type, source TON/NPI/addr, dest TON/NPI, then dest.
		destOff = pdu.HeaderLen + len(msg.ServiceType) + 1 + 2 + len(msg.Source.Addr) + 1 + 2 + len(msg.Dest.Addr) - 4
	}

	r := &loadRun{cfg: cfg, stop: make(chan struct{})}
	if cfg.Rate > 0 {
		r.limiter = newLimiter(cfg.Rate)
	}

	// Bind every connection first; the clock starts when they are bound.
	binds := make([]*loadBind, cfg.Binds)
	var bwg sync.WaitGroup
	for i := range binds {
		bwg.Add(1)
		go func() {
			defer bwg.Done()
			b, err := r.dialBind(ctx, i, tmpl, destOff)
			if err != nil {
				r.errorf("bind %d: %v", i, err)
				return
			}
			binds[i] = b
		}()
	}
	bwg.Wait()
	binds = slices.DeleteFunc(binds, func(b *loadBind) bool { return b == nil })
	if len(binds) == 0 {
		res := r.result(nil, 0)
		return res, fmt.Errorf("testenv: load: no bind succeeded: %s", strings.Join(res.Errors, "; "))
	}

	r.start = time.Now()
	r.t0 = r.start.Add(cfg.Warmup)
	r.t1 = r.t0.Add(cfg.Duration)
	r.t0ns = int64(cfg.Warmup)
	if r.limiter != nil {
		r.limiter.start = r.start
	}
	var wg, writers sync.WaitGroup
	for _, b := range binds {
		wg.Add(2)
		writers.Add(1)
		go b.readLoop(&wg)
		go b.writeLoop(&wg, &writers)
	}

	var runErr error
	timer := time.NewTimer(time.Until(r.t1))
	select {
	case <-timer.C:
	case <-ctx.Done():
		timer.Stop()
		runErr = fmt.Errorf("testenv: load interrupted: %w", ctx.Err())
	}
	stopAt := time.Now()
	r.stopping.Store(true)
	close(r.stop)

	// Writers drain, unbind and close; past a hard limit the connections are
	// closed under them.
	wdone := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		writers.Wait()
		close(wdone)
	}()
	hard := time.NewTimer(loadDrain + loadUnbindWait + time.Second)
	select {
	case <-wdone:
	case <-hard.C:
		r.errorf("binds did not finish within %s of the end; closing", loadDrain+loadUnbindWait+time.Second)
		for _, b := range binds {
			b.conn.Close()
		}
	}
	hard.Stop()
	wg.Wait()

	end := r.t1
	if stopAt.Before(end) {
		end = stopAt
	}
	elapsed := end.Sub(r.t0)
	return r.result(binds, max(elapsed, 0)), runErr
}

// loadRun is the state shared by the binds of one RunLoad.
type loadRun struct {
	cfg      LoadConfig
	limiter  *limiter
	stop     chan struct{}
	stopping atomic.Bool

	start, t0, t1 time.Time
	t0ns          int64 // t0 - start

	emu   sync.Mutex
	errs  []string // guarded by emu
	nerrs int      // guarded by emu
}

func (r *loadRun) errorf(format string, args ...any) {
	r.emu.Lock()
	defer r.emu.Unlock()
	r.nerrs++
	if len(r.errs) < maxLoadErrors {
		r.errs = append(r.errs, fmt.Sprintf(format, args...))
	}
}

func (r *loadRun) result(binds []*loadBind, elapsed time.Duration) LoadResult {
	res := LoadResult{ByStatus: make(map[pdu.Status]uint64), Elapsed: elapsed}
	for _, b := range binds {
		res.Sent += b.sentMeasured
		res.Responses += b.responses
		for i, c := range b.byStatus {
			if c == 0 {
				continue
			}
			if st, ok := pdu.StatusAt(i); ok {
				res.ByStatus[st] += c
			}
		}
		for st, c := range b.otherStatus {
			res.ByStatus[st] += c
		}
		res.Latency.Merge(&b.hist)
		if b.unmatched > 0 {
			r.errorf("bind %d: %d responses matched no outstanding submit_sm", b.idx, b.unmatched)
		}
	}
	if elapsed > 0 {
		res.PerSecond = float64(res.Responses) / elapsed.Seconds()
	}
	r.emu.Lock()
	res.Errors = slices.Clone(r.errs)
	if r.nerrs > len(r.errs) && len(res.Errors) > 0 {
		res.Errors[len(res.Errors)-1] += fmt.Sprintf(" (and %d more errors)", r.nerrs-len(r.errs))
	}
	r.emu.Unlock()
	return res
}

// Format writes the result in a few human-readable lines.
func (res LoadResult) Format(w io.Writer) {
	fmt.Fprintf(w, "sent %d submit_sm, %d responses in %s: %.0f submit_sm/s\n",
		res.Sent, res.Responses, res.Elapsed.Round(time.Millisecond), res.PerSecond)
	fmt.Fprintf(w, "latency p50 %s  p99 %s  p999 %s  max %s\n",
		fmtDur(res.Latency.Quantile(0.5)), fmtDur(res.Latency.Quantile(0.99)),
		fmtDur(res.Latency.Quantile(0.999)), fmtDur(res.Latency.Max()))
	statuses := make([]pdu.Status, 0, len(res.ByStatus))
	for st := range res.ByStatus {
		statuses = append(statuses, st)
	}
	slices.Sort(statuses)
	for _, st := range statuses {
		fmt.Fprintf(w, "  %-22s %d\n", st, res.ByStatus[st])
	}
	for _, e := range res.Errors {
		fmt.Fprintf(w, "error: %s\n", e)
	}
}

// Ring slots pack the low 20 bits of the sequence number with the send time in
// nanoseconds since the start of the run (44 bits: almost 5 hours).
const (
	slotTimeBits = 44
	slotTimeMask = 1<<slotTimeBits - 1
	slotSeqMask  = 1<<(64-slotTimeBits) - 1
)

func packSlot(seq uint32, t int64) uint64 {
	return uint64(seq&slotSeqMask)<<slotTimeBits | uint64(t)&slotTimeMask
}

// loadBind is one connection of a load run.
type loadBind struct {
	r    *loadRun
	idx  int
	conn net.Conn
	out  *outbuf
	fr   *frameReader

	window  int64
	avail   atomic.Int64 // window tokens free
	waiting atomic.Bool  // the writer waits for tokens
	wake    chan struct{}
	ring    []atomic.Uint64 // send times by seq & mask; 0 = none
	mask    uint32

	unbound    chan struct{} // closed when unbind_resp arrives
	readerDone chan struct{}
	finishing  atomic.Bool // the writer is draining and unbinding: connection errors are expected
	lost       atomic.Bool // the reader reported the connection lost

	// Writer-owned.
	pdu          []byte
	seq          uint32
	destOff      int
	destN        int
	sentMeasured uint64
	timer        *time.Timer

	// Reader-owned (read by RunLoad after the reader ended).
	scratch     []byte
	release     int64
	now         int64 // ns since start of the current read batch; -1 = not taken yet
	responses   uint64
	unmatched   uint64
	byStatus    [pdu.NumStatusIndexes]uint64
	otherStatus map[pdu.Status]uint64
	hist        Histogram
}

// dialBind connects and binds synchronously.
func (r *loadRun) dialBind(ctx context.Context, idx int, tmpl []byte, destOff int) (*loadBind, error) {
	ctx, cancel := context.WithTimeout(ctx, loadBindTimeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", r.cfg.Addr)
	if err != nil {
		return nil, err
	}
	ringSize := 1
	for ringSize < 2*r.cfg.Window {
		ringSize <<= 1
	}
	b := &loadBind{
		r:          r,
		idx:        idx,
		conn:       conn,
		out:        newOutbuf(conn),
		window:     int64(r.cfg.Window),
		wake:       make(chan struct{}, 1),
		ring:       make([]atomic.Uint64, ringSize),
		mask:       uint32(ringSize - 1),
		unbound:    make(chan struct{}),
		readerDone: make(chan struct{}),
		pdu:        slices.Clone(tmpl),
		seq:        1,
		destOff:    destOff,
		destN:      idx * 10000 / max(r.cfg.Binds, 1),
		scratch:    make([]byte, 0, 64),
		now:        -1,
		timer:      time.NewTimer(time.Hour),
	}
	b.timer.Stop()
	b.avail.Store(b.window)
	b.fr = newFrameReader(conn, r.cfg.MaxPDU, b.drained)

	stopWatch := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
	defer stopWatch()
	req, err := pdu.AppendBind(nil, b.nextSeq(), pdu.BindRequest{
		ID: r.cfg.BindID, SystemID: r.cfg.SystemID, Password: r.cfg.Password, InterfaceVersion: 0x34,
	})
	if err == nil {
		_, err = conn.Write(req)
	}
	for err == nil {
		var p []byte
		if p, err = b.fr.next(); err != nil {
			break
		}
		h, _ := pdu.ParseHeader(p)
		if h.Seq != pdu.Seq(req) || !h.ID.IsResponse() {
			continue // e.g. an early enquire_link: not answered before the bind
		}
		if h.Status != pdu.ESME_ROK {
			err = &StatusError{Op: "bind", Status: h.Status}
		} else if h.ID != r.cfg.BindID.Resp() {
			err = fmt.Errorf("testenv: bind answered with %s", h.ID)
		}
		break
	}
	if err == nil && !stopWatch() {
		err = ctx.Err()
	}
	if err != nil {
		conn.Close()
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%w)", err, ctx.Err())
		}
		return nil, err
	}
	conn.SetDeadline(time.Time{})
	return b, nil
}

func (b *loadBind) nextSeq() uint32 {
	seq := b.seq
	b.seq = pdu.NextSeq(seq)
	return seq
}

// take waits for window tokens and takes all that are free; 0 means stop.
// waited says the window was full.
func (b *loadBind) take() (n int64, waited bool) {
	for {
		if n := b.avail.Swap(0); n > 0 {
			return n, waited
		}
		b.waiting.Store(true)
		if n := b.avail.Swap(0); n > 0 {
			b.waiting.Store(false)
			return n, waited
		}
		waited = true
		select {
		case <-b.wake:
		case <-b.r.stop:
			b.waiting.Store(false)
			return 0, waited
		case <-b.readerDone:
			return 0, waited
		}
	}
}

// give returns n tokens to the window and wakes the writer if it waits.
func (b *loadBind) give(n int64) {
	b.avail.Add(n)
	if b.waiting.Load() && b.waiting.CompareAndSwap(true, false) {
		select {
		case b.wake <- struct{}{}:
		default:
		}
	}
}

func (b *loadBind) writeLoop(wg, writers *sync.WaitGroup) {
	defer wg.Done()
	defer writers.Done()
	defer func() {
		if v := recover(); v != nil {
			b.r.errorf("bind %d: writer panicked: %v\n%s", b.idx, v, debug.Stack())
		}
		b.conn.Close()
	}()
	r := b.r
	o := b.out
	for {
		select {
		case <-r.stop:
			b.finish()
			return
		default:
		}
		n, waited := b.take()
		if n == 0 {
			break
		}
		if r.limiter != nil {
			k := r.limiter.take(n, waited, r.stop, b.timer)
			if k < n {
				b.give(n - k)
			}
			if n = k; n == 0 {
				break
			}
		}
		now := time.Now()
		if !now.Before(r.t1) {
			b.give(n)
			break
		}
		t := int64(now.Sub(r.start))
		o.mu.Lock()
		var err error
		for i := int64(0); i < n && err == nil; i++ {
			seq := b.nextSeq()
			pdu.SetSeq(b.pdu, seq)
			if b.destOff >= 0 {
				d := b.destN
				b.destN++
				if b.destN == 10000 {
					b.destN = 0
				}
				p := b.pdu[b.destOff : b.destOff+4]
				p[3] = byte('0' + d%10)
				p[2] = byte('0' + d/10%10)
				p[1] = byte('0' + d/100%10)
				p[0] = byte('0' + d/1000)
			}
			b.ring[seq&b.mask].Store(packSlot(seq, t))
			err = o.writeLocked(b.pdu)
		}
		if err == nil {
			err = o.flushLocked()
		}
		o.mu.Unlock()
		if t >= r.t0ns {
			b.sentMeasured += uint64(n)
		}
		if err != nil {
			// The reader reports a lost connection; report a write error only
			// when it did not.
			b.conn.Close()
			<-b.readerDone
			if !b.lost.Load() && !r.stopping.Load() {
				r.errorf("bind %d: %v", b.idx, err)
			}
			return
		}
	}
	b.finish()
}

// finish waits (bounded) for the outstanding responses, then unbinds.
func (b *loadBind) finish() {
	b.finishing.Store(true)
	deadline := time.Now().Add(loadDrain)
	for b.avail.Load() < b.window {
		b.waiting.Store(true)
		if b.avail.Load() >= b.window {
			break
		}
		b.timer.Reset(time.Until(deadline))
		select {
		case <-b.wake:
		case <-b.readerDone:
			b.timer.Stop()
			return
		case <-b.timer.C:
			b.r.errorf("bind %d: %d submit_sm unanswered %s after the end", b.idx, b.window-b.avail.Load(), loadDrain)
			return
		}
		b.timer.Stop()
	}
	o := b.out
	o.mu.Lock()
	err := o.writeLocked(pdu.AppendUnbind(b.scratchW(), b.nextSeq()))
	if err == nil {
		err = o.flushLocked()
	}
	o.mu.Unlock()
	if err != nil {
		return
	}
	b.timer.Reset(loadUnbindWait)
	select {
	case <-b.unbound:
	case <-b.readerDone:
	case <-b.timer.C:
		b.r.errorf("bind %d: no unbind_resp within %s", b.idx, loadUnbindWait)
	}
	b.timer.Stop()
}

func (b *loadBind) scratchW() []byte { return make([]byte, 0, pdu.HeaderLen) }

// drained runs when the reader has processed everything read so far: return
// the window tokens of the responses read, flush what the reader wrote.
func (b *loadBind) drained() {
	if b.release > 0 {
		b.give(b.release)
		b.release = 0
	}
	b.now = -1
	b.out.flush()
}

func (b *loadBind) readLoop(wg *sync.WaitGroup) {
	var err error
	defer wg.Done()
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("reader panicked: %v\n%s", v, debug.Stack())
		}
		if err != nil && !b.r.stopping.Load() && !b.finishing.Load() {
			b.lost.Store(true)
			b.r.errorf("bind %d: connection lost: %v", b.idx, err)
		}
		b.conn.Close()
		close(b.readerDone)
	}()
	r := b.r
	for {
		var p []byte
		if p, err = b.fr.next(); err != nil {
			if errors.Is(err, net.ErrClosed) {
				err = nil
			}
			return
		}
		h, _ := pdu.ParseHeader(p)
		switch h.ID {
		case pdu.SubmitSMResp, pdu.GenericNack:
			slot := &b.ring[h.Seq&b.mask]
			v := slot.Load()
			if v == 0 || uint32(v>>slotTimeBits) != h.Seq&slotSeqMask {
				b.unmatched++
				continue
			}
			slot.Store(0)
			b.release++
			sent := int64(v & slotTimeMask)
			if sent < r.t0ns {
				continue
			}
			if b.now < 0 {
				b.now = int64(time.Since(r.start))
			}
			b.responses++
			if i := h.Status.Index(); i < len(b.byStatus)-1 {
				b.byStatus[i]++
			} else {
				if b.otherStatus == nil {
					b.otherStatus = make(map[pdu.Status]uint64)
				}
				b.otherStatus[h.Status]++
			}
			b.hist.Record(time.Duration(b.now - sent))
		case pdu.DeliverSM:
			b.out.write(pdu.AppendDeliverSMResp(b.scratch[:0], pdu.ESME_ROK, h.Seq))
		case pdu.DataSM:
			b.out.write(pdu.AppendDataSMResp(b.scratch[:0], pdu.ESME_ROK, h.Seq, ""))
		case pdu.EnquireLink:
			b.out.write(pdu.AppendEnquireLinkResp(b.scratch[:0], h.Seq))
		case pdu.Unbind:
			b.out.writeFlush(pdu.AppendUnbindResp(b.scratch[:0], pdu.ESME_ROK, h.Seq))
			err = errors.New("unbound by the server")
			return
		case pdu.UnbindResp:
			select {
			case <-b.unbound:
			default:
				close(b.unbound)
			}
		default:
			if !h.ID.IsResponse() {
				b.out.write(pdu.AppendGenericNack(b.scratch[:0], pdu.ESME_RINVCMDID, h.Seq))
			}
		}
	}
}

// limiter is a token bucket shared by the binds of a run. Tokens accrue
// continuously at the rate; a writer that finds none sleeps until the next one,
// and at least rateSlot, so tokens go out in small, evenly spaced batches (not a
// second's worth at the start of each second). Tokens that accrued while a
// writer was merely late (a busy scheduler) are all granted, so the rate holds
// on a loaded machine; but a writer coming back from a full window (the system
// under test fell behind) finds at most rateBurst's worth, so that it does not
// catch up in one burst.
type limiter struct {
	mu     sync.Mutex
	rate   float64 // tokens per second
	burst  int64
	start  time.Time
	issued int64 // guarded by mu
}

func newLimiter(rate int) *limiter {
	burst := int64(float64(rate) * rateBurst.Seconds())
	return &limiter{rate: float64(rate), burst: max(burst, 1)}
}

// take waits until at least one token is due and takes up to n; 0 means stop.
// afterStall applies the burst limit.
func (l *limiter) take(n int64, afterStall bool, stop <-chan struct{}, timer *time.Timer) int64 {
	for {
		l.mu.Lock()
		allowed := int64(time.Since(l.start).Seconds() * l.rate)
		if afterStall && allowed-l.issued > l.burst {
			l.issued = allowed - l.burst
		}
		afterStall = false
		if k := min(n, allowed-l.issued); k > 0 {
			l.issued += k
			l.mu.Unlock()
			return k
		}
		wait := time.Duration(float64(l.issued+1-allowed) / l.rate * float64(time.Second))
		l.mu.Unlock()
		timer.Reset(max(wait, rateSlot))
		select {
		case <-timer.C:
		case <-stop:
			timer.Stop()
			return 0
		}
	}
}
