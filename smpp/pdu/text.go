package pdu

import (
	"errors"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/fiorix/go-smpp/smpp/encoding"
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
// says so, so that a caller looking for keywords still gets the rest.
func DecodeText(dc byte, b []byte) (string, error) {
	switch alphabetOf(dc) {
	case alphaGSM7:
		return decodeGSM7(b)
	case alphaASCII:
		var sb strings.Builder
		sb.Grow(len(b))
		for _, c := range b {
			if c > 0x7F {
				sb.WriteRune(utf8.RuneError)
				continue
			}
			sb.WriteByte(c)
		}
		return sb.String(), nil
	case alphaLatin1:
		return decodeCharmap(charmap.ISO8859_1, b)
	case alphaCyrillic:
		return decodeCharmap(charmap.ISO8859_5, b)
	case alphaHebrew:
		return decodeCharmap(charmap.ISO8859_8, b)
	case alphaUCS2:
		return decodeUCS2(b)
	case alphaBinary:
		return "", ErrBinaryData
	}
	return "", ErrCodingNotSup
}

func decodeCharmap(cm *charmap.Charmap, b []byte) (string, error) {
	s, _, err := transform.Bytes(cm.NewDecoder(), b)
	return string(s), err
}

// decodeUCS2 reads UTF-16BE: handsets send emoji as surrogate pairs even where
// the specification says UCS2.
func decodeUCS2(b []byte) (string, error) {
	var err error
	if len(b)%2 != 0 {
		err = ErrOddUCS2
		b = b[:len(b)-1]
	}
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
	}
	return string(utf16.Decode(u)), err
}

// decodeGSM7 reads GSM 03.38 septets, one per octet, with the escape table.
func decodeGSM7(b []byte) (string, error) {
	var firstErr error
	var sb strings.Builder
	sb.Grow(len(b))
	dec := encoding.GSM7(false).NewDecoder()
	// Decode character by character so one bad octet costs one U+FFFD, not the text.
	for i := 0; i < len(b); i++ {
		n := 1
		if b[i] == 0x1B && i+1 < len(b) {
			n = 2
		}
		out, _, err := transform.Bytes(dec, b[i:i+n])
		if err != nil || len(out) == 0 {
			if firstErr == nil {
				firstErr = ErrNotGSM7
			}
			sb.WriteRune(utf8.RuneError)
			continue
		}
		sb.Write(out)
		i += n - 1
	}
	return sb.String(), firstErr
}

// EncodeText encodes UTF-8 text for data_coding dc (GSM 03.38 unpacked, ASCII,
// Latin-1, Cyrillic, Hebrew or UCS2). A character the alphabet lacks is an error.
func EncodeText(dc byte, s string) ([]byte, error) {
	switch alphabetOf(dc) {
	case alphaGSM7:
		out, _, err := transform.Bytes(encoding.GSM7(false).NewEncoder(), []byte(s))
		if err != nil {
			return nil, ErrNotGSM7
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
		u := utf16.Encode([]rune(s))
		out := make([]byte, 0, 2*len(u))
		for _, c := range u {
			out = append(out, byte(c>>8), byte(c))
		}
		return out, nil
	case alphaBinary:
		return nil, ErrBinaryData
	}
	return nil, ErrCodingNotSup
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
	if b, err := EncodeText(CodingDefault, s); err == nil {
		return CodingDefault, b
	}
	b, _ = EncodeText(CodingUCS2, s)
	return CodingUCS2, b
}
