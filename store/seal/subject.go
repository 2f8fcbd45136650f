package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// ErrSealed: a sealed value does not open under the key (a wrong key, a
// destroyed one's successor, or bytes that were changed).
var ErrSealed = errors.New("seal: cannot open sealed data")

// SubjectID is a subject's id: what ledger events, held messages and
// message-log records carry instead of the number. It says nothing about
// the number, and stays in the ledger after erasure.
type SubjectID [16]byte

// NewSubjectID returns a new subject id: the time in milliseconds (48
// bits, big-endian) then 80 random bits. The time, which the ledger shows
// anyway, makes ids that are made one after another sort together, so that
// the store's keys by subject go in at the end of its tables instead of
// all over them (random ids cost an STOP storm about a tenth of its rate in
// badger's memtable inserts).
func NewSubjectID() SubjectID {
	var id SubjectID
	ms := uint64(time.Now().UnixMilli())
	for i := 5; i >= 0; i-- {
		id[i] = byte(ms)
		ms >>= 8
	}
	rand.Read(id[6:])
	return id
}

// String is id in hex.
func (id SubjectID) String() string { return hex.EncodeToString(id[:]) }

// IsZero reports whether id is the zero id (no subject).
func (id SubjectID) IsZero() bool { return id == SubjectID{} }

// SubjectKey is one subject's data key, AES-256-GCM. It is safe for
// concurrent use.
type SubjectKey struct{ aead cipher.AEAD }

// Sealed values, wrapped keys included, are
//
//	version(1) nonce(12) ciphertext tag(16)
//
// with a random nonce: a subject's key seals at most a few thousand values
// over its life, far below GCM's limit for random nonces (2^32).
const (
	sealVersion  = 1
	nonceLen     = 12
	tagLen       = 16
	subjectKeyLn = 32
	// Overhead is what sealing adds to a value's length.
	Overhead = 1 + nonceLen + tagLen
)

// NewSubject returns a new subject: its id, its key, and the key wrapped
// under the installation's wrapping key, bound to the id, for the
// subject's record in the store.
func (k *Keys) NewSubject() (SubjectID, SubjectKey, []byte) {
	id := NewSubjectID()
	raw := make([]byte, subjectKeyLn)
	rand.Read(raw)
	key, err := subjectKey(raw)
	if err != nil {
		panic(err) // a 32-byte key is always an AES-256 key
	}
	wrapped := seal(k.wrap, nil, raw, wrapAAD(id))
	clear(raw)
	return id, key, wrapped
}

// Unwrap returns the key of subject id from what NewSubject wrapped.
func (k *Keys) Unwrap(id SubjectID, wrapped []byte) (SubjectKey, error) {
	raw, err := open(k.wrap, nil, wrapped, wrapAAD(id))
	if err != nil {
		return SubjectKey{}, fmt.Errorf("subject key of %s: %w", id, err)
	}
	if len(raw) != subjectKeyLn {
		return SubjectKey{}, fmt.Errorf("subject key of %s: %w: %d bytes", id, ErrSealed, len(raw))
	}
	defer clear(raw)
	return subjectKey(raw)
}

func wrapAAD(id SubjectID) []byte { return append([]byte("optguard subject key\x00"), id[:]...) }

func subjectKey(raw []byte) (SubjectKey, error) {
	block, err := aes.NewCipher(raw)
	if err != nil {
		return SubjectKey{}, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return SubjectKey{}, err
	}
	return SubjectKey{aead: aead}, nil
}

// Seal appends plaintext sealed under the key to dst and returns the
// result. aad is bound to it and must be given again to Open (the store
// binds what the value is, e.g. the subject and the field).
func (s SubjectKey) Seal(dst, plaintext, aad []byte) []byte {
	return seal(s.aead, dst, plaintext, aad)
}

// Open appends the plaintext of sealed to dst and returns the result; it
// fails with ErrSealed when sealed was not sealed under the key with aad.
func (s SubjectKey) Open(dst, sealed, aad []byte) ([]byte, error) {
	return open(s.aead, dst, sealed, aad)
}

// Valid reports whether s is a key (the zero SubjectKey is not).
func (s SubjectKey) Valid() bool { return s.aead != nil }

func seal(aead cipher.AEAD, dst, plaintext, aad []byte) []byte {
	dst = append(dst, sealVersion)
	var nonce [nonceLen]byte
	rand.Read(nonce[:])
	dst = append(dst, nonce[:]...)
	return aead.Seal(dst, nonce[:], plaintext, aad)
}

func open(aead cipher.AEAD, dst, sealed, aad []byte) ([]byte, error) {
	if aead == nil || len(sealed) < Overhead || sealed[0] != sealVersion {
		return dst, ErrSealed
	}
	out, err := aead.Open(dst, sealed[1:1+nonceLen], sealed[1+nonceLen:], aad)
	if err != nil {
		return dst, ErrSealed
	}
	return out, nil
}
