package policy

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/optguard/optguard/store"
)

// Options configure an Engine.
type Options struct {
	Store         store.Store
	Transport     Transport
	Logger        zerolog.Logger
	Clock         func() time.Time // default time.Now
	Organizations []Organization
	Settings      Settings
	// Lanes is how many scopes are worked on at once (each lane works its
	// scopes' durable steps in order); default 256.
	Lanes int
	// LaneQueue is how many deferred PDUs wait per lane; beyond it a PDU is
	// answered with a temporary error at once. Default 1024.
	LaneQueue int
}

// Engine is the consent policy. MT and MO decide from memory; what needs
// the disk is deferred to lanes: goroutines that each work the scopes
// hashed to them in arrival order, so that two PDUs of one handset are
// never decided out of order, while many lanes in parallel share the
// store's group commit (one fsync for many changes).
type Engine struct {
	// What every MT reads comes first, to share a cache line: bst, tab,
	// ov.n and rev.n.
	//
	// bst is st when it is a *store.Badger, optguard's one store: the MT
	// path calls it directly, two interface calls fewer per MT (another
	// Store goes through st).
	bst *store.Badger
	tab atomic.Pointer[table]
	ov  overlay
	rev reviewSet
	st  store.Store
	// claims caches each session's claim (see claimOf).
	claims [1024]atomic.Pointer[claimEntry]

	tr    Transport
	log   zerolog.Logger
	clock func() time.Time
	lanes []chan *task
	seed  maphash.Seed
	reasm *reassembler
	ids   idGen
	m     metrics

	outbox outboxState

	dir   atomic.Pointer[senderDir] // the sender directory (senders.go)
	dirMu sync.Mutex                // serializes its changes

	imports atomic.Int32 // Imports running, dry runs included (ImportsRunning)

	closing   chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup
	running   sync.WaitGroup // lane tasks in progress and follow-ups
	asyncMu   sync.Mutex
	stopped   bool // guarded by asyncMu: Close is waiting; no new async work
}

// New compiles the organizations and returns an Engine; Start starts its
// background work.
func New(o Options) (*Engine, error) {
	if o.Store == nil || o.Transport == nil {
		return nil, errors.New("policy: Options.Store and Options.Transport are required")
	}
	t, err := compile(o.Organizations, o.Settings)
	if err != nil {
		return nil, err
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Lanes <= 0 {
		o.Lanes = 256
	}
	if o.LaneQueue <= 0 {
		o.LaneQueue = 1024
	}
	e := &Engine{
		st:      o.Store,
		tr:      o.Transport,
		log:     o.Logger.With().Str("component", "policy").Logger(),
		clock:   o.Clock,
		lanes:   make([]chan *task, o.Lanes),
		seed:    maphash.MakeSeed(),
		closing: make(chan struct{}),
	}
	e.bst, _ = o.Store.(*store.Badger)
	e.tab.Store(t)
	if err := e.loadSenders(context.Background()); err != nil {
		return nil, err
	}
	e.reasm = newReassembler(t.settings.ReassemblyMax, t.settings.ReassemblyTimeout)
	e.loadIDForms(t)
	e.ids.init()
	e.m.init()
	for i := range e.lanes {
		e.lanes[i] = make(chan *task, o.LaneQueue)
	}
	return e, nil
}

// Start starts the lanes, the expiry scan and the outbox, and sends what a
// previous run left in the outbox.
func (e *Engine) Start() {
	if err := e.loadReviews(context.Background()); err != nil {
		e.log.Error().Err(err).Msg("scopes under review could not be read; their MTs are not held until the next start")
	}
	for _, ch := range e.lanes {
		e.wg.Add(1)
		go e.lane(ch)
	}
	e.wg.Add(1)
	go e.housekeeping()
	e.FlushOutbox()
	e.async(func() { e.recoverRequests(context.Background()) })
}

// Close stops taking work, finishes what the lanes hold within ctx, and
// stops the background loops. Deferred PDUs not finished by then were never
// answered, so their peers send them again. Idempotent.
func (e *Engine) Close(ctx context.Context) error {
	var err error
	e.closeOnce.Do(func() {
		close(e.closing)
		done := make(chan struct{})
		go func() {
			e.wg.Wait()
			e.asyncMu.Lock()
			e.stopped = true
			e.asyncMu.Unlock()
			e.running.Wait()
			close(done)
		}()
		select {
		case <-done:
		case <-ctx.Done():
			err = fmt.Errorf("policy: closing: %w", ctx.Err())
		}
	})
	return err
}

// Check compiles organizations and settings without running them, so that
// a configuration the policy would refuse is refused before anything
// starts.
func Check(orgs []Organization, s Settings) error {
	_, err := compile(orgs, s)
	return err
}

// Reload swaps in new organizations and settings; the running ones stay
// when the new ones do not compile.
func (e *Engine) Reload(orgs []Organization, s Settings) error {
	t, err := compile(orgs, s)
	if err != nil {
		return err
	}
	// What was learned of the SMSCs' id forms stays with the accounts: as
	// stored, and as the running accounts know it (a change just learned
	// may not be stored yet).
	old := e.tab.Load()
	e.loadIDForms(t)
	for _, a := range t.accounts {
		for _, b := range old.accounts {
			if a.name == b.name && a.main.spec.MessageIDs == IDAuto && b.main.spec.MessageIDs == IDAuto {
				a.ids.form.Store(b.ids.form.Load())
				a.ids.upper.Store(b.ids.upper.Load())
			}
		}
	}
	e.tab.Store(t)
	e.reasm.configure(t.settings.ReassemblyMax, t.settings.ReassemblyTimeout)
	if err := e.loadReviews(context.Background()); err != nil {
		e.log.Error().Err(err).Msg("scopes under review could not be read after the reload")
	}
	return nil
}

// Modes returns each organization's name and mode, main organizations
// first, for the startup log.
func (e *Engine) Modes() []OrgMode {
	t := e.tab.Load()
	var out []OrgMode
	for _, a := range t.accounts {
		out = append(out, OrgMode{Name: a.name, Mode: a.mode, Scope: a.main.spec.Scope})
		for _, o := range t.orgs {
			if o.acct == a && o != a.main {
				out = append(out, OrgMode{Name: o.spec.Name, Main: a.name, Mode: a.mode, Scope: a.main.spec.Scope})
			}
		}
	}
	return out
}

// OrgMode is one line of Modes.
type OrgMode struct {
	Name, Main string
	Mode       Mode
	Scope      Scoping
}

// laneOf picks the lane of a handset within an account: every scope of one
// handset in one account is worked in one lane, so revoke-all and the
// order of a handset's replies hold.
func (e *Engine) laneOf(acct string, number string) chan *task {
	var h maphash.Hash
	h.SetSeed(e.seed)
	h.WriteString(acct)
	h.WriteString(number)
	return e.lanes[h.Sum64()%uint64(len(e.lanes))]
}

// Run takes over a deferred PDU: d is the Defer decision MT or MO returned,
// r answers it. It must be called during the same interceptor call (the
// task already holds a copy of the PDU). When the lane is full the PDU is
// answered at once with a temporary error, so that the peer sends it again
// later: nothing is lost and nothing waits without bound.
func (e *Engine) Run(d Decision, r Responder) {
	t := d.task
	if t == nil {
		_ = r.Finish(Decision{Action: Reject, Status: tempStatus(false)})
		return
	}
	t.resp = r
	select {
	case <-e.closing:
		e.refuseBusy(t)
		return
	default:
	}
	if err := e.st.Accepting(); err != nil {
		e.refuseDiskFull(t)
		return
	}
	select {
	case e.laneOf(t.scope.Org, t.scope.Number) <- t:
		e.m.deferred.Add(1)
	default:
		e.m.busy.Add(1)
		e.refuseBusy(t)
	}
}

func (e *Engine) refuseBusy(t *task) {
	if t.kind == taskOptOut {
		e.ov.done(t)
	}
	_ = t.resp.Finish(Decision{Action: Reject, Status: tempStatus(t.mt)})
}

// refuseDiskFull answers a PDU whose durable write the store does not take
// now (its disk is below the reserve) with a temporary error, so that the
// peer sends it again once there is room: nothing is acknowledged that is
// not on disk, and relaying what needs no write goes on.
func (e *Engine) refuseDiskFull(t *task) {
	e.m.diskFull.Add(1)
	if t.kind == taskOptOut {
		e.ov.done(t)
	}
	_ = t.finish(Decision{Action: Reject, Status: diskFullStatus(t.mt)})
}

func (e *Engine) lane(ch chan *task) {
	defer e.wg.Done()
	var p proofs
	for {
		select {
		case t := <-ch:
			e.work(t, &p)
		case <-e.closing:
			// Finish what was queued before Close: each is a PDU whose
			// peer is waiting for its answer.
			for {
				select {
				case t := <-ch:
					e.work(t, &p)
				default:
					return
				}
			}
		}
	}
}

// proofs are a lane's proof events still being written, by scope. A task's
// proof (the texts it sent) is written off the lane once the task is done;
// the next task of the same scope waits for it, so that the scope's events
// stay in the order they happened, while tasks of other scopes go on.
type proofs struct {
	pending map[store.Scope]chan struct{}
}

// wait blocks until the proof of s's previous task is written.
func (p *proofs) wait(s store.Scope) {
	if done, ok := p.pending[s]; ok {
		<-done
		delete(p.pending, s)
	}
}

// write records evs for t off the lane.
func (p *proofs) write(e *Engine, t *task, evs []store.Change) {
	if p.pending == nil {
		p.pending = map[store.Scope]chan struct{}{}
	}
	if len(p.pending) >= 1024 {
		for s, done := range p.pending {
			select {
			case <-done:
				delete(p.pending, s)
			default:
			}
		}
	}
	done := make(chan struct{})
	p.pending[t.scope] = done
	e.asyncOr(func() {
		defer close(done)
		for _, ch := range evs {
			e.record(t, ch)
		}
	}, func() { close(done) })
}

// work runs one task, recovering a panic so that a bug costs one PDU (which
// the peer sends again) rather than the lane.
func (e *Engine) work(t *task, p *proofs) {
	p.wait(t.scope)
	e.running.Add(1)
	defer e.running.Done()
	defer func() {
		if p := recover(); p != nil {
			e.m.panics.Add(1)
			e.log.Error().Interface("panic", p).Str("task", t.kind.String()).Msg("policy task panicked; the PDU is answered with a temporary error")
			if !t.finished {
				t.finish(Decision{Action: Reject, Status: tempStatus(t.mt)})
			}
			if t.kind == taskOptOut {
				e.ov.done(t)
			}
		}
	}()
	defer func() {
		if len(t.proof) > 0 {
			p.write(e, t, t.proof)
		}
	}()
	if t.resp != nil && e.st.Accepting() != nil {
		// The disk ran low while the PDU waited in the lane. Tasks of
		// optguard's own (no PDU) go on: they are few, and the store
		// still writes down to its floor.
		e.refuseDiskFull(t)
		return
	}
	switch t.kind {
	case taskHoldMT:
		e.holdMT(t)
	case taskDisclaimer:
		e.disclaimer(t)
	case taskHoldMO:
		e.holdMO(t)
	case taskOptOut:
		e.optOut(t)
	case taskOptIn:
		e.optIn(t)
	case taskHelp:
		e.help(t)
	case taskReview:
		e.review(t)
	case taskRecoverRequest:
		e.recoverRequest(t)
	case taskOperator:
		t.op(t)
	}
}

// housekeeping expires held messages, gives up unfinished concatenated MOs
// and retries the outbox.
func (e *Engine) housekeeping() {
	defer e.wg.Done()
	t := e.tab.Load().settings
	tick := time.NewTicker(min(t.ExpiryScanInterval, time.Second))
	defer tick.Stop()
	var lastExpiry, lastOutbox time.Time
	for {
		select {
		case <-e.closing:
			return
		case <-tick.C:
		}
		now := time.Now() // intervals by the wall clock; ages by the policy's clock
		e.reasm.sweep(e.now())
		s := e.tab.Load().settings
		if now.Sub(lastExpiry) >= s.ExpiryScanInterval {
			lastExpiry = now
			e.expire()
		}
		if now.Sub(lastOutbox) >= outboxRetry {
			lastOutbox = now
			e.FlushOutbox()
		}
	}
}

// outboxRetry is how often the outbox is retried when nothing else (a new
// bind) triggers it.
const outboxRetry = 5 * time.Second

func (e *Engine) ctx() context.Context { return context.Background() }

func (e *Engine) now() time.Time { return e.clock() }
