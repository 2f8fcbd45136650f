package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
	"github.com/rs/zerolog"

	"github.com/optguard/optguard/store/seal"
)

// formatVersion is written under meta/format in both databases. Bump it
// (and teach OpenBadger to migrate from the old value) whenever a key
// layout or value encoding changes incompatibly.
const formatVersion = 2

// Sub-directories of Options.Dir.
const (
	consentSubdir = "consent"
	logSubdir     = "log"
)

// OpenFiles is how many files the store in data directory dir holds open
// once opened: badger keeps every table, value log, memtable log and
// manifest of its two databases open for as long as the store is, so the
// count grows with the data (about 330 for a million consent records, whose
// tables are 2 MiB each; see badgerOptions). 0 for an empty dir or one
// without a store.
func OpenFiles(dir string) int {
	if dir == "" {
		return 0
	}
	n := 0
	for _, sub := range []string{consentSubdir, logSubdir} {
		entries, err := os.ReadDir(filepath.Join(dir, sub))
		if err != nil {
			continue
		}
		for _, e := range entries {
			if e.Type().IsRegular() {
				n++
			}
		}
	}
	return n
}

// Badger is the badger-backed Store, the default (single-machine) backend.
// It is safe for concurrent use.
type Badger struct {
	opts  Options
	clock func() time.Time
	log   zerolog.Logger

	cdb *badger.DB // consent, ledger, holds: SyncWrites on
	ldb *badger.DB // message log, id map: SyncWrites off, TTL

	idx atomic.Pointer[index]
	ids atomic.Pointer[idMirror]

	subjects *subjectCache    // opened subjects, for the committer (subject.go)
	records  *recordCache     // consent records the committer wrote last (recordcache.go)
	migrated *MigrationReport // set by migrate, for the switch that follows
	purgeMu  sync.Mutex       // one purge at a time (erase.go)

	// keys is the installation's key file (keyfile.go); nil only in a
	// read-only store opened without it.
	keys *seal.Keys

	// commitCh carries consent changes and exclusive tasks to the
	// committer goroutine, the only writer of the ledger and the index.
	commitCh chan *commitReq
	// head is the chain head. Owned by the committer goroutine (and by
	// OpenBadger before that goroutine starts).
	head chainHead

	ml *msgLog

	disk *diskGuard

	// closeMu is held shared by every operation that uses the databases and
	// exclusively by Close, so that Close waits for them.
	closeMu sync.RWMutex
	closed  bool // guarded by closeMu

	closing   chan struct{} // closed when the background goroutines must stop
	wg        sync.WaitGroup
	closeOnce sync.Once
	closeErr  error
}

var _ Store = (*Badger)(nil)

type chainHead struct {
	seq  uint64
	hash [32]byte
}

// OpenBadger opens (creating if needed) the store in opts.Dir, or in memory.
func OpenBadger(opts Options) (*Badger, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	b := &Badger{
		opts:     opts,
		clock:    opts.Clock,
		log:      opts.Logger.With().Str("component", "store").Logger(),
		commitCh: make(chan *commitReq),
		closing:  make(chan struct{}),
		subjects: newSubjectCache(subjectCacheMax),
		records:  newRecordCache(),
	}
	b.disk = newDiskGuard(opts, b.log)
	if b.disk.on {
		if err := b.checkOpen(); err != nil {
			return nil, err
		}
	}
	if opts.ReadOnly {
		if err := checkClean(opts.Dir); err != nil {
			return nil, err
		}
	} else if !opts.InMemory {
		done, err := finishMigration(opts.Dir)
		if err != nil {
			return nil, fmt.Errorf("store: finishing the format migration in %s: %w", opts.Dir, err)
		}
		if done {
			b.log.Info().Str("dir", opts.Dir).Int("format", formatVersion).Msg("finished the format migration that a stop interrupted")
		}
	}
	if !opts.InMemory && !opts.ReadOnly {
		if err := removeEmptyWALs(opts.Dir); err != nil {
			return nil, err
		}
	}
	var err error
	b.cdb, err = badger.Open(b.badgerOptions(consentSubdir, true, opts.MemTableSize, opts.BlockCacheSize))
	if err != nil {
		return nil, openError(consentSubdir, err)
	}
	b.ldb, err = badger.Open(b.badgerOptions(logSubdir, false, opts.MemTableSize/2, opts.BlockCacheSize/2))
	if err != nil {
		b.cdb.Close()
		return nil, openError(logSubdir, err)
	}
	if err := b.load(); err != nil {
		var old errOldFormat
		if errors.As(err, &old) {
			err = b.migrate(old.from)
		}
		b.ldb.Close()
		b.cdb.Close()
		if errors.Is(err, errMigrated) {
			if err := b.switchMigrated(); err != nil {
				return nil, err
			}
			return OpenBadger(opts)
		}
		return nil, err
	}
	b.ml = newMsgLog(b)
	b.wg.Add(3)
	go b.commitLoop()
	go b.gcLoop()
	go b.ml.run()
	if b.disk.on {
		// The first reading before anything is written, then the monitor.
		b.disk.need.Store(b.badgerNeed())
		b.disk.read()
		b.wg.Add(1)
		go b.diskLoop()
	}
	return b, nil
}

// checkClean fails with ErrNeedsRecovery when a database in dir has
// write-ahead logs (.mem) left: a clean close writes them out and deletes
// them, and badger cannot open them read-only (its failed open would also
// leave goroutines behind).
func checkClean(dir string) error {
	for _, sub := range []string{consentSubdir, logSubdir} {
		ents, err := os.ReadDir(filepath.Join(dir, sub))
		if err != nil {
			continue // badger says what is wrong with the directory
		}
		for _, e := range ents {
			if strings.HasSuffix(e.Name(), ".mem") {
				return fmt.Errorf("%w (%s database)", ErrNeedsRecovery, sub)
			}
		}
	}
	return nil
}

// removeEmptyWALs deletes the empty write-ahead logs and value logs (.mem
// and .vlog files of 0 bytes) of dir's databases. badger creates such a
// file, then sizes it and writes its header: a process killed between the
// two (a kill -9 while badger opens or rotates a file) leaves an empty file
// that holds nothing, and that badger's next open takes for a file it must
// create and fails on ("... Create a new file"), so the store would not
// open again. No value pointer can point into a file that was never
// written.
func removeEmptyWALs(dir string) error {
	for _, sub := range []string{consentSubdir, logSubdir} {
		ents, err := os.ReadDir(filepath.Join(dir, sub))
		if err != nil {
			continue // badger says what is wrong with the directory
		}
		for _, e := range ents {
			if !strings.HasSuffix(e.Name(), ".mem") && !strings.HasSuffix(e.Name(), ".vlog") {
				continue
			}
			if info, err := e.Info(); err == nil && info.Size() == 0 {
				if err := os.Remove(filepath.Join(dir, sub, e.Name())); err != nil {
					return fmt.Errorf("store: removing the empty log file %s: %w", e.Name(), err)
				}
			}
		}
	}
	return nil
}

// openError names the database badger could not open, and turns badger's
// "truncate needed" of a read-only open into ErrNeedsRecovery (badger
// formats the error it wraps, so it is matched by its text).
func openError(sub string, err error) error {
	if strings.Contains(err.Error(), badger.ErrTruncateNeeded.Error()) {
		return fmt.Errorf("%w (%s database)", ErrNeedsRecovery, sub)
	}
	return fmt.Errorf("store: opening %s database: %w", sub, err)
}

// load checks the format versions and reads the chain head and the index.
// A store of the previous format fails with errOldFormat (after its keys
// are loaded), for OpenBadger to migrate.
func (b *Badger) load() error {
	var old error
	for _, db := range []struct {
		name string
		db   *badger.DB
	}{{consentSubdir, b.cdb}, {logSubdir, b.ldb}} {
		check := checkFormat
		if b.opts.ReadOnly {
			check = readFormat
		}
		err := check(db.db)
		var of errOldFormat
		if errors.As(err, &of) {
			old = of
			continue
		}
		if err != nil {
			return fmt.Errorf("store: %s database: %w", db.name, err)
		}
	}
	if err := b.openKeys(); err != nil {
		return err
	}
	if old != nil {
		return old
	}
	head, err := readHead(b.cdb)
	if err != nil {
		return err
	}
	b.head = head
	keys := b.keys
	if keys == nil {
		// A read-only store opened without its key file: its index is
		// keyed by pseudonyms of its own, which no number asked about
		// can match (there is no key to make them).
		keys = seal.Generate()
	}
	ix, err := loadIndex(b.cdb, keys)
	if err != nil {
		return err
	}
	b.idx.Store(ix)
	im, err := loadIDMirror(b.ldb)
	if err != nil {
		return err
	}
	b.ids.Store(im)
	return nil
}

func (b *Badger) badgerOptions(sub string, sync bool, memTable, blockCache int64) badger.Options {
	o := b.opts
	var bo badger.Options
	if o.InMemory {
		bo = badger.DefaultOptions("").WithInMemory(true)
	} else {
		bo = badger.DefaultOptions(filepath.Join(o.Dir, sub))
	}
	// The consent database's values are sealed (ciphertext) and its keys
	// start with pseudonyms (keyed hashes): block compression saves it
	// about a fifth of its disk, and costs the import of a million rows
	// some 550 MiB of heap (badger builds and compresses its tables in Go
	// memory and keeps eight builders pooled) and the CPU of compressing
	// every table written and decompressing every block read. Tables
	// already written compressed stay readable: badger's manifest records
	// each table's compression.
	if o.uncompressed || sub == consentSubdir {
		bo = bo.WithCompression(options.None)
	}
	bo = bo.
		WithReadOnly(o.ReadOnly).
		WithSyncWrites(sync).
		WithLogger(badgerLogger{l: o.Logger.With().Str("component", "badger").Str("db", sub).Logger()}).
		WithMetricsEnabled(false).
		WithMemTableSize(memTable).
		WithNumMemtables(numMemtables).
		WithNumLevelZeroTables(numL0Tables).
		WithBaseLevelSize(baseLevelBytes).
		WithBlockCacheSize(blockCache).
		WithIndexCacheSize(o.IndexCacheSize).
		WithValueLogFileSize(o.ValueLogFileSize).
		WithValueThreshold(1 << 10).
		WithNumCompactors(2).
		WithNumGoroutines(2)
	// The consent database's tables are BaseTableSize (2 MiB) on every
	// level. Badger's default doubles the size per level, so a
	// million-row store's deepest level has 8 MiB tables, and a compaction
	// builds up to eight of them at once per compactor, each in an
	// allocation twice its size: 260 MB of heap in an import of a million
	// rows, 80 MB with one size, and under a Go memory limit the import
	// runs in 52-76 s instead of 85-91 s (docs/BENCHMARKS.md). Lookups are
	// unaffected (one table per level is read either way); the database
	// just has more files, each held open (OpenFiles, counted by serve's
	// open-file check). The message log keeps the default: it can grow far
	// larger than the consent database, and its file count with it.
	if sub == consentSubdir {
		bo.TableSizeMultiplier = 1
	}
	return bo
}

// checkFormat writes the format version into an empty database and
// refuses one written by an unknown version.
func checkFormat(db *badger.DB) error {
	return db.Update(func(txn *badger.Txn) error {
		item, err := txn.Get(keyFormat)
		if errors.Is(err, badger.ErrKeyNotFound) {
			if !isEmpty(txn) {
				return fmt.Errorf("%w: data without a format version (not an optguard store?)", ErrFormat)
			}
			return txn.Set(keyFormat, binary.BigEndian.AppendUint32(nil, formatVersion))
		}
		if err != nil {
			return err
		}
		return item.Value(checkVersion)
	})
}

func checkVersion(v []byte) error {
	if len(v) != 4 {
		return fmt.Errorf("%w: malformed format version", ErrFormat)
	}
	switch got := binary.BigEndian.Uint32(v); {
	case got == formatVersion:
		return nil
	case got < formatVersion:
		return errOldFormat{from: got} // OpenBadger migrates it
	default:
		return fmt.Errorf("%w: format version %d is newer than this build's (%d): open it with the build that wrote it", ErrFormat, got, formatVersion)
	}
}

// readFormat is checkFormat for a read-only open: an empty database is
// taken as it is, since nothing will be written to it.
func readFormat(db *badger.DB) error {
	return db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(keyFormat)
		if errors.Is(err, badger.ErrKeyNotFound) {
			if !isEmpty(txn) {
				return fmt.Errorf("%w: data without a format version (not an optguard store?)", ErrFormat)
			}
			return nil
		}
		if err != nil {
			return err
		}
		return item.Value(checkVersion)
	})
}

func isEmpty(txn *badger.Txn) bool {
	it := txn.NewIterator(badger.IteratorOptions{})
	defer it.Close()
	it.Rewind()
	return !it.Valid()
}

func readHead(db *badger.DB) (chainHead, error) {
	var h chainHead
	err := db.View(func(txn *badger.Txn) error {
		var err error
		h, err = headInTxn(txn)
		return err
	})
	return h, err
}

func headInTxn(txn *badger.Txn) (chainHead, error) {
	var h chainHead
	item, err := txn.Get(keyHead)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return h, nil
	}
	if err != nil {
		return h, fmt.Errorf("store: reading chain head: %w", err)
	}
	err = item.Value(func(v []byte) error {
		if len(v) != 40 {
			return fmt.Errorf("store: malformed chain head (%d bytes)", len(v))
		}
		h.seq = binary.BigEndian.Uint64(v)
		copy(h.hash[:], v[8:])
		return nil
	})
	return h, err
}

func (h chainHead) encode() []byte {
	return append(binary.BigEndian.AppendUint64(make([]byte, 0, 40), h.seq), h.hash[:]...)
}

// loadIndex reads every consent record into a fresh in-memory index. It
// is a two-stage pipeline, so that reading badger and filling the maps
// (about half the time each for 1 M records) use both cores.
func loadIndex(db *badger.DB, keys *seal.Keys) (*index, error) {
	ix := newIndex(keys, countHint(db, prefixConsent))
	const batchLen = 4096
	batches := make(chan []loadEntry, 4)
	free := make(chan []loadEntry, 5)
	for i := 0; i < cap(free); i++ {
		free <- make([]loadEntry, 0, batchLen)
	}
	inserted := make(chan struct{})
	go func() {
		defer close(inserted)
		for b := range batches {
			ix.insertLoaded(b)
			free <- b[:0]
		}
	}()
	err := db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefixConsent})
		defer it.Close()
		batch := <-free
		for it.Rewind(); it.Valid(); it.Next() {
			item := it.Item()
			k, err := ix.loadKey(item.Key()[len(prefixConsent):])
			if err != nil {
				return fmt.Errorf("store: loading index: %w", err)
			}
			err = item.Value(func(v []byte) error {
				st, m, upd, err := decodeConsentHead(v)
				batch = append(batch, loadEntry{k: k, v: idxVal{updated: upd, state: st, mode: m}})
				return err
			})
			if err != nil {
				return fmt.Errorf("store: loading index: %w", err)
			}
			if len(batch) == batchLen {
				batches <- batch
				batch = <-free
			}
		}
		batches <- batch
		return nil
	})
	close(batches)
	<-inserted
	return ix, err
}

// countHint estimates the keys under prefix from badger's table metadata
// (tables lying wholly under it; the memtables are not counted).
func countHint(db *badger.DB, prefix []byte) int {
	n := 0
	for _, t := range db.Tables() {
		if bytes.HasPrefix(t.Left, prefix) && bytes.HasPrefix(t.Right, prefix) {
			n += int(t.KeyCount)
		}
	}
	return n
}

// enter marks the start of an operation on the databases; it fails once
// Close has begun. Every enter is paired with leave. Never nest them: a
// pending Close would deadlock the inner one.
func (b *Badger) enter() error {
	b.closeMu.RLock()
	if b.closed {
		b.closeMu.RUnlock()
		return ErrClosed
	}
	return nil
}

func (b *Badger) leave() { b.closeMu.RUnlock() }

// Close waits for running operations, stops the committer, the value-log GC
// and the message-log writer (which first writes what is queued, unless the
// disk is low), and closes both databases. It is idempotent. When the
// filesystem has no room to write the memtables out, it leaves the
// databases open as a crash would (nothing committed is lost: the next
// open replays the write-ahead logs) and returns a *DiskFullError; the
// process should then exit.
func (b *Badger) Close() error {
	b.closeOnce.Do(func() {
		b.ml.stopAccepting()
		b.closeMu.Lock()
		b.closed = true
		b.closeMu.Unlock()
		close(b.closing)
		b.wg.Wait()
		if err := b.closeRoom(); err != nil {
			// badger would write the memtables out into pages the
			// filesystem cannot give, and fault.
			b.closeErr = err
			return
		}
		b.closeErr = errors.Join(b.ldb.Close(), b.cdb.Close())
		if b.closeErr != nil {
			b.closeErr = fmt.Errorf("store: closing: %w", b.closeErr)
		}
	})
	return b.closeErr
}

// gcLoop runs value-log GC on both databases every GCInterval.
func (b *Badger) gcLoop() {
	defer b.wg.Done()
	if b.opts.GCInterval < 0 || b.opts.InMemory || b.opts.ReadOnly {
		<-b.closing
		return
	}
	t := time.NewTicker(b.opts.GCInterval)
	defer t.Stop()
	for {
		select {
		case <-b.closing:
			return
		case <-t.C:
			if b.bestEffort() == nil {
				b.runGC() // a rewrite needs room for a new value-log file
			}
		}
	}
}

func (b *Badger) runGC() {
	for _, db := range []*badger.DB{b.cdb, b.ldb} {
		for i := 0; i < 16; i++ { // bounded: each round rewrites at most one file
			select {
			case <-b.closing:
				return
			default:
			}
			err := db.RunValueLogGC(0.5)
			if err != nil {
				if !errors.Is(err, badger.ErrNoRewrite) && !errors.Is(err, badger.ErrRejected) {
					b.log.Warn().Err(err).Msg("value log GC")
				}
				break
			}
		}
	}
}

// badgerLogger sends badger's log lines to zerolog, its INFO chatter at debug.
type badgerLogger struct{ l zerolog.Logger }

func trimMsg(f string, a []any) string { return strings.TrimSpace(fmt.Sprintf(f, a...)) }

func (l badgerLogger) Errorf(f string, a ...any)   { logf(l.l.Error(), f, a) }
func (l badgerLogger) Warningf(f string, a ...any) { logf(l.l.Warn(), f, a) }
func (l badgerLogger) Infof(f string, a ...any)    { logf(l.l.Debug(), f, a) }
func (l badgerLogger) Debugf(f string, a ...any)   { logf(l.l.Trace(), f, a) }

// logf formats only for enabled levels: badger logs a lot at INFO.
func logf(e *zerolog.Event, f string, a []any) {
	if e.Enabled() {
		e.Msg(trimMsg(f, a))
	}
}
