package keywords

import (
	"strings"
	"testing"
)

var (
	benchKeyword = []byte("STOP")
	bench160     = []byte("Hi Sarah, thanks for the update on the order. Could you send the invoice to my office address and confirm the delivery window for Thursday? Kind regards, Tom W.")
	benchIntent  = []byte("Thanks for letting me know, but please stop texting me about this offer.")
	benchUnicode = []byte("Merci pour votre message, mais ne m’envoyez plus de messages s’il vous plaît 🙏")
)

func mustDefault(tb testing.TB) *Matcher {
	tb.Helper()
	m, err := Compile(Options{Lists: Defaults(), Emoji: DefaultEmoji(), Numeric: true})
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

func benchClassify(b *testing.B, text []byte) {
	m := mustDefault(b)
	b.ReportAllocs()
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		m.Classify(text)
	}
}

func BenchmarkClassifyKeyword(b *testing.B)  { benchClassify(b, benchKeyword) }
func BenchmarkClassify160ASCII(b *testing.B) { benchClassify(b, bench160) }
func BenchmarkClassifyIntent(b *testing.B)   { benchClassify(b, benchIntent) }
func BenchmarkClassifyUnicode(b *testing.B)  { benchClassify(b, benchUnicode) }
func BenchmarkNormalize160ASCII(b *testing.B) {
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	b.SetBytes(int64(len(bench160)))
	for b.Loop() {
		buf = Normalize(buf[:0], bench160)
	}
}

// TestAllocsASCII holds Classify to zero allocations on ASCII messages up to
// the stack buffer's size, whatever the result.
func TestAllocsASCII(t *testing.T) {
	if len(bench160) != 160 {
		t.Fatalf("bench160 is %d bytes, want 160", len(bench160))
	}
	m := mustDefault(t)
	for _, s := range []string{string(benchKeyword), string(bench160), string(benchIntent),
		"please don't stop texting me", "STOP STOP", "s t o p", "can we end the meeting early", "2",
		"I can't stop laughing, but seriously stop texting me", strings.Repeat("stop by ", 60)} {
		text := []byte(s)
		if n := testing.AllocsPerRun(100, func() { m.Classify(text) }); n != 0 {
			t.Errorf("Classify(%q): %v allocs, want 0", s, n)
		}
		if n := testing.AllocsPerRun(100, func() { m.ClassifyString(s) }); n != 0 {
			t.Errorf("ClassifyString(%q): %v allocs, want 0", s, n)
		}
	}
}

// BenchmarkBaselineLower160 is the yardstick for the figures above: a plain
// byte-wise lowercase copy of the same 160 bytes. On a shared machine the
// ratio of a Classify benchmark to this one, measured in the same run, says
// more than either number alone.
func BenchmarkBaselineLower160(b *testing.B) {
	var dst [512]byte
	b.ReportAllocs()
	b.SetBytes(int64(len(bench160)))
	for b.Loop() {
		for i, c := range bench160 {
			if c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
			}
			dst[i] = c
		}
	}
	sinkByte = dst[len(bench160)-1]
}

var sinkByte byte
