package keywords

import (
	"bytes"
	"testing"
	"unicode/utf8"
)

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
