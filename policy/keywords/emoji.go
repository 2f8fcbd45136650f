package keywords

import (
	"unicode"
	"unicode/utf8"
)

type emojiEntry struct {
	runes []rune // the entry without presentation selectors, skin tones and joiners
	text  string // as written
}

// emojiIgnored are the characters that change how an emoji looks but not
// what it says: variation selectors, skin-tone modifiers, zero-width joiner.
func emojiIgnored(r rune) bool {
	return r >= 0xFE00 && r <= 0xFE0F || r >= 0x1F3FB && r <= 0x1F3FF || r == 0x200D
}

func compileEmoji(s string) (emojiEntry, error) {
	if s == "" {
		return emojiEntry{}, ErrEmptyEntry
	}
	e := emojiEntry{text: s}
	nonASCII := false
	for _, r := range s {
		if emojiIgnored(r) {
			continue
		}
		if unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsSpace(r) {
			return emojiEntry{}, ErrEmoji
		}
		if r >= utf8.RuneSelf {
			nonASCII = true
		}
		e.runes = append(e.runes, r)
	}
	if !nonASCII {
		return emojiEntry{}, ErrEmoji
	}
	return e, nil
}

// emojiSkippable are the characters an emoji-only message may also hold.
func emojiSkippable(r rune) bool {
	return emojiIgnored(r) || unicode.IsSpace(r) || unicode.IsPunct(r) || isInvisible(r)
}

// scanEmoji reports whether text is only opt-out emoji (repeated, mixed,
// with spaces, punctuation, selectors and skin tones), and the index of the
// first opt-out emoji it holds anywhere, or -1.
func (m *Matcher) scanEmoji(text []byte) (only bool, hit int) {
	only, hit = true, -1
	seen := false
	for i := 0; i < len(text); {
		r, n := utf8.DecodeRune(text[i:])
		if emojiSkippable(r) {
			i += n
			continue
		}
		end, k := m.emojiAt(text, i)
		if k < 0 {
			only = false
			if r < utf8.RuneSelf && hit >= 0 {
				return false, hit
			}
			i += n
			continue
		}
		if hit < 0 {
			hit = k
		}
		seen = true
		i = end
	}
	return only && seen, hit
}

// emojiAt returns the end of the longest entry that begins at text[i:] and
// its index, or -1.
func (m *Matcher) emojiAt(text []byte, i int) (end, k int) {
	end, k = -1, -1
	for ei := range m.emoji {
		j, ok := i, true
		for _, want := range m.emoji[ei].runes {
			for j < len(text) {
				r, n := utf8.DecodeRune(text[j:])
				if !emojiIgnored(r) {
					break
				}
				j += n
			}
			if j >= len(text) {
				ok = false
				break
			}
			r, n := utf8.DecodeRune(text[j:])
			if r != want {
				ok = false
				break
			}
			j += n
		}
		if ok && j > end {
			end, k = j, ei
		}
	}
	return end, k
}
