package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/optguard/optguard/store/seal"
)

// Format 2 keeps numbers off the disk (subjects, pseudonyms, sealed
// values); format 1 had them in keys, events, held messages and message-log
// records. migrateV1 converts a format-1 data directory, one way:
//
//   - every event is written again with its own sequence number, the
//     subject of its number and its number, MO and note sealed, into a new
//     chain (the hashes change with the encoding); one more event,
//     chain_linked, ends it and records the old chain's length and head
//     hash, so that a backup of the old directory stays checkable against
//     it. The old chain is verified first: a broken one is not migrated.
//   - consent records, held messages and the message log are re-keyed by
//     pseudonym and sealed; everything else is copied as it is, TTLs kept.
//
// It writes the new databases into <dir>/migrate.tmp, marks them complete
// (migrate.tmp/READY, synced), then moves the old databases aside and the
// new ones in, and deletes the old ones. finishMigration, run by every open,
// completes a switch a crash interrupted and removes an incomplete
// migrate.tmp: a kill -9 at any moment leaves the directory in format 1 or
// format 2, never between.

const (
	migrateTmp   = "migrate.tmp"
	migrateOld   = "migrate.old"
	migrateReady = "READY"
)

// errOldFormat is load's word that the databases are in format from.
type errOldFormat struct{ from uint32 }

func (e errOldFormat) Error() string { return fmt.Sprintf("format version %d", e.from) }

// errMigrated: migrate converted the directory; open it again.
var errMigrated = errors.New("store: migrated")

// migrate converts b's directory from format from (the previous one) and
// returns errMigrated when it did; b's databases are open, and the caller
// closes them either way.
func (b *Badger) migrate(from uint32) error {
	if err := migrationAllowed(from, b.opts.Migrate); err != nil {
		return fmt.Errorf("%w: %s", err, b.opts.Dir)
	}
	switch {
	case b.opts.ReadOnly:
		return fmt.Errorf("%w: %s is in format %d; open it once for writing (optguard serve) to migrate it to format %d", ErrFormat, b.opts.Dir, from, formatVersion)
	case b.opts.InMemory:
		return fmt.Errorf("%w: an in-memory store in format %d", ErrFormat, from)
	}
	b.log.Info().Str("dir", b.opts.Dir).Uint32("from", from).Uint32("to", from+1).
		Msg("migrating the data directory: numbers leave the disk for pseudonyms and sealed values; the ledger is written again as a new chain that records the old chain's head")
	rep, err := migrations[from](b)
	if err != nil {
		os.RemoveAll(filepath.Join(b.opts.Dir, migrateTmp))
		return fmt.Errorf("store: migrating %s from format %d: %w (the directory is unchanged)", b.opts.Dir, from, err)
	}
	b.migrated = &rep
	return errMigrated
}

// switchMigrated moves the databases migrate wrote into place, once the
// old ones are closed, and says so.
func (b *Badger) switchMigrated() error {
	if _, err := finishMigration(b.opts.Dir); err != nil {
		return fmt.Errorf("store: switching %s to format %d: %w (the next open finishes it)", b.opts.Dir, formatVersion, err)
	}
	rep := b.migrated
	b.log.Info().Str("dir", b.opts.Dir).Uint64("events", rep.Events).Str("old_head", fmt.Sprintf("%x", rep.OldHead)).
		Uint64("link_event", rep.NewHeadEvent).Int("subjects", rep.Subjects).Int("consents", rep.Consents).
		Int("held", rep.Held).Int("messages", rep.Messages).Dur("took", rep.Took).
		Msg("migrated the data directory to format 2; keep a backup taken before it to check the old chain against the link event")
	return nil
}

// migrations converts a directory of format k to format k+1; OpenBadger
// opens the result again, so a directory several formats behind goes step
// by step.
var migrations = map[uint32]func(*Badger) (MigrationReport, error){
	1: (*Badger).migrateV1,
}

// migrationAllowed says whether a directory in format from may be
// converted to this build's: the previous format always (a routine
// upgrade, done at start with a log line); an older one only when asked
// for (Options.Migrate, serve -migrate), since that is a conversion over
// several releases the operator should have backed up for; and only along
// migrations this build has.
func migrationAllowed(from uint32, asked bool) error {
	return checkMigration(migrations, formatVersion, from, asked)
}

// checkMigration is migrationAllowed for the migrations ms of a build of
// format to.
func checkMigration[F any](ms map[uint32]F, to, from uint32, asked bool) error {
	for f := from; f < to; f++ {
		if _, ok := ms[f]; !ok {
			return fmt.Errorf("%w: format version %d, and this build (format %d) has no migration from format %d; convert it with an older build first", ErrFormat, from, to, f)
		}
	}
	if to-from > 1 && !asked {
		return fmt.Errorf("%w: format version %d is %d formats behind this build's (%d); back the directory up and start with -migrate to convert it step by step", ErrFormat, from, to-from, to)
	}
	return nil
}

// finishMigration completes or abandons a migration that a crash
// interrupted in dir.
func finishMigration(dir string) (finished bool, err error) {
	tmp := filepath.Join(dir, migrateTmp)
	if _, err := os.Stat(tmp); errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if !fileExists(filepath.Join(tmp, migrateReady)) {
		// Interrupted while writing: the old databases are untouched.
		return false, os.RemoveAll(tmp)
	}
	old := filepath.Join(dir, migrateOld)
	if err := os.MkdirAll(old, 0o700); err != nil {
		return false, err
	}
	for _, sub := range []string{consentSubdir, logSubdir} {
		src := filepath.Join(tmp, sub)
		if _, err := os.Stat(src); errors.Is(err, os.ErrNotExist) {
			continue // moved in before the crash
		}
		cur := filepath.Join(dir, sub)
		if _, err := os.Stat(cur); err == nil {
			if err := os.Rename(cur, filepath.Join(old, sub)); err != nil {
				return false, err
			}
		}
		if err := os.Rename(src, cur); err != nil {
			return false, err
		}
	}
	if err := syncPath(dir); err != nil {
		return false, err
	}
	if err := os.RemoveAll(old); err != nil {
		return false, err
	}
	return true, os.RemoveAll(tmp)
}

// migrateV1 converts the format-1 databases old (consent) and oldLog,
// opened by b, into format 2 in b's directory; the caller closes them and
// opens the directory again. It returns what it converted.
func (b *Badger) migrateV1() (MigrationReport, error) {
	var rep MigrationReport
	start := time.Now()
	tmp := filepath.Join(b.opts.Dir, migrateTmp)
	if err := os.RemoveAll(tmp); err != nil {
		return rep, err
	}
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		return rep, err
	}
	nb := &Badger{opts: b.opts, log: b.log, keys: b.keys}
	nb.opts.Dir = tmp
	ncdb, err := badger.Open(nb.badgerOptions(consentSubdir, true, b.opts.MemTableSize, b.opts.BlockCacheSize))
	if err != nil {
		return rep, openError(consentSubdir, err)
	}
	defer ncdb.Close()
	nldb, err := badger.Open(nb.badgerOptions(logSubdir, false, b.opts.MemTableSize/2, b.opts.BlockCacheSize/2))
	if err != nil {
		return rep, openError(logSubdir, err)
	}
	defer nldb.Close()
	m := &migration{b: b, subjects: make(map[string]*migrated), keys: make(map[SubjectID]seal.SubjectKey),
		cw: ncdb.NewWriteBatch(), lw: nldb.NewWriteBatch()}
	defer m.cw.Cancel()
	defer m.lw.Cancel()
	if err := b.cdb.View(m.consent); err != nil {
		return rep, fmt.Errorf("migrating the consent database: %w", err)
	}
	if err := b.ldb.View(m.messageLog); err != nil {
		return rep, fmt.Errorf("migrating the message log: %w", err)
	}
	if err := m.writeSubjects(); err != nil {
		return rep, err
	}
	version := binary.BigEndian.AppendUint32(nil, formatVersion)
	if err := m.cw.Set(keyFormat, version); err != nil {
		return rep, err
	}
	if err := m.lw.Set(keyFormat, version); err != nil {
		return rep, err
	}
	if err := m.cw.Flush(); err != nil {
		return rep, err
	}
	if err := m.lw.Flush(); err != nil {
		return rep, err
	}
	if err := ncdb.Close(); err != nil {
		return rep, err
	}
	if err := nldb.Close(); err != nil {
		return rep, err
	}
	for _, p := range []string{filepath.Join(tmp, consentSubdir), filepath.Join(tmp, logSubdir), tmp} {
		if err := syncPath(p); err != nil {
			return rep, err
		}
	}
	if err := writeSynced(filepath.Join(tmp, migrateReady), []byte("optguard format 2\n")); err != nil {
		return rep, err
	}
	rep = m.rep
	rep.Took = time.Since(start)
	return rep, nil
}

// MigrationReport says what a format migration converted.
type MigrationReport struct {
	From, To     uint32
	Events       uint64   // events of the old chain, written again
	OldHead      [32]byte // the old chain's head hash, kept in the link event
	Subjects     int      // subjects made, one per number
	Consents     int
	Held         int
	Messages     int
	Took         time.Duration
	NewHeadHash  [32]byte
	NewHeadEvent uint64
}

// migration is one run of migrateV1.
type migration struct {
	b        *Badger
	subjects map[string]*migrated // by number
	keys     map[SubjectID]seal.SubjectKey
	cw, lw   *badger.WriteBatch
	head     chainHead // of the new chain
	rep      MigrationReport
}

// migrated is a subject the migration made. It keeps its key wrapped (61
// bytes; an opened AES-GCM key is some 600): a store of a million handsets
// would otherwise hold gigabytes of keys while it migrates.
type migrated struct {
	id      SubjectID
	wrapped []byte
	p       seal.Pseudonym
	created time.Time
}

func (m *migration) subject(number string, at time.Time) *migrated {
	if s, ok := m.subjects[number]; ok {
		return s
	}
	id, key, wrapped := m.b.keys.NewSubject()
	s := &migrated{id: id, wrapped: wrapped, p: m.b.pseudonym(number), created: at}
	m.subjects[number] = s
	m.keep(id, key)
	return s
}

// migrationKeys is how many opened subject keys a migration keeps.
const migrationKeys = 4096

func (m *migration) keep(id SubjectID, k seal.SubjectKey) {
	if len(m.keys) >= migrationKeys {
		clear(m.keys)
	}
	m.keys[id] = k
}

// key returns the opened key of s, unwrapping it again when it is not
// among the last ones used.
func (m *migration) key(s *migrated) (seal.SubjectKey, error) {
	if k, ok := m.keys[s.id]; ok {
		return k, nil
	}
	k, err := m.b.keys.Unwrap(s.id, s.wrapped)
	if err == nil {
		m.keep(s.id, k)
	}
	return k, err
}

// scopeKey turns a format-1 scope key into the format-2 one.
func (m *migration) scopeKey(sk1 []byte, at time.Time) ([]byte, error) {
	s, err := parseScopeKeyV1(sk1)
	if err != nil {
		return nil, err
	}
	if err := ValidateNumber(s.Number); err != nil {
		return nil, err
	}
	return scopeKey(s.Org, m.subject(s.Number, at).p, s.Sender), nil
}

// consent converts the consent database: the events first (in sequence
// order, verifying the old chain as it goes), then every other key.
func (m *migration) consent(txn *badger.Txn) error {
	oldHead, err := headInTxn(txn)
	if err != nil {
		return err
	}
	if err := m.events(txn, oldHead); err != nil {
		return err
	}
	it := txn.NewIterator(badger.IteratorOptions{})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		item := it.Item()
		k := item.KeyCopy(nil) // the write batch keeps it
		v, err := item.ValueCopy(nil)
		if err != nil {
			return err
		}
		if err := m.consentKey(k, v); err != nil {
			return fmt.Errorf("key %q: %w", k, err)
		}
	}
	return nil
}

func (m *migration) consentKey(k, v []byte) error {
	has := func(p []byte) bool { return len(k) >= len(p) && string(k[:len(p)]) == string(p) }
	switch {
	case string(k) == string(keyFormat), string(k) == string(keyHead), has(prefixEvent),
		has(prefixEventSubj), has(prefixConsNum):
		return nil // written anew (events, head, by-handset indexes)
	case has(prefixConsent):
		sk, err := m.scopeKey(k[len(prefixConsent):], time.Time{})
		if err != nil {
			return err
		}
		sp, _ := parseScopeKey(sk)
		m.rep.Consents++
		if err := m.cw.Set(consentKey(sk), v); err != nil {
			return err
		}
		return m.cw.Set(consentNumKey(sp.p, sk), nil)
	case has(prefixHoldMsg):
		h, seq, err := decodeHeldV1(v)
		if err != nil {
			return err
		}
		s := m.subject(h.Scope.Number, h.HeldAt)
		key, err := m.key(s)
		if err != nil {
			return err
		}
		m.rep.Held++
		return m.cw.Set(k, encodeHeld(&h, s.id, sealHeld(key, s.id, &h), seq))
	case has(prefixHoldQueue):
		rest := k[len(prefixHoldQueue):]
		n, w := binary.Uvarint(rest)
		if w <= 0 || uint64(len(rest)-w) < n+8 {
			return fmt.Errorf("malformed hold queue key")
		}
		sk, err := m.scopeKey(rest[w:w+int(n)], time.Time{})
		if err != nil {
			return err
		}
		return m.cw.Set(append(holdQueuePrefix(sk), rest[w+int(n):]...), v)
	case has(prefixHoldCount):
		sk, err := m.scopeKey(k[len(prefixHoldCount):], time.Time{})
		if err != nil {
			return err
		}
		return m.cw.Set(holdCountKey(sk), v)
	}
	// The event time index, the expiry index, the outbox, the key id,
	// what the policy learned: nothing in them names a number.
	return m.cw.Set(k, v)
}

// events writes the old chain again and ends it with the link event.
func (m *migration) events(txn *badger.Txn, oldHead chainHead) error {
	it := txn.NewIterator(badger.IteratorOptions{Prefix: prefixEvent})
	defer it.Close()
	var prev [32]byte
	next := uint64(1)
	for it.Rewind(); it.Valid(); it.Next() {
		item := it.Item()
		seq := binary.BigEndian.Uint64(item.Key()[len(prefixEvent):])
		var ev Event
		err := item.Value(func(v []byte) error {
			var err error
			ev, err = decodeEventV1(v)
			return err
		})
		switch {
		case err != nil:
			return &ChainError{Seq: seq, Reason: err.Error()}
		case seq != next || ev.Seq != seq:
			return &ChainError{Seq: next, Reason: fmt.Sprintf("event missing (next stored event is %d)", seq)}
		case ev.PrevHash != prev:
			return &ChainError{Seq: seq, Reason: fmt.Sprintf("does not carry the hash of event %d", seq-1)}
		}
		prev = ev.Hash
		next++
		s := m.subject(ev.Scope.Number, ev.OccurredAt)
		key, err := m.key(s)
		if err != nil {
			return err
		}
		ev.Subject = s.id
		if err := m.append(&ev, sealEvent(key, &ev)); err != nil {
			return err
		}
		if err := m.cw.Set(eventSubjectKey(s.id, ev.Seq), nil); err != nil {
			return err
		}
	}
	if oldHead.seq != next-1 || oldHead.hash != prev {
		return &ChainError{Seq: next - 1, Reason: "the chain head does not match the last event"}
	}
	m.rep.From, m.rep.To = 1, formatVersion
	m.rep.Events, m.rep.OldHead = oldHead.seq, oldHead.hash
	now := normTime(m.b.clock())
	link := Event{
		Type:       EventChainLinked,
		Method:     MethodSystem,
		Actor:      "system",
		OccurredAt: now,
		RecordedAt: now,
		Note: fmt.Sprintf("continues the format 1 chain of %d events whose head hash is %x (migrated to format %d)",
			oldHead.seq, oldHead.hash, formatVersion),
	}
	if err := m.append(&link, nil); err != nil {
		return err
	}
	m.rep.NewHeadEvent, m.rep.NewHeadHash = m.head.seq, m.head.hash
	return m.cw.Set(keyHead, m.head.encode())
}

// append writes ev as the next event of the new chain, keeping its
// sequence number when it has one.
func (m *migration) append(ev *Event, sealed []byte) error {
	if ev.Seq == 0 {
		ev.Seq = m.head.seq + 1
	}
	ev.PrevHash = m.head.hash
	val := encodeEvent(ev, sealed)
	m.head = chainHead{seq: ev.Seq, hash: ev.Hash}
	if err := m.cw.Set(eventKey(ev.Seq), val); err != nil {
		return err
	}
	return m.cw.Set(eventTimeKey(ev.OccurredAt, ev.Seq), nil)
}

// messageLog converts the message log, keeping every entry's expiry.
func (m *migration) messageLog(txn *badger.Txn) error {
	it := txn.NewIterator(badger.IteratorOptions{})
	defer it.Close()
	has := func(k, p []byte) bool { return len(k) >= len(p) && string(k[:len(p)]) == string(p) }
	for it.Rewind(); it.Valid(); it.Next() {
		item := it.Item()
		k := item.KeyCopy(nil)
		v, err := item.ValueCopy(nil)
		if err != nil {
			return err
		}
		switch {
		case string(k) == string(keyFormat):
			continue
		case has(k, prefixMsg):
			id := string(k[len(prefixMsg):])
			rec, err := decodeMsgV1(id, v)
			if err != nil {
				return err
			}
			var subj SubjectID
			var sealed []byte
			if ValidateNumber(rec.Number) == nil {
				s := m.subject(rec.Number, rec.At)
				key, err := m.key(s)
				if err != nil {
					return err
				}
				subj, sealed = s.id, key.Seal(nil, []byte(rec.Number), msgAAD(s.id, id))
			}
			m.rep.Messages++
			v = encodeMsg(&Record{Org: rec.Org, Sender: rec.Sender, At: rec.At}, subj, sealed)
		case has(k, prefixMsgNum):
			rest := k[len(prefixMsgNum):]
			i := indexByte(rest, 0)
			if i < 0 || ValidateNumber(string(rest[:i])) != nil {
				continue // a record without a number of its own
			}
			s := m.subject(string(rest[:i]), time.Time{})
			k = cat(prefixMsgNum, s.p[:], rest[i+1:])
		}
		e := badger.NewEntry(k, v)
		e.ExpiresAt = item.ExpiresAt()
		if err := m.lw.SetEntry(e); err != nil {
			return err
		}
	}
	return nil
}

// writeSubjects writes the subject records of every number the migration
// met.
func (m *migration) writeSubjects() error {
	for number, s := range m.subjects {
		key, err := m.key(s)
		if err != nil {
			return err
		}
		sealed := key.Seal(nil, []byte(number), aad("number", s.id, ""))
		if err := m.cw.Set(subjectKey(s.p), s.id[:]); err != nil {
			return err
		}
		if err := m.cw.Set(subjectRecKey(s.id), encodeSubject(s.wrapped, s.p, sealed, s.created)); err != nil {
			return err
		}
	}
	m.rep.Subjects = len(m.subjects)
	return nil
}

// writeSynced writes a small file and syncs it and its directory.
func writeSynced(path string, content []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(content); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return syncPath(filepath.Dir(path))
}

// syncPath fsyncs a directory (or file), so that the names in it are on disk.
func syncPath(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
