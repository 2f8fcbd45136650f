package keywords

// vocabTable is the read-only word → id table Classify looks words up in:
// open addressing with FNV-1a, at most half full. For the short keys of SMS
// words it is several times cheaper than a Go map lookup.
type vocabTable struct {
	slots []vslot
	mask  uint32
}

type vslot struct {
	key  string
	hash uint32
	id   int32 // 0: empty
}

func hashKey(b []byte) uint32 {
	h := uint32(2166136261)
	for _, c := range b {
		h ^= uint32(c)
		h *= 16777619
	}
	return h
}

func newVocabTable(words map[string]int32) vocabTable {
	size := 16
	for size < 2*len(words) {
		size <<= 1
	}
	t := vocabTable{slots: make([]vslot, size), mask: uint32(size - 1)}
	for w, id := range words {
		h := hashKey([]byte(w))
		i := h & t.mask
		for t.slots[i].id != 0 {
			i = (i + 1) & t.mask
		}
		t.slots[i] = vslot{w, h, id}
	}
	return t
}

// lookup returns the id of key, or 0.
func (t *vocabTable) lookup(key []byte) int32 {
	h := hashKey(key)
	for i := h & t.mask; ; i = (i + 1) & t.mask {
		s := &t.slots[i]
		if s.id == 0 {
			return 0
		}
		if s.hash == h && s.key == string(key) {
			return s.id
		}
	}
}
