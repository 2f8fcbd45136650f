package store

import (
	"encoding/binary"
	"encoding/hex"

	"github.com/optguard/optguard/store/seal"
)

// Handset is a handset number as the in-memory index keys it: the two
// words of its pseudonym (seal.Keys.Pseudonym), never the number. The MT
// path gets one from the destination's digits with Badger.Handset, without
// allocating, and asks about it with words only. The zero Handset is no
// number's.
type Handset struct {
	hi, lo uint64 // hi is never 0 for a number: the index's empty marker
}

// IsZero reports whether h is no number's.
func (h Handset) IsZero() bool { return h.hi == 0 }

// handsetOf returns the index's Handset for pseudonym words. A pseudonym
// whose first word is 0 (odds 2^-64 per number) is given 1 instead: the
// index marks empty slots by 0, and the second word still tells that
// handset from the one whose first word is 1.
func handsetOf(hi, lo uint64) Handset {
	if hi == 0 {
		hi = 1
	}
	return Handset{hi: hi, lo: lo}
}

// handsetOfPseudonym is the index's Handset for a stored pseudonym.
func handsetOfPseudonym(p seal.Pseudonym) Handset { return handsetOf(p.Words()) }

// Handset returns the Handset of the E.164 number whose digits, without
// the '+', are digits: the canonical form, up to fifteen ASCII digits, the
// first not 0. The MT path passes a destination_addr's digits as they
// stand in the PDU. Other bytes give the Handset of no number (so a
// lookup finds nothing), and no digits the zero Handset. It does not
// allocate.
func (b *Badger) Handset(digits []byte) Handset {
	if len(digits) == 0 {
		return Handset{}
	}
	return handsetOf(b.idx.Load().keys.PseudonymWords(digits))
}

// handsetOfNumber is Handset for a number written as E.164 with or without
// its '+', under keys; ok is false when it is not one (numberKey's check).
func handsetOfNumber[T string | []byte](keys *seal.Keys, n T) (Handset, bool) {
	if _, ok := numberKey(n); !ok {
		return Handset{}, false
	}
	if n[0] == '+' {
		n = n[1:]
	}
	var buf [15]byte
	return handsetOf(keys.PseudonymWords(append(buf[:0], n...))), true
}

// Key is the pseudonym as 32 hex digits: a name for the handset in keys
// that must not carry the number (policy's double opt-in PIN records).
func (h Handset) Key() string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], h.hi)
	binary.BigEndian.PutUint64(b[8:], h.lo)
	return hex.EncodeToString(b[:])
}
