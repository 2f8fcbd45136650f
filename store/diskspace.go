package store

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/rs/zerolog"
)

// The free space of the data directory's filesystem, kept above the reserve
// so that badger never writes into a page the filesystem cannot give (see
// "Disk space" in the package doc for why that is a SIGBUS, not an error).

// DiskSpace is the state of the data directory's filesystem as the store
// last read it.
type DiskSpace struct {
	Dir   string // Options.Dir
	Known bool   // false in memory, read-only, or where statfs is not available
	Free  uint64 // bytes available (statfs f_bavail), the lower of consent/ and log/
	Total uint64 // the filesystem's size
	// Reserve is the free space below which no new durable work is taken
	// (Accepting fails); Floor, at most Reserve, the one below which nothing
	// at all is written.
	Reserve uint64
	Floor   uint64
}

// Low reports whether Free is below the reserve: no new durable work.
func (d DiskSpace) Low() bool { return d.Known && d.Free < d.Reserve }

// Full reports whether Free is below the floor: no writes at all.
func (d DiskSpace) Full() bool { return d.Known && d.Free < d.Floor }

// DiskFullError says that the data directory's filesystem has less room
// than something needs. errors.Is(err, ErrDiskFull) is true.
type DiskFullError struct {
	Dir    string // the data directory
	Free   uint64 // bytes free on its filesystem
	Needed uint64 // bytes that must be free
	// For says what needs them and what happens meanwhile; it follows
	// "less than the N bytes".
	For string
}

func (e *DiskFullError) Error() string {
	return fmt.Sprintf("store: disk full: %s has %s free, less than the %s %s", e.Dir, sizeText(e.Free), sizeText(e.Needed), e.For)
}

// Is makes errors.Is(err, ErrDiskFull) true.
func (e *DiskFullError) Is(target error) bool { return target == ErrDiskFull }

// sizeText writes n in bytes and in binary units, for messages an operator
// compares with df.
func sizeText(n uint64) string {
	if n < 1<<10 {
		return fmt.Sprintf("%d bytes", n)
	}
	return fmt.Sprintf("%d bytes (%s)", n, humanBytes(int64(min(n, math.MaxInt64))))
}

// diskUsage is one statfs reading.
type diskUsage struct {
	free, total uint64
}

// Sizes badger is run with (badgerOptions) that the reserve is derived from.
const (
	numMemtables   = 2
	numL0Tables    = 5        // badger's default, set explicitly so the reserve follows it
	baseLevelBytes = 10 << 20 // badger's default base level size, likewise
)

// defaultReserve is what badger may write on its own once optguard stops
// writing, with o's sizes: per database, its memtables flushed into level-0
// tables and a level-0 compaction into the base level (numMemtables +
// numL0Tables memtables and the base level), and one value-log file
// rewritten by GC; rounded up to 64 MiB. 256 MiB with the default sizes.
func defaultReserve(o Options) int64 {
	per := func(memTable int64) int64 { return (numMemtables+numL0Tables)*memTable + baseLevelBytes }
	n := per(o.MemTableSize) + per(o.MemTableSize/2) + o.ValueLogFileSize
	const step = 64 << 20
	return (n + step - 1) / step * step
}

// floorSlack is room kept beyond what badger is computed to need, for the
// write in flight when a reading is taken and for allocation granularity.
const floorSlack = 1 << 20

// diskFreshness is how old a reading may be when a write asks: writes read
// statfs again past it, so that a filesystem filled by someone else between
// the monitor's ticks is seen before badger writes into it.
const diskFreshness = 20 * time.Millisecond

type diskLevel uint32

const (
	diskOK   diskLevel = iota
	diskLow            // below the reserve: no new durable work, no message log, id map or GC writes
	diskFull           // below the floor: nothing is written
)

var diskLevelNames = [...]string{"ok", "low", "full"}

func (l diskLevel) String() string { return diskLevelNames[l] }

// diskGuard watches the free space of the data directory's filesystem. The
// monitor goroutine reads it every DiskCheckInterval together with what
// badger needs; writes read it again when the last reading is older than
// diskFreshness.
type diskGuard struct {
	on      bool     // false in memory, read-only, or where statfs fails
	dir     string   // Options.Dir
	dirs    []string // consent/ and log/
	minFree uint64
	minPct  float64
	log     zerolog.Logger
	epoch   time.Time // readAt counts from it (monotonic)

	mu      sync.Mutex   // one reading at a time
	failing bool         // guarded by mu: the last statfs failed (logged once)
	readAt  atomic.Int64 // nanoseconds since epoch of the last reading
	free    atomic.Uint64
	total   atomic.Uint64
	need    atomic.Uint64 // what badger may write on its own now (monitor)
	level   atomic.Uint32 // diskLevel
}

func newDiskGuard(o Options, log zerolog.Logger) *diskGuard {
	g := &diskGuard{dir: o.Dir, minFree: uint64(o.MinFreeBytes), minPct: o.MinFreePercent, log: log, epoch: time.Now()}
	if !o.InMemory && !o.ReadOnly {
		g.on = true
		g.dirs = []string{filepath.Join(o.Dir, consentSubdir), filepath.Join(o.Dir, logSubdir)}
	}
	return g
}

// thresholds are the reserve and the floor for a filesystem of total bytes
// when badger needs need: the floor is half the configured reserve, or what
// badger needs when that is more; the reserve is never below the floor.
func (g *diskGuard) thresholds(total, need uint64) (reserve, floor uint64) {
	base := max(g.minFree, uint64(g.minPct/100*float64(total)))
	floor = max(base/2, need+floorSlack)
	return max(base, floor), floor
}

// read takes a reading unless another goroutine is taking one (its result
// serves both), and logs a change of level.
func (g *diskGuard) read() {
	if !g.mu.TryLock() {
		return
	}
	defer g.mu.Unlock()
	u, err := statDirs(g.dirs)
	if err != nil {
		if !g.failing {
			g.log.Warn().Err(err).Msg("reading the data directory's free space; the last reading stands until it can be read again")
		}
		g.failing = true
		return
	}
	g.failing = false
	g.free.Store(u.free)
	g.total.Store(u.total)
	g.readAt.Store(int64(time.Since(g.epoch)))
	reserve, floor := g.thresholds(u.total, g.need.Load())
	lvl := diskOK
	switch {
	case u.free < floor:
		lvl = diskFull
	case u.free < reserve:
		lvl = diskLow
	}
	if old := diskLevel(g.level.Swap(uint32(lvl))); old != lvl {
		ev := g.log.Warn()
		msg := "disk space low: new consent changes and holds are refused with temporary errors, the message log is dropped"
		switch lvl {
		case diskOK:
			ev, msg = g.log.Info(), "disk space back above the reserve: durable work resumed"
		case diskFull:
			ev = g.log.Error()
			msg = "disk full: the store writes nothing until space is freed"
		}
		ev.Str("data_dir", g.dir).Uint64("free_bytes", u.free).Uint64("reserve_bytes", reserve).Uint64("floor_bytes", floor).
			Stringer("was", old).Msg(msg)
	}
}

// fresh reads again when the last reading is older than diskFreshness.
func (g *diskGuard) fresh() {
	if time.Since(g.epoch)-time.Duration(g.readAt.Load()) > diskFreshness {
		g.read()
	}
}

func (g *diskGuard) space() DiskSpace {
	d := DiskSpace{Dir: g.dir, Known: g.on && g.readAt.Load() != 0}
	if !d.Known {
		return d
	}
	d.Free, d.Total = g.free.Load(), g.total.Load()
	d.Reserve, d.Floor = g.thresholds(d.Total, g.need.Load())
	return d
}

// errFor is the error for a write refused at level l.
func (g *diskGuard) errFor(l diskLevel) error {
	d := g.space()
	if l == diskFull {
		return &DiskFullError{Dir: g.dir, Free: d.Free, Needed: d.Floor,
			For: "the store keeps for badger to write out its memtables: nothing is written until space is freed"}
	}
	return &DiskFullError{Dir: g.dir, Free: d.Free, Needed: d.Reserve,
		For: "of its reserve: new consent changes and holds are refused until space is freed"}
}

// Accepting says whether the store takes new durable work (consent changes,
// holds) now: nil, or a *DiskFullError while the data directory's
// filesystem is below its reserve. Work already under way may still write
// until the floor (half the reserve); callers ask before they start.
func (b *Badger) Accepting() error {
	if b.opts.ReadOnly {
		return ErrReadOnly
	}
	if !b.disk.on {
		return nil
	}
	b.disk.fresh()
	if l := diskLevel(b.disk.level.Load()); l != diskOK {
		return b.disk.errFor(l)
	}
	return nil
}

// DiskSpace returns the last reading of the data directory's filesystem.
func (b *Badger) DiskSpace() DiskSpace { return b.disk.space() }

// writable fails when nothing may be written: read-only, or below the floor.
func (b *Badger) writable() error {
	if b.opts.ReadOnly {
		return ErrReadOnly
	}
	if !b.disk.on {
		return nil
	}
	b.disk.fresh()
	if diskLevel(b.disk.level.Load()) == diskFull {
		return b.disk.errFor(diskFull)
	}
	return nil
}

// bestEffort says whether writes that may be dropped (message log, id map)
// and value-log GC may go ahead: only while above the reserve.
func (b *Badger) bestEffort() error { return b.Accepting() }

// diskLoop is the monitor: every DiskCheckInterval it works out what badger
// needs and reads the free space.
func (b *Badger) diskLoop() {
	defer b.wg.Done()
	t := time.NewTicker(b.opts.DiskCheckInterval)
	defer t.Stop()
	for {
		select {
		case <-b.closing:
			return
		case <-t.C:
			b.disk.need.Store(b.badgerNeed())
			b.disk.read()
		}
	}
}

// badgerNeed is what badger may write on its own if optguard wrote nothing
// more: per database, its memtables flushed into level-0 tables (about the
// size of their write-ahead logs) and a level-0 compaction, which rewrites
// level 0 with those tables and the base level before deleting the old
// ones.
func (b *Badger) badgerNeed() uint64 {
	var n uint64
	for i, db := range []*badger.DB{b.cdb, b.ldb} {
		wal, _ := walBytes(b.disk.dirs[i])
		var l0, base int64
		for _, li := range db.Levels() {
			switch {
			case li.Level == 0:
				l0 = li.Size
			case li.IsBaseLevel:
				base = li.Size
			}
		}
		n += 2*wal + uint64(l0+base)
	}
	return n
}

// walBytes is the disk space the memtables' write-ahead logs (.mem) in dir
// take: what writing them out as tables costs, give or take compression
// and page rounding. A missing dir takes nothing.
func walBytes(dir string) (uint64, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	var n uint64
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".mem") {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue // flushed and deleted meanwhile
		}
		// A log's first page holds its header and the first entries
		// alike, so even an empty memtable counts for one page.
		n += uint64(allocated(info))
	}
	return n, nil
}

// statDirs reads the filesystems of dirs (the nearest existing parent of
// each, before the first open) and returns the lowest free space.
func statDirs(dirs []string) (diskUsage, error) {
	best := diskUsage{free: math.MaxUint64}
	for _, d := range dirs {
		u, err := statDisk(existingParent(d))
		if err != nil {
			return diskUsage{}, err
		}
		if u.free < best.free {
			best = u
		}
	}
	return best, nil
}

func existingParent(dir string) string {
	for {
		if _, err := os.Stat(dir); err == nil {
			return dir
		}
		up := filepath.Dir(dir)
		if up == dir {
			return dir
		}
		dir = up
	}
}

// checkOpen refuses to open when the filesystem has less free space than
// the reserve plus what opening writes: badger writes the memtables a
// previous run left in their write-ahead logs out as tables.
func (b *Badger) checkOpen() error {
	g := b.disk
	u, err := statDirs(g.dirs)
	if err != nil {
		g.on = false
		b.log.Warn().Err(err).Str("data_dir", g.dir).Msg("cannot read the data directory's free space; the store runs without its disk-full guard")
		return nil
	}
	var replay uint64
	for _, d := range g.dirs {
		n, err := walBytes(d)
		if err != nil {
			return fmt.Errorf("store: reading %s: %w", d, err)
		}
		replay += n
	}
	g.need.Store(2 * replay)
	reserve, _ := g.thresholds(u.total, 2*replay)
	if need := reserve + replay; u.free < need {
		return &DiskFullError{Dir: g.dir, Free: u.free, Needed: need,
			For: fmt.Sprintf("opening the store needs (its reserve of %s and %s to write out the memtables a previous run left)", humanBytes(int64(reserve)), humanBytes(int64(replay)))}
	}
	return nil
}

// closeRoom is the free space Close needs to write out the memtables, or
// nil error when there is enough. Without it badger would fault writing the
// tables, so Close leaves the databases as a crash would: everything
// committed is in the write-ahead logs and is written out by the next open.
func (b *Badger) closeRoom() error {
	g := b.disk
	if !g.on {
		return nil
	}
	var wal uint64
	for _, d := range g.dirs {
		n, err := walBytes(d)
		if err != nil {
			return nil // cannot tell: close as usual
		}
		wal += n
	}
	if wal == 0 {
		return nil // no memtable to write out
	}
	need := wal + wal/8 + floorSlack
	u, err := statDirs(g.dirs)
	if err != nil || u.free >= need {
		return nil
	}
	return &DiskFullError{Dir: g.dir, Free: u.free, Needed: need,
		For: "writing out the memtables at close needs: the databases were left as after a crash (every committed change is in their write-ahead logs, written out at the next start once there is room)"}
}
