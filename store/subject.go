package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/optguard/optguard/store/seal"
)

// A subject is one handset as the store keeps it: a random id (what ledger
// events, held messages and message-log records carry) and a data key under
// which the number and the person's texts are sealed. Its records live
// outside the hash chain:
//
//	s/  pseudonym    subject id          the number → subject link
//	sk/ subject id   subject record      the wrapped key, the sealed number
//
// Erasing a subject deletes both in one transaction: every sealed value of
// the subject is then unreadable for good, while every event still
// verifies (the chain covers the ciphertext, not the key).

// SubjectID is a subject's random id.
type SubjectID = seal.SubjectID

// subject is what a subject's records give once opened.
type subject struct {
	id     SubjectID
	key    seal.SubjectKey
	p      seal.Pseudonym
	number string // E.164
	// made says the transaction that read it made it: the number had no
	// subject, so it has nothing held either (Hold makes the subject of
	// what it holds, and an erasure deletes both). Never cached.
	made bool
}

const subjectEncV1 = 1

// Subject record v1: version wrapped-key pseudonym(16) sealed-number created.
func encodeSubject(wrapped []byte, p seal.Pseudonym, sealedNumber []byte, created time.Time) []byte {
	e := enc{b: make([]byte, 0, 24+len(wrapped)+len(sealedNumber))}
	e.byte(subjectEncV1)
	e.bytes(wrapped)
	e.b = append(e.b, p[:]...)
	e.bytes(sealedNumber)
	e.time(created)
	return e.b
}

func decodeSubject(v []byte) (wrapped []byte, p seal.Pseudonym, sealedNumber []byte, created time.Time, err error) {
	d := dec{b: v}
	if ver := d.byte(); ver != subjectEncV1 {
		return nil, p, nil, created, fmt.Errorf("decoding subject: unknown encoding version %d", ver)
	}
	wrapped = d.bytes()
	copy(p[:], d.fixed(len(p)))
	sealedNumber = d.bytes()
	created = d.time()
	return wrapped, p, sealedNumber, created, d.done("subject")
}

// aad binds a sealed value to what it is: its kind, its subject and, for
// values of which a subject has many, which one (an event's sequence
// number, a message id), so that no sealed value can be passed off as
// another.
func aad(kind string, id SubjectID, which string) []byte {
	return appendAAD(make([]byte, 0, len(kind)+1+len(id)+len(which)), kind, id, which)
}

// appendAAD appends aad(kind, id, which) to b.
func appendAAD(b []byte, kind string, id SubjectID, which string) []byte {
	b = append(append(b, kind...), 0)
	b = append(b, id[:]...)
	return append(b, which...)
}

// pseudonym is the pseudonym of an E.164 number (checked by the caller).
func (b *Badger) pseudonym(number string) seal.Pseudonym {
	var buf [16]byte
	return b.keys.Pseudonym(append(buf[:0], strings.TrimPrefix(number, "+")...))
}

// scopeKey is the stored key of scope s (valid: checked by the caller).
func (b *Badger) scopeKey(s Scope) []byte {
	return scopeKey(s.Org, b.pseudonym(s.Number), s.Sender)
}

// errNoKeys: the store was opened without its key file (read-only), so
// nothing sealed can be read and no number looked up.
var errNoKeys = fmt.Errorf("%w: the store was opened without its key file", ErrKey)

// subjectOf returns the subject of pseudonym p as txn sees it, found false
// when p has none (never had one, or it was erased).
func (b *Badger) subjectOf(txn *badger.Txn, p seal.Pseudonym) (subject, bool, error) {
	if s, ok := b.subjects.byPseudonym(p); ok {
		return s, true, nil
	}
	item, err := txn.Get(subjectKey(p))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return subject{}, false, nil
	}
	if err != nil {
		return subject{}, false, err
	}
	var id SubjectID
	if err := item.Value(func(v []byte) error {
		if len(v) != len(id) {
			return fmt.Errorf("subject link of %s: %d bytes", p, len(v))
		}
		copy(id[:], v)
		return nil
	}); err != nil {
		return subject{}, false, err
	}
	s, ok, err := b.subjectByID(txn, id)
	if err == nil && !ok {
		err = fmt.Errorf("subject %s is linked from %s but has no record", id, p)
	}
	return s, ok, err
}

// subjectByID returns subject id as txn sees it, found false when it was
// erased.
func (b *Badger) subjectByID(txn *badger.Txn, id SubjectID) (subject, bool, error) {
	if b.keys == nil {
		return subject{}, false, errNoKeys
	}
	item, err := txn.Get(subjectRecKey(id))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return subject{}, false, nil
	}
	if err != nil {
		return subject{}, false, err
	}
	s := subject{id: id}
	err = item.Value(func(v []byte) error {
		wrapped, p, sealed, _, err := decodeSubject(v)
		if err != nil {
			return err
		}
		if s.key, err = b.keys.Unwrap(id, wrapped); err != nil {
			return err
		}
		num, err := s.key.Open(nil, sealed, aad("number", id, ""))
		if err != nil {
			return fmt.Errorf("number of subject %s: %w", id, err)
		}
		s.p, s.number = p, string(num)
		return nil
	})
	return s, err == nil, err
}

// newSubject writes a new subject for number (pseudonym p) into txn.
func (b *Badger) newSubject(txn *badger.Txn, p seal.Pseudonym, number string, at time.Time) (subject, error) {
	id, key, wrapped := b.keys.NewSubject()
	sealed := key.Seal(nil, []byte(number), aad("number", id, ""))
	s := subject{id: id, key: key, p: p, number: number, made: true}
	err := setAll(txn,
		subjectKey(p), id[:],
		subjectRecKey(id), encodeSubject(wrapped, p, sealed, at),
	)
	return s, err
}

// subjectFor returns the subject of number, creating it in txn when it
// has none. seen, when not nil, records the subjects this transaction made
// or read, which the committer adds to the cache once it commits (and
// drops if it does not): the committer is the only one that erases, so
// what its committed transaction saw is on disk until it erases it.
func (b *Badger) subjectFor(txn *badger.Txn, number string, at time.Time, seen map[seal.Pseudonym]subject) (subject, error) {
	return b.subjectOfNumber(txn, b.pseudonym(number), number, at, seen)
}

// subjectOfNumber is subjectFor for a number whose pseudonym p the caller
// has made already.
func (b *Badger) subjectOfNumber(txn *badger.Txn, p seal.Pseudonym, number string, at time.Time, seen map[seal.Pseudonym]subject) (subject, error) {
	if s, ok := seen[p]; ok {
		return s, nil
	}
	s, ok, err := b.subjectOf(txn, p)
	if err != nil {
		return s, err
	}
	if !ok {
		if s, err = b.newSubject(txn, p, number, at); err != nil {
			return s, err
		}
	}
	if seen != nil {
		seen[p] = s
	}
	return s, nil
}

// subjectCache keeps opened subjects for the committer, which looks up the
// subject of every change it appends. Only what a commit has made durable
// is added to it (by the goroutine that committed), and an erasure takes
// its subject out as it commits, so it never answers for a subject that is
// not on disk. It is direct-mapped by the pseudonym's first bytes (which
// are a keyed hash: spread evenly), a newer subject taking an older one's
// slot: a map of this size rehashed and grew through every STOP storm.
type subjectCache struct {
	mu    sync.Mutex
	slots []cachedSubject // guarded by mu; allocated at the first add
	size  int
}

type cachedSubject struct {
	s  subject
	ok bool
}

const subjectCacheMax = 1 << 16 // a power of two

func newSubjectCache(size int) *subjectCache {
	return &subjectCache{size: size}
}

func (c *subjectCache) slot(p seal.Pseudonym) int {
	return int(binary.LittleEndian.Uint32(p[:4])) & (c.size - 1)
}

func (c *subjectCache) byPseudonym(p seal.Pseudonym) (subject, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.slots == nil {
		return subject{}, false
	}
	e := &c.slots[c.slot(p)]
	if !e.ok || e.s.p != p {
		return subject{}, false
	}
	return e.s, true
}

func (c *subjectCache) add(s subject) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.slots == nil {
		c.slots = make([]cachedSubject, c.size)
	}
	s.made = false // a later transaction did not make it
	c.slots[c.slot(s.p)] = cachedSubject{s: s, ok: true}
}

func (c *subjectCache) remove(s subject) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.slots == nil {
		return
	}
	if e := &c.slots[c.slot(s.p)]; e.ok && e.s.id == s.id {
		*e = cachedSubject{}
	}
}

// clear empties the cache (a restore or a migration replaced the subjects).
func (c *subjectCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.slots = nil
}

// subjectReader opens the subjects of many values read in one view (an
// export, a report page), keeping those it opened: the committer's cache
// only takes what it committed itself.
type subjectReader struct {
	b    *Badger
	txn  *badger.Txn
	seen map[SubjectID]*subject // nil: erased
}

func (b *Badger) subjectReader(txn *badger.Txn) *subjectReader {
	return &subjectReader{b: b, txn: txn, seen: make(map[SubjectID]*subject)}
}

// byID returns subject id, or nil when it was erased (or the store has no
// keys to open it with).
func (r *subjectReader) byID(id SubjectID) (*subject, error) {
	if s, ok := r.seen[id]; ok {
		return s, nil
	}
	if r.b.keys == nil {
		return nil, nil
	}
	s, ok, err := r.b.subjectByID(r.txn, id)
	if err != nil {
		return nil, err
	}
	var sp *subject
	if ok {
		sp = &s
	}
	if len(r.seen) >= subjectCacheMax {
		clear(r.seen)
	}
	r.seen[id] = sp
	return sp, nil
}

// byPseudonym returns the subject of p, or nil when p has none.
func (r *subjectReader) byPseudonym(p seal.Pseudonym) (*subject, error) {
	if r.b.keys == nil {
		return nil, nil
	}
	s, ok, err := r.b.subjectOf(r.txn, p)
	if err != nil || !ok {
		return nil, err
	}
	r.seen[s.id] = &s
	return &s, nil
}

// open fills the sealed fields of ev (decoded with decodeEvent) when its
// subject can be opened; an event of an erased subject, or read without the
// key file, stays Erased.
func (r *subjectReader) open(ev *Event, sealed []byte) error {
	if len(sealed) == 0 {
		return nil // nothing was sealed (an erasure's own event)
	}
	s, err := r.byID(ev.Subject)
	if err != nil || s == nil {
		return err
	}
	return openEvent(s.key, ev, sealed)
}

// subjectPseudonym reads the pseudonym of subject id from its record,
// without opening anything (no key is needed); nil when it was erased.
func subjectPseudonym(txn *badger.Txn, id SubjectID) (*seal.Pseudonym, error) {
	item, err := txn.Get(subjectRecKey(id))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var p seal.Pseudonym
	err = item.Value(func(v []byte) error {
		_, p, _, _, err = decodeSubject(v)
		return err
	})
	return &p, err
}
