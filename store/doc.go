// Package store keeps everything optguard must not lose: the append-only,
// hash-chained consent ledger; the consent records derived from it (on disk
// and, for the MT hot path, in memory); the hold queue of MTs waiting for
// consent; the optguard ↔ SMSC message-id map; and the message log.
//
// store imports neither smpp nor policy (a test checks). Policy consumes the
// Store interface (store.go); *Badger, opened with OpenBadger, is the
// default single-machine implementation on github.com/dgraph-io/badger/v4.
// No badger type appears in the exported API, so that a PostgreSQL backend
// can implement the same interface for several instances (DESIGN.md,
// "Growing past one machine").
//
// # Data directory
//
//	<dir>/consent/   badger, SyncWrites on: ledger, consent records, holds
//	<dir>/log/       badger, SyncWrites off, TTLs: message log, id map
//	<dir>/optguard.key  the installation key file (Options.KeyFile; store/seal)
//
// The key file is made when the store has no key yet; its fingerprint is
// kept under meta/key, and a store opens only with that key file (ErrKey),
// or read-only without one. Backup does not include it.
//
// Two databases because badger's SyncWrites is per database and the two
// halves want opposite things. Everything in consent/ is a promise (a
// consent change must be on disk before the PDU that caused it is answered;
// a held message before its submit_sm_resp), so every commit there is
// synced. The message log is high-volume and best effort: in one database
// with SyncWrites off and a DB.Sync after each consent commit, every consent
// sync would also flush whatever log batches had piled up, and the log's
// writes would queue in the same badger write loop in front of consent
// commits. Kept apart, a consent commit syncs only consent bytes, the
// consent database stays small (quick to open, verify and back up) and the
// log can churn through TTL expiry and value-log GC on its own. The cost is
// a second set of memtables and caches, given half the consent database's
// sizes. docs/BENCHMARKS.md has the measurements.
//
// # Keys
//
// No handset number is in a key or a value in the clear (format 2). Where
// a number was a key, its pseudonym stands (p: 16 bytes, seal.Pseudonym, a
// keyed hash under the installation key); where it was a value, it is
// sealed under the subject's key (subject.go). Integers in keys are
// big-endian so that keys sort numerically; times are Unix nanoseconds with
// the sign bit flipped (sorting in time order); "scopekey" is the canonical
// scope encoding uvarint(len(org)) org p sender (see appendScopeKey);
// lp(x) is uvarint(len(x)) x; subj is a subject id (16 random bytes).
//
// Both databases:
//
//	meta/format                  uint32 format version (formatVersion)
//
// consent/:
//
//	meta/head                    seq(8) hash(32) of the last event
//	meta/key                     the key file's fingerprint (seal.Keys.ID)
//	meta/learned/ key            the caller's bytes — SaveLearned (learned.go)
//	sd/ lp(org) sender           sender directory entry (encodeSender, senders.go)
//	e/  seq                      event (encodeEvent: body + SHA-256)
//	et/ occurred seq             "" — events by occurred-at
//	en/ subj seq                 "" — events by subject
//	c/  scopekey                 consent record (encodeConsent), or an
//	                             erased subject's suppression entry
//	cn/ p scopekey               "" — consent records by handset
//	s/  p                        subj — the number → subject link
//	sk/ subj                     subject record (encodeSubject): the
//	                             wrapped key, p, the sealed number
//	hm/ id                       held message (encodeHeld)
//	hq/ lp(scopekey) holdseq     expires(8) id — the scope's FIFO
//	hx/ expires id               "" — expiry index
//	hc/ scopekey                 count(4) last holdseq(8) — the bound
//	ho/ id                       disposition(1) settled(8) — the outbox
//	ws/ name                     webhook state (encodeWebhookState): the
//	                             endpoint's cursor into the ledger (webhooks.go)
//	wa/ lp(name) n               webhook attempt (encodeWebhookAttempt), the
//	                             latest few per endpoint
//	ij/ id                       import job (encodeImportJob): who imported
//	                             a list, when, and its counts (importjobs.go)
//
// log/ (every entry has a badger TTL):
//
//	io/ optguard-id              SMSC id       (Options.IDMapTTL)
//	is/ smsc-id                  optguard id   (Options.IDMapTTL)
//	m/  id                       message record (encodeMsg)  (Retention)
//	ms/ lp(id) at status         "" — status history          (Retention)
//	mn/ p at id                  "" — records by handset      (Retention)
//	mt/ at id                    "" — records by time         (Retention)
//
// meta/format is checked by OpenBadger: an empty database gets the current
// version; the previous version is migrated at open (migrate.go: format 1
// had the numbers in the clear), with a log line; any other is refused with
// ErrFormat. Any change to a key layout or value encoding that this build
// could not read in the old form bumps it; a new version of a value that
// is written beside the old and read with it (event body v3, for events
// with a Via) does not, though a build before it cannot read that value.
//
// # The ledger
//
// Each event (Event) keeps the scope (organization, sender, E.164 handset),
// the sender address of its conversation where the scope has none (Via:
// the organization's, so in the clear, and left by an erasure), type,
// previous and new state, mode, occurred-at (from the caller) and
// recorded-at (from Options.Clock), method, actor, the MO as received with
// its data_coding, the template and version of any text sent, optguard's
// message id and a note. It is stored in a versioned, length-prefixed
// binary encoding followed by SHA-256 over that encoding; the encoding
// includes the previous event's hash, so the events form a chain. The
// handset is stored as its subject's id, and the number, the MO and the
// note sealed under the subject's key: the hash covers the ciphertext as
// stored, so Verify needs no key, and an erased subject's events still
// verify while saying nothing readable. Verify walks the chain and names
// the first event that does not check out. No method
// updates or deletes an event. The caller describes a change (Change); the
// store alone assigns the sequence number, previous state, recorded-at and
// hashes.
//
// Appends go through one committer goroutine that takes all changes
// waiting at that moment and commits them in one synced transaction (group
// commit); sequence numbers are assigned there, so they are gap-free and in
// commit order. The same transaction updates the consent record and, when
// the change says so, moves the scope's held messages to the outbox
// (released or dropped). The in-memory index is updated right after the
// commit, before Apply returns.
//
// # Durability
//
//   - Apply, Import (per transaction of up to 1000 changes), Hold,
//     ExpireHeld, RemoveHeld, Ack, EraseNumber and SweepRetention (per
//     transaction of 256 subjects) return only after their transaction is
//     synced to consent/. An erasure is one transaction: a kill -9 leaves
//     the number wholly erased or wholly there (TestEraseCrash); so is a
//     format migration (TestMigrateCrash). kill -9 at any moment loses none of them (the
//     crash test checks this by SIGKILLing a writer 20 times).
//   - A held message leaves the queue only in the same transaction as its
//     cause (consent change, expiry, cancel) and then waits in the outbox
//     until Ack: a crash between the two leaves it to be found with Outbox.
//   - The message log and the id map are not synced: a power cut (not a
//     process crash) can lose their last moments. Log drops records rather
//     than block when its writer falls behind, and counts them.
//   - Verify detects any edit of a stored event short of rewriting every
//     later event; Head gives the chain head to keep elsewhere against that.
//   - Rebuild (and CheckIndex, which only compares) recompute the consent
//     records from the ledger.
//
// # Disk space
//
// badger never sees ENOSPC for its data: it creates every data file by
// ftruncate, as a sparse file, maps it and writes through the mapping —
// the memtables' write-ahead logs (.mem, 2 × MemTableSize each), the value
// logs (.vlog, 2 × ValueLogFileSize), the level tables a memtable flush or
// a compaction writes (.sst, z.OpenMmapFile then a copy into the map) and
// the discard stats (1 MiB). The filesystem allocates a block when a page
// is first written, and when it has none the kernel sends SIGBUS: a Go
// "fatal error: fault" in the memtable flush (DB.Close, or any rotation),
// in badger.Open creating its new memtable, or in a compaction. badger
// has no option to preallocate (no fallocate anywhere in badger or
// ristretto/z), and preallocating its files from outside would race with
// it: a new .mem appears at every memtable rotation and a new .vlog at
// every value-log rotation, and writes reach them at once. So the room
// cannot be taken up front; the store keeps it instead:
//
//   - The reserve is Options.MinFreeBytes (or MinFreePercent of the
//     filesystem, when more). Its default is what badger may still write
//     on its own once the store stops writing, with these sizes: per
//     database its memtables (2) flushed into level-0 tables and a level-0
//     compaction of up to 5 such tables into the base level (10 MiB), plus
//     one value-log file rewritten by GC: (2+5) × 16 MiB + 10 MiB for
//     consent/, (2+5) × 8 MiB + 10 MiB for log/, 64 MiB, rounded up to
//     256 MiB.
//   - The floor is half the reserve, or what badger is worked out to need
//     now (twice the write-ahead logs' size plus level 0 and the base
//     level, read every second), when that is more.
//   - OpenBadger refuses with a *DiskFullError (directory, free and needed
//     bytes) when the free space is below the reserve plus the write-ahead
//     logs a previous run left, which the open writes out as tables.
//   - A monitor reads statfs (f_bavail, the lower of consent/ and log/)
//     every Options.DiskCheckInterval; every write reads it again when
//     the last reading is older than 20 ms, so a filesystem filled by
//     someone else is seen before the next write, not a second later.
//   - Below the reserve, Accepting returns a *DiskFullError: callers take
//     no new durable work (the policy answers with temporary errors), and
//     the message log, the id map and value-log GC stop. Writes of work
//     already under way still commit.
//   - Below the floor nothing is written: Apply, Hold, Enqueue, Ack,
//     ExpireHeld and RemoveHeld fail with the *DiskFullError.
//   - Close writes the memtables out only when the filesystem has room for
//     them; otherwise it leaves the databases as a crash would (every
//     commit is in the write-ahead logs, replayed by the next open) and
//     says so with a *DiskFullError.
//   - Options.ReadOnly opens without writing a byte (verify, stats,
//     backup on a full disk); a store left with write-ahead logs cannot be
//     opened so (ErrNeedsRecovery) until a read-write open replays them.
//
// What no reserve can prevent: another process taking the last bytes
// while badger compacts or flushes on its own.
//
// The SMSC id → optguard id direction of the id map is mirrored in memory
// (loaded at open), because every delivery receipt asks it and almost none
// is found. Badger judges TTLs (id map, message log) by the wall clock, so
// the mirror does too; held messages expire by Options.Clock, through
// Expired and ExpireHeld.
package store
