package keywords

import (
	"unicode"
	"unicode/utf8"
)

// asciiWord marks the ASCII bytes that belong to words.
var asciiWord = func() (t [256]bool) {
	for c := range utf8.RuneSelf {
		t[c] = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '*' || c == '\''
	}
	return t
}()

// span is one token: normalized[start:end].
type span struct{ start, end int32 }

// maxKey bounds a token's key; longer tokens are no word of any list.
const maxKey = 64

// tokenize splits normalized text into words: runs of letters, digits,
// marks, asterisks ("f**k") and apostrophes. An apostrophe after a French
// elided article or pronoun (l' d' m' n' j' t' s' c' qu') ends a word
// ("m'envoyez" → "m" "envoyez"); any other is dropped from the key
// ("don't" → "dont"). Everything else separates words.
func tokenize(spans []span, text []byte) []span {
	start := -1
	for i := 0; i < len(text); {
		c := text[i]
		word, n := false, 1
		if c < utf8.RuneSelf {
			word = asciiWord[c]
		} else {
			var r rune
			r, n = utf8.DecodeRune(text[i:])
			word = unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r)
		}
		switch {
		case !word:
			if start >= 0 {
				spans = append(spans, span{int32(start), int32(i)})
				start = -1
			}
		case start < 0:
			start = i
		case c == '\'' && elided(text[start:i]):
			spans = append(spans, span{int32(start), int32(i)})
			start = i + 1
		}
		i += n
	}
	if start >= 0 {
		spans = append(spans, span{int32(start), int32(len(text))})
	}
	return spans
}

func elided(w []byte) bool {
	switch len(w) {
	case 1:
		switch w[0] {
		case 'l', 'd', 'm', 'n', 'j', 't', 's', 'c':
			return true
		}
	case 2:
		return w[0] == 'q' && w[1] == 'u'
	}
	return false
}

// appendKey appends the lookup key of token w: apostrophes dropped, edge
// asterisks trimmed, and every run of a repeated character other than a
// digit squeezed to one ("stopp" and "stop" share a key, as do "off" and
// "of"). It returns dst unchanged when the key would be empty.
func appendKey(dst, w []byte) []byte {
	for len(w) > 0 && (w[0] == '*' || w[0] == '\'') {
		w = w[1:]
	}
	for len(w) > 0 && (w[len(w)-1] == '*' || w[len(w)-1] == '\'') {
		w = w[:len(w)-1]
	}
	last := rune(-1)
	for i := 0; i < len(w); {
		c := w[i]
		if c < utf8.RuneSelf {
			i++
			if c == '\'' {
				continue
			}
			if rune(c) == last && (c < '0' || c > '9') {
				continue
			}
			last = rune(c)
			dst = append(dst, c)
			continue
		}
		r, n := utf8.DecodeRune(w[i:])
		if r != last {
			dst = append(dst, w[i:i+n]...)
			last = r
		}
		i += n
	}
	return dst
}
