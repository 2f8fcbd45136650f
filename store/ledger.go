package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/dgraph-io/badger/v4"

	"github.com/optguard/optguard/store/seal"
)

// Appends are serialized through one committer goroutine. The chain is a
// single sequence, so concurrent appends could never run in parallel anyway
// (under optimistic transactions they would all conflict on meta/head);
// instead the committer takes every change waiting at that moment (up to
// Options.CommitBatch), applies them in order in one transaction and commits
// it with one sync, then answers each caller: group commit. A lone writer
// pays one fsync per change; sixteen writers share them.

type commitReq struct {
	change *Change
	task   func() error // an exclusive task (Import, Rebuild, Restore) instead of a change
	res    chan commitRes
}

type commitRes struct {
	applied Applied
	err     error
	p       seal.Pseudonym // the handset's, for the index
}

const maxRetries = 64

// Apply appends one consent event, updates the scope's consent record and
// the in-memory index, and carries out ch.Holds, all in one transaction that
// is synced to disk before Apply returns.
func (b *Badger) Apply(ctx context.Context, ch Change) (Applied, error) {
	if err := validateChange(&ch); err != nil {
		return Applied{}, fmt.Errorf("applying change: %w", err)
	}
	if err := b.enter(); err != nil {
		return Applied{}, err
	}
	defer b.leave()
	req := &commitReq{change: &ch, res: make(chan commitRes, 1)}
	select {
	case b.commitCh <- req:
	case <-ctx.Done():
		return Applied{}, ctx.Err()
	}
	// Once handed over the change will be decided; wait for the outcome
	// even if ctx ends, so the caller never mistakes a commit for a failure.
	r := <-req.res
	return r.applied, r.err
}

// ImportReport says what Import did.
type ImportReport struct {
	Applied  int    // changes appended
	Refused  int    // changes whose Guard returned an error
	FirstSeq uint64 // first and last sequence numbers appended
	LastSeq  uint64
	// Released and Dropped count the held messages the changes' Holds
	// moved to the outbox, where the caller finds them (Outbox) to send
	// them on or answer them, as with Apply's Applied.Released and Dropped.
	Released int
	Dropped  int
}

// importChunk is how many changes Import commits per transaction.
const importChunk = 1000

// Import appends many changes (e.g. an existing consent list, with
// EventStateImported and MethodImport) in transactions of up to 1000
// changes, each synced; live changes from Apply are committed between them.
// All changes are validated before anything is written. Each change's
// Holds is carried out in its transaction as Apply does; the messages it
// settles are only counted, and wait in the outbox (an import may settle
// many, and holding them all in memory is what the outbox spares). A Guard
// that refuses skips its change. If ctx ends (or the store closes) Import
// stops between transactions and returns what was done along with the
// error.
func (b *Badger) Import(ctx context.Context, changes []Change) (ImportReport, error) {
	var rep ImportReport
	for i := range changes {
		if err := validateChange(&changes[i]); err != nil {
			return rep, fmt.Errorf("importing change %d: %w", i, err)
		}
	}
	// One exclusive task per chunk, so live Apply calls (an MO STOP) are
	// interleaved with a long import instead of waiting for all of it.
	for start := 0; start < len(changes); start += importChunk {
		if err := ctx.Err(); err != nil {
			return rep, fmt.Errorf("importing: %w", err)
		}
		end := min(start+importChunk, len(changes))
		reqs := make([]*commitReq, end-start)
		for i := range reqs {
			reqs[i] = &commitReq{change: &changes[start+i]}
		}
		res := make([]commitRes, len(reqs))
		err := b.runExclusive(ctx, func() error { return b.commitChanges(reqs, res) })
		if err != nil {
			return rep, fmt.Errorf("importing: %w", err)
		}
		for _, r := range res {
			if r.err != nil {
				rep.Refused++
				continue
			}
			rep.Applied++
			rep.Released += len(r.applied.Released)
			rep.Dropped += len(r.applied.Dropped)
			if rep.FirstSeq == 0 {
				rep.FirstSeq = r.applied.Event.Seq
			}
			rep.LastSeq = r.applied.Event.Seq
		}
	}
	return rep, nil
}

// runExclusive runs task on the committer goroutine, so that no change is
// applied while it runs.
func (b *Badger) runExclusive(ctx context.Context, task func() error) error {
	if err := b.enter(); err != nil {
		return err
	}
	defer b.leave()
	req := &commitReq{task: task, res: make(chan commitRes, 1)}
	select {
	case b.commitCh <- req:
	case <-ctx.Done():
		return ctx.Err()
	}
	return (<-req.res).err
}

func (b *Badger) commitLoop() {
	defer b.wg.Done()
	batch := make([]*commitReq, 0, b.opts.CommitBatch)
	res := make([]commitRes, 0, b.opts.CommitBatch)
	for {
		var first *commitReq
		select {
		case first = <-b.commitCh:
		case <-b.closing:
			return
		}
		if first.task != nil {
			first.res <- commitRes{err: b.runTask(first.task)}
			continue
		}
		batch = append(batch[:0], first)
		var task *commitReq
	gather:
		for len(batch) < cap(batch) {
			select {
			case r := <-b.commitCh:
				if r.task != nil {
					task = r
					break gather
				}
				batch = append(batch, r)
			default:
				break gather
			}
		}
		res = res[:len(batch)]
		if err := b.commitChanges(batch, res); err != nil {
			for i := range res {
				res[i] = commitRes{err: err}
			}
		}
		for i, r := range batch {
			r.res <- res[i]
			batch[i] = nil
		}
		if task != nil {
			task.res <- commitRes{err: b.runTask(task.task)}
		}
	}
}

// runTask runs an exclusive task on the committer goroutine. A task may
// rewrite any consent record, so the committer's cache of them starts
// afresh after it.
func (b *Badger) runTask(task func() error) error {
	defer b.records.clear()
	return task()
}

// commitChanges applies reqs in one transaction (splitting it if badger
// finds it too big), retrying on conflicts with concurrent Hold/RemoveHeld
// transactions. Per-change refusals land in res; a returned error means
// nothing was committed. Runs on the committer goroutine only.
func (b *Badger) commitChanges(reqs []*commitReq, res []commitRes) error {
	if err := b.writable(); err != nil {
		return err
	}
	err := b.retry(func() error { return b.applyBatch(reqs, res) })
	if errors.Is(err, badger.ErrTxnTooBig) && len(reqs) > 1 {
		h := len(reqs) / 2
		if err := b.commitChanges(reqs[:h], res[:h]); err != nil {
			return err
		}
		return b.commitChanges(reqs[h:], res[h:])
	}
	if err != nil {
		return fmt.Errorf("appending events: %w", err)
	}
	return nil
}

// retry runs fn until it does not fail with a badger conflict, at most
// maxRetries times.
func (b *Badger) retry(fn func() error) error {
	blocked := 0
	for i := 0; ; i++ {
		err := fn()
		if errors.Is(err, badger.ErrBlockedWrites) && blocked < maxBlockedWaits {
			// purge is writing the memtables out: it takes moments.
			blocked++
			i--
			time.Sleep(blockedWait)
			continue
		}
		if !errors.Is(err, badger.ErrConflict) {
			return err
		}
		if i == maxRetries {
			return fmt.Errorf("%w: %v", ErrBusy, err)
		}
		time.Sleep(time.Duration(i+1) * 50 * time.Microsecond)
	}
}

// A write that finds badger's writes blocked (purge) waits up to
// maxBlockedWaits × blockedWait.
const (
	maxBlockedWaits = 1000
	blockedWait     = 10 * time.Millisecond
)

func (b *Badger) applyBatch(reqs []*commitReq, res []commitRes) error {
	txn := b.cdb.NewTransaction(true)
	defer txn.Discard()
	head := b.head
	now := normTime(b.clock())
	bt := &batch{subjects: make(map[seal.Pseudonym]subject), records: make(map[string][]byte)}
	for i, r := range reqs {
		a, p, refused, err := b.applyInTxn(txn, &head, r.change, now, bt)
		if err != nil {
			return err
		}
		res[i] = commitRes{applied: a, err: refused, p: p}
	}
	if head == b.head {
		return nil // every change was refused: nothing to write
	}
	if err := txn.Set(keyHead, head.encode()); err != nil {
		return err
	}
	if err := txn.Commit(); err != nil {
		return err
	}
	b.head = head
	for _, s := range bt.subjects {
		b.subjects.add(s)
	}
	for sk, val := range bt.records {
		b.records.add(sk, val)
	}
	ix := b.idx.Load()
	for i := range res {
		if res[i].err == nil {
			c := &res[i].applied.Consent
			ix.set(c.Scope.Org, c.Scope.Sender, handsetOfPseudonym(res[i].p), idxValOf(c))
		}
	}
	return nil
}

// batch is what one commit transaction has met so far, for the changes
// after the first: the subjects it made or read (added to the cache once
// it commits; see subjectFor) and the consent records it wrote, encoded,
// by scope key (for the committer's recordCache once it commits).
type batch struct {
	subjects map[seal.Pseudonym]subject
	records  map[string][]byte
}

// applyInTxn appends one change to txn, returning the handset's pseudonym
// with what it applied. refused is the change's Guard error (nothing was
// written for it); err is a transaction error that aborts the whole batch.
func (b *Badger) applyInTxn(txn *badger.Txn, head *chainHead, ch *Change, now time.Time, bt *batch) (a Applied, p seal.Pseudonym, refused, err error) {
	p = b.pseudonym(ch.Scope.Number)
	sk := scopeKey(ch.Scope.Org, p, ch.Scope.Sender)
	ck := consentKey(sk)
	cur, exists := Consent{Scope: ch.Scope}, false
	// Only the committer writes consent records (outside exclusive tasks),
	// so the record it wrote last, in this batch or one committed (while
	// the cache keeps it), is the one on disk; and the index has every
	// record it committed: a scope the index does not know, and this
	// transaction did not write, has none on disk either (a first contact,
	// most of a STOP storm). Badger is read only for the rest.
	if v, ok := bt.records[string(sk)]; ok {
		cur, exists, err = decodeConsentOf(ch.Scope, v)
	} else if v, ok := b.records.get(sk); ok {
		cur, exists, err = decodeConsentOf(ch.Scope, v)
	} else if _, recorded := b.idx.Load().getParts(scopeKeyParts{org: ch.Scope.Org, sender: ch.Scope.Sender, p: p}); recorded {
		cur, exists, err = getConsent(txn, ck, ch.Scope)
	}
	if err != nil {
		return a, p, nil, err
	}
	if ch.Guard != nil {
		if gerr := runGuard(ch.Guard, cur); gerr != nil {
			return a, p, gerr, nil
		}
	}
	subj, err := b.subjectOfNumber(txn, p, ch.Scope.Number, normTime(ch.OccurredAt), bt.subjects)
	if err != nil {
		return a, p, nil, err
	}
	if cur.Erased {
		if cur, err = keepOptOut(txn, head, cur, subj, ch, now); err != nil {
			return a, p, nil, err
		}
	}
	ev := Event{
		Scope:           ch.Scope,
		Via:             ch.Via,
		Subject:         subj.id,
		Type:            ch.Type,
		PrevState:       cur.State,
		NewState:        ch.Type.target(cur.State, ch.State),
		Mode:            ch.Mode,
		OccurredAt:      normTime(ch.OccurredAt),
		RecordedAt:      now,
		Method:          ch.Method,
		Actor:           ch.Actor,
		Template:        ch.Template,
		TemplateVersion: ch.TemplateVersion,
		MessageID:       ch.MessageID,
		Note:            ch.Note,
	}
	if ch.MO != nil {
		mo := *ch.MO
		mo.Raw = append([]byte(nil), mo.Raw...)
		ev.MO = &mo
	}
	if err := appendSubjectEvent(txn, head, &ev, subj.key); err != nil {
		return a, p, nil, err
	}

	next := cur
	next.Scope = ch.Scope
	next.State = ev.NewState
	if ch.Mode != ModeUnspecified {
		next.Mode = ch.Mode
	}
	if !exists {
		if err := txn.Set(consentNumKey(p, sk), nil); err != nil {
			return a, p, nil, err
		}
	}
	if !exists {
		next.CreatedAt = ev.OccurredAt
	}
	next.UpdatedAt = ev.OccurredAt
	next.LastSeq = ev.Seq
	next.LastEvent = ev.Type
	foldTransition(&next, &ev)
	rec := encodeConsent(&next)
	if err := txn.Set(ck, rec); err != nil {
		return a, p, nil, err
	}
	bt.records[string(sk)] = rec

	a.Event, a.Consent = ev, next
	if subj.made {
		// A number this transaction met first holds nothing; a Hold made
		// meanwhile made the same subject key, so one of the two
		// transactions conflicts and runs again seeing the other. Most of
		// a consent list's numbers are new: this spares each a read.
		return a, p, nil, nil
	}
	switch ch.Holds {
	case ReleaseHeld:
		a.Released, err = b.settleScope(txn, sk, DispositionReleased, now)
	case DropHeld:
		a.Dropped, err = b.settleScope(txn, sk, DispositionDropped, now)
	}
	return a, p, nil, err
}

// keepOptOut appends, before ch, the opt_out_kept event that starts a new
// subject's record on a scope whose erased subject had opted out (cur, the
// suppression entry), and returns the record that event leads to, from
// which ch goes on: opted out, with the suppression's mode and opt-out
// method, so that overriding it is refused as before and the record
// follows from the chain (the erased subject's events no longer say whose
// scope they were).
func keepOptOut(txn *badger.Txn, head *chainHead, cur Consent, subj subject, ch *Change, now time.Time) (Consent, error) {
	ev := Event{
		Scope: ch.Scope, Subject: subj.id, Type: EventOptOutKept,
		PrevState: StateUnknown, NewState: StateOptedOut, Mode: cur.Mode,
		OccurredAt: normTime(ch.OccurredAt), RecordedAt: now,
		Method: cur.OptedOutMethod, Actor: "system",
		Note: "opt-out kept from an erased subject",
	}
	if err := appendSubjectEvent(txn, head, &ev, subj.key); err != nil {
		return cur, err
	}
	kept := Consent{
		Scope: ch.Scope, State: StateOptedOut, Mode: cur.Mode,
		CreatedAt: ev.OccurredAt, UpdatedAt: ev.OccurredAt, LastSeq: ev.Seq, LastEvent: ev.Type,
	}
	foldTransition(&kept, &ev)
	return kept, nil
}

// runGuard calls a change's guard on the committer goroutine, turning a
// panic into that change's error: a bug in one caller must not stop every
// consent change.
func runGuard(g func(Consent) error, c Consent) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("store: change guard panicked: %v", r)
		}
	}()
	return g(c)
}

// foldTransition records the opt-in/opt-out times kept for reports: the
// latest transition into each state.
func foldTransition(c *Consent, ev *Event) {
	if ev.NewState == ev.PrevState {
		return
	}
	switch ev.NewState {
	case StateOptedIn:
		c.OptedInAt, c.OptedInMethod = ev.OccurredAt, ev.Method
	case StateOptedOut:
		c.OptedOutAt, c.OptedOutMethod = ev.OccurredAt, ev.Method
	}
}

// setAll sets key/value pairs given alternately.
func setAll(txn *badger.Txn, kv ...[]byte) error {
	for i := 0; i < len(kv); i += 2 {
		if err := txn.Set(kv[i], kv[i+1]); err != nil {
			return err
		}
	}
	return nil
}

func getConsent(txn *badger.Txn, ck []byte, s Scope) (Consent, bool, error) {
	item, err := txn.Get(ck)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return Consent{Scope: s}, false, nil
	}
	if err != nil {
		return Consent{}, false, err
	}
	var c Consent
	err = item.Value(func(v []byte) error {
		c, err = decodeConsent(s, v)
		return err
	})
	return c, err == nil, err
}

// decodeConsentOf is getConsent's answer for a record already in hand.
func decodeConsentOf(s Scope, v []byte) (Consent, bool, error) {
	c, err := decodeConsent(s, v)
	return c, err == nil, err
}

// validateVia checks a change's Via like a sender, and that it says what
// the scope does not: none when the scope has a sender, and never the
// handset's own number, which would be in the clear (Via is not sealed)
// and outlive an erasure.
func validateVia(ch *Change) error {
	if ch.Via == "" {
		return nil
	}
	if err := checkName("via", ch.Via, maxSenderLen, false); err != nil {
		return err
	}
	if ch.Scope.Sender != "" {
		return invalidf("via is set and so is the scope's sender: a sender scope says the sender itself")
	}
	if ch.Via == strings.TrimPrefix(ch.Scope.Number, "+") || ch.Via == ch.Scope.Number {
		return invalidf("via is the handset's own number; it is the sender's address")
	}
	return nil
}

// Event returns the event with sequence number seq. An event whose stored
// hash does not match its contents is returned with a *ChainError.
func (b *Badger) Event(ctx context.Context, seq uint64) (Event, error) {
	if err := b.enter(); err != nil {
		return Event{}, err
	}
	defer b.leave()
	var ev Event
	err := b.cdb.View(func(txn *badger.Txn) error {
		var err error
		ev, err = b.getEvent(txn, seq)
		return err
	})
	return ev, err
}

func (b *Badger) getEvent(txn *badger.Txn, seq uint64) (Event, error) {
	item, err := txn.Get(eventKey(seq))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return Event{}, fmt.Errorf("event %d: %w", seq, ErrNotFound)
	}
	if err != nil {
		return Event{}, fmt.Errorf("reading event %d: %w", seq, err)
	}
	var ev Event
	var sealed []byte
	err = item.Value(func(v []byte) error {
		ev, sealed, err = decodeEvent(v)
		sealed = append([]byte(nil), sealed...)
		return err
	})
	if err != nil {
		return ev, &ChainError{Seq: seq, Reason: err.Error()}
	}
	return ev, b.subjectReader(txn).open(&ev, sealed)
}

// Head returns the sequence number and hash of the latest event (0 and
// zeros for an empty ledger). Operators can write the hash down elsewhere
// to detect a rewrite of the whole chain.
func (b *Badger) Head(ctx context.Context) (uint64, [32]byte, error) {
	if err := b.enter(); err != nil {
		return 0, [32]byte{}, err
	}
	defer b.leave()
	h, err := readHead(b.cdb)
	return h.seq, h.hash, err
}

// normTime drops the monotonic reading and location, keeping what the
// encoding keeps, so a returned Event equals the stored one.
func normTime(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return time.Unix(0, t.UnixNano()).UTC()
}

var (
	minTime = time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
)

const (
	maxActorLen    = 256
	maxNoteLen     = 4096
	maxTemplateLen = 128
	maxMOLen       = 64 << 10
)

func validateChange(ch *Change) error {
	if err := ch.Scope.Validate(); err != nil {
		return err
	}
	if err := validateVia(ch); err != nil {
		return err
	}
	if !ch.Type.IsChange() {
		return invalidf("event type %s cannot be appended as a change", ch.Type)
	}
	if ch.Type == EventStateImported {
		if ch.State == StateUnknown || !ch.State.Valid() {
			return invalidf("imported state must be pending, opted_in or opted_out, not %s", ch.State)
		}
	} else if ch.State != StateUnknown {
		return invalidf("State is only set for %s (a %s event's state is fixed by its type)", EventStateImported, ch.Type)
	}
	if !ch.Mode.Valid() {
		return invalidf("mode %d", ch.Mode)
	}
	if ch.OccurredAt.Before(minTime) || ch.OccurredAt.After(maxTime) {
		return invalidf("occurred-at %v missing or out of range", ch.OccurredAt)
	}
	if !ch.Method.Valid() {
		return invalidf("method %d", ch.Method)
	}
	if ch.Actor == "" {
		return invalidf("actor is empty (use \"handset\", \"system\" or a user name)")
	}
	if len(ch.Actor) > maxActorLen || !utf8.ValidString(ch.Actor) {
		return invalidf("actor is not UTF-8 or longer than %d bytes", maxActorLen)
	}
	if len(ch.Note) > maxNoteLen || !utf8.ValidString(ch.Note) {
		return invalidf("note is not UTF-8 or longer than %d bytes", maxNoteLen)
	}
	if len(ch.Template) > maxTemplateLen || len(ch.MessageID) > maxIDLen {
		return invalidf("template or message id too long")
	}
	if ch.MO != nil && (len(ch.MO.Raw) > maxMOLen || len(ch.MO.Text) > 4*maxMOLen) {
		return invalidf("MO longer than %d bytes", maxMOLen)
	}
	if ch.Holds > DropHeld {
		return invalidf("hold action %d", ch.Holds)
	}
	return nil
}
