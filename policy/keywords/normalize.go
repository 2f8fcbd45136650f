package keywords

import (
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Character classes of the shaping pass.
const (
	cDrop  = iota // removed as if absent (controls, format characters)
	cSep          // whitespace, underscore, dashes: inner runs become one space
	cPunct        // punctuation and symbols: trimmed at the edges, kept inside
	cWord         // letters, digits, marks
)

// asciiClass has 256 entries so that indexing it by a byte needs no bounds
// check; only the first 128 are used.
var asciiClass = func() (t [256]uint8) {
	for c := range utf8.RuneSelf {
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r' || c == '_' || c == '-':
			t[c] = cSep
		case c < ' ' || c == 0x7f:
			t[c] = cDrop
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9':
			t[c] = cWord
		default:
			t[c] = cPunct
		}
	}
	return t
}()

// Normalize appends the normalized form of text to dst and returns the
// extended slice. The steps are listed in the package documentation; the
// result is valid UTF-8 and Normalize of it is itself. Text that is all
// ASCII is normalized in one pass without allocating when dst has room.
func Normalize(dst, text []byte) []byte {
	if isASCII(text) {
		return normalizeASCII(dst, text)
	}
	return normalizeUnicode(dst, text)
}

func isASCII(b []byte) bool {
	for len(b) >= 8 {
		if (uint64(b[0])|uint64(b[1])|uint64(b[2])|uint64(b[3])|uint64(b[4])|uint64(b[5])|uint64(b[6])|uint64(b[7]))&0x80 != 0 {
			return false
		}
		b = b[8:]
	}
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// shaper applies the character-level steps shared by both paths: trimming,
// separator collapsing and the collapsing of runs of three or more. It holds
// no pointer, so that the output buffer passed to put can stay on the
// caller's stack.
type shaper struct {
	start   int  // len(out) before this text
	keep    int  // len(out) after the last word character: the trailing trim point
	pending byte // the separator waiting to be written: 0, ' ' or '\n'
	last    rune // previous rune written; -1 after a separator
	run     int  // length of the run of last
}

func newShaper(dst []byte) shaper {
	return shaper{start: len(dst), keep: len(dst), last: -1}
}

// put appends r of the given class to out and returns out.
func (s *shaper) put(out []byte, r rune, class uint8) []byte {
	switch class {
	case cDrop:
		return out
	case cSep:
		if len(out) > s.start && s.pending != '\n' {
			s.pending = ' '
			if r == '\n' || r == '\r' || r == 0x85 || r == 0x2028 || r == 0x2029 {
				s.pending = '\n' // a line break is a sentence boundary
			}
		}
		s.last = -1
		return out
	case cPunct:
		if len(out) == s.start {
			return out // leading punctuation
		}
	}
	if s.pending != 0 {
		out = append(out, s.pending)
		s.pending = 0
	}
	if r == s.last && (r < '0' || r > '9') {
		s.run++
		if s.run == 3 {
			// A run of three or more becomes one: drop the second copy.
			out = out[:len(out)-utf8.RuneLen(r)]
			if class == cWord {
				s.keep = len(out)
			}
		}
		if s.run >= 3 {
			return out
		}
	} else {
		s.last, s.run = r, 1
	}
	if r < utf8.RuneSelf {
		out = append(out, byte(r))
	} else {
		out = utf8.AppendRune(out, r)
	}
	if class == cWord {
		s.keep = len(out)
	}
	return out
}

// done trims what follows the last word character.
func (s *shaper) done(out []byte) []byte { return out[:s.keep] }

// normalizeASCII is the shaping pass specialised to ASCII, which is
// already NFKC with nothing to strip: one table lookup per byte.
func normalizeASCII(dst, text []byte) []byte {
	start := len(dst)
	keep := start
	pending := byte(0)
	last, run := -1, 0
	for _, c := range text {
		class := asciiClass[c]
		switch class {
		case cDrop:
			continue
		case cSep:
			if len(dst) > start && pending != '\n' {
				pending = ' '
				if c == '\n' || c == '\r' {
					pending = '\n'
				}
			}
			last = -1
			continue
		case cPunct:
			if len(dst) == start {
				continue
			}
			if c == '`' {
				c = '\''
			}
		default:
			if c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
			}
		}
		if pending != 0 {
			dst = append(dst, pending)
			pending = 0
		}
		if int(c) == last && (c < '0' || c > '9') {
			if run++; run >= 3 {
				if run == 3 {
					dst = dst[:len(dst)-1]
					if class == cWord {
						keep = len(dst)
					}
				}
				continue
			}
		} else {
			last, run = int(c), 1
		}
		dst = append(dst, c)
		if class == cWord {
			keep = len(dst)
		}
	}
	return dst[:keep]
}

// normalizeUnicode is the general path: drop invisible characters and map
// apostrophe look-alikes, NFKC, fold case, strip the combining diacritics of
// NFD, recompose, then shape.
func normalizeUnicode(dst, text []byte) []byte {
	a := make([]byte, 0, len(text)+8)
	for i := 0; i < len(text); {
		r, n := utf8.DecodeRune(text[i:])
		i += n
		if isInvisible(r) {
			continue
		}
		a = utf8.AppendRune(a, apostrophe(r))
	}
	b := norm.NFKC.Append(make([]byte, 0, len(a)+len(a)/2), a...)
	a = a[:0]
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		i += n
		if isInvisible(r) {
			continue // NFKC can produce some (e.g. from compatibility forms)
		}
		a = appendFold(a, apostrophe(r)) // again: NFKC makes U+02BC from U+0149
	}
	b = norm.NFD.Append(b[:0], a...)
	a = a[:0]
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r < 0x0300 || r > 0x036F {
			a = append(a, b[i:i+n]...)
		}
		i += n
	}
	b = norm.NFC.Append(b[:0], a...)

	s := newShaper(dst)
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		i += n
		if r < utf8.RuneSelf {
			dst = s.put(dst, r, asciiClass[r])
		} else {
			dst = s.put(dst, r, unicodeClass(r))
		}
	}
	return s.done(dst)
}

// isInvisible reports the characters that are removed before anything
// else: format characters (zero-width space, joiners, soft hyphen, BOM,
// word joiner, bidi controls), controls that are not whitespace, and
// variation selectors.
func isInvisible(r rune) bool {
	if r < utf8.RuneSelf {
		return asciiClass[r] == cDrop
	}
	switch {
	case r >= 0xFE00 && r <= 0xFE0F, r >= 0xE0100 && r <= 0xE01EF:
		return true
	case r <= 0x9F:
		return r != 0x85 // C1 controls; NEL is whitespace and separates

	}
	return unicode.Is(unicode.Cf, r)
}

// apostrophe maps the characters people type for an apostrophe to U+0027.
func apostrophe(r rune) rune {
	switch r {
	case '`', 0x00B4, 0x02BC, 0x2018, 0x2019, 0x201B, 0x2032, 0xFF07:
		return '\''
	}
	return r
}

func appendFold(dst []byte, r rune) []byte {
	if r < utf8.RuneSelf {
		if r >= 'A' && r <= 'Z' {
			r += 'a' - 'A'
		}
		return append(dst, byte(r))
	}
	if r == 'ß' || r == 'ẞ' {
		return append(dst, "ss"...)
	}
	return utf8.AppendRune(dst, unicode.ToLower(unicode.ToUpper(r)))
}

func unicodeClass(r rune) uint8 {
	switch {
	case unicode.IsSpace(r), unicode.Is(unicode.Pd, r):
		return cSep
	case unicode.IsLetter(r), unicode.IsDigit(r), unicode.IsMark(r):
		return cWord
	case unicode.Is(unicode.Cf, r), unicode.Is(unicode.Cc, r):
		return cDrop
	}
	return cPunct
}
