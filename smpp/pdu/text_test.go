package pdu

import (
	"bytes"
	"errors"
	"testing"
	"unicode/utf8"
)

// gsm7Basic is the GSM 03.38 (3GPP TS 23.038) default alphabet indexed by
// septet, written out independently of the codec; 0x1B is the escape to the
// extension table.
var gsm7Basic = [128]rune{
	'@', '£', '$', '¥', 'è', 'é', 'ù', 'ì', 'ò', 'Ç', '\n', 'Ø', 'ø', '\r', 'Å', 'å',
	'Δ', '_', 'Φ', 'Γ', 'Λ', 'Ω', 'Π', 'Ψ', 'Σ', 'Θ', 'Ξ', 0x1B, 'Æ', 'æ', 'ß', 'É',
	' ', '!', '"', '#', '¤', '%', '&', '\'', '(', ')', '*', '+', ',', '-', '.', '/',
	'0', '1', '2', '3', '4', '5', '6', '7', '8', '9', ':', ';', '<', '=', '>', '?',
	'¡', 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O',
	'P', 'Q', 'R', 'S', 'T', 'U', 'V', 'W', 'X', 'Y', 'Z', 'Ä', 'Ö', 'Ñ', 'Ü', '§',
	'¿', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o',
	'p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'x', 'y', 'z', 'ä', 'ö', 'ñ', 'ü', 'à',
}

// gsm7Ext is the extension table: 0x1B followed by the key.
var gsm7Ext = map[byte]rune{
	0x0A: '\f', 0x14: '^', 0x28: '{', 0x29: '}', 0x2F: '\\',
	0x3C: '[', 0x3D: '~', 0x3E: ']', 0x40: '|', 0x65: '€',
}

// gsm7Want returns the unpacked GSM 03.38 encoding of r, or false when the
// alphabet lacks it.
func gsm7Want(r rune) ([]byte, bool) {
	for i, c := range gsm7Basic {
		if c == r && i != 0x1B {
			return []byte{byte(i)}, true
		}
	}
	for k, c := range gsm7Ext {
		if c == r {
			return []byte{0x1B, k}, true
		}
	}
	return nil, false
}

func TestGSM7EncodeEveryRune(t *testing.T) {
	// Every rune of the BMP's first 0x3000 code points and a few beyond: the
	// encoder takes exactly the alphabet and refuses everything else with
	// ErrNotGSM7, never substituting a character.
	runes := []rune{0x1F6D1, 0x1F600, 0xFFFD, 0xFEFF, 0x200B, 0x10FFFF}
	for r := rune(0); r < 0x3000; r++ {
		if r < 0xD800 || r > 0xDFFF {
			runes = append(runes, r)
		}
	}
	accepted := 0
	for _, r := range runes {
		got, err := EncodeText(CodingDefault, string(r))
		want, ok := gsm7Want(r)
		if !ok {
			if err != ErrNotGSM7 || got != nil {
				t.Errorf("EncodeText(%U %q) = %x, %v; want ErrNotGSM7", r, r, got, err)
			}
			continue
		}
		accepted++
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("EncodeText(%U %q) = %x, %v; want %x", r, r, got, err, want)
		}
	}
	if accepted != 127+len(gsm7Ext) {
		t.Errorf("accepted %d runes, the alphabet has %d", accepted, 127+len(gsm7Ext))
	}
}

func TestGSM7DecodeEverySeptet(t *testing.T) {
	for b := 0; b < 0x80; b++ {
		if b == 0x1B {
			continue
		}
		got, err := DecodeText(CodingDefault, []byte{byte(b)})
		if err != nil || got != string(gsm7Basic[b]) {
			t.Errorf("septet %#02x = %q, %v; want %q", b, got, err, gsm7Basic[b])
		}
	}
	for k, r := range gsm7Ext {
		got, err := DecodeText(CodingDefault, []byte{0x1B, k})
		if err != nil || got != string(r) {
			t.Errorf("escape %#02x = %q, %v; want %q", k, got, err, r)
		}
	}
	for b := 0x80; b < 0x100; b++ {
		got, err := DecodeText(CodingDefault, []byte{'A', byte(b), 'B'})
		if got != "A\uFFFDB" || !errors.Is(err, ErrNotGSM7) {
			t.Errorf("octet %#02x = %q, %v; want A\\uFFFDB and ErrNotGSM7", b, got, err)
		}
	}
}

func TestTextCodecs(t *testing.T) {
	tests := []struct {
		name string
		dc   byte
		text string
		wire string // hex
	}{
		{"GSM7 plain", CodingDefault, "STOP", "53544f50"},
		{"GSM7 escapes € [ ] { }", CodingDefault, "€[]{}", "1b65 1b3c 1b3e 1b28 1b29"},
		{"GSM7 escapes ~ | ^ \\ form feed", CodingDefault, "~|^\\\f", "1b3d 1b40 1b14 1b2f 1b0a"},
		{"GSM7 accents and Greek", CodingDefault, "é@ΔΩ£", "05 00 10 15 01"},
		{"GSM7 via coding group 0xF0", 0xF0, "Hi", "4869"},
		{"GSM7 via coding group 0xF3", 0xF3, "Hi", "4869"},
		{"GSM7 via general group 0x10", 0x10, "Hi", "4869"},
		{"GSM7 via message waiting 0xC0", 0xC0, "Hi", "4869"},
		{"GSM7 via message waiting 0xD8", 0xD8, "Hi", "4869"},
		{"IA5", CodingIA5, "Hello {~}", "48656c6c6f207b7e7d"},
		{"Latin-1 é", CodingLatin1, "café", "636166e9"},
		{"Cyrillic ISO-8859-5", CodingCyrillic, "Привет", "bfe0d8d2d5e2"},
		{"Hebrew ISO-8859-8", CodingHebrew, "שלום", "f9ece5ed"},
		{"UCS2 BMP", CodingUCS2, "Hé", "0048 00e9"},
		{"UCS2 emoji surrogate pair 🛑", CodingUCS2, "Hi 🛑", "0048 0069 0020 d83d ded1"},
		{"UCS2 via general group 0x18", 0x18, "🛑", "d83dded1"},
		{"UCS2 via message waiting 0xE0", 0xE0, "Да", "0414 0430"},
		{"UCS2 via message waiting 0xEF", 0xEF, "A", "0041"},
		{"empty GSM7", CodingDefault, "", ""},
		{"empty UCS2", CodingUCS2, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wire := unhex(t, tc.wire)
			got, err := DecodeText(tc.dc, wire)
			if err != nil || got != tc.text {
				t.Errorf("DecodeText = %q, %v; want %q", got, err, tc.text)
			}
			enc, err := EncodeText(tc.dc, tc.text)
			if err != nil || !bytes.Equal(enc, wire) {
				t.Errorf("EncodeText = %x, %v; want %x", enc, err, wire)
			}
			if !IsText(tc.dc) {
				t.Errorf("IsText(%#02x) = false", tc.dc)
			}
		})
	}
}

func TestTextDecodeFaults(t *testing.T) {
	tests := []struct {
		name string
		dc   byte
		wire string
		text string
		err  error // nil: no error is asserted
	}{
		{"GSM7 lone escape at the end", CodingDefault, "41 1b", "A\uFFFD", ErrNotGSM7},
		{"GSM7 escape to an undefined extension shows the default character", CodingDefault, "1b 41 1b 53 1b 54 1b 4f 1b 50", "ASTOP", ErrNotGSM7},
		{"GSM7 escape to the reserved further extension shows a space", CodingDefault, "53 1b 1b 54", "S\u00a0T", ErrNotGSM7},
		{"GSM7 escape before an octet above 0x7F", CodingDefault, "1b 80 41", "\uFFFD\uFFFDA", ErrNotGSM7},
		{"GSM7 escape pairs decode left to right", CodingDefault, "1b 1b 65", "\u00a0e", ErrNotGSM7},
		{"GSM7 octet above 0x7F", CodingDefault, "ff", "\uFFFD", ErrNotGSM7},
		{"GSM7 keeps the good characters around bad ones", CodingDefault, "53 80 54 4f 50", "S\uFFFDTOP", ErrNotGSM7},
		{"UCS2 odd length drops the last octet", CodingUCS2, "0053 00", "S", ErrOddUCS2},
		{"UCS2 one octet", CodingUCS2, "00", "", ErrOddUCS2},
		{"UCS2 lone high surrogate", CodingUCS2, "d83d 0041", "\uFFFDA", nil},
		{"UCS2 lone low surrogate", CodingUCS2, "ded1", "\uFFFD", nil},
		{"IA5 octet above 0x7F", CodingIA5, "41 e9", "A\uFFFD", nil},
		{"Hebrew undefined octet", CodingHebrew, "bf", "\uFFFD", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecodeText(tc.dc, unhex(t, tc.wire))
			if got != tc.text {
				t.Errorf("DecodeText = %q, want %q", got, tc.text)
			}
			if tc.err != nil && !errors.Is(err, tc.err) {
				t.Errorf("err = %v, want %v", err, tc.err)
			}
			if !utf8.ValidString(got) {
				t.Errorf("invalid UTF-8 %q", got)
			}
		})
	}
}

func TestTextEncodeRefusals(t *testing.T) {
	tests := []struct {
		name string
		dc   byte
		text string
		err  error
	}{
		{"GSM7 ç is not in the alphabet", CodingDefault, "ça va", ErrNotGSM7},
		{"GSM7 emoji", CodingDefault, "STOP 🛑", ErrNotGSM7},
		{"GSM7 Cyrillic", CodingDefault, "Стоп", ErrNotGSM7},
		{"GSM7 backtick", CodingDefault, "`", ErrNotGSM7},
		{"GSM7 no-break space", CodingDefault, "a\u00a0b", ErrNotGSM7},
		{"GSM7 invalid UTF-8", CodingDefault, "ab\xffcd", ErrNotGSM7},
		{"IA5 é", CodingIA5, "é", ErrCodingNotSup},
		{"Latin-1 €", CodingLatin1, "5€", ErrCodingNotSup},
		{"Cyrillic Latin-1 é", CodingCyrillic, "é", ErrCodingNotSup},
		{"Hebrew Cyrillic", CodingHebrew, "Да", ErrCodingNotSup},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := EncodeText(tc.dc, tc.text)
			if !errors.Is(err, tc.err) || b != nil {
				t.Errorf("EncodeText = %x, %v; want nil, %v", b, err, tc.err)
			}
		})
	}
}

func TestTextBinaryAndUnsupportedCodings(t *testing.T) {
	tests := []struct {
		dc  byte
		err error
	}{
		{CodingBinary, ErrBinaryData},
		{CodingBinary2, ErrBinaryData},
		{0xF4, ErrBinaryData}, // coding group 1111, 8-bit data
		{0xF7, ErrBinaryData},
		{0x14, ErrBinaryData}, // general group, 8-bit data
		{CodingJIS, ErrCodingNotSup},
		{0x09, ErrCodingNotSup}, // pictogram
		{0x0A, ErrCodingNotSup}, // ISO-2022-JP
		{0x0D, ErrCodingNotSup}, // extended kanji
		{0x0E, ErrCodingNotSup}, // KS C 5601
		{0x1C, ErrCodingNotSup}, // general group, reserved alphabet
		{0x20, ErrCodingNotSup}, // general group, compressed
		{0x80, ErrCodingNotSup}, // reserved groups
		{0xBF, ErrCodingNotSup},
	}
	for _, tc := range tests {
		if IsText(tc.dc) {
			t.Errorf("IsText(%#02x) = true", tc.dc)
		}
		if s, err := DecodeText(tc.dc, []byte("AB")); s != "" || err != tc.err {
			t.Errorf("DecodeText(%#02x) = %q, %v; want %v", tc.dc, s, err, tc.err)
		}
		if b, err := EncodeText(tc.dc, "AB"); b != nil || err != tc.err {
			t.Errorf("EncodeText(%#02x) = %x, %v; want %v", tc.dc, b, err, tc.err)
		}
	}
}

func TestEncodeBest(t *testing.T) {
	tests := []struct {
		text string
		dc   byte
		wire string
	}{
		{"Reply STOP to opt out", CodingDefault, "5265706c792053544f5020746f206f7074206f7574"},
		{"€5 {ok}", CodingDefault, "1b6535201b286f6b1b29"},
		{"", CodingDefault, ""},
		{"Привет", CodingUCS2, "041f 0440 0438 0432 0435 0442"},
		{"ok 🛑", CodingUCS2, "006f 006b 0020 d83d ded1"},
		{"ça", CodingUCS2, "00e7 0061"},
	}
	for _, tc := range tests {
		dc, b := EncodeBest(tc.text)
		if dc != tc.dc || !bytes.Equal(b, unhex(t, tc.wire)) {
			t.Errorf("EncodeBest(%q) = %#02x %x; want %#02x %s", tc.text, dc, b, tc.dc, tc.wire)
		}
		if back, err := DecodeText(dc, b); err != nil || back != tc.text {
			t.Errorf("EncodeBest(%q) decodes back to %q, %v", tc.text, back, err)
		}
	}
}
