package pdu

import "errors"

// ErrTextTooLong: the text needs more parts than a concatenation UDH can count.
var ErrTextTooLong = errors.New("pdu: text needs more than 255 concatenated parts")

// Limits of one SMS (3GPP TS 23.040): 140 octets of user data, which hold 160
// septets. A concatenation UDH takes 6 octets with an 8-bit reference and 7
// with a 16-bit one; the SMSC packs the septets after it from the next septet
// boundary, so 153 (8-bit) or 152 (16-bit) septets remain, and 134 or 132
// octets of UCS2 (an even number: whole UTF-16 units).
const (
	maxSeptets     = 160
	maxUCS2Octets  = 140
	maxParts       = 255
	septetsPart8   = 153
	septetsPart16  = 152
	ucs2OctsPart8  = 134
	ucs2OctsPart16 = 132
)

// SplitText encodes s for sending as one or more short_messages: in the GSM
// 03.38 default alphabet when every character is in it, else in UCS2, and
// returns the data_coding to send. Text that fits one SMS (160 septets, 140
// UCS2 octets) is one part without a UDH. Longer text is split into parts
// that each start with a concatenation UDH (reference ref, 8-bit unless
// ref16) and never cut an escape pair or a surrogate pair; the caller sets
// esm_class UDHI when there is more than one part. Each part is a whole
// short_message (at most 160 octets, well within sm_length's 254). More than
// 255 parts is ErrTextTooLong.
func SplitText(s string, ref uint16, ref16 bool) (dc byte, parts [][]byte, err error) {
	var enc []byte
	single, per := maxSeptets, septetsPart8
	if septets, _, ok := GSM7Fit(s); ok {
		dc = CodingDefault
		enc, _ = appendGSM7(make([]byte, 0, septets), s)
		if ref16 {
			per = septetsPart16
		}
	} else {
		dc = CodingUCS2
		enc = appendUCS2(make([]byte, 0, 2*len(s)), s)
		single, per = maxUCS2Octets, ucs2OctsPart8
		if ref16 {
			per = ucs2OctsPart16
		}
	}
	if len(enc) <= single {
		return dc, [][]byte{enc[:len(enc):len(enc)]}, nil
	}
	// First the cut points, so that the parts share one buffer.
	var cuts [maxParts + 1]int
	n := 0
	for off := 0; off < len(enc); n++ {
		if n == maxParts {
			return dc, nil, ErrTextTooLong
		}
		end := min(off+per, len(enc))
		if end < len(enc) {
			end = splitPoint(dc, enc, end)
		}
		cuts[n+1] = end
		off = end
	}
	udhLen := 6
	if ref16 {
		udhLen = 7
	}
	buf := make([]byte, 0, n*udhLen+len(enc))
	parts = make([][]byte, n)
	for i := range n {
		start := len(buf)
		buf = AppendConcatUDH(buf, Concat{Ref: ref, Total: uint8(n), Part: uint8(i + 1)}, ref16)
		buf = append(buf, enc[cuts[i]:cuts[i+1]]...)
		parts[i] = buf[start:len(buf):len(buf)]
	}
	return dc, parts, nil
}

// splitPoint moves a cut at end back so that it does not fall inside an
// escape pair (GSM: 0x1B is only ever the first octet of a pair) or a
// surrogate pair (UCS2: end is even; a high surrogate before it moves it).
func splitPoint(dc byte, enc []byte, end int) int {
	if dc == CodingDefault {
		if enc[end-1] == gsm7Escape {
			return end - 1
		}
		return end
	}
	if hi := enc[end-2]; hi >= 0xD8 && hi <= 0xDB {
		return end - 2
	}
	return end
}
