package pdu

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/fiorix/go-smpp/smpp/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/transform"
)

func TestAppendTextKeepsPrefixAndMatchesDecodeText(t *testing.T) {
	tests := []struct {
		dc   byte
		ud   string // hex
		want string
		err  error
	}{
		{CodingDefault, "53544f50 1b65 1b", "STOP€\uFFFD", ErrNotGSM7},
		{CodingIA5, "41 e9", "A\uFFFD", nil},
		{CodingLatin1, "636166e9", "café", nil},
		{CodingCyrillic, "bfe0d8d2d5e2", "Привет", nil},
		{CodingHebrew, "f9ece5ed bf", "שלום\uFFFD", nil},
		{CodingUCS2, "d83d ded1 d83d 0041 00", "🛑\uFFFDA", ErrOddUCS2},
		{CodingBinary, "0102", "", ErrBinaryData},
		{CodingJIS, "0102", "", ErrCodingNotSup},
	}
	for _, tc := range tests {
		ud := unhex(t, tc.ud)
		got, err := AppendText([]byte("pre:"), tc.dc, ud)
		if string(got) != "pre:"+tc.want || err != tc.err {
			t.Errorf("AppendText(%#02x, %s) = %q, %v; want %q, %v", tc.dc, tc.ud, got, err, "pre:"+tc.want, tc.err)
		}
		if s, err2 := DecodeText(tc.dc, ud); s != tc.want || err2 != tc.err {
			t.Errorf("DecodeText(%#02x, %s) = %q, %v", tc.dc, tc.ud, s, err2)
		}
	}
}

func TestAppendTextEvery8BitOctet(t *testing.T) {
	// The tables agree with x/text's charmaps octet for octet.
	for _, tc := range []struct {
		dc   byte
		want func(b byte) rune
	}{
		{CodingLatin1, func(b byte) rune { return rune(b) }},
		{CodingCyrillic, func(b byte) rune { return decodeWith(t, charmap.ISO8859_5, b) }},
		{CodingHebrew, func(b byte) rune { return decodeWith(t, charmap.ISO8859_8, b) }},
		{CodingIA5, func(b byte) rune {
			if b > 0x7F {
				return utf8.RuneError
			}
			return rune(b)
		}},
	} {
		for b := range 256 {
			got, err := AppendText(nil, tc.dc, []byte{byte(b)})
			if want := string(tc.want(byte(b))); string(got) != want || err != nil {
				t.Errorf("dc %#02x octet %#02x = %q, %v; want %q", tc.dc, b, got, err, want)
			}
		}
	}
}

func decodeWith(t *testing.T, cm *charmap.Charmap, b byte) rune {
	out, _, err := transform.Bytes(cm.NewDecoder(), []byte{b})
	if err != nil {
		t.Fatal(err)
	}
	r, _ := utf8.DecodeRune(out)
	return r
}

func TestAppendTextNoAllocs(t *testing.T) {
	inputs := []struct {
		name string
		dc   byte
		ud   []byte
	}{
		{"GSM7", CodingDefault, mustEncode(t, CodingDefault, strings.Repeat("Stop [now] €5 ", 12)[:160])},
		{"GSM7 faults", CodingDefault, []byte{0x1B, 0x41, 0x80, 0x1B, 0x1B, 0x1B}},
		{"GSM7 ending in a two-octet character", CodingDefault, []byte{0x41, 0x05}},
		{"GSM7 ending in a three-octet character", CodingDefault, []byte{0x10, 0x1B, 0x65}},
		{"IA5", CodingIA5, []byte("STOP\xe9")},
		{"Latin-1", CodingLatin1, mustEncode(t, CodingLatin1, "arrêtez")},
		{"Cyrillic", CodingCyrillic, mustEncode(t, CodingCyrillic, "Стоп")},
		{"Hebrew", CodingHebrew, mustEncode(t, CodingHebrew, "עצור")},
		{"UCS2", CodingUCS2, mustEncode(t, CodingUCS2, "Arrêtez 🛑 please")},
		{"UCS2 odd, lone surrogate", CodingUCS2, []byte{0xD8, 0x3D, 0x00, 0x41, 0x00}},
		{"binary", CodingBinary, []byte{1, 2}},
		{"unsupported", CodingJIS, []byte{1, 2}},
	}
	for _, in := range inputs {
		dst := make([]byte, 0, 3*len(in.ud))
		if n := testing.AllocsPerRun(100, func() { dst, _ = AppendText(dst[:0], in.dc, in.ud) }); n != 0 {
			t.Errorf("%s: %v allocations", in.name, n)
		}
		// In exactly the room promised, the output is what a roomy buffer gets.
		if want, _ := DecodeText(in.dc, in.ud); string(dst) != want {
			t.Errorf("%s: %q in a tight buffer, %q in a roomy one", in.name, dst, want)
		}
	}
}

func mustEncode(t testing.TB, dc byte, s string) []byte {
	t.Helper()
	b, err := EncodeText(dc, s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestGSM7Fit(t *testing.T) {
	tests := []struct {
		s        string
		septets  int
		firstBad rune
		ok       bool
	}{
		{"", 0, 0, true},
		{"STOP", 4, 0, true},
		{"€5 {ok}", 7 + 3, 0, true},
		{"Ελλάδα", 0, 'Ε', false}, // the alphabet has only the Greek capitals unlike Latin ones
		{"ΣΟΣ", 1, 'Ο', false},
		{"ΔΦΓΛΩΠΨΣΘΞ", 10, 0, true},
		{"ok ça", 3, 'ç', false},
		{"Hi 🛑", 3, '🛑', false},
		{"ab\xffcd", 2, utf8.RuneError, false},
		{"a\u00a0b", 1, 0xA0, false},
		{"line\r\nfeed\f", 11 + 1, 0, true},
		{"`", 0, '`', false},
	}
	for _, tc := range tests {
		septets, bad, ok := GSM7Fit(tc.s)
		if septets != tc.septets || bad != tc.firstBad || ok != tc.ok {
			t.Errorf("GSM7Fit(%q) = %d, %q, %v; want %d, %q, %v", tc.s, septets, bad, ok, tc.septets, tc.firstBad, tc.ok)
		}
		enc, err := EncodeText(CodingDefault, tc.s)
		if ok != (err == nil) || (ok && len(enc) != septets) {
			t.Errorf("GSM7Fit(%q) ok %v %d septets, EncodeText %d octets, %v", tc.s, ok, septets, len(enc), err)
		}
	}
	if n := testing.AllocsPerRun(100, func() { GSM7Fit("Reply STOP to opt out, {HELP} for help €") }); n != 0 {
		t.Errorf("GSM7Fit: %v allocations", n)
	}
}

// TestGSM7AgreesWithGoSMPP checks the tables against the go-smpp codec they
// replace, on random text from the whole alphabet.
func TestGSM7AgreesWithGoSMPP(t *testing.T) {
	var alphabet []rune
	for i, r := range gsm7Default {
		if i != gsm7Escape {
			alphabet = append(alphabet, r)
		}
	}
	for _, r := range gsm7ExtTable {
		if r != 0 {
			alphabet = append(alphabet, r)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		rs := make([]rune, rng.IntN(200))
		for i := range rs {
			rs[i] = alphabet[rng.IntN(len(alphabet))]
		}
		s := string(rs)
		want, _, err := transform.Bytes(encoding.GSM7(false).NewEncoder(), []byte(s))
		if err != nil {
			t.Fatalf("go-smpp refuses %q: %v", s, err)
		}
		got, err := EncodeText(CodingDefault, s)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("EncodeText(%q) = %x, %v; go-smpp %x", s, got, err, want)
		}
		back, _, err := transform.Bytes(encoding.GSM7(false).NewDecoder(), want)
		if err != nil {
			t.Fatal(err)
		}
		if dec, err := AppendText(nil, CodingDefault, want); err != nil || !bytes.Equal(dec, back) {
			t.Fatalf("AppendText(%x) = %q, %v; go-smpp %q", want, dec, err, back)
		}
	}
}

func FuzzAppendText(f *testing.F) {
	for _, dc := range []byte{0x00, 0x01, 0x02, 0x03, 0x06, 0x07, 0x08, 0x10, 0x18, 0xC0, 0xE0, 0xF0, 0xF4} {
		f.Add(dc, []byte("STOP"))
	}
	f.Add(byte(0), []byte{0x1b, 0x65, 0x1b, 0x1b, 0x1b, 0x41, 0x1b})
	f.Add(byte(0), []byte("€[]{}~|^\\\f"))
	f.Add(byte(8), []byte{0xd8, 0x3d, 0xde, 0xd1, 0x00})
	f.Add(byte(8), []byte{0xdc, 0x00, 0xd8, 0x00})
	f.Add(byte(8), []byte("Arr\xc3\xaatez \xf0\x9f\x9b\x91"))
	f.Fuzz(func(t *testing.T, dc byte, b []byte) {
		out, err := AppendText([]byte{'>'}, dc, b)
		if len(out) == 0 || out[0] != '>' {
			t.Fatalf("prefix lost: %q", out)
		}
		s := out[1:]
		if !utf8.Valid(s) {
			t.Fatalf("invalid UTF-8 %q", s)
		}
		if len(s) > 3*len(b) {
			t.Fatalf("%d octets from %d: more than the 3 per octet the doc promises", len(s), len(b))
		}
		a := alphabetOf(dc)
		if !IsText(dc) {
			if len(s) != 0 || (err != ErrBinaryData && err != ErrCodingNotSup) {
				t.Fatalf("non-text dc %#02x: %q, %v", dc, s, err)
			}
			return
		}
		if a != alphaGSM7 && a != alphaUCS2 {
			return
		}
		// Wire octets that decode cleanly encode back to themselves.
		if err == nil && !bytes.ContainsRune(s, utf8.RuneError) {
			back, err := EncodeText(dc, string(s))
			if err != nil || !bytes.Equal(back, b) {
				t.Fatalf("dc %#02x: %x decodes to %q, which encodes to %x, %v", dc, b, s, back, err)
			}
		}
		// Text that EncodeText accepts decodes back to itself.
		if enc, err := EncodeText(dc, string(b)); err == nil && utf8.Valid(b) {
			dec, err := AppendText(nil, dc, enc)
			if err != nil || !bytes.Equal(dec, b) {
				t.Fatalf("dc %#02x: %q encodes to %x, which decodes to %q, %v", dc, b, enc, dec, err)
			}
		}
	})
}
