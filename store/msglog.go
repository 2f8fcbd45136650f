package store

import (
	"math"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/optguard/optguard/store/seal"
)

// The message log is written off the relay path: Log and LogStatus only try
// to put the item on a bounded channel and return at once; when the channel
// is full the item is dropped and counted (Stats.LogDropped), never waited
// for. One writer goroutine takes items off the channel and writes them to
// the log database with a badger WriteBatch (no sync: it is a log, not a
// promise) every BatchSize items or FlushInterval, whichever comes first.
// Records expire after MessageLog.Retention (badger TTL).

type logItem struct {
	rec        Record // for a status-only item only ID, Status and At are set
	statusOnly bool
}

type msgLog struct {
	b         *Badger
	ch        chan logItem
	accepting atomic.Bool
	mode      MessageLogMode
	threshold uint64 // LogSampled: keep ids whose hash is below this

	written atomic.Uint64 // items written
	dropped atomic.Uint64 // items dropped: queue full, closed, malformed or disk low
	failed  atomic.Uint64 // items lost to a write error
}

func newMsgLog(b *Badger) *msgLog {
	o := b.opts.MessageLog
	l := &msgLog{b: b, ch: make(chan logItem, o.QueueSize), mode: o.Mode}
	if o.Mode == LogSampled {
		if o.SampleRate >= 1 {
			l.mode = LogFull
		} else {
			l.threshold = uint64(o.SampleRate * math.MaxUint64)
		}
	}
	l.accepting.Store(!b.opts.ReadOnly)
	return l
}

func (l *msgLog) stopAccepting() { l.accepting.Store(false) }

// keep decides sampling from the id alone, so that a message's record and
// all its statuses are kept or dropped together.
func (l *msgLog) keep(id string) bool {
	switch l.mode {
	case LogFull:
		return true
	case LogOff:
		return false
	}
	return idHash(id) < l.threshold
}

// idHash is FNV-1a over the id (without hash/fnv's allocations) followed by
// a 64-bit finalizer: FNV alone leaves the high bits of short, sequential
// ids badly mixed, and sampling compares the whole value.
func idHash(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}

func (l *msgLog) push(it logItem) {
	if it.rec.ID == "" || len(it.rec.ID) > maxIDLen || !l.accepting.Load() ||
		it.rec.Status != msgStatusInvalid && !it.rec.Status.Valid() ||
		it.statusOnly && it.rec.Status == msgStatusInvalid {
		l.dropped.Add(1)
		return
	}
	if !l.keep(it.rec.ID) {
		return
	}
	select {
	case l.ch <- it:
	default:
		l.dropped.Add(1)
	}
}

// Log queues r for the message log without blocking. r.At defaults to now.
// The strings in r must not be modified afterwards (ordinary Go strings
// never are).
func (b *Badger) Log(r Record) { b.ml.push(logItem{rec: r}) }

// LogStatus queues a status change of message id without blocking.
func (b *Badger) LogStatus(id string, s MsgStatus, at time.Time) {
	b.ml.push(logItem{rec: Record{ID: id, Status: s, At: at}, statusOnly: true})
}

func (l *msgLog) run() {
	defer l.b.wg.Done()
	o := l.b.opts.MessageLog
	batch := make([]logItem, 0, o.BatchSize)
	// flush writes the batch when it is full, or, with force, when it has
	// anything at all.
	flush := func(force bool) {
		if len(batch) == cap(batch) || force && len(batch) > 0 {
			l.write(batch)
			batch = batch[:0]
		}
	}
	t := time.NewTicker(o.FlushInterval)
	defer t.Stop()
	for {
		select {
		case it := <-l.ch:
			batch = append(batch, it)
			flush(false)
		case <-t.C:
			flush(true)
		case <-l.b.closing:
			// Close stopped Log from accepting before closing: write what
			// is queued, then stop.
			for {
				select {
				case it := <-l.ch:
					batch = append(batch, it)
					flush(false)
				default:
					flush(true)
					return
				}
			}
		}
	}
}

func (l *msgLog) write(items []logItem) {
	if err := l.b.bestEffort(); err != nil {
		// The log gives way first when the disk runs low.
		l.dropped.Add(uint64(len(items)))
		return
	}
	wb := l.b.ldb.NewWriteBatch()
	defer wb.Cancel()
	ret := l.b.opts.MessageLog.Retention
	now := l.b.clock()
	set := func(k, v []byte, exp uint64) error {
		e := badger.NewEntry(k, v)
		e.ExpiresAt = exp
		return wb.SetEntry(e)
	}
	subjects := l.subjects(items)
	var err error
	for i := range items {
		r := &items[i].rec
		if r.At.IsZero() {
			r.At = now
		}
		r.At = normTime(r.At)
		keep := ret
		if f := l.b.opts.MessageLog.RetentionFor; f != nil && !items[i].statusOnly {
			if d := f(r.Org); d > 0 {
				keep = d
			}
		}
		exp := uint64(r.At.Add(keep).Unix())
		if !items[i].statusOnly {
			var subj SubjectID
			var sealed []byte
			if s := subjects[i]; s != nil {
				subj, sealed = s.id, s.key.Seal(nil, []byte(r.Number), msgAAD(s.id, r.ID))
			}
			if err = set(msgKey(r.ID), encodeMsg(r, subj, sealed), exp); err != nil {
				break
			}
			if err = set(msgTimeKey(r.At, r.ID), nil, exp); err != nil {
				break
			}
			if s := subjects[i]; s != nil {
				if err = set(msgNumKey(s.p, r.At, r.ID), nil, exp); err != nil {
					break
				}
			}
			if r.Status == msgStatusInvalid {
				continue
			}
		}
		if err = set(msgStatusKey(r.ID, r.At, r.Status), nil, exp); err != nil {
			break
		}
	}
	if err == nil {
		err = wb.Flush()
	}
	if err != nil {
		l.failed.Add(uint64(len(items)))
		l.b.log.Warn().Err(err).Int("records", len(items)).Msg("message log write failed")
		return
	}
	l.written.Add(uint64(len(items)))
}

// subjects returns the subject of each record's number (nil for a status,
// or for a record without a number), read in one view of the consent
// database. A record is normally written after the consent event or the
// hold that made its subject; a number that has none yet gets one, in one
// transaction for the batch, so that its record still names it.
func (l *msgLog) subjects(items []logItem) []*subject {
	out := make([]*subject, len(items))
	if l.b.keys == nil {
		return out
	}
	var missing []int
	err := l.b.cdb.View(func(txn *badger.Txn) error {
		r := l.b.subjectReader(txn)
		for i := range items {
			n := items[i].rec.Number
			if items[i].statusOnly || ValidateNumber(n) != nil {
				continue
			}
			s, err := r.byPseudonym(l.b.pseudonym(n))
			if err != nil {
				return err
			}
			if out[i] = s; s == nil {
				missing = append(missing, i)
			}
		}
		return nil
	})
	if err == nil && len(missing) > 0 {
		err = l.b.retry(func() error {
			txn := l.b.cdb.NewTransaction(true)
			defer txn.Discard()
			made := make(map[seal.Pseudonym]subject)
			for _, i := range missing {
				s, err := l.b.subjectFor(txn, items[i].rec.Number, normTime(l.b.clock()), made)
				if err != nil {
					return err
				}
				out[i] = &s
			}
			return txn.Commit()
		})
	}
	if err != nil {
		l.b.log.Warn().Err(err).Msg("message log: reading subjects; the records are written without their numbers")
		for _, i := range missing {
			out[i] = nil
		}
	}
	return out
}
