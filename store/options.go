package store

import (
	"path/filepath"
	"time"

	"github.com/rs/zerolog"
)

// Options configure OpenBadger. The zero value of every field means its
// documented default, so a config layer can copy fields across as they are.
type Options struct {
	// uncompressed turns off badger's block compression, so that a test
	// scanning the files for a number sees every byte written.
	uncompressed bool

	// Dir is the data directory (holding consent/ and log/). Required
	// unless InMemory.
	Dir string
	// InMemory keeps everything in memory (tests). Nothing survives Close.
	InMemory bool
	// KeyFile is the installation's key file (package store/seal): the
	// secret under which handset numbers become pseudonyms and subject keys
	// are wrapped. Default Dir/optguard.key; an in-memory store without one
	// uses a key of its own that ends with it. It is created, mode 0600,
	// when the store has no key yet; a store that has one refuses to open
	// without that very file (ErrKey), except read-only. Keep it apart from
	// backups, which hold ciphertext only.
	KeyFile string
	// Clock returns the current time. Default time.Now.
	Clock func() time.Time
	// Logger receives badger's messages (its INFO chatter at debug) and the
	// store's own. The zero value is a disabled logger.
	Logger zerolog.Logger

	// HoldMaxPerScope bounds each scope's hold queue. Default 100.
	HoldMaxPerScope int
	// HoldTTL is how long a held message waits when HeldMessage.ExpiresAt
	// is zero. Default 72h.
	HoldTTL time.Duration
	// IDMapTTL is how long an optguard id ↔ SMSC id mapping lives. Default 72h.
	IDMapTTL time.Duration

	// MessageLog configures the message log.
	MessageLog MessageLogOptions

	// GCInterval is how often value-log garbage collection runs. Default
	// 10m; negative disables it.
	GCInterval time.Duration
	// CommitBatch is the most consent changes committed (and synced) in
	// one transaction by the group committer. Default 128; 1 commits every
	// change on its own.
	CommitBatch int

	// MemTableSize is badger's memtable size for the consent database; the
	// log database uses half. Default 16 MiB. Each database keeps at most
	// two memtables.
	MemTableSize int64
	// BlockCacheSize is badger's block cache for the consent database; the
	// log database uses half. Default 16 MiB.
	BlockCacheSize int64
	// IndexCacheSize bounds the memory badger uses for table indexes and
	// bloom filters per database. Default 8 MiB.
	IndexCacheSize int64
	// ValueLogFileSize is the size of each value log file. Default 64 MiB.
	ValueLogFileSize int64

	// MinFreeBytes is the free space the data directory's filesystem keeps
	// (see "Disk space" in the package doc): below it the store takes no new
	// durable work (Accepting fails) and drops the message log; below half
	// of it nothing is written at all; OpenBadger refuses to open without
	// it. Default: what badger may write on its own with the sizes above,
	// rounded up to 64 MiB (256 MiB with their defaults).
	MinFreeBytes int64
	// MinFreePercent raises the reserve to this share of the filesystem's
	// size, 0 to 99. Default 0.
	MinFreePercent float64
	// DiskCheckInterval is how often the free space is read when nothing
	// is written (writes read it when the last reading is older than
	// 20 ms). Default 1s.
	DiskCheckInterval time.Duration
	// ReadOnly opens both databases read-only, for reading a store another
	// process may not write: it needs no free space and writes nothing;
	// every write fails with ErrReadOnly. A store that was not closed
	// cleanly cannot be opened so (ErrNeedsRecovery).
	ReadOnly bool
	// Migrate converts a data directory more than one format behind, step
	// by step. Without it such a directory is refused (ErrFormat); the
	// previous format is migrated either way, with a log line.
	Migrate bool
}

// MessageLogMode says which MTs the message log keeps.
type MessageLogMode uint8

const (
	// LogFull keeps every MT (the zero value).
	LogFull MessageLogMode = iota
	// LogSampled keeps a deterministic fraction (SampleRate) of MTs, chosen
	// by a hash of the message id so a message's statuses are all kept or
	// all dropped.
	LogSampled
	// LogOff keeps nothing.
	LogOff
)

func (m MessageLogMode) String() string {
	switch m {
	case LogFull:
		return "full"
	case LogSampled:
		return "sampled"
	case LogOff:
		return "off"
	}
	return "log_mode(?)"
}

// MessageLogOptions configure the message log.
type MessageLogOptions struct {
	Mode MessageLogMode
	// SampleRate is the fraction kept in LogSampled mode, 0..1.
	SampleRate float64
	// Retention is how long records are kept. Default 30 days.
	Retention time.Duration
	// RetentionFor, when set, is how long the records of an organization
	// are kept (0 for Retention); a status entry, which names no
	// organization, lives Retention, which should then be the longest.
	// It is called on the log's writer and must not call the store.
	RetentionFor func(org string) time.Duration
	// QueueSize bounds the records waiting to be written; beyond it Log
	// drops and counts. Default 65536.
	QueueSize int
	// BatchSize is the most records written per batch. Default 1024.
	BatchSize int
	// FlushInterval is the longest a record waits before being written.
	// Default 100ms.
	FlushInterval time.Duration
}

const (
	defaultHoldMax     = 100
	defaultHoldTTL     = 72 * time.Hour
	defaultIDMapTTL    = 72 * time.Hour
	defaultRetention   = 30 * 24 * time.Hour
	defaultQueueSize   = 1 << 16
	defaultBatchSize   = 1024
	defaultFlush       = 100 * time.Millisecond
	defaultGCInterval  = 10 * time.Minute
	defaultCommitBatch = 128
	defaultMemTable    = 16 << 20
	defaultBlockCache  = 16 << 20
	defaultIndexCache  = 8 << 20
	defaultVlogFile    = 64 << 20
	defaultDiskCheck   = time.Second
)

// KeyFileName is the key file's name in the data directory by default.
const KeyFileName = "optguard.key"

func (o Options) withDefaults() Options {
	if o.KeyFile == "" && !o.InMemory {
		o.KeyFile = filepath.Join(o.Dir, KeyFileName)
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.HoldMaxPerScope <= 0 {
		o.HoldMaxPerScope = defaultHoldMax
	}
	if o.HoldTTL <= 0 {
		o.HoldTTL = defaultHoldTTL
	}
	if o.IDMapTTL <= 0 {
		o.IDMapTTL = defaultIDMapTTL
	}
	ml := &o.MessageLog
	if ml.Retention <= 0 {
		ml.Retention = defaultRetention
	}
	if ml.QueueSize <= 0 {
		ml.QueueSize = defaultQueueSize
	}
	if ml.BatchSize <= 0 {
		ml.BatchSize = defaultBatchSize
	}
	if ml.FlushInterval <= 0 {
		ml.FlushInterval = defaultFlush
	}
	if o.GCInterval == 0 {
		o.GCInterval = defaultGCInterval
	}
	if o.CommitBatch <= 0 {
		o.CommitBatch = defaultCommitBatch
	}
	if o.MemTableSize <= 0 {
		o.MemTableSize = defaultMemTable
	}
	if o.BlockCacheSize <= 0 {
		o.BlockCacheSize = defaultBlockCache
	}
	if o.IndexCacheSize <= 0 {
		o.IndexCacheSize = defaultIndexCache
	}
	if o.ValueLogFileSize <= 0 {
		o.ValueLogFileSize = defaultVlogFile
	}
	if o.MinFreeBytes <= 0 {
		o.MinFreeBytes = defaultReserve(o)
	}
	if o.DiskCheckInterval <= 0 {
		o.DiskCheckInterval = defaultDiskCheck
	}
	return o
}

func (o Options) validate() error {
	if !o.InMemory && o.Dir == "" {
		return invalidf("Options.Dir is empty and InMemory is off")
	}
	if o.MessageLog.Mode > LogOff {
		return invalidf("Options.MessageLog.Mode %d", o.MessageLog.Mode)
	}
	if r := o.MessageLog.SampleRate; r < 0 || r > 1 {
		return invalidf("Options.MessageLog.SampleRate %v outside 0..1", r)
	}
	if p := o.MinFreePercent; !(p >= 0 && p < 100) {
		return invalidf("Options.MinFreePercent %v outside 0..99", p)
	}
	if o.ReadOnly && o.InMemory {
		return invalidf("Options.ReadOnly with InMemory: an in-memory store has nothing to read")
	}
	return nil
}
