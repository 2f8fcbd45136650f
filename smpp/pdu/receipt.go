package pdu

import (
	"bytes"
	"strconv"
	"strings"
	"time"
)

// A delivery receipt's short_message conventionally holds text like
//
//	id:4f2a sub:001 dlvrd:001 submit date:2611231530 done date:2611231531 stat:DELIVRD err:000 text:Hello
//
// (SMPP v3.4 appendix B). It is a convention, not a format: SMSCs differ in case,
// in the fields they send and in whether the id is hex or decimal. ReceiptField
// reads one field wherever it is; AppendReceiptText writes the usual layout.

// Receipt holds the fields of a delivery receipt's text.
type Receipt struct {
	ID         string
	Sub        int
	Dlvrd      int
	SubmitDate time.Time
	DoneDate   time.Time
	Stat       string // DELIVRD, EXPIRED, DELETED, UNDELIV, ACCEPTD, UNKNOWN, REJECTD
	Err        int
	Text       string // first characters of the original message
}

// receiptDate is the date layout of the submit date and done date fields.
const receiptDate = "0601021504"

// AppendReceiptText appends the text of a receipt in the usual layout.
func AppendReceiptText(dst []byte, r Receipt) []byte {
	dst = append(dst, "id:"...)
	dst = append(dst, r.ID...)
	dst = append(dst, " sub:"...)
	dst = appendPadded(dst, r.Sub)
	dst = append(dst, " dlvrd:"...)
	dst = appendPadded(dst, r.Dlvrd)
	dst = append(dst, " submit date:"...)
	dst = r.SubmitDate.AppendFormat(dst, receiptDate)
	dst = append(dst, " done date:"...)
	dst = r.DoneDate.AppendFormat(dst, receiptDate)
	dst = append(dst, " stat:"...)
	dst = append(dst, r.Stat...)
	dst = append(dst, " err:"...)
	dst = appendPadded(dst, r.Err)
	dst = append(dst, " text:"...)
	// The first 20 characters (appendix B), not octets: cutting a UTF-8
	// sequence in two would leave text that no alphabet can encode.
	t, n := r.Text, 0
	for i := range t {
		if n == 20 {
			t = t[:i]
			break
		}
		n++
	}
	return append(dst, t...)
}

func appendPadded(dst []byte, v int) []byte {
	if v < 0 {
		v = 0
	}
	s := strconv.Itoa(v)
	for i := len(s); i < 3; i++ {
		dst = append(dst, '0')
	}
	return append(dst, s...)
}

// ReceiptField finds field name (e.g. "id", "stat", "submit date") in receipt
// text, case-insensitively, and returns its value and the value's offset in text.
// The value ends at the next space, except for "text", which runs to the end.
func ReceiptField(text []byte, name string) (value []byte, off int, ok bool) {
	for i := 0; i+len(name) < len(text); i++ {
		if i > 0 && text[i-1] != ' ' {
			continue
		}
		if !bytes.EqualFold(text[i:i+len(name)], []byte(name)) || text[i+len(name)] != ':' {
			continue
		}
		start := i + len(name) + 1
		end := len(text)
		if !strings.EqualFold(name, "text") {
			if j := bytes.IndexByte(text[start:], ' '); j >= 0 {
				end = start + j
			}
		}
		return text[start:end:end], start, true
	}
	return nil, 0, false
}
