package pdu

import (
	"encoding/binary"
	"slices"
	"unicode/utf8"
)

// The GSM 03.38 (3GPP TS 23.038) default alphabet as SMPP carries it: one
// septet per octet, unpacked, with the extension table reached by the escape
// 0x1B. Both directions are tables so that a 160-character MO decodes in well
// under a microsecond without allocating.

const gsm7Escape = 0x1B

// gsm7Default maps a septet to its character. 0x1B is the escape; its entry,
// U+00A0, is what an escape followed by another escape shows (see
// appendGSM7Text).
var gsm7Default = [128]rune{
	'@', '£', '$', '¥', 'è', 'é', 'ù', 'ì', 'ò', 'Ç', '\n', 'Ø', 'ø', '\r', 'Å', 'å',
	'Δ', '_', 'Φ', 'Γ', 'Λ', 'Ω', 'Π', 'Ψ', 'Σ', 'Θ', 'Ξ', 0xA0, 'Æ', 'æ', 'ß', 'É',
	' ', '!', '"', '#', '¤', '%', '&', '\'', '(', ')', '*', '+', ',', '-', '.', '/',
	'0', '1', '2', '3', '4', '5', '6', '7', '8', '9', ':', ';', '<', '=', '>', '?',
	'¡', 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O',
	'P', 'Q', 'R', 'S', 'T', 'U', 'V', 'W', 'X', 'Y', 'Z', 'Ä', 'Ö', 'Ñ', 'Ü', '§',
	'¿', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o',
	'p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'x', 'y', 'z', 'ä', 'ö', 'ñ', 'ü', 'à',
}

// gsm7ExtTable maps the septet after an escape to its character; 0 where the
// extension table has none.
var gsm7ExtTable = [128]rune{
	0x0A: '\f', 0x14: '^', 0x28: '{', 0x29: '}', 0x2F: '\\',
	0x3C: '[', 0x3D: '~', 0x3E: ']', 0x40: '|', 0x65: '€',
}

// gsm7Enc8 maps a rune below 0x100 to its encoding: gsm7One|septet,
// gsm7Ext2|septet (escape + septet), or 0 when the alphabet lacks it.
var gsm7Enc8 [256]uint16

const (
	gsm7One  uint16 = 0x100
	gsm7Ext2 uint16 = 0x200
)

func init() {
	for i, r := range gsm7Default {
		if i != gsm7Escape && r < 0x100 {
			gsm7Enc8[r] = gsm7One | uint16(i)
		}
	}
	for i, r := range gsm7ExtTable {
		if r != 0 && r < 0x100 {
			gsm7Enc8[r] = gsm7Ext2 | uint16(i)
		}
	}
}

// gsm7Encode returns the encoding of r (see gsm7Enc8) or 0.
func gsm7Encode(r rune) uint16 {
	if r < 0x100 {
		if r < 0 {
			return 0
		}
		return gsm7Enc8[r]
	}
	switch r { // the Greek capitals and the euro sign, the only ones above 0xFF
	case 'Δ':
		return gsm7One | 0x10
	case 'Φ':
		return gsm7One | 0x12
	case 'Γ':
		return gsm7One | 0x13
	case 'Λ':
		return gsm7One | 0x14
	case 'Ω':
		return gsm7One | 0x15
	case 'Π':
		return gsm7One | 0x16
	case 'Ψ':
		return gsm7One | 0x17
	case 'Σ':
		return gsm7One | 0x18
	case 'Θ':
		return gsm7One | 0x19
	case 'Ξ':
		return gsm7One | 0x1A
	case '€':
		return gsm7Ext2 | 0x65
	}
	return 0
}

// appendRune appends r as UTF-8, with ASCII inline.
func appendRune(dst []byte, r rune) []byte {
	if r < utf8.RuneSelf {
		return append(dst, byte(r))
	}
	return utf8.AppendRune(dst, r)
}

// utf8Seq is a character as UTF-8 packed in a word: its octets from the low
// byte up, its length in the top byte (every character of the alphabet, and
// U+FFFD, lies in the BMP: at most three octets).
type utf8Seq uint32

func seqOf(r rune) utf8Seq {
	var b [4]byte
	n := utf8.EncodeRune(b[:], r)
	b[3] = byte(n)
	return utf8Seq(binary.LittleEndian.Uint32(b[:]))
}

// gsm7UTF8 and gsm7ExtUTF8 are the decode tables as UTF-8. Where the
// extension table has no character, gsm7ExtUTF8 holds the default-table
// character and its index in gsm7ExtBad is set (see appendGSM7Text).
var (
	gsm7UTF8, gsm7ExtUTF8 [128]utf8Seq
	gsm7ExtBad            [128]bool
	replacementUTF8       = seqOf(utf8.RuneError)
)

func init() {
	for i, r := range gsm7Default {
		gsm7UTF8[i] = seqOf(r)
		gsm7ExtUTF8[i] = gsm7UTF8[i]
		gsm7ExtBad[i] = true
		if e := gsm7ExtTable[i]; e != 0 {
			gsm7ExtUTF8[i] = seqOf(e)
			gsm7ExtBad[i] = false
		}
	}
}

// appendGSM7Text decodes unpacked GSM 03.38 septets.
//
// What the specification leaves to the receiver is decided the way a handset
// displays it, because a person's opt-out is what they saw on their screen:
//   - an escape followed by a septet the extension table lacks shows that
//     septet's default-table character (23.038 §6.2.1.1);
//   - an escape followed by another escape (reserved for a further extension
//     table) shows a space, written as U+00A0 as 23.038 does, and decoding
//     goes on after the pair.
//
// Both are not what EncodeText writes, so they also return ErrNotGSM7. An
// escape at the end or before an octet above 0x7F, and any octet above 0x7F,
// become U+FFFD with ErrNotGSM7; the rest is still decoded.
//
// It reserves three octets per septet (no septet yields more), then stores
// each character as one four-octet word whose spare octets the next character
// overwrites: per-character appends cost three times as much.
func appendGSM7Text(dst []byte, b []byte) ([]byte, error) {
	var err error
	dst = slices.Grow(dst, 3*len(b))
	n := len(dst)
	out := dst[:cap(dst)]
	for i := 0; i < len(b); i++ {
		c := b[i]
		var s utf8Seq
		switch {
		case c < 0x80 && c != gsm7Escape:
			s = gsm7UTF8[c]
			if s < 1<<25 { // one octet: the common case, stored alone
				out[n] = byte(s)
				n++
				continue
			}
		case c == gsm7Escape && i+1 < len(b) && b[i+1] < 0x80:
			i++
			c = b[i] & 0x7F
			s = gsm7ExtUTF8[c]
			if gsm7ExtBad[c] {
				err = ErrNotGSM7
			}
		default:
			s = replacementUTF8
			err = ErrNotGSM7
		}
		if n+4 <= len(out) {
			binary.LittleEndian.PutUint32(out[n:], uint32(s))
		} else { // the last character in exactly the room reserved
			out[n], out[n+1] = byte(s), byte(s>>8)
			if s>>24 == 3 {
				out[n+2] = byte(s >> 16)
			}
		}
		n += int(s >> 24)
	}
	return dst[:n], err
}

// appendGSM7 encodes s as unpacked GSM 03.38 septets, extension characters as
// the escape and their septet. On a character outside the alphabet (or invalid
// UTF-8) it returns dst as it was and ErrNotGSM7.
func appendGSM7(dst []byte, s string) ([]byte, error) {
	start := len(dst)
	for i := 0; i < len(s); {
		c := s[i]
		var e uint16
		n := 1
		if c < utf8.RuneSelf {
			e = gsm7Enc8[c] // ASCII: no rune decoding
		} else {
			var r rune
			if r, n = utf8.DecodeRuneInString(s[i:]); r == utf8.RuneError && n == 1 {
				return dst[:start], ErrNotGSM7
			}
			e = gsm7Encode(r)
		}
		switch {
		case e&gsm7One != 0:
			dst = append(dst, byte(e))
		case e&gsm7Ext2 != 0:
			dst = append(dst, gsm7Escape, byte(e))
		default:
			return dst[:start], ErrNotGSM7
		}
		i += n
	}
	return dst, nil
}

// GSM7Fit reports whether s can be sent in the GSM 03.38 default alphabet and
// how many septets it takes (an extension character takes two). When a
// character does not fit, ok is false, firstBad is that character
// (utf8.RuneError for invalid UTF-8) and septets counts the characters before
// it: the console shows which character forced UCS2.
func GSM7Fit(s string) (septets int, firstBad rune, ok bool) {
	for _, r := range s {
		e := gsm7Encode(r)
		switch {
		case e&gsm7One != 0:
			septets++
		case e&gsm7Ext2 != 0:
			septets += 2
		default:
			return septets, r, false
		}
	}
	return septets, 0, true
}
