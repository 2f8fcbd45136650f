package pdu

import (
	"errors"
	"unicode/utf16"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/transform"
)

// data_coding values of SMPP v3.4 (section 5.2.19).
const (
	CodingDefault  byte = 0x00 // SMSC default alphabet: GSM 03.38, one septet per octet
	CodingIA5      byte = 0x01 // IA5 (CCITT T.50) / ASCII
	CodingBinary   byte = 0x02 // octet unspecified (8-bit binary)
	CodingLatin1   byte = 0x03 // ISO-8859-1
	CodingBinary2  byte = 0x04 // octet unspecified (8-bit binary)
	CodingJIS      byte = 0x05 // JIS X 0208-1990
	CodingCyrillic byte = 0x06 // ISO-8859-5
	CodingHebrew   byte = 0x07 // ISO-8859-8
	CodingUCS2     byte = 0x08 // UCS2 (ISO/IEC-10646), sent as UTF-16BE
)

// Text codec errors.
var (
	ErrBinaryData   = errors.New("pdu: data_coding says binary data, not text")
	ErrCodingNotSup = errors.New("pdu: data_coding not supported as text")
	ErrOddUCS2      = errors.New("pdu: UCS2 text with an odd number of octets")
	ErrNotGSM7      = errors.New("pdu: text has characters outside the GSM 03.38 alphabet")
)

// alphabet is what a data_coding value means for text, after resolving the GSM
// 03.38 coding groups that some SMSCs send in place of SMPP's own values.
type alphabet uint8

const (
	alphaGSM7 alphabet = iota
	alphaASCII
	alphaLatin1
	alphaCyrillic
	alphaHebrew
	alphaUCS2
	alphaBinary
	alphaUnsupported
)

func alphabetOf(dc byte) alphabet {
	switch {
	case dc == CodingDefault:
		return alphaGSM7
	case dc == CodingIA5:
		return alphaASCII
	case dc == CodingLatin1:
		return alphaLatin1
	case dc == CodingCyrillic:
		return alphaCyrillic
	case dc == CodingHebrew:
		return alphaHebrew
	case dc == CodingUCS2:
		return alphaUCS2
	case dc == CodingBinary || dc == CodingBinary2:
		return alphaBinary
	case dc&0xF0 == 0xF0: // data coding / message class group
		if dc&0x04 != 0 {
			return alphaBinary
		}
		return alphaGSM7
	case dc >= 0xC0 && dc <= 0xDF: // message waiting indication, GSM 7-bit
		return alphaGSM7
	case dc >= 0xE0 && dc <= 0xEF: // message waiting indication, UCS2
		return alphaUCS2
	case dc >= 0x10 && dc <= 0x3F && dc&0x20 == 0: // general data coding, uncompressed
		switch (dc >> 2) & 0x03 {
		case 0:
			return alphaGSM7
		case 1:
			return alphaBinary
		case 2:
			return alphaUCS2
		}
	}
	return alphaUnsupported
}

// IsText reports whether data_coding dc carries text that DecodeText can read.
func IsText(dc byte) bool {
	a := alphabetOf(dc)
	return a != alphaBinary && a != alphaUnsupported
}

// DecodeText decodes user data (without its UDH) to UTF-8 according to
// data_coding. Characters that cannot be decoded become U+FFFD and the error
// says so, so that a caller looking for keywords still gets the rest. It is
// AppendText into a stack buffer, copied once into the string.
func DecodeText(dc byte, b []byte) (string, error) {
	var buf [3 * MaxShortMessage]byte
	out, err := AppendText(buf[:0], dc, b)
	return string(out), err
}

// AppendText appends user data ud (without its UDH) decoded to UTF-8 according
// to data_coding dc, and returns the extended slice. It allocates nothing when
// dst has room: 3·len(ud) octets always suffice.
//
//   - GSM 03.38 default alphabet (dc 0 and the GSM coding groups), one septet
//     per octet: see appendGSM7Text for escapes; an octet above 0x7F becomes
//     U+FFFD and the error is ErrNotGSM7, the rest still decoded;
//   - IA5/ASCII: an octet above 0x7F becomes U+FFFD;
//   - Latin-1, ISO-8859-5, ISO-8859-8: by table; an octet ISO-8859-8 leaves
//     undefined becomes U+FFFD;
//   - UCS2, read as UTF-16BE since handsets send emoji as surrogate pairs: an
//     unpaired surrogate becomes U+FFFD; an odd length decodes the even part
//     and returns ErrOddUCS2;
//   - binary data returns ErrBinaryData, other codings ErrCodingNotSup, with
//     dst unchanged.
func AppendText(dst []byte, dc byte, ud []byte) ([]byte, error) {
	switch alphabetOf(dc) {
	case alphaGSM7:
		return appendGSM7Text(dst, ud)
	case alphaASCII:
		for _, c := range ud {
			if c >= utf8.RuneSelf {
				dst = utf8.AppendRune(dst, utf8.RuneError)
				continue
			}
			dst = append(dst, c)
		}
		return dst, nil
	case alphaLatin1:
		for _, c := range ud {
			dst = appendRune(dst, rune(c))
		}
		return dst, nil
	case alphaCyrillic:
		return appendByTable(dst, &iso8859_5, ud), nil
	case alphaHebrew:
		return appendByTable(dst, &iso8859_8, ud), nil
	case alphaUCS2:
		return appendUCS2Text(dst, ud)
	case alphaBinary:
		return dst, ErrBinaryData
	}
	return dst, ErrCodingNotSup
}

// iso8859_5 and iso8859_8 map an octet to its rune (U+FFFD where the charset
// has none), built once from x/text's charmaps.
var iso8859_5, iso8859_8 [256]rune

func init() {
	for i := range 256 {
		iso8859_5[i] = charmap.ISO8859_5.DecodeByte(byte(i))
		iso8859_8[i] = charmap.ISO8859_8.DecodeByte(byte(i))
	}
}

func appendByTable(dst []byte, t *[256]rune, b []byte) []byte {
	for _, c := range b {
		dst = appendRune(dst, t[c])
	}
	return dst
}

// appendUCS2Text decodes UTF-16BE.
func appendUCS2Text(dst []byte, b []byte) ([]byte, error) {
	var err error
	if len(b)%2 != 0 {
		err = ErrOddUCS2
		b = b[:len(b)-1]
	}
	for i := 0; i < len(b); i += 2 {
		u := rune(b[i])<<8 | rune(b[i+1])
		switch {
		case u < utf8.RuneSelf:
			dst = append(dst, byte(u))
			continue
		case !utf16.IsSurrogate(u):
		case u < 0xDC00 && i+3 < len(b):
			// A high surrogate: a pair when a low one follows.
			if lo := rune(b[i+2])<<8 | rune(b[i+3]); lo >= 0xDC00 && lo <= 0xDFFF {
				u = utf16.DecodeRune(u, lo)
				i += 2
				break
			}
			u = utf8.RuneError
		default:
			u = utf8.RuneError
		}
		dst = utf8.AppendRune(dst, u)
	}
	return dst, err
}

// EncodeText encodes UTF-8 text for data_coding dc (GSM 03.38 unpacked, ASCII,
// Latin-1, Cyrillic, Hebrew or UCS2). A character the alphabet lacks is an error.
func EncodeText(dc byte, s string) ([]byte, error) {
	switch alphabetOf(dc) {
	case alphaGSM7:
		out, err := appendGSM7(make([]byte, 0, len(s)+8), s)
		if err != nil {
			return nil, err
		}
		return out, nil
	case alphaASCII:
		for i := 0; i < len(s); i++ {
			if s[i] > 0x7F {
				return nil, ErrCodingNotSup
			}
		}
		return []byte(s), nil
	case alphaLatin1:
		return encodeCharmap(charmap.ISO8859_1, s)
	case alphaCyrillic:
		return encodeCharmap(charmap.ISO8859_5, s)
	case alphaHebrew:
		return encodeCharmap(charmap.ISO8859_8, s)
	case alphaUCS2:
		return appendUCS2(make([]byte, 0, 2*len(s)), s), nil
	case alphaBinary:
		return nil, ErrBinaryData
	}
	return nil, ErrCodingNotSup
}

// appendUCS2 encodes s as UTF-16BE, characters above the BMP as surrogate
// pairs and invalid UTF-8 as U+FFFD.
func appendUCS2(dst []byte, s string) []byte {
	for _, r := range s {
		if r >= 0x10000 {
			hi, lo := utf16.EncodeRune(r)
			dst = append(dst, byte(hi>>8), byte(hi), byte(lo>>8), byte(lo))
			continue
		}
		dst = append(dst, byte(r>>8), byte(r))
	}
	return dst
}

func encodeCharmap(cm *charmap.Charmap, s string) ([]byte, error) {
	out, _, err := transform.Bytes(cm.NewEncoder(), []byte(s))
	if err != nil {
		return nil, ErrCodingNotSup
	}
	return out, nil
}

// EncodeBest encodes s in the GSM 03.38 default alphabet when every character is
// in it, else in UCS2, and returns the data_coding to send with it.
func EncodeBest(s string) (dc byte, b []byte) {
	if septets, _, ok := GSM7Fit(s); ok {
		b, _ = appendGSM7(make([]byte, 0, septets), s)
		return CodingDefault, b
	}
	return CodingUCS2, appendUCS2(make([]byte, 0, 2*len(s)), s)
}
