package keywords

import (
	"encoding/binary"
	"math/bits"
)

// The ASCII scan: one pass over the raw bytes of an ASCII message that
// yields what Normalize, tokenize and appendKey followed by a vocabulary
// lookup would (word ids and sentence starts), without writing the
// normalized text. A common word (letters and digits, up to 15) is read
// eight bytes at a time and its key is the case-folded load; any other is
// read a byte at a time, each byte classified by one table load, its key
// squeezed, hashed and kept for the final compare as it is read.
//
// The scan is exact only for text whose normalization is simple: it gives
// up (and Classify takes the general path) on bytes that normalization drops
// or maps (controls, '`', non-ASCII), on runs of three or more asterisks or
// apostrophes, on words longer than maxKey bytes, on more than maxWords
// words, and the caller gives up on messages that may be spelled one
// character a word or may be a numeric reply. Ordinary messages hit none of
// these. Runs of three or more letters ("sooo") are handled: the key
// squeezes them anyway, and at an apostrophe the word so far is normalized
// again (elidedRaw) to tell an elision. TestScanASCII and FuzzScanASCII hold
// the two paths to the same words and the same answer.

// Byte kinds of the ASCII scan.
const (
	kBad    = iota // left to the general path
	kSep           // whitespace, dashes, underscore, punctuation that does not end a sentence
	kStop          // . ! ? ; and line breaks: the next word begins a sentence
	kDigit         // 0-9: never squeezed
	kLetter        // A-Z a-z
	kStar          // '*': part of a word inside it ("f**k")
	kApos          // '\'': dropped from keys; splits French elisions
)

type scanEntry struct{ kind, fold uint8 }

// scanTable classifies and case-folds every byte value; 256 entries so that
// indexing by a byte needs no bounds check.
var scanTable = func() (t [256]scanEntry) {
	for c := range 256 {
		e := scanEntry{kind: kBad, fold: uint8(c)}
		switch {
		case c >= 0x80 || c == '`':
		case c == '\n' || c == '\r' || c == '.' || c == '!' || c == '?' || c == ';':
			e.kind = kStop
		case asciiClass[c] == cDrop:
		case c >= '0' && c <= '9':
			e.kind = kDigit
		case c >= 'a' && c <= 'z':
			e.kind = kLetter
		case c >= 'A' && c <= 'Z':
			e.kind, e.fold = kLetter, uint8(c+'a'-'A')
		case c == '*':
			e.kind = kStar
		case c == '\'':
			e.kind = kApos
		default: // whitespace, '-', '_' and the other punctuation
			e.kind = kSep
		}
		t[c] = e
	}
	return t
}()

// maxWords bounds the words of a scanned message: a 512-byte message has
// at most 256.
const maxWords = 256

// Flags of a vocabulary id, ORed over a message's words so that Classify
// skips the steps no word of the message can start.
const (
	flagOptOut   = 1 << iota // the first word of an opt-out keyword
	flagRequired             // a required word of some pattern
	flagNegFirst             // a word a negative pattern's match can begin with
	flagIntFirst             // a word an intent pattern's match can begin with
)

type scanResult struct {
	n     int   // words in ids
	multi bool  // some word's key has two bytes or more: the message is not spelled out
	flags uint8 // idFlags of the words, ORed
	ok    bool  // false: the general path must classify the message
}

// scanASCII fills ids with the vocabulary ids of text's words and boundary
// with the positions that begin a sentence, as Classify's general path would
// from Normalize's output; see the top of this file for when it gives up.
//
// Two loops take turns: one skips separators (noting sentence ends), the
// other reads a word into its key. Letters and digits take the short way
// through the word loop; asterisks and apostrophes, rare in SMS, the long
// one.
func (m *Matcher) scanASCII(text []byte, ids *[maxWords]int32, boundary *[maxWords / 64]uint64) (res scanResult) {
	var kb [maxKey]byte
	i := 0
	// Normalization trims everything before the first letter or digit.
	for ; i < len(text); i++ {
		switch scanTable[text[i]].kind {
		case kDigit, kLetter:
			goto words
		case kBad:
			return scanResult{}
		}
	}
words:
	n := 0
	stop := false // a sentence ended since the last word
	ok := false
	for i < len(text) {
		// The commonest word, one to seven letters or digits with no
		// letter twice in a row, is read here without a call: a call
		// costs the loop's registers. swarWord and scanWord read the rest.
		var w word
		x := load8(text, i)
		alnum, y := alnumBytes(x)
		if wn := bits.TrailingZeros64(^alnum&highBits) >> 3; wn > 0 && wn < 8 &&
			scanTable[byte(x>>(8*wn))].kind < kDigit && !doubled(y&(1<<(8*wn)-1), wn) {
			w = word{end: i + wn, kn: wn, chunk: y & (1<<(8*wn) - 1)}
		} else if w, ok = swarWord(text, i, &kb); !ok {
			if w = scanWord(text, i, &kb); w.fail {
				return scanResult{}
			}
		}
		if w.kn > 0 {
			first := w.chunk // the key's first 8 bytes when it has no more
			if w.kn > 8 {
				first = 0
			}
			id := m.table.find(hashFinish(hashChunk(w.h, w.chunk), w.kn), first, kb[:w.kn])
			if n == maxWords {
				return scanResult{}
			}
			if stop && n > 0 {
				boundary[n>>6] |= 1 << (n & 63)
			}
			stop = false
			ids[n] = id
			n++
			res.multi = res.multi || w.kn > 1
			res.flags |= m.idFlags[id]
		}
		i = w.end
		if w.split {
			i++ // the next word begins after the apostrophe
			continue
		}
		// Separators up to the next word; most often one space.
		if i+1 < len(text) && text[i] == ' ' && scanTable[text[i+1]].kind >= kDigit {
			i++
			continue
		}
	sep:
		for ; i < len(text); i++ {
			switch scanTable[text[i]].kind {
			case kSep:
			case kStop:
				stop = true
			case kBad:
				return scanResult{}
			default:
				break sep
			}
		}
	}
	res.n, res.ok = n, true
	return res
}

// SWAR constants: a byte's high bit, and byte-wise ones.
const (
	highBits = 0x8080808080808080
	lowBits  = 0x0101010101010101
)

// swarWord reads, eight bytes at a time, the common word at text[i]: up to
// 15 letters and digits ending at a separator. ok is false for any other
// word (one with an asterisk or an apostrophe, a longer one, or one of 8 or
// more with a letter twice in a row), which scanWord then reads a byte at a
// time; the two agree on every word swarWord takes.
func swarWord(text []byte, i int, kb *[maxKey]byte) (w word, ok bool) {
	x := load8(text, i)
	alnum, y := alnumBytes(x)
	n := bits.TrailingZeros64(^alnum&highBits) >> 3 // leading letters and digits
	if n == 0 {
		return word{}, false
	}
	if n < 8 {
		if scanTable[byte(x>>(8*n))].kind >= kDigit {
			return word{}, false // '*' or '\'' next
		}
		key, kn := squeeze(y&(1<<(8*n)-1), n)
		return word{end: i + n, kn: kn, chunk: key}, true
	}
	x2 := load8(text, i+8)
	alnum2, y2 := alnumBytes(x2)
	n2 := bits.TrailingZeros64(^alnum2&highBits) >> 3
	if n2 == 8 || scanTable[byte(x2>>(8*n2))].kind >= kDigit {
		return word{}, false
	}
	if n2 == 0 {
		if doubled(y, 8) {
			return word{}, false
		}
		return word{end: i + 8, kn: 8, chunk: y}, true
	}
	rest := y2 & (1<<(8*n2) - 1)
	if doubled(y, 8) || byte(y>>56) == byte(rest) || doubled(rest, n2) {
		return word{}, false
	}
	binary.LittleEndian.PutUint64(kb[0:], y)
	binary.LittleEndian.PutUint64(kb[8:], rest)
	return word{end: i + 8 + n2, kn: 8 + n2, h: hashChunk(0, y), chunk: rest}, true
}

// load8 returns text[i:i+8] as a little-endian word; bytes past the end
// read as spaces, which end a word as the end does.
func load8(text []byte, i int) uint64 {
	if i >= 0 && i+8 <= len(text) {
		return binary.LittleEndian.Uint64(text[i:])
	}
	b := [8]byte{' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '}
	if i < len(text) {
		copy(b[:], text[i:])
	}
	return binary.LittleEndian.Uint64(b[:])
}

// alnumBytes marks with its high bit every byte of x that is an ASCII letter
// or digit, and returns x with letters case folded (digits are unchanged by
// the fold). Adding 0x80-lo sets a 7-bit byte's high bit from lo on; no sum
// carries into the next byte.
func alnumBytes(x uint64) (alnum, folded uint64) {
	folded = x | 0x2020202020202020
	t := folded &^ highBits
	letters := (t + (0x80-'a')*lowBits) &^ (t + (0x80-'z'-1)*lowBits)
	u := x &^ highBits
	digits := (u + (0x80-'0')*lowBits) &^ (u + (0x80-'9'-1)*lowBits)
	return (letters | digits) &^ x & highBits, folded
}

// doubled reports whether two neighbouring bytes of the n-byte key are
// equal. It may also report a pair above a true one; callers take that as
// a yes, which only costs the exact path.
func doubled(key uint64, n int) bool {
	if n < 2 {
		return false
	}
	d := (key ^ key>>8) | ^uint64(0)<<(8*(n-1))
	return (d-lowBits)&^d&highBits != 0
}

// squeeze returns the n-byte key with every run of a repeated letter made
// one, as appendKey does, and its new length.
func squeeze(key uint64, n int) (uint64, int) {
	if !doubled(key, n) {
		return key, n
	}
	var out uint64
	sh := 0
	last := uint64(0)
	for range n {
		b := key & 0xff
		key >>= 8
		if b != last || b >= '0' && b <= '9' {
			out |= b << sh
			sh += 8
		}
		last = b
	}
	return out, sh >> 3
}

// word is one word read by scanWord.
type word struct {
	end   int    // where it ends: a separator, the end of the text or an elision's apostrophe
	kn    int    // key length; the key is in scanWord's kb
	chunk uint64 // the key's last 1–8 bytes, little-endian
	h     uint64 // hashChunk state of the bytes before chunk
	split bool   // it ended at the apostrophe of an elision
	fail  bool   // the general path must take the message
}

// scanWord reads the word that begins at text[i] (a letter, digit, asterisk
// or apostrophe) into its key in kb. It is a leaf with few live values, so
// that its loop runs in registers.
func scanWord(text []byte, i int, kb *[maxKey]byte) (w word) {
	start := i
	kn := 0
	var chunk, h uint64
	klast := byte(0) // the key's last byte, for squeezing
	star := false    // an inner '*' waits for the next letter or digit
	for ; i < len(text); i++ {
		c := text[i]
		e := scanTable[c]
		if e.kind < kDigit {
			break
		}
		if e.kind > kLetter {
			// A run of three is normalized to one: leave that to the
			// general path. The bytes before i are in this message's
			// words (i > 0: a letter came first).
			if i >= 2 && text[i-1] == c && text[i-2] == c {
				return word{fail: true}
			}
			if e.kind == kStar {
				star = kn > 0 // leading asterisks are trimmed from the key
				continue
			}
			if elidedRaw(text[start:i]) {
				w.split = true
				break
			}
			continue // apostrophes drop out of the key
		}
		if star {
			// Words longer than maxKey are refused below, so the mask
			// only keeps the index in range.
			star = false
			if kn&7 == 0 && kn > 0 {
				h, chunk = hashChunk(h, chunk), 0
			}
			kb[kn&(maxKey-1)] = '*'
			chunk |= '*' << (8 * (kn & 7))
			kn++
			klast = '*'
		}
		if e.fold == klast && e.kind == kLetter {
			continue // squeezed: "stopp", "stooop" → stop
		}
		if kn&7 == 0 && kn > 0 {
			h, chunk = hashChunk(h, chunk), 0
		}
		kb[kn&(maxKey-1)] = e.fold
		chunk |= uint64(e.fold) << (8 * (kn & 7))
		kn++
		klast = e.fold
	}
	if i-start > maxKey {
		return word{fail: true}
	}
	w.end, w.kn, w.chunk, w.h = i, kn, chunk, h
	return w
}

// elidedRaw reports whether the raw word w normalizes to a French elided
// article or pronoun (see elided): runs of three or more of a letter
// become one ("lll'" is l'). It keeps only the first two bytes of the
// normalized word: a run adds at most one byte more than it keeps, so once
// four are written the word cannot shrink back to two.
func elidedRaw(w []byte) bool {
	var o0, o1, last byte
	n, run := 0, 0
	for _, c := range w {
		f := scanTable[c].fold
		if f == last {
			run++
		} else {
			last, run = f, 1
		}
		if run >= 3 && (f < '0' || f > '9') {
			if run == 3 {
				n--
			}
			continue
		}
		switch n {
		case 0:
			o0 = f
		case 1:
			o1 = f
		case 3:
			return false
		}
		n++
	}
	return n == 1 && elidable(o0) || n == 2 && o0 == 'q' && o1 == 'u'
}

// elidable reports the one-letter French words that an apostrophe splits
// off (l' d' m' n' j' t' s' c').
func elidable(c byte) bool {
	switch c {
	case 'l', 'd', 'm', 'n', 'j', 't', 's', 'c':
		return true
	}
	return false
}
