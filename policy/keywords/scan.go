package keywords

// The ASCII scan: one pass over the raw bytes of an ASCII message that
// yields what Normalize, tokenize and appendKey followed by a vocabulary
// lookup would (word ids and sentence starts), without writing the
// normalized text. Every byte is classified by one table load; a word's
// key is squeezed, hashed and kept for the final compare as it is read.
//
// The scan is exact only for text whose normalization is simple: it gives
// up (and Classify takes the general path) on bytes that normalization drops
// or maps (controls, '`', non-ASCII), on runs of three or more asterisks or
// apostrophes, on words longer than maxKey bytes, on more than maxWords
// words, and the caller gives up on messages that may be spelled one
// character a word or may be a numeric reply. Ordinary messages hit none of
// these. Runs of three or more letters ("sooo") are handled: they change
// the normalized word, which the scan tracks by length, but not its key.
// FuzzScanASCII holds the two paths to the same answer.

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
	for i < len(text) {
		w := scanWord(text, i, &kb)
		if w.fail {
			return scanResult{}
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
		// Separators up to the next word.
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
