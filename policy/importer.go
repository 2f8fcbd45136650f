package policy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/optguard/optguard/store"
)

// An import loads an existing consent list (seed 003): each number on it
// is opted in as of the list's cutoff date, unless the handset opted out,
// which no import lifts (CheckChange, checked again inside the store's
// transaction). A row that changes nothing (the number already has the
// state) is left alone, so that running the same file again changes
// nothing. A dry run decides every row the same way and writes nothing.
//
// What a scope held for want of consent follows its imported state, in
// the same transaction, as after an agent's word: an imported opt-in
// releases the held MTs to the SMSC, an imported opt-out drops them with
// REJECTD receipts where the ESME asked for one. The messages wait in the
// store's outbox and go out by the outbox's flush, so an import that
// settles many never holds them in memory. MTs held for a possible
// opt-out stay held: a person decides that review, not an old list.

// ImportRow is one row of a consent list, as written in the file.
type ImportRow struct {
	Line        int    // its line in the file, for the report
	Org         string // organization (main or sub)
	Sender      string // for accounts that keep consent per sender number
	Number      string // any common form
	State       string // opted_in (the default) or opted_out
	ConsentType string // optional: one of ConsentTypes
	Date        string // optional: when consent was given, YYYY-MM-DD or RFC 3339; not after the cutoff
	// Problem, when set, is why the row could not be read from the file
	// (a CSV error): the row is reported bad with it.
	Problem string
}

// ImportOptions say how to import.
type ImportOptions struct {
	// Cutoff is the date the list is true as of: the imported events
	// occur then. Required, and not in the future.
	Cutoff time.Time
	DryRun bool
	Actor  string // who imports: the API token's name
	// Sees says whether the importer may write organization org's
	// consent; nil allows every organization.
	Sees func(org string) bool
	// Progress, if set, is called after each batch with the rows done.
	Progress func(done int)
	// MaxLines bounds ImportReport.Lines (default 10000); the counts are
	// always complete.
	MaxLines int
}

// ImportOutcome is what an import did (or would do) with a row.
type ImportOutcome string

// The ImportOutcome values.
const (
	ImportChanged   ImportOutcome = "changed"   // the state was (would be) set
	ImportUnchanged ImportOutcome = "unchanged" // the number already has that state
	ImportKept      ImportOutcome = "kept"      // an opt-out stands: no import lifts it
	ImportBad       ImportOutcome = "bad"       // the row is wrong; Reason says how
)

// ImportLine is one row's outcome.
type ImportLine struct {
	Line    int           `json:"line"`
	Number  string        `json:"number,omitempty"`
	Org     string        `json:"organization,omitempty"`
	Outcome ImportOutcome `json:"outcome"`
	From    string        `json:"from,omitempty"`
	To      string        `json:"to,omitempty"`
	Reason  string        `json:"reason,omitempty"`
}

// ImportReport is what an import did.
type ImportReport struct {
	DryRun    bool `json:"dry_run"`
	Rows      int  `json:"rows"`
	Changed   int  `json:"changed"`
	Unchanged int  `json:"unchanged"`
	Kept      int  `json:"kept"`
	Bad       int  `json:"bad"`
	// Lines lists every row that was (or would be) changed, kept or bad,
	// in file order, up to MaxLines; Truncated says some were left out.
	Lines     []ImportLine `json:"lines"`
	Truncated bool         `json:"truncated,omitempty"`
	FirstSeq  uint64       `json:"first_seq,omitempty"`
	LastSeq   uint64       `json:"last_seq,omitempty"`
	// HeldReleased and HeldDropped count the held messages the imported
	// opt-ins released and the imported opt-outs dropped (or, in a dry
	// run, would).
	HeldReleased int `json:"held_released"`
	HeldDropped  int `json:"held_dropped"`
}

// importBatch is how many rows are decided and written together: the store
// commits them in its own durable transactions of 1000.
const importBatch = 10000

// ErrImportCutoff: the cutoff is missing or in the future.
var ErrImportCutoff = errors.New("policy: the cutoff date is required and may not be in the future")

// ImportsRunning is how many Imports (dry runs included) run now. serve's
// retention sweep, which reads every subject, waits for them rather than
// compete with them for the store.
func (e *Engine) ImportsRunning() int { return int(e.imports.Load()) }

// Import reads rows from next (io.EOF ends them) and imports them. Rows
// are decided and written in batches, so the import's memory stays small
// whatever the file's length, but for one entry per number already seen
// (a number twice in the file is a bad row). While the store writes one
// batch, the next is decided: reading, normalizing and deciding rows is
// CPU work, and the store's durable commits wait on the disk. An error
// other than a bad row (the store failing, ctx ending) stops the import;
// what was written until then stays, and running the file again completes
// it.
func (e *Engine) Import(ctx context.Context, next func() (ImportRow, error), o ImportOptions) (ImportReport, error) {
	rep := ImportReport{DryRun: o.DryRun, Lines: []ImportLine{}}
	if o.Cutoff.IsZero() || o.Cutoff.After(e.now()) {
		return rep, ErrImportCutoff
	}
	if err := checkText("actor", o.Actor); err != nil || o.Actor == "" {
		return rep, &FieldError{"actor", "is required"}
	}
	if o.MaxLines <= 0 {
		o.MaxLines = 10000
	}
	e.imports.Add(1)
	defer e.imports.Add(-1)
	seen := importSeen{}
	w := importWriter{e: e, ctx: ctx, rep: &rep, dry: o.DryRun, progress: o.Progress}
	changes := make([]store.Change, 0, importBatch)
	note := func(l ImportLine) {
		switch l.Outcome {
		case ImportChanged:
			rep.Changed++
		case ImportUnchanged:
			rep.Unchanged++
			return
		case ImportKept:
			rep.Kept++
		case ImportBad:
			rep.Bad++
		}
		if len(rep.Lines) < o.MaxLines {
			rep.Lines = append(rep.Lines, l)
		} else {
			rep.Truncated = true
		}
	}
	for {
		if err := ctx.Err(); err != nil {
			return rep, w.stop(err)
		}
		row, err := next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return rep, w.stop(err)
		}
		rep.Rows++
		l, ch := e.importRow(row, o, seen)
		if ch != nil {
			changes = append(changes, *ch)
			if o.DryRun {
				if err := e.previewHolds(ctx, ch, &rep); err != nil {
					return rep, w.stop(err)
				}
			}
		}
		note(l)
		if len(changes) >= importBatch || rep.Rows%importBatch == 0 {
			if changes, err = w.write(changes, rep.Rows); err != nil {
				return rep, err
			}
		}
	}
	if _, err := w.write(changes, rep.Rows); err != nil {
		return rep, err
	}
	return rep, w.stop(nil)
}

// importWriter writes an import's batches, one at a time, in the
// background: write hands it a batch and returns at once with the buffer
// to decide the next batch into.
type importWriter struct {
	e        *Engine
	ctx      context.Context
	rep      *ImportReport
	dry      bool // write nothing: a dry run
	progress func(done int)
	spare    []store.Change     // the buffer not being written
	inflight chan importWritten // the write in progress; nil when none
}

// importWritten is what the store did with one batch.
type importWritten struct {
	res   store.ImportReport
	err   error
	rows  int // rows read when the batch was handed over
	batch []store.Change
}

// write waits for the batch in flight, then starts writing changes (rows
// being the rows read so far) and returns an empty buffer for the next.
// A batch with no changes, or of a dry run, is only counted for progress.
func (w *importWriter) write(changes []store.Change, rows int) ([]store.Change, error) {
	if err := w.wait(); err != nil {
		return changes[:0], err
	}
	if len(changes) == 0 || w.dry {
		w.done(rows)
		return changes[:0], nil
	}
	w.inflight = make(chan importWritten, 1)
	go func(ch chan<- importWritten) {
		res, err := w.e.st.Import(w.ctx, changes)
		ch <- importWritten{res: res, err: err, rows: rows, batch: changes}
	}(w.inflight)
	next := w.spare[:0]
	if next == nil {
		next = make([]store.Change, 0, cap(changes))
	}
	w.spare = nil
	return next, nil
}

// wait waits for the batch in flight (if any) and accounts for it.
func (w *importWriter) wait() error {
	if w.inflight == nil {
		return nil
	}
	r := <-w.inflight
	w.inflight = nil
	w.spare = r.batch[:0]
	rep := w.rep
	if r.res.FirstSeq != 0 && rep.FirstSeq == 0 {
		rep.FirstSeq = r.res.FirstSeq
	}
	if r.res.LastSeq != 0 {
		rep.LastSeq = r.res.LastSeq
	}
	// A handset that opted out between the decision and the write keeps
	// its opt-out (the Guard): counted as kept. So is a scope that came
	// under review meanwhile: it keeps what it holds for the review, and
	// running the file again imports it.
	rep.Changed -= r.res.Refused
	rep.Kept += r.res.Refused
	rep.HeldReleased += r.res.Released
	rep.HeldDropped += r.res.Dropped
	if r.res.Released+r.res.Dropped > 0 {
		w.e.FlushOutbox()
	}
	if r.err != nil {
		return fmt.Errorf("policy: importing: %w", r.err)
	}
	w.done(r.rows)
	return nil
}

func (w *importWriter) done(rows int) {
	if w.progress != nil {
		w.progress(rows)
	}
}

// stop waits for the batch in flight and returns err, or the write's
// error when err is nil.
func (w *importWriter) stop(err error) error {
	if werr := w.wait(); err == nil {
		err = werr
	}
	return err
}

// importSeen remembers the scopes an import has read, to refuse a number
// twice in one file. Per organization and sender (few in any list), the
// numbers are kept as their packed digits: a row costs a map slot of 16
// bytes, where the scope's strings would keep the row's whole line.
type importSeen map[importSeenScope]map[uint64]int

type importSeenScope struct{ org, sender string }

// add records s at line and returns the line it was first seen on, if it
// was. s.Number is E.164 (Scope checked it), so its digits pack.
func (m importSeen) add(s store.Scope, line int) (first int, dup bool) {
	k := importSeenScope{s.Org, s.Sender}
	nums := m[k]
	if nums == nil {
		nums = map[uint64]int{}
		m[importSeenScope{strings.Clone(s.Org), strings.Clone(s.Sender)}] = nums
	}
	n, _ := packDigits([]byte(strings.TrimPrefix(s.Number, "+")))
	if first, dup = nums[n]; dup {
		return first, true
	}
	nums[n] = line
	return 0, false
}

// importRow decides one row: its line for the report, and the change to
// write when it changes something.
func (e *Engine) importRow(row ImportRow, o ImportOptions, seen importSeen) (ImportLine, *store.Change) {
	l := ImportLine{Line: row.Line, Org: row.Org, Number: row.Number}
	bad := func(format string, args ...any) (ImportLine, *store.Change) {
		l.Outcome, l.Reason = ImportBad, fmt.Sprintf(format, args...)
		return l, nil
	}
	if row.Problem != "" {
		return bad("%s", row.Problem)
	}
	if row.Org == "" {
		return bad("organization is empty")
	}
	if o.Sees != nil && !o.Sees(row.Org) {
		return bad("organization %q is not one this token may change", row.Org)
	}
	s, err := e.Scope(row.Org, row.Sender, row.Number)
	if err != nil {
		return bad("%s", strings.TrimPrefix(err.Error(), "policy: "))
	}
	l.Number = s.Number
	state := store.StateOptedIn
	switch row.State {
	case "", "opted_in":
	case "opted_out":
		state = store.StateOptedOut
	default:
		return bad("state must be opted_in or opted_out (empty: opted_in), not %q", row.State)
	}
	if row.ConsentType != "" && !oneOf(ConsentType(row.ConsentType), ConsentTypes) {
		return bad("consent_type %q is not one of %s", row.ConsentType, listOf(ConsentTypes))
	}
	if row.Date != "" {
		d, err := parseImportDate(row.Date)
		if err != nil {
			return bad("date %q is not YYYY-MM-DD or an RFC 3339 time", row.Date)
		}
		if d.After(o.Cutoff) {
			return bad("date %s is after the cutoff %s: the list cannot say what happened after it is true", row.Date, o.Cutoff.Format(time.DateOnly))
		}
	}
	if first, dup := seen.add(s, row.Line); dup {
		return bad("the number is already on line %d", first)
	}

	cur, _ := e.st.Lookup(s)
	l.From, l.To = cur.State.String(), state.String()
	if cur.State == state {
		l.Outcome = ImportUnchanged
		return l, nil
	}
	a := e.accountOf(s.Org)
	ch := &store.Change{Scope: s, Type: store.EventStateImported, State: state, Mode: a.storeMode(), OccurredAt: o.Cutoff,
		Method: store.MethodImport, Actor: o.Actor, Note: importNote(row), Holds: e.importHolds(s, state)}
	if cur.State == store.StateOptedOut {
		rec, err := e.st.Consent(context.Background(), s)
		if err == nil {
			err = CheckChange(rec, ch)
		}
		if err != nil {
			l.Outcome, l.Reason = ImportKept, strings.TrimPrefix(err.Error(), "policy: ")
			if !rec.OptedOutAt.IsZero() {
				l.Reason += "; opted out " + rec.OptedOutAt.UTC().Format(time.RFC3339)
				if rec.OptedOutAt.Before(o.Cutoff) {
					l.Reason += ", before the cutoff"
				}
			}
			return l, nil
		}
	}
	ch.Guard = e.importGuard(ch)
	l.Outcome = ImportChanged
	return l, ch
}

// previewHolds counts, for a dry run, the held messages ch would settle.
func (e *Engine) previewHolds(ctx context.Context, ch *store.Change, rep *ImportReport) error {
	if ch.Holds == store.KeepHeld {
		return nil
	}
	n, err := e.st.HeldCount(ctx, ch.Scope)
	if err != nil {
		return fmt.Errorf("policy: previewing an import: %w", err)
	}
	if ch.Holds == store.ReleaseHeld {
		rep.HeldReleased += n
	} else {
		rep.HeldDropped += n
	}
	return nil
}

// importHolds is what an imported state does to the scope's held messages.
func (e *Engine) importHolds(s store.Scope, state store.State) store.HoldAction {
	switch {
	case state == store.StateOptedOut:
		return store.DropHeld
	case e.rev.has(scopeKey(s)):
		return store.KeepHeld // held for a possible opt-out: the review decides
	default:
		return store.ReleaseHeld
	}
}

// errCameUnderReview refuses an imported opt-in whose scope came under
// review between the row's decision and its write: releasing would send
// what is held for the review.
var errCameUnderReview = errors.New("policy: the number came under review during the import")

// importGuard is the check the store makes inside the write's
// transaction: the override rules (Guard), and for a release, that no
// review began since the row was decided.
func (e *Engine) importGuard(ch *store.Change) func(store.Consent) error {
	return func(cur store.Consent) error {
		if ch.Holds == store.ReleaseHeld && e.rev.has(scopeKey(ch.Scope)) {
			return errCameUnderReview
		}
		return CheckChange(cur, ch)
	}
}

func importNote(row ImportRow) string {
	var parts []string
	if row.ConsentType != "" {
		parts = append(parts, consentTypeNote+row.ConsentType)
	}
	if row.Date != "" {
		parts = append(parts, "consent date: "+row.Date)
	}
	parts = append(parts, fmt.Sprintf("import line %d", row.Line))
	return strings.Join(parts, "; ")
}

func parseImportDate(s string) (time.Time, error) {
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Parse(time.RFC3339, s)
}
