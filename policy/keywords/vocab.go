package keywords

import "encoding/binary"

// vocabTable is the read-only word → id table Classify looks words up in:
// open addressing over a dense array of hashes, at most a quarter full, so
// that a word of no list (most words of an ordinary message) usually costs
// one probe of a 4-byte entry. For the short keys of SMS words it is several
// times cheaper than a Go map lookup.
type vocabTable struct {
	hashes []uint32 // 0: empty slot
	slots  []vslot  // parallel to hashes
	mask   uint32
}

type vslot struct {
	first uint64 // a key of up to 8 bytes as one little-endian word, zero-padded
	key   string
	id    int32
}

// The key hash works on 8-byte chunks so that the ASCII scan can build it
// in a register while it reads a word (see scan.go): one multiply per eight
// bytes instead of one per byte.
const (
	hashMul1 = 0x9E3779B97F4A7C15
	hashMul2 = 0xC2B2AE3D27D4EB4F
)

func hashChunk(h, chunk uint64) uint64 {
	h = (h ^ chunk) * hashMul1
	return h ^ h>>32
}

// hashFinish turns the chunk state of a key of n bytes into its hash; 0 is
// reserved for empty slots.
func hashFinish(h uint64, n int) uint32 {
	v := uint32((h ^ uint64(n)) * hashMul2 >> 32)
	if v == 0 {
		v = 1
	}
	return v
}

// firstChunk returns b's first 8 bytes as a little-endian word, zero-padded.
func firstChunk(b []byte) uint64 {
	if len(b) >= 8 {
		return binary.LittleEndian.Uint64(b)
	}
	var c uint64
	for i, x := range b {
		c |= uint64(x) << (8 * i)
	}
	return c
}

// hashKey is the hash of key b; scanASCII computes the same value a byte
// at a time.
func hashKey(b []byte) uint32 {
	n := len(b)
	var h uint64
	for len(b) >= 8 {
		h = hashChunk(h, binary.LittleEndian.Uint64(b))
		b = b[8:]
	}
	if len(b) > 0 {
		h = hashChunk(h, firstChunk(b))
	}
	return hashFinish(h, n)
}

func newVocabTable(words map[string]int32) vocabTable {
	size := 16
	for size < 4*len(words) {
		size <<= 1
	}
	t := vocabTable{hashes: make([]uint32, size), slots: make([]vslot, size), mask: uint32(size - 1)}
	for w, id := range words {
		h := hashKey([]byte(w))
		i := h & t.mask
		for t.hashes[i] != 0 {
			i = (i + 1) & t.mask
		}
		t.hashes[i] = h
		t.slots[i] = vslot{first: firstChunk([]byte(w)), key: w, id: id}
	}
	return t
}

// lookup returns the id of key, or 0.
func (t *vocabTable) lookup(key []byte) int32 {
	return t.find(hashKey(key), firstChunk(key), key)
}

// find returns the id of key, whose hash is h, or 0. A key of up to 8
// bytes is compared as one word, first (its bytes, little-endian); first is
// not used for longer keys.
func (t *vocabTable) find(h uint32, first uint64, key []byte) int32 {
	for i := h & t.mask; ; i = (i + 1) & t.mask {
		switch t.hashes[i] {
		case 0:
			return 0
		case h:
			s := &t.slots[i]
			if len(s.key) == len(key) && (len(key) <= 8 && s.first == first || len(key) > 8 && s.key == string(key)) {
				return s.id
			}
		}
	}
}
