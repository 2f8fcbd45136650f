package seal

import (
	"encoding/binary"
	"encoding/hex"

	"github.com/dchest/siphash"
)

// Pseudonym stands for one E.164 number wherever the store would have
// written the number: SipHash-2-4-128 of the number under the
// installation's pseudonym key. Without the key file it cannot be linked
// to the number; with it, the same number always gives the same pseudonym.
// The zero Pseudonym is no number's (the odds are 2^-128).
type Pseudonym [16]byte

// Pseudonym returns the pseudonym of the E.164 number whose digits, read as
// a decimal number, are number (the store's packed form of a number: one
// to fifteen digits, never a leading 0, so the packing is one-to-one). It
// does not allocate: the MT path computes one per message.
func (k *Keys) Pseudonym(number uint64) Pseudonym {
	hi, lo := k.PseudonymWords(number)
	var p Pseudonym
	binary.LittleEndian.PutUint64(p[:8], hi)
	binary.LittleEndian.PutUint64(p[8:], lo)
	return p
}

// PseudonymWords is Pseudonym as two words, for in-memory tables: the
// pseudonym's bytes are the two in little-endian order, as SipHash-128's
// reference implementation writes its output. The number goes in as its
// eight bytes, big-endian.
func (k *Keys) PseudonymWords(number uint64) (hi, lo uint64) {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], number)
	return siphash.Hash128(k.k0, k.k1, b[:])
}

// Words returns p as PseudonymWords gave it.
func (p Pseudonym) Words() (hi, lo uint64) {
	return binary.LittleEndian.Uint64(p[:8]), binary.LittleEndian.Uint64(p[8:])
}

// String is p in hex.
func (p Pseudonym) String() string { return hex.EncodeToString(p[:]) }
