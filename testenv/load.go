package testenv

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"runtime/debug"
	"slices"
	"strconv"
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
	// Held, when set, says which message ids of ESME_ROK responses are a
	// consent proxy's held messages rather than the SMSC's
	// (LoadGroupResult.Held). It must not allocate.
	Held func(id []byte) bool
	// Seed seeds the draws from Mix, ReceiptShare and a random population;
	// 0 = a fixed seed, so that runs repeat.
	Seed uint64
	// BindGroups, when set, replace Binds, Window, SystemID, Password and
	// BindID: groups of binds of their own kind and account, sharing the
	// run's pace (receiver groups only receive: receipts and MOs).
	BindGroups []LoadBindGroup

	// AtEnd, when set, is called when the plan's time is up (or ctx ended
	// the run), before the binds drain and unbind; the run waits for it.
	// Traffic sent beside the load (an MO storm) stops there, while the
	// binds that receive it are still up.
	AtEnd func()

	// OnSecond, when set, is called once a second of the run (warmup
	// included), from a goroutine of its own, with that second's figures:
	// for a live progress line. It must return quickly.
	OnSecond func(LoadSecond)
}

// LoadBindGroup is a group of binds of one kind and account.
type LoadBindGroup struct {
	Count int // > 0
	// BindID is pdu.BindTransmitter (the default), pdu.BindTransceiver or
	// pdu.BindReceiver.
	BindID             pdu.CommandID
	SystemID, Password string
	Window             int         // outstanding requests per bind; 0 = 1
	TLS                *tls.Config // connect with TLS when set
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
	rateSlot        = time.Millisecond // the rate limiter releases tokens in batches of at least this period
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

// RunLoad binds the run's connections to cfg.Addr and sends requests on
// each with at most its window outstanding, at the pace of the plan's
// phases (closed loop, or open loop at a rate or a ramp), for cfg.Warmup
// and the phases (or Duration at Rate); then it waits a little for the
// last responses and the receipts due, unbinds and returns the figures.
// Per bind there is one writer goroutine, which writes batches of
// pre-encoded requests and flushes once per batch, and one reader
// goroutine, which matches responses to send times through a ring indexed
// by sequence number (responses may come in any order). The error is
// non-nil when the plan is invalid, no bind succeeded or ctx ended the run
// early (the figures so far are returned with it).
func RunLoad(ctx context.Context, cfg LoadConfig) (LoadResult, error) {
	if cfg.Window <= 0 {
		cfg.Window = 1
	}
	if len(cfg.Phases) == 0 {
		if cfg.Duration <= 0 {
			cfg.Duration = 10 * time.Second
		}
		cfg.Phases = []LoadPhase{{Duration: cfg.Duration, Rate: float64(cfg.Rate)}}
	}
	for i, p := range cfg.Phases {
		if err := p.validate(); err != nil {
			return LoadResult{}, fmt.Errorf("testenv: load: %s: %w", phaseName(p, i), err)
		}
	}
	groups, err := bindGroups(&cfg)
	if err != nil {
		return LoadResult{}, err
	}
	if cfg.Handsets != nil {
		if err := cfg.Handsets.validate(); err != nil {
			return LoadResult{}, fmt.Errorf("testenv: load: %w", err)
		}
	}
	if cfg.ReceiptShare < 0 || cfg.ReceiptShare > 1 {
		return LoadResult{}, fmt.Errorf("testenv: load: the receipt share must be within 0 … 1")
	}
	tmpls, cum, err := buildMix(&cfg)
	if err != nil {
		return LoadResult{}, fmt.Errorf("testenv: load: %w", err)
	}
	if cfg.ReceiptWait <= 0 {
		cfg.ReceiptWait = 5 * time.Second
	}

	r := &loadRun{cfg: cfg, stop: make(chan struct{}), unbindNow: make(chan struct{}), tmpls: tmpls, cum: cum,
		sched: newSchedule(cfg.Warmup, cfg.Phases), rcpt: newRcptTable()}
	r.limiter = newLimiter(r.sched)
	r.anyOpen = slices.ContainsFunc(r.sched.phases, func(p schedPhase) bool { return p.open() })
	if cfg.Handsets != nil {
		end := 0
		for _, g := range cfg.Handsets.Groups {
			end += g.Count
			r.groupEnds = append(r.groupEnds, end)
		}
	}

	// Bind every connection first; the clock starts when they are bound.
	var binds []*loadBind
	for gi, g := range groups {
		for range g.Count {
			binds = append(binds, &loadBind{r: r, idx: len(binds), group: gi})
		}
	}
	var bwg sync.WaitGroup
	bindErrs := make([]error, len(binds))
	for i, b := range binds {
		bwg.Add(1)
		go func() {
			defer bwg.Done()
			if err := b.dialBind(ctx, &groups[b.group], len(binds)); err != nil {
				r.errorf("bind %d: %v", b.idx, err)
				bindErrs[i] = err
				b.conn = nil
			}
		}()
	}
	bwg.Wait()
	binds = slices.DeleteFunc(binds, func(b *loadBind) bool { return b.conn == nil })
	if !slices.ContainsFunc(binds, func(b *loadBind) bool { return !b.rxOnly }) {
		return r.result(nil, 0), fmt.Errorf("testenv: load: no bind to %s that can submit succeeded: %s", cfg.Addr, bindFailures(bindErrs))
	}
	r.binds = binds

	r.start = time.Now()
	r.t0 = r.start.Add(cfg.Warmup)
	r.t1 = r.start.Add(r.sched.end)
	r.t0ns = int64(cfg.Warmup)
	r.limiter.start = r.start
	var wg sync.WaitGroup
	r.drained.Add(len(binds))
	for _, b := range binds {
		wg.Add(2)
		go b.readLoop(&wg)
		go b.writeLoop(&wg)
	}
	tickDone, tickExit := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(tickExit)
		r.tick(tickDone)
	}()

	var runErr error
	timer := time.NewTimer(time.Until(r.t1))
	select {
	case <-timer.C:
	case <-ctx.Done():
		timer.Stop()
		runErr = fmt.Errorf("testenv: load interrupted: %w", ctx.Err())
	}
	stopAt := time.Now()
	r.stopAt = stopAt
	r.stopping.Store(true)
	close(r.stop)
	if cfg.AtEnd != nil {
		cfg.AtEnd()
	}

	// Writers drain their windows; then the receipts still due have until
	// ReceiptWait (responses that come meanwhile still count); then every
	// bind reports the responses still missing and unbinds. Past a hard
	// limit the connections are closed under them.
	limit := loadDrain + loadUnbindWait + time.Second
	r.wait(&r.drained, loadDrain+time.Second, "binds did not drain their windows")
	if runErr == nil {
		deadline := time.Now().Add(cfg.ReceiptWait)
		for r.rcpt.pending.Load() > 0 && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond) // bounded by ReceiptWait
		}
	}
	close(r.unbindNow)
	close(tickDone)
	<-tickExit
	r.wait(&wg, limit, "binds did not finish")

	end := r.t1
	if stopAt.Before(end) {
		end = stopAt
	}
	elapsed := end.Sub(r.t0)
	return r.result(binds, max(elapsed, 0)), runErr
}

// bindFailures says why binds failed, each distinct reason once with the
// binds it stopped: the same refusal on 64 binds is one line.
func bindFailures(errs []error) string {
	var reasons []string
	binds := map[string][]string{}
	for i, err := range errs {
		if err == nil {
			continue
		}
		msg := err.Error()
		if _, seen := binds[msg]; !seen {
			reasons = append(reasons, msg)
		}
		binds[msg] = append(binds[msg], strconv.Itoa(i))
	}
	out := make([]string, len(reasons))
	for i, msg := range reasons {
		which := "bind " + binds[msg][0]
		if n := len(binds[msg]); n == len(errs) && n > 1 {
			which = fmt.Sprintf("all %d binds", n)
		} else if n > 1 {
			which = "binds " + strings.Join(binds[msg], ", ")
		}
		out[i] = msg + " (" + which + ")"
	}
	return strings.Join(out, "; ")
}

// wait waits for wg, closing every connection after limit.
func (r *loadRun) wait(wg *sync.WaitGroup, limit time.Duration, what string) {
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	hard := time.NewTimer(limit)
	defer hard.Stop()
	select {
	case <-done:
	case <-hard.C:
		r.errorf("%s within %s of the end; closing", what, limit)
		for _, b := range r.binds {
			b.conn.Close()
		}
		<-done
	}
}

// bindGroups returns cfg's bind groups (one made of Binds, BindID, … when
// there are none), checked.
func bindGroups(cfg *LoadConfig) ([]LoadBindGroup, error) {
	groups := cfg.BindGroups
	if len(groups) == 0 {
		groups = []LoadBindGroup{{Count: max(cfg.Binds, 1), BindID: cfg.BindID, SystemID: cfg.SystemID, Password: cfg.Password, Window: cfg.Window}}
	}
	groups = slices.Clone(groups)
	for i := range groups {
		g := &groups[i]
		if g.BindID == 0 {
			g.BindID = pdu.BindTransmitter
		}
		switch g.BindID {
		case pdu.BindTransmitter, pdu.BindTransceiver, pdu.BindReceiver:
		default:
			return nil, fmt.Errorf("testenv: load: bind group %d: %s is not a bind", i+1, g.BindID)
		}
		if g.Count <= 0 {
			return nil, fmt.Errorf("testenv: load: bind group %d: count must be positive", i+1)
		}
		g.Window = max(g.Window, 1)
	}
	if !slices.ContainsFunc(groups, func(g LoadBindGroup) bool { return g.BindID != pdu.BindReceiver }) {
		return nil, fmt.Errorf("testenv: load: no bind group can submit (all are receivers)")
	}
	return groups, nil
}

// loadRun is the state shared by the binds of one RunLoad.
type loadRun struct {
	cfg       LoadConfig
	sched     *schedule
	limiter   *limiter
	anyOpen   bool
	tmpls     []loadTmpl
	cum       []float64
	groupEnds []int // end of each handset group in the population
	rcpt      *rcptTable
	binds     []*loadBind

	stop      chan struct{}
	stopAt    time.Time // when the plan's time was up; written before stop is closed
	stopping  atomic.Bool
	drained   sync.WaitGroup // each bind's window is empty (or it gave up)
	unbindNow chan struct{}

	start, t0, t1 time.Time
	t0ns          int64 // t0 - start

	series []LoadSecond // written by tick until RunLoad closes tickDone

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

// groupOf returns the handset group of population index i (-1: none).
func (r *loadRun) groupOf(i int) int16 {
	for g, end := range r.groupEnds {
		if i < end {
			return int16(g)
		}
	}
	return -1
}

// tick records the run second by second until done is closed, then the
// last, partial second.
func (r *loadRun) tick(done <-chan struct{}) {
	var prev, cur secondCounts
	var h secondHist
	next := r.start.Add(time.Second)
	timer := time.NewTimer(time.Until(next))
	defer timer.Stop()
	for {
		last := false
		select {
		case <-timer.C:
		case <-done:
			last = true
		}
		at := time.Since(r.start)
		if !last {
			at = next.Sub(r.start)
		}
		cur = secondCounts{}
		h.reset()
		for _, b := range r.binds {
			cur.add(b)
			b.ivalMu.Lock()
			h.add(&b.ival)
			b.ival.reset()
			b.ivalMu.Unlock()
		}
		phase := "drain" // after the plan: the last responses and receipts
		if at-time.Nanosecond < r.sched.end {
			phase = r.sched.phases[r.sched.at(max(at-time.Nanosecond, 0))].name
		}
		sec := LoadSecond{At: at, Phase: phase,
			Sent: cur.sent - prev.sent, Answered: cur.answered - prev.answered, NotOK: cur.notOK - prev.notOK,
			Stalls: cur.stalls - prev.stalls, Receipts: cur.receipts - prev.receipts, MOs: cur.mos - prev.mos,
			P50: h.quantile(0.5), P99: h.quantile(0.99), Max: time.Duration(h.max)}
		prev = cur
		if last {
			// The run's last, partial second: a few milliseconds of drain
			// fold into the second before, so that no two share a time.
			if n := len(r.series); n > 0 && at-r.series[n-1].At < 100*time.Millisecond {
				r.series[n-1].fold(sec)
				return
			}
			if sec.Sent+sec.Answered+sec.Receipts+sec.MOs == 0 {
				return
			}
		}
		r.series = append(r.series, sec)
		if r.cfg.OnSecond != nil {
			r.cfg.OnSecond(sec)
		}
		if last {
			return
		}
		next = next.Add(time.Second)
		timer.Reset(time.Until(next))
	}
}

// fold adds a short tail's counts to s (its latency figures stay s's, but
// for a larger Max).
func (s *LoadSecond) fold(t LoadSecond) {
	s.Sent += t.Sent
	s.Answered += t.Answered
	s.NotOK += t.NotOK
	s.Stalls += t.Stalls
	s.Receipts += t.Receipts
	s.MOs += t.MOs
	s.Max = max(s.Max, t.Max)
}

// secondCounts sums the binds' running counters.
type secondCounts struct{ sent, answered, notOK, stalls, receipts, mos uint64 }

func (c *secondCounts) add(b *loadBind) {
	c.sent += b.live.sent.Load()
	c.answered += b.live.answered.Load()
	c.notOK += b.live.notOK.Load()
	c.stalls += b.live.stalls.Load()
	c.receipts += b.live.receipts.Load()
	c.mos += b.live.mos.Load()
}

func (r *loadRun) result(binds []*loadBind, elapsed time.Duration) LoadResult {
	res := LoadResult{ByStatus: make(map[pdu.Status]uint64), Elapsed: elapsed,
		SentByCommand: make(map[pdu.CommandID]uint64), ByMessage: make(map[string]uint64), ReceiptStats: make(map[string]uint64)}
	for i, p := range r.cfg.Phases {
		res.Phases = append(res.Phases, LoadPhaseResult{Name: phaseName(p, i), Rate: p.Rate, RateTo: p.RateTo, ByStatus: make(map[pdu.Status]uint64)})
	}
	if r.cfg.Handsets != nil && len(r.cfg.Handsets.Groups) > 0 {
		res.ByGroup = make(map[string]*LoadGroupResult)
		for _, g := range r.cfg.Handsets.Groups {
			res.ByGroup[g.Name] = &LoadGroupResult{ByStatus: make(map[pdu.Status]uint64)}
		}
	}
	for _, b := range binds {
		for i := range b.ph {
			bp, rp := &b.ph[i], &res.Phases[i]
			rp.Sent += bp.sent
			rp.Responses += bp.responses
			rp.Stalls += bp.stalls
			addStatuses(rp.ByStatus, &bp.byStatus, bp.otherStatus)
			addStatuses(res.ByStatus, &bp.byStatus, bp.otherStatus)
			rp.Latency.Merge(&bp.hist)
			rp.Intended.Merge(&bp.intended)
			res.Sent += bp.sent
			res.Responses += bp.responses
			res.Stalls += bp.stalls
			res.Latency.Merge(&bp.hist)
			res.Intended.Merge(&bp.intended)
		}
		for i, n := range b.byCmd {
			if n > 0 {
				res.SentByCommand[loadCommands[i]] += n
			}
		}
		for i, n := range b.byTmpl {
			if n > 0 {
				res.ByMessage[r.tmpls[i].name] += n
			}
		}
		for i := range b.gs {
			g, rg := &b.gs[i], res.ByGroup[r.cfg.Handsets.Groups[i].Name]
			rg.Sent += g.sent
			rg.Responses += g.responses
			rg.Held += g.held
			rg.ReceiptsAsked += g.asked
			rg.Receipts += g.receipts
			addStatuses(rg.ByStatus, &g.byStatus, g.otherStatus)
		}
		res.Receipts += b.receipts
		res.ReceiptsUnmatched += b.receiptsUnmatched
		res.ReceiptLatency.Merge(&b.rhist)
		for i, n := range b.rstats {
			if n > 0 {
				name := "other"
				if i < len(receiptStats) {
					name = receiptStats[i]
				}
				res.ReceiptStats[name] += n
			}
		}
		res.MOs += b.mos
		res.Unanswered += b.unanswered()
		if b.unmatched > 0 {
			f := b.firstUnmatched
			r.errorf("bind %d: %d responses matched no outstanding request (the first: %s %s seq %d)", b.idx, b.unmatched, f.ID, f.Status, f.Seq)
		}
	}
	res.ReceiptsDue = r.rcpt.due()
	res.ReceiptsUnmatched += uint64(r.rcpt.early.Load()) // receipts no request's response ever claimed
	for i := range res.Phases {
		p := &res.Phases[i]
		p.Elapsed = min(max(elapsed-r.sched.phases[r.phaseSched(i)].start+time.Duration(r.t0ns), 0), r.cfg.Phases[i].Duration)
		if p.Elapsed > 0 {
			p.PerSecond = float64(p.Responses) / p.Elapsed.Seconds()
		}
	}
	res.Series = slices.Clone(r.series)
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

// phaseSched returns the schedule index of result phase i.
func (r *loadRun) phaseSched(i int) int {
	if r.cfg.Warmup > 0 {
		return i + 1
	}
	return i
}

func addStatuses(dst map[pdu.Status]uint64, counts *[pdu.NumStatusIndexes]uint64, other map[pdu.Status]uint64) {
	for i, c := range counts {
		if c == 0 {
			continue
		}
		if st, ok := pdu.StatusAt(i); ok {
			dst[st] += c
		}
	}
	for st, c := range other {
		dst[st] += c
	}
}

// Format writes the result in a few human-readable lines.
func (res LoadResult) Format(w io.Writer) {
	noun := "submit_sm"
	if res.SentByCommand[pdu.DataSM]+res.SentByCommand[pdu.SubmitMulti] > 0 {
		noun = "requests"
	}
	fmt.Fprintf(w, "sent %d %s, %d responses in %s: %.0f %s/s\n",
		res.Sent, noun, res.Responses, res.Elapsed.Round(time.Millisecond), res.PerSecond, noun)
	fmt.Fprintf(w, "latency p50 %s  p99 %s  p999 %s  max %s\n",
		fmtDur(res.Latency.Quantile(0.5)), fmtDur(res.Latency.Quantile(0.99)),
		fmtDur(res.Latency.Quantile(0.999)), fmtDur(res.Latency.Max()))
	if res.Intended.Count() > 0 {
		fmt.Fprintf(w, "from the intended send time p50 %s  p99 %s  p999 %s  max %s\n",
			fmtDur(res.Intended.Quantile(0.5)), fmtDur(res.Intended.Quantile(0.99)),
			fmtDur(res.Intended.Quantile(0.999)), fmtDur(res.Intended.Max()))
	}
	if res.Receipts > 0 || res.ReceiptsDue > 0 {
		fmt.Fprintf(w, "receipts %d (p50 %s  p99 %s after the request), %d still due, %d unmatched\n",
			res.Receipts, fmtDur(res.ReceiptLatency.Quantile(0.5)), fmtDur(res.ReceiptLatency.Quantile(0.99)), res.ReceiptsDue, res.ReceiptsUnmatched)
	}
	if res.Unanswered > 0 || res.Stalls > 0 {
		fmt.Fprintf(w, "unanswered %d, window stalls %d\n", res.Unanswered, res.Stalls)
	}
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

// loadSlot is one outstanding request: v packs its sequence number and
// send time (0 = free), meta the rest. The writer fills meta before it
// stores v, and the reader reads it after it loaded v and before it frees
// the slot, so v's atomic orders the two; both share a cache line.
type loadSlot struct {
	v    atomic.Uint64
	meta loadMeta
}

// loadMeta is what the reader needs of a request besides its send time.
type loadMeta struct {
	intended int64 // ns since the start; -1: closed loop
	phase    int16 // result phase; -1: the warmup
	group    int16 // handset group; -1: none
	receipt  bool  // a receipt was asked for
}

// loadCommands are the requests a run sends, in byCmd's order.
var loadCommands = [...]pdu.CommandID{pdu.SubmitSM, pdu.DataSM, pdu.SubmitMulti}

func cmdIndex(id pdu.CommandID) int {
	switch id {
	case pdu.DataSM:
		return 1
	case pdu.SubmitMulti:
		return 2
	}
	return 0
}

// phaseStats are one bind's figures of one phase: sent and stalls are the
// writer's, the rest the reader's.
type phaseStats struct {
	sent, stalls uint64
	responses    uint64
	byStatus     [pdu.NumStatusIndexes]uint64
	otherStatus  map[pdu.Status]uint64
	hist         Histogram
	intended     Histogram
}

func (s *phaseStats) count(st pdu.Status) {
	countStatus(&s.byStatus, &s.otherStatus, st)
}

func countStatus(counts *[pdu.NumStatusIndexes]uint64, other *map[pdu.Status]uint64, st pdu.Status) {
	if i := st.Index(); i < len(counts)-1 {
		counts[i]++
		return
	}
	if *other == nil {
		*other = make(map[pdu.Status]uint64)
	}
	(*other)[st]++
}

// groupStats are one bind's figures of one handset group (sent is the
// writer's, the rest the reader's).
type groupStats struct {
	sent                             uint64
	responses, held, asked, receipts uint64
	byStatus                         [pdu.NumStatusIndexes]uint64
	otherStatus                      map[pdu.Status]uint64
}

// liveCounts are a bind's running totals, read once a second by tick.
type liveCounts struct {
	sent, answered, notOK, stalls, receipts, mos atomic.Uint64
}

// batchCounts are what the reader counted in its current read batch, for
// liveCounts: one atomic add per batch rather than per response.
type batchCounts struct{ answered, notOK, receipts, mos uint64 }

func (c *batchCounts) publish(l *liveCounts) {
	if c.answered > 0 {
		l.answered.Add(c.answered)
	}
	if c.notOK > 0 {
		l.notOK.Add(c.notOK)
	}
	if c.receipts > 0 {
		l.receipts.Add(c.receipts)
	}
	if c.mos > 0 {
		l.mos.Add(c.mos)
	}
	*c = batchCounts{}
}

// loadBind is one connection of a load run.
type loadBind struct {
	r      *loadRun
	idx    int
	group  int // bind group
	rxOnly bool
	conn   net.Conn
	out    *outbuf
	fr     *frameReader

	window  int64
	avail   atomic.Int64 // window tokens free
	waiting atomic.Bool  // the writer waits for tokens
	wake    chan struct{}
	ring    []loadSlot // by seq & mask
	mask    uint32

	unbound    chan struct{} // closed when unbind_resp arrives
	readerDone chan struct{}
	finishing  atomic.Bool // the writer is draining and unbinding: connection errors are expected
	lost       atomic.Bool // the reader reported the connection lost

	live   liveCounts
	ivalMu sync.Mutex
	ival   secondHist // latency of the responses since tick last read it; guarded by ivalMu

	// Writer-owned.
	seq     uint32
	timer   *time.Timer
	rng     *rand.Rand
	mixer   loadMixer
	tmpl    *loadTmpl // the message being sent
	part    int       // its next part
	cur     loadMeta  // its meta (intended and phase set per request)
	destN   int       // next handset, counting
	ref     uint8     // concatenation reference
	byCmd   [len(loadCommands)]uint64
	byTmpl  []uint64
	ph      []phaseStats // sent and stalls here; the rest by the reader
	gs      []groupStats // sent here; the rest by the reader
	scratch []byte

	// Reader-owned (read by RunLoad after the reader ended).
	rscratch          []byte
	release           int64
	now               int64 // ns since start of the current read batch; -1 = not taken yet
	locked            bool  // the reader holds ivalMu for the current batch
	batch             batchCounts
	unmatched         uint64
	firstUnmatched    pdu.Header // the header of the first response that matched nothing
	msg               pdu.Message
	receipts          uint64
	receiptsUnmatched uint64
	rstats            [len(receiptStats) + 1]uint64
	rhist             Histogram
	mos               uint64
}

// dialBind connects and binds synchronously.
func (b *loadBind) dialBind(ctx context.Context, g *LoadBindGroup, nbinds int) error {
	r := b.r
	ctx, cancel := context.WithTimeout(ctx, loadBindTimeout)
	defer cancel()
	var conn net.Conn
	var err error
	if g.TLS != nil {
		d := tls.Dialer{Config: g.TLS}
		conn, err = d.DialContext(ctx, "tcp", r.cfg.Addr)
	} else {
		var d net.Dialer
		conn, err = d.DialContext(ctx, "tcp", r.cfg.Addr)
	}
	if err != nil {
		return err
	}
	ringSize := 1
	for ringSize < 2*g.Window {
		ringSize <<= 1
	}
	b.conn = conn
	b.rxOnly = g.BindID == pdu.BindReceiver
	b.out = newOutbuf(conn)
	b.window = int64(g.Window)
	b.wake = make(chan struct{}, 1)
	b.unbound = make(chan struct{})
	b.readerDone = make(chan struct{})
	b.seq = 1
	b.rscratch = make([]byte, 0, 64)
	b.scratch = make([]byte, 0, pdu.HeaderLen)
	b.now = -1
	b.timer = time.NewTimer(time.Hour)
	b.timer.Stop()
	b.ph = make([]phaseStats, len(r.cfg.Phases))
	b.gs = make([]groupStats, len(r.groupEnds))
	if !b.rxOnly {
		b.ring = make([]loadSlot, ringSize)
		b.mask = uint32(ringSize - 1)
		b.rng = rand.New(rand.NewPCG(r.cfg.Seed, uint64(b.idx)+1))
		// Each bind has its own copy of the templates: it patches them.
		tmpls := make([]loadTmpl, len(r.tmpls))
		for i, t := range r.tmpls {
			tmpls[i] = t
			tmpls[i].parts = make([]loadPart, len(t.parts))
			for j, p := range t.parts {
				tmpls[i].parts[j] = p
				tmpls[i].parts[j].pdu = slices.Clone(p.pdu)
			}
		}
		b.mixer = loadMixer{tmpls: tmpls, cum: r.cum, rng: b.rng}
		b.byTmpl = make([]uint64, len(tmpls))
		if h := r.cfg.Handsets; h != nil {
			b.destN = b.idx * h.Count / max(nbinds, 1)
		} else {
			b.destN = b.idx * 10000 / max(nbinds, 1)
		}
	}
	b.avail.Store(b.window)
	b.fr = newFrameReader(conn, r.cfg.MaxPDU, b.drained)

	stopWatch := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
	defer stopWatch()
	req, err := pdu.AppendBind(nil, b.nextSeq(), pdu.BindRequest{
		ID: g.BindID, SystemID: g.SystemID, Password: g.Password, InterfaceVersion: 0x34,
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
		} else if h.ID != g.BindID.Resp() {
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
		return err
	}
	conn.SetDeadline(time.Time{})
	return nil
}

func (b *loadBind) nextSeq() uint32 {
	seq := b.seq
	b.seq = pdu.NextSeq(seq)
	return seq
}

// nextFreeSeq returns the next sequence number whose ring slot is free. A
// request answered late (a held message, a slow route: SMPP peers may
// answer in any order) keeps its slot while later ones come and go, so the
// numbers that map to it are skipped until its response frees it, as the
// proxy's own pending table does; otherwise a later request would take the
// slot over, and the late response would match nothing while its request
// was forgotten. At most a window of requests is outstanding and the ring
// has twice as many slots, so a free one is at most a window away.
func (b *loadBind) nextFreeSeq() (uint32, error) {
	for range len(b.ring) {
		if seq := b.nextSeq(); b.ring[seq&b.mask].v.Load() == 0 {
			return seq, nil
		}
	}
	return 0, fmt.Errorf("testenv: load: no free slot among %d for a window of %d", len(b.ring), b.window)
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

func (b *loadBind) writeLoop(wg *sync.WaitGroup) {
	drained := sync.OnceFunc(b.r.drained.Done)
	defer wg.Done()
	defer drained()
	defer func() {
		if v := recover(); v != nil {
			b.r.errorf("bind %d: writer panicked: %v\n%s", b.idx, v, debug.Stack())
		}
		b.conn.Close()
	}()
	if !b.rxOnly {
		if err := b.send(); err != nil {
			// The reader reports a lost connection; report a write error
			// only when it did not.
			b.conn.Close()
			<-b.readerDone
			if !b.lost.Load() && !b.r.stopping.Load() {
				b.r.errorf("bind %d: %v", b.idx, err)
			}
			return
		}
		b.finishing.Store(true)
		b.drainWindow()
	}
	b.finishing.Store(true)
	drained()
	select {
	case <-b.r.unbindNow:
	case <-b.readerDone:
		return
	}
	// Responses that came after the drain, while the run waited for
	// receipts, were answers all the same: only what is still missing
	// now is an error.
	if n := b.window - b.avail.Load(); n > 0 && !b.rxOnly {
		b.r.errorf("bind %d: %d requests unanswered %s after the end", b.idx, n, time.Since(b.r.stopAt).Round(time.Millisecond))
	}
	b.unbind()
}

// send writes requests until the run ends.
func (b *loadBind) send() error {
	r := b.r
	o := b.out
	for {
		select {
		case <-r.stop:
			return nil
		default:
		}
		n, waited := b.take()
		sp := &r.sched.phases[r.sched.at(time.Since(r.start))]
		if n > 0 && sp.window > 0 && sp.window < b.window {
			// The phase's window: of the tokens in hand, only what keeps
			// at most sp.window outstanding.
			outstanding := b.window - n - b.avail.Load()
			if k := sp.window - outstanding; k < n {
				if k <= 0 {
					b.give(n)
					b.countStall(sp)
					if !b.awaitResponse() {
						return nil
					}
					continue
				}
				b.give(n - k)
				n = k
			}
		}
		if waited {
			b.countStall(sp)
		}
		if n == 0 {
			return nil
		}
		first := int64(-1)
		if r.anyOpen {
			var k int64
			k, first = r.limiter.take(n, r.stop, b.timer)
			if k < n {
				b.give(n - k)
			}
			if n = k; n == 0 {
				return nil
			}
		}
		now := time.Now()
		if !now.Before(r.t1) {
			b.give(n)
			return nil
		}
		t := int64(now.Sub(r.start))
		phase := int16(r.sched.phases[r.sched.at(time.Duration(t))].result)
		o.mu.Lock()
		var err error
		for i := int64(0); i < n && err == nil; i++ {
			if b.tmpl == nil {
				b.nextMessage(phase)
			}
			part := &b.tmpl.parts[b.part]
			var seq uint32
			if seq, err = b.nextFreeSeq(); err != nil {
				break
			}
			pdu.SetSeq(part.pdu, seq)
			slot := &b.ring[seq&b.mask]
			m := &slot.meta
			*m = b.cur
			m.phase = phase
			m.intended = -1
			if first >= 0 {
				m.intended = int64(r.sched.timeOf(float64(first + i + 1)))
			}
			if phase >= 0 && m.group >= 0 {
				b.gs[m.group].sent++
			}
			slot.v.Store(packSlot(seq, t))
			err = o.writeLocked(part.pdu)
			if b.part++; b.part == len(b.tmpl.parts) {
				b.tmpl, b.part = nil, 0
			}
		}
		if err == nil {
			err = o.flushLocked()
		}
		o.mu.Unlock()
		b.live.sent.Add(uint64(n))
		if phase >= 0 {
			b.ph[phase].sent += uint64(n)
		}
		if err != nil {
			return err
		}
	}
}

// countStall counts a writer finding its window full.
func (b *loadBind) countStall(sp *schedPhase) {
	b.live.stalls.Add(1)
	if sp.result >= 0 {
		b.ph[sp.result].stalls++
	}
}

// awaitResponse waits until a response frees a window token; false means
// stop. The caller holds none and some request is outstanding, so a
// response is sure to come (or the run to end).
func (b *loadBind) awaitResponse() bool {
	b.waiting.Store(true)
	select {
	case <-b.wake:
		return true
	case <-b.r.stop:
		b.waiting.Store(false)
		return false
	case <-b.readerDone:
		return false
	}
}

// nextMessage draws the next message from the mix and patches its parts:
// destinations, registered_delivery, concatenation reference.
func (b *loadBind) nextMessage(phase int16) {
	r := b.r
	ti := b.mixer.draw()
	t := &b.mixer.tmpls[ti]
	b.tmpl, b.part = t, 0
	b.cur = loadMeta{group: -1}
	handset := 0
	if h := r.cfg.Handsets; h != nil {
		if h.Random {
			handset = b.rng.IntN(h.Count)
		} else {
			handset = b.destN
			b.destN = (b.destN + t.ndests) % h.Count
		}
		b.cur.group = r.groupOf(handset)
	} else if t.width > 0 {
		handset = b.destN
		if b.destN++; b.destN == 10000 {
			b.destN = 0
		}
	}
	if t.receipt {
		b.cur.receipt = true // a plain Message's own registered_delivery
	} else if r.cfg.Handsets != nil {
		b.cur.receipt = r.cfg.ReceiptShare > 0 && b.rng.Float64() < r.cfg.ReceiptShare
	}
	b.ref++
	for j := range t.parts {
		p := &t.parts[j]
		for k, off := range p.dests {
			v := uint64(handset)
			if h := r.cfg.Handsets; h != nil {
				v = h.First + uint64((handset+k)%h.Count)
			}
			putDigits(p.pdu[off:off+t.width], v, t.width)
		}
		if p.regOff >= 0 {
			p.pdu[p.regOff] = btoi(b.cur.receipt)
		}
		for _, off := range p.refOffs {
			p.pdu[off] = b.ref
		}
	}
	if phase >= 0 {
		b.byCmd[cmdIndex(t.cmd)]++
		b.byTmpl[ti]++
	}
}

func btoi(v bool) byte {
	if v {
		return 1
	}
	return 0
}

// drainWindow waits (at most loadDrain) for the outstanding responses;
// writeLoop reports the ones still missing when the bind unbinds.
func (b *loadBind) drainWindow() {
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
			return
		}
		b.timer.Stop()
	}
}

// unbind sends unbind and waits (bounded) for its response.
func (b *loadBind) unbind() {
	o := b.out
	o.mu.Lock()
	err := o.writeLocked(pdu.AppendUnbind(b.scratch[:0], b.nextSeq()))
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

// unanswered counts the measured requests still in the ring (after the
// reader ended).
func (b *loadBind) unanswered() uint64 {
	var n uint64
	for i := range b.ring {
		if b.ring[i].v.Load() != 0 && b.ring[i].meta.phase >= 0 {
			n++
		}
	}
	return n
}

// drained runs when the reader has processed everything read so far: return
// the window tokens of the responses read, hand the second's latency to
// tick, flush what the reader wrote.
func (b *loadBind) drained() {
	if b.release > 0 {
		b.give(b.release)
		b.release = 0
	}
	if b.locked {
		b.ivalMu.Unlock()
		b.locked = false
	}
	b.batch.publish(&b.live)
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
		if b.locked {
			b.ivalMu.Unlock()
			b.locked = false
		}
		b.batch.publish(&b.live)
		if err != nil && !b.r.stopping.Load() && !b.finishing.Load() {
			b.lost.Store(true)
			b.r.errorf("bind %d: connection lost: %v", b.idx, err)
		}
		b.conn.Close()
		close(b.readerDone)
	}()
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
		case pdu.SubmitSMResp, pdu.DataSMResp, pdu.SubmitMultiResp, pdu.GenericNack:
			if b.ring == nil {
				b.noMatch(h)
				continue
			}
			b.response(p, h)
		case pdu.DeliverSM, pdu.DataSM:
			b.deliver(p, h)
		case pdu.EnquireLink:
			b.out.write(pdu.AppendEnquireLinkResp(b.rscratch[:0], h.Seq))
		case pdu.Unbind:
			b.out.writeFlush(pdu.AppendUnbindResp(b.rscratch[:0], pdu.ESME_ROK, h.Seq))
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
				b.out.write(pdu.AppendGenericNack(b.rscratch[:0], pdu.ESME_RINVCMDID, h.Seq))
			}
		}
	}
}

// response matches a response to its request and counts it.
func (b *loadBind) response(p []byte, h pdu.Header) {
	r := b.r
	slot := &b.ring[h.Seq&b.mask]
	v := slot.v.Load()
	if v == 0 || uint32(v>>slotTimeBits) != h.Seq&slotSeqMask {
		b.noMatch(h)
		return
	}
	meta := slot.meta
	slot.v.Store(0)
	b.release++
	sent := int64(v & slotTimeMask)
	if b.now < 0 {
		b.now = int64(time.Since(r.start))
	}
	lat := time.Duration(b.now - sent)
	if !b.locked {
		b.ivalMu.Lock()
		b.locked = true
	}
	b.ival.record(lat)
	b.batch.answered++
	if h.Status != pdu.ESME_ROK {
		b.batch.notOK++
	}
	var id []byte
	if h.Status == pdu.ESME_ROK && h.ID != pdu.GenericNack && (meta.receipt || meta.group >= 0) {
		id = respMessageID(p)
	}
	if meta.receipt && len(id) > 0 {
		if early, ok := r.rcpt.put(id, rcptEntry{sent: sent, group: meta.group, phase: meta.phase}); ok && meta.phase >= 0 {
			// Its receipt was read first (on another bind): count it here.
			b.countReceipt(time.Duration(early.at-sent), int(early.stat), meta.group)
		}
	}
	if meta.phase < 0 {
		return // the warmup's
	}
	ps := &b.ph[meta.phase]
	ps.responses++
	ps.count(h.Status)
	ps.hist.Record(lat)
	if meta.intended >= 0 {
		ps.intended.Record(time.Duration(b.now - meta.intended))
	}
	if meta.group >= 0 {
		g := &b.gs[meta.group]
		g.responses++
		countStatus(&g.byStatus, &g.otherStatus, h.Status)
		if len(id) > 0 && r.cfg.Held != nil && r.cfg.Held(id) {
			g.held++
		}
		if meta.receipt && len(id) > 0 {
			g.asked++
		}
	}
}

// noMatch counts a response that matched no outstanding request: a second
// answer to one request, or a sequence number never sent (a request's slot
// is never reused while it is outstanding).
func (b *loadBind) noMatch(h pdu.Header) {
	if b.unmatched == 0 {
		b.firstUnmatched = h
	}
	b.unmatched++
}

// respMessageID returns the message_id of a submit_sm_resp, data_sm_resp
// or submit_multi_resp (its first field), without copying.
func respMessageID(p []byte) []byte {
	if len(p) <= pdu.HeaderLen {
		return nil
	}
	body := p[pdu.HeaderLen:]
	for i, c := range body {
		if c == 0 {
			return body[:i]
		}
	}
	return nil
}

// deliver answers a deliver_sm or data_sm and counts it: a receipt is
// matched to its request by message id; anything else is an MO.
func (b *loadBind) deliver(p []byte, h pdu.Header) {
	if h.ID == pdu.DeliverSM {
		b.out.write(pdu.AppendDeliverSMResp(b.rscratch[:0], pdu.ESME_ROK, h.Seq))
	} else {
		b.out.write(pdu.AppendDataSMResp(b.rscratch[:0], pdu.ESME_ROK, h.Seq, ""))
	}
	m := &b.msg
	if pdu.Scan(p, m) != nil || !m.IsReceipt() {
		b.mos++
		b.batch.mos++
		return
	}
	b.batch.receipts++
	id, ok := pdu.ReceiptID(m)
	if !ok {
		b.receiptsUnmatched++
		return
	}
	if b.now < 0 {
		b.now = int64(time.Since(b.r.start))
	}
	text := m.ShortMessage
	if len(text) == 0 {
		text, _ = m.TLVs.Find(pdu.TagMessagePayload)
	}
	stat, _, _ := pdu.ReceiptField(text, "stat")
	si := receiptStatIndex(stat)
	e, ok, early := b.r.rcpt.take(id, b.now, uint8(si))
	switch {
	case early:
		return // counted when its request's response is read
	case !ok:
		b.receiptsUnmatched++ // a second receipt for one message
	case e.phase >= 0: // (not a receipt of the warmup)
		b.countReceipt(time.Duration(b.now-e.sent), si, e.group)
	}
}

// countReceipt counts a receipt matched to a measured request.
func (b *loadBind) countReceipt(latency time.Duration, stat int, group int16) {
	b.receipts++
	b.rhist.Record(latency)
	b.rstats[stat]++
	if group >= 0 && int(group) < len(b.gs) {
		b.gs[group].receipts++
	}
}
