package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/optguard/optguard/store/seal"
)

// VerifyReport is the result of a successful Verify.
type VerifyReport struct {
	Events   uint64   // events checked (= the head's sequence number)
	HeadHash [32]byte // hash of the last event
	Took     time.Duration
}

// Verify walks the whole ledger in sequence order from a consistent
// snapshot and checks that sequence numbers run 1, 2, 3… without a gap,
// that each event's stored hash matches its contents and that each event
// carries the hash of the one before; finally that the chain head matches
// the last event. The first broken link is returned as a *ChainError
// naming its sequence number (errors.Is(err, ErrBrokenChain)).
func (b *Badger) Verify(ctx context.Context) (VerifyReport, error) {
	if err := b.enter(); err != nil {
		return VerifyReport{}, err
	}
	defer b.leave()
	start := time.Now()
	var rep VerifyReport
	err := b.cdb.View(func(txn *badger.Txn) error {
		head, err := headInTxn(txn)
		if err != nil {
			return err
		}
		var prev [32]byte
		next := uint64(1)
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefixEvent})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			if next%4096 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			item := it.Item()
			k := item.Key()
			if len(k) != len(prefixEvent)+8 {
				return &ChainError{Seq: next, Reason: fmt.Sprintf("malformed event key %x", k)}
			}
			seq := binary.BigEndian.Uint64(k[len(prefixEvent):])
			if seq != next {
				return &ChainError{Seq: next, Reason: fmt.Sprintf("event missing (next stored event is %d)", seq)}
			}
			var ev Event
			err := item.Value(func(v []byte) error {
				ev, _, err = decodeEvent(v)
				return err
			})
			if err != nil {
				return &ChainError{Seq: seq, Reason: err.Error()}
			}
			if ev.Seq != seq {
				return &ChainError{Seq: seq, Reason: fmt.Sprintf("event says it is number %d", ev.Seq)}
			}
			if ev.PrevHash != prev {
				return &ChainError{Seq: seq, Reason: fmt.Sprintf("does not carry the hash of event %d", seq-1)}
			}
			prev = ev.Hash
			next++
		}
		last := next - 1
		switch {
		case head.seq > last:
			return &ChainError{Seq: last + 1, Reason: fmt.Sprintf("event missing (chain head says %d events)", head.seq)}
		case head.seq < last:
			return &ChainError{Seq: head.seq + 1, Reason: fmt.Sprintf("event beyond the chain head (%d)", head.seq)}
		case head.hash != prev:
			return &ChainError{Seq: last, Reason: "hash differs from the chain head's"}
		}
		rep.Events, rep.HeadHash = last, prev
		return nil
	})
	rep.Took = time.Since(start)
	if err != nil {
		return rep, fmt.Errorf("verifying ledger: %w", err)
	}
	return rep, nil
}

// RebuildReport compares the consent records recomputed from the ledger
// with the stored ones (and the in-memory index).
type RebuildReport struct {
	Events uint64 // events folded
	Scopes int    // scopes in the ledger
	// Missing: in the ledger but without a stored record. Extra: stored
	// record for a scope the ledger never saw. Mismatched: stored record
	// differs. MemoryMismatched: in-memory index differs from the ledger.
	Missing, Extra, Mismatched, MemoryMismatched int
	// PrevStateMismatches counts events whose recorded previous state is
	// not the state the ledger says the scope was in (a ledger anomaly).
	PrevStateMismatches int
	// Diffs describes the first few differences.
	Diffs []IndexDiff
	// Rewritten is true when Rebuild replaced the stored records.
	Rewritten bool
	Took      time.Duration
}

// IndexDiff is one difference found by Rebuild or CheckIndex.
type IndexDiff struct {
	Scope Scope
	Kind  string // "missing", "extra", "mismatched", "memory"
	Want  State  // from the ledger
	Got   State  // stored (or in memory)
}

// Agrees reports whether the stored records and the in-memory index are
// exactly what the ledger says.
func (r RebuildReport) Agrees() bool {
	return r.Missing+r.Extra+r.Mismatched+r.MemoryMismatched == 0
}

const maxDiffs = 20

// CheckIndex recomputes every consent record from the ledger and compares,
// changing nothing.
func (b *Badger) CheckIndex(ctx context.Context) (RebuildReport, error) {
	return b.rebuild(ctx, false)
}

// Rebuild recomputes every consent record from the ledger, compares, and
// rewrites the stored records and the in-memory index where they differ.
// Changes wait while it runs.
func (b *Badger) Rebuild(ctx context.Context) (RebuildReport, error) {
	return b.rebuild(ctx, true)
}

// folded is the compact per-scope state Rebuild keeps for every scope.
type folded struct {
	created, updated, optedIn, optedOut int64
	lastSeq                             uint64
	state                               State
	mode                                Mode
	lastEvent                           EventType
	inMethod, outMethod                 Method
	seen                                bool
}

func (f *folded) consent(s Scope) Consent {
	t := func(n int64) time.Time {
		if n == 0 {
			return time.Time{}
		}
		return time.Unix(0, n).UTC()
	}
	return Consent{
		Scope: s, State: f.state, Mode: f.mode, CreatedAt: t(f.created), UpdatedAt: t(f.updated),
		LastSeq: f.lastSeq, LastEvent: f.lastEvent,
		OptedInAt: t(f.optedIn), OptedInMethod: f.inMethod, OptedOutAt: t(f.optedOut), OptedOutMethod: f.outMethod,
	}
}

func (b *Badger) rebuild(ctx context.Context, fix bool) (RebuildReport, error) {
	var rep RebuildReport
	if fix && b.opts.ReadOnly {
		return rep, ErrReadOnly
	}
	start := time.Now()
	err := b.runExclusive(ctx, func() error {
		want := make(map[string]*folded)
		if err := b.foldLedger(ctx, want, &rep); err != nil {
			return err
		}
		rep.Scopes = len(want)
		diff := func(d IndexDiff) {
			if len(rep.Diffs) < maxDiffs {
				rep.Diffs = append(rep.Diffs, d)
			}
		}
		var writes, deletes [][]byte // consent keys to rewrite / delete
		suppressed := 0              // erased subjects' opt-outs
		ix := b.idx.Load()
		err := b.cdb.View(func(txn *badger.Txn) error {
			it := txn.NewIterator(badger.IteratorOptions{Prefix: prefixConsent})
			defer it.Close()
			for it.Rewind(); it.Valid(); it.Next() {
				item := it.Item()
				sk := item.Key()[len(prefixConsent):]
				sp, err := parseScopeKey(sk)
				if err != nil {
					return err
				}
				s := Scope{Org: sp.org, Sender: sp.sender}
				f, ok := want[string(sk)]
				if !ok {
					erased := false
					if err := item.Value(func(v []byte) error {
						erased = isSuppression(v)
						return nil
					}); err != nil {
						return err
					}
					if erased {
						suppressed++
						continue // an erased subject's opt-out: the ledger no longer says whose
					}
					rep.Extra++
					diff(IndexDiff{Scope: s, Kind: "extra", Want: StateUnknown})
					deletes = append(deletes, bytes.Clone(sk))
					continue
				}
				f.seen = true
				c := f.consent(s)
				err = item.Value(func(v []byte) error {
					if !bytes.Equal(v, encodeConsent(&c)) {
						got, _, _, _ := decodeConsentHead(v)
						rep.Mismatched++
						diff(IndexDiff{Scope: s, Kind: "mismatched", Want: c.State, Got: got})
						writes = append(writes, bytes.Clone(sk))
					}
					return nil
				})
				if err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		inMemory := 0
		for sk, f := range want {
			sp, err := parseScopeKey([]byte(sk))
			if err != nil {
				return err
			}
			s := Scope{Org: sp.org, Sender: sp.sender}
			if !f.seen {
				rep.Missing++
				diff(IndexDiff{Scope: s, Kind: "missing", Want: f.state})
				writes = append(writes, []byte(sk))
			}
			v, ok := ix.getParts(sp)
			if ok {
				inMemory++
			}
			if c := f.consent(s); !ok || !v.same(idxValOf(&c)) {
				rep.MemoryMismatched++
				diff(IndexDiff{Scope: s, Kind: "memory", Want: f.state, Got: v.state})
			}
		}
		// Entries in memory for scopes the ledger never saw (an erased
		// subject's opt-outs are the index's and the ledger's no more).
		rep.MemoryMismatched += ix.len() - inMemory - suppressed
		if !fix || rep.Agrees() {
			return nil
		}
		if err := b.rewriteConsents(want, writes, deletes); err != nil {
			return err
		}
		nix, err := loadIndex(b.cdb, b.idx.Load().keys)
		if err != nil {
			return err
		}
		b.idx.Store(nix)
		rep.Rewritten = true
		return nil
	})
	rep.Took = time.Since(start)
	if err != nil {
		return rep, fmt.Errorf("rebuilding consent index: %w", err)
	}
	return rep, nil
}

// foldLedger replays every event into want, keyed by scope key. Events
// of erased subjects are passed over: nothing says whose scope they were.
func (b *Badger) foldLedger(ctx context.Context, want map[string]*folded, rep *RebuildReport) error {
	return b.cdb.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefixEvent})
		defer it.Close()
		var sk []byte
		pseudonyms := make(map[SubjectID]*seal.Pseudonym)
		for it.Rewind(); it.Valid(); it.Next() {
			if rep.Events%4096 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			item := it.Item()
			seq := binary.BigEndian.Uint64(item.Key()[len(prefixEvent):])
			var ev Event
			err := item.Value(func(v []byte) error {
				var err error
				ev, _, err = decodeEvent(v)
				return err
			})
			if err != nil {
				return &ChainError{Seq: seq, Reason: err.Error()}
			}
			rep.Events++
			p, ok := pseudonyms[ev.Subject]
			if !ok {
				if p, err = subjectPseudonym(txn, ev.Subject); err != nil {
					return err
				}
				pseudonyms[ev.Subject] = p
			}
			if p == nil {
				continue
			}
			sk = appendScopeKey(sk[:0], ev.Scope.Org, *p, ev.Scope.Sender)
			f := want[string(sk)]
			if f == nil {
				f = &folded{created: ev.OccurredAt.UnixNano()}
				want[string(sk)] = f
			}
			if ev.PrevState != f.state {
				rep.PrevStateMismatches++
			}
			f.state = ev.NewState
			if ev.Mode != ModeUnspecified {
				f.mode = ev.Mode
			}
			f.updated = ev.OccurredAt.UnixNano()
			f.lastSeq, f.lastEvent = ev.Seq, ev.Type
			var c Consent
			foldTransition(&c, &ev)
			if !c.OptedInAt.IsZero() {
				f.optedIn, f.inMethod = c.OptedInAt.UnixNano(), c.OptedInMethod
			}
			if !c.OptedOutAt.IsZero() {
				f.optedOut, f.outMethod = c.OptedOutAt.UnixNano(), c.OptedOutMethod
			}
		}
		return nil
	})
}

// rewriteConsents writes the ledger's version of the given records (and
// their by-number index entries) and deletes the extra ones, synced.
func (b *Badger) rewriteConsents(want map[string]*folded, writes, deletes [][]byte) error {
	if err := b.Accepting(); err != nil {
		return err
	}
	wb := b.cdb.NewWriteBatch()
	defer wb.Cancel()
	for _, sk := range writes {
		sp, err := parseScopeKey(sk)
		if err != nil {
			return err
		}
		c := want[string(sk)].consent(Scope{Org: sp.org, Sender: sp.sender})
		if err := wb.Set(consentKey(sk), encodeConsent(&c)); err != nil {
			return err
		}
		if err := wb.Set(consentNumKey(sp.p, sk), nil); err != nil {
			return err
		}
	}
	for _, sk := range deletes {
		sp, err := parseScopeKey(sk)
		if err != nil {
			return err
		}
		if err := wb.Delete(consentKey(sk)); err != nil {
			return err
		}
		if err := wb.Delete(consentNumKey(sp.p, sk)); err != nil {
			return err
		}
	}
	return wb.Flush()
}

// Stats describes the store's contents.
type Stats struct {
	FormatVersion int
	// KeyID is the fingerprint of the key file the store is written with
	// ("" for none yet), and KeyFile whether the key file this open was
	// given holds it (a read-only open may have none).
	KeyID    string
	KeyFile  bool
	Events   uint64   // ledger length (head sequence number)
	HeadHash [32]byte // hash of the last event
	Consents int      // consent records (in memory)
	// ByState counts consent records per State (index = State).
	ByState [numStates]int
	Held    int // messages in hold queues
	Outbox  int // messages released/dropped/expired, not acknowledged yet
	// IDMappings counts live optguard id → SMSC id mappings.
	IDMappings int
	// LogRecords counts live message log records; LogWritten, LogDropped
	// and LogFailed count items since Open; LogQueued is waiting now.
	LogRecords int
	LogWritten uint64
	LogDropped uint64
	LogFailed  uint64
	LogQueued  int
	// ConsentBytes and LogBytes are the sizes of the two databases on disk
	// (badger's LSM + value log estimate when in memory).
	ConsentBytes int64
	LogBytes     int64
}

// Gauges are the store's figures that cost no disk access.
type Gauges struct {
	Consents   int            // consent records (in memory)
	ByState    [numStates]int // consent records per State (index = State)
	LogWritten uint64         // message log items written since Open
	LogDropped uint64         // message log items dropped (queue full, closed, malformed, disk low)
	LogFailed  uint64         // message log items whose batch failed to write
	LogQueued  int            // message log items waiting now
	Disk       DiskSpace      // the data directory's filesystem, as last read
}

// Gauges reads the in-memory index size and the message log's counters.
func (b *Badger) Gauges() Gauges {
	ix := b.idx.Load()
	return Gauges{
		Consents:   ix.len(),
		ByState:    ix.countByState(),
		LogWritten: b.ml.written.Load(),
		LogDropped: b.ml.dropped.Load(),
		LogFailed:  b.ml.failed.Load(),
		LogQueued:  len(b.ml.ch),
		Disk:       b.DiskSpace(),
	}
}

// Stats counts what the store holds. Counting walks keys (not values) of
// the hold, id map and message log prefixes.
func (b *Badger) Stats(ctx context.Context) (Stats, error) {
	if err := b.enter(); err != nil {
		return Stats{}, err
	}
	defer b.leave()
	st := Stats{FormatVersion: formatVersion, KeyFile: b.keys != nil}
	var err error
	if st.KeyID, err = readKeyID(b.cdb); err != nil {
		return st, fmt.Errorf("stats: %w", err)
	}
	ix := b.idx.Load()
	st.ByState = ix.countByState()
	st.Consents = ix.len()
	var holdMsgs int
	err = b.cdb.View(func(txn *badger.Txn) error {
		h, err := headInTxn(txn)
		if err != nil {
			return err
		}
		st.Events, st.HeadHash = h.seq, h.hash
		if holdMsgs, err = countKeys(ctx, txn, prefixHoldMsg); err != nil {
			return err
		}
		st.Outbox, err = countKeys(ctx, txn, prefixOutbox)
		return err
	})
	if err != nil {
		return st, fmt.Errorf("stats: %w", err)
	}
	st.Held = holdMsgs - st.Outbox
	err = b.ldb.View(func(txn *badger.Txn) error {
		var err error
		if st.IDMappings, err = countKeys(ctx, txn, prefixIDOurs); err != nil {
			return err
		}
		st.LogRecords, err = countKeys(ctx, txn, prefixMsg)
		return err
	})
	if err != nil {
		return st, fmt.Errorf("stats: %w", err)
	}
	g := b.Gauges()
	st.LogWritten, st.LogDropped, st.LogFailed, st.LogQueued = g.LogWritten, g.LogDropped, g.LogFailed, g.LogQueued
	st.ConsentBytes = b.diskSize(b.cdb, consentSubdir)
	st.LogBytes = b.diskSize(b.ldb, logSubdir)
	return st, nil
}

func countKeys(ctx context.Context, txn *badger.Txn, prefix []byte) (int, error) {
	it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
	defer it.Close()
	n := 0
	for it.Rewind(); it.Valid(); it.Next() {
		if n++; n%8192 == 0 {
			if err := ctx.Err(); err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

func (b *Badger) diskSize(db *badger.DB, sub string) int64 {
	if b.opts.InMemory {
		lsm, vlog := db.Size()
		return lsm + vlog
	}
	n, _ := dirSize(filepath.Join(b.opts.Dir, sub))
	return n
}

// dirSize sums the disk space taken by the files under dir.
func dirSize(dir string) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				n += allocated(info)
			}
		}
		return nil
	})
	return n, err
}
