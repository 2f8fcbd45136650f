package keywords

import (
	"bytes"
	"testing"
	"unicode/utf8"
)

// clip bounds fuzz inputs to the length of a long reassembled MO (6 × 153
// GSM characters, UCS2-sized), which keeps every iteration fast.
func clip(b []byte) []byte {
	if len(b) > 1024 {
		return b[:1024]
	}
	return b
}

var fuzzSeeds = []string{
	"STOP", "stop!!!", "¡Alto!", "«arrêt»", "ＳＴＯＰ", "s\u200bt\u00adop", "🛑🛑", "⛔️", "🖕🏽",
	"please don't stop texting me", "ne m’envoyez plus de messages", "no más mensajes", "f*** off",
	"ᄀᄀᄀ가", "e\u0301\u0301\u0301", "a\u200b\u0308", "\xff\xfe", "  2. ", "Straße", "ǅ", "ﷺ",
	"I can't stop laughing, but stop texting me", "STOP STOP STOP", "s t o p",
}

func FuzzNormalize(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, text []byte) {
		text = clip(text)
		n := Normalize(nil, text)
		if !utf8.Valid(n) {
			t.Fatalf("Normalize(%q) = %q: not valid UTF-8", text, n)
		}
		if again := Normalize(nil, n); !bytes.Equal(again, n) {
			t.Fatalf("Normalize not idempotent: %q -> %q -> %q", text, n, again)
		}
		if isASCII(text) {
			// The general path must agree with the ASCII fast path.
			if u := normalizeUnicode(nil, text); !bytes.Equal(u, n) {
				t.Fatalf("paths disagree on %q: ascii %q, unicode %q", text, n, u)
			}
		}
		// Appending keeps what dst held.
		pre := []byte("x")
		if got := Normalize(pre, text); !bytes.Equal(got[:1], pre) || !bytes.Equal(got[1:], n) {
			t.Fatalf("Normalize with a prefix: %q", got)
		}
	})
}

var fuzzMatcher = func() *Matcher {
	m, err := Compile(Options{Lists: Defaults(), Emoji: DefaultEmoji(), Numeric: true})
	if err != nil {
		panic(err)
	}
	return m
}()

// FuzzClassify: Classify never panics, returns a known class, and a keyword
// wrapped in punctuation and whitespace taken from the input keeps its
// class.
func FuzzClassify(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	kws := []string{"STOP", "unsubscribe", "Opt-Out", "arrêt", "ALTO", "YES", "sí", "HELP", "aide", "STOP ALL"}
	wrapClass := make([]Class, len(kws))
	for i, k := range kws {
		wrapClass[i] = fuzzMatcher.ClassifyString(k).Class
	}
	f.Fuzz(func(t *testing.T, text []byte) {
		text = clip(text)
		r := fuzzMatcher.Classify(text)
		if r.Class > PossibleOptOut || r.Rule > RuleNegative {
			t.Fatalf("Classify(%q) = %+v", text, r)
		}
		if (r.Class == None) != (r.Rule == RuleNone || r.Rule == RuleNegative) {
			t.Fatalf("Classify(%q) = %+v: class and rule disagree", text, r)
		}
		// Wrap a keyword in the input's punctuation and whitespace.
		var pre, post []byte
		for _, c := range text {
			if c < 0x80 && asciiClass[c] != cWord && c != '\'' && c != '*' {
				if len(pre) <= len(post) {
					pre = append(pre, c)
				} else {
					post = append(post, c)
				}
			}
		}
		i := len(text) % len(kws)
		w := append(append(append([]byte{}, pre...), kws[i]...), post...)
		if got := fuzzMatcher.Classify(w); got.Class != wrapClass[i] {
			t.Fatalf("Classify(%q) = %v, want %v like %q", w, got.Class, wrapClass[i], kws[i])
		}
	})
}
