package store

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unsafe"

	"github.com/dgraph-io/badger/v4"
)

// State returns the scope's consent state from the in-memory index: the MT
// hot path. It never touches disk, does not allocate, and returns
// StateUnknown for scopes it has not seen (or cannot parse). The number may
// be given with or without its leading '+'.
func (b *Badger) State(s Scope) State {
	v, _ := b.idx.Load().get(s)
	return v.state
}

// StateBytes is State for the MT path when the sender (source_addr, nil
// for organization scope) and the handset (destination_addr, with or
// without '+') are still bytes in the PDU: it needs no strings, so it does
// not allocate either.
func (b *Badger) StateBytes(org string, sender, number []byte) State {
	v, _ := indexGet(b.idx.Load(), org, sender, number)
	return v.state
}

// Lookup is State with the mode and update time, and whether the scope has
// a record at all. Like State it is served from memory.
func (b *Badger) Lookup(s Scope) (Current, bool) {
	v, ok := b.idx.Load().get(s)
	if !ok {
		return Current{}, false
	}
	return v.current(), true
}

// LookupBytes is Lookup for the MT path, with the sender (nil for
// organization scope) and the handset as PDU bytes: it does not allocate.
func (b *Badger) LookupBytes(org string, sender, number []byte) (Current, bool) {
	v, ok := indexGet(b.idx.Load(), org, sender, number)
	if !ok {
		return Current{}, false
	}
	return v.current(), true
}

// OrgRef is an organization resolved for StateRef: what the MT path keeps
// so that it does not look the organization's name up on every MT. It
// stays valid until the index is rebuilt or the organization gets its first
// record; StateRef then answers through the name (and Resolved says so).
// The OrgRef of an organization without records says so too (Unrecorded),
// until a name gets its first record.
type OrgRef struct {
	ix     *index
	name   string
	sym    uint32
	handed uint64 // the index's symbols handed out before the lookup
}

// ResolveOrg returns the OrgRef of org.
func (b *Badger) ResolveOrg(org string) OrgRef {
	ix := b.idx.Load()
	handed := ix.syms.handed.Load() // before the lookup: see Unrecorded
	sym, _ := lookupSym(&ix.syms, org)
	return OrgRef{ix: ix, name: org, sym: sym, handed: handed}
}

// Resolved reports whether r still saves the name lookup.
func (b *Badger) Resolved(r OrgRef) bool { return r.sym != 0 && r.ix == b.idx.Load() }

// Unrecorded reports that the organization of r, which had no record when
// r was resolved, still has none: no name has had its first record since
// (each first record hands out a symbol). The MT path of an organization
// that has never had a record (mode off, no opt-out yet) answers from this
// without looking the name up again.
func (b *Badger) Unrecorded(r OrgRef) bool {
	ix := b.idx.Load()
	return r.sym == 0 && r.ix == ix && r.handed == ix.syms.handed.Load()
}

// StateRef is StateHandset for a resolved organization.
func (b *Badger) StateRef(r *OrgRef, h Handset) (State, bool) {
	ix := b.idx.Load()
	if r.ix != ix || r.sym == 0 {
		return b.StateHandset(r.name, h)
	}
	return ix.orgState(r.sym, h)
}

// FastTable is a handle on one organization's fast table, for a caller
// that asks about the same organization MT after MT (a bind session): the
// table stays the organization's for the index's life, so that StartFast
// reads only the index pointer, the table's header and the entry, not the
// OrgRef and the index's directory of tables. Under relay load each line
// the verdict touches is a likely miss (docs/BENCHMARKS.md). The handle of
// an organization without records (Unrecorded) has no table: its lookups
// answer "no record" while no name gets a first record. The zero FastTable
// is stale.
type FastTable struct {
	ix     *index
	f      *orgFast // nil: the organization had no record
	handed uint64   // with f nil: the index's symbols handed out then
}

// FastTable returns the handle of r's organization; ok is false when r is
// from a replaced index, the organization has had its first record since
// r was resolved, or it has records but no fast table (no organization
// scope yet, or a symbol past fastOrgs): StateRef answers then.
func (b *Badger) FastTable(r *OrgRef) (FastTable, bool) {
	ix := b.idx.Load()
	switch {
	case r.ix != ix:
		return FastTable{}, false
	case r.sym == 0:
		return FastTable{ix: ix, handed: r.handed}, r.handed == ix.syms.handed.Load()
	case r.sym >= fastOrgs:
		return FastTable{}, false
	}
	f := ix.fast[r.sym].Load()
	return FastTable{ix: ix, f: f}, f != nil
}

// StartFast begins StateRef(r, b.Handset(digits)), for the r whose handle
// t is, in two steps for the MT path: it finds the fast-table entry the
// lookup starts at, starts loading its line without waiting for it, and
// keeps what the second step needs in p; p.Finish, called a little later
// by the same goroutine, reads the entry. The relay calls the first step
// once an MT's addresses are scanned and the second after the rest of the
// scan, so that the miss overlaps the scan: under relay load the entry's
// line has left the caches between two MTs to the same handset, and the
// wait for it was most of the verdict's cost (docs/BENCHMARKS.md). The
// handset's pseudonym is made only when the organization has records to
// look it up in. It returns false, and p is not to be finished, when the
// fast table cannot answer (a table being grown) or t is stale (the index
// was rebuilt since FastTable, which gives a current one, or the
// organization without records has had one since): StateRef answers then.
// digits are the E.164 digits without '+', as for Handset.
func (b *Badger) StartFast(t FastTable, digits []byte, p *Probe) bool {
	if t.ix != b.idx.Load() {
		return false
	}
	if t.f == nil {
		return t.ix.startUnrecorded(t.handed, p)
	}
	if !t.f.start(handsetOf(t.ix.keys.PseudonymWords(digits)), p) {
		return false
	}
	prefetchLine(unsafe.Pointer(p.entry(p.i)))
	return true
}

// StateHandset is the state of an organization scope with the handset
// given as its Handset (the MT path makes it from the PDU's digits), and
// whether it has a record, so that nothing is parsed and nothing crosses
// the call but words.
func (b *Badger) StateHandset(org string, h Handset) (State, bool) {
	if h.IsZero() {
		return StateUnknown, false
	}
	v, ok := indexGetHandset(b.idx.Load(), org, 0, h)
	return v.state, ok
}

// Consent returns the scope's full consent record from disk, or ErrNotFound.
func (b *Badger) Consent(ctx context.Context, s Scope) (Consent, error) {
	if err := b.enter(); err != nil {
		return Consent{}, err
	}
	defer b.leave()
	var c Consent
	var ok bool
	err := b.cdb.View(func(txn *badger.Txn) error {
		var err error
		c, ok, err = getConsent(txn, consentKey(b.scopeKey(s)), s)
		return err
	})
	if err != nil {
		return Consent{}, fmt.Errorf("reading consent: %w", err)
	}
	if !ok {
		return Consent{}, ErrNotFound
	}
	return c, nil
}

// ConsentFilter selects consent records. Zero fields do not filter.
type ConsentFilter struct {
	Org string
	// Sender keeps only records of this sender scope.
	Sender string
	// NumberPrefix keeps numbers starting with it ("+1555"; the '+' is optional).
	NumberPrefix string
	States       []State
	Modes        []Mode
	// UpdatedFrom and UpdatedTo bound UpdatedAt: [from, to).
	UpdatedFrom time.Time
	UpdatedTo   time.Time
	// Cursor is a previous page's NextCursor.
	Cursor string
	// Limit is the page size: default 100, at most 1000.
	Limit int
}

// ConsentPage is one page of ListConsents. NextCursor is empty on the last page.
type ConsentPage struct {
	Items      []Consent
	NextCursor string
}

const (
	defaultPage = 100
	maxPage     = 1000
)

func pageLimit(n int) int {
	switch {
	case n <= 0:
		return defaultPage
	case n > maxPage:
		return maxPage
	}
	return n
}

// ListConsents pages through consent records in key order (organization,
// then the number's pseudonym, which is no order of the numbers). With an
// organization it scans that organization's records; with a whole number
// it reads that number's records through the by-pseudonym index; a shorter
// number prefix is matched against each record's number, opened from its
// subject (numbers are not in keys). An erased subject's suppression entry
// has no number: a whole number lists it (as that number's, with or
// without an organization), a shorter prefix does not.
func (b *Badger) ListConsents(ctx context.Context, f ConsentFilter) (ConsentPage, error) {
	var page ConsentPage
	np, err := numberPrefix(f.NumberPrefix)
	if err != nil {
		return page, fmt.Errorf("listing consents: %w", err)
	}
	if np != "" && b.keys == nil {
		return page, fmt.Errorf("listing consents: %w", errNoKeys)
	}
	prefix, byNumber := cat(prefixConsent), false
	switch {
	case np != "" && ValidateNumber(np) == nil:
		// A whole number reads its own records (an organization is then a
		// filter): fewer keys, and its suppression entries, which have no
		// number to match, are found as well.
		p := b.pseudonym(np)
		prefix, byNumber = cat(prefixConsNum, p[:]), true
	case f.Org != "":
		prefix = append(binary.AppendUvarint(prefix, uint64(len(f.Org))), f.Org...)
	}
	start, err := decodeCursor(f.Cursor, prefix)
	if err != nil {
		return page, fmt.Errorf("listing consents: %w", err)
	}
	if err := b.enter(); err != nil {
		return page, err
	}
	defer b.leave()
	limit := pageLimit(f.Limit)
	err = b.cdb.View(func(txn *badger.Txn) error {
		subjects := b.subjectReader(txn)
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
		defer it.Close()
		seek(it, prefix, start)
		for n := 0; it.Valid(); it.Next() {
			if n++; n%1024 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			item := it.Item()
			k := item.Key()
			sk := k[len(prefixConsent):]
			if byNumber {
				sk = k[len(prefix):]
			}
			sp, err := parseScopeKey(sk)
			if err != nil {
				return err
			}
			c, ok, err := getConsent(txn, consentKey(sk), Scope{Org: sp.org, Sender: sp.sender})
			if err != nil {
				return err
			}
			if !ok || !f.match(&c) {
				continue
			}
			switch {
			case byNumber:
				c.Scope.Number = np // the number asked about, whose records these are
			case !c.Erased:
				subj, err := subjects.byPseudonym(sp.p)
				if err != nil {
					return err
				}
				if subj != nil {
					c.Scope.Number = subj.number
				}
			}
			if np != "" && !strings.HasPrefix(c.Scope.Number, np) {
				continue
			}
			page.Items = append(page.Items, c)
			if len(page.Items) == limit {
				page.NextCursor = encodeCursor(k)
				return nil
			}
		}
		return nil
	})
	if err != nil {
		return ConsentPage{}, fmt.Errorf("listing consents: %w", err)
	}
	return page, nil
}

func numberPrefix(p string) (string, error) {
	if p == "" {
		return "", nil
	}
	if p[0] != '+' {
		p = "+" + p
	}
	if len(p) > 16 {
		return "", fmt.Errorf("%w: number prefix %q too long", ErrInvalidNumber, p)
	}
	for i := 1; i < len(p); i++ {
		if p[i] < '0' || p[i] > '9' {
			return "", fmt.Errorf("%w: number prefix %q", ErrInvalidNumber, p)
		}
	}
	return p, nil
}

func (f *ConsentFilter) match(c *Consent) bool {
	if f.Org != "" && c.Scope.Org != f.Org {
		return false
	}
	if f.Sender != "" && c.Scope.Sender != f.Sender {
		return false
	}
	if len(f.States) > 0 && !slices.Contains(f.States, c.State) {
		return false
	}
	if len(f.Modes) > 0 && !slices.Contains(f.Modes, c.Mode) {
		return false
	}
	return inRange(c.UpdatedAt, f.UpdatedFrom, f.UpdatedTo)
}

// inRange reports from <= t < to, zero bounds being open.
func inRange(t, from, to time.Time) bool {
	if !from.IsZero() && t.Before(from) {
		return false
	}
	return to.IsZero() || t.Before(to)
}

func encodeCursor(k []byte) string { return base64.RawURLEncoding.EncodeToString(k) }

// decodeCursor returns the key a cursor stands for; it must lie under prefix.
func decodeCursor(c string, prefix []byte) ([]byte, error) {
	if c == "" {
		return nil, nil
	}
	k, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || !bytes.HasPrefix(k, prefix) || len(k) == len(prefix) {
		return nil, ErrBadCursor
	}
	return k, nil
}

// seek positions it at the first key after cursor (if any), else at the
// first key at or after from (if any), else at the start.
func seek(it *badger.Iterator, from, cursor []byte) {
	if cursor == nil || bytes.Compare(cursor, from) < 0 {
		it.Seek(from)
		return
	}
	it.Seek(cursor)
	if it.Valid() && bytes.Equal(it.Item().Key(), cursor) {
		it.Next()
	}
}

// EventFilter selects ledger events. Zero fields do not filter.
type EventFilter struct {
	// FromSeq and ToSeq bound the sequence number, inclusive.
	FromSeq uint64
	ToSeq   uint64
	// From and To bound OccurredAt: [from, to).
	From   time.Time
	To     time.Time
	Org    string
	Number string
	Types  []EventType
}

// Events streams the events matching f to fn, stopping at fn's first error
// (which it returns). Events come in sequence order, except when f.From or
// f.To is set (and f.Number is not): then they come in occurred-at order.
// A filter on Number uses the by-number index; one on time uses the time
// index; otherwise the ledger is read in order. Nothing is held in memory
// beyond one event.
func (b *Badger) Events(ctx context.Context, f EventFilter, fn func(Event) error) error {
	if f.Number != "" {
		if err := ValidateNumber(f.Number); err != nil {
			return fmt.Errorf("streaming events: %w", err)
		}
	}
	if err := b.enter(); err != nil {
		return err
	}
	defer b.leave()
	match := func(ev *Event) bool {
		if f.FromSeq != 0 && ev.Seq < f.FromSeq || f.ToSeq != 0 && ev.Seq > f.ToSeq {
			return false
		}
		if f.Org != "" && ev.Scope.Org != f.Org || f.Number != "" && ev.Scope.Number != f.Number {
			return false
		}
		if len(f.Types) > 0 && !slices.Contains(f.Types, ev.Type) {
			return false
		}
		return inRange(ev.OccurredAt, f.From, f.To)
	}
	err := b.cdb.View(func(txn *badger.Txn) error {
		subjects := b.subjectReader(txn)
		var (
			prefix, start, stop []byte
			index               bool // keys end in a seq; values are empty
		)
		switch {
		case f.Number != "":
			if b.keys == nil {
				return errNoKeys
			}
			s, err := subjects.byPseudonym(b.pseudonym(f.Number))
			if err != nil || s == nil {
				return err // no subject: no events that say this number
			}
			prefix = cat(prefixEventSubj, s.id[:])
			start = appendU64(cat(prefix), f.FromSeq)
			index = true
		case !f.From.IsZero() || !f.To.IsZero():
			prefix = cat(prefixEventTime)
			if !f.From.IsZero() {
				start = appendTime(cat(prefix), f.From)
			}
			if !f.To.IsZero() {
				stop = appendTime(cat(prefix), f.To)
			}
			index = true
		default:
			prefix = cat(prefixEvent)
			start = appendU64(cat(prefix), f.FromSeq)
			if f.ToSeq != 0 && f.ToSeq < ^uint64(0) {
				stop = appendU64(cat(prefix), f.ToSeq+1)
			}
		}
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
		defer it.Close()
		if start == nil {
			start = prefix
		}
		for it.Seek(start); it.Valid(); it.Next() {
			if err := ctx.Err(); err != nil {
				return err
			}
			item := it.Item()
			k := item.Key()
			if stop != nil && bytes.Compare(k, stop) >= 0 {
				return nil
			}
			var ev Event
			var err error
			if index {
				if len(k) < len(prefix)+8 {
					return fmt.Errorf("malformed event index key")
				}
				ev, err = b.getEvent(txn, binary.BigEndian.Uint64(k[len(k)-8:]))
			} else {
				seq := binary.BigEndian.Uint64(k[len(prefix):])
				var sealed []byte
				err = item.Value(func(v []byte) error {
					ev, sealed, err = decodeEvent(v)
					if err != nil {
						return &ChainError{Seq: seq, Reason: err.Error()}
					}
					return subjects.open(&ev, sealed)
				})
			}
			if err != nil {
				return err
			}
			if !match(&ev) {
				continue
			}
			if err := fn(ev); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("streaming events: %w", err)
	}
	return nil
}

// MessageFilter selects message log records. Zero fields do not filter.
type MessageFilter struct {
	// Number selects one handset (by-number index); otherwise all numbers
	// are scanned in time order.
	Number string
	// From and To bound the record's time: [from, to).
	From   time.Time
	To     time.Time
	Cursor string
	// Limit is the page size: default 100, at most 1000.
	Limit int
}

// MessagePage is one page of Messages, oldest first. NextCursor is empty on
// the last page.
type MessagePage struct {
	Items      []Message
	NextCursor string
}

// Messages pages through the message log by number and time range, each
// record with its status history.
func (b *Badger) Messages(ctx context.Context, f MessageFilter) (MessagePage, error) {
	var page MessagePage
	var prefix []byte
	if f.Number != "" {
		if err := ValidateNumber(f.Number); err != nil {
			return page, fmt.Errorf("listing messages: %w", err)
		}
		if b.keys == nil {
			return page, fmt.Errorf("listing messages: %w", errNoKeys)
		}
		p := b.pseudonym(f.Number)
		prefix = cat(prefixMsgNum, p[:])
	} else {
		prefix = cat(prefixMsgTime)
	}
	cursor, err := decodeCursor(f.Cursor, prefix)
	if err != nil {
		return page, fmt.Errorf("listing messages: %w", err)
	}
	if err := b.enter(); err != nil {
		return page, err
	}
	defer b.leave()
	limit := pageLimit(f.Limit)
	from := prefix
	if !f.From.IsZero() {
		from = appendTime(cat(prefix), f.From)
	}
	var stop []byte
	if !f.To.IsZero() {
		stop = appendTime(cat(prefix), f.To)
	}
	err = b.views(func(txn *badger.Txn, subjects *subjectReader) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
		defer it.Close()
		seek(it, from, cursor)
		for ; it.Valid(); it.Next() {
			if err := ctx.Err(); err != nil {
				return err
			}
			k := it.Item().Key()
			if stop != nil && bytes.Compare(k, stop) >= 0 {
				return nil
			}
			if len(k) < len(prefix)+8 {
				return fmt.Errorf("malformed message index key")
			}
			m, err := getMessage(txn, subjects, string(k[len(prefix)+8:]))
			if errors.Is(err, ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			page.Items = append(page.Items, m)
			if len(page.Items) == limit {
				page.NextCursor = encodeCursor(k)
				return nil
			}
		}
		return nil
	})
	if err != nil {
		return MessagePage{}, fmt.Errorf("listing messages: %w", err)
	}
	return page, nil
}

// Message returns one message log record with its status history.
func (b *Badger) Message(ctx context.Context, id string) (Message, error) {
	if err := b.enter(); err != nil {
		return Message{}, err
	}
	defer b.leave()
	var m Message
	err := b.views(func(txn *badger.Txn, subjects *subjectReader) error {
		var err error
		m, err = getMessage(txn, subjects, id)
		return err
	})
	return m, err
}

// views runs fn in a view of the log database, with a reader of the
// subjects in a view of the consent database.
func (b *Badger) views(fn func(txn *badger.Txn, subjects *subjectReader) error) error {
	return b.cdb.View(func(ctxn *badger.Txn) error {
		subjects := b.subjectReader(ctxn)
		return b.ldb.View(func(txn *badger.Txn) error { return fn(txn, subjects) })
	})
}

// getMessage reads message record id from txn (the log database's), its
// number opened when its subject is not erased.
func getMessage(txn *badger.Txn, subjects *subjectReader, id string) (Message, error) {
	item, err := txn.Get(msgKey(id))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return Message{}, fmt.Errorf("message %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return Message{}, err
	}
	var m Message
	var subj SubjectID
	var sealed []byte
	if err := item.Value(func(v []byte) error {
		m, subj, sealed, err = decodeMsg(id, v)
		return err
	}); err != nil {
		return m, err
	}
	if len(sealed) > 0 {
		s, err := subjects.byID(subj)
		if err != nil {
			return m, err
		}
		if s != nil {
			num, err := s.key.Open(nil, sealed, msgAAD(subj, id))
			if err != nil {
				return m, fmt.Errorf("message %q: %w", id, err)
			}
			m.Number = string(num)
		}
	}
	prefix := msgStatusPrefix(id)
	it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		k := it.Item().Key()[len(prefix):]
		if len(k) != 9 {
			return m, fmt.Errorf("malformed message status key")
		}
		m.History = append(m.History, StatusChange{
			At:     timeFromKey(binary.BigEndian.Uint64(k)),
			Status: MsgStatus(k[8]),
		})
	}
	return m, nil
}
